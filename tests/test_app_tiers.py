"""The customer tiers page (pages/tiers.py) through Streamlit's AppTest.

The app reads the seeded world of tests/tiers_fixture.py (150 customers in three regions over 2023-2024, values
that tie, a cost on most rows, a negative revenue and a negative margin), imported through the real pipeline.
What the page shows is checked against the tiers computed from the raw rows with pandas and exact fractions
(:mod:`tiers_fixture`), and the concentration against the Gini coefficient's other definition (the mean absolute
difference). The settings (presets, cut points, names, margin), the links and their refusals:
tests/test_app_tiers_settings.py.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tiers_fixture as tf
from app_util import NORTH_MANAGER, open_app, page_text, spy_downloads
from streamlit.testing.v1 import AppTest
from test_churn_view import Reference, pooled

from analytics.scope import Scope
from ui.dates import fmt_period
from ui.formats import fmt_int, fmt_number, fmt_pct
from ui.i18n import LANGUAGES, t

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
PAGE = "pages/tiers.py"
SECTIONS = ("tiers_pyramid_title", "tiers_concentration_title", "tiers_mix_title", "tiers_migration_title",
            "tiers_churned_title", "tiers_clv_title")
OTHERS = ("华东", "华南")


@pytest.fixture(scope="module")
def tiers_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    return tf.build(tmp_path_factory.mktemp("app_tiers"))


def run_tiers(monkeypatch: pytest.MonkeyPatch, path: Path, lang: str = "en", **params) -> AppTest:
    """The app on ``path``, moved to the tiers page as a click in the navigation does."""
    return open_app(monkeypatch, path, page=PAGE, lang=lang, **params)


def frame_with(at: AppTest, column: str, lang: str = "en") -> pd.DataFrame:
    """The table with the column ``tiers_col_<column>``."""
    return next(df.value for df in at.dataframe if t(f"tiers_col_{column}", lang) in df.value.columns)


def label(name: str, lang: str) -> str:
    return t(f"tiers_name_{name}", lang) if name in tf.PYRAMID[0] + ("key", "ordinary", "small") else name


def _label(name: str, lang: str) -> str:
    """A tier's or "new"/"lost"'s label in the migration."""
    return t(f"tiers_{name}", lang) if name in ("new", "lost") else label(name, lang)


def assert_pyramid(at: AppTest, want: pd.DataFrame, lang: str = "en") -> None:
    """The tier table equals the reference's counts and values (the page shows the names in the language)."""
    shown = frame_with(at, "value_share", lang)
    col = lambda c: t(f"tiers_col_{c}", lang)  # noqa: E731
    assert list(shown[col("tier")]) == [label(n, lang) for n in want["name"]]
    assert list(shown[col("customers")]) == list(want["customers"])
    assert np.allclose(shown[col("value")], want["value"])
    assert np.allclose(shown[col("value_share")], want["value"] / want["value"].sum())
    assert np.allclose(shown[col("customer_share")], want["customers"] / want["customers"].sum())


def gini_and_top(values: pd.Series) -> tuple[float, float]:
    """Gini as the mean absolute difference over twice the mean, and the top-20 % share, of the values clipped
    at zero."""
    x = np.clip(values.to_numpy(dtype=float), 0, None)
    n = len(x)
    gini = np.abs(x[:, None] - x[None, :]).sum() / (2 * n * n * x.mean())
    top = np.sort(x)[::-1][:int(np.floor(0.2 * n))].sum() / x.sum()
    return float(gini), float(top)


def kept_values(tx, customers, regions=(), allowed=None, measure="revenue") -> pd.Series:
    value = tf.values(tx, customers, tf.PERIOD, measure, allowed)
    return value[value.index.isin(tf.kept(customers, regions))]


# ----------------------------------------------------------------------------- what the page shows


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_shows_every_section_with_the_raw_rows_figures(monkeypatch, tiers_db, lang):
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, lang)
    assert [x.value for x in at.title] == [t("nav_tiers", lang)]
    assert [s.value for s in at.subheader] == [t(k, lang) for k in SECTIONS]
    assert_pyramid(at, tf.pyramid(tx, customers), lang)
    values = kept_values(tx, customers)
    assert at.caption[0].value == t("tiers_caption", lang, customers=fmt_int(len(values), lang),
                                    period=fmt_period(date(2024, 1, 1), date(2024, 12, 1), lang),
                                    ranked=fmt_int(len(values), lang), measure=t("tiers_measure_revenue", lang))
    # the rule, with the tiers in use
    rule = next(i.value for i in at.info if i.icon == ":material/rule:")
    assert rule.startswith(t("tiers_definition", lang, measure=t("tiers_measure_revenue", lang), tiers="")[:20])
    assert t("tiers_definition_tier", lang, tier=label("platinum", lang), cut=fmt_pct(0.01, lang, 0)) in rule
    # concentration: the top-20 % share and Gini
    gini, top = gini_and_top(values)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("tiers_top_share", lang)] == fmt_pct(top, lang)
    assert metrics[t("tiers_gini", lang)] == fmt_number(gini, lang, 3)
    assert t("tiers_negative_note", lang, n=fmt_int(int((values < 0).sum()), lang)) in [c.value for c in at.caption]
    # the migration: the matrix's counts and the moves' tiles
    moves = tf.migration(tx, customers)
    matrix = frame_with(at, "from_to", lang).set_index(t("tiers_col_from_to", lang))
    for (before, after), n in moves.groupby(["before", "after"]).size().items():
        assert matrix.loc[_label(before, lang), _label(after, lang)] == n
    assert int(matrix.to_numpy().sum()) == len(moves)
    order = {n: k for k, n in enumerate(tf.PYRAMID[0])}
    kinds = {"new": moves["before"] == "new", "lost": moves["after"] == "lost"}
    known = ~kinds["new"] & ~kinds["lost"]
    rank_before, rank_after = moves["before"].map(order), moves["after"].map(order)
    kinds |= {"upgrade": known & (rank_after < rank_before), "downgrade": known & (rank_after > rank_before),
              "same": known & (rank_after == rank_before)}
    for kind, rows in kinds.items():
        assert metrics[t(f"tiers_move_{kind}", lang)] == fmt_int(int(rows.sum()), lang), kind
    # other language's words nowhere
    other = next(x for x in LANGUAGES if x != lang)
    assert t("tiers_pyramid_title", other) not in page_text(at)


def test_the_tier_mix_and_churn_per_tier_equal_the_raw_rows(monkeypatch, tiers_db):
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, "en")
    value = tf.values(tx, customers, tf.PERIOD)
    tier = tf.tiers(value, tf.PYRAMID[1])
    home = customers.set_index("customer_id")
    mix = frame_with(at, "group")
    for group in ("华东", "华北", "华南"):
        mine = tier[home.loc[tier.index, "region"] == group]
        rows = mix[mix[t("tiers_col_group", "en")] == group]
        assert list(rows[t("tiers_col_customers", "en")]) == [int((mine == k).sum()) for k in range(4)]
    # by segment: the radio switches the grouping
    at.radio(key="tiers_mix_by").set_value("segment").run()
    mix = frame_with(at, "group")
    assert set(mix[t("tiers_col_group", "en")]) == set(home.loc[tier.index, "segment"])
    # churn per tier: the churn page's monthly rate over each tier's customers, counted day by day from the raw
    # rows (W from the caption; the comparison period over its own tiers), and churned as of the data's end
    caption = next(c.value for c in at.caption if c.value.startswith(t("tiers_churned_caption", "en", window="")[:20]))
    window = int(re.search(r"W = ([\d,]+) days", caption).group(1).replace(",", ""))
    sales = tx.rename(columns={"order_date": "day"})
    as_of = min(sales.loc[sales["amount"] >= 0, "day"].max(), tf.PERIOD[1] - timedelta(days=1))
    ref = Reference(sales, as_of, window)
    then = tf.tiers(tf.values(tx, customers, tf.COMPARISON), tf.PYRAMID[1])
    churned = frame_with(at, "exposure")
    lives = ref.lifetimes().set_index("customer_id")
    for k in range(4):
        month = ref.monthly(Scope(tf.PERIOD[0], date(2024, 12, 1)), set(tier.index[tier == k]))
        c, e = pooled(month[~month["provisional"]])[:2]
        before = pooled(ref.monthly(Scope(*tf.COMPARISON[:1], date(2023, 12, 1)), set(then.index[then == k])))
        row = churned.iloc[k]
        assert (row[t("tiers_col_churned", "en")], row[t("tiers_col_exposure", "en")]) == (c, e), k
        assert row[t("tiers_col_compare_rate", "en")] == pytest.approx(before[2], rel=1e-12, nan_ok=True), k
        mine = lives.loc[lives.index.intersection(tier.index[tier == k])]
        assert (row[t("tiers_col_customers", "en")], row[t("tiers_col_churned_now", "en")]) == (
            len(mine), int(mine["observed"].sum())), k


def test_a_region_filter_shows_that_regions_customers_ranked_among_everyone(monkeypatch, tiers_db):
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, "en", region="华北")
    want = tf.pyramid(tx, customers, regions=("华北",))
    assert want["customers"].sum() < tf.pyramid(tx, customers)["customers"].sum()
    assert_pyramid(at, want)
    mix = frame_with(at, "group")
    assert set(mix[t("tiers_col_group", "en")]) == {"华北"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_tier_filter_keeps_those_tiers_customers(monkeypatch, tiers_db, lang):
    """?tier=platinum&tier=gold (the global filter, the pyramid's tiers over the period): the page shows only those
    customers, in their tiers (the same tiers, as both rank everyone by revenue with the setting's cut points)."""
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, lang, tier=["platinum", "gold"])
    everyone = tf.pyramid(tx, customers)
    want = everyone.assign(customers=[n if name in ("platinum", "gold") else 0 for name, n in
                                      zip(everyone["name"], everyone["customers"], strict=True)],
                           value=[v if name in ("platinum", "gold") else 0.0 for name, v in
                                  zip(everyone["name"], everyone["value"], strict=True)])
    assert want["customers"].sum() > 0
    assert_pyramid(at, want, lang)


def test_a_sales_manager_sees_only_their_regions_anywhere_downloads_included(monkeypatch, tiers_db, tmp_path):
    path, tx, customers = tiers_db
    access = tmp_path / "access.toml"
    access.write_text(NORTH_MANAGER, encoding="utf-8")
    offered = spy_downloads(monkeypatch)
    at = open_app(monkeypatch, path, page=PAGE, email="north@example.com", access=access, lang="en", region="华东")
    assert not [r for r in OTHERS if r in page_text(at)]  # a tampered link asks for 华东: nothing of it
    at = open_app(monkeypatch, path, page=PAGE, email="north@example.com", access=access, lang="en")
    # ranked among the manager's own customers only
    assert_pyramid(at, tf.pyramid(tx, customers, allowed=("华北",)))
    at.selectbox(key="tiers_from").set_value("lead")
    at.selectbox(key="tiers_to").set_value("lost")
    at.run()
    north = set(customers.loc[customers["region"] == "华北", "customer_id"])
    listed = frame_with(at, "customer_id")
    assert len(listed) and set(listed[t("tiers_col_customer_id", "en")]) <= north
    text = page_text(at)
    assert not [r for r in OTHERS if r in text]
    assert offered and not [r for df in offered for r in OTHERS if r in df.to_csv()]
    want = tf.cell(tf.migration(tx, customers, allowed=("华北",)), "lead", "lost")
    whole = [df for df in offered if t("tiers_col_customer_id", "en") in df.columns][-1]
    assert list(whole[t("tiers_col_customer_id", "en")]) == list(want["customer_id"])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_filter_without_customers_says_so(monkeypatch, tiers_db, lang):
    path, _, customers = tiers_db
    assert set(customers.loc[customers["segment"] == "政府", "region"]) == {"华南"}
    at = run_tiers(monkeypatch, path, lang, region="华北", segment="政府")
    assert t("tiers_no_customers", lang) in [i.value for i in at.info]
    assert not at.metric and not at.dataframe and not at.subheader


def test_without_a_comparison_period_the_migration_says_so(monkeypatch, tiers_db):
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, "en", compare="none")
    assert t("tiers_migration_none", "en") in [i.value for i in at.info]
    assert_pyramid(at, tf.pyramid(tx, customers))
    assert not [df for df in at.dataframe if t("tiers_col_from_to", "en") in df.value.columns]


# ----------------------------------------------------------------------------- a cell's customers


def test_choosing_from_and_to_lists_that_cells_customers(monkeypatch, tiers_db):
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, "en")
    assert t("tiers_cell_hint", "en") in [c.value for c in at.caption]
    at.selectbox(key="tiers_from").set_value("iron")
    at.selectbox(key="tiers_to").set_value("lead")
    at.run()
    want = tf.cell(tf.migration(tx, customers), "iron", "lead")
    listed = frame_with(at, "customer_id")
    assert list(listed[t("tiers_col_customer_id", "en")]) == list(want["customer_id"])
    assert np.allclose(listed[t("tiers_col_value_change", "en")], want["value_change"])
    names = customers.set_index("customer_id")["customer_name"]
    assert list(listed[t("tiers_col_customer_name", "en")]) == list(names[want["customer_id"]])


def test_picking_a_matrix_cell_lists_it_and_a_row_opens_the_customer(monkeypatch, tiers_db):
    path, tx, customers = tiers_db
    at = run_tiers(monkeypatch, path, "en", region="华东")
    lost = t("tiers_lost", "en")
    at.session_state["tiers_matrix"] = {"selection": {"rows": [], "columns": [], "cells": [[3, lost]]}}
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert (at.selectbox(key="tiers_from").value, at.selectbox(key="tiers_to").value) == ("lead", "lost")
    want = tf.cell(tf.migration(tx, customers, regions=("华东",)), "lead", "lost")
    listed = frame_with(at, "customer_id")
    assert list(listed[t("tiers_col_customer_id", "en")]) == list(want["customer_id"])
    picked = want["customer_id"].iloc[1]
    at.session_state["tiers_cell_customers"] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert [x.value for x in at.title] == [t("nav_customer", "en")]
    assert at.query_params["customer"] == picked
    assert at.query_params["lang"] == "en" and at.query_params["region"] == "华东"  # the filters stay


def test_an_empty_cell_says_so(monkeypatch, tiers_db):
    path, tx, customers = tiers_db
    moves = tf.migration(tx, customers)
    assert not ((moves["before"] == "platinum") & (moves["after"] == "platinum")).any()
    at = run_tiers(monkeypatch, path, "zh")
    at.selectbox(key="tiers_from").set_value("platinum")
    at.selectbox(key="tiers_to").set_value("platinum")
    at.run()
    assert t("tiers_cell_empty", "zh", before="铂金", after="铂金") in [i.value for i in at.info]
