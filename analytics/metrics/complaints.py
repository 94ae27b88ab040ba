"""Complaints: how many, about what, how fast they are resolved, and what complaining customers do after (the
satisfaction & loyalty page's complaints part).

Definitions (shown on the page; the target T and the horizon H adjustable there):

- a **complaint** is a feedback row of kind complaint of a customer in scope (home region, segment, tier: the gate's
  customers), made on its date, about its category as imported (none: "no category"). Complaints carry no channel:
  the channel filter does not apply, to them or to the active customers they are counted against;
- the **as-of day** A: the period's last day, or the data's last purchase day (anyone's) when that is earlier.
  Nothing after A is seen: a complaint resolved after A is open at A;
- **complaints per 1,000 active customers** of a month: its complaints × 1,000 / its active customers, the customers
  in scope with a purchase in the month (the overview's active customers of a month); the period's: its complaints
  over its active customer-months (per 1,000 active customers a month). 95 % exact Poisson interval on the count
  (Garwood). Active means bought in the month, not the churn page's "active at the month's start": it needs no
  inactivity window (the figure does not move when the churn page's window does), it is the overview's count, and
  complaints follow purchases by days, not months. It is a ratio, not a share: a complaint may come from a customer
  who did not buy that month, and one customer may complain twice;
- **days to resolve**: from the complaint's date to its resolution date (0: the same day). A resolution dated before
  its complaint is a data error (the data checks list it): counted as **invalid**, left out of every resolution
  figure, and not open;
- **resolved within target**: in at most T days (default :data:`DEFAULT_TARGET_DAYS`). Its share is of the
  complaints **due** by A (made at least T days before A, so whether they made it is known), with a 95 % Wilson
  interval; a month's, of its complaints due;
- **distribution of days to resolve**: the Kaplan–Meier share of the period's complaints still open after each day
  (a complaint open at A counts until then: censored), with the median and its 95 % interval; and the complaints
  by band of days to resolve, those open at A apart;
- **open complaints**: made on or before A and not resolved by A, by age (days since made) and listed, oldest first;
  a month's **backlog**: those open at its last day (or A);
- **by category**: the period's complaints per category, their share of all (Wilson), within target and open at A,
  and the comparison period's complaints; a category whose within-target interval is wider than 10 points is too
  few to rank (marked, not ranked);
- a change **beyond sampling error** (period against comparison period, p < 0.05): complaints per 1,000 by the exact
  conditional test of two Poisson counts, the share within target by the two-proportion z-test.

The comparison period's figures are as of A too (what is known now of its complaints), its open complaints and
backlog at its own days. What happens after a complaint: :mod:`analytics.metrics.complaints_retention`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from analytics.metrics import churn
from analytics.metrics.churn_view import MOVED_P, WIDE
from analytics.metrics.complaints_retention import DEFAULT_HORIZON_MONTHS, Retention, retention
from analytics.metrics.loyalty_days import PurchaseDays, purchase_days, share, with_objects
from analytics.models.proportions import two_proportion_p_value
from analytics.models.survival import kaplan_meier
from analytics.scope import Scope, add_months, customer_feedback

DEFAULT_TARGET_DAYS = 7
MAX_TARGET_DAYS = 365
PER = 1000
#: Bands of days to resolve (each band's last day), the last open; and of open complaints' ages.
RESOLUTION_BANDS = (1, 3, 7, 14, 30)
AGE_BANDS = (7, 30, 90)
#: The day number standing for "not resolved" (a NULL resolution date): after any day.
NEVER = 10**9
FIGURES = ("complaints", "complainants", "active", "per_1000", "per_1000_low", "per_1000_high", "due",
           "within_target", "within_share", "within_low", "within_high", "open", "invalid")


@dataclass(frozen=True)
class ComplaintRows:
    """The complaints of the customers in scope made on or before the as-of day: per complaint, the customer (an
    index into :attr:`PurchaseDays.ids`), the day made and the day resolved (days since 1970-01-01; ``NEVER``: not
    resolved), whether that resolution is invalid (before the day made) and the category (a code into
    ``categories``, -1: none)."""

    customer: np.ndarray
    made: np.ndarray
    resolved: np.ndarray
    invalid: np.ndarray
    category: np.ndarray
    categories: tuple[str, ...]

    def in_months(self, first: date, last: date) -> np.ndarray:
        """Whether each complaint was made in the months ``first`` to ``last``."""
        return (self.made >= churn.day_number(first)) & (self.made < churn.day_number(add_months(last, 1)))

    def open_at(self, day: date) -> np.ndarray:
        """Whether each complaint was made on or before ``day`` and not resolved by it."""
        d = churn.day_number(day)
        return (self.made <= d) & (self.resolved > d)

    def within(self, target: int) -> np.ndarray:
        """Whether each complaint was resolved (validly) within ``target`` days."""
        return ~self.invalid & (self.resolved - self.made <= target)

    def due(self, target: int, day: date) -> np.ndarray:
        """Whether each complaint was made at least ``target`` days before ``day`` (its outcome known by then)."""
        return self.made + target <= churn.day_number(day)


def complaint_rows(con: duckdb.DuckDBPyConnection, scope: Scope, days: PurchaseDays) -> ComplaintRows:
    """:class:`ComplaintRows` of ``scope`` up to the as-of day ``days.as_of`` (one query through the gate)."""
    rows = customer_feedback(scope, days.as_of, "complaints")
    got = con.execute(f"select customer_id, feedback_date - date '1970-01-01' as made, "
                      f"coalesce(resolved_date - date '1970-01-01', ?) as resolved, category from ({rows.sql}) f",
                      [NEVER, *rows.params]).fetchnumpy()
    made, resolved = (np.asarray(got[c], dtype=np.int64) for c in ("made", "resolved"))
    codes, labels = pd.factorize(np.asarray(got["category"], dtype=object), sort=True)
    customer = days.positions(got["customer_id"])
    if (customer < 0).any():
        raise ValueError("the purchase days were read for another scope than the complaints'")
    return ComplaintRows(customer=customer,
                         made=made, resolved=resolved, invalid=resolved < made,
                         category=np.asarray(codes, dtype=np.int64), categories=tuple(labels))


def poisson_interval(count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact (Garwood 1936) 95 % interval of Poisson means observed as ``count`` (an array)."""
    count = np.asarray(count, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        low = np.where(count > 0, stats.chi2.ppf(0.025, 2 * count) / 2, 0.0)
    return low, stats.chi2.ppf(0.975, 2 * count + 2) / 2


def _figures(counts: np.ndarray) -> list[dict[str, float | int]]:
    """:data:`FIGURES` from rows of counts (complaints, complainants, active, due, within target, open, invalid)."""
    counts = np.asarray(counts, dtype=np.int64).reshape(-1, 7)
    low, high = poisson_interval(counts[:, 0])
    out = []
    for (n, people, active, due, within, still, invalid), lo, hi in zip(counts, low, high, strict=True):
        rate = (PER * n / active, PER * lo / active, PER * hi / active) if active else (np.nan,) * 3
        out.append(dict(zip(FIGURES, (int(n), int(people), int(active), *rate, int(due), int(within),
                                      *share(within, due), int(still), int(invalid)), strict=True)))
    return out


def _open_at(rows: ComplaintRows, days: list[date]) -> np.ndarray:
    """Per day of ``days``: the complaints open at it (made on or before it, not resolved by it)."""
    d = np.array([churn.day_number(day) for day in days], dtype=np.int64)
    # (open at d: made <= d < resolved; a resolution dated before its complaint closes it when it is made)
    return (np.searchsorted(np.sort(rows.made), d, side="right")
            - np.searchsorted(np.sort(np.maximum(rows.made, rows.resolved)), d, side="right"))


def _month_counts(rows: ComplaintRows, days: PurchaseDays, active: np.ndarray, scope: Scope, target: int
                  ) -> tuple[list[date], np.ndarray, np.ndarray]:
    """The period's months, a mask of the complaints made in them, and per month the counts of :func:`_figures`
    (open: at the month's last day, or the as-of day when earlier)."""
    months = list(pd.date_range(scope.start, scope.end, freq="MS").date)
    bounds = np.array([churn.day_number(m) for m in months] + [churn.day_number(scope.end_exclusive)])
    k = len(months)
    pos = np.searchsorted(bounds, rows.made, side="right") - 1
    inside = (pos >= 0) & (pos < k)
    at, n = pos[inside], max(len(days.ids), 1)
    due = (~rows.invalid & rows.due(target, days.as_of))[inside]
    within = due & rows.within(target)[inside]
    pairs = np.unique(at * n + rows.customer[inside])  # (month, customer)
    counts = np.stack([np.bincount(at, minlength=k), np.bincount(pairs // n, minlength=k),
                       active[days.column(scope.start): days.column(scope.end) + 1],
                       np.bincount(at[due], minlength=k), np.bincount(at[within], minlength=k),
                       _open_at(rows, [min(add_months(m, 1) - timedelta(days=1), days.as_of) for m in months]),
                       np.bincount(at[rows.invalid[inside]], minlength=k)], axis=1)
    return months, inside, counts


def monthly(rows: ComplaintRows, days: PurchaseDays, active: np.ndarray, scope: Scope, target: int
            ) -> tuple[pd.DataFrame, dict[str, float | int]]:
    """Per month of ``scope``'s period: ``month``, :data:`FIGURES` (``open``: the backlog at the month's last day,
    or the as-of day when earlier) and ``provisional`` (the month ends after the as-of day); and the period's
    :data:`FIGURES`: its complaints against its active customer-months, open at its last day (or the as-of day when
    earlier). ``active``: :meth:`PurchaseDays.active`."""
    months, inside, counts = _month_counts(rows, days, active, scope, target)
    out = [{"month": m, **f, "provisional": add_months(m, 1) - timedelta(days=1) > days.as_of}
           for m, f in zip(months, _figures(counts), strict=True)]
    total = counts.sum(axis=0)
    total[1] = len(np.unique(rows.customer[inside]))
    total[5] = _open_at(rows, [min(scope.end_exclusive - timedelta(days=1), days.as_of)])[0]
    return pd.DataFrame(out, columns=["month", *FIGURES, "provisional"]), _figures(total)[0]


def _bands(values: np.ndarray, edges: tuple[int, ...]) -> tuple[list[str], np.ndarray]:
    """Names ("0-1", "2-3", ..., "31+") and counts of ``values`` (days) in the bands ending at ``edges``."""
    names = [f"{lo}-{hi}" for lo, hi in zip((0, *(e + 1 for e in edges[:-1])), edges, strict=True)]
    return [*names, f"{edges[-1] + 1}+"], np.bincount(np.searchsorted(edges, values), minlength=len(edges) + 1)


def resolution_bands(rows: ComplaintRows, made: np.ndarray, as_of: date) -> pd.DataFrame:
    """The complaints ``made`` (a mask; invalid ones left out) by days to resolve (:data:`RESOLUTION_BANDS`; band
    "open": not resolved by ``as_of``): ``band``, ``complaints``, ``share``."""
    valid = made & ~rows.invalid
    still = valid & rows.open_at(as_of)
    done = valid & ~still
    names, counts = _bands(rows.resolved[done] - rows.made[done], RESOLUTION_BANDS)
    counts = np.append(counts, int(still.sum()))
    total = counts.sum()
    return pd.DataFrame({"band": [*names, "open"], "complaints": counts,
                         "share": counts / total if total else np.full(len(counts), np.nan)})


@dataclass(frozen=True)
class TimeToResolve:
    """The Kaplan–Meier curve of days to resolve (``curve``: ``days``, ``share_open`` after them, ``low``, ``high``,
    one row per day on which some were resolved) and its median with its 95 % interval (None where the curve does
    not reach it), over ``complaints`` complaints of which ``resolved`` were resolved by the as-of day."""

    complaints: int
    resolved: int
    median: float | None
    median_low: float | None
    median_high: float | None
    curve: pd.DataFrame


def time_to_resolve(rows: ComplaintRows, made: np.ndarray, as_of: date) -> TimeToResolve | None:
    """:class:`TimeToResolve` of the complaints ``made`` (a mask; invalid ones left out), open ones censored at
    ``as_of``; None without any."""
    valid = made & ~rows.invalid
    if not valid.any():
        return None
    day = churn.day_number(as_of)
    observed = rows.resolved[valid] <= day
    duration = np.where(observed, rows.resolved[valid], day) - rows.made[valid]
    cells, counts = np.unique(2 * duration + observed, return_counts=True)  # (one row per duration and flag)
    curve = kaplan_meier(cells // 2, cells % 2 == 1, weights=counts)[0]
    frame = pd.DataFrame({"days": curve.times, "share_open": curve.survival, "low": curve.low, "high": curve.high})
    return TimeToResolve(int(valid.sum()), int(observed.sum()), curve.median.value, curve.median.low,
                         curve.median.high, frame)


def open_complaints(rows: ComplaintRows, days: PurchaseDays, as_of: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The complaints open at ``as_of``: by age (``band`` of :data:`AGE_BANDS`, ``complaints``) and listed
    (``customer_id``, ``feedback_date``, ``category``, ``days_open``; oldest first, then by customer)."""
    still = rows.open_at(as_of)
    age = churn.day_number(as_of) - rows.made[still]
    names, counts = _bands(age, AGE_BANDS)
    labels = np.array([*rows.categories, None], dtype=object)
    category = labels[np.where(rows.category[still] < 0, len(rows.categories), rows.category[still])]
    listed = pd.DataFrame({"customer_id": days.ids[rows.customer[still]],
                           "feedback_date": rows.made[still].astype("datetime64[D]").astype("datetime64[s]"),
                           "days_open": age, "at": np.arange(len(age))})
    listed = listed.sort_values(["days_open", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    listed = with_objects(listed, category=list(category[listed.pop("at").to_numpy()]))
    return (pd.DataFrame({"band": names, "complaints": counts}),
            listed[["customer_id", "feedback_date", "category", "days_open"]])


def speeds(rows: ComplaintRows, target: int, as_of: date) -> np.ndarray:
    """Per complaint its resolution speed as of ``as_of``, a code into
    :data:`analytics.metrics.complaints_retention.SPEEDS` (within target, after it, open), -1 when invalid."""
    done = rows.resolved <= churn.day_number(as_of)
    return np.where(rows.invalid, -1, np.where(done & rows.within(target), 0, np.where(done, 1, 2)))


def months_made(rows: ComplaintRows) -> np.ndarray:
    """Per complaint the first day of the month it was made in (``datetime64[D]``)."""
    return rows.made.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]")


def target_of(target_days: int) -> int:
    """The target T, checked: whole days, 0 to :data:`MAX_TARGET_DAYS`."""
    if int(target_days) != target_days or not 0 <= target_days <= MAX_TARGET_DAYS:
        raise ValueError(f"the resolution target must be 0 to {MAX_TARGET_DAYS} whole days, not {target_days}")
    return int(target_days)


def categories(rows: ComplaintRows, scope: Scope, target: int, as_of: date) -> pd.DataFrame:
    """Per category of the period's complaints (most complaints first, ties by name; None: no category, last):
    ``category``, ``complaints``, ``share`` (of the period's) with ``share_low``, ``share_high``, ``due``,
    ``within_target``, ``within_share`` with ``within_low``, ``within_high``, ``open`` (at ``as_of``),
    ``compare_complaints`` (the comparison period's; 0 without one) and ``small`` (the within-target interval wider
    than 10 points)."""
    now = rows.in_months(scope.start, scope.end)
    comparison = scope.comparison()
    then = rows.in_months(comparison.start, comparison.end) if comparison else np.zeros(len(rows.made), dtype=bool)
    k = len(rows.categories) + 1
    code = np.where(rows.category < 0, k - 1, rows.category)
    due = now & ~rows.invalid & rows.due(target, as_of)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(code[mask], minlength=k)

    n, n_due, n_within = count(now), count(due), count(due & rows.within(target))
    n_open, n_then = count(now & rows.open_at(as_of)), count(then)
    out = []
    for g, label in enumerate([*rows.categories, None]):
        if n[g] == 0 and n_then[g] == 0:
            continue
        within = share(n_within[g], n_due[g])
        out.append((label, int(n[g]), *share(n[g], int(n.sum())), int(n_due[g]), int(n_within[g]), *within,
                    int(n_open[g]), int(n_then[g]), bool(n_due[g] == 0 or within[2] - within[1] > WIDE)))
    named = sorted((r for r in out if r[0] is not None), key=lambda r: (-r[1], r[0]))
    out = named + [r for r in out if r[0] is None]
    frame = pd.DataFrame(out, columns=["category", "complaints", "share", "share_low", "share_high", "due",
                                       "within_target", "within_share", "within_low", "within_high", "open",
                                       "compare_complaints", "small"])
    return with_objects(frame, category=[r[0] for r in out])


@dataclass(frozen=True)
class Complaints:
    """The complaints part of the page (module docstrings): the period's and the comparison period's
    :data:`FIGURES` with the tests of their change (``per_1000_p_value``, ``within_p_value``; NaN without a
    comparison or with nothing to compare; ``moved``: per figure, "up" or "down" beyond sampling error, else None),
    the months of both, the categories, the period's complaints by days to resolve (``resolution``) and their
    Kaplan–Meier curve (``time_to_resolve``; None without any), the complaints open at the as-of day by age and
    listed, and the retention after a complaint. ``recorded``: whether the database holds any complaint at all
    (anyone's: without one, the zeros mean no complaint file was imported, not that nobody complained)."""

    scope: Scope
    target_days: int
    as_of: date
    period: dict
    comparison: dict | None
    per_1000_p_value: float
    within_p_value: float
    moved: dict[str, str | None]
    monthly: pd.DataFrame
    comparison_monthly: pd.DataFrame | None
    categories: pd.DataFrame
    resolution: pd.DataFrame
    time_to_resolve: TimeToResolve | None
    open_by_age: pd.DataFrame
    open_list: pd.DataFrame
    retention: Retention
    recorded: bool = True

    @property
    def empty(self) -> bool:
        """No complaint made in the period and none open at the as-of day."""
        return self.period["complaints"] == 0 and self.period["open"] == 0


def complaints(con: duckdb.DuckDBPyConnection, scope: Scope, *, target_days: int = DEFAULT_TARGET_DAYS,
               horizon_months: int = DEFAULT_HORIZON_MONTHS, days: PurchaseDays | None = None) -> Complaints:
    """:class:`Complaints` of ``scope``.

    Parameters
    ----------
    con
        The CRM database (the page's snapshot).
    scope
        The page's scope.
    target_days
        T, the days within which a complaint should be resolved (0 to :data:`MAX_TARGET_DAYS`).
    horizon_months
        H, the months after a complaint's month in which a purchase counts as retained (1 to 12).
    days
        The scope's :func:`analytics.metrics.loyalty_days.purchase_days` when already read (the loyalty part reads the
        same).

    Raises
    ------
    ValueError
        A target or horizon out of range.
    """
    target = target_of(target_days)
    days = days if days is not None else purchase_days(con, scope)
    rows = complaint_rows(con, scope, days)
    comparison = scope.comparison()
    active = days.active()
    months, period = monthly(rows, days, active, scope, target)
    comparison_months, before = (None, None) if comparison is None else monthly(rows, days, active, comparison,
                                                                                 target)
    per_1000_p, within_p = np.nan, np.nan
    if before is not None:
        events, exposure = period["complaints"] + before["complaints"], period["active"] + before["active"]
        if events and period["active"] and before["active"]:
            per_1000_p = stats.binomtest(period["complaints"], events, period["active"] / exposure).pvalue
        within_p = two_proportion_p_value(period["within_target"], period["due"], before["within_target"],
                                          before["due"])
        within_p = np.nan if within_p is None else within_p
    moved = {name: None if before is None or not p < MOVED_P else ("up" if period[name] > before[name] else "down")
             for name, p in (("per_1000", per_1000_p), ("within_share", within_p))}
    made = rows.in_months(scope.start, scope.end)
    opened, listed = open_complaints(rows, days, days.as_of)
    return Complaints(
        scope=scope, target_days=target, as_of=days.as_of, period=period, comparison=before,
        per_1000_p_value=float(per_1000_p), within_p_value=float(within_p), moved=moved,
        monthly=months, comparison_monthly=comparison_months,
        categories=categories(rows, scope, target, days.as_of),
        resolution=resolution_bands(rows, made, days.as_of), time_to_resolve=time_to_resolve(rows, made, days.as_of),
        open_by_age=opened, open_list=listed,
        retention=retention(days, scope, rows.customer, months_made(rows), speeds(rows, target, days.as_of),
                            horizon_months),
        recorded=bool(con.execute("select exists (select 1 from complaints)").fetchone()[0]))
