"""Shared by the Data page's AppTest modules (``tests/test_app_data_*.py``): a database of
each test's own, the app opened on its Data page, and the clicks and reads the tests use.

Each test runs the whole app on a database of its own (``CRM_DB`` in a temporary folder),
opens the Data page in 中文 or English, and checks what the page shows against what the
database holds afterwards, read through the app's own connection. Nothing here is a test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.ingest import intake
from ui import loaders
from ui.formats import fmt_int
from ui.i18n import t

APP = Path(__file__).resolve().parents[1] / "app.py"
CSV = "text/csv"

GOOD = (b"order_id,customer_id,order_date,amount,region\n"
        b"T1,C1,2024-01-05,100.50,East\n"
        b"T2,C2,2024-01-06,200,North\n"
        b"T3,C1,2024-02-01,50,East\n")


@pytest.fixture(autouse=True, name="fresh_app")
def fresh_app_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_streamlit_caches):
    """A database of the test's own and no cached connection or results from another test."""
    monkeypatch.setenv("CRM_DB", str(tmp_path / "crm.duckdb"))
    monkeypatch.setattr(intake, "INBOX_DIR", tmp_path / "inbox")


def open_data_page(lang: str) -> AppTest:
    """The app on its Data page in `lang`.

    The language is set through the language widget's key (``lang``, also its URL
    parameter): in AppTest ``?lang=`` reaches the first run only, and after ``switch_page``
    the bound widget falls back to its default (checked on Streamlit 1.67).
    """
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["lang"] = lang
    at.switch_page("pages/data.py")  # (before the first run: the page's own address, no overview drawn first)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rows(sql: str, *params: object) -> list[tuple]:
    """Query the database through the app's own connection."""
    return loaders.connection().cursor().execute(sql, list(params)).fetchall()


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    at.file_uploader[0].set_value([(name, content, CSV) for name, content in files])
    return run(at)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def counts(at: AppTest, lang: str, *names: str) -> list[str]:
    shown = metrics(at)
    return [shown[t(f"data_{name}", lang)] for name in names]


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} among {[b.label for b in at.button]}"
    return matches[0]


def selectbox(at: AppTest, label: str):
    matches = [s for s in at.selectbox if s.label == label]
    assert matches, f"no selectbox {label!r} among {[s.label for s in at.selectbox]}"
    return matches[0]


def confirm(at: AppTest, lang: str, n: int) -> AppTest:
    button(at, t("data_confirm", lang, n=fmt_int(n, lang))).click()
    return run(at)


def open_tab(at: AppTest, lang: str, tab: str) -> AppTest:
    at.session_state["data_tab"] = t(f"data_tab_{tab}", lang)
    return run(at)
