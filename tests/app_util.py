"""What the AppTest modules share: the login secrets of a test app, the app opened as a user on a
database, the whole of a run's text (for "nothing of another region shows" checks) and the tables
a run offers as downloads."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from ui import widgets

APP = str(Path(__file__).resolve().parents[1] / "app.py")
#: A login configuration (its provider is never reached: AppTest sets the user directly).
AUTH = {"auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "test-secret",
                 "client_id": "crm", "client_secret": "crm-secret",
                 "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}
#: An access file with one sales manager of 华北.
NORTH_MANAGER = '[users."north@example.com"]\nrole = "sales_manager"\nregions = ["华北"]\n'


def spy_downloads(monkeypatch: pytest.MonkeyPatch) -> list[pd.DataFrame]:
    """Every table the runs after this offer as a download (CSV or Excel). Every download button goes through
    ``ui.widgets.download_buttons`` (a test of the layout holds that), which writes a file when the button is
    clicked (a callable): here every file is written at once, as if each button were clicked."""
    offered: list[pd.DataFrame] = []
    for name in ("to_csv_bytes", "to_xlsx_bytes"):
        real = getattr(widgets, name)

        def spy(df: pd.DataFrame, *args, _real=real, **kwargs) -> bytes:
            offered.append(df)
            return _real(df, *args, **kwargs)

        monkeypatch.setattr(widgets, name, spy)
    real_button = DeltaGenerator.download_button

    def button(self, label, data, *args, **kwargs):
        return real_button(self, label, data() if callable(data) else data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", button)
    return offered


def open_app(monkeypatch: pytest.MonkeyPatch, db: Path, *, page: str | None = None, email: str | None = None,
             access: Path | None = None, lang: str | None = None, timeout: int = 120,
             **params: str | list[str]) -> AppTest:
    """The app on database ``db`` opened at the address of ``page`` (a script path; default ``/``, the overview)
    with ``params`` in it, as a link does; ``email`` logs in as that user of the access file ``access``;
    ``lang`` sets the language as the sidebar does. Fails on any exception."""
    monkeypatch.setenv("CRM_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=timeout)
    if email is not None:
        monkeypatch.setenv("CRM_ACCESS_FILE", str(access))
        at.secrets = json.loads(json.dumps(AUTH))
        at.user = {"is_logged_in": True, "email": email}
    if lang is not None:
        at.session_state["lang"] = lang
    for key, value in params.items():
        at.query_params[key] = value
    if page is not None:
        # Before the first run AppTest names a page by its file's stem, which is the page's own
        # address (``pages/churn.py`` is ``/churn``: the registry's key): the run opens it, as a
        # link does, without drawing the overview first.
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def page_text(at: AppTest) -> str:
    """Everything the run drew as text: titles, markdown, captions, alerts, metrics (with their changes),
    every table cell."""
    parts = [str(x.value) for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                                       "error", "success") for x in getattr(at, kind)]
    parts += [f"{m.label} {m.value} {m.proto.delta}" for m in at.metric]
    parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(parts)
