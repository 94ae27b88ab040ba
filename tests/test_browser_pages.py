"""End to end in Chromium, the registry-driven smoke test: every registered page at its own
address, in both languages, on a laptop (1366×768) and a phone (390×844), over the demo database;
each page's screenshot goes to ``docs/screenshots/`` (``<page>-<lang>_<width>.png``), for the
README and for a person to look at.

Apart from ``tests/test_browser.py`` (whose server fixtures it shares: ``tests/browser_fixtures.py``)
so that the two, the longest browser modules, can run on two workers; this module makes its own
demo database and server once.

The browser is set up once per window and language for the whole module (``page_pool``: one page
each for the 2 windows × 2 browser languages): each case's ``goto`` is still a new document and a
new Streamlit session over a new websocket, with no cookies or stored state left by the case
before, so each case is still the page's own address opened in a browser of the other language;
only the app's JavaScript is not fetched and parsed again (about a second per case).
"""

from __future__ import annotations

import re

import pytest
from browser_fixtures import (
    BROWSER_MARKS,
    PagePool,
    demo_db_fixture,  # noqa: F401 (the demo_db fixture)
    demo_server_fixture,  # noqa: F401 (the demo_server fixture)
    page_pool_fixture,  # noqa: F401 (the page_pool fixture)
)
from browser_util import Server, assert_page_healthy, docs_folder, screenshot, smoke_cases, wait_rendered
from playwright.sync_api import expect

from analytics import pages
from ui.i18n import t

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize(("key", "lang", "size"), smoke_cases(),
                         ids=[f"{k}-{lang}-{size[0]}" for k, lang, size in smoke_cases()])
def test_every_page_in_both_languages_on_a_laptop_and_a_phone(page_pool: PagePool, demo_server: Server,
                                                              key: str, lang: str, size: tuple[int, int]) -> None:
    """Each registered page's own address, a new session in a browser of the other language:
    drawn whole in the language of the link, nothing broken; a screenshot for people to look at."""
    page = page_pool.get(size, locale="en-US" if lang == "zh" else "zh-CN")
    page.goto(f"{demo_server.url}/{key}?lang={lang}")
    wait_rendered(page, page.get_by_test_id("stMain").locator("h1"))
    expect(page).to_have_url(re.compile(rf"/{key}\?(.*&)?lang={lang}(&|$)"))
    expect(page.get_by_test_id("stSidebarNav").get_by_role("link", name=t(pages.get(key).title, lang))
           ).to_have_count(1)
    assert_page_healthy(page, lang)
    path = screenshot(page, f"{key}-{lang}", folder=docs_folder())
    assert path.stat().st_size > 10_000
