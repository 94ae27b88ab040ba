"""The Data page (pages/data.py, ui/importing/, analytics/ingest/intake.py), driven through AppTest.

Each test runs the whole app on a database of its own (``CRM_DB`` in a temporary folder),
opens the Data page in 中文 or English, and checks what the page shows against what the
database holds afterwards, read through the app's own connection.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.ingest import demo, intake
from analytics.ingest.pipeline import import_file
from analytics.paths import work_dir
from analytics.store import settings
from ui import importing, loaders
from ui.dates import fmt_date
from ui.formats import fmt_int
from ui.i18n import LANGUAGES, md_literal, t
from ui.widgets import kpi_value

APP = Path(__file__).resolve().parents[1] / "app.py"
CSV = "text/csv"

GOOD = (b"order_id,customer_id,order_date,amount,region\n"
        b"T1,C1,2024-01-05,100.50,East\n"
        b"T2,C2,2024-01-06,200,North\n"
        b"T3,C1,2024-02-01,50,East\n")
# lines 3 and 5 are bad: an amount that is no amount, an empty customer id
WITH_REJECTS = (b"order_id,customer_id,order_date,amount\n"
                b"T1,C1,2024-01-05,10\n"
                b"T2,C2,2024-01-06,12,5\n"
                b"T3,C3,2024-01-07,30\n"
                b"T4,,2024-01-08,40\n"
                b"T5,C5,2024-01-09,abc\n")
ZH_GBK = ("订单编号,客户编号,订单日期,实付金额（元）,大区,渠道\n"
          "SO1,00123,2024年1月5日,\"￥1,234.50\",华东,天猫\n"
          "SO2,00124,2024/1/6,200,华北,京东\n"
          "SO3,00123,2024-02-01,50,华南,门店\n").encode("gbk")


@pytest.fixture(autouse=True)
def fresh_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_streamlit_caches):
    """A database of the test's own and no cached connection or results from another test."""
    monkeypatch.setenv("CRM_DB", str(tmp_path / "crm.duckdb"))
    monkeypatch.setattr(intake, "INBOX_DIR", tmp_path / "inbox")


def open_data_page(lang: str) -> AppTest:
    """The app on its Data page in `lang`.

    The language is set through the language widget's key (``lang``, also its URL
    parameter): in AppTest ``?lang=`` reaches the first run only, and after ``switch_page``
    the bound widget falls back to its default (checked on Streamlit 1.67).
    """
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rows(sql: str, *params: object) -> list[tuple]:
    """Query the database through the app's own connection."""
    return loaders.connection().cursor().execute(sql, list(params)).fetchall()


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    at.file_uploader[0].set_value([(name, content, CSV) for name, content in files])
    return run(at)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def counts(at: AppTest, lang: str, *names: str) -> list[str]:
    shown = metrics(at)
    return [shown[t(f"data_{name}", lang)] for name in names]


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} among {[b.label for b in at.button]}"
    return matches[0]


def selectbox(at: AppTest, label: str):
    matches = [s for s in at.selectbox if s.label == label]
    assert matches, f"no selectbox {label!r} among {[s.label for s in at.selectbox]}"
    return matches[0]


def confirm(at: AppTest, lang: str, n: int) -> AppTest:
    button(at, t("data_confirm", lang, n=fmt_int(n, lang))).click()
    return run(at)


def open_tab(at: AppTest, lang: str, tab: str) -> AppTest:
    at.session_state["data_tab"] = t(f"data_tab_{tab}", lang)
    return run(at)


# ----------------------------------------------------------------------------- import


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_good_file_is_previewed_then_imported_on_confirm(lang):
    at = open_data_page(lang)
    upload(at, ("orders.csv", GOOD))
    assert counts(at, lang, "rows_read", "rows_valid", "rows_rejected", "rows_already_present", "rows_to_import") \
        == ["3", "3", "0", "0", "3"]
    assert selectbox(at, t("data_kind_label", lang)).value == "transactions"
    assert rows("select count(*) from transactions") == [(0,)], "a preview writes nothing"

    confirm(at, lang, 3)
    assert [s.value for s in at.success] == [t("data_result_imported", lang, id="1", n="3",
                                               kind=t("data_kind_transactions", lang), present="0")]
    assert rows("select transaction_id, customer_id, order_date, amount, region from transactions order by line") == [
        ("T1", "C1", date(2024, 1, 5), 100.5, "East"), ("T2", "C2", date(2024, 1, 6), 200, "North"),
        ("T3", "C1", date(2024, 2, 1), 50, "East")]
    assert rows("select file_name, imported_by, rows_imported, status from imports") == [
        ("orders.csv", "local", 3, "committed")]
    # the demo offer is gone once there are transactions
    assert t("load_demo", lang) not in [b.label for b in at.button]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rejected_rows_are_listed_with_their_line_numbers(lang):
    at = open_data_page(lang)
    upload(at, ("rejects.csv", WITH_REJECTS))
    assert counts(at, lang, "rows_read", "rows_valid", "rows_rejected", "rows_to_import") == ["5", "2", "3", "2"]
    table = at.dataframe[0].value
    assert list(table.columns) == [t(f"data_table_{c}", lang) for c in ("line", "column", "value", "reason")]
    assert table.values.tolist() == [
        [3, t("data_whole_line", lang), "T2,C2,2024-01-06,12,5", t("data_reason_cells", lang, expected="4", found="5")],
        [5, "customer_id", "", t("data_reason_empty", lang, column=t("data_col_customer_id", lang))],
        [6, "amount", "abc", t("data_reason_not_amount", lang)],
    ]
    labels = [b.label for b in at.get("download_button")]
    assert labels == [t("download_csv", lang), t("download_excel", lang)]
    confirm(at, lang, 2)
    assert rows("select line, customer_id from transactions order by line") == [(2, "C1"), (4, "C3")]
    assert rows("select line from import_rejects order by line") == [(3,), (5,), (6,)]


def test_rejects_read_in_chinese():
    at = open_data_page("zh")
    upload(at, ("rejects.csv", WITH_REJECTS))
    assert at.dataframe[0].value["原因"].tolist() == ["应有 4 个单元格，实际 5 个", "客户编号为空", "不是有效金额"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_uploading_the_same_file_again_adds_nothing_and_says_so(lang):
    at = open_data_page(lang)
    upload(at, ("orders.csv", GOOD))
    confirm(at, lang, 3)
    upload(at, ("orders.csv", GOOD))  # a new upload of the same bytes
    assert counts(at, lang, "rows_valid", "rows_already_present", "rows_to_import") == ["3", "3", "0"]
    assert t("data_note_imported_before", lang, ids="#1") in at.info[0].value.replace("\\", "")
    confirm(at, lang, 0)
    assert t("data_result_nothing_new", lang, id="2", present="3") in [i.value for i in at.info]
    assert rows("select count(*) from transactions") == [(3,)]
    assert rows("select import_id, rows_imported from imports order by import_id") == [(1, 3), (2, 0)]


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
def test_a_file_over_the_upload_limit_is_refused_with_where_to_put_it(lang, monkeypatch):
    """The browser refuses such files first; the server checks again and never reads one."""
    monkeypatch.setattr(importing.sources, "upload_limit_mib", lambda: 1)
    at = open_data_page(lang)
    big = GOOD + b"".join(b"T%07d,C1,2024-01-05,1\n" % i for i in range(60_000))  # ~1.3 MiB
    upload(at, ("big.csv", big), ("orders.csv", GOOD))
    size = f"{len(big) / 1024 / 1024:,.1f}"  # MiB, as the limit
    assert [e.value for e in at.error] == [t("data_upload_too_large", lang, file="big\\.csv", size=size, limit="1",
                                             folder=md_literal(str(intake.INBOX_DIR)))]
    assert counts(at, lang, "rows_valid") == ["3"], "the other file is read as usual"
    assert not list(work_dir().glob("crm-upload-*/big*")), "nothing of it was saved"


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
    assert at.warning[0].value == t("data_undo_confirm_text", lang, id="1", file="orders.csv", n="3",
                                    kind=t("data_kind_transactions", lang))
    assert rows("select count(*) from transactions") == [(3,)], "nothing is removed before the confirm"
    button(at, t("data_undo_yes", lang)).click()
    run(at)
    assert t("data_undo_done", lang, id="1", n="3") in [s.value for s in at.success]
    assert rows("select count(*) from transactions") == [(0,)]
    assert rows("select status, undone_by from imports") == [("undone", "local")]
    assert at.dataframe[0].value[t("data_hist_status", lang)].tolist() == [t("data_status_undone", lang)]


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


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_gbk_file_with_chinese_headers_is_detected_mapped_and_imported_exactly(lang):
    at = open_data_page(lang)
    upload(at, ("销售明细.csv", ZH_GBK))
    assert selectbox(at, t("data_kind_label", lang)).value == "transactions"
    mapped = {s.label: s.value for s in at.selectbox}
    required = " *"
    assert mapped[t("data_col_customer_id", lang) + required] == "客户编号"
    assert mapped[t("data_col_order_date", lang) + required] == "订单日期"
    assert mapped[t("data_col_amount", lang) + required] == "实付金额（元）"
    assert mapped[t("data_col_region", lang)] == "大区"
    assert mapped[t("data_col_channel", lang)] == "渠道"
    assert any(t("data_fact_encoding", lang, encoding="GB18030/GBK") in c.value for c in at.caption)
    confirm(at, lang, 3)
    assert rows("select customer_id, order_date, amount, region, channel from transactions order by line") == [
        ("00123", date(2024, 1, 5), 1234.5, "华东", "天猫"), ("00124", date(2024, 1, 6), 200, "华北", "京东"),
        ("00123", date(2024, 2, 1), 50, "华南", "门店")]
    assert rows("select file_name, encoding from imports") == [("销售明细.csv", "gb18030")]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_unknown_encoding_says_where_and_imports_once_chosen(lang):
    content = "customer_id,date,amount\nC1,2024-01-05,1\nCafé,2024-01-06,2\n".encode("latin-1")
    at = open_data_page(lang)
    upload(at, ("latin.csv", content))
    assert [e.value for e in at.error] == [md_literal(t("data_error_encoding", lang, file="latin.csv", line="3",
                                                        column="4", byte="0xE9"))]
    assert not at.metric
    selectbox(at, t("data_encoding_label", lang)).set_value("latin-1")
    run(at)
    assert not at.error
    confirm(at, lang, 2)
    assert rows("select customer_id from transactions order by line") == [("C1",), ("Café",)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_unknown_columns_are_mapped_by_hand(lang):
    content = b"who,when,how much\nC1,2024-01-05,10\nC2,2024-01-06,20\n"
    at = open_data_page(lang)
    upload(at, ("odd.csv", content))
    assert at.error[0].value == md_literal(t("data_error_kind_unknown", lang, columns="who, when, how much"))
    selectbox(at, t("data_kind_label", lang)).set_value("transactions")
    run(at)
    assert at.error, "the required columns are still missing"
    for column, header in (("customer_id", "who"), ("order_date", "when"), ("amount", "how much")):
        selectbox(at, t(f"data_col_{column}", lang) + " *").set_value(header)
        run(at)
    assert not at.error
    assert counts(at, lang, "rows_valid", "rows_to_import") == ["2", "2"]
    confirm(at, lang, 2)
    assert rows("select customer_id, amount from transactions order by line") == [("C1", 10), ("C2", 20)]


def test_a_changed_kind_is_prepared_again():
    at = open_data_page("en")
    upload(at, ("people.csv", b"customer_id,region\nC1,East\nC2,North\n"))
    assert selectbox(at, "Kind of data").value == "customers"
    selectbox(at, "Kind of data").set_value("transactions")
    run(at)
    assert at.error[0].value == md_literal(t("data_error_missing_columns", "en", kind="Transactions",
                                             missing="Order date, Amount", columns="customer_id, region"))
    selectbox(at, "Kind of data").set_value("customers")
    run(at)
    confirm(at, "en", 2)
    assert rows("select customer_id, region from customers order by line") == [("C1", "East"), ("C2", "North")]


def test_a_mapping_changed_and_saved_is_offered_for_the_next_file():
    at = open_data_page("en")
    upload(at, ("a.csv", b"customer_id,order_date,amount,area,zone\nC1,2024-01-05,10,East,E1\n"))
    assert selectbox(at, "Region").value == "area"
    selectbox(at, "Region").set_value("zone")
    run(at)
    assert selectbox(at, "Region").value == "zone"
    at.text_input[0].set_value("shop export")
    button(at, "Save").click()
    run(at)
    assert "Mapping “shop export” saved." in [s.value for s in at.success]
    confirm(at, "en", 1)
    assert rows("select region from transactions") == [("E1",)]
    upload(at, ("b.csv", b"customer_id,order_date,amount,area,zone\nC2,2024-01-06,20,West,W1\n"))
    saved = selectbox(at, "Saved column mapping")
    assert saved.options == ["None", "shop export (Transactions)"]
    saved.set_value("shop export")
    run(at)
    assert selectbox(at, "Region").value == "zone"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_open_day_month_order_blocks_the_confirm_until_chosen(lang):
    content = b"customer_id,order_date,amount\nC1,01/02/2024,10\nC2,03/04/2024,20\n"
    at = open_data_page(lang)
    upload(at, ("dates.csv", content))
    assert button(at, t("data_confirm", lang, n="2")).disabled
    assert at.warning[0].value == md_literal(t("data_confirm_ambiguous", lang, header="order_date",
                                               example="01/02/2024"))
    at.radio[0].set_value("dmy")
    run(at)
    assert not at.warning
    confirm(at, lang, 2)
    assert rows("select order_date from transactions order by line") == [(date(2024, 2, 1),), (date(2024, 4, 3),)]


def test_several_files_at_once_each_with_its_own_preview_and_confirm():
    customers = b"customer_id,customer_name,region\nC1,Ann,East\nC2,Bo,North\n"
    at = open_data_page("en")
    upload(at, ("orders.csv", GOOD), ("customers.csv", customers))
    assert [s.value for s in at.selectbox if s.label == "Kind of data"] == ["transactions", "customers"]
    confirm(at, "en", 2)  # the customers file: its button is the only one for 2 rows
    assert rows("select count(*) from customers") == [(2,)]
    assert rows("select count(*) from transactions") == [(0,)]
    confirm(at, "en", 3)
    assert rows("select count(*) from transactions") == [(3,)]
    assert rows("select file_name from imports order by import_id") == [("customers.csv",), ("orders.csv",)]


def test_switching_language_draws_a_files_widgets_anew():
    # a selectbox sends back the label it showed: kept keys would hand the old language's label
    # to the new language's options
    at = open_data_page("zh")
    upload(at, ("orders.csv", GOOD))
    before = selectbox(at, "数据类型").key
    at.session_state["lang"] = "en"
    run(at)
    after = selectbox(at, "Kind of data")
    assert after.key != before and after.value == "transactions"
    assert counts(at, "en", "rows_to_import") == ["3"]
    confirm(at, "en", 3)
    assert rows("select count(*) from transactions") == [(3,)]


# ----------------------------------------------------------------------------- inbox


def test_inbox_lists_only_its_own_plain_files_and_imports_one(tmp_path):
    inbox = intake.INBOX_DIR
    inbox.mkdir()
    (inbox / "big.csv").write_bytes(GOOD)
    (inbox / "notes.docx").write_bytes(b"x")
    (inbox / ".hidden.csv").write_bytes(GOOD)
    (inbox / "~$lock.xlsx").write_bytes(b"x")
    (inbox / "sub").mkdir()
    (inbox / "sub" / "deep.csv").write_bytes(GOOD)
    outside = tmp_path / "secret.csv"
    outside.write_bytes(GOOD)
    (inbox / "escape.csv").symlink_to(outside)
    (inbox / "inside.csv").symlink_to(inbox / "big.csv")
    (inbox / "dangling.csv").symlink_to(tmp_path / "missing.csv")
    assert sorted(f.name for f in intake.list_inbox(inbox)) == ["big.csv", "inside.csv"]
    assert intake.list_inbox(tmp_path / "nowhere") == []

    at = open_data_page("en")
    choice = selectbox(at, "File in the inbox")
    assert choice.options == [t("data_inbox_file", "en", name=f.name, mb="<0.1", modified=fmt_date(f.modified, "en"))
                              for f in intake.list_inbox(inbox)]
    choice.set_value("big.csv")
    run(at)
    assert counts(at, "en", "rows_to_import") == ["3"]
    confirm(at, "en", 3)
    assert rows("select file_name, rows_imported from imports") == [("big.csv", 3)]
    assert (inbox / "big.csv").exists(), "an inbox file is read where it is"


def test_an_empty_inbox_says_where_to_put_files():
    at = open_data_page("zh")
    assert t("data_inbox_empty", "zh") in [i.value for i in at.info]
    assert any(str(intake.INBOX_DIR) in c.value for c in at.caption)


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
                                                "discount_rate": 0.08, "currency": "CNY"}


def test_a_discount_rate_out_of_bounds_is_refused_in_percent():
    at = open_data_page("en")
    open_tab(at, "en", "settings")
    save_settings(at, "en", discount=60.0)
    assert [e.value for e in at.error] == ["Yearly discount rate (%) must be between 0% and 50%."]
    assert rows("select count(*) from settings") == [(0,)]


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


# ----------------------------------------------------------------------------- pieces


def test_an_upload_is_saved_under_its_base_name_in_a_private_folder():
    class Upload:
        file_id = "f1"
        name = "..\\..\\evil/../../etc/订单 2024$(rm).CSV"

        def getvalue(self) -> bytes:
            return GOOD

    entry = importing.Staged.from_upload(Upload())
    try:
        assert entry.path.name == "订单_2024_rm.csv"
        assert entry.path.parent == entry.folder and entry.folder.name.startswith("crm-upload-")
        assert oct(entry.folder.stat().st_mode & 0o777) == "0o700"
        assert entry.path.read_bytes() == GOOD
    finally:
        entry.close()
    assert not entry.folder.exists(), "closing an entry removes its private copy"


def test_pipeline_sentences_are_localized(tmp_path):
    con = loaders.connection()
    path = tmp_path / "notes.csv"
    path.write_text("order_id,customer_id,order_date,amount\nT1,C1,2024-01-05,-10\nT1,C1,2024-01-05,-10\n"
                    "T2,C2,2024-01-06,0\nT3,C3,2024-01-07,5\nT3,C3,2024-01-07,6\n", encoding="utf-8")
    report = import_file(con, path)
    assert report.notes, "the pipeline wrote notes"
    for lang in LANGUAGES:
        localized = [importing.localize(n, lang) for n in report.notes]
        assert all(n != m for n, m in zip(report.notes, localized, strict=True)), localized
    assert importing.localize("something new from the pipeline", "zh") == "something new from the pipeline"
    assert importing.localize("order_date is empty", "zh") == "订单日期为空"
    assert importing.localize("import #3, line 7", "zh") == "第 3 次导入的第 7 行"


def test_no_page_text_is_a_raw_key():
    at = open_data_page("zh")
    upload(at, ("rejects.csv", WITH_REJECTS))
    texts = ([m.value for m in at.markdown] + [c.value for c in at.caption] + [m.label for m in at.metric]
             + [s.label for s in at.selectbox] + [b.label for b in at.button])
    assert not [x for x in texts if x.startswith("data_")], texts
