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
- **provisional**: a month that ends after the as-of day A: the last purchase of the customers in scope
  (the data's end for them) or an earlier day asked for, whose churn is not yet known.
- **as of A** (default: the period's last day, or the last purchase of the customers in scope when that is
  earlier): purchases after A are not seen; a customer's **lifetime** runs from their first purchase to
  their last (churned as of A: the event is observed) or to A (active: censored).
- **default window**: the smallest multiple of 30 days within which 90 % of repeat purchases
  follow the purchase before (the 90th percentile of the days between consecutive purchase days of
  repeat buyers, rounded up to 30 days).

Everything is computed from ``customer_month`` (a customer's first and last purchase day of each
month) through the gate (:func:`analytics.scope.customer_history`): as W is at least 30 days and two
purchase days of one month are at most 30 days apart, a gap longer than W can only lie between
months, so the months' first and last days decide every definition above exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from analytics.models.proportions import wilson_interval
from analytics.scope import Scope, add_months, customer_history, customers, month_start

#: The shortest inactivity window (days): the gaps within a month are at most 30 days.
MIN_WINDOW = 30
#: The default window is this share's percentile of the gaps, rounded up to WINDOW_STEP days.
GAP_SHARE = 0.90
WINDOW_STEP = 30
#: The default window when the data has no repeat purchase to derive one from.
FALLBACK_WINDOW = 180

_EPOCH = date(1970, 1, 1)
#: The customer attributes churn is split by (``customer_summary`` columns).
GROUPINGS: tuple[str, ...] = ("home_region", "segment", "acquisition_channel")


@dataclass(frozen=True)
class PurchaseMonths:
    """Every month with a purchase of the customers in scope, up to the as-of day: per row, its first and
    last purchase day, the last purchase day of the customer's previous month with a purchase and the first of
    their next one (days since 1970-01-01; -1 where there is none), the customer's first purchase day, the
    month's purchase days and revenue, and per grouping of :data:`GROUPINGS` the customer's group as a code
    into ``labels[grouping]`` (-1: none)."""

    first: np.ndarray
    last: np.ndarray
    previous_last: np.ndarray
    next_first: np.ndarray
    customer_first: np.ndarray
    purchase_days: np.ndarray
    revenue: np.ndarray
    codes: dict[str, np.ndarray]
    labels: dict[str, tuple[str, ...]]
    customer_ids: np.ndarray  # on the customer's last row and after a gap of more than MIN_WINDOW days, else None
    as_of: date  # purchases after it are not seen; months that end after it are provisional

    @property
    def n_customers(self) -> int:
        """Customers with a purchase (each has one first month)."""
        return int((self.previous_last < 0).sum())

    @property
    def within_gaps(self) -> int:
        """The gaps between consecutive purchase days inside the months (each at most 30 days)."""
        return int((self.purchase_days - 1).sum())


def as_of_day(con: duckdb.DuckDBPyConnection, scope: Scope, as_of: date | None = None) -> date | None:
    """The as-of day: ``as_of`` when given (it must lie in the period), else the period's last day or the data's
    last purchase day (anyone's) when that is earlier (``None`` without purchases)."""
    last_day = scope.end_exclusive - timedelta(days=1)
    if as_of is not None:
        if not scope.start <= as_of <= last_day:
            raise ValueError(f"the as-of day {as_of} must lie in the period ({scope.start} to {last_day})")
        return as_of
    # the data's end: the last purchase of anyone (an export's date, the same for every scope: a filter or a
    # manager's regions whose customers stopped buying earlier must not hide their churn)
    end = con.execute("select max(last_order_date) from customer_summary").fetchall()[0][0]
    return None if end is None else min(end, last_day)


def purchase_months(con: duckdb.DuckDBPyConnection, scope: Scope, as_of: date | None = None) -> PurchaseMonths:
    """The purchase months of the customers in scope (home region, segment) up to the as-of day
    (:func:`as_of_day`), in one query over ``customer_month`` (a window per customer in month order). When the
    as-of day falls before the end of the data in its month, that month's rows are recounted from the
    transactions up to it (one month of rows)."""
    as_of_date = as_of_day(con, scope, as_of)
    cut = as_of_date or scope.end_exclusive - timedelta(days=1)
    who = customers(scope)
    labels = {g: tuple(r[0] for r in con.execute(
        f"select distinct {g} from ({who.sql}) c where {g} is not null order by 1", list(who.params)).fetchall())
        for g in GROUPINGS}
    history = customer_history(replace(scope, end=cut))
    source, params = f"select customer_id, month, first_day, last_day, purchase_days, revenue from ({history.sql}) h", \
        list(history.params)
    recount = con.execute("select exists (select 1 from transactions where order_date > ? and order_date < ?)",
                          [cut, add_months(month_start(cut), 1)]).fetchall()[0][0]
    if recount:  # the as-of month's purchases after the as-of day are dropped
        month = month_start(cut)
        source = (f"select * from ({source}) s where month < ? union all "
                  "select customer_id, cast(? as date), min(order_date) filter (where not is_return), "
                  "max(order_date) filter (where not is_return), count(distinct order_date) filter (where not "
                  "is_return), sum(amount) from transactions t "
                  f"where order_date >= ? and order_date <= ? and customer_id in (select customer_id from "
                  f"({who.sql}) c) group by customer_id")
        params += [month, month, month, cut, *who.params]
    codes = ", ".join(f"coalesce(list_position(?, c.{g}), 0) - 1 as code_{g}" for g in GROUPINGS)
    rows = con.execute(
        f"select datediff('day', date '1970-01-01', h.first_day) as first, "
        f"datediff('day', date '1970-01-01', h.last_day) as last, "
        f"coalesce(datediff('day', date '1970-01-01', lag(h.last_day) over w), -1) as previous_last, "
        f"coalesce(datediff('day', date '1970-01-01', lead(h.first_day) over w), -1) as next_first, "
        f"datediff('day', date '1970-01-01', first_value(h.first_day) over w) as customer_first, "
        f"h.purchase_days, cast(h.revenue as double) as revenue, {codes}, "
        # the customer's id where a list may need it: on their last row (lifetimes) and after a gap of more than
        # the shortest window (win-back); not on every row (a million ids cost more than the rest)
        f"case when lead(h.first_day) over w is null or h.first_day - lag(h.last_day) over w > {MIN_WINDOW} "
        f"then h.customer_id end as customer_id "
        f"from ({source}) h join ({who.sql}) c on c.customer_id = h.customer_id where h.purchase_days > 0 "
        f"window w as (partition by h.customer_id order by h.month)",
        [*(list(labels[g]) or [""] for g in GROUPINGS), *params, *who.params]).fetchnumpy()
    return PurchaseMonths(first=rows["first"].astype(np.int64), last=rows["last"].astype(np.int64),
                          previous_last=rows["previous_last"].astype(np.int64),
                          next_first=rows["next_first"].astype(np.int64),
                          customer_first=rows["customer_first"].astype(np.int64),
                          purchase_days=rows["purchase_days"].astype(np.int64), revenue=rows["revenue"].astype(float),
                          codes={g: rows[f"code_{g}"].astype(np.int64) for g in GROUPINGS}, labels=labels,
                          customer_ids=np.asarray(rows["customer_id"], dtype=object),
                          as_of=cut)


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


def churn_counts(months: PurchaseMonths, scope: Scope, window: int, grouping: str | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per group of ``grouping`` (one group for None; a last row for customers without one) and month of the
    scope's period: customers active on the day before the month and customers who churned in it (as of
    ``months.as_of`` and at most the period's end), as two int arrays of shape (groups, months)."""
    if window < MIN_WINDOW:
        raise ValueError(f"the inactivity window must be at least {MIN_WINDOW} days, not {window}")
    n = scope.months
    base = _month_index(np.array([_day(scope.start)]))[0]  # the period's first month
    if grouping is None:
        code, groups = np.zeros(len(months.first), dtype=np.int64), 1
    else:
        groups = len(months.labels[grouping]) + 1
        code = np.where(months.codes[grouping] < 0, groups - 1, months.codes[grouping])
    first, last, nxt = months.first, months.last, months.next_first
    # active on the day before a month's first day S: a row's purchases make the customer active on the days
    # [first, min(next_first - 1, last + W)], so on S - 1 for the month starts S in (first, min(next_first,
    # last + W + 1)]
    end = np.where(nxt >= 0, np.minimum(nxt, last + window + 1), last + window + 1)
    start_idx = np.clip(_month_index(first) + 1 - base, 0, n)  # the first month start after the first purchase
    stop_idx = np.clip(_month_index(end) + 1 - base, 0, n)  # past the last month start on or before ``end``
    live = stop_idx > start_idx
    diff = np.bincount(code[live] * (n + 1) + start_idx[live], minlength=groups * (n + 1))
    diff -= np.bincount(code[live] * (n + 1) + stop_idx[live], minlength=groups * (n + 1))
    active = np.cumsum(diff.reshape(groups, n + 1), axis=1)[:, :n]
    # churned: the day W + 1 after a row's last purchase, with no purchase by then (and by the as-of day)
    gone = ((nxt < 0) | (nxt - last > window)) & (last + window + 1 <= min(_day(months.as_of),
                                                                         _day(scope.end_exclusive) - 1))
    churn_idx = _month_index(last[gone] + window + 1) - base
    inside = (churn_idx >= 0) & (churn_idx < n)
    churned = np.bincount(code[gone][inside] * n + churn_idx[inside], minlength=groups * n).reshape(groups, n)
    return active, churned


def pooled_rate(churned: np.ndarray, active: np.ndarray) -> tuple[int, int, float, float, float]:
    """The churn rate over several months: customers who churned over customers active at the months' starts
    (customer-months), with its 95 % Wilson interval: (churned, exposure, rate, low, high), NaN without any."""
    c, a = int(churned.sum()), int(active.sum())
    if a == 0:
        return c, a, np.nan, np.nan, np.nan
    low, high = wilson_interval(c, a)
    return c, a, c / a, low, high


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
    period = pd.date_range(scope.start, scope.end, freq="MS")
    base = _month_index(np.array([_day(scope.start)]))[0]
    n = len(period)
    active_2d, churned_2d = churn_counts(months, scope, window)
    active, churned = active_2d[0], churned_2d[0]
    first = months.first
    seen = first <= _day(scope.end_exclusive) - 1
    back = np.flatnonzero(seen & (months.previous_last >= 0) & (first - months.previous_last > window))
    back_idx = _month_index(first[back]) - base
    inside = (back_idx >= 0) & (back_idx < n)
    won_back = np.bincount(back_idx[inside], minlength=n)
    won_back_revenue = np.bincount(back_idx[inside], weights=months.revenue[back][inside], minlength=n)
    new_idx = _month_index(first[seen & (months.previous_last < 0)]) - base
    new = np.bincount(new_idx[(new_idx >= 0) & (new_idx < n)], minlength=n)
    intervals = [wilson_interval(int(c), int(a)) if a > 0 else None for c, a in zip(churned, active, strict=True)]
    month_end = np.array([_day((m + pd.offsets.MonthEnd(0)).date()) for m in period])
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(active > 0, churned / np.maximum(active, 1), np.nan)
    return pd.DataFrame({
        "month": [m.date() for m in period], "active_start": active, "churned": churned, "churn_rate": rate,
        "churn_low": [np.nan if i is None else i[0] for i in intervals],
        "churn_high": [np.nan if i is None else i[1] for i in intervals],
        "won_back": won_back, "won_back_revenue": won_back_revenue, "new_customers": new,
        "provisional": month_end > _day(months.as_of)})
