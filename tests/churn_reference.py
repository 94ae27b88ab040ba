"""An independent reference for churn (``analytics.metrics.churn``'s definitions), computed day by day from the raw
rows with pandas and numpy, never from the database; and the overview's churn tile
(``analytics.metrics.overview_churn``) computed from it, with statsmodels as the reference for the Wilson interval
and the two-proportion z-test.

A customer's purchase days are the days with a row of a positive amount, up to the as-of day. Day by day: the
customer is **active** at the end of day D when their last purchase up to D is at most W days before D; they
**churn** on D when they were active at the end of D - 1 and their last purchase before D is more than W days
before D (so on the day W + 1 after a purchase: a purchase that very day comes a day late, and wins them back);
they are **won back** on a purchase day D when their purchase before D is more than W days before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from analytics.scope import Scope

ONE_DAY = timedelta(days=1)


def purchase_days(rows: pd.DataFrame, as_of: date, customers: Iterable[str] | None = None) -> dict[str, list[date]]:
    """Each customer's purchase days up to ``as_of`` (of ``customers`` only, when given); customers without one
    are left out."""
    r = rows.assign(day=pd.to_datetime(rows["order_date"]).dt.date)
    r = r[(r["amount"] > 0) & (r["day"] <= as_of)]
    if customers is not None:
        r = r[r["customer_id"].isin(set(customers))]
    return {c: sorted(set(g["day"])) for c, g in r.groupby("customer_id")}


def day_by_day(days: list[date], span: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """On each day of ``span`` (datetime64[D]): whether the customer is active at its end (a purchase up to it, at
    most ``window`` days before) and whether they are churned at its start (their last purchase before it more
    than ``window`` days before)."""
    bought = np.array(days, dtype="datetime64[D]")
    upto = np.searchsorted(bought, span, side="right")  # purchases up to the day
    before = np.searchsorted(bought, span, side="left")  # purchases before the day
    since = (span - bought[np.maximum(upto - 1, 0)]).astype(int)
    since_before = (span - bought[np.maximum(before - 1, 0)]).astype(int)
    return (upto > 0) & (since <= window), (before > 0) & (since_before > window)


def default_window(buys: dict[str, list[date]]) -> int:
    """The smallest multiple of 30 days (at least 30) that 90 % of the gaps between consecutive purchase days
    (of every customer) do not exceed; 180 without a gap."""
    gaps = [(b - a).days for days in buys.values() for a, b in pairwise(days)]
    if not gaps:
        return 180
    window = 30
    while sum(g <= window for g in gaps) < 0.9 * len(gaps):
        window += 30
    return window


def month_end(m: date) -> date:
    return (pd.Timestamp(m) + pd.offsets.MonthEnd(0)).date()


def months_of(start: date, end: date) -> list[date]:
    """The first days of the months from ``start``'s to ``end``'s."""
    return [m.date() for m in pd.date_range(start.replace(day=1), end.replace(day=1), freq="MS")]


def customer_months(buys: dict[str, list[date]], months: list[date], window: int, as_of: date) -> pd.DataFrame:
    """One row per customer (``customer_id``) and month (``month``, in order): ``active_start`` (active at the end of
    the day before it), ``churned`` (churned in it: on a day up to ``as_of`` after being active the day before),
    ``won_back`` (a purchase day of it on whose start they were churned), ``new`` (their first purchase in it)."""
    span = np.arange(np.datetime64(months[0]) - 1, np.datetime64(month_end(months[-1])) + 1)  # from the day before
    index = np.searchsorted(np.array(months, dtype="datetime64[M]"), span[1:].astype("datetime64[M]"))
    starts = np.searchsorted(span, np.array(months, dtype="datetime64[D]") - 1)  # the days before the months
    seen = span[1:] <= np.datetime64(as_of)
    ends = np.array([month_end(m) for m in months], dtype="datetime64[D]")
    parts: dict[str, list] = {"active_start": [], "churned": [], "won_back": [], "new": []}
    for days in buys.values():
        active, gone = day_by_day(days, span, window)
        bought = np.isin(span[1:], np.array(days, dtype="datetime64[D]"))
        first = np.datetime64(days[0])
        parts["active_start"].append(active[starts])
        parts["churned"].append(np.bincount(index, weights=active[:-1] & gone[1:] & seen, minlength=len(months)))
        parts["won_back"].append(np.bincount(index, weights=bought & gone[1:], minlength=len(months)) > 0)
        parts["new"].append((np.array(months, dtype="datetime64[D]") <= first) & (first <= ends))
    return pd.DataFrame({"customer_id": np.repeat(list(buys), len(months)), "month": months * len(buys),
                         **{k: np.concatenate(v) if v else np.array([], dtype=int) for k, v in parts.items()}})


def monthly(buys: dict[str, list[date]], months: list[date], window: int, as_of: date,
            rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per month: customers active on the day before it, who churned in it (up to ``as_of``), won back in it
    (with their revenue that month: all their ``rows`` of it up to ``as_of``), new in it, and whether it ends after
    ``as_of`` (provisional)."""
    each = customer_months(buys, months, window, as_of)
    revenue = pd.Series(0.0, index=pd.MultiIndex.from_arrays([each["customer_id"], each["month"]]))
    if rows is not None and len(each):
        r = rows.assign(day=pd.to_datetime(rows["order_date"]).dt.date)
        r = r[r["day"] <= as_of].assign(month=lambda x: [d.replace(day=1) for d in x["day"]])
        revenue = r.groupby(["customer_id", "month"])["amount"].sum().reindex(revenue.index, fill_value=0.0)
    each["won_back_revenue"] = np.where(each["won_back"], revenue.to_numpy(), 0.0)
    totals = each.groupby("month")[["active_start", "churned", "won_back", "won_back_revenue", "new"]].sum()
    totals = totals.reindex(months, fill_value=0)
    return pd.DataFrame({"month": months, "active_start": totals["active_start"].to_numpy(dtype=int),
                         "churned": totals["churned"].to_numpy(dtype=int),
                         "won_back": totals["won_back"].to_numpy(dtype=int),
                         "won_back_revenue": totals["won_back_revenue"].to_numpy(dtype=float),
                         "new_customers": totals["new"].to_numpy(dtype=int),
                         "provisional": [month_end(m) > as_of for m in months]})


def reference(rows: pd.DataFrame, scope: Scope, window: int) -> pd.DataFrame:
    """``monthly_churn``'s table for ``scope`` as of its last day, the customers in scope by the region of their
    rows (each buys in one region in ``tests/test_churn.py``)."""
    as_of = scope.end_exclusive - ONE_DAY
    regions = scope.visible_regions()
    r = rows if regions is None else rows[rows["region"].isin(regions)]
    r = r[pd.to_datetime(r["order_date"]).dt.date <= as_of]
    return monthly(purchase_days(r, as_of), months_of(scope.start, scope.end), window, as_of, r)


# ------------------------------------------------------------------ the overview's tile


@dataclass(frozen=True)
class Tile:
    """The tile's counts: (churned, customer-months) of the period's complete months and of the comparison
    period's (None without one), overall and per home region."""

    window: int
    as_of: date
    current: tuple[int, int]
    comparison: tuple[int, int] | None
    regions: dict[str, tuple[tuple[int, int], tuple[int, int]]]


def pooled(each: pd.DataFrame, as_of: date) -> tuple[int, int]:
    """(churned, customer-months) over the complete months (ending by ``as_of``) of :func:`customer_months` rows."""
    complete = each.loc[np.array([month_end(m) <= as_of for m in each["month"]], dtype=bool)]
    return int(complete["churned"].sum()), int(complete["active_start"].sum())


def expected_tile(rows: pd.DataFrame, home: pd.Series, customers: set[str],
                  period: tuple[date, date], comparison: tuple[date, date] | None) -> Tile:
    """The tile for the customers in scope (``customers``, by their own attributes): as of the period's last day
    or the last purchase day in ``rows`` (anyone's) when earlier, W from their gaps up to then; ``period`` and
    ``comparison``: (first month, last month); each pools its complete months."""
    last_purchase = pd.to_datetime(rows.loc[rows["amount"] > 0, "order_date"]).max().date()
    as_of = min(month_end(period[1]), last_purchase)
    buys = purchase_days(rows, as_of, customers)
    window = default_window(buys)
    now = customer_months(buys, months_of(*period), window, as_of)
    then = customer_months(buys, months_of(*comparison), window, as_of) if comparison else now.iloc[:0]
    regions = {}
    for region in sorted({home[c] for c in buys if isinstance(home.get(c), str)}):
        mine = {c for c in buys if home.get(c) == region}
        regions[region] = (pooled(now[now["customer_id"].isin(mine)], as_of),
                           pooled(then[then["customer_id"].isin(mine)], as_of))
    return Tile(window, as_of, pooled(now, as_of), pooled(then, as_of) if comparison else None, regions)


def p_value(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """statsmodels' pooled two-proportion z-test; None with an empty sample, 1 when no one (or everyone) churned
    in both (nothing changed: the test's statistic is 0/0 there)."""
    if n1 == 0 or n2 == 0:
        return None
    if x1 + x2 in (0, n1 + n2):
        return 1.0
    return float(proportions_ztest([x1, x2], [n1, n2])[1])


def expected_kpi(tile: Tile) -> dict:
    """The churn_rate KPI: the rate (None without customer-months), the comparison's, the change in points, the
    customer-months (None without any), the 95 % Wilson interval (statsmodels) and the comparison's months."""
    churned, exposure = tile.current
    value = churned / exposure if exposure else None
    previous = tile.comparison[0] / tile.comparison[1] if tile.comparison and tile.comparison[1] else None
    ci = tuple(proportion_confint(churned, exposure, alpha=0.05, method="wilson")) if exposure else None
    return {"value": value, "previous": previous,
            "change": None if value is None or previous is None else value - previous,
            "n": exposure or None, "ci": ci, "previous_n": tile.comparison[1] if tile.comparison else None}


#: A region needs this many customer-months in each period; at most this many regions; beyond chance below this.
MIN_EXPOSURE, MAX_REGIONS, SIGNIFICANT = 200, 2, 0.05


def expected_highlights(tile: Tile) -> list[tuple[str, dict]]:
    """The churn highlights: the overall change (with whether it is beyond sampling error), then the regions with
    enough customer-months whose rates differ beyond it, largest absolute change first (ties by name)."""
    if tile.comparison is None or not tile.current[1] or not tile.comparison[1]:
        return []
    k = expected_kpi(tile)
    out = [("churn_change", {"value": k["value"], "previous": k["previous"], "change": k["change"],
                             "significant": p_value(*tile.current, *tile.comparison) < SIGNIFICANT})]
    moves = []
    for region, ((c, a), (pc, pa)) in tile.regions.items():
        if min(a, pa) >= MIN_EXPOSURE and p_value(c, a, pc, pa) < SIGNIFICANT:
            moves.append((abs(c / a - pc / pa), region, c / a, pc / pa))
    for _, region, rate, before in sorted(moves, key=lambda m: (-m[0], m[1]))[:MAX_REGIONS]:
        out.append(("churn_region_up" if rate > before else "churn_region_down",
                    {"region": region, "value": rate, "previous": before, "change": rate - before}))
    return out

