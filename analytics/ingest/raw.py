"""The raw table every reader produces, and what building one takes.

A raw table is a temporary table (a view, for DuckDB's CSV reader) with a ``_line`` column
(the line of a CSV/TSV file, the row of an Excel sheet, the row number of a Parquet file,
1-based, as a person would find it in the file) and the file's columns as text
``c0 .. cN``; :class:`RawTable` describes it. The readers share the header search (the first
of the top rows that names known columns), the header names, the table's name and the
loading of rows read in Python, in batches.
"""

from __future__ import annotations

import uuid
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

_ALL_SYNONYMS = frozenset(
    normalize_header(s) for cols in COLUMNS.values() for c in cols for s in c.synonyms
)


@dataclass(frozen=True)
class Malformed:
    """A line that is not a well-formed row (wrong number of cells)."""

    line: int
    text: str
    reason: str


@dataclass
class RawTable:
    """A file read into the relation ``table`` (``c0`` .. ``cN``, and ``_line`` if ``has_lines``).

    For DuckDB's CSV reader ``table`` is a view that is scanned once, by staging; then
    :func:`~analytics.ingest.duckdb_csv.resolve_lines` works out the lines and fills ``rows_read``, ``blank_lines``
    and ``malformed``.
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

    def settle(self) -> None:
        """Wait for the content hash computed in the background."""
        if self.facts is not None:
            self.content_hash = self.facts.result()[0]

    @property
    def encoding_label(self) -> str:
        """The encoding as shown to a person."""
        if self.encoding is None:
            return "—"
        return ENCODING_LABELS.get(self.encoding, self.encoding)


def score_header(cells: list[object]) -> int:
    """How many of ``cells`` name a known column (by any synonym)."""
    return sum(1 for c in cells if c is not None and normalize_header(str(c)) in _ALL_SYNONYMS)


def pick_header(rows: list[tuple[int, list[object]]]) -> tuple[int, list[object]]:
    """The (row number, cells) of the header among the top rows of a file."""
    nonempty = [(n, r) for n, r in rows if any(c not in (None, "") for c in r)]
    if not nonempty:
        raise FileReadError("the file has no rows")
    for n, cells in nonempty[:HEADER_SEARCH_ROWS]:
        if score_header(cells) >= 2:
            return n, cells
    return nonempty[0]


def header_names(cells: list[object]) -> list[str]:
    """Column names from header cells: an empty cell named by its Excel letter
    (``column C``), a repeated name numbered (``amount (2)``)."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = str(cell).strip() if cell not in (None, "") else f"column {_excel_letter(i)}"
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
