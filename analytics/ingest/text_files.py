"""CSV, TSV and whitespace-aligned text files: encoding, delimiter and header, then one of
two readers.

The encoding is detected (or checked, when the user names it), the delimiter sniffed from
the top lines (``,`` ``;`` ``|`` or tab; or runs of spaces, for a file whose lines split on
none of those but consistently on spaces) and the header searched among them: a title line
above the header is common, and a file may have none at all (its first line is data; see
:func:`~analytics.ingest.raw.find_header`). Then the rows take one of two paths that give
identical results:

* DuckDB's reader (fast, parallel; :mod:`analytics.ingest.duckdb_csv`), which checks
  itself after staging's one scan; a file that fails the check is read again.
* Python's ``csv`` module (or, for runs of spaces, a split of each line), which tracks line
  numbers exactly, loaded in batches (:func:`read_text_python`).

A line ends at CR LF, LF or a lone CR, as Excel and text editors show it (a file whose lines
end CR CR LF has an empty line after each). Every line of a file is accounted for: the header
(which may span lines, a quoted name holding a line break), a blank line, a row (with the
lines of its quoted line breaks) or a reject. A quote that is not closed by the end of the
file, within :data:`~analytics.ingest.raw.QUOTED_LINES_LIMIT` lines, or properly (a closing
quote followed by more text) rejects the line it opened on, and the lines below are read as
rows of their own (:func:`_records`); so does a line over
:data:`~analytics.ingest.raw.LINE_LIMIT` bytes.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple, TextIO

import duckdb

from analytics.errors import FileReadError
from analytics.ingest.duckdb_csv import open_duckdb_csv
from analytics.ingest.encoding import bom_note, check_declared, detect_encoding, fingerprint_later, quick_encoding
from analytics.ingest.raw import (
    HEADER_SEARCH_ROWS,
    LINE_LIMIT,
    PYTHON_BATCH_ROWS,
    QUOTED_LINES_LIMIT,
    REASON_LONG_LINE,
    SPACES,
    Malformed,
    RawTable,
    create_raw,
    find_header,
    flush,
    score_header,
    split_spaces,
    table_name,
    unclosed_quote,
)

NOTE_SPACES = "the columns are separated by runs of spaces (spaces at the start and end of a line are ignored)"
TOP_LINES = 60  # lines the delimiter and the header are searched in (below a header row chosen by the user)

# The csv module's limit on one cell is process-wide (128 KiB by default): a cell may be as long
# as a line may be. Only ever raised here.
csv.field_size_limit(max(csv.field_size_limit(), LINE_LIMIT))


def _consistency(rows: list[list[str]]) -> tuple[int, int]:
    """(the most common number of cells, how many rows have it) among non-empty rows."""
    counts = [len(r) for r in rows if r]
    if not counts:
        return 0, 0
    mode = max(set(counts), key=counts.count)
    return mode, counts.count(mode)


def _parsed(lines: list[str], delimiter: str) -> list[list[str]]:
    """The non-empty rows of ``lines`` split at ``delimiter`` (a line the csv module cannot
    read, one over the line limit, is left out)."""
    try:
        return [r for r in csv.reader([ln.rstrip("\r\n") for ln in lines], delimiter=delimiter) if r]
    except csv.Error:
        return [r for ln in lines for r in _parsed([ln], delimiter)] if len(lines) > 1 else []


def _sniff_delimiter(lines: list[str], fmt: str) -> str:
    """The delimiter: the one whose split of some top line names the most known columns
    (a header); without any known names, the one splitting the lines most consistently.
    When none of ``,`` tab ``;`` ``|`` splits the lines, :data:`~analytics.ingest.raw.SPACES`
    if most lines split into the same number (two or more) of cells at runs of spaces."""
    if fmt == "tsv":
        return "\t"
    best, best_score = ",", (0, 0)
    for delim in (",", "\t", ";", "|"):
        rows = _parsed(lines, delim)
        if not rows:
            continue
        named = max(score_header(r) for r in rows[:HEADER_SEARCH_ROWS])
        mode, count = _consistency(rows)
        score = (named, count * (mode > 1) * mode)
        if score > best_score:
            best, best_score = delim, score
    if best_score[1] == 0:
        rows = [split_spaces(line) for line in lines]
        mode, count = _consistency(rows)
        if mode > 1 and 2 * count > sum(1 for r in rows if r):
            return SPACES
    return best


def _top_lines(path: Path, codec: str, start: int) -> list[str]:
    """The :data:`TOP_LINES` lines from line ``start`` on."""
    with path.open("r", encoding=codec, newline="") as fh:
        for _ in range(start - 1):
            fh.readline()
        lines = []
        for _ in range(TOP_LINES):
            line = fh.readline()
            if not line:
                break
            lines.append(line)
    return lines


def read_text(con: duckdb.DuckDBPyConnection, path: Path, fmt: str, encoding: str | None,
              header_row: int | None, force_python: bool, verify_encoding: bool = False) -> RawTable:
    """Read a CSV, TSV or whitespace-aligned text file into a raw table on ``con``.

    Parameters
    ----------
    con, path, encoding, header_row, force_python, verify_encoding
        As for :func:`analytics.ingest.readers.read_file`.
    fmt
        ``csv`` or ``tsv`` (a TSV file is split at tabs, a CSV file at the delimiter sniffed).

    Returns
    -------
    RawTable
        For DuckDB's reader, a view whose lines are resolved after staging's scan. Its
        ``notes`` say when the file has no header row or is split at runs of spaces.

    Raises
    ------
    FileReadError, EncodingNotDetected
    """
    if encoding:
        codec = check_declared(path, encoding)
    elif verify_encoding or force_python:
        codec = detect_encoding(path)
    else:
        codec = quick_encoding(path)
    facts = fingerprint_later(path)
    # The delimiter and the header are searched in the top lines (a title line above the
    # header is common), or from a header row the user chose, wherever it is.
    start = header_row if header_row else 1
    top = _top_lines(path, codec, start)
    if not top and start == 1:
        raise FileReadError(f"{path.name}: the file is empty")
    delimiter = _sniff_delimiter(top, fmt)
    if delimiter == SPACES and codec == "utf-8" and not (encoding or verify_encoding or force_python):
        # Its tab-separated copy for DuckDB is decoded here, in Python: a byte past the first
        # megabyte that is not UTF-8 (a GBK line deep in the file) must be found before.
        codec = detect_encoding(path)
    records, above = _top_records(path, codec, delimiter, start)
    header = find_header([(r.line, r.cells) for r in records], header_row,
                         f"{path.name}: header row {header_row} is outside the file (it has {above} lines)")
    notes = [note for note in (header.note, NOTE_SPACES if delimiter == SPACES else None, bom_note(codec)) if note]
    raw = RawTable(path=path, file_format=fmt, encoding=codec, content_hash="",
                   headers=header.names, header_row=header.row, table=table_name(),
                   rows_read=0, delimiter=delimiter, facts=facts, samples=header.samples, notes=notes)
    if header.row is not None:
        raw.header_lines = next(r.lines for r in records if r.line == header.row)
        # DuckDB's reader skips records, not lines: those above the rows (the lines above a
        # header row the user chose are taken for one record each; DuckDB's reader checks)
        raw.top_records = start - 1 + sum(1 for r in records if r.line < raw.first_line)
    if force_python:
        read_text_python(con, raw, codec)
    else:
        open_duckdb_csv(con, raw, codec)
    return raw


def _open(path: Path, codec: str, delimiter: str) -> TextIO:
    # lines of spaces end at a line feed only, as in DuckDB's tab-separated copy (a lone
    # carriage return is white space there)
    return path.open("r", encoding=codec, newline="\n" if delimiter == SPACES else "")


def _top_records(path: Path, codec: str, delimiter: str, start: int) -> tuple[list[_Record], int]:
    """The records from line ``start`` that start within :data:`TOP_LINES` lines of it, and
    how many lines there are above it (fewer than ``start - 1`` when the file ends before)."""
    with _open(path, codec, delimiter) as fh:
        above = 0
        while above < start - 1 and fh.readline():
            above += 1
        top = []
        if above == start - 1:
            for record in map(_Record._make, _records(fh, delimiter, start)):
                if record.line >= start + TOP_LINES:
                    break
                top.append(record)
    return top, above


class _Record(NamedTuple):
    """A record of a text file: a row, a blank line (no cells), or a line that is not a row
    (``broken``). :func:`_records` yields them as plain tuples of these fields (faster)."""

    line: int  # its first line
    cells: list[str]  # ``broken``: the cells of its first line alone
    lines: int = 1  # the lines it spans (its quoted line breaks, and one)
    broken: str | None = None  # "quote": a quote never closed; "long": a line over LINE_LIMIT
    text: str = ""  # ``broken``: its first line
    column: int = 0  # "quote": the 1-based column the quote opened in


class _Unclosed(Exception):
    """The record being read runs past QUOTED_LINES_LIMIT lines, or into a line over LINE_LIMIT."""


class _TooLong(Exception):
    """The record being read starts with a line over LINE_LIMIT."""


def _too_long(line: str) -> bool:
    # a character is at most 4 bytes of UTF-8: count bytes only for a line that may be too long
    return len(line) > LINE_LIMIT // 4 and len(line.rstrip("\r\n").encode("utf-8", "surrogatepass")) > LINE_LIMIT


class _Lines:
    """The lines of an open text file from line ``first`` on, for ``csv.reader``, numbered;
    ``taken`` holds those of the record being read. Lines given back are handed out again.

    A record may take at most :data:`~analytics.ingest.raw.QUOTED_LINES_LIMIT` lines, and no
    line over :data:`~analytics.ingest.raw.LINE_LIMIT` bytes: past either, the reader is
    stopped (:class:`_Unclosed`, :class:`_TooLong`).
    """

    def __init__(self, fh: TextIO, first: int) -> None:
        self._lines = iter(fh)
        self._number = first - 1
        self._again: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []
        self.ran_out = False  # the file ended inside the record

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        taken = self.taken
        if self._again:
            number, text = self._again.popleft()
        else:
            text = next(self._lines, None)
            if text is None:
                self.ran_out = bool(taken)
                raise StopIteration
            self._number += 1
            number = self._number
        if len(taken) >= QUOTED_LINES_LIMIT or _too_long(text):
            if taken:
                self._again.appendleft((number, text))
                raise _Unclosed
            taken.append((number, text))
            raise _TooLong
        taken.append((number, text))
        return text

    def give_back(self, items: list[tuple[int, str]]) -> None:
        """Hand ``items`` out again, before any other line."""
        self._again.extendleft(reversed(items))


def _well_formed(lines: list[str], delimiter: str) -> bool:
    """Whether ``lines`` read as one record of strict CSV: each quoted value closed, and by a
    quote followed by a delimiter or the line's end."""
    try:
        for _ in csv.reader(lines, delimiter=delimiter, strict=True):
            pass
    except csv.Error:
        return False
    return True


def _records(fh: TextIO, delimiter: str, first: int) -> Iterator[tuple[int, list[str], int, str | None, str, int]]:
    """Each record from line ``first`` on (``fh`` is there), as the fields of a :class:`_Record`.

    A record of one line is read as Python's ``csv`` module reads it. One that spans lines
    (a quoted value holding line breaks) must be well-formed (:func:`_well_formed`), end
    before the file does and span at most :data:`~analytics.ingest.raw.QUOTED_LINES_LIMIT`
    lines; else it is no record: its first line is a ``broken`` record (a quote never closed)
    and the lines after it are read again. A line over
    :data:`~analytics.ingest.raw.LINE_LIMIT` bytes is a ``broken`` record of its own.
    """
    if delimiter == SPACES:
        for number, line in enumerate(fh, start=first):
            if _too_long(line):
                yield number, [], 1, "long", line.rstrip("\r\n"), 0
            else:
                yield number, split_spaces(line), 1, None, "", 0
        return
    lines = _Lines(fh, first)
    taken = lines.taken
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        taken.clear()
        broken = None
        try:
            cells = next(reader, None)
        except _TooLong:
            cells, broken = [], "long"
        except (_Unclosed, csv.Error):  # csv.Error: a quoted value longer than a line may be
            cells, broken = [], "quote"
        if cells is None:
            return
        if broken is None and not lines.ran_out and (len(taken) == 1 or _well_formed([t for _, t in taken], delimiter)):
            yield taken[0][0], cells, len(taken), None, "", 0
            continue
        lines.ran_out = False
        number, text = taken[0]
        if broken == "long":
            yield number, [], 1, "long", text.rstrip("\r\n"), 0
        else:
            # the quote left open at the end of the first line is in its last cell
            head = next(csv.reader([text], delimiter=delimiter), [])
            yield number, head, 1, "quote", text.rstrip("\r\n"), len(head)
        lines.give_back(taken[1:])
        reader = csv.reader(lines, delimiter=delimiter)


def read_text_python(con: duckdb.DuckDBPyConnection, raw: RawTable, codec: str) -> None:
    """Load the rows below ``raw``'s header (all of them, for a file without one) with Python's
    ``csv`` module (or a split at runs of spaces) into the raw table, each with its exact first
    line; blank lines and malformed rows are recorded in ``raw``."""
    width = len(raw.headers)
    create_raw(con, raw.table, width)
    blanks: list[int] = []
    malformed: list[Malformed] = []
    batch: list[list[object]] = [[] for _ in range(width + 1)]
    records = 0
    delimiter = raw.delimiter or ","
    first = raw.first_line
    with _open(raw.path, codec, delimiter) as fh:
        for _ in range(first - 1):
            fh.readline()
        for start, cells, _lines, broken, text, column in _records(fh, delimiter, first):
            records += 1
            if broken:
                reason = REASON_LONG_LINE if broken == "long" else unclosed_quote(column, raw.headers)
                malformed.append(Malformed(start, text, reason))
                continue
            # an empty line, or one of spaces only (not a row of empty cells)
            if not cells or (len(cells) != width and all(not c.strip() for c in cells)):
                blanks.append(start)
                continue
            if len(cells) != width:
                text = (" " if delimiter == SPACES else delimiter).join(cells)
                malformed.append(Malformed(start, text, f"expected {width} cells, found {len(cells)}"))
                continue
            batch[0].append(start)
            for i, cell in enumerate(cells, start=1):
                batch[i].append(cell if cell != "" else None)
            if len(batch[0]) >= PYTHON_BATCH_ROWS:
                flush(con, raw.table, batch)
                batch = [[] for _ in range(width + 1)]
    flush(con, raw.table, batch)
    raw.blank_lines = blanks
    raw.malformed = malformed
    raw.rows_read = records
    raw.reader = "python"
