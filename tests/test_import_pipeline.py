"""The import pipeline's internals: a preview writes nothing, failed checks, the staging plan guard, memory."""

from __future__ import annotations

import pytest
from import_util import (
    ZH_HEADER,
    ZH_ROWS,
    con_fixture,  # noqa: F401 (the con fixture)
    rows,
    write,
)

from analytics.errors import EncodingNotDetected
from analytics.ingest.mapping import saved_mappings
from analytics.ingest.pipeline import import_file, prepare
from analytics.store.connection import data_version


def test_prepare_writes_nothing(con, tmp_path):
    path = write(tmp_path / "t.csv", ZH_HEADER + ZH_ROWS)
    version = data_version(con)
    prepared = prepare(con, path)
    assert prepared.report.rows_to_import == 3
    prepared.close()
    assert data_version(con) == version
    assert rows(con, "select count(*) from transactions union all select count(*) from imports") == [
        (0,), (0,)]


def test_a_committed_import_reports_even_when_the_checks_cannot_run(con, tmp_path, monkeypatch):
    import duckdb

    from analytics.store import audits

    def broken(_con):
        raise duckdb.CatalogException("no such table")

    monkeypatch.setattr(audits, "count_failures", broken)
    path = write(tmp_path / "t.csv", ZH_HEADER + ZH_ROWS)
    report = import_file(con, path, commit=True, save_as="erp")
    assert report.status == "committed" and report.import_id == 1
    assert any("could not run" in n for n in report.notes)
    assert rows(con, "select count(*) from transactions") == [(3,)]
    assert saved_mappings(con)[0][0] == "erp"


def test_staging_plan_keeps_file_order_and_the_guard_catches_a_join(con, tmp_path, monkeypatch):
    """Line numbers come from the staged table's row order, which a join could break; the
    staging query has none, and if one ever appears the rows are numbered explicitly."""
    import duckdb

    from analytics.ingest import pipeline, staging

    probe = duckdb.connect()
    assert staging._plan_has_join(probe, "select * from range(10) t(i) where i in (1, 2, 3, 4, 5, 6)")
    assert not staging._plan_has_join(probe, "select i from range(10) t(i) where i < 3")
    used = []
    real = staging.parse

    def spy(cur, raw, mapping, stage_db, numbered=False):
        used.append(numbered)
        return real(cur, raw, mapping, stage_db, numbered)

    # prepare calls the name in the pipeline; the guard's second call, the name in staging
    monkeypatch.setattr(pipeline, "parse", spy)
    monkeypatch.setattr(staging, "parse", spy)
    path = write(tmp_path / "t.csv", "customer_id,order_date,amount\n" + "".join(
        f"C{i},2024-01-05,{'x' if i == 7 else i}\n" for i in range(10)))
    assert import_file(con, path).rejects[0]["line"] == 9
    assert used == [False]  # the normal path: no join, no numbering needed
    used.clear()
    monkeypatch.setattr(staging, "_plan_has_join", lambda cur, query: True)
    assert import_file(con, path).rejects[0]["line"] == 9
    assert used == [False, True]  # the guard switched to explicit numbering


def test_staging_memory_is_released_after_preview_commit_and_failure(con, tmp_path):
    """Staged rows live in an in-memory database attached to the whole instance: every way
    out of an import (preview, commit, a refused file) detaches it."""
    def attached():
        return rows(con, "select database_name from duckdb_databases() where database_name like 'stage_%'")

    path = write(tmp_path / "t.csv", ZH_HEADER + ZH_ROWS)
    import_file(con, path)
    import_file(con, path, commit=True)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"customer_id,amount\n\xff\xfe\x00garbage\x81\n")
    with pytest.raises(EncodingNotDetected):
        import_file(con, bad, kind="transactions")
    assert attached() == []
