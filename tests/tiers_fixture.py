"""A seeded world for the customer tiers tests, imported through the real pipeline, and the tiers computed from
its raw rows with pandas and exact fractions (not through the app's SQL): who is ranked, each customer's value
and tier in a window, the pyramid, the migration cells and their customers.

The world: 150 customers in three regions (华南 holds the only 政府 customers), buying over 2023-2024 (the
default period: 2024 against 2023), amounts in steps of 50 so values tie, a cost on about two thirds of the
rows (one customer's costs above their amounts: a negative margin), a return now and then (one customer's
return in 2024 of a 2023 purchase makes their 2024 revenue negative), some customers in one year only (new,
lost). Values are in whole currency units and sums of few rows, so floating point agrees exactly.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
from import_util import database_of

REGIONS = ("华东", "华北", "华南")
PERIOD = (date(2024, 1, 1), date(2025, 1, 1))  # [start, end): the default period
COMPARISON = (date(2023, 1, 1), date(2024, 1, 1))
PYRAMID = (("platinum", "gold", "iron", "lead"), (0.01, 0.05, 0.20))


def world(n: int = 150, seed: int = 13) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sales rows (``transaction_id, customer_id, order_date, amount, cost, region, channel``) and customers
    (``customer_id, customer_name, region, segment, acquisition_channel``)."""
    rng = np.random.default_rng(seed)
    rows, people = [], []
    for i in range(n):
        cid, region = f"C{i:03d}", REGIONS[i % 3]
        segment = "政府" if region == "华南" and i % 4 == 0 else ("企业", "个人")[int(rng.integers(2))]
        people.append((cid, f"客户{i:03d}", region, segment, ("线上", "门店", "推荐")[int(rng.integers(3))]))
        costed = rng.random() < 0.7
        for year in (2023, 2024):
            if rng.random() < 0.2:  # not buying this year: new or lost
                continue
            for _ in range(int(rng.integers(1, 6))):
                day = date(year, 1, 1) + timedelta(days=int(rng.integers(0, 365)))
                amount = 50 * int(rng.integers(1, 12)) * int(rng.choice([1, 1, 1, 4]))
                cost = 0.6 * amount if costed else None
                rows.append((cid, day, float(amount), cost, region, ("线上", "门店")[int(rng.integers(2))]))
                if rng.random() < 0.05 and day.month < 12:
                    rows.append((cid, day + timedelta(days=5), -float(amount) / 2, None, region, "门店"))
    # a customer whose 2024 revenue is negative: a large 2023 purchase returned in 2024, a small 2024 purchase
    people.append(("C900", "负值客户", "华东", "企业", "线上"))
    rows += [("C900", date(2023, 12, 20), 2000.0, 1200.0, "华东", "门店"),
             ("C900", date(2024, 1, 10), -2000.0, None, "华东", "门店"),
             ("C900", date(2024, 3, 3), 50.0, 30.0, "华东", "门店")]
    # a customer selling below cost: a negative margin
    people.append(("C901", "亏本客户", "华北", "个人", "门店"))
    rows += [("C901", date(2024, 5, 5), 300.0, 450.0, "华北", "线上")]
    tx = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount", "cost", "region", "channel"])
    tx.insert(0, "transaction_id", [f"T{k:05d}" for k in range(len(tx))])
    customers = pd.DataFrame(people, columns=["customer_id", "customer_name", "region", "segment",
                                              "acquisition_channel"])
    return tx, customers


def build(folder: Path, *, with_cost: bool = True) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """The database (closed again, for the app to open), its raw sales rows and customers; ``with_cost`` False
    leaves the cost column out of the sales file."""
    tx, customers = world()
    if not with_cost:
        tx = tx.drop(columns="cost")
    return database_of(folder, {"customers": customers, "transactions": tx}), tx, customers


def values(tx: pd.DataFrame, customers: pd.DataFrame, window: tuple[date, date], measure: str = "revenue",
           allowed: tuple[str, ...] | None = None) -> pd.Series:
    """Per customer with a purchase (a row above zero) in ``window`` whose home region is ``allowed``: their net
    revenue in it, or their margin (amount - cost over the rows with a cost; 0 without one)."""
    home = customers.set_index("customer_id")["region"]
    rows = tx[(tx["order_date"] >= window[0]) & (tx["order_date"] < window[1])]
    if allowed is not None:
        rows = rows[rows["customer_id"].map(home).isin(allowed)]
    buyers = sorted(set(rows.loc[rows["amount"] > 0, "customer_id"]))
    rows = rows[rows["customer_id"].isin(buyers)]
    if measure == "revenue":
        value = rows.groupby("customer_id")["amount"].sum()
    else:
        costed = rows[rows["cost"].notna()] if "cost" in rows else rows.iloc[:0]
        value = (costed["amount"] - costed["cost"]).groupby(costed["customer_id"]).sum()
    return value.reindex(buyers, fill_value=0.0).astype(float)


def tiers(value: pd.Series, cuts: tuple[float, ...]) -> pd.Series:
    """Each customer's tier index: ranked by value, highest first, ties by id; rank r of N in the first tier
    whose cut point c has r / N <= c (as exact fractions of the cut points' decimal text)."""
    order = sorted(value.index, key=lambda c: (-value[c], c))
    n = len(order)
    bounds = [Fraction(repr(c)) for c in cuts]
    tier = {c: next((k for k, b in enumerate(bounds) if Fraction(r, n) <= b), len(cuts))
            for r, c in enumerate(order, start=1)}
    return pd.Series(tier, dtype=int).reindex(value.index)


def kept(customers: pd.DataFrame, regions: tuple[str, ...] = (), segments: tuple[str, ...] = ()) -> set[str]:
    """The customers the filters keep (home region, segment)."""
    keep = customers
    if regions:
        keep = keep[keep["region"].isin(regions)]
    if segments:
        keep = keep[keep["segment"].isin(segments)]
    return set(keep["customer_id"])


def pyramid(tx: pd.DataFrame, customers: pd.DataFrame, names: tuple[str, ...] = PYRAMID[0],
            cuts: tuple[float, ...] = PYRAMID[1], measure: str = "revenue", allowed: tuple[str, ...] | None = None,
            regions: tuple[str, ...] = ()) -> pd.DataFrame:
    """The period's tier table: per tier ``name, customers, value``."""
    value = values(tx, customers, PERIOD, measure, allowed)
    tier = tiers(value, cuts)
    mine = value.index.isin(kept(customers, regions))
    return pd.DataFrame([(name, int(((tier == k) & mine).sum()), float(value[(tier == k) & mine].sum()))
                         for k, name in enumerate(names)], columns=["name", "customers", "value"])


def migration(tx: pd.DataFrame, customers: pd.DataFrame, names: tuple[str, ...] = PYRAMID[0],
              cuts: tuple[float, ...] = PYRAMID[1], measure: str = "revenue", allowed: tuple[str, ...] | None = None,
              regions: tuple[str, ...] = ()) -> pd.DataFrame:
    """Per kept customer ranked in either period: ``customer_id, before, after`` (tier names, "new", "lost"),
    ``value_before, value_after`` (0 when not ranked then)."""
    now = values(tx, customers, PERIOD, measure, allowed)
    then = values(tx, customers, COMPARISON, measure, allowed)
    tier_now, tier_then = tiers(now, cuts), tiers(then, cuts)
    ids = sorted((set(now.index) | set(then.index)) & kept(customers, regions))
    return pd.DataFrame({
        "customer_id": ids,
        "before": [names[tier_then[c]] if c in tier_then.index else "new" for c in ids],
        "after": [names[tier_now[c]] if c in tier_now.index else "lost" for c in ids],
        "value_before": [float(then.get(c, 0.0)) for c in ids],
        "value_after": [float(now.get(c, 0.0)) for c in ids]})


def cell(moves: pd.DataFrame, before: str, after: str) -> pd.DataFrame:
    """The customers of one migration cell with their value change, the largest change either way first."""
    rows = moves[(moves["before"] == before) & (moves["after"] == after)].copy()
    rows["value_change"] = rows["value_after"] - rows["value_before"]
    rows["size"] = rows["value_change"].abs()
    return rows.sort_values(["size", "customer_id"], ascending=[False, True]).drop(columns="size").reset_index(
        drop=True)

