"""The customer detail in a real browser (Streamlit server + Debian's Chromium): a row picked in a
customer table (:func:`ui.customer_links.customer_table`) opens that customer with the filters and
language kept, a row's link works as a shared address, and the page's screenshots for docs/ at
both widths in both languages (a demo customer with purchase history and feedback).

The tests share one page per browser language (``page_pool``): each ``goto`` is a new session
with nothing stored by the test before.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from browser_fixtures import (
    BROWSER_MARKS,
    DEMO_SIZE,
    PagePool,
    page_pool_fixture,  # noqa: F401 (the page_pool fixture)
    serve,
)
from browser_util import app_text, docs_folder, leaked_messages, screenshots_at_both_widths, wait_rendered
from playwright.sync_api import expect

from analytics.ingest.demo import load_demo
from analytics.store import connection as db
from ui.i18n import LANGUAGES, t

pytestmark = BROWSER_MARKS
#: A name fragment several demo customers share (most are named by a family name first).
SEARCH = "张"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, str, str]]:
    """A server over a small demo database, a customer with purchases, surveys and a complaint, and
    their name."""
    folder = tmp_path_factory.mktemp("customer_browser")
    path = folder / "crm.duckdb"
    con = db.connect(path)
    try:
        load_demo(con, size=DEMO_SIZE, folder=folder / "demo_files")
        customer, name = con.execute("""
            select f.customer_id, any_value(s.customer_name)
            from feedback f join customer_summary s using (customer_id)
            group by f.customer_id
            having count(*) filter (where feedback_kind = 'complaint') > 0
               and count(*) filter (where feedback_kind = 'survey') > 0
            order by max(s.purchase_days) desc, f.customer_id limit 1""").fetchall()[0]
    finally:
        con.close()
    server = serve(path, folder)
    yield server, customer, name
    server.stop()


def test_picking_a_row_opens_that_customer_with_the_filters_kept(demo, page_pool: PagePool):
    server, _, _ = demo
    page = page_pool.get()
    page.goto(f"{server.url}/customer?lang=zh&compare=last_year&customer={SEARCH}")
    main = page.get_by_test_id("stMain")
    grid = main.get_by_test_id("stDataFrame")
    wait_rendered(page, grid)
    expect(main).to_contain_text(t("customer_matches_first", "zh", query=SEARCH, count="20"))
    # the grid is a canvas: the second row's selection box is at the left of its row
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 + 17)
    expect(main.locator("h2").first).to_be_visible(timeout=30_000)
    wait_rendered(page, main.locator("h2").first)
    query = parse_qs(urlparse(page.url).query)
    assert urlparse(page.url).path == "/customer"
    assert query["lang"] == ["zh"] and query["compare"] == ["last_year"]
    picked = query["customer"][0]
    assert picked != SEARCH
    expect(main.get_by_test_id("stTextInput").locator("input")).to_have_value(picked)
    expect(main).to_contain_text(t("customer_id_line", "zh", id=picked))
    assert not leaked_messages(app_text(page), "zh")


def test_the_address_a_rows_link_carries_opens_the_customer_with_the_filters(demo, page_pool: PagePool):
    """The link column holds ``/customer?<language and filters>&customer=<id>`` (``page_options.page_url``,
    checked in tests/test_app_customer.py); opened as a fresh address, it shows that customer."""
    server, customer, name = demo
    page = page_pool.get()
    page.goto(f"{server.url}/customer?lang=en&compare=last_year&customer={customer}")
    main = page.get_by_test_id("stMain")
    wait_rendered(page, main.locator("h2").first)
    expect(main.locator("h2").first).to_have_text(name)
    assert parse_qs(urlparse(page.url).query)["compare"] == ["last_year"]
    expect(main).to_contain_text(t("customer_feedback_title", "en"))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_screenshots_of_a_demo_customer(demo, page_pool: PagePool, lang):
    server, customer, name = demo
    page = page_pool.get(locale="zh-CN" if lang == "zh" else "en-US")
    page.goto(f"{server.url}/customer?lang={lang}&customer={customer}")
    main = page.get_by_test_id("stMain")
    wait_rendered(page, main.locator("h2").first)
    expect(main.locator("h2").first).to_have_text(name)
    for key in ("customer_history_title", "customer_transactions_title", "customer_feedback_title"):
        expect(main).to_contain_text(t(key, lang))
    assert not leaked_messages(app_text(page), lang)
    screenshots_at_both_widths(page, f"customer-detail-{lang}", folder=docs_folder())  # (customer-*: the smoke test's)
    assert all((docs_folder() / f"customer-detail-{lang}_{width}.png").exists() for width in (1366, 390))
