"""The customer tiers page's figures with pandas/numpy straight from the transactions (``tiers_bench.py``'s
baseline), the same figures taken from :func:`analytics.metrics.tiers.tier_view`, and how the two compare.

The definitions are those of ``analytics/tiering.py`` and ``analytics/metrics/tiers.py``, worked out here from the
rows (no derived table): a customer's value in a window is their net revenue in it (every row, returns
subtracted); a purchase is a row that is not a return; the customers with a purchase in the window are ranked by
value, highest first, ties by customer id, and the customer at rank r of N is in the first tier whose cumulative
cut point c = num/den (the decimal, as an exact fraction) has r * den <= num * N. The filters keep customers by
their home region (the region of most spend, net of returns, ties to the greater name: ``customer_summary.sql``;
the benchmark files have no customers file), and their tiers do not change with the filter. Amounts are summed
exactly in 1/10,000 (``units``) and turned into currency at the end.
"""

from __future__ import annotations

import math
from datetime import date
from fractions import Fraction

import numpy as np
import pandas as pd
from churn_pandas import _differences

UNITS = 10_000  # units per currency unit (amount * 10,000, as in the transactions' DECIMAL(18,4))
NEW, LOST = "new", "lost"
MOVES = ("upgrade", "downgrade", "same", NEW, LOST)
LORENZ_POINTS = 200


def home_regions(cid: np.ndarray, customers: int, region: pd.Series, units: np.ndarray) -> np.ndarray:
    """Each customer's home region (object array, None without one): the region of most spend net of returns,
    ties to the greater name (``customer_summary.sql``'s ``arg_max(region, (spend, region))``)."""
    rcode, rnames = pd.factorize(region)
    spend = pd.DataFrame({"c": cid, "r": rcode, "v": units})
    spend = spend[spend["r"] >= 0].groupby(["c", "r"], sort=False)["v"].sum().reset_index()
    spend["name"] = np.asarray(rnames, dtype=object)[spend["r"].to_numpy()]
    top = spend.sort_values(["c", "v", "name"], ascending=[True, False, False]).drop_duplicates("c")
    home = np.full(customers, None, dtype=object)
    home[top["c"].to_numpy()] = top["name"].to_numpy()
    return home


def _tiers(value: np.ndarray, bought: np.ndarray, id_order: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    """Per customer (code order): the tier in the window (0: the best), -1 when not ranked (no purchase in it)."""
    ranked = np.flatnonzero(bought)
    n = len(ranked)
    order = ranked[np.lexsort((id_order[ranked], -value[ranked]))]  # value desc, then customer id
    rank = np.empty(len(value), dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    tier = np.full(len(value), -1, dtype=np.int64)
    tier[ranked] = 0
    for c in cuts:  # tier = how many cut points the rank lies beyond: rank * den > num * N
        f = Fraction(str(c))
        tier[ranked] += rank[ranked] * f.denominator > f.numerator * n
    return tier


def _window(cid: np.ndarray, customers: int, day: np.ndarray, units: np.ndarray, buy: np.ndarray,
            first: date, end_exclusive: date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per customer: net value in [first, end_exclusive) (units), whether they bought in it, and their last
    purchase day in it (days since 1970, -1 without one)."""
    rows = (day >= np.datetime64(first, "D")) & (day < np.datetime64(end_exclusive, "D"))
    value = pd.Series(units[rows]).groupby(cid[rows]).sum()
    out = np.zeros(customers, dtype=np.int64)
    out[value.index.to_numpy()] = value.to_numpy()
    last = np.full(customers, -1, dtype=np.int64)
    bought = rows & buy
    purchases = pd.Series(day[bought].astype(np.int64)).groupby(cid[bought]).max()
    last[purchases.index.to_numpy()] = purchases.to_numpy()
    return out, last >= 0, last


def pandas_tiers(tx: pd.DataFrame, scope, cuts: tuple[float, ...], names: tuple[str, ...]) -> dict:
    """The figures of :func:`figures_of_view` from ``tx`` (customer_id, order_date, units (amount in 1/10,000),
    region, is_return: every transaction) for ``scope`` (period, comparison, regions) and the tiers (``cuts``,
    ``names``)."""
    day = tx["order_date"].to_numpy().astype("datetime64[D]")
    buy = ~tx["is_return"].to_numpy()
    units = tx["units"].to_numpy()
    cid, ids = pd.factorize(tx["customer_id"])
    ids = np.asarray(ids, dtype=object)
    n_ids = len(ids)
    id_order = np.empty(n_ids, dtype=np.int64)
    id_order[np.argsort(ids, kind="stable")] = np.arange(n_ids)  # rank of each id in text order
    home = home_regions(cid, n_ids, tx["region"], units)
    in_scope = np.isin(home, list(scope.regions)) if scope.regions else np.ones(n_ids, dtype=bool)

    value, bought, _ = _window(cid, n_ids, day, units, buy, scope.start, scope.end_exclusive)
    tier = _tiers(value, bought, id_order, cuts)
    kept = (tier >= 0) & in_scope
    v, t = value[kept], tier[kept]
    total = int(v.sum())
    out: dict = {"ranked": int(bought.sum()), "customers": int(kept.sum())}
    rows = {}
    for k, name in enumerate(names):
        mine = v[t == k]
        some = len(mine) > 0
        rows[name] = [len(mine), len(mine) / len(v) if len(v) else math.nan, int(mine.sum()) / UNITS,
                      int(mine.sum()) / total if total else math.nan, mine.mean() / UNITS if some else math.nan,
                      int(mine.min()) / UNITS if some else math.nan, int(mine.max()) / UNITS if some else math.nan]
    out["table"] = rows
    out["concentration"] = _concentration(v)
    # the tier mix by home region (customers without one: "None")
    groups = pd.crosstab(pd.Series(home[kept]).fillna("None").to_numpy(), t)
    out["mix_home_region"] = {str(g): {name: [int(row.get(k, 0)), int(row.get(k, 0)) / int(row.sum())]
                                       for k, name in enumerate(names)} for g, row in groups.iterrows()}
    # migration: every customer kept by the filters ranked in either window
    comparison = scope.comparison()
    if comparison is not None:
        before, bought_before, _ = _window(cid, n_ids, day, units, buy, comparison.start, comparison.end_exclusive)
        tier_before = _tiers(before, bought_before, id_order, cuts)
        moved = ((tier >= 0) | (tier_before >= 0)) & in_scope
        a, b = tier[moved], tier_before[moved]
        after_value = np.where(a >= 0, value[moved], 0)
        before_value = np.where(b >= 0, before[moved], 0)
        labels = np.array([*names, NEW, LOST], dtype=object)
        cells = pd.DataFrame({"before": labels[np.where(b >= 0, b, len(names))],
                              "after": labels[np.where(a >= 0, a, len(names) + 1)],
                              "value_before": before_value, "value_after": after_value})
        matrix = cells.groupby(["before", "after"]).agg(customers=("value_before", "size"),
                                                       value_before=("value_before", "sum"),
                                                       value_after=("value_after", "sum"))
        out["migration"] = {f"{i[0]} > {i[1]}": [int(r.customers), int(r.value_before) / UNITS,
                                                 int(r.value_after) / UNITS,
                                                 int(r.value_after - r.value_before) / UNITS]
                            for i, r in zip(matrix.index, matrix.itertuples(), strict=True)}
        move = np.select([b < 0, a < 0, a < b, a > b], [NEW, LOST, "upgrade", "downgrade"], "same")
        change = after_value - before_value
        out["moves"] = {m: [int((move == m).sum()), int(change[move == m].sum()) / UNITS] for m in MOVES}
    return out


def _concentration(units: np.ndarray) -> dict:
    """Top-20 % share (the floor(N / 5) largest over the total), Gini ((N + 1 - 2 sum_i S_i / S_N) / N, S the
    ascending cumulative sums) and the Lorenz curve at the view's points, negative values counted as zero."""
    n = len(units)
    x = np.sort(np.clip(units, 0, None))  # ascending, exact units
    total = int(x.sum())
    out = {"customers": n, "negative": int((units < 0).sum()), "total": total / UNITS}
    if n == 0 or total <= 0:
        return out | {"top_20_share": math.nan, "gini": math.nan, "lorenz": None}
    out["top_20_share"] = int(x[n - n // 5:].sum()) / total
    out["gini"] = float((n + 1 - 2 * (np.cumsum(x).astype(float) / total).sum()) / n)
    largest_first = np.concatenate([[0], np.cumsum(x[::-1])])
    at = np.unique(np.round(np.linspace(0, n, min(LORENZ_POINTS, n) + 1)).astype(int))
    out["lorenz"] = [int(s) / total for s in largest_first[at]]
    return out


# --------------------------------------------------------------------------- the same from the view

def figures_of_view(view) -> dict:
    """The figures :func:`pandas_tiers` computes, from a ``TierView``."""
    names = view.spec.names
    table = view.table.set_index("name")
    out: dict = {"ranked": int(view.ranked), "customers": int(view.customers)}
    out["table"] = {name: [int(table.at[name, "customers"])] + [float(table.at[name, c]) for c in (
        "customer_share", "value", "value_share", "average", "lowest", "highest")] for name in names}
    c = view.concentration
    out["concentration"] = {"customers": int(c.customers), "negative": int(c.negative), "total": float(c.total),
                            "top_20_share": float(c.top_share), "gini": float(c.gini),
                            "lorenz": None if math.isnan(c.top_share) else [float(s) for s in c.lorenz["value_share"]]}
    mix = view.mix.get("home_region")
    out["mix_home_region"] = {} if mix is None else {
        str(g): {r["name"]: [int(r["customers"]), float(r["share"])] for _, r in rows.iterrows()}
        for g, rows in mix.groupby(mix["group"].astype(object).where(mix["group"].notna(), "None"), sort=False)}
    if view.migration is not None:
        out["migration"] = {f"{r['before']} > {r['after']}": [int(r["customers"]), float(r["value_before"]),
                                                              float(r["value_after"]), float(r["value_change"])]
                            for _, r in view.migration.iterrows()}
        out["moves"] = {r["move"]: [int(r["customers"]), float(r["value_change"])] for _, r in view.moves.iterrows()}
    return out


# --------------------------------------------------------------------------- comparing

def compare(app: dict, mine: dict) -> dict:
    """Per figure: ``{"matches": bool}``, with the first differences (where, app, pandas) when not; counts exactly,
    amounts and shares within ``churn_pandas.RTOL`` (1e-9 relative; the same comparison as the churn
    benchmark's)."""
    result = {}
    for name in sorted(set(app) | set(mine)):
        found: list = []
        _differences(app.get(name, "(missing)"), mine.get(name, "(missing)"), name, found)
        result[name] = {"matches": not found} | ({"differences": found[:10], "n_differences": len(found)}
                                                 if found else {})
    return result
