"""Concurrent writers: two imports on one connection (from two threads) both land, or the
second finds nothing new; a commit compares with the database again, counting what changed
since its preview; and rebuilding the summaries, which every commit and undo does while
holding the write lock, stays fast."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
from atomicity_util import ledger, rows_of, write_orders

from analytics.ingest.pipeline import commit_import, import_file, prepare, undo_import
from analytics.store import marts
from analytics.store.connection import connect, data_version

# --------------------------------------------------------------------------- threads

def _orders(prefix: str, n: int) -> list[str]:
    start = date(2023, 1, 1)
    return [f"{prefix}{i % 500:04d},{start + timedelta(days=i % 700)},{i}.{i % 100:02d},华东,线上"
            for i in range(n)]


def _run_in_threads(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> list[Any]:
    barrier = threading.Barrier(len(paths))
    results: list[Any] = [None] * len(paths)

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = import_file(con, paths[i], commit=True, imported_by=f"thread {i}")
        except BaseException as exc:  # handed to the test thread
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
        assert not t.is_alive()
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


def test_two_threads_import_different_files(db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    n = 20_000
    paths = [write_orders(tmp_path / "x.csv", _orders("X", n)), write_orders(tmp_path / "y.csv", _orders("Y", n))]
    version = data_version(db)
    x, y = _run_in_threads(db, paths)
    assert (x.status, x.rows_imported, y.status, y.rows_imported) == ("committed", n, "committed", n)
    assert {x.import_id, y.import_id} == {1, 2}
    assert ledger(db) == [(1, "committed", n), (2, "committed", n)]
    assert db.execute("select import_id, count(*), min(customer_id), max(line) from transactions "
                      "group by import_id order by import_id").fetchall() == sorted(
        [(x.import_id, n, "X0000", n + 1), (y.import_id, n, "Y0000", n + 1)])
    assert data_version(db) == version + 2
    assert db.execute("select count(*) from customer_summary").fetchall() == [(1000,)]


def test_two_threads_import_the_same_file(db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    n = 20_000
    path = write_orders(tmp_path / "x.csv", _orders("X", n))
    reports = _run_in_threads(db, [path, path])
    assert sorted((r.status, r.rows_imported, r.rows_already_present) for r in reports) == [
        ("committed", n, 0), ("nothing new", 0, n)]
    assert db.execute("select count(*), count(distinct line) from transactions").fetchall() == [(n, n)]


def test_commit_compares_with_the_database_again(db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """What changed between preview and commit counts: rows committed meanwhile are not
    added twice, rows undone meanwhile are added."""
    a = write_orders(tmp_path / "a.csv", ["00001,2024-01-01,10.00,华东,线上", "00002,2024-01-02,20.00,华东,线上"])
    b = write_orders(tmp_path / "b.csv", ["00002,2024-01-02,20.00,华东,线上", "00003,2024-01-03,30.00,华南,门店"])
    first = import_file(db, a, commit=True)

    later = prepare(db, b)
    try:
        assert (later.report.rows_already_present, later.report.rows_to_import) == (1, 1)
        assert undo_import(db, first.import_id) == 2          # meanwhile, a is undone
        report = commit_import(later, imported_by="test")
    finally:
        later.close()
    assert (report.rows_imported, report.rows_already_present) == (2, 0)
    assert [r[2] for r in rows_of(db)] == ["00002", "00003"]

    early = prepare(db, a)
    try:
        assert (early.report.rows_already_present, early.report.rows_to_import) == (1, 1)   # 00002 (b's)
        import_file(db, a, commit=True)                       # meanwhile, a is imported again
        report = commit_import(early, imported_by="test")
    finally:
        early.close()
    assert (report.status, report.rows_imported, report.rows_already_present) == ("nothing new", 0, 2)
    assert db.execute("select customer_id, count(*) from transactions group by 1 order by 1").fetchall() == [
        ("00001", 1), ("00002", 1), ("00003", 1)]


# --------------------------------------------------------------------------- commit time

def _rebuild_seconds(folder: Path, with_ids: bool, n: int) -> float:
    path = folder / f"orders-{with_ids}.csv"
    order_id = "cast(i as varchar) as \"order id\", " if with_ids else ""
    duckdb.connect().execute(
        f"copy (select {order_id}lpad(cast(i % 5000 as varchar), 6, '0') as \"customer id\", "
        "date '2024-01-01' + cast(i % 365 as integer) as \"order date\", i as amount "
        f"from range({n}) t(i)) to '{path}' (header, delimiter ',')").close()
    con = connect(folder / f"crm-{with_ids}.duckdb")
    try:
        assert import_file(con, path, commit=True).rows_imported == n
        cur = con.cursor()
        best = float("inf")
        for _ in range(2):
            cur.execute("begin transaction")
            start = time.perf_counter()
            marts.rebuild(cur)
            best = min(best, time.perf_counter() - start)
            cur.execute("rollback")
        return best
    finally:
        con.close()


def test_rebuild_without_order_ids_is_not_much_slower(tmp_path: Path) -> None:
    """Rebuilding the summaries runs inside every commit and undo, holding the write lock.
    Rows keyed by content (no order id) once made it ~40x slower: the marts grouped on
    cast(row_key as varchar), and DuckDB's UHUGEINT-to-text cast costs ~40 us a value."""
    n = 60_000
    with_ids = _rebuild_seconds(tmp_path, True, n)
    without_ids = _rebuild_seconds(tmp_path, False, n)
    assert without_ids < 5 * with_ids + 0.5, (without_ids, with_ids)
