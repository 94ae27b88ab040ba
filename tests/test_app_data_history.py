"""The Data page's history and what follows an import (pages/data.py, ui/importing/),
driven through AppTest: an import reaching an overview open in another session, undo (asked
first, or cancelled), the data-quality checks, the settings, and an empty database offering
the demo data.

Each test runs the whole app on a database of its own (``CRM_DB`` in a temporary folder),
opens the Data page in 中文 or English, and checks what the page shows against what the
database holds afterwards, read through the app's own connection (``tests/app_data_util.py``).
"""

from __future__ import annotations

import pytest
from app_data_util import (
    APP,
    GOOD,
    button,
    confirm,
    fresh_app_fixture,  # noqa: F401 (the autouse fresh_app fixture)
    open_data_page,
    open_tab,
    rows,
    run,
    upload,
)
from streamlit.testing.v1 import AppTest

from analytics.ingest import demo, intake
from analytics.ingest.pipeline import import_file
from analytics.store import settings
from ui import loaders
from ui.formats import fmt_int, fmt_pct
from ui.i18n import LANGUAGES, md_literal, t
from ui.widgets import kpi_value

# ----------------------------------------------------------------------------- history and undo


def test_an_open_overview_shows_an_import_from_another_session_on_its_next_interaction():
    """Two sessions of one server process: an analyst imports while a manager has the
    overview open; the manager's next run shows the new figures (the loaders are keyed on
    the data version), and an undo takes them back out."""
    analyst = open_data_page("en")
    upload(analyst, ("orders.csv", GOOD))
    confirm(analyst, "en", 3)
    manager = AppTest.from_file(str(APP), default_timeout=60)
    manager.session_state["lang"] = "en"
    run(manager)

    def revenue() -> str:
        return {m.label: m.value for m in manager.metric}[t("kpi_revenue", "en")]

    assert revenue() == kpi_value("revenue", 350.5, "en", "CNY")
    upload(analyst, ("more.csv", b"order_id,customer_id,order_date,amount\nT9,C9,2024-02-10,1000\n"))
    confirm(analyst, "en", 1)
    assert revenue() == kpi_value("revenue", 350.5, "en", "CNY"), "nothing changes before the manager's next run"
    run(manager)
    assert revenue() == kpi_value("revenue", 1350.5, "en", "CNY")
    open_tab(analyst, "en", "history")
    analyst.selectbox(key="data_undo_choice_en").set_value(2)
    button(run(analyst), t("data_undo", "en")).click()
    button(run(analyst), t("data_undo_yes", "en")).click()
    run(analyst)
    run(manager)
    assert revenue() == kpi_value("revenue", 350.5, "en", "CNY")

@pytest.mark.parametrize("lang", LANGUAGES)
def test_undo_asks_first_then_removes_exactly_that_import(lang):
    at = open_data_page(lang)
    upload(at, ("orders.csv", GOOD))
    confirm(at, lang, 3)
    open_tab(at, lang, "history")
    history = at.dataframe[0].value
    assert history[t("data_hist_file_name", lang)].tolist() == ["orders.csv"]
    assert history[t("data_hist_status", lang)].tolist() == [t("data_status_committed", lang)]

    button(at, t("data_undo", lang)).click()
    run(at)
    assert at.warning[0].value == t("data_undo_confirm_text", lang, id="1", file=md_literal("orders.csv"), n="3",
                                    kind=t("data_kind_transactions", lang))
    assert rows("select count(*) from transactions") == [(3,)], "nothing is removed before the confirm"
    button(at, t("data_undo_yes", lang)).click()
    run(at)
    assert t("data_undo_done", lang, id="1", n="3") in [s.value for s in at.success]
    assert rows("select count(*) from transactions") == [(0,)]
    assert rows("select status, undone_by from imports") == [("undone", "local")]
    assert at.dataframe[0].value[t("data_hist_status", lang)].tolist() == [t("data_status_undone", lang)]


def test_the_undo_confirmation_shows_a_file_name_as_text(tmp_path):
    """A file imported from the command line under a name like Markdown (a link, bold, LaTeX,
    HTML; uploads get a safe name, the command line keeps the file's own) is printed as its
    characters in the undo confirmation."""
    name = "[点我](https:example.com) **粗体** $x^2$ <img src=x onerror=alert(1)>.csv"
    (tmp_path / name).write_bytes(GOOD)
    at = open_data_page("en")
    import_file(loaders.connection(), tmp_path / name, commit=True)
    open_tab(run(at), "en", "history")
    button(at, t("data_undo", "en")).click()
    run(at)
    assert at.warning[0].value == t("data_undo_confirm_text", "en", id="1", file=md_literal(name), n="3",
                                    kind=t("data_kind_transactions", "en"))


def test_undo_can_be_cancelled():
    at = open_data_page("en")
    upload(at, ("orders.csv", GOOD))
    confirm(at, "en", 3)
    open_tab(at, "en", "history")
    button(at, "Undo…").click()
    run(at)
    button(at, "Cancel").click()
    run(at)
    assert not at.warning
    assert rows("select count(*) from transactions") == [(3,)]


# ----------------------------------------------------------------------------- checks, settings, empty


@pytest.mark.parametrize("lang", LANGUAGES)
def test_data_quality_checks_show_pass_or_the_rows_found(lang):
    future = b"customer_id,order_date,amount\nC1,2024-01-05,10\nC2,2099-01-01,20\n"
    at = open_data_page(lang)
    upload(at, ("future.csv", future))
    confirm(at, lang, 2)
    open_tab(at, lang, "checks")
    labels = [e.label for e in at.expander]
    assert f"{t('data_check_future_order_dates', lang)} — {t('data_check_found', lang, n='1')}" in labels
    assert f"{t('data_check_resolved_before_reported', lang)} — {t('data_check_passed', lang)}" in labels
    sample = at.dataframe[0].value
    assert sample[t("data_col_customer_id", lang)].tolist() == ["C2"]
    assert sample[t("data_col_line", lang)].tolist() == [3]


def save_settings(at: AppTest, lang: str, **values: float) -> AppTest:
    """Type `values` into the settings form (by widget key) and submit it."""
    for key, value in values.items():
        at.number_input(key=f"data_set_{key}").set_value(value)
    button(at, t("data_settings_save", lang)).click()
    return run(at)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_settings_refuse_a_bad_value_and_store_a_good_one(lang):
    at = open_data_page(lang)
    open_tab(at, lang, "settings")
    save_settings(at, lang, churn=10)
    churn = settings.SETTINGS[0]
    assert [e.value for e in at.error] == [t("data_setting_error_days", lang,
                                             setting=t("data_setting_churn_window_days", lang),
                                             low=fmt_int(churn.low, lang), high=fmt_int(churn.high, lang))]
    assert rows("select count(*) from settings") == [(0,)], "nothing is stored"

    save_settings(at, lang, churn=90, discount=8.0)
    assert not at.error
    assert [s.value for s in at.success] == [t("data_settings_saved", lang)]
    assert settings.load(loaders.connection()) == {"churn_window_days": 90, "tier_cuts": [0.01, 0.05, 0.2],
                                                "discount_rate": 0.08, "gross_margin": 0.3, "currency": "CNY",
                                                "import_time_zone": "Asia/Shanghai",
                                                "funnel_stages": settings.default("funnel_stages"),
                                                "funnel_stage_map": {}}


def test_a_discount_rate_out_of_bounds_is_refused_in_percent():
    at = open_data_page("en")
    open_tab(at, "en", "settings")
    save_settings(at, "en", discount=60.0)
    assert [e.value for e in at.error] == ["Yearly discount rate (%) must be between 0% and 50%."]
    assert rows("select count(*) from settings") == [(0,)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_gross_margin_is_refused_out_of_bounds_and_stored_as_a_share(lang):
    """The gross margin (lifetime value's margin without cost data) in percent on the form, a share
    in the database; above 100 % it is refused with its bounds and nothing is stored."""
    at = open_data_page(lang)
    open_tab(at, lang, "settings")
    assert at.number_input(key="data_set_margin").value == 30.0  # the default, 0.30
    save_settings(at, lang, margin=120.0)
    assert [e.value for e in at.error] == [t("data_setting_error_range", lang,
                                             setting=t("data_setting_gross_margin", lang),
                                             low=fmt_pct(0, lang, 0), high=fmt_pct(1, lang, 0))]
    assert rows("select count(*) from settings") == [(0,)]
    save_settings(at, lang, margin=42.5)
    assert not at.error
    assert [s.value for s in at.success] == [t("data_settings_saved", lang)]
    assert rows("select key, value from settings") == [("gross_margin", "0.425")]
    assert settings.load(loaders.connection())["gross_margin"] == 0.425


def test_tier_cuts_out_of_order_are_refused():
    at = open_data_page("zh")
    open_tab(at, "zh", "settings")
    save_settings(at, "zh", tier_gold=30.0)  # above the iron cut (20)
    assert [e.value for e in at.error] == [t("data_setting_error_cuts", "zh")]
    assert rows("select count(*) from settings") == [(0,)]


def test_new_tier_cuts_are_stored():
    at = open_data_page("en")
    open_tab(at, "en", "settings")
    save_settings(at, "en", tier_platinum=2.0)
    assert not at.error
    assert settings.load(loaders.connection())["tier_cuts"] == [0.02, 0.05, 0.2]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_empty_database_offers_the_demo_and_an_empty_history(lang):
    at = open_data_page(lang)
    assert t("load_demo", lang) in [b.label for b in at.button]
    assert at.file_uploader[0].accept_multiple_files
    assert sorted(at.file_uploader[0].allowed_type) == sorted(f".{e}" for e in intake.UPLOAD_TYPES)
    open_tab(at, lang, "history")
    assert t("data_history_empty", lang) in [i.value for i in at.info]


def test_the_demo_data_loads_from_the_empty_page(tmp_path, monkeypatch):
    real = demo.load_demo
    monkeypatch.setattr(demo, "load_demo",
                        lambda con, progress: real(con, size=300, folder=tmp_path / "demo", progress=progress))
    at = open_data_page("zh")
    button(at, "加载演示数据").click()
    run(at)
    imported = rows("select sum(rows_imported), count(*) from imports where imported_by = 'demo'")[0]
    assert imported[1] == 4 and imported[0] > 0
    assert [s.value for s in at.success] == [t("data_demo_loaded", "zh", rows=fmt_int(imported[0], "zh"), files="4")]
    assert "加载演示数据" not in [b.label for b in at.button]
