"""Shared by the demo-data generator's tests (``tests/test_demo_*.py``): the small data set
they look at, its written files, and the realism measures (an order is its order number's
purchase lines, counted once).

The measures are computed here with pandas from the frames, independently of how the
generator produces them. Nothing here is a test.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analytics.ingest import demo

SMALL = 3_000
END = dt.date(2026, 10, 31)
END_TS = pd.Timestamp(END)


@pytest.fixture(scope="module", name="small")
def small_fixture() -> demo.DemoData:
    return demo.generate(size=SMALL, seed=7)


@pytest.fixture(scope="module", name="small_files")
def small_files_fixture(
    small: demo.DemoData, tmp_path_factory: pytest.TempPathFactory
) -> list[demo.DemoFile]:
    return demo.write_files(small, tmp_path_factory.mktemp("demo"))


# --------------------------------------------------------------------------- measures


def revenue_share_top20(data: demo.DemoData) -> float:
    """Share of net revenue brought by the top 20 % of customers (all customers ranked)."""
    revenue = (
        data.transactions.groupby("customer_id")["amount"].sum()
        .reindex(data.customers["customer_id"], fill_value=0.0)
        .sort_values(ascending=False)
    )
    top = int(len(revenue) * 0.2)
    return float(revenue.iloc[:top].sum() / revenue.sum())


def purchases(data: demo.DemoData) -> pd.DataFrame:
    """The purchase lines (positive amounts); returns are the negative ones."""
    return data.transactions[data.transactions["amount"] > 0]


def orders(data: demo.DemoData) -> pd.DataFrame:
    """One row per order (order number) of the purchase lines, an order counted once: its
    customer and date, its amount (the sum of its lines), its number of lines and of
    distinct products."""
    return purchases(data).groupby("transaction_id").agg(
        customer_id=("customer_id", "first"), order_date=("order_date", "first"),
        amount=("amount", "sum"), lines=("product", "size"), products=("product", "nunique"),
    )


def repeat_rate(data: demo.DemoData) -> float:
    """Customers with purchases on at least two days, over all customers."""
    days = purchases(data).groupby("customer_id")["order_date"].nunique()
    days = days.reindex(data.customers["customer_id"], fill_value=0)
    return float((days >= 2).mean())


def churned(data: demo.DemoData) -> pd.Series:
    """True for customers without a purchase in the 180 days before the end."""
    last = purchases(data).groupby("customer_id")["order_date"].max()
    last = last.reindex(data.customers["customer_id"])
    return (last.isna() | (last <= END_TS - pd.Timedelta(days=180))).rename("churned")


def csat_satisfied_share(data: demo.DemoData) -> float:
    csat = data.feedback.loc[data.feedback["scale"] == "CSAT", "score"]
    return float((csat >= 4).mean())


def monthly_revenue(data: demo.DemoData) -> pd.Series:
    tx = data.transactions
    return tx.groupby(tx["order_date"].dt.to_period("M"))["amount"].sum()
