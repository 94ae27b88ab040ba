"""Hardening: the app's database connection cannot reach files outside its folders, filter
values are data (never SQL), and names are text (never markup)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from overview_fixture import load_fixture

from analytics.ingest.pipeline import import_file
from analytics.metrics import overview as ov
from analytics.paths import work_dir
from analytics.scope import Scope
from analytics.store import connection as db
from ui.i18n import md_literal


@pytest.fixture
def confined(tmp_path: Path):
    """A database in ``tmp/db/`` whose connection may read ``tmp/allowed/`` only (and its own folder)."""
    (tmp_path / "db").mkdir()
    (tmp_path / "allowed").mkdir()
    (tmp_path / "outside").mkdir()
    for folder in ("allowed", "outside"):
        (tmp_path / folder / "x.csv").write_text("transaction_id,customer_id,order_date,amount\nT1,C1,2024-01-05,10\n",
                                                 encoding="utf-8")
    con = db.connect(tmp_path / "db" / "crm.duckdb", confine_to=[tmp_path / "allowed", work_dir()])
    yield con, tmp_path
    con.close()


def test_the_confined_connection_reads_its_folders(confined):
    con, root = confined
    assert con.cursor().execute(f"select count(*) from read_csv('{root}/allowed/x.csv')").fetchall() == [(1,)]


@pytest.mark.parametrize("statement", [
    "select * from read_csv('{root}/outside/x.csv')",
    "select * from read_csv('{root}/allowed/../outside/x.csv')",
    "select * from read_text('/etc/passwd')",
    "copy (select 1) to '{root}/outside/out.csv'",
    "attach '{root}/outside/other.duckdb' as other",
    "install httpfs",
    "set enable_external_access = true",
    "set allowed_directories = ['/']",
    "set lock_configuration = false",
])
def test_the_confined_connection_refuses_everything_else(confined, statement):
    con, root = confined
    for cur in (con, con.cursor()):  # every cursor, not only the connection
        with pytest.raises((duckdb.PermissionException, duckdb.InvalidInputException)):
            cur.execute(statement.format(root=root)).fetchall()
    assert not (root / "outside" / "out.csv").exists()


def test_imports_work_through_the_confined_connection(confined):
    """Uploads and transcoded copies live in ``data/.work/``, which the app may read."""
    con, root = confined
    gbk = root / "allowed" / "gbk.csv"
    gbk.write_bytes("订单编号,客户编号,订单日期,金额\nT1,C1,2024-01-05,10\nT2,C2,2024-01-06,20\n".encode("gbk"))
    report = import_file(con, gbk, commit=True, kind="transactions")
    assert (report.encoding, report.rows_imported) == ("gb18030", 2)
    with pytest.raises(Exception, match=r"(?i)permission|cannot access"):
        import_file(con, root / "outside" / "x.csv", commit=True, kind="transactions")
    assert con.cursor().execute("select count(*) from transactions").fetchall() == [(2,)]


def test_opening_the_same_database_again_in_the_process_keeps_it_confined(confined):
    _, root = confined
    again = db.connect(root / "db" / "crm.duckdb")
    with pytest.raises(duckdb.PermissionException):
        again.execute(f"select * from read_csv('{root}/outside/x.csv')").fetchall()
    again.close()


SQL_LIKE = ["' or 1=1 --", "华东' or '1'='1", "'); drop table transactions; --", "%", "*", "\\",
            "华东; delete from customers"]


@pytest.mark.parametrize("value", SQL_LIKE)
def test_sql_like_filter_values_find_nothing_and_change_nothing(tmp_path, value):
    con = db.connect(tmp_path / "crm.duckdb")
    load_fixture(con, tmp_path)
    counts = con.cursor().execute("select (select count(*) from transactions), (select count(*) from customers)"
                                  ).fetchall()
    for scope in (Scope(date(2024, 3, 1), date(2024, 8, 1), regions=(value,)),
                  Scope(date(2024, 3, 1), date(2024, 8, 1), channels=(value,)),
                  Scope(date(2024, 3, 1), date(2024, 8, 1), segments=(value,)),
                  Scope(date(2024, 3, 1), date(2024, 8, 1), allowed_regions=(value,))):
        view = ov.overview(con, scope)
        assert view.kpis["revenue"].value == 0 and view.kpis["orders"].value == 0, scope
        assert view.by_region.empty
    assert con.cursor().execute("select (select count(*) from transactions), (select count(*) from customers)"
                                ).fetchall() == counts
    con.close()


@pytest.mark.parametrize(("name", "shown"), [
    ("<img src=x onerror=alert(1)>", r"\<img src=x onerror=alert\(1\)\>"),
    ("**华东**", r"\*\*华东\*\*"),
    ("[click](javascript:alert(1))", r"\[click\]\(javascript\:alert\(1\)\)"),
    ("&lt;b&gt;", r"\&lt;b\&gt;"),
    ("普通名称", "普通名称"),
])
def test_names_are_escaped_for_markdown(name, shown):
    assert md_literal(name) == shown
