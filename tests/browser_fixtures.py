"""Fixtures of the browser tests (``tests/test_browser*.py``): database files, the servers over
them (servers that must not have had a request yet are started during the test before:
:class:`FreshServers`), and pages kept open for a module, one per window and browser language
(:class:`PagePool`), with what the overview must show for the demo database (:class:`DemoFacts`,
computed from the raw rows).

Each server is a subprocess on a free port with ``CRM_DB`` pointing at a database file the test
prepared in a temporary folder and then closed: the server is the only process holding it.

A test module imports the fixtures it uses (``from browser_fixtures import demo_server_fixture``):
pytest then makes a module-scoped one once per such module: the demo database and its server (a demo
import and a server start, a few CPU seconds) are made by ``tests/test_browser.py`` and, for the pages'
smoke test, by ``tests/test_browser_pages.py``, so that the two can run on two workers.
Nothing here is a test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
from browser_util import CHROMIUM, DESKTOP, Server, launch_server, new_page, start_server, wait_healthy, wait_rendered
from playwright.sync_api import Browser, Page

from analytics.ingest.demo import load_demo
from analytics.store import connection as db

#: The marks of every browser test module (``pytestmark = BROWSER_MARKS``).
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing (bash .ci/run installs Debian's chromium and fonts-noto-cjk)"),
]

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


def demo_facts_of(con: duckdb.DuckDBPyConnection) -> DemoFacts:
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


def serve(db_path: Path, log_dir: Path) -> Server:
    try:
        return start_server(db_path, log_dir)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module", name="demo_db")
def demo_db_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoFacts]:
    """A database file with a small demo data set (closed again: the server must be its only user)."""
    folder = tmp_path_factory.mktemp("demo_db")
    path = folder / "crm.duckdb"
    con = db.connect(path)
    try:
        load_demo(con, size=DEMO_SIZE, folder=folder / "demo_files")
        facts = demo_facts_of(con)
    finally:
        con.close()
    return path, facts


@pytest.fixture(scope="module", name="demo_facts")
def demo_facts_fixture(demo_db: tuple[Path, DemoFacts]) -> DemoFacts:
    return demo_db[1]


@pytest.fixture(scope="module", name="demo_server")
def demo_server_fixture(demo_db: tuple[Path, DemoFacts], tmp_path_factory: pytest.TempPathFactory,
                        page_pool: PagePool) -> Iterator[Server]:
    """The app over the demo database, past its first request: that one is served by
    Streamlit's folder-based navigation, which knows only the scripts in pages/ (a page a
    test registers elsewhere would get a "page not found" dialog; the first request of a
    fresh server is tested on its own, for every page of the app). Made on the Data page (no
    charts to draw) in the module's desktop page of an English browser (``page_pool``)."""
    server = serve(demo_db[0], tmp_path_factory.mktemp("demo_server"))
    first = page_pool.get()
    first.goto(f"{server.url}/data")
    wait_rendered(first, first.get_by_test_id("stMain").locator("h1"))
    yield server
    server.stop()


class FreshServers:
    """Servers that have had no request yet, each over a copy of one database, one per test of
    the module that asks for one (``count``): :meth:`take` gives the next and starts the one
    after it in the background, so that a server starts while the test before it runs (a start
    is a few CPU seconds; until the test's own first request a health check is all it is asked)."""

    def __init__(self, template: Path, folder: Path, count: int) -> None:
        self.template, self.folder, self.count = template, folder, count
        self.started: list[Server] = []
        self.waiting: list[Server] = []

    def _launch(self) -> None:
        own = self.folder / f"server_{len(self.started)}"
        own.mkdir()
        shutil.copyfile(self.template, own / "crm.duckdb")
        server = launch_server(own / "crm.duckdb", own)
        self.started.append(server)
        self.waiting.append(server)

    def take(self) -> Server:
        """The next fresh server, once it answers its health check (the one after it started)."""
        if not self.waiting:
            self._launch()
        server = self.waiting.pop(0)
        if len(self.started) < self.count:
            self._launch()
        try:
            return wait_healthy(server)
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)

    def stop(self) -> None:
        for server in self.started:
            server.stop()


def _tests_asking_for(request: pytest.FixtureRequest, fixture: str) -> int:
    """How many of the session's tests (after ``-k`` and the like) in ``request``'s module ask
    for ``fixture``."""
    return sum(1 for item in request.session.items
               if getattr(item, "module", None) is request.module and fixture in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="module", name="fresh_servers")
def fresh_servers_fixture(request: pytest.FixtureRequest, demo_db: tuple[Path, DemoFacts],
                          tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshServers]:
    """Fresh servers over copies of the demo database (:class:`FreshServers`)."""
    folder = tmp_path_factory.mktemp("fresh_servers")
    template = folder / "template.duckdb"
    shutil.copyfile(demo_db[0], template)
    servers = FreshServers(template, folder, _tests_asking_for(request, "fresh_servers"))
    yield servers
    servers.stop()


def empty_db(folder: Path) -> Path:
    path = folder / "crm.duckdb"
    db.connect(path).close()  # created and migrated, no rows
    return path


@pytest.fixture(scope="module", name="empty_server")
def empty_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server over an empty database, for the module's tests that import nothing."""
    folder = tmp_path_factory.mktemp("empty_db")
    server = serve(empty_db(folder), folder)
    yield server
    server.stop()


@pytest.fixture(scope="module", name="upload_servers")
def upload_servers_fixture(request: pytest.FixtureRequest,
                           tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshServers]:
    folder = tmp_path_factory.mktemp("upload_servers")
    servers = FreshServers(empty_db(folder), folder, _tests_asking_for(request, "upload_server"))
    yield servers
    servers.stop()


@pytest.fixture(name="upload_server")
def upload_server_fixture(upload_servers: FreshServers) -> Iterator[Server]:
    """A server of its own over an empty database: the upload test writes to it and then
    stops it to read the file (started during the test before, :class:`FreshServers`)."""
    server = upload_servers.take()
    yield server
    server.stop()


# --------------------------------------------------------------------------- pages


class PagePool:
    """One page per (window, browser language), each in a context of its own, made when first
    asked for and kept for the pool's life (a module): every ``page.goto`` in it is still a new
    document and a new Streamlit session (a new websocket), but the browser has the app's
    JavaScript already loaded and parsed (about 1 s less per goto, and a faster first paint).
    For tests whose point is not a browser of their own (a login is: each user needs a context)."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self._pages: dict[tuple[tuple[int, int], str], Page] = {}

    def get(self, size: tuple[int, int] = DESKTOP, locale: str = "en-US") -> Page:
        """The pool's page for ``size`` and ``locale``, as a new context's would be but for the
        browser's cache: back to ``size`` (a test that failed half-way through a screenshot may
        have left it taller), no cookies, nothing in the app's local or session storage (where
        Streamlit keeps, e.g., a sidebar a person opened or closed)."""
        page = self._pages.get((size, locale))
        if page is None or page.is_closed():
            page = self._pages[(size, locale)] = new_page(self.browser, size, locale)
            return page
        if page.viewport_size != {"width": size[0], "height": size[1]}:
            page.set_viewport_size({"width": size[0], "height": size[1]})
        page.context.clear_cookies()
        if page.url.startswith("http"):
            page.evaluate("localStorage.clear(); sessionStorage.clear()")
        return page

    def close(self) -> None:
        for page in self._pages.values():
            page.context.close()
        self._pages.clear()


@pytest.fixture(name="page")
def page_fixture(page_pool: PagePool) -> Page:
    """A desktop page in a browser set to English (``?lang=zh`` must still give Chinese): the
    module's (``page_pool``), whose next ``goto`` is a new session with nothing stored."""
    return page_pool.get()


@pytest.fixture(name="zh_page")
def zh_page_fixture(chromium: Browser) -> Iterator[Page]:
    """A desktop page in a browser set to Chinese, as most of the app's users have."""
    page = new_page(chromium, locale="zh-CN")
    yield page
    page.context.close()


@pytest.fixture(scope="module", name="page_pool")
def page_pool_fixture(chromium: Browser) -> Iterator[PagePool]:
    """Pages kept open for the module, one per window and browser language (:class:`PagePool`)."""
    pool = PagePool(chromium)
    yield pool
    pool.close()
