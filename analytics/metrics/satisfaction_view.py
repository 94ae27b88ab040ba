"""The satisfaction & loyalty page's view model, loader and report (``python -m analytics report satisfaction``):
satisfaction from surveys (:mod:`analytics.metrics.satisfaction`), the satisfaction–loyalty gap, its quadrants and
the retention curve (:mod:`analytics.metrics.satisfaction_gap`), complaints and behavioural loyalty
(:mod:`analytics.metrics.complaints` and :mod:`~analytics.metrics.complaints_retention`,
:mod:`analytics.metrics.loyalty`), computed by the same functions for the page and the report. One loyalty
threshold N serves the gap and the loyalty part (the same definition: at least N purchase days in the 12 months
ending with the period's last month); the complaints and loyalty parts share one read of the purchase days."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analytics.errors import OptionError
from analytics.metrics import complaints_retention, satisfaction_gap
from analytics.metrics.complaints import DEFAULT_TARGET_DAYS, MAX_TARGET_DAYS, Complaints, complaints
from analytics.metrics.loyalty import Loyalty, loyalty
from analytics.metrics.loyalty_days import purchase_days
from analytics.metrics.satisfaction import Satisfaction, satisfaction
from analytics.metrics.satisfaction_gap import QUADRANTS, Gap, gap, surveyed
from analytics.metrics.tiers import customer_tiers, filter_spec, per_customer
from analytics.models.scores import Estimate
from analytics.scope import Scope, customers

#: The loyalty threshold a page or report may ask for (purchase days in 12 months), and its default.
LOYAL_RANGE = (1, 52)
LOYAL_MIN = satisfaction_gap.LOYAL_MIN
#: The complaints' resolution target T (days) and the months H after a complaint that count as retained.
TARGET_RANGE = (0, MAX_TARGET_DAYS)
TARGET_DAYS = DEFAULT_TARGET_DAYS
RETENTION_RANGE = (1, complaints_retention.MAX_HORIZON_MONTHS)
RETENTION_MONTHS = complaints_retention.DEFAULT_HORIZON_MONTHS


@dataclass(frozen=True)
class SatisfactionView:
    """Everything the page draws: ``satisfaction`` (surveys), ``gap`` (satisfied beside loyal), ``complaints`` and
    ``loyalty`` (behaviour), loyalty at ``loyal_min`` purchase days."""

    scope: Scope
    loyal_min: int
    satisfaction: Satisfaction
    gap: Gap
    complaints: Complaints
    loyalty: Loyalty

    @property
    def no_responses(self) -> bool:
        """No survey response in the period (complaints and loyalty may still have figures)."""
        return self.satisfaction.empty

    @property
    def empty(self) -> bool:
        """Nothing to show: no survey response, no complaint and no customer with a purchase in the year."""
        return self.no_responses and self.complaints.empty and self.loyalty.empty


def loyal_min_of(value: int | None) -> int:
    """The loyalty threshold asked for (default :data:`LOYAL_MIN`), checked."""
    return _checked("loyal_min", value, LOYAL_MIN, LOYAL_RANGE, "purchase days in 12 months")


def _checked(name: str, value: int | None, default: int, bounds: tuple[int, int], unit: str) -> int:
    if value is None:
        return default
    if int(value) != value or not bounds[0] <= value <= bounds[1]:
        raise OptionError(f"{name} must be {bounds[0]} to {bounds[1]} {unit}, not {value}")
    return int(value)


def load(con: duckdb.DuckDBPyConnection, scope: Scope, *, loyal_min: int | None = None,
         target_days: int | None = None, retention_months: int | None = None) -> SatisfactionView:
    """The registry's loader (:attr:`analytics.pages.Page.load`): the whole view for ``scope``, loyalty at
    ``loyal_min`` purchase days in 12 months (default :data:`LOYAL_MIN`), complaints resolved within
    ``target_days`` (default :data:`TARGET_DAYS`) and retained when buying in the ``retention_months`` after
    (default :data:`RETENTION_MONTHS`).

    Raises
    ------
    OptionError
        An option out of its range.
    """
    n = loyal_min_of(loyal_min)
    target = _checked("target_days", target_days, TARGET_DAYS, TARGET_RANGE, "days")
    months = _checked("retention_months", retention_months, RETENTION_MONTHS, RETENTION_RANGE, "months")
    days = purchase_days(con, scope)
    ranked = per_customer(con, scope, filter_spec(scope))  # (the tier filter's tiers, ranked once for every part)
    tiers = customer_tiers(con, scope, ranked=ranked)
    return SatisfactionView(scope, n, satisfaction(con, scope, tiers), gap(con, scope, n, days, tiers),
                            complaints(con, scope, target_days=target, horizon_months=months, days=days),
                            loyalty(con, scope, n, days=days, ranked=ranked))


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
    trend and season) and by group with n and intervals; the period's anonymous responses per scale (in the totals,
    not in any group); the gap per group, the quadrants and the retention curve's
    coefficients; complaints (per 1,000 active customers, categories, time to resolve, open, retention after a
    complaint) and behavioural loyalty (repeat-purchase rate, share loyal, frequency, tenure, by region and tier)."""
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
        "anonymous_responses": dict(s.anonymous),
        "gap": {"overall": g.overall, "by_group": g.by_group, "quadrants": g.quadrants},
        "retention_curve": {"problem": c.problem, "responses": c.n, "retained": c.retained,
                            "from": g.fit_from, "to": g.fit_to, "intercept": _num(c.intercept),
                            "slope": _num(c.slope), "intercept_se": _num(c.intercept_se),
                            "slope_se": _num(c.slope_se), "slope_p_value": _num(c.slope_p_value),
                            "at_scores": None if c.problem else {str(k): dict(zip(("probability", "low", "high"),
                                                                                 c.at(k), strict=True))
                                                                for k in range(1, 6)}},
    }
    return out | {"complaints": _complaints_report(view.complaints), "loyalty": _loyalty_report(view.loyalty)}


def _complaints_report(c: Complaints) -> dict[str, Any]:
    r, k = c.retention, c.time_to_resolve
    return {"recorded": c.recorded,
            "definition": {"target_days": c.target_days, "retention_months": r.horizon_months, "as_of": c.as_of,
                           "per": "complaints per 1,000 active customers (with a purchase in the month) a month"},
            "period": c.period, "comparison": c.comparison, "per_1000_p_value": _num(c.per_1000_p_value),
            "within_p_value": _num(c.within_p_value), "moved": c.moved, "monthly": c.monthly,
            "comparison_monthly": c.comparison_monthly, "categories": c.categories, "resolution": c.resolution,
            "time_to_resolve": None if k is None else {"complaints": k.complaints, "resolved": k.resolved,
                                                       "median_days": k.median, "median_low": k.median_low,
                                                       "median_high": k.median_high},
            "open_by_age": c.open_by_age, "open": c.open_list,
            "retention": {"months": list(r.months), "groups": r.table, "bands": r.bands}}


def _loyalty_report(lo: Loyalty) -> dict[str, Any]:
    t = lo.tenure
    return {"definition": {"loyal_min_purchase_days_12_months": lo.min_days, "as_of": lo.as_of},
            "period": lo.period, "comparison": lo.comparison, "p_value": _num(lo.p_value), "moved": lo.moved,
            "trend": lo.trend, "comparison_trend": lo.comparison_trend, "frequency": lo.frequency,
            "tenure": {"median_days": t.median, "q1_days": t.q1, "q3_days": t.q3, "bands": t.bands},
            "by_region": lo.by_region, "by_tier": lo.by_tier}


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
    anonymous = data["anonymous_responses"]
    n = sum(anonymous.values())
    if n:
        lines += [f"  {n:,} anonymous response{'' if n == 1 else 's'} ({anonymous['csat']:,} CSAT, "
                  f"{anonymous['nps']:,} NPS) count{'s' if n == 1 else ''} in the totals, not in any group"]
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
    return lines + _behaviour_lines(data["complaints"], data["loyalty"])


def _behaviour_lines(c: dict[str, Any], lo: dict[str, Any]) -> list[str]:
    p, d = c["period"], c["definition"]
    lines = ["", f"complaints {p['complaints']:,}: {_num_text(p['per_1000'])} per 1,000 active customers a month "
                 f"({_num_text(p['per_1000_low'])} to {_num_text(p['per_1000_high'])}); {_pct(p['within_share'])} "
                 f"resolved within {d['target_days']} days (of {p['due']:,} due); {p['open']:,} open on {d['as_of']}"]
    after = {row["group"]: row for row in c["retention"]["groups"]}["complained"]
    if after["customer_months"]:
        lines.append(f"  after a complaint: {_pct(after['rate'])} bought within {d['retention_months']} months, "
                     f"{_pct(after['expected'])} expected of customers buying as often who did not complain")
    q = lo["period"]
    lines += [f"loyalty: {_pct(q['loyal_share'])} loyal (>= {lo['definition']['loyal_min_purchase_days_12_months']} "
              f"purchase days in 12 months) of {q['customers']:,} customers; repeat-purchase rate "
              f"{_pct(q['repeat_rate'])}; {_num_text(q['frequency'])} purchase days a year"]
    return lines


def _num_text(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:,.1f}"
