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
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import duckdb

from analytics.errors import FileReadError
from analytics.ingest.duckdb_csv import open_duckdb_csv
from analytics.ingest.encoding import bom_note, check_declared, detect_encoding, fingerprint_later, quick_encoding
from analytics.ingest.raw import (
    HEADER_SEARCH_ROWS,
    PYTHON_BATCH_ROWS,
    SPACES,
    Malformed,
    RawTable,
    create_raw,
    find_header,
    flush,
    score_header,
    split_spaces,
    table_name,
)

NOTE_SPACES = "the columns are separated by runs of spaces (spaces at the start and end of a line are ignored)"


def _split(line: str, delimiter: str) -> list[str]:
    """The cells of one physical line."""
    if delimiter == SPACES:
        return split_spaces(line)
    return next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])


def _consistency(rows: list[list[str]]) -> tuple[int, int]:
    """(the most common number of cells, how many rows have it) among non-empty rows."""
    counts = [len(r) for r in rows if r]
    if not counts:
        return 0, 0
    mode = max(set(counts), key=counts.count)
    return mode, counts.count(mode)


def _sniff_delimiter(lines: list[str], fmt: str) -> str:
    """The delimiter: the one whose split of some top line names the most known columns
    (a header); without any known names, the one splitting the lines most consistently.
    When none of ``,`` tab ``;`` ``|`` splits the lines, :data:`~analytics.ingest.raw.SPACES`
    if most lines split into the same number (two or more) of cells at runs of spaces."""
    if fmt == "tsv":
        return "\t"
    best, best_score = ",", (0, 0)
    for delim in (",", "\t", ";", "|"):
        rows = [r for r in csv.reader([ln.rstrip("\r\n") for ln in lines], delimiter=delim) if r]
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


def _top_lines(path: Path, codec: str, n: int = 60) -> list[str]:
    with path.open("r", encoding=codec, newline="") as fh:
        lines = []
        for _ in range(n):
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
    top = _top_lines(path, codec)
    if not top:
        raise FileReadError(f"{path.name}: the file is empty")
    delimiter = _sniff_delimiter(top, fmt)
    if delimiter == SPACES and codec == "utf-8" and not (encoding or verify_encoding or force_python):
        # Its tab-separated copy for DuckDB is decoded here, in Python: a byte past the first
        # megabyte that is not UTF-8 (a GBK line deep in the file) must be found before.
        codec = detect_encoding(path)
        if codec != "utf-8":
            top = _top_lines(path, codec)
    # Header search over physical lines: a title line above the header is common.
    rows = [(i + 1, _split(line, delimiter)) for i, line in enumerate(top)]
    header = find_header(rows, header_row, f"{path.name}: header row {header_row} is outside the file "
                                           f"(its first {len(rows)} lines were read)")
    notes = [note for note in (header.note, NOTE_SPACES if delimiter == SPACES else None, bom_note(codec)) if note]
    raw = RawTable(path=path, file_format=fmt, encoding=codec, content_hash="",
                   headers=header.names, header_row=header.row, table=table_name(),
                   rows_read=0, delimiter=delimiter, facts=facts, samples=header.samples, notes=notes)
    if force_python:
        read_text_python(con, raw, codec)
    else:
        open_duckdb_csv(con, raw, codec)
    return raw


def _records(fh: TextIO, delimiter: str, first: int) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each record from line ``first`` on (``fh`` is there)."""
    if delimiter == SPACES:
        for number, line in enumerate(fh, start=first):
            yield number, split_spaces(line)
        return
    reader = csv.reader(fh, delimiter=delimiter)
    line_before = 0
    for cells in reader:
        yield first + line_before, cells
        line_before = reader.line_num


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
    first = (raw.header_row or 0) + 1
    # lines of spaces end at a line feed only, as in DuckDB's tab-separated copy (a lone
    # carriage return is white space there)
    with raw.path.open("r", encoding=codec, newline="\n" if delimiter == SPACES else "") as fh:
        for _ in range(first - 1):
            fh.readline()
        for start, cells in _records(fh, delimiter, first):
            records += 1
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
