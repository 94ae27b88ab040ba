"""The customer tiers page's figures (ui/figures/tiers.py): each draws exactly its view's numbers (the pyramid's
counts, values and shares, the Lorenz points and the top-20 % share, each group's tier shares, the migration's
flows, the share churned with its interval, the CLV per tier), the best tier first and darkest, names from the
data as text (never markup), labels in the language asked for, and a note rather than an exception when there is
nothing to draw. The view is :func:`analytics.metrics.tiers.tier_view` on the seeded world of tests/tiers_fixture.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tiers_fixture as tf

from analytics import scope as gate
from analytics.metrics.churn_tiers import tier_churn
from analytics.metrics.tiers import TierView, concentration, tier_view
from analytics.store.connection import connect
from analytics.tiering import TierSpec
from ui.figures import tiers as ft
from ui.figures.common import change_colors
from ui.formats import fmt_int, fmt_money, fmt_pct
from ui.i18n import LANGUAGES, t
from ui.tiers_settings import tier_labels


@pytest.fixture(scope="module")
def views(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TierView]:
    """The view by revenue (the pyramid) and with names from the data (one of them markup)."""
    path, _, _ = tf.build(tmp_path_factory.mktemp("figures_tiers"))
    con = connect(Path(path))
    try:
        scope = gate.default_scope(con)
        custom = TierSpec(("<b>A</b>", "B级", "C"), (0.1, 0.4))
        return {"pyramid": tier_view(con, scope), "custom": tier_view(con, scope, custom),
                "churn": tier_churn(con, scope, TierSpec())}
    finally:
        con.close()


def values(array) -> list[float]:
    return [np.nan if v is None else float(v) for v in array]


def same(drawn, expected) -> bool:
    return np.allclose(values(drawn), np.asarray(expected, dtype=float), equal_nan=True)


def no_data(fig, lang: str) -> bool:
    return [a.text for a in fig.layout.annotations] == [t("tiers_fig_no_data", lang)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_pyramid_draws_each_tier_best_on_top_with_its_figures(views, lang):
    view = views["pyramid"]
    labels = tier_labels(view.spec.names, lang)
    fig = ft.tier_pyramid(view.table, labels, lang, "CNY")
    layers = [tr for tr in fig.data if tr.fill == "toself"]
    assert [tr.name for tr in layers] == [labels[n] for n in view.table["name"]]
    tops = [max(tr.y) for tr in layers]
    widths = [max(tr.x) - min(tr.x) for tr in layers]
    assert tops == sorted(tops, reverse=True) and widths == sorted(widths)  # a pyramid: the best on top, narrowest
    assert [tr.fillcolor for tr in layers] == ft.tier_colors(4)
    notes = {a.name: a.text for a in fig.layout.annotations}
    for row, layer in zip(view.table.itertuples(index=False), layers, strict=True):
        note = notes[row.name]
        for shown in (fmt_int(row.customers, lang), fmt_pct(row.customer_share, lang),
                      fmt_money(row.value, lang, "CNY", compact=True), fmt_pct(row.value_share, lang)):
            assert shown in note, (row.name, shown)
        for shown in (fmt_money(row.average, lang, "CNY"), fmt_money(row.lowest, lang, "CNY"),
                      fmt_money(row.highest, lang, "CNY")):
            assert shown in layer.text
    if lang == "zh":
        assert [tr.name for tr in layers] == ["铂金", "黄金", "铁", "铅"]


def test_names_from_the_data_are_drawn_as_text(views):
    view = views["custom"]
    labels = tier_labels(view.spec.names, "en")
    assert labels["<b>A</b>"] == "<b>A</b>"  # a custom name is shown as given
    fig = ft.tier_pyramid(view.table, labels, "en", "CNY")
    assert [tr.name for tr in fig.data if tr.fill == "toself"] == ["&lt;b&gt;A&lt;/b&gt;", "B级", "C"]
    assert all("<b>A</b>" not in a.text for a in fig.layout.annotations)
    sankey = ft.migration_sankey(view.migration, view.spec.names, labels, "en", "CNY")
    assert any(label.startswith("&lt;b&gt;A&lt;/b&gt; ") for label in sankey.data[0].node.label)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_lorenz_curve_draws_the_points_and_marks_the_top_share(views, lang):
    c = views["pyramid"].concentration
    fig = ft.concentration_lorenz(c, lang)
    (curve,) = [tr for tr in fig.data if tr.name == t("tiers_fig_lorenz", lang)]
    assert same(curve.x, c.lorenz["customers_share"]) and same(curve.y, c.lorenz["value_share"])
    (diagonal,) = [tr for tr in fig.data if tr.name == t("tiers_fig_equal", lang)]
    assert list(diagonal.x) == [0, 1] and list(diagonal.y) == [0, 1]
    mark = t("tiers_fig_top_share", lang, share=fmt_pct(c.top_share, lang))
    (point,) = [tr for tr in fig.data if tr.name == mark]
    assert same(point.x, [math.floor(0.2 * c.customers) / c.customers]) and same(point.y, [c.top_share])
    assert [a.text for a in fig.layout.annotations if a.name == "top_share"] == [f"<b>{mark}</b>"]


def test_nothing_to_concentrate_is_a_note():
    assert no_data(ft.concentration_lorenz(concentration(np.array([])), "en"), "en")
    assert no_data(ft.concentration_lorenz(concentration(np.array([-5.0, 0.0])), "zh"), "zh")


@pytest.mark.parametrize("grouping", ["home_region", "segment", "acquisition_channel"])
def test_the_mix_draws_each_groups_tier_shares(views, grouping):
    view = views["pyramid"]
    mix = view.mix[grouping]
    labels = tier_labels(view.spec.names, "en")
    groups = {g: str(g) for g in mix["group"].drop_duplicates()}
    fig = ft.tier_mix_bar(mix, labels, groups, "en")
    order = list(dict.fromkeys(mix["group"]))
    sizes = mix.groupby("group")["customers"].sum()
    assert [tr.name for tr in fig.data] == [labels[n] for n in view.spec.names]
    for tr, name in zip(fig.data, view.spec.names, strict=True):
        part = mix[mix["name"] == name].set_index("group").loc[order]
        assert same(tr.x, part["share"])
        assert list(tr.y) == [f"{g} ({fmt_int(sizes[g], 'en')})" for g in order]
    total = np.sum([values(tr.x) for tr in fig.data], axis=0)
    assert np.allclose(total, 1.0)  # each bar is 100 %


def test_the_sankey_draws_every_cell_of_the_matrix(views):
    view = views["pyramid"]
    labels = tier_labels(view.spec.names, "en")
    fig = ft.migration_sankey(view.migration, view.spec.names, labels, "en", "CNY")
    (sankey,) = fig.data
    nodes = list(sankey.node.label)
    drawn = [(nodes[s], nodes[g], v) for s, g, v in zip(sankey.link.source, sankey.link.target, sankey.link.value,
                                                       strict=True)]
    left = view.migration.groupby("before")["customers"].sum()
    right = view.migration.groupby("after")["customers"].sum()
    def node(name: str, totals: pd.Series) -> str:
        return f"{labels[name]} {fmt_int(totals[name], 'en')}"

    expected = [(node(r.before, left), node(r.after, right), r.customers)
                for r in view.migration.itertuples(index=False)]
    assert drawn == expected
    rise, fall = change_colors("en")
    colours = dict(zip(zip(view.migration["before"], view.migration["after"], strict=True), sankey.link.color,
                       strict=True))
    assert colours[("lead", "lost")] == ft._rgba(fall, 0.45) and colours[("new", "lead")] == ft._rgba(rise, 0.45)
    assert colours[("lead", "lead")] == ft._rgba("#9aa5b1", 0.45)
    for r, hover in zip(view.migration.itertuples(index=False), sankey.link.customdata, strict=True):
        assert fmt_int(r.customers, "en") in hover
    assert no_data(ft.migration_sankey(None, view.spec.names, labels, "en", "CNY"), "en")


def test_the_sankey_colours_follow_the_language(views):
    view = views["pyramid"]
    zh = ft.migration_sankey(view.migration, view.spec.names, tier_labels(view.spec.names, "zh"), "zh", "CNY")
    colours = dict(zip(zip(view.migration["before"], view.migration["after"], strict=True), zh.data[0].link.color,
                       strict=True))
    assert colours[("new", "lead")] == ft._rgba(change_colors("zh")[0], 0.45)  # a rise is red in Chinese


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_churn_dots_draw_each_tiers_rate_its_interval_and_the_comparison(views, lang):
    rates = views["churn"].rates
    labels = tier_labels(views["pyramid"].spec.names, lang)
    fig = ft.churn_dots(rates, labels, lang)
    dots, before = fig.data
    assert list(fig.layout.xaxis.ticktext) == [labels[n] for n in rates["group"]]
    tick = np.asarray(fig.layout.xaxis.tickvals)
    assert same(dots.x, tick + 0.12) and same(before.x, tick - 0.12)  # side by side at each tier
    assert same(dots.y, rates["rate"]) and same(before.y, rates["compare_rate"])
    assert same(dots.error_y.array, rates["high"] - rates["rate"])
    assert same(dots.error_y.arrayminus, rates["rate"] - rates["low"])
    assert list(dots.text) == [fmt_pct(r, lang) for r in rates["rate"]]
    assert before.marker.symbol == "diamond" and fig.layout.showlegend
    assert no_data(ft.churn_dots(rates.assign(exposure=0), labels, lang), lang)


def test_a_tier_without_customer_months_is_left_out_of_the_churn_chart(views):
    rates = views["churn"].rates
    fig = ft.churn_dots(rates.assign(exposure=[0, *rates["exposure"][1:]]), tier_labels(
        views["pyramid"].spec.names, "en"), "en")
    assert list(fig.layout.xaxis.ticktext) == ["Gold", "Iron", "Lead"] and len(fig.data[0].x) == 3
    without = ft.churn_dots(rates.assign(compare_rate=float("nan")), tier_labels(views["pyramid"].spec.names, "en"),
                            "en")
    assert len(without.data) == 1 and not without.layout.showlegend  # no comparison period: no diamonds
    assert same(without.data[0].x, without.layout.xaxis.tickvals)  # and the dots on their tiers


def test_the_clv_bars_draw_the_average_and_the_total():
    clv = pd.DataFrame({"tier": [0, 1, 2], "name": ["key", "ordinary", "small"], "customers": [10, 20, 40],
                        "with_clv": [10, 20, 0], "total": [50_000.0, 30_000.0, 0.0],
                        "average": [5_000.0, 1_500.0, np.nan]})
    labels = tier_labels(("key", "ordinary", "small"), "zh")
    fig = ft.clv_bar(clv, labels, "zh", "CNY")
    (bars,) = fig.data
    assert list(bars.y) == ["关键客户", "普通客户"] and same(bars.x, [5_000.0, 1_500.0])
    assert bars.text[0] == t("tiers_fig_clv", "zh", average=fmt_money(5_000.0, "zh", "CNY", compact=True),
                             total=fmt_money(50_000.0, "zh", "CNY", compact=True))
    assert fig.layout.xaxis.range[1] >= 5_000.0
    assert no_data(ft.clv_bar(clv.assign(with_clv=0), labels, "zh", "CNY"), "zh")


def test_an_empty_pyramid_and_mix_are_notes(views):
    view = views["pyramid"]
    labels = tier_labels(view.spec.names, "en")
    assert no_data(ft.tier_pyramid(view.table.assign(customers=0), labels, "en", "CNY"), "en")
    assert no_data(ft.tier_mix_bar(view.mix["home_region"].iloc[:0], labels, {}, "en"), "en")


def test_tier_colours_run_from_dark_to_light():
    colours = ft.tier_colors(5)
    brightness = [sum(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in colours]
    assert brightness == sorted(brightness) and len(set(colours)) == 5
    assert ft.tier_colors(1) == ["#0f3d73"]
