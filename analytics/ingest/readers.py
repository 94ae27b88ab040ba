"""Reading an input file into a raw DuckDB table of text, line numbers kept.

Every reader produces the same thing: a temporary table with a ``_line`` column (the
line of a CSV/TSV file, the row of an Excel sheet, the row number of a Parquet file,
1-based, as a person would find it in the file) and the file's columns as text
``c0 .. cN``. Parsing values is the importer's job; a reader only has to get every
cell of every row, in the right place, decoded right.

CSV/TSV files take one of two paths that give identical results:

* DuckDB's reader (fast, parallel), as a view that staging scans once. The staged rows
  keep the file's order, and the lines that are not data rows (the header and what is
  above it, blank lines, malformed lines DuckDB rejects) are known, so each row's line
  follows (:func:`resolve_lines`). The path checks itself: those counts must add up to
  the file's physical line count, and DuckDB must have found only valid UTF-8. A file
  that fails either check (a quoted value holding a line break, mixed line endings, a
  non-UTF-8 byte deep in the file) is read again.
* Python's ``csv`` module, which tracks line numbers exactly, loaded in batches.

Encodings: UTF-8, UTF-8 with BOM, UTF-16 with BOM and GB18030 (a superset of GBK, what
Chinese Excel writes) are recognised; anything else must be named by the user.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import duckdb
import pyarrow as pa

from analytics.errors import EncodingNotDetected, FileReadError
from analytics.ingest.schema import COLUMNS, normalize_header
from analytics.paths import work_dir

CHUNK = 16 * 1024 * 1024
TEXT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "csv"}
EXCEL_FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsx"}
PARQUET_FORMATS = {".parquet": "parquet", ".pq": "parquet"}
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16",
    "gb18030": "GB18030/GBK",
}
HEADER_SEARCH_ROWS = 30
PYTHON_BATCH_ROWS = 100_000

# Hashing and line counting of big files run beside DuckDB's scan (both release the GIL).
_BACKGROUND = ThreadPoolExecutor(max_workers=2, thread_name_prefix="crm-file")

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
    :func:`resolve_lines` works out the lines and fills ``rows_read``, ``blank_lines``
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
    pending: _PendingCsv | None = None
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
        The 1-based line (row) of the column names; default detected: the first of the
        top 30 rows that names two or more known columns.
    force_python
        Read CSV with Python's ``csv`` module even where DuckDB's reader would do
        (tests use it to check that both paths agree).
    verify_encoding
        Check every byte of a text file before reading it (the importer asks for it when
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
    fmt = file_format(path)
    if fmt == "xlsx":
        return _read_excel(con, path, sheet, header_row)
    if fmt == "parquet":
        return _read_parquet(con, path)
    return _read_text(con, path, fmt, encoding, header_row, force_python, verify_encoding)


# --------------------------------------------------------------------------- encodings

def _sha256(path: Path) -> str:
    return _fingerprint(path)[0]


def _fingerprint(path: Path) -> tuple[str, int]:
    """(sha256, physical line count) of a file in one read; a last line without a line
    break counts."""
    digest, lines, last = hashlib.sha256(), 0, b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return digest.hexdigest(), lines + (last != b"\n")


def _decode_error(path: Path, codec: str) -> tuple[int, int, int] | None:
    """Where ``path`` stops being valid ``codec``: (line, column, byte) or None."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    offset, lines, line_start = 0, 1, 0
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            final = not chunk
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                # exc.start is relative to the buffered input: earlier undecoded bytes
                # (at most a few) come first, so this position is close enough to point at.
                bad = max(exc.start - (len(exc.object) - len(chunk)), 0)
                head = chunk[:bad]
                line = lines + head.count(b"\n")
                nl = head.rfind(b"\n")
                col = bad - nl if nl >= 0 else offset + bad - line_start + 1
                return line, col, chunk[bad] if bad < len(chunk) else 0
            if final:
                return None
            lines += chunk.count(b"\n")
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                line_start = offset + nl + 1
            offset += len(chunk)


def _looks_chinese(path: Path, codec: str) -> bool:
    """Whether text decoded as ``codec`` reads like Chinese rather than mojibake.

    Real Chinese business text is almost all common characters (GB2312); bytes of
    another encoding decoded as GB18030 land mostly on rare characters.
    """
    counts: dict[str, int] = {}
    with path.open("r", encoding=codec, newline="") as fh:
        while text := fh.read(CHUNK // 4):
            for ch in re.findall(r"[^\x00-\x7f]", text):
                counts[ch] = counts.get(ch, 0) + 1
    total = sum(counts.values())
    if total == 0:
        return True
    common = 0
    for ch, n in counts.items():
        if ch in _COMMON_SYMBOLS:
            common += n
            continue
        try:
            ch.encode("gb2312")
            common += n
        except UnicodeEncodeError:
            pass
    return common / total >= 0.9


# Symbols business files use that GB2312 lacks (GB18030 has them): ¥ above all.
_COMMON_SYMBOLS = frozenset("¥€£©®™°±×÷·–—‘’“”…•￥")


def detect_encoding(path: Path) -> str:
    """The codec of a text file: ``utf-8``, ``utf-8-sig``, ``utf-16`` or ``gb18030``.

    Raises
    ------
    EncodingNotDetected
        When the file is none of them (the message says where UTF-8 fails).
    """
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    where = _decode_error(path, "utf-8")
    if where is None:
        return "utf-8"
    if _decode_error(path, "gb18030") is None and _looks_chinese(path, "gb18030"):
        return "gb18030"
    line, col, byte = where
    raise EncodingNotDetected(
        f"{path.name}: cannot tell the text encoding. It is not UTF-8 (line {line}, "
        f"column {col}: byte 0x{byte:02X}) and does not read as Chinese GBK/GB18030. "
        "Say which encoding it uses (for example latin-1 or big5) and import it again.",
        line=line, column=col,
    )


def _check_declared(path: Path, codec: str) -> str:
    try:
        codec = codecs.lookup(codec).name
    except LookupError as exc:
        raise EncodingNotDetected(f"unknown encoding {codec!r}") from exc
    where = _decode_error(path, codec)
    if where is not None:
        line, col, byte = where
        raise EncodingNotDetected(
            f"{path.name} is not valid {codec}: line {line}, column {col} (byte 0x{byte:02X})",
            line=line, column=col,
        )
    return codec


# --------------------------------------------------------------------------- header

def _score_header(cells: list[object]) -> int:
    return sum(1 for c in cells if c is not None and normalize_header(str(c)) in _ALL_SYNONYMS)


def _pick_header(rows: list[tuple[int, list[object]]]) -> tuple[int, list[object]]:
    """The (row number, cells) of the header among the top rows of a file."""
    nonempty = [(n, r) for n, r in rows if any(c not in (None, "") for c in r)]
    if not nonempty:
        raise FileReadError("the file has no rows")
    for n, cells in nonempty[:HEADER_SEARCH_ROWS]:
        if _score_header(cells) >= 2:
            return n, cells
    return nonempty[0]


def _header_names(cells: list[object]) -> list[str]:
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


# --------------------------------------------------------------------------- text files

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
        named = max(_score_header(r) for r in rows[:HEADER_SEARCH_ROWS])
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


def _quick_encoding(path: Path) -> str:
    """The codec, cheaply: BOMs are certain; a file whose first megabyte is UTF-8 is taken
    as UTF-8 (DuckDB's reader checks every byte and reports a bad line, and the importer
    then reads the file again with :func:`detect_encoding`); anything else gets the full
    detection."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return detect_encoding(path)
    try:
        codecs.getincrementaldecoder("utf-8")(errors="strict").decode(head, final=False)
    except UnicodeDecodeError:
        return detect_encoding(path)
    return "utf-8"


def _read_text(con: duckdb.DuckDBPyConnection, path: Path, fmt: str, encoding: str | None,
               header_row: int | None, force_python: bool, verify_encoding: bool = False) -> RawTable:
    if encoding:
        codec = _check_declared(path, encoding)
    elif verify_encoding or force_python:
        codec = detect_encoding(path)
    else:
        codec = _quick_encoding(path)
    facts = _BACKGROUND.submit(_fingerprint, path)
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
        header_row, cells = _pick_header(rows)
    headers = _header_names(cells)
    raw = RawTable(path=path, file_format=fmt, encoding=codec, content_hash="",
                   headers=headers, header_row=header_row, table=_table_name(),
                   rows_read=0, delimiter=delimiter, facts=facts)
    if force_python:
        _read_text_python(con, raw, codec)
    else:
        _open_duckdb_csv(con, raw, codec)
    return raw


def _table_name() -> str:
    return f"raw_{uuid.uuid4().hex[:12]}"


_BLANK_LINE = re.compile(rb"\n(?=[ \t]*\r?\n)")
_LEADING_BLANK = re.compile(rb"[ \t]*\r?\n")


def _blank_lines(path: Path, after: int) -> list[int]:
    """The empty or white-space-only lines after line ``after`` of a UTF-8 file."""
    total, blanks, carry = 0, [], b""
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            buf = carry + chunk
            cut = buf.rfind(b"\n")
            if cut < 0:
                carry = buf
                continue
            body, carry = buf[: cut + 1], buf[cut + 1:]
            # every body starts at a line start: is that line blank?
            if _LEADING_BLANK.match(body):
                blanks.append(total + 1)
            prev, lines_before = 0, 0
            for match in _BLANK_LINE.finditer(body):
                lines_before += body.count(b"\n", prev, match.start())
                prev = match.start()
                blanks.append(total + lines_before + 2)
            total += body.count(b"\n")
    if carry and not carry.strip():
        blanks.append(total + 1)
    return sorted({b for b in blanks if b > after})


@dataclass
class _PendingCsv:
    """A DuckDB CSV read whose rows are matched to lines after they were scanned."""

    source: Path
    rejects: str
    scan: str
    workdir: Path | None
    counting: Future[tuple[str, int]]  # (sha256, line count) of ``source``


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _open_duckdb_csv(con: duckdb.DuckDBPyConnection, raw: RawTable, codec: str) -> None:
    """A view over DuckDB's reader; :func:`resolve_lines` settles lines after one scan."""
    workdir = None
    source = raw.path
    if codec not in ("utf-8", "utf-8-sig"):
        workdir = Path(tempfile.mkdtemp(prefix="crm_import_", dir=work_dir()))  # where the app may read
        source = workdir / "utf8.csv"
        with raw.path.open("r", encoding=codec, newline="") as src, \
                source.open("w", encoding="utf-8", newline="") as dst:
            shutil.copyfileobj(src, dst, CHUNK // 4)
    assert raw.header_row is not None and raw.delimiter is not None
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(raw.headers))) + "}"
    # the file's own line count, or the transcoded copy's (UTF-16 line breaks are 2 bytes)
    counting = raw.facts if workdir is None and raw.facts is not None else _BACKGROUND.submit(
        _fingerprint, source)
    pending = _PendingCsv(source, f"{raw.table}_rj", f"{raw.table}_rs", workdir, counting)
    con.execute(
        f"create temp view {raw.table} as select * from read_csv({_sql_text(str(source))}, "
        f"auto_detect=false, columns={columns}, header=false, skip={int(raw.header_row)}, "
        f"delim={_sql_text(raw.delimiter)}, quote='\"', escape='\"', store_rejects=true, "
        f"rejects_table={_sql_text(pending.rejects)}, rejects_scan={_sql_text(pending.scan)}, "
        "max_line_size=10000000)"
    )
    # The same rows numbered by a streaming scan: correct whatever the query does with
    # them, but it reads the file on one thread, so staging uses it only when it must.
    con.execute(f"create temp view {raw.table}_numbered as "
                f"select row_number() over () - 1 as _rid, * from {raw.table}")
    raw.pending = pending
    raw.has_lines = False
    raw.reader = "duckdb"


def resolve_lines(con: duckdb.DuckDBPyConnection, raw: RawTable, staged: str,
                  numbered: bool = False) -> str | None:
    """Give the rows of ``staged`` (built by one scan of ``raw.table``) their file lines.

    Creates the view ``<staged>_v``: the staged rows plus ``_rid`` (the record's position
    in the file) and ``_line``. ``numbered`` says the staged table carries ``_rid`` (it was
    built from ``<raw.table>_numbered``); otherwise its rowid is the position, which holds
    because the staging query keeps the scan's order (no joins; the importer checks).

    Returns
    -------
    None when done; ``"encoding"`` when the file turned out not to be UTF-8, ``"lines"``
    when its rows cannot be matched to lines exactly. Either way the caller reads the file
    again (with full encoding detection, or with Python's csv module).
    """
    if raw.pending is None:
        con.execute(f"create temp view {staged}_v as select s.* from {staged} s")
        return None
    rid = "s._rid" if numbered else "s.rowid"
    star = "s.*" if numbered else "s.*, s.rowid as _rid"
    pending = raw.pending
    try:
        bad = con.execute(
            f"select line, any_value(csv_line), any_value(error_type), any_value(error_message) "
            f"from {pending.rejects} group by line order by line"
        ).fetchall()
        if any(etype == "INVALID ENCODING" for _, _, etype, _ in bad):
            return "encoding"
        physical = pending.counting.result()[1]
        records = con.execute(f"select count(*) from {staged}").fetchall()[0][0]
        blank_set: set[int] = set()
        malformed = []
        for line, text, _etype, message in bad:
            if (text or "").strip() == "":
                blank_set.add(int(line))
            else:
                malformed.append(Malformed(int(line), text, _cell_count_reason(message, len(raw.headers))))
        skipped = sorted(blank_set | {m.line for m in malformed})
        if physical != (raw.header_row or 0) + records + len(skipped):
            # lines DuckDB skipped without a word: empty lines (found here) or line
            # breaks inside quoted values (then the counts still differ)
            blank_set.update(_blank_lines(pending.source, raw.header_row or 0))
            skipped = sorted(blank_set | {m.line for m in malformed})
            if physical != (raw.header_row or 0) + records + len(skipped):
                return "lines"
        first = (raw.header_row or 0) + 1
        gaps = [(s - first - j, j + 1) for j, s in enumerate(skipped)]
        if gaps:
            con.execute(f"create temp table {staged}_gaps (pos bigint, k bigint)")
            con.executemany(f"insert into {staged}_gaps values (?, ?)", gaps)
            con.execute(
                f"create temp view {staged}_v as "
                f"with g as (select pos, max(k) as k from {staged}_gaps group by pos) "
                f"select {star}, {first} + {rid} + coalesce(g.k, 0) as _line "
                f"from {staged} s asof left join g on {rid} >= g.pos")
        else:
            con.execute(f"create temp view {staged}_v as "
                        f"select {star}, {first} + {rid} as _line from {staged} s")
        raw.blank_lines = sorted(blank_set)
        raw.malformed = malformed
        raw.rows_read = records + len(skipped)
        return None
    finally:
        pending.counting.result()  # never delete the file under the counting thread
        con.execute(f"drop table if exists {pending.rejects}")
        con.execute(f"drop table if exists {pending.scan}")
        if pending.workdir is not None:
            shutil.rmtree(pending.workdir, ignore_errors=True)
        raw.pending = None


def _cell_count_reason(message: str, expected: int) -> str:
    found = re.search(r"Found:\s*(\d+)", message or "")
    if found:
        return f"expected {expected} cells, found {found.group(1)}"
    return (message or "malformed line").splitlines()[0]


def _read_text_python(con: duckdb.DuckDBPyConnection, raw: RawTable, codec: str) -> None:
    assert raw.header_row is not None
    width = len(raw.headers)
    _create_raw(con, raw.table, width)
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
                _flush(con, raw.table, batch)
                batch = [[] for _ in range(width + 1)]
    _flush(con, raw.table, batch)
    raw.blank_lines = blanks
    raw.malformed = malformed
    raw.rows_read = records
    raw.reader = "python"


def _create_raw(con: duckdb.DuckDBPyConnection, table: str, width: int) -> None:
    cols = ", ".join(f"c{i} varchar" for i in range(width))
    con.execute(f"create temp table {table} (_line bigint, {cols})")


def _flush(con: duckdb.DuckDBPyConnection, table: str, batch: list[list[object]]) -> None:
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


# --------------------------------------------------------------------------- Excel

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


def _read_excel(con: duckdb.DuckDBPyConnection, path: Path, sheet: str | int | None,
                header_row: int | None) -> RawTable:
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
            if sheet is not None or any(_score_header(r) >= 2 for _, r in rows[:HEADER_SEARCH_ROWS]):
                chosen, top = name, rows
                break
        assert top is not None
        if header_row is not None:
            match = [r for n, r in top if n == header_row]
            if not match:
                raise FileReadError(f"{path.name}: header row {header_row} is outside sheet {chosen!r}")
            cells = match[0]
        else:
            header_row, cells = _pick_header(top)
        width = len(cells)
        while width and cells[width - 1] in (None, ""):
            width -= 1
        headers = _header_names(list(cells[:width]))
        raw = RawTable(path=path, file_format="xlsx", encoding=None, content_hash=_sha256(path),
                       headers=headers, header_row=header_row, table=_table_name(), rows_read=0,
                       sheet=chosen, sheets=names, reader="openpyxl")
        _create_raw(con, raw.table, width)
        batch: list[list[object]] = [[] for _ in range(width + 1)]
        records = 0
        for number, values in _excel_rows(book[chosen], header_row + 1):
            records += 1
            texts = [_excel_text(v) for v in values[:width]] + [None] * max(0, width - len(values))
            if all(t is None for t in texts):
                raw.blank_lines.append(number)
                continue
            batch[0].append(number)
            for i, t in enumerate(texts, start=1):
                batch[i].append(t)
            if len(batch[0]) >= PYTHON_BATCH_ROWS:
                _flush(con, raw.table, batch)
                batch = [[] for _ in range(width + 1)]
        _flush(con, raw.table, batch)
        # trailing empty rows are not rows a person would count
        while raw.blank_lines and raw.blank_lines[-1] == header_row + records:
            raw.blank_lines.pop()
            records -= 1
        raw.rows_read = records
        return raw
    finally:
        book.close()


def _excel_rows(ws: object, start: int) -> Iterator[tuple[int, tuple[object, ...]]]:
    yield from enumerate(ws.iter_rows(min_row=start, values_only=True), start=start)


def _excel_top(ws: object) -> list[tuple[int, list[object]]]:
    rows = []
    for number, values in _excel_rows(ws, 1):
        rows.append((number, list(values)))
        if number >= HEADER_SEARCH_ROWS + 10:
            break
    return rows


# --------------------------------------------------------------------------- Parquet

def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> RawTable:
    try:
        described = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise FileReadError(f"{path.name}: not a readable Parquet file ({exc})") from exc
    headers = _header_names([row[0] for row in described])
    table = _table_name()
    casts = ", ".join(
        f"cast({_quote_ident(row[0])} as varchar) as c{i}" for i, row in enumerate(described)
    )
    con.execute(f"create temp table {table} as select row_number() over () as _line, {casts} "
                "from read_parquet(?)", [str(path)])
    rows = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    return RawTable(path=path, file_format="parquet", encoding=None, content_hash=_sha256(path),
                    headers=headers, header_row=None, table=table, rows_read=rows,
                    reader="parquet")


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
