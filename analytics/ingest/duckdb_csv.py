"""DuckDB's CSV reader, with each row's line in the file worked out after the scan.

The file is opened as a view over ``read_csv`` that staging scans once. The staged rows
keep the file's order, and the lines that are not data rows (the header and what is above
it, blank lines, malformed lines DuckDB rejects) are known, so each row's line follows
(:func:`resolve_lines`). The path checks itself: those counts must add up to the file's
physical line count, DuckDB must have found only valid UTF-8 and no quote out of place. A file
that fails a check (a quoted value holding a line break, a quote never closed, a lone carriage
return, a non-UTF-8 byte deep in the file) is read again; so is one DuckDB's reader stops on
(mixed line endings; :func:`discard`). A file in another encoding is read from a UTF-8 copy, and a file whose
columns are separated by runs of spaces from a tab-separated copy (one line for each of the
file's lines, so the lines stay the file's): both are written in the private work folder.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import duckdb
import pyarrow as pa

from analytics.ingest.encoding import CHUNK, fingerprint_later
from analytics.ingest.raw import LINE_LIMIT, REASON_LONG_LINE, SPACES, Malformed, RawTable
from analytics.paths import work_dir


@dataclass
class PendingCsv:
    """A DuckDB CSV read whose rows are matched to lines after they were scanned."""

    source: Path
    rejects: str
    scan: str
    workdir: Path | None
    counting: Future[tuple[str, int]]  # (sha256, line count) of ``source``
    lone_cr: Future[bool]  # whether a carriage return of ``source`` ends a line by itself


_BACKGROUND = ThreadPoolExecutor(max_workers=2, thread_name_prefix="crm-csv")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def open_duckdb_csv(con: duckdb.DuckDBPyConnection, raw: RawTable, codec: str) -> None:
    """Make ``raw.table`` a view over DuckDB's reader of ``raw``'s file in ``codec`` (and
    ``<raw.table>_numbered``, its rows numbered); :func:`resolve_lines` settles lines after
    one scan."""
    workdir = None
    source = raw.path
    spaces = raw.delimiter == SPACES
    if spaces or codec not in ("utf-8", "utf-8-sig"):
        workdir = Path(tempfile.mkdtemp(prefix="crm_import_", dir=work_dir()))  # where the app may read
        # removed after the scan (resolve_lines), else with ``raw`` (a mapping error before any scan)
        weakref.finalize(raw, shutil.rmtree, str(workdir), True)
        source = workdir / ("tabs.tsv" if spaces else "utf8.csv")
        with raw.path.open("r", encoding=codec, newline="") as src:
            if spaces:
                _spaces_to_tabs(src, source)
            else:
                with source.open("w", encoding="utf-8", newline="") as dst:
                    shutil.copyfileobj(src, dst, CHUNK // 4)
    assert raw.delimiter is not None
    # a tab-separated copy has no quoting: a quote is a character of its value
    layout = "delim='\t', quote='', escape=''" if spaces else \
        f"delim={_sql_text(raw.delimiter)}, quote='\"', escape='\"'"
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(raw.headers))) + "}"
    # the file's own line count, or the transcoded copy's (UTF-16 line breaks are 2 bytes)
    counting = raw.facts if workdir is None and raw.facts is not None else fingerprint_later(source)
    pending = PendingCsv(source, f"{raw.table}_rj", f"{raw.table}_rs", workdir, counting,
                         _BACKGROUND.submit(_has_lone_cr, source))
    con.execute(
        f"create temp view {raw.table} as select * from read_csv({_sql_text(str(source))}, "
        f"auto_detect=false, columns={columns}, header=false, skip={int(raw.top_records or 0)}, "
        f"{layout}, store_rejects=true, "
        f"rejects_table={_sql_text(pending.rejects)}, rejects_scan={_sql_text(pending.scan)}, "
        f"max_line_size={LINE_LIMIT})"
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
    because the staging query keeps the scan's order (no joins: :mod:`analytics.ingest.staging` checks).

    Returns
    -------
    None when done; ``"encoding"`` when the file turned out not to be UTF-8, ``"lines"``
    when its rows cannot be matched to lines exactly or a quote is out of place (Python's
    reader tells an unclosed quote and reads the lines below it as rows). Either way the
    caller reads the file again (with full encoding detection, or with Python's csv module).
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
        if any(etype == "UNQUOTED VALUE" for _, _, etype, _ in bad) or pending.lone_cr.result():
            # a lone CR ends a line (as in Excel), which the line count (of line feeds) misses
            return "lines"
        physical = pending.counting.result()[1]
        records = con.execute(f"select count(*) from {staged}").fetchall()[0][0]
        first = raw.first_line
        # DuckDB numbers the lines it rejects by record: a record above the rows that spans
        # lines (a header name holding a line break) counts once (the rows span one line
        # each, or the counts below differ)
        shift = first - 1 - (raw.top_records or 0)
        blank_set: set[int] = set()
        malformed = []
        for duckdb_line, text, etype, message in bad:
            line = int(duckdb_line) + shift
            if (text or "").strip() == "":
                blank_set.add(line)
            else:
                shown = text.strip("\r\n")  # without the line break DuckDB leaves on a line of a CRLF file
                if raw.delimiter == SPACES:
                    shown = shown.replace("\t", " ")  # the tab-separated copy's line, as the file's cells
                reason = REASON_LONG_LINE if etype == "LINE SIZE OVER MAXIMUM" else \
                    _cell_count_reason(message, len(raw.headers))
                malformed.append(Malformed(line, shown, reason))
        skipped = sorted(blank_set | {m.line for m in malformed})
        if physical != first - 1 + records + len(skipped):
            # lines DuckDB skipped without a word: empty lines (found here) or line
            # breaks inside quoted values (then the counts still differ)
            blank_set.update(_blank_lines(pending.source, first - 1))
            skipped = sorted(blank_set | {m.line for m in malformed})
            if physical != first - 1 + records + len(skipped):
                return "lines"
        if skipped:
            # the j-th line skipped (from 0) follows the rows before it: each row from
            # position s - first - j on is one line further down
            gaps = pa.table({"pos": pa.array([s - first - j for j, s in enumerate(skipped)], pa.int64()),
                             "k": pa.array(range(1, len(skipped) + 1), pa.int64())})
            con.register(f"{staged}_gaps_arrow", gaps)
            try:
                con.execute(f"create temp table {staged}_gaps as select * from {staged}_gaps_arrow")
            finally:
                con.unregister(f"{staged}_gaps_arrow")
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
        _release(con, raw)


def discard(con: duckdb.DuckDBPyConnection, raw: RawTable) -> None:
    """Forget a DuckDB read of ``raw`` that was not scanned through (DuckDB's reader stopped
    on the file, or a peek at its columns): its views, side tables and work folder. Nothing
    for a file read otherwise."""
    if raw.pending is None:
        return
    con.execute(f"drop view if exists {raw.table}_numbered")
    con.execute(f"drop view if exists {raw.table}")
    _release(con, raw)


def _release(con: duckdb.DuckDBPyConnection, raw: RawTable) -> None:
    pending = raw.pending
    if pending is None:
        return
    pending.counting.result()  # never delete the file under the counting threads
    pending.lone_cr.result()
    con.execute(f"drop table if exists {pending.rejects}")
    con.execute(f"drop table if exists {pending.scan}")
    if pending.workdir is not None:
        shutil.rmtree(pending.workdir, ignore_errors=True)
    raw.pending = None


def _spaces_to_tabs(src: TextIO, target: Path) -> None:
    """Write whitespace-aligned text as tab-separated UTF-8 to ``target``: the cells of each
    line (split as :func:`~analytics.ingest.raw.split_spaces` splits them: ``bytes.split()``
    splits at the same white space) joined by tabs, one line for each line of ``src``."""
    carry = b""
    with target.open("wb") as dst:
        while chunk := src.read(CHUNK // 4):
            data = carry + chunk.encode("utf-8")
            cut = data.rfind(b"\n") + 1  # whole lines only
            carry = data[cut:]
            dst.write(b"\n".join(b"\t".join(line.split()) for line in data[:cut].split(b"\n")))
        dst.write(b"\t".join(carry.split()))


def _has_lone_cr(path: Path) -> bool:
    """Whether a carriage return in ``path`` ends a line by itself (is not followed by a line feed)."""
    last = b""
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if last == b"\r" and not chunk.startswith(b"\n"):
                return True
            if b"\r" in chunk:
                body = chunk[:-1] if chunk.endswith(b"\r") else chunk  # its line feed is in the next chunk
                if body.count(b"\r") != body.count(b"\r\n"):
                    return True
            last = chunk[-1:]
    return last == b"\r"


def _cell_count_reason(message: str, expected: int) -> str:
    found = re.search(r"Found:\s*(\d+)", message or "")
    if found:
        return f"expected {expected} cells, found {found.group(1)}"
    return (message or "malformed line").splitlines()[0]


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
