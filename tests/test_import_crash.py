"""A killed process (``kill -9``) during an import leaves the database as it was: killed while
it writes the rows, or with every row written but before the summaries and the commit;
afterwards the same file imports normally, completely."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from atomicity_util import ledger, rows_of, snapshot, write_orders

from analytics.ingest.pipeline import import_file
from analytics.paths import PROJECT_ROOT
from analytics.store.connection import connect, data_version

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
