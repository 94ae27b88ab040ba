"""The value parsers staging calls (analytics.ingest.staging.define_macros) and its plan guard.

The parsers are defined once per database instance, in an attached in-memory database, not
on each import's cursor: every cursor and connection of the instance must find them, a
database reopened gets them again, and a read-only database (which can attach none) still
parses. The guard against a join in the staging plan asks DuckDB once per query text.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import duckdb
from import_util import con_fixture, new_database, rows, write  # noqa: F401 (con)

from analytics.ingest import staging
from analytics.ingest.pipeline import import_file, prepare
from analytics.store.connection import connect

#: Every parser a sales file's amount and date take, and a cell none of them reads.
SALES = ("customer_id,order_date,amount\n"
         'C1,2024年1月5日,"¥1,234.50"\n'
         "C2,20240106,(12.00)\n"
         'C3,2024-01-07,"12,5"\n')


def _staged(prepared) -> list[tuple]:
    return prepared.cursor.execute(f"select customer_id, order_date, amount from {prepared.staged} "
                                   "order by customer_id").fetchall()


EXPECTED = [("C1", datetime.date(2024, 1, 5), Decimal("1234.5")), ("C2", datetime.date(2024, 1, 6), Decimal("-12")),
            ("C3", datetime.date(2024, 1, 7), None)]


def test_every_cursor_and_connection_of_a_database_finds_the_parsers(con, tmp_path):
    path = write(tmp_path / "sales.csv", SALES)
    first, second = prepare(con, path), prepare(con, path)  # two imports open at once: two cursors
    try:
        assert _staged(first) == _staged(second) == EXPECTED
        assert [r["reason"] for r in second.report.rejects] == ["not an amount"]
    finally:
        first.close()
        second.close()
    assert rows(con, "select count(*) from duckdb_databases() where database_name = ?", staging.PARSERS) == [(1,)]
    other = connect(tmp_path / "crm.duckdb")  # the same file again: the same instance
    try:
        assert import_file(other, path).rows_valid == 2
    finally:
        other.close()


def test_a_reopened_database_gets_the_parsers_again(tmp_path, empty_database):
    path = write(tmp_path / "sales.csv", SALES)
    database = new_database(empty_database, tmp_path / "crm.duckdb")
    for _ in range(2):
        con = connect(database)
        try:
            prepared = prepare(con, path)
            assert _staged(prepared) == EXPECTED
            prepared.close()
        finally:
            con.close()


def test_a_read_only_database_parses_with_the_cursors_own_parsers(tmp_path, empty_database):
    path = write(tmp_path / "sales.csv", SALES)
    con = connect(new_database(empty_database, tmp_path / "crm.duckdb"), read_only=True)
    try:
        prepared = prepare(con, path)
        assert _staged(prepared) == EXPECTED
        prepared.close()
        assert rows(con, "select count(*) from duckdb_databases() where database_name = ?", staging.PARSERS) == [(0,)]
    finally:
        con.close()


class _Counting:
    """A cursor that counts the statements it runs."""

    def __init__(self) -> None:
        self.con = duckdb.connect()
        self.con.execute("create view raw_0123456789ab as select range as c0 from range(10)")
        self.con.execute("create view raw_ba9876543210 as select range as c0 from range(10)")
        self.statements: list[str] = []

    def execute(self, sql: str):
        self.statements.append(sql)
        return self.con.execute(sql)


def test_the_join_guard_asks_once_per_query_whatever_the_raw_tables_name(monkeypatch):
    monkeypatch.setattr(staging, "_JOIN_PLANS", {})
    cur = _Counting()
    joined = "select c0 from {} where c0 in (1, 2, 3, 4, 5, 6, 7)"
    plain = "select c0 from {} where c0 < 7"
    assert staging._plan_has_join(cur, joined.format("raw_0123456789ab"))
    assert staging._plan_has_join(cur, joined.format("raw_ba9876543210"))
    assert not staging._plan_has_join(cur, plain.format("raw_ba9876543210"))
    assert not staging._plan_has_join(cur, plain.format("raw_0123456789ab"))
    assert cur.statements == ["explain " + joined.format("raw_0123456789ab"),
                              "explain " + plain.format("raw_ba9876543210")]
