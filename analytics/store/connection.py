"""The embedded DuckDB store: where the file lives, how it is opened, how writes go.

One process writes the database file at a time (DuckDB locks it); inside that
process, writes are serialised by :data:`WRITE_LOCK` and every reader uses its own
cursor. Opening a file read-write brings its schema up to date
(:mod:`analytics.store.migrations`) and builds the derived tables when it has none
(:mod:`analytics.store.marts`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from analytics.paths import DATA_DIR
from analytics.store import marts
from analytics.store.migrations import SCHEMA_VERSION, migrate, pending, schema_version

DEFAULT_DB = DATA_DIR / "crm.duckdb"

#: Serialises every write (import, undo, settings) inside one process.
WRITE_LOCK = threading.RLock()


def default_db_path() -> Path:
    """The database file: ``$CRM_DB`` when set, else ``data/crm.duckdb``."""
    env = os.environ.get("CRM_DB")
    return Path(env) if env else DEFAULT_DB


def confine(con: duckdb.DuckDBPyConnection, folders: Iterable[str | Path]) -> tuple[str, ...]:
    """Keep ``con`` from touching any file outside ``folders`` (and its own database and
    spill files): no ``read_csv('/etc/passwd')``, no ``COPY ... TO`` elsewhere, no ``ATTACH``
    of another file, no extension install; and lock the configuration so no statement can
    undo it. Applies to every cursor of ``con``.

    Returns
    -------
    tuple[str, ...]
        The folders allowed, resolved, each ending in ``/``.
    """
    allowed = tuple(dict.fromkeys(str(Path(f).resolve()).rstrip("/") + "/" for f in folders))
    if _locked(con):  # the same database opened again in this process: already confined
        current = con.cursor().execute("select current_setting('allowed_directories')").fetchall()[0][0]
        if not set(allowed) <= set(current):
            raise RuntimeError(f"the database is already open in this process confined to {current}, "
                               f"not {list(allowed)}")
        return allowed
    con.execute("set allowed_directories = ?", [list(allowed)])
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return allowed


def _locked(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.cursor().execute("select current_setting('lock_configuration')").fetchall()[0][0])


def connect(path: str | Path | None = None, *, read_only: bool = False,
            memory_limit: str | None = None, threads: int | None = None,
            confine_to: Iterable[str | Path] | None = None) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating when needed) the CRM database.

    Parameters
    ----------
    path
        The database file; ``None`` means :func:`default_db_path`. ``":memory:"`` gives
        a throw-away database (tests).
    read_only
        Open without write access; the schema must already be current.
    memory_limit
        DuckDB's memory limit, e.g. ``"1GB"``; default ``$CRM_DB_MEMORY`` or 1GB.
        Larger work spills to a temporary folder beside the database.
    threads
        Worker threads; default DuckDB's (the number of cores).
    confine_to
        For the app: the folders the connection may read files from (the database's own
        folder is added); see :func:`confine`. ``None`` (scripts, the command line) leaves
        file access open.

    Returns
    -------
    duckdb.DuckDBPyConnection
        Use ``con.cursor()`` per thread or per query.
    """
    target = Path(path) if path not in (None, ":memory:") else path
    if target is None:
        target = default_db_path()
    config = {
        "memory_limit": memory_limit or os.environ.get("CRM_DB_MEMORY", "1GB"),
    }
    if threads:
        config["threads"] = threads
    if isinstance(target, Path):
        target.parent.mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(target.parent / ".duckdb_tmp")
        database = str(target)
    else:
        database = ":memory:"
    try:
        con = duckdb.connect(database, read_only=read_only, config=config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusy(
                f"the database {database} is open in another process (the running app?); "
                "stop it or use the app to import, then try again"
            ) from exc
        raise
    if not _locked(con):  # else opened before in this process, with this setting made then
        con.execute("set enable_progress_bar = false")
    if not read_only:
        with WRITE_LOCK:
            migrate(con)
        marts.ensure(con)
    else:
        version, missing = schema_version(con), [v for v, _ in pending(con)]
        if version != SCHEMA_VERSION or missing:
            con.close()
            lacks = f" (it lacks {', '.join(f'{v:03d}' for v in missing)})" if version == SCHEMA_VERSION else ""
            raise RuntimeError(
                f"database {database} has schema version {version}{lacks}, this release needs "
                f"{SCHEMA_VERSION}; open it once read-write to upgrade it"
            )
    if confine_to is not None:
        folders = list(confine_to)
        if isinstance(target, Path):
            folders.append(target.resolve().parent)
        confine(con, folders)
    return con


class DatabaseBusy(RuntimeError):
    """The database file is held by another process."""


def _state(files: Iterable[Path]) -> tuple[tuple[int, int] | None, ...]:
    return tuple((st.st_size, st.st_mtime_ns) if (st := _stat(f)) else None for f in files)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


@contextmanager
def copy_for_reading(path: str | Path, *, attempts: int = 5) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a copy of the database file, for a command that only reads while
    another process (the running app) holds the file: DuckDB lets no other process open it,
    not even read-only. The file and its write-ahead log are copied together, and the copy
    is taken again when either changed while it was copied (a commit or a checkpoint in
    between), so it holds one committed state. The copy is removed after the block.

    Raises
    ------
    DatabaseBusy
        When the files kept changing through ``attempts`` copies.
    """
    source = Path(path)
    files = (source, source.with_name(source.name + ".wal"))
    with tempfile.TemporaryDirectory(prefix="crm-read-") as folder:
        target = Path(folder) / source.name
        for _ in range(attempts):
            before = _state(files)
            for f in files:
                if f.exists():
                    shutil.copyfile(f, Path(folder) / f.name)
            if _state(files) == before:
                break
            for f in Path(folder).iterdir():
                f.unlink()
        else:
            raise DatabaseBusy(f"the database {source} is open in another process and changed while it was "
                               "read; try again when the import there is done")
        con = connect(target)
        try:
            yield con
        finally:
            con.close()


@contextmanager
def write_transaction(con: duckdb.DuckDBPyConnection,
                      cursor: duckdb.DuckDBPyConnection | None = None
                      ) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor inside one serialised write transaction: all of it commits, or none.

    ``cursor`` reuses a cursor that holds temporary tables the writes read from.
    """
    with WRITE_LOCK:
        cur = cursor if cursor is not None else con.cursor()
        cur.execute("begin transaction")
        try:
            yield cur
        except BaseException:
            cur.execute("rollback")
            raise
        else:
            cur.execute("commit")
        finally:
            if cursor is None:
                cur.close()


def data_version(con: duckdb.DuckDBPyConnection) -> int:
    """A number that goes up with every change to the data; cached loaders key on it."""
    cur = con.cursor()
    return int(cur.execute("select value from meta where key = 'data_version'").fetchall()[0][0])


def bump_data_version(cur: duckdb.DuckDBPyConnection) -> None:
    """Increase the data version (call inside the writing transaction)."""
    cur.execute("update meta set value = value + 1 where key = 'data_version'")
