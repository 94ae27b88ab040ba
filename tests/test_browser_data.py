"""End to end in Chromium: the Data page on the real server (``streamlit run app.py``) over an
empty database of the test's own. A GBK export is uploaded, previewed (encoding recognised,
counts, the rejected row as a CSV download), confirmed and found in the history; then what
reached the database file is read after the server let it go.

The preview's screenshots go to ``docs/screenshots/`` (``data-preview_<width>.png``), the
history's to ``tests/artifacts/screenshots/`` (``data-history_<width>.png``).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from browser_fixtures import (
    BROWSER_MARKS,
    upload_server_fixture,  # noqa: F401 (the upload_server fixture)
    upload_servers_fixture,  # noqa: F401 (the upload_servers fixture)
    zh_page_fixture,  # noqa: F401 (the zh_page fixture)
)
from browser_util import (
    PHONE,
    Server,
    app_text,
    docs_folder,
    kpi_value,
    leaked_messages,
    new_page,
    open_data_page,
    screenshot,
    screenshots_at_both_widths,
    wait_rendered,
)
from playwright.sync_api import Locator, Page, expect

from analytics.store import connection as db
from ui.i18n import t

pytestmark = BROWSER_MARKS


#: A GBK export with Chinese headers as a Chinese spreadsheet writes it: slashed dates, full-width
#: yuan signs, thousands separators in quotes, CRLF. Line 6's "12,5" is no amount (rejected).
GBK_ROWS = [
    "订单编号,客户编号,订单日期,实付金额,地区,渠道",
    'E2E-0001,C-9001,2024/11/1,"￥1,280.00",华东,天猫',
    "E2E-0002,C-9002,2024/11/2,￥560.50,华北,京东",
    'E2E-0003,C-9001,2024/11/11,"￥2,399.00",华东,线下门店',
    "E2E-0004,C-9003,2024/12/1,￥99.90,华北,天猫",
    'E2E-0005,C-9004,2024/12/3,"12,5",华东,京东',
]
GBK_NAME = "订单_gbk.csv"


def _download_csv(page: Page, scope: Locator) -> list[dict[str, str]]:
    """Click the "Download CSV" button inside ``scope`` and read the file (UTF-8 with BOM)."""
    with page.expect_download() as download:
        scope.get_by_role("button", name=t("download_csv", "zh")).click()
    text = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _upload(page: Page, content: bytes) -> Locator:
    """Upload the GBK file on the open Data page; the confirm button, once the preview is drawn."""
    main = page.get_by_test_id("stMain")
    main.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(
        files=[{"name": GBK_NAME, "mimeType": "text/csv", "buffer": content}])
    confirm = main.get_by_role("button", name=t("data_confirm", "zh", n="4"))
    wait_rendered(page, confirm)
    return confirm


def _phone_preview_screenshot(desktop: Page, server: Server, content: bytes) -> None:
    """The same preview on a phone, for docs/: a phone of its own (a desktop window made narrow
    leaves Streamlit's sidebar open over the page on some runs and not on others)."""
    phone = new_page(desktop.context.browser, PHONE, locale="zh-CN")
    try:
        open_data_page(phone, server, "zh")
        _upload(phone, content)
        screenshot(phone, "data-preview", folder=docs_folder())
    finally:
        phone.context.close()


def test_upload_gbk_csv_preview_confirm_history(zh_page: Page, upload_server: Server) -> None:
    page, zh = zh_page, "zh"
    content = ("\r\n".join(GBK_ROWS) + "\r\n").encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")  # really a GBK file, not UTF-8 by luck
    open_data_page(page, upload_server, zh)
    main = page.get_by_test_id("stMain")

    confirm = _upload(page, content)
    # the preview report: encoding recognised, 5 rows read, 4 valid, 1 rejected, 4 to import
    expect(main).to_contain_text(t("data_fact_encoding", zh, encoding="GB18030/GBK"))
    for label, value in (("data_rows_read", "5"), ("data_rows_valid", "4"), ("data_rows_rejected", "1"),
                         ("data_rows_to_import", "4")):
        expect(kpi_value(page, t(label, zh))).to_have_text(value)
    expect(main).to_contain_text(t("data_rejects_title", zh, n="1"))
    assert leaked_messages(app_text(page), zh) == []
    rejects = _download_csv(page, main)
    assert [(r[t("data_table_line", zh)], r[t("data_table_column", zh)], r[t("data_table_value", zh)],
             r[t("data_table_reason", zh)]) for r in rejects] == [("6", "实付金额", "12,5",
                                                                    t("data_reason_not_amount", zh))]
    screenshot(page, "data-preview", folder=docs_folder())
    _phone_preview_screenshot(page, upload_server, content)

    confirm.click()
    kind = t("data_kind_transactions", zh)
    done = main.get_by_test_id("stAlertContentSuccess")
    wait_rendered(page, done)
    expect(done.get_by_test_id("stMarkdownContainer")).to_have_text(
        t("data_result_imported", zh, id="1", n="4", kind=kind, present="0"))
    expect(main).to_contain_text(t("data_result_rejected", zh, n="1"))

    main.get_by_role("tab", name=t("data_tab_history", zh)).click()
    panel = main.get_by_role("tabpanel", name=t("data_tab_history", zh))
    wait_rendered(page, panel.get_by_test_id("stDataFrame"))
    expect(panel.get_by_role("combobox", name=t("data_undo_choose", zh))).to_have_value(
        t("data_undo_option", zh, id="1", file=GBK_NAME, kind=kind, n="4"))
    history = _download_csv(page, panel)
    assert len(history) == 1
    row = history[0]
    assert row[t("data_hist_file_name", zh)] == GBK_NAME
    assert row[t("data_hist_kind", zh)] == kind
    assert (row[t("data_hist_rows_read", zh)], row[t("data_hist_rows_imported", zh)],
            row[t("data_hist_rows_rejected", zh)], row[t("data_hist_rows_already_present", zh)]) == ("5", "4", "1", "0")
    assert row[t("data_hist_status", zh)] == t("data_status_committed", zh)
    assert leaked_messages(app_text(page), zh) == []
    screenshots_at_both_widths(page, "data-history")

    # what reached the file, read after the server let it go
    upload_server.stop()
    con = db.connect(upload_server.db_path, read_only=True)
    try:
        stored = con.execute("select transaction_id, customer_id, order_date, amount::double, region, channel "
                             "from transactions order by transaction_id").fetchall()
        ledger = con.execute("select file_name, encoding, rows_read, rows_valid, rows_rejected, rows_imported, "
                             "status from imports").fetchall()
    finally:
        con.close()
    assert stored == [
        ("E2E-0001", "C-9001", date(2024, 11, 1), 1280.0, "华东", "天猫"),
        ("E2E-0002", "C-9002", date(2024, 11, 2), 560.5, "华北", "京东"),
        ("E2E-0003", "C-9001", date(2024, 11, 11), 2399.0, "华东", "线下门店"),
        ("E2E-0004", "C-9003", date(2024, 12, 1), 99.9, "华北", "天猫"),
    ]
    assert {r[4].encode("utf-8") for r in stored} == {"华东".encode(), "华北".encode()}  # exact code points
    assert ledger == [(GBK_NAME, "gb18030", 5, 4, 1, 4, "committed")]


#: An order-line export, then the same orders with order SO1 amended (a line changed, one added).
ORDERS_FIRST = ("订单编号,客户编号,订单日期,销售额,商品名称\r\n"
                "SO1,C1,2024-01-05,10,甲\r\nSO1,C1,2024-01-05,10,甲\r\nSO1,C1,2024-01-05,12,乙\r\n"
                "SO2,C2,2024-01-06,20,甲\r\n").encode("gb18030")
ORDERS_SECOND = ("订单编号,客户编号,订单日期,销售额,商品名称\r\n"
                 "SO1,C1,2024-01-05,10,甲\r\nSO1,C1,2024-01-05,10,甲\r\nSO1,C1,2024-01-05,15,乙\r\n"
                 "SO1,C1,2024-01-05,3,丙\r\nSO2,C2,2024-01-06,20,甲\r\nSO3,C3,2024-01-07,9,甲\r\n").encode("gb18030")


def _upload_named(page: Page, name: str, content: bytes, to_import: int) -> Locator:
    """Upload ``content`` as ``name``; the confirm button of its panel once the preview is drawn."""
    main = page.get_by_test_id("stMain")
    main.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}])
    confirm = main.get_by_role("button", name=t("data_confirm", "zh", n=str(to_import)))
    wait_rendered(page, confirm)
    return confirm


def test_an_amended_order_preview_then_replaced(zh_page: Page, upload_server: Server) -> None:
    """The second file brings order SO1 with other lines: the preview says so, lists what
    differs and offers to keep or replace (screenshots at laptop and phone width); replaced, the
    result says how many stored lines were set aside."""
    page, zh = zh_page, "zh"
    open_data_page(page, upload_server, zh)
    main = page.get_by_test_id("stMain")
    _upload_named(page, "订单明细_1.csv", ORDERS_FIRST, 4).click()
    wait_rendered(page, main.get_by_test_id("stAlertContentSuccess"))
    page.reload()
    open_data_page(page, upload_server, zh)
    confirm = _upload_named(page, "订单明细_2.csv", ORDERS_SECOND, 1)
    expect(main).to_contain_text(t("data_amended_text", zh, n="1"))
    table = main.get_by_test_id("stDataFrame").filter(has_text=t("data_table_order", zh))
    expect(table).to_contain_text("SO1")
    expect(kpi_value(page, t("data_orders_amended", zh))).to_have_text("1")
    expect(kpi_value(page, t("data_rows_amended", zh))).to_have_text("4")
    assert leaked_messages(app_text(page), zh) == []
    screenshot(page, "data-amended", folder=docs_folder())
    phone = new_page(page.context.browser, PHONE, locale="zh-CN")
    try:
        open_data_page(phone, upload_server, zh)
        _upload_named(phone, "订单明细_2.csv", ORDERS_SECOND, 1)
        expect(phone.get_by_test_id("stMain")).to_contain_text(t("data_amended_text", zh, n="1"))
        screenshot(phone, "data-amended", folder=docs_folder())
    finally:
        phone.context.close()

    main.get_by_test_id("stRadioGroup").get_by_text(t("data_amended_replace", zh), exact=True).click()
    confirm = main.get_by_role("button", name=t("data_confirm", zh, n="5"))
    wait_rendered(page, confirm)
    expect(kpi_value(page, t("data_rows_replaced", zh))).to_have_text("3")
    confirm.click()
    wait_rendered(page, main.get_by_test_id("stAlertContentSuccess"))
    expect(main).to_contain_text(t("data_result_replaced", zh, orders="1", n="3"))
