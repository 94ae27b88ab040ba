"""The satisfaction & loyalty page's view model, loader and report (``python -m analytics report satisfaction``):
satisfaction from surveys (:mod:`analytics.metrics.satisfaction`), the satisfaction–loyalty gap, its quadrants and
the retention curve (:mod:`analytics.metrics.satisfaction_gap`), complaints and behavioural loyalty
(:mod:`analytics.metrics.complaints`, :mod:`analytics.metrics.loyalty` when present), computed by the same functions
for the page and the report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analytics.errors import OptionError
from analytics.metrics import satisfaction_gap
from analytics.metrics.satisfaction import Satisfaction, satisfaction
from analytics.metrics.satisfaction_gap import QUADRANTS, Gap, gap, surveyed
from analytics.models.scores import Estimate
from analytics.scope import Scope, customers

#: The loyalty threshold a page or report may ask for (purchase days in 12 months), and its default.
LOYAL_RANGE = (1, 52)
LOYAL_MIN = satisfaction_gap.LOYAL_MIN


@dataclass(frozen=True)
class SatisfactionView:
    """Everything the page draws: ``satisfaction``, ``gap`` and, when their modules are there, ``complaints`` and
    ``loyalty``."""

    scope: Scope
    loyal_min: int
    satisfaction: Satisfaction
    gap: Gap
    complaints: Any = None
    loyalty: Any = None

    @property
    def empty(self) -> bool:
        """No survey response in the period (complaints and loyalty may still have figures)."""
        return self.satisfaction.empty


def loyal_min_of(value: int | None) -> int:
    """The loyalty threshold asked for (default :data:`satisfaction_gap.LOYAL_MIN`), checked."""
    if value is None:
        return LOYAL_MIN
    if not LOYAL_RANGE[0] <= int(value) <= LOYAL_RANGE[1]:
        raise OptionError(f"loyal_min must be {LOYAL_RANGE[0]} to {LOYAL_RANGE[1]} purchase days in 12 months, "
                          f"not {value}")
    return int(value)


def load(con: duckdb.DuckDBPyConnection, scope: Scope, *, loyal_min: int | None = None) -> SatisfactionView:
    """The registry's loader (:attr:`analytics.pages.Page.load`): the whole view for ``scope``, loyalty at
    ``loyal_min`` purchase days in 12 months."""
    n = loyal_min_of(loyal_min)
    return SatisfactionView(scope, n, satisfaction(con, scope), gap(con, scope, n))


def quadrant_customers(con: duckdb.DuckDBPyConnection, scope: Scope, quadrant: str, loyal_min: int) -> pd.DataFrame:
    """The surveyed customers of one quadrant (:data:`satisfaction_gap.QUADRANTS`): ``customer_id``,
    ``customer_name``, ``score``, ``purchase_days``, ``revenue``, ``home_region``, ``segment``, ``tier``; highest
    revenue first."""
    if quadrant not in QUADRANTS:
        raise OptionError(f"the quadrants are {', '.join(QUADRANTS)}, not {quadrant!r}")
    frame = surveyed(con, scope, loyal_min)
    mine = frame[frame["quadrant"] == quadrant]
    who = customers(scope)
    names = con.execute(f"select customer_id, customer_name from ({who.sql}) c semi join "
                        f"(select unnest(?) as customer_id) q using (customer_id)",
                        [*who.params, mine["customer_id"].tolist() or [""]]).df()
    out = mine.merge(names, on="customer_id", how="left")
    columns = ["customer_id", "customer_name", "score", "purchase_days", "revenue", "home_region", "segment", "tier"]
    return out.sort_values(["revenue", "customer_id"], ascending=[False, True])[columns].reset_index(drop=True)


def _estimate(e: Estimate | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {"value": _num(e.value), "low": _num(e.low), "high": _num(e.high), "n": e.n}


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float | np.floating) and np.isnan(x)) else float(x)


def report(view: SatisfactionView) -> dict[str, Any]:
    """The page's figures: CSAT, NPS and the mean over the period and the comparison period, by month (with the
    trend and season) and by group with n and intervals; the gap per group, the quadrants and the retention curve's
    coefficients; complaints and loyalty when present."""
    s, g, c = view.satisfaction, view.gap, view.gap.curve
    out = {
        "definition": {"csat": "share of 1-5 scores of 4 or 5", "nps": "% of 9-10 less % of 0-6, in points",
                       "loyal_min_purchase_days_12_months": view.loyal_min, "horizon_days": g.horizon_days},
        # (not "period" / "comparison": those are the report's head, the months and the comparison's kind)
        "figures": {"period": {k: _estimate(v) for k, v in s.period.items()},
                    "comparison": None if s.comparison is None else {k: _estimate(v)
                                                                     for k, v in s.comparison.items()}},
        "monthly": s.monthly, "comparison_monthly": s.comparison_monthly,
        "trends": {k: {"method": d.method, "months": d.frame} for k, d in s.trends.items()},
        "by_group": s.by_group,
        "gap": {"overall": g.overall, "by_group": g.by_group, "quadrants": g.quadrants},
        "retention_curve": {"problem": c.problem, "responses": c.n, "retained": c.retained,
                            "from": g.fit_from, "to": g.fit_to, "intercept": _num(c.intercept),
                            "slope": _num(c.slope), "intercept_se": _num(c.intercept_se),
                            "slope_se": _num(c.slope_se), "slope_p_value": _num(c.slope_p_value),
                            "at_scores": None if c.problem else {str(k): dict(zip(("probability", "low", "high"),
                                                                                 c.at(k), strict=True))
                                                                for k in range(1, 6)}},
    }
    if view.complaints is not None:
        out["complaints"] = view.complaints
    if view.loyalty is not None:
        out["loyalty"] = view.loyalty
    return out


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.1%}"


def report_lines(data: dict[str, Any]) -> list[str]:
    """The report (:func:`report`, made plain) as lines for a terminal."""
    p, c = data["figures"]["period"], data["figures"]["comparison"]

    def said(name: str, e: dict, points: bool = False) -> str:
        if e["value"] is None:
            return f"{name}: no responses"
        shown = (lambda x: f"{x:+.1f}") if points else _pct
        return f"{name}: {shown(e['value'])} ({shown(e['low'])} to {shown(e['high'])}), n = {e['n']:,}"

    lines = [said("CSAT", p["csat"]), said("NPS", p["nps"], points=True)]
    if c is not None:
        lines += [f"  comparison: {said('CSAT', c['csat'])}; {said('NPS', c['nps'], points=True)}"]
    overall = pd.DataFrame(data["gap"]["overall"]).iloc[0]
    loyal_min = data["definition"]["loyal_min_purchase_days_12_months"]
    lines += ["", f"surveyed customers {int(overall['n']):,}: {_pct(overall['satisfied'])} satisfied, "
                  f"{_pct(overall['loyal'])} loyal (>= {loyal_min} purchase days in 12 months), gap "
                  + ("–" if pd.isna(overall["gap"]) else f"{overall['gap']:+.1f} points")]
    for row in pd.DataFrame(data["gap"]["quadrants"]).itertuples():
        lines.append(f"  {row.quadrant:<22}{row.customers:>8,} customers, revenue {row.revenue:>14,.0f}")
    curve = data["retention_curve"]
    if curve["problem"] is None:
        at = curve["at_scores"]
        lines += ["", f"bought again within {data['definition']['horizon_days']} days: "
                      f"{_pct(at['3']['probability'])} at a score of 3, {_pct(at['5']['probability'])} at 5 "
                      f"({curve['responses']:,} responses)"]
    else:
        lines += ["", f"retention curve: not fitted ({curve['problem']})"]
    return lines
