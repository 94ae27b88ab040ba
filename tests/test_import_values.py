"""The import pipeline's reading of values: encodings, dates, amounts, ids and white space."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from import_util import (
    READERS,
    ZH_HEADER,
    ZH_ROWS,
    con_fixture,  # noqa: F401 (the con fixture)
    rows,
    write,
)

from analytics.errors import ConfirmationRequired, EncodingNotDetected
from analytics.ingest.pipeline import import_file

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


def test_a_gbk_file_of_western_names_under_chinese_headers_is_read_as_gbk(con, tmp_path):
    """Chinese headers, and customers called Müller or Zoë on many lines (letters GB2312 lacks
    but GB18030 has): still Chinese GBK, not refused as unknown text."""
    body = "".join(f"O{i},Jürgen Müller,2024-01-05,{i}\n" if i % 2 else f"O{i},Zoë Ångström,2024-01-05,{i}\n"
                   for i in range(1, 200))
    path = write(tmp_path / "t.csv", "订单编号,客户编号,订单日期,销售额\n" + body, "gb18030")
    report = import_file(con, path, commit=True)
    assert (report.encoding, report.rows_imported) == ("gb18030", 199)
    assert rows(con, "select count(*) from transactions where customer_id = 'Jürgen Müller'") == [(100,)]


def test_gbk_bytes_deep_in_a_large_file_are_found_and_the_file_read_as_gbk(con, tmp_path):
    """The first megabyte is plain ASCII; the Chinese (GBK) rows come later."""
    head = "customer_id,order_date,amount,region\n" + "C1,2024-01-05,1,east\n" * 60_000
    path = tmp_path / "late.csv"
    path.write_bytes(head.encode("ascii") + "C2,2024-01-06,2,华东\n".encode("gbk"))
    assert path.stat().st_size > 1 << 20
    report = import_file(con, path, commit=True)
    assert report.encoding == "gb18030" and report.rows_imported == 60_001
    assert rows(con, "select line, region from transactions where customer_id = 'C2'") == [(60_002, "华东")]


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


# ----------------------------------------------------------------------------- amounts, ids, white space

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
