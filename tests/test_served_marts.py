"""Serving built marts (``--marts DIR``, ``CRM_MARTS``; analytics/store/served.py): the demo data through the real
pipeline (imported, exported, built on DuckDB) gives every page's ``report --json`` the same figures served from the
marts folder as from the embedded database, for the local user and a region-restricted sales manager,
with the filters that make the gate read the fact tables (a tier and a channel); marts of other column widths (as
Spark writes them) are read as this release's types; and what serving refuses: the commands that write, a folder
that is not a build, marts of other models, a figure whose export folder is gone."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from served_util import REGION, assert_same_figures, build_world, differences, every_page_figures, report_figures

from analytics.cli import main
from analytics.store import marts, served, settings
from analytics.store.build import model_files
from analytics.store.export import MANIFEST


@pytest.fixture(scope="module", name="world")
def world_fixture(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("served"))


def sources(world) -> tuple[list[str], list[str]]:
    return ["--db", world.db], ["--marts", world.marts]


def test_the_comparison_sees_a_difference():
    """The comparison itself: a number off by more than ``rel``, a missing key, a changed text each fail."""
    a = {"kpis": [{"value": 1.0, "name": "revenue"}], "n": 3}
    assert differences(a, {"kpis": [{"value": 1.0 + 1e-12, "name": "revenue"}], "n": 3}) == []
    assert differences(a, {"kpis": [{"value": 1.001, "name": "revenue"}], "n": 3}) == [
        ".kpis[0].value: 1.0 against 1.001"]
    assert differences(a, {"kpis": [{"value": 1.0, "name": "margin"}], "n": 3}) != []
    assert differences(a, {"kpis": [], "n": 3}) != [] and differences(a, {"kpis": a["kpis"]}) != []
    with pytest.raises(AssertionError, match="differences"):
        assert_same_figures(a, {"kpis": [{"value": 2.0, "name": "revenue"}], "n": 3})


@pytest.mark.parametrize("who", ["local", "north@example.com"])
def test_every_page_has_the_same_figures_served_as_embedded(world, who):
    """The local user (full access, every page) and a sales manager of 华北 (the analysis pages, 华北 only)."""
    role = {"local": None, "north@example.com": "sales_manager"}[who]
    user = () if who == "local" else ("--user", who, "--access-file", world.access)
    embedded, built = sources(world)
    want = every_page_figures(embedded, world.customer, *user, pages_of=role)
    got = every_page_figures(built, world.customer, *user, pages_of=role)
    assert list(got) == list(want) and len(want) >= 7
    for page in want:
        assert_same_figures(got[page], want[page])
    # the customer detail read the export's transactions and feedback (its customer is 华北's: every user sees it)
    assert got["customer"]["found"] and got["customer"]["transaction_count"] > 0
    if who == "north@example.com":  # (the gate restricted both: only 华北's customers and sales)
        assert got["overview"]["allowed_regions"] == [REGION] and "data" not in got


@pytest.mark.parametrize("page", ["overview", "churn", "tiers", "satisfaction"])
def test_the_filters_that_read_the_fact_tables_give_the_same_figures(world, page):
    """A tier filter (the gate sums the transactions of the tier's customers) and a channel filter (the customers'
    months from the transactions in it) read the export's fact tables when served."""
    filters = ("--tier", "platinum", "--tier", "gold", "--channel", "天猫", "--channel", "京东")
    embedded, built = sources(world)
    want = report_figures(embedded, page, *filters)
    assert_same_figures(report_figures(built, page, *filters), want)
    assert want["filters"]["tiers"] == ["platinum", "gold"]


def test_the_views_have_this_releases_types_whatever_widths_the_files_have(world, tmp_path):
    """Marts written with narrower types (INT for BIGINT, DECIMAL(18,2) for DECIMAL(38,2), FLOAT for DOUBLE: what
    Spark may write) are read as the embedded database's types, and the figures do not change."""
    folder = tmp_path / "narrow"
    shutil.copytree(world.marts, folder)
    reader = duckdb.connect()
    narrowed = {}
    for name in ("sales_month", "customer_month", "customer_summary"):
        source = model_files(world.marts, name)
        columns = []
        for column, kind, *_ in reader.execute(f"describe select * from '{source}'").fetchall():
            narrow = {"BIGINT": "INTEGER", "HUGEINT": "BIGINT", "DOUBLE": "DOUBLE"}.get(kind)
            if kind.startswith("DECIMAL(38"):
                narrow = "DECIMAL(18," + kind.split(",")[1]
            columns.append(f"cast({column} as {narrow}) as {column}" if narrow else column)
            if narrow and narrow != kind:
                narrowed[(name, column)] = kind
        (folder / name / "part-0.parquet").unlink()
        reader.execute(f"copy (select {', '.join(columns)} from '{source}') to '{folder / name / 'part-0.parquet'}' "
                       "(format parquet)")
    assert len(narrowed) >= 5
    con = served.open_marts(folder)
    try:
        for (name, column), kind in narrowed.items():
            assert dict((r[0], r[1]) for r in con.execute(f"describe {name}").fetchall())[column] == kind
    finally:
        con.close()
    assert_same_figures(report_figures(["--marts", folder], "tiers"), report_figures(["--db", world.db], "tiers"))


def test_a_model_without_files_is_empty_and_a_missing_model_is_refused(world, tmp_path):
    """An engine may write no file for a model without rows (the demo has no customer attributes): served, that
    model has its columns and no rows. A model whose folder is missing is refused."""
    folder = tmp_path / "marts"
    shutil.copytree(world.marts, folder)
    for file in (folder / "customer_attribute_values").glob("*.parquet"):
        file.unlink()
    embedded = duckdb.connect(str(world.db), read_only=True)
    con = served.open_marts(folder)
    try:
        assert con.execute("describe customer_attribute_values").fetchall() == embedded.execute(
            "describe customer_attribute_values").fetchall()
        assert con.execute("select count(*) from customer_attribute_values").fetchall() == [(0,)]
    finally:
        con.close()
        embedded.close()
    shutil.rmtree(folder / "churn_month")
    with pytest.raises(served.ServedError, match="lacks the model churn_month: rebuild the marts with this release"):
        served.open_marts(folder)


@pytest.mark.parametrize("command", [["import", "x.csv", "--commit"], ["import", "x.csv"], ["demo"], ["undo", "1"],
                                     ["export", "--parquet", "out"]])
@pytest.mark.parametrize("how", ["--marts", "CRM_MARTS"])
def test_the_commands_that_write_are_refused(world, command, how, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    if how == "CRM_MARTS":
        monkeypatch.setenv(served.ENV, str(world.marts))
        argv = command
    else:
        argv = ["--marts", str(world.marts), *command]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "is not possible here" in err and "served read-only" in err and "marts build" in err
    assert not (tmp_path / "out").exists()
    served.open_marts(world.marts).close()  # (nothing changed there)


def test_crm_marts_is_read_when_no_db_is_given_and_db_wins(world, monkeypatch, capsys):
    monkeypatch.setenv(served.ENV, str(world.marts))
    assert main(["imports", "--json"]) == 0
    served_ledger = json.loads(capsys.readouterr().out)
    assert main(["--db", str(world.db), "imports", "--json"]) == 0  # (--db: the database, not $CRM_MARTS)
    assert json.loads(capsys.readouterr().out) == served_ledger and len(served_ledger) == 4
    with pytest.raises(SystemExit):  # (one source or the other)
        main(["--db", str(world.db), "--marts", str(world.marts), "imports"])


def test_the_source_may_follow_the_command(world, capsys):
    """``report churn --marts DIR`` as ``--marts DIR report churn`` (people write it after the command); ``--db`` the
    same; one source before the command and the other after it is refused, as both before it are."""
    figures = {}
    for name, args in {"before": ["--marts", str(world.marts), "report", "churn", "--json"],
                       "after": ["report", "churn", "--json", "--marts", str(world.marts)],
                       "db after": ["report", "churn", "--db", str(world.db), "--json"]}.items():
        assert main(args) == 0, name
        figures[name] = json.loads(capsys.readouterr().out)
    assert figures["after"] == figures["before"]
    assert_same_figures(figures["db after"], figures["before"])
    assert main(["imports", "--json", "--db", str(world.db)]) == 0 and len(json.loads(capsys.readouterr().out)) == 4
    for args in (["--db", str(world.db), "imports", "--marts", str(world.marts)],
                 ["--marts", str(world.marts), "report", "churn", "--db", str(world.db)]):
        with pytest.raises(SystemExit) as refused:
            main(args)
        assert refused.value.code == 2 and "not allowed with argument --db" in capsys.readouterr().err, args
    with pytest.raises(SystemExit):  # (marts build reads an export folder: no database to name)
        main(["marts", "build", "--engine", "duckdb", "--input", str(world.export), "--output", "x", "--db", "y"])
    assert "unrecognized arguments: --db" in capsys.readouterr().err


def test_the_settings_and_the_ledger_come_from_meta(world):
    con = served.open_marts(world.marts)
    embedded = duckdb.connect(str(world.db), read_only=True)
    try:
        for table in ("settings", "imports"):
            assert con.execute(f"select * from {table}").fetchall() == embedded.execute(
                f"select * from {table}").fetchall()
        assert settings.load(con) == settings.load(embedded)
        with pytest.raises(served.ReadOnly, match="saving the settings is not possible here"):
            settings.save(con, {"churn_window_days": 90})
        assert marts.summaries_ready(con)  # (the app never builds summaries here)
        about = served.about(con)
        assert about.engine == "duckdb" and about.has_export and about.export == str(world.export.resolve())
        assert con.execute("select value from meta where key = 'data_version'").fetchall() == embedded.execute(
            "select value from meta where key = 'data_version'").fetchall()
        assert served.about(embedded) is None
        with pytest.raises(duckdb.Error, match=r"disabled by configuration|Permission"):  # (confined)
            con.execute("select * from read_csv('/etc/passwd')").fetchall()
    finally:
        embedded.close()
        con.close()


def test_a_folder_that_is_not_a_build_is_refused(world, tmp_path, capsys):
    for folder, said in ((tmp_path, "is not a marts build (manifest.json is missing)"),
                         (world.export, "is not a marts build (manifest.json is an export's")):
        assert main(["--marts", str(folder), "report", "overview"]) == 1
        assert said in capsys.readouterr().err
        with pytest.raises(served.ServedError, match="marts build"):
            served.open_marts(folder)


def test_marts_built_by_other_models_are_refused(world, tmp_path, capsys):
    folder = tmp_path / "old"
    shutil.copytree(world.marts, folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps(manifest | {"models_version": manifest["models_version"] + 1}))
    assert main(["--marts", str(folder), "report", "overview"]) == 1
    assert "rebuild the marts with this release" in capsys.readouterr().err


def test_without_the_export_the_marts_serve_and_the_fact_tables_say_it_is_gone(world, tmp_path, capsys):
    folder = tmp_path / "alone"
    shutil.copytree(world.marts, folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    gone = tmp_path / "moved-away"
    (folder / MANIFEST).write_text(json.dumps(manifest | {"input": str(gone)}))
    for page in ("tiers", "satisfaction"):  # (figures from the marts alone)
        assert_same_figures(report_figures(["--marts", folder], page), report_figures(["--db", world.db], page))
    # the customer detail reads the customer's transactions, the overview how far they go, the data page's checks
    # every row
    for page in ("customer", "overview", "data"):
        assert main(["--marts", str(folder), "report", page, *(["--customer", world.customer] * (page == "customer"))
                     ]) == 1
        err = capsys.readouterr().err
        assert f"the export the marts were built from, {gone}, and that folder is gone" in err, page
        assert "unexpected" not in err and "Invalid Input Error" not in err
    assert main(["--marts", str(folder), "report", "customer", "--customer", world.customer, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["kind"] == "ExportGone"
    con = served.open_marts(folder)
    try:
        assert not served.about(con).has_export
        for query in ("select count(*) from transactions", "select * from feedback where customer_id = 'x'",
                      "select exists (select 1 from leads)"):
            with pytest.raises(duckdb.Error) as caught:
                con.execute(query).fetchall()
            assert isinstance(served.explain(caught.value), served.ExportGone)
        assert served.explain(duckdb.CatalogException("no such table")) is None
    finally:
        con.close()


def test_an_export_of_another_data_version_is_not_read(world, tmp_path, capsys):
    """The export folder exported again since the build (another data version): its rows are not the marts' data, so
    the figures that need them say so, as when it is gone."""
    folder = tmp_path / "older"
    shutil.copytree(world.marts, folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps(manifest | {"source_data_version": manifest["source_data_version"] - 1}))
    assert main(["--marts", str(folder), "report", "customer", "--customer", world.customer]) == 1
    assert (f"{world.export.resolve()}, and that folder now holds data version {manifest['source_data_version']}, "
            f"not {manifest['source_data_version'] - 1} as the marts") in capsys.readouterr().err
