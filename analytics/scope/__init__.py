"""The one gate for reading rows: a :class:`Scope` and the SQL that applies it.

Every metric reads customer, transaction, feedback or lead rows (and the derived tables built from them) through
the functions here, never from the tables directly. A scope holds the global filters (a period of whole months, a
comparison period, regions, channels, segments, tiers) and the regions the user may see (``allowed_regions``;
``None`` means every region). The filters are applied as bound parameters; table and column names come only from
the fixed text below.

Which region a row has:

- transaction-level figures (revenue, orders, sales by region) use the row's region and channel, and the segment
  of its customer;
- customer-level figures (active, new and repeat customers) use the customer's home region (the customers file's
  region, else the region of most spend) and segment; with a channel filter, a customer counts through their
  purchases in those channels.

The tier filter keeps the customers in some tiers of the customer pyramid (:mod:`analytics.tiering`) over the tier
window: the selected period, kept when :meth:`Scope.comparison` shifts the period (both periods show the same
customers); ranked by revenue among every customer the user may see, whatever the other filters, once per page
snapshot (:mod:`analytics.store.snapshot`). Every function here applies it, but the churn summaries count groups,
not customers (:func:`summary_rows` refuses them).

A user restricted to some regions sees only rows (and customers) of those regions; asking for other regions (a
tampered URL) gives an empty scope, never someone else's rows. Anonymous survey responses (no customer, so no region,
segment or tier) are seen only by a user who sees every region, with no region, segment or tier filter set
(:func:`analytics.scope.feedback.sees_anonymous`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import duckdb

from analytics import tiering

#: Comparison periods: the months just before, the same months a year earlier, or none.
COMPARISONS: tuple[str, ...] = ("previous", "last_year", "none")
#: The tier filter's tiers: the customer pyramid's names (best first) and default cut points (those of the metric
#: setting ``tier_cuts``), by revenue.
TIER_PRESET = "pyramid"
TIER_NAMES, TIER_CUTS = tiering.PRESETS[TIER_PRESET]


def month_start(d: date) -> date:
    """The first day of ``d``'s month."""
    return d.replace(day=1)


def add_months(d: date, months: int) -> date:
    """The first day of the month ``months`` after ``d``'s month (negative: before)."""
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Scope:
    """What a page shows: a period of whole months, filters and the user's regions.

    Parameters
    ----------
    start, end
        The first and last month of the period (any day of a month stands for the month); both included.
    compare
        ``"previous"`` (as many months just before), ``"last_year"`` (the same months a year earlier) or ``"none"``.
    regions, channels, segments
        Filter values; empty means all.
    allowed_regions
        The regions the user may see; ``None`` for every region (no restriction).
    tiers, tier_cuts, tier_window
        The tier filter: names of :data:`TIER_NAMES` (empty: all customers); the pyramid's cut points (the metric
        setting ``tier_cuts``, here so that the gate is a function of the scope alone); the first and last month
        the tiers are taken over (default: the period; kept by :meth:`comparison`; ``None`` without tiers).
    """

    start: date
    end: date
    compare: str = "previous"
    regions: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    allowed_regions: tuple[str, ...] | None = None
    tiers: tuple[str, ...] = ()
    tier_cuts: tuple[float, ...] = TIER_CUTS
    tier_window: tuple[date, date] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", month_start(self.start))
        object.__setattr__(self, "end", month_start(self.end))
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end:%Y-%m}) before it starts ({self.start:%Y-%m})")
        if self.compare not in COMPARISONS:
            raise ValueError(f"comparison must be one of {', '.join(COMPARISONS)}, not {self.compare!r}")
        for name in ("regions", "channels", "segments"):
            object.__setattr__(self, name, tuple(sorted(set(getattr(self, name)))))
        if self.allowed_regions is not None:
            object.__setattr__(self, "allowed_regions", tuple(sorted(set(self.allowed_regions))))
        unknown = [n for n in self.tiers if n not in TIER_NAMES]
        if unknown:
            raise ValueError(f"unknown tier {', '.join(map(repr, unknown))}: the tiers are {', '.join(TIER_NAMES)}")
        object.__setattr__(self, "tiers", tuple(n for n in TIER_NAMES if n in self.tiers))
        object.__setattr__(self, "tier_cuts", tiering.TierSpec.preset(TIER_PRESET, self.tier_cuts).cuts)  # checked
        window = tuple(map(month_start, self.tier_window or (self.start, self.end))) if self.tiers else None
        if window and window[1] < window[0]:
            raise ValueError(f"the tier window ends ({window[1]:%Y-%m}) before it starts ({window[0]:%Y-%m})")
        object.__setattr__(self, "tier_window", window)

    @property
    def months(self) -> int:
        """The number of months in the period."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    @property
    def end_exclusive(self) -> date:
        """The first day after the period."""
        return add_months(self.end, 1)

    def comparison(self) -> Scope | None:
        """The same scope over the comparison period; ``None`` when there is none."""
        if self.compare == "none":
            return None
        shift = -self.months if self.compare == "previous" else -12
        return replace(self, start=add_months(self.start, shift), end=add_months(self.end, shift), compare="none")

    def visible_regions(self) -> tuple[str, ...] | None:
        """The regions rows may have: the filter within the allowed regions.

        ``None`` means any region (no filter, no restriction); an empty tuple means none at all (the filter asks
        only for regions the user may not see).
        """
        if self.allowed_regions is None:
            return self.regions or None
        if not self.regions:
            return self.allowed_regions
        return tuple(r for r in self.regions if r in self.allowed_regions)

    def cache_key(self) -> tuple:
        """Everything that decides which rows this scope reads (for cache keys); :meth:`from_key` turns it back
        into the scope."""
        return (self.start, self.end, self.compare, self.regions, self.channels, self.segments,
                self.allowed_regions, self.tiers, self.tier_cuts, self.tier_window)

    @classmethod
    def from_key(cls, key: tuple) -> Scope:
        """The scope whose :meth:`cache_key` is ``key``."""
        return cls(*key)


@dataclass(frozen=True)
class Rows:
    """A scoped row source: SQL text for a subquery and its bound parameters."""

    sql: str
    params: tuple

    def cte(self, name: str) -> str:
        """``name as (...)``, for a WITH clause."""
        return f"{name} as ({self.sql})"


def _in(column: str, values: tuple[str, ...] | None, params: list) -> str:
    """A bound membership test; ``None`` means no condition, an empty tuple means false."""
    if values is None:
        return "true"
    if not values:
        return "false"
    params.append(list(values))
    return f"list_contains(?, {column})"


def _segment_test(alias: str, scope: Scope, params: list) -> str:
    """The customer-segment filter on a row whose customer id is ``alias.customer_id``."""
    if not scope.segments:
        return "true"
    params.append(list(scope.segments))
    return f"{alias}.customer_id in (select customer_id from customer_summary where list_contains(?, segment))"


def _tier_test(column: str, scope: Scope, params: list) -> str:
    """The tier filter on a row whose customer id is ``column``: the customers of ``scope.tiers`` (one window query,
    :func:`analytics.tiering.members_sql`), marked for a page's snapshot to run once (``snapshot.ONCE``)."""
    if not scope.tiers:
        return "true"
    spec, (first, last) = tiering.TierSpec.preset(TIER_PRESET, scope.tier_cuts), scope.tier_window
    members, members_params = tiering.members_sql(spec, first, add_months(last, 1), scope.allowed_regions, scope.tiers)
    params += members_params
    return f"{column} in /*once*/({members})/*end once*/"


def month_spans(scope: Scope, with_comparison: bool = False) -> list[tuple[date, date]]:
    """The months rows are read for, as (first, last) month pairs in order: the period, and with
    ``with_comparison`` the comparison period too (merged with the period when they overlap or touch, so every
    month is read once)."""
    comparison = scope.comparison() if with_comparison else None
    spans = sorted([(scope.start, scope.end)] + ([(comparison.start, comparison.end)] if comparison else []))
    merged = [spans[0]]
    for first, last in spans[1:]:
        if first <= add_months(merged[-1][1], 1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _months_test(column: str, spans: list[tuple[date, date]], params: list, *, dates: bool = False) -> str:
    """A bound test that ``column`` (a month, or with ``dates`` any day) falls in one of ``spans``."""
    parts = []
    for first, last in spans:
        if dates:
            params += [first, add_months(last, 1)]
            parts.append(f"({column} >= ? and {column} < ?)")
        else:
            params += [first, last]
            parts.append(f"({column} between ? and ?)")
    return f"({' or '.join(parts)})"


def sales(scope: Scope, *, with_comparison: bool = False) -> Rows:
    """Monthly sales rows in scope: ``month, region, channel, segment, orders, gross_revenue, revenue,
    returns_amount, lines`` (from ``sales_month``), the period only, or with ``with_comparison`` the months of the
    period and of the comparison period. With a tier filter (``sales_month`` has no customer), the same sums of the
    transactions of the customers in those tiers."""
    params: list = []
    spans = month_spans(scope, with_comparison)
    source = "sales_month"
    if scope.tiers:  # the sums of analytics/store/sql/marts/sales_month.sql
        when = _months_test("t.order_date", spans, params, dates=True)
        tiered = _tier_test("t.customer_id", scope, params)
        source = ("(select cast(date_trunc('month', t.order_date) as date) as month, t.region, t.channel, s.segment, "
                  "count(*) filter (where t.is_order_start and not t.is_return) as orders, "
                  "coalesce(sum(t.amount) filter (where not t.is_return), 0) as gross_revenue, "
                  "sum(t.amount) as revenue, coalesce(-sum(t.amount) filter (where t.is_return), 0) as returns_amount, "
                  "count(*) as lines from transactions t left join customer_summary s using (customer_id) "
                  f"where {when} and {tiered} group by all)")
    where = [_months_test("month", spans, params), _in("region", scope.visible_regions(), params),
             _in("channel", scope.channels or None, params), _in("segment", scope.segments or None, params)]
    return Rows(f"select * from {source} where {' and '.join(where)}", tuple(params))


def customers(scope: Scope) -> Rows:
    """Customers in scope by their own attributes (home region, segment) and tier: every column of
    ``customer_summary``. The period and channels do not apply here."""
    return summary_rows(scope, "customer_summary")


#: Tables whose rows are customers' (``CUSTOMER_TABLES``: the tier filter applies) or counts per customer group, with
#: the customers' ``home_region`` and ``segment``: what :func:`summary_rows` may read.
CUSTOMER_TABLES = ("customer_summary", "customer_numbers")
GROUPED_TABLES = (*CUSTOMER_TABLES, "churn_month", "churn_gaps", "churn_returns", "cohort_month")


def summary_rows(scope: Scope, table: str) -> Rows:
    """The rows of ``table`` (one of :data:`GROUPED_TABLES`) of the customers in scope by their own attributes
    (home region, segment), as :func:`customers` picks them: every column. ``ValueError`` for a tiered scope but
    on :data:`CUSTOMER_TABLES`: the churn summaries count customers per group, so no tier can narrow them."""
    if table not in GROUPED_TABLES:
        raise ValueError(f"summary_rows reads {', '.join(GROUPED_TABLES)}, not {table!r}")
    if scope.tiers and table not in CUSTOMER_TABLES:
        raise ValueError(f"{table} counts customers per group, not one by one: it cannot be narrowed to the tiers "
                         f"{', '.join(scope.tiers)}; count from the customers' purchase months instead")
    params: list = []
    where = [_in("home_region", scope.visible_regions(), params),
             _in("segment", scope.segments or None, params),
             _tier_test("customer_id", scope, params)]
    return Rows(f"select * from {table} where {' and '.join(where)}", tuple(params))


def customer_activity(scope: Scope, *, with_comparison: bool = False) -> Rows:
    """One row per customer in scope per month of the period (with ``with_comparison``, also per month of the
    comparison period) with a purchase or a return: ``customer_id, month, orders, revenue``.

    Without a channel filter it reads ``customer_month``; with one, the transactions in those channels (no derived
    table splits customers by channel). Every customer here is one of :func:`customers` (the restriction is
    applied here, so callers need no join).
    """
    params: list = []
    spans = month_spans(scope, with_comparison)
    if scope.channels:
        when = _months_test("order_date", spans, params, dates=True)
        params.append(list(scope.channels))
        source = ("select customer_id, cast(date_trunc('month', order_date) as date) as month, "
                  "count(*) filter (where is_order_start and not is_return) as orders, sum(amount) as revenue "
                  f"from transactions where {when} and list_contains(?, channel) "
                  "group by all")
    else:
        source = ("select customer_id, month, orders, revenue from customer_month "
                  f"where {_months_test('month', spans, params)}")
    who = customers(scope)
    restricted = scope.visible_regions() is not None or scope.segments or scope.tiers
    if not restricted:
        return Rows(source, tuple(params))
    return Rows(f"select a.* from ({source}) a semi join ({who.sql}) c using (customer_id)",
                tuple(params) + who.params)


def months_until(cut: date, recount: bool) -> Rows:
    """``customer_month``'s rows (every column) up to the day ``cut``: the months before its month, and its month
    as the rows say (``recount`` False: nothing after ``cut`` in it) or counted again from the transactions up
    to ``cut`` as ``customer_month`` counts them (``recount`` True: the data goes on after it). Every
    customer's: the gate's functions restrict it to the customers in scope."""
    month = month_start(cut)
    rows = ("select customer_id, month, orders, purchase_days, first_day, last_day, revenue, returns_amount "
            "from customer_month where month < ?")
    if not recount:
        return Rows(rows, (add_months(month, 1),))
    return Rows(f"{rows} union all select customer_id, cast(? as date), "
                "count(*) filter (where is_order_start and not is_return), "
                "count(distinct order_date) filter (where not is_return), "
                "min(order_date) filter (where not is_return), max(order_date) filter (where not is_return), "
                "sum(amount), coalesce(-sum(amount) filter (where is_return), 0) from transactions "
                "where order_date >= ? and order_date <= ? group by customer_id", (month, month, month, cut))


def customer_history(scope: Scope, as_of: tuple[date, bool] | None = None) -> Rows:
    """Every month of ``customer_month`` up to the end of the period (from the first month with data: a customer's
    history starts at their first purchase, not at the period's start), for the customers in scope by their own
    attributes (:func:`customers`; the channel filter does not apply: no derived table splits a customer's history
    by channel). ``as_of``: (a day, whether the data goes on after it in its month) to end the history at that day
    instead (:func:`months_until`)."""
    who = customers(scope)
    source = months_until(*(as_of or (scope.end_exclusive - timedelta(days=1), False)))
    return Rows(f"select m.* from ({source.sql}) m semi join ({who.sql}) c using (customer_id)",
                (*source.params, *who.params))


def customer_records(scope: Scope, table: str, customer_id: str) -> Rows:
    """One customer's rows of ``table`` (``transactions`` up to the period's end, or ``feedback``: every row up to
    it), only when the customer is in scope by their own attributes (:func:`customers`): a customer the user may
    not see has no rows, exactly as one who does not exist (the customer detail, opened by URL, tells the two apart
    for no one)."""
    dates = {"transactions": "order_date", "feedback": "feedback_date"}
    if table not in dates:
        raise ValueError(f"customer_records reads transactions or feedback, not {table!r}")
    who = customers(scope)
    return Rows(f"select r.* from {table} r where r.customer_id = ? and r.{dates[table]} < ? "
                f"and exists (select 1 from ({who.sql}) c where c.customer_id = ?)",
                (customer_id, scope.end_exclusive, *who.params, customer_id))


def transactions(scope: Scope) -> Rows:
    """Transaction rows in scope (row region and channel, customer segment and tier), the period only: every
    column of ``transactions``."""
    params: list = [scope.start, scope.end_exclusive]
    where = ["order_date >= ? and order_date < ?", _in("t.region", scope.visible_regions(), params),
             _in("t.channel", scope.channels or None, params), _segment_test("t", scope, params),
             _tier_test("t.customer_id", scope, params)]
    return Rows(f"select t.* from transactions t where {' and '.join(where)}", tuple(params))


#: How many months a page opens with: the latest ones with data.
DEFAULT_MONTHS = 12


def default_period(first: date, last: date, months: int = DEFAULT_MONTHS) -> tuple[date, date]:
    """The period a page (and ``report``) opens with: the last ``months`` months up to ``last``, not before
    ``first``."""
    return max(month_start(first), add_months(last, -(months - 1))), month_start(last)


def data_months(con: duckdb.DuckDBPyConnection,
                allowed_regions: tuple[str, ...] | None = None) -> tuple[date, date] | None:
    """The first and last month with sales the user may see; ``None`` when there are none."""
    params: list = []
    cond = _in("region", allowed_regions, params)
    row = con.execute(f"select min(month), max(month) from sales_month where {cond}", params).fetchall()[0]
    return None if row[0] is None else (row[0], row[1])


def filter_values(con: duckdb.DuckDBPyConnection,
                  allowed_regions: tuple[str, ...] | None = None) -> dict[str, list[str]]:
    """The values each filter offers: regions (only the allowed ones), channels, segments."""
    params: list = []
    cond = _in("region", allowed_regions, params)
    out = {}
    for column in ("region", "channel", "segment"):
        rows = con.execute(f"select distinct {column} from sales_month where {cond} and {column} is not null "
                           f"order by {column}", params).fetchall()
        out[column] = [r[0] for r in rows]
    return out


def default_scope(con: duckdb.DuckDBPyConnection, allowed_regions: tuple[str, ...] | None = None) -> Scope | None:
    """The scope a page opens with (:func:`default_period`, against the previous period); ``None`` when there are
    no sales the user may see."""
    span = data_months(con.cursor(), allowed_regions)
    if span is None:
        return None
    start, end = default_period(*span)
    return Scope(start=start, end=end, compare="previous", allowed_regions=allowed_regions)


# The gate's parts in modules of their own (analytics/scope/*.py), read through the functions above and imported
# from here like the rest of the gate.
from analytics.scope.feedback import FEEDBACK_TABLES, customer_feedback  # noqa: E402, F401
from analytics.scope.leads import leads  # noqa: E402, F401
