"""What behavioural loyalty and the complaints' retention are counted from: each customer's purchase days per month
(:func:`purchase_days`, one read per page; the definitions: :mod:`analytics.metrics.loyalty`), and the small helpers
their frames share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics import churn
from analytics.models.proportions import wilson_interval
from analytics.scope import Scope, add_months, customers, month_start, months_until
from analytics.store import marts

#: The months of a year (the loyalty window).
YEAR_MONTHS = 12


@dataclass(frozen=True)
class PurchaseDays:
    """Purchase days per customer in scope per month, cumulated: ``cumulative[i, j]`` is customer i's purchase days
    in the ``j`` months from ``first_month`` (so ``cumulative[:, j + 1] - cumulative[:, j]`` is month j's). The
    customers in id order (``ids``), with their home region (a code into ``regions``, -1: none) and first purchase
    day ever (days since 1970-01-01, -1: none). ``as_of``: the as-of day (the period's last day, or the data's last
    purchase day, anyone's, when earlier); ``data_start``: the data's first month with a purchase (anyone's);
    ``numbers``: with the summaries built, each customer's number (``customer_numbers.seq``; 0: none)."""

    ids: np.ndarray
    regions: tuple[str, ...]
    region: np.ndarray
    first: np.ndarray
    numbers: np.ndarray | None
    cumulative: np.ndarray
    first_month: date
    as_of: date
    data_start: date | None
    #: what is made of the rows on first use (the ids' index)
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """The index of each of ``ids`` among :attr:`ids` (-1: not a customer in scope)."""
        if "index" not in self.cache:
            self.cache["index"] = pd.Index(self.ids, dtype=object)
        return self.cache["index"].get_indexer(np.asarray(ids, dtype=object))

    def active(self) -> np.ndarray:
        """Per month held: the customers who bought in it."""
        return (self.cumulative[:, 1:] > self.cumulative[:, :-1]).sum(axis=0)

    @property
    def months(self) -> int:
        """The months held (from ``first_month``)."""
        return self.cumulative.shape[1] - 1

    def column(self, month: date) -> int:
        """The index of ``month`` (its first day) among the months held; ``ValueError`` outside them."""
        j = (month.year - self.first_month.year) * 12 + month.month - self.first_month.month
        if not 0 <= j < self.months:
            raise ValueError(f"{month:%Y-%m} is not among the months read ({self.first_month:%Y-%m} and "
                             f"{self.months} after)")
        return j

    def bought(self, month: date) -> np.ndarray:
        """Per customer: whether they bought in ``month``."""
        j = self.column(month)
        return self.cumulative[:, j + 1] > self.cumulative[:, j]

    def year_days(self, month: date) -> np.ndarray:
        """Per customer: purchase days in the year of ``month`` (it and the 11 months before; all held)."""
        j = self.column(month)
        start = self.column(add_months(month, -(YEAR_MONTHS - 1)))
        return (self.cumulative[:, j + 1] - self.cumulative[:, start]).astype(np.int64)

    def day_of(self, month: date) -> date:
        """The as-of day of ``month``: its last day, or :attr:`as_of` when earlier."""
        return min(add_months(month, 1) - timedelta(days=1), self.as_of)

    def partial(self, month: date) -> bool:
        """Whether the year of ``month`` is not all in the data (module docstring)."""
        return (self.data_start is None or add_months(month, -(YEAR_MONTHS - 1)) < self.data_start
                or add_months(month, 1) - timedelta(days=1) > self.as_of)


def purchase_days(con: duckdb.DuckDBPyConnection, scope: Scope) -> PurchaseDays:
    """:class:`PurchaseDays` of the customers in scope (the gate's customers) over the months from the year of the
    earliest month of the period or the comparison period to the period's last month: two queries over the gate's
    customers and ``customer_month``."""
    comparison = scope.comparison()
    first_month = add_months(min(scope.start, comparison.start if comparison else scope.start), -(YEAR_MONTHS - 1))
    last_day = scope.end_exclusive - timedelta(days=1)
    as_of = churn.as_of_day(con, scope) or last_day
    data_start = con.execute("select min(first_order_date) from customer_summary").fetchall()[0][0]
    who = customers(scope)
    source = months_until(last_day, False)
    numbered = marts.summaries_ready(con)  # (the customers' numbers, for the tiers keyed by them)
    people = con.execute(
        f"select w.customer_id, w.home_region, coalesce(w.first_order_date - date '1970-01-01', -1) as first, "
        f"{'coalesce(n.seq, 0)' if numbered else '0'} as seq from ({who.sql}) w "
        f"{'left join customer_numbers n using (customer_id)' if numbered else ''} order by w.customer_id",
        list(who.params)).fetchnumpy()
    # (numbered in id order here and there: the same numbers in both queries)
    rows = con.execute(
        f"with c as (select customer_id, cast(row_number() over (order by customer_id) as integer) - 1 as idx "
        f"from ({who.sql}) w) "
        f"select c.idx, cast(year(s.month) * 12 + month(s.month) - ? as integer) as col, s.purchase_days as days "
        f"from ({source.sql}) s join c using (customer_id) where s.month >= ? and s.purchase_days > 0",
        [*who.params, first_month.year * 12 + first_month.month, *source.params, first_month]).fetchnumpy()
    n = len(people["customer_id"])
    months = (scope.end.year - first_month.year) * 12 + scope.end.month - first_month.month + 1
    # (by column: every use reads whole months; at most 31 days a month: int16 is exact for 1,000 months)
    cumulative = np.zeros((n, months + 1), dtype=np.int16, order="F")
    cumulative[np.asarray(rows["idx"]), np.asarray(rows["col"]) + 1] = np.asarray(rows["days"])
    np.cumsum(cumulative, axis=1, out=cumulative)
    codes, labels = pd.factorize(np.asarray(people["home_region"], dtype=object), sort=True)
    return PurchaseDays(ids=np.asarray(people["customer_id"], dtype=object), regions=tuple(labels),
                        region=np.asarray(codes, dtype=np.int64), first=np.asarray(people["first"], dtype=np.int64),
                        numbers=np.asarray(people["seq"], dtype=np.int64) if numbered else None,
                        cumulative=cumulative, first_month=first_month, as_of=as_of,
                        data_start=None if data_start is None else month_start(data_start))


def share(k: int, n: int) -> tuple[float, float, float]:
    """``k / n`` with its 95 % Wilson interval; NaN without any."""
    if n <= 0:
        return np.nan, np.nan, np.nan
    low, high = wilson_interval(int(k), int(n))
    return k / n, low, high


def with_objects(frame: pd.DataFrame, **columns: list) -> pd.DataFrame:
    """``frame`` with each of ``columns`` set to its values as Python objects (None stays None, not NaN)."""
    for name, values in columns.items():
        frame[name] = pd.Series(values, dtype=object, index=frame.index)
    return frame
