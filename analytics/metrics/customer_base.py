"""The customer base as of a month end: per customer, the purchase history the value models read.

Built from the derived tables through the gate (:func:`analytics.scope.customer_history`,
``customer_summary``), never from the fact table: one row per customer who bought before the
cut-off, with

- ``first_day``, ``last_day``: their first and last purchase day before the cut-off;
- ``purchase_days``: distinct days with a purchase; ``x = purchase_days - 1``, the repeat
  purchase days (Fader, Hardie & Lee 2005: purchases are counted by day);
- ``t_x``: weeks from the first to the last purchase day; ``T``: weeks from the first purchase day
  to the last day before the cut-off; ``recency_days``: days from the last purchase day to it;
- ``revenue`` (net of returns) and ``gross_revenue`` (purchases only) before the cut-off;
  ``monetary``: the mean spend of the repeat purchase days (the first day's spend left out, as the
  spend model expects; NaN for a customer without a repeat purchase);
- ``holdout_purchases``, ``holdout_revenue``: purchase days and revenue from the cut-off to the
  end of the holdout period (0 without one);
- ``margin``, ``costed_revenue``: the margin (amount less cost) and the amount of the customer's
  rows with a known cost, over all their rows (``customer_summary``; NaN when none had one): their
  margin rate is a property of the customer, the cut-off limits the revenue it applies to;
- ``customer_name``, ``home_region``, ``segment``, ``acquisition_cost``: the customer's own
  attributes (the cost from the customers file; NaN without one).

The cut-off is a month start (the periods are whole months): everything before it is the
calibration period.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd

from analytics.scope import Scope, customer_history

#: Days in a week: the models' time unit.
WEEK_DAYS = 7.0


def customer_base(con: duckdb.DuckDBPyConnection, scope: Scope, cutoff: date) -> pd.DataFrame:
    """The customers in scope who bought before ``cutoff``, with their history up to it and their
    purchases from it to the end of the scope's period (the holdout).

    Parameters
    ----------
    con
        The CRM database (a cursor of the page's snapshot).
    scope
        The page's scope: its customers (home region, segment) and its period's end, which ends
        the holdout.
    cutoff
        The first day of the month after the calibration period (at most the end of the scope's
        period: then there is no holdout).

    Returns
    -------
    pandas.DataFrame
        One row per customer, sorted by ``customer_id``; the columns of the module docstring.
    """
    cutoff = cutoff.replace(day=1)
    if cutoff > scope.end_exclusive:
        raise ValueError(f"the calibration period ends ({cutoff:%Y-%m}) after the period ({scope.end:%Y-%m})")
    history = customer_history(scope)
    last_day = cutoff - timedelta(days=1)
    frame = con.execute(
        f"with {history.cte('h')}, "
        "calibration as (select customer_id, min(first_day) as first_day, max(last_day) as last_day, "
        "sum(purchase_days) as purchase_days, sum(revenue) as revenue, "
        "sum(revenue) + sum(returns_amount) as gross_revenue "
        "from h where month < ? group by customer_id having min(first_day) is not null), "
        "holdout as (select customer_id, sum(purchase_days) as holdout_purchases, sum(revenue) as holdout_revenue "
        "from h where month >= ? group by customer_id) "
        "select c.customer_id, s.customer_name, s.home_region, s.segment, "
        "cast(s.acquisition_cost as double) as acquisition_cost, c.first_day, c.last_day, "
        "cast(c.purchase_days as bigint) as purchase_days, cast(c.purchase_days as bigint) - 1 as x, "
        "date_diff('day', c.first_day, c.last_day) / ? as t_x, date_diff('day', c.first_day, ?) / ? as T, "
        "date_diff('day', c.last_day, ?) as recency_days, "
        "cast(c.revenue as double) as revenue, cast(c.gross_revenue as double) as gross_revenue, "
        "cast(s.margin as double) as margin, cast(s.costed_revenue as double) as costed_revenue, "
        "case when c.purchase_days > 1 then cast(c.gross_revenue - s.first_day_revenue as double) "
        "/ (c.purchase_days - 1) end as monetary, "
        "cast(coalesce(o.holdout_purchases, 0) as bigint) as holdout_purchases, "
        "cast(coalesce(o.holdout_revenue, 0) as double) as holdout_revenue "
        "from calibration c join customer_summary s using (customer_id) left join holdout o using (customer_id) "
        "order by c.customer_id",
        [*history.params, cutoff, cutoff, WEEK_DAYS, last_day, WEEK_DAYS, last_day]).df()
    return frame
