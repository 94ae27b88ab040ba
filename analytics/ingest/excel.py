"""Excel ``.xlsx`` workbooks, read with openpyxl (read-only, cached values).

The sheet is the one asked for (by name or 1-based position) or else the first that looks
like a table of known columns; each row keeps its sheet row number as its line, and each
cell becomes the text a person sees in it. Rows with no value are blank lines; trailing
ones are not counted. A sheet whose first row is data has no header row: its columns are
named ``column 1``, ``column 2``, ... by position (see :func:`~analytics.ingest.raw.find_header`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

import duckdb

from analytics.errors import FileReadError
from analytics.ingest.encoding import sha256
from analytics.ingest.raw import (
    HEADER_SEARCH_ROWS,
    PYTHON_BATCH_ROWS,
    RawTable,
    create_raw,
    find_header,
    flush,
    score_header,
    table_name,
)


def _excel_text(value: object) -> str | None:
    """A cell as the text a person sees in it (dates in ISO form)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value)
    return text if text.strip() != "" else None


def read_excel(con: duckdb.DuckDBPyConnection, path: Path, sheet: str | int | None,
               header_row: int | None) -> RawTable:
    """Read a sheet of an ``.xlsx`` workbook into a raw table on ``con``.

    Parameters
    ----------
    con, path, sheet, header_row
        As for :func:`analytics.ingest.readers.read_file`.

    Returns
    -------
    RawTable

    Raises
    ------
    FileReadError
        For a damaged workbook, or a sheet or header row that is not there.
    """
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise FileReadError(f"{path.name}: not a readable .xlsx workbook ({exc})") from exc
    try:
        names = list(book.sheetnames)
        candidates: list[str]
        if sheet is None:
            candidates = names
        elif isinstance(sheet, int) or str(sheet).isdigit():
            pos = int(sheet)
            if not 1 <= pos <= len(names):
                raise FileReadError(f"{path.name} has {len(names)} sheets; there is no sheet {pos}")
            candidates = [names[pos - 1]]
        elif sheet in names:
            candidates = [str(sheet)]
        else:
            raise FileReadError(f"{path.name} has no sheet {sheet!r}; its sheets are: {', '.join(names)}")
        chosen, top = candidates[0], None
        for name in candidates:
            rows = _excel_top(book[name])
            if top is None:
                chosen, top = name, rows
            if sheet is not None or any(score_header(r) >= 2 for _, r in rows[:HEADER_SEARCH_ROWS]):
                chosen, top = name, rows
                break
        assert top is not None
        header = find_header(top, header_row, f"{path.name}: header row {header_row} is outside sheet {chosen!r}")
        first = (header.row or 0) + 1
        width = len(header.names)
        raw = RawTable(path=path, file_format="xlsx", encoding=None, content_hash=sha256(path),
                       headers=header.names, header_row=header.row, table=table_name(), rows_read=0,
                       sheet=chosen, sheets=names, reader="openpyxl", samples=header.samples,
                       notes=[header.note] if header.note else [])
        create_raw(con, raw.table, width)
        batch: list[list[object]] = [[] for _ in range(width + 1)]
        records = 0
        for number, values in _excel_rows(book[chosen], first):
            records += 1
            texts = [_excel_text(v) for v in values[:width]] + [None] * max(0, width - len(values))
            if all(t is None for t in texts):
                raw.blank_lines.append(number)
                continue
            batch[0].append(number)
            for i, t in enumerate(texts, start=1):
                batch[i].append(t)
            if len(batch[0]) >= PYTHON_BATCH_ROWS:
                flush(con, raw.table, batch)
                batch = [[] for _ in range(width + 1)]
        flush(con, raw.table, batch)
        # trailing empty rows are not rows a person would count
        while raw.blank_lines and raw.blank_lines[-1] == first - 1 + records:
            raw.blank_lines.pop()
            records -= 1
        raw.rows_read = records
        return raw
    finally:
        book.close()


def _excel_rows(ws: object, start: int) -> Iterator[tuple[int, tuple[object, ...]]]:
    yield from enumerate(ws.iter_rows(min_row=start, values_only=True), start=start)


def _excel_top(ws: object) -> list[tuple[int, list[object]]]:
    """The top rows of a sheet, each as the texts of its cells up to its last value."""
    rows = []
    for number, values in _excel_rows(ws, 1):
        texts = [_excel_text(v) for v in values]
        while texts and texts[-1] is None:
            texts.pop()
        rows.append((number, texts))
        if number >= HEADER_SEARCH_ROWS + 10:
            break
    return rows
