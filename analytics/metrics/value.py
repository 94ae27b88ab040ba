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
from analytics.models.lifetime_value import GroupTotals, Interval, LifetimeValue, ValueModel
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
#: Customers the view lists by CLV and by value at risk, their intervals drawn with it (the page shows 100).
LISTED = 100


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
    """Everything the value page shows for a scope and its settings.

    ``customers`` has every customer's RFM, P(alive) and CLV; the CLV interval of a customer (``clv_low``,
    ``clv_high``) is drawn for the customers a page shows (:meth:`with_intervals`, :meth:`top_by_clv`,
    :meth:`at_risk`): a second per million customers, not paid for customers nobody looks at."""

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
    values: LifetimeValue | None = field(default=None, repr=False, compare=False)
    #: :meth:`top_by_clv` and :meth:`at_risk` of :data:`LISTED` customers, with their intervals, drawn with the view
    listed: tuple[pd.DataFrame, pd.DataFrame] | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:
        # a copy (the loaders' cache in ui/loaders.py pickles the view) leaves the lifetime-value model behind
        # (~150 MB at a million customers): the lists drawn with the view travel, other intervals need the original
        return self.__dict__ | {"values": None}

    def with_intervals(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (rows of :attr:`customers`) with each customer's CLV interval, ``clv_low`` and ``clv_high``,
        after ``clv`` (unchanged without the models)."""
        if "clv" not in frame:
            return frame
        if self.values is None:
            raise RuntimeError("This copy of the value view has no lifetime-value model: intervals beyond its "
                               f"{LISTED} listed customers need the view value_view returned.")
        low, high = self.values.clv_interval(self.customers.index.get_indexer(frame.index))
        at = frame.columns.get_loc("clv") + 1
        out = frame.copy()
        out.insert(at, "clv_low", low)
        out.insert(at + 1, "clv_high", high)
        return out

    def top_by_clv(self, limit: int) -> pd.DataFrame:
        """The ``limit`` customers of highest CLV, ties by customer id, with their intervals (empty without the
        models)."""
        if "clv" not in self.customers:
            return self.customers.iloc[0:0]
        if self.listed is not None and limit <= LISTED:
            return self.listed[0].head(limit)
        return self.with_intervals(_top(self.customers, "clv", limit))

    def at_risk(self, limit: int | None = LISTED) -> pd.DataFrame:
        """:func:`at_risk` of this view's customers, active within its churn window, with their CLV intervals
        (``limit`` None: all of them)."""
        if self.listed is not None and limit is not None and limit <= LISTED:
            return self.listed[1].head(limit)
        return self.with_intervals(at_risk(self.customers, self.active_days, limit))


def _top(frame: pd.DataFrame, column: str, limit: int | None) -> pd.DataFrame:
    """The ``limit`` rows of highest ``column``, ties by customer id (all, sorted, for None): the candidates found
    by a partition, only they sorted (a sort of a million rows takes a third of a second)."""
    values = frame[column].to_numpy(dtype=float)
    if limit is not None and limit < len(frame):
        threshold = -np.partition(-values, limit - 1)[limit - 1]
        frame = frame[values >= threshold]
    return frame.sort_values([column, "customer_id"], ascending=[False, True]).head(limit)


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
    base, table, own_rates, own_source, own_rate, acquisition, fits, segments, grid = _kept(
        ("prepared", state, scope.cache_key()), lambda: _prepared(con, scope, stored["gross_margin"]), state)
    rates, source, default_rate = (margin_rates(base, stored["gross_margin"], margin) if margin is not None
                                   else (own_rates, own_source, own_rate))
    revenue = base["revenue"].to_numpy(dtype=float)
    table = table.assign(margin_rate=rates, historical_value=rates * revenue, acquisition_cost=acquisition)
    view = dict(as_of=scope.end_exclusive - timedelta(days=1), horizon_months=int(horizon_months),
                discount_rate=discount, margin_source=source, margin=default_rate, n_customers=len(base),
                segments=segments, grid=grid, fits=fits, total=None,
                total_future=None, acquisition_customers=int(base["acquisition_cost"].notna().sum()),
                active_days=int(stored["churn_window_days"]))
    lv = None
    if fits.usable:
        model = _value_model(fits, base, table, own_rates, ("value_model", state, scope.cache_key()) if state else None)
        if isinstance(model, FitError):  # too few parameter draws within the models' bounds: no interval to give
            view["fits"] = dataclasses.replace(fits, problem="interval_failed", detail=str(model))
        else:
            lv = model.values(horizon_months=int(horizon_months), discount_rate=discount, margin=margin,
                              historical_value=table["historical_value"].to_numpy(), acquisition_cost=acquisition)
    if lv is not None:
        p_alive = lv.p_alive
        table = table.assign(p_alive=p_alive, expected_purchases=lv.expected_purchases,
                             expected_spend=lv.expected_spend, future_value=lv.future_value, clv=lv.clv)
        if_alive = np.divide(lv.future_value, p_alive, out=np.zeros_like(p_alive), where=p_alive > 0)
        table["value_at_risk"] = (1 - p_alive) * np.maximum(if_alive, 0.0)
        view |= dict(total=lv.total, total_future=lv.total_future, values=lv,
                     by_group={g: _group_frame(lv.by_group[g]) for g in GROUPINGS})
        drawn = ValueView(customers=table, **view)
        view["listed"] = (drawn.top_by_clv(LISTED), drawn.at_risk(LISTED))
    holdout, problem = _kept(("holdout", state, scope.cache_key(), holdout_from),
                             lambda: holdout_check(con, scope, base, holdout_from), state) \
        if holdout else (None, "not_asked")
    return ValueView(customers=table, holdout=holdout, holdout_problem=problem, **view)


def _kept(key: tuple, compute, state: tuple | None):
    """``compute()``, kept per ``key`` (:func:`analytics.metrics.value_fit.memo`) when the database has a
    state to key on (a file: not an in-memory database)."""
    return value_fit.memo(key, compute) if state is not None else compute()


def _prepared(con: duckdb.DuckDBPyConnection, scope: Scope, gross_margin: float) -> tuple:
    """What the value page reads from the database and derives before any setting of its own: the customer base,
    the RFM table, each customer's own margin rate (and where it comes from), acquisition costs, the fitted
    models, the segment summary and the R x F grid."""
    base = customer_base(con, scope, scope.end_exclusive)
    table = rfm.rfm_table(base)
    table.insert(1, "customer_name", base["customer_name"])
    rates, source, default_rate = margin_rates(base, gross_margin, None)
    acquisition = base["acquisition_cost"].fillna(0.0).to_numpy(dtype=float)
    return (base, table, rates, source, default_rate, acquisition, value_fit.fit_models(base),
            rfm.segment_summary(table), rfm.segment_grid(table))


def _value_model(fits: value_fit.Fits, base: pd.DataFrame, table: pd.DataFrame, rates: np.ndarray,
                 key: tuple | None = None) -> ValueModel | FitError:
    """The :class:`~analytics.models.lifetime_value.ValueModel` of these customers (totals by :data:`GROUPINGS`),
    built once per inputs (seconds at a million customers; then any horizon, discount rate or margin takes
    hundredths), or the FitError that stops it (kept too: it would stop it again). ``key``: the database state
    and scope the inputs come from (else they are digested, a few tenths of a second at a million customers)."""
    @functools.cache  # built only when digested or computed, once
    def groups() -> dict[str, np.ndarray]:
        return {g: table[g].fillna("").to_numpy(dtype=object) for g in GROUPINGS}

    if key is None:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(f"{value_fit.inputs_digest(base)}|{LEVEL!r}".encode())
        digest.update(np.ascontiguousarray(rates, dtype=float).tobytes())
        for labels in groups().values():
            codes, uniques = pd.factorize(labels)
            digest.update(codes.tobytes())
            digest.update("\x1f".join(map(str, uniques)).encode())
        key = digest.hexdigest()

    def build() -> ValueModel | FitError:
        try:
            return ValueModel(fits.bgnbd, fits.gamma_gamma, base["x"], base["t_x"], base["T"], base["monetary"],
                              margin=rates, groups=groups(), level=LEVEL)
        except FitError as exc:
            return exc

    return value_fit.memo(key, build)


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
    return _top(customers[customers["recency_days"] <= active_days], "value_at_risk", limit)
