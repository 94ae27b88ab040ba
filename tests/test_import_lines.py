"""The import pipeline's rows and lines: line numbers, blank and total rows, quoted line breaks, line endings."""

from __future__ import annotations

import csv

import pytest
from import_util import (
    READERS,
    con_fixture,  # noqa: F401 (the con fixture)
    rows,
    write,
)

from analytics.ingest.pipeline import import_file


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


def test_mixed_line_endings_lose_no_row(con, tmp_path):
    path = write(tmp_path / "mixed.csv",
                 "export\ncustomer_id,order_date,amount\r\nC1,2024-01-05,1\r\nC2,2024-01-06,2\nC3,2024-01-07,3\r\n")
    report = import_file(con, path, commit=True)
    assert report.header_row == 2 and report.rows_imported == 3
    assert rows(con, "select line, customer_id from transactions order by line") == [
        (3, "C1"), (4, "C2"), (5, "C3")]


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
