"""Shared by the atomicity tests (``test_import_atomicity``, ``test_import_crash``,
``test_import_concurrency``): small order files, and the database read back whole (every
table), as its import ledger, or as the transactions of one import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

HEADER = "customer id,order date,amount,region,channel\n"


def write_orders(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the database (marts, ledger and meta included)."""
    cur = con.cursor()
    tables = [r[0] for r in cur.execute(
        "select table_name from information_schema.tables where table_schema = 'main' "
        "and table_type = 'BASE TABLE' order by table_name").fetchall()]
    assert {"transactions", "imports", "import_rejects", "customer_summary", "customer_month",
            "meta"} <= set(tables)
    return {t: cur.execute(f'select * from "{t}" order by all').fetchall() for t in tables}


def ledger(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute("select import_id, status, rows_imported from imports order by import_id").fetchall()


def rows_of(con: duckdb.DuckDBPyConnection, import_id: int | None = None) -> list[tuple[Any, ...]]:
    where = "" if import_id is None else f"where import_id = {int(import_id)}"
    return con.execute(f"select import_id, line, customer_id, order_date, amount from transactions {where} "
                       "order by import_id, line").fetchall()
