"""``report value``: the value page's figures as JSON-ready data and as lines for a terminal,
from the same view model as the page (:func:`analytics.metrics.value.value_view`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

import duckdb

from analytics.metrics import value
from analytics.metrics.value import ValueView
from analytics.models.bgnbd import BgNbdFit
from analytics.models.gamma_gamma import GammaGammaFit
from analytics.scope import Scope

#: Customers listed in the report (by CLV and by value at risk).
TOP = 20
#: The customer columns listed.
COLUMNS = ("customer_id", "customer_name", "home_region", "segment", "rfm_segment", "recency_days", "frequency",
           "monetary", "p_alive", "expected_purchases", "clv", "clv_low", "clv_high", "value_at_risk")


def load(con: duckdb.DuckDBPyConnection, scope: Scope, *, horizon_months: int = 12,
         discount_rate: float | None = None, holdout_from: date | None = None,
         margin: float | None = None) -> ValueView:
    """The registry's loader (:attr:`analytics.pages.Page.load`): :func:`~analytics.metrics.value.value_view`."""
    return value.value_view(con, scope, horizon_months=horizon_months, discount_rate=discount_rate,
                            holdout_from=holdout_from, margin=margin)


def _bgnbd(fit: BgNbdFit | None) -> dict[str, Any] | None:
    if fit is None:
        return None
    return {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b, "std_errors": fit.std_errors,
            "log_likelihood": fit.log_likelihood, "n_customers": fit.n_customers, "n_repeaters": fit.n_repeaters,
            "converged": fit.converged, "iterations": fit.iterations, "message": fit.message}


def _gamma_gamma(fit: GammaGammaFit | None) -> dict[str, Any] | None:
    if fit is None:
        return None
    return {"p": fit.p, "q": fit.q, "gamma": fit.gamma, "std_errors": fit.std_errors,
            "log_likelihood": fit.log_likelihood, "n_customers": fit.n_customers, "n_ignored": fit.n_ignored,
            "converged": fit.converged, "iterations": fit.iterations, "message": fit.message,
            "mean_spend": fit.mean_spend}


def report(view: ValueView) -> dict[str, Any]:
    """The value page's figures: settings used, RFM segments and grid, the fitted models with standard
    errors and log-likelihoods, CLV totals with intervals (all, by region, segment, RFM segment), the
    holdout check, the top customers by CLV and the at-risk list (active: within the churn window)."""
    fits = view.fits
    customers = view.customers
    has_clv = "clv" in customers
    holdout = view.holdout
    return {
        "as_of": view.as_of,
        "settings": {"horizon_months": view.horizon_months, "discount_rate": view.discount_rate,
                     "margin_source": view.margin_source, "margin": view.margin, "level": value.LEVEL,
                     "holdout_from": holdout.cutoff if holdout else None},
        "customers": view.n_customers,
        "repeat_customers": fits.n_repeaters,
        "acquisition_cost_customers": view.acquisition_customers,
        "rfm": {"segments": view.segments, "grid": {str(r): [int(v) for v in row]
                                                    for r, row in view.grid.iterrows()}},
        "models": {"problem": fits.problem, "detail": fits.detail, "bgnbd": _bgnbd(fits.bgnbd),
                   "gamma_gamma": _gamma_gamma(fits.gamma_gamma),
                   "frequency_spend_check": asdict(fits.spend_check) if fits.spend_check else None},
        "clv": None if view.total is None else {
            "total": asdict(view.total), "future": asdict(view.total_future),
            "by": {name: frame for name, frame in view.by_group.items()}},
        "holdout": {"problem": view.holdout_problem} if holdout is None else {
            "problem": None, "from": holdout.cutoff, "to": holdout.end, "months": holdout.months,
            "predicted": holdout.predicted, "actual": holdout.actual, "error": holdout.error,
            "by_frequency": holdout.table, "bgnbd": _bgnbd(holdout.fits.bgnbd)},
        "top_customers": view.top_by_clv(TOP)[list(COLUMNS)] if has_clv else None,
        "at_risk": view.at_risk(TOP)[list(COLUMNS)] if has_clv else None,
    }


def report_lines(data: dict[str, Any]) -> list[str]:
    """The value report (:func:`report`, made plain) as lines for a terminal."""
    s = data["settings"]
    lines = [f"as of {data['as_of']}: {data['customers']:,} customers, {data['repeat_customers']:,} repeat buyers",
             f"horizon {s['horizon_months']} months, discount {s['discount_rate']:.1%} a year, "
             f"margin {s['margin']:.1%} ({s['margin_source']})", "", "RFM segments:"]
    for row in data["rfm"]["segments"]:
        lines.append(f"  {row['rfm_segment']:<20}{row['customers']:>10,}{row['customer_share']:>8.1%} of customers"
                     f"{row['revenue_share']:>8.1%} of revenue")
    models = data["models"]
    if models["problem"]:
        detail = f": {models['detail']}" if models["detail"] else ""
        lines += ["", f"models: not fitted ({models['problem']}){detail}"]
    for name, keys in (("bgnbd", ("r", "alpha", "a", "b")), ("gamma_gamma", ("p", "q", "gamma"))):
        fit = models[name]
        if fit:
            lines += ["", f"{name}: " + ", ".join(f"{k} = {fit[k]:.4g} (se {fit['std_errors'][k]:.2g})" for k in keys)
                      + f"; log-likelihood {fit['log_likelihood']:.2f}; "
                      + ("converged" if fit["converged"] else "NOT converged")]
    check = models["frequency_spend_check"]
    if check:
        lines.append(f"frequency-spend correlation r = {check['pearson']:.3f}, Spearman {check['spearman']:.3f} "
                     f"({check['verdict']}: the larger of the two)")
    if data["clv"]:
        total = data["clv"]["total"]
        lines += ["", f"CLV total {total['point']:,.0f} (90% interval {total['low']:,.0f} to {total['high']:,.0f})"]
        for row in data["clv"]["by"]["home_region"]:
            lines.append(f"  {row['group'] or '(none)':<12}{row['clv']:>18,.0f}  ({row['clv_low']:,.0f} to "
                         f"{row['clv_high']:,.0f}), {row['customers']:,} customers")
    h = data["holdout"]
    if h.get("problem"):
        lines += ["", f"holdout check: not possible ({h['problem']})"]
    else:
        error = f"{h['error']:.1%}" if h["error"] is not None else "–"
        lines += ["", f"holdout {h['from']} to {h['to']}: predicted {h['predicted']:,.0f} purchase days, actual "
                      f"{h['actual']:,.0f}; error {error}"]
    return lines
