"""Behavioural loyalty: who keeps buying, how often, for how long (the satisfaction & loyalty page's loyalty part).

Definitions (shown on the page; N adjustable there):

- the **year** of a month m: the 12 calendar months ending with m (m and the 11 before it); the figures of a month
  are those of its year, so neighbouring months of a trend share 11 of their 12 months (a smooth line, not
  independent points);
- **customers** of a month: the customers in scope (home region, segment, tier: the gate's customers) with a
  purchase in its year; every share below is of them. Customers who left before the year are the churn page's
  subject, not loyalty's: counting them would make loyalty fall whenever the customer base ages;
- **purchase days**: distinct days with a purchase (returns are not purchases), all channels: the channel filter
  does not apply (a customer's loyalty is all of their buying, as on the churn page);
- **repeat-purchase rate**: the share of the customers with purchases on at least 2 days of the year (the
  overview's tile differs: orders in the selected period, the channel filter applied);
- **loyal**: at least N purchase days in the year (default :data:`DEFAULT_MIN_DAYS`); **share loyal** of the
  customers; both shares with 95 % Wilson intervals;
- **purchase frequency**: the mean number of purchase days in the year per customer, with a 95 % t interval; its
  distribution counts customers by purchase days (1 to :data:`FREQUENCY_CAP` or N if larger, the last "or more");
- **tenure**: days from the customer's first purchase ever to the month's as-of day (its last day, or the data's last
  purchase day when that is earlier); median and quartiles, and the share loyal per whole year of tenure (365 days);
- the **period's figures** are those of its last month, the **comparison period's** those of its last month; a share
  **moved** when the two differ beyond sampling error (two-proportion z-test, p < 0.05; the two years share
  customers, so the test is an approximation, as on the churn page);
- **by region** (home region) and **by tier** (the tier filter's tiers of the period, :mod:`analytics.tiering`; the
  comparison period split by its own tiers; customers without a purchase in the period form the last group); a
  group is **too few to rank** (marked, not ranked) when its share-loyal interval is wider than 10 points;
- a month is **partial** when its year is not all in the data: it starts before the data's first month, or the month
  ends after the data's last purchase day (its shares are then too low).

Everything is counted from ``customer_month`` (purchase days per customer and month) through the gate, once per
page (:func:`analytics.metrics.loyalty_days.purchase_days`; :mod:`analytics.metrics.complaints` reads the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics import churn
from analytics.metrics.churn_view import MOVED_P, WIDE
from analytics.metrics.loyalty_days import YEAR_MONTHS, PurchaseDays, purchase_days, share, with_objects
from analytics.metrics.tiers import filter_spec, ids_by_number, per_customer
from analytics.models.proportions import two_proportion_p_value
from analytics.models.scores import mean_score
from analytics.scope import Scope, add_months

DEFAULT_MIN_DAYS = 3
#: The frequency distribution's last bin: this many purchase days or more.
FREQUENCY_CAP = 12
#: Tenure is banded in whole years of this many days, the last band open (3 years or more).
YEAR_DAYS = 365
TENURE_BANDS = 4
#: The columns of a trend (one row per month) and of a group frame (one row per group).
FIGURE_COLUMNS = ("customers", "repeat", "repeat_rate", "repeat_low", "repeat_high", "loyal", "loyal_share",
                  "loyal_low", "loyal_high", "frequency", "frequency_low", "frequency_high")
GROUP_COLUMNS = ("group", *FIGURE_COLUMNS, "tenure_median_days", "compare_customers", "compare_loyal",
                 "compare_loyal_share", "compare_loyal_low", "compare_loyal_high", "p_value", "moved", "small")


def _counts(days: np.ndarray, min_days: int, codes: np.ndarray, groups: int) -> np.ndarray:
    """Per group code in [0, groups): customers (purchase days > 0), repeat (>= 2), loyal (>= ``min_days``), and
    the sum and sum of squares of their purchase days: an array of shape (groups, 5)."""
    base = days > 0
    code, y = codes[base], days[base].astype(np.float64)
    return np.stack([np.bincount(code, minlength=groups),
                     np.bincount(code[y >= 2], minlength=groups),
                     np.bincount(code[y >= min_days], minlength=groups),
                     np.bincount(code, weights=y, minlength=groups),
                     np.bincount(code, weights=y * y, minlength=groups)], axis=1)


def _figures(counts: np.ndarray) -> dict[str, float | int]:
    """:data:`FIGURE_COLUMNS` from one row of :func:`_counts`."""
    n, repeat, loyal, total, squares = counts
    n = int(n)
    frequency = mean_score(float(total), float(squares), n)
    return dict(zip(FIGURE_COLUMNS, (n, int(repeat), *share(repeat, n), int(loyal), *share(loyal, n),
                                     frequency.value, frequency.low, frequency.high), strict=True))


def min_days_of(min_days: int) -> int:
    """The loyalty threshold N, checked: a whole number of purchase days of at least 1."""
    if int(min_days) != min_days or min_days < 1:
        raise ValueError(f"a loyal customer needs at least 1 purchase day in the year, not {min_days}")
    return int(min_days)


def trend(days: PurchaseDays, months: list[date], min_days: int) -> pd.DataFrame:
    """Per month of ``months``: its year's :data:`FIGURE_COLUMNS` and ``partial``, after ``month``."""
    ends = np.array([days.column(m) + 1 for m in months], dtype=np.int64)
    starts = np.array([days.column(add_months(m, -(YEAR_MONTHS - 1))) for m in months], dtype=np.int64)
    year = (days.cumulative[:, ends] - days.cumulative[:, starts]).astype(np.int32)  # customers x months
    counts = np.stack([(year > 0).sum(axis=0), (year >= 2).sum(axis=0), (year >= min_days).sum(axis=0),
                       year.sum(axis=0, dtype=np.int64), (year * year).sum(axis=0, dtype=np.int64)], axis=1)
    rows = [{"month": m, **_figures(c), "partial": days.partial(m)} for m, c in zip(months, counts, strict=True)]
    return pd.DataFrame(rows, columns=["month", *FIGURE_COLUMNS, "partial"])


@dataclass(frozen=True)
class Tenure:
    """Tenure of a month's customers (days from their first purchase to its as-of day): ``median``, ``q1``, ``q3``
    (NaN without customers) and ``bands``: per whole year of tenure (``years_from``, ``years_to``; None: open), the
    customers, those loyal, the share loyal with its interval and ``small`` (interval wider than 10 points)."""

    median: float
    q1: float
    q3: float
    bands: pd.DataFrame


def tenure_days(days: PurchaseDays, month: date) -> np.ndarray:
    """Per customer: days from their first purchase to the as-of day of ``month`` (meaningful for its customers)."""
    return churn.day_number(days.day_of(month)) - days.first


def tenure(days: PurchaseDays, month: date, min_days: int) -> Tenure:
    """:class:`Tenure` of the customers of ``month``."""
    year = days.year_days(month)
    base = year > 0
    spans = tenure_days(days, month)[base]
    band = np.minimum(spans // YEAR_DAYS, TENURE_BANDS - 1)
    n = np.bincount(band, minlength=TENURE_BANDS)
    loyal = np.bincount(band[year[base] >= min_days], minlength=TENURE_BANDS)
    rows = []
    for b in range(TENURE_BANDS):
        rate, low, high = share(loyal[b], n[b])
        rows.append((b, b + 1 if b < TENURE_BANDS - 1 else None, int(n[b]), int(loyal[b]), rate, low, high,
                     bool(n[b] == 0 or high - low > WIDE)))
    q1, median, q3 = np.percentile(spans, [25, 50, 75]) if len(spans) else (np.nan, np.nan, np.nan)
    return Tenure(float(median), float(q1), float(q3), with_objects(pd.DataFrame(rows, columns=[
        "years_from", "years_to", "customers", "loyal", "loyal_share", "loyal_low", "loyal_high", "small"]),
        years_to=[r[1] for r in rows]))


def frequency(days: PurchaseDays, month: date, min_days: int) -> pd.DataFrame:
    """The customers of ``month`` by purchase days in its year: ``purchase_days`` (1 to :data:`FREQUENCY_CAP` or
    ``min_days`` if larger, the last meaning that many or more), ``customers``, ``share`` (of the month's
    customers) and ``loyal`` (whether that many days make a customer loyal)."""
    cap = max(FREQUENCY_CAP, min_days)  # (the last bin all loyal or all not)
    year = days.year_days(month)
    counts = np.bincount(np.minimum(year[year > 0], cap), minlength=cap + 1)[1:]
    total = counts.sum()
    bins = np.arange(1, cap + 1)
    return pd.DataFrame({"purchase_days": bins, "customers": counts,
                         "share": counts / total if total else np.full(cap, np.nan), "loyal": bins >= min_days})


def group_frame(days: PurchaseDays, month: date, compare_month: date | None, min_days: int,
                labels: tuple[str, ...], now: np.ndarray, then: np.ndarray) -> pd.DataFrame:
    """:data:`GROUP_COLUMNS` per group of ``labels`` and a last one (None: customers without a group, left out when
    it has no customers in either month): ``now`` and ``then`` give each customer's group code in the month and in
    the comparison month (``len(labels)``: none)."""
    k = len(labels) + 1
    year = days.year_days(month)
    counts = _counts(year, min_days, now, k)
    spans = tenure_days(days, month)
    if compare_month is not None:
        before = _counts(days.year_days(compare_month), min_days, then, k)
    rows = []
    for g, label in enumerate([*labels, None]):
        figures = _figures(counts[g])
        n_then, loyal_then = (int(before[g][0]), int(before[g][2])) if compare_month is not None else (0, 0)
        if label is None and figures["customers"] == 0 and n_then == 0:
            continue
        mine = spans[(now == g) & (year > 0)]
        before_share, low, high = share(loyal_then, n_then)
        p = two_proportion_p_value(figures["loyal"], figures["customers"], loyal_then, n_then) \
            if compare_month is not None else None
        moved = None if p is None or p >= MOVED_P else ("up" if figures["loyal_share"] > before_share else "down")
        rows.append({"group": label, **figures, "tenure_median_days": float(np.median(mine)) if len(mine) else np.nan,
                     "compare_customers": n_then, "compare_loyal": loyal_then, "compare_loyal_share": before_share,
                     "compare_loyal_low": low, "compare_loyal_high": high, "p_value": np.nan if p is None else p,
                     "moved": moved, "small": bool(figures["customers"] == 0
                                                   or figures["loyal_high"] - figures["loyal_low"] > WIDE)})
    return with_objects(pd.DataFrame(rows, columns=list(GROUP_COLUMNS)), group=[r["group"] for r in rows],
                        moved=[r["moved"] for r in rows])


def by_region(days: PurchaseDays, scope: Scope, min_days: int) -> pd.DataFrame:
    """:func:`group_frame` by home region: the period's last month against the comparison period's."""
    comparison = scope.comparison()
    code = np.where(days.region < 0, len(days.regions), days.region)
    return group_frame(days, scope.end, comparison.end if comparison else None, min_days, days.regions, code, code)


def by_tier(con: duckdb.DuckDBPyConnection, days: PurchaseDays, scope: Scope, min_days: int,
            ranked: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`group_frame` by the tier filter's tiers (best first): the period's last month by the tiers of the
    period, the comparison period's by its own (:func:`analytics.metrics.tiers.per_customer`; ``ranked``: its frame
    for the tier filter's tiers when already read)."""
    spec = filter_spec(scope)
    frame = per_customer(con, scope, spec) if ranked is None else ranked
    keys = frame["key"].to_numpy()
    if frame.attrs["numbered"]:  # keyed by the customers' numbers
        numbers = days.numbers if days.numbers is not None else \
            pd.Index(ids_by_number(con), dtype=object).get_indexer(days.ids) + 1
        at = np.full(max(int(numbers.max(initial=0)), int(keys.max(initial=0))) + 1, -1, dtype=np.int64)
        at[numbers[numbers > 0]] = np.flatnonzero(numbers > 0)
        where = at[keys]
    else:
        where = days.positions(keys)
    found = where >= 0  # (every ranked customer the filters keep is one of the gate's customers)
    codes = []
    for column in ("tier", "tier_before"):
        code = np.full(len(days.ids), len(spec.names), dtype=np.int64)
        tier = frame[column].to_numpy()[found]
        code[where[found]] = np.where(tier >= 0, tier, len(spec.names))
        codes.append(code)
    comparison = scope.comparison()
    return group_frame(days, scope.end, comparison.end if comparison else None, min_days, spec.names, *codes)


@dataclass(frozen=True)
class Loyalty:
    """The loyalty part of the page for a scope and a threshold N (module docstring): ``period`` and
    ``comparison`` (the last row of ``trend`` and of ``comparison_trend``: :data:`FIGURE_COLUMNS`, ``month``,
    ``partial``), the test of their share loyal (``p_value``, ``moved``: "up", "down" or None), the trends (one row
    per month of each period), the period's ``frequency`` distribution and ``tenure``, and the groups
    (:data:`GROUP_COLUMNS`; ``by_tier`` None when not asked for)."""

    scope: Scope
    min_days: int
    as_of: date
    period: dict
    comparison: dict | None
    p_value: float
    moved: str | None
    trend: pd.DataFrame
    comparison_trend: pd.DataFrame | None
    frequency: pd.DataFrame
    tenure: Tenure
    by_region: pd.DataFrame
    by_tier: pd.DataFrame | None

    @property
    def empty(self) -> bool:
        """No customer in scope bought in the year of the period's last month."""
        return self.period["customers"] == 0


def loyalty(con: duckdb.DuckDBPyConnection, scope: Scope, min_days: int = DEFAULT_MIN_DAYS, *,
            with_tiers: bool = True, days: PurchaseDays | None = None, ranked: pd.DataFrame | None = None) -> Loyalty:
    """:class:`Loyalty` of ``scope`` with loyal meaning at least ``min_days`` purchase days in the year.

    Parameters
    ----------
    con
        The CRM database (the page's snapshot).
    scope
        The page's scope.
    min_days
        N, the purchase days in the year that make a customer loyal (at least 1).
    with_tiers
        Also the split by tier (ranks the customers of the period: :func:`by_tier`).
    days
        The scope's :func:`purchase_days` when already read (the complaints part reads the same).
    ranked
        The tier filter's :func:`analytics.metrics.tiers.per_customer` frame when already read.

    Raises
    ------
    ValueError
        ``min_days`` below 1 or not whole.
    """
    n = min_days_of(min_days)
    days = days if days is not None else purchase_days(con, scope)
    comparison = scope.comparison()
    now = trend(days, list(pd.date_range(scope.start, scope.end, freq="MS").date), n)
    then = None if comparison is None else trend(
        days, list(pd.date_range(comparison.start, comparison.end, freq="MS").date), n)
    period = now.iloc[-1].to_dict()
    before = None if then is None else then.iloc[-1].to_dict()
    p = None if before is None else two_proportion_p_value(period["loyal"], period["customers"], before["loyal"],
                                                           before["customers"])
    moved = None if p is None or p >= MOVED_P else ("up" if period["loyal_share"] > before["loyal_share"] else "down")
    return Loyalty(scope=scope, min_days=n, as_of=days.as_of, period=period, comparison=before,
                   p_value=np.nan if p is None else p, moved=moved, trend=now, comparison_trend=then,
                   frequency=frequency(days, scope.end, n), tenure=tenure(days, scope.end, n),
                   by_region=by_region(days, scope, n),
                   by_tier=by_tier(con, days, scope, n, ranked) if with_tiers else None)


def loyal_customers(days: PurchaseDays, month: date, min_days: int = DEFAULT_MIN_DAYS) -> pd.DataFrame:
    """The customers of ``month`` (a purchase in its year), in id order: ``customer_id``, ``purchase_days`` (in the
    year), ``loyal``, ``tenure_days`` and ``home_region``."""
    n = min_days_of(min_days)
    year = days.year_days(month)
    base = year > 0
    regions = np.array([*days.regions, None], dtype=object)
    frame = pd.DataFrame({"customer_id": days.ids[base], "purchase_days": year[base], "loyal": year[base] >= n,
                          "tenure_days": tenure_days(days, month)[base]})
    return with_objects(frame, home_region=list(regions[np.where(days.region < 0, len(days.regions),
                                                                 days.region)][base]))
