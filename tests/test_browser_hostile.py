"""End to end in Chromium: the hostile but realistic files of issue 10 (``tests/hostile/``:
unclosed quotes, mixed line endings, EUC-KR text, a GBK file behind a UTF-8 BOM, merged and
hidden Excel sheets, stray scores, look-alike ids, spaced total rows, ...) uploaded together on
the Data page of the real server, as a new user would (nothing is imported: both languages'
tests use one server over an empty database; the previews are not cached between sessions).

Each file gets a clear preview (count tiles) or a clear message (an error or a warning in its
panel), never an unexpected error, a traceback or a leaked message key; and with all of them
in the uploader every other tab of the page (history with undo, data quality, settings) is
drawn. Three of them are photographed at laptop and phone width for people to look at
(``docs/screenshots/hostile-*``) by ``tests/test_browser_hostile_shots.py``, apart so that it can run
on another worker.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import hostile
import pytest
from browser_fixtures import (
    BROWSER_MARKS,
    empty_server_fixture,  # noqa: F401 (the empty_server fixture)
)
from browser_util import (
    Server,
    app_text,
    leaked_messages,
    new_page,
    open_data_page,
    wait_rendered,
)
from playwright.sync_api import Browser, Locator, Page, expect

from ui.i18n import LANGUAGES, t

pytestmark = BROWSER_MARKS


def hostile_files() -> list[tuple[int, str, bytes]]:
    """Every file of every module in ``tests/hostile/``, named ``NN_<name>`` by its finding."""
    found = []
    for module in pkgutil.iter_modules(hostile.__path__):
        for finding, name, content in importlib.import_module(f"hostile.{module.name}").FILES:
            found.append((finding, f"{finding:02d}_{name}", content))
    return sorted(found)


FILES = hostile_files()
#: Photographed: an unclosed quote, Korean text that is no Chinese, an Excel sheet with merged cells.
PHOTOGRAPHED = (1, 3, 5)
_MIME = {".csv": "text/csv", ".txt": "text/plain", ".tsv": "text/tab-separated-values",
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         ".parquet": "application/octet-stream"}


def _upload(page: Page, files: list[tuple[int, str, bytes]]) -> Locator:
    main = page.get_by_test_id("stMain")
    main.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": _MIME.get(Path(name).suffix, "application/octet-stream"),
                "buffer": content} for _, name, content in files])
    return main


def _panel(main: Locator, name: str) -> Locator:
    """The panel of the file named ``name``: the innermost block holding its heading (the file's name)."""
    return main.get_by_test_id("stVerticalBlock").filter(
        has=main.page.get_by_role("heading", name=re.compile(re.escape(name)))).last


def _unexpected(lang: str) -> list[str]:
    """How each unexpected-error message of the page starts, in ``lang``."""
    return [t(f"data_error_unexpected_{step}", lang, error="\0").split("\0")[0] for step in ("read", "write", "panel")]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_hostile_file_gets_a_clear_preview_or_message_and_no_tab_is_blocked(
        chromium: Browser, empty_server: Server, lang: str) -> None:
    assert len({finding for finding, _, _ in FILES}) >= 15, "the hostile files of issue 10 are all here"
    page = new_page(chromium, locale="zh-CN" if lang == "zh" else "en-US")
    try:
        open_data_page(page, empty_server, lang)
        main = _upload(page, FILES)
        for _, name, _ in FILES:
            panel = _panel(main, name)
            # a preview has its count tiles; a file that cannot be previewed says why
            wait_rendered(page, panel.get_by_test_id("stMetric").or_(
                panel.get_by_test_id("stAlertContentError")).or_(panel.get_by_test_id("stAlertContentWarning")).first)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        text = app_text(page)
        for _, name, _ in FILES:  # the files' names are data, in whatever words they use
            text = text.replace(name, "")
        # the files' Chinese headers (客户编号, 订单日期, …) are data on the English page too: there
        # only a message key or a Chinese sentence would be a leak
        assert [m for m in leaked_messages(text, lang) if lang == "zh" or "_" in m or len(m) > 12] == []
        for start in _unexpected(lang):
            assert start not in text, f"an unexpected error on the page: {start}"
        for tab, ready in (("history", "stDataFrame"), ("checks", "stExpander"), ("settings", "stNumberInput")):
            main.get_by_role("tab", name=t(f"data_tab_{tab}", lang)).click()
            panel = main.get_by_role("tabpanel", name=t(f"data_tab_{tab}", lang))
            if tab == "history":  # nothing was imported: the empty history says so
                wait_rendered(page, panel.get_by_text(t("data_history_empty", lang)))
            else:
                wait_rendered(page, panel.get_by_test_id(ready).first)
            expect(page.get_by_test_id("stException")).to_have_count(0)
    finally:
        page.context.close()
