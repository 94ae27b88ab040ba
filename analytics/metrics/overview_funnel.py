"""The overview's funnel in miniature: the funnel page's figures cut to what the overview shows, for the page and
``report overview`` alike.

The figures are the funnel page's own: :func:`mini_funnel` calls its loader (:func:`analytics.metrics.funnel_view.load`
with the page's default definitions: strict order, the loyalty page's N, the churn page's W), which picks the funnel
(:func:`analytics.metrics.funnel_view.which`) and its producer; :func:`of_view` only selects from that view and tests
the change. Nothing here counts a member.

Definitions (the funnel page's; docs/funnel-design.md):

- **stage counts**: the members counted at each stage (strict order: each stage's are part of the one before), with
  % of the previous stage and % of the first;
- **overall conversion**: the members at the last stage ÷ at the first, with its Wilson 95 % interval;
- **change**: that conversion less the comparison period's cohort's (counted as long after its end as this period's
  is after its own), in points; **within sampling error** when the two-proportion z-test of the two cohorts'
  conversions (:func:`analytics.models.proportions.two_proportion_p_value`; the cohorts are different members, so
  two independent samples) gives p ≥ :data:`SIGNIFICANCE`;
- **no funnel** (None) when nobody entered it in the period: the overview then shows nothing of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from analytics.metrics import funnel_view
from analytics.metrics.funnel_view import FunnelView, stage_names
from analytics.metrics.highlights import SIGNIFICANCE
from analytics.models.proportions import two_proportion_p_value
from analytics.scope import Scope

#: The stage counts' columns the overview shows.
COLUMNS = ("stage", "members", "pct_previous", "pct_first")


@dataclass(frozen=True)
class MiniFunnel:
    """The funnel in miniature for a scope.

    ``kind`` and ``why``: which funnel (:func:`analytics.metrics.funnel_view.which`); ``as_of``: the day it is
    counted to; ``stages``: one row per stage in order, :data:`COLUMNS` (shares of 1; ``pct_previous`` NaN at the
    first stage); ``overall``: the overall conversion with its 95 % interval (value, low, high); ``comparison_members``
    and ``comparison_overall``: the comparison period's cohort and its conversion (None without a comparison period;
    NaN over an empty cohort); ``change``: the conversion less the comparison's, in shares of 1 (None without a
    comparison or over an empty one); ``p_value``: the z-test of that change (None likewise).
    """

    kind: str
    why: str
    as_of: date
    stages: pd.DataFrame
    overall: tuple[float, float, float]
    comparison_members: int | None
    comparison_overall: tuple[float, float, float] | None
    comparison_as_of: date | None
    change: float | None
    p_value: float | None

    @property
    def members(self) -> int:
        """The cohort: the members at the first stage."""
        return int(self.stages["members"].iloc[0])

    @property
    def reached(self) -> int:
        """The members at the last stage."""
        return int(self.stages["members"].iloc[-1])

    @property
    def within_noise(self) -> bool | None:
        """Whether the change is within sampling error (p ≥ :data:`SIGNIFICANCE`); None without a change."""
        return None if self.p_value is None else self.p_value >= SIGNIFICANCE


def of_view(view: FunnelView) -> MiniFunnel | None:
    """The miniature of the funnel page's view (module docstring); None when its cohort is empty."""
    if view.empty:
        return None
    before = view.comparison
    change = p = None
    if before is not None and int(before["members"].iloc[0]):
        change = float(view.overall_change)
        p = two_proportion_p_value(int(view.funnel.counts["members"].iloc[-1]), view.members,
                                   int(before["members"].iloc[-1]), int(before["members"].iloc[0]))
    return MiniFunnel(kind=view.kind, why=view.why, as_of=view.funnel.as_of,
                      stages=view.funnel.counts[list(COLUMNS)].reset_index(drop=True), overall=view.overall,
                      comparison_members=None if before is None else int(before["members"].iloc[0]),
                      comparison_overall=view.comparison_overall, comparison_as_of=view.comparison_as_of,
                      change=change, p_value=p)


def mini_funnel(con: duckdb.DuckDBPyConnection, scope: Scope) -> MiniFunnel | None:
    """The funnel in miniature for ``scope``: :func:`of_view` of the funnel page's loader with its defaults."""
    return of_view(funnel_view.load(con, scope))


def _interval(share: tuple[float, float, float] | None, of: int | None) -> dict[str, Any] | None:
    return None if share is None else {"value": share[0], "low": share[1], "high": share[2], "of": of}


def report(mini: MiniFunnel | None) -> dict[str, Any] | None:
    """The miniature for ``report overview``'s ``funnel``: which funnel and why, the as-of day, each stage (key,
    names in both languages, members, % of previous, % of first), the overall conversion with its interval and
    cohort (``of``), the comparison cohort's (None without one), the change (shares of 1), its p-value and whether
    it is within sampling error. None without a funnel (nobody entered it in the period)."""
    if mini is None:
        return None
    names = stage_names(list(mini.stages["stage"]))
    return {"kind": mini.kind, "why": mini.why, "as_of": mini.as_of,
            "stages": [n | {c: row[c] for c in COLUMNS[1:]} for n, row in zip(names, mini.stages.to_dict("records"),
                                                                              strict=True)],
            "overall": _interval(mini.overall, mini.members),
            "comparison": None if mini.comparison_overall is None else {
                "as_of": mini.comparison_as_of, "overall": _interval(mini.comparison_overall,
                                                                     mini.comparison_members)},
            "change": mini.change, "p_value": mini.p_value, "within_sampling_error": mini.within_noise}


def _pct(x: float | None) -> str:
    return "–" if x is None or math.isnan(x) else f"{x:.1%}"


def report_lines(data: dict[str, Any] | None) -> list[str]:
    """The miniature's report (:func:`report`, made plain) as lines for a terminal (none without a funnel)."""
    if data is None:
        return []
    o = data["overall"]
    lines = ["", f"{data['kind']} funnel, as of {data['as_of']}:"]
    lines += [f"  {s['en']:<20}{s['members']:>9,}{_pct(s['pct_first']):>9}" for s in data["stages"]]
    lines.append(f"  overall {_pct(o['value'])} (95% CI {_pct(o['low'])}–{_pct(o['high'])}) of {o['of']:,}")
    if data["change"] is not None:
        lines[-1] += (f", {100 * data['change']:+.1f} pts against {_pct(data['comparison']['overall']['value'])}"
                      + (" (within sampling error)" if data["within_sampling_error"] else ""))
    return lines
