"""The churn page's figures from the summaries built after an import (:data:`analytics.store.marts.SUMMARIES`),
exactly as :mod:`analytics.metrics.churn` counts them from every customer's purchase months, from a few thousand
rows instead of millions.

The summaries hold, per customer group (home region, segment, acquisition channel) and month, the churn flows
for each window W of :data:`WINDOWS` as of the data's end (``churn_month``), the gaps between purchases
(``churn_gaps``), the returns after more than 30 days away (``churn_returns``) and the cohorts' months
(``cohort_month``). They answer for an as-of day A that is the data's end (the last purchase of anyone) or the
last day of an earlier month: every figure of a month up to A's month is then the same as of A as as of the
data's end (a churn, a return, a gap or a purchase in such a month lies on or before A). The customers' own
lifetimes are read per customer (``customer_summary``, or ``customer_month`` up to A). Any other window or
as-of day, or summaries not yet built for the current data, leave the figures to :mod:`~analytics.metrics.churn`
(:func:`load` returns ``None``).

**Active** customers at a month's start follow from the flows: customers who first bought before the month, less
the churn events before it, plus the returns before it (each churn is followed by at most one return, the
purchase that ends it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics import churn
from analytics.scope import Rows, Scope, customers, months_until, summary_rows
from analytics.store import marts

#: The windows the summaries hold (days).
WINDOWS: tuple[int, ...] = tuple(range(churn.WINDOW_STEP, 721, churn.WINDOW_STEP))
_FLOWS = ("churn_events", "churned", "won_back", "won_back_revenue", "new_customers")


def month_number(d: date) -> int:
    """Months since 1970-01 (the summaries' and :mod:`~analytics.metrics.churn`'s month numbers)."""
    return (d.year - 1970) * 12 + d.month - 1


def data_end(con: duckdb.DuckDBPyConnection) -> date | None:
    """The data's end: the last purchase day of anyone (``None`` without purchases)."""
    return con.execute("select max(last_order_date) from customer_summary").fetchall()[0][0]


def answers(as_of: date, end: date | None) -> bool:
    """Whether the summaries answer as of ``as_of`` with the data ending on ``end`` (module docstring)."""
    return end is not None and (as_of == end or (as_of < end and (as_of + timedelta(days=1)).day == 1))


@dataclass(frozen=True)
class Lives:
    """The customers with a purchase by the as-of day, counted: their days since the last purchase
    (``recency``: days and customers), and per grouping (``"all"`` and each of :data:`churn.GROUPINGS`) a frame of
    ``duration``, ``observed``, ``group`` (its label; None without one; absent for ``"all"``) and ``customers``,
    the lifetimes of the page's definition for a window, sorted."""

    since: np.ndarray
    customers: np.ndarray
    folded: dict[str, pd.DataFrame]

    @property
    def n_customers(self) -> int:
        return int(self.customers.sum())

    def churned(self, window: int) -> int:
        """Customers churned as of the as-of day with this window (the last purchase more than W days before)."""
        return int(self.customers[self.since > window].sum())


def fold(frame: pd.DataFrame, grouping: str) -> pd.DataFrame:
    """``frame`` (``duration``, ``observed``, ``customers`` and the grouping's column) counted per distinct
    (duration, observed[, group]), sorted: a :attr:`Lives.folded` frame."""
    key = ["duration", "observed"] + ([] if grouping == "all" else [grouping])
    out = frame.groupby(key, dropna=False, sort=False)["customers"].sum().reset_index()
    if grouping != "all":
        out = out.rename(columns={grouping: "group"})
        out["group"] = out["group"].astype(object).where(out["group"].notna(), None)
    out = out.sort_values([c for c in ("group", "duration", "observed") if c in out], na_position="last",
                          kind="stable").reset_index(drop=True)
    out["duration"] = out["duration"].astype("int64")
    out["observed"] = out["observed"].astype(bool)
    out["customers"] = out["customers"].astype("int64")
    return out


def spans(con: duckdb.DuckDBPyConnection, scope: Scope, as_of: date, end: date | None) -> Rows:
    """Per customer in scope with a purchase by ``as_of``: ``customer_id``, ``first_day``, ``last_day`` (the last
    purchase day by ``as_of``) and their groups, as a gate :class:`~analytics.scope.Rows` (``customer_summary``
    when nothing after ``as_of`` is to be left out, else ``customer_month`` up to it)."""
    who = customers(scope)
    groups = ", ".join(churn.GROUPINGS)
    if end is None or as_of >= end:
        return Rows(f"select customer_id, first_order_date as first_day, last_order_date as last_day, {groups} "
                         f"from ({who.sql}) c where first_order_date is not null", who.params)
    source = months_until(as_of, churn.goes_on(con, as_of))
    return Rows(
        f"select m.customer_id, m.first_day, m.last_day, {', '.join(f'c.{g}' for g in churn.GROUPINGS)} "
        f"from (select customer_id, min(first_day) as first_day, max(last_day) as last_day from ({source.sql}) s "
        f"where purchase_days > 0 group by customer_id) m join ({who.sql}) c using (customer_id)",
        (*source.params, *who.params))


def lives(con: duckdb.DuckDBPyConnection, scope: Scope, as_of: date, window: int, end: date | None) -> Lives:
    """:class:`Lives` of the customers in scope as of ``as_of`` for ``window``, in one query (grouping sets)."""
    rows = spans(con, scope, as_of, end)
    groups = ", ".join(churn.GROUPINGS)
    sets = ", ".join(["(since)", "(duration, observed)", *(f"(duration, observed, {g})" for g in churn.GROUPINGS)])
    frame = con.execute(
        f"with s as ({rows.sql}), l as (select ? - last_day as since, ? - last_day > ? as observed, "
        f"case when ? - last_day > ? then last_day - first_day else ? - first_day end as duration, {groups} from s) "
        f"select since, duration, observed, {groups}, grouping(since) as no_since, "
        + ", ".join(f"grouping({g}) as no_{g}" for g in churn.GROUPINGS)
        + f", count(*) as customers from l group by grouping sets ({sets})",
        [*rows.params, as_of, as_of, window, as_of, window, as_of]).df()
    recency = frame[frame["no_since"] == 0].sort_values("since")
    lifetimes = frame[frame["no_since"] == 1]
    everyone = np.logical_and.reduce([lifetimes[f"no_{g}"] == 1 for g in churn.GROUPINGS])
    folded = {"all": fold(lifetimes[everyone], "all")}
    for g in churn.GROUPINGS:
        folded[g] = fold(lifetimes[lifetimes[f"no_{g}"] == 0], g)
    return Lives(recency["since"].to_numpy(dtype=np.int64), recency["customers"].to_numpy(dtype=np.int64), folded)


@dataclass(frozen=True)
class ChurnSummary:
    """The summaries' rows of a scope (:func:`load`): per row of ``churn_month`` its window, month number, group
    codes (into ``labels``, -1: none) and flows; the gaps per 30-day bucket up to the as-of day's month."""

    as_of: date
    data_end: date
    labels: dict[str, tuple[str, ...]]
    window_days: np.ndarray
    month: np.ndarray
    codes: dict[str, np.ndarray]
    flow: dict[str, np.ndarray]
    gaps: np.ndarray

    @property
    def has_gaps(self) -> bool:
        return bool(self.gaps.sum() > 0)

    def default_window(self) -> int:
        """:func:`analytics.metrics.churn.default_window` from the gaps up to the as-of day."""
        return churn.window_of_gaps(self.gaps)

    def _rows(self, scope: Scope, window: int, grouping: str | None) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
        if window not in WINDOWS:
            raise ValueError(f"the summaries hold the windows {WINDOWS[0]}, {WINDOWS[1]}, ... {WINDOWS[-1]} days, "
                             f"not {window}")
        picked = np.flatnonzero(self.window_days == window)
        groups = 1 if grouping is None else len(self.labels[grouping]) + 1
        code = (np.zeros(len(picked), dtype=np.int64) if grouping is None
                else np.where(self.codes[grouping][picked] < 0, groups - 1, self.codes[grouping][picked]))
        return picked, code, groups, self.month[picked] - month_number(scope.start)

    def counts(self, scope: Scope, window: int, grouping: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:func:`analytics.metrics.churn.churn_counts`."""
        picked, code, groups, idx = self._rows(scope, window, grouping)
        n, width = scope.months, scope.months + 1
        delta = (self.flow["new_customers"] - self.flow["churn_events"] + self.flow["won_back"])[picked]
        position = np.clip(idx + 1, 0, n)  # active at the start of month m: every flow of the months before it
        active = np.cumsum(np.bincount(code * width + position, weights=delta, minlength=groups * width)
                           .reshape(groups, width), axis=1)[:, :n]
        inside = (idx >= 0) & (idx < n) & (self.month[picked] <= month_number(self.as_of))
        churned = np.bincount(code[inside] * n + idx[inside], weights=self.flow["churned"][picked][inside],
                              minlength=groups * n).reshape(groups, n)
        return np.rint(active).astype(np.int64), np.rint(churned).astype(np.int64)

    def flows(self, scope: Scope, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Won back, their revenue, new customers per month of the period (as :class:`churn.PurchaseMonths`)."""
        picked, _, _, idx = self._rows(scope, window, None)
        n = scope.months
        inside = (idx >= 0) & (idx < n) & (self.month[picked] <= month_number(self.as_of))

        def per_month(name: str) -> np.ndarray:
            return np.bincount(idx[inside], weights=self.flow[name][picked][inside], minlength=n)

        return (np.rint(per_month("won_back")).astype(np.int64), per_month("won_back_revenue"),
                np.rint(per_month("new_customers")).astype(np.int64))

    def lives(self, con: duckdb.DuckDBPyConnection, scope: Scope, window: int) -> Lives:
        return lives(con, scope, self.as_of, window, self.data_end)

    def win_back(self, con: duckdb.DuckDBPyConnection, scope: Scope, window: int) -> pd.DataFrame:
        """The customers won back in the period up to the as-of day (``churn_returns``): customer_id, returned,
        days_away, revenue, home_region, segment; latest return first."""
        rows = summary_rows(scope, "churn_returns")
        last = min(scope.end_exclusive - timedelta(days=1), self.as_of)
        frame = con.execute(
            f"select customer_id, returned, days_away, revenue, home_region, segment from ({rows.sql}) r "
            "where returned >= ? and returned <= ? and days_away > ? order by returned desc, customer_id",
            [*rows.params, scope.start, last, window]).df()
        frame["returned"] = frame["returned"].astype("datetime64[s]")
        frame["days_away"] = frame["days_away"].astype("int64")
        return frame


def load(con: duckdb.DuckDBPyConnection, scope: Scope, as_of: date | None = None,
         window_days: int | None = None) -> ChurnSummary | None:
    """The summaries' rows for ``scope`` as of ``as_of`` (:func:`analytics.metrics.churn.as_of_day`), or None when
    they do not answer (module docstring): not built for the current data, a window not in :data:`WINDOWS`, or an
    as-of day that is neither the data's end nor a month's last day before it, or a tier filter (the summaries'
    groups are home region, segment and acquisition channel)."""
    if (window_days is not None and window_days not in WINDOWS) or not marts.summaries_ready(con):
        return None
    if getattr(scope, "tiers", ()):  # the summaries count customer groups, not tiers: the purchase months do
        return None
    day = churn.as_of_day(con, scope, as_of)
    end = data_end(con)
    if day is None or not answers(day, end):
        return None
    named = churn.group_labels(con, scope, churn.GROUPINGS)
    codes = ", ".join(f"coalesce(list_position(?, {g}), 0) - 1 as code_{g}" for g in churn.GROUPINGS)
    month = "cast((year(month) - 1970) * 12 + month(month) - 1 as integer)"
    rows = summary_rows(scope, "churn_month")
    group_params = [list(named[g]) or [""] for g in churn.GROUPINGS]
    got = con.execute(f"select window_days, {month} as month, {codes}, {', '.join(_FLOWS)} from ({rows.sql}) m",
                      [*group_params, *rows.params]).fetchnumpy()
    gap_rows = summary_rows(scope, "churn_gaps")
    buckets = con.execute(f"select bucket, sum(gaps) from ({gap_rows.sql}) g where month <= ? group by bucket",
                          [*gap_rows.params, day]).fetchall()
    gaps = np.zeros(churn.GAP_BUCKETS, dtype=np.int64)
    for bucket, count in buckets:
        gaps[int(bucket)] += int(count)
    return ChurnSummary(
        as_of=day, data_end=end, labels=named, window_days=np.asarray(got["window_days"]),
        month=np.asarray(got["month"], dtype=np.int64),
        codes={g: np.asarray(got[f"code_{g}"], dtype=np.int64) for g in churn.GROUPINGS},
        flow={f: np.asarray(got[f], dtype=np.float64) for f in _FLOWS}, gaps=gaps)
