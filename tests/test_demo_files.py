"""Tests of the demo-data generator's written files (encodings, headers the importer
recognises, values as a spreadsheet writes them, a workbook with real dates, transactions
as an order-line export) and of ``load_demo`` importing every row of them, every order
counted once."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from demo_util import (
    SMALL,
    orders,
    small_files_fixture,  # noqa: F401 (the small_files fixture)
    small_fixture,  # noqa: F401 (the small fixture)
)

from analytics.ingest import demo
from analytics.ingest.schema import COLUMNS, IDENTITY_COLUMNS, normalize_header

# --------------------------------------------------------------------------- files


def test_written_files(small: demo.DemoData, small_files: list[demo.DemoFile]) -> None:
    assert [f.kind for f in small_files] == ["customers", "transactions", "feedback", "leads"]
    for f in small_files:
        assert f.path.exists() and f.path.stat().st_size > 0
    paths = {f.kind: f.path for f in small_files}
    assert paths["leads"].suffix == ".xlsx"


def test_same_data_gives_the_same_bytes(
    small: demo.DemoData, small_files: list[demo.DemoFile], tmp_path: Path
) -> None:
    time.sleep(1.1)  # a timestamp of the writing moment would differ
    again = demo.write_files(demo.generate(size=SMALL, seed=7), tmp_path)
    for first, second in zip(small_files, again, strict=True):
        assert first.path.read_bytes() == second.path.read_bytes(), first.kind


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
        IDENTITY_COLUMNS["transactions"]
    )
    frame = pd.read_csv(path, encoding="gb18030", dtype=str)
    assert len(frame) == len(small.transactions)
    assert frame["订单日期"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert frame["实付金额"].str.fullmatch(r"-?\d+\.\d{2}").all()
    assert frame["成本"].str.fullmatch(r"-?\d+\.\d{2}").all()
    assert frame["数量"].str.fullmatch(r"\d+").all()
    assert (frame["客户编号"] == small.transactions["customer_id"]).all()
    # An order-line export: the order number on every line of its order.
    assert (frame["订单编号"] == small.transactions["transaction_id"]).all()
    assert frame["订单编号"].nunique() < len(frame)
    assert frame.duplicated(keep=False).any()  # identical lines of one order, each its own row


def test_customers_file_is_utf8_and_keeps_zeros(
    small: demo.DemoData, small_files: list[demo.DemoFile]
) -> None:
    path = next(f.path for f in small_files if f.kind == "customers")
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")
    assert text.splitlines()[0] == ",".join(IDENTITY_COLUMNS["customers"])
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
        c.name for c in COLUMNS["feedback"] if c.stored  # not the survey questions' columns
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
    # one row per lead with a date column per stage (no stage date: that is a stage-history log's)
    assert sorted(synonyms[normalize_header(h)] for h in header) == sorted(
        c.name for c in COLUMNS["leads"] if c.name != "stage_date"
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
        counted = con.execute("select sum(orders) from customer_summary").fetchall()[0][0]
        stored = con.execute("select count(*) from transactions").fetchall()[0][0]
    finally:
        con.close()
    assert [r.kind for r in reports] == ["customers", "transactions", "feedback", "leads"]
    for report in reports:
        assert report.rows_rejected == 0, (report.kind, report.rejects[:3])
        assert report.rows_conflicting == report.rows_duplicate == 0, (report.kind, report.conflicts[:3])
        assert report.rows_imported == report.rows_read > 0, report.kind
    # Every line imported, identical lines of one order included; every order counted once.
    generated = demo.generate(size=300, seed=3)
    assert generated.transactions.duplicated().any()
    assert stored == len(generated.transactions) == reports[1].rows_imported
    assert counted == len(orders(generated)) < len(generated.transactions)
