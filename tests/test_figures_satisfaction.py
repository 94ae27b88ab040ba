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
from ui.figures import satisfaction_behaviour as fsb
from ui.figures import satisfaction_gap as fg
from ui.formats import fmt_int, fmt_money, fmt_number, fmt_pct
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
    fig = fg.gap_dumbbell(frame, lang, min_n=30)
    order = frame.assign(size=frame["gap"].abs()).sort_values("size", ascending=False)
    for share in ("satisfied", "loyal"):
        dots = named(fig, t(f"satisfaction_fig_{share}", lang))
        assert same(dots.x, order[share])
        assert same(dots.y, np.arange(len(order)) + 0.25)
    notes = [a.text for a in fig.layout.annotations]
    for i, row in enumerate(order.itertuples(index=False)):
        assert row.label in notes[i] and f"n = {fmt_int(row.n, lang)}" in notes[i]
        assert t("satisfaction_fig_gap_words", lang, satisfied=fmt_pct(row.satisfied, lang, 0),
                 loyal=fmt_pct(row.loyal, lang, 0), gap=fg.gap_points(row.gap, lang)) in notes[i]
    # groups of fewer than min_n surveyed customers: after the others, faded and marked
    small = fg.gap_dumbbell(frame, lang, min_n=int(frame["n"].max()))
    notes = [a.text for a in small.layout.annotations]
    assert frame.loc[frame["n"].idxmax(), "label"] in notes[0] and t("satisfaction_fig_too_few", lang) not in notes[0]
    assert all(t("satisfaction_fig_too_few", lang) in note for note in notes[1:]) and len(notes) == len(frame)
    assert [a.font.color.endswith(", 0.4)") for a in small.layout.annotations] == [False] + [True] * (len(frame) - 1)


def test_the_gap_in_points_is_signed():
    assert fg.gap_points(22.04, "en") == t("satisfaction_points", "en", n="+22")
    assert fg.gap_points(-16.7, "en") == t("satisfaction_points", "en", n="-16.7")
    assert fg.gap_points(float("nan"), "en") == "–"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_quadrants_draw_their_customers_and_revenue(view, lang):
    q = view.gap.quadrants
    names = {k: f"<b>{k}</b>" if k == "satisfied_leaving" else k for k in q["quadrant"]}
    fig = fg.quadrant_grid(q, names, lang, "CNY")
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
    fig = fg.retention_curve(curve, "en")
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
    assert no_data(fg.gap_dumbbell(view.gap.by_group["segment"].iloc[:0].assign(label=[]), lang, 30), lang)
    assert no_data(fg.quadrant_grid(view.gap.quadrants.assign(customers=0), {}, lang, "CNY"), lang)
    assert no_data(fg.retention_curve(None, lang), lang)
    trend = view.satisfaction.trends["csat"].frame.assign(trend=np.nan)
    assert no_data(fs.trend_lines(trend, "stl", "csat", lang), lang)


# ----------------------------------------------------------------------------- complaints and loyalty


def test_complaints_per_month_draw_the_rate_its_band_and_the_provisional_months_apart(view):
    m = view.complaints.monthly.copy()
    m.loc[m.index[-1], "provisional"] = True  # (the world's period is over: make its last month provisional)
    fig = fs.series_line(m, view.complaints.comparison_monthly, ("per_1000", "per_1000_low", "per_1000_high"),
                         "per_1000", "rate", "en", lambda r: str(r["complaints"]), open_flag="provisional")
    line = named(fig, "rate")
    assert same(line.y[:-1], m["per_1000"].iloc[:-1]) and np.isnan(line.y[-1])  # off the line...
    hollow = named(fig, t("satisfaction_fig_provisional", "en"))
    assert same(hollow.y, m["per_1000"].iloc[-1:]) and hollow.marker.symbol == "circle-open"  # ...drawn apart
    assert same(named(fig, t("satisfaction_fig_comparison", "en")).y, view.complaints.comparison_monthly["per_1000"])
    assert str(m["complaints"].iloc[0]) in line.customdata[0]
    low, high = fig.layout.yaxis.range
    assert low <= np.nanmin(m["per_1000_low"]) and high >= np.nanmax(m["per_1000_high"])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_categories_draw_their_complaints_and_the_comparisons(view, lang):
    c = view.complaints.categories
    frame = c.assign(label=[f"<i>{g}</i>" if g is not None else "none" for g in c["category"]])
    fig = fsb.category_bars(frame, lang)
    bars = fig.data[0]
    assert same(bars.x, c["complaints"]) and list(bars.y) == [fs.escape(x) for x in frame["label"]]
    assert same(fig.data[1].x, c["compare_complaints"])
    assert [b.endswith(", 0.35)") for b in bars.marker.color] == list(c["small"])
    for tick, w, o in zip(fig.layout.yaxis.ticktext, c["within_share"], c["open"], strict=True):
        assert t("satisfaction_fig_category_note", lang, within=fmt_pct(w, lang), open=fmt_int(o, lang)) in tick
    assert all("<i>" not in y for y in bars.y)  # names from the data are text


def test_the_resolution_curve_starts_all_open_and_marks_the_target_and_the_median(view):
    k = view.complaints.time_to_resolve
    fig = fsb.resolution_curve(k.curve, 7, k.median, "en")
    line = named(fig, t("satisfaction_fig_open_share", "en"))
    assert same(line.x, np.r_[0, k.curve["days"]]) and same(line.y, np.r_[1.0, k.curve["share_open"]])
    assert line.line.shape == "hv"
    assert [s.x0 for s in fig.layout.shapes] == [7]
    median = named(fig, t("satisfaction_fig_median", "en", days=fmt_number(k.median, "en", 1)))
    assert same(median.x, [k.median])
    last = k.curve["days"].max()
    assert fig.layout.xaxis.range[1] == min(last, fsb.RESOLUTION_DAYS)
    assert fsb.resolution_curve(k.curve, 200, None, "en").layout.xaxis.range[1] == max(min(last, 90), 202)


def test_the_frequency_bars_split_the_loyal_from_the_others(view):
    f = view.loyalty.frequency
    fig = fsb.frequency_bars(f, "en")
    loyal, others = named(fig, t("satisfaction_fig_loyal", "en")), named(fig, t("satisfaction_fig_not_loyal", "en"))
    assert same(loyal.y, f.loc[f["loyal"], "customers"]) and same(others.y, f.loc[~f["loyal"], "customers"])
    assert list(loyal.x)[-1].endswith("+") and others.x[0] == "1"
    assert list(loyal.text) == [fmt_pct(s, "en", 0) for s in f.loc[f["loyal"], "share"]]


def test_a_group_figure_draws_the_comparison_and_marks_the_moves(view):
    g = view.loyalty.by_region.copy()
    g.loc[g.index[0], "moved"] = "up"
    frame = g.assign(label=g["group"].astype(str), loyal_share_low=g["loyal_low"], loyal_share_high=g["loyal_high"],
                     loyal_share_n=g["customers"], loyal_share_small=g["small"])
    fig = fs.group_dots(frame, "loyal_share", "en", kind="share", compare="before")
    dots, diamonds = fig.data
    order = fs.ordered(frame, "loyal_share", "loyal_share_small", True)
    assert same(dots.x, order["loyal_share"]) and same(diamonds.x, order["compare_loyal_share"])
    assert diamonds.marker.symbol == "diamond" and diamonds.name == "before"
    ticks = dict(zip(dots.y, fig.layout.yaxis.ticktext, strict=True))
    assert "▲" in ticks[frame["label"].iloc[0]] and sum("▲" in x or "▼" in x for x in ticks.values()) == int(
        order["moved"].isin(["up", "down"]).sum())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_nothing_to_draw_is_a_note_for_complaints_and_loyalty_too(view, lang):
    assert no_data(fsb.category_bars(view.complaints.categories.iloc[:0].assign(label=[]), lang), lang)
    assert no_data(fsb.resolution_curve(None, 7, None, lang), lang)
    assert no_data(fsb.frequency_bars(view.loyalty.frequency.assign(customers=0), lang), lang)
    empty = view.complaints.monthly.assign(per_1000=np.nan)
    assert no_data(fs.series_line(empty, None, ("per_1000", "per_1000_low", "per_1000_high"), "per_1000", "x", lang,
                                  str), lang)
