"""Excel ``.xlsx`` workbooks, read with openpyxl (read-only, cached values).

The sheet is the one asked for (by name or 1-based position) or else the first that looks
like a table of known columns, visible sheets before hidden ones; the report's notes name the
sheets not imported (hidden ones, and those that also look like data). Each row keeps its sheet
row number as its line, and each cell becomes the text a person sees in it: a number whose
format pads it with zeros (``000000``: 424 shows as ``000424``) as shown, a whole number without
``.0``. A region of merged cells below the header shows its top-left value in every cell, and
is read so; a formula without a saved value (a workbook written by a program that does not
calculate formulas) reads as empty, and the report says which cells those are. Rows with no
value are blank lines; trailing ones are not counted. A sheet whose first row is data has no
header row: its columns are named ``column 1``, ``column 2``, ... by position (see
:func:`~analytics.ingest.raw.find_header`).

openpyxl's read-only mode, the fast one, does not give merged ranges nor tell a formula
without a value from an empty cell: both are read from the sheet's XML inside the file
(:func:`_scan_sheet`: one streaming pass over the decompressed bytes, about 2 % of the time
openpyxl takes; the formula cells are parsed only when the sheet has formulas without a value).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import duckdb
import pyarrow as pa

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

_RECALC = ("the program that wrote the workbook does not calculate formulas; open it in Excel or WPS, "
           "save it and import it again")
NOTE_OTHER_SHEETS = "other sheets, not imported: {sheets}; choose the sheet to import another one"
NOTE_HIDDEN_CHOSEN = "the sheet imported, '{sheet}', is hidden in the workbook"
NOTE_MERGED = "merged cells filled with the value of their top-left cell: {cells} cells in {ranges} ranges ({listed})"
NOTE_FORMULAS = "{n} cells are formulas without a saved value (e.g. {cells}) and read as empty: " + _RECALC
NOTE_PADDED = "{n} numbers were read as their cells show them, zero-padded by their number format (e.g. {example})"
REASON_FORMULA = " is a formula without a saved value (cell {cell}): " + _RECALC  # after the column's name

_STATE_ORDER = {"visible": 0, "hidden": 1, "veryHidden": 2}
_STATE_WORDS = {"hidden": "hidden", "veryHidden": "very hidden"}
_SHEETS_LOOKED_AT = 30  # sheets whose top rows are read to tell whether they look like data
_LISTED = 5  # merged ranges and formula cells named in a note
_PADDING = re.compile(r"[0#]*0[0#]*")  # a number format of digit places only: 000000, 00000#
_NS = rb"(?:[A-Za-z_][\w.-]*:)?"  # an XML namespace prefix
# the end of a formula cell without a saved value: <f>..</f> or <f ../>, then no <v> or an empty one, then </c>
_FORMULA_NO_VALUE = re.compile(rb"(?:</" + _NS + rb"f>|<" + _NS + rb"f\b[^>]*/>)\s*(?:<" + _NS + rb"v\s*/>|<" + _NS
                               + rb"v>\s*</" + _NS + rb"v>)?\s*</" + _NS + rb"c>")
_MERGE_CELL = re.compile(rb"<" + _NS + rb"mergeCell\b[^>]*?\bref=\"([A-Z]{1,3}[0-9]+(?::[A-Z]{1,3}[0-9]+)?)\"")
_CELL_REF = re.compile(r"([A-Z]{1,3})([0-9]+)")
_CHUNK = 1 << 20
_OVERLAP = 512  # bytes carried from one chunk to the next: longer than any tag looked for


@dataclass
class SheetTable(RawTable):
    """A raw table read from a sheet; ``formula_cells`` maps (line, 0-based column) of the
    formulas without a saved value to their cell reference (``F2``)."""

    formula_cells: dict[tuple[int, int], str] = field(default_factory=dict)

    def explain_rejects(self, cur: duckdb.DuckDBPyConnection, staged: str) -> None:
        """Reword the rejects ``<column> is empty`` of the formula cells without a saved value:
        the cell is a formula, named with its reference (:data:`REASON_FORMULA`)."""
        cells = [(line, self.headers[col], ref) for (line, col), ref in self.formula_cells.items()
                 if col < len(self.headers)]
        if not cells:
            return
        found = pa.table({"line": [c[0] for c in cells], "header": [c[1] for c in cells],
                          "ref": [c[2] for c in cells]})
        cur.register("_crm_formula_cells", found)
        try:
            before, after = REASON_FORMULA.split("{cell}")
            cur.execute(f"update {staged}_rejects r set reason = regexp_extract(r.reason, '^(.*?) is empty', 1) "
                        f"|| ? || f.ref || ? from _crm_formula_cells f where r.line = f.line "
                        f"and r.column_name = f.header and r.value is null and r.reason like '% is empty%'",
                        [before, after])
        finally:
            cur.unregister("_crm_formula_cells")


@dataclass
class _Reading:
    """What reading the cells found: numbers shown zero-padded by their format (how many, the first)."""

    padded: int = 0
    example: str | None = None


def _excel_text(value: object) -> str | None:
    """A cell's value as the text a person sees in it (dates in ISO form)."""
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


def _padded(number: int, fmt: str) -> str:
    """A whole number as a format of digit places shows it: digits right-aligned, a ``0`` place
    without a digit shows 0, a ``#`` place nothing (``00000#``: 424 → ``000424``)."""
    digits = str(abs(number)) if number else ""
    shown = digits[:max(len(digits) - len(fmt), 0)]
    places = fmt[::-1]
    tail = [digits[-1 - i] if i < len(digits) else ("0" if p == "0" else "") for i, p in enumerate(places)]
    text = shown + "".join(reversed(tail))
    return ("-" if number < 0 else "") + (text or "0")


def _cell_text(cell: object, reading: _Reading) -> str | None:
    """A cell as the text a person sees in it: a whole number in a zero-padding format padded."""
    value = cell.value
    kind = type(value)
    if kind is str:  # most cells: a fast way through
        return value if value and not value.isspace() else None
    if (kind is int or kind is float) and float(value).is_integer():
        fmt = str(cell.number_format).split(";")[0]
        if _PADDING.fullmatch(fmt):
            text = _padded(int(value), fmt)
            if text != str(int(value)):
                reading.padded += 1
                reading.example = reading.example or f"{int(value)} → {text}"
            return text
        return str(int(value))
    return _excel_text(value)


def read_excel(con: duckdb.DuckDBPyConnection, path: Path, sheet: str | int | None,
               header_row: int | None) -> RawTable:
    """Read a sheet of an ``.xlsx`` workbook into a raw table on ``con``.

    Parameters
    ----------
    con, path, sheet, header_row
        As for :func:`analytics.ingest.readers.read_file`.

    Returns
    -------
    SheetTable
        A raw table; its ``notes`` say which other sheets there are, which merged cells were
        filled, which cells are formulas without a saved value and how many numbers were read
        zero-padded by their format.

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
        chosen, top, notes = _choose_sheet(book, path, sheet)
        ws = book[chosen]
        if header_row and top and header_row > top[-1][0]:  # a header chosen below the rows searched
            top = _excel_top(ws, until=header_row + 10)
        header = find_header(top, header_row, f"{path.name}: header row {header_row} is outside sheet {chosen!r}")
        first = (header.row or 0) + 1
        width = len(header.names)
        raw = SheetTable(path=path, file_format="xlsx", encoding=None, content_hash=sha256(path),
                         headers=header.names, header_row=header.row, table=table_name(), rows_read=0,
                         sheet=chosen, sheets=names, reader="openpyxl", samples=header.samples,
                         notes=([header.note] if header.note else []) + notes)
        merges, unsaved = _scan_sheet(path, getattr(ws, "_worksheet_path", None))
        merged = _Merges(merges, first, width)
        reading = _Reading()
        create_raw(con, raw.table, width)
        batch: list[list[object]] = [[] for _ in range(width + 1)]
        records = 0
        for number, cells in _excel_rows(ws, first):
            records += 1
            texts = [_cell_text(c, reading) for c in cells[:width]] + [None] * max(0, width - len(cells))
            merged.fill(number, texts)
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
        if unsaved:
            last = first - 1 + records
            raw.formula_cells = {(row, col): ref for row, col, ref in
                                 _formulas_without_value(path, getattr(ws, "_worksheet_path", ""))
                                 if first <= row <= last and col < width}
        raw.notes += _reading_notes(raw, merged, reading)
        return raw
    finally:
        book.close()


def _reading_notes(raw: SheetTable, merged: _Merges, reading: _Reading) -> list[str]:
    """The notes of what reading the cells found: merged cells filled, formulas without a value,
    numbers padded by their format."""
    notes = []
    if merged.filled:
        listed = ", ".join(merged.used[:_LISTED]) + (", …" if len(merged.used) > _LISTED else "")
        notes.append(NOTE_MERGED.format(cells=merged.filled, ranges=len(merged.used), listed=listed))
    if raw.formula_cells:
        refs = [raw.formula_cells[k] for k in sorted(raw.formula_cells)[:_LISTED]]
        notes.append(NOTE_FORMULAS.format(n=len(raw.formula_cells), cells=", ".join(refs)))
    if reading.padded:
        notes.append(NOTE_PADDED.format(n=reading.padded, example=reading.example))
    return notes


def _choose_sheet(book: object, path: Path, sheet: str | int | None) -> tuple[str, list, list[str]]:
    """The sheet to read, its top rows, and the notes naming the other sheets.

    Chosen automatically, the first sheet that looks like a table of known columns (two known
    names among its top rows), visible sheets before hidden and very hidden ones; else the first
    visible sheet. Chart sheets have no cells and are never chosen."""
    names = list(book.sheetnames)
    tables = [ws.title for ws in book.worksheets]
    if not tables:
        raise FileReadError(f"{path.name} has no sheet with cells (only charts)")
    if sheet is None:
        chosen = None
    elif isinstance(sheet, str) and sheet in names:  # a name first: a sheet may be named 2024
        chosen = sheet
    elif isinstance(sheet, int) or str(sheet).isdigit():
        pos = int(sheet)
        if not 1 <= pos <= len(names):
            raise FileReadError(f"{path.name} has {len(names)} sheets; there is no sheet {pos}")
        chosen = names[pos - 1]
    else:
        raise FileReadError(f"{path.name} has no sheet {sheet!r}; its sheets are: {', '.join(names)}")
    if chosen is not None and chosen not in tables:
        raise FileReadError(f"{path.name}: sheet '{chosen}' is a chart, not a table of cells")
    order = sorted(tables, key=lambda n: _STATE_ORDER.get(book[n].sheet_state, 0))
    tops = {name: _excel_top(book[name]) for name in order[:_SHEETS_LOOKED_AT] + ([chosen] if chosen else [])}
    looks = {name: any(score_header(r) >= 2 for _, r in top[:HEADER_SEARCH_ROWS]) for name, top in tops.items()}
    if chosen is None:
        chosen = next((n for n in order if looks.get(n)), order[0])
    others = []
    for name in (n for n in names if n != chosen):
        said = [w for w in (_STATE_WORDS.get(getattr(book[name], "sheet_state", "visible")),
                            "a table of known columns" if looks.get(name) else None) if w]
        others.append(f"'{name}'" + (f" ({'; '.join(said)})" if said else ""))
    notes = [NOTE_OTHER_SHEETS.format(sheets=", ".join(others))] if others else []
    if book[chosen].sheet_state != "visible":
        notes.append(NOTE_HIDDEN_CHOSEN.format(sheet=chosen))
    return chosen, tops[chosen], notes


class _Merges:
    """The merged ranges of a sheet that lie below its header, filled row by row as the rows are
    read: every cell of a range gets its top-left cell's text (within the table's ``width``)."""

    def __init__(self, refs: list[str], first: int, width: int):
        ranges = []
        for ref in refs:
            (c1, r1), (c2, r2) = (_cell_position(part) for part in (ref.split(":") * 2)[:2])
            if r1 >= first and c1 < width and (r2 > r1 or c2 > c1):
                ranges.append((r1, c1, r2, min(c2, width - 1), ref))
        self._waiting = sorted(ranges, reverse=True)  # popped from the end, by top row
        self._active: list[tuple[tuple[int, int, int, int, str], str | None]] = []
        self.filled = 0
        self.used: list[str] = []

    def fill(self, row: int, texts: list[str | None]) -> None:
        """Fill the cells of row ``row`` that merged ranges cover."""
        while self._waiting and self._waiting[-1][0] == row:
            region = self._waiting.pop()
            self._active.append((region, texts[region[1]]))
            if texts[region[1]] is not None:
                self.used.append(region[4])
        while self._waiting and self._waiting[-1][0] < row:  # a range that started on a row not read
            self._waiting.pop()
        if not self._active:
            return
        still = []
        for region, value in self._active:
            r1, c1, r2, c2, _ = region
            if value is not None:
                for col in range(c1, c2 + 1):
                    if row == r1 and col == c1:
                        continue
                    texts[col] = value
                    self.filled += 1
            if r2 > row:
                still.append((region, value))
        self._active = still


def _cell_position(ref: str) -> tuple[int, int]:
    """(0-based column, row) of a cell reference such as ``E12``."""
    match = _CELL_REF.fullmatch(ref)
    if match is None:
        raise ValueError(f"not a cell reference: {ref!r}")
    col = 0
    for letter in match.group(1):
        col = col * 26 + ord(letter) - 64
    return col - 1, int(match.group(2))


def _scan_sheet(path: Path, member: str | None) -> tuple[list[str], bool]:
    """The merged ranges (``A2:A5``, in reading order) of a sheet and whether it holds formulas
    without a saved value, from its XML inside the workbook: one streaming pass over the
    decompressed bytes (a workbook Excel saved, its formulas' values beside them, says no)."""
    if not member:
        return [], False
    merges: dict[str, None] = {}
    formulas = False
    carried = b""
    with zipfile.ZipFile(path) as archive, archive.open(member.lstrip("/")) as source:
        while chunk := source.read(_CHUNK):
            data = carried + chunk
            formulas = formulas or _FORMULA_NO_VALUE.search(data) is not None
            for match in _MERGE_CELL.finditer(data):
                merges[match.group(1).decode("ascii")] = None
            carried = data[-_OVERLAP:]
    found = list(merges)
    found.sort(key=lambda ref: tuple(reversed(_cell_position(ref.split(":")[0]))))
    return found, formulas


def _formulas_without_value(path: Path, member: str) -> Iterator[tuple[int, int, str]]:
    """(row, 0-based column, reference) of each formula cell without a saved value of a sheet,
    parsed from its XML: no ``<v>``, or an empty one in a cell that is not text (a formula whose
    value is the empty text is saved as ``t="str"`` with an empty ``<v>``)."""
    with zipfile.ZipFile(path) as archive, archive.open(member.lstrip("/")) as source:
        for _event, element in ET.iterparse(source, events=("end",)):
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "row":
                element.clear()
            elif tag == "c":
                kids = {child.tag.rsplit("}", 1)[-1]: child for child in element}
                value = kids.get("v")
                ref = element.get("r")
                empty = value is None or (not (value.text or "").strip() and element.get("t") != "str")
                if "f" in kids and empty and ref:
                    col, row = _cell_position(ref)
                    yield row, col, ref


def _excel_rows(ws: object, start: int) -> Iterator[tuple[int, tuple[object, ...]]]:
    yield from enumerate(ws.iter_rows(min_row=start), start=start)


def _excel_top(ws: object, until: int = HEADER_SEARCH_ROWS + 10) -> list[tuple[int, list[object]]]:
    """The top rows of a sheet (to row ``until``), each as the texts of its cells up to its last value."""
    rows = []
    reading = _Reading()
    for number, cells in _excel_rows(ws, 1):
        texts = [_cell_text(c, reading) for c in cells]
        while texts and texts[-1] is None:
            texts.pop()
        rows.append((number, texts))
        if number >= until:
            break
    return rows
