"""Churn with a visible definition: who left, when, and who came back (the churn page's core).

Definitions (shown on the page, adjustable there):

- **churned** on a day D: the customer's last purchase up to D is more than W days before it
  (W: the inactivity window, whole days, at least :data:`MIN_WINDOW`): they become churned on the
  day W + 1 days after a purchase, unless they bought again by then. **Active** on D: bought on or
  before D and not churned on D.
- **churned in month m**: became churned on a day of m. **Churn rate** of m: those, over the
  customers active on the last day before m, with a 95 % Wilson interval (every customer who
  churns in m was active then; one who first buys in m cannot churn in m, as W >= 30 days).
- **won back in month m**: bought in m after being churned (their previous purchase more than W
  days before); ``days_away``: days from that previous purchase to the return.
- **provisional**: a month that ends after the last purchase of the customers in scope (the data's end
  for them), whose churn is not yet known.
- **default window**: the smallest multiple of 30 days within which 90 % of repeat purchases
  follow the purchase before (the 90th percentile of the days between consecutive purchase days of
  repeat buyers, rounded up to 30 days).

Everything is computed from ``customer_month`` (a customer's first and last purchase day of each
month) through the gate (:func:`analytics.scope.customer_history`): as W is at least 30 days and two
purchase days of one month are at most 30 days apart, a gap longer than W can only lie between
months, so the months' first and last days decide every definition above exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from analytics.models.proportions import wilson_interval
from analytics.scope import Scope, customer_history, customers

#: The shortest inactivity window (days): the gaps within a month are at most 30 days.
MIN_WINDOW = 30
#: The default window is this share's percentile of the gaps, rounded up to WINDOW_STEP days.
GAP_SHARE = 0.90
WINDOW_STEP = 30
#: The default window when the data has no repeat purchase to derive one from.
FALLBACK_WINDOW = 180

_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class PurchaseMonths:
    """Every month with a purchase of the customers in scope, up to the period's end: per row, its first and
    last purchase day, the last purchase day of the customer's previous month with a purchase and the first of
    their next one (days since 1970-01-01; -1 where there is none) and the month's revenue;
    ``within_gaps``: the gaps between purchase days inside those months (each at most 30 days)."""

    first: np.ndarray
    last: np.ndarray
    previous_last: np.ndarray
    next_first: np.ndarray
    revenue: np.ndarray
    within_gaps: int
    data_end: date | None  # the last purchase day of these customers in all the data (after the period too)

    @property
    def n_customers(self) -> int:
        """Customers with a purchase (each has one first month)."""
        return int((self.previous_last < 0).sum())


def purchase_months(con: duckdb.DuckDBPyConnection, scope: Scope) -> PurchaseMonths:
    """The purchase months of the customers in scope (home region, segment) up to the period's end, in one
    query over ``customer_month`` (a window per customer in month order)."""
    history = customer_history(scope)
    rows = con.execute(
        f"select datediff('day', date '1970-01-01', first_day) as first, "
        f"datediff('day', date '1970-01-01', last_day) as last, "
        f"coalesce(datediff('day', date '1970-01-01', lag(last_day) over w), -1) as previous_last, "
        f"coalesce(datediff('day', date '1970-01-01', lead(first_day) over w), -1) as next_first, "
        f"purchase_days, cast(revenue as double) as revenue "
        f"from ({history.sql}) h where purchase_days > 0 "
        f"window w as (partition by customer_id order by month)", list(history.params)).fetchnumpy()
    who = customers(scope)
    end = con.execute(f"select max(last_order_date) from ({who.sql}) c", list(who.params)).fetchall()[0][0]
    days = rows["purchase_days"].astype(np.int64)
    return PurchaseMonths(first=rows["first"].astype(np.int64), last=rows["last"].astype(np.int64),
                          previous_last=rows["previous_last"].astype(np.int64),
                          next_first=rows["next_first"].astype(np.int64), revenue=rows["revenue"].astype(float),
                          within_gaps=int((days - 1).sum()), data_end=end)


def _day(d: date) -> int:
    return (d - _EPOCH).days


def default_window(months: PurchaseMonths) -> int:
    """The module docstring's default window: the smallest multiple of 30 days (at least 30) within which
    90 % of the gaps between consecutive purchase days lie. Exact from the months: every gap inside a month
    is at most 30 days. :data:`FALLBACK_WINDOW` without repeat purchases."""
    has_next = months.next_first >= 0
    between = months.next_first[has_next] - months.last[has_next]
    total = months.within_gaps + between.size
    if total == 0:
        return FALLBACK_WINDOW
    ordered = np.sort(between)
    window = WINDOW_STEP
    while months.within_gaps + np.searchsorted(ordered, window, side="right") < GAP_SHARE * total:
        window += WINDOW_STEP
    return window


def _month_index(day: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of days since 1970-01-01."""
    d = day.astype("datetime64[D]")
    return d.astype("datetime64[M]").astype(np.int64)


def monthly_churn(months: PurchaseMonths, scope: Scope, window: int) -> pd.DataFrame:
    """Per month of the scope's period: customers active just before it, churned in it, the churn rate
    with its 95 % Wilson interval, customers won back in it (and their revenue that month) and whether the
    month is provisional (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per month of the period: ``month`` (its first day), ``active_start``, ``churned``,
        ``churn_rate``, ``churn_low``, ``churn_high`` (NaN without active customers), ``won_back``,
        ``won_back_revenue`` (their revenue in the month they came back), ``new_customers``,
        ``provisional``.
    """
    if window < MIN_WINDOW:
        raise ValueError(f"the inactivity window must be at least {MIN_WINDOW} days, not {window}")
    period = pd.date_range(scope.start, scope.end, freq="MS")
    base = _month_index(np.array([_day(scope.start)]))  # base[0]: the period's first month
    n = len(period)
    first, last, nxt = months.first, months.last, months.next_first
    # active on the day before a month's first day S: a row's purchases make the customer active on the days
    # [first, min(next_first - 1, last + W)], so on S - 1 for the month starts S in (first, min(next_first,
    # last + W + 1)]
    end = np.where(nxt >= 0, np.minimum(nxt, last + window + 1), last + window + 1)
    start_idx = _month_index(first) + 1 - base[0]  # the first month start after the row's first purchase
    stop_idx = _month_index(end) + 1 - base[0]  # past the last month start on or before ``end``
    diff = np.zeros(n + 1, dtype=np.int64)
    live = stop_idx > start_idx
    np.add.at(diff, np.clip(start_idx[live], 0, n), 1)
    np.add.at(diff, np.clip(stop_idx[live], 0, n), -1)
    active = np.cumsum(diff)[:n]
    # churned: the day W + 1 after a row's last purchase, with no purchase by then
    gone = (nxt < 0) | (nxt - last > window)
    churn_day = last[gone] + window + 1
    as_of = _day(scope.end_exclusive) - 1
    churn_day = churn_day[churn_day <= as_of]
    churned = np.bincount(np.clip(_month_index(churn_day) - base[0], -1, n) + 1, minlength=n + 2)[1:n + 1]
    back = np.flatnonzero((months.previous_last >= 0) & (first - months.previous_last > window))
    back_idx = _month_index(first[back]) - base[0]
    inside = (back_idx >= 0) & (back_idx < n)
    won_back = np.bincount(back_idx[inside], minlength=n)
    won_back_revenue = np.bincount(back_idx[inside], weights=months.revenue[back][inside], minlength=n)
    new_idx = _month_index(first[months.previous_last < 0]) - base[0]
    new = np.bincount(new_idx[(new_idx >= 0) & (new_idx < n)], minlength=n)
    intervals = [wilson_interval(int(c), int(a)) if a > 0 else None for c, a in zip(churned, active, strict=True)]
    data_end = _day(months.data_end) if months.data_end is not None else -1
    month_end = np.array([_day((m + pd.offsets.MonthEnd(0)).date()) for m in period])
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(active > 0, churned / np.maximum(active, 1), np.nan)
    return pd.DataFrame({
        "month": [m.date() for m in period], "active_start": active, "churned": churned, "churn_rate": rate,
        "churn_low": [np.nan if i is None else i[0] for i in intervals],
        "churn_high": [np.nan if i is None else i[1] for i in intervals],
        "won_back": won_back, "won_back_revenue": won_back_revenue, "new_customers": new,
        "provisional": month_end > data_end})
