"""The overview's figures: KPIs against a comparison period, the monthly trend, sales by
region and plain-language highlights. Every query reads through :mod:`analytics.scope`.

Definitions (also in the README's metric definitions):

- **revenue**: sales net of returns in the period (transaction rows in scope);
- **orders**: transactions started (the first line of a transaction id; a row without an
  id is an order of its own), returns excluded;
- **average order value**: gross sales (purchases, before returns) / orders;
- **active customers**: customers in scope with a purchase in the period;
- **new customers**: active customers whose first purchase ever falls in the period;
- **repeat-purchase rate**: of the active customers, the share with 2 or more orders in
  the period; with its sample size (the active customers) and a 95 % Wilson interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from analytics import scope as gate
from analytics.scope import Scope

#: The KPI tiles in order.
KPIS: tuple[str, ...] = ("revenue", "orders", "active_customers", "new_customers", "repeat_rate", "aov")
#: KPIs that are rates (their change is in percentage points, not percent).
RATES: frozenset[str] = frozenset({"repeat_rate"})
#: Highlights are given only for regions whose comparison revenue is at least this share of
#: the total, so a tiny region's +300 % does not crowd out the real movers.
MIN_REGION_SHARE = 0.02
#: ... and only when the region's revenue changed by at least this much (in either
#: direction): a +0.4 % "biggest mover" is noise, not news.
MIN_REGION_CHANGE = 0.01


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion (95 % by default); ``None`` when n is 0.

    Wilson, E. B. (1927), "Probable inference, the law of succession, and statistical
    inference", JASA 22(158). Unlike the normal approximation it stays inside [0, 1] and
    is reliable for small n and rates near 0 or 1.
    """
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Kpi:
    """One KPI tile: the period's value, the comparison period's, and the change.

    ``change`` is relative (0.1 = +10 %) for amounts and counts, and the difference in
    rate (0.021 = +2.1 points) for rates; ``None`` when there is nothing to compare with.
    ``n`` and ``ci`` are given for rates (the sample size and the 95 % interval).
    """

    name: str
    value: float | None
    previous: float | None
    change: float | None
    n: int | None = None
    ci: tuple[float, float] | None = None
    previous_n: int | None = None


@dataclass(frozen=True)
class Highlight:
    """A fact worth a sentence: ``kind`` names the template, ``values`` fill it."""

    kind: str
    values: dict


@dataclass(frozen=True)
class Overview:
    """What the overview page shows for one scope.

    trend: one row per month of the period and of the comparison period: ``period``
    ('current' or 'comparison'), ``month``, ``position`` (1 = the period's first month),
    ``revenue``, ``orders``, ``active_customers``.
    by_region: one row per region: ``region``, ``revenue``, ``previous_revenue``,
    ``change`` (relative; NaN without comparison revenue), ``share`` (of the period's revenue).
    """

    scope: Scope
    comparison: Scope | None
    kpis: dict[str, Kpi]
    trend: pd.DataFrame
    by_region: pd.DataFrame
    highlights: list[Highlight] = field(default_factory=list)
    data_through: date | None = None


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: tuple) -> pd.DataFrame:
    return con.cursor().execute(sql, list(params)).df()


def sales_totals(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, float]:
    """Revenue, gross revenue and orders of the scope's period."""
    rows = gate.sales(scope)
    df = _fetch(con, f"select coalesce(sum(revenue), 0) as revenue, coalesce(sum(gross_revenue), 0) as gross_revenue, "
                     f"coalesce(sum(orders), 0) as orders from ({rows.sql})", rows.params)
    return {k: float(v) for k, v in df.iloc[0].items()}


def customer_counts(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, int]:
    """Active, new and repeat customers of the scope's period (see the module's definitions)."""
    activity = gate.customer_activity(scope)
    who = gate.customers(scope)
    df = _fetch(con, f"""
        with {activity.cte('activity')},
        per_customer as (
            select customer_id, sum(orders) as orders from activity group by customer_id
        )
        select
            count(*) filter (where p.orders > 0) as active,
            count(*) filter (where p.orders > 0 and c.first_order_date >= ? and c.first_order_date < ?) as new,
            count(*) filter (where p.orders >= 2) as repeat
        from per_customer p
        join ({who.sql}) c using (customer_id)
    """, (*activity.params, scope.start, scope.end_exclusive, *who.params))
    return {k: int(v) for k, v in df.iloc[0].items()}


def period_kpis(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, float | int | None]:
    """The raw KPI values of one period (before comparison)."""
    sales = sales_totals(con, scope)
    counts = customer_counts(con, scope)
    return {
        "revenue": sales["revenue"],
        "orders": int(sales["orders"]),
        "gross_revenue": sales["gross_revenue"],
        "aov": sales["gross_revenue"] / sales["orders"] if sales["orders"] else None,
        "active_customers": counts["active"],
        "new_customers": counts["new"],
        "repeat_customers": counts["repeat"],
        "repeat_rate": counts["repeat"] / counts["active"] if counts["active"] else None,
    }


def _change(name: str, value: float | None, previous: float | None) -> float | None:
    if value is None or previous is None:
        return None
    if name in RATES:
        return value - previous
    if previous == 0:
        return None
    return value / previous - 1


def kpis(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, Kpi]:
    """The KPI tiles: each value with its comparison-period value and change."""
    now = period_kpis(con, scope)
    comparison = scope.comparison()
    before = period_kpis(con, comparison) if comparison else None
    out = {}
    for name in KPIS:
        value = now[name]
        previous = before[name] if before else None
        extra = {}
        if name == "repeat_rate":
            extra = {"n": now["active_customers"],
                     "ci": wilson_interval(now["repeat_customers"], now["active_customers"]),
                     "previous_n": before["active_customers"] if before else None}
        out[name] = Kpi(name, value, previous, _change(name, value, previous), **extra)
    return out


def monthly_trend(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Revenue, orders and active customers per month of the period and the comparison
    period (columns in :class:`Overview`); months without sales are present with zeros."""
    frames = []
    for label, s in (("current", scope), ("comparison", scope.comparison())):
        if s is None:
            continue
        sales = gate.sales(s)
        activity = gate.customer_activity(s)
        df = _fetch(con, f"""
            with {sales.cte('sales')}, {activity.cte('activity')},
            months as (select cast(m as date) as month from range(?::date, ?::date, interval 1 month) r(m)),
            by_month as (select month, sum(revenue) as revenue, sum(orders) as orders from sales group by month),
            active as (select month, count(*) filter (where orders > 0) as active_customers
                       from activity group by month)
            select ? as period, m.month, row_number() over (order by m.month) as position,
                   coalesce(b.revenue, 0) as revenue, coalesce(b.orders, 0) as orders,
                   coalesce(a.active_customers, 0) as active_customers
            from months m left join by_month b using (month) left join active a using (month)
            order by m.month
        """, sales.params + activity.params + (s.start, s.end_exclusive, label))
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["revenue"] = out["revenue"].astype(float)
    out[["orders", "active_customers", "position"]] = out[["orders", "active_customers", "position"]].astype("int64")
    return out


def revenue_by_region(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Revenue per region (the rows' region) in the period and the comparison period."""
    now = gate.sales(scope)
    comparison = scope.comparison()
    parts = [f"select region, revenue, 0 as previous_revenue from ({now.sql})"]
    params = now.params
    if comparison:
        before = gate.sales(comparison)
        parts.append(f"select region, 0, revenue from ({before.sql})")
        params += before.params
    df = _fetch(con, f"""
        select coalesce(region, '') as region, sum(revenue) as revenue, sum(previous_revenue) as previous_revenue
        from ({' union all '.join(parts)})
        group by all
        order by revenue desc, region
    """, params)
    df["revenue"] = df["revenue"].astype(float)
    df["previous_revenue"] = df["previous_revenue"].astype(float)
    has_before = comparison is not None
    df["change"] = [(r / p - 1) if has_before and p > 0 else math.nan
                    for r, p in zip(df["revenue"], df["previous_revenue"], strict=True)]
    total = df["revenue"].sum()
    df["share"] = df["revenue"] / total if total else math.nan
    if not has_before:
        df["previous_revenue"] = math.nan
    return df


def highlights(kpi: dict[str, Kpi], by_region: pd.DataFrame, has_comparison: bool) -> list[Highlight]:
    """Plain-language facts from the figures: the overall revenue change, the regions that
    moved most (up and down, in amount; only regions with at least :data:`MIN_REGION_SHARE`
    of the comparison revenue and a change of at least :data:`MIN_REGION_CHANGE`), and the
    changes in new customers and repeat rate."""
    out: list[Highlight] = []
    if not has_comparison:
        return out
    revenue = kpi["revenue"]
    if revenue.change is not None:
        out.append(Highlight("revenue_change", {"change": revenue.change, "value": revenue.value,
                                                "previous": revenue.previous}))
    total_before = by_region["previous_revenue"].sum()
    movers = by_region[(by_region["region"] != "") & (by_region["previous_revenue"] > 0)
                       & (by_region["previous_revenue"] >= MIN_REGION_SHARE * total_before)].copy()
    movers["delta"] = movers["revenue"] - movers["previous_revenue"]
    if len(movers) >= 2:  # with one region shown, the overall change says it all
        up = movers.sort_values(["delta", "region"], ascending=[False, True]).iloc[0]
        down = movers.sort_values(["delta", "region"], ascending=[True, True]).iloc[0]
        if up["delta"] > 0 and up["change"] >= MIN_REGION_CHANGE:
            out.append(Highlight("region_up", {"region": up["region"], "delta": float(up["delta"]),
                                               "change": float(up["change"])}))
        if down["delta"] < 0 and down["change"] <= -MIN_REGION_CHANGE:
            out.append(Highlight("region_down", {"region": down["region"], "delta": float(down["delta"]),
                                                 "change": float(down["change"])}))
    new = kpi["new_customers"]
    if new.change is not None:
        out.append(Highlight("new_customers_change", {"change": new.change, "value": new.value,
                                                      "previous": new.previous}))
    rate = kpi["repeat_rate"]
    if rate.change is not None:
        out.append(Highlight("repeat_rate_change", {"change": rate.change, "value": rate.value,
                                                    "previous": rate.previous}))
    return out


def data_through(con: duckdb.DuckDBPyConnection, scope: Scope) -> date | None:
    """The last order date in the scope's period (to show how far the data goes)."""
    rows = gate.transactions(scope)
    return con.cursor().execute(f"select max(order_date) from ({rows.sql})", list(rows.params)).fetchall()[0][0]


def overview(con: duckdb.DuckDBPyConnection, scope: Scope) -> Overview:
    """Everything the overview page shows for ``scope``."""
    kpi = kpis(con, scope)
    by_region = revenue_by_region(con, scope)
    comparison = scope.comparison()
    return Overview(
        scope=scope,
        comparison=comparison,
        kpis=kpi,
        trend=monthly_trend(con, scope),
        by_region=by_region,
        highlights=highlights(kpi, by_region, comparison is not None),
        data_through=data_through(con, scope),
    )


def default_scope(con: duckdb.DuckDBPyConnection, allowed_regions: tuple[str, ...] | None = None) -> Scope | None:
    """The scope a page opens with (:func:`analytics.scope.default_period`, against the
    previous period); ``None`` when there are no sales the user may see."""
    span = gate.data_months(con.cursor(), allowed_regions)
    if span is None:
        return None
    start, end = gate.default_period(*span)
    return Scope(start=start, end=end, compare="previous", allowed_regions=allowed_regions)
