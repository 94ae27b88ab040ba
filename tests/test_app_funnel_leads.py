"""The funnel page (pages/funnel.py) through Streamlit's AppTest on imported leads (the three leads fixtures, a workbook
in the demo's shape, a later stage-change log and a sales file: tests/funnel_leads_world.py), over the first quarter
of 2024 (compared with October to December 2023): the page shows the leads funnel, and what it shows — the tiles, the
leak in a sentence, the funnel's table, each step by region, source and rep, the stage times, the stuck leads with
their rep and customer — equals the design's rules computed with pandas on the raw files
(tests/funnel_leads_reference.py), with a region filter, a source filter (from the address and typed in the settings)
and the order switch, in both languages; the mapping's expander and the unmapped names' warning state what the
reference reads."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from app_util import open_app, page_text
from funnel_leads_reference import group_rows, meaning, stage_rows, stuck, times
from funnel_leads_world import World, build
from streamlit.testing.v1 import AppTest
from test_funnel_leads import expected

from analytics.metrics.funnel_stages import BY_KEY
from analytics.scope import Scope
from ui.formats import fmt_int, fmt_pct
from ui.i18n import LANGUAGES, md_literal, t

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
PAGE = "pages/funnel.py"
PERIOD = {"from": "2024-01", "to": "2024-03"}
Q1 = (date(2024, 1, 1), date(2024, 3, 1))
REGIONS = ("华东", "华南", "East")
SOURCES = ("展会", "转介绍", "官网表单", "Web", "搜索广告")
A = date(2024, 6, 30)
# (no stage list saved, and the leads have proposal dates: the suggested list, with proposal)
STAGES = ("potential", "target", "proposal", "first_purchase", "repeat_purchase", "loyal")


@pytest.fixture(scope="module", name="world")
def world_fixture(tmp_path_factory) -> World:
    return build(tmp_path_factory.mktemp("app_funnel_leads"))


def run_page(monkeypatch, world: World, lang: str, **params) -> AppTest:
    return open_app(monkeypatch, world.path, page=PAGE, lang=lang, **(PERIOD | params))


def col(name: str, lang: str) -> str:
    return t(f"funnel_col_{name}", lang)


def table_with(at: AppTest, *columns: str) -> pd.DataFrame:
    found = [df.value for df in at.dataframe if all(c in df.value.columns for c in columns)]
    assert len(found) == 1, (columns, len(found))
    return found[0]


def name(key: str, lang: str) -> str:
    return BY_KEY[key].name(lang)


def close(shown, want) -> bool:
    return np.allclose(np.asarray(shown, dtype=float), np.asarray(want, dtype=float), equal_nan=True, atol=1e-12)


def reference(world: World, regions: tuple[str, ...], sources: tuple[str, ...]) -> pd.DataFrame:
    ref = expected(world, Scope(*Q1, regions=regions), A, {}, 3)
    return ref[ref["source"].isin(sources)].reset_index(drop=True) if sources else ref


def assert_page_shows(at: AppTest, world: World, lang: str, order: str, regions: tuple[str, ...] = (),
                      sources: tuple[str, ...] = ()) -> None:
    """The tiles, the leak, the funnel's table, each grouping's table, the times and the stuck leads against the
    reference's figures."""
    ref = reference(world, regions, sources)
    rows = stage_rows(ref, STAGES, order)
    text = page_text(at)
    assert t("funnel_which_leads_leads", lang) in text
    tiles = {m.label: m.value for m in at.metric}
    assert tiles[t("funnel_kpi_members", lang)] == fmt_int(len(ref), lang)
    assert tiles[t("funnel_kpi_overall", lang)] == fmt_pct(rows[-1][3], lang)
    # the biggest leak: the step losing the largest share (the first on a tie)
    lost = [(1 - r[5], i) for i, r in enumerate(rows) if i and r[6] == r[6]]
    share, step = max(lost, key=lambda x: (x[0], -x[1]))
    assert tiles[t("funnel_kpi_leak", lang)] == fmt_pct(share, lang)
    parts = {"before": name(STAGES[step - 1], lang), "after": name(STAGES[step], lang), "lost": fmt_pct(share, lang)}
    leak = [w.value for w in at.warning if w.value.startswith(f"{parts['before']} → {parts['after']}")]
    assert len(leak) == 1 and fmt_pct(share, lang) in leak[0]
    if "region" not in leak[0] and lang == "en":  # (no region is large enough in these small cohorts)
        assert leak[0] == t("funnel_leak_no_region_leads", lang, **parts)
    table = table_with(at, col("stage", lang), col("leads", lang))
    assert table[col("stage", lang)].tolist() == [name(k, lang) for k in STAGES]
    assert table[col("leads", lang)].tolist() == [r[1] for r in rows]
    for i, c in enumerate(("pct_previous", "pct_first", "continued", "conversion", "low", "high"), start=2):
        assert close(table[col(c, lang)], [r[i] for r in rows]), c
    times_shown = table_with(at, col("from_stage", lang), col("median", lang))
    want = times(ref, STAGES)
    assert times_shown[col("n", lang)].tolist() == [w[2] for w in want]
    assert close(times_shown[col("median", lang)], [w[3] for w in want])
    listed = stuck(ref, STAGES, A)
    if listed:
        shown = table_with(at, col("lead_id", lang), col("sales_rep", lang))
        assert list(zip(shown[col("lead_id", lang)], shown[col("stage", lang)], shown[col("days_in_stage", lang)],
                        strict=True)) == [(lead, name(k, lang), d) for lead, k, d in listed]
        reps = world.attrs["sales_rep"].to_dict()
        assert shown[col("sales_rep", lang)].tolist() == [reps[lead] or t("funnel_no_sales_rep", lang)
                                                          for lead, _, _ in listed]
        customers = {lead: world.attrs.loc[lead, "customer_id"] for lead, _, _ in listed}
        has_link = t("col_customer_detail", lang) in shown.columns
        assert has_link == any(customers.values()) == (col("customer_id", lang) in shown.columns)
    else:
        assert t("funnel_stuck_none_leads", lang) in text


def assert_groups(at: AppTest, world: World, lang: str, order: str, grouping: str, regions=(), sources=()) -> None:
    at.radio(key="funnel_group_by").set_value(grouping).run()
    assert not at.exception
    ref = reference(world, regions, sources)
    groups = table_with(at, col("step", lang), col("group", lang), col("rank", lang))
    want = group_rows(ref, STAGES, order, grouping)
    none = t(f"funnel_no_{grouping}", lang)
    shown = {(s, g): (a, b) for s, g, a, b in zip(groups[col("step", lang)], groups[col("group", lang)],
                                                  groups[col("start", lang)], groups[col("reached", lang)],
                                                  strict=True)}
    steps = [f"{name(a, lang)} → {name(b, lang)}" for a, b in pairwise(STAGES)]
    assert len(shown) == len(want)
    for g, step, start, reached, *_ in want:
        assert shown[(steps[step - 1], g if g is not None else none)] == (start, reached), (g, step)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_leads_funnel_with_the_mapping_and_the_unmapped_names(monkeypatch, world, lang):
    at = run_page(monkeypatch, world, lang)
    assert_page_shows(at, world, lang, "strict")
    for grouping in ("region", "source", "sales_rep"):
        assert_groups(at, world, lang, "strict", grouping)
    ref = expected(world, Scope(*Q1), A, {}, 3)
    mapping = table_with(at, t("funnel_mapping_col_name", lang), t("funnel_mapping_col_key", lang))
    names = dict(zip(mapping[t("funnel_mapping_col_name", lang)], mapping[t("funnel_mapping_col_rows", lang)],
                     strict=True))
    unmapped = {n: k for n, k in names.items() if meaning(n, {})[0] is None}
    assert unmapped, "the Salesforce statuses are unmapped without a saved map"
    warning = t("funnel_unmapped", lang, n=fmt_int(sum(unmapped.values()), lang), names=(
        "、" if lang == "zh" else ", ").join(t("funnel_unmapped_name", lang, name=md_literal(n), n=fmt_int(k, lang))
                                           for n, k in unmapped.items()))
    assert warning in [w.value for w in at.warning]
    implied = {k: int(ref[f"{k}_implied"].sum()) for k in ("target",) if ref[f"{k}_implied"].any()}
    if implied:
        assert t("funnel_implied_stage", lang, stage=name("target", lang), n=fmt_int(implied["target"], lang)) \
            in page_text(at)
    assert "W" in t("funnel_definition_leads", lang, period="", as_of="", stages="", n="")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_region_filter_a_source_filter_and_the_order_switch(monkeypatch, world, lang):
    at = run_page(monkeypatch, world, lang, region=list(REGIONS), source=",".join(SOURCES))
    regions, sources = REGIONS, SOURCES
    assert at.text_input(key="funnel_source").value == ",".join(SOURCES)
    assert len(reference(world, regions, sources)) == 11  # (of 17 in the regions, 37 in all)
    assert_page_shows(at, world, lang, "strict", regions, sources)
    at.radio(key="funnel_order").set_value("any").run()
    assert not at.exception and at.query_params["order"] == "any"
    assert_page_shows(at, world, lang, "any", regions, sources)
    assert_groups(at, world, lang, "any", "sales_rep", regions, sources)
    # a source typed in the settings: kept in the address, the figures of its leads only
    at.text_input(key="funnel_source").set_value("展会").run()
    assert not at.exception and at.query_params["source"] == "展会"
    assert_page_shows(at, world, lang, "any", regions, ("展会",))
    # a source whose stuck leads have no customer: a plain table with the lead id, no customer column
    at.text_input(key="funnel_source").set_value("转介绍").run()
    assert_page_shows(at, world, lang, "any", regions, ("转介绍",))
    assert t("col_customer_detail", lang) not in table_with(at, col("lead_id", lang)).columns
    at.text_input(key="funnel_source").set_value("").run()
    assert "source" not in at.query_params
    assert_page_shows(at, world, lang, "any", regions)


def test_the_comparison_cohort_and_w_that_does_not_apply(monkeypatch, world):
    at = run_page(monkeypatch, world, "en", source="展会")
    comparison = Scope(*Q1).comparison()
    back = comparison.end_exclusive - timedelta(days=1) + (A - date(2024, 3, 31))
    then = expected(world, comparison, back, {}, 3)
    then = then[then["source"] == "展会"]
    assert len(then)
    table = table_with(at, col("stage", "en"), col("compare_leads", "en"))
    assert table[col("compare_leads", "en")].tolist() == [r[1] for r in stage_rows(then, STAGES, "strict")]
    assert "the window W does not apply here" in page_text(at)
