"""The funnel page's figure builders (ui/figures/funnel.py) on small frames made by hand: what they draw is the
frame's numbers, formatted for the language; without data a note, never an error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ui.figures import funnel as figures
from ui.formats import fmt_int, fmt_pct
from ui.i18n import LANGUAGES, t

NAMES = {"first_purchase": "First", "repeat_purchase": "Repeat", "loyal": "Loyal", "active": "Active"}
# any order: more customers still active (120) than loyal (50): over 100 % of the previous stage
COUNTS = pd.DataFrame({"stage": list(NAMES), "members": [200, 80, 50, 120],
                       "pct_previous": [np.nan, 0.4, 0.625, 2.4], "pct_first": [1.0, 0.4, 0.25, 0.6],
                       "continued": [0, 80, 50, 45], "conversion": [np.nan, 0.4, 0.625, 0.9],
                       "low": [np.nan, 0.33, 0.48, 0.79], "high": [np.nan, 0.47, 0.75, 0.96]})


def texts(fig) -> str:
    return " ".join(a.text for a in fig.layout.annotations)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_funnel_bars_are_the_counts_with_both_percentages(lang):
    fig = figures.funnel_bars(COUNTS, NAMES, lang, leak_step=1)
    (bars,) = fig.data
    assert list(bars.x) == [200, 80, 50, 120] and bars.orientation == "h"
    assert list(bars.text) == [fmt_int(n, lang) for n in (200, 80, 50, 120)]
    labels = texts(fig)
    assert t("funnel_fig_pct_previous", lang, pct=fmt_pct(2.4, lang)) in labels  # 240.0 %, as counted
    assert all(t("funnel_fig_pct_first", lang, pct=fmt_pct(p, lang)) in labels for p in (1.0, 0.4, 0.25, 0.6))
    assert labels.count(t("funnel_fig_leak", lang)) == 1  # on the leaking step only (Repeat)
    assert t("funnel_fig_leak", lang) in fig.layout.annotations[1].text
    assert t("funnel_fig_step", lang, pct=fmt_pct(0.9, lang)) in bars.customdata[3]


def test_an_empty_funnel_is_a_note():
    empty = COUNTS.assign(members=0)
    for fig in (figures.funnel_bars(empty, NAMES, "en"), figures.stage_times_ranges(pd.DataFrame(
            {"from_stage": ["first_purchase"], "to_stage": ["repeat_purchase"], "n": [0], "median": [np.nan],
             "q1": [np.nan], "q3": [np.nan], "out_of_order": [0]}), NAMES, "en")):
        assert not fig.data and texts(fig) == t("funnel_fig_no_data", "en")


def test_stage_times_are_a_band_from_the_quartiles_and_a_median_dot():
    times = pd.DataFrame({"from_stage": ["first_purchase", "repeat_purchase"], "to_stage": ["repeat_purchase",
                                                                                           "loyal"],
                          "n": [40, 0], "median": [12.0, np.nan], "q1": [6.0, np.nan], "q3": [29.5, np.nan],
                          "out_of_order": [0, 0]})
    fig = figures.stage_times_ranges(times, NAMES, "zh")
    band, dots = fig.data
    assert (band.base[0], band.x[0], dots.x[0]) == (6.0, 23.5, 12.0)
    assert t("funnel_fig_times", "zh", median="12", q1="6", q3="29.5", n="40") in texts(fig)
    assert t("funnel_fig_times_none", "zh") in texts(fig)


def test_the_groups_are_dots_weakest_first_with_the_small_ones_marked():
    step = pd.DataFrame({"label": ["B", "A", "C"], "start": [300, 200, 10], "rate": [0.3, 0.5, 0.9],
                         "low": [0.25, 0.43, 0.6], "high": [0.35, 0.57, 0.98], "small": [False, False, True]})
    fig = figures.group_conversion_dots(step, "en", overall=0.42)
    assert list(fig.data[0].y) == ["B", "A", "C"] and list(fig.data[0].x) == [0.3, 0.5, 0.9]
    ticks = list(fig.layout.yaxis.ticktext)
    assert "n = 300" in ticks[0] and t("satisfaction_fig_too_few", "en") in ticks[2]
    assert fig.layout.shapes[0].x0 == 0.42
    assert t("funnel_fig_everyone", "en", pct=fmt_pct(0.42, "en")) in texts(fig)
    assert texts(figures.group_conversion_dots(step.assign(start=0), "en")) == t("funnel_fig_no_data", "en")
