"""The import pipeline's record identity: duplicates, conflicts, re-import, undo, content keys, orders, md5 keys."""

from __future__ import annotations

from decimal import Decimal

import pytest
from import_util import (
    READERS,
    ZH_HEADER,
    ZH_ROWS,
    con_fixture,  # noqa: F401 (the con fixture)
    rows,
    write,
)

from analytics.ingest.identity import hash_expr
from analytics.ingest.pipeline import import_file, undo_import
from analytics.ingest.schema import column
from analytics.store import migrations
from analytics.store.connection import connect, data_version
from analytics.store.migrations import schema_version

# ----------------------------------------------------------------------------- duplicates, conflicts

def test_a_repeated_line_id_is_a_duplicate_or_a_conflict_and_lines_without_one_are_lines(con, tmp_path):
    """With line ids, an order's line id twice is one line (same values: imported once) or a
    conflict (other values: the first kept, listed). Without line ids, every row is a line."""
    path = write(tmp_path / "k.csv",
                 "transaction_id,line_id,customer_id,order_date,amount\n"
                 "T1,1,C1,2024-01-05,10\nT2,1,C2,2024-01-05,20\nT1,1,C1,2024-01-05,10\nT2,1,C2,2024-01-05,25\n"
                 "T2,2,C2,2024-01-05,25\n")
    report = import_file(con, path, commit=True)
    assert (report.rows_valid, report.rows_duplicate, report.rows_conflicting, report.rows_imported) == (
        5, 1, 1, 3)
    assert report.conflicts == [{"line": 5, "key": "T2 / 1", "other": "line 3 of this file",
                                 "kept": "the other row"}]
    assert rows(con, "select transaction_id, line_id, amount from transactions order by line") == [
        ("T1", "1", Decimal("10")), ("T2", "1", Decimal("20")), ("T2", "2", Decimal("25"))]
    assert report.orders == 2
    plain = write(tmp_path / "plain.csv",
                  "transaction_id,customer_id,order_date,amount\n"
                  "T8,C1,2024-01-05,10\nT9,C2,2024-01-05,20\nT8,C1,2024-01-05,10\nT9,C2,2024-01-05,25\n")
    report = import_file(con, plain, commit=True)
    assert (report.rows_duplicate, report.rows_conflicting, report.rows_imported, report.orders) == (0, 0, 4, 2)


def test_a_line_without_a_line_id_in_a_file_with_line_ids_is_told_apart_by_its_content(con, tmp_path):
    path = write(tmp_path / "k.csv", "transaction_id,line_id,customer_id,order_date,amount\n"
                 "T1,,C1,2024-01-05,10\nT1,,C1,2024-01-05,10\nT1,,C1,2024-01-05,12\nT1,1,C1,2024-01-05,9\n")
    report = import_file(con, path, commit=True)
    assert (report.rows_duplicate, report.rows_conflicting, report.rows_imported, report.orders) == (0, 0, 4, 1)
    assert import_file(con, path, commit=True).rows_imported == 0


def test_an_order_stored_with_other_lines_is_amended_kept_by_default(con, tmp_path):
    """An order the database holds comes again with a line changed: an amended order, listed
    with its number and what differs; the stored order is kept, the file's lines of it are not
    imported, and a new order of the file is."""
    first = write(tmp_path / "a.csv", "transaction_id,customer_id,order_date,amount\nT1,C1,2024-01-05,10\n"
                  "T1,C1,2024-01-05,4\n")
    import_file(con, first, commit=True)
    second = write(tmp_path / "b.csv",
                   "transaction_id,customer_id,order_date,amount\nT1,C1,2024-01-05,99\nT1,C1,2024-01-05,4\n"
                   "T2,C1,2024-01-06,5\n")
    report = import_file(con, second, commit=True)
    assert (report.rows_imported, report.rows_amended, report.rows_conflicting, report.rows_already_present) == (
        1, 2, 0, 0)
    assert (report.orders, report.orders_amended, report.amended_policy, report.rows_replaced) == (2, 1, "keep", 0)
    assert report.amended == [{"order": "T1", "line": 2, "lines_in_file": 2, "lines_stored": 2, "only_in_file": 1,
                               "only_stored": 1, "import_id": 1}]
    assert report.rows_valid == (report.rows_duplicate + report.rows_conflicting + report.rows_already_present
                                 + report.rows_amended + report.rows_to_import)
    assert rows(con, "select transaction_id, amount from transactions order by transaction_id, amount") == [
        ("T1", Decimal("4")), ("T1", Decimal("10")), ("T2", Decimal("5"))]
    assert rows(con, "select orders_amended, amended_policy, rows_replaced from imports where import_id = 2") == [
        (1, "keep", 0)]


def test_identical_rows_without_an_id_stay_separate_purchases(con, tmp_path):
    path = write(tmp_path / "n.csv", "customer_id,order_date,amount\nC1,2024-01-05,10\nC1,2024-01-05,10\n")
    report = import_file(con, path, commit=True)
    assert report.rows_imported == 2 and report.identical_rows == 1
    assert any("separate" in n for n in report.notes)


def test_rows_with_an_empty_id_in_a_file_with_ids_are_keyed_by_content(con, tmp_path):
    """An id column with some empty cells: those rows are told apart by their content."""
    path = write(tmp_path / "ids.csv", "transaction_id,customer_id,order_date,amount\n"
                 "T1,C1,2024-01-05,10\n"
                 ",C2,2024-01-06,20\n"
                 ",C3,2024-01-07,30\n"
                 ",C3,2024-01-07,30\n")
    report = import_file(con, path, commit=True)
    assert (report.rows_imported, report.rows_conflicting, report.rows_duplicate) == (4, 0, 0)
    assert report.identical_rows == 1  # the second ",C3,2024-01-07,30" line: kept as its own record
    again = import_file(con, path, commit=True)
    assert (again.rows_imported, again.rows_already_present) == (0, 4)
    assert rows(con, "select count(*) from transactions") == [(4,)]


# ----------------------------------------------------------------------------- re-import, undo

@pytest.mark.parametrize("force_python", READERS)
def test_reimport_adds_nothing_and_says_so(con, tmp_path, force_python):
    path = write(tmp_path / "t.csv", ZH_HEADER + ZH_ROWS)
    import_file(con, path, commit=True, force_python=force_python)
    version = data_version(con)
    again = import_file(con, path, commit=True, force_python=force_python)
    assert again.status == "nothing new" and again.rows_imported == 0
    assert again.rows_already_present == 3
    assert again.already_imported_as == [1]
    assert rows(con, "select count(*) from transactions") == [(3,)]
    assert data_version(con) == version  # recorded in the ledger; the data did not change
    assert rows(con, "select count(*), sum(rows_imported) from imports") == [(2, 3)]


def test_same_rows_resaved_in_another_form_add_nothing(con, tmp_path):
    """Re-saved by Excel: other encoding, other header language, other column order and formats."""
    path = write(tmp_path / "a.csv", "customer_id,order_date,amount,region\n"
                 "C1,2024-01-05,10,华东\nC1,2024-01-05,10,华东\nC2,2024-01-06,20.5,华北\n")
    import_file(con, path, commit=True)
    resaved = write(tmp_path / "b.csv", "大区,实付金额,订单日期,客户编号\n"
                    "华北,20.50,2024/1/6,C2\n华东,￥10.00,2024年1月5日,C1\n华东,10,20240105,C1\n"
                    "华东,10,20240105,C1\n", "gbk")
    report = import_file(con, resaved, commit=True)
    assert report.rows_already_present == 3
    assert report.rows_imported == 1  # the third identical C1 purchase is new
    assert rows(con, "select count(*) from transactions") == [(4,)]


def test_undo_removes_exactly_that_imports_rows(con, tmp_path):
    a = write(tmp_path / "a.csv", "customer_id,order_date,amount\nC1,2024-01-05,10\nC2,2024-01-05,20\n")
    b = write(tmp_path / "b.csv", "customer_id,order_date,amount\nC2,2024-01-05,20\nC3,2024-01-07,30\n")
    first = import_file(con, a, commit=True)
    second = import_file(con, b, commit=True)
    assert second.rows_imported == 1
    assert undo_import(con, second.import_id) == 1
    assert rows(con, "select customer_id from transactions order by customer_id") == [("C1",), ("C2",)]
    assert rows(con, "select status from imports order by import_id") == [("committed",), ("undone",)]
    assert rows(con, "select count(*) from customer_summary") == [(2,)]
    undo_import(con, first.import_id)
    assert rows(con, "select count(*) from transactions") == [(0,)]
    # the file imports again after undo
    assert import_file(con, a, commit=True).rows_imported == 2


# ----------------------------------------------------------------------------- orders and their lines

@pytest.mark.parametrize(("ids", "monotonic"), [
    (["A1", "A2", "A3", "A4"], True),  # rising: proved unique in one streaming pass, nothing grouped
    (["A4", "A3", "A2", "A1"], True),  # falling: likewise
    (["A2", "A1", "A4", "A3"], False),  # neither: the ids are grouped
    (["A1", "A2", "A2", "A3"], False),  # rising but for an order of two lines
    (["A1", "A2", "A3", "A1"], False),  # rising until an id comes back
    (["A3", "A2", "A2", "A1"], False),  # falling, with an order of two lines
    (["A1", "", "A1", "A2"], False),  # a row without an id between two lines of one order
])
def test_an_order_starts_on_its_first_line_whatever_the_order_of_ids(con, tmp_path, monkeypatch, ids, monotonic):
    """is_order_start marks the first line of each transaction id in the file (rows without
    an id are orders of their own), and a rejected or total row does not count."""
    from analytics.ingest import identity

    found = []
    real = identity._ids_monotonic
    monkeypatch.setattr(identity, "_ids_monotonic", lambda *a: found.append(real(*a)) or found[-1])
    lines = [f"{tid},C1,2024-01-0{i + 1},10,P{i}\n" for i, tid in enumerate(ids)]
    lines.insert(2, "A9,C1,not a date,10,P9\n")  # rejected: never an order start, its id ignored
    lines.append("合计,,,40,\n")  # a total row
    path = write(tmp_path / "o.csv", "transaction_id,customer_id,order_date,amount,product\n" + "".join(lines))
    report = import_file(con, path, commit=True)
    assert (report.rows_imported, report.rows_rejected, report.rows_excluded) == (4, 1, 1)
    seen: set[str] = set()
    expected = []
    for tid in ids:
        expected.append((tid or None, tid == "" or tid not in seen))
        seen.add(tid)
    assert rows(con, "select transaction_id, is_order_start from transactions order by line") == expected
    assert rows(con, "select sum(orders) from customer_month") == [(len({t for t in ids if t}) + ids.count(""),)]
    assert found == [monotonic]


# ----------------------------------------------------------------------------- keys stored by an earlier schema

def test_rows_stored_under_md5_keys_keep_their_identity_after_the_upgrade(tmp_path, monkeypatch):
    """Schema 1 stored md5 of the natural key as every keyed row's row_key; schema 2 compares
    natural keys as they are (row_key NULL), and schema 3 an order's lines by their content.
    Rows written under schema 1, as that release wrote them, are still present on
    re-import, make an order with changed lines an amended order, and undo."""
    first_only = tmp_path / "migrations"
    first_only.mkdir()
    version, initial = migrations.migrations()[0]
    (first_only / initial.name).write_text(initial.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", first_only)
    path = tmp_path / "crm.duckdb"
    con = connect(path)
    assert schema_version(con) == version == 1
    cur = con.cursor()
    cur.execute("insert into imports (import_id, kind, file_name, content_hash, imported_by, imported_at, "
                "rows_imported, status) values (nextval('import_id_seq'), 'transactions', 'old.csv', "
                "'-', 'test', now(), 3, 'committed')")
    cur.execute(
        "insert into transactions (row_key, import_id, line, transaction_id, customer_id, order_date, "
        "amount, product, is_return, is_order_start) values "
        "(md5_number(concat_ws(chr(31), 'transactions', 'T1', 'P1')), 1, 2, 'T1', 'C1', '2024-01-05', 10, "
        "'P1', false, true), "
        "(md5_number(concat_ws(chr(31), 'transactions', 'T1', 'P2')), 1, 3, 'T1', 'C1', '2024-01-05', 12, "
        "'P2', false, false), "
        "(0, 1, 4, null, 'C2', '2024-01-06', 20, null, false, true)")
    # the key-less row's content key, as schema 1 computed it (unchanged since): over its columns then
    schema_1 = ("customer_id", "order_date", "amount", "transaction_id", "quantity", "cost", "region", "channel",
                "product", "category", "sales_rep")
    cur.execute(f"update transactions set row_key = {hash_expr(tuple(column('transactions', n) for n in schema_1))} "
                "where transaction_id is null")
    con.close()
    monkeypatch.undo()

    con = connect(path)
    try:
        assert schema_version(con) == migrations.SCHEMA_VERSION >= 2
        header = "transaction_id,customer_id,order_date,amount,product\n"
        same = write(tmp_path / "same.csv", header + "T1,C1,2024-01-05,10,P1\nT1,C1,2024-01-05,12,P2\n"
                     ",C2,2024-01-06,20,\n")
        again = import_file(con, same, commit=True)
        assert (again.rows_imported, again.rows_already_present, again.status) == (0, 3, "nothing new")
        changed = write(tmp_path / "changed.csv", header + "T1,C1,2024-01-05,99,P2\nT2,C1,2024-01-07,5,P1\n")
        report = import_file(con, changed, commit=True)
        assert (report.rows_imported, report.rows_amended, report.orders_amended) == (1, 1, 1)
        assert report.amended == [{"order": "T1", "line": 2, "lines_in_file": 1, "lines_stored": 2,
                                   "only_in_file": 1, "only_stored": 2, "import_id": 1}]
        assert undo_import(con, 1) == 0  # import #2 brought the same rows: they pass to it (issue 10, #2)
        assert undo_import(con, 2) == 3  # and T1 becomes import #3's version, which it kept aside then
        assert import_file(con, same, commit=True).rows_imported == 1  # T1 differs from #3's: amended, kept
        assert rows(con, "select transaction_id, row_key is null from transactions order by import_id, line") == [
            ("T1", True), ("T2", True), (None, False)]
    finally:
        con.close()
