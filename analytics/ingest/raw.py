"""The raw table every reader produces, and what building one takes.

A raw table is a temporary table (a view, for DuckDB's CSV reader) with a ``_line`` column
(the line of a CSV/TSV file, the row of an Excel sheet, the row number of a Parquet file,
1-based, as a person would find it in the file) and the file's columns as text
``c0 .. cN``; :class:`RawTable` describes it. The readers share the header search
(:func:`find_header`: the first of the top rows that names known columns; or none, when the
first line is data), the header names, the table's name and the loading of rows read in
Python, in batches.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from analytics.errors import FileReadError
from analytics.ingest.encoding import ENCODING_LABELS
from analytics.ingest.schema import COLUMNS, normalize_header

if TYPE_CHECKING:
    from analytics.ingest.duckdb_csv import PendingCsv

HEADER_SEARCH_ROWS = 30  # top rows searched for the header
PYTHON_BATCH_ROWS = 100_000  # rows read in Python, loaded at a time
SAMPLE_VALUES = 3  # values of each column kept as samples
SPACES = "spaces"  # the delimiter of a text file whose columns are separated by runs of spaces
SPACE_CHARS = " \t\n\r\x0b\x0c"  # what separates them: ASCII white space, as ``bytes.split()`` has it
LINE_LIMIT = 10_000_000  # bytes of UTF-8 in one line of a text file: a longer line is a reject
QUOTED_LINES_LIMIT = 200  # lines one row of a text file may span (quoted line breaks): a quote open longer is a reject
REASON_LONG_LINE = f"the line is longer than {LINE_LIMIT:,} bytes"

NOTE_HEADERLESS = ("the first line is data, not column names: the columns are named column 1, column 2, ... "
                   "by position")
NOTE_NO_HEADER = "no header row, as chosen: the columns are named column 1, column 2, ... by position"

# numbers and amounts; dates and times (ISO, Chinese, d/m/y, 5 Jan 2024)
_VALUE = re.compile(
    r"[(+\-]?(?:[¥￥$€£]|RMB)?\s*[+\-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+\-]?\d+)?\s*(?:元|%)?\)?"
    r"|\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}(?: \d{1,2}:\d{2}(?::\d{2})?)?"
    r"|\d{1,2}:\d{2}(?::\d{2})?"
    r"|\d{1,2}[ -][A-Za-z]{3,9}\.?[ -]\d{2,4}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-./#]*")  # an id or code: one token, no spaces
_SPACE_RUN = re.compile(f"[{re.escape(SPACE_CHARS)}]+")
_LINE_BREAK = re.compile(r"\s*[\r\n]+\s*")  # a line break in a header cell, with the spaces around it

_ALL_SYNONYMS = frozenset(
    normalize_header(s) for cols in COLUMNS.values() for c in cols for s in c.synonyms
)


@dataclass(frozen=True)
class Malformed:
    """A line that is not a well-formed row (wrong number of cells, a quote never closed, too long)."""

    line: int
    text: str
    reason: str


def unclosed_quote(column: int, headers: list[str]) -> str:
    """The reason a line whose quote (opened in its 1-based ``column``) is never closed is
    rejected: the lines below it are read as rows of their own. The column's name is given
    when the file names it."""
    name = headers[column - 1] if column <= len(headers) else None
    named = f" ({name})" if name and name != f"column {column}" else ""
    return f"the quote opened in column {column}{named} is not closed; the lines below it are read as rows"


@dataclass
class RawTable:
    """A file read into the relation ``table`` (``c0`` .. ``cN``, and ``_line`` if ``has_lines``).

    For DuckDB's CSV reader ``table`` is a view that is scanned once, by staging; then
    :func:`~analytics.ingest.duckdb_csv.resolve_lines` works out the lines and fills ``rows_read``, ``blank_lines``
    and ``malformed``. ``header_row`` is None for a text or Excel file without a header row
    (:attr:`headerless`; its ``headers`` are ``column 1``, ``column 2``, ...) and for Parquet;
    ``delimiter`` is :data:`SPACES` for a text file whose columns are separated by runs of spaces.
    A text file's header may span several lines (a quoted name holding a line break:
    ``header_lines``); ``top_records`` counts the records (rows and blank lines, as a CSV
    reader sees them) from the top of the file to the end of the header.
    """

    path: Path
    file_format: str
    encoding: str | None
    content_hash: str
    headers: list[str]
    header_row: int | None
    table: str
    rows_read: int
    blank_lines: list[int] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    reader: str = ""
    has_lines: bool = True
    pending: PendingCsv | None = None
    facts: Future[tuple[str, int]] | None = None  # (sha256, line count), computed beside the scan
    samples: list[list[str]] = field(default_factory=list)  # a few values of each column, from the top rows
    notes: list[str] = field(default_factory=list)  # how the file was read, for the report
    header_lines: int = 1
    top_records: int | None = None

    def settle(self) -> None:
        """Wait for the content hash computed in the background."""
        if self.facts is not None:
            self.content_hash = self.facts.result()[0]

    @property
    def first_line(self) -> int:
        """The first line below the header (1 for a file without one)."""
        return self.header_row + self.header_lines if self.header_row else 1

    @property
    def headerless(self) -> bool:
        """The file has no header row: its columns are named by position (``column 1``, ...)."""
        return self.header_row is None and self.file_format != "parquet"

    @property
    def encoding_label(self) -> str:
        """The encoding as shown to a person."""
        if self.encoding is None:
            return "—"
        return ENCODING_LABELS.get(self.encoding, self.encoding)


@dataclass(frozen=True)
class Header:
    """Where a file's column names are, as :func:`find_header` found them.

    ``row`` is the 1-based row of the names, None when the file has none: then ``names`` are
    ``column 1``, ``column 2``, ... by position. ``samples`` holds a few values of each
    column from the top rows below the names; ``note`` says how the names were found when
    the report should tell (a file without a header).
    """

    row: int | None
    names: list[str]
    samples: list[list[str]]
    note: str | None = None


def split_spaces(line: str) -> list[str]:
    """The cells of a line of a whitespace-aligned file: split at runs of :data:`SPACE_CHARS`
    (spaces and tabs; not the full-width space, which names may hold), those at the start
    and end of the line ignored; ``[]`` for a blank line."""
    text = line.strip(SPACE_CHARS)
    return _SPACE_RUN.split(text) if text else []


def score_header(cells: list[object]) -> int:
    """How many of ``cells`` name a known column (by any synonym)."""
    return sum(1 for c in cells if c is not None and normalize_header(str(c)) in _ALL_SYNONYMS)


def looks_like_value(cell: object) -> bool:
    """Whether a cell reads as a value rather than a word: a number or amount (``29.33``,
    ``¥1,234``), a date or time (``19970101``, ``2024-01-05``, ``2024年1月5日``), or an id
    or code with at least as many digits as letters (``00004``, ``C001``, ``SO-2024-17``)."""
    text = str(cell).strip()
    if _VALUE.fullmatch(text):
        return True
    if not _CODE.fullmatch(text):
        return False
    digits = sum(ch.isdigit() for ch in text)
    return digits > 0 and digits >= sum(ch.isalpha() for ch in text)


def first_line_is_data(first: list[object], below: list[list[object]]) -> bool:
    """Whether a file's first row is a row of values rather than column names.

    It is when none of its cells names a known column, at least one is a value
    (:func:`looks_like_value`), it is not a lone title cell above a wider table, and none of
    its words stands above a column whose cells below are mostly values (a word above
    values is that column's name). A row of words is a header.

    Parameters
    ----------
    first
        The cells of the first non-empty row.
    below
        The cells of the rows below it (the top rows of the file).
    """
    cells = [c for c in first if c not in (None, "")]
    if not cells or score_header(first) or not any(looks_like_value(c) for c in cells):
        return False
    widths = Counter(len(r) for r in below)
    if len(cells) == 1 and widths and widths.most_common(1)[0][0] > 1:
        return False
    for i, cell in enumerate(first):
        if cell in (None, "") or looks_like_value(cell):
            continue
        column = [r[i] for r in below if i < len(r) and r[i] not in (None, "")]
        if 2 * sum(looks_like_value(v) for v in column) > len(column):
            return False
    return True


def pick_header(rows: list[tuple[int, list[object]]]) -> tuple[int, list[object]] | None:
    """The (row number, cells) of the header among the top rows of a file; None when the
    first row is data (:func:`first_line_is_data`).

    The header is the first of the top rows naming two or more known columns, unless the
    first row is data as wide as it (values above a row that happens to hold two known
    names); without one, the first row, unless it is data.
    """
    nonempty = [(n, r) for n, r in rows if any(c not in (None, "") for c in r)]
    if not nonempty:
        raise FileReadError("the file has no rows")
    first_row, first = nonempty[0]
    data_first = first_line_is_data(first, [r for _, r in nonempty[1:HEADER_SEARCH_ROWS]])
    for n, cells in nonempty[:HEADER_SEARCH_ROWS]:
        if score_header(cells) >= 2 and not (data_first and n > first_row and len(cells) == len(first)):
            return n, cells
    return None if data_first else nonempty[0]


def find_header(rows: list[tuple[int, list[object]]], header_row: int | None, outside: str) -> Header:
    """The header of a file from its top rows.

    Parameters
    ----------
    rows
        The top rows as (1-based row number, cells), in file order.
    header_row
        The row of the column names chosen by the user; ``0``: the file has no header row;
        None: found by :func:`pick_header`.
    outside
        The error's message when the chosen row is not among ``rows``.

    Returns
    -------
    Header
        Without a header row, the columns are as many as most rows have.

    Raises
    ------
    FileReadError
        For a chosen row outside ``rows``, or a file without any row.
    """
    if header_row == 0:
        return _positional(rows, NOTE_NO_HEADER)
    if header_row is None:
        found = pick_header(rows)
        if found is None:
            return _positional(rows, NOTE_HEADERLESS)
        header_row, cells = found
    else:
        match = [r for n, r in rows if n == header_row]
        if not match:
            raise FileReadError(outside)
        cells = match[0]
    return Header(header_row, header_names(cells), _samples([r for n, r in rows if n > header_row], len(cells)))


def _positional(rows: list[tuple[int, list[object]]], note: str) -> Header:
    """The header of a file without one: ``column 1`` .. ``column N``, N the most common width."""
    body = [r for _, r in rows if any(c not in (None, "") for c in r)]
    if not body:
        raise FileReadError("the file has no rows")
    width = Counter(len(r) for r in body).most_common(1)[0][0]
    return Header(None, [f"column {i}" for i in range(1, width + 1)], _samples(body, width), note)


def _samples(rows: list[list[object]], width: int) -> list[list[str]]:
    """The first :data:`SAMPLE_VALUES` different values of each of ``width`` columns."""
    samples: list[list[str]] = [[] for _ in range(width)]
    for cells in rows:
        for i, cell in enumerate(cells[:width]):
            text = "" if cell is None else str(cell).strip()
            if text and text not in samples[i] and len(samples[i]) < SAMPLE_VALUES:
                samples[i].append(text)
    return samples


def header_names(cells: list[object]) -> list[str]:
    """Column names from header cells: an empty cell named by its Excel letter
    (``column C``), a repeated name numbered (``amount (2)``), a line break in a name (Alt+Enter
    in Excel) a space (``订单\n日期`` -> ``订单 日期``)."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells):
        text = _LINE_BREAK.sub(" ", str(cell)).strip() if cell is not None else ""
        name = text or f"column {_excel_letter(i)}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        names.append(name)
    return names


def _excel_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def table_name() -> str:
    """A new raw table's name."""
    return f"raw_{uuid.uuid4().hex[:12]}"


def create_raw(con: duckdb.DuckDBPyConnection, table: str, width: int) -> None:
    """Create the raw table ``table`` with ``_line`` and ``width`` text columns."""
    cols = ", ".join(f"c{i} varchar" for i in range(width))
    con.execute(f"create temp table {table} (_line bigint, {cols})")


def flush(con: duckdb.DuckDBPyConnection, table: str, batch: list[list[object]]) -> None:
    """Append a batch of rows, column by column (``_line`` first), to the raw table ``table``."""
    if not batch[0]:
        return
    arrays = [pa.array(batch[0], pa.int64())] + [pa.array(col, pa.string()) for col in batch[1:]]
    names = ["_line"] + [f"c{i}" for i in range(len(batch) - 1)]
    arrow = pa.Table.from_arrays(arrays, names=names)
    con.register("_crm_batch", arrow)
    try:
        con.execute(f"insert into {table} select * from _crm_batch")
    finally:
        con.unregister("_crm_batch")
