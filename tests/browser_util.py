"""Helpers for the browser tests: the real Streamlit server as a subprocess, Chromium, waits,
pages in browser contexts of their own, and screenshots.

Used by ``tests/test_browser*.py`` (with the fixtures of ``tests/browser_fixtures.py``) and
``tests/test_login_browser.py``; nothing here is a test.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from analytics import pages
from ui.i18n import LANGUAGES, t

ROOT = Path(__file__).resolve().parent.parent
#: Screenshots for a person to look at (git-ignored), as ``<name>_<width>.png``.
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
#: The pages' screenshots, for the README and for anyone who wants to see the pages.
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
DESKTOP = (1366, 768)
PHONE = (390, 844)

#: Debian's Chromium (``.ci/run`` installs it); never a browser downloaded by Playwright.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

#: How long a server may take to answer its health check.
START_TIMEOUT_S = 60.0
#: How long a page may take to render (the first run of a page imports pandas, plotly, ...).
RENDER_TIMEOUT_MS = 30_000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running ``streamlit run app.py`` over one database file."""

    db_path: Path
    log_path: Path
    port: int
    process: subprocess.Popen = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        """What the server printed (stdout and stderr), for failure messages."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Terminate the server's process group (idempotent); the database file is free after."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)


def launch_server(db_path: Path, log_dir: Path, *, env: dict[str, str] | None = None,
                  args: tuple[str, ...] = (), port: int | None = None) -> Server:
    """Start the app on a free port (or ``port``) with ``CRM_DB=db_path`` and return at once:
    :func:`wait_healthy` waits for it (so that a server can start while a test runs). ``env``
    adds environment variables, ``args`` command-line options (e.g. ``--secrets.files``).

    The file watcher is off: another engineer saving a file in the checkout must not show a
    "File change" banner or rerun the page under a test.
    """
    port = port or free_port()
    log_path = log_dir / f"streamlit_{port}.log"
    # with ``pytest --dummy-page`` the server registers the test-only page too (conftest.py)
    dummy = os.environ.get("CRM_TEST_DUMMY_PAGE")
    launcher = [str(ROOT / "tests" / "dummy_serve.py")] if dummy else ["-m", "streamlit"]
    command = [sys.executable, *launcher, "run", "app.py",
               "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *args]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {}), "CRM_DB": str(db_path)},
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return Server(db_path=db_path, log_path=log_path, port=port, process=process)


def wait_healthy(server: Server) -> Server:
    """Wait for a launched server's health check (no page is requested: a server's first
    request stays the test's).

    Raises
    ------
    RuntimeError
        When the server exits or does not answer within :data:`START_TIMEOUT_S` of this call;
        the message holds what it printed.
    """
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the Streamlit server exited with {server.process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.status == 200 and response.read().strip() == b"ok":
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)  # polling a process that is starting, not waiting on a page
    server.stop()
    raise RuntimeError(f"the Streamlit server did not answer within {START_TIMEOUT_S:.0f} s:\n{server.log()}")


def start_server(db_path: Path, log_dir: Path, *, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = (), port: int | None = None) -> Server:
    """:func:`launch_server`, then :func:`wait_healthy`."""
    return wait_healthy(launch_server(db_path, log_dir, env=env, args=args, port=port))


#: True when the app is at rest: its script state ``notRunning`` (``data-test-script-state`` on
#: ``stApp``), no "running" icon, skeleton or spinner, and every Plotly chart's first ``.main-svg``
#: visible (a box of some size, not ``visibility: hidden``), as :func:`wait_rendered` expects them.
_AT_REST = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute("data-test-script-state") !== "notRunning") return false;
    const none = (id) => document.querySelectorAll(`[data-testid="${id}"]`).length === 0;
    if (!none("stStatusWidgetRunningIcon") || !none("stSkeleton") || !none("stSpinner")) return false;
    const charts = document.querySelectorAll('[data-testid="stPlotlyChart"]');
    const svgs = [...charts].map((chart) => chart.querySelector(".main-svg"));
    if (svgs.some((svg) => !svg)) return false;  // (no layout is forced while the page is still drawing)
    return svgs.every((svg) => {
        const box = svg.getBoundingClientRect();
        return box.width > 0 && box.height > 0 && getComputedStyle(svg).visibility !== "hidden";
    });
}"""
#: How often the page checks :data:`_AT_REST` (Playwright's own ``expect`` polls every 500 ms
#: once a wait is longer than a quarter of a second).
_POLL_MS = 100


def _wait_at_rest(page: Page) -> bool:
    """Wait (polling :data:`_AT_REST` in the page) until the app is at rest; False on timeout."""
    try:
        page.wait_for_function(_AT_REST, polling=_POLL_MS, timeout=RENDER_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        return False
    return True


def wait_rendered(page: Page, ready: Locator) -> None:
    """Wait until the script run that drew ``ready`` has finished and everything is painted.

    ``ready`` is an element only a finished page shows (the KPI tiles, a title). Then: the
    app's script state ``notRunning`` (``data-test-script-state`` on ``stApp``, as Streamlit's
    own end-to-end tests wait: the "running" icon appears only after a delay, so its absence
    alone can hold before a run has drawn its charts), no "running" indicator, no skeleton
    placeholders, every Plotly chart drawn, fonts loaded. After ``page.goto`` the state is
    that of the new document (``initial`` until its first run starts).

    The waits are one check polled in the page every :data:`_POLL_MS` ms (:data:`_AT_REST`),
    once before ``ready`` (so that ``ready`` is usually there at the first look) and once
    after; when that one times out, the same conditions are expected one by one, for a
    failure that says which.
    """
    _wait_at_rest(page)  # may hold before a run a click asked for has started: ready decides
    expect(ready).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    if not _wait_at_rest(page):
        expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning",
                                                               timeout=RENDER_TIMEOUT_MS)
        expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=RENDER_TIMEOUT_MS)
        expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=RENDER_TIMEOUT_MS)
        expect(page.get_by_test_id("stSpinner")).to_have_count(0, timeout=RENDER_TIMEOUT_MS)
        charts = page.get_by_test_id("stPlotlyChart")
        for i in range(charts.count()):
            expect(charts.nth(i).locator(".main-svg").first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    page.evaluate("document.fonts.ready.then(() => true)")


def catalogue(lang: str) -> dict[str, str]:
    """The app's messages in ``lang``: ``ui/locales/<lang>.json`` and ``<page>.<lang>.json``."""
    messages: dict[str, str] = {}
    for path in sorted((ROOT / "ui" / "locales").glob("*.json")):
        if path.name == f"{lang}.json" or path.name.endswith(f".{lang}.json"):
            messages.update(json.loads(path.read_text(encoding="utf-8")))
    return messages


@functools.cache
def _leak_candidates(lang: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The keys with an underscore of ``lang``'s catalogue, and the other language's plain
    messages (no placeholder, no markdown) that differ from their translation: read once per
    process, as a page's text is checked many times."""
    ours = catalogue(lang)
    other = catalogue("en" if lang == "zh" else "zh")
    keys = tuple(k for k in ours if "_" in k)
    foreign = tuple(m for k, m in other.items() if len(m) >= 4 and not re.search(r"[{}*\n`]", m) and m != ours.get(k))
    return keys, foreign


def leaked_messages(text: str, lang: str) -> list[str]:
    """What in ``text`` (a page's visible text in ``lang``) is a raw message key or a message of
    the other language: keys with an underscore (``kpi_revenue``) standing alone (not inside a
    longer run of word characters and hyphens) and the other language's plain messages (no
    placeholder, no markdown) that differ from their translation."""
    keys, foreign = _leak_candidates(lang)
    # a key of word characters and hyphens stands alone exactly when it is one of the text's
    # longest runs of those: one scan of the text instead of a search per key
    runs = set(re.findall(r"[\w-]+", text))
    found = [k for k in keys if (k in runs if re.fullmatch(r"[\w-]+", k)
                                 else re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", text))]
    return found + [m for m in foreign if m in text]


# --------------------------------------------------------------------------- pages


def new_page(browser: Browser, size: tuple[int, int] = DESKTOP, locale: str = "en-US") -> Page:
    """A page in a context of its own (no shared session or storage)."""
    width, height = size
    phone = width < 600
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale,
                                  is_mobile=phone, has_touch=phone, accept_downloads=True)
    return context.new_page()


def kpi_value(page: Page, label: str) -> Locator:
    """The value of the KPI tile labelled exactly ``label``."""
    tile = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return tile.get_by_test_id("stMetricValue")


def open_data_page(page: Page, server: Server, lang: str) -> None:
    """Open the overview, then the Data page through the sidebar, as a person does (the
    Data page's own address is tested in ``test_browser.py``'s shared-link tests)."""
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


def app_text(page: Page) -> str:
    """The page's visible text, less the language switch (labelled in both languages on purpose)."""
    return page.get_by_test_id("stApp").inner_text().replace("Language / 语言", "")


def assert_page_healthy(page: Page, lang: str) -> None:
    """No "page not found" dialog, no exception box, no raw message key or other-language text."""
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert leaked_messages(app_text(page), lang) == []


def smoke_cases() -> list[tuple[str, str, tuple[int, int]]]:
    """(page, language, window) for every page in the registry, both languages, laptop and phone
    (``tests/test_browser_pages.py``)."""
    return [(p.key, lang, size) for p in pages.PAGES for lang in LANGUAGES for size in (DESKTOP, PHONE)]


# --------------------------------------------------------------------------- screenshots


def docs_folder() -> Path:
    """docs/screenshots/ for the app's own pages; with a page registered only by a test (its
    script outside pages/, as with ``--dummy-page``) every screenshot differs from the app's,
    so they all go among the test artifacts."""
    own = all(p.script.startswith("pages/") for p in pages.PAGES)
    return DOCS_SCREENSHOTS if own else SCREENSHOTS


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
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring either
    height = page.evaluate("""(ids) => Math.max(window.innerHeight, ...[...document.querySelectorAll(
        ids.map(id => `[data-testid="${id}"]`).join(", "))]
        .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > 0; })
        .map(e => e.scrollHeight))""", list(scrolled))
    page.set_viewport_size({"width": size["width"], "height": height})
    main = page.get_by_test_id("stMain")
    # the page's title, when it has one: a resize can redraw it (seen once under load: an empty shot)
    wait_rendered(page, main.locator("h1").first if main.locator("h1").count() else main)
    path = _artifact(name, page, folder)
    write_png(path, page.screenshot(full_page=True, animations="disabled", caret="hide"))
    page.set_viewport_size(size)
    return path


#: A new screenshot that differs from the one in place by fewer pixels than this is the same
#: picture (anti-aliasing of a rounded corner): the file is left alone, so a test run does
#: not rewrite the committed screenshots in docs/ (a changed digit is well over this).
SAME_PICTURE_PIXELS = 64


def write_png(path: Path, png: bytes) -> None:
    """Write ``png`` to ``path`` unless the file there already shows the same picture."""
    if path.exists():
        before = path.read_bytes()
        if before == png:  # Chromium encodes the same picture to the same bytes: no decoding needed
            return
        from PIL import Image, ImageChops

        old, new = (Image.open(io.BytesIO(data)).convert("RGB") for data in (before, png))
        if old.size == new.size:
            differing = ImageChops.difference(old, new).convert("L").point(lambda v: 255 if v else 0)
            if differing.histogram()[255] < SAME_PICTURE_PIXELS:
                return
    path.write_bytes(png)


def screenshots_at_both_widths(page: Page, name: str, folder: Path = SCREENSHOTS) -> None:
    """:func:`screenshot` at the desktop width, then at the phone's: the same session (a state
    reached by clicking) in a window made narrow, not an emulated phone."""
    screenshot(page, name, folder=folder)
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    try:
        sidebar = page.get_by_test_id("stSidebar")
        if sidebar.get_attribute("aria-expanded") == "true":  # narrowed, it may stay open over the page
            page.get_by_test_id("stSidebarCollapseButton").click()
            expect(sidebar).to_have_attribute("aria-expanded", "false")
        screenshot(page, name, folder=folder)
    finally:
        page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
        wait_rendered(page, page.get_by_test_id("stMain"))
