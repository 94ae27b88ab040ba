"""The import pipeline, rule by rule, on small files written by the tests.

Each CSV test runs through both CSV readers (DuckDB's, checked against the file's line
count, and Python's csv module) and expects the same report from each.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics.errors import ConfirmationRequired, EncodingNotDetected, FileReadError, MappingError
from analytics.ingest.identity import hash_expr
from analytics.ingest.mapping import save_mapping, saved_mappings
from analytics.ingest.pipeline import import_file, prepare, undo_import
from analytics.ingest.schema import COLUMNS
from analytics.store import migrations
from analytics.store.connection import connect, data_version
from analytics.store.migrations import schema_version

READERS = [pytest.param(False, id="duckdb-reader"), pytest.param(True, id="python-reader")]


@pytest.fixture
def con(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    yield con
    con.close()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def rows(con, sql: str, *params: object) -> list[tuple]:
    return con.cursor().execute(sql, list(params)).fetchall()


ZH_HEADER = "订单编号,客户编号,订单日期,实付金额,大区,渠道\n"
ZH_ROWS = ("SO1,00123,2024-01-05,100.50,华东,天猫\n"
           "SO2,00124,2024-01-06,200,华北,京东\n"
           "SO3,00123,2024-02-01,50,华东,门店\n")


# ----------------------------------------------------------------------------- encodings

@pytest.mark.parametrize("force_python", READERS)
@pytest.mark.parametrize(("codec", "reported"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                                 ("gbk", "gb18030"), ("gb18030", "gb18030"),
                                                 ("utf-16", "utf-16")])
def test_every_encoding_imports_chinese_text_exactly(con, tmp_path, codec, reported, force_python):
    path = write(tmp_path / "t.csv", ZH_HEADER + ZH_ROWS, codec)
    report = import_file(con, path, commit=True, force_python=force_python)
    assert report.encoding == reported
    assert report.kind == "transactions"
    assert report.rows_imported == 3 and report.rows_rejected == 0
    assert rows(con, "select customer_id, region, channel from transactions order by line") == [
        ("00123", "华东", "天猫"), ("00124", "华北", "京东"), ("00123", "华东", "门店")]


def test_a_file_in_another_encoding_is_refused_with_where_and_what_to_do(con, tmp_path):
    path = write(tmp_path / "latin.csv", "customer_id,date,amount\nC1,2024-01-05,1\nCafé,2024-01-06,2\n",
                 "latin-1")
    with pytest.raises(EncodingNotDetected) as err:
        import_file(con, path)
    message = str(err.value)
    assert "line 3" in message and "0xE9" in message and "encoding" in message
    assert err.value.line == 3
    assert rows(con, "select count(*) from transactions") == [(0,)]
    # told the encoding, it imports with the text intact
    report = import_file(con, path, encoding="latin-1", commit=True)
    assert report.rows_imported == 2
    assert rows(con, "select customer_id from transactions order by line") == [("C1",), ("Café",)]


def test_a_declared_encoding_that_does_not_fit_is_refused(con, tmp_path):
    path = write(tmp_path / "t.csv", ZH_HEADER + ZH_ROWS, "gbk")
    with pytest.raises(EncodingNotDetected, match="not valid utf-8"):
        import_file(con, path, encoding="utf-8")


def test_short_gbk_file_is_not_mistaken_for_another_encoding(con, tmp_path):
    path = write(tmp_path / "t.csv", "客户编号,日期,金额\n张三,2024-01-05,1\n", "gbk")
    report = import_file(con, path, commit=True)
    assert report.encoding == "gb18030"
    assert rows(con, "select customer_id from transactions") == [("张三",)]


# ----------------------------------------------------------------------------- dates

@pytest.mark.parametrize("force_python", READERS)
def test_each_date_form(con, tmp_path, force_python):
    forms = ["2024-01-05", "2024/1/5", "2024年1月5日", "20240105", "2024-01-05 13:45:00",
             "2024/1/5 8:26", "45296"]
    body = "".join(f"C{i},{d},1\n" for i, d in enumerate(forms))
    path = write(tmp_path / "d.csv", "customer_id,order_date,amount\n" + body)
    report = import_file(con, path, commit=True, force_python=force_python)
    assert report.rows_imported == len(forms) and report.rows_rejected == 0
    assert {r[0] for r in rows(con, "select order_date from transactions")} == {date(2024, 1, 5)}


def test_ambiguous_day_month_is_flagged_and_needs_a_decision(con, tmp_path):
    path = write(tmp_path / "d.csv", "customer_id,order_date,amount\nC1,01/02/2024,1\nC2,03/04/2024,1\n")
    report = import_file(con, path)
    assert report.date_readings["order_date"]["reading"] == "mdy"
    assert report.needs_confirmation and "01/02/2024" in report.needs_confirmation[0]
    with pytest.raises(ConfirmationRequired, match="day/month"):
        import_file(con, path, commit=True)
    assert rows(con, "select count(*) from transactions") == [(0,)]
    report = import_file(con, path, commit=True, date_order="dmy")
    assert report.rows_imported == 2
    assert rows(con, "select order_date from transactions order by line") == [
        (date(2024, 2, 1),), (date(2024, 4, 3),)]


@pytest.mark.parametrize(("value", "reading"), [("25/12/2024", "dmy"), ("12/25/2024", "mdy")])
def test_values_that_settle_the_order_are_read_that_way_and_said(con, tmp_path, value, reading):
    path = write(tmp_path / "d.csv", f"customer_id,order_date,amount\nC1,01/02/2024,1\nC2,{value},1\n")
    report = import_file(con, path, commit=True)
    assert report.needs_confirmation == []
    assert report.date_readings["order_date"]["reading"] == reading
    assert value in report.date_readings["order_date"]["why"]
    first = date(2024, 2, 1) if reading == "dmy" else date(2024, 1, 2)
    assert rows(con, "select order_date from transactions order by line") == [
        (first,), (date(2024, 12, 25),)]


def test_a_column_mixing_both_orders_needs_a_decision_and_misfits_are_rejected(con, tmp_path):
    path = write(tmp_path / "d.csv",
                 "customer_id,order_date,amount\nC1,25/12/2024,1\nC2,12/25/2024,1\nC3,01/02/2024,1\n")
    assert import_file(con, path).needs_confirmation
    report = import_file(con, path, commit=True, date_order="dmy")
    assert report.rows_imported == 2
    assert report.rejects == [{"line": 3, "column": "order_date", "value": "12/25/2024",
                               "reason": "not a date in the chosen day/month order"}]


def test_bad_dates_are_rejected_with_line_column_value_and_reason(con, tmp_path):
    path = write(tmp_path / "d.csv",
                 "customer_id,order_date,amount\nC1,2024-02-30,1\nC2,1850-01-01,1\nC3,yesterday,1\n")
    report = import_file(con, path)
    assert [(r["line"], r["column"], r["value"], r["reason"]) for r in report.rejects] == [
        (2, "order_date", "2024-02-30", "not a date"),
        (3, "order_date", "1850-01-01", "date out of range (1900-2100)"),
        (4, "order_date", "yesterday", "not a date"),
    ]


# ----------------------------------------------------------------------------- amounts, ids

@pytest.mark.parametrize("force_python", READERS)
def test_amounts_returns_and_zeros(con, tmp_path, force_python):
    path = write(tmp_path / "a.csv",
                 'customer_id,order_date,amount\n'
                 'C1,2024-01-05,"1,234.50"\nC2,2024-01-05,¥88\nC3,2024-01-05,￥1\nC4,2024-01-05,$2\n'
                 'C5,2024-01-05,12元\nC6,2024-01-05,-30\nC7,2024-01-05,(5.00)\nC8,2024-01-05,0\n'
                 'C9,2024-01-05,"12,5"\n')
    report = import_file(con, path, commit=True, force_python=force_python)
    assert report.rows_imported == 8
    assert report.returns == 2 and report.zero_amounts == 1
    assert report.rejects == [{"line": 10, "column": "amount", "value": "12,5", "reason": "not an amount"}]
    got = rows(con, "select customer_id, amount, is_return from transactions order by line")
    assert got == [("C1", Decimal("1234.5"), False), ("C2", Decimal("88"), False),
                   ("C3", Decimal("1"), False), ("C4", Decimal("2"), False),
                   ("C5", Decimal("12"), False), ("C6", Decimal("-30"), True),
                   ("C7", Decimal("-5"), True), ("C8", Decimal("0"), False)]


@pytest.mark.parametrize("force_python", READERS)
def test_ids_stay_text(con, tmp_path, force_python):
    path = write(tmp_path / "i.csv", "客户编号,日期,金额\n00123,2024-01-05,1\n0,2024-01-05,1\n"
                 "1e5,2024-01-05,1\n 007 ,2024-01-05,1\n")
    import_file(con, path, commit=True, force_python=force_python)
    assert [r[0] for r in rows(con, "select customer_id from transactions order by line")] == [
        "00123", "0", "1e5", "007"]


# ----------------------------------------------------------------------------- rows and lines

@pytest.mark.parametrize("force_python", READERS)
def test_rejects_have_the_line_a_person_finds_them_on(con, tmp_path, force_python):
    text = ("销售明细 2024年1月\r\n"                     # 1 title line above the header
            "\r\n"                                       # 2 blank
            "客户编号,订单日期,实付金额,备注\r\n"        # 3 header
            "C1,2024-01-05,10,ok\r\n"                    # 4
            "\r\n"                                       # 5 blank
            "   \r\n"                                    # 6 spaces only
            ",2024-01-05,10,no customer\r\n"             # 7 reject: customer_id empty
            "C3,2024-01-05\r\n"                          # 8 reject: too few cells
            "C4,2024-01-05,10,ok,extra\r\n"              # 9 reject: too many cells
            "C5,not-a-date,x,bad\r\n"                    # 10 reject: date and amount
            "C6,2024-01-06,20,ok\r\n")                   # 11
    path = write(tmp_path / "l.csv", text)
    report = import_file(con, path, force_python=force_python)
    assert report.header_row == 3
    assert report.rows_read == 8
    assert (report.rows_valid, report.rows_rejected, report.rows_excluded) == (2, 4, 2)
    assert [(r["line"], r["column"], r["reason"]) for r in report.rejects] == [
        (7, "客户编号", "customer_id is empty"),
        (8, None, "expected 4 cells, found 2"),
        (9, None, "expected 4 cells, found 5"),
        (10, "实付金额", "not an amount"),
        (10, "订单日期", "not a date"),
    ]
    assert report.excluded == [{"line": 5, "reason": "blank line"}, {"line": 6, "reason": "blank line"}]
    import_file(con, path, commit=True, force_python=force_python)
    assert rows(con, "select line, customer_id from transactions order by line") == [(4, "C1"), (11, "C6")]
    stored = rows(con, "select line, column_name, value, reason from import_rejects order by line, column_name")
    assert [s[0] for s in stored] == [7, 8, 9, 10, 10]


def test_quoted_line_breaks_keep_line_numbers_exact(con, tmp_path):
    path = tmp_path / "q.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["customer_id", "order_date", "amount", "product"])
        out.writerow(["C1", "2024-01-05", "1", "line one\nline two"])   # lines 2-3
        out.writerow(["C2", "2024-01-05", "x", 'say "hi"'])             # line 4
        out.writerow(["C3", "2024-01-05", "3", "a,b"])                  # line 5
    report = import_file(con, path, commit=True)
    assert report.rejects[0]["line"] == 4
    assert rows(con, "select line, product from transactions order by line") == [
        (2, "line one\nline two"), (5, "a,b")]


@pytest.mark.parametrize("force_python", READERS)
def test_total_rows_and_blank_rows_are_excluded_and_reported(con, tmp_path, force_python):
    path = write(tmp_path / "t.csv",
                 "客户编号,订单日期,实付金额\nC1,2024-01-05,10\n,,\nC2,2024-01-05,20\n"
                 "小计,,30\n合计：,,30\nTotal,,30\nGRAND TOTAL:,,30\nsum,,30\n总计,,30\n")
    report = import_file(con, path, force_python=force_python)
    assert report.rows_valid == 2 and report.rows_rejected == 0
    assert report.excluded == [{"line": 3, "reason": "blank row"}] + [
        {"line": n, "reason": "total row"} for n in range(5, 11)]


def test_a_customer_called_total_is_not_a_total_row(con, tmp_path):
    path = write(tmp_path / "t.csv", "customer_id,order_date,amount,product\nC1,2024-01-05,1,Total\n")
    assert import_file(con, path).rows_valid == 1


# ----------------------------------------------------------------------------- duplicates, conflicts

def test_same_key_same_values_is_imported_once_and_different_values_are_listed(con, tmp_path):
    path = write(tmp_path / "k.csv",
                 "transaction_id,customer_id,order_date,amount\n"
                 "T1,C1,2024-01-05,10\nT2,C2,2024-01-05,20\nT1,C1,2024-01-05,10\nT2,C2,2024-01-05,25\n")
    report = import_file(con, path, commit=True)
    assert (report.rows_valid, report.rows_duplicate, report.rows_conflicting, report.rows_imported) == (
        4, 1, 1, 2)
    assert report.conflicts == [{"line": 5, "key": "T2", "other": "line 3 of this file",
                                 "kept": "the other row"}]
    assert rows(con, "select transaction_id, amount from transactions order by line") == [
        ("T1", Decimal("10")), ("T2", Decimal("20"))]


def test_a_row_that_changed_since_an_earlier_import_is_a_conflict_not_a_silent_overwrite(con, tmp_path):
    first = write(tmp_path / "a.csv", "transaction_id,customer_id,order_date,amount\nT1,C1,2024-01-05,10\n")
    import_file(con, first, commit=True)
    second = write(tmp_path / "b.csv",
                   "transaction_id,customer_id,order_date,amount\nT1,C1,2024-01-05,99\nT2,C1,2024-01-06,5\n")
    report = import_file(con, second, commit=True)
    assert report.rows_imported == 1 and report.rows_conflicting == 1
    assert report.conflicts[0]["other"] == "import #1, line 2"
    assert rows(con, "select transaction_id, amount from transactions order by transaction_id") == [
        ("T1", Decimal("10")), ("T2", Decimal("5"))]


def test_identical_rows_without_an_id_stay_separate_purchases(con, tmp_path):
    path = write(tmp_path / "n.csv", "customer_id,order_date,amount\nC1,2024-01-05,10\nC1,2024-01-05,10\n")
    report = import_file(con, path, commit=True)
    assert report.rows_imported == 2 and report.identical_rows == 1
    assert any("separate" in n for n in report.notes)


@pytest.mark.parametrize("force_python", READERS)
def test_reimport_adds_nothing_and_says_so(con, tmp_path, force_python):
    path = write(tmp_path / "t.csv", ZH_HEADER + ZH_ROWS)
    import_file(con, path, commit=True, force_python=force_python)
    version = data_version(con)
    again = import_file(con, path, commit=True, force_python=force_python)
    assert again.status == "nothing new" and again.rows_imported == 0
    assert again.rows_already_present == 3
    assert again.already_imported_as == [1]
    assert rows(con, "select count(*) from transactions") == [(3,)]
    assert data_version(con) == version  # recorded in the ledger; the data did not change
    assert rows(con, "select count(*), sum(rows_imported) from imports") == [(2, 3)]


def test_same_rows_resaved_in_another_form_add_nothing(con, tmp_path):
    """Re-saved by Excel: other encoding, other header language, other column order and formats."""
    path = write(tmp_path / "a.csv", "customer_id,order_date,amount,region\n"
                 "C1,2024-01-05,10,华东\nC1,2024-01-05,10,华东\nC2,2024-01-06,20.5,华北\n")
    import_file(con, path, commit=True)
    resaved = write(tmp_path / "b.csv", "大区,实付金额,订单日期,客户编号\n"
                    "华北,20.50,2024/1/6,C2\n华东,￥10.00,2024年1月5日,C1\n华东,10,20240105,C1\n"
                    "华东,10,20240105,C1\n", "gbk")
    report = import_file(con, resaved, commit=True)
    assert report.rows_already_present == 3
    assert report.rows_imported == 1  # the third identical C1 purchase is new
    assert rows(con, "select count(*) from transactions") == [(4,)]


def test_undo_removes_exactly_that_imports_rows(con, tmp_path):
    a = write(tmp_path / "a.csv", "customer_id,order_date,amount\nC1,2024-01-05,10\nC2,2024-01-05,20\n")
    b = write(tmp_path / "b.csv", "customer_id,order_date,amount\nC2,2024-01-05,20\nC3,2024-01-07,30\n")
    first = import_file(con, a, commit=True)
    second = import_file(con, b, commit=True)
    assert second.rows_imported == 1
    assert undo_import(con, second.import_id) == 1
    assert rows(con, "select customer_id from transactions order by customer_id") == [("C1",), ("C2",)]
    assert rows(con, "select status from imports order by import_id") == [("committed",), ("undone",)]
    assert rows(con, "select count(*) from customer_summary") == [(2,)]
    undo_import(con, first.import_id)
    assert rows(con, "select count(*) from transactions") == [(0,)]
    # the file imports again after undo
    assert import_file(con, a, commit=True).rows_imported == 2


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


# ----------------------------------------------------------------------------- Excel, Parquet

def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, data in sheets.items():
        ws = book.create_sheet(name)
        for row in data:
            ws.append(row)
    book.save(path)
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


def test_prepare_writes_nothing(con, tmp_path):
    path = write(tmp_path / "t.csv", ZH_HEADER + ZH_ROWS)
    version = data_version(con)
    prepared = prepare(con, path)
    assert prepared.report.rows_to_import == 3
    prepared.close()
    assert data_version(con) == version
    assert rows(con, "select count(*) from transactions union all select count(*) from imports") == [
        (0,), (0,)]


def test_gbk_bytes_deep_in_a_large_file_are_found_and_the_file_read_as_gbk(con, tmp_path):
    """The first megabyte is plain ASCII; the Chinese (GBK) rows come later."""
    head = "customer_id,order_date,amount,region\n" + "C1,2024-01-05,1,east\n" * 60_000
    path = tmp_path / "late.csv"
    path.write_bytes(head.encode("ascii") + "C2,2024-01-06,2,华东\n".encode("gbk"))
    assert path.stat().st_size > 1 << 20
    report = import_file(con, path, commit=True)
    assert report.encoding == "gb18030" and report.rows_imported == 60_001
    assert rows(con, "select line, region from transactions where customer_id = 'C2'") == [(60_002, "华东")]


def test_mixed_line_endings_lose_no_row(con, tmp_path):
    path = write(tmp_path / "mixed.csv",
                 "export\ncustomer_id,order_date,amount\r\nC1,2024-01-05,1\r\nC2,2024-01-06,2\nC3,2024-01-07,3\r\n")
    report = import_file(con, path, commit=True)
    assert report.header_row == 2 and report.rows_imported == 3
    assert rows(con, "select line, customer_id from transactions order by line") == [
        (3, "C1"), (4, "C2"), (5, "C3")]


@pytest.mark.parametrize("force_python", READERS)
def test_white_space_around_values_is_trimmed_and_blank_cells_are_empty(con, tmp_path, force_python):
    path = write(tmp_path / "w.csv",
                 "customer_id,order_date,amount,region\n"
                 " C1 , 2024-01-05 ,\u3000100\u3000,\u3000华东 \n"
                 "C2,\t2024/1/6\t,\t7\t,华北\t\n"
                 "C3,   ,5,华南\n"
                 "C4,2024-01-07,\u3000,华南\n")
    report = import_file(con, path, commit=True, force_python=force_python)
    assert [(r["line"], r["reason"]) for r in report.rejects] == [(4, "order_date is empty"),
                                                                  (5, "amount is empty")]
    assert rows(con, "select customer_id, order_date, amount, region from transactions order by line") == [
        ("C1", date(2024, 1, 5), Decimal("100"), "华东"), ("C2", date(2024, 1, 6), Decimal("7"), "华北")]


def test_a_committed_import_reports_even_when_the_checks_cannot_run(con, tmp_path, monkeypatch):
    import duckdb

    from analytics.store import audits

    def broken(_con):
        raise duckdb.CatalogException("no such table")

    monkeypatch.setattr(audits, "run_checks", broken)
    path = write(tmp_path / "t.csv", ZH_HEADER + ZH_ROWS)
    report = import_file(con, path, commit=True, save_as="erp")
    assert report.status == "committed" and report.import_id == 1
    assert any("could not run" in n for n in report.notes)
    assert rows(con, "select count(*) from transactions") == [(3,)]
    assert saved_mappings(con)[0][0] == "erp"


def test_staging_plan_keeps_file_order_and_the_guard_catches_a_join(con, tmp_path, monkeypatch):
    """Line numbers come from the staged table's row order, which a join could break; the
    staging query has none, and if one ever appears the rows are numbered explicitly."""
    import duckdb

    from analytics.ingest import pipeline, staging

    probe = duckdb.connect()
    assert staging._plan_has_join(probe, "select * from range(10) t(i) where i in (1, 2, 3, 4, 5, 6)")
    assert not staging._plan_has_join(probe, "select i from range(10) t(i) where i < 3")
    used = []
    real = staging.parse

    def spy(cur, raw, mapping, stage_db, numbered=False):
        used.append(numbered)
        return real(cur, raw, mapping, stage_db, numbered)

    # prepare calls the name in the pipeline; the guard's second call, the name in staging
    monkeypatch.setattr(pipeline, "parse", spy)
    monkeypatch.setattr(staging, "parse", spy)
    path = write(tmp_path / "t.csv", "customer_id,order_date,amount\n" + "".join(
        f"C{i},2024-01-05,{'x' if i == 7 else i}\n" for i in range(10)))
    assert import_file(con, path).rejects[0]["line"] == 9
    assert used == [False]  # the normal path: no join, no numbering needed
    used.clear()
    monkeypatch.setattr(staging, "_plan_has_join", lambda cur, query: True)
    assert import_file(con, path).rejects[0]["line"] == 9
    assert used == [False, True]  # the guard switched to explicit numbering


def test_rows_with_an_empty_id_in_a_file_with_ids_are_keyed_by_content(con, tmp_path):
    """An id column with some empty cells: those rows are told apart by their content."""
    path = write(tmp_path / "ids.csv", "transaction_id,customer_id,order_date,amount\n"
                 "T1,C1,2024-01-05,10\n"
                 ",C2,2024-01-06,20\n"
                 ",C3,2024-01-07,30\n"
                 ",C3,2024-01-07,30\n")
    report = import_file(con, path, commit=True)
    assert (report.rows_imported, report.rows_conflicting, report.rows_duplicate) == (4, 0, 0)
    assert report.identical_rows == 1  # the second ",C3,2024-01-07,30" line: kept as its own record
    again = import_file(con, path, commit=True)
    assert (again.rows_imported, again.rows_already_present) == (0, 4)
    assert rows(con, "select count(*) from transactions") == [(4,)]


@pytest.mark.parametrize(("ids", "monotonic"), [
    (["A1", "A2", "A3", "A4"], True),  # rising: proved unique in one streaming pass, nothing grouped
    (["A4", "A3", "A2", "A1"], True),  # falling: likewise
    (["A2", "A1", "A4", "A3"], False),  # neither: the ids are grouped
    (["A1", "A2", "A2", "A3"], False),  # rising but for an order of two lines
    (["A1", "A2", "A3", "A1"], False),  # rising until an id comes back
    (["A3", "A2", "A2", "A1"], False),  # falling, with an order of two lines
    (["A1", "", "A1", "A2"], False),  # a row without an id between two lines of one order
])
def test_an_order_starts_on_its_first_line_whatever_the_order_of_ids(con, tmp_path, monkeypatch, ids, monotonic):
    """is_order_start marks the first line of each transaction id in the file (rows without
    an id are orders of their own), and a rejected or total row does not count."""
    from analytics.ingest import identity

    found = []
    real = identity._ids_monotonic
    monkeypatch.setattr(identity, "_ids_monotonic", lambda *a: found.append(real(*a)) or found[-1])
    lines = [f"{tid},C1,2024-01-0{i + 1},10,P{i}\n" for i, tid in enumerate(ids)]
    lines.insert(2, "A9,C1,not a date,10,P9\n")  # rejected: never an order start, its id ignored
    lines.append("合计,,,40,\n")  # a total row
    path = write(tmp_path / "o.csv", "transaction_id,customer_id,order_date,amount,product\n" + "".join(lines))
    report = import_file(con, path, commit=True)
    assert (report.rows_imported, report.rows_rejected, report.rows_excluded) == (4, 1, 1)
    seen: set[str] = set()
    expected = []
    for tid in ids:
        expected.append((tid or None, tid == "" or tid not in seen))
        seen.add(tid)
    assert rows(con, "select transaction_id, is_order_start from transactions order by line") == expected
    assert rows(con, "select sum(orders) from customer_month") == [(len({t for t in ids if t}) + ids.count(""),)]
    assert found == [monotonic]


def test_rows_stored_under_md5_keys_keep_their_identity_after_the_upgrade(tmp_path, monkeypatch):
    """Schema 1 stored md5 of the natural key as every keyed row's row_key; schema 2 compares
    natural keys as they are (row_key NULL). Rows written under schema 1, as that release
    wrote them, are still present on re-import, conflict with changed rows, and undo."""
    first_only = tmp_path / "migrations"
    first_only.mkdir()
    version, initial = migrations.migrations()[0]
    (first_only / initial.name).write_text(initial.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", first_only)
    path = tmp_path / "crm.duckdb"
    con = connect(path)
    assert schema_version(con) == version == 1
    cur = con.cursor()
    cur.execute("insert into imports (import_id, kind, file_name, content_hash, imported_by, imported_at, "
                "rows_imported, status) values (nextval('import_id_seq'), 'transactions', 'old.csv', "
                "'-', 'test', now(), 3, 'committed')")
    cur.execute(
        "insert into transactions (row_key, import_id, line, transaction_id, customer_id, order_date, "
        "amount, product, is_return, is_order_start) values "
        "(md5_number(concat_ws(chr(31), 'transactions', 'T1', 'P1')), 1, 2, 'T1', 'C1', '2024-01-05', 10, "
        "'P1', false, true), "
        "(md5_number(concat_ws(chr(31), 'transactions', 'T1', 'P2')), 1, 3, 'T1', 'C1', '2024-01-05', 12, "
        "'P2', false, false), "
        "(0, 1, 4, null, 'C2', '2024-01-06', 20, null, false, true)")
    # the key-less row's content key, as schema 1 computed it (unchanged since)
    cur.execute(f"update transactions set row_key = {hash_expr(COLUMNS['transactions'])} "
                "where transaction_id is null")
    con.close()
    monkeypatch.undo()

    con = connect(path)
    try:
        assert schema_version(con) == migrations.SCHEMA_VERSION >= 2
        header = "transaction_id,customer_id,order_date,amount,product\n"
        same = write(tmp_path / "same.csv", header + "T1,C1,2024-01-05,10,P1\nT1,C1,2024-01-05,12,P2\n"
                     ",C2,2024-01-06,20,\n")
        again = import_file(con, same, commit=True)
        assert (again.rows_imported, again.rows_already_present, again.status) == (0, 3, "nothing new")
        changed = write(tmp_path / "changed.csv", header + "T1,C1,2024-01-05,99,P2\nT2,C1,2024-01-07,5,P1\n")
        report = import_file(con, changed, commit=True)
        assert (report.rows_imported, report.rows_conflicting) == (1, 1)
        assert report.conflicts == [{"line": 2, "key": "T1 / P2", "other": "import #1, line 3",
                                     "kept": "the other row"}]
        assert undo_import(con, 1) == 3
        assert import_file(con, same, commit=True).rows_imported == 3
        assert rows(con, "select transaction_id, row_key is null from transactions order by import_id, line") == [
            ("T2", True), ("T1", True), ("T1", True), (None, False)]
    finally:
        con.close()


def test_staging_memory_is_released_after_preview_commit_and_failure(con, tmp_path):
    """Staged rows live in an in-memory database attached to the whole instance: every way
    out of an import (preview, commit, a refused file) detaches it."""
    def attached():
        return rows(con, "select database_name from duckdb_databases() where database_name like 'stage_%'")

    path = write(tmp_path / "t.csv", ZH_HEADER + ZH_ROWS)
    import_file(con, path)
    import_file(con, path, commit=True)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"customer_id,amount\n\xff\xfe\x00garbage\x81\n")
    with pytest.raises(EncodingNotDetected):
        import_file(con, bad, kind="transactions")
    assert attached() == []
