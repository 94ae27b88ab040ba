"""The lifecycle funnel: the funnel page without a leads file, from transactions alone (docs/funnel-design.md).

Definitions (shown on the page; N, W and the order adjustable there):

- **as-of day** A: the data's end (the last purchase day of anyone, as on the churn page); everything is counted
  up to it;
- **cohort**: the customers in scope (home region, segment, tier: the gate's customers; the channel filter does not
  apply, a customer's history is not split by channel) whose first purchase day lies in the period, on or before A;
- **stages** (:data:`analytics.metrics.funnel_stages.LIFECYCLE_STAGES`): **first purchase** (that day);
  **repeat purchase** on the second purchase day (the first month's second purchase day, else the next month's
  first); **loyal** on the loyalty page's month-end rule: the as-of day of the first month whose 12 months (it and
  the 11 before) hold at least N purchase days (default :data:`analytics.metrics.loyalty.DEFAULT_MIN_DAYS`), the
  month's last day or A when that is earlier (its purchase days counted up to A); **still active**: a purchase
  within W days before A (A − the last purchase up to A ≤ W; W as the churn page derives it for the scope: the
  smallest multiple of 30 days within which 90 % of repeat purchases follow the purchase before, or the W asked
  for), a state with no day of its own. A customer not active is **lost** (churned as of A);
- **stuck**: customers whose furthest stage is the first or the repeat purchase, reached more than the step's
  threshold before A, still active or not (``active`` in the list): the ones to bring back. A customer no longer
  active is not an outcome that ends the wait here, as a lost lead's is: "still active" is the funnel's last stage,
  and a one-time buyer who has lapsed is exactly who a follow-up is for;
- **comparison**: the customers whose first purchase lies in the comparison period, counted as of the same
  distance after its end as the period's are counted after its own: A_c = the comparison's last day + (A − the
  period's last day) (like for like: a cohort of the year before has had no longer to come back). A month of A_c
  with purchases after it is counted up to A_c (the gate's recount, :func:`analytics.scope.months_until`);
- the **group columns**: ``region`` the home region, ``source`` the acquisition channel (the customers file's),
  ``segment``; there is no sales rep.

The customers and their months come through the gate (:func:`analytics.scope.customers`,
:func:`analytics.scope.customer_history`); the month's second purchase day is ``customer_month.second_day`` of
those rows. The figures are the engine's (:mod:`analytics.metrics.funnel`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics import churn, churn_summary
from analytics.metrics.funnel import Funnel, check_order, funnel, stage_counts
from analytics.metrics.funnel_stages import LIFECYCLE_STAGES
from analytics.metrics.loyalty import DEFAULT_MIN_DAYS, min_days_of
from analytics.metrics.loyalty_days import YEAR_MONTHS
from analytics.scope import Scope, customer_history, customers

#: The group columns the lifecycle funnel is compared by.
GROUPINGS: tuple[str, ...] = ("region", "source", "segment")


@dataclass(frozen=True)
class Lifecycle:
    """The lifecycle funnel of a scope (:func:`lifecycle_funnel`): the period's ``funnel`` (every figure of the
    engine; its ``as_of``: A) over ``reach`` (the cohort's reach table), the comparison period's stage counts
    (``comparison``, :func:`analytics.metrics.funnel.stage_counts` under the same order; None without a comparison
    period) as of ``comparison_as_of``, and the definition in use: ``window_days`` (W) and where it came from
    (``window_source``: ``"option"``, ``"data"`` or ``"fallback"`` as on the churn page), ``min_days`` (N), and
    ``data_end`` (None: no purchase at all)."""

    funnel: Funnel
    reach: pd.DataFrame
    comparison: pd.DataFrame | None
    comparison_as_of: date | None
    window_days: int
    window_source: str
    min_days: int
    data_end: date | None

    @property
    def empty(self) -> bool:
        """No customer of the scope first bought in the period by the as-of day."""
        return self.funnel.members == 0

    @property
    def overall_change(self) -> float | None:
        """The overall conversion (last stage ÷ first) less the comparison period's, in shares of 1 (None without a
        comparison; NaN when either has no member)."""
        return self.funnel.change(self.comparison)


def churn_window(con: duckdb.DuckDBPyConnection, scope: Scope) -> tuple[int, str]:
    """W as the churn page derives it for ``scope`` with its default as-of day, and where it came from (``"data"``
    or ``"fallback"``): from the summaries when they answer, else from the purchase months (the same W)."""
    data: churn.ChurnData | None = churn_summary.load(con, scope)
    if data is None:
        data = churn.purchase_months(con, scope)
    return data.default_window(), "data" if data.has_gaps else "fallback"


def lifecycle_reach(con: duckdb.DuckDBPyConnection, scope: Scope, as_of: date, *, window_days: int,
                    min_days: int = DEFAULT_MIN_DAYS) -> pd.DataFrame:
    """The reach table (:mod:`analytics.metrics.funnel`) of the customers in scope whose first purchase day lies
    from the period's start to its last day or ``as_of`` when earlier, every stage counted as of ``as_of``
    (module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per customer, by ``member_id`` (the customer id): ``entered`` (the first purchase day),
        ``region``, ``source``, ``segment``, ``sales_rep`` (None), ``outcome`` (None: not active is
        the last stage unreached, no outcome), and
        ``k_reached``/``k_day`` per stage of :data:`~analytics.metrics.funnel_stages.LIFECYCLE_STAGES` (days as
        datetime64; ``active_day`` NaT: a state, not an event).
    """
    min_days = min_days_of(min_days)
    last = min(scope.end_exclusive - timedelta(days=1), as_of)
    who = customers(scope)
    people_sql = (f"select customer_id, home_region, acquisition_channel, segment, first_order_date from ({who.sql}) w "
                  "where first_order_date >= ? and first_order_date <= ?")
    people_params = [*who.params, scope.start, last]
    people = con.execute(f"{people_sql} order by customer_id", people_params).df()
    history = customer_history(scope, (as_of, churn.goes_on(con, as_of)))
    months = con.execute(
        f"select h.customer_id, h.month, h.purchase_days, h.first_day, h.last_day, m.second_day "
        f"from ({history.sql}) h left join customer_month m using (customer_id, month) "
        f"where h.purchase_days > 0 and h.customer_id in (select customer_id from ({people_sql})) "
        f"order by h.customer_id, h.month", [*history.params, *people_params]).df()
    ids = people["customer_id"].to_numpy(dtype=object)
    row = pd.Index(ids).get_indexer(months["customer_id"].to_numpy(dtype=object))
    first = pd.to_datetime(people["first_order_date"]).to_numpy("datetime64[D]")
    month = pd.to_datetime(months["month"]).to_numpy("datetime64[M]")
    cut = np.datetime64(as_of, "D")
    second = _second_days(row, month, months, first, cut)
    loyal = loyal_days(row, month, months["purchase_days"].to_numpy(dtype=np.int64), len(ids), min_days, cut)
    last_buy = np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[D]")
    final = np.r_[row[1:] != row[:-1], True] if len(row) else np.zeros(0, dtype=bool)  # each customer's last month
    last_buy[row[final]] = pd.to_datetime(months["last_day"]).to_numpy("datetime64[D]")[final]
    active = ~np.isnat(last_buy) & ((cut - last_buy).astype(np.int64) <= window_days)
    reach = pd.DataFrame({"member_id": ids, "entered": pd.to_datetime(first)})
    for column, name in (("region", "home_region"), ("source", "acquisition_channel"), ("segment", "segment")):
        reach[column] = pd.Series([v if isinstance(v, str) else None for v in people[name]], dtype=object)
    reach["sales_rep"] = pd.Series([None] * len(ids), dtype=object)
    reach["outcome"] = pd.Series([None] * len(ids), dtype=object)  # (not active: the last stage unreached, no outcome)
    for key, day in zip(LIFECYCLE_STAGES[:3], (first, second, loyal), strict=True):
        reach[f"{key}_reached"] = ~np.isnat(day)
        reach[f"{key}_day"] = pd.to_datetime(day)
    reach["active_reached"] = active
    reach["active_day"] = pd.Series(pd.NaT, index=reach.index, dtype="datetime64[s]")
    return reach


def _firsts(row: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """The positions of each customer's first row with ``flag`` (rows in customer and month order)."""
    flagged = np.flatnonzero(flag)
    return flagged[np.unique(row[flagged], return_index=True)[1]]


def _second_days(row: np.ndarray, month: np.ndarray, months: pd.DataFrame, first: np.ndarray,
                 as_of: np.datetime64) -> np.ndarray:
    """Per customer: the second purchase day up to ``as_of`` (NaT: none): the first month's second day (the whole
    month's), else the next month's first (``row``: each month row's customer, rows in customer and month order,
    up to ``as_of``)."""
    in_first = month == first[row].astype("datetime64[M]")
    own = pd.to_datetime(months["second_day"]).to_numpy("datetime64[D]")
    second = np.full(len(first), np.datetime64("NaT"), dtype="datetime64[D]")
    later = _firsts(row, ~in_first)
    second[row[later]] = pd.to_datetime(months["first_day"]).to_numpy("datetime64[D]")[later]
    known = in_first & ~np.isnat(own)
    second[row[known]] = own[known]
    return np.where(second <= as_of, second, np.datetime64("NaT"))


def loyal_days(row: np.ndarray, month: np.ndarray, days: np.ndarray, n: int, min_days: int,
                as_of: np.datetime64) -> np.ndarray:
    """Per customer: the loyal day (module docstring; NaT: not loyal by ``as_of``) from their months with a
    purchase (``row``, ``month``: in customer and month order; ``days``: their purchase days up to ``as_of``)."""
    key = row.astype(np.int64) * 100_000 + month.astype(np.int64)  # (months since 1970-01: below 100,000)
    through = np.cumsum(days)
    start = np.searchsorted(key, key - (YEAR_MONTHS - 1), side="left")  # the year's first row (same customer)
    year = through - (through[start] - days[start])
    hit = _firsts(row, year >= min_days)
    loyal = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    loyal[row[hit]] = np.minimum((month[hit] + 1).astype("datetime64[D]") - 1, as_of)
    return loyal


def comparison_as_of(scope: Scope, as_of: date) -> date | None:
    """A_c (module docstring): the comparison period's last day plus the distance from the period's last day to
    ``as_of``; None without a comparison period."""
    comparison = scope.comparison()
    if comparison is None:
        return None
    return comparison.end_exclusive - timedelta(days=1) + (as_of - (scope.end_exclusive - timedelta(days=1)))


def lifecycle_funnel(con: duckdb.DuckDBPyConnection, scope: Scope, *, order: str = "strict",
                     min_days: int = DEFAULT_MIN_DAYS, window_days: int | None = None,
                     stuck_days: Mapping[str, float] | None = None) -> Lifecycle:
    """The lifecycle funnel of ``scope`` (module docstring).

    Parameters
    ----------
    con
        The CRM database (the page's snapshot).
    scope
        The page's scope (period, comparison, filters, the user's regions).
    order
        ``"strict"`` or ``"any"`` (:func:`analytics.metrics.funnel.counted`).
    min_days
        N, the purchase days in 12 months that make a customer loyal (at least 1).
    window_days
        W, the churn window in days (:data:`analytics.metrics.churn.MIN_WINDOW` to ``MAX_WINDOW``); default: the
        churn page's (:func:`churn_window`).
    stuck_days
        Stuck thresholds in days per stage (:func:`analytics.metrics.funnel.stuck_thresholds`).

    Raises
    ------
    ValueError
        N below 1, W outside 30 to 730 days, an unknown order or a threshold that is not one.
    """
    check_order(order)  # (before anything is read)
    if window_days is not None and not churn.MIN_WINDOW <= window_days <= churn.MAX_WINDOW:
        raise ValueError(f"the churn window must be from {churn.MIN_WINDOW} to {churn.MAX_WINDOW} days, "
                         f"not {window_days}")
    min_days = min_days_of(min_days)
    end = churn_summary.data_end(con)
    window, source = (window_days, "option") if window_days is not None else churn_window(con, scope)
    as_of = end or scope.end_exclusive - timedelta(days=1)
    reach = lifecycle_reach(con, scope, as_of, window_days=window, min_days=min_days)
    figures = funnel(reach, LIFECYCLE_STAGES, as_of, order=order, groupings=GROUPINGS, stuck_days=stuck_days,
                     stuck_stages=LIFECYCLE_STAGES[:-1])
    active = reach[["member_id", "active_reached"]].rename(columns={"active_reached": "active"})
    figures = replace(figures, stuck=figures.stuck.merge(active, on="member_id", how="left"))
    back = comparison_as_of(scope, as_of) if end is not None else None
    comparison = scope.comparison()
    counts = None
    if comparison is not None:
        then = lifecycle_reach(con, comparison, back, window_days=window, min_days=min_days) if back else \
            reach.iloc[:0]
        counts = stage_counts(then, LIFECYCLE_STAGES, order)
    return Lifecycle(funnel=figures, reach=reach, comparison=counts, comparison_as_of=back, window_days=window,
                     window_source=source, min_days=min_days, data_end=end)
