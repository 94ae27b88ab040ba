"""Issue 10, the store group: undo keeps rows other imports hold (#2), readers never see a
half-committed import (#7), identity rules that keep totals right (#12), and the small ones of
#20 (a BOM in the access file, the read-only commands beside the running app, out-of-range
months)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from datetime import date

import duckdb
import pytest
from import_util import con_fixture, rows, write  # noqa: F401 (the con fixture)

from analytics.access import load_access
from analytics.cli import main
from analytics.ingest.claims import UndoEffect, undo_preview
from analytics.ingest.pipeline import commit_import, import_file, prepare, undo_import
from analytics.metrics.data import data_status
from analytics.metrics.overview import revenue_by_region
from analytics.paths import PROJECT_ROOT
from analytics.scope import Scope
from analytics.store.connection import connect
from analytics.store.snapshot import snapshot

SALES = "订单编号,客户编号,订单日期,实付金额,大区\nSO1,00123,2024-01-05,100,华东\nSO2,00124,2024-03-06,50,华北\n"


# --- #20: a BOM in access.toml, read-only commands while the app runs, out-of-range months ---

def test_an_access_file_saved_with_a_bom_is_read(tmp_path):
    path = tmp_path / "access.toml"
    path.write_bytes("\ufeff".encode() + b'[users."li.wei@example.com"]\nrole = "executive"\n')
    users = load_access(path).users
    assert [u.email for u in users] == ["li.wei@example.com"]


@pytest.fixture
def held_db(tmp_path):
    """A database with sales in it, held open read-write by another process (as the running
    app holds it) until the test ends."""
    db = tmp_path / "crm.duckdb"
    con = connect(db)
    import_file(con, write(tmp_path / "sales.csv", SALES), commit=True)
    con.close()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from analytics.store.connection import connect
            con = connect({str(db)!r})
            print("open", flush=True)
            sys.stdin.read()
        """)], cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "open"
    yield db
    holder.stdin.close()
    holder.wait(timeout=30)


def test_the_commands_that_only_read_run_while_another_process_holds_the_database(held_db, capsys):
    assert main(["--db", str(held_db), "imports"]) == 0
    assert "sales.csv" in capsys.readouterr().out
    assert main(["--db", str(held_db), "check"]) in (0, 1)
    out, err = capsys.readouterr()
    assert "unknown_customers" in out and "read from a copy" in err
    assert main(["--db", str(held_db), "report", "overview", "--to", "2024-03"]) == 0
    out = capsys.readouterr().out
    assert "150" in out
    # a command that writes still says the database is busy
    assert main(["--db", str(held_db), "undo", "1"]) == 3
    assert "open in another process" in capsys.readouterr().err


@pytest.mark.parametrize("option", [["--to", "0001-01"], ["--from", "0001-01", "--to", "2024-03"],
                                    ["--to", "9999-12"]])
def test_a_month_out_of_range_is_a_clear_error(con, tmp_path, capsys, option):
    db = tmp_path / "m.duckdb"
    c = connect(db)
    import_file(c, write(tmp_path / "sales.csv", SALES), commit=True)
    c.close()
    assert main(["--db", str(db), "report", "overview", *option]) == 2
    err = capsys.readouterr().err
    assert "out of range" not in err.replace("months from", "")
    assert "1900-01" in err and "2100-12" in err


# --- #2: undo keeps the rows another committed import also brought ---

def _sales(first: int, last: int) -> str:
    return "客户编号,订单日期,实付金额\n" + "".join(f"C{i},2024-01-{1 + i % 28:02d},{i}\n" for i in range(first, last))


def held(con, kind: str = "transactions") -> dict[int, int]:
    """Rows each import holds (live, and replaced order lines)."""
    retired = " union all select import_id from transactions_replaced" if kind == "transactions" else ""
    return dict(rows(con, f"select import_id, count(*) from (select import_id from {kind}{retired}) group by 1"))


@pytest.mark.parametrize("shape", ["keyless", "orders", "customers"])
def test_undo_keeps_the_rows_a_later_import_also_brought(con, tmp_path, shape):
    if shape == "keyless":
        a, b = _sales(0, 100), _sales(0, 200)
    elif shape == "orders":  # 100 orders of two lines; B: the same orders and 50 more
        def orders(n: int) -> str:
            return "订单编号,客户编号,订单日期,实付金额,商品名称\n" + "".join(
                f"SO{i},C{i},2024-01-05,{i},A\nSO{i},C{i},2024-01-05,{i},B\n" for i in range(n))
        a, b = orders(50), orders(100)
    else:
        def customers(n: int) -> str:
            return "客户编号,客户名称\n" + "".join(f"C{i},客户{i}\n" for i in range(n))
        a, b = customers(100), customers(200)
    kind = "customers" if shape == "customers" else "transactions"
    first = import_file(con, write(tmp_path / "a.csv", a), commit=True)
    second = import_file(con, write(tmp_path / "b.csv", b), commit=True)
    assert (first.rows_imported, second.rows_already_present, second.rows_imported) == (100, 100, 100)
    undo_import(con, first.import_id)
    assert rows(con, f"select count(*) from {kind}") == [(200,)]
    assert held(con, kind) == {second.import_id: 200}
    assert rows(con, "select rows_imported, rows_inherited from imports where import_id = 2") == [(100, 100)]
    if kind == "transactions":
        assert rows(con, "select sum(orders) from customer_summary") == [(100 if shape == "orders" else 200,)]
    undo_import(con, second.import_id)
    assert rows(con, f"select count(*) from {kind}") == [(0,)]
    assert rows(con, "select count(*) from import_claims") == [(0,)]


def test_undo_hands_a_row_to_the_earliest_committed_import_that_also_brought_it(con, tmp_path):
    for name in "abc":
        import_file(con, write(tmp_path / f"{name}.csv", _sales(0, 3)), commit=True)
    undo_import(con, 2)  # a claimant undone: its claims go, nothing else changes
    assert held(con) == {1: 3}
    undo_import(con, 1)
    assert held(con) == {3: 3}
    assert rows(con, "select import_id, rows_inherited from imports order by 1") == [(1, 0), (2, 0), (3, 3)]


# --- #12: an order is one order however many files its lines came in ---

LINES = "订单编号,客户编号,订单日期,实付金额,商品名称\n"
PART_1 = "SO1,C1,2024-01-05,10,A\nSO1,C1,2024-01-05,12,B\nSO0,C1,2024-01-04,1,A\n"
PART_2 = "SO1,C1,2024-01-05,7,C\nSO1,C1,2024-01-05,8,D\nSO2,C1,2024-01-06,1,A\n"


def orders_and_revenue(con) -> list[tuple]:
    return rows(con, "select sum(orders), sum(revenue) from customer_summary")


def test_an_order_split_over_two_files_is_one_order_with_every_line(con, tmp_path):
    import_file(con, write(tmp_path / "part1.csv", LINES + PART_1), commit=True)
    report = import_file(con, write(tmp_path / "part2.csv", LINES + PART_2), commit=True)
    assert (report.orders, report.orders_continued, report.orders_amended, report.rows_imported) == (2, 1, 0, 3)
    assert any("continue orders already in the database" in n for n in report.notes)
    assert rows(con, "select count(*), count(*) filter (where is_order_start) from transactions "
                     "where transaction_id = 'SO1'") == [(4, 1)]
    assert orders_and_revenue(con) == [(3, 39)]
    assert rows(con, "select sum(orders) from sales_month") == [(3,)]
    # the first file again adds nothing; the second again neither
    assert import_file(con, write(tmp_path / "part2.csv", LINES + PART_2), commit=True).rows_imported == 0
    # undoing the first file: SO1 keeps its lines from the second, and is still counted once
    undo_import(con, 1)
    assert rows(con, "select count(*), count(*) filter (where is_order_start) from transactions "
                     "where transaction_id = 'SO1'") == [(2, 1)]
    assert orders_and_revenue(con) == [(2, 16)]


def test_lines_added_beside_an_order_continue_it_and_a_changed_line_amends_it(con, tmp_path):
    import_file(con, write(tmp_path / "a.csv", LINES + PART_1), commit=True)
    more = PART_1 + "SO1,C1,2024-01-05,5,E\n"  # the whole order again with a new product: continued
    report = import_file(con, write(tmp_path / "b.csv", LINES + more))
    assert (report.orders_continued, report.orders_amended, report.rows_to_import) == (1, 0, 1)
    changed = PART_1.replace("12,B", "15,B")  # a line of product B changed: amended (kept by default)
    report = import_file(con, write(tmp_path / "c.csv", LINES + changed))
    assert (report.orders_continued, report.orders_amended, report.rows_to_import) == (0, 1, 0)
    only_b = "SO1,C1,2024-01-05,15,B\n"  # only the changed line, in a file of its own: amended
    report = import_file(con, write(tmp_path / "d.csv", LINES + only_b))
    assert (report.orders_continued, report.orders_amended) == (0, 1)


# --- #7: a reader never sees part of an import ---

def test_a_page_pinned_to_one_snapshot_never_sees_part_of_a_large_import(tmp_path):
    """A reader thread polls what the pages read, the ledger and the overview's revenue by region in one
    snapshot (as ui.loaders.load_view pins a page), while imports of 150,000 rows commit (the
    size at which two autocommit queries saw the rows before the ledger, bench/reader_visibility.py).
    Every poll's revenue is exactly that of the imports its ledger lists as committed. (The whole
    overview also fits the value models for its average-CLV tile: too slow to poll often.)"""
    n = 150_000
    files, revenue = [], {}
    for k in range(3):  # each file: n rows of amount k+1 (distinct rows: each its own customer and date)
        body = "".join(f"F{k}C{i},2024-{1 + i % 12:02d}-{1 + i % 28:02d},{k + 1}\n" for i in range(n))
        files.append(write(tmp_path / f"big{k}.csv", "客户编号,订单日期,实付金额\n" + body))
    con = connect(tmp_path / "crm.duckdb")
    scope = Scope(start=date(2024, 1, 1), end=date(2024, 12, 1), compare="none")
    stop, seen, torn = threading.Event(), [], []

    def reader() -> None:
        while not stop.is_set():
            with snapshot(con) as view:
                ledger = [r for r in data_status(view).imports if r["status"] == "committed"]
                by_region = revenue_by_region(view, scope)
                version = view.data_version
            expected = sum(revenue.get(r["file_name"], 0) for r in ledger)
            got = by_region["revenue"].sum()
            seen.append(version)
            if got != expected or version != len(ledger):
                torn.append((version, [r["import_id"] for r in ledger], got, expected))

    thread = threading.Thread(target=reader)
    try:
        for k, path in enumerate(files):
            prepared = prepare(con, path)
            revenue[path.name] = n * (k + 1)  # known before the commit, as the reader may see it at once
            if k == 0:
                thread.start()
            commit_import(prepared, imported_by="test")
            prepared.close()
    finally:
        stop.set()
        thread.join()
        con.close()
    assert not torn, torn[:3]
    assert len(seen) > 20 and len(set(seen)) >= 2  # it polled before, during and after commits


def test_undo_brings_in_the_version_a_later_import_brought_with_other_values(con, tmp_path):
    """A later import's conflicting customer and its kept version of an amended order were not
    stored; undoing the import that held them stores the later versions, as if it had never been."""
    import_file(con, write(tmp_path / "a.csv", "客户编号,客户名称\nK1,甲\nK2,乙\n"), commit=True)
    conflict = import_file(con, write(tmp_path / "b.csv", "客户编号,客户名称\nK1,丙\n"), commit=True)
    assert conflict.rows_conflicting == 1
    undo_import(con, 1)
    assert rows(con, "select customer_id, customer_name, import_id from customers") == [("K1", "丙", 2)]
    import_file(con, write(tmp_path / "c.csv", LINES + PART_1), commit=True)
    kept = import_file(con, write(tmp_path / "d.csv", LINES + PART_1.replace("12,B", "15,B")), commit=True)
    assert (kept.orders_amended, kept.rows_imported) == (1, 0)
    undo_import(con, 3)
    # SO0 the same in both files (handed over), SO1 the later file's version (brought in)
    assert rows(con, "select transaction_id, amount, import_id from transactions order by 1, 2") == [
        ("SO0", 1, 4), ("SO1", 10, 4), ("SO1", 15, 4)]
    assert orders_and_revenue(con) == [(2, 26)]
    assert rows(con, "select rows_imported, rows_inherited from imports where import_id = 4") == [(0, 3)]


def test_the_undo_says_beforehand_and_after_which_rows_stay(con, tmp_path, capsys):
    db = str(tmp_path / "cli.duckdb")
    for name, body in (("a.csv", _sales(0, 100)), ("b.csv", _sales(0, 200))):
        assert main(["--db", db, "import", str(write(tmp_path / name, body)), "--commit"]) == 0
    c = connect(db)
    assert undo_preview(c, 1) == UndoEffect(removed=0, kept=100, brought_back=0)
    assert undo_preview(c, 2) == UndoEffect(removed=100, kept=0, brought_back=0)
    assert rows(c, "select count(*) from transactions") == [(200,)]  # the preview changed nothing
    c.close()
    capsys.readouterr()
    assert main(["--db", db, "undo", "1"]) == 0
    assert "import #1 undone: 0 rows removed; 100 rows kept (other imports brought them too)" in capsys.readouterr().out


# --- #12: a sales row without an order number, amended ---

KEYLESS = "客户编号,订单日期,商品名称,实付金额\nC1,2024-01-05,A,100\nC1,2024-01-05,A,100\nC2,2024-01-06,B,50\n"


@pytest.mark.parametrize("policy", ["keep", "replace"])
def test_an_amended_row_without_an_order_number_is_reported_not_added_beside(con, tmp_path, policy):
    """Rows without order numbers are compared by content: a corrected amount used to add a
    second purchase beside the first. The rule: a new row naming a stored purchase (customer,
    date, product and the other descriptive columns) that the file no longer holds, with other
    figures, amends it."""
    import_file(con, write(tmp_path / "a.csv", KEYLESS), commit=True)
    # one of the two identical purchases corrected to 120; a new purchase of C3; C2 as it was
    corrected = KEYLESS.replace("C1,2024-01-05,A,100\nC2", "C1,2024-01-05,A,120\nC2") + "C3,2024-01-07,A,9\n"
    report = import_file(con, write(tmp_path / "b.csv", corrected), commit=True, amended=policy)
    assert (report.rows_already_present, report.rows_to_import) == (2, 2 if policy == "replace" else 1)
    assert [(r["line"], r["amount"], r["stored"], r["import_id"]) for r in report.amended_rows] == [
        (3, 120, 100, 1)]
    assert any("amended rows" in n for n in report.notes)
    stored = rows(con, "select customer_id, amount from transactions order by 1, 2")
    if policy == "keep":
        assert report.rows_amended == 1
        assert stored == [("C1", 100), ("C1", 100), ("C2", 50), ("C3", 9)]
    else:
        assert report.rows_replaced == 1
        assert stored == [("C1", 100), ("C1", 120), ("C2", 50), ("C3", 9)]
        assert orders_and_revenue(con) == [(4, 279)]
        undo_import(con, report.import_id)  # the stored purchase comes back
        assert rows(con, "select customer_id, amount from transactions order by 1, 2") == [
            ("C1", 100), ("C1", 100), ("C2", 50)]
        assert rows(con, "select count(*) from transactions_replaced") == [(0,)]


def test_undoing_the_stored_purchase_brings_in_the_amended_row_kept_aside(con, tmp_path):
    import_file(con, write(tmp_path / "a.csv", KEYLESS), commit=True)
    corrected = KEYLESS.replace("C2,2024-01-06,B,50", "C2,2024-01-06,B,55")
    assert import_file(con, write(tmp_path / "b.csv", corrected), commit=True).rows_amended == 1
    undo_import(con, 1)  # the C1 rows pass to #2 (it brought them too), C2 is #2's corrected row
    assert rows(con, "select customer_id, amount, import_id from transactions order by 1, 2") == [
        ("C1", 100, 2), ("C1", 100, 2), ("C2", 55, 2)]
    assert rows(con, "select rows_imported, rows_inherited from imports where import_id = 2") == [(0, 3)]


def test_the_command_line_lists_continued_orders_and_amended_rows(tmp_path, capsys):
    db = str(tmp_path / "cli.duckdb")
    for name, body in (("p1.csv", LINES + PART_1), ("p2.csv", LINES + PART_2), ("k1.csv", KEYLESS)):
        assert main(["--db", db, "import", str(write(tmp_path / name, body)), "--commit"]) == 0
    out = capsys.readouterr().out
    assert "continuing stored orders: 1" in out
    corrected = KEYLESS.replace("C2,2024-01-06,B,50", "C2,2024-01-06,B,55")
    assert main(["--db", db, "import", str(write(tmp_path / "k2.csv", corrected))]) == 0
    out = capsys.readouterr().out
    assert "amended row, line 4: customer C2, 2024-01-06, product B: amount 55.0000 in the file, 50.0000 stored" in out


def test_a_large_order_line_file_imported_again_under_a_small_memory_limit_adds_nothing(tmp_path):
    """Re-importing a big export whose every line is stored never runs out of memory: its
    claims are numbered and written in steps that spill (one query held them all: 300,000 lines
    failed under 90 MB, as 10M lines did under the default 1 GB)."""
    path, db = tmp_path / "lines.csv", tmp_path / "crm.duckdb"
    duckdb.connect().execute(
        "copy (select 'SO' || lpad(cast(o * 7919 % 1000003 as varchar), 9, '0') as transaction_id, "
        "'C' || lpad(cast(hash(o) % 20000 as varchar), 7, '0') as customer_id, "
        "date '2022-01-01' + cast(hash(o, 'd') % 1000 as integer) as order_date, "
        "round(10 + hash(o, l, 'a') % 90000 / 100.0, 2) as amount, 1 + hash(o, l) % 3 as quantity, "
        "'华东' as region, '线上' as channel, '商品' || (hash(o, l, 'p') % 60) as product "
        f"from range(100000) t(o), range(3) r(l) order by hash(o), l) to '{path}' (header)")
    con = connect(db)
    assert import_file(con, path, commit=True, kind="transactions").rows_imported == 300_000
    con.close()
    con = connect(db, memory_limit="90MB", threads=2)
    report = import_file(con, path, commit=True, kind="transactions")
    assert (report.rows_imported, report.rows_already_present) == (0, 300_000)
    con.close()
