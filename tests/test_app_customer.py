"""The customer detail page through Streamlit's AppTest: both languages, the search, the matches, a
customer without fitted models, and a sales manager who opens another region's customer by URL.

The app reads the fixture database of ``tests/test_customer_detail.py`` (imported through the real
pipeline). The purchase figures and RFM values on the page are checked against pandas on the
fixture's raw rows (``expected_figures``); the model figures (P(alive), CLV) against the view model,
which ``tests/test_customer_detail.py`` and the model tests check.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from app_util import NORTH_MANAGER, open_app, page_text
from streamlit.testing.v1 import AppTest
from test_customer_detail import (
    DEFAULT,
    FOCUS,
    FOCUS_NAME,
    NAMESAKE,
    NAMESAKE_NAME,
    SHORT,
    build_database,
    expected_figures,
)

from analytics.metrics import customer as detail
from analytics.store.connection import connect
from ui.dates import fmt_date, fmt_month
from ui.figures import customer as figures
from ui.formats import fmt_int, fmt_money, fmt_number, fmt_pct
from ui.i18n import LANGUAGES, md_literal, t

PAGE = "pages/customer.py"
pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
ACCESS = NORTH_MANAGER


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("app_customer")
    access = folder / "access.toml"
    access.write_text(ACCESS, encoding="utf-8")
    return build_database(folder), access


@pytest.fixture(scope="module")
def views(world) -> dict:
    """The view models the page must show (for the model figures)."""
    con = connect(world[0])
    try:
        return {s: detail.customer_detail(con, s, customer=FOCUS) for s in (DEFAULT, SHORT)}
    finally:
        con.close()


def open_page(monkeypatch: pytest.MonkeyPatch, world, email: str | None = None, **params) -> AppTest:
    """The customer page with ``params`` in the address (``email``: logged in as that user)."""
    path, access = world
    return open_app(monkeypatch, path, page=PAGE, email=email, access=access, **params)


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.proto.delta) for m in at.metric}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_customer_in_each_language_shows_the_raw_rows_figures(monkeypatch, world, views, lang):
    at = open_page(monkeypatch, world, lang=lang, customer=FOCUS)
    want, view = expected_figures(DEFAULT), views[DEFAULT]
    v = view.value
    assert [x.value for x in at.title] == [t("nav_customer", lang)]
    assert at.text_input(key="customer_search").value == FOCUS
    assert at.main.header[0].value == FOCUS_NAME
    captions = [c.value for c in at.caption]
    assert captions[0] == " · ".join([t("customer_id_line", lang, id=FOCUS),
                                      t("customer_region_line", lang, region="华东"),
                                      t("customer_segment_line", lang, segment="企业"), "江苏 南京"])
    assert t("customer_acquisition_cost", lang, cost=fmt_money(88.5, lang)) in captions[1]
    assert t("customer_dates_line", lang, first=fmt_date(want["first"], lang),
             last=fmt_date(want["last"], lang)) in captions
    assert t("customer_rfm_line", lang, recency=fmt_int(want["recency"], lang),
             frequency=fmt_int(want["frequency"], lang), monetary=fmt_money(want["monetary"], lang)) in captions
    shown = metrics(at)
    assert shown[t("customer_revenue", lang)][0] == fmt_money(want["revenue"], lang)
    assert shown[t("customer_orders", lang)][0] == fmt_int(want["orders"], lang)
    assert shown[t("customer_purchase_days", lang)][0] == fmt_int(want["purchase_days"], lang)
    assert shown[t("customer_rfm", lang)] == (f"R{want['r']} · F{want['f']} · M{want['m']}",
                                              t(f"rfm_segment_{v['rfm_segment']}", lang))
    assert shown[t("customer_p_alive", lang)][0] == fmt_pct(v["p_alive"], lang)
    assert shown[t("customer_expected", lang, months="12")][0] == fmt_number(v["expected_purchases"], lang)
    assert shown[t("customer_clv", lang)] == (fmt_money(v["clv"], lang), t(
        "customer_clv_interval", lang, low=fmt_money(v["clv_low"], lang), high=fmt_money(v["clv_high"], lang)))
    assert shown[t("customer_historical", lang)][0] == fmt_money(v["historical_value"], lang)
    assert shown[t("customer_at_risk", lang)][0] == fmt_money(v["value_at_risk"], lang)
    # the transactions listed are the raw rows up to the period's end, newest first
    listed = next(df.value for df in at.dataframe if t("customer_col_transaction_id", lang) in df.value.columns)
    raw = want["transactions"]
    assert sorted(listed[t("customer_col_transaction_id", lang)]) == sorted(raw["transaction_id"])
    assert [str(d) for d in listed[t("customer_col_order_date", lang)]] == [str(d) for d in raw["order_date"]]
    assert sorted(listed[t("customer_col_amount", lang)].round(2)) == sorted(raw["amount"].round(2))
    as_of = DEFAULT.end_exclusive - timedelta(days=1)
    assert t("customer_transactions_caption", lang, shown=fmt_int(len(raw), lang), count=fmt_int(len(raw), lang),
             date=fmt_date(as_of, lang)) in captions
    # feedback: two surveys, two complaints (one open, one resolved in 7 days)
    assert t("customer_feedback_caption", lang, surveys="2", complaints="2", open="1", days="7") in captions
    notes = next(df.value for df in at.dataframe if t("customer_col_resolution_days", lang) in df.value.columns)
    assert sorted(x for x in notes[t("customer_col_resolution_days", lang)] if x != "") == ["7"]
    other = next(x for x in LANGUAGES if x != lang)
    assert t("customer_revenue", other) not in shown


def test_without_fitted_models_the_page_says_so_and_shows_the_rest(monkeypatch, world, views):
    view = views[SHORT]
    at = open_page(monkeypatch, world, lang="en", customer=FOCUS, **{"from": "2023-01", "to": "2023-02"})
    reason = t(f"customer_problem_{view.models_problem}", "en")
    assert [w.value for w in at.warning] == [t("customer_models_problem", "en", reason=reason)]
    shown = metrics(at)
    assert t("customer_p_alive", "en") not in shown and t("customer_clv", "en") not in shown
    want = expected_figures(SHORT)
    assert shown[t("customer_revenue", "en")][0] == fmt_money(want["revenue"], "en")
    assert shown[t("customer_rfm", "en")][0] == f"R{want['r']} · F{want['f']} · M{want['m']}"


def test_a_manager_opening_another_regions_customer_by_url_sees_not_found_and_nothing_of_them(monkeypatch, world):
    at = open_page(monkeypatch, world, "north@example.com", lang="en", customer=FOCUS)
    assert [i.value for i in at.info] == [t("customer_not_found", "en", query=md_literal(FOCUS))]
    assert not at.metric and not at.dataframe and not at.get("plotly_chart")
    text = page_text(at)
    want = expected_figures(DEFAULT)
    leaks = [FOCUS_NAME, "南京", "江苏", "T7001", "线上广告", fmt_money(want["revenue"], "en"),
             f"{want['revenue']:.2f}", "茶具"]
    assert not [x for x in leaks if x in text]
    # the same words as for an id that does not exist
    missing = open_page(monkeypatch, world, "north@example.com", lang="en", customer="K999")
    assert [i.value for i in missing.info] == [t("customer_not_found", "en", query="K999")]
    # their own region's customer opens
    own = open_page(monkeypatch, world, "north@example.com", lang="en", customer=NAMESAKE)
    assert own.main.header[0].value == NAMESAKE_NAME


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_search_with_several_matches_lists_them_to_open(monkeypatch, world, lang):
    at = open_page(monkeypatch, world, lang=lang, customer="星辰")
    assert at.caption[0].value == t("customer_matches", lang, query="星辰", count="2")
    table = at.dataframe[0].value
    ids = table[t("customer_col_id", lang)].tolist()
    assert set(ids) == {FOCUS, NAMESAKE}
    assert set(table[t("customer_col_name", lang)]) == {FOCUS_NAME, NAMESAKE_NAME}
    # each row's link opens that customer with the language kept
    assert table[t("col_customer_detail", lang)].tolist() == [f"/customer?lang={lang}&customer={i}" for i in ids]


def test_no_customer_shows_the_search_and_what_it_does(monkeypatch, world):
    at = open_page(monkeypatch, world, lang="zh")
    assert at.text_input(key="customer_search").value == ""
    assert [i.value for i in at.info] == [t("customer_intro", "zh")]
    assert not at.metric and not at.dataframe


def test_typing_an_id_opens_the_customer_and_puts_it_in_the_address(monkeypatch, world):
    at = open_page(monkeypatch, world, lang="en")
    at.text_input(key="customer_search").input(f"  {FOCUS} ").run()
    assert not at.exception
    assert at.main.header[0].value == FOCUS_NAME
    assert at.query_params["customer"] == FOCUS
    at.text_input(key="customer_search").input("").run()
    assert "customer" not in at.query_params
    assert [i.value for i in at.info] == [t("customer_intro", "en")]


def test_the_history_chart_shows_every_month_to_the_periods_end_with_few_labels(views):
    view = views[DEFAULT]
    fig = figures.purchase_history_bars(view.months, DEFAULT.end, "zh")
    revenue, days = fig.data
    want = expected_figures(DEFAULT)
    first = min(want["revenue_by_month"].index)
    assert len(revenue.x) == (DEFAULT.end.year - first.year) * 12 + DEFAULT.end.month - first.month + 1
    by_month = dict(zip(revenue.x, revenue.y, strict=True))
    assert {m: round(float(v), 2) for m, v in by_month.items() if v} == {
        fmt_month(m, "zh"): round(float(v), 2) for m, v in want["revenue_by_month"].items() if v}
    assert sum(days.y) == want["purchase_days"]
    assert 0 < len(fig.layout.xaxis2.tickvals or fig.layout.xaxis.tickvals) <= figures.MAX_MONTH_LABELS


def test_the_matches_caption_says_when_the_list_is_cut():
    few, cut = pd.DataFrame({"customer_id": ["a", "b"]}), pd.DataFrame({"customer_id": range(detail.MATCHES_SHOWN)})
    assert figures.matches_caption(few, "x", "en") == t("customer_matches", "en", query="x", count="2")
    assert figures.matches_caption(cut, "x", "en") == t("customer_matches_first", "en", query="x",
                                                        count=str(detail.MATCHES_SHOWN))
