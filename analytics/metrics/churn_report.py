"""``report churn``: the churn & retention page's figures as JSON-ready data and as lines for a terminal, from the
same view model as the page (:func:`analytics.metrics.churn_view.churn_view`)."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics import churn_risk
from analytics.metrics.churn_tiers import tier_split
from analytics.metrics.churn_view import ChurnView, SurvivalSet, churn_view, with_names
from analytics.models.cox import CoxFit, hazard_words
from analytics.scope import Scope

#: Customers listed in the report (at risk; won back).
TOP = 20


def load(con: duckdb.DuckDBPyConnection, scope: Scope, *, window_days: int | None = None,
         as_of: date | None = None) -> ChurnView:
    """The registry's loader (:attr:`analytics.pages.Page.load`): the whole view, with the Cox model, the at-risk
    lists, the won-back customers' names and the split by tier (:func:`analytics.metrics.churn_tiers.tier_split`:
    ``by_group["tier"]``, ``survival["tier"]`` and ``tiers``)."""
    view = churn_view(con, scope, window_days=window_days, as_of=as_of, with_at_risk=True)
    view = replace(view, win_back=with_names(con, view.scope, view.win_back))
    split = None if view.empty else tier_split(con, scope, view.definition.window, view.definition.as_of)
    if split is None:
        return view
    return replace(view, tiers=split, by_group={**view.by_group, "tier": split.rates},
                   survival={**view.survival, **({"tier": split.survival} if split.survival else {})})


def _rate(rate: tuple | None) -> dict[str, Any] | None:
    if rate is None:
        return None
    churned, exposure, value, low, high = rate
    return {"churned": churned, "customer_months": exposure, "rate": value, "low": low, "high": high}


def _survival(survival: SurvivalSet) -> dict[str, Any]:
    return {"log_rank": asdict(survival.log_rank) if survival.log_rank else None,
            "groups": [{"group": c.group, "customers": c.n, "churned": c.n_events,
                        "median_days": asdict(c.median), "survival_365": asdict(c.survival_at_horizon)}
                       for c in survival.curves]}


def cox_words(fit: CoxFit) -> list[dict[str, Any]]:
    """Each term of ``fit`` in words' parts (:func:`analytics.models.cox.hazard_words`; the first order value per
    doubling: its column is log2 of the spend)."""
    return [asdict(hazard_words(term)) for term in fit.terms]


def _cox(view: ChurnView) -> dict[str, Any]:
    fit = view.cox
    out: dict[str, Any] = {"problem": view.cox_problem, "customers": view.cox_customers,
                           "population": view.cox_population}
    if fit is None:
        return out
    ph = fit.proportional_hazards
    return out | {"n": fit.n, "events": fit.events, "rows_dropped": fit.rows_dropped,
                  "log_likelihood": fit.log_likelihood, "converged": fit.converged,
                  "terms": [asdict(t) for t in fit.terms], "words": cox_words(fit),
                  "left_out": [asdict(x) for x in fit.left_out],
                  "proportional_hazards": None if ph is None else asdict(ph)}


def win_back_summary(view: ChurnView) -> dict[str, Any]:
    """Won back in the period: customers, revenue in the month they returned, days away (quartiles)."""
    days = view.win_back["days_away"].to_numpy(dtype=float)
    q = np.percentile(days, [25, 50, 75]) if days.size else [np.nan] * 3
    risk = view.at_risk
    flagged = churn_risk.with_flags(view.win_back, risk)["was_at_risk"]
    known = risk is not None and risk.before is not None
    return {"customers": len(view.win_back), "revenue": float(view.win_back["revenue"].sum()),
            "days_away": {"q1": q[0], "median": q[1], "q3": q[2]},
            "were_at_risk": int(flagged.sum()) if known else None,
            "at_risk_problem": None if known else (risk.before_problem if risk else "not_asked")}


def report(view: ChurnView) -> dict[str, Any]:
    """The churn page's figures: the definition used (W, A), monthly churn with counts and intervals (and the
    comparison period's), churn by group, the window sensitivity, the cohort matrices, survival (median and
    share at 365 days per group, log-rank), the Cox model, win-back and the at-risk list."""
    d = view.definition
    risk = view.at_risk
    return {
        "definition": {"window_days": d.window, "window_source": d.window_source,
                       "default_window_days": d.default_window, "gap_share": d.gap_share, "as_of": d.as_of,
                       "as_of_source": d.as_of_source},
        "customers": view.n_customers, "active": view.active, "churned": view.churned,
        "churn_rate": _rate(view.period_rate), "comparison_churn_rate": _rate(view.comparison_rate),
        "monthly": view.monthly, "comparison_monthly": view.comparison_monthly,
        "by_group": view.by_group, "window_sensitivity": view.sensitivity,
        "tiers": None if view.tiers is None else {
            "names": list(view.tiers.names), "cuts": list(view.scope.tier_cuts), "measure": "revenue",
            "churned_as_of": view.tiers.churned},
        "cohorts": {"sizes": view.cohorts.sizes, "customer_retention": view.cohorts.customer_retention,
                    "revenue_retention": view.cohorts.revenue_retention, "milestones": view.cohorts.milestones},
        "survival": {k: _survival(s) for k, s in view.survival.items()},
        "cox": _cox(view),
        "win_back": win_back_summary(view) | {
            "latest": churn_risk.with_flags(view.win_back.head(TOP), risk)},
        "at_risk": None if risk is None else {
            "threshold": risk.threshold, "problem": risk.problem, "customers": len(risk.customers),
            "clv_at_risk": float(risk.customers["clv"].sum()) if "clv" in risk.customers else None,
            "top": risk.customers.head(TOP)},
    }


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.1%}"


def report_lines(data: dict[str, Any]) -> list[str]:
    """The churn report (:func:`report`, made plain) as lines for a terminal."""
    d = data["definition"]
    lines = [f"as of {d['as_of']}: churned = no purchase for more than {d['window_days']} days "
             f"({d['window_source']}; the data's rule gives {d['default_window_days']})",
             f"{data['customers']:,} customers: {data['active']:,} active, {data['churned']:,} churned"]
    p, c = data["churn_rate"], data["comparison_churn_rate"]
    if p:
        lines.append(f"monthly churn {_pct(p['rate'])} ({_pct(p['low'])} to {_pct(p['high'])}), "
                     f"{p['churned']:,} of {p['customer_months']:,} customer-months"
                     + (f"; comparison {_pct(c['rate'])}" if c else ""))
    lines += ["", "month        active  churned    rate"]
    for row in pd.DataFrame(data["monthly"]).itertuples():
        mark = "  provisional" if row.provisional else ""
        lines.append(f"{row.month}  {row.active_start:>8,}{row.churned:>9,}  {_pct(row.churn_rate):>7}{mark}")
    for key, s in data["survival"].items():
        test = s["log_rank"]
        lines += ["", f"survival by {key}" + (f" (log-rank p = {test['p_value']:.3g})" if test else "")]
        for g in s["groups"]:
            median = g["median_days"]["value"]
            lines.append(f"  {g['group'] or '(all)' if key == 'all' else g['group'] or '(none)':<14}"
                         f"{g['customers']:>8,} customers, median "
                         f"{'not reached' if median is None else f'{median:,.0f} days'}, "
                         f"{_pct(g['survival_365']['value'])} still there after 365 days")
    cox = data["cox"]
    if cox.get("terms"):
        lines += ["", f"drivers (Cox, {cox['n']:,} customers of {cox['population']:,}):"]
        for w in cox["words"]:
            lines.append(f"  {w['column']} {w['level'] or ''} vs {w['reference'] or '–'}: "
                         f"{w['ratio']:.2f}× ({w['low']:.2f} to {w['high']:.2f}), {w['direction']}")
    wb = data["win_back"]
    lines += ["", f"won back: {wb['customers']:,} customers, revenue {wb['revenue']:,.0f}, "
                  f"median {wb['days_away']['median']:.0f} days away"
              + ("" if wb["were_at_risk"] is None else f", {wb['were_at_risk']:,} had been at risk")]
    if data["at_risk"]:
        lines.append(f"at risk now: {data['at_risk']['customers']:,} active customers with P(alive) < "
                     f"{data['at_risk']['threshold']:.0%}")
    return lines
