"""Where an import's staged rows live while it is previewed: memory, or a file beside the database.

The staged table holds every row of the file, parsed (:mod:`analytics.ingest.staging`). Held in
an attached in-memory database, it is written fastest, but it is not compressed (DuckDB
compresses an in-memory database only when it checkpoints) and its blocks can leave memory only
by being spilled to the temporary folder: about 1.6 bytes per byte of a CSV file, so a 10M-row
sales file (880 MB) stages 1.4 GB against a 1 GB memory limit, and every later step of the import
(validation, the insert, the summary tables) spills and reads back. Written to a database file
instead, the staged rows are compressed as they are written (1.4 GB → 360 MB, the ids left
uncompressed: see :func:`analytics.ingest.staging.parse`), and their blocks are evicted for free
(they are on disk) when memory is needed; writing a file costs more than writing memory (0.25
against 0.08 s per million rows), so a file whose staged rows fit stays in memory.

So a file whose staged rows would not fit in the memory limit (:data:`ON_DISK_SHARE`) is
staged in a file ``.crm_stage/stage_<pid>_<random>.duckdb`` beside the database (inside the
folders a confined connection may use); a smaller one, or an in-memory database, in memory. The
file is removed when the import is released (preview closed, committed, failed); one left by a
process that died is removed by the next import that stages on disk.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

import duckdb

#: Stage on disk when the estimated staged rows exceed this share of the memory limit. Measured
#: with a 1 GB limit (sales files, whole import): 5M rows 6.5 s in memory against 7.4 s on disk,
#: 7M rows 9.2 s against 9.7 s (staged rows about the limit); 10M rows about equal, and the
#: re-import 22 s on disk against 29 s in memory, with a lower peak (bench/README.md).
ON_DISK_SHARE = 1.0
#: Bytes of staged rows (in memory, uncompressed) per byte of the source file: 1.55 measured on
#: the benchmark's sales file (264 MB of CSV → 409 MB); Parquet is compressed, several times more.
STAGED_PER_BYTE = {"parquet": 6.0}
STAGED_PER_BYTE_DEFAULT = 1.6
#: The folder beside the database that holds stage files.
STAGE_FOLDER = ".crm_stage"

_UNITS = {"bytes": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}
_STAGE_FILE = re.compile(r"stage_(\d+)_[0-9a-f]+\.duckdb(\.wal)?")


def memory_limit_bytes(cur: duckdb.DuckDBPyConnection) -> int | None:
    """DuckDB's memory limit on ``cur`` in bytes (``'953.6 MiB'``); None if it cannot be read."""
    text = str(cur.execute("select current_setting('memory_limit')").fetchall()[0][0]).strip()
    found = re.fullmatch(r"([\d.]+)\s*([A-Za-z]+)", text)
    if not found or found.group(2).lower() not in _UNITS:
        return None
    return int(float(found.group(1)) * _UNITS[found.group(2).lower()])


def staged_estimate(source: Path) -> int:
    """The bytes the staged rows of ``source`` would take in memory (a rough estimate from its size)."""
    factor = STAGED_PER_BYTE.get(source.suffix.lower().lstrip("."), STAGED_PER_BYTE_DEFAULT)
    return int(source.stat().st_size * factor)


def stage_folder(cur: duckdb.DuckDBPyConnection) -> Path | None:
    """The folder for stage files beside the database of ``cur``; None for an in-memory database."""
    path = cur.execute("select path from duckdb_databases() where database_name = current_database()").fetchall()
    if not path or not path[0][0] or path[0][0] == ":memory:":
        return None
    return Path(path[0][0]).resolve().parent / STAGE_FOLDER


def on_disk(cur: duckdb.DuckDBPyConnection, source: Path | None) -> Path | None:
    """The folder to stage ``source`` in, when it is large enough to stage on disk; else None."""
    if source is None or not source.is_file():
        return None
    limit = memory_limit_bytes(cur)
    if limit is None or staged_estimate(source) <= ON_DISK_SHARE * limit:
        return None
    return stage_folder(cur)


def remove_stale(folder: Path) -> list[Path]:
    """Remove the stage files in ``folder`` left by processes that no longer run; return them."""
    removed = []
    for path in folder.glob("stage_*"):
        found = _STAGE_FILE.fullmatch(path.name)
        if not found or _running(int(found.group(1))):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def attach_stage(cur: duckdb.DuckDBPyConnection, source: Path | None = None) -> str | None:
    """A database for this import's staged rows, on the path of ``cur`` only: a file beside the
    database when ``source`` is large (:func:`on_disk`), else a compressed in-memory one.

    Returns
    -------
    str or None
        The attached database's name; None where none can be attached (a read-only
        connection), and then the staged rows go to a temporary table.
    """
    name = f"stage_{os.getpid()}_{secrets.token_hex(6)}"
    folder = on_disk(cur, source)
    attached = False
    if folder is not None:
        try:
            folder.mkdir(exist_ok=True)
            remove_stale(folder)
            cur.execute(f"attach {_sql_text(str(folder / name) + '.duckdb')} as {name}")
            attached = True
        except (OSError, duckdb.Error):
            attached = False  # a folder it cannot write: memory, as for a small file
    if not attached:
        try:
            cur.execute(f"attach ':memory:' as {name} (compress)")
        except duckdb.Error:
            return None
    cur.execute(f"set search_path = 'main,{name}'")
    return name


def stage_path(cur: duckdb.DuckDBPyConnection, stage_db: str) -> str | None:
    """The file of the stage database ``stage_db``; None for one in memory."""
    found = cur.execute("select path from duckdb_databases() where database_name = ?", [stage_db]).fetchall()
    return found[0][0] if found and found[0][0] and found[0][0] != ":memory:" else None


def release_stage(cur: duckdb.DuckDBPyConnection, stage_db: str | None) -> None:
    """Detach the stage database ``stage_db`` (attached to the whole database instance, so it
    outlives the cursor unless detached) and remove its file, if it has one."""
    if not stage_db:
        return
    path = None
    with contextlib.suppress(duckdb.Error):
        path = stage_path(cur, stage_db)
    with contextlib.suppress(duckdb.Error):
        cur.execute(f"detach {stage_db}")
    if path:
        for leftover in (Path(path), Path(path + ".wal")):
            with contextlib.suppress(OSError):
                leftover.unlink()
