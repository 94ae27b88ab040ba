"""Files without a header row, whitespace-aligned text and columns mapped by position.

The CDNOW purchase log (``tests/fixtures/cdnow/``: no header, columns aligned with spaces,
CRLF line endings) goes through the command line and is checked against pandas reading the
raw file; small made-up files check detection, line numbers and both CSV readers.
"""

from __future__ import annotations

import gc
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from import_util import (
    READERS,
    con_fixture,  # noqa: F401 (the con fixture)
    rows,
    write,
)

from analytics.cli import main
from analytics.errors import MappingError
from analytics.ingest.mapping import column_index
from analytics.ingest.pipeline import import_file, prepare
from analytics.ingest.raw import NOTE_HEADERLESS, NOTE_NO_HEADER, SPACES
from analytics.ingest.text_files import NOTE_SPACES
from analytics.paths import work_dir
from analytics.store.connection import connect

CDNOW = Path(__file__).resolve().parent / "fixtures" / "cdnow" / "CDNOW_sample.txt"
CDNOW_MAP = ["--map", "customer_id=1", "--map", "order_date=3", "--map", "quantity=column 4", "--map", "amount=5"]
BY_POSITION = {"customer_id": "column 1", "order_date": "column 3", "quantity": "column 4", "amount": "column 5"}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    """Run ``python -m analytics ... --json`` in-process; its report."""
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(name="cdnow", scope="module")
def cdnow_fixture() -> pd.DataFrame:
    """The CDNOW file as pandas reads it on its own: one row per line, the line number kept."""
    frame = pd.read_csv(CDNOW, sep=r"\s+", header=None, dtype=str,
                        names=["customer", "sample_id", "date", "cds", "amount"])
    frame["line"] = range(1, len(frame) + 1)
    return frame


# ----------------------------------------------------------------------------- CDNOW

def test_cdnow_imports_by_position_through_the_command_line(tmp_path, capsys, cdnow):
    db = str(tmp_path / "crm.duckdb")
    report = cli(capsys, "--db", db, "import", str(CDNOW), "--no-header", *CDNOW_MAP,
                 "--save-mapping", "cdnow", "--commit")
    assert len(cdnow) == 6_919
    assert (report["rows_read"], report["rows_valid"], report["rows_imported"]) == (6_919, 6_919, 6_919)
    assert (report["rows_rejected"], report["rows_excluded"], report["rows_duplicate"]) == (0, 0, 0)
    assert (report["header_row"], report["delimiter"], report["mapping"]) == (None, SPACES, BY_POSITION)
    assert report["notes"][:2] == [NOTE_NO_HEADER, NOTE_SPACES]
    # identical records of one customer on one day are separate purchases: all kept
    repeated = int(cdnow.duplicated(["customer", "sample_id", "date", "cds", "amount"]).sum())
    assert repeated > 0 and report["identical_rows"] == repeated

    con = connect(tmp_path / "crm.duckdb")
    try:
        stored = rows(con, "select line, customer_id, order_date, quantity, amount from transactions order by line")
        assert stored == [(r.line, r.customer, date(int(r.date[:4]), int(r.date[4:6]), int(r.date[6:])),
                           int(r.cds), Decimal(r.amount)) for r in cdnow.itertuples()]
        assert rows(con, "select count(distinct customer_id), sum(amount) from transactions") == [
            (cdnow["customer"].nunique(), sum(map(Decimal, cdnow["amount"])))]
        assert cdnow["customer"].nunique() == 2_357
        by_month = {m: sum(map(Decimal, g)) for m, g in cdnow.groupby(cdnow["date"].str[:6])["amount"]}
        assert dict(rows(con, "select strftime(order_date, '%Y%m'), sum(amount) from transactions group by 1")) \
            == by_month
        assert rows(con, "select kind, mapping from saved_mappings where name = 'cdnow'") == [
            ("transactions", json.dumps(BY_POSITION))]
    finally:
        con.close()


def test_cdnow_detected_saved_mapping_reused_and_imported_once(tmp_path, capsys):
    db = str(tmp_path / "crm.duckdb")
    first = cli(capsys, "--db", db, "import", str(CDNOW), *CDNOW_MAP, "--save-mapping", "cdnow", "--commit")
    assert first["notes"][:2] == [NOTE_HEADERLESS, NOTE_SPACES] and first["rows_imported"] == 6_919
    # a later file from the same source, found to have no header, with the saved mapping
    later = write(tmp_path / "CDNOW_later.txt", " 23570 2358 19980701  2   25.98\r\n"
                                               " 23571 2359 19980702  1   11.77\r\n")
    second = cli(capsys, "--db", db, "import", str(later), "--mapping", "cdnow", "--commit")
    assert (second["mapping"], second["rows_imported"], second["header_row"]) == (BY_POSITION, 2, None)
    again = cli(capsys, "--db", db, "import", str(CDNOW), "--mapping", "cdnow", "--commit")
    assert (again["status"], again["rows_imported"], again["rows_already_present"]) == ("nothing new", 0, 6_919)


def test_cdnow_keeps_duckdb_fast_path_and_leaves_no_copy(con):
    copies = set(work_dir().glob("crm_import_*/tabs.tsv"))
    prepared = prepare(con, CDNOW, mapping=dict(BY_POSITION))
    try:
        assert prepared.raw.reader == "duckdb" and prepared.report.rows_valid == 6_919
        assert prepared.raw.samples[2] == ["19970101", "19970118", "19970802"]
    finally:
        prepared.close()
    with pytest.raises(MappingError):  # columns not mapped yet: the copy is made, never scanned
        prepare(con, CDNOW)
    gc.collect()
    assert set(work_dir().glob("crm_import_*/tabs.tsv")) <= copies


def test_the_human_readable_report_says_how_the_file_was_read(tmp_path, capsys):
    assert main(["--db", str(tmp_path / "crm.duckdb"), "import", str(CDNOW), *CDNOW_MAP]) == 0
    out = capsys.readouterr().out
    assert f"note: {NOTE_HEADERLESS}" in out and f"note: {NOTE_SPACES}" in out
    assert "mapping: customer_id ← column 1, order_date ← column 3" in out and "not used: column 2" in out


# ----------------------------------------------------------------------------- small files

@pytest.mark.parametrize("force_python", READERS)
def test_a_headerless_csv_with_chinese_values_maps_by_position(con, tmp_path, force_python):
    path = write(tmp_path / "h.csv", "C001,2024-01-05,华东,128.50\nC002,2024-01-06,华北,99\nC001,2024-02-01,华东,50\n")
    mapping = {"customer_id": "1", "order_date": "column 2", "region": "3", "amount": "4"}
    report = import_file(con, path, mapping=mapping, force_python=force_python, commit=True)
    assert (report.header_row, report.delimiter, report.notes[0]) == (None, ",", NOTE_HEADERLESS)
    assert report.mapping == {"customer_id": "column 1", "order_date": "column 2", "amount": "column 4",
                              "region": "column 3"}
    assert rows(con, "select line, customer_id, order_date, region, amount from transactions order by line") == [
        (1, "C001", date(2024, 1, 5), "华东", Decimal("128.50")), (2, "C002", date(2024, 1, 6), "华北", 99),
        (3, "C001", date(2024, 2, 1), "华东", 50)]


@pytest.mark.parametrize("force_python", READERS)
def test_a_whitespace_aligned_file_rejects_a_malformed_line_with_its_line(con, tmp_path, force_python):
    text = ("  C1   2024-01-05   10.00   CD\r\n"          # 1
            "  C2   2024-01-06   20.00   LP\r\n"          # 2
            "  C3   2024-01-07   30.00\r\n"               # 3 reject: 3 cells
            "\r\n"                                        # 4 blank
            "      \r\n"                                  # 5 spaces only
            "  C4   2024-01-08   40.00   12\"  extra\r\n"  # 6 reject: 5 cells
            "\tC5\t 2024-01-09   x       \"7\"\r\n"        # 7 reject: not an amount; tabs are spaces
            "  C6   2024-01-10   60.00   12\"\r\n")       # 8 a quote is a character of the value
    path = write(tmp_path / "aligned.txt", text)
    mapping = {"customer_id": "1", "order_date": "2", "amount": "3", "product": "4"}
    report = import_file(con, path, mapping=mapping, force_python=force_python, commit=True)
    assert (report.header_row, report.delimiter) == (None, SPACES)
    assert (report.rows_read, report.rows_valid, report.rows_rejected, report.rows_excluded) == (8, 3, 3, 2)
    assert [(r["line"], r["column"], r["value"], r["reason"]) for r in report.rejects] == [
        (3, None, "C3 2024-01-07 30.00", "expected 4 cells, found 3"),
        (6, None, 'C4 2024-01-08 40.00 12" extra', "expected 4 cells, found 5"),
        (7, "column 3", "x", "not an amount")]
    assert report.excluded == [{"line": 4, "reason": "blank line"}, {"line": 5, "reason": "blank line"}]
    assert rows(con, "select line, customer_id, amount, product from transactions order by line") == [
        (1, "C1", 10, "CD"), (2, "C2", 20, "LP"), (8, "C6", 60, '12"')]


@pytest.mark.parametrize("force_python", READERS)
def test_a_headerless_file_with_blank_lines_keeps_its_lines(con, tmp_path, force_python):
    path = write(tmp_path / "b.csv", "\nC1,2024-01-05,10\n\nC2,2024-01-06,20\n")
    report = import_file(con, path, mapping={"customer_id": "1", "order_date": "2", "amount": "3"},
                         force_python=force_python, commit=True)
    assert (report.header_row, report.rows_read, report.rows_valid, report.rows_excluded) == (None, 4, 2, 2)
    assert report.excluded == [{"line": 1, "reason": "blank line"}, {"line": 3, "reason": "blank line"}]
    assert rows(con, "select line, customer_id from transactions order by line") == [(2, "C1"), (4, "C2")]


def test_both_readers_read_a_whitespace_file_alike(con, tmp_path):
    lines = [f"{i:06d}  {1997 + i % 2}{i % 12 + 1:02d}{i % 28 + 1:02d}  {i % 5}  {i * 1.25:.2f}" for i in range(500)]
    lines[100], lines[200] = "", "000200  19970101  3"
    path = write(tmp_path / "w.txt", "\r\n".join(lines) + "\r\n")
    mapping = {"customer_id": "1", "order_date": "2", "quantity": "3", "amount": "4"}
    reports = [import_file(con, path, mapping=mapping, force_python=fp).to_dict() for fp in (False, True)]
    assert reports[0] == reports[1]
    assert (reports[0]["rows_read"], reports[0]["rows_valid"]) == (500, 498)
    assert [r["line"] for r in reports[0]["rejects"]] == [201]


def test_gbk_deep_in_a_whitespace_file_is_found_before_it_is_copied(con, tmp_path):
    path = tmp_path / "late.txt"
    path.write_bytes(b"C1  2024-01-05  1  east\n" * 60_000 + "C2  2024-01-06  2  华东\n".encode("gbk"))
    assert path.stat().st_size > 1 << 20
    report = import_file(con, path, mapping={"customer_id": "1", "order_date": "2", "amount": "3", "region": "4"},
                         commit=True)
    assert (report.encoding, report.delimiter, report.rows_imported) == ("gb18030", SPACES, 60_001)
    assert rows(con, "select line, region from transactions where customer_id = 'C2'") == [(60_001, "华东")]


def test_a_header_of_unknown_words_is_still_a_header(con, tmp_path):
    path = write(tmp_path / "odd.csv", "who,when,how much\nC1,2024-01-05,10\n")
    report = import_file(con, path, mapping={"customer_id": "who", "order_date": "when", "amount": "how much"})
    assert (report.header_row, report.rows_valid) == (1, 1)
    assert not any("column 1" in note for note in report.notes)
    aligned = write(tmp_path / "aligned.txt", "customer_id   order_date   amount\n  C1   2024-01-05   10\n")
    report = import_file(con, aligned)
    assert (report.header_row, report.delimiter, report.rows_valid) == (1, SPACES, 1)


def test_a_first_line_of_words_is_data_when_the_user_says_so(con, tmp_path):
    path = write(tmp_path / "names.csv", "张三,华东\n李四,华北\n")
    with pytest.raises(MappingError, match="张三, 华东"):
        import_file(con, path)
    report = import_file(con, path, header_row=0, kind="customers", mapping={"customer_id": "1", "region": "2"},
                         commit=True)
    assert (report.header_row, report.notes[0], report.rows_imported) == (None, NOTE_NO_HEADER, 2)
    assert rows(con, "select line, customer_id, region from customers order by line") == [
        (1, "张三", "华东"), (2, "李四", "华北")]


def test_an_excel_sheet_without_a_header_maps_by_position(con, tmp_path):
    book = openpyxl.Workbook()
    for row in (["C1", date(2024, 1, 5), 10.5], [None, None, None], ["C2", date(2024, 1, 6), 20]):
        book.active.append(row)
    book.save(tmp_path / "h.xlsx")
    report = import_file(con, tmp_path / "h.xlsx", mapping={"customer_id": "1", "order_date": "2", "amount": "3"},
                         commit=True)
    assert (report.header_row, report.notes[0], report.rows_excluded) == (None, NOTE_HEADERLESS, 1)
    assert rows(con, "select line, customer_id, order_date from transactions order by line") == [
        (1, "C1", date(2024, 1, 5)), (3, "C2", date(2024, 1, 6))]


def test_positions_name_columns_and_a_position_outside_the_file_is_refused(con, tmp_path):
    headers = ["column 1", "column 2", "1"]
    assert [column_index(headers, h) for h in ("2", "column 2", "Column 3", "1", "4", "column 0", "x")] == [
        1, 1, 2, 2, None, None, None]
    path = write(tmp_path / "h.csv", "C1,2024-01-05,10\n")
    with pytest.raises(MappingError, match="the file has no column '9'"):
        import_file(con, path, mapping={"customer_id": "1", "order_date": "2", "amount": "9"})
