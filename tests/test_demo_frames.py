"""Tests of the demo-data generator's frames: the same seed gives the same data, and every
frame has the canonical columns with valid, consistent values (ids, dates, amounts,
returns, master data, feedback, lead stages); the transactions are an order-line export."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest
from demo_util import (
    END_TS,
    SMALL,
    orders,
    purchases,
    small_fixture,  # noqa: F401 (the small fixture)
)

from analytics.ingest import demo
from analytics.ingest.schema import COLUMNS, IDENTITY_COLUMNS, required_columns

# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_frames(small: demo.DemoData) -> None:
    again = demo.generate(size=SMALL, seed=7)
    for kind, frame in small.frames().items():
        pd.testing.assert_frame_equal(frame, again.frames()[kind], obj=kind)


def test_different_seed_gives_different_frames(small: demo.DemoData) -> None:
    other = demo.generate(size=SMALL, seed=8)
    for kind, frame in small.frames().items():
        assert not frame.equals(other.frames()[kind]), kind


def test_end_date_moves_the_window() -> None:
    data = demo.generate(size=300, seed=1, end=dt.date(2025, 12, 31))
    dates = data.transactions["order_date"]
    assert dates.max() <= pd.Timestamp(2025, 12, 31)
    assert dates.min() >= pd.Timestamp(2023, 1, 1)


def test_rejects_empty_size() -> None:
    with pytest.raises(ValueError):
        demo.generate(size=0)


# --------------------------------------------------------------------------- validity


def test_columns_are_the_canonical_ones(small: demo.DemoData) -> None:
    # Transactions without line_id: the lines of an order are told apart by their content
    # and, for identical lines, their occurrence (analytics/ingest/identity.py).
    for kind, frame in small.frames().items():
        assert list(frame.columns) == list(IDENTITY_COLUMNS[kind]), kind


def test_required_values_present(small: demo.DemoData) -> None:
    for kind, frame in small.frames().items():
        for name in required_columns(kind):
            if kind == "feedback" and name == "score":
                continue  # a complaint may come without a score
            assert frame[name].notna().all(), (kind, name)
    tx = small.transactions
    assert tx.notna().all().all()
    assert small.customers.notna().all().all()
    surveys = small.feedback[small.feedback["feedback_kind"] == "survey"]
    assert surveys["score"].notna().all()
    assert surveys["scale"].notna().all()
    leads = small.leads
    filled = ["lead_id", "created_date", "stage", "region", "source", "sales_rep"]
    assert leads[filled].notna().all().all()


def test_dates_are_dates(small: demo.DemoData) -> None:
    for kind, frame in small.frames().items():
        for col in COLUMNS[kind]:
            # the demo's leads have a date column per stage, not a row per stage with its date
            if col.type == "date" and (kind, col.name) != ("leads", "stage_date"):
                assert pd.api.types.is_datetime64_any_dtype(frame[col.name]), (kind, col.name)
                values = frame[col.name].dropna()
                assert (values == values.dt.normalize()).all()
                assert values.max() <= END_TS


def test_ids_unique_and_consistent(small: demo.DemoData) -> None:
    tx, cu, fb, ld = small.transactions, small.customers, small.feedback, small.leads
    assert cu["customer_id"].is_unique
    assert fb["feedback_id"].is_unique
    assert ld["lead_id"].is_unique
    known = set(cu["customer_id"])
    assert set(tx["customer_id"]) <= known
    assert set(fb["customer_id"]) <= known
    assert set(ld["customer_id"].dropna()) <= known
    assert tx["transaction_id"].str.fullmatch(r"(SO|RT)20\d{6}\d{5}").all()
    for frame in (tx, cu, fb, ld):
        assert all(isinstance(v, str) for v in frame["customer_id"].dropna().head(50))


def test_customer_ids_keep_leading_zeros(small: demo.DemoData) -> None:
    ids = small.customers["customer_id"]
    assert ids.str.fullmatch(r"\d{6}").all()
    assert ids.str.startswith("0").all()  # 3,000 customers: all ids start with zeros
    assert "000001" in set(ids)


def test_transactions_values(small: demo.DemoData) -> None:
    tx = small.transactions
    assert pd.api.types.is_integer_dtype(tx["quantity"])
    assert (tx["quantity"] >= 1).all()
    sales = tx[tx["amount"] > 0]
    assert (sales["cost"] > 0).all()
    assert (sales["cost"] < sales["amount"]).all()
    margin = (sales["amount"] - sales["cost"]) / sales["amount"]
    assert margin.between(0.195, 0.455).all()
    assert (tx["amount"] != 0).all()
    assert np.allclose(tx["amount"], tx["amount"].round(2))
    assert sales["transaction_id"].str.startswith("SO").all()
    returns = tx[tx["amount"] < 0]
    assert 0.01 <= len(returns) / len(tx) <= 0.06
    assert returns["transaction_id"].str.startswith("RT").all()
    # Every return refunds lines of one earlier order of the same customer: each of its
    # lines is a line of that order (same product, quantity, amount and cost).
    matched = returns.reset_index().merge(
        sales.assign(amount=-sales["amount"], cost=-sales["cost"]),
        on=["customer_id", "product", "quantity", "amount", "cost"], suffixes=("", "_sale"),
    )
    matched = matched[matched["order_date_sale"] < matched["order_date"]]
    covered = matched.groupby(["transaction_id", "transaction_id_sale"])["index"].nunique()
    assert covered.groupby(level=0).max().sum() == len(returns)
    assert returns["transaction_id"].nunique() < len(returns)  # some returns refund several lines


def test_transactions_are_order_lines(small: demo.DemoData) -> None:
    """One row per order line: an order's lines follow each other and share its number,
    customer, date, channel, region and sales rep; most orders have 1 to 3 lines, some
    more; a few hold a product twice (at two prices, or one line entered twice)."""
    tx = small.transactions
    number = tx["transaction_id"]
    assert (number != number.shift()).sum() == number.nunique()  # each order's lines together
    shared = ["customer_id", "order_date", "channel", "region", "sales_rep"]
    assert (tx.groupby("transaction_id")[shared].nunique() == 1).all().all()
    placed = orders(small)
    lines = placed["lines"]
    assert 0.3 <= (lines >= 2).mean() <= 0.6
    assert (lines <= 3).mean() >= 0.85
    assert lines.max() >= 6
    twice = placed["products"] < lines
    assert 0.02 <= twice.mean() <= 0.1
    sales = purchases(small)
    identical = sales.duplicated(keep=False)
    assert 0.005 <= sales.loc[identical, "transaction_id"].nunique() / len(placed) <= 0.05
    same_product = sales.duplicated(["transaction_id", "product"], keep=False) & ~identical
    repriced = sales[same_product].groupby(["transaction_id", "product"])["amount"].nunique()
    assert 0.005 <= (repriced > 1).sum() / len(placed) <= 0.05


def test_master_data(small: demo.DemoData) -> None:
    tx, cu = small.transactions, small.customers
    assert set(tx["region"]) == set(demo.REGIONS)
    sizes = cu["region"].value_counts()
    assert sizes.idxmax() == "华东"
    assert set(sizes.index[-2:]) == {"西北", "东北"}
    assert set(tx["channel"]) == set(demo.CHANNELS)
    assert set(tx["category"]) == set(demo.CATEGORIES)
    assert tx.groupby("category")["product"].nunique().min() >= 4
    assert tx.groupby("product")["category"].nunique().max() == 1
    assert 35 <= tx["sales_rep"].nunique() <= 45
    assert tx.groupby("sales_rep")["region"].nunique().max() == 1
    assert set(cu["segment"]) == set(demo.SEGMENTS)
    assert cu["customer_name"].str.contains(r"[\u4e00-\u9fff]").all()
    assert cu["customer_name"].str.endswith("有限公司").any()
    assert (cu["acquisition_cost"] > 0).all()


def test_feedback_values(small: demo.DemoData) -> None:
    fb = small.feedback
    assert set(fb["feedback_kind"]) == {"survey", "complaint"}
    surveys = fb[fb["feedback_kind"] == "survey"]
    assert set(surveys["scale"]) == {"CSAT", "NPS"}
    csat = surveys.loc[surveys["scale"] == "CSAT", "score"]
    nps = surveys.loc[surveys["scale"] == "NPS", "score"]
    assert csat.between(1, 5).all() and (csat == csat.round()).all()
    assert nps.between(0, 10).all() and (nps == nps.round()).all()
    assert set(csat) == {1, 2, 3, 4, 5}
    complaints = fb[fb["feedback_kind"] == "complaint"]
    assert len(complaints) > 0
    assert set(complaints["category"]) == {"物流配送", "产品质量", "售后服务", "价格", "退换货"}
    assert surveys["resolved_date"].isna().all()
    resolved = complaints.dropna(subset=["resolved_date"])
    delay = (resolved["resolved_date"] - resolved["feedback_date"]).dt.days
    assert delay.between(0, 30).all()
    unresolved = complaints["resolved_date"].isna().mean()
    assert 0.0 < unresolved < 0.15
    # Feedback follows a purchase of the customer.
    first = purchases(small).groupby("customer_id")["order_date"].min()
    assert (fb["feedback_date"].to_numpy() > first.reindex(fb["customer_id"]).to_numpy()).all()


def test_complaints_come_from_less_satisfied_customers(small: demo.DemoData) -> None:
    fb = small.feedback
    mean_csat = fb[fb["scale"] == "CSAT"].groupby("customer_id")["score"].mean()
    complained = set(fb.loc[fb["feedback_kind"] == "complaint", "customer_id"])
    is_complainer = mean_csat.index.isin(list(complained))
    assert mean_csat[is_complainer].mean() < mean_csat[~is_complainer].mean()


def test_lead_stages(small: demo.DemoData) -> None:
    ld = small.leads
    assert set(ld["stage"]) <= set(demo.LEAD_STAGES)
    assert set(ld["outcome"].dropna()) == {"won", "lost"}
    won = ld["stage"] == "成交"
    lost = ld["stage"] == "流失"
    assert (ld.loc[won, "outcome"] == "won").all()
    assert (ld.loc[lost, "outcome"] == "lost").all()
    assert ld.loc[~won & ~lost, "outcome"].isna().all()
    assert ld.loc[~won & ~lost, "closed_date"].isna().all()
    assert ld.loc[won | lost, "closed_date"].notna().all()
    assert ld.loc[won, ["qualified_date", "proposal_date"]].notna().all().all()
    assert ld.loc[ld["stage"] == "报价", "proposal_date"].notna().all()
    # Stage dates increase.
    order = ["created_date", "qualified_date", "proposal_date", "closed_date"]
    for a, b in itertools.pairwise(order):
        both = ld[[a, b]].dropna()
        assert (both[b] > both[a]).all(), (a, b)
    last_known = ld[["created_date", "qualified_date", "proposal_date"]].max(axis=1)
    closed = ld.dropna(subset=["closed_date"])
    assert (closed["closed_date"] > last_known[closed.index]).all()
    # A date of a later stage implies the earlier ones.
    assert ld.loc[ld["proposal_date"].notna(), "qualified_date"].notna().all()


def test_converted_leads_point_at_new_customers(small: demo.DemoData) -> None:
    ld = small.leads
    assert (ld["customer_id"].notna() == (ld["outcome"] == "won")).all()
    converted = ld.dropna(subset=["customer_id"])
    assert converted["customer_id"].is_unique
    first = purchases(small).groupby("customer_id")["order_date"].min()
    assert (first.reindex(converted["customer_id"]).to_numpy()
            > converted["created_date"].to_numpy()).all()
