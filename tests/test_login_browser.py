"""Login end to end in Chromium: a real OpenID Connect provider (``oidc-provider-mock``,
served on 127.0.0.1), the real Streamlit server with ``st.login`` configured through its own
secrets file, and the server-side access file.

Two sales managers log in at the same time in two browser contexts and each sees only their
region's figures; a visitor who has not logged in sees only the login screen; a user not in
the access file sees no data; a region named like an HTML tag is printed, never run.
Expected numbers come from the raw ``transactions`` rows with SQL of their own.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from browser_util import CHROMIUM, Server, free_port, launch_server, wait_healthy, wait_rendered
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from analytics.ingest.demo import load_demo
from analytics.store import connection as db
from ui.formats import fmt_money
from ui.i18n import t

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing (bash .ci/run installs Debian's chromium and fonts-noto-cjk)"),
]

SCREENSHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"
EAST, NORTH = "华东", "华北"
XSS = "<img src=x onerror=alert(1)>"
USERS = {"east@example.com": EAST, "north@example.com": NORTH}
ACCESS = "\n".join(f'[users."{email}"]\nrole = "sales_manager"\nregions = ["{region}"]\n'
                   for email, region in USERS.items()) + '\n[users."ceo@example.com"]\nrole = "executive"\n'


@dataclass(frozen=True)
class Provider:
    url: str
    process: subprocess.Popen


def _revenue_by_region(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Each region's revenue over the 12 months up to the region's own last month with sales
    (the default period a user restricted to that one region opens with)."""
    rows = con.cursor().execute("""
        with last as (select region, date_trunc('month', max(order_date))::date as m from transactions group by region)
        select t.region, sum(t.amount)::double
        from transactions t join last using (region)
        where t.order_date >= last.m - interval 11 month and t.order_date < last.m + interval 1 month
        group by t.region
    """).fetchall()
    return {region: revenue for region, revenue in rows}


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    """The mock provider, started and not waited for: :func:`_wait_for_provider` (the server
    fixture waits for it once the database and the app's server are under way)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "-H", "127.0.0.1", "-p", str(port)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    yield Provider(f"http://127.0.0.1:{port}", process)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


def _wait_for_provider(provider: Provider) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{provider.url}/.well-known/openid-configuration", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if provider.process.poll() is not None or time.monotonic() > deadline:
            os.killpg(provider.process.pid, signal.SIGKILL)
            pytest.fail("the OpenID Connect mock provider did not start", pytrace=False)
        time.sleep(0.25)  # polling a process that is starting


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, float]]:
    """A small demo database plus one sale in a region named like an HTML tag; the access file."""
    folder = tmp_path_factory.mktemp("login")
    path = folder / "crm.duckdb"
    con = db.connect(path)
    try:
        load_demo(con, size=1_000, folder=folder / "demo_files")
        last = con.cursor().execute("select max(order_date) from transactions").fetchall()[0][0]
        odd = folder / "odd.csv"
        odd.write_text(f"transaction_id,customer_id,order_date,amount,region\nX1,CX,{last},123,\"{XSS}\"\n",
                       encoding="utf-8")
        from analytics.ingest.pipeline import import_file
        import_file(con, odd, commit=True, kind="transactions")
        revenue = _revenue_by_region(con)
    finally:
        con.close()
    access = folder / "access.toml"
    access.write_text(ACCESS, encoding="utf-8")
    return path, access, revenue


@pytest.fixture(scope="module")
def server(provider: Provider, world, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app with the login configured: the provider starts first, then the database is made
    (``world``) and the app's server started while the provider comes up; then both are waited for."""
    path, access, _ = world
    folder = tmp_path_factory.mktemp("login_server")
    port = free_port()
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "a-test-cookie-secret-of-enough-length"\n'
        'client_id = "crm-dashboard"\n'
        'client_secret = "crm-dashboard-secret"\n'
        f'server_metadata_url = "{provider.url}/.well-known/openid-configuration"\n', encoding="utf-8")
    server = launch_server(path, folder, env={"CRM_ACCESS_FILE": str(access)},
                           args=("--secrets.files", str(secrets)), port=port)
    try:
        _wait_for_provider(provider)
        try:
            wait_healthy(server)
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server
    finally:
        server.stop()


DIALOGS: list[str] = []  # every alert/confirm/prompt any page opened: a script that ran


def _page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US", accept_downloads=True)
    page = context.new_page()

    def dialog(d) -> None:
        DIALOGS.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    return page


def _main_text(page: Page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def _login(page: Page, server: Server, email: str) -> None:
    """From the login screen through the provider's page and back to the app."""
    page.goto(server.url)
    button = page.get_by_role("button", name=t("login_button", "en"))
    expect(button).to_be_visible(timeout=30_000)
    button.click()
    page.get_by_placeholder("sub").fill(email)
    page.get_by_role("button", name="Authorize").click()
    # back in the app, on its landing page: "/" (the app then adds ?lang= and, on a rerun, may name the page: seen
    # under load, after which an exact "/" never matched again)
    expect(page).to_have_url(re.compile(rf"^{re.escape(server.url)}/(overview)?(\?.*)?$"), timeout=30_000)


def _revenue_tile(page: Page):
    tile = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(t("kpi_revenue", "en"), exact=True))
    return tile.get_by_test_id("stMetricValue")


def test_a_visitor_who_has_not_logged_in_sees_only_the_login_screen(chromium: Browser, server: Server, world):
    page = _page(chromium)
    try:
        for path in ("/", "/overview", "/data", "/?region=华东"):
            page.goto(server.url + path)
            wait_rendered(page, page.get_by_role("button", name=t("login_button", "en")))
            expect(page.get_by_test_id("stMain").locator("h1")).to_have_text(t("login_title", "en"))
            assert page.get_by_test_id("stMetric").count() == 0
            assert page.get_by_test_id("stDataFrame").count() == 0
            text = page.get_by_test_id("stApp").inner_text()
            assert not [r for r in world[2] if r and r in text], path
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for width, height in ((1366, 768), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(server.url)
            wait_rendered(page, page.get_by_role("button", name=t("login_button", "en")))
            page.screenshot(path=SCREENSHOTS / f"login_{width}.png")
    finally:
        page.context.close()


def test_two_managers_at_once_each_see_only_their_region(chromium: Browser, server: Server, world):
    _, _, revenue = world
    pages = {email: _page(chromium) for email in USERS}
    try:
        for email, page in pages.items():  # both sessions open at once on one server process
            _login(page, server, email)
        for _ in range(2):  # and again after a reload: now from the cache
            for email, page in pages.items():
                own = USERS[email]
                wait_rendered(page, _revenue_tile(page))
                expect(_revenue_tile(page)).to_have_text(fmt_money(revenue[own], "en", compact=True))
                text = _main_text(page)
                assert own in text
                others = [r for r in revenue if r and r != own and r in text]
                assert not others, f"{email} sees {others}"
                sidebar = page.get_by_test_id("stSidebar").inner_text()
                assert email in sidebar and t("role_sales_manager", "en") in sidebar
                page.reload()
        for email, page in pages.items():  # what they can take away holds their region only
            wait_rendered(page, _revenue_tile(page))
            for stem in (t("trend_title", "en"), t("region_title", "en")):
                text = _download_csv(page, stem)
                assert text.strip(), stem
                leaked = [r for r in revenue if r and r != USERS[email] and r in text]
                assert not leaked, f"{email}'s {stem} download holds {leaked}"
            assert USERS[email] in _download_csv(page, t("region_title", "en"))
    finally:
        for page in pages.values():
            page.context.close()


def _download_csv(page: Page, section: str) -> str:
    """The CSV download of the table under the heading ``section``, as text."""
    main = page.get_by_test_id("stMain")
    block = main.get_by_test_id("stVerticalBlock").filter(
        has=page.get_by_role("heading", name=section, exact=True)).last
    expander = block.get_by_test_id("stExpander").first
    button = expander.get_by_test_id("stDownloadButton").first
    if not button.is_visible():
        expander.get_by_text(t("show_table", "en")).click()
    expect(button).to_be_visible()
    for attempt in range(2):  # a click while the page is still settling is sometimes lost (seen once in CI)
        try:
            with page.expect_download(timeout=15_000) as download:
                button.click()
            break
        except PlaywrightTimeout:
            if attempt:
                raise
    return Path(download.value.path()).read_text(encoding="utf-8-sig")


def test_a_user_not_in_the_access_file_sees_no_data(chromium: Browser, server: Server, world):
    page = _page(chromium)
    try:
        _login(page, server, "stranger@example.com")
        wait_rendered(page, page.get_by_test_id("stMain").locator("h1"))
        expect(page.get_by_test_id("stMain").locator("h1")).to_have_text(t("no_access_title", "en"))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "no-access_1366.png")
        assert page.get_by_test_id("stMetric").count() == 0
        assert not [r for r in world[2] if r and r in page.get_by_test_id("stApp").inner_text()]
    finally:
        page.context.close()


def test_an_html_region_name_is_printed_not_run_and_logout_ends_the_session(chromium: Browser, server: Server,
                                                                             world):
    page = _page(chromium)
    DIALOGS.clear()
    try:
        _login(page, server, "ceo@example.com")
        wait_rendered(page, _revenue_tile(page))
        main = page.get_by_test_id("stMain")
        assert XSS in (main.text_content() or "")  # the region's bar label, as text
        assert page.locator("img[src='x']").count() == 0
        page.get_by_test_id("stMain").get_by_text(t("show_table", "en")).last.click()  # the region table too
        expect(page.get_by_test_id("stDataFrame").last).to_be_visible()
        page.wait_for_timeout(500)  # let an injected onerror fire, if there were one
        assert DIALOGS == [], "a script in a region name ran"
        page.get_by_test_id("stSidebar").get_by_role("button", name=t("logout", "en")).click()
        # the provider asks before it ends its own session, then sends the browser back
        page.get_by_role("button", name="End session").click(timeout=30_000)
        page.goto(server.url)
        expect(page.get_by_role("button", name=t("login_button", "en"))).to_be_visible(timeout=30_000)
        assert page.get_by_test_id("stMetric").count() == 0
    finally:
        page.context.close()
