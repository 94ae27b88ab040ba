"""End to end in Chromium: the real server (``streamlit run app.py``) over the demo database
and an empty one. The overview (KPIs and charts in the chosen language, the region filter and
its shared link, an empty database), screenshots of states no page's smoke test reaches, and
the registry-driven part: shared links as a fresh server's first request and the address keeping
language and filters between pages.

Each server is a subprocess on a free port with ``CRM_DB`` pointing at a database file the test
prepared in a temporary folder and then closed: the server is the only process holding it
(``tests/browser_fixtures.py``). Screenshots go to ``tests/artifacts/screenshots/``
(``<name>_<width>.png``), for a person to look at.

Expected numbers are computed from the raw ``transactions`` rows with SQL of their own
(``DemoFacts``), not through the app's metric code; the app's formatters only print them.

The smoke test of every page (both languages, laptop and phone) is ``tests/test_browser_pages.py``:
a module-scoped fixture is made once per module that uses it, so each of the two modules costs a
demo import and a server start (a few CPU seconds), and in return the two can run on two workers.
``tests/test_registry.py`` reads ``smoke_cases``, ``DESKTOP``, ``PHONE``, ``SCREENSHOTS`` and
``docs_folder`` from here.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from browser_fixtures import (
    BROWSER_MARKS,
    EAST,
    DemoFacts,
    FreshServers,
    PagePool,
    demo_db_fixture,  # noqa: F401 (the demo_db fixture)
    demo_facts_fixture,  # noqa: F401 (the demo_facts fixture)
    demo_server_fixture,  # noqa: F401 (the demo_server fixture)
    empty_server_fixture,  # noqa: F401 (the empty_server fixture)
    fresh_servers_fixture,  # noqa: F401 (the fresh_servers fixture)
    page_fixture,  # noqa: F401 (the page fixture)
    page_pool_fixture,  # noqa: F401 (the page_pool fixture)
)
from browser_util import (
    DESKTOP,
    PHONE,
    Server,
    app_text,
    assert_page_healthy,
    kpi_value,
    leaked_messages,
    new_page,
    open_data_page,
    screenshot,
    wait_rendered,
)
from browser_util import SCREENSHOTS as SCREENSHOTS  # for tests/test_registry.py
from browser_util import docs_folder as docs_folder  # for tests/test_registry.py
from browser_util import smoke_cases as smoke_cases  # for tests/test_registry.py
from playwright.sync_api import Browser, Page, expect

from analytics import pages
from analytics.metrics.overview import KPIS
from ui.dates import fmt_period
from ui.formats import fmt_money
from ui.i18n import t

pytestmark = BROWSER_MARKS


# --------------------------------------------------------------------------- overview


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_overview_shows_kpis_and_charts_in_the_chosen_language(page: Page, demo_server: Server,
                                                                demo_facts: DemoFacts, lang: str) -> None:
    page.goto(f"{demo_server.url}/?lang={lang}")
    tiles = page.get_by_test_id("stMetric")
    wait_rendered(page, tiles.first)

    expect(page).to_have_title("CRM")
    period = fmt_period(demo_facts.first_month, demo_facts.last_month, lang)
    expect(page.get_by_test_id("stMain").locator("h1")).to_have_text(t("overview_title", lang, period=period))
    expect(tiles).to_have_count(len(KPIS))  # the average-CLV tile, drawn last, included
    # its placeholder ("computing...") leaves nothing behind once the tile is there
    expect(page.get_by_test_id("stMain")).not_to_contain_text(t("kpi_computing", lang)[:8])
    expect(kpi_value(page, t("kpi_revenue", lang))).to_have_text(
        fmt_money(demo_facts.revenue, lang, "CNY", compact=True))
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts).to_have_count(3)  # the trend, the regions, the pyramid in miniature
    expect(charts.nth(1)).to_contain_text(EAST)  # the region bar chart names the regions
    expect(charts.nth(2)).to_contain_text(t("tiers_name_platinum", lang))
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav).to_contain_text(t("nav_overview", lang))
    expect(nav).to_contain_text(t("nav_data", lang))
    expect(page.get_by_test_id("stSidebar")).to_contain_text(t("filter_region", lang))
    if lang == "zh":
        expect(page.get_by_test_id("stMain")).to_contain_text("销售额")
    assert leaked_messages(app_text(page), lang) == []


def test_region_filter_changes_revenue_and_its_link_reproduces_the_view(
        chromium: Browser, page: Page, demo_server: Server, demo_facts: DemoFacts) -> None:
    revenue = kpi_value(page, "Revenue")
    page.goto(f"{demo_server.url}/?lang=en")
    wait_rendered(page, revenue)
    expect(revenue).to_have_text(fmt_money(demo_facts.revenue, "en", "CNY", compact=True))

    region = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="Region")
    # (in the middle of the sidebar first: at the window's bottom edge its list does not open)
    region.evaluate("e => e.scrollIntoView({block: 'center'})")
    region.click()
    page.get_by_role("option", name=EAST, exact=True).click()
    page.keyboard.press("Escape")

    east = fmt_money(demo_facts.revenue_east, "en", "CNY", compact=True)
    expect(revenue).to_have_text(east)
    expect(page).to_have_url(re.compile(r"[?&]region=" + re.escape(quote(EAST))))
    shared = page.url

    fresh = new_page(chromium)
    try:
        fresh.goto(shared)
        fresh_revenue = kpi_value(fresh, "Revenue")
        wait_rendered(fresh, fresh_revenue)
        expect(fresh_revenue).to_have_text(east)
        expect(fresh.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="Region")
               ).to_contain_text(EAST)
    finally:
        fresh.context.close()


def test_empty_database_offers_the_demo_and_the_data_page(page: Page, empty_server: Server) -> None:
    page.goto(f"{empty_server.url}/?lang=zh")
    title = page.get_by_test_id("stMain").locator("h1")
    wait_rendered(page, title)
    expect(title).to_have_text(t("empty_db_title", "zh"))
    expect(page.get_by_role("button", name=t("load_demo", "zh"))).to_be_visible()
    expect(page.get_by_test_id("stMain").get_by_role("link", name=t("go_to_data", "zh"))).to_be_visible()
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    assert leaked_messages(app_text(page), "zh") == []


# --------------------------------------------------------------------------- screenshots


SHOTS = [  # (screenshot name, server fixture, what, size): states no page's smoke test reaches
    ("empty", "empty_server", "overview", DESKTOP),
    ("empty", "empty_server", "overview", PHONE),
    ("empty-data", "empty_server", "data", DESKTOP),
    ("overview-filters", "demo_server", "filters", PHONE),  # the sidebar opened on a phone
]


@pytest.mark.parametrize(("name", "server", "target", "size"), SHOTS, ids=[f"{s[0]}_{s[3][0]}" for s in SHOTS])
def test_screenshot(request: pytest.FixtureRequest, page_pool: PagePool, size: tuple[int, int],
                    name: str, server: str, target: str) -> None:
    running: Server = request.getfixturevalue(server)
    page = page_pool.get(size, locale="zh-CN")
    if target == "data":
        open_data_page(page, running, "zh")
    else:
        page.goto(f"{running.url}/?lang=zh")
        wait_rendered(page, page.get_by_test_id("stMain").locator("h1"))
        if target == "filters":  # the sidebar, opened on a phone
            expand = page.get_by_test_id("stExpandSidebarButton")
            if expand.is_visible():
                expand.click()
            expect(page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").first).to_be_in_viewport()
    path = screenshot(page, name, ("stSidebarContent",) if target == "filters" else ("stMain", "stSidebarContent"))
    assert path.stat().st_size > 10_000


def first_request_cases() -> list[str]:
    """The registered pages whose script is in pages/: the only ones Streamlit's folder-based
    navigation, which serves a fresh server's first request, knows (every page of the app is
    there: tests/test_registry.py holds that)."""
    return [p.key for p in pages.PAGES if p.script.startswith("pages/")]


@pytest.mark.parametrize("key", first_request_cases())
def test_a_shared_link_is_the_first_request_of_a_fresh_server(chromium: Browser, fresh_servers: FreshServers,
                                                              key: str) -> None:
    """``/<page>?lang=zh&region=华东`` opened by an English browser as the very first request a
    server gets (Streamlit starts such a server in its old folder-based navigation): the
    page, in Chinese, with its filters, and the address keeps them; no error dialog. (Each
    case's server, over its own copy of the demo database, was started during the case before.)"""
    server = fresh_servers.take()
    page = new_page(chromium)
    try:
        page.goto(f"{server.url}/{key}?lang=zh&region={quote(EAST)}")
        wait_rendered(page, page.get_by_test_id("stMain").locator("h1"))
        expect(page.get_by_test_id("stSidebar")).to_contain_text(t("filter_header", "zh"))
        region = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(
            has_text=t("filter_region", "zh"))
        expect(region).to_contain_text(EAST)
        expect(page).to_have_url(re.compile(rf"/{key}\?"))
        assert_query(page, lang="zh", region=EAST)
        assert_page_healthy(page, "zh")
    finally:
        page.context.close()
        server.stop()


def assert_query(page: Page, **expected: str) -> None:
    """The address holds these query parameters (among others)."""
    query = parse_qs(urlsplit(page.url).query)
    assert {k: query.get(k) for k in expected} == {k: [v] for k, v in expected.items()}, page.url


def test_the_address_keeps_language_and_filters_between_pages(page: Page, demo_server: Server,
                                                              demo_facts: DemoFacts) -> None:
    """From ``/`` with Chinese, a region and a first month in the link (an English browser),
    through every page in the navigation and back, three times, right after each page is
    drawn: every address keeps them, every page is in Chinese, the filters keep their values."""
    first = f"{demo_facts.last_month:%Y}-01"
    page.goto(f"{demo_server.url}/?lang=zh&region={quote(EAST)}&from={first}")
    wait_rendered(page, page.get_by_test_id("stMain").locator("h1"))
    expect(page).to_have_url(re.compile(rf"/{pages.default().key}\?"))
    nav = page.get_by_test_id("stSidebarNav")
    for _ in range(3):
        for registered in [*pages.PAGES[1:], pages.PAGES[0]]:
            nav.get_by_role("link", name=t(registered.title, "zh")).click()
            page.wait_for_url(re.compile(rf"/{registered.key}\?"), wait_until="commit")  # on the event
            expect(page).to_have_url(re.compile(rf"/{registered.key}\?"))
            wait_rendered(page, page.get_by_test_id("stMain").locator("h1"))
            assert_query(page, lang="zh", region=EAST, **{"from": first})
            expect(page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(
                has_text=t("filter_region", "zh"))).to_contain_text(EAST)
            assert leaked_messages(app_text(page), "zh") == []
