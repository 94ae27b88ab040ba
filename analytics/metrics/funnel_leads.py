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
from analytics.metrics.funnel_lifecycle import comparison_as_of, loyal_days
from analytics.metrics.funnel_stages import LOST, PIPELINE_STAGES, stage_key, stage_mapping, suggested_stages, unmapped
from analytics.metrics.loyalty import DEFAULT_MIN_DAYS, min_days_of
from analytics.scope import Scope, lead_customer_months, leads
from analytics.store import settings
from analytics.store.settings import FUNNEL_STAGES

#: The group columns the leads funnel is compared by.
GROUPINGS: tuple[str, ...] = ("region", "source", "sales_rep")
#: What a row made from a date column means (``closed`` aside: it means what the name ``closed`` maps to).
COLUMN_KEYS: dict[str, str] = {"potential": "potential", "target": "target", "proposal": "proposal",
                               "won": "first_purchase", "lost": LOST}
#: The stages a lead's current stage implies the earlier ones of, in order.
CHAIN: tuple[str, ...] = (*PIPELINE_STAGES, "first_purchase")
_COLUMNS = ("lead_id, stage, from_column, stage_date, created_date, customer_id, region, source, sales_rep, "
            "first_purchase_day, second_purchase_day")


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
    every stage key of :data:`~analytics.store.settings.FUNNEL_STAGES`); ``stages``: the stage list in use;
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


def definitions(con: duckdb.DuckDBPyConnection, stages: Sequence[str] | None,
                stage_map: Mapping[str, str] | None) -> tuple[tuple[str, ...], dict[str, str]]:
    """The stage list and stage map in use: those given, else the settings ``funnel_stages`` and
    ``funnel_stage_map``; ``ValueError`` (the settings' messages) for a list or map that is not one."""
    saved = settings.load(con) if stages is None or stage_map is None else {}
    stages = settings.check("funnel_stages", list(saved["funnel_stages"] if stages is None else stages))
    return tuple(stages), settings.check("funnel_stage_map", dict(saved["funnel_stage_map"] if stage_map is None
                                                                   else stage_map))


def _name_keys(names: Sequence[tuple[bool, str]], stage_map: Mapping[str, str]) -> list[str | None]:
    """What each distinct (``from_column``, ``stage``) of ``lead_stages`` means (module docstring): a stage key,
    ``lost``, ``ignore`` or None (unmapped); one look-up per distinct name, never per row."""
    return [COLUMN_KEYS[name] if column and name in COLUMN_KEYS else stage_key(name, stage_map)[0]
            for column, name in names]


def _named_leads(con: duckdb.DuckDBPyConnection, cohort: tuple[str, list],
                 names: Sequence[tuple[bool, str, int]]) -> dict[str, int]:
    """Per stage name of the file in ``cohort``'s rows (a row of ``lead_stages`` not made from a date column, or made
    from one but not a key: ``closed``), its leads, from ``names`` (``from_column``, ``stage``, rows). A lead has one
    row per (``from_column``, ``stage``), so a name's rows are its leads, but for a name both ways (a file's stage
    ``closed`` and a closed date without an outcome): those are counted again, exactly."""
    named: dict[str, int] = {}
    twice = set()
    for column, name, rows in names:
        if not column or name not in COLUMN_KEYS:
            twice |= {name} & named.keys()
            named[name] = named.get(name, 0) + rows
    if twice:
        named |= dict(con.execute(f"select stage, count(distinct lead_id) from ({cohort[0]}) c where "
                                  "list_contains(?, stage) group by stage", [*cohort[1], sorted(twice)]).fetchall())
    return named


def _per_lead_sql(cohort: str) -> str:
    """The query of one row per lead of ``cohort`` (a query of ``lead_stages`` rows), in lead order, each key's reach
    as of a day (module docstring). Parameters after the cohort's: the distinct names (``from_column`` and ``stage``
    lists) with their keys (a list), the values of each of :data:`GROUPINGS` (a list each), then the as-of day.

    Columns: the lead's ``lead_id``, ``created_date``, ``customer_id``, :data:`GROUPINGS` (each its value's place
    in the list given, from 1; NULL: none), its customer's first and second purchase days by the as-of day
    (``bought``, ``again``); per key k of :data:`CHAIN` and ``lost``,
    ``k_reached`` (its rows' earliest known day on or before the as-of day, or none known) and ``k_day`` (that day,
    NULL when not known or not reached); ``furthest``: the index in :data:`CHAIN` of the furthest key reached by
    rows other than a stage-change log's (-1: none), which implies the pipeline stages before it."""
    keys = (*CHAIN, LOST)
    codes = ", ".join(f"list_position(?, {g}) as {g}" for g in GROUPINGS)
    bit = "case m.key " + " ".join(f"when '{k}' then {1 << i}" for i, k in enumerate(keys)) + " else 0 end"
    firsts = ", ".join(f"min(stage_date) filter (where bit = {1 << i}) as {k}_first" for i, k in enumerate(keys))
    reached = {k: f"(has & {1 << i} <> 0 and ({k}_first is null or {k}_first <= as_of))" for i, k in enumerate(keys)}
    reach = ", ".join(f"{reached[k]} as {k}_reached, case when {k}_first <= as_of then {k}_first end as {k}_day"
                      for k in keys)
    says = ", ".join(f"case when {reached[k]} and says & {1 << i} <> 0 then {i} else -1 end"
                     for i, k in enumerate(CHAIN))
    attributes = ("lead_id, created_date, customer_id, region, source, sales_rep, first_purchase_day, "
                  "second_purchase_day")
    # (a lead's attributes are on each of its rows: grouped by, not aggregated; a row's key as one bit, so that
    # which keys a lead has, and which it has from rows other than a log's, are two aggregates)
    return (f"with rows as (select r.*, {bit} as bit, not r.from_column and r.stage_date is not null as log "
            f"from ({cohort}) r left join (select unnest(?::boolean[]) as from_column, unnest(?::varchar[]) as stage, "
            "unnest(?::varchar[]) as key) m using (from_column, stage)), "
            f"lead as (select {attributes}, bit_or(bit) as has, bit_or(case when log then 0 else bit end) as says, "
            f"{firsts} from rows group by {attributes}) "
            f"select lead_id, created_date, customer_id, {codes}, "
            "case when first_purchase_day <= as_of then first_purchase_day end as bought, "
            f"case when second_purchase_day <= as_of then second_purchase_day end as again, {reach}, "
            f"greatest({says}) as furthest from lead cross join (select ?::date as as_of) a order by lead_id")


def _loyal(con: duckdb.DuckDBPyConnection, scope: Scope, created: tuple[date, date], as_of: date,
           customer: pd.Series, min_days: int) -> np.ndarray:
    """Per lead: its linked customer's loyal day by ``as_of`` (NaT: not loyal, or no customer)."""
    months = lead_customer_months(scope, (as_of, churn.goes_on(con, as_of)), created)
    rows = con.execute(f"select customer_id, month, purchase_days from ({months.sql}) m where purchase_days > 0 "
                       "order by customer_id, month", months.params).df()
    row, ids = pd.factorize(rows["customer_id"])  # (in order: the rows come by customer)
    if not len(ids):
        return np.full(len(customer), np.datetime64("NaT"), dtype="datetime64[ns]")
    loyal = loyal_days(row, pd.to_datetime(rows["month"]).to_numpy("datetime64[M]"),
                        rows["purchase_days"].to_numpy(dtype=np.int64), len(ids), min_days,
                        np.datetime64(as_of, "D"))
    where = pd.Index(ids, dtype=object).get_indexer(customer.to_numpy(dtype=object))
    return np.where(where >= 0, loyal[where], np.datetime64("NaT")).astype("datetime64[ns]")


def leads_reach(con: duckdb.DuckDBPyConnection, scope: Scope, *, stages: Sequence[str] | None = None,
                stage_map: Mapping[str, str] | None = None, loyal_min: int = DEFAULT_MIN_DAYS,
                as_of: date | None = None) -> LeadsReach:
    """The reach table of the leads in ``scope`` created from the period's start to its last day or ``as_of`` when
    earlier, every stage counted as of ``as_of`` (default: A, :func:`data_end`), by the module docstring's rules.

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
    who = leads(scope)
    cohort = (f"select {_COLUMNS} from ({who.sql}) w where created_date >= ? and created_date <= ?",
              [*who.params, *created])
    # one pass over the cohort's rows: its distinct names (each mapped once, then keyed in SQL) with their rows
    # (a lead's rows have distinct (from_column, stage): :func:`_named_leads`), and its groups' values
    groups = con.execute(f"select from_column, stage, {', '.join(GROUPINGS)}, count(*) as n from ({cohort[0]}) c "
                         f"group by grouping sets ((from_column, stage), {', '.join(f'({g})' for g in GROUPINGS)})",
                         cohort[1]).fetchall()
    distinct = [(r[0], r[1], r[-1]) for r in groups if r[1] is not None]
    values = {g: [r[2 + i] for r in groups if r[1] is None and r[2 + i] is not None]
              for i, g in enumerate(GROUPINGS)}
    lead = con.execute(_per_lead_sql(cohort[0]),
                       [*cohort[1], [c for c, _, _ in distinct], [n for _, n, _ in distinct],
                        _name_keys([(c, n) for c, n, _ in distinct], saved), *values.values(), as_of]).df()
    named = _named_leads(con, cohort, distinct)
    n = len(lead)

    def day(column: str) -> np.ndarray:
        return pd.to_datetime(lead[column]).to_numpy("datetime64[ns]")

    reach = pd.DataFrame({"member_id": lead["lead_id"].to_numpy(dtype=object), "entered": day("created_date")})
    for column, known in values.items():  # (codes, not text: each value made once)
        where = lead[column].to_numpy(dtype=np.float64, na_value=0).astype(np.int64)
        reach[column] = pd.Series(np.asarray([None, *known], dtype=object)[where], dtype=object)
    reach["outcome"] = pd.Series(np.where(lead[f"{LOST}_reached"].to_numpy(dtype=bool), LOST, None), dtype=object)
    furthest, evidence = lead["furthest"].to_numpy(), {}
    for k in PIPELINE_STAGES:
        reached = lead[f"{k}_reached"].to_numpy(dtype=bool)
        implied = ~reached & (furthest > CHAIN.index(k))
        reach[f"{k}_reached"], reach[f"{k}_day"] = reached | implied, day(f"{k}_day")
        evidence[k] = (int(implied.sum()), 0)
    bought, won = day("bought"), lead["first_purchase_reached"].to_numpy(dtype=bool)
    by_close = won & np.isnat(bought)
    reach["first_purchase_reached"] = ~np.isnat(bought) | won
    reach["first_purchase_day"] = np.where(by_close, day("first_purchase_day"), bought)
    reach["repeat_purchase_day"] = day("again")
    reach["repeat_purchase_reached"] = reach["repeat_purchase_day"].notna()
    reach["loyal_day"] = _loyal(con, scope, created, as_of, lead["customer_id"], min_days) if n else \
        np.zeros(0, dtype="datetime64[ns]")
    reach["loyal_reached"] = reach["loyal_day"].notna()
    evidence["first_purchase"] = (0, int(by_close.sum()))
    reach = reach[["member_id", "entered", *GROUPINGS, "outcome",
                   *(f"{k}_{c}" for k in FUNNEL_STAGES for c in ("reached", "day"))]]

    mapping = stage_mapping(named, saved).assign(rows=lambda m: m["name"].map(named).astype("int64"))
    mapping = mapping.sort_values(["rows", "name"], ascending=[False, True], ignore_index=True)
    table = pd.DataFrame([(k, int(reach[f"{k}_reached"].sum()), int(reach[f"{k}_day"].notna().sum()),
                           *evidence.get(k, (0, 0))) for k in stages],
                         columns=["stage", "reached", "day_known", "implied", "by_close"])
    return LeadsReach(reach=reach, stages=stages, as_of=as_of, mapping=mapping, evidence=table,
                      has_proposal=bool(lead["proposal_reached"].any()))


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
                 stages: Sequence[str] | None = None, stage_map: Mapping[str, str] | None = None) -> Leads:
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

    Raises
    ------
    ValueError
        An unknown order, N below 1, a stage list or map that is not one, or a threshold that is not one.
    """
    check_order(order)  # (before anything is read)
    stages, saved = definitions(con, stages, stage_map)
    end = data_end(con)
    as_of = end or scope.end_exclusive - timedelta(days=1)
    now = leads_reach(con, scope, stages=stages, stage_map=saved, loyal_min=loyal_min, as_of=as_of)
    figures = funnel(now.reach, stages, as_of, order=order, groupings=GROUPINGS, stuck_days=stuck_days)
    back = comparison_as_of(scope, as_of) if end is not None else None
    comparison, counts = scope.comparison(), None
    if comparison is not None:
        then = leads_reach(con, comparison, stages=stages, stage_map=saved, loyal_min=loyal_min,
                           as_of=back).reach if back else now.reach.iloc[:0]
        counts = stage_counts(then, stages, order)
    return Leads(funnel=figures, now=now, comparison=counts, comparison_as_of=back,
                 min_days=min_days_of(loyal_min), data_end=end)
