"""The value page's figures (ui/figures/value.py): each builds from the view model's frames, its labels
are in the language asked for, and the numbers it draws are the frame's (the CLV box's quantiles
against numpy's percentiles of the customers' CLV)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.metrics import rfm
from ui.figures import value as fv
from ui.formats import fmt_int, fmt_money, fmt_number, fmt_pct
from ui.i18n import LANGUAGES, t


def segments() -> pd.DataFrame:
    counts = [5, 4, 0, 3, 2, 1, 6, 7, 2, 8, 12]
    revenue = [900.0, 500, 0, 40, 30, 20, 60, 300, 250, 35, 15]
    frame = pd.DataFrame({"rfm_segment": list(rfm.SEGMENTS), "customers": counts, "revenue": revenue})
    frame["customer_share"] = frame["customers"] / frame["customers"].sum()
    frame["revenue_share"] = frame["revenue"] / frame["revenue"].sum()
    return frame


def grid() -> pd.DataFrame:
    return pd.DataFrame(np.arange(25).reshape(5, 5) * 3, index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5])


def by_group() -> pd.DataFrame:
    return pd.DataFrame({"group": ["华东", None, "华北"], "customers": [10, 3, 7],
                         "clv": [5000.0, 800.0, 2500.0], "clv_low": [4500.0, 600.0, 2400.0],
                         "clv_high": [5600.0, 1100.0, 2650.0]})


def customers() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"home_region": ["华东"] * 40 + ["华北"] * 25 + [None] * 5,
                         "rfm_segment": (["champions", "lost"] * 35),
                         "clv": np.concatenate([rng.gamma(2, 800, 40), rng.gamma(2, 300, 25), [-50, 0, 10, 20, 900]])})


def holdout_table() -> pd.DataFrame:
    table = pd.DataFrame({"frequency": range(8), "customers": [50, 20, 12, 9, 6, 4, 3, 10],
                          "predicted_total": [10.0, 12, 14, 15, 12, 9, 8, 60],
                          "actual_total": [8.0, 13, 12, 16, 10, 10, 6, 55]})
    table["predicted"] = table["predicted_total"] / table["customers"]
    table["actual"] = table["actual_total"] / table["customers"]
    return table


@pytest.mark.parametrize("lang", LANGUAGES)
def test_segment_shares_draw_the_frames_shares_with_translated_names(lang):
    frame = segments()
    fig = fv.segment_share_bar(frame, lang)
    customers_bar, revenue_bar = fig.data
    names = [t(f"rfm_segment_{k}", lang) for k in reversed(rfm.SEGMENTS)]  # best on top: drawn last
    assert list(customers_bar.y) == names and list(revenue_bar.y) == names
    assert list(customers_bar.x) == list(frame["customer_share"][::-1])
    assert list(revenue_bar.x) == list(frame["revenue_share"][::-1])
    assert list(revenue_bar.text) == [fmt_pct(v, lang) for v in frame["revenue_share"][::-1]]
    assert (customers_bar.name, revenue_bar.name) == (t("value_col_customer_share", lang),
                                                      t("value_col_revenue_share", lang))


def test_segment_names_differ_between_languages_and_name_every_segment():
    for key in rfm.SEGMENTS:
        assert t(f"rfm_segment_{key}", "zh") != t(f"rfm_segment_{key}", "en")
    assert t("rfm_segment_cant_lose", "zh") == "重要挽留客户"
    assert t("rfm_segment_champions", "zh") == "冠军客户"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_segment_map_draws_the_grid_with_counts_and_the_segment_of_each_cell(lang):
    counts = grid()
    fig = fv.segment_map_heatmap(counts, lang)
    heat = fig.data[0]
    assert np.array_equal(np.asarray(heat.z), counts.to_numpy(dtype=float))
    assert list(heat.y) == ["R5", "R4", "R3", "R2", "R1"] and list(heat.x) == ["F1", "F2", "F3", "F4", "F5"]
    for i, r in enumerate([5, 4, 3, 2, 1]):
        for j, f in enumerate([1, 2, 3, 4, 5]):
            cell = heat.text[i][j]
            assert cell.startswith(f"<b>{fmt_int(counts.loc[r, f], lang)}</b><br>")
            name = t(f"rfm_segment_{rfm.SEGMENT_GRID[r][f - 1]}", lang)
            assert cell.split("</b><br>")[1].replace("<br>", " " if lang == "en" else "") == name


@pytest.mark.parametrize("lang", LANGUAGES)
def test_clv_by_group_draws_totals_with_the_interval_as_error_bars(lang):
    frame = by_group()
    fig = fv.clv_by_group_bar(frame, "home_region", lang, "CNY")
    bar = fig.data[0]
    ordered = frame.sort_values("clv")  # largest on top: drawn last
    assert list(bar.x) == list(ordered["clv"])
    assert list(bar.y) == [t("unknown_region", lang), "华北", "华东"]
    assert list(bar.error_x.array) == list(ordered["clv_high"] - ordered["clv"])
    assert list(bar.error_x.arrayminus) == list(ordered["clv"] - ordered["clv_low"])
    assert list(bar.text) == [fmt_money(v, lang, "CNY", compact=True) for v in ordered["clv"]]
    assert bar.customdata[0] == t("value_interval", lang, low=fmt_money(600.0, lang, "CNY", compact=True),
                                  high=fmt_money(1100.0, lang, "CNY", compact=True))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_clv_by_rfm_segment_translates_the_segments(lang):
    frame = pd.DataFrame({"group": ["lost", "champions"], "customers": [3, 2], "clv": [10.0, 900.0],
                          "clv_low": [8.0, 850.0], "clv_high": [12.0, 950.0]})
    bar = fv.clv_by_group_bar(frame, "rfm_segment", lang).data[0]
    assert list(bar.y) == [t("rfm_segment_lost", lang), t("rfm_segment_champions", lang)]


def test_a_group_name_from_the_data_is_text_not_markup():
    frame = by_group().assign(group=["<b>x</b>", "华北", "华南"])
    bar = fv.clv_by_group_bar(frame, "segment", "en").data[0]
    assert "&lt;b&gt;x&lt;/b&gt;" in list(bar.y)
    assert fv.group_name("segment", None, "zh") == t("value_no_segment", "zh")


@pytest.mark.parametrize("grouping", ["home_region", "rfm_segment"])
def test_clv_box_draws_numpys_percentiles_of_each_groups_clv(grouping):
    people = customers()
    fig = fv.clv_distribution_box(people, grouping, "zh", "CNY")
    box = fig.data[0]
    groups = people[grouping].fillna("")
    expected = {}
    for name, part in people.groupby(groups):
        expected[fv.group_name(grouping, name or None, "zh")] = np.percentile(part["clv"], [5, 25, 50, 75, 95])
    drawn = {y: (lo, q1, med, q3, hi) for y, lo, q1, med, q3, hi in
             zip(box.y, box.lowerfence, box.q1, box.median, box.q3, box.upperfence, strict=True)}
    assert drawn.keys() == expected.keys()
    for name, values in expected.items():
        assert np.allclose(drawn[name], values), name
    medians = [drawn[y][2] for y in box.y]
    assert medians == sorted(medians), "highest median on top (drawn last)"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_holdout_chart_draws_actual_and_predicted_means_by_frequency(lang):
    table = holdout_table()
    fig = fv.holdout_bars(table, lang)
    actual, predicted = fig.data
    assert list(actual.x) == ["0", "1", "2", "3", "4", "5", "6", "7+"] == list(predicted.x)
    assert np.allclose(actual.y, table["actual_total"] / table["customers"])
    assert np.allclose(predicted.y, table["predicted_total"] / table["customers"])
    assert (actual.name, predicted.name) == (t("value_holdout_actual", lang), t("value_holdout_predicted", lang))
    assert list(predicted.text) == [fmt_number(v, lang, 2) for v in table["predicted"]]
    assert fig.layout.xaxis.title.text == t("value_axis_calibration_frequency", lang)
    assert fig.layout.yaxis.title.text == t("value_axis_holdout_purchases", lang)
    assert actual.customdata[0] == t("value_n_customers", lang, n=fmt_int(50, lang))


def test_every_problem_code_has_a_message_in_both_languages():
    from analytics.metrics.value_fit import PROBLEMS

    for lang in LANGUAGES:
        for code in PROBLEMS:
            assert t(f"value_problem_{code}", lang)
        # what stops the holdout check: its own codes and what stops the purchase model (all it needs)
        for code in ("too_short", "before_data", "after_period", "too_few_customers", "too_few_repeaters",
                     "purchases_not_converged"):
            assert t(f"value_holdout_problem_{code}", lang)
        for verdict in ("weak", "modest", "material"):
            assert t(f"value_spend_verdict_{verdict}", lang)
