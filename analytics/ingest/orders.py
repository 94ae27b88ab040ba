"""Amended orders: an order the database holds that a file brings again with other lines.

An import either keeps the stored order (``keep``, the default: the file's lines of that
order are not imported, and the report lists the order) or replaces it with the file's
version (``replace``): the stored lines move to ``transactions_replaced``, marked with the
import that replaced them, and the file's lines are imported. Undoing that import puts the
stored lines back exactly as they were, so an order's live lines always come from one
import. :func:`analytics.ingest.identity.compare_with_database` finds the amended orders
(``<staged>_amended``); this module lists them, replaces them and restores them.

Sales rows without order numbers are amended too: a new row naming a stored purchase (the same
customer, date, product and other descriptive columns) that the file no longer holds, with
other figures (:func:`analytics.ingest.purchases.compare_purchases`). They are kept or replaced
in the same way, row by row (:func:`note_amended_rows`, :func:`_restore_purchases`).
"""

from __future__ import annotations

from typing import Any

import duckdb

from analytics.ingest.purchases import purchase_key

#: What an import does with an amended order: keep the stored one, or replace it.
AMENDED_POLICIES: tuple[str, ...] = ("keep", "replace")


def check_policy(policy: str) -> str:
    """``policy`` if it is one of :data:`AMENDED_POLICIES`.

    Raises
    ------
    ValueError
        Any other value.
    """
    if policy not in AMENDED_POLICIES:
        raise ValueError(f"amended orders are kept or replaced ({', '.join(AMENDED_POLICIES)}), not {policy!r}")
    return policy


def stored_lines(cur: duckdb.DuckDBPyConnection, staged: str) -> int:
    """How many stored lines the amended orders have (what replacing them retires)."""
    return int(cur.execute(f"select count(*) from transactions semi join {staged}_amended "
                           f"using (transaction_id)").fetchall()[0][0])


def amended_orders(cur: duckdb.DuckDBPyConnection, staged: str, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` amended orders, by the file line they start on: ``order`` (the
    order number), ``line`` (its first line in the file), ``lines_in_file``,
    ``lines_stored``, ``only_in_file`` and ``only_stored`` (lines one side has and the other
    not, identical lines counted), ``import_id`` (the import that brought the stored lines)."""
    rows = cur.execute(
        f"with listed as (select transaction_id, min(_line) as line, count(*) as in_file "
        f"from {staged}_candidates semi join {staged}_amended using (transaction_id) group by all "
        f"order by line limit {int(limit)}), "
        f"stored as (select transaction_id, count(*) as stored, max(import_id) as import_id "
        f"from transactions semi join listed using (transaction_id) group by all) "
        f"select l.transaction_id, l.line, l.in_file, s.stored, a.only_in_file, a.only_stored, s.import_id "
        f"from listed l join stored s using (transaction_id) join {staged}_amended a using (transaction_id) "
        f"order by l.line").fetchall()
    return [{"order": r[0], "line": r[1], "lines_in_file": r[2], "lines_stored": r[3], "only_in_file": int(r[4]),
             "only_stored": int(r[5]), "import_id": r[6]} for r in rows]


def replace_amended(cur: duckdb.DuckDBPyConnection, staged: str, import_id: int) -> int:
    """Retire the stored lines of the amended orders, marked as replaced by ``import_id``
    (inside the commit's transaction, before the file's lines are written). Returns how
    many lines were retired."""
    retired = stored_lines(cur, staged)
    if retired:
        cur.execute(f"insert into transactions_replaced select t.*, ? from transactions t "
                    f"semi join {staged}_amended using (transaction_id)", [import_id])
        cur.execute(f"delete from transactions where transaction_id in "
                    f"(select transaction_id from {staged}_amended)")
    if _has_table(cur, f"{staged}_amended_rows"):  # sales rows without order numbers it amends
        rows = cur.execute(f"insert into transactions_replaced select t.*, ? from transactions t "
                           f"where rowid in (select stored_rowid from {staged}_amended_rows)",
                           [import_id]).fetchall()[0][0]
        cur.execute(f"delete from transactions where rowid in (select stored_rowid from {staged}_amended_rows)")
        retired += rows
    return retired


def _has_table(cur: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(cur.execute("select count(*) from duckdb_tables() where table_name = ?", [name]).fetchall()[0][0])


def amended_rows(cur: duckdb.DuckDBPyConnection, staged: str, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` sales rows without order numbers that amend stored rows
    (:func:`analytics.ingest.purchases.compare_purchases`), by file line: ``line``,
    ``customer_id``, ``order_date``, ``product``, the ``amount`` in the file and ``stored``,
    and ``import_id`` (the import that brought the stored row)."""
    product = "c.product" if _has_column(cur, staged, "product") else "null"
    rows = cur.execute(
        f"select c._line, c.customer_id, c.order_date, {product}, "
        f"c.amount, t.amount, t.import_id from {staged}_amended_rows a join {staged}_candidates c using (_rid) "
        f"join transactions t on t.rowid = a.stored_rowid order by c._line limit {int(limit)}").fetchall()
    return [{"line": r[0], "customer_id": r[1], "order_date": r[2], "product": r[3], "amount": r[4],
             "stored": r[5], "import_id": r[6]} for r in rows]


def _has_column(cur: duckdb.DuckDBPyConnection, table: str, name: str) -> bool:
    return name in [d[0] for d in cur.execute(f"select * from {table} limit 0").description]


def restore_replaced(cur: duckdb.DuckDBPyConnection, import_id: int) -> int:
    """Before import ``import_id``'s lines are removed (its undo): put back the lines it
    replaced, for every order it still holds. An order whose lines from this import a later
    import replaced in turn keeps that later version; the lines this import replaced stay
    retired, now as replaced by the later import (undoing it later restores them). Returns
    how many lines were put back."""
    _restore_purchases(cur, import_id)
    still_held = f"select transaction_id from transactions where import_id = {int(import_id)}"
    restored = int(cur.execute(
        f"select count(*) from transactions_replaced where replaced_by = ? and transaction_id in ({still_held})",
        [import_id]).fetchall()[0][0])
    if restored:
        cur.execute(f"insert into transactions select * exclude (replaced_by) from transactions_replaced "
                    f"where replaced_by = ? and transaction_id in ({still_held})", [import_id])
        cur.execute(f"delete from transactions_replaced where replaced_by = ? and transaction_id in ({still_held})",
                    [import_id])
    cur.execute(
        "update transactions_replaced r set replaced_by = later.replaced_by "
        "from (select transaction_id, max(replaced_by) as replaced_by from transactions_replaced "
        "where import_id = ? group by transaction_id) later "
        "where r.replaced_by = ? and r.transaction_id = later.transaction_id", [import_id, import_id])
    cur.execute("delete from transactions_replaced where import_id = ?", [import_id])
    return restored


def _restore_purchases(cur: duckdb.DuckDBPyConnection, import_id: int) -> None:
    """The sales rows without order numbers import ``import_id`` replaced: put back where it
    still holds a row of the same purchase; where a later import replaced its row in turn,
    they stay retired, now as replaced by that import."""
    mine = f"from transactions_replaced where replaced_by = {int(import_id)} and transaction_id is null"
    if not cur.execute(f"select exists (select 1 {mine})").fetchall()[0][0]:
        return
    held = (f"select {purchase_key('t')} from transactions t where import_id = {int(import_id)} "
            f"and transaction_id is null")
    back = f"{mine} and {purchase_key('transactions_replaced')} in ({held})"
    cur.execute(f"insert into transactions select * exclude (replaced_by) {back}")
    cur.execute(f"delete {back}")
    cur.execute(
        f"update transactions_replaced r set replaced_by = later.replaced_by from "
        f"(select {purchase_key('x')} as p, max(replaced_by) as replaced_by from transactions_replaced x "
        f"where import_id = ? and transaction_id is null group by p) later "
        f"where r.replaced_by = ? and r.transaction_id is null and {purchase_key('r')} = later.p",
        [import_id, import_id])


def note_amended_rows(cur: duckdb.DuckDBPyConnection, staged: str, amended: int, report: Any, limit: int) -> None:
    """Report the sales rows without order numbers that amend stored rows, under the report's
    policy: kept (not imported, the default) or replacing the stored rows."""
    report.amended_rows = amended_rows(cur, staged, limit)
    lines = ", ".join(str(r["line"]) for r in report.amended_rows[:5]) + (", ..." if amended > 5 else "")
    if report.amended_policy == "replace":
        report.rows_replaced = amended
        report.notes.append(
            f"{amended} rows without an order number are amended rows (a stored purchase, the same customer, "
            f"date and product, with other figures; lines {lines}): they replace the stored rows (undoing the "
            "import puts them back)")
    else:
        report.rows_amended = amended
        report.notes.append(
            f"{amended} rows without an order number are amended rows (a stored purchase, the same customer, "
            f"date and product, with other figures; lines {lines}): the stored rows are kept and these are not "
            "imported (choose to replace them to import this file's version)")
