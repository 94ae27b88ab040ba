"""The app serving built marts (``CRM_MARTS``; analytics/store/served.py, ui/loaders.py), driven through AppTest on the
demo data imported, exported and built on DuckDB: every page in both languages draws what it draws on the embedded
database (the same text, figures and tables), the Data page says in one sentence what is served and offers no import,
undo, demo data or settings change (not even for marts without sales), and with the export folder gone the customer
detail says so."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import streamlit as st
from app_util import APP, open_app, page_text
from served_util import build_world
from streamlit.testing.v1 import AppTest

from analytics import pages
from analytics.store import audits, build, served
from analytics.store.connection import connect
from analytics.store.export import export_parquet
from ui.i18n import md_literal, t
from ui.importing.read_only import built_text

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")

DATA = "pages/data.py"


@pytest.fixture(scope="module", name="world")
def world_fixture(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("served_app"))


def serve(monkeypatch, folder) -> None:
    monkeypatch.setenv(served.ENV, str(folder))


def drawn(at) -> str:
    """Everything the run drew as text (:func:`app_util.page_text`)."""
    return page_text(at)


def assert_same_drawing(got, want) -> None:
    """The same text (titles, markdown, captions, alerts, metrics: formatted) and the same tables, their numbers within
    1e-9 relative (a sum over the rows in another order differs in the last bits, on one engine run to run too)."""
    def words(at) -> list[str]:
        return [str(x.value) for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                                          "error", "success") for x in getattr(at, kind)] + [
            f"{m.label} {m.value} {m.proto.delta}" for m in at.metric]

    assert words(got) == words(want)
    assert len(got.dataframe) == len(want.dataframe)
    for a, b in zip(got.dataframe, want.dataframe, strict=True):
        pd.testing.assert_frame_equal(a.value, b.value, check_exact=False, rtol=1e-9)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("page", [p for p in pages.PAGES if p.key != "data"], ids=lambda p: p.key)
def test_every_analysis_page_draws_what_the_embedded_database_draws(world, monkeypatch, page, lang):
    """Served, the page draws its figures (no error, no exception); in English, word for word and number for number
    what it draws on the embedded database (the figures themselves are compared in test_served_marts.py)."""
    params = {"customer": world.customer} if page.key == "customer" else {}
    embedded = open_app(monkeypatch, world.db, page=page.script, lang=lang, **params) if lang == "en" else None
    st.cache_data.clear()
    st.cache_resource.clear()  # (the app's connection: the next run opens the marts)
    serve(monkeypatch, world.marts)
    got = open_app(monkeypatch, world.db, page=page.script, lang=lang, **params)
    assert not got.error and got.title[0].value.startswith(t(page.title, lang))
    assert len(got.dataframe) + len(got.metric) > 0  # (figures, not only a message)
    if embedded is not None:
        assert_same_drawing(got, embedded)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_data_page_says_what_is_served_and_offers_no_import_or_undo(world, monkeypatch, lang):
    serve(monkeypatch, world.marts)
    at = open_app(monkeypatch, world.db, page=DATA, lang=lang)
    about = json.loads((world.marts / "manifest.json").read_text())
    said = t("served_data_read_only", lang, engine="DuckDB", built=built_text(about["built_at"]),
             version=str(about["source_data_version"]), folder=md_literal(str(world.marts.resolve())))
    assert [x.value for x in at.info] == [said]
    assert "marts build" in said and "export" in said
    assert not at.get("file_uploader") and t("data_caption", lang) not in drawn(at)
    labels = [b.label for b in at.button]
    assert t("data_undo", lang) not in labels and t("load_demo", lang) not in labels
    assert not [s.key for s in at.selectbox if s.key.startswith("data_")]  # (no undo or inbox choice)
    history = at.dataframe[0].value  # (the ledger, read-only: the export's)
    assert len(history) == 4 and t("data_hist_file_name", lang) in history.columns


def test_the_settings_are_shown_and_cannot_be_saved(world, tmp_path, monkeypatch):
    serve(monkeypatch, world.marts)
    at = open_app(monkeypatch, world.db, page=DATA, lang="en", email="admin@example.com", access=world.access,
                  tab="settings")
    assert t("served_settings_read_only", "en") in [x.value for x in at.info]
    assert t("data_settings_admin_only", "en") not in drawn(at)
    assert at.number_input(key="data_set_churn").disabled and at.number_input(key="data_set_churn").value == 180
    assert all(b.disabled for b in at.button if b.label == t("data_settings_save", "en"))


def test_the_checks_run_on_the_export(world, monkeypatch):
    """The Data quality tab: every check, run on the export's rows, as on the embedded database."""
    at = open_app(monkeypatch, world.db, page=DATA, lang="en")
    at.session_state["data_tab"] = t("data_tab_checks", "en")
    want = [e.label for e in at.run().expander]
    serve(monkeypatch, world.marts)
    at = open_app(monkeypatch, world.db, page=DATA, lang="en")
    at.session_state["data_tab"] = t("data_tab_checks", "en")
    at.run()
    assert not at.exception and [e.label for e in at.expander] == want and len(want) == len(audits.checks())


def test_without_the_export_the_customer_detail_says_so(world, tmp_path, monkeypatch):
    folder = tmp_path / "alone"
    shutil.copytree(world.marts, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    gone = tmp_path / "moved-away"
    (folder / "manifest.json").write_text(json.dumps(manifest | {"input": str(gone)}))
    serve(monkeypatch, folder)
    for lang in ("en", "zh"):
        at = open_app(monkeypatch, world.db, page="pages/customer.py", lang=lang, customer=world.customer)
        assert [x.value for x in at.error] == [t("served_export_gone", lang, folder=md_literal(str(gone)),
                                                 marts=md_literal(str(folder.resolve())))]
    tiers = open_app(monkeypatch, world.db, page="pages/tiers.py", lang="en")  # (the marts alone)
    assert not tiers.error and tiers.metric
    data = open_app(monkeypatch, world.db, page=DATA, lang="en")  # (the ledger from _meta; the checks need the rows)
    assert len(data.dataframe[0].value) == 4 and not data.error
    data.session_state["data_tab"] = t("data_tab_checks", "en")
    assert [x.value for x in data.run().error] == [t("served_export_gone", "en", folder=md_literal(str(gone)),
                                                     marts=md_literal(str(folder.resolve())))]


def test_marts_without_sales_offer_no_demo_data(tmp_path, monkeypatch):
    """An empty database exported and built: the pages say there is no data in scope, and nothing offers the demo
    data or an import (the embedded database's empty state does)."""
    con = connect(tmp_path / "crm.duckdb")
    try:
        export_parquet(con, tmp_path / "export")
    finally:
        con.close()
    build.build_duckdb(tmp_path / "export", tmp_path / "marts")
    embedded = open_app(monkeypatch, tmp_path / "crm.duckdb", page="pages/overview.py", lang="en")
    assert t("load_demo", "en") in [b.label for b in embedded.button]
    st.cache_resource.clear()
    serve(monkeypatch, tmp_path / "marts")
    for script in ("pages/overview.py", DATA):
        at = open_app(monkeypatch, tmp_path / "crm.duckdb", page=script, lang="en")
        assert t("load_demo", "en") not in [b.label for b in at.button] and not at.get("file_uploader")
    assert [x.value for x in open_app(monkeypatch, tmp_path / "crm.duckdb", page="pages/overview.py",
                                      lang="en").info] == [t("no_data_in_scope", "en")]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_folder_that_cannot_be_served_stops_the_app_with_the_reason(world, monkeypatch, lang):
    serve(monkeypatch, world.export)  # (an export, not a build)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    with pytest.raises(served.ServedError) as refused:
        served.open_marts(world.export)
    assert not at.exception and [x.value for x in at.error] == [
        t("served_refused", lang, variable=served.ENV, why=md_literal(str(refused.value)))]
    assert "is not a marts build" in at.error[0].value and not at.metric


def test_a_sales_manager_sees_only_their_region_served_as_embedded(world, monkeypatch):
    """Logged in, the access file's sales manager of 华北 gets what the embedded database gives them, also with another
    region asked for in the address (nothing of it)."""
    login = {"email": "north@example.com", "access": world.access}
    for params in ({}, {"region": "华东"}):
        embedded = open_app(monkeypatch, world.db, page="pages/overview.py", lang="en", **login, **params)
        st.cache_data.clear()
        st.cache_resource.clear()
        serve(monkeypatch, world.marts)
        got = open_app(monkeypatch, world.db, page="pages/overview.py", lang="en", **login, **params)
        assert_same_drawing(got, embedded)
        assert "华东" not in drawn(got)
        assert got.metric  # (华北's figures: a region outside theirs in the address is dropped)
        monkeypatch.delenv(served.ENV)
        st.cache_data.clear()
        st.cache_resource.clear()
