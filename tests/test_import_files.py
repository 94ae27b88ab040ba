"""The import pipeline's files: column mapping, Excel, Parquet, TSV, refused files, and each kind of data."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hostile.excel import book_of
from import_util import (
    con_fixture,  # noqa: F401 (the con fixture)
    rows,
    write,
)

from analytics.errors import FileReadError, MappingError
from analytics.ingest.mapping import save_mapping, saved_mappings
from analytics.ingest.pipeline import import_file

# ----------------------------------------------------------------------------- mapping

@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("customer_id,order_date,amount,region,channel,sales_rep", "transactions"),
        ("Customer ID,Invoice Date,Sales,Region,Channel,Salesperson", "transactions"),
        ("客户ID,下单时间,销售额,区域,渠道,业务员", "transactions"),
        ("会员编号,交易日期,成交金额,地区,销售渠道,销售代表", "transactions"),
        ("customer_id,name,region,segment", "customers"),
        ("客户编号,客户名称,大区,客户类型,注册日期,获客成本", "customers"),
        ("客户编号,反馈日期,满意度,量表", "feedback"),
        ("customer id,survey date,rating", "feedback"),
        ("线索编号,创建日期,阶段,来源", "leads"),
        ("lead id,created,stage,source,owner", "leads"),
    ],
)
def test_synonyms_in_both_languages_detect_the_kind(con, tmp_path, header, kind):
    values = {"transactions": "C1,2024-01-05,10,华东,天猫,王五",
              "customers": {4: "C1,张三,华东,重要客户", 6: "C1,某公司,华东,企业,2024-01-01,100"},
              "feedback": {4: "C1,2024-01-05,5,CSAT", 3: "C1,2024-01-05,5"},
              "leads": {4: "L1,2024-01-05,线索,展会", 5: "L1,2024-01-05,线索,展会,王五"}}[kind]
    n = header.count(",") + 1
    row = values if isinstance(values, str) else values[n]
    path = write(tmp_path / "s.csv", f"{header}\n{row}\n")
    report = import_file(con, path, commit=True)
    assert report.kind == kind
    assert report.rows_imported == 1 and report.unmapped_columns == []


def test_headers_with_units_and_odd_spacing_map(con, tmp_path):
    path = write(tmp_path / "u.csv", "Customer_ID,订单 日期,实付金额（元）,Sales Rep\nC1,2024-01-05,10,王五\n")
    report = import_file(con, path)
    assert report.mapping == {"customer_id": "Customer_ID", "order_date": "订单 日期",
                              "amount": "实付金额（元）", "sales_rep": "Sales Rep"}


def test_explicit_mapping_overrides_and_can_be_saved_and_reused(con, tmp_path):
    path = write(tmp_path / "m.csv", "会员,时间,钱,店\nC1,2024-01-05,10,华东店\n")
    with pytest.raises(MappingError, match="cannot tell what kind"):
        import_file(con, path)
    mapping = {"customer_id": "会员", "order_date": "时间", "amount": "钱", "region": "店"}
    report = import_file(con, path, kind="transactions", mapping=mapping, commit=True,
                         save_as="门店系统")
    assert report.rows_imported == 1
    assert saved_mappings(con) == [("门店系统", "transactions", mapping)]
    other = write(tmp_path / "m2.csv", "会员,时间,钱,店\nC2,2024-01-06,20,华北店\n")
    report = import_file(con, other, mapping_name="门店系统", commit=True)
    assert report.kind == "transactions" and report.rows_imported == 1
    assert rows(con, "select region from transactions order by order_date") == [("华东店",), ("华北店",)]


def test_mapping_errors_say_what_is_missing(con, tmp_path):
    path = write(tmp_path / "x.csv", "customer_id,order_date,amount\nC1,2024-01-05,1\n")
    with pytest.raises(MappingError, match="no column 'Amount'"):
        import_file(con, path, mapping={"amount": "Amount"})
    with pytest.raises(MappingError, match="needs the column"):
        import_file(con, path, kind="feedback")
    with pytest.raises(MappingError, match="no saved mapping"):
        import_file(con, path, mapping_name="nope")
    with pytest.raises(MappingError, match="has no column 'price'"):
        import_file(con, path, mapping={"price": "amount"})


def test_save_mapping_replaces_by_name(con):
    from analytics.ingest.mapping import propose_mapping

    save_mapping(con, "erp", propose_mapping(["customer_id", "date", "amount"]))
    save_mapping(con, "erp", propose_mapping(["客户编号", "日期", "金额"]))
    assert saved_mappings(con)[0][2]["customer_id"] == "客户编号"


# ----------------------------------------------------------------------------- Excel, Parquet, TSV, refused files

def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book_of(sheets).save(path)
    return path


def test_excel_sheet_header_row_dates_numbers_and_totals(con, tmp_path):
    path = _workbook(tmp_path / "x.xlsx", {
        "说明": [["本文件为导出数据"]],
        "订单": [["2024年订单明细"], [], ["客户编号", "订单日期", "实付金额", "大区"],
                 ["00123", datetime(2024, 1, 5), 1234.5, "华东"],
                 [456, 45297, 10, "华北"],
                 [None, None, None, None],
                 ["C9", "2024/1/8", "abc", "华南"],
                 ["合计", None, 1244.5, None]],
    })
    report = import_file(con, path)
    assert report.sheet == "订单" and report.sheets == ["说明", "订单"]
    assert report.header_row == 3 and report.file_format == "xlsx"
    assert report.rejects == [{"line": 7, "column": "实付金额", "value": "abc", "reason": "not an amount"}]
    assert report.excluded == [{"line": 6, "reason": "blank line"}, {"line": 8, "reason": "total row"}]
    import_file(con, path, commit=True)
    assert rows(con, "select line, customer_id, order_date, amount from transactions order by line") == [
        (4, "00123", date(2024, 1, 5), Decimal("1234.5")), (5, "456", date(2024, 1, 6), Decimal("10"))]


def test_excel_sheet_and_header_row_can_be_chosen(con, tmp_path):
    path = _workbook(tmp_path / "x.xlsx", {
        "a": [["customer_id", "order_date", "amount"], ["C1", "2024-01-05", 1]],
        "b": [["x"], ["customer_id", "order_date", "amount"], ["C2", "2024-01-05", 2]],
    })
    assert import_file(con, path, sheet="b", header_row=2).rows_valid == 1
    assert import_file(con, path, sheet=2, header_row=2).sheet == "b"
    with pytest.raises(FileReadError, match="no sheet 'c'"):
        import_file(con, path, sheet="c")


def test_parquet(con, tmp_path):
    table = pa.table({"customer_id": ["007", "008"], "order_date": [date(2024, 1, 5), date(2024, 1, 6)],
                      "amount": [Decimal("10.50"), Decimal("-2")], "region": ["华东", None]})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    report = import_file(con, path, commit=True)
    assert report.rows_imported == 2 and report.returns == 1
    assert rows(con, "select line, customer_id, order_date, amount, region from transactions order by line") == [
        (1, "007", date(2024, 1, 5), Decimal("10.5"), "华东"), (2, "008", date(2024, 1, 6), Decimal("-2"), None)]


@pytest.mark.parametrize("name", ["old.xls", "notes.docx", "missing.csv"])
def test_unsupported_or_missing_files_are_refused(con, tmp_path, name):
    path = tmp_path / name
    if name != "missing.csv":
        path.write_bytes(b"x")
    with pytest.raises(FileReadError):
        import_file(con, path)


def test_empty_file_is_refused(con, tmp_path):
    with pytest.raises(FileReadError, match="empty"):
        import_file(con, write(tmp_path / "e.csv", ""))


def test_tsv(con, tmp_path):
    path = write(tmp_path / "t.tsv", "客户编号\t日期\t金额\nC1\t2024-01-05\t1,234.5\n")
    report = import_file(con, path, commit=True)
    assert report.delimiter == "\t" and report.rows_imported == 1


# ----------------------------------------------------------------------------- other kinds

def test_feedback_scales_kinds_and_ranges(con, tmp_path):
    path = write(tmp_path / "f.csv",
                 "客户编号,反馈日期,评分,量表,反馈类型,类别,解决日期\n"
                 "C1,2024-01-05,5,CSAT,问卷,,\n"
                 "C2,2024-01-05,9,NPS,survey,,\n"
                 "C3,2024-01-05,,,投诉,物流配送,2024-01-08\n"
                 "C4,2024-01-05,7,CSAT,问卷,,\n"
                 "C5,2024-01-05,,NPS,survey,,\n"
                 "C6,2024-01-05,3,stars,survey,,\n")
    report = import_file(con, path, commit=True)
    assert report.rows_imported == 3
    assert [(r["line"], r["reason"]) for r in report.rejects] == [
        (5, "score 7.0 is outside the CSAT scale 1-5"),
        (6, "score is empty (required for a survey)"),
        (7, "unknown scale (use CSAT or NPS)"),
    ]
    assert rows(con, "select customer_id, score, scale, feedback_kind, category, resolved_date "
                     "from feedback order by line") == [
        ("C1", 5.0, "csat", "survey", None, None), ("C2", 9.0, "nps", "survey", None, None),
        ("C3", None, None, "complaint", "物流配送", date(2024, 1, 8))]


def test_feedback_without_a_scale_column_infers_and_says_so(con, tmp_path):
    path = write(tmp_path / "f.csv", "customer_id,date,score\nC1,2024-01-05,4\nC2,2024-01-05,5\n")
    report = import_file(con, path, commit=True)
    assert any("CSAT" in n for n in report.notes)
    assert rows(con, "select distinct scale from feedback") == [("csat",)]


def test_leads_and_customers(con, tmp_path):
    leads = write(tmp_path / "l.csv", "线索编号,创建日期,阶段,客户编号,来源,结果\n"
                  "L1,2024-01-05,成交,C1,展会,赢单\nL2,2024-01-06,报价,,官网,\nL3,2024-01-07,流失,,官网,maybe\n")
    report = import_file(con, leads, commit=True)
    assert report.rows_imported == 2
    assert report.rejects[0]["reason"] == "unknown outcome (use won or lost, or leave empty)"
    assert rows(con, "select lead_id, outcome from leads order by line") == [("L1", "won"), ("L2", None)]
    customers = write(tmp_path / "c.csv", "客户编号,客户名称,大区,获客成本\n00001,某某科技,华东,￥1,200\n")
    # ￥1,200 without quotes splits into two cells: a malformed line, rejected with its line
    report = import_file(con, customers)
    assert report.rejects[0]["line"] == 2 and "cells" in report.rejects[0]["reason"]
    customers = write(tmp_path / "c.csv", '客户编号,客户名称,大区,获客成本\n00001,某某科技,华东,"￥1,200"\n')
    assert import_file(con, customers, commit=True).rows_imported == 1
    assert rows(con, "select customer_id, customer_name, region, acquisition_cost from customers") == [
        ("00001", "某某科技", "华东", Decimal("1200"))]
