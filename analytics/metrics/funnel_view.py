"""The funnel page's view model, loader and report (``python -m analytics report funnel``): one funnel over the
period's cohort (stages with counts, % of the previous stage, % of the first and each step's conversion with its
interval), the comparison period's counts, each step compared by group, the biggest leak, the stage times and the
stuck members, computed by the engine (:mod:`analytics.metrics.funnel`) for the page and the report alike.

**Which funnel** (:func:`which`, docs/funnel-design.md): the **leads funnel** (:mod:`analytics.metrics.funnel_leads`,
the ``lead_stages`` mart through the gate) once any lead is stored (``"leads"``), else the **lifecycle funnel from
transactions** (:mod:`analytics.metrics.funnel_lifecycle`, ``"no_leads"``). :data:`PRODUCERS` holds each one's
producer, of one signature; the view model, the report and the page take either.

The options (:attr:`analytics.pages.Page.options`, URL parameters and ``report`` flags): ``order`` (``strict``,
the default, or ``any``), ``loyal_min`` (N, the loyalty page's threshold), ``window_days`` (W, default the churn
page's for the scope; the lifecycle funnel's "still active" only: it does not apply to leads), ``stuck_days`` (one
threshold for every step, default each step's 90th percentile) and ``source`` (comma-separated sources: only the
leads of those sources, or for the lifecycle funnel the customers of those acquisition channels;
:mod:`analytics.metrics.funnel_view_leads`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from itertools import pairwise
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analytics.errors import OptionError
from analytics.metrics import churn, satisfaction_view
from analytics.metrics.funnel import ORDERS, SMALL_START, Funnel, Leak
from analytics.metrics.funnel_leads import has_leads
from analytics.metrics.funnel_lifecycle import GROUPINGS, lifecycle_funnel, lifecycle_reach
from analytics.metrics.funnel_stages import BY_KEY, LIFECYCLE_STAGES
from analytics.metrics.funnel_view_leads import LeadsFacts, leads_parts, restricted, sources_of
from analytics.models.proportions import wilson_interval
from analytics.scope import Scope

#: The order a funnel is counted under without one asked for.
ORDER = "strict"
#: The loyalty threshold N a page or report may ask for (purchase days in 12 months) and its default: the
#: satisfaction & loyalty page's.
LOYAL_RANGE, LOYAL_MIN = satisfaction_view.LOYAL_RANGE, satisfaction_view.LOYAL_MIN
#: The stuck threshold a page or report may ask for (days).
STUCK_RANGE = (1, 3650)
#: The churn window W a page or report may ask for (days).
WINDOW_RANGE = (churn.MIN_WINDOW, churn.MAX_WINDOW)
#: Fewer members at the first stage than this: the page says its percentages are uncertain.
TINY = SMALL_START
#: Why the page shows the funnel it shows (:func:`which`).
REASONS = ("leads", "no_leads")


@dataclass(frozen=True)
class FunnelView:
    """Everything the funnel page draws for a scope.

    ``kind`` is which funnel (``"lifecycle"`` or ``"leads"``) and ``why`` (:data:`REASONS`); ``order``,
    ``loyal_min`` (N), ``window_days`` (W; None for leads: it does not apply) with its ``window_source``
    (``"option"``, ``"data"``, ``"fallback"``; ``"none"`` for leads), ``stuck_days`` (None: each step's 90th
    percentile) and ``sources`` (empty: every source) are the definitions in use; ``funnel`` holds the engine's
    figures as of ``funnel.as_of`` (the data's end; ``data_end`` None: no purchase at all); ``timed``: the stages
    reached on a day of their own, which the stage times and the stuck members are about (the lifecycle's "still
    active" is a state, not a day); ``comparison``: the comparison period's stage counts under the same order, as of
    ``comparison_as_of`` (None without a comparison period); ``leads``: what the page states about the leads
    funnel's cohort (:class:`~analytics.metrics.funnel_view_leads.LeadsFacts`; None for the lifecycle funnel).
    """

    scope: Scope
    kind: str
    why: str
    order: str
    loyal_min: int
    window_days: int | None
    window_source: str
    stuck_days: int | None
    data_end: date | None
    funnel: Funnel
    timed: tuple[str, ...]
    comparison: pd.DataFrame | None
    comparison_as_of: date | None
    sources: tuple[str, ...] = ()
    leads: LeadsFacts | None = None

    @property
    def stages(self) -> tuple[str, ...]:
        return self.funnel.stages

    @property
    def members(self) -> int:
        """The cohort: the members at the first stage."""
        return self.funnel.members

    @property
    def empty(self) -> bool:
        """Nobody entered the funnel in the period."""
        return self.members == 0

    @property
    def tiny(self) -> bool:
        """Some, but fewer than :data:`TINY`, entered: every percentage is uncertain (see its interval)."""
        return 0 < self.members < TINY

    @property
    def overall(self) -> tuple[float, float, float]:
        """The overall conversion (the members at the last stage ÷ at the first) with its Wilson 95 % interval
        (NaN without members)."""
        return _share(int(self.funnel.counts["members"].iloc[-1]), self.members)

    @property
    def comparison_overall(self) -> tuple[float, float, float] | None:
        """The comparison period's overall conversion with its interval (None without a comparison period)."""
        if self.comparison is None:
            return None
        members = self.comparison["members"]
        return _share(int(members.iloc[-1]), int(members.iloc[0]))

    @property
    def overall_change(self) -> float | None:
        """The overall conversion less the comparison period's, in shares of 1 (None without a comparison period;
        NaN when either has no member)."""
        before = self.comparison_overall
        return None if before is None else self.overall[0] - before[0]

    @property
    def times(self) -> pd.DataFrame:
        """The stage times (:func:`analytics.metrics.funnel.stage_times`) of the steps between timed stages."""
        steps = set(pairwise(self.timed))
        times = self.funnel.times
        keep = [(a, b) in steps for a, b in zip(times["from_stage"], times["to_stage"], strict=True)]
        return times[keep].reset_index(drop=True)

    @property
    def thresholds(self) -> pd.DataFrame:
        """The stuck thresholds of the stages a member can be stuck at (every timed stage but the last)."""
        thresholds = self.funnel.thresholds
        return thresholds[thresholds["stage"].isin(self.timed[:-1])].reset_index(drop=True)


def _share(k: int, n: int) -> tuple[float, float, float]:
    interval = wilson_interval(k, n)
    return (k / n, *interval) if n and interval else (np.nan, np.nan, np.nan)


def which(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """Which funnel the page shows, and why (module docstring): ``("leads", "leads")`` when any lead is stored
    (:func:`analytics.metrics.funnel_leads.has_leads`), else ``("lifecycle", "no_leads")``."""
    return ("leads", "leads") if has_leads(con) else ("lifecycle", "no_leads")


def lifecycle_view(con: duckdb.DuckDBPyConnection, scope: Scope, why: str, *, order: str, loyal_min: int,
                   window_days: int | None, stuck_days: int | None, sources: tuple[str, ...] = ()) -> FunnelView:
    """The lifecycle funnel's view (:func:`analytics.metrics.funnel_lifecycle.lifecycle_funnel`): the stuck
    threshold, when given, for each step between its timed stages (first purchase → repeat purchase → loyal);
    ``sources``: only the customers of those acquisition channels."""
    timed = LIFECYCLE_STAGES[:-1]
    thresholds = None if stuck_days is None else {k: float(stuck_days) for k in timed[:-1]}
    got = lifecycle_funnel(con, scope, order=order, min_days=loyal_min, window_days=window_days,
                           stuck_days=thresholds)
    figures, counts = got.funnel, got.comparison
    if sources:
        then = None
        if counts is not None:
            then = got.reach.iloc[:0] if got.comparison_as_of is None else lifecycle_reach(
                con, scope.comparison(), got.comparison_as_of, window_days=got.window_days, min_days=got.min_days)
        figures, counts = restricted(got.reach, then, LIFECYCLE_STAGES, figures.as_of, order=order,
                                     groupings=GROUPINGS, stuck_days=thresholds, sources=sources,
                                     stuck_stages=timed)
        active = got.reach[["member_id", "active_reached"]].rename(columns={"active_reached": "active"})
        figures = replace(figures, stuck=figures.stuck.merge(active, on="member_id", how="left"))
    return FunnelView(scope=scope, kind="lifecycle", why=why, order=order, loyal_min=got.min_days,
                      window_days=got.window_days, window_source=got.window_source, stuck_days=stuck_days,
                      data_end=got.data_end, funnel=figures, timed=timed, comparison=counts,
                      comparison_as_of=got.comparison_as_of, sources=sources)


def leads_view(con: duckdb.DuckDBPyConnection, scope: Scope, why: str, *, order: str, loyal_min: int,
               window_days: int | None, stuck_days: int | None, sources: tuple[str, ...] = ()) -> FunnelView:
    """The leads funnel's view (:func:`analytics.metrics.funnel_view_leads.leads_parts`): the saved stage list,
    every stage of it timed; ``window_days`` does not apply (the leads funnel has no "still active" stage)."""
    del window_days  # (the lifecycle funnel's W: no stage of the leads funnel is a state within a window)
    figures, counts, back, end, n, facts = leads_parts(con, scope, order=order, loyal_min=loyal_min,
                                                       stuck_days=stuck_days, sources=sources)
    return FunnelView(scope=scope, kind="leads", why=why, order=order, loyal_min=n, window_days=None,
                      window_source="none", stuck_days=stuck_days, data_end=end, funnel=figures,
                      timed=figures.stages, comparison=counts, comparison_as_of=back, sources=sources, leads=facts)


#: Each funnel's producer: ``(con, scope, why, *, order, loyal_min, window_days, stuck_days, sources)
#: -> FunnelView``.
PRODUCERS: dict[str, Callable[..., FunnelView]] = {"lifecycle": lifecycle_view, "leads": leads_view}


def _checked(name: str, value: int | None, bounds: tuple[int, int], unit: str) -> int | None:
    if value is not None and (int(value) != value or not bounds[0] <= value <= bounds[1]):
        raise OptionError(f"{name} must be {bounds[0]} to {bounds[1]} {unit}, not {value}")
    return None if value is None else int(value)


def load(con: duckdb.DuckDBPyConnection, scope: Scope, *, order: str | None = None, loyal_min: int | None = None,
         window_days: int | None = None, stuck_days: int | None = None, source: str | None = None) -> FunnelView:
    """The registry's loader (:attr:`analytics.pages.Page.load`): the funnel of ``scope`` (:func:`which`) counted
    under ``order`` (default :data:`ORDER`), loyal at ``loyal_min`` purchase days in 12 months (default
    :data:`LOYAL_MIN`), still active within ``window_days`` (default: the churn
    page's W for the scope; the lifecycle funnel only), stuck after ``stuck_days`` (default: each step's 90th
    percentile), of the sources ``source`` names (comma-separated; default: every source).

    Raises
    ------
    OptionError
        An option that is not one of its values or out of its range.
    """
    order = ORDER if order is None else order
    if order not in ORDERS:
        raise OptionError(f"order must be {' or '.join(ORDERS)}, not {order!r}")
    options = {"order": order, "loyal_min": satisfaction_view.loyal_min_of(loyal_min),
               "window_days": _checked("window_days", window_days, WINDOW_RANGE, "days"),
               "stuck_days": _checked("stuck_days", stuck_days, STUCK_RANGE, "days")}
    sources = sources_of(source)
    if sources:  # (the producers' default: every source)
        options["sources"] = sources
    kind, why = which(con)
    return PRODUCERS[kind](con, scope, why, **options)


# ---------------------------------------------------------------------------------------------- the report


def stage_names(keys: tuple[str, ...] | list[str]) -> list[dict[str, str]]:
    """Each stage's key and its names in both languages."""
    return [{"key": k, "en": BY_KEY[k].en, "zh": BY_KEY[k].zh} for k in keys]


def _interval(share: tuple[float, float, float] | None, members: int | None = None) -> dict[str, Any] | None:
    if share is None:
        return None
    return {"value": share[0], "low": share[1], "high": share[2]} | ({} if members is None else {"of": members})


def leak_parts(leak: Leak | None) -> dict[str, Any] | None:
    """The biggest leak's sentence in parts: its step's stages (keys and names), the members at its start, those
    lost and their share; the worst region (None when every region is too small) and its share lost."""
    if leak is None:
        return None
    return {"step": leak.step, "from_stage": leak.from_stage, "to_stage": leak.to_stage,
            "from_name": stage_names([leak.from_stage])[0], "to_name": stage_names([leak.to_stage])[0],
            "start": leak.start, "lost": leak.lost, "lost_share": leak.lost_share, "region": leak.region,
            "region_start": leak.region_start, "region_lost_share": leak.region_lost_share}


def leads_facts(facts: LeadsFacts | None) -> dict[str, Any] | None:
    """What the leads funnel states about its cohort (None for the lifecycle funnel): the cohort (of the sources
    kept), the stage names' mapping (name, key, how, leads), the unmapped names with their leads, per stage the
    leads that reached it, on a known day, implied by a later stage and counted at the first purchase by their
    close, and the suggested stage list."""
    if facts is None:
        return None
    return {"cohort": facts.cohort, "mapping": facts.mapping, "unmapped": facts.unmapped,
            "unmapped_leads": facts.unmapped_leads, "evidence": facts.evidence, "implied": facts.implied,
            "suggested": list(facts.suggested)}


def report(view: FunnelView) -> dict[str, Any]:
    """The page's figures: which funnel and why, the definitions in use, each stage's members with % of the
    previous stage, % of the first and the step's conversion with its Wilson 95 % interval; the overall conversion
    with its interval, the comparison period's counts and the change; each step per region, source and segment
    (weakest first, small groups marked, not ranked); the biggest leak's parts; stage times (n, median,
    quartiles); the stuck thresholds and members."""
    f = view.funnel
    comparison = None
    if view.comparison is not None:
        comparison = {"as_of": view.comparison_as_of, "stages": view.comparison,
                      "overall": _interval(view.comparison_overall, int(view.comparison["members"].iloc[0]))}
    return {
        "funnel": {"kind": view.kind, "why": view.why, "stages": stage_names(view.stages),
                   "timed": list(view.timed), "groupings": list(f.compare)},
        "definition": {"order": view.order, "loyal_min_purchase_days_12_months": view.loyal_min,
                       "window_days": view.window_days, "window_source": view.window_source,
                       "stuck_days": view.stuck_days, "sources": list(view.sources) or None,
                       "as_of": f.as_of if view.data_end else None},
        "leads": leads_facts(view.leads),
        "members": view.members,
        "stages": f.counts,
        "overall": _interval(view.overall, view.members),
        # (not "comparison": the report's head names the comparison period there)
        "comparison_cohort": comparison,
        "overall_change": view.overall_change,
        "compare": f.compare,
        "leak": leak_parts(f.leak),
        "times": view.times,
        "thresholds": view.thresholds,
        "stuck": f.stuck,
    }


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.1%}"


def _days(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:,.1f}".removesuffix(".0")


def leads_lines(facts: dict[str, Any] | None, names: dict[str, str]) -> list[str]:
    """The leads funnel's cohort, mapping, unmapped names and implied stages as lines (none for the lifecycle)."""
    if facts is None:
        return []
    lines = [f"cohort: {facts['cohort']:,} leads created in the period"]
    names = {k: BY_KEY[k].en for k in BY_KEY} | names
    mapped = [f"'{r['name']}' → {names.get(r['key'], r['key'])} ({r['how']}, {r['rows']:,})"
              for r in facts["mapping"] if r["key"] is not None]
    if mapped:
        lines.append("stage names: " + "; ".join(mapped))
    if facts["unmapped"]:
        lines.append(f"{facts['unmapped_leads']:,} leads at stages nothing maps: "
                     + ", ".join(f"'{r['name']}' ({r['rows']:,})" for r in facts["unmapped"]))
    if facts["implied"]:
        lines.append("implied by a later stage: " + "; ".join(f"{names.get(k, k)} {n:,} leads"
                                                               for k, n in facts["implied"].items()))
    return lines


def report_lines(data: dict[str, Any]) -> list[str]:
    """The report (:func:`report`, made plain) as lines for a terminal."""
    d, names = data["definition"], {s["key"]: s["en"] for s in data["funnel"]["stages"]}
    why = {"no_leads": "no leads file imported", "leads": "from the imported leads"}
    lines = [f"{data['funnel']['kind']} funnel ({why[data['funnel']['why']]}); as of {d['as_of'] or '–'}, "
             f"{d['order']} order; loyal: >= {d['loyal_min_purchase_days_12_months']} purchase days in 12 months"
             + ("" if d["window_days"] is None else
                f"; still active: a purchase within {d['window_days']} days ({d['window_source']})")
             + ("" if not d["sources"] else f"; sources: {', '.join(d['sources'])}")]
    lines += leads_lines(data["leads"], names)
    lines += ["", f"{'stage':<18}{'members':>9}{'% prev':>9}{'% first':>9}  step conversion (95 % interval)"]
    for row in data["stages"]:
        step = "" if row["conversion"] is None else \
            f"  {_pct(row['conversion'])} ({_pct(row['low'])} to {_pct(row['high'])})"
        lines.append(f"{names[row['stage']]:<18}{row['members']:>9,}{_pct(row['pct_previous']):>9}"
                     f"{_pct(row['pct_first']):>9}{step}")
    o, c = data["overall"], data["comparison_cohort"]
    lines += ["", f"overall {_pct(o['value'])} ({_pct(o['low'])} to {_pct(o['high'])}) of {data['members']:,}"]
    if c is not None:
        change = data["overall_change"]
        lines[-1] += (f"; comparison {_pct(c['overall']['value'])} of {c['overall']['of']:,} as of "
                      f"{c['as_of'] or '–'}, change " + ("–" if change is None else f"{100 * change:+.1f} pts"))
    leak = data["leak"]
    if leak is not None:
        lines.append(f"biggest leak: {names[leak['from_stage']]} → {names[leak['to_stage']]} loses "
                     f"{_pct(leak['lost_share'])} ({leak['lost']:,} of {leak['start']:,})"
                     + (f", worst in {leak['region']} ({_pct(leak['region_lost_share'])})" if leak["region"] else ""))
    for grouping, rows in data["compare"].items():
        weakest = [r for r in rows if r["rank"] == 1]
        if weakest:
            lines.append(f"weakest {grouping} per step: " + "; ".join(
                f"{names[r['to_stage']]}: {r['group'] or '(none)'} {_pct(r['rate'])} of {r['start']:,}"
                for r in weakest))
    lines.append("")
    for row in data["times"]:
        lines.append(f"{names[row['from_stage']]} → {names[row['to_stage']]}: median {_days(row['median'])} days "
                     f"({_days(row['q1'])} to {_days(row['q3'])}), n = {row['n']:,}")
    limits = "; ".join(f"{names[r['stage']]} {_days(r['threshold'])} days" for r in data["thresholds"])
    lines.append(f"stuck: {len(data['stuck']):,} (thresholds: {limits})")
    return lines
