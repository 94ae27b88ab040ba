"""The satisfaction & loyalty page's figures (ui/figures/satisfaction.py): each draws exactly its view's numbers
(CSAT and NPS per month with their bands and the comparison period's months, the responses, the trend and the
season, each group's figure with its interval, satisfied beside loyal, the quadrants' customers and revenue, the
retention curve with its band), groups too few to trust faded and last, names from the data as text (never markup),
labels in the language asked for, and a note rather than an exception when there is nothing to draw. The view is
:func:`analytics.metrics.satisfaction_view.load` on the seeded world of tests/satisfaction_fixture.py over 2024.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import satisfaction_fixture as sf
from import_util import database_of

from analytics.metrics.satisfaction_view import SatisfactionView, load
from analytics.models.scores import decompose
from analytics.scope import Scope
from analytics.store.connection import connect
from ui.figures import satisfaction as fs
from ui.formats import fmt_int, fmt_money, fmt_pct
from ui.i18n import LANGUAGES, t


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> SatisfactionView:
    sales, customers, feedback = sf.world()
    path = database_of(tmp_path_factory.mktemp("figures_satisfaction"), {
        "customers": customers, "transactions": sales.rename(columns={"day": "order_date"}), "feedback": feedback})
    con = connect(Path(path))
    try:
        return load(con, Scope(sf.PERIOD_START, sf.PERIOD_END))
    finally:
        con.close()


def values(array) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in array])


def same(drawn, expected) -> bool:
    return np.allclose(values(drawn), np.asarray(expected, dtype=float), equal_nan=True)


def no_data(fig, lang: str) -> bool:
    return [a.text for a in fig.layout.annotations] == [t("satisfaction_fig_no_data", lang)]


def named(fig, name: str):
    return next(tr for tr in fig.data if tr.name == name)


@pytest.mark.parametrize("measure", ["csat", "nps"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_monthly_line_draws_each_month_its_band_and_the_comparison_month_beside_it(view, measure, lang):
    s = view.satisfaction
    fig = fs.monthly_line(s.monthly, s.comparison_monthly, measure, lang)
    line = named(fig, t(f"satisfaction_fig_{measure}", lang))
    assert same(line.y, s.monthly[measure]) and len(line.x) == 12
    assert [pd.Timestamp(x).date() for x in line.x] == list(s.monthly["month"])
    band = named(fig, t("satisfaction_fig_band", lang))
    upper = fig.data[list(fig.data).index(band) - 1]
    assert same(band.y, s.monthly[f"{measure}_low"]) and same(upper.y, s.monthly[f"{measure}_high"])
    past = named(fig, t("satisfaction_fig_comparison", lang))
    assert same(past.y, s.comparison_monthly[measure]) and list(past.x) == list(line.x)  # 2023's months at 2024's
    # the hover names the comparison's own month
    assert str(s.comparison_monthly["month"].iloc[0].year) in past.customdata[0]
    # the axis holds every value and band drawn
    low, high = fig.layout.yaxis.range
    assert low <= np.nanmin(s.monthly[f"{measure}_low"]) and high >= np.nanmax(s.monthly[f"{measure}_high"])


def test_the_responses_bar_draws_both_counts(view):
    m = view.satisfaction.monthly
    fig = fs.responses_bar(m, "en")
    assert same(named(fig, t("satisfaction_fig_csat_n", "en")).y, m["csat_n"])
    assert same(named(fig, t("satisfaction_fig_nps_n", "en")).y, m["nps_n"])


@pytest.mark.parametrize("measure", ["csat", "nps"])
def test_the_trend_and_the_season(view, measure):
    d = view.satisfaction.trends[measure]
    assert d.method == "stl"
    fig = fs.trend_lines(d.frame, d.method, measure, "en")
    assert same(named(fig, t("satisfaction_fig_trend", "en")).y, d.frame["trend"])
    assert same(named(fig, t("satisfaction_fig_season", "en")).y, d.frame["season"])
    dots = named(fig, t("satisfaction_fig_months", "en"))
    assert same(dots.y, np.where(d.frame["filled"], np.nan, d.frame["value"]))
    # under 24 months: a moving average, no season drawn
    short = d.frame.tail(10)
    few = decompose(short["month"], short["value"].to_numpy(), np.ones(10))
    fig = fs.trend_lines(few.frame, few.method, measure, "en")
    assert few.method == "moving_average"
    assert same(named(fig, t("satisfaction_fig_trend", "en")).y, few.frame["trend"])
    assert t("satisfaction_fig_season", "en") not in [tr.name for tr in fig.data]


@pytest.mark.parametrize("measure", ["csat", "nps"])
def test_groups_are_ranked_with_those_too_few_to_trust_faded_and_last(view, measure):
    frame = view.satisfaction.by_group["home_region"]
    frame = frame.assign(label=frame["group"].astype(str))
    # one group made too few to trust, whatever its figure
    top = frame[measure].idxmax()
    frame.loc[top, f"{measure}_small"] = True
    fig = fs.group_dots(frame, measure, "en")
    dots = fig.data[0]
    trusted = frame[~frame[f"{measure}_small"]].sort_values(measure, ascending=False)
    few = frame[frame[f"{measure}_small"]]
    order = pd.concat([trusted, few])
    assert list(dots.y) == list(order["label"])
    assert same(dots.x, order[measure])
    assert same(dots.error_x.array, order[f"{measure}_high"] - order[measure])
    assert same(dots.error_x.arrayminus, order[measure] - order[f"{measure}_low"])
    faded = [c.endswith(", 0.3)") for c in dots.marker.color]
    assert faded == list(order[f"{measure}_small"])
    ticks = list(fig.layout.yaxis.ticktext)
    for tick, n, small in zip(ticks, order[f"{measure}_n"], order[f"{measure}_small"], strict=True):
        assert f"n = {fmt_int(n, 'en')}" in tick and (t("satisfaction_fig_too_few", "en") in tick) is bool(small)
    # the tiers keep their order
    tiers = view.satisfaction.by_group["tier"].assign(label=lambda f: f["group"].astype(str))
    shown = tiers[tiers[f"{measure}_n"] > 0]
    drawn = fs.group_dots(tiers, measure, "en", ranked=False).data[0]
    assert list(drawn.y) == list(pd.concat([shown[~shown[f"{measure}_small"]],
                                            shown[shown[f"{measure}_small"]]])["label"])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_gap_draws_satisfied_beside_loyal_and_says_it(view, lang):
    frame = view.gap.by_group["home_region"].assign(label=lambda f: f["group"].astype(str))
    fig = fs.gap_dumbbell(frame, lang, min_n=30)
    order = frame.assign(size=frame["gap"].abs()).sort_values("size", ascending=False)
    for share in ("satisfied", "loyal"):
        dots = named(fig, t(f"satisfaction_fig_{share}", lang))
        assert same(dots.x, order[share])
        assert same(dots.y, np.arange(len(order)) + 0.25)
    notes = [a.text for a in fig.layout.annotations]
    for i, row in enumerate(order.itertuples(index=False)):
        assert row.label in notes[i] and f"n = {fmt_int(row.n, lang)}" in notes[i]
        assert t("satisfaction_fig_gap_words", lang, satisfied=fmt_pct(row.satisfied, lang, 0),
                 loyal=fmt_pct(row.loyal, lang, 0), gap=fs.gap_points(row.gap, lang)) in notes[i]
    # groups of fewer than min_n surveyed customers: after the others, faded and marked
    small = fs.gap_dumbbell(frame, lang, min_n=int(frame["n"].max()))
    notes = [a.text for a in small.layout.annotations]
    assert frame.loc[frame["n"].idxmax(), "label"] in notes[0] and t("satisfaction_fig_too_few", lang) not in notes[0]
    assert all(t("satisfaction_fig_too_few", lang) in note for note in notes[1:]) and len(notes) == len(frame)
    assert [a.font.color.endswith(", 0.4)") for a in small.layout.annotations] == [False] + [True] * (len(frame) - 1)


def test_the_gap_in_points_is_signed():
    assert fs.gap_points(22.04, "en") == t("satisfaction_points", "en", n="+22")
    assert fs.gap_points(-16.7, "en") == t("satisfaction_points", "en", n="-16.7")
    assert fs.gap_points(float("nan"), "en") == "–"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_quadrants_draw_their_customers_and_revenue(view, lang):
    q = view.gap.quadrants
    names = {k: f"<b>{k}</b>" if k == "satisfied_leaving" else k for k in q["quadrant"]}
    fig = fs.quadrant_grid(q, names, lang, "CNY")
    notes = {a.name: a.text for a in fig.layout.annotations}
    total = q["revenue"].sum()
    for row in q.itertuples(index=False):
        note = notes[row.quadrant]
        assert t("satisfaction_fig_quadrant_customers", lang, n=fmt_int(row.customers, lang),
                 share=fmt_pct(row.share, lang)) in note
        assert t("satisfaction_fig_quadrant_revenue", lang, revenue=fmt_money(row.revenue, lang, "CNY", compact=True),
                 share=fmt_pct(row.revenue / total, lang)) in note
    assert "&lt;b&gt;satisfied_leaving&lt;/b&gt;" in notes["satisfied_leaving"]  # a name is text, not markup
    # satisfied on top, loyal on the right
    x = {a.name: a.x for a in fig.layout.annotations}
    y = {a.name: a.y for a in fig.layout.annotations}
    assert x["satisfied_loyal"] > x["satisfied_leaving"] and y["satisfied_loyal"] > y["dissatisfied_staying"]


def test_the_retention_curve_draws_its_band_and_the_whole_stars(view):
    curve = view.gap.curve.curve
    fig = fs.retention_curve(curve, "en")
    line = named(fig, t("satisfaction_fig_curve", "en"))
    assert same(line.x, curve["score"]) and same(line.y, curve["probability"])
    band = named(fig, t("satisfaction_fig_band", "en"))
    assert same(band.y, curve["low"]) and same(fig.data[list(fig.data).index(band) - 1].y, curve["high"])
    stars = next(tr for tr in fig.data if tr.mode == "markers+text")
    assert same(stars.x, [1, 2, 3, 4, 5])
    assert list(stars.text) == [fmt_pct(view.gap.curve.at(s)[0], "en", 0) for s in range(1, 6)]
    low, high = fig.layout.yaxis.range
    assert low <= curve["low"].min() and high >= curve["high"].max()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_nothing_to_draw_is_a_note(view, lang):
    empty = view.satisfaction.monthly.iloc[:0]
    assert no_data(fs.monthly_line(empty, None, "csat", lang), lang)
    assert no_data(fs.responses_bar(empty, lang), lang)
    assert no_data(fs.group_dots(view.satisfaction.by_group["segment"].iloc[:0].assign(label=[]), "nps", lang),
                   lang)
    assert no_data(fs.gap_dumbbell(view.gap.by_group["segment"].iloc[:0].assign(label=[]), lang, 30), lang)
    assert no_data(fs.quadrant_grid(view.gap.quadrants.assign(customers=0), {}, lang, "CNY"), lang)
    assert no_data(fs.retention_curve(None, lang), lang)
    trend = view.satisfaction.trends["csat"].frame.assign(trend=np.nan)
    assert no_data(fs.trend_lines(trend, "stl", "csat", lang), lang)
