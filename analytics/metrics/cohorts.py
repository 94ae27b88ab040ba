"""Cohorts: of each month's new customers, how many buy again in each later month, and what they spend.

Definitions (shown on the churn & retention page):

- a customer's **cohort** is the calendar month of their first purchase over their whole history:
  their first month with a purchase day in ``customer_month`` (``customer_summary.first_order_date``
  is that month's first purchase day). A month of returns only is not a purchase, and a customer
  with returns only has no cohort;
- the **cohorts shown** are those whose month lies in the scope's period: the period picks the
  cohorts. Their customers are the scope's by their own attributes (home region, segment), through
  :func:`analytics.scope.customers` and :func:`analytics.scope.customer_history`; the channel
  filter does not apply (no derived table splits a customer's history by channel);
- **customer retention** of cohort c at N months (N = 0, 1, 2, ...): the share of its customers
  with at least one purchase day in calendar month c + N, so N = 0 is 100 %. It is not cumulative:
  a customer who skips a month and comes back counts again when they come back. Each cell has its
  sample size (the cohort's customers) and a 95 % Wilson interval (Wilson 1927);
- **revenue retention**: the cohort's revenue in month c + N, net of returns (a month of returns
  only counts, negatively), over its revenue in month c; NaN when that is 0 or less;
- **cells** run from N = 0 to the period's last month, at most ``max_months``: a cell after the
  period's end is absent (not 0), even when the data goes on;
- **provisional**: a cell whose month ends after the last purchase day of the scope's customers
  (``data_end``; their last one over all the data, so a period that ends before the data does is
  complete) may still grow: the data's last month when the data stops before its end (an export
  made mid-month). Such cells are flagged, not dropped; a cohort whose own month is provisional
  may still gain customers.

Everything is counted in one query over the derived tables (one row per cohort and month comes
back), never over the transactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from analytics.metrics.churn import goes_on
from analytics.models.proportions import wilson_interval
from analytics.scope import Scope, customer_history, customers, summary_rows

#: The months after the first for which the page compares cohorts (those within the cells).
MILESTONES: tuple[int, ...] = (1, 3, 6, 12)

#: The columns of each frame of :class:`CohortRetention` (also those of an empty one).
SIZE_COLUMNS = ("cohort", "customers", "revenue", "provisional")
CUSTOMER_COLUMNS = ("cohort", "months_since", "month", "customers", "retained", "share", "low", "high",
                    "provisional")
REVENUE_COLUMNS = ("cohort", "months_since", "month", "revenue", "base_revenue", "retention", "provisional")
MILESTONE_COLUMNS = ("cohort", "months_since", "share", "customers", "retained", "low", "high", "provisional")


@dataclass(frozen=True)
class CohortRetention:
    """The cohort figures of one scope (the module docstring's definitions).

    Attributes
    ----------
    scope : Scope
        The scope they were computed for.
    max_months : int
        The largest N (months since the cohort's month) with cells.
    data_end : datetime.date or None
        The last purchase day of the scope's customers (over all the data); ``None`` without cohorts.
    sizes : pandas.DataFrame
        One row per cohort, in month order: ``cohort`` (datetime64, the month's first day),
        ``customers`` (the cohort's size), ``revenue`` (its revenue net of returns in its own
        month, currency units), ``provisional`` (bool: the cohort's month may be incomplete).
    customer_retention : pandas.DataFrame
        One row per cohort and N, sorted by both: ``cohort``, ``months_since`` (N), ``month``
        (datetime64, c + N), ``customers`` (the cohort's size: the sample size), ``retained``
        (of them, customers with a purchase day in ``month``), ``share`` (retained / customers,
        0-1), ``low``, ``high`` (its 95 % Wilson interval, 0-1), ``provisional`` (bool).
    revenue_retention : pandas.DataFrame
        The same grain: ``cohort``, ``months_since``, ``month``, ``revenue`` (the cohort's revenue
        net of returns in ``month``, currency units), ``base_revenue`` (the same in the cohort's own
        month), ``retention`` (revenue / base_revenue; may exceed 1 or be negative; NaN when
        base_revenue <= 0), ``provisional``.
    milestones : pandas.DataFrame
        The customer retention at N in :data:`MILESTONES`, for the cohorts that have that cell (a
        line per N across cohorts: is each new cohort better or worse?): ``cohort``,
        ``months_since``, ``share``, ``customers``, ``retained``, ``low``, ``high``,
        ``provisional``; sorted by ``months_since``, then ``cohort``.
    """

    scope: Scope
    max_months: int
    data_end: date | None
    sizes: pd.DataFrame
    customer_retention: pd.DataFrame
    revenue_retention: pd.DataFrame
    milestones: pd.DataFrame

    @property
    def empty(self) -> bool:
        """No cohort in scope (no customer in scope first bought in the period)."""
        return self.sizes.empty


def _cells(con: duckdb.DuckDBPyConnection, scope: Scope, max_months: int, as_of: date | None,
           summarised: bool = False) -> pd.DataFrame:
    """One row per cohort and N: the cohort's size, its customers with a purchase day and its revenue in
    month c + N, its revenue in month c, whether the month is provisional and ``data_end``. One query:
    the cohorts from ``customer_summary``, their months from ``customer_month`` (both through the gate), or
    both from ``cohort_month`` (``summarised``: the summaries, which answer as of the data's end or a month's
    last day), grouped by cohort and N, left joined to every cell of the grid (a cell with no one stays, as 0)."""
    who = customers(scope)
    last_day = as_of or date(9999, 12, 31)
    if summarised:
        rows = summary_rows(scope, "cohort_month")
        counted = f"""
        {rows.cte('summary')},
        activity as (
            select cohort, date_diff('month', cohort, month) as months_since, sum(retained) as retained,
                sum(revenue) as revenue
            from summary
            where cohort >= ? and cohort < ? and cohort <= ? and month <= ? and date_diff('month', cohort, month) <= ?
            group by all
        ),
        sizes as (
            -- every customer of a cohort bought in its month
            select cohort, retained as customers from activity where months_since = 0
        ),"""
        params = [*rows.params, scope.start, scope.end_exclusive, last_day, last_day, max_months]
    else:
        history = customer_history(scope) if as_of is None else customer_history(scope, (as_of, goes_on(con, as_of)))
        counted = f"""
        {history.cte('history')},
        cohorts as (
            -- each customer in scope whose first purchase day falls in the period, with its month
            select customer_id, cast(date_trunc('month', first_order_date) as date) as cohort
            from who
            where first_order_date >= ? and first_order_date < ? and first_order_date <= ?
        ),
        sizes as (
            select cohort, count(*) as customers from cohorts group by cohort
        ),
        activity as (
            -- history has one row per customer and month: its rows with a purchase day count customers
            select
                c.cohort,
                date_diff('month', c.cohort, h.month) as months_since,
                count(*) filter (where h.purchase_days > 0) as retained,
                sum(h.revenue) as revenue
            from history h
            join cohorts c using (customer_id)
            -- from the cohort's month (a return before the first purchase is no part of it) to max_months
            where h.month >= c.cohort and date_diff('month', c.cohort, h.month) <= ?
            group by all
        ),"""
        params = [*history.params, scope.start, scope.end_exclusive, last_day, max_months]
    sql = f"""
        with {who.cte('who')},{counted}
        grid as (
            -- every cell from N = 0 to the period's last month, at most max_months
            select s.cohort, s.customers, n.months_since
            from sizes s
            cross join range(0, ? + 1) n(months_since)
            where n.months_since <= date_diff('month', s.cohort, ?)
        ),
        data_end as (
            select least(max(last_order_date), ?) as data_end from who
        ),
        final as (
            select
                g.cohort,
                g.months_since,
                cast(g.cohort + to_months(g.months_since) as date) as month,
                g.customers,
                coalesce(a.retained, 0) as retained,
                cast(coalesce(a.revenue, 0) as double) as revenue,
                cast(sum(a.revenue) filter (where g.months_since = 0) over (partition by g.cohort) as double)
                    as base_revenue,
                g.cohort + to_months(g.months_since + 1) > d.data_end + 1 as provisional,
                d.data_end
            from grid g
            left join activity a using (cohort, months_since)
            cross join data_end d
        )
        select * from final order by cohort, months_since
    """
    params = [*who.params, *params, max_months, scope.end, last_day]
    return con.cursor().execute(sql, params).df()


def cohort_retention(con: duckdb.DuckDBPyConnection, scope: Scope, *, max_months: int = 24,
                     as_of: date | None = None, summarised: bool = False) -> CohortRetention:
    """Customer and revenue retention of the cohorts whose first purchase month lies in the scope's period.

    The scope's period picks the cohorts (their month, from its first to its last month) and ends the
    cells; its regions, segments and the user's allowed regions pick the customers (their home region
    and segment). See the module docstring for the definitions.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The CRM database (a connection or the page's snapshot).
    scope : Scope
        The page's scope.
    max_months : int
        The largest number of months after the cohort's month with cells (0 or more).
    as_of : datetime.date, optional
        A day in the period's last month to count purchases up to (the churn page's as-of day): later ones
        are not seen, and the cells of its month are provisional unless it is the month's last day.
    summarised : bool
        Count from the summaries (``cohort_month``; the caller has checked they answer as of ``as_of``:
        :func:`analytics.metrics.churn_summary.load`): the same cells from fewer rows.

    Returns
    -------
    CohortRetention
        The cohort sizes, the customer and revenue retention matrices as tidy frames (one row per
        cohort and months since its month; the columns, units and grain in
        :class:`CohortRetention`) and the retention at :data:`MILESTONES` across cohorts. Frames
        with no rows (and those columns) when no customer in scope first bought in the period.

    Raises
    ------
    ValueError
        When ``max_months`` is negative.
    """
    if max_months < 0:
        raise ValueError(f"max_months must be 0 or more, not {max_months}")
    cells = _cells(con, scope, max_months, as_of, summarised)
    cells["customers"] = cells["customers"].astype("int64")
    cells["retained"] = cells["retained"].astype("int64")
    cells["share"] = cells["retained"] / cells["customers"]
    bounds = [wilson_interval(int(k), int(n)) for k, n in zip(cells["retained"], cells["customers"], strict=True)]
    cells["low"] = [b[0] for b in bounds]
    cells["high"] = [b[1] for b in bounds]
    base = cells["base_revenue"]
    cells["retention"] = (cells["revenue"] / base).where(base > 0)
    first = cells[cells["months_since"] == 0]
    sizes = first[list(SIZE_COLUMNS)].reset_index(drop=True)
    customer = cells[list(CUSTOMER_COLUMNS)].reset_index(drop=True)
    milestones = (customer[customer["months_since"].isin(MILESTONES)][list(MILESTONE_COLUMNS)]
                  .sort_values(["months_since", "cohort"]).reset_index(drop=True))
    data_end = None if cells.empty else pd.Timestamp(cells["data_end"].iloc[0]).date()
    return CohortRetention(scope, max_months, data_end, sizes, customer,
                           cells[list(REVENUE_COLUMNS)].reset_index(drop=True), milestones)
