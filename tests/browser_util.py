"""Helpers for the browser tests: the real Streamlit server as a subprocess, Chromium, waits.

Used by ``tests/test_browser.py`` only; nothing here is a test.
"""

from __future__ import annotations

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

from playwright.sync_api import Locator, Page, expect

ROOT = Path(__file__).resolve().parent.parent

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


def start_server(db_path: Path, log_dir: Path, *, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = (), port: int | None = None) -> Server:
    """Start the app on a free port (or ``port``) with ``CRM_DB=db_path`` and wait for its
    health check. ``env`` adds environment variables, ``args`` command-line options (e.g.
    ``--secrets.files``).

    The file watcher is off: another engineer saving a file in the checkout must not show a
    "File change" banner or rerun the page under a test.

    Raises
    ------
    RuntimeError
        When the server exits or does not answer within :data:`START_TIMEOUT_S`; the message
        holds what it printed.
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
    server = Server(db_path=db_path, log_path=log_path, port=port, process=process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Streamlit server exited with {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.status == 200 and response.read().strip() == b"ok":
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)  # polling a process that is starting, not waiting on a page
    server.stop()
    raise RuntimeError(f"the Streamlit server did not answer within {START_TIMEOUT_S:.0f} s:\n{server.log()}")


def wait_rendered(page: Page, ready: Locator) -> None:
    """Wait until the script run that drew ``ready`` has finished and everything is painted.

    ``ready`` is an element only a finished page shows (the KPI tiles, a title). Then: no
    "running" indicator, no skeleton placeholders, every Plotly chart drawn, fonts loaded.
    """
    expect(ready).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=RENDER_TIMEOUT_MS)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=RENDER_TIMEOUT_MS)
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


def leaked_messages(text: str, lang: str) -> list[str]:
    """What in ``text`` (a page's visible text in ``lang``) is a raw message key or a message of
    the other language: keys with an underscore (``kpi_revenue``) and the other language's
    plain messages (no placeholder, no markdown) that differ from their translation."""
    ours = catalogue(lang)
    other = catalogue("en" if lang == "zh" else "zh")
    keys = [k for k in ours if "_" in k and re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", text)]
    foreign = [m for k, m in other.items()
               if len(m) >= 4 and not re.search(r"[{}*\n`]", m) and m != ours.get(k) and m in text]
    return keys + foreign
