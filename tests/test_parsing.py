"""Value parsers of the staging layer (analytics/ingest/sql/macros.sql), form by form."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from analytics.ingest.staging import MACROS_SQL


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(MACROS_SQL.read_text(encoding="utf-8"))
    return con


def _one(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> object:
    return con.execute(sql, list(params)).fetchall()[0][0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-05", date(2024, 1, 5)),
        ("2024-1-5", date(2024, 1, 5)),
        ("2024/1/5", date(2024, 1, 5)),
        ("2024/01/05", date(2024, 1, 5)),
        ("2024.1.5", date(2024, 1, 5)),
        ("2024年1月5日", date(2024, 1, 5)),
        ("2024年01月05日", date(2024, 1, 5)),
        ("20240105", date(2024, 1, 5)),
        ("2024-01-05 13:45:00", date(2024, 1, 5)),
        ("2024-01-05 13:45", date(2024, 1, 5)),
        ("2024/1/5 8:26", date(2024, 1, 5)),
        ("2024-01-05T13:45:00+08:00", date(2024, 1, 5)),
        ("2024-01-05 13:45:00.123", date(2024, 1, 5)),
        ("2024年1月5日 下午3点", date(2024, 1, 5)),
        ("5 Jan 2024", date(2024, 1, 5)),
        ("05-Jan-2024", date(2024, 1, 5)),
        ("Jan 5, 2024", date(2024, 1, 5)),
        ("45296", date(2024, 1, 5)),          # Excel serial number
        ("45296.75", date(2024, 1, 5)),       # serial with a time of day
        ("  2024-01-05\u3000", date(2024, 1, 5)),
        ("2024-02-29", date(2024, 2, 29)),
    ],
)
def test_unambiguous_dates_are_read_in_any_order_setting(con, text, expected):
    for order in (None, "dmy", "mdy"):
        assert _one(con, "select crm_date(?, ?)", text, order) == expected


@pytest.mark.parametrize("text", ["2024-02-30", "2023-02-29", "2024-13-01", "abc", "2024", "12345678",
                                  "1/2", "99999", "2024-01-05x"])
def test_invalid_dates_give_null(con, text):
    assert _one(con, "select crm_date(?, 'dmy')", text) is None


def test_day_month_forms_need_an_order(con):
    assert _one(con, "select crm_date('01/02/2024', null)") is None
    assert _one(con, "select crm_date('01/02/2024', 'dmy')") == date(2024, 2, 1)
    assert _one(con, "select crm_date('01/02/2024', 'mdy')") == date(2024, 1, 2)
    assert _one(con, "select crm_date('25/12/2024', 'mdy')") is None
    assert _one(con, "select crm_date('12/25/2024 8:26', 'mdy')") == date(2024, 12, 25)
    assert _one(con, "select crm_is_dm('3.4.2024')") is True
    assert _one(con, "select crm_is_dm('2024-04-03')") is False
    assert _one(con, "select [crm_dm_first('25/12/2024'), crm_dm_second('25/12/2024')]") == [25, 12]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.5", "1234.5"),
        ("1,234.50", "1234.5"),
        ("12,345,678.90", "12345678.9"),
        ("¥1234", "1234"),
        ("￥1,234", "1234"),
        ("$12", "12"),
        ("12元", "12"),
        ("RMB 12", "12"),
        ("cny12.5", "12.5"),
        ("(12.00)", "-12"),
        ("−12", "-12"),
        ("-3.5", "-3.5"),
        ("+7", "7"),
        ("1.2E+05", "120000"),
        (" 7 ", "7"),
        ("0", "0"),
        ("12.34567", "12.3457"),
    ],
)
def test_amounts(con, text, expected):
    assert _one(con, "select crm_money(?)", text) == Decimal(expected)


@pytest.mark.parametrize("text", ["12,5", "1,23", "abc", "1.2.3", "--5", "nan", "inf", "12 34x"])
def test_unreadable_amounts_give_null(con, text):
    assert _one(con, "select crm_money(?)", text) is None


def test_text_trims_ascii_and_fullwidth_spaces_but_keeps_content(con):
    assert _one(con, "select crm_text(?)", "\u3000 华东 \t") == "华东"
    assert _one(con, "select crm_text(?)", "   ") is None
    assert _one(con, "select crm_text(?)", "00123") == "00123"
