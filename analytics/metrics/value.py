"""The customer value page's view model: RFM segments, the purchase and spend models, lifetime
value with its interval, and the holdout check of how well the models predict.

Definitions (shown on the page, each adjustable there and in ``report value``):

- **as of** the last day of the selected period; every customer in scope (home region, segment)
  with a purchase up to then, over their whole history (:mod:`analytics.metrics.customer_base`);
- **RFM** as in :mod:`analytics.metrics.rfm`;
- **models**: BG/NBD (purchases, P(alive)) and Gamma-Gamma (spend per purchase day) fitted on
  that history (:mod:`analytics.metrics.value_fit`);
- **margin**: each customer's margin rate (amount less cost over amount, of all their rows with a
  cost: a property of the customer, which the period's end does not cut) when the sales files gave
  a cost or profit, the data's overall rate for a customer without costed rows; else the
  ``gross_margin`` setting (30 %); ``margin=`` overrides both;
- **CLV** = historical value (revenue to date, net of returns, × margin rate) + the future value
  over ``horizon_months`` (default 12) discounted at ``discount_rate`` a year (default: the
  ``discount_rate`` setting, 10 %) − the acquisition cost from the customers file (0 without one);
  its 90 % interval reflects the uncertainty of the fitted parameters (the expected value, not
  the spread of what one customer will actually do: :mod:`analytics.models.lifetime_value`);
- **value at risk** of a customer = (1 − P(alive)) × the future value they would bring if still
  active (their future value / P(alive)): what is lost if they have in fact left;
- **holdout check**: the models are fitted again on the history before ``holdout_from`` (default:
  the last quarter of the months with data, whole months, at least one) and their expected
  purchases in the held-out months compared with the purchase days customers actually made, by
  calibration frequency 0, 1, … 7+; the error figure is Σ|predicted − actual| / Σ actual over
  those groups (their totals).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics import rfm, value_fit
from analytics.metrics.customer_base import WEEK_DAYS, customer_base
from analytics.models import bgnbd
from analytics.models.bgnbd import FitError
from analytics.models.lifetime_value import GroupTotals, Interval, lifetime_value
from analytics.scope import Scope, add_months
from analytics.store import settings

#: The holdout: calibration months needed before it, and the share of the months it takes by default.
MIN_CALIBRATION_MONTHS = 3
HOLDOUT_SHARE = 0.25
#: The holdout table groups customers by calibration repeat purchases 0 .. TOP_FREQUENCY (and more).
TOP_FREQUENCY = 7
#: Interval level of the lifetime values.
LEVEL = 0.90
#: The groupings of the CLV totals.
GROUPINGS = ("home_region", "segment", "rfm_segment")


@dataclass(frozen=True)
class Holdout:
    """The holdout check: models fitted before ``cutoff``, their predictions for ``cutoff`` to ``end``."""

    cutoff: date
    end: date
    months: int
    table: pd.DataFrame  # frequency (0..7, 7 = "7+"), customers, predicted, actual (means per customer)
    predicted: float
    actual: float
    error: float | None
    fits: value_fit.Fits


@dataclass(frozen=True)
class ValueView:
    """Everything the value page shows for a scope and its settings."""

    as_of: date
    horizon_months: int
    discount_rate: float
    margin_source: str  # "cost" (the data's cost or profit), "setting" or "option"
    margin: float  # the margin rate of customers without their own (the setting, option or data rate)
    n_customers: int
    customers: pd.DataFrame
    segments: pd.DataFrame
    grid: pd.DataFrame
    fits: value_fit.Fits
    total: Interval | None
    total_future: Interval | None
    by_group: dict[str, pd.DataFrame] = field(default_factory=dict)
    holdout: Holdout | None = None
    holdout_problem: str | None = None  # "too_short" | "before_data" | "after_period" | "not_asked" | a fit problem
    acquisition_customers: int = 0
    active_days: int = 180  # the churn window setting: a customer with a purchase within it is active

    def top_by_clv(self, limit: int) -> pd.DataFrame:
        """The ``limit`` customers of highest CLV, ties by customer id (empty without the models)."""
        if "clv" not in self.customers:
            return self.customers.iloc[0:0]
        return self.customers.sort_values(["clv", "customer_id"], ascending=[False, True]).head(limit)

    def at_risk(self, limit: int | None = 100) -> pd.DataFrame:
        """:func:`at_risk` of this view's customers, active within its churn window."""
        return at_risk(self.customers, self.active_days, limit)


def value_view(con: duckdb.DuckDBPyConnection, scope: Scope, *, horizon_months: int = 12,
               discount_rate: float | None = None, holdout_from: date | None = None,
               margin: float | None = None, holdout: bool = True) -> ValueView:
    """The value page for ``scope``: see the module docstring for every definition.

    Parameters
    ----------
    con
        The CRM database (the page's snapshot).
    scope
        Period and filters (the models read each customer's history up to the period's end).
    horizon_months, discount_rate, margin
        CLV settings; ``None``: the metric settings' ``discount_rate`` and, without cost data,
        ``gross_margin``.
    holdout_from
        The first held-out month; ``None``: the last quarter of the months with data.
    holdout
        False: no holdout check (``holdout`` None, ``holdout_problem`` "not_asked"), for a figure that
        needs only the lifetime values (the overview's tile).
    """
    stored = settings.load(con)
    discount = float(stored["discount_rate"] if discount_rate is None else discount_rate)
    state = value_fit.state_key(con)
    base, table, rates, source, default_rate, acquisition, fits, segments, grid = _kept(
        ("prepared", state, scope.cache_key(), margin),
        lambda: _prepared(con, scope, stored["gross_margin"], margin), state)
    table = table.copy(deep=False)  # the kept table is shared: columns are added to a copy
    view = dict(as_of=scope.end_exclusive - timedelta(days=1), horizon_months=int(horizon_months),
                discount_rate=discount, margin_source=source, margin=default_rate, n_customers=len(base),
                segments=segments, grid=grid, fits=fits, total=None,
                total_future=None, acquisition_customers=int(base["acquisition_cost"].notna().sum()),
                active_days=int(stored["churn_window_days"]))
    lv = None
    if fits.usable:
        try:
            lv = _lifetime_value(fits, base, table, rates, acquisition, int(horizon_months), discount,
                                 ("lifetime_value", state, scope.cache_key(), margin) if state else None)
        except FitError as exc:  # too few parameter draws within the models' bounds: no interval to give
            view["fits"] = dataclasses.replace(fits, problem="interval_failed", detail=str(exc))
    if lv is not None:
        p_alive = bgnbd.probability_alive(fits.bgnbd, base["x"], base["t_x"], base["T"])
        table = table.assign(p_alive=p_alive, expected_purchases=lv.expected_purchases,
                             expected_spend=lv.expected_spend, future_value=lv.future_value, clv=lv.clv,
                             clv_low=lv.clv_low, clv_high=lv.clv_high)
        if_alive = np.divide(lv.future_value, p_alive, out=np.zeros_like(p_alive), where=p_alive > 0)
        table["value_at_risk"] = (1 - p_alive) * np.maximum(if_alive, 0.0)
        view |= dict(total=lv.total, total_future=lv.total_future,
                     by_group={g: _group_frame(lv.by_group[g]) for g in GROUPINGS})
    holdout, problem = _kept(("holdout", state, scope.cache_key(), holdout_from),
                             lambda: holdout_check(con, scope, base, holdout_from), state) \
        if holdout else (None, "not_asked")
    return ValueView(customers=table, holdout=holdout, holdout_problem=problem, **view)


def _kept(key: tuple, compute, state: tuple | None):
    """``compute()``, kept per ``key`` (:func:`analytics.metrics.value_fit.memo`) when the database has a
    state to key on (a file: not an in-memory database)."""
    return value_fit.memo(key, compute) if state is not None else compute()


def _prepared(con: duckdb.DuckDBPyConnection, scope: Scope, gross_margin: float, margin: float | None) -> tuple:
    """What the value page reads from the database and derives before any setting of its own: the customer base,
    the RFM table with margins, historical values and acquisition costs, the fitted models, the segment summary
    and the R x F grid."""
    base = customer_base(con, scope, scope.end_exclusive)
    table = rfm.rfm_table(base)
    table.insert(1, "customer_name", base["customer_name"])
    rates, source, default_rate = margin_rates(base, gross_margin, margin)
    table["margin_rate"] = rates
    table["historical_value"] = rates * base["revenue"].to_numpy(dtype=float)
    acquisition = base["acquisition_cost"].fillna(0.0).to_numpy(dtype=float)
    table["acquisition_cost"] = acquisition
    return (base, table, rates, source, default_rate, acquisition, value_fit.fit_models(base),
            rfm.segment_summary(table), rfm.segment_grid(table))


def _lifetime_value(fits: value_fit.Fits, base: pd.DataFrame, table: pd.DataFrame, rates: np.ndarray,
                    acquisition: np.ndarray, horizon_months: int, discount: float, key: tuple | None = None):
    """:func:`~analytics.models.lifetime_value.lifetime_value` with totals by :data:`GROUPINGS`, computed once
    per inputs (the draws take seconds at a million customers; a rerun or a return to earlier settings does
    not repeat them). ``key``: the database state, scope and margin the inputs come from (else they are
    digested, which takes a few tenths of a second at a million customers)."""
    @functools.cache  # built only when digested or computed, once
    def groups() -> dict[str, np.ndarray]:
        return {g: table[g].fillna("").to_numpy(dtype=object) for g in GROUPINGS}

    if key is not None:
        key = (*key, horizon_months, discount, LEVEL)
    else:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(f"{value_fit.inputs_digest(base)}|{horizon_months}|{discount!r}|{LEVEL!r}".encode())
        for array in (rates, table["historical_value"].to_numpy(dtype=float), acquisition):
            digest.update(np.ascontiguousarray(array, dtype=float).tobytes())
        for labels in groups().values():
            codes, uniques = pd.factorize(labels)
            digest.update(codes.tobytes())
            digest.update("\x1f".join(map(str, uniques)).encode())
        key = digest.hexdigest()
    return value_fit.memo(key, lambda: lifetime_value(
        fits.bgnbd, fits.gamma_gamma, base["x"], base["t_x"], base["T"], base["monetary"], margin=rates,
        historical_value=table["historical_value"], acquisition_cost=acquisition, horizon_months=horizon_months,
        discount_rate=discount, level=LEVEL, groups=groups()))


def margin_rates(base: pd.DataFrame, setting: float, option: float | None) -> tuple[np.ndarray, str, float]:
    """Each customer's margin rate, where it came from, and the rate of customers without their own."""
    n = len(base)
    if option is not None:
        return np.full(n, float(option)), "option", float(option)
    costed = base["costed_revenue"].to_numpy(dtype=float)
    margins = base["margin"].to_numpy(dtype=float)
    has = np.isfinite(costed) & (costed > 0) & np.isfinite(margins)
    if not has.any():
        return np.full(n, float(setting)), "setting", float(setting)
    overall = float(margins[has].sum() / costed[has].sum())
    own = np.divide(margins, costed, out=np.full(n, overall), where=has)
    return np.clip(own, -1.0, 1.0), "cost", overall


def _group_frame(totals: GroupTotals) -> pd.DataFrame:
    frame = pd.DataFrame({"group": [None if label == "" else label for label in totals.labels],
                          "customers": totals.n_customers, "clv": totals.clv, "clv_low": totals.clv_low,
                          "clv_high": totals.clv_high, "future": totals.future, "future_low": totals.future_low,
                          "future_high": totals.future_high})
    frame["clv_per_customer"] = frame["clv"] / frame["customers"]
    return frame.sort_values("clv", ascending=False, ignore_index=True)


def default_holdout_from(first_day: date, scope: Scope) -> date | None:
    """The first month of the default holdout: the last quarter (rounded, at least one month) of the months
    from the first purchase to the period's end; None when that leaves under 3 calibration months."""
    months = (scope.end.year - first_day.year) * 12 + scope.end.month - first_day.month + 1
    held = max(1, int(months * HOLDOUT_SHARE + 0.5))  # half up (round() halves to even: 4.5 -> 4, 3.5 -> 4)
    if months - held < MIN_CALIBRATION_MONTHS:
        return None
    return add_months(scope.end_exclusive, -held)


def holdout_check(con: duckdb.DuckDBPyConnection, scope: Scope, base: pd.DataFrame,
                  holdout_from: date | None) -> tuple[Holdout | None, str | None]:
    """The models fitted before the holdout and compared with it (or why not: a problem code)."""
    if base.empty:  # no customer in scope (a filter without customers): not a matter of history length
        return None, "too_few_customers"
    first = base["first_day"].min()
    first = first.date() if hasattr(first, "date") else first
    if holdout_from is None:
        cutoff = default_holdout_from(first, scope)
        if cutoff is None:
            return None, "too_short"
    else:
        cutoff = holdout_from.replace(day=1)
        if cutoff > scope.end:
            return None, "after_period"
        if cutoff < add_months(first.replace(day=1), MIN_CALIBRATION_MONTHS):
            return None, "before_data"
    calibration = customer_base(con, scope, cutoff)
    fits = value_fit.fit_models(calibration)
    months = (scope.end_exclusive.year - cutoff.year) * 12 + scope.end_exclusive.month - cutoff.month
    if fits.bgnbd is None or fits.problem in ("too_few_customers", "too_short", "too_few_repeaters",
                                              "purchases_not_converged"):
        return None, fits.problem
    weeks = (scope.end_exclusive - cutoff).days / WEEK_DAYS
    predicted = bgnbd.expected_purchases(fits.bgnbd, weeks, calibration["x"], calibration["t_x"], calibration["T"])
    frame = pd.DataFrame({"frequency": np.minimum(calibration["x"].to_numpy(), TOP_FREQUENCY),
                          "predicted": predicted, "actual": calibration["holdout_purchases"].to_numpy(dtype=float)})
    grouped = frame.groupby("frequency")
    table = pd.DataFrame({"customers": grouped.size(), "predicted_total": grouped["predicted"].sum(),
                          "actual_total": grouped["actual"].sum()}).reindex(range(TOP_FREQUENCY + 1))
    table = table.fillna(0.0).rename_axis("frequency").reset_index()
    table["customers"] = table["customers"].astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        table["predicted"] = table["predicted_total"] / table["customers"]
        table["actual"] = table["actual_total"] / table["customers"]
    actual = float(table["actual_total"].sum())
    error = float((table["predicted_total"] - table["actual_total"]).abs().sum() / actual) if actual > 0 else None
    return Holdout(cutoff=cutoff, end=scope.end_exclusive - timedelta(days=1), months=months, table=table,
                   predicted=float(table["predicted_total"].sum()), actual=actual, error=error, fits=fits), None


def at_risk(customers: pd.DataFrame, active_days: int, limit: int | None = 100) -> pd.DataFrame:
    """Active customers (a purchase within ``active_days`` of the as-of day) most likely to have left,
    ranked by value at risk (:func:`value_view`'s ``value_at_risk``), highest first, ties by customer id.

    Empty when the models could not be fitted (no P(alive)). ``limit``: at most this many (None: all).
    """
    if "p_alive" not in customers:
        return customers.iloc[0:0]
    active = customers[customers["recency_days"] <= active_days]
    ranked = active.sort_values(["value_at_risk", "customer_id"], ascending=[False, True], ignore_index=True)
    return ranked if limit is None else ranked.head(limit)
