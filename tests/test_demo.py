"""Tests of the demo-data generator: shape, validity, realism and the written files.

The realism figures are computed here with pandas from the frames, independently of
how the generator produces them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from analytics.ingest import demo
from analytics.ingest.schema import COLUMNS, normalize_header, required_columns

SMALL = 3_000
END = dt.date(2026, 10, 31)
END_TS = pd.Timestamp(END)


@pytest.fixture(scope="module")
def small() -> demo.DemoData:
    return demo.generate(size=SMALL, seed=7)


@pytest.fixture(scope="module")
def small_files(
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
    return data.transactions[data.transactions["amount"] > 0]


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
    for kind, frame in small.frames().items():
        assert list(frame.columns) == [c.name for c in COLUMNS[kind]], kind


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
            if col.type == "date":
                assert pd.api.types.is_datetime64_any_dtype(frame[col.name]), (kind, col.name)
                values = frame[col.name].dropna()
                assert (values == values.dt.normalize()).all()
                assert values.max() <= END_TS


def test_ids_unique_and_consistent(small: demo.DemoData) -> None:
    tx, cu, fb, ld = small.transactions, small.customers, small.feedback, small.leads
    assert tx["transaction_id"].is_unique
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
    returns = tx[tx["amount"] < 0]
    assert 0.01 <= len(returns) / len(tx) <= 0.06
    assert returns["transaction_id"].str.startswith("RT").all()
    # Every return refunds an earlier purchase of the same customer and product.
    matched = returns.merge(
        sales.assign(amount=-sales["amount"]),
        on=["customer_id", "product", "amount"], suffixes=("", "_sale"),
    )
    matched = matched[matched["order_date_sale"] < matched["order_date"]]
    assert matched["transaction_id"].nunique() == len(returns)


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


# --------------------------------------------------------------------------- realism


def test_revenue_is_concentrated(small: demo.DemoData) -> None:
    assert 0.55 <= revenue_share_top20(small) <= 0.85


def test_repeat_rate(small: demo.DemoData) -> None:
    assert 0.35 <= repeat_rate(small) <= 0.75


def test_churn_share(small: demo.DemoData) -> None:
    assert 0.3 <= churned(small).mean() <= 0.7


def test_customer_acquisition_grows(small: demo.DemoData) -> None:
    acquired = small.customers["acquired_date"]
    first_year = acquired.between(pd.Timestamp(2023, 11, 1), pd.Timestamp(2024, 10, 31)).sum()
    last_year = acquired.between(pd.Timestamp(2025, 11, 1), pd.Timestamp(2026, 10, 31)).sum()
    assert last_year > 1.3 * first_year
    in_window = (acquired >= pd.Timestamp(2023, 11, 1)).mean()
    assert in_window > 0.6


def test_double_eleven_peak(small: demo.DemoData) -> None:
    monthly = monthly_revenue(small)
    for year in (2024, 2025):
        months = monthly[monthly.index.year == year]
        assert months[pd.Period(f"{year}-11", "M")] > 1.15 * months.mean()
    daily = purchases(small).groupby("order_date").size()
    for year in (2024, 2025):
        october = daily[pd.Timestamp(year, 10, 8):pd.Timestamp(year, 10, 31)].median()
        assert daily[pd.Timestamp(year, 11, 11)] > 4 * october


def test_618_peak_and_spring_festival_dip(small: demo.DemoData) -> None:
    daily = purchases(small).groupby("order_date").size()
    for year in (2024, 2025, 2026):
        june = daily[pd.Timestamp(year, 6, 1):pd.Timestamp(year, 6, 30)].median()
        assert daily[pd.Timestamp(year, 6, 18)] > 1.8 * june
    for festival in ("2024-02-10", "2025-01-29", "2026-02-17"):
        day = pd.Timestamp(festival)
        week = daily[day - pd.Timedelta(days=1):day + pd.Timedelta(days=6)].mean()
        run_up = daily[day - pd.Timedelta(days=25):day - pd.Timedelta(days=8)].mean()
        before = daily[day - pd.Timedelta(days=60):day - pd.Timedelta(days=30)].mean()
        assert week < 0.5 * before
        assert run_up > before


def test_mild_weekly_pattern(small: demo.DemoData) -> None:
    tx = purchases(small)
    by_weekday = tx.groupby(tx["order_date"].dt.day_of_week).size()
    ratio = by_weekday.max() / by_weekday.min()
    assert 1.03 < ratio < 1.5


def test_satisfaction_is_not_loyalty(small: demo.DemoData) -> None:
    satisfied = csat_satisfied_share(small)
    assert 0.7 <= satisfied <= 0.85
    days = purchases(small).groupby("customer_id")["order_date"].nunique()
    days = days.reindex(small.customers["customer_id"], fill_value=0)
    loyal = ((days >= 2).to_numpy() & ~churned(small).to_numpy()).mean()
    assert loyal < satisfied - 0.2


def test_less_satisfied_customers_churn_more(small: demo.DemoData) -> None:
    fb = small.feedback
    mean_csat = fb[fb["scale"] == "CSAT"].groupby("customer_id")["score"].mean()
    churn = churned(small).reindex(mean_csat.index)
    low = churn[mean_csat <= 3].mean()
    high = churn[mean_csat >= 4].mean()
    assert low > high + 0.1


def test_lead_conversion_falls_stage_by_stage(small: demo.DemoData) -> None:
    ld = small.leads
    reached = [
        len(ld),
        ld["qualified_date"].notna().sum(),
        ld["proposal_date"].notna().sum(),
        (ld["outcome"] == "won").sum(),
    ]
    assert reached[0] > reached[1] > reached[2] > reached[3] > 0
    step = [b / a for a, b in itertools.pairwise(reached)]
    assert min(step) == step[0]  # the biggest leak is right after the first contact
    won = ld["outcome"] == "won"
    by_source = won.groupby(ld["source"]).mean()
    assert by_source.max() > 1.5 * by_source.min()
    by_rep = won.groupby(ld["sales_rep"]).mean()
    assert by_rep.std() > 0.02


# --------------------------------------------------------------------------- files


def test_written_files(small: demo.DemoData, small_files: list[demo.DemoFile]) -> None:
    assert [f.kind for f in small_files] == ["customers", "transactions", "feedback", "leads"]
    for f in small_files:
        assert f.path.exists() and f.path.stat().st_size > 0
    paths = {f.kind: f.path for f in small_files}
    assert paths["leads"].suffix == ".xlsx"


def _synonyms(kind: str) -> dict[str, str]:
    return {normalize_header(s): c.name for c in COLUMNS[kind] for s in c.synonyms}


def test_transactions_file_is_gb18030_with_chinese_headers(
    small: demo.DemoData, small_files: list[demo.DemoFile]
) -> None:
    path = next(f.path for f in small_files if f.kind == "transactions")
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gb18030")
    header = text.splitlines()[0].split(",")
    assert header == ["订单编号", "客户编号", "订单日期", "实付金额", "数量", "成本", "大区",
                      "渠道", "商品名称", "品类", "销售代表"]
    synonyms = _synonyms("transactions")
    assert sorted(synonyms[normalize_header(h)] for h in header) == sorted(
        c.name for c in COLUMNS["transactions"]
    )
    frame = pd.read_csv(path, encoding="gb18030", dtype=str)
    assert len(frame) == len(small.transactions)
    assert frame["订单日期"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert frame["实付金额"].str.fullmatch(r"-?\d+\.\d{2}").all()
    assert frame["成本"].str.fullmatch(r"-?\d+\.\d{2}").all()
    assert frame["数量"].str.fullmatch(r"\d+").all()
    assert (frame["客户编号"] == small.transactions["customer_id"]).all()


def test_customers_file_is_utf8_and_keeps_zeros(
    small: demo.DemoData, small_files: list[demo.DemoFile]
) -> None:
    path = next(f.path for f in small_files if f.kind == "customers")
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")
    assert text.splitlines()[0] == ",".join(c.name for c in COLUMNS["customers"])
    frame = pd.read_csv(path, dtype=str)
    assert (frame["customer_id"] == small.customers["customer_id"]).all()
    assert frame["customer_id"].str.startswith("0").all()
    assert frame["acquisition_cost"].str.fullmatch(r"\d+\.\d{1,2}|\d+").all()


def test_feedback_file_has_bom_and_chinese_headers(
    small: demo.DemoData, small_files: list[demo.DemoFile]
) -> None:
    path = next(f.path for f in small_files if f.kind == "feedback")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[:4] == ["反馈编号", "客户编号", "反馈日期", "评分"]
    synonyms = _synonyms("feedback")
    assert sorted(synonyms[normalize_header(h)] for h in header) == sorted(
        c.name for c in COLUMNS["feedback"]
    )
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert len(frame) == len(small.feedback)
    scores = frame.loc[frame["反馈类型"] == "survey", "评分"]
    assert scores.str.fullmatch(r"\d{1,2}").all()  # whole numbers, no "4.0"


def test_leads_workbook_has_real_dates(
    small: demo.DemoData, small_files: list[demo.DemoFile]
) -> None:
    path = next(f.path for f in small_files if f.kind == "leads")
    book = openpyxl.load_workbook(path, read_only=True)
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    book.close()
    header = list(rows[0])
    synonyms = _synonyms("leads")
    assert sorted(synonyms[normalize_header(h)] for h in header) == sorted(
        c.name for c in COLUMNS["leads"]
    )
    assert len(rows) - 1 == len(small.leads)
    created = header.index("创建日期")
    assert all(isinstance(r[created], dt.datetime) for r in rows[1:])
    customer = header.index("客户编号")
    ids = [r[customer] for r in rows[1:] if r[customer] is not None]
    assert ids and all(isinstance(v, str) and v.startswith("0") for v in ids)


def test_load_demo_imports_every_row(tmp_path: Path) -> None:
    pytest.importorskip("analytics.ingest.pipeline")
    from analytics.store.connection import connect

    con = connect(":memory:")
    try:
        reports = demo.load_demo(con, size=300, seed=3, folder=tmp_path)
    finally:
        con.close()
    assert [r.kind for r in reports] == ["customers", "transactions", "feedback", "leads"]
    for report in reports:
        assert report.rows_rejected == 0, (report.kind, report.rejects[:3])
        assert report.rows_imported == report.rows_read > 0, report.kind


# --------------------------------------------------------------------------- default size


def test_default_size(tmp_path: Path) -> None:
    started = time.perf_counter()
    data = demo.generate()
    generated = time.perf_counter()
    files = demo.write_files(data, tmp_path)
    written = time.perf_counter()
    assert len(files) == 4

    tx = data.transactions
    assert len(data.customers) == 20_000
    assert len(tx) >= 300_000
    assert tx["order_date"].min() == pd.Timestamp(2023, 11, 1)
    assert tx["order_date"].max() == END_TS
    assert tx["transaction_id"].is_unique
    assert 2_000 <= len(data.leads) <= 10_000
    assert len(data.feedback) >= 5_000

    figures = {
        "top20_revenue_share": revenue_share_top20(data),
        "repeat_rate": repeat_rate(data),
        "churn_share": float(churned(data).mean()),
        "csat_satisfied_share": csat_satisfied_share(data),
    }
    assert 0.55 <= figures["top20_revenue_share"] <= 0.85
    assert 0.35 <= figures["repeat_rate"] <= 0.75
    assert 0.3 <= figures["churn_share"] <= 0.7
    assert 0.7 <= figures["csat_satisfied_share"] <= 0.85
    print(
        f"\ndefault size: {len(tx):,} transactions, {len(data.customers):,} customers, "
        f"{len(data.feedback):,} feedback rows, {len(data.leads):,} leads; "
        + ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
        + f"; generate {generated - started:.2f} s, write_files {written - generated:.2f} s"
    )
