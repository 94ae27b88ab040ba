"""Fixtures of the browser tests (``tests/test_browser*.py``): database files, the servers over
them and desktop pages in browser contexts of their own, with what the overview must show for
the demo database (:class:`DemoFacts`, computed from the raw rows).

Each server is a subprocess on a free port with ``CRM_DB`` pointing at a database file the test
prepared in a temporary folder and then closed: the server is the only process holding it.

A test module imports the fixtures it uses (``from browser_fixtures import demo_server_fixture``):
pytest then makes a module-scoped one once per such module: the demo database and its server (a demo
import and a server start, a few CPU seconds) are made by ``tests/test_browser.py`` and, for the pages'
smoke test, by ``tests/test_browser_pages.py``, so that the two can run on two workers.
Nothing here is a test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
from browser_util import CHROMIUM, Server, new_page, start_server, wait_rendered
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
                        chromium: Browser) -> Iterator[Server]:
    """The app over the demo database, past its first request: that one is served by
    Streamlit's folder-based navigation, which knows only the scripts in pages/ (a page a
    test registers elsewhere would get a "page not found" dialog; the first request of a
    fresh server is tested on its own, for every page of the app)."""
    server = serve(demo_db[0], tmp_path_factory.mktemp("demo_server"))
    first = new_page(chromium)
    try:
        first.goto(f"{server.url}/")
        wait_rendered(first, first.get_by_test_id("stMain").locator("h1"))
    finally:
        first.context.close()
    yield server
    server.stop()


def empty_db(folder: Path) -> Path:
    path = folder / "crm.duckdb"
    db.connect(path).close()  # created and migrated, no rows
    return path


@pytest.fixture(scope="module", name="empty_server")
def empty_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("empty_db")
    server = serve(empty_db(folder), folder)
    yield server
    server.stop()


@pytest.fixture(name="upload_server")
def upload_server_fixture(tmp_path: Path) -> Iterator[Server]:
    """A server of its own over an empty database: the upload test writes to it and then
    stops it to read the file."""
    server = serve(empty_db(tmp_path), tmp_path)
    yield server
    server.stop()


# --------------------------------------------------------------------------- pages


@pytest.fixture(name="page")
def page_fixture(chromium: Browser) -> Iterator[Page]:
    """A desktop page in a browser set to English (``?lang=zh`` must still give Chinese)."""
    page = new_page(chromium)
    yield page
    page.context.close()


@pytest.fixture(name="zh_page")
def zh_page_fixture(chromium: Browser) -> Iterator[Page]:
    """A desktop page in a browser set to Chinese, as most of the app's users have."""
    page = new_page(chromium, locale="zh-CN")
    yield page
    page.context.close()
