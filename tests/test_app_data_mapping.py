"""The Data page recognising a file (pages/data.py, ui/importing/), driven through AppTest:
its encoding (a GBK export with Chinese headers, an unknown encoding chosen by hand), its
kind of data, its columns (mapped by hand, a mapping saved for the next file) and an open
day/month order that blocks the confirm until chosen.

Each test runs the whole app on a database of its own (``CRM_DB`` in a temporary folder),
opens the Data page in 中文 or English, and checks what the page shows against what the
database holds afterwards, read through the app's own connection (``tests/app_data_util.py``).
"""

from __future__ import annotations

from datetime import date

import pytest
from app_data_util import (
    button,
    confirm,
    counts,
    fresh_app_fixture,  # noqa: F401 (the autouse fresh_app fixture)
    open_data_page,
    rows,
    run,
    selectbox,
    upload,
)

from ui.i18n import LANGUAGES, md_literal, t

ZH_GBK = ("订单编号,客户编号,订单日期,实付金额（元）,大区,渠道\n"
          "SO1,00123,2024年1月5日,\"￥1,234.50\",华东,天猫\n"
          "SO2,00124,2024/1/6,200,华北,京东\n"
          "SO3,00123,2024-02-01,50,华南,门店\n").encode("gbk")


# ----------------------------------------------------------------------------- encoding, kind, columns, dates


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
    assert [e.value for e in at.error] == [md_literal(t("encoding_error_not_gb18030", lang, file="latin.csv", line="3",
                                                        column="4", byte="0xE9", gb_line="3", gb_column="4",
                                                        gb_byte="0xE9", bom=""))]
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


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_korean_file_is_refused_then_imports_once_euc_kr_is_chosen(lang):
    """EUC-KR bytes also fit GB18030's ranges (서울 would read as 辑匡): the page refuses to
    guess, offers EUC-KR among the encodings, and the chosen encoding brings the text exactly."""
    content = "고객,날짜,금액,지역\nC1,2024-01-05,10,서울\nC2,2024-01-06,20,부산\n".encode("euc_kr")
    at = open_data_page(lang)
    upload(at, ("korean.csv", content))
    assert at.error and not at.metric, "refused, not imported as Chinese"
    choice = selectbox(at, t("data_encoding_label", lang))
    assert "euc_kr" in choice.options or any("EUC-KR" in o for o in choice.options)
    choice.set_value("euc_kr")
    run(at)
    selectbox(at, t("data_kind_label", lang)).set_value("transactions")
    run(at)
    for column, header in (("customer_id", "고객"), ("order_date", "날짜"), ("amount", "금액"), ("region", "지역")):
        chosen = next((s for s in at.selectbox if s.label.startswith(t(f"data_col_{column}", lang))), None)
        if chosen is not None:  # the required columns are asked for; the others are found in the mapping
            chosen.set_value(header)
            run(at)
    assert not at.error, [e.value for e in at.error]
    confirm(at, lang, 2)
    assert rows("select customer_id, region from transactions order by line") == [("C1", "서울"), ("C2", "부산")]
