"""The churn & retention page's figures (ui/figures/churn.py): each draws exactly its frame's numbers (rates,
band edges, cells, steps, hazard ratios), provisional figures apart from the complete ones, labels in the
language asked for, and a note rather than an exception when there is nothing to draw. Survival curves and
hazard ratios come from the real models (kaplan_meier, fit_cox) on simulated customers."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.models.cox import fit_cox
from analytics.models.survival import kaplan_meier
from ui.dates import fmt_month
from ui.figures import churn as fc
from ui.figures.common import COMPARISON, CURRENT, GREEN, RED
from ui.figures.value import group_name
from ui.formats import fmt_int, fmt_pct
from ui.i18n import LANGUAGES, t

LOCALES = Path(__file__).resolve().parents[1] / "ui" / "locales"


def monthly(start: date = date(2025, 1, 1), rates=(0.04, 0.05, np.nan, 0.01), provisional=(False, False, False, True)):
    months = pd.date_range(start, periods=len(rates), freq="MS").date
    rate = np.array(rates, dtype=float)
    def cycle(values):
        return np.resize(values, len(rates))

    return pd.DataFrame({"month": months, "active_start": cycle([1000, 980, 0, 950]), "churned": cycle([40, 49, 0, 9]),
                         "churn_rate": rate, "churn_low": rate - 0.01, "churn_high": rate + 0.015,
                         "won_back": cycle([5, 8, 0, 2]), "won_back_revenue": cycle([1200.0, 2500.0, 0.0, 300.0]),
                         "new_customers": cycle([30, 20, 0, 5]), "provisional": list(provisional)})


def traces(fig, name):
    return [trace for trace in fig.data if trace.name == name]


def values(array) -> list:
    """Plotly's stored values as floats (None as NaN), to compare with a frame's column."""
    return [np.nan if v is None else float(v) for v in array]


def same(drawn, expected) -> bool:
    return np.allclose(values(drawn), np.asarray(expected, dtype=float), equal_nan=True)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_churn_line_draws_the_rates_with_their_band_and_provisional_months_off_the_line(lang):
    frame, past = monthly(), monthly(date(2024, 1, 1), rates=(0.03, 0.02, 0.06, 0.05), provisional=(False,) * 4)
    fig = fc.churn_rate_line(frame, past, lang)
    names = [fmt_month(m, lang) for m in frame["month"]]
    (line,) = traces(fig, t("churn_fig_this_period", lang))
    assert list(line.x) == names and same(line.y, [0.04, 0.05, np.nan, np.nan]), "provisional: not on the line"
    (hollow,) = [tr for tr in traces(fig, t("churn_fig_provisional", lang)) if tr.marker.color != COMPARISON]
    assert list(hollow.x) == [names[3]] and same(hollow.y, [0.01]) and hollow.marker.symbol == "circle-open"
    assert t("churn_fig_provisional_rate", lang) in hollow.customdata[0]
    upper, lower = [tr for tr in fig.data if tr.legendgroup == t("churn_fig_band", lang)]
    assert same(upper.y, [0.055, 0.065, np.nan, np.nan]) and same(lower.y, [0.03, 0.04, np.nan, np.nan])
    assert lower.fill == "tonexty" and lower.name == t("churn_fig_band", lang)
    (grey,) = traces(fig, t("churn_fig_comparison", lang))
    assert list(grey.x) == names and same(grey.y, past["churn_rate"]) and grey.line.color == COMPARISON
    assert grey.customdata[0].startswith(fmt_month(date(2024, 1, 1), lang) + ": ")
    assert fmt_pct(0.04, lang) in line.customdata[0] and fmt_int(1000, lang) in line.customdata[0]
    assert list(fig.layout.xaxis.categoryarray) == names and fig.layout.xaxis.tickangle == 0


def test_churn_line_without_a_comparison_draws_the_period_alone():
    fig = fc.churn_rate_line(monthly(provisional=(False,) * 4), None, "en")
    assert traces(fig, t("churn_fig_comparison", "en")) == [] and traces(fig, t("churn_fig_provisional", "en")) == []
    assert same(traces(fig, t("churn_fig_this_period", "en"))[0].y, [0.04, 0.05, np.nan, 0.01])


def test_a_long_period_labels_at_most_six_months_on_calendar_boundaries():
    frame = monthly(date(2024, 2, 1), rates=[0.02] * 24, provisional=[False] * 24)
    axis = fc.win_back_bars(frame, "en").layout.xaxis
    assert len(axis.tickvals) <= fc.MAX_MONTH_LABELS and "Jan<br>2025" in axis.ticktext


def sensitivity() -> pd.DataFrame:
    windows = [30, 60, 75, 90, 120, 180, 360]
    rate = np.array([0.2, 0.12, 0.1, 0.09, 0.07, 0.05, 0.03])
    return pd.DataFrame({"window": windows, "churned": [200, 120, 100, 90, 70, 50, 30], "exposure": [1000] * 7,
                         "rate": rate, "low": rate * 0.9, "high": rate * 1.1,
                         "churned_share": [0.7, 0.6, 0.55, 0.5, 0.45, 0.4, 0.2],
                         "chosen": [w == 75 for w in windows]}).sample(frac=1, random_state=1)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_window_sensitivity_draws_both_rates_by_window_and_marks_the_window_in_use(lang):
    frame = sensitivity()
    fig = fc.window_sensitivity_line(frame, lang)
    ordered = frame.sort_values("window")
    (rate,) = traces(fig, t("churn_fig_rate_per_month", lang))
    (share,) = traces(fig, t("churn_fig_churned_share", lang))
    assert list(rate.x) == list(ordered["window"]) == list(share.x)
    assert same(rate.y, ordered["rate"]) and same(share.y, ordered["churned_share"])
    upper, lower = [tr for tr in fig.data if tr.legendgroup == t("churn_fig_band", lang)]
    assert same(upper.y, ordered["high"]) and same(lower.y, ordered["low"])
    assert [s.x0 for s in fig.layout.shapes] == [75, 75], "across both panels"
    (mark,) = [a for a in fig.layout.annotations if a.name == "mark"]
    assert mark.x == 75 and mark.text == t("churn_fig_window_chosen", lang, days="75")
    assert fig.layout.xaxis2.title.text == t("churn_fig_window_axis", lang)


def by_group() -> pd.DataFrame:
    return pd.DataFrame({"group": ["华东", None, "华北", "西北"], "churned": [40, 3, 30, 2],
                         "exposure": [1000, 40, 900, 25], "rate": [0.04, 0.075, 0.033, 0.08],
                         "low": [0.03, 0.02, 0.024, 0.01], "high": [0.05, 0.2, 0.045, 0.25],
                         "compare_rate": [0.05, np.nan, 0.02, 0.05], "compare_low": [0.04, np.nan, 0.015, 0.01],
                         "compare_high": [0.06, np.nan, 0.03, 0.2], "small": [False, True, False, True],
                         "moved": ["down", None, "up", None]})


@pytest.mark.parametrize("lang", LANGUAGES)
def test_group_churn_draws_rates_intervals_and_comparison_and_marks_small_and_moved_groups(lang):
    frame = by_group()
    fig = fc.group_churn_bar(frame, "home_region", lang)
    bar, swatch, past = fig.data
    # the legend's swatch: the period's blue, whatever the first bar's colour (a moved group's red or green)
    assert (swatch.name, swatch.marker.color, bar.showlegend) == (bar.name, CURRENT, False)
    ordered = frame.sort_values("rate")  # highest on top: drawn last
    names = ["华北", "华东", group_name("home_region", None, lang), "西北"]
    assert list(bar.y) == names == list(past.y) and names[2] == t("unknown_region", lang)
    assert same(bar.x, ordered["rate"]) and same(past.x, ordered["compare_rate"])
    assert same(bar.error_x.array, ordered["high"] - ordered["rate"])
    assert same(bar.error_x.arrayminus, ordered["rate"] - ordered["low"])
    # churn up is red and down green in both languages; small groups faded and labelled so
    colors = list(bar.marker.color)
    assert colors[0] == fc._rgba(RED, 1.0) and colors[1] == fc._rgba(GREEN, 1.0) and colors[2].endswith("0.35)")
    ticks = list(fig.layout.yaxis.ticktext)
    assert "▲" in ticks[0] and "▼" in ticks[1] and t("churn_fig_few_customers", lang) in ticks[2]
    assert fmt_pct(0.033, lang) in ticks[0] and t("churn_fig_few_customers", lang) not in ticks[0]
    assert t("churn_fig_moved_up", lang) in bar.customdata[0] and t("churn_fig_small_note", lang) in bar.customdata[2]
    assert t("churn_fig_comparison_rate", lang, rate=fmt_pct(0.02, lang)) in bar.customdata[0]


def test_group_churn_without_comparison_draws_no_markers_and_names_are_text():
    frame = by_group().assign(compare_rate=np.nan, group=["<b>x</b>", None, "a", "b"])
    fig = fc.group_churn_bar(frame, "segment", "zh")
    assert len(fig.data) == 2 and "&lt;b&gt;x&lt;/b&gt;" in list(fig.data[0].y)  # the bars and the legend's swatch
    assert t("value_no_segment", "zh") in list(fig.data[0].y)


def cohort_cells(months: int = 3):
    cohorts = pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"])
    rows = []
    for k, c in enumerate(cohorts):
        for n in range(months - k):
            share = 1.0 if n == 0 else 0.3 / n
            rows.append({"cohort": c, "months_since": n, "month": c + pd.DateOffset(months=n), "customers": 100 + k,
                         "retained": round(share * (100 + k)), "share": share, "low": share * 0.8,
                         "high": min(1.0, share * 1.2), "revenue": 0.0, "base_revenue": 1.0,
                         "retention": 1.0 if n == 0 else 1.25 / n, "provisional": k + n == months - 1})
    sizes = pd.DataFrame({"cohort": cohorts, "customers": [100, 101, 1234], "revenue": 1.0, "provisional": False})
    return pd.DataFrame(rows), sizes


@pytest.mark.parametrize("lang", LANGUAGES)
def test_cohort_grid_draws_each_cell_and_marks_provisional_ones(lang):
    cells, sizes = cohort_cells()
    fig = fc.cohort_heatmap(cells, sizes, "share", lang)
    done, grey = fig.data[0], fig.data[1]
    assert grey.name == t("churn_fig_provisional", lang)
    rows = [t("churn_fig_with_n", lang, name=fmt_month(date(2025, m, 1), lang), n=fmt_int(n, lang))
            for m, n in ((1, 100), (2, 101), (3, 1234))]
    assert list(done.y) == rows and list(done.x) == [0, 1, 2] and fig.layout.yaxis.autorange == "reversed"
    z, zg = np.asarray(done.z, dtype=float), np.asarray(grey.z, dtype=float)
    assert same(z.ravel(), [1.0, 0.3, np.nan, 1.0, np.nan, np.nan, np.nan, np.nan, np.nan])
    assert same(zg.ravel(), [np.nan, np.nan, 0.15, np.nan, 0.3, np.nan, 1.0, np.nan, np.nan])
    assert done.text[0][1] == fmt_pct(0.3, lang, 0) and grey.text[0][2] == fmt_pct(0.15, lang, 0) + "*"
    assert grey.customdata[0][2].startswith(f"<b>{rows[0]}</b>") and t("churn_fig_provisional_cell", lang) in \
        grey.customdata[0][2]
    assert fmt_pct(0.15, lang) in grey.customdata[0][2] and done.customdata[0][2] == ""
    assert traces(fig, t("churn_fig_provisional", lang) + " *"), "the grey cells' key in the legend"


def test_revenue_retention_clips_the_colour_but_shows_the_real_value():
    cells, sizes = cohort_cells()
    fig = fc.cohort_heatmap(cells, sizes, "retention", "en")
    assert fig.data[0].z[0][1] == 1.0 and fig.data[0].text[0][1] == "125%"
    assert "125.0%" in fig.data[0].customdata[0][1]


def test_a_wide_grid_has_no_cell_text_and_grows_with_its_cohorts():
    cells, sizes = cohort_cells(fc.MAX_TEXT_COLUMNS + 1)
    fig = fc.cohort_heatmap(cells, sizes, "share", "en")
    assert all(text == "" for row in fig.data[0].text for text in row) and fig.data[0].customdata[0][1]
    small = fc.cohort_heatmap(*cohort_cells(2), "share", "en")
    many = pd.concat([cells.assign(cohort=cells["cohort"] - pd.DateOffset(years=y)) for y in range(4)])
    assert fc.cohort_heatmap(many, sizes, "share", "en").layout.height > small.layout.height


@pytest.mark.parametrize("lang", LANGUAGES)
def test_milestones_draw_a_line_per_month_with_provisional_points_hollow(lang):
    cohorts = pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"])
    frame = pd.DataFrame({"cohort": list(cohorts) + list(cohorts[:2]), "months_since": [1, 1, 1, 3, 3],
                          "share": [0.3, 0.32, 0.1, 0.2, 0.21], "low": [0.25, 0.27, 0.05, 0.15, 0.16],
                          "high": [0.35, 0.37, 0.15, 0.25, 0.26], "customers": [100] * 5,
                          "retained": [30, 32, 10, 20, 21], "provisional": [False, False, True, False, False]})
    fig = fc.milestone_lines(frame, lang)
    names = [fmt_month(c, lang) for c in cohorts]
    (one,), (three,) = ([tr for tr in traces(fig, t("churn_fig_month_n", lang, n=n)) if tr.mode == "lines+markers"]
                        for n in (1, 3))
    assert list(one.x) == names and same(one.y, [0.3, 0.32, np.nan]) and same(three.y, [0.2, 0.21, np.nan])
    (hollow,) = traces(fig, t("churn_fig_provisional", lang))
    assert list(hollow.x) == [names[2]] and same(hollow.y, [0.1]) and hollow.marker.symbol == "circle-open"
    assert same(one.error_y.array, [0.05, 0.05, np.nan]) and same(one.error_y.arrayminus, [0.05, 0.05, np.nan])


def lifetimes(n: int = 400):
    rng = np.random.default_rng(7)
    region = rng.choice(["east", "north"], n)
    plan = np.where(rng.random(n) < 0.1, None, rng.choice(["A", "B"], n))
    life = rng.exponential(np.where(region == "north", 200.0, 500.0))
    follow = rng.uniform(200, 900, n)
    return np.minimum(life, follow).round() + 1, life <= follow, region, plan


@pytest.mark.parametrize("lang", LANGUAGES)
def test_survival_curves_draw_each_step_curve_and_band_from_one_at_day_zero(lang):
    durations, observed, _, plan = lifetimes()
    curves = kaplan_meier(durations, observed, plan)
    fig = fc.survival_curves(curves, lang, names={"A": "Plan A"})
    lines = [tr for tr in fig.data if tr.showlegend is not False]
    labels = [t("churn_fig_with_n", lang, name=name, n=fmt_int(c.n, lang))
              for name, c in zip(["Plan A", "B", t("churn_fig_group_missing", lang)], curves, strict=True)]
    assert [tr.name for tr in lines] == labels and curves[-1].group is None
    for curve, line in zip(curves, lines, strict=True):
        assert line.line.shape == "hv" and same(line.x, [0.0, *curve.times]) and same(line.y, [1.0, *curve.survival])
        upper, lower = [tr for tr in fig.data if tr.legendgroup == line.name and tr is not line]
        assert same(upper.y, [1.0, *curve.high]) and same(lower.y, [1.0, *curve.low]) and lower.fill == "tonexty"
    assert [s.x0 for s in fig.layout.shapes] == [365.0]
    assert fig.layout.yaxis.range == (0, 1.03) and list(fig.layout.xaxis.tickvals)[:1] == [0]


def test_one_curve_of_everyone_is_named_all_customers():
    durations, observed, _, _ = lifetimes()
    curves = kaplan_meier(durations, observed)
    assert fc.survival_curves(curves, "zh").data[-1].name.startswith(t("churn_fig_all_customers", "zh"))
    assert fc.survival_curves(curves, "en", {None: "Everyone"}).data[-1].name.startswith("Everyone (n = ")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_hazard_ratios_are_drawn_on_a_log_axis_with_a_line_at_one_coloured_by_direction(lang):
    durations, observed, region, plan = lifetimes()
    rng = np.random.default_rng(3)
    covariates = pd.DataFrame({"region": region, "plan": plan, "noise": rng.normal(size=len(region))})
    fit = fit_cox(durations, observed, covariates)
    fig = fc.hazard_ratio_forest(fit, lang, names={"region": "Region"})
    assert fig.layout.xaxis.type == "log" and [(s.x0, s.x1) for s in fig.layout.shapes] == [(1, 1)]
    def labels(figure) -> list[str]:  # each row's name, written above it (row i at y = i)
        return [a.text for a in sorted(figure.layout.annotations, key=lambda a: a.y) if a.yref == "y"]

    names = labels(fig)
    drawn = {names[int(y)]: (x, up, down, tr.name, tr.marker.color) for tr in fig.data
             for y, x, up, down in zip(tr.y, tr.x, tr.error_x.array, tr.error_x.arrayminus, strict=True)}
    assert len(drawn) == len(fit.terms) == len(names)
    for term in fit.terms:
        column = "Region" if term.column == "region" else term.column
        level, ref = (t("churn_fig_missing_level", lang) if v is None else v for v in (term.level, term.reference))
        label = (t("churn_fig_per_unit", lang, column=column) if term.numeric
                 else f"{column} · {t('churn_fig_level_vs', lang, level=level, reference=ref)}")
        x, up, down, name, color = drawn[label]
        assert np.isclose(x, term.hazard_ratio) and np.isclose(x + up, term.high) and np.isclose(x - down, term.low)
        direction = "unclear" if term.low <= 1 <= term.high else "faster" if term.hazard_ratio > 1 else "slower"
        assert name == t(f"churn_fig_{direction}", lang)
        assert color == {"faster": RED, "slower": GREEN, "unclear": COMPARISON}[direction]
    east = f"Region · {t('churn_fig_level_vs', lang, level='east', reference='north')}"  # the largest: reference
    assert drawn[east][3:] == (t("churn_fig_slower", lang), GREEN), "simulated: the east leaves 2.5 times as slowly"
    assert names[-1] == t("churn_fig_per_unit", lang, column="noise")
    assert fig.layout.yaxis.showticklabels is False  # names above the rows: the plot keeps a phone's width
    # a whole row's label given per term, as (column, level); a label from the data is text
    rows = labels(fc.hazard_ratio_forest(fit, lang, {("plan", "B"): "<i>B</i> plan"}))
    assert "&lt;i&gt;B&lt;/i&gt; plan" in rows
    assert f"plan · {t('churn_fig_level_vs', lang, level='B', reference='A')}" not in rows


@pytest.mark.parametrize("lang", LANGUAGES)
def test_win_back_draws_customers_as_bars_and_revenue_on_a_second_axis_provisional_apart(lang):
    frame = monthly()
    fig = fc.win_back_bars(frame, lang, "CNY")
    bar = fig.data[0]
    assert same(bar.y, frame["won_back"]) and list(bar.marker.pattern.shape) == ["", "", "", "/"]
    (line,) = traces(fig, t("churn_fig_won_back_revenue", lang))
    (hollow,) = traces(fig, t("churn_fig_provisional", lang))
    assert line.yaxis == "y2" == hollow.yaxis and same(line.y, [1200, 2500, 0, np.nan]) and same(hollow.y, [300])
    assert t("churn_fig_provisional_cell", lang) in bar.customdata[3] and "¥" in hollow.customdata[0]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_days_away_draws_every_return_and_marks_the_median(lang):
    days = np.array([40, 65, 90, 95, 200, 400, np.nan])
    fig = fc.days_away_histogram(pd.Series(days), lang)
    assert same(fig.data[0].x, days[:-1]) and fig.data[0].xbins.size == 30
    assert [s.x0 for s in fig.layout.shapes] == [92.5]
    assert fig.layout.annotations[0].text == t("churn_fig_median_days", lang, days=fmt_int(92.5, lang))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_nothing_to_draw_gives_a_note_not_an_error(lang):
    none = monthly().iloc[:0]
    figures = [fc.churn_rate_line(none, none, lang), fc.churn_rate_line(None, None, lang),
               fc.window_sensitivity_line(sensitivity().iloc[:0], lang),
               fc.group_churn_bar(by_group().iloc[:0], "home_region", lang),
               fc.cohort_heatmap(cohort_cells()[0].iloc[:0], cohort_cells()[1].iloc[:0], "share", lang),
               fc.milestone_lines(pd.DataFrame(columns=["cohort", "months_since", "share"]), lang),
               fc.survival_curves((), lang), fc.hazard_ratio_forest(None, lang), fc.win_back_bars(none, lang),
               fc.days_away_histogram(np.array([]), lang), fc.days_away_histogram([np.nan], lang)]
    for fig in figures:
        assert len(fig.data) == 0 and fig.layout.annotations[0].text == t("churn_fig_no_data", lang)


def test_the_figures_catalogues_hold_the_same_prefixed_keys_and_every_key_used():
    en, zh = (json.loads((LOCALES / f"churn_figures.{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "zh"))
    assert en.keys() == zh.keys() and all(key.startswith("churn_fig_") for key in en)
    source = (Path(fc.__file__)).read_text(encoding="utf-8")
    used = set(re.findall(r"\"(churn_fig_[a-z_]+)\"", source))
    used |= {f"churn_fig_{d}" for d in ("faster", "slower", "unclear", "moved_up", "moved_down")}
    assert used <= en.keys()
    assert t("churn_fig_provisional", "zh") == "暂定" and t("churn_fig_rate_per_month", "zh").endswith("流失率")
