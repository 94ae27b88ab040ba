"""The leads funnel: the funnel page from a leads file (docs/funnel-design.md), the page's first choice once leads
are stored (:func:`has_leads`; without them, :mod:`analytics.metrics.funnel_lifecycle`).

Definitions (shown on the page; the stage list, the stage map, N and the order adjustable there):

- **as-of day** A (:func:`data_end`): the data's end, the latest of the last purchase day (anyone's) and the latest
  day any lead was created or reached a stage; everything is counted up to it;
- **cohort**: the leads in scope (:func:`analytics.scope.leads`: the lead's own region, the segment and tier of its
  linked customer; channels do not apply) created in the period, on or before A; every stage counts these leads;
- **stage evidence** (the ``lead_stages`` mart): each row means a stage key (:func:`row_keys`): a stage name of the
  file by the saved stage map, else the synonyms (:func:`analytics.metrics.funnel_stages.stage_key`); a row made
  from a date column is its key (``potential`` on the created date, ``target``, ``proposal``, ``won`` →
  first purchase, ``lost``), but ``closed`` (a closed date without an outcome) means what the name ``closed``
  maps to (nothing until it is mapped);
- a lead's rows that mean a stage **reach** it by a day when their earliest known day is on or before it (the
  stage's day), or when none of them has a known day (reached on an unknown day, counted at any as-of day: a
  current-stage export does not say when);
- a **pipeline stage** (potential, target, proposal) is reached by its rows, or **implied**: a lead whose rows
  other than a stage-change log's (a stage name with its own day, shape a) reach a later stage of potential →
  target → proposal → first purchase is at that stage, so it passed every pipeline stage before it, on days not
  known (shapes b and c). A stage a log skips stays skipped: there strict and any order differ;
- **first purchase**: on the linked customer's first purchase day; a lead whose customer has no purchase by the
  as-of day, or that has no customer, but that was won (its rows that mean first purchase reach it): on its close
  day (their earliest known day), else on an unknown day. **Repeat purchase**: the customer's second purchase day.
  **Loyal**: the loyalty page's month-end rule with N (the lifecycle funnel's, from the customer's purchase months
  up to the as-of day). A lead without a customer reaches neither;
- **lost** is an outcome, not a stage: a lead whose rows that mean ``lost`` reach it; never listed as stuck;
- **comparison**: the leads created in the comparison period, counted as of A_c = its last day + (A − the period's
  last day) (:func:`analytics.metrics.funnel_lifecycle.comparison_as_of`);
- the **group columns**: the lead's ``region``, ``source`` and ``sales_rep`` (its latest import's).

The figures are the engine's (:mod:`analytics.metrics.funnel`): stage counts with both percentages, the groups
compared, the biggest leak, stage times, stuck leads (every stage of the list is timed where its day is known).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics import churn, churn_summary
from analytics.metrics.funnel import Funnel, check_order, funnel, stage_counts
from analytics.metrics.funnel_leads_query import GROUPINGS, cohort_rows, definitions, keyed, named_leads, reach_sql
from analytics.metrics.funnel_lifecycle import comparison_as_of
from analytics.metrics.funnel_stages import LOST, PIPELINE_STAGES, stage_mapping, suggested_stages, unmapped
from analytics.metrics.loyalty import DEFAULT_MIN_DAYS, min_days_of
from analytics.scope import Scope
from analytics.store.settings import FUNNEL_STAGES


def has_leads(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any lead is stored (anyone's): the funnel page then shows the leads funnel, else the lifecycle one."""
    return bool(con.execute("select exists (select 1 from lead_stages)").fetchall()[0][0])


def data_end(con: duckdb.DuckDBPyConnection) -> date | None:
    """A (module docstring): the latest of the last purchase day and the latest day a lead was created or reached a
    stage, anyone's; None with neither purchases nor leads."""
    last_lead = con.execute("select max(greatest(created_date, stage_date)) from lead_stages").fetchall()[0][0]
    days = [d for d in (churn_summary.data_end(con), last_lead) if d is not None]
    return max(days) if days else None


@dataclass(frozen=True)
class LeadsReach:
    """The reach table of a cohort of leads (:func:`leads_reach`) and what the page says about it.

    ``reach``: one row per lead (:mod:`analytics.metrics.funnel`'s reach table: ``member_id`` the lead id,
    ``entered`` its created date, ``region``, ``source``, ``sales_rep``, ``outcome``, ``k_reached``/``k_day`` for
    every stage key of :data:`~analytics.store.settings.FUNNEL_STAGES`; and ``customer_id``, its linked customer,
    None without one); ``stages``: the stage list in use;
    ``as_of``: the day everything is counted up to; ``mapping``: each stage name of the cohort's rows with its
    meaning (:func:`analytics.metrics.funnel_stages.stage_mapping`: ``name``, ``key``, ``how``, ``rows`` = its
    leads); ``evidence``: per stage of the list, ``stage``, ``reached`` (leads that reached it, in any order),
    ``day_known`` (of them, on a known day), ``implied`` (reached only by a later stage: no row of their own) and
    ``by_close`` (first purchase: leads counted there by their close, not a purchase of their customer; 0
    elsewhere); ``has_proposal``: a row of the cohort means ``proposal``."""

    reach: pd.DataFrame
    stages: tuple[str, ...]
    as_of: date
    mapping: pd.DataFrame
    evidence: pd.DataFrame
    has_proposal: bool

    @property
    def cohort(self) -> int:
        """The leads created in the period by the as-of day."""
        return len(self.reach)

    @property
    def unmapped(self) -> pd.DataFrame:
        """The stage names nothing maps (``name``, ``rows``: their leads), counted nowhere until mapped."""
        return unmapped(self.mapping)

    @property
    def suggested(self) -> tuple[str, ...]:
        """The stage list to suggest (:func:`analytics.metrics.funnel_stages.suggested_stages`)."""
        return suggested_stages(self.has_proposal)


def leads_reach(con: duckdb.DuckDBPyConnection, scope: Scope, *, stages: Sequence[str] | None = None,
                stage_map: Mapping[str, str] | None = None, loyal_min: int = DEFAULT_MIN_DAYS,
                as_of: date | None = None, sources: Sequence[str] = ()) -> LeadsReach:
    """The reach table of the leads in ``scope`` (of ``sources`` only, when given) created from the period's start
    to its last day or ``as_of`` when earlier, every stage counted as of ``as_of`` (default: A, :func:`data_end`),
    by the module docstring's rules.

    Parameters
    ----------
    con
        The CRM database (the page's snapshot).
    scope
        The page's scope (period, filters, the user's regions; channels do not apply).
    stages, stage_map
        The stage list and the stage names' map (default: the settings ``funnel_stages``, ``funnel_stage_map``).
    loyal_min
        N, the purchase days in 12 months that make a customer loyal (at least 1).
    as_of
        The day everything is counted up to.
    sources
        Keep only the leads of these sources (a lead's ``source``): the cohort, the mapping and the evidence too.

    Returns
    -------
    LeadsReach
        The reach table (one row per lead, by ``member_id``) with the stage list, the mapping and the evidence.

    Raises
    ------
    ValueError
        N below 1, or a stage list or map that is not one.
    """
    stages, saved = definitions(con, stages, stage_map)
    min_days = min_days_of(loyal_min)
    as_of = as_of or data_end(con) or scope.end_exclusive - timedelta(days=1)
    created = (scope.start, min(scope.end_exclusive - timedelta(days=1), as_of))
    cohort = cohort_rows(scope, created, sources)
    # one pass over the cohort's rows: its distinct names (each mapped once, then keyed in SQL) with their rows
    # (a lead's rows have distinct (from_column, stage): ``named_leads``), and its groups' values
    groups = con.execute(f"select from_column, stage, {', '.join(GROUPINGS)}, count(*) as n from ({cohort[0]}) c "
                         f"group by grouping sets ((from_column, stage), {', '.join(f'({g})' for g in GROUPINGS)})",
                         cohort[1]).fetchall()
    distinct = [(r[0], r[1], r[-1]) for r in groups if r[1] is not None]
    values = {g: [r[2 + i] for r in groups if r[1] is None and r[2 + i] is not None]
              for i, g in enumerate(GROUPINGS)}
    lead = con.execute(*reach_sql(cohort, keyed(distinct, saved), values, (as_of, churn.goes_on(con, as_of)),
                                   min_days)).df()
    named = named_leads(con, cohort, distinct)
    reach = pd.DataFrame({"member_id": lead["lead_id"], "entered": pd.to_datetime(lead["created_date"]),
                          "customer_id": lead["customer_id"].astype(object).where(lead["customer_id"].notna(), None)})
    for column, known in values.items():  # (codes, not text: each value made once)
        where = lead[column].to_numpy(dtype=np.float64, na_value=0).astype(np.int64)
        reach[column] = pd.Series(np.asarray([None, *known], dtype=object)[where], dtype=object)
    reach["outcome"] = pd.Series(np.where(lead["lost"].to_numpy(dtype=bool), LOST, None), dtype=object)
    for k in FUNNEL_STAGES:
        reach[f"{k}_reached"] = lead[f"{k}_reached"].to_numpy(dtype=bool)
        reach[f"{k}_day"] = pd.to_datetime(lead[f"{k}_day"]).to_numpy("datetime64[ns]")
    evidence = {k: (int(lead[f"{k}_implied"].sum()), 0) for k in PIPELINE_STAGES}
    evidence["first_purchase"] = (0, int(lead["by_close"].sum()))

    mapping = stage_mapping(named, saved).assign(rows=lambda m: m["name"].map(named).astype("int64"))
    mapping = mapping.sort_values(["rows", "name"], ascending=[False, True], ignore_index=True)
    table = pd.DataFrame([(k, int(reach[f"{k}_reached"].sum()), int(reach[f"{k}_day"].notna().sum()),
                           *evidence.get(k, (0, 0))) for k in stages],
                         columns=["stage", "reached", "day_known", "implied", "by_close"])
    has_proposal = bool((lead["proposal_reached"] & ~lead["proposal_implied"]).any())
    return LeadsReach(reach=reach, stages=stages, as_of=as_of, mapping=mapping, evidence=table,
                      has_proposal=has_proposal)


def comparison_counts(con: duckdb.DuckDBPyConnection, scope: Scope, stages: Sequence[str],
                      stage_map: Mapping[str, str], *, order: str, min_days: int, as_of: date,
                      sources: Sequence[str] = ()) -> pd.DataFrame:
    """The stage counts (:func:`analytics.metrics.funnel.stage_counts` under ``order``) of the leads in ``scope``
    (of ``sources`` only, when given) created in its period by ``as_of``, counted as of ``as_of``, as
    :func:`leads_reach` counts them, but aggregated in the database: per combination of stages reached, its
    leads (at most 2 to the number of stages), never one row per lead."""
    created = (scope.start, min(scope.end_exclusive - timedelta(days=1), as_of))
    cohort = cohort_rows(scope, created, sources)
    names = con.execute(f"select from_column, stage, count(*) from ({cohort[0]}) c group by all",
                        cohort[1]).fetchall()
    sql, params = reach_sql(cohort, keyed(names, stage_map), None, (as_of, churn.goes_on(con, as_of)), min_days)
    flags = [f"{k}_reached" for k in stages]
    combos = con.execute(f"select {', '.join(flags)}, count(*) as n from ({sql}) r group by all", params).df()
    repeat = combos["n"].to_numpy(dtype=np.int64)
    reach = pd.DataFrame({f: np.repeat(combos[f].to_numpy(dtype=bool), repeat) for f in flags})
    return stage_counts(reach, stages, order)


@dataclass(frozen=True)
class Leads:
    """The leads funnel of a scope (:func:`leads_funnel`): the period's ``funnel`` (every figure of the engine; its
    ``as_of``: A) over ``now`` (the cohort's reach table, stage list, mapping and evidence: :class:`LeadsReach`),
    the comparison period's stage counts (``comparison``, :func:`analytics.metrics.funnel.stage_counts` under the
    same order; None without a comparison period) as of ``comparison_as_of``, ``min_days`` (N) and ``data_end``
    (None: no purchase and no lead at all)."""

    funnel: Funnel
    now: LeadsReach
    comparison: pd.DataFrame | None
    comparison_as_of: date | None
    min_days: int
    data_end: date | None

    @property
    def reach(self) -> pd.DataFrame:
        return self.now.reach

    @property
    def stages(self) -> tuple[str, ...]:
        return self.funnel.stages

    @property
    def empty(self) -> bool:
        """No lead in scope was created in the period by the as-of day."""
        return self.now.cohort == 0

    @property
    def overall_change(self) -> float | None:
        """The overall conversion (last stage ÷ first) less the comparison period's, in shares of 1 (None without a
        comparison; NaN when either has no member)."""
        return self.funnel.change(self.comparison)


def leads_funnel(con: duckdb.DuckDBPyConnection, scope: Scope, *, order: str = "strict",
                 loyal_min: int = DEFAULT_MIN_DAYS, stuck_days: Mapping[str, float] | None = None,
                 stages: Sequence[str] | None = None, stage_map: Mapping[str, str] | None = None,
                 sources: Sequence[str] = ()) -> Leads:
    """The leads funnel of ``scope`` (module docstring).

    Parameters
    ----------
    con
        The CRM database (the page's snapshot).
    scope
        The page's scope (period, comparison, filters, the user's regions).
    order
        ``"strict"`` or ``"any"`` (:func:`analytics.metrics.funnel.counted`).
    loyal_min
        N, the purchase days in 12 months that make a customer loyal (at least 1).
    stuck_days
        Stuck thresholds in days per stage (:func:`analytics.metrics.funnel.stuck_thresholds`; default: each step's
        90th percentile).
    stages, stage_map
        The stage list and the stage names' map (default: the settings ``funnel_stages``, ``funnel_stage_map``).
    sources
        Keep only the leads of these sources (both periods; the mapping and the evidence too).

    Raises
    ------
    ValueError
        An unknown order, N below 1, a stage list or map that is not one, or a threshold that is not one.
    """
    check_order(order)  # (before anything is read)
    stages, saved = definitions(con, stages, stage_map)
    end = data_end(con)
    as_of = end or scope.end_exclusive - timedelta(days=1)
    now = leads_reach(con, scope, stages=stages, stage_map=saved, loyal_min=loyal_min, as_of=as_of, sources=sources)
    figures = funnel(now.reach, stages, as_of, order=order, groupings=GROUPINGS, stuck_days=stuck_days,
                     stuck_columns=("customer_id",))
    back = comparison_as_of(scope, as_of) if end is not None else None
    comparison, counts = scope.comparison(), None
    if comparison is not None:
        counts = comparison_counts(con, comparison, stages, saved, order=order, min_days=min_days_of(loyal_min),
                                   as_of=back, sources=sources) if back else \
            stage_counts(now.reach.iloc[:0], stages, order)
    return Leads(funnel=figures, now=now, comparison=counts, comparison_as_of=back,
                 min_days=min_days_of(loyal_min), data_end=end)
