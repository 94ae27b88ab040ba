"""The funnel page (pages/funnel.py) through Streamlit's AppTest, on the seeded random file of tests/funnel_reference.py
(1,200 customers in three regions) imported through the real pipeline, over July 2023 to June 2024 (compared with the
12 months before). What the page shows — the tiles, the leak in a sentence, the funnel's bars and table, the groups,
the stage times, the stuck customers and their download — equals tests/funnel_reference.py's computation on the raw
rows, in both languages; then the region filter with the order switch, the settings from the address (a link's bad
value refused with a warning), a sales manager (nothing of another region, downloads included), and a cohort that is
empty or tiny. The command line's report: tests/test_funnel_report.py."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from app_util import NORTH_MANAGER, open_app, page_text, spy_downloads
from funnel_reference import Expected, expected, raw_of, world
from import_util import database_of
from streamlit.testing.v1 import AppTest

from analytics.metrics.funnel_stages import BY_KEY
from analytics.scope import Scope
from ui.formats import fmt_delta_pct, fmt_delta_points, fmt_int, fmt_pct
from ui.i18n import LANGUAGES, md_literal, t

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
PAGE = "pages/funnel.py"
PERIOD = {"from": "2023-07", "to": "2024-06"}
SCOPE = Scope(date(2023, 7, 1), date(2024, 6, 1))
SECTIONS = ("funnel_stages_title", "funnel_groups_title", "funnel_times_title", "funnel_stuck_title")


@pytest.fixture(scope="module", name="data")
def data_fixture():
    return world()


@pytest.fixture(scope="module", name="raw")
def raw_fixture(data):
    return raw_of(*data)


def imported(folder: Path, sales: pd.DataFrame, customers: pd.DataFrame | None) -> Path:
    frames = {"customers": customers} if customers is not None else {}
    return database_of(folder, frames | {"transactions": sales.rename(columns={"day": "order_date"})})


@pytest.fixture(scope="module", name="db")
def db_fixture(data, tmp_path_factory):
    return imported(tmp_path_factory.mktemp("app_funnel"), *data)


def run_page(monkeypatch, path: Path, lang: str = "en", **params) -> AppTest:
    return open_app(monkeypatch, path, page=PAGE, lang=lang, **(PERIOD | params))


def col(name: str, lang: str) -> str:
    return t(f"funnel_col_{name}", lang)


def table_with(at: AppTest, lang: str, *columns: str) -> pd.DataFrame:
    found = [df.value for df in at.dataframe if all(col(c, lang) in df.value.columns for c in columns)]
    assert len(found) == 1, (columns, len(found))
    return found[0]


def name(key: str, lang: str) -> str:
    return BY_KEY[key].name(lang)


def close(shown, want) -> bool:
    return np.allclose(np.asarray(shown, dtype=float), np.asarray(want, dtype=float), equal_nan=True, atol=1e-12)


def assert_page_shows(at: AppTest, want: Expected, lang: str, grouping: str = "region") -> None:
    """The tiles, the leak, the funnel (bars and table), the chosen grouping's table, the times and the stuck
    customers against the raw rows' figures."""
    stages, before = want.stages, want.comparison
    tiles = {m.label: (m.value, m.proto.delta) for m in at.metric}
    n, m = len(want.ref), int(before["members"].iloc[0])
    assert tiles[t("funnel_kpi_members", lang)] == (fmt_int(n, lang), fmt_delta_pct((n - m) / m, lang))
    overall_before = before["members"].iloc[-1] / m
    assert tiles[t("funnel_kpi_overall", lang)] == (fmt_pct(want.overall, lang),
                                                   fmt_delta_points(want.overall - overall_before, lang))
    leak = want.leak
    assert tiles[t("funnel_kpi_leak", lang)][0] == fmt_pct(leak["lost_share"], lang)
    parts = {"before": name(stages["stage"][leak["step"] - 1], lang), "after": name(stages["stage"][leak["step"]],
                                                                                    lang),
             "lost": fmt_pct(leak["lost_share"], lang)}
    sentence = t("funnel_leak", lang, region=md_literal(leak["region"]),
                 region_lost=fmt_pct(leak["region_lost_share"], lang), **parts) if leak["region"] else \
        t("funnel_leak_no_region", lang, **parts)
    assert sentence in [w.value for w in at.warning]
    # the funnel: the bars' lengths and labels, then its table
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert bars["data"][0]["x"] == stages["members"].tolist()
    labels = " ".join(a["text"] for a in bars["layout"]["annotations"])
    for row in stages.itertuples():
        assert t("funnel_fig_pct_first", lang, pct=fmt_pct(row.pct_first, lang)) in labels
    table = table_with(at, lang, "stage", "members", "compare_members")
    assert table[col("stage", lang)].tolist() == [name(k, lang) for k in stages["stage"]]
    for column in ("members", "continued"):
        assert table[col(column, lang)].tolist() == stages[column].tolist(), column
    for column in ("pct_previous", "pct_first", "conversion", "low", "high"):
        assert close(table[col(column, lang)], stages[column]), column
    assert table[col("compare_members", lang)].tolist() == before["members"].tolist()
    assert close(table[col("compare_pct_first", lang)], before["pct_first"])
    # each step per group, weakest first within a step
    groups = table_with(at, lang, "step", "group", "rank")
    ref = want.groups[grouping]
    steps = [f"{name(a, lang)} → {name(b, lang)}" for a, b in zip(stages["stage"][:-1], stages["stage"][1:],
                                                                     strict=True)]
    none = t(f"funnel_no_{grouping}", lang)
    ref = ref.assign(label=[g if isinstance(g, str) else none for g in ref["group"]])
    for i, step in enumerate(steps, start=1):
        shown = groups[groups[col("step", lang)] == step]
        mine = ref[ref["step"] == i]
        mine = mine.sort_values(["rank", "label"], na_position="last")
        ranked = mine[mine["rank"].notna()]
        assert shown[col("group", lang)].tolist()[:len(ranked)] == ranked["label"].tolist()
        by = shown.set_index(col("group", lang))
        for row in mine.itertuples():
            got = by.loc[row.label]
            assert (got[col("start", lang)], got[col("reached", lang)]) == (row.start, row.reached)
            assert close([got[col(c, lang)] for c in ("rate", "low", "high")], [row.rate, row.low, row.high])
            assert got[col("small", lang)] == (t("funnel_too_few", lang) if row.small else "")
    times = table_with(at, lang, "from_stage", "median")
    assert times[col("n", lang)].tolist() == want.times["n"].tolist()
    for column in ("median", "q1", "q3"):
        assert close(times[col(column, lang)], want.times[column]), column
    if want.stuck:
        listed = table_with(at, lang, "customer_id", "days_in_stage")
        assert list(zip(listed[col("customer_id", lang)], listed[col("stage", lang)],
                        listed[col("days_in_stage", lang)], strict=True)) == [
            (c, name(k, lang), d) for c, k, d in want.stuck]
    else:
        assert t("funnel_stuck_none_lifecycle", lang, w=fmt_int(want.window, lang)) in page_text(at)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_shows_the_raw_rows_figures(monkeypatch, db, data, raw, lang):
    downloads = spy_downloads(monkeypatch)
    at = run_page(monkeypatch, db, lang)
    assert [x.value for x in at.title] == [t("nav_funnel", lang)]
    assert [s.value for s in at.subheader] == [t(k, lang) for k in SECTIONS]
    assert t("funnel_which_lifecycle_no_leads", lang) in at.info[0].value
    want = expected(raw, SCOPE)
    assert want.leak["region"] and want.stuck  # (the fixture names a worst region and lists a stuck customer)
    assert_page_shows(at, want, lang)
    stuck = [d for d in downloads if col("days_in_stage", lang) in d.columns]
    assert stuck and stuck[0][col("customer_id", lang)].tolist() == [c for c, _, _ in want.stuck]
    names = data[1].set_index("customer_id")["customer_name"]  # (the customers file's; some customers have none)
    got = stuck[0].set_index(col("customer_id", lang))[col("customer_name", lang)]
    assert got.astype(object).where(got.notna(), None).tolist() == \
        [names.get(c) if isinstance(names.get(c), str) else None for c in got.index]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_region_filter_and_the_order_switch(monkeypatch, db, raw, lang):
    at = run_page(monkeypatch, db, lang, region="华北")
    scope = Scope(SCOPE.start, SCOPE.end, regions=("华北",))
    assert_page_shows(at, expected(raw, scope), lang)
    assert at.radio(key="funnel_order").value == "strict"
    at.radio(key="funnel_order").set_value("any").run()
    assert not at.exception and at.query_params["order"] == "any"
    assert t("funnel_order_any_rule", lang) in page_text(at)
    assert_page_shows(at, expected(raw, scope, "any"), lang)
    assert not [r for r in ("华东", "华南") if r in page_text(at)]
    at.radio(key="funnel_group_by").set_value("segment").run()
    assert_page_shows(at, expected(raw, scope, "any"), lang, grouping="segment")
    at.radio(key="funnel_order").set_value("strict").run()
    assert "order" not in at.query_params


def test_the_settings_from_the_address(monkeypatch, db, raw):
    at = run_page(monkeypatch, db, "en", order="any", loyal_min="5", window_days="120", stuck_days="20")
    assert at.radio(key="funnel_order").value == "any"
    assert [at.number_input(key=f"funnel_{k}").value for k in ("loyal_min", "window_days", "stuck_days")] == [
        5, 120, 20]
    want = expected(raw, SCOPE, "any", 5, 120, 20)
    assert_page_shows(at, want, "en")
    assert t("funnel_window_option", "en", w="120") in at.info[0].value
    at.number_input(key="funnel_stuck_days").set_value(None).run()
    assert "stuck_days" not in at.query_params and at.query_params["loyal_min"] == "5"
    assert_page_shows(at, expected(raw, SCOPE, "any", 5, 120), "en")


@pytest.mark.parametrize(("params", "refused"), [
    ({"order": "sideways"}, ["order"]),
    ({"order": "any'--", "stuck_days": "0", "loyal_min": "x"}, ["loyal_min", "stuck_days", "order"]),
])
def test_a_links_bad_values_are_refused_with_a_warning(monkeypatch, db, raw, params, refused):
    at = run_page(monkeypatch, db, "zh", **params)
    warned = [w.value for w in at.warning]
    for option in refused:
        assert t("funnel_option_refused", "zh", name=t(f"funnel_setting_{option}", "zh"),
                 value=md_literal(params[option])) in warned
    assert at.radio(key="funnel_order").value == "strict"
    assert_page_shows(at, expected(raw, SCOPE), "zh")


def test_a_sales_manager_sees_only_their_regions_downloads_included(monkeypatch, db, raw, tmp_path):
    access = tmp_path / "access.toml"
    access.write_text(NORTH_MANAGER, encoding="utf-8")
    downloads = spy_downloads(monkeypatch)
    at = run_page(monkeypatch, db, "en", email="north@example.com", access=access, region="华东",
                  stuck_days="20")
    text = page_text(at) + "\n".join(d.to_csv() for d in downloads)
    assert not [r for r in ("华东", "华南") if r in text]
    want = expected(raw, Scope(SCOPE.start, SCOPE.end, allowed_regions=("华北",)), stuck_days=20)
    assert_page_shows(at, want, "en")


@pytest.fixture(scope="module", name="small_db")
def small_db_fixture(tmp_path_factory):
    """Four customers of 华东: two first buying in January 2023 (one of them again in March 2024), two in March."""
    sales = pd.DataFrame([("T1", "C1", "2023-01-10", 50.0, "华东"), ("T2", "C2", "2023-01-20", 60.0, "华东"),
                          ("T3", "C2", "2023-02-03", 70.0, "华东"), ("T4", "C3", "2023-03-05", 20.0, "华东"),
                          ("T5", "C4", "2023-03-09", 30.0, "华东"), ("T6", "C1", "2024-03-01", 40.0, "华东")],
                         columns=["transaction_id", "customer_id", "day", "amount", "region"])
    return imported(tmp_path_factory.mktemp("app_funnel_small"), sales, None)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_empty_cohort_says_so(monkeypatch, small_db, lang):
    at = run_page(monkeypatch, small_db, lang, **{"from": "2024-01", "to": "2024-03"})
    assert t("funnel_nothing", lang) in [i.value for i in at.info]
    assert not at.metric and not at.get("plotly_chart") and not at.subheader


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_tiny_cohort_is_shown_with_a_warning(monkeypatch, small_db, lang):
    at = run_page(monkeypatch, small_db, lang, **{"from": "2023-01", "to": "2023-03"})
    assert t("funnel_tiny", lang, n=fmt_int(4, lang), min=fmt_int(30, lang)) in [w.value for w in at.warning]
    table = table_with(at, lang, "stage", "members")
    assert table[col("members", lang)].tolist()[:2] == [4, 2]  # (C2 bought again, C1 a year later)
    assert [s.value for s in at.subheader] == [t(k, lang) for k in SECTIONS]
