"""Derived tables the pages read, rebuilt inside every import's and undo's transaction.

Each is one SQL model in ``analytics/store/sql/marts/`` (its first comment states the grain),
built in the order of :data:`MARTS` (later ones may read earlier ones). A model whose
name starts with ``_`` is a temporary step, dropped once the others are built. The database
records which models built its tables (``meta.marts_version``, :func:`models_version`), so a
release that changes a model rebuilds them when it first opens the database.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from analytics.store.migrations import SCHEMA_VERSION, schema_version

MARTS_DIR = Path(__file__).resolve().parent / "sql" / "marts"

#: Build order; the table name is the file name.
MARTS: tuple[str, ...] = ("customer_month", "customer_attribute_values", "customer_summary", "sales_month")


def model_sql(name: str) -> str:
    """The SQL of the derived table ``name`` (``store/sql/marts/<name>.sql``)."""
    return (MARTS_DIR / f"{name}.sql").read_text(encoding="utf-8")


def models_version() -> int:
    """A fingerprint of the models (their names, order and SQL): 60 bits of a SHA-256."""
    digest = hashlib.sha256()
    for name in MARTS:
        digest.update(f"{name}\0{model_sql(name)}\0".encode())
    return int(digest.hexdigest()[:15], 16)


def rebuild(cur: duckdb.DuckDBPyConnection) -> None:
    """Rebuild every derived table from the fact tables (inside the caller's transaction)."""
    for name in MARTS:
        temp = "temp " if name.startswith("_") else ""
        cur.execute(f"create or replace {temp}table {name} as {model_sql(name)}")
    for name in MARTS:
        if name.startswith("_"):
            cur.execute(f"drop table {name}")
    cur.execute("insert or replace into meta values ('marts_version', ?)", [models_version()])


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """Build the derived tables if a database has none yet (a new or upgraded file), or if
    other models built them (an earlier release: :func:`models_version`).

    A database at an older schema version is left as it is: the models read this release's
    tables, which it has once migrated (:func:`analytics.store.connection.connect` migrates first).
    """
    if schema_version(con) < SCHEMA_VERSION:
        return
    cur = con.cursor()
    have = {r[0] for r in cur.execute(
        "select table_name from information_schema.tables where table_schema = 'main'").fetchall()}
    built = cur.execute("select value from meta where key = 'marts_version'").fetchall()
    if not {m for m in MARTS if not m.startswith("_")} <= have or built != [(models_version(),)]:
        cur.execute("begin transaction")
        try:
            rebuild(cur)
            cur.execute("commit")
        except BaseException:
            cur.execute("rollback")
            raise
