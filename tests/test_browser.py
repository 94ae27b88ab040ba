"""End to end in Chromium: the real server (``streamlit run app.py``) over a real database file.

Each server is a subprocess on a free port with ``CRM_DB`` pointing at a database file the test
prepared in a temporary folder and then closed: the server is the only process holding it.
Screenshots of every page at 1366×768 and 390×844 go to ``tests/artifacts/screenshots/``
(``<page>_<width>.png``) for a person to look at.

Expected numbers are computed here from the raw ``transactions`` rows with SQL of their own,
not through the app's metric code; the app's formatters only print them.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import duckdb
import pytest
from browser_util import (
    CHROMIUM,
    ROOT,
    Server,
    leaked_messages,
    start_server,
    wait_rendered,
)
from playwright.sync_api import Browser, Locator, Page, expect

from analytics import pages
from analytics.ingest.demo import load_demo
from analytics.store import connection as db
from ui.dates import fmt_period
from ui.formats import fmt_money
from ui.i18n import LANGUAGES, t

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing (bash .ci/run installs Debian's chromium and fonts-noto-cjk)"),
]

SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
DESKTOP = (1366, 768)
PHONE = (390, 844)
DEMO_SIZE = 2_000
EAST = "华东"


# --------------------------------------------------------------------------- servers


@dataclass(frozen=True)
class DemoFacts:
    """What the overview must show for the demo database, computed from the raw rows."""

    first_month: date  # the default period: the last 12 months with sales
    last_month: date
    revenue: float
    revenue_east: float


def _demo_facts(con: duckdb.DuckDBPyConnection) -> DemoFacts:
    cur = con.cursor()
    last_month, first_month, revenue, revenue_east = cur.execute("""
        with bounds as (
            select date_trunc('month', max(order_date))::date as last_month from transactions
        )
        select last_month, (last_month - interval 11 month)::date,
               sum(amount)::double, (sum(amount) filter (where region = ?))::double
        from transactions, bounds
        where order_date >= last_month - interval 11 month and order_date < last_month + interval 1 month
        group by last_month
    """, [EAST]).fetchall()[0]
    cur.close()
    return DemoFacts(first_month, last_month, revenue, revenue_east)


def _serve(db_path: Path, log_dir: Path) -> Server:
    try:
        return start_server(db_path, log_dir)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoFacts]:
    """A database file with a small demo data set (closed again: the server must be its only user)."""
    folder = tmp_path_factory.mktemp("demo_db")
    path = folder / "crm.duckdb"
    con = db.connect(path)
    try:
        load_demo(con, size=DEMO_SIZE, folder=folder / "demo_files")
        facts = _demo_facts(con)
    finally:
        con.close()
    return path, facts


@pytest.fixture(scope="module")
def demo_facts(demo_db: tuple[Path, DemoFacts]) -> DemoFacts:
    return demo_db[1]


@pytest.fixture(scope="module")
def demo_server(demo_db: tuple[Path, DemoFacts], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = _serve(demo_db[0], tmp_path_factory.mktemp("demo_server"))
    yield server
    server.stop()


def _empty_db(folder: Path) -> Path:
    path = folder / "crm.duckdb"
    db.connect(path).close()  # created and migrated, no rows
    return path


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("empty_db")
    server = _serve(_empty_db(folder), folder)
    yield server
    server.stop()


@pytest.fixture
def upload_server(tmp_path: Path) -> Iterator[Server]:
    """A server of its own over an empty database: the upload test writes to it and then
    stops it to read the file."""
    server = _serve(_empty_db(tmp_path), tmp_path)
    yield server
    server.stop()


# --------------------------------------------------------------------------- browser


def _new_page(browser: Browser, size: tuple[int, int] = DESKTOP, locale: str = "en-US") -> Page:
    """A page in a context of its own (no shared session or storage)."""
    width, height = size
    phone = width < 600
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale,
                                  is_mobile=phone, has_touch=phone, accept_downloads=True)
    return context.new_page()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A desktop page in a browser set to English (``?lang=zh`` must still give Chinese)."""
    page = _new_page(chromium)
    yield page
    page.context.close()


@pytest.fixture
def zh_page(chromium: Browser) -> Iterator[Page]:
    """A desktop page in a browser set to Chinese, as most of the app's users have."""
    page = _new_page(chromium, locale="zh-CN")
    yield page
    page.context.close()


def _kpi_value(page: Page, label: str) -> Locator:
    """The value of the KPI tile labelled exactly ``label``."""
    tile = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return tile.get_by_test_id("stMetricValue")


def open_data_page(page: Page, server: Server, lang: str) -> None:
    """Open the overview, then the Data page through the sidebar, as a person does.

    Not by a deep link to ``/data`` (see ``test_deep_link_to_data_page_runs_the_frame``). Use a
    browser whose locale is ``lang``'s: a click on the sidebar link right after a page has been
    drawn sometimes loses a ``?lang=`` that differs from the browser's (the app falls back to
    the browser's locale).
    """
    page.goto(f"{server.url}/?lang={lang}")
    wait_rendered(page, page.get_by_test_id("stMain").locator("h1"))
    expand = page.get_by_test_id("stExpandSidebarButton")
    if expand.is_visible():  # a phone starts with the sidebar closed
        expand.click()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=t("nav_data", lang)).click()
    expect(page).to_have_url(re.compile(r"/data(\?|$)"))
    wait_rendered(page, page.get_by_test_id("stMain").get_by_test_id("stFileUploader"))
    expect(page.get_by_test_id("stMain").locator("h1")).to_have_text(t("data_title", lang))
    collapse = page.get_by_test_id("stSidebarCollapseButton")
    if page.viewport_size["width"] < 600 and collapse.is_visible():
        collapse.click()


def _app_text(page: Page) -> str:
    """The page's visible text, less the language switch (labelled in both languages on purpose)."""
    return page.get_by_test_id("stApp").inner_text().replace("Language / 语言", "")


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
    expect(tiles).to_have_count(6)
    expect(_kpi_value(page, t("kpi_revenue", lang))).to_have_text(
        fmt_money(demo_facts.revenue, lang, "CNY", compact=True))
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts).to_have_count(2)
    expect(charts.nth(1)).to_contain_text(EAST)  # the region bar chart names the regions
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav).to_contain_text(t("nav_overview", lang))
    expect(nav).to_contain_text(t("nav_data", lang))
    expect(page.get_by_test_id("stSidebar")).to_contain_text(t("filter_region", lang))
    if lang == "zh":
        expect(page.get_by_test_id("stMain")).to_contain_text("销售额")
    assert leaked_messages(_app_text(page), lang) == []


def test_region_filter_changes_revenue_and_its_link_reproduces_the_view(
        chromium: Browser, page: Page, demo_server: Server, demo_facts: DemoFacts) -> None:
    revenue = _kpi_value(page, "Revenue")
    page.goto(f"{demo_server.url}/?lang=en")
    wait_rendered(page, revenue)
    expect(revenue).to_have_text(fmt_money(demo_facts.revenue, "en", "CNY", compact=True))

    region = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="Region")
    region.click()
    page.get_by_role("option", name=EAST, exact=True).click()
    page.keyboard.press("Escape")

    east = fmt_money(demo_facts.revenue_east, "en", "CNY", compact=True)
    expect(revenue).to_have_text(east)
    expect(page).to_have_url(re.compile(r"[?&]region=" + re.escape(quote(EAST))))
    shared = page.url

    fresh = _new_page(chromium)
    try:
        fresh.goto(shared)
        fresh_revenue = _kpi_value(fresh, "Revenue")
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
    assert leaked_messages(_app_text(page), "zh") == []


# --------------------------------------------------------------------------- data page

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


def test_upload_gbk_csv_preview_confirm_history(zh_page: Page, upload_server: Server) -> None:
    page, zh = zh_page, "zh"
    content = ("\r\n".join(GBK_ROWS) + "\r\n").encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")  # really a GBK file, not UTF-8 by luck
    open_data_page(page, upload_server, zh)
    main = page.get_by_test_id("stMain")

    main.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(
        files=[{"name": GBK_NAME, "mimeType": "text/csv", "buffer": content}])
    confirm = main.get_by_role("button", name=t("data_confirm", zh, n="4"))
    wait_rendered(page, confirm)
    # the preview report: encoding recognised, 5 rows read, 4 valid, 1 rejected, 4 to import
    expect(main).to_contain_text(t("data_fact_encoding", zh, encoding="GB18030/GBK"))
    for label, value in (("data_rows_read", "5"), ("data_rows_valid", "4"), ("data_rows_rejected", "1"),
                         ("data_rows_to_import", "4")):
        expect(_kpi_value(page, t(label, zh))).to_have_text(value)
    expect(main).to_contain_text(t("data_rejects_title", zh, n="1"))
    assert leaked_messages(_app_text(page), zh) == []
    rejects = _download_csv(page, main)
    assert [(r[t("data_table_line", zh)], r[t("data_table_column", zh)], r[t("data_table_value", zh)],
             r[t("data_table_reason", zh)]) for r in rejects] == [("6", "实付金额", "12,5",
                                                                    t("data_reason_not_amount", zh))]
    screenshots_at_both_widths(page, "data-preview", folder=docs_folder())

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
    assert leaked_messages(_app_text(page), zh) == []
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


# --------------------------------------------------------------------------- screenshots


def _artifact(name: str, page: Page, folder: Path = SCREENSHOTS) -> Path:
    """``<folder>/<name>_<width>.png`` (``tests/artifacts/screenshots/`` is made and git-ignored)."""
    folder.mkdir(parents=True, exist_ok=True)
    if folder == SCREENSHOTS:
        ignore = SCREENSHOTS.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n!.gitignore\n", encoding="utf-8")
    return folder / f"{name}_{page.viewport_size['width']}.png"


def screenshot(page: Page, name: str, scrolled: tuple[str, ...] = ("stMain", "stSidebarContent"),
               folder: Path = SCREENSHOTS) -> Path:
    """Save the whole page as ``<folder>/<name>_<width>.png`` (default: the test artifacts;
    the pages' own screenshots go to ``docs/screenshots/``, for the README).

    Streamlit scrolls inside ``stMain`` and the sidebar, so Playwright's ``full_page`` sees one
    window: the window is first made as tall as the tallest of the ``scrolled`` parts that are
    on screen, then everything is waited for again (a resize can redraw charts).
    """
    size = page.viewport_size
    page.mouse.move(size["width"] - 1, size["height"] - 1)  # no hover state (last button, sidebar)
    height = page.evaluate("""(ids) => Math.max(window.innerHeight, ...[...document.querySelectorAll(
        ids.map(id => `[data-testid="${id}"]`).join(", "))]
        .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > 0; })
        .map(e => e.scrollHeight))""", list(scrolled))
    page.set_viewport_size({"width": size["width"], "height": height})
    wait_rendered(page, page.get_by_test_id("stMain"))
    path = _artifact(name, page, folder)
    page.screenshot(path=path, full_page=True, animations="disabled", caret="hide")
    page.set_viewport_size(size)
    return path


def screenshots_at_both_widths(page: Page, name: str, folder: Path = SCREENSHOTS) -> None:
    """:func:`screenshot` at the desktop width, then at the phone's: the same session (a state
    reached by clicking) in a window made narrow, not an emulated phone."""
    screenshot(page, name, folder=folder)
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    try:
        screenshot(page, name, folder=folder)
    finally:
        page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
        wait_rendered(page, page.get_by_test_id("stMain"))


SHOTS = [  # (screenshot name, server fixture, what, size): states no page's smoke test reaches
    ("empty", "empty_server", "overview", DESKTOP),
    ("empty", "empty_server", "overview", PHONE),
    ("empty-data", "empty_server", "data", DESKTOP),
    ("overview-filters", "demo_server", "filters", PHONE),  # the sidebar opened on a phone
]


@pytest.mark.parametrize(("name", "server", "target", "size"), SHOTS, ids=[f"{s[0]}_{s[3][0]}" for s in SHOTS])
def test_screenshot(request: pytest.FixtureRequest, chromium: Browser, size: tuple[int, int],
                    name: str, server: str, target: str) -> None:
    running: Server = request.getfixturevalue(server)
    page = _new_page(chromium, size, locale="zh-CN")
    try:
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
    finally:
        page.context.close()
    assert path.stat().st_size > 10_000


# ------------------------------------------------- every registered page: the smoke test

#: The pages' screenshots, for the README and for anyone who wants to see the pages.
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"


def smoke_cases() -> list[tuple[str, str, tuple[int, int]]]:
    """(page, language, window) for every page in the registry, both languages, laptop and phone."""
    return [(p.key, lang, size) for p in pages.PAGES for lang in LANGUAGES for size in (DESKTOP, PHONE)]


def docs_folder() -> Path:
    """docs/screenshots/ for the app's own pages; with a page registered only by a test (its
    script outside pages/, as with ``--dummy-page``) every screenshot differs from the app's,
    so they all go among the test artifacts."""
    own = all(p.script.startswith("pages/") for p in pages.PAGES)
    return DOCS_SCREENSHOTS if own else SCREENSHOTS


def assert_page_healthy(page: Page, lang: str) -> None:
    """No "page not found" dialog, no exception box, no raw message key or other-language text."""
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert leaked_messages(_app_text(page), lang) == []


@pytest.mark.parametrize(("key", "lang", "size"), smoke_cases(),
                         ids=[f"{k}-{lang}-{size[0]}" for k, lang, size in smoke_cases()])
def test_every_page_in_both_languages_on_a_laptop_and_a_phone(chromium: Browser, demo_server: Server,
                                                              key: str, lang: str, size: tuple[int, int]) -> None:
    """Each registered page's own address in a fresh browser of the other language: drawn
    whole in the language of the link, nothing broken; a screenshot for people to look at."""
    page = _new_page(chromium, size, locale="en-US" if lang == "zh" else "zh-CN")
    try:
        page.goto(f"{demo_server.url}/{key}?lang={lang}")
        wait_rendered(page, page.get_by_test_id("stMain").locator("h1"))
        expect(page).to_have_url(re.compile(rf"/{key}\?(.*&)?lang={lang}(&|$)"))
        expect(page.get_by_test_id("stSidebarNav").get_by_role("link", name=t(pages.get(key).title, lang))
               ).to_have_count(1)
        assert_page_healthy(page, lang)
        path = screenshot(page, f"{key}-{lang}", folder=docs_folder())
    finally:
        page.context.close()
    assert path.stat().st_size > 10_000


@pytest.fixture(scope="module")
def demo_template(demo_db: tuple[Path, DemoFacts], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo database, made before any server opened it, for servers of their own."""
    copy = tmp_path_factory.mktemp("demo_template") / "crm.duckdb"
    shutil.copyfile(demo_db[0], copy)
    return copy


def first_request_cases() -> list[str]:
    """The registered pages whose script is in pages/: the only ones Streamlit's folder-based
    navigation, which serves a fresh server's first request, knows (every page of the app is
    there: tests/test_registry.py holds that)."""
    return [p.key for p in pages.PAGES if p.script.startswith("pages/")]


@pytest.mark.parametrize("key", first_request_cases())
def test_a_shared_link_is_the_first_request_of_a_fresh_server(chromium: Browser, demo_template: Path,
                                                              tmp_path: Path, key: str) -> None:
    """``/<page>?lang=zh&region=华东`` opened by an English browser as the very first request a
    server gets (Streamlit starts such a server in its old folder-based navigation): the
    page, in Chinese, with its filters, and the address keeps them; no error dialog."""
    db_path = tmp_path / "crm.duckdb"
    shutil.copyfile(demo_template, db_path)
    server = _serve(db_path, tmp_path)
    page = _new_page(chromium)
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
            expect(page).to_have_url(re.compile(rf"/{registered.key}\?"))
            wait_rendered(page, page.get_by_test_id("stMain").locator("h1"))
            assert_query(page, lang="zh", region=EAST, **{"from": first})
            expect(page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(
                has_text=t("filter_region", "zh"))).to_contain_text(EAST)
            assert leaked_messages(_app_text(page), "zh") == []
