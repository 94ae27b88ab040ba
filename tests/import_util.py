"""What the import pipeline's tests share: a fresh database, small files written by the tests, both CSV readers.

Each CSV test runs through both CSV readers (DuckDB's, checked against the file's line
count, and Python's csv module) and expects the same report from each.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analytics.store.connection import connect

READERS = [pytest.param(False, id="duckdb-reader"), pytest.param(True, id="python-reader")]


def new_database(empty: Path, path: Path) -> Path:
    """``path`` made a new, migrated CRM database: a copy of ``empty`` (conftest's ``empty_database``,
    made once per test process: creating and migrating a database costs about 0.1 s each time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(empty, path)
    return path


@pytest.fixture(name="con")
def con_fixture(tmp_path, empty_database):
    con = connect(new_database(empty_database, tmp_path / "crm.duckdb"))
    yield con
    con.close()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def rows(con, sql: str, *params: object) -> list[tuple]:
    return con.cursor().execute(sql, list(params)).fetchall()


ZH_HEADER = "订单编号,客户编号,订单日期,实付金额,大区,渠道\n"
ZH_ROWS = ("SO1,00123,2024-01-05,100.50,华东,天猫\n"
           "SO2,00124,2024-01-06,200,华北,京东\n"
           "SO3,00123,2024-02-01,50,华东,门店\n")


def database_of(folder: Path, frames: dict) -> Path:
    """A CRM database in ``folder`` with each frame of ``frames`` (kind -> rows, in that order) imported through the
    real pipeline as a CSV file, every row imported and none rejected; closed again (for the app to open)."""
    from analytics.ingest.pipeline import import_file

    con = connect(folder / "crm.duckdb")
    try:
        for kind, frame in frames.items():
            frame.to_csv(folder / f"{kind}.csv", index=False)
            report = import_file(con, folder / f"{kind}.csv", kind=kind, commit=True)
            assert (report.rows_imported, report.rows_rejected) == (len(frame), 0), kind
    finally:
        con.close()
    return folder / "crm.duckdb"
