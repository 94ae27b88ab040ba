"""Orders and their lines (analytics/ingest/identity.py, orders.py): an order the database
holds, brought again with other lines, is amended; kept or replaced; undo restores exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from import_util import con_fixture, rows, write  # noqa: F401 (the con fixture)

from analytics.cli import main
from analytics.errors import ImportNotFound
from analytics.ingest.pipeline import import_file, prepare, undo_import

HEADER = "transaction_id,customer_id,order_date,amount,product\n"
ZH_HEADER = "订单编号,客户编号,订单日期,销售额,商品名称\n"
#: Order T1: two lines of one product at different prices, and the same line twice; T2: one line.
FIRST = ("T1,C1,2024-01-05,10,A\nT1,C1,2024-01-05,12,A\nT1,C1,2024-01-05,3,B\nT1,C1,2024-01-05,3,B\n"
         "T2,C2,2024-01-06,20,A\n")
#: T1 with one line changed (12 → 15) and one added (C); T3 new.
AMENDED = ("T1,C1,2024-01-05,10,A\nT1,C1,2024-01-05,15,A\nT1,C1,2024-01-05,3,B\nT1,C1,2024-01-05,3,B\n"
           "T1,C1,2024-01-05,7,C\nT3,C3,2024-01-07,9,A\n")
ALL = "select transaction_id, customer_id, order_date, amount, product, import_id, line, is_order_start " \
      "from transactions order by transaction_id, amount, product, import_id, line"


def lines(con) -> list[tuple]:
    return rows(con, "select transaction_id, amount, product from transactions order by 1, 2, 3")


def test_every_line_of_an_order_is_imported_and_the_order_counted_once(con, tmp_path):
    report = import_file(con, write(tmp_path / "a.csv", HEADER + FIRST), commit=True)
    assert (report.rows_valid, report.rows_imported, report.rows_duplicate, report.rows_conflicting) == (5, 5, 0, 0)
    assert report.orders == 2
    assert rows(con, "select sum(orders), sum(revenue) from customer_summary") == [(2, Decimal("48"))]
    assert rows(con, "select transaction_id, count(*) filter (where is_order_start) from transactions "
                     "group by 1 order by 1") == [("T1", 1), ("T2", 1)]


@pytest.mark.parametrize("resave", ["same", "gb18030", "columns", "dates", "zh_headers"])
def test_the_same_orders_again_add_nothing_however_the_file_is_saved(con, tmp_path, resave):
    import_file(con, write(tmp_path / "a.csv", HEADER + FIRST), commit=True)
    text, encoding = HEADER + FIRST, "utf-8"
    if resave == "gb18030":
        text, encoding = ZH_HEADER + FIRST, "gb18030"
    elif resave == "columns":  # product first, amount last
        records = [line.split(",") for line in FIRST.splitlines()]
        text = "product,transaction_id,order_date,customer_id,amount\n" + "".join(
            f"{r[4]},{r[0]},{r[2]},{r[1]},{r[3]}\n" for r in records)
    elif resave == "dates":
        text = HEADER + FIRST.replace("2024-01-05", "2024年1月5日").replace("2024-01-06", "2024/1/6")
    elif resave == "zh_headers":
        text = ZH_HEADER + FIRST
    report = import_file(con, write(tmp_path / "b.csv", text, encoding), commit=True)
    assert (report.rows_imported, report.rows_already_present, report.orders_amended, report.status) == (
        0, 5, 0, "nothing new")


def test_amended_orders_are_kept_by_default_and_listed(con, tmp_path):
    import_file(con, write(tmp_path / "a.csv", HEADER + FIRST), commit=True)
    before = rows(con, ALL)
    report = import_file(con, write(tmp_path / "b.csv", HEADER + AMENDED), commit=True)
    assert (report.orders, report.orders_amended, report.rows_amended, report.rows_imported) == (2, 1, 5, 1)
    assert report.amended == [{"order": "T1", "line": 2, "lines_in_file": 5, "lines_stored": 4, "only_in_file": 2,
                               "only_stored": 1, "import_id": 1}]
    assert rows(con, ALL)[:5] == before[:5] and len(rows(con, ALL)) == 6  # T1 and T2 as stored, T3 added
    assert any("kept" in n for n in report.notes)


def test_replacing_amended_orders_imports_the_files_version_and_undo_restores_the_stored_one(con, tmp_path):
    import_file(con, write(tmp_path / "a.csv", HEADER + FIRST), commit=True)
    before = rows(con, ALL)
    preview = import_file(con, write(tmp_path / "b.csv", HEADER + AMENDED), amended="replace")
    assert (preview.orders_amended, preview.rows_amended, preview.rows_replaced, preview.rows_to_import) == (
        1, 0, 4, 6)
    report = import_file(con, write(tmp_path / "b.csv", HEADER + AMENDED), commit=True, amended="replace")
    assert (report.rows_imported, report.rows_replaced, report.amended_policy) == (6, 4, "replace")
    assert lines(con) == [("T1", Decimal("3"), "B"), ("T1", Decimal("3"), "B"), ("T1", Decimal("7"), "C"),
                          ("T1", Decimal("10"), "A"), ("T1", Decimal("15"), "A"), ("T2", Decimal("20"), "A"),
                          ("T3", Decimal("9"), "A")]
    assert rows(con, "select count(*), min(replaced_by) from transactions_replaced") == [(4, 2)]
    assert rows(con, "select orders_amended, amended_policy, rows_replaced from imports where import_id = 2") == [
        (1, "replace", 4)]
    assert rows(con, "select sum(orders), sum(revenue) from customer_summary") == [(3, Decimal("67"))]
    assert undo_import(con, 2) == 6
    assert rows(con, ALL) == before  # every stored line back exactly: import, line, order start
    assert rows(con, "select count(*) from transactions_replaced") == [(0,)]
    assert rows(con, "select sum(orders), sum(revenue) from customer_summary") == [(2, Decimal("48"))]


def test_undo_along_a_chain_of_replacements_keeps_each_order_from_one_import(con, tmp_path):
    """A brings T1; X replaces it; Y replaces X's version. Undoing X keeps Y's version (what
    X replaced stays retired, now by Y); undoing Y then brings back A's version."""
    versions = {"a": "T1,C1,2024-01-05,10,A\n", "x": "T1,C1,2024-01-05,11,A\n", "y": "T1,C1,2024-01-05,12,A\n"}
    for name, body in versions.items():
        import_file(con, write(tmp_path / f"{name}.csv", HEADER + body), commit=True, amended="replace")
    assert lines(con) == [("T1", Decimal("12"), "A")]
    undo_import(con, 2)
    assert lines(con) == [("T1", Decimal("12"), "A")]
    assert rows(con, "select amount, import_id, replaced_by from transactions_replaced") == [(Decimal("10"), 1, 3)]
    undo_import(con, 3)
    assert rows(con, "select transaction_id, amount, import_id, is_order_start from transactions") == [
        ("T1", Decimal("10"), 1, True)]
    assert rows(con, "select count(*) from transactions_replaced") == [(0,)]
    with pytest.raises(ImportNotFound):
        undo_import(con, 3)


def test_undoing_the_original_import_after_a_replacement_leaves_the_replacing_version(con, tmp_path):
    import_file(con, write(tmp_path / "a.csv", HEADER + FIRST), commit=True)
    import_file(con, write(tmp_path / "b.csv", HEADER + AMENDED), commit=True, amended="replace")
    undo_import(con, 1)  # A's T2 goes; its retired T1 lines go too; B's version of T1 stays
    assert [t for t, *_ in lines(con)] == ["T1"] * 5 + ["T3"]
    assert rows(con, "select count(*) from transactions_replaced") == [(0,)]
    undo_import(con, 2)
    assert lines(con) == []


def test_an_order_with_lines_in_the_database_and_the_same_lines_is_present(con, tmp_path):
    """The same order with its lines in another order of rows, and an unchanged order beside an amended one."""
    import_file(con, write(tmp_path / "a.csv", HEADER + FIRST), commit=True)
    shuffled = "\n".join(reversed(FIRST.strip().splitlines())) + "\n"
    report = import_file(con, write(tmp_path / "b.csv", HEADER + shuffled), commit=True)
    assert (report.rows_already_present, report.orders_amended, report.rows_imported) == (5, 0, 0)


def test_the_amended_policy_is_checked_and_the_command_line_offers_it(con, tmp_path, capsys):
    with pytest.raises(ValueError, match="kept or replaced"):
        prepare(con, write(tmp_path / "a.csv", HEADER + FIRST), amended="merge")
    db = str(tmp_path / "cli.duckdb")
    assert main(["--db", db, "import", str(write(tmp_path / "a.csv", HEADER + FIRST)), "--commit"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "import", str(write(tmp_path / "b.csv", HEADER + AMENDED))]) == 0
    out = capsys.readouterr().out
    assert "1 amended orders (in the database with other lines), kept as stored" in out
    assert "order T1 (line 2): 5 lines in the file, 4 stored (import #1); 2 only in the file, 1 only stored" in out
    assert main(["--db", db, "import", str(tmp_path / "b.csv"), "--amended", "replace", "--commit"]) == 0
    assert "4 stored lines replaced (undo puts them back)" in capsys.readouterr().out


@pytest.mark.parametrize(("change", "amended"), [
    ("T1,C1,2024-01-05,3,B\n", 1),        # one of two identical lines changed: as many lines as stored
    ("T1,C1,2024-01-05,12,A\nT1,C1,2024-01-05,3,B\nT1,C1,2024-01-05,3,B\nT2", 2),  # a line moved to T2
    ("T1,C1,2024-01-06,12,A\n", 1),       # only the date of one line
])
def test_amendments_that_keep_the_number_of_lines_are_found(con, tmp_path, change, amended):
    """Orders are compared by a fingerprint of their lines (count and hash sum) before line by
    line: a change that keeps the count, or moves a line between orders, still makes an
    amended order, and each is listed with what differs."""
    import_file(con, write(tmp_path / "a.csv", HEADER + FIRST), commit=True)
    if change.endswith("T2"):  # T1 without its line "12, A", T2 with it
        body = FIRST.replace("T1,C1,2024-01-05,12,A\n", "") + "T2,C2,2024-01-06,12,A\n"
    elif "3,B" in change:
        body = FIRST.replace("T1,C1,2024-01-05,3,B\nT1,C1,2024-01-05,3,B\n",
                             "T1,C1,2024-01-05,3,B\nT1,C1,2024-01-05,3,C\n")
    else:
        body = FIRST.replace("T1,C1,2024-01-05,12,A\n", change)
    report = import_file(con, write(tmp_path / "b.csv", HEADER + body))
    assert report.orders_amended == amended
    assert report.rows_already_present + report.rows_amended == report.rows_valid
    differs = {a["order"]: (a["only_in_file"], a["only_stored"]) for a in report.amended}
    if amended == 2:
        assert differs == {"T1": (0, 1), "T2": (1, 0)}
    else:
        assert differs == {"T1": (1, 1)}
