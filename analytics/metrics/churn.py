"""Churn with a visible definition: who left, when, and who came back (the churn page's core).

Definitions (shown on the page, adjustable there):

- **churned** on a day D: the customer's last purchase before D is more than W days before it
  (W: the inactivity window, whole days, at least :data:`MIN_WINDOW`): they become churned at the
  start of the day W + 1 days after a purchase, unless they bought again before it (a purchase on that
  very day comes a day late: it wins them back). **Active** on D: bought on or before D, the last
  time at most W days before D. As of the as-of day A: churned when the last purchase up to A is
  more than W days before A.
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

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

import duckdb
import numpy as np
import pandas as pd

from analytics.errors import OptionError
from analytics.models.proportions import wilson_interval
from analytics.scope import Scope, customers, months_until

#: The shortest inactivity window (days): the gaps within a month are at most 30 days.
MIN_WINDOW = 30
#: The default window is this share's percentile of the gaps, rounded up to WINDOW_STEP days.
GAP_SHARE = 0.90
WINDOW_STEP = 30
#: The longest window (days) the page takes; gaps longer than it plus two count as "no next purchase" in the
#: folded rows of :func:`churn_counts`.
MAX_WINDOW = 730
_GAP_CAP = MAX_WINDOW + 2
#: The default window when the data has no repeat purchase to derive one from.
FALLBACK_WINDOW = 180
#: Gaps are counted in buckets of 30 days, (gap - 1) // 30, the last holding every gap longer than the longest
#: window the default rule gives (720 days, within MAX_WINDOW).
GAP_BUCKETS = MAX_WINDOW // WINDOW_STEP + 1

_EPOCH = date(1970, 1, 1)
#: The customer attributes churn is split by (``customer_summary`` columns).
GROUPINGS: tuple[str, ...] = ("home_region", "segment", "acquisition_channel")


class ChurnData(Protocol):
    """What churn by month is counted from: :class:`PurchaseMonths` (every purchase month of the customers in scope)
    or :class:`analytics.metrics.churn_summary.ChurnSummary` (the summaries built after an import: the same
    figures from a few thousand rows)."""

    as_of: date
    labels: dict[str, tuple[str, ...]]

    @property
    def has_gaps(self) -> bool: ...
    def default_window(self) -> int: ...
    def counts(self, scope: Scope, window: int, grouping: str | None = None) -> tuple[np.ndarray, np.ndarray]: ...
    def flows(self, scope: Scope, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


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
    seq: np.ndarray  # the customer of each row, as an index into ids_by_seq
    ids_by_seq: np.ndarray  # the customers' ids
    as_of: date  # purchases after it are not seen; months that end after it are provisional
    #: the rows folded per grouping (:func:`_folded`), made on first use
    folded: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_customers(self) -> int:
        """Customers with a purchase (each has one first month)."""
        return int((self.previous_last < 0).sum())

    @property
    def within_gaps(self) -> int:
        """The gaps between consecutive purchase days inside the months (each at most 30 days)."""
        return int(self.purchase_days.sum()) - len(self.purchase_days)

    @property
    def has_gaps(self) -> bool:
        """Whether any customer bought on two days (so the default window comes from the data)."""
        return self.within_gaps > 0 or bool((self.next_first >= 0).any())

    def default_window(self) -> int:
        """:func:`default_window`."""
        return default_window(self)

    def counts(self, scope: Scope, window: int, grouping: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:func:`churn_counts`."""
        return churn_counts(self, scope, window, grouping)

    def flows(self, scope: Scope, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per month of the scope's period (up to the as-of day): customers won back, their revenue that month,
        and new customers (first purchases)."""
        n = scope.months
        base = _month_index(np.array([day_number(scope.start)]))[0]
        seen = self.first <= day_number(scope.end_exclusive) - 1
        back = np.flatnonzero(seen & returns(self, window))
        back_idx = _month_index(self.first[back]) - base
        inside = (back_idx >= 0) & (back_idx < n)
        won_back = np.bincount(back_idx[inside], minlength=n)
        revenue = np.bincount(back_idx[inside], weights=self.revenue[back][inside], minlength=n)
        new_idx = _month_index(self.first[seen & (self.previous_last < 0)]) - base
        new = np.bincount(new_idx[(new_idx >= 0) & (new_idx < n)], minlength=n)
        return won_back, revenue, new


def as_of_day(con: duckdb.DuckDBPyConnection, scope: Scope, as_of: date | None = None) -> date | None:
    """The as-of day: ``as_of`` when given (it must lie in the period), else the period's last day or the data's
    last purchase day (anyone's) when that is earlier (``None`` without purchases)."""
    last_day = scope.end_exclusive - timedelta(days=1)
    if as_of is not None:
        if not scope.start <= as_of <= last_day:
            raise OptionError(f"the as-of day {as_of} must lie in the period ({scope.start} to {last_day}): "
                              "choose a day in it, or another period")
        return as_of
    # the data's end: the last purchase of anyone (an export's date, the same for every scope: a filter or a
    # manager's regions whose customers stopped buying earlier must not hide their churn)
    end = con.execute("select max(last_order_date) from customer_summary").fetchall()[0][0]
    return None if end is None else min(end, last_day)


def goes_on(con: duckdb.DuckDBPyConnection, day: date) -> bool:
    """Whether ``day``'s month holds purchases after it (not its last day, and anyone bought after it)."""
    end = con.execute("select max(last_order_date) from customer_summary").fetchall()[0][0]
    return (day + timedelta(days=1)).day != 1 and end is not None and end > day


def purchase_months(con: duckdb.DuckDBPyConnection, scope: Scope, as_of: date | None = None) -> PurchaseMonths:
    """The purchase months of the customers in scope (home region, segment) up to the as-of day
    (:func:`as_of_day`), in one query over ``customer_month`` (a window per customer in month order). When the
    as-of day falls before the end of the data in its month, that month's rows are recounted from the
    transactions up to it (one month of rows)."""
    as_of_date = as_of_day(con, scope, as_of)
    cut = as_of_date or scope.end_exclusive - timedelta(days=1)
    who = customers(scope)
    labels = group_labels(con, scope, GROUPINGS)
    # the gate's customers, numbered (an int to window over: a partition by text id costs several times more),
    # with their group codes; the months up to the as-of day's month joined to them
    codes = ", ".join(f"coalesce(list_position(?, {g}), 0) - 1 as code_{g}" for g in GROUPINGS)
    source = months_until(cut, goes_on(con, cut))
    params: list = [*(list(labels[g]) or [""] for g in GROUPINGS), *who.params, *source.params]
    rows = con.execute(
        f"with c as (select customer_id, cast(row_number() over () as integer) as seq, {codes} "
        f"from ({who.sql}) w), "
        f"h as (select c.*, s.month, s.first_day - date '1970-01-01' as first, s.last_day - date '1970-01-01' as last, "
        f"s.purchase_days, cast(s.revenue as double) as revenue from ({source.sql}) s join c using (customer_id) "
        f"where s.purchase_days > 0) "
        f"select first, last, coalesce(lag(last) over w, -1) as previous_last, "
        f"coalesce(lead(first) over w, -1) as next_first, first_value(first) over w as customer_first, "
        f"purchase_days, revenue, seq, {', '.join(f'code_{g}' for g in GROUPINGS)}, "
        # the id only on the customer's last row (a million ids cost more than the rest)
        f"case when lead(first) over w is null then customer_id end as customer_id "
        f"from h window w as (partition by seq order by month)", params).fetchnumpy()
    def column(name: str) -> np.ndarray:  # as DuckDB gives it (int32 days): a copy per column costs 60 ms at 8M rows
        return np.asarray(rows[name])

    seq = column("seq")
    last_rows = rows["next_first"] < 0
    ids = np.empty(int(seq.max()) + 1 if len(seq) else 0, dtype=object)
    ids[seq[last_rows]] = rows["customer_id"][last_rows]
    return PurchaseMonths(first=column("first"), last=column("last"), previous_last=column("previous_last"),
                          next_first=column("next_first"), customer_first=column("customer_first"),
                          purchase_days=column("purchase_days"), revenue=column("revenue"),
                          codes={g: column(f"code_{g}") for g in GROUPINGS}, labels=labels,
                          seq=seq, ids_by_seq=ids, as_of=cut)


def group_labels(con: duckdb.DuckDBPyConnection, scope: Scope,
                 groupings: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Per grouping (a ``customer_summary`` column): the groups of the customers in scope, in order (NULL left out)."""
    who = customers(scope)
    return {g: tuple(r[0] for r in con.execute(
        f"select distinct {g} from ({who.sql}) c where {g} is not null order by 1", list(who.params)).fetchall())
        for g in groupings}


def day_number(d: date) -> int:
    return (d - _EPOCH).days  # (days since 1970-01-01, the unit of PurchaseMonths' days)


def returns(months: PurchaseMonths, window: int) -> np.ndarray:
    """Per row of ``months``: whether it is a return after being churned (won back: the customer's purchase
    before it more than ``window`` days earlier)."""
    return (months.previous_last >= 0) & (months.first - months.previous_last > window)


def default_window(months: PurchaseMonths) -> int:
    """The module docstring's default window: the smallest multiple of 30 days (at least 30) within which
    90 % of the gaps between consecutive purchase days lie, at most 720 days (the longest multiple of 30 within
    :data:`MAX_WINDOW`). Exact from the months: every gap inside a month is at most 30 days.
    :data:`FALLBACK_WINDOW` without repeat purchases."""
    has_next = months.next_first >= 0
    between = months.next_first[has_next] - months.last[has_next]
    # gaps counted per whole multiple of 30 days (a sort of millions of gaps costs more)
    buckets = np.bincount(np.minimum((np.maximum(between, 1) - 1) // WINDOW_STEP, GAP_BUCKETS - 1),
                          minlength=GAP_BUCKETS)
    buckets[0] += months.within_gaps
    return window_of_gaps(buckets)


def window_of_gaps(buckets: np.ndarray) -> int:
    """:func:`default_window` from the gaps counted per bucket k = (gap - 1) // 30 (``buckets[k]``; the last bucket
    holding every gap longer than 720 days): the smallest 30 (k + 1) days covering 90 % of them."""
    total = int(buckets.sum())
    if total == 0:
        return FALLBACK_WINDOW
    at_most = np.cumsum(buckets)  # at_most[k]: gaps of at most 30 (k + 1) days
    k = int(np.argmax(at_most >= GAP_SHARE * total))
    return WINDOW_STEP * min(k + 1, GAP_BUCKETS - 1)


def _month_index(day: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of days since 1970-01-01: a table of the days' range looked up (converting
    millions of days through datetime64 takes a tenth of a second or more each time)."""
    day = np.asarray(day, dtype=np.int64)
    low = int(day.min()) if day.size else 0
    return np.arange(low, int(day.max()) + 1 if day.size else low).astype("datetime64[D]").astype(
        "datetime64[M]").astype(np.int64)[day - low]


def _folded(months: PurchaseMonths, grouping: str | None) -> tuple[np.ndarray, ...]:  # once per grouping
    if grouping not in months.folded:
        groups = 1 if grouping is None else len(months.labels[grouping]) + 1
        code = (np.zeros(len(months.last), dtype=np.int64) if grouping is None
                else np.where(months.codes[grouping] < 0, groups - 1, months.codes[grouping]).astype(np.int64))
        months.folded[grouping] = fold_rows(code, groups, months.last, months.next_first)
    return months.folded[grouping]


def fold_rows(code: np.ndarray, groups: int, last: np.ndarray, next_first: np.ndarray, *,
              fold: bool = True) -> tuple[np.ndarray, ...]:
    """Purchase months (group code in [0, groups), last purchase day, the first of the customer's next month with
    one or -1) counted per (group, last purchase day, gap to the next purchase capped at MAX_WINDOW + 2): all that
    :func:`folded_counts` needs, in a tenth or less of the rows: (codes, days, gaps, counts, groups). Without
    ``fold``, a cell per row (rows counted once or twice: folding costs more than it saves)."""
    code, last, next_first = (np.asarray(a, dtype=np.int64) for a in (code, last, next_first))
    gap = np.where(next_first < 0, _GAP_CAP, np.minimum(next_first - last, _GAP_CAP))
    if not fold:
        return code, last, gap, np.ones(len(code), dtype=np.int64), groups
    low = int(last.min()) if len(last) else 0
    span = (int(last.max()) - low + 1) if len(last) else 1
    key = (code * span + (last - low)) * (_GAP_CAP + 1) + gap
    size = groups * span * (_GAP_CAP + 1)
    if size <= 20_000_000:  # a count per possible cell (fast); else the distinct cells (a sort)
        counts = np.bincount(key, minlength=size)
        cells = np.flatnonzero(counts)
        counts = counts[cells]
    else:
        cells, counts = np.unique(key, return_counts=True)
    rest, gaps = np.divmod(cells, _GAP_CAP + 1)
    codes, days = np.divmod(rest, span)
    return codes, days + low, gaps, counts, groups


def churn_counts(months: PurchaseMonths, scope: Scope, window: int, grouping: str | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per group of ``grouping`` (one for None; a last row for customers without one) and month of the scope's
    period: customers active on the day before the month and who churned in it (as of ``months.as_of``, at most
    the period's end), as two int arrays of shape (groups, months)."""
    return folded_counts(_folded(months, grouping), scope, window, months.as_of)


def folded_counts(folded: tuple[np.ndarray, ...], scope: Scope, window: int, as_of: date
                  ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`churn_counts` of rows folded by :func:`fold_rows` (every purchase month up to ``as_of``)."""
    if not MIN_WINDOW <= window <= MAX_WINDOW:
        raise ValueError(f"the inactivity window must be at least {MIN_WINDOW} days and at most {MAX_WINDOW}, "
                         f"not {window}")
    n = scope.months
    base = _month_index(np.array([day_number(scope.start)]))[0]  # the period's first month
    code, last, gap, count, groups = folded
    # active on the day before a month's first day S: a row's purchases make the customer active on the days
    # [first, min(next_first - 1, last + W)], so on S - 1 for the month starts S in (first, min(next_first,
    # last + W + 1)]; first and last share a month, so the first such S is the next month's
    end = last + np.minimum(gap, window + 1)
    start_idx = np.clip(_month_index(last) + 1 - base, 0, n)
    stop_idx = np.clip(_month_index(end) + 1 - base, 0, n)
    live = stop_idx > start_idx
    width = n + 1
    diff = np.bincount(code[live] * width + start_idx[live], weights=count[live], minlength=groups * width)
    diff -= np.bincount(code[live] * width + stop_idx[live], weights=count[live], minlength=groups * width)
    active = np.rint(np.cumsum(diff.reshape(groups, width), axis=1)[:, :n]).astype(np.int64)
    # churned: the day W + 1 after a row's last purchase, with no purchase by then (and by the as-of day)
    gone = (gap > window) & (last + window + 1 <= min(day_number(as_of), day_number(scope.end_exclusive) - 1))
    churn_idx = _month_index(last[gone] + window + 1) - base
    inside = (churn_idx >= 0) & (churn_idx < n)
    churned = np.bincount(code[gone][inside] * n + churn_idx[inside], weights=count[gone][inside],
                          minlength=groups * n)
    return active, np.rint(churned).astype(np.int64).reshape(groups, n)


def complete(months: ChurnData, scope: Scope) -> np.ndarray:
    """Per month of the scope's period: whether it ends on or before the as-of day (its churn is known)."""
    period = pd.date_range(scope.start, scope.end, freq="MS")
    as_of = day_number(months.as_of)
    return np.array([day_number((m + pd.offsets.MonthEnd(0)).date()) <= as_of for m in period], dtype=bool)


def monthly_rate(monthly: pd.DataFrame) -> tuple[int, int, float, float, float]:
    """:func:`pooled_rate` of a :func:`monthly_churn` frame over its months whose churn is known (not
    provisional)."""
    known = ~monthly["provisional"].to_numpy()
    return pooled_rate(monthly["churned"].to_numpy()[known], monthly["active_start"].to_numpy()[known])


def period_rate(months: ChurnData, scope: Scope, window: int) -> tuple[int, int, float, float, float]:
    """:func:`pooled_rate` of the scope's period over its months whose churn is known (as
    :func:`monthly_rate` of its :func:`monthly_churn`, without the rest of that frame)."""
    active, churned = months.counts(scope, window)
    known = complete(months, scope)
    return pooled_rate(churned[0][known], active[0][known])


def group_rates(months: ChurnData, scope: Scope, window: int, grouping: str
                ) -> list[tuple[str | None, tuple, tuple | None]]:
    """Per group of ``grouping`` (its labels in order, then ``None``: customers without one): the period's
    :func:`pooled_rate` over its months whose churn is known and the comparison period's (None without one)."""
    comparison = scope.comparison()
    active, churned = months.counts(scope, window, grouping)
    now = complete(months, scope)
    if comparison is not None:
        then_active, then_churned = months.counts(comparison, window, grouping)
        then = complete(months, comparison)
    return [(label, pooled_rate(churned[i][now], active[i][now]),
             None if comparison is None else pooled_rate(then_churned[i][then], then_active[i][then]))
            for i, label in enumerate([*months.labels[grouping], None])]


def pooled_rate(churned: np.ndarray, active: np.ndarray) -> tuple[int, int, float, float, float]:
    """The churn rate over several months: customers who churned over customers active at the months' starts
    (customer-months), with its 95 % Wilson interval: (churned, exposure, rate, low, high), NaN without any."""
    c, a = int(churned.sum()), int(active.sum())
    if a == 0:
        return c, a, np.nan, np.nan, np.nan
    low, high = wilson_interval(c, a)
    return c, a, c / a, low, high


def monthly_churn(months: ChurnData, scope: Scope, window: int) -> pd.DataFrame:
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
    active_2d, churned_2d = months.counts(scope, window)
    active, churned = active_2d[0], churned_2d[0]
    won_back, won_back_revenue, new = months.flows(scope, window)
    intervals = [wilson_interval(int(c), int(a)) if a > 0 else None for c, a in zip(churned, active, strict=True)]
    month_end = np.array([day_number((m + pd.offsets.MonthEnd(0)).date()) for m in period])
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(active > 0, churned / np.maximum(active, 1), np.nan)
    return pd.DataFrame({
        "month": [m.date() for m in period], "active_start": active, "churned": churned, "churn_rate": rate,
        "churn_low": [np.nan if i is None else i[0] for i in intervals],
        "churn_high": [np.nan if i is None else i[1] for i in intervals],
        "won_back": won_back, "won_back_revenue": won_back_revenue, "new_customers": new,
        "provisional": month_end > day_number(months.as_of)})
