"""CSV and TSV files: encoding, delimiter and header, then one of two readers.

The encoding is detected (or checked, when the user names it), the delimiter sniffed from
the top lines and the header searched among them: a title line above the header is common.
Then the rows take one of two paths that give identical results:

* DuckDB's reader (fast, parallel; :mod:`analytics.ingest.duckdb_csv`), which checks
  itself after staging's one scan; a file that fails the check is read again.
* Python's ``csv`` module, which tracks line numbers exactly, loaded in batches
  (:func:`read_text_python`).
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from analytics.errors import FileReadError
from analytics.ingest.duckdb_csv import open_duckdb_csv
from analytics.ingest.encoding import check_declared, detect_encoding, fingerprint_later, quick_encoding
from analytics.ingest.raw import (
    HEADER_SEARCH_ROWS,
    PYTHON_BATCH_ROWS,
    Malformed,
    RawTable,
    create_raw,
    flush,
    header_names,
    pick_header,
    score_header,
    table_name,
)


def _sniff_delimiter(lines: list[str], fmt: str) -> str:
    """The delimiter: the one whose split of some top line names the most known columns
    (a header); without any known names, the one splitting the lines most consistently."""
    if fmt == "tsv":
        return "\t"
    best, best_score = ",", (0, 0)
    for delim in (",", "\t", ";", "|"):
        rows = [r for r in csv.reader([ln.rstrip("\r\n") for ln in lines], delimiter=delim) if r]
        if not rows:
            continue
        named = max(score_header(r) for r in rows[:HEADER_SEARCH_ROWS])
        counts = [len(r) for r in rows]
        mode = max(set(counts), key=counts.count)
        score = (named, counts.count(mode) * (mode > 1) * mode)
        if score > best_score:
            best, best_score = delim, score
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
    """Read a CSV or TSV file into a raw table on ``con``.

    Parameters
    ----------
    con, path, encoding, header_row, force_python, verify_encoding
        As for :func:`analytics.ingest.readers.read_file`.
    fmt
        ``csv`` or ``tsv`` (a TSV file is split at tabs, a CSV file at the delimiter sniffed).

    Returns
    -------
    RawTable
        For DuckDB's reader, a view whose lines are resolved after staging's scan.

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
    # Header search over physical lines: a title line above the header is common.
    rows = [(i + 1, next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), []))
            for i, line in enumerate(top)]
    if header_row is not None:
        if header_row < 1 or header_row > len(rows):
            raise FileReadError(f"{path.name}: header row {header_row} is outside the file "
                                f"(its first {len(rows)} lines were read)")
        cells = rows[header_row - 1][1]
    else:
        header_row, cells = pick_header(rows)
    headers = header_names(cells)
    raw = RawTable(path=path, file_format=fmt, encoding=codec, content_hash="",
                   headers=headers, header_row=header_row, table=table_name(),
                   rows_read=0, delimiter=delimiter, facts=facts)
    if force_python:
        read_text_python(con, raw, codec)
    else:
        open_duckdb_csv(con, raw, codec)
    return raw


def read_text_python(con: duckdb.DuckDBPyConnection, raw: RawTable, codec: str) -> None:
    """Load the rows below ``raw``'s header with Python's ``csv`` module into the raw table,
    each with its exact first line; blank lines and malformed rows are recorded in ``raw``."""
    assert raw.header_row is not None
    width = len(raw.headers)
    create_raw(con, raw.table, width)
    blanks: list[int] = []
    malformed: list[Malformed] = []
    batch: list[list[object]] = [[] for _ in range(width + 1)]
    records = 0
    with raw.path.open("r", encoding=codec, newline="") as fh:
        for _ in range(raw.header_row):
            fh.readline()
        reader = csv.reader(fh, delimiter=raw.delimiter or ",")
        line_before = 0
        for cells in reader:
            start = raw.header_row + line_before + 1
            line_before = reader.line_num
            records += 1
            # an empty line, or one of spaces only (not a row of empty cells)
            if not cells or (len(cells) != width and all(not c.strip() for c in cells)):
                blanks.append(start)
                continue
            if len(cells) != width:
                text = (raw.delimiter or ",").join(cells)
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
