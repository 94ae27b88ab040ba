"""The Data page when something fails that no rule foresaw (issue 10, finding 13): a reader's
own exception, a failure while a file's panel is drawn, a failure inside the commit. The file
says what happened in one sentence, nothing is written, and the page's other files and tabs
(history with undo, data quality, settings) are drawn as always.

Each test runs the whole app on a database of its own (``tests/app_data_util.py``); the
failures are made by replacing one function of the pipeline or the page for the test.
"""

from __future__ import annotations

import duckdb
import pytest
from app_data_util import (
    GOOD,
    confirm,
    counts,
    fresh_app_fixture,  # noqa: F401 (the autouse fresh_app fixture)
    open_data_page,
    open_tab,
    rows,
    upload,
)

from analytics.ingest import pipeline
from analytics.store import marts
from ui.i18n import LANGUAGES, md_literal, t
from ui.importing import panel

OTHER = b"order_id,customer_id,order_date,amount\nT7,C7,2024-03-01,70\n"
DUCKDB_ERROR = "CSV Parser state machine reached an invalid state"


def _every_tab_draws(at, lang: str) -> None:
    """History (the ledger and its undo), data quality and settings are drawn, without an exception."""
    open_tab(at, lang, "history")
    assert not at.exception, [e.value for e in at.exception]
    assert at.dataframe, "the import history is drawn"
    assert any(b.label == t("data_undo", lang) for b in at.button), "undo is offered"
    open_tab(at, lang, "checks")
    assert not at.exception, [e.value for e in at.exception]
    assert at.expander, "the data-quality checks are drawn"
    open_tab(at, lang, "settings")
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input, "the settings are drawn"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_readers_own_exception_is_the_files_error_and_no_tab_is_blocked(lang, monkeypatch):
    at = open_data_page(lang)
    upload(at, ("orders.csv", GOOD))
    confirm(at, lang, 3)
    real = pipeline.prepare

    def failing(con, path, **options):
        if str(path).endswith("mixed.csv"):
            raise duckdb.InvalidInputException(f"{DUCKDB_ERROR}\n  file=mixed.csv\n  line 3")
        return real(con, path, **options)

    monkeypatch.setattr(pipeline, "prepare", failing)
    upload(at, ("mixed.csv", b"x"), ("other.csv", OTHER))
    assert not at.exception, [e.value for e in at.exception]
    said = t("data_error_unexpected_read", lang, error=f"InvalidInputException: {DUCKDB_ERROR}")
    assert md_literal(said) in [e.value for e in at.error]
    assert counts(at, lang, "rows_to_import") == ["1"], "the other file is previewed as always"
    _every_tab_draws(at, lang)
    assert rows("select count(*) from transactions") == [(3,)]


def test_a_failure_while_a_panel_is_drawn_stays_in_that_panel(monkeypatch):
    at = open_data_page("en")
    upload(at, ("orders.csv", GOOD))
    confirm(at, "en", 3)
    real = panel.count_tiles

    def failing(report, lang):
        if report.file == "broken.csv":
            raise KeyError("rows_nowhere")
        return real(report, lang)

    monkeypatch.setattr(panel, "count_tiles", failing)
    upload(at, ("broken.csv", OTHER), ("other.csv", OTHER.replace(b"T7", b"T8")))
    assert not at.exception, [e.value for e in at.exception]
    said = t("data_error_unexpected_panel", "en", error="KeyError: 'rows_nowhere'")
    assert md_literal(said) in [e.value for e in at.error]
    assert counts(at, "en", "rows_to_import") == ["1"], "the panel after it is drawn"
    _every_tab_draws(at, "en")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_failure_inside_the_commit_writes_nothing_and_says_so(lang, monkeypatch):
    at = open_data_page(lang)
    upload(at, ("orders.csv", GOOD))
    confirm(at, lang, 3)

    def failing(cur, changed=None):
        raise RuntimeError("disk full")

    monkeypatch.setattr(marts, "rebuild", failing)
    upload(at, ("more.csv", OTHER))
    confirm(at, lang, 1)
    assert not at.exception, [e.value for e in at.exception]
    said = t("data_error_unexpected_write", lang, error="RuntimeError: disk full")
    assert md_literal(said) in [e.value for e in at.error]
    assert rows("select count(*) from transactions") == [(3,)], "the new row was rolled back"
    assert rows("select count(*), max(file_name) from imports") == [(1, "orders.csv")], "no ledger entry either"
    monkeypatch.undo()
    _every_tab_draws(at, lang)
