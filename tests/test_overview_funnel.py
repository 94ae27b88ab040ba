"""The overview's funnel in miniature (analytics.metrics.overview_funnel, ui/overview_funnel.py) on the seeded random
file of tests/funnel_reference.py (1,200 customers in three regions) imported through the real pipeline.

Its stage counts, the overall conversion with its Wilson interval and the change from the comparison period equal
the funnel page's view (``funnel_view.load``, the page's own loader) and tests/funnel_reference.py's pandas
computation on the raw rows; "within sampling error" is statsmodels' two-proportion z-test at p ≥ 0.05. Nobody in the
cohort: no funnel, in the view model, the report and on the page. ``report overview`` carries it as ``funnel``. The
page (AppTest) shows it in both languages from the same computation as the funnel page (one producer call for both
pages)."""

from __future__ import annotations

import functools
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from app_util import open_app
from funnel_reference import Expected, expected, raw_of, wilson, world
from statsmodels.stats.proportion import proportions_ztest
from test_churn_view import load

from analytics.cli import main
from analytics.metrics import funnel_view, overview_funnel
from analytics.metrics import overview as ov
from analytics.metrics.funnel_stages import BY_KEY
from analytics.report import plain
from analytics.scope import Scope
from analytics.store.connection import connect
from ui.dates import fmt_date, fmt_period
from ui.figures.overview import funnel_mini_bars
from ui.formats import fmt_delta_points, fmt_int, fmt_pct
from ui.i18n import LANGUAGES, t

#: The funnel page's tests' year (tests/test_funnel_report.py): -2.5 points from the year before.
YEAR = Scope(date(2023, 7, 1), date(2024, 6, 1))
#: A change beyond sampling error: 38.9 % of 440 against 46.1 % of the year before's cohort (p = 0.03).
BEYOND = Scope(date(2023, 12, 1), date(2024, 11, 1))
#: A change within it: half a year, 38.0 % against 37.1 % (p = 0.85).
WITHIN = Scope(date(2024, 3, 1), date(2024, 8, 1))
NORTH_LAST_YEAR = Scope(date(2023, 7, 1), date(2024, 6, 1), "last_year", regions=("华北",))
#: No comparison period; and one before the data's first day (an empty comparison cohort).
NO_COMPARISON = Scope(date(2023, 7, 1), date(2024, 6, 1), "none")
EMPTY_COMPARISON = Scope(date(2022, 6, 1), date(2022, 11, 1))
#: Sales on its first days, but every customer's first purchase is before (the last one starts on 2025-02-25).
NOBODY_NEW = Scope(date(2025, 3, 1), date(2025, 3, 1))
SCOPES = [pytest.param(s, id=i) for s, i in ((YEAR, "year"), (BEYOND, "beyond"), (WITHIN, "within"),
                                             (NORTH_LAST_YEAR, "north-last_year"), (NO_COMPARISON, "no-comparison"),
                                             (EMPTY_COMPARISON, "empty-comparison"))]


@pytest.fixture(scope="module", name="data")
def data_fixture():
    return world()


@pytest.fixture(scope="module", name="raw")
def raw_fixture(data):
    return raw_of(*data)


@pytest.fixture(scope="module", name="want")
def want_fixture(raw):
    """``expected(raw, scope)``, computed once per scope (the raw rows are read-only; callers only read it)."""
    return functools.cache(lambda scope: expected(raw, scope))


@pytest.fixture(scope="module", name="db")
def db_fixture(tmp_path_factory, data) -> Path:
    folder = tmp_path_factory.mktemp("overview_funnel")
    load(folder, *data).close()
    return folder / "crm.duckdb"


@pytest.fixture(name="con")
def con_fixture(db):
    """The database, closed after the test (the command line and the app open it themselves)."""
    con = connect(db)
    yield con
    con.close()


def approx(x):
    return pytest.approx(x, abs=1e-12, nan_ok=True)


def z_test(want: Expected) -> float:
    """statsmodels' pooled two-proportion z-test of the two cohorts' overall conversions (two-sided p)."""
    now, before = want.stages["members"], want.comparison["members"]
    return float(proportions_ztest([now.iloc[-1], before.iloc[-1]], [now.iloc[0], before.iloc[0]])[1])


def assert_mini(mini: overview_funnel.MiniFunnel, view: funnel_view.FunnelView, want: Expected) -> None:
    """Every figure of the miniature against the funnel page's view and against the raw rows."""
    stages = mini.stages
    assert stages["stage"].tolist() == list(view.stages) == want.stages["stage"].tolist()
    assert stages["members"].tolist() == view.funnel.counts["members"].tolist() == want.stages["members"].tolist()
    for column in ("pct_previous", "pct_first"):
        assert stages[column].tolist() == approx(want.stages[column].tolist()), column
    k, n = int(want.stages["members"].iloc[-1]), len(want.ref)
    assert (mini.members, mini.reached, mini.as_of) == (n, k, want.as_of)
    assert mini.overall == view.overall == approx((k / n, *wilson(k, n)))
    if want.comparison is None:
        assert (mini.comparison_members, mini.comparison_overall, mini.change, mini.p_value) == (None,) * 4
        assert mini.within_noise is None
        return
    before = want.comparison["members"]
    assert mini.comparison_members == int(before.iloc[0]) and mini.comparison_as_of == want.comparison_as_of
    if not before.iloc[0]:  # nobody in the comparison cohort: nothing to compare with
        assert (mini.change, mini.p_value, mini.within_noise) == (None, None, None)
        return
    assert mini.comparison_overall == approx((before.iloc[-1] / before.iloc[0], *wilson(before.iloc[-1],
                                                                                         before.iloc[0])))
    assert mini.change == view.overall_change == approx(want.overall - before.iloc[-1] / before.iloc[0])
    assert mini.p_value == pytest.approx(z_test(want), abs=1e-12)
    assert mini.within_noise == (z_test(want) >= 0.05)


@pytest.mark.parametrize("scope", SCOPES)
def test_the_miniature_is_the_funnel_pages_view_and_the_raw_rows(con, want, scope):
    view = funnel_view.load(con, scope)
    mini = overview_funnel.mini_funnel(con, scope)
    assert_mini(mini, view, want(scope))


def test_a_change_beyond_and_one_within_sampling_error(con, want):
    """The scopes are what their names say (by statsmodels), and the miniature says the same."""
    beyond, within = want(BEYOND), want(WITHIN)
    assert z_test(beyond) < 0.05 <= z_test(within)
    assert overview_funnel.mini_funnel(con, BEYOND).within_noise is False
    assert overview_funnel.mini_funnel(con, WITHIN).within_noise is True
    assert round(100 * overview_funnel.mini_funnel(con, YEAR).change, 1) == -2.5


def test_the_overview_holds_the_funnel_pages_figures_once(con, want, monkeypatch):
    """overview() asks the funnel page's producer once (the funnel that ``which`` picks) and keeps its miniature;
    with_funnel=False (the page's first paint) never asks."""
    calls = []
    real = funnel_view.PRODUCERS["lifecycle"]

    def producer(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setitem(funnel_view.PRODUCERS, "lifecycle", producer)
    view = ov.overview(con, YEAR, with_average_clv=False, with_churn=False)
    assert len(calls) == 1 and calls[0]["order"] == "strict" and calls[0]["loyal_min"] == funnel_view.LOYAL_MIN
    assert calls[0]["window_days"] is None and calls[0]["stuck_days"] is None  # (the page's defaults)
    assert_mini(view.funnel, funnel_view.load(con, YEAR), want(YEAR))
    calls.clear()
    assert ov.overview(con, YEAR, with_average_clv=False, with_churn=False, with_funnel=False).funnel is None
    assert calls == []


def test_nobody_in_the_cohort_no_funnel(con, raw):
    """March 2025 has sales (its first four days) but no first purchase: no miniature, no report part, no lines."""
    days = pd.to_datetime(raw.buys["day"])
    first = days.groupby(raw.buys["customer_id"]).min()
    march = (pd.Timestamp(NOBODY_NEW.start), pd.Timestamp(NOBODY_NEW.end_exclusive))
    assert days.between(*march, inclusive="left").any() and not first.between(*march, inclusive="left").any()
    assert funnel_view.load(con, NOBODY_NEW).empty
    assert overview_funnel.mini_funnel(con, NOBODY_NEW) is None
    view = ov.overview(con, NOBODY_NEW, with_average_clv=False)
    assert view.kpis["orders"].value > 0 and view.funnel is None
    data = plain(ov.report(view))
    assert data["funnel"] is None
    assert not any("funnel" in line for line in ov.report_lines(data))


def report_json(capsys, db: Path, *args: str) -> dict:
    assert main(["--db", str(db), "report", "overview", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_overview_report_has_the_funnel(db, want, capsys):
    """``report overview --json``'s ``funnel``: the miniature's report (the same function), each figure the raw
    rows'; the text report says it in a few lines."""
    data = report_json(capsys, db, "--from", "2023-12", "--to", "2024-11")
    con = connect(db)
    try:
        ours = plain(overview_funnel.report(overview_funnel.mini_funnel(con, BEYOND)))
    finally:
        con.close()
    funnel = data["funnel"]
    assert funnel == json.loads(json.dumps(ours, default=str))
    want = want(BEYOND)
    assert (funnel["kind"], funnel["why"], funnel["as_of"]) == ("lifecycle", "no_leads", str(want.as_of))
    assert [(s["key"], s["en"], s["zh"]) for s in funnel["stages"]] == [
        (k, BY_KEY[k].en, BY_KEY[k].zh) for k in want.stages["stage"]]
    assert [s["members"] for s in funnel["stages"]] == want.stages["members"].tolist()
    assert [s["pct_first"] for s in funnel["stages"]] == approx(want.stages["pct_first"].tolist())
    k, n = int(want.stages["members"].iloc[-1]), len(want.ref)
    assert funnel["overall"] == {"value": approx(k / n), "low": approx(wilson(k, n)[0]),
                                 "high": approx(wilson(k, n)[1]), "of": n}
    before = want.comparison["members"]
    assert funnel["comparison"]["overall"]["of"] == before.iloc[0]
    assert funnel["comparison"]["as_of"] == str(want.comparison_as_of)
    assert funnel["change"] == approx(k / n - before.iloc[-1] / before.iloc[0])
    assert funnel["p_value"] == pytest.approx(z_test(want), abs=1e-12) and funnel["within_sampling_error"] is False
    assert main(["--db", str(db), "report", "overview", "--from", "2023-12", "--to", "2024-11"]) == 0
    text = capsys.readouterr().out
    assert f"  First purchase      {n:>9,}   100.0%\n" in text
    assert (f"  overall {k / n:.1%} (95% CI {wilson(k, n)[0]:.1%}–{wilson(k, n)[1]:.1%}) of {n:,}, "
            f"{100 * (k / n - before.iloc[-1] / before.iloc[0]):+.1f} pts against "
            f"{before.iloc[-1] / before.iloc[0]:.1%}\n") in text
    within = report_json(capsys, db, "--from", "2024-03", "--to", "2024-08")["funnel"]
    assert within["within_sampling_error"] is True
    assert report_json(capsys, db, "--from", "2023-07", "--to", "2024-06", "--compare", "none")["funnel"][
        "comparison"] is None
    assert report_json(capsys, db, "--from", "2025-03", "--to", "2025-03")["funnel"] is None


def test_the_bars_are_text_not_markup():
    """A stage name is escaped in the HTML; each bar is as long as its stage's share of the first."""
    stages = pd.DataFrame({"stage": ["a", "b"], "members": [10, 4], "pct_previous": [float("nan"), 0.4],
                           "pct_first": [1.0, 0.4]})
    out = funnel_mini_bars(stages, {"a": "<img src=x onerror=alert(1)>", "b": "B & C"}, "en")
    assert "<img" not in out and "&lt;img src=x onerror=alert(1)&gt;" in out and "B &amp; C" in out
    assert "width:100.00%" in out and "width:40.00%" in out and "40.0% of first" in out


# ------------------------------------------------------------------ the page


def run_overview(monkeypatch, db: Path, lang: str, scope: Scope, **params):
    return open_app(monkeypatch, db, lang=lang, **{"from": f"{scope.start:%Y-%m}", "to": f"{scope.end:%Y-%m}"},
                    **params)


def funnel_html(at) -> str:
    shown = [h.proto.body for h in at.get("html") if "role='list'" in h.proto.body]
    assert len(shown) == 1
    return shown[0]


@pytest.mark.usefixtures("fresh_streamlit_caches")
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("scope", [pytest.param(BEYOND, id="beyond"), pytest.param(WITHIN, id="within")])
def test_the_overview_shows_the_miniature_in_each_language(monkeypatch, db, want, lang, scope):
    """The subheader, the cohort, each stage's name, count and share of the first, the overall conversion with its
    interval and the change (coloured beyond sampling error, said to be within it otherwise), and the link; every
    figure the raw rows'. The funnel page opened next reuses the overview's computation (one producer call)."""
    calls = []
    real = funnel_view.PRODUCERS["lifecycle"]
    monkeypatch.setitem(funnel_view.PRODUCERS, "lifecycle", lambda *a, **k: calls.append(k) or real(*a, **k))
    at = run_overview(monkeypatch, db, lang, scope)
    want = want(scope)
    assert t("overview_funnel_title", lang) in [s.value for s in at.subheader]
    k, n = int(want.stages["members"].iloc[-1]), len(want.ref)
    assert t("overview_funnel_caption_lifecycle", lang, n=fmt_int(n, lang),
             period=fmt_period(scope.start, scope.end, lang), as_of=fmt_date(want.as_of, lang)) in [
        c.value for c in at.caption]
    bars = funnel_html(at)
    for i, row in enumerate(want.stages.itertuples()):
        assert BY_KEY[row.stage].name(lang) in bars and f"<b>{fmt_int(row.members, lang)}</b>" in bars
        if i:
            assert t("funnel_fig_pct_first", lang, pct=fmt_pct(row.pct_first, lang)) in bars
    markdown = [m.value for m in at.markdown]
    low, high = wilson(k, n)
    assert t("overview_funnel_overall", lang, value=fmt_pct(k / n, lang), k=fmt_int(k, lang), n=fmt_int(n, lang),
             stage=BY_KEY["active"].name(lang), ci=t("ci95", lang, low=fmt_pct(low, lang),
                                                      high=fmt_pct(high, lang))) in markdown
    before = want.comparison["members"]
    change = fmt_delta_points(k / n - before.iloc[-1] / before.iloc[0], lang)
    comparison = scope.comparison()
    said = [m for m in markdown if fmt_period(comparison.start, comparison.end, lang) in m]
    assert len(said) == 1
    if scope == WITHIN:
        assert said[0] == t("overview_funnel_change_noise", lang, change=change,
                            period=fmt_period(comparison.start, comparison.end, lang),
                            before=fmt_pct(before.iloc[-1] / before.iloc[0], lang), n=fmt_int(before.iloc[0], lang))
    else:  # a fall: red in English, green in Chinese
        assert f":{'green' if lang == 'zh' else 'red'}[**" in said[0]
        assert t("highlight_within_noise", lang) not in said[0] and "sampling error" not in said[0]
    assert t("overview_funnel_link", lang) in [p.proto.label for p in at.get("page_link")]
    assert len(calls) == 1
    at.switch_page("pages/funnel.py")
    at.run()
    assert not at.exception and len(calls) == 1  # (the funnel page's own view: the overview's, from the cache)


@pytest.mark.usefixtures("fresh_streamlit_caches")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_nobody_in_the_cohort_shows_nothing_of_the_funnel(monkeypatch, db, lang):
    at = run_overview(monkeypatch, db, lang, NOBODY_NEW)
    assert at.metric  # (the overview has figures: sales in the month)
    assert t("overview_funnel_title", lang) not in [s.value for s in at.subheader]
    assert not [h for h in at.get("html") if "role='list'" in h.proto.body]
    assert t("overview_funnel_link", lang) not in [p.proto.label for p in at.get("page_link")]

