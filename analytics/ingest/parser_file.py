"""The value parsers kept in a database file of the process, for its second and later database instances.

Defining the parsers (:func:`analytics.ingest.staging.define_macros`) costs DuckDB 50-70 ms, most of it
binding the bodies of the money parsers with the nested macros expanded, and it is paid again by every
database instance: each file opened, each copy of it, each in-memory database. A process that opens
more than one (the command line importing into several files, the test suite) defines them once
more, into a database file of its own in a private temporary folder (removed when the process
ends), and every later instance attaches that file read-only: 2-5 ms instead of the definition. The
first instance of a process defines them in memory as before; so does any instance that cannot
attach the file (a read-only database, a confined connection: :func:`analytics.store.connection.confine`).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import duckdb

#: The instances that defined parsers in this process, and the parsers' files by the hash of their text.
_defined = {"pid": os.getpid(), "count": 0}
_FILES: dict[str, Path] = {}


def attach(cur: duckdb.DuckDBPyConnection, name: str, text: str) -> bool:
    """Attach the process's file of the parsers of ``text`` (``create macro`` statements) as ``name``,
    read-only; False (nothing attached) when the database is read-only, when this is the first
    instance of the process to define them, or when the file cannot be made or attached."""
    if _defined["pid"] != os.getpid():  # a forked child: its own count and files
        _defined.update(pid=os.getpid(), count=0)
        _FILES.clear()
    _defined["count"] += 1
    if _defined["count"] == 1 or _read_only(cur):
        return False
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    path = _FILES.get(key) or _make(key, text)
    if path is None:
        return False
    try:
        cur.execute(f"attach '{str(path).replace(chr(39), chr(39) * 2)}' as {name} (read_only)")
    except duckdb.Error:  # confined, or the file gone: define them in memory
        _FILES.pop(key, None)
        return False
    return True


def _read_only(cur: duckdb.DuckDBPyConnection) -> bool:
    found = cur.execute("select readonly from duckdb_databases() where database_name = current_database()").fetchall()
    return bool(found and found[0][0])


def _make(key: str, text: str) -> Path | None:
    try:
        folder = Path(tempfile.mkdtemp(prefix="crm_parsers_"))  # private to the user (0700)
    except OSError:
        return None
    atexit.register(_remove, folder, os.getpid())
    path = folder / "parsers.duckdb"
    try:
        con = duckdb.connect(str(path))
        try:
            con.execute(text)
        finally:
            con.close()
    except (OSError, duckdb.Error):
        _remove(folder, os.getpid())
        return None
    _FILES[key] = path
    return path


def _remove(folder: Path, pid: int) -> None:
    if os.getpid() == pid:
        with contextlib.suppress(OSError):
            shutil.rmtree(folder)
