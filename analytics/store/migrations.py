"""The schema's versions: ``store/sql/migrations/NNN_name.sql``, applied in order.

Each migration runs in its own transaction and is recorded in ``schema_migrations``, so a
newer release upgrades an existing database file in place, and a migration that fails
leaves the file at its old version.

A database is up to date when it has recorded every migration this release ships
(:func:`pending` is empty), not merely its highest: migrations written on two branches at once
may come in either order (a database that took 008 before 007 existed takes 007 when a release
brings it), and a gap in the numbers is no error.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import duckdb

MIGRATIONS_DIR = Path(__file__).resolve().parent / "sql" / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, Path]]:
    """The schema migrations shipped with this release, in order."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise RuntimeError(f"badly named migration {path.name}: want NNN_name.sql")
        found.append((int(match.group(1)), path))
    return found


SCHEMA_VERSION = migrations()[-1][0]


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version of an open database (0 for a new, empty file)."""
    cur = con.cursor()
    exists = cur.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'main' and table_name = 'schema_migrations'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return int(cur.execute("select coalesce(max(version), 0) from schema_migrations").fetchall()[0][0])


def pending(con: duckdb.DuckDBPyConnection) -> list[tuple[int, Path]]:
    """The migrations this release ships that the database has not recorded, in order."""
    cur = con.cursor()
    exists = cur.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'main' and table_name = 'schema_migrations'"
    ).fetchall()[0][0]
    seen = {r[0] for r in cur.execute("select version from schema_migrations").fetchall()} if exists else set()
    return [(version, path) for version, path in migrations() if version not in seen]


def behind(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database lacks a migration of this release: its version is lower, or a migration
    of it is not recorded (:func:`pending`)."""
    return schema_version(con) < SCHEMA_VERSION or bool(pending(con))


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations this database has not seen (:func:`pending`); return their versions.

    The caller holds the write lock (:data:`analytics.store.connection.WRITE_LOCK`).
    """
    applied = []
    cur = con.cursor()
    cur.execute(
        "create table if not exists schema_migrations "
        "(version integer primary key, name varchar not null, applied_at timestamp not null)"
    )
    for version, path in pending(con):
        cur.execute("begin transaction")
        try:
            cur.execute(path.read_text(encoding="utf-8"))
            cur.execute("insert into schema_migrations values (?, ?, ?)",
                        [version, path.stem, datetime.now()])
            cur.execute("commit")
        except Exception:
            cur.execute("rollback")
            raise
        applied.append(version)
    return applied
