"""Minimal reproduction for issue 10, #7: can a reader in the same process see the rows of an
import before its ledger entry and data version?

A writer commits imports of ``--rows`` rows (rows, ledger entry, data version: one transaction,
as :func:`analytics.ingest.pipeline.commit_import` writes them) while a reader thread polls the
connection in three ways:

``separate``  two autocommit queries on a cursor: the ledger (and data version), then the rows;
``snapshot``  the same two queries inside one read transaction (:mod:`analytics.store.snapshot`);
``single``    one statement reading both.

A poll is *torn* when the rows it saw are not the sum of the committed ledger it saw. Run:
``python bench/reader_visibility.py --rows 300000 --imports 6``.
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import datetime

import duckdb

from analytics.store.connection import bump_data_version, connect, write_transaction
from analytics.store.snapshot import snapshot

LEDGER = ("select coalesce(sum(rows_imported), 0) from imports where status = 'committed' and kind = 'transactions'",
          "select value from meta where key = 'data_version'")
ROWS = "select count(*) from transactions"


def commit_rows(con: duckdb.DuckDBPyConnection, n: int) -> None:
    """One import of ``n`` rows: rows, ledger entry and data version in one transaction."""
    with write_transaction(con) as cur:
        import_id = cur.execute("select nextval('import_id_seq')").fetchall()[0][0]
        cur.execute("insert into transactions (import_id, line, customer_id, order_date, amount, is_return, "
                    "is_order_start) select ?, i, 'C' || (i % 5000), date '2024-01-01' + cast(i % 300 as integer), "
                    "i % 997, false, true from range(?) t(i)", [import_id, n])
        cur.execute("insert into imports (import_id, kind, file_name, content_hash, imported_by, imported_at, "
                    "rows_imported, status) values (?, 'transactions', 'bench.csv', '-', 'bench', ?, ?, 'committed')",
                    [import_id, datetime.now(), n])
        bump_data_version(cur)


def poll(con: duckdb.DuckDBPyConnection, how: str) -> tuple[int, int, int]:
    """(rows in the ledger, data version, rows seen) read one way."""
    if how == "single":
        return tuple(con.cursor().execute(f"select ({LEDGER[0]}), ({LEDGER[1]}), ({ROWS})").fetchall()[0])
    if how == "snapshot":
        with snapshot(con) as view:
            cur = view.cursor()
            ledger, version = (cur.execute(q).fetchall()[0][0] for q in LEDGER)
            return ledger, version, cur.execute(ROWS).fetchall()[0][0]
    cur = con.cursor()
    ledger, version = (cur.execute(q).fetchall()[0][0] for q in LEDGER)
    seen = con.cursor().execute(ROWS).fetchall()[0][0]
    return ledger, version, seen


def run(rows: int, imports: int, how: str, path: str) -> dict[str, int]:
    con = connect(path)
    stop = threading.Event()
    stats = {"polls": 0, "torn": 0}

    def reader() -> None:
        while not stop.is_set():
            ledger, _version, seen = poll(con, how)
            stats["polls"] += 1
            stats["torn"] += seen != ledger

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(imports):
            commit_rows(con, rows)
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
        con.close()
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--imports", type=int, default=6)
    parser.add_argument("--db", default=":memory:")
    args = parser.parse_args()
    for how in ("separate", "snapshot", "single"):
        stats = run(args.rows, args.imports, how, args.db)
        print(f"{how:>9}: {stats['torn']} torn of {stats['polls']} polls")


if __name__ == "__main__":
    main()
