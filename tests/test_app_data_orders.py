"""The Data page with an order-line file whose orders the database holds with other lines
(AppTest): the amended orders listed with what differs, kept by default, or replaced by the
file's version on the analyst's choice, and the stored lines back after an undo."""

from __future__ import annotations

from decimal import Decimal

import pytest
from app_data_util import (
    button,
    confirm,
    counts,
    fresh_app_fixture,  # noqa: F401 (the autouse fresh_app fixture)
    open_data_page,
    open_tab,
    rows,
    run,
    upload,
)

from ui.formats import fmt_int
from ui.i18n import LANGUAGES, t

FIRST = ("订单编号,客户编号,订单日期,销售额,商品名称\n"
         "SO1,C1,2024-01-05,10,甲\nSO1,C1,2024-01-05,10,甲\nSO1,C1,2024-01-05,12,乙\nSO2,C2,2024-01-06,20,甲\n")
#: SO1 with its 乙 line changed to 15 and a 丙 line added; SO2 as stored; SO3 new.
SECOND = ("订单编号,客户编号,订单日期,销售额,商品名称\n"
          "SO1,C1,2024-01-05,10,甲\nSO1,C1,2024-01-05,10,甲\nSO1,C1,2024-01-05,15,乙\nSO1,C1,2024-01-05,3,丙\n"
          "SO2,C2,2024-01-06,20,甲\nSO3,C3,2024-01-07,9,甲\n")
LINES = "select transaction_id, amount, product from transactions order by 1, 2, 3"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_amended_order_is_listed_kept_by_default_or_replaced_and_undo_restores_it(lang):
    at = open_data_page(lang)
    upload(at, ("orders.csv", FIRST.encode("utf-8")))
    assert counts(at, lang, "rows_to_import", "orders") == ["4", "2"]  # identical lines of SO1: two lines
    confirm(at, lang, 4)
    stored = rows(LINES)

    upload(at, ("orders.csv", FIRST.encode("utf-8")), ("more.csv", SECOND.encode("utf-8")))
    assert t("data_amended_text", lang, n="1") in [w.value for w in at.warning]
    table = next(df.value for df in at.dataframe if t("data_table_order", lang) in df.value.columns)
    assert table.to_dict("records") == [{
        t("data_table_order", lang): "SO1", t("data_table_line", lang): 2, t("data_table_lines_in_file", lang): 4,
        t("data_table_lines_stored", lang): 3, t("data_table_only_in_file", lang): 2,
        t("data_table_only_stored", lang): 1, t("data_table_import_id", lang): "#1"}]
    assert counts(at, lang, "orders", "orders_amended", "rows_amended", "rows_already_present",
                  "rows_to_import") == ["3", "1", "4", "1", "1"]
    choice = next(r for r in at.radio if r.label == t("data_amended_label", lang))
    assert choice.value == "keep"
    choice.set_value("replace")
    run(at)
    assert counts(at, lang, "orders_amended", "rows_replaced", "rows_to_import") == ["1", "3", "5"]
    confirm(at, lang, 5)
    assert t("data_result_replaced", lang, orders="1", n=fmt_int(3, lang)) in [c.value for c in at.caption]
    assert rows(LINES) == [("SO1", Decimal("3"), "丙"), ("SO1", Decimal("10"), "甲"), ("SO1", Decimal("10"), "甲"),
                           ("SO1", Decimal("15"), "乙"), ("SO2", Decimal("20"), "甲"), ("SO3", Decimal("9"), "甲")]

    open_tab(at, lang, "history")
    at.selectbox(key=f"data_undo_choice_{lang}").set_value(2)
    button(run(at), t("data_undo", lang)).click()
    button(run(at), t("data_undo_yes", lang)).click()
    run(at)
    assert rows(LINES) == stored


KEYLESS = "客户编号,订单日期,商品名称,实付金额\nC1,2024-01-05,A,100\nC1,2024-01-05,A,100\nC2,2024-01-06,B,50\n"
#: one of C1's two identical purchases corrected to 120, C2 as stored, a new purchase of C3
CORRECTED = "客户编号,订单日期,商品名称,实付金额\nC1,2024-01-05,A,100\nC1,2024-01-05,A,120\nC2,2024-01-06,B,50\n" \
            "C3,2024-01-07,A,9\n"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_amended_row_without_an_order_number_is_listed_and_kept_or_replaced(lang):
    """Issue 10, #12: a sales file without order numbers whose row corrects a stored purchase
    (same customer, date and product, another amount) says so, lists it with the stored amount,
    keeps the stored row by default and replaces it on the analyst's choice."""
    at = open_data_page(lang)
    upload(at, ("a.csv", KEYLESS.encode("utf-8")))
    confirm(at, lang, 3)
    upload(at, ("a.csv", KEYLESS.encode("utf-8")), ("b.csv", CORRECTED.encode("utf-8")))
    assert t("data_amended_rows_text", lang, n="1") in [w.value for w in at.warning]
    table = next(df.value for df in at.dataframe if t("data_table_stored", lang) in df.value.columns)
    assert [(r[t("data_table_line", lang)], r[t("data_table_customer_id", lang)], r[t("data_table_product", lang)],
             float(r[t("data_table_amount", lang)]), float(r[t("data_table_stored", lang)]),
             r[t("data_table_import_id", lang)]) for r in table.to_dict("records")] == [(3, "C1", "A", 120, 100, "#1")]
    choice = next(r for r in at.radio if r.label == t("data_amended_rows_label", lang))
    assert choice.value == "keep"
    assert counts(at, lang, "rows_to_import") == ["1"]
    choice.set_value("replace")
    run(at)
    confirm(at, lang, 2)
    assert rows("select customer_id, amount from transactions order by 1, 2") == [
        ("C1", Decimal("100")), ("C1", Decimal("120")), ("C2", Decimal("50")), ("C3", Decimal("9"))]
