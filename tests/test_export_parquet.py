"""``python -m analytics export --parquet DIR`` (analytics/store/export.py): the canonical tables of a database made
by the real pipeline (the demo's files) written as Parquet, read back with DuckDB as a Hive-partitioned table, equal
row for row with every column but ``row_key`` and the same types; months as folders; a table without rows still a
file with its columns; a folder in use refused with nothing written; the settings and the import ledger in ``_meta/``
with their types (JSON stays JSON) and listed in the manifest. Then ``marts build --engine duckdb``
(analytics/store/build.py): every mart and summary built from that export equals the database's own, row for row."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from analytics.cli import main
from analytics.ingest.demo import load_demo
from analytics.store import marts, settings
from analytics.store.build import model_files
from analytics.store.connection import connect
from analytics.store.export import LEFT_OUT, MANIFEST, META_TABLES, TABLES, ExportError, export_parquet


@pytest.fixture(scope="module", name="db")
def db_fixture(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export") / "crm.duckdb"
    con = connect(path)
    try:
        load_demo(con, size=300, seed=3)
        marts.summarize(con)
    finally:
        con.close()
    return path


def back(folder: Path, table: str) -> duckdb.DuckDBPyRelation:
    """The exported table as a reader sees it (every file under its folder, the month folders as a column)."""
    reader = duckdb.connect()
    return reader.sql(f"select * from read_parquet('{folder / table}/**/*.parquet', hive_partitioning = true, "
                      "union_by_name = true)")


def test_every_table_comes_back_row_for_row_with_its_types(db, tmp_path):
    con = connect(db, read_only=True)
    try:
        manifest = export_parquet(con, tmp_path / "out")
        assert set(manifest["tables"]) == set(TABLES) and json.loads((tmp_path / "out" / MANIFEST).read_text()) \
            == manifest
        for table, day in TABLES.items():
            stored = con.execute(f"describe {table}").fetchall()
            columns = [(name, kind) for name, kind, *_ in stored if name not in LEFT_OUT]
            got = back(tmp_path / "out", table)
            shown = dict(zip(got.columns, got.types, strict=True))
            assert [(c, str(shown[c])) for c, _ in columns] == columns, table  # (dates stay dates, decimals decimals)
            names = ", ".join(c for c, _ in columns)
            want = con.execute(f"select {names} from {table}").fetchall()
            assert sorted(got.select(names).fetchall(), key=repr) == sorted(want, key=repr), table
            assert manifest["tables"][table]["rows"] == len(want) and manifest["tables"][table]["columns"] == [
                c for c, _ in columns]
            if day is not None and want:  # one folder per month of its date, the month a column
                months = {m for (m,) in got.select("month").distinct().fetchall()}
                assert months == {m for (m,) in con.execute(f"select distinct strftime({day}, '%Y-%m') from "
                                                             f"{table}").fetchall()}
                assert {p.name for p in (tmp_path / "out" / table).iterdir()} == {f"month={m}" for m in months}
        assert manifest["data_version"] == con.execute("select value from meta where key = 'data_version'"
                                                       ).fetchall()[0][0]
    finally:
        con.close()


def test_the_settings_and_the_ledger_go_to_meta_with_their_types(db, tmp_path):
    """``_meta/settings.parquet`` and ``_meta/imports.parquet``: every row and column with its type (the ledger's
    ``mapping`` and the settings' values are JSON, its times TIMESTAMP), listed in the manifest."""
    con = connect(db)
    try:
        settings.save(con, {"churn_window_days": 120, "funnel_stage_map": {"报价": "proposal"}})  # (JSON values)
        manifest = export_parquet(con, tmp_path / "out")
        reader = duckdb.connect()
        for table in META_TABLES:
            about = manifest["meta"][table]
            stored = [(r[0], r[1]) for r in con.execute(f"describe {table}").fetchall()]
            got = reader.sql(f"select * from read_parquet('{tmp_path / 'out' / about['file']}')")
            assert list(zip(got.columns, map(str, got.types), strict=True)) == stored, table
            assert list(zip(about["columns"], about["types"], strict=True)) == stored, table
            want = con.execute(f"select * from {table}").fetchall()
            assert about["rows"] == len(want) > 0 and sorted(got.fetchall(), key=repr) == sorted(want, key=repr)
        assert {"JSON", "TIMESTAMP"} <= set(manifest["meta"]["imports"]["types"])
        written = reader.execute(f"select key, value::varchar from '{tmp_path / 'out' / '_meta' / 'settings.parquet'}'")
        assert json.loads(dict(written.fetchall())["funnel_stage_map"]) == {"报价": "proposal"}
    finally:
        settings.save(con, {"churn_window_days": settings.default("churn_window_days"), "funnel_stage_map": {}})
        con.close()


def test_a_table_without_rows_is_one_file_with_its_columns(db, tmp_path):
    con = connect(db, read_only=True)
    try:
        assert con.execute("select count(*) from customer_attributes").fetchall() == [(0,)]  # (the demo has none)
        manifest = export_parquet(con, tmp_path / "out")
        assert manifest["tables"]["customer_attributes"] == {
            "rows": 0, "columns": [r[0] for r in con.execute("describe customer_attributes").fetchall()],
            "partitioned_by": None, "month_of": None}
        got = back(tmp_path / "out", "customer_attributes")
        assert got.fetchall() == [] and got.columns == manifest["tables"]["customer_attributes"]["columns"]
    finally:
        con.close()


@pytest.mark.parametrize("used", ["a file", "a folder with a file"])
def test_a_folder_in_use_is_refused_and_nothing_is_written(db, tmp_path, capsys, used):
    target = tmp_path / "out"
    if used == "a file":
        target.write_text("mine")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    con = connect(db, read_only=True)
    try:
        with pytest.raises(ExportError, match=r"a file|not empty"):
            export_parquet(con, target)
    finally:
        con.close()
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert main(["--db", str(db), "export", "--parquet", str(target)]) == 1
    assert "export into a new or empty folder" in capsys.readouterr().err


def test_the_command_line_writes_and_reports_the_tables(db, tmp_path, capsys):
    assert main(["--db", str(db), "export", "--parquet", str(tmp_path / "out"), "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    con = connect(db, read_only=True)
    try:
        for table in TABLES:
            assert manifest["tables"][table]["rows"] == con.execute(f"select count(*) from {table}").fetchall()[0][0]
    finally:
        con.close()
    assert main(["--db", str(db), "export", "--parquet", str(tmp_path / "again")]) == 0
    text = capsys.readouterr().out
    assert f"transactions: {manifest['tables']['transactions']['rows']:,} rows (by month)" in text


def test_the_marts_built_from_the_export_are_the_databases_own(db, tmp_path, capsys):
    """Every mart and summary (not the ``_`` steps) from the export, on DuckDB, as the embedded database built it at
    import: the same columns, types and rows; the output's manifest names the models and the export's version."""
    assert main(["--db", str(db), "export", "--parquet", str(tmp_path / "export")]) == 0
    capsys.readouterr()
    assert main(["marts", "build", "--engine", "duckdb", "--input", str(tmp_path / "export"), "--output",
                 str(tmp_path / "marts"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    manifest = json.loads((tmp_path / "marts" / MANIFEST).read_text())
    assert printed == manifest
    models = [m for m in marts.MARTS + marts.SUMMARIES if not m.startswith("_")]
    assert list(manifest["models"]) == models and manifest["models_version"] == marts.models_version(
        marts.MARTS + marts.SUMMARIES)
    assert manifest["engine"] == "duckdb" and manifest["input"] == str((tmp_path / "export").resolve())
    con = connect(db, read_only=True)
    reader = duckdb.connect()
    try:
        assert marts.summaries_ready(con)
        assert manifest["source_data_version"] == int(con.execute("select value from meta where key = "
                                                                  "'data_version'").fetchall()[0][0])
        for name in models:
            got = reader.sql(f"select * from read_parquet('{model_files(tmp_path / 'marts', name)}')")
            stored = [(r[0], r[1]) for r in con.execute(f"describe {name}").fetchall()]
            assert list(zip(got.columns, map(str, got.types), strict=True)) == stored, name
            want = con.execute(f"select * from {name}").fetchall()
            assert manifest["models"][name]["rows"] == len(want) > 0 or name == "customer_attribute_values", name
            assert sorted(got.fetchall(), key=repr) == sorted(want, key=repr), name
    finally:
        reader.close()
        con.close()


def test_a_build_without_an_export_says_where_one_comes_from(tmp_path, capsys):
    assert main(["marts", "build", "--input", str(tmp_path), "--output", str(tmp_path / "marts")]) == 1
    assert "holds no export" in capsys.readouterr().err and not (tmp_path / "marts").exists()
