"""Shared fixtures, and ``--dummy-page``: the whole run with a test-only page registered
(``tests/dummy_page.py``), to see every registry-driven test cover it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from import_util import new_database

from analytics.store.connection import connect

# The helper modules' own asserts report what differed, as the tests' do.
pytest.register_assert_rewrite("app_data_util", "atomicity_util", "overview_fixture", "overview_reference",
                               "roundtrip_checks")

#: Set for the run (and so for the servers the browser tests start) by ``--dummy-page``.
DUMMY_PAGE_VARIABLE = "CRM_TEST_DUMMY_PAGE"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--dummy-page", action="store_true",
                     help="register tests/dummy_page.py's page for the whole run (before collection)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--dummy-page"):
        import dummy_page

        dummy_page.register()
        os.environ[DUMMY_PAGE_VARIABLE] = "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The Spark parity module first, the rest in collection order: it is the longest file (a Spark session and
    two builds, about 3 minutes on one worker), and with one file per worker (``--dist loadfile``) a long file
    taken last leaves the other worker idle at the end. Measured on a clean clone, side by side: 14:09 with it
    first, 15:48 in alphabetical order. (Only that one module: the longest-first order of every Spark and
    browser file put both of the then two Spark files on one worker and was slower.)"""
    items.sort(key=lambda item: 0 if item.get_closest_marker("spark") else 1)


@pytest.fixture
def fresh_streamlit_caches() -> Iterator[None]:
    """No cached connection or result from another test, none left for the next: the app's
    connection is a ``cache_resource``, so each AppTest opens the database its test set."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium driven by Playwright (``tests/browser_util.py``), one per test module."""
    from browser_util import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def empty_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new CRM database, created and migrated once per test process and closed again: the tests'
    fresh databases are copies of it (:func:`new_database`), as creating and migrating one costs
    about 0.1 s each time."""
    path = tmp_path_factory.mktemp("empty_database") / "crm.duckdb"
    connect(path).close()
    return path


@pytest.fixture
def db(tmp_path: Path, empty_database: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh, migrated CRM database file in the test's temporary folder."""
    con = connect(new_database(empty_database, tmp_path / "crm.duckdb"))
    try:
        yield con
    finally:
        con.close()
