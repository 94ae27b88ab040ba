"""An import is all or nothing: a failure or a killed process leaves the database as it was;
undo removes exactly one import's rows; concurrent imports on one connection both land."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

import analytics.ingest.pipeline as importer
from analytics.errors import ImportNotFound
from analytics.ingest.pipeline import commit_import, import_file, prepare, undo_import
from analytics.paths import PROJECT_ROOT
from analytics.store import marts
from analytics.store.connection import connect, data_version

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


# --------------------------------------------------------------------------- failure half way

class Boom(Exception):
    """A step of the commit failed."""


class Interrupted(BaseException):
    """Not an Exception: like Ctrl-C or Streamlit stopping a script run mid-way."""


def _fail_in_rebuild(monkeypatch: pytest.MonkeyPatch, seen: list[int]) -> Callable[..., Any] | None:
    real = marts.rebuild

    def rebuild(cur: duckdb.DuckDBPyConnection) -> None:
        seen.append(cur.execute("select count(*) from transactions").fetchall()[0][0])
        real(cur)                       # the summaries are replaced inside the transaction...
        raise Boom("disk full while rebuilding summaries")   # ...then it fails

    monkeypatch.setattr(marts, "rebuild", rebuild)
    return None


def _fail_in_bump(monkeypatch: pytest.MonkeyPatch, seen: list[int]) -> Callable[..., Any] | None:
    real = importer.bump_data_version

    def bump(cur: duckdb.DuckDBPyConnection) -> None:
        seen.append(cur.execute("select count(*) from transactions").fetchall()[0][0])
        real(cur)
        raise Boom("failed after raising the data version")

    monkeypatch.setattr(importer, "bump_data_version", bump)
    return None


def _interrupt_in_progress(monkeypatch: pytest.MonkeyPatch, seen: list[int]) -> Callable[..., Any] | None:
    def progress(stage: str, _fraction: float) -> None:
        if stage == "rebuilding summaries":
            seen.append(-1)
            raise Interrupted(stage)

    return progress


@pytest.mark.parametrize(("fail", "error"), [
    (_fail_in_rebuild, Boom), (_fail_in_bump, Boom), (_interrupt_in_progress, Interrupted),
], ids=["rebuild-raises", "bump-data-version-raises", "progress-interrupts"])
def test_failure_during_commit_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               fail: Callable[..., Any], error: type[BaseException]) -> None:
    db_path = tmp_path / "crm.duckdb"
    first = write_orders(tmp_path / "first.csv", [
        "00001,2024-01-05,100.00,华东,线上", "00002,2024-01-06,-20.50,华南,门店",
        "00003,not a date,1.00,华北,线上"])
    second = write_orders(tmp_path / "second.csv", [
        "00001,2024-01-05,100.00,华东,线上",          # already present
        "00004,2024-02-01,\"1,234.50\",西南,天猫", "00005,2024/2/2,¥5.00,,",
        "00006,2024-02-03,oops,东北,线上"])            # rejected
    con = connect(db_path)
    try:
        earlier = import_file(con, first, commit=True)
        assert (earlier.rows_imported, earlier.rows_rejected) == (2, 1)
        before = snapshot(con)
        version = data_version(con)
        assert len(before["import_rejects"]) == 1 and len(before["customer_summary"]) == 2

        seen: list[int] = []
        progress = fail(monkeypatch, seen)
        with pytest.raises(error):
            import_file(con, second, commit=True, progress=progress)
        # the failure came after the new rows were written inside the transaction
        assert seen and (seen[0] == -1 or seen[0] == 2 + 2)
        monkeypatch.undo()

        assert snapshot(con) == before
        assert data_version(con) == version
    finally:
        con.close()

    # Nothing reached the file either, and the database is usable: the same import now commits.
    con = connect(db_path)
    try:
        assert snapshot(con) == before
        report = import_file(con, second, commit=True)
        assert (report.status, report.rows_imported, report.rows_already_present, report.rows_rejected) == (
            "committed", 2, 1, 1)
        assert data_version(con) == version + 1
        assert [r[2] for r in rows_of(con, report.import_id)] == ["00004", "00005"]
        assert con.execute("select count(*) from import_rejects where import_id = ?",
                           [report.import_id]).fetchall() == [(1,)]
        assert con.execute("select count(*) from customer_summary").fetchall() == [(4,)]
    finally:
        con.close()


# --------------------------------------------------------------------------- kill -9

BIG_ROWS = 1_500_000
CUSTOMERS = 5_000

# argv: database, file, and a stage at which the child holds still (blocked reading its
# stdin, which the parent never writes) so that the kill lands at exactly that point.
CHILD = r"""
import sys
from analytics.store.connection import connect
from analytics.ingest.pipeline import import_file

con = connect(sys.argv[1])

def progress(stage, fraction):
    print(stage, flush=True)
    if stage == sys.argv[3]:
        sys.stdin.readline()

report = import_file(con, sys.argv[2], commit=True, imported_by="child", progress=progress)
print("committed", report.import_id, report.rows_imported, flush=True)
"""


def write_big_csv(path: Path, n: int) -> None:
    """n rows; row i has amount i/100 and customer i % CUSTOMERS, zero-padded."""
    duckdb.connect().execute(
        f"copy (select lpad(cast(i % {CUSTOMERS} as varchar), 6, '0') as \"客户编号\", "
        "date '2020-01-01' + cast(i % 1500 as integer) as \"订单日期\", "
        "cast(i // 100 as varchar) || '.' || lpad(cast(i % 100 as varchar), 2, '0') as \"实付金额\", "
        "['华东', '华南', '华北'][i % 3 + 1] as \"大区\", '线上' as \"渠道\" "
        f"from range({n}) t(i)) to '{path}' (header, delimiter ',')").close()


def kill_at(db_path: Path, csv_path: Path, stage: str, hold: bool, timeout: float = 180) -> list[str]:
    """Run the import in a child process and SIGKILL it once it reports ``stage``; with
    ``hold`` the child waits there, else it runs on and is killed wherever it has got to."""
    errors = db_path.with_name(f"child-{stage.replace(' ', '-')}.err")
    with errors.open("w") as err:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(db_path), str(csv_path),
                                  stage if hold else ""],
                                 cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=err, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line.strip())
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            if line is None:
                raise AssertionError(f"child ended before {stage!r}: {seen}; "
                                     f"stderr: {errors.read_text()[-3000:]}")
            seen.append(line)
            if line == stage:
                os.kill(child.pid, signal.SIGKILL)
                break
        assert child.wait(timeout=60) == -signal.SIGKILL
        while (line := lines.get(timeout=10)) is not None:   # whatever it printed before dying
            seen.append(line)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        assert child.stdin is not None
        child.stdin.close()
    return seen


@pytest.mark.slow
def test_kill_9_during_commit_leaves_database_as_it_was(tmp_path: Path) -> None:
    db_path = tmp_path / "crm.duckdb"
    big = tmp_path / "big.csv"
    write_big_csv(big, BIG_ROWS)
    earlier_file = write_orders(tmp_path / "earlier.csv", [
        "E0001,2023-12-30,10.00,华东,线上", "E0002,2023-12-31,-3.00,华南,门店", "E0003,bad,1.00,,"])
    con = connect(db_path)
    try:
        earlier = import_file(con, earlier_file, commit=True)
        assert (earlier.import_id, earlier.rows_imported) == (1, 2)
        before = snapshot(con)
        version = data_version(con)
    finally:
        con.close()

    # 1. killed while it writes the rows (the insert of 1.5M rows takes a while; a kill that
    #    came after the commit would show as "checking data quality" below);
    # 2. killed with every row and the ledger entry written, before the summaries and the
    #    commit (the child holds still there).
    for stage, hold in (("writing rows", False), ("rebuilding summaries", True)):
        seen = kill_at(db_path, big, stage, hold)
        assert stage in seen, seen
        assert "checking data quality" not in seen and not any(s.startswith("committed") for s in seen)
        con = connect(db_path)
        try:
            assert ledger(con) == [(1, "committed", 2)]
            assert con.execute("select count(*), count(*) filter (where import_id <> 1) "
                               "from transactions").fetchall() == [(2, 0)]
            assert data_version(con) == version
            assert snapshot(con) == before
        finally:
            con.close()

    # After the crashes the database takes the same file normally, completely.
    con = connect(db_path)
    try:
        report = import_file(con, big, commit=True)
        assert (report.status, report.rows_read, report.rows_rejected, report.rows_imported) == (
            "committed", BIG_ROWS, 0, BIG_ROWS)
        assert report.import_id not in (None, 1)
        assert ledger(con) == [(1, "committed", 2), (report.import_id, "committed", BIG_ROWS)]
        assert data_version(con) == version + 1
        # Every row, once, with its own values (row i: amount i/100, customer i % CUSTOMERS).
        # Line numbers are not checked here: see test_line_numbers_of_a_large_csv.
        assert con.execute(
            "select count(*), count(distinct amount), min(amount), max(amount), "
            f"count(*) filter (where customer_id <> lpad(cast(cast(amount * 100 as bigint) % {CUSTOMERS} "
            "as varchar), 6, '0')), count(distinct customer_id) from transactions where import_id = ?",
            [report.import_id]).fetchall() == [
                (BIG_ROWS, BIG_ROWS, Decimal("0"), Decimal(BIG_ROWS - 1) / 100, 0, CUSTOMERS)]
        for table in ("transactions", "import_rejects", "imports"):
            assert con.execute(f"select * from {table} where import_id = 1 order by all").fetchall() == (
                before[table]), table
        assert [r[:5] for r in rows_of(con, 1)] == [
            (1, 2, "E0001", date(2023, 12, 30), Decimal("10.00")),
            (1, 3, "E0002", date(2023, 12, 31), Decimal("-3.00"))]
        assert con.execute("select count(*) from customer_summary").fetchall() == [(CUSTOMERS + 2,)]
    finally:
        con.close()


# --------------------------------------------------------------------------- undo

def test_undo_removes_exactly_its_rows(db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    a = write_orders(tmp_path / "a.csv", ["00001,2024-01-01,10.00,华东,线上",
                                          "00002,2024-01-02,20.00,华东,线上"])
    b = write_orders(tmp_path / "b.csv", ["00002,2024-01-02,20.00,华东,线上",   # present (from a)
                                          "00003,2024-01-03,30.00,华南,门店"])
    c = write_orders(tmp_path / "c.csv", ["00004,2024-01-04,40.00,华北,线上"])
    v0 = data_version(db)
    ra = import_file(db, a, commit=True)
    assert data_version(db) == v0 + 1
    rb = import_file(db, b, commit=True)
    assert (rb.rows_imported, rb.rows_already_present) == (1, 1)
    rc = import_file(db, c, commit=True)
    assert data_version(db) == v0 + 3
    a_rows, c_rows = rows_of(db, ra.import_id), rows_of(db, rc.import_id)
    assert [r[2] for r in a_rows] == ["00001", "00002"]

    # Undoing b removes only 00003: the row b found already present stays, as a's.
    assert undo_import(db, rb.import_id, undone_by="tester") == 1
    assert data_version(db) == v0 + 4
    assert rows_of(db) == a_rows + c_rows
    assert db.execute("select import_id, status, undone_by from imports order by import_id").fetchall() == [
        (ra.import_id, "committed", None), (rb.import_id, "undone", "tester"),
        (rc.import_id, "committed", None)]
    assert db.execute("select customer_id, revenue from customer_summary order by customer_id").fetchall() == [
        ("00001", Decimal("10")), ("00002", Decimal("20")), ("00004", Decimal("40"))]

    with pytest.raises(ImportNotFound):
        undo_import(db, rb.import_id)
    with pytest.raises(ImportNotFound):
        undo_import(db, 999)
    assert data_version(db) == v0 + 4

    # Undoing a takes its two rows, c stays.
    assert undo_import(db, ra.import_id) == 2
    assert data_version(db) == v0 + 5
    assert rows_of(db) == c_rows
    assert db.execute("select customer_id from customer_summary").fetchall() == [("00004",)]
    assert db.execute("select distinct customer_id from customer_month").fetchall() == [("00004",)]

    # An undone file can be imported again: its rows come back under a new import.
    again = import_file(db, b, commit=True)
    assert again.already_imported_as == []
    assert (again.status, again.rows_imported) == ("committed", 2)
    assert [r[2] for r in rows_of(db, again.import_id)] == ["00002", "00003"]


def test_undo_of_nothing_new_import(db: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    a = write_orders(tmp_path / "a.csv", ["00001,2024-01-01,10.00,华东,线上"])
    first = import_file(db, a, commit=True)
    second = import_file(db, a, commit=True)
    assert second.status == "nothing new"
    assert undo_import(db, second.import_id) == 0
    assert rows_of(db) == [(first.import_id, 2, "00001", date(2024, 1, 1), Decimal("10.00"))]


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
