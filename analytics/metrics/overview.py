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
  the period; with its sample size (the active customers) and a 95 % Wilson interval;
- **average CLV**: the customer value page's lifetime value per customer as of the period's
  end, with its 90 % interval (:mod:`analytics.metrics.overview_value`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from analytics import scope as gate
from analytics.metrics import overview_funnel
from analytics.metrics.highlights import Highlight, highlights
from analytics.metrics.kpis import Kpi
from analytics.metrics.overview_churn import ChurnTile, churn_kpi, churn_tile
from analytics.metrics.overview_satisfaction import satisfaction_kpis
from analytics.metrics.overview_value import AverageClv, average_clv
from analytics.models.proportions import wilson_interval
from analytics.scope import Scope
from analytics.store.snapshot import snapshot

#: The KPI tiles in order.
KPIS: tuple[str, ...] = ("revenue", "orders", "active_customers", "new_customers", "repeat_rate", "aov",
                         "csat", "nps", "avg_clv", "churn_rate")
#: KPIs that are rates (their change is in percentage points, not percent), and in points (NPS).
RATES: frozenset[str] = frozenset({"repeat_rate", "churn_rate", "csat"})
POINTS: frozenset[str] = frozenset({"nps"})
_RATE_FIELDS = ("churned", "customer_months", "rate", "low", "high")
#: KPIs for which a rise is bad news.
LOWER_IS_BETTER: frozenset[str] = frozenset({"churn_rate"})


@dataclass(frozen=True)
class Overview:
    """What the overview page shows for one scope.

    trend: one row per month of the period and of the comparison period: ``period``
    ('current' or 'comparison'), ``month``, ``position`` (1 = the period's first month),
    ``revenue``, ``orders``, ``active_customers``.
    by_region: one row per region: ``region``, ``revenue``, ``previous_revenue``,
    ``change`` (relative; NaN without comparison revenue), ``share`` (of the period's revenue).
    average_clv: the average-CLV tile's figures (its interval, settings, and why there is no
    figure when the models cannot be fitted); ``kpis["avg_clv"]`` holds its value and change.
    churn: the churn tile's figures (:mod:`analytics.metrics.overview_churn`); ``kpis["churn_rate"]``
    holds its value and change, and its highlights follow the others.
    funnel: the funnel in miniature (:mod:`analytics.metrics.overview_funnel`; None when nobody entered it).
    """

    scope: Scope
    comparison: Scope | None
    kpis: dict[str, Kpi]
    trend: pd.DataFrame
    by_region: pd.DataFrame
    highlights: list[Highlight] = field(default_factory=list)
    data_through: date | None = None
    average_clv: AverageClv | None = None
    churn: ChurnTile | None = None
    funnel: overview_funnel.MiniFunnel | None = None


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: tuple) -> pd.DataFrame:
    return con.cursor().execute(sql, list(params)).df()


def _periods(scope: Scope) -> list[tuple[str, Scope]]:
    """The period and the comparison period (when there is one), labelled as in the trend."""
    comparison = scope.comparison()
    return [("current", scope)] + ([("comparison", comparison)] if comparison else [])


def _period_table(periods: list[tuple[str, Scope]]) -> tuple[str, tuple]:
    """A VALUES list ``(period, first, last)`` of the periods' labels and first and last months."""
    sql = ", ".join("(?, ?::date, ?::date)" for _ in periods)
    return f"(values {sql}) p(period, first, last)", tuple(v for label, s in periods for v in (label, s.start, s.end))


@dataclass(frozen=True)
class _Sales:
    """Sales sums (revenue, gross_revenue, orders) per period, per period and month, and per
    period and region (``''`` for rows without a region); from one query on ``sales_month``."""

    totals: pd.DataFrame  # period, revenue, gross_revenue, orders
    by_month: pd.DataFrame  # period, month, revenue, gross_revenue, orders
    by_region: pd.DataFrame  # period, region, revenue, gross_revenue, orders


def _sales(con: duckdb.DuckDBPyConnection, scope: Scope) -> _Sales:
    """Every sales figure of the period and the comparison period in one pass over the
    (small) monthly sales mart. A month in both periods (``last_year`` over more than 12
    months) counts in each."""
    rows = gate.sales(scope, with_comparison=True)
    periods, params = _period_table(_periods(scope))
    df = _fetch(con, f"""
        with {rows.cte('sales')},
        tagged as (
            select p.period, s.month, coalesce(s.region, '') as region, s.revenue, s.gross_revenue, s.orders
            from sales s join {periods} on s.month between p.first and p.last
        )
        select period, month, region, grouping(month, region) as level,
               sum(revenue) as revenue, sum(gross_revenue) as gross_revenue, sum(orders) as orders
        from tagged
        group by grouping sets ((period), (period, month), (period, region))
    """, rows.params + params)
    df[["revenue", "gross_revenue", "orders"]] = df[["revenue", "gross_revenue", "orders"]].astype(float)
    sums = ["revenue", "gross_revenue", "orders"]
    return _Sales(totals=df.loc[df["level"] == 3, ["period", *sums]].reset_index(drop=True),
                  by_month=df.loc[df["level"] == 1, ["period", "month", *sums]].reset_index(drop=True),
                  by_region=df.loc[df["level"] == 2, ["period", "region", *sums]].reset_index(drop=True))


@dataclass(frozen=True)
class _Customers:
    """Active, new and repeat customers per period, and active customers per month."""

    counts: dict[str, dict[str, int]]  # period -> {"active", "new", "repeat"}
    active_by_month: dict[date, int]  # month -> active customers (of either period)


def _customers(con: duckdb.DuckDBPyConnection, scope: Scope) -> _Customers:
    """The customer figures of the period and the comparison period (see the module's
    definitions) in one query: the scope's activity rows of both periods are read once and
    grouped by customer once (an order sum per period) and by month once.

    The activity rows hold only customers in scope, so the customers table is read only
    for those whose first purchase falls in one of the periods (the candidates for new).
    """
    periods = _periods(scope)
    activity = gate.customer_activity(scope, with_comparison=True)
    who = gate.customers(scope)
    sums, firsts, counts = [], [], []
    sum_params, first_params = [], []
    for i, (_, s) in enumerate(periods):
        sums.append(f"sum(orders) filter (where month between ? and ?) as orders_{i}")
        sum_params += [s.start, s.end]
        firsts.append(f"coalesce(c.first_order_date >= ? and c.first_order_date < ?, false) as first_{i}")
        first_params += [s.start, s.end_exclusive]
        counts.append(f"count(*) filter (where orders_{i} > 0) as active_{i}, "
                      f"count(*) filter (where orders_{i} > 0 and first_{i}) as new_{i}, "
                      f"count(*) filter (where orders_{i} >= 2) as repeat_{i}")
    row = con.cursor().execute(f"""
        with {activity.cte('activity')},
        per_customer as (
            select customer_id, {', '.join(sums)} from activity group by customer_id
        ),
        first_in_a_period as (
            select customer_id, {', '.join(firsts)}
            from ({who.sql}) c
            where {' or '.join(f'first_{i}' for i in range(len(periods)))}
        ),
        counts as (
            select {', '.join(counts)}
            from per_customer left join first_in_a_period using (customer_id)
        ),
        by_month as (
            -- one activity row per customer and month: a month's active customers are its rows with orders
            select month, count(*) filter (where orders > 0) as active from activity group by month
        )
        select counts.*, (select coalesce(list((month, active)), []) from by_month) as by_month from counts
    """, [*activity.params, *sum_params, *first_params, *who.params]).fetchall()[0]
    out = {label: {"active": int(row[3 * i]), "new": int(row[3 * i + 1]), "repeat": int(row[3 * i + 2])}
           for i, (label, _) in enumerate(periods)}
    return _Customers(out, {month: int(active) for month, active in row[-1]})


def _period_values(label: str, sales: _Sales, customers: _Customers) -> dict[str, float | int | None]:
    """The raw KPI values of one period (before comparison)."""
    totals = sales.totals[sales.totals["period"] == label]
    revenue, gross, orders = (float(totals[k].iloc[0]) if len(totals) else 0.0
                              for k in ("revenue", "gross_revenue", "orders"))
    counts = customers.counts[label]
    return {
        "revenue": revenue,
        "orders": int(orders),
        "gross_revenue": gross,
        "aov": gross / orders if orders else None,
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


def clv_kpi(clv: AverageClv) -> Kpi:
    """The average-CLV tile's value and change (none against a comparison average of 0 or less:
    a relative change from a loss reads the wrong way round)."""
    now, before = clv.current, clv.comparison
    previous = before.value if before else None
    change = _change("avg_clv", now.value, previous) if previous is not None and previous > 0 else None
    return Kpi("avg_clv", now.value, previous, change, n=now.n, previous_n=before.n if before else None)


def _kpis(scope: Scope, sales: _Sales, customers: _Customers, clv: AverageClv | None) -> dict[str, Kpi]:
    now = _period_values("current", sales, customers)
    before = _period_values("comparison", sales, customers) if scope.comparison() else None
    out = {}
    for name in KPIS:
        if name == "avg_clv":
            if clv is not None:
                out[name] = clv_kpi(clv)
            continue
        if name in ("churn_rate", "csat", "nps"):  # added by overview() (the churn tile; the surveys)
            continue
        value = now[name]
        previous = before[name] if before else None
        extra = {}
        if name == "repeat_rate":
            extra = {"n": now["active_customers"],
                     "ci": wilson_interval(now["repeat_customers"], now["active_customers"]),
                     "previous_n": before["active_customers"] if before else None}
        out[name] = Kpi(name, value, previous, _change(name, value, previous), **extra)
    return out


def kpis(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, Kpi]:
    """The KPI tiles: each value with its comparison-period value and change."""
    out = _kpis(scope, _sales(con, scope), _customers(con, scope), average_clv(con, scope))
    out |= {"churn_rate": churn_kpi(churn_tile(con, scope))} | satisfaction_kpis(con, scope)
    return {name: out[name] for name in KPIS if name in out}


def _trend(scope: Scope, sales: _Sales, customers: _Customers) -> pd.DataFrame:
    parts = []
    for label, s in _periods(scope):
        months = [gate.add_months(s.start, i) for i in range(s.months)]
        rows = sales.by_month[sales.by_month["period"] == label]
        month_of = [m if type(m) is date else m.date() for m in rows["month"]]
        revenue = dict(zip(month_of, rows["revenue"], strict=True))
        orders = dict(zip(month_of, rows["orders"], strict=True))
        parts.append(pd.DataFrame({
            "period": [label] * len(months),
            "month": pd.to_datetime(months).astype("datetime64[us]"),
            "position": range(1, len(months) + 1),
            "revenue": [float(revenue.get(m, 0.0)) for m in months],
            "orders": [int(orders.get(m, 0)) for m in months],
            "active_customers": [customers.active_by_month.get(m, 0) for m in months],
        }))
    out = pd.concat(parts, ignore_index=True)
    out[["orders", "active_customers", "position"]] = out[["orders", "active_customers", "position"]].astype("int64")
    return out


def monthly_trend(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Revenue, orders and active customers per month of the period and the comparison
    period (columns in :class:`Overview`); months without sales are present with zeros."""
    return _trend(scope, _sales(con, scope), _customers(con, scope))


def _by_region(scope: Scope, sales: _Sales) -> pd.DataFrame:
    has_before = scope.comparison() is not None
    rows = sales.by_region
    now = rows[rows["period"] == "current"].set_index("region")["revenue"]
    before = rows[rows["period"] == "comparison"].set_index("region")["revenue"]
    regions = sorted(set(now.index) | set(before.index))
    df = pd.DataFrame({"region": pd.Series(regions, dtype="str"),
                       "revenue": now.reindex(regions, fill_value=0.0).to_numpy(dtype=float),
                       "previous_revenue": before.reindex(regions, fill_value=0.0).to_numpy(dtype=float)})
    df = df.sort_values(["revenue", "region"], ascending=[False, True], ignore_index=True)
    df["change"] = [(r / p - 1) if has_before and p > 0 else math.nan
                    for r, p in zip(df["revenue"], df["previous_revenue"], strict=True)]
    total = df["revenue"].sum()
    df["share"] = df["revenue"] / total if total else math.nan
    if not has_before:
        df["previous_revenue"] = math.nan
    return df


def revenue_by_region(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Revenue per region (the rows' region) in the period and the comparison period."""
    return _by_region(scope, _sales(con, scope))


def data_through(con: duckdb.DuckDBPyConnection, scope: Scope) -> date | None:
    """The last order date in the scope's period (to show how far the data goes)."""
    rows = gate.transactions(scope)
    return con.cursor().execute(f"select max(order_date) from ({rows.sql})", list(rows.params)).fetchall()[0][0]


def overview(con: duckdb.DuckDBPyConnection, scope: Scope, *, with_average_clv: bool = True,
             with_churn: bool = True, with_funnel: bool = True) -> Overview:
    """Everything the overview page shows for ``scope``: three queries (the sales of both
    periods, the customers of both periods, how far the data goes) and the value page's
    lifetime values at the end of both periods, in one read transaction.

    ``with_average_clv=False`` leaves the average-CLV tile out (``kpis`` without ``avg_clv``,
    ``average_clv`` None): the page draws the other figures at once and that tile, which may
    fit the value models, when :func:`~analytics.metrics.overview_value.average_clv` is ready.
    ``with_churn=False`` leaves the churn tile and its highlights out in the same way
    (:func:`~analytics.metrics.overview_churn.churn_tile`), ``with_funnel=False`` the funnel in miniature."""
    with snapshot(con) as view:
        sales = _sales(view, scope)
        customers = _customers(view, scope)
        through = data_through(view, scope)
        clv = average_clv(view, scope) if with_average_clv else None
        tile = churn_tile(view, scope) if with_churn else None
        said = satisfaction_kpis(view, scope)
        mini = overview_funnel.mini_funnel(view, scope) if with_funnel else None
    kpi = _kpis(scope, sales, customers, clv) | said
    if tile is not None:
        kpi["churn_rate"] = churn_kpi(tile)
    kpi = {name: kpi[name] for name in KPIS if name in kpi}  # (the tiles' order)
    by_region = _by_region(scope, sales)
    comparison = scope.comparison()
    return Overview(scope=scope, comparison=comparison, kpis=kpi, trend=_trend(scope, sales, customers),
                    by_region=by_region, data_through=through, average_clv=clv, churn=tile, funnel=mini,
                    highlights=highlights(kpi, by_region, comparison is not None) + (tile.highlights if tile else []))


def report(view: Overview) -> dict[str, Any]:
    """The overview's figures for ``report overview`` (made JSON-ready by
    :func:`analytics.report.plain`): ``data_through``, ``kpis`` (each as :class:`Kpi`'s
    fields), ``average_clv`` (:class:`~analytics.metrics.overview_value.AverageClv`'s fields:
    the interval, the problem when there is no figure, the settings), ``trend``, ``by_region``
    (their rows), ``highlights`` (``kind`` and its values), ``funnel`` (:func:`overview_funnel.report`)."""
    return {
        "data_through": view.data_through,
        "kpis": {name: asdict(k) for name, k in view.kpis.items()},
        "average_clv": asdict(view.average_clv) if view.average_clv else None,
        "churn": None if view.churn is None else {
            "window_days": view.churn.window, "p_value": view.churn.p_value,
            "current": dict(zip(_RATE_FIELDS, view.churn.current, strict=True)),
            "comparison": None if view.churn.comparison is None else dict(
                zip(_RATE_FIELDS, view.churn.comparison, strict=True))},
        "trend": view.trend,
        "by_region": view.by_region,
        "highlights": [{"kind": h.kind, **h.values} for h in view.highlights],
        "funnel": overview_funnel.report(view.funnel),
    }


def _clv_note(clv: dict[str, Any]) -> str:
    """The average-CLV line's tail: its interval and count, or why there is no figure."""
    now = clv["current"]
    if now["problem"]:
        return f"  (no estimate: {now['problem']}; n = {now['n']:,})"
    return (f"  (n = {now['n']:,}, {clv['level']:.0%} interval {now['low']:,.2f}–{now['high']:,.2f}; "
            f"as of {now['as_of']}, {clv['horizon_months']} months, discount {clv['discount_rate']:.0%} a year)")


def report_lines(data: dict[str, Any]) -> list[str]:
    """The overview's report (:func:`report`, made plain) as lines for a terminal."""
    lines = ([f"data through {data['data_through']}"] if data["data_through"] else []) + [""]
    for name, k in data["kpis"].items():
        if k["value"] is None:
            value = "–"
        elif name in RATES:
            value = f"{k['value']:.1%}"
        elif name in POINTS:
            value = f"{k['value']:+.1f}"
        else:
            value = f"{k['value']:,}" if isinstance(k["value"], int) else f"{k['value']:,.2f}"
        change = ""
        if k["change"] is not None:
            change = (f"  {k['change'] * (1 if name in POINTS else 100):+.1f} pts" if name in RATES | POINTS
                      else f"  {k['change']:+.1%}")
        shown = "{:+.1f}" if name in POINTS else "{:.1%}"
        extra = (f"  (n = {k['n']:,}, 95% CI {shown.format(k['ci'][0])}–{shown.format(k['ci'][1])})"
                 if k.get("ci") else "")
        if name == "avg_clv" and data.get("average_clv"):
            extra = _clv_note(data["average_clv"])
        lines.append(f"  {name:<18}{value:>18}{change}{extra}")
    lines += ["", "revenue by region:"]
    for r in data["by_region"]:
        change = f"  {r['change']:+.1%}" if r["change"] is not None else ""
        lines.append(f"  {r['region'] or '(none)':<10}{r['revenue']:>18,.2f}{change}")
    if data["highlights"]:
        lines += ["", "highlights:"]
        for h in data["highlights"]:
            lines.append("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in h.items()))
    return lines + overview_funnel.report_lines(data.get("funnel"))
