"""Reading an input file into a raw DuckDB table of text, line numbers kept.

Every reader produces the same thing (:class:`~analytics.ingest.raw.RawTable`): a temporary
table with a ``_line`` column (the line of a CSV/TSV file, the row of an Excel sheet, the
row number of a Parquet file, 1-based, as a person would find it in the file) and the
file's columns as text ``c0 .. cN``. Parsing values is staging's job
(:mod:`analytics.ingest.staging`); a reader only has to get every cell of every row, in the
right place, decoded right.

:func:`read_file` picks the reader by the file name: CSV/TSV
(:mod:`analytics.ingest.text_files`, with DuckDB's reader in
:mod:`analytics.ingest.duckdb_csv`), Excel (:mod:`analytics.ingest.excel`) or Parquet
(:mod:`analytics.ingest.parquet`). Encodings are recognised in
:mod:`analytics.ingest.encoding`. A text or Excel file whose first line is data has no
header row: its columns are named ``column 1``, ``column 2``, ... by position, and a file
of whitespace-aligned columns is split at runs of spaces; the raw table's ``notes`` say so.
:func:`peek` reads just a file's columns and a few values of each, for mapping them by hand.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from analytics.errors import FileReadError
from analytics.ingest.duckdb_csv import discard, resolve_lines
from analytics.ingest.encoding import ENCODING_LABELS, true_format
from analytics.ingest.excel import read_excel
from analytics.ingest.parquet import read_parquet
from analytics.ingest.raw import RawTable
from analytics.ingest.text_files import read_text

__all__ = [
    "ENCODING_LABELS", "EXCEL_FORMATS", "PARQUET_FORMATS", "TEXT_FORMATS", "RawTable", "discard", "file_format",
    "peek", "read_file", "resolve_lines",
]

TEXT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "csv"}
EXCEL_FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsx"}
PARQUET_FORMATS = {".parquet": "parquet", ".pq": "parquet"}


def file_format(path: Path) -> str:
    """``csv``, ``tsv``, ``xlsx`` or ``parquet`` from the file name.

    Raises
    ------
    FileReadError
        For an unsupported kind of file (``.xls`` included: save it as ``.xlsx``).
    """
    suffix = path.suffix.lower()
    for table in (TEXT_FORMATS, EXCEL_FORMATS, PARQUET_FORMATS):
        if suffix in table:
            return table[suffix]
    if suffix == ".xls":
        raise FileReadError(f"{path.name}: old Excel .xls files are not read; "
                            "open it in Excel and save it as .xlsx (or CSV)")
    raise FileReadError(f"{path.name}: unsupported file type {suffix or '(none)'}; "
                        "use CSV, TSV, Excel .xlsx or Parquet")


def read_file(con: duckdb.DuckDBPyConnection, path: str | Path, *, encoding: str | None = None,
              sheet: str | int | None = None, header_row: int | None = None,
              force_python: bool = False, verify_encoding: bool = False) -> RawTable:
    """Read ``path`` into a new temporary table on ``con``.

    Parameters
    ----------
    con
        The cursor that will stage the import (temporary tables are per connection).
    path
        A CSV, TSV, ``.xlsx`` or Parquet file.
    encoding
        For text files: the encoding, when the user knows it; default: detected.
    sheet
        For Excel: the sheet name or 1-based position; default the first sheet that
        looks like a table of known columns.
    header_row
        The 1-based line (row) of the column names; ``0``: the file has no header row (its
        columns are named ``column 1``, ``column 2``, ... by position); default detected: the
        first of the top 30 rows that names two or more known columns, else none when the
        first line is data (no known names, values such as ids, numbers and dates rather
        than words), else the first line. Parquet files name their columns themselves.
    force_python
        Read CSV with Python's ``csv`` module even where DuckDB's reader would do
        (tests use it to check that both paths agree).
    verify_encoding
        Check every byte of a text file before reading it (the pipeline asks for it when
        DuckDB's reader found the file is not UTF-8 after all).

    Returns
    -------
    RawTable

    Raises
    ------
    FileReadError, EncodingNotDetected
    """
    path = Path(path)
    if not path.is_file():
        raise FileReadError(f"{path}: no such file")
    fmt, note = file_format(path), None
    if fmt in ("csv", "tsv"):  # an Excel or Parquet file renamed .csv is read as what it is
        fmt, note = true_format(path, fmt)
    if fmt == "parquet":
        raw = read_parquet(con, path)
    elif fmt == "xlsx" and note:  # openpyxl goes by the name's suffix: read it under its true one
        with tempfile.TemporaryDirectory() as folder:
            link = Path(folder) / f"{path.stem}.xlsx"
            link.symlink_to(path.resolve())
            raw = read_excel(con, link, sheet, header_row)
        raw.path = path
    elif fmt == "xlsx":
        raw = read_excel(con, path, sheet, header_row)
    else:
        return read_text(con, path, fmt, encoding, header_row, force_python, verify_encoding)
    raw.notes.extend([note] if note else [])
    return raw


def peek(con: duckdb.DuckDBPyConnection, path: str | Path, *, encoding: str | None = None,
         sheet: str | int | None = None, header_row: int | None = None) -> RawTable:
    """A file's columns as the pipeline reads them, for mapping them by hand: the returned
    table's ``headers``, ``samples`` (a few values of each column), ``header_row`` and
    ``notes`` are filled; its rows are not read through.

    Reads on a cursor of its own that is closed before returning (its temporary tables go
    with it).

    Parameters
    ----------
    con
        The CRM database connection.
    path, encoding, sheet, header_row
        As for :func:`read_file`.

    Returns
    -------
    RawTable
        Its relation is gone: use only what describes the columns.

    Raises
    ------
    FileReadError, EncodingNotDetected
    """
    cur = con.cursor()
    try:
        raw = read_file(cur, path, encoding=encoding, sheet=sheet, header_row=header_row)
        discard(cur, raw)  # the CSV view is never scanned: let its checks finish, drop the transcoded copy
        return raw
    finally:
        cur.close()
