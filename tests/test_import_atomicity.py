"""An import or undo happens whole or not at all, in one process: a failure at any step of the
commit leaves the database as it was; undo removes exactly one import's rows.

A killed process: ``test_import_crash.py``; concurrent writers: ``test_import_concurrency.py``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from atomicity_util import rows_of, snapshot, write_orders

import analytics.ingest.pipeline as importer
from analytics.errors import ImportNotFound
from analytics.ingest.pipeline import import_file, undo_import
from analytics.store import marts
from analytics.store.connection import connect, data_version

# --------------------------------------------------------------------------- failure half way

class Boom(Exception):
    """A step of the commit failed."""


class Interrupted(BaseException):
    """Not an Exception: like Ctrl-C or Streamlit stopping a script run mid-way."""


def _fail_in_rebuild(monkeypatch: pytest.MonkeyPatch, seen: list[int]) -> Callable[..., Any] | None:
    real = marts.rebuild

    def rebuild(cur: duckdb.DuckDBPyConnection, changed: object = None) -> None:
        seen.append(cur.execute("select count(*) from transactions").fetchall()[0][0])
        real(cur, changed)              # the summaries are replaced inside the transaction...
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
