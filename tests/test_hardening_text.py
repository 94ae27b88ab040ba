"""Issue 10, text files: the structure of CSV/TSV files (findings 1, 13, 15, 16, 18 and part of 20).

Every physical line of a file is accounted for, by both CSV readers alike: the header, a blank
line, a row (with the lines of its quoted line breaks) or a reject. Each file is made here;
tests/hostile/text.py holds the same files for the browser tour.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from import_strategies import SETTINGS
from import_util import READERS, con_fixture, new_database, rows, write  # noqa: F401 (the con fixture)

from analytics.cli import main
from analytics.errors import FileReadError
from analytics.ingest.pipeline import import_file, prepare
from analytics.ingest.raw import LINE_LIMIT, QUOTED_LINES_LIMIT, REASON_LONG_LINE, unclosed_quote
from analytics.ingest.readers import peek
from analytics.store.connection import connect
from tests.hostile import text as hostile
from ui.i18n import LANGUAGES
from ui.importing.messages import error_text, localize

UNCLOSED = re.compile(r"the quote opened in column (\d+) \((.+)\) is not closed; the lines below it are read as rows")


def _file(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _stored(con) -> list[tuple]:
    return rows(con, "select line, transaction_id, product from transactions order by line")


# ----------------------------------------------------------------------------- 1: unclosed quotes

@pytest.mark.parametrize("force_python", READERS)
def test_an_unclosed_quote_is_a_reject_and_the_lines_below_it_are_rows(con, tmp_path, force_python):
    path = _file(tmp_path, "q.csv", hostile.unclosed_quote())
    report = import_file(con, path, commit=True, force_python=force_python)
    assert (report.rows_read, report.rows_rejected, report.rows_imported) == (4, 1, 3)
    assert report.rejects == [{"line": 3, "column": None, "value": "SO2,C2,2024-01-03,20,\"A",
                               "reason": "the quote opened in column 5 (商品名称) is not closed; "
                                         "the lines below it are read as rows"}]
    assert _stored(con) == [(2, "SO1", "茶叶"), (4, "SO3", "茶叶"), (5, "SO4", "茶叶")]


@pytest.mark.parametrize("force_python", READERS)
def test_a_quote_that_closes_on_a_later_line_followed_by_text_is_not_a_line_break(con, tmp_path, force_python):
    # the quote of line 3 would close at the opening quote of line 5 ("C4"...): that is no cell
    text = (",".join(hostile.HEADER) + "\n" + "SO1,C1,2024-01-05,10,茶叶\n" + 'SO2,"C2,2024-01-05,20,茶叶\n'
            + "SO3,C3,2024-01-05,30,茶叶\n" + 'SO4,"C4",2024-01-05,40,"绿茶, 散装"\n')
    report = import_file(con, write(tmp_path / "q.csv", text), commit=True, force_python=force_python)
    assert [(r["line"], UNCLOSED.fullmatch(r["reason"]).groups()) for r in report.rejects] == [(3, ("2", "客户编号"))]
    assert _stored(con) == [(2, "SO1", "茶叶"), (4, "SO3", "茶叶"), (5, "SO4", "绿茶, 散装")]


@pytest.mark.parametrize("force_python", READERS)
def test_a_quote_that_runs_past_the_limit_of_lines_is_a_reject(con, tmp_path, force_python):
    below = QUOTED_LINES_LIMIT + 5
    text = (",".join(hostile.HEADER) + "\n" + 'SO0,C0,2024-01-05,1,"A\n'
            + "".join(f"SO{i},C{i},2024-01-05,{i},茶叶\n" for i in range(1, below + 1)) + 'SO-1,C-1,2024-01-05,1,"B"\n')
    report = import_file(con, write(tmp_path / "q.csv", text), commit=True, force_python=force_python)
    assert [r["line"] for r in report.rejects] == [2]
    assert report.rows_read == below + 2
    assert rows(con, "select count(*), min(line), max(line) from transactions") == [(below + 1, 3, below + 3)]


@pytest.mark.parametrize("force_python", READERS)
def test_a_quoted_line_break_within_the_limit_stays_in_its_cell(con, tmp_path, force_python):
    inside = "\n".join(f"第{i}行" for i in range(QUOTED_LINES_LIMIT))  # the cell spans the limit exactly
    text = ",".join(hostile.HEADER) + "\n" + f'SO1,C1,2024-01-05,10,"{inside}"\nSO2,C2,2024-01-06,20,茶叶\n'
    report = import_file(con, write(tmp_path / "q.csv", text), commit=True, force_python=force_python)
    assert report.rows_rejected == 0
    assert _stored(con) == [(2, "SO1", inside), (2 + QUOTED_LINES_LIMIT, "SO2", "茶叶")]


@dataclass
class _Layout:
    """A generated file: its text and what each physical line is."""

    text: str
    rows: list[tuple[int, str, str]]       # (first line, transaction id, product) of each well-formed row
    rejects: list[tuple[int, str, str]]    # (line, column number, column name) of each unclosed quote
    blanks: list[int]
    header: int                            # the lines of the header
    lines: int                             # physical lines (CR LF, CR and LF each end one)


_BREAKS = re.compile(r"\r\n|\r|\n")
# text of a product cell: quotes, delimiters and line breaks of every kind inside; it starts and
# ends with a letter (stored values are trimmed), so a quoted cell always opens with `"letter`
products = st.builds(lambda a, mid, b: a + "".join(mid) + b, st.sampled_from("ab中"),
                     st.lists(st.sampled_from(["a", "中", " ", ",", '"', '""', "\n", "\r\n", "\r"]), max_size=8),
                     st.sampled_from("xy文"))
endings = st.sampled_from(["\n", "\r\n", "\r", "\r\r\n"])
records = st.lists(st.tuples(st.sampled_from(["row", "row", "row", "broken", "blank"]), products, endings,
                             st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]), st.integers(1, 4)),
                   min_size=1, max_size=14)


def _csv_line(cells: list[str], quoting: int) -> str:
    """``cells`` as the csv module writes them, without the line break (a cell holding CR or LF is quoted)."""
    out = io.StringIO()
    csv.writer(out, quoting=quoting, lineterminator="\r\n").writerow(cells)
    return out.getvalue()[:-2]


def _layout(drawn: list[tuple[str, str, str, int, int]], header_end: str, header_break: str) -> _Layout:
    """The file of the drawn records, and where each lands: a record starts a line; the lines
    inside a row's span are its quoted line breaks; every other line is empty. The header's
    last name may hold a line break (``header_break``)."""
    text = ",".join(hostile.HEADER[:-1]) + (f',"商品{header_break}名称"' if header_break else ",商品名称") + header_end
    header_lines = 1 + len(_BREAKS.findall(header_break))
    spans: list[tuple[int, int, str, tuple]] = []  # (start, end, what, detail)
    for i, (what, product, end, quoting, opened) in enumerate(drawn):
        start = len(text)
        if what == "blank":
            text += end
            continue
        cells = [f"T{i}", f"C{i}", "2024-01-05", str(i + 1), product]
        if what == "broken":
            # a quote opened in a cell and never closed: the rest of the line is its text
            text += _csv_line(cells[:opened], quoting) + ',"' + "x" * i
            name = hostile.HEADER[opened] if opened < 4 or not header_break else "商品 名称"  # as the header reads
            spans.append((start, len(text), "broken", (str(opened + 1), name)))
        else:
            text += _csv_line(cells, quoting)
            spans.append((start, len(text), "row", (f"T{i}", product)))
        text += end
    starts = [0] + [m.end() for m in _BREAKS.finditer(text) if m.end() < len(text)]
    number = {offset: n for n, offset in enumerate(starts, start=1)}
    rows_, rejects, inside = [], [], set()
    for start, stop, what, detail in spans:
        if what == "row":
            rows_.append((number[start], *detail))
            inside.update(number[s] for s in starts if start < s < stop)
        else:
            rejects.append((number[start], *detail))
    taken = {*range(1, header_lines + 1), *inside, *(r[0] for r in rows_), *(r[0] for r in rejects)}
    blanks = [n for n in range(1, len(starts) + 1) if n not in taken]
    for n in blanks:  # the generator's own check: nothing but a line break on those lines
        assert _BREAKS.match(text, starts[n - 1]) or starts[n - 1] == len(text)
    return _Layout(text, rows_, rejects, blanks, header_lines, len(starts))


@settings(SETTINGS, max_examples=40)
@given(drawn=records, header_end=endings, header_break=st.sampled_from(["", "\n", "\r\n"]))
def test_every_physical_line_is_the_header_a_blank_line_a_row_or_a_reject(empty_database, drawn, header_end,
                                                                          header_break):
    layout = _layout(drawn, header_end, header_break)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "orders.csv"
        path.write_bytes(layout.text.encode("utf-8"))
        seen = []
        for force_python in (False, True):
            con = connect(new_database(empty_database, folder / f"crm{force_python}.duckdb"))
            try:
                report = import_file(con, path, commit=True, force_python=force_python)
                stored = _stored(con)
                rejected = rows(con, "select line, reason from import_rejects order by line")
            finally:
                con.close()
            blanks = sorted(e["line"] for e in report.excluded if e["reason"] == "blank line")
            assert stored == sorted(layout.rows)
            assert [(line, *UNCLOSED.fullmatch(reason).groups()) for line, reason in rejected] == layout.rejects
            assert blanks == layout.blanks
            # every line once: the header, a row and the lines inside its cells, a reject, a blank line
            assert report.mapping["product"] == ("商品 名称" if header_break else "商品名称")
            covered = list(range(1, layout.header + 1)) + blanks + [line for line, _ in rejected]
            covered += [line + k for line, _, product in stored for k in range(len(_BREAKS.findall(product)) + 1)]
            assert sorted(covered) == list(range(1, layout.lines + 1))
            assert report.rows_read == len(stored) + len(rejected) + len(blanks)
            seen.append((stored, rejected, blanks, report.rows_read))
        assert seen[0] == seen[1]


# ----------------------------------------------------------------------------- 13: mixed line endings

MIXED = {
    "lf-and-crlf": (hostile.mixed_line_endings(), [2, 3, 4, 5], []),
    "crlf-header-lf-rows": (hostile._text([hostile.HEADER], "\r\n").encode()
                            + hostile._text([hostile._row(i) for i in range(1, 4)]).encode(), [2, 3, 4], []),
    "cr-cr-lf": (hostile.cr_cr_lf(), [3, 5, 7], [2, 4, 6, 8]),
    "cr-only": (hostile._text([hostile.HEADER, *(hostile._row(i) for i in range(1, 4))], "\r").encode(),
                [2, 3, 4], []),
}


@pytest.mark.parametrize("force_python", READERS)
@pytest.mark.parametrize("case", sorted(MIXED))
def test_mixed_line_endings_are_read_with_their_lines(con, tmp_path, case, force_python):
    content, lines, blanks = MIXED[case]
    path = _file(tmp_path, "mixed.csv", content)
    report = import_file(con, path, commit=True, force_python=force_python)
    assert (report.rows_rejected, report.rows_read) == (0, len(lines) + len(blanks))
    assert [e["line"] for e in report.excluded] == blanks
    assert _stored(con) == [(line, f"SO{i}", "茶叶") for i, line in enumerate(lines, start=1)]


def test_duckdbs_reader_stopping_on_mixed_line_endings_falls_back_to_pythons(con, tmp_path):
    prepared = prepare(con, _file(tmp_path, "mixed.csv", hostile.mixed_line_endings()))
    try:
        assert prepared.raw.reader == "python"
        assert prepared.report.rows_valid == 4
    finally:
        prepared.close()
    # nothing of the abandoned read is left on the connection
    assert rows(con, "select count(*) from duckdb_tables() where temporary and table_name like 'raw_%'") == [(0,)]


# ----------------------------------------------------------------------------- 15: long cells and lines

@pytest.mark.parametrize("force_python", READERS)
def test_a_cell_over_128_kib_in_the_top_lines_is_read(con, tmp_path, force_python):
    report = import_file(con, _file(tmp_path, "big.csv", hostile.big_cell()), commit=True, force_python=force_python)
    assert report.rows_rejected == 0
    assert _stored(con) == [(2, "SO1", "长" * hostile.BIG_CELL), (3, "SO2", "茶叶")]


@pytest.mark.parametrize("force_python", READERS)
def test_a_line_over_the_line_limit_is_a_reject_that_says_so(con, tmp_path, force_python):
    long_line = "SO2,C2,2024-01-05,20," + "x" * LINE_LIMIT
    text = ",".join(hostile.HEADER) + "\n" + "SO1,C1,2024-01-05,10,茶叶\n" + long_line + "\nSO3,C3,2024-01-05,30,茶叶\n"
    report = import_file(con, write(tmp_path / "long.csv", text), commit=True, force_python=force_python)
    assert report.rejects == [{"line": 3, "column": None, "value": long_line[:500],
                               "reason": f"the line is longer than {LINE_LIMIT:,} bytes"}]
    assert _stored(con) == [(2, "SO1", "茶叶"), (4, "SO3", "茶叶")]


# ----------------------------------------------------------------------------- 16: a line break in the header

@pytest.mark.parametrize("force_python", READERS)
def test_a_quoted_line_break_in_a_header_cell_becomes_a_space(con, tmp_path, force_python):
    path = _file(tmp_path, "h.csv", hostile.header_line_break())
    report = import_file(con, path, commit=True, force_python=force_python)
    assert (report.header_row, report.rows_read, report.rows_rejected) == (1, 2, 0)
    assert report.mapping["order_date"] == "订单 日期"
    assert rows(con, "select line, transaction_id, cast(order_date as varchar) from transactions order by line") == [
        (3, "SO1", "2024-01-02"), (4, "SO2", "2024-01-03")]


SPANNING_TOP = {
    # the header spans lines 1-2; a ragged row on line 4, a blank line 5
    "header": ('订单编号,客户编号,"订单\n日期",实付金额,商品名称\nSO1,C1,2024-01-05,10,茶叶\n'
               'SO2,C2,2024-01-05,20,茶叶,多余\n\nSO3,C3,2024-01-05,30,茶叶\n', [3, 6], [4], [5]),
    # a title of two lines above the header (line 3)
    "title": ('"销售\n明细"\n订单编号,客户编号,订单日期,实付金额,商品名称\nSO1,C1,2024-01-05,10,茶叶\n'
              'SO2,C2,2024-01-05,20,茶叶,多余\nSO3,C3,2024-01-05,30,茶叶\n', [4, 6], [5], []),
}


@pytest.mark.parametrize("force_python", READERS)
@pytest.mark.parametrize("case", sorted(SPANNING_TOP))
def test_lines_below_a_record_of_several_lines_above_the_rows_are_right(con, tmp_path, case, force_python):
    text, stored, rejected, blanks = SPANNING_TOP[case]
    report = import_file(con, write(tmp_path / "t.csv", text), commit=True, force_python=force_python)
    assert [r["line"] for r in report.rejects] == rejected
    assert [e["line"] for e in report.excluded] == blanks
    assert [line for line, _, _ in _stored(con)] == stored


def test_a_header_with_a_line_break_below_a_title_keeps_duckdbs_reader(con, tmp_path):
    text = "销售明细\n" + hostile.header_line_break().decode() + "\nSO3,C3,2024-01-04,30,茶叶\n"
    path = write(tmp_path / "h.csv", text)
    prepared = prepare(con, path)
    try:
        assert (prepared.raw.reader, prepared.report.header_row, prepared.report.rows_valid) == ("duckdb", 2, 3)
        assert [e["line"] for e in prepared.report.excluded] == [6]
    finally:
        prepared.close()


# ----------------------------------------------------------------------------- 18: many skipped lines

@pytest.mark.parametrize("force_python", READERS)
def test_many_blank_lines_keep_every_line_number(con, tmp_path, force_python):
    n = 200_000
    report = import_file(con, _file(tmp_path, "b.csv", hostile.blank_lines(n)), commit=True, force_python=force_python)
    assert (report.rows_read, report.rows_excluded, report.rows_imported) == (n + 2, n, 2)
    assert [e["line"] for e in report.excluded[:3]] == [3, 4, 5]
    assert _stored(con) == [(2, "SO1", "茶叶"), (n + 3, "SO2", "茶叶")]


@pytest.mark.parametrize("force_python", READERS)
def test_many_ragged_rows_keep_every_line_number(con, tmp_path, force_python):
    n = 5_000
    text = hostile.ragged_rows(n).decode() + "\n\n" + ",".join(hostile._row(2 * n)) + "\n"
    report = import_file(con, write(tmp_path / "r.csv", text), commit=True, force_python=force_python)
    assert (report.rows_read, report.rows_rejected, report.rows_excluded) == (2 * n + 3, n, 2)
    assert rows(con, "select count(*) from import_rejects where line % 2 = 1 and reason = 'expected 5 cells, found 6'"
                ) == [(n,)]
    assert rows(con, "select count(*) from transactions where line = cast(substr(transaction_id, 3) as int) + 2"
                ) == [(n,)]
    assert rows(con, "select line from transactions where transaction_id = ?", f"SO{2 * n}") == [(2 * n + 4,)]


# ----------------------------------------------------------------------------- 20: a header far down

@pytest.mark.parametrize("force_python", READERS)
def test_a_header_row_far_down_the_file_can_be_chosen(con, tmp_path, force_python):
    path = _file(tmp_path, "far.csv", hostile.header_far_down(80))
    report = import_file(con, path, header_row=81, commit=True, force_python=force_python)
    assert (report.header_row, report.rows_read, report.rows_rejected) == (81, 2, 0)
    assert _stored(con) == [(82, "SO1", "茶叶"), (83, "SO2", "茶叶")]


def test_a_header_row_far_down_from_the_command_line(tmp_path, capsys):
    path = _file(tmp_path, "far.csv", hostile.header_far_down(500))
    assert main(["--db", str(tmp_path / "crm.duckdb"), "import", str(path), "--header-row", "501", "--commit"]) == 0
    con = connect(tmp_path / "crm.duckdb")
    try:
        assert _stored(con) == [(502, "SO1", "茶叶"), (503, "SO2", "茶叶")]
    finally:
        con.close()


def test_a_header_row_past_the_end_of_the_file_says_how_long_the_file_is(con, tmp_path):
    path = _file(tmp_path, "far.csv", hostile.header_far_down(80))
    with pytest.raises(FileReadError, match=r"far\.csv: header row 90 is outside the file \(it has 83 lines\)"):
        import_file(con, path, header_row=90)


# ----------------------------------------------------------------------------- the page's language

@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_new_reasons_and_error_are_in_the_pages_language(lang):
    named = localize(unclosed_quote(5, hostile.HEADER), lang)
    unnamed = localize(unclosed_quote(3, ["column 1", "column 2", "column 3"]), lang)
    assert "5" in named and "商品名称" in named and "(column 3)" not in unnamed and "3" in unnamed
    assert "10,000,000" in localize(REASON_LONG_LINE, lang)
    error = error_text(FileReadError("far.csv: header row 90 is outside the file (it has 83 lines)"), lang)
    assert all(part in error for part in ("far.csv", "90", "83"))
    english = (unclosed_quote(5, hostile.HEADER), REASON_LONG_LINE)
    assert [localize(text, lang) for text in english] != list(english)


def test_a_peek_at_the_columns_reads_a_header_far_down_and_leaves_nothing_behind(con, tmp_path):
    path = _file(tmp_path, "far.csv", hostile.header_far_down(80))
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(hostile.mixed_line_endings().decode().encode("gb18030"))  # read from a UTF-8 copy
    assert peek(con, path, header_row=81).headers == hostile.HEADER
    assert peek(con, gbk).headers == hostile.HEADER
    assert rows(con, "select count(*) from duckdb_tables() where temporary and table_name like 'raw_%'") == [(0,)]
