"""End to end in Chromium: three of the hostile files of ``tests/test_browser_hostile.py`` (an
unclosed quote, Korean text that is no Chinese, an Excel sheet with merged cells) uploaded one at a
time on the Data page of the real server and photographed at laptop and phone width for people to
look at (``docs/screenshots/hostile-*``): each with its preview or its message, no exception, no
leaked message key. Nothing is imported, so the three share one server over an empty database and
one page per width (``page_pool``): each opens the Data page in a new session of its own.
"""

from __future__ import annotations

import pytest
from browser_fixtures import (
    BROWSER_MARKS,
    PagePool,
    empty_server_fixture,  # noqa: F401 (the empty_server fixture)
    page_pool_fixture,  # noqa: F401 (the page_pool fixture)
)
from browser_util import (
    PHONE,
    Server,
    app_text,
    docs_folder,
    leaked_messages,
    open_data_page,
    screenshot,
    wait_rendered,
)
from playwright.sync_api import expect
from test_browser_hostile import FILES, PHOTOGRAPHED, _panel, _upload

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize("finding", PHOTOGRAPHED)
def test_three_hostile_files_photographed_at_laptop_and_phone_width(
        page_pool: PagePool, empty_server: Server, finding: int) -> None:
    chosen = [f for f in FILES if f[0] == finding][:1]
    assert chosen, f"no hostile file for finding {finding}"
    for size in ((1366, 768), PHONE):
        page = page_pool.get(size, locale="zh-CN")
        open_data_page(page, empty_server, "zh")
        main = _upload(page, chosen)
        panel = _panel(main, chosen[0][1])
        wait_rendered(page, panel.get_by_test_id("stMetric").or_(
            panel.get_by_test_id("stAlertContentError")).or_(panel.get_by_test_id("stAlertContentWarning")).first)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        assert leaked_messages(app_text(page), "zh") == []
        screenshot(page, f"hostile-{finding:02d}", folder=docs_folder())
