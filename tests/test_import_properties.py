"""Property-based round trips: rows written to a file come back out of the database unchanged.

Each test generates transaction rows, writes them the way a person's tool would (CSV/TSV in
several encodings, delimiters, header languages and line endings; Excel; Parquet), imports
them into a fresh database and checks every value, the line each row came from, the
reported counts, that a second import adds nothing and that both CSV readers agree.
"""

from __future__ import annotations

import csv
import string
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analytics.ingest.pipeline import import_file, prepare
from analytics.ingest.report import ImportReport
from analytics.ingest.schema import TOTAL_WORDS
from analytics.store.connection import connect, data_version

# Common Chinese characters (all in GB2312, so a GB18030 file of them reads as Chinese).
ZH = "华东南北西中部线上下门店直营电商天猫京东客户北京上海深圳广州杭州成都甲乙丙丁零售批发会员新老区渠道"
CANONICAL = ("customer_id", "order_date", "amount", "region", "channel", "transaction_id")
HEADERS = {
    "en": {"customer_id": "Customer ID", "order_date": "Order Date", "amount": "Amount",
           "region": "Region", "channel": "Channel", "transaction_id": "Order ID"},
    "zh": {"customer_id": "客户编号", "order_date": "订单日期", "amount": "实付金额",
           "region": "大区", "channel": "渠道", "transaction_id": "订单编号"},
}
DATE_FORMATS = {
    "iso": lambda d: d.isoformat(),
    "slash": lambda d: f"{d.year}/{d.month}/{d.day}",
    "chinese": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "compact": lambda d: d.strftime("%Y%m%d"),
}
EXCEL_EPOCH = date(1899, 12, 30)
# Every example imports into a new database file (~0.1 s per import): kept modest so the
# whole file runs in about half a minute.
SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------- strategies

def _not_total(text: str) -> bool:
    return text.lower().rstrip(":：") not in TOTAL_WORDS


customer_ids = st.one_of(
    st.from_regex(r"0{1,3}[0-9]{1,6}", fullmatch=True),            # 00123: zeros must stay
    st.from_regex(r"[1-9][0-9]{0,8}", fullmatch=True),
    st.text(ZH + string.ascii_letters + string.digits + "-_", min_size=1, max_size=10).filter(_not_total),
)
order_dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))
amounts = st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"),
                      places=2, allow_nan=False, allow_infinity=False)
# (thousands separators, currency prefix, sign written after the prefix)
amount_styles = st.tuples(st.booleans(), st.sampled_from(["", "¥", "￥"]), st.booleans())
TEXT_SPECIALS = ['"', '","', 'a"b', "x, y", "合计", "Total", "小计：", "华东, 上海"]


def texts(multiline: bool) -> st.SearchStrategy[str | None]:
    """Region/channel text as stored: trimmed, never empty (an empty cell is None)."""
    alphabet = ZH + string.ascii_letters + string.digits + " ,\"'-&()#" + ("\n" if multiline else "")
    free = st.text(alphabet, min_size=1, max_size=12).map(lambda s: s.strip(" \n")).filter(bool)
    return st.one_of(st.none(), st.sampled_from(TEXT_SPECIALS), free)


def format_amount(value: Decimal, style: tuple[bool, str, bool]) -> str:
    separators, prefix, sign_after_prefix = style
    sign = "-" if value < 0 else ""
    body = f"{abs(value):,.2f}" if separators else f"{abs(value):.2f}"
    return f"{prefix}{sign}{body}" if sign_after_prefix else f"{sign}{prefix}{body}"


@dataclass
class Row:
    customer_id: str
    order_date: date
    amount: Decimal
    region: str | None
    channel: str | None
    transaction_id: str | None


@st.composite
def row_lists(draw: st.DrawFn, multiline: bool, with_ids: bool, max_size: int = 25) -> list[Row]:
    n = draw(st.integers(min_value=1, max_value=max_size))
    tx_ids: list[str | None] = [None] * n
    if with_ids:
        tx_ids = draw(st.lists(st.from_regex(r"(SO|订单|0)[0-9]{1,8}", fullmatch=True),
                               min_size=n, max_size=n, unique=True))
    rows = [Row(draw(customer_ids), draw(order_dates), draw(amounts), draw(texts(multiline)),
                draw(texts(multiline)), tx_ids[i]) for i in range(n)]
    if not with_ids:
        # Identical purchases in one file (without an id column) stay separate records.
        for i in draw(st.lists(st.integers(min_value=0, max_value=n - 1), max_size=3)):
            rows.insert(draw(st.integers(min_value=0, max_value=len(rows))), rows[i])
    return rows


def expected_rows(rows: list[Row], lines: list[int]) -> list[tuple[Any, ...]]:
    return [(line, r.customer_id, r.order_date, r.amount, r.region, r.channel, r.transaction_id,
             r.amount < 0) for line, r in zip(lines, rows, strict=True)]


def stored_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    rows = con.execute(
        "select line, customer_id, order_date, amount, region, channel, transaction_id, is_return "
        "from transactions order by line").fetchall()
    for row in rows:  # the amount is exactly what was written, to the cent
        assert row[3] == row[3].quantize(Decimal("0.01")), row
    return rows


def check_committed(con: duckdb.DuckDBPyConnection, report: ImportReport, rows: list[Row],
                    lines: list[int]) -> None:
    assert report.rejects == []
    assert report.excluded == []
    assert (report.rows_read, report.rows_valid, report.rows_rejected, report.rows_excluded) == (
        len(rows), len(rows), 0, 0)
    assert (report.rows_duplicate, report.rows_conflicting, report.rows_already_present) == (0, 0, 0)
    assert (report.rows_to_import, report.rows_imported, report.status) == (len(rows), len(rows), "committed")
    assert report.kind == "transactions"
    distinct = len({(r.customer_id, r.order_date, r.amount, r.region, r.channel) for r in rows})
    if rows[0].transaction_id is None:
        assert report.identical_rows == len(rows) - distinct
    assert stored_rows(con) == expected_rows(rows, lines)


def check_reimport(con: duckdb.DuckDBPyConnection, path: Path, rows: list[Row], **options: Any) -> None:
    before, version = stored_rows(con), data_version(con)
    again = import_file(con, path, commit=True, **options)
    assert data_version(con) == version      # nothing changed, cached pages stay valid
    assert again.status == "nothing new"
    assert (again.rows_imported, again.rows_already_present, again.rows_rejected) == (0, len(rows), 0)
    assert again.already_imported_as == [1]
    assert stored_rows(con) == before


# --------------------------------------------------------------------------- CSV / TSV

@dataclass
class CsvFile:
    path: Path
    encoding: str
    expected_encoding: str
    lines: list[int]   # the physical line each record starts on


def write_csv(folder: Path, rows: list[Row], *, columns: list[str], language: str, encoding: str,
              delimiter: str, newline: str, quoting: int, title: bool,
              amount_style: list[tuple[bool, str, bool]], date_format: str) -> CsvFile:
    suffix = ".csv" if delimiter == "," else ".tsv"
    path = folder / f"orders{suffix}"
    show_date = DATE_FORMATS[date_format]
    records = [[HEADERS[language][c] for c in columns]]
    for row, style in zip(rows, amount_style, strict=True):
        cells = {"customer_id": row.customer_id, "order_date": show_date(row.order_date),
                 "amount": format_amount(row.amount, style), "region": row.region or "",
                 "channel": row.channel or "", "transaction_id": row.transaction_id or ""}
        records.append([cells[c] for c in columns])
    # Physical line numbers, counted from the cells themselves: a record spans one line
    # plus one for every line break inside its cells.
    line = 1
    if title:
        line += 1
    lines = []
    for record in records:
        lines.append(line)
        line += 1 + sum(cell.count("\n") for cell in record)
    with path.open("w", encoding=encoding, newline="") as fh:
        if title:
            fh.write("销售明细 2024" + newline)
        csv.writer(fh, delimiter=delimiter, lineterminator=newline, quoting=quoting).writerows(records)
    data = path.read_bytes()
    if encoding == "gb18030":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            expected = "gb18030"
        else:
            # Pure ASCII is UTF-8 too; GB18030 bytes that happen to be valid UTF-8 are
            # ambiguous by nature: not a case for this property.
            assume(data.isascii())
            expected = "utf-8"
    else:
        expected = encoding
    return CsvFile(path, encoding, expected, lines[1:])


@st.composite
def csv_cases(draw: st.DrawFn) -> dict[str, Any]:
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    multiline = draw(st.booleans())
    with_ids = draw(st.booleans())
    rows = draw(row_lists(multiline, with_ids))
    columns = list(CANONICAL if with_ids else CANONICAL[:-1])
    # A GB18030 file where ¥ (U+00A5, outside GB2312) is a large share of the non-ASCII text
    # is not recognised: see test_gb18030_file_with_yen_signs_is_detected (a known bug).
    prefixes = ["", "￥"] if encoding == "gb18030" else ["", "¥", "￥"]
    styles = draw(st.lists(st.tuples(st.booleans(), st.sampled_from(prefixes), st.booleans()),
                           min_size=len(rows), max_size=len(rows)))
    return {
        "rows": rows,
        "columns": draw(st.permutations(columns)),
        "language": draw(st.sampled_from(["en", "zh"])),
        "encoding": encoding,
        "delimiter": draw(st.sampled_from([",", "\t"])),
        "newline": draw(st.sampled_from(["\n", "\r\n"])),
        "quoting": draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
        "title": draw(st.booleans()),
        "amount_style": styles,
        "date_format": draw(st.sampled_from(sorted(DATE_FORMATS))),
    }


def _counts(report: ImportReport) -> dict[str, Any]:
    data = report.to_dict()
    return {k: v for k, v in data.items() if k not in ("import_id", "data_version", "checks")}


@settings(SETTINGS, max_examples=20)
@given(case=csv_cases())
def test_csv_round_trip(case: dict[str, Any]) -> None:
    options = dict(case)
    rows = options.pop("rows")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        written = write_csv(folder, rows, **options)
        con = connect(folder / "crm.duckdb")
        try:
            # Both readers are really compared: without line breaks inside cells the default
            # path is DuckDB's reader (with them it must fall back to Python's).
            prepared = prepare(con, written.path)
            try:
                multiline = any("\n" in (v or "") for r in rows for v in (r.region, r.channel))
                assert prepared.raw.reader == ("python" if multiline else "duckdb")
            finally:
                prepared.close()

            report = import_file(con, written.path, commit=True, imported_by="prop")
            assert report.encoding == written.expected_encoding
            assert report.delimiter == case["delimiter"]
            assert report.header_row == (2 if case["title"] else 1)
            check_committed(con, report, rows, written.lines)
            check_reimport(con, written.path, rows)
            committed_default = con.execute("select * exclude (import_id) from transactions "
                                            "order by line").fetchall()
        finally:
            con.close()

        # Python's csv module path, into another fresh database: the same rows, the same keys.
        con = connect(folder / "crm_python.duckdb")
        try:
            report_python = import_file(con, written.path, commit=True, force_python=True)
            assert _counts(report_python) == _counts(report)
            assert con.execute("select * exclude (import_id) from transactions "
                               "order by line").fetchall() == committed_default
        finally:
            con.close()


def test_csv_example_with_every_hard_thing(db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """One fixed case of the property, so a regression shows up even without hypothesis."""
    rows = [Row("00123", date(2024, 1, 5), Decimal("1234.50"), "华东, \"上海\"", "线上\n天猫", "SO001"),
            Row("客户A", date(2000, 1, 1), Decimal("-0.01"), None, "合计", "SO002"),
            Row("007", date(2030, 12, 31), Decimal("-1234567.89"), "x", None, "0003")]
    written = write_csv(tmp_path, rows, columns=["amount", "customer_id", "transaction_id", "order_date",
                                                 "region", "channel"],
                        language="zh", encoding="gb18030", delimiter=",", newline="\r\n",
                        quoting=csv.QUOTE_MINIMAL, title=True,
                        amount_style=[(True, "￥", False), (False, "", True), (True, "￥", True)],
                        date_format="chinese")
    assert written.lines == [3, 5, 6]
    report = import_file(db, written.path, commit=True)
    assert report.encoding == "gb18030"
    check_committed(db, report, rows, written.lines)


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
def test_xlsx_round_trip(case: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "orders.xlsx"
        lines = write_xlsx(path, case)
        con = connect(folder / "crm.duckdb")
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
def test_parquet_round_trip(case: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "orders.parquet"
        lines = write_parquet(path, case)
        con = connect(folder / "crm.duckdb")
        try:
            report = import_file(con, path, commit=True)
            assert (report.file_format, report.encoding) == ("parquet", None)
            check_committed(con, report, case["rows"], lines)
            check_reimport(con, path, case["rows"])
        finally:
            con.close()


# --------------------------------------------------------------------------- bugs found, now fixed

def test_gb18030_file_with_yen_signs_is_detected(db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("客户编号,订单日期,实付金额\n001,2024-01-05,¥1.00\n002,2024-01-06,¥2.00\n",
                    encoding="gb18030")
    report = import_file(db, path, commit=True)
    assert report.encoding == "gb18030"
    assert db.execute("select customer_id, amount from transactions order by line").fetchall() == [
        ("001", Decimal("1.00")), ("002", Decimal("2.00"))]


def test_tab_separated_csv_with_commas_in_cells(db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    lines = ["customer id\torder date\tamount\tregion"]
    lines += [f"00{i}\t2024-01-05\t1,234.50\tEast, North, Inner, Outer" for i in range(1, 6)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(db, path, commit=True)
    assert report.delimiter == "\t"
    assert db.execute("select line, customer_id, amount, region from transactions order by line").fetchall() == [
        (i + 1, f"00{i}", Decimal("1234.50"), "East, North, Inner, Outer") for i in range(1, 6)]


def test_line_numbers_of_a_large_csv(tmp_path: Path) -> None:
    n = 2_500_000
    bad = n // 2                          # the row on line bad + 2 has an unreadable amount
    path = tmp_path / "big.csv"
    duckdb.connect().execute(
        f"copy (select 'C' || (i % 1000) as customer_id, '2024-01-01' as order_date, "
        f"case when i = {bad} then 'oops' else cast(i as varchar) end as amount "
        f"from range({n}) t(i)) to '{path}' (header)").close()
    con = connect(tmp_path / "crm.duckdb", threads=2)
    try:
        report = import_file(con, path)
    finally:
        con.close()
    assert (report.rows_read, report.rows_rejected) == (n, 1)
    assert report.rejects == [{"line": bad + 2, "column": "amount", "value": "oops", "reason": "not an amount"}]
