"""Property-based round trips of Excel and Parquet files: rows written to a file come back out
of the database unchanged.

Each example writes generated transaction rows (``import_strategies``) as a workbook (numeric
or text ids; real dates, datetimes, serial numbers or text dates; numeric or formatted
amounts; with or without a title row) or as a Parquet file (date, timestamp or text dates;
decimal, double or text amounts; small row groups), imports it into a fresh database and
checks every value, the line (row) each came from, the reported counts and that a second
import adds nothing (``roundtrip_checks``).
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st
from import_strategies import CANONICAL, DATE_FORMATS, HEADERS, SETTINGS, Row, amount_styles, format_amount, row_lists
from import_util import new_database
from roundtrip_checks import check_committed, check_reimport

from analytics.ingest.pipeline import import_file
from analytics.store.connection import connect

EXCEL_EPOCH = date(1899, 12, 30)


# --------------------------------------------------------------------------- Excel

@st.composite
def excel_cases(draw: st.DrawFn) -> dict[str, Any]:
    with_ids = draw(st.booleans())
    rows = draw(row_lists(True, with_ids))
    columns = list(CANONICAL if with_ids else CANONICAL[:-1])
    n = len(rows)
    return {
        "rows": rows,
        "columns": draw(st.permutations(columns)),
        "language": draw(st.sampled_from(["en", "zh"])),
        "title": draw(st.booleans()),
        "id_as_number": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "date_kind": draw(st.lists(st.sampled_from(["date", "datetime", "serial", *DATE_FORMATS]),
                                   min_size=n, max_size=n)),
        "amount_kind": draw(st.lists(st.one_of(st.just("number"), amount_styles), min_size=n, max_size=n)),
    }


def write_xlsx(path: Path, case: dict[str, Any]) -> list[int]:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "订单"
    if case["title"]:
        sheet.append(["2024年销售明细"])
    sheet.append([HEADERS[case["language"]][c] for c in case["columns"]])
    first = sheet.max_row + 1
    for i, row in enumerate(case["rows"]):
        cid: object = row.customer_id
        if case["id_as_number"][i] and cid.isdigit() and not cid.startswith("0"):
            cid = int(cid)                                  # a numeric cell
        kind = case["date_kind"][i]
        when: object
        if kind == "date":
            when = row.order_date                           # a real Excel date
        elif kind == "datetime":
            when = datetime.combine(row.order_date, datetime.min.time())
        elif kind == "serial":
            when = (row.order_date - EXCEL_EPOCH).days      # a plain number: the serial
        else:
            when = DATE_FORMATS[kind](row.order_date)
        style = case["amount_kind"][i]
        amount: object = float(row.amount) if style == "number" else format_amount(row.amount, style)
        cells = {"customer_id": cid, "order_date": when, "amount": amount, "region": row.region,
                 "channel": row.channel, "transaction_id": row.transaction_id}
        sheet.append([cells[c] for c in case["columns"]])
    book.save(path)
    return list(range(first, first + len(case["rows"])))


@SETTINGS
@given(case=excel_cases())
def test_xlsx_round_trip(empty_database: Path, case: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "orders.xlsx"
        lines = write_xlsx(path, case)
        con = connect(new_database(empty_database, folder / "crm.duckdb"))
        try:
            report = import_file(con, path, commit=True)
            assert (report.file_format, report.encoding, report.sheet) == ("xlsx", None, "订单")
            assert report.header_row == (2 if case["title"] else 1)
            check_committed(con, report, case["rows"], lines)
            check_reimport(con, path, case["rows"])
        finally:
            con.close()


# --------------------------------------------------------------------------- Parquet

@st.composite
def parquet_cases(draw: st.DrawFn) -> dict[str, Any]:
    with_ids = draw(st.booleans())
    rows = draw(row_lists(True, with_ids, max_size=40))
    columns = list(CANONICAL if with_ids else CANONICAL[:-1])
    return {
        "rows": rows,
        "columns": draw(st.permutations(columns)),
        "language": draw(st.sampled_from(["en", "zh"])),
        "date_type": draw(st.sampled_from(["date32", "timestamp", *DATE_FORMATS])),
        "amount_type": draw(st.sampled_from(["decimal", "double", "text"])),
        "amount_style": draw(amount_styles),
        "row_group_size": draw(st.integers(min_value=1, max_value=8)),
    }


def write_parquet(path: Path, case: dict[str, Any]) -> list[int]:
    rows: list[Row] = case["rows"]
    dates = [r.order_date for r in rows]
    if case["date_type"] == "date32":
        date_array = pa.array(dates, pa.date32())
    elif case["date_type"] == "timestamp":
        date_array = pa.array([datetime.combine(d, datetime.min.time()) for d in dates], pa.timestamp("us"))
    else:
        date_array = pa.array([DATE_FORMATS[case["date_type"]](d) for d in dates], pa.string())
    if case["amount_type"] == "decimal":
        amount_array = pa.array([r.amount for r in rows], pa.decimal128(18, 2))
    elif case["amount_type"] == "double":
        amount_array = pa.array([float(r.amount) for r in rows], pa.float64())
    else:
        amount_array = pa.array([format_amount(r.amount, case["amount_style"]) for r in rows], pa.string())
    arrays = {
        "customer_id": pa.array([r.customer_id for r in rows], pa.string()),
        "order_date": date_array,
        "amount": amount_array,
        "region": pa.array([r.region for r in rows], pa.string()),
        "channel": pa.array([r.channel for r in rows], pa.string()),
        "transaction_id": pa.array([r.transaction_id for r in rows], pa.string()),
    }
    table = pa.table({HEADERS[case["language"]][c]: arrays[c] for c in case["columns"]})
    pq.write_table(table, path, row_group_size=case["row_group_size"])
    return list(range(1, len(rows) + 1))


@SETTINGS
@given(case=parquet_cases())
def test_parquet_round_trip(empty_database: Path, case: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "orders.parquet"
        lines = write_parquet(path, case)
        con = connect(new_database(empty_database, folder / "crm.duckdb"))
        try:
            report = import_file(con, path, commit=True)
            assert (report.file_format, report.encoding) == ("parquet", None)
            check_committed(con, report, case["rows"], lines)
            check_reimport(con, path, case["rows"])
        finally:
            con.close()
