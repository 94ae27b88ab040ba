"""The leads funnel (analytics.metrics.funnel_leads) through the real import: the three leads fixtures, a workbook in
the demo's leads shape, a later stage-change log and a hand-made sales file (tests/funnel_leads_world.py). Every
figure (each lead's stages and days, the stage counts with both percentages and the Wilson intervals, each step per
region, source and rep, the stage times, the stuck leads, the evidence counts and the comparison cohort as of the
same distance after its end) equals the design's rules computed with pandas on the raw files
(tests/funnel_leads_reference.py), under several periods, filters, a sales manager's regions, both orders, two
stage lists and N. The rules one by one, the gate, the stage map and the mart: test_funnel_leads_rules.py."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from funnel_leads_reference import (
    ALL,
    cohort,
    evidence,
    group_rows,
    lead_reach,
    stage_rows,
    stuck,
    times,
)
from funnel_leads_world import SALESFORCE_MAP, World, build

from analytics.metrics.funnel_leads import GROUPINGS, leads_funnel
from analytics.scope import Scope

#: The data's end: the sales file's last purchase day (after every lead's day).
A = date(2024, 6, 30)
DEFAULT = ("potential", "target", "first_purchase", "repeat_purchase", "loyal")
FULL = ("potential", "target", "proposal", "first_purchase", "repeat_purchase", "loyal")
SCOPES = {
    "q1": Scope(date(2024, 1, 1), date(2024, 3, 1)),  # compared with Oct-Dec 2023 as of 2024-03-30
    "feb_apr": Scope(date(2024, 2, 1), date(2024, 4, 1)),  # Nov-Jan as of 2024-04-01: closes after it not yet
    "manager": Scope(date(2024, 1, 1), date(2024, 3, 1), allowed_regions=("华东",)),
    "regions": Scope(date(2024, 1, 1), date(2024, 3, 1), regions=("华北", "华南")),
    "segment": Scope(date(2024, 1, 1), date(2024, 3, 1), segments=("企业",)),
    "year": Scope(date(2023, 7, 1), date(2024, 6, 1), compare="last_year"),
    "none": Scope(date(2023, 11, 1), date(2024, 2, 1), compare="none"),
}


@pytest.fixture(scope="module", name="world")
def world_fixture(tmp_path_factory) -> World:
    return build(tmp_path_factory.mktemp("leads_world"))


@pytest.fixture(scope="module", name="con")
def con_fixture(world):
    con = world.open()
    yield con
    con.close()


def in_scope(a: pd.Series, scope: Scope, segments: dict[str, str]) -> bool:
    """The gate's rule (README, docs/funnel-design.md): the lead's own region within the user's regions and the
    region filter (no region: only for a user who sees every region with no region filter); the segment filter
    through the linked customer (none: only without the filter)."""
    if scope.allowed_regions is not None and a["region"] not in scope.allowed_regions:
        return False
    if scope.regions and a["region"] not in scope.regions:
        return False
    return not scope.segments or segments.get(a["customer_id"]) in scope.segments


def expected(world: World, scope: Scope, as_of: date, saved: dict, n: int) -> pd.DataFrame:
    """The reference's reach of the scope's cohort: leads in scope created in the period by ``as_of``."""
    keep = [lead for lead, a in world.attrs.iterrows() if in_scope(a, scope, world.segments)]
    key = tuple(sorted(saved.items()))
    if key not in world.evidence:  # (the stage evidence depends on the stage map only)
        world.evidence[key] = evidence(world.rows, world.attrs, saved)
    ref = lead_reach(world.evidence[key], world.attrs.loc[keep], world.buys, as_of, n)
    return cohort(ref, scope.start, min(scope.end_exclusive - timedelta(days=1), as_of)) if len(ref) else ref


def days(column: pd.Series) -> list[date | None]:
    return [None if pd.isna(x) else pd.Timestamp(x).date() for x in column]


def same(got: list[tuple], want: list[tuple]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert len(g) == len(w)
        for x, y in zip(g, w, strict=True):
            if isinstance(y, float):
                assert x == pytest.approx(y, abs=1e-12, nan_ok=True), (g, w)
            else:
                assert x == y, (g, w)


def records(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return [tuple(None if v is None or (isinstance(v, float) and np.isnan(v) and c == "group") else v
                  for c, v in zip(columns, row, strict=True)) for row in frame[columns].itertuples(index=False)]


def check(con, world: World, scope: Scope, *, order: str = "strict", stages: tuple[str, ...] = DEFAULT,
          saved: dict | None = None, n: int = 3, stuck_days: dict | None = None, end: date = A):
    """Every figure of ``leads_funnel`` against the reference (``end``: the data's end, A)."""
    saved = SALESFORCE_MAP if saved is None else saved
    got = leads_funnel(con, scope, order=order, loyal_min=n, stuck_days=stuck_days, stages=stages, stage_map=saved)
    assert (got.data_end, got.funnel.as_of, got.stages, got.min_days) == (end, end, stages, n)
    ref = expected(world, scope, end, saved, n)
    reach = got.reach.sort_values("member_id", ignore_index=True)  # (one row per lead, in no particular order)
    assert reach["member_id"].tolist() == ref["member_id"].tolist()
    assert got.now.cohort == len(ref) and got.empty == ref.empty
    assert days(reach["entered"]) == ref["entered"].tolist()
    for g in GROUPINGS:
        assert reach[g].tolist() == ref[g].tolist(), g
    assert reach["outcome"].tolist() == ["lost" if x else None for x in ref["lost"]]
    for k in ALL:
        assert reach[f"{k}_reached"].tolist() == ref[f"{k}_reached"].tolist(), k
        assert days(reach[f"{k}_day"]) == ref[f"{k}_day"].tolist(), k
    f = got.funnel
    same(records(f.counts, ["stage", "members", "pct_previous", "pct_first", "continued", "conversion", "low",
                            "high"]), stage_rows(ref, stages, order))
    for g in GROUPINGS:
        same(records(f.compare[g], ["group", "step", "start", "reached", "rate", "low", "high", "small", "rank"]),
             group_rows(ref, stages, order, g))
    same(records(f.times, ["from_stage", "to_stage", "n", "median", "q1", "q3", "out_of_order"]), times(ref, stages))
    assert records(f.stuck, ["member_id", "stage", "days_in_stage"]) == stuck(ref, stages, end, stuck_days)
    want = [(k, int(ref[f"{k}_reached"].sum()), int(ref[f"{k}_day"].notna().sum()),
             int(ref[f"{k}_implied"].sum()) if f"{k}_implied" in ref else 0,
             int(ref["by_close"].sum()) if k == "first_purchase" else 0) for k in stages]
    assert records(got.now.evidence, ["stage", "reached", "day_known", "implied", "by_close"]) == want
    comparison = scope.comparison()
    if comparison is None:
        assert got.comparison is None and got.comparison_as_of is None and got.overall_change is None
        return got
    back = comparison.end_exclusive - timedelta(days=1) + (end - (scope.end_exclusive - timedelta(days=1)))
    assert got.comparison_as_of == back
    then = expected(world, comparison, back, saved, n)
    same(records(got.comparison, ["stage", "members", "pct_previous", "pct_first", "continued", "conversion", "low",
                                  "high"]), stage_rows(then, stages, order))
    return got


@pytest.mark.parametrize("name", list(SCOPES))
@pytest.mark.parametrize("order", ["strict", "any"])
def test_every_figure_against_the_raw_files(con, world, name, order):
    check(con, world, SCOPES[name], order=order)


@pytest.mark.parametrize(("name", "order", "stages", "n", "stuck_days"), [
    ("q1", "strict", FULL, 3, None),
    ("q1", "any", FULL, 2, {"potential": 10, "proposal": 5}),
    ("feb_apr", "any", FULL, 2, None),
    ("year", "strict", FULL, 1, {"target": 30}),
    ("year", "any", ("target", "proposal", "first_purchase"), 3, None),
    ("segment", "any", ("first_purchase", "repeat_purchase", "loyal"), 2, None),
])
def test_the_stage_list_n_and_stuck_days_against_the_raw_files(con, world, name, order, stages, n, stuck_days):
    check(con, world, SCOPES[name], order=order, stages=stages, n=n, stuck_days=stuck_days)


def test_without_a_saved_map_the_salesforce_statuses_are_counted_nowhere_but_qualified(con, world):
    got = check(con, world, SCOPES["q1"], stages=FULL, saved={})
    salesforce = got.reach[got.reach["member_id"].str.startswith("00Q")]
    assert salesforce["target_reached"].sum() == 1 and not salesforce["proposal_reached"].any()


def test_strict_and_any_order_differ_where_a_log_skips_a_stage(con, world):
    """L9001's log goes 线索 → 报价 → 赢单 and L9002's 线索 → 赢单: a log says each stage reached, so the skipped
    ones are not implied; in strict order neither counts past potential, in any order both count at the stages
    they reached."""
    strict, any_order = (check(con, world, SCOPES["q1"], order=o, stages=FULL) for o in ("strict", "any"))
    reach = strict.reach.set_index("member_id")
    assert reach.loc["L9001", ["target_reached", "proposal_reached", "first_purchase_reached"]].tolist() == [
        False, True, True]
    assert reach.loc["L9002", ["target_reached", "proposal_reached", "first_purchase_reached"]].tolist() == [
        False, False, True]
    counted = {o: f.funnel.counts.set_index("stage")["members"] for o, f in (("strict", strict), ("any", any_order))}
    assert counted["any"]["proposal"] - counted["strict"]["proposal"] >= 1
    assert counted["any"]["first_purchase"] - counted["strict"]["first_purchase"] >= 2


def test_a_current_stage_implies_the_stages_before_it(con, world):
    """XS2401005 (a stage-dates row, won) and the Salesforce export's converted leads reached the pipeline stages
    before their current one on days the files do not say: implied, so strict and any order agree on them."""
    got = check(con, world, SCOPES["q1"], stages=FULL)
    reach = got.reach.set_index("member_id")
    converted = reach.loc["00Q5g00000A1bCdEAF"]
    assert converted[["target_reached", "proposal_reached"]].tolist() == [True, True]
    assert pd.isna(converted["target_day"]) and pd.isna(converted["proposal_day"])
    implied = got.now.evidence.set_index("stage")["implied"]
    assert implied["target"] >= 2 and implied["proposal"] >= 2
    assert reach.loc["00Q5g00000A1bCgEAF", ["target_reached", "proposal_reached"]].tolist() == [True, True]


def test_a_lead_created_before_the_period_is_not_counted_even_when_it_converts_in_it(con, world):
    """XS000007 was created on 2023-12-20 and its customer first bought on 2024-01-20: it belongs to the
    comparison cohort (Oct-Dec 2023), not to Jan-Mar 2024's, whatever happens in the period."""
    got = check(con, world, SCOPES["q1"])
    assert "XS000007" not in set(got.reach["member_id"])
    then = expected(world, SCOPES["q1"].comparison(), got.comparison_as_of, SALESFORCE_MAP, 3)
    assert then.set_index("member_id").loc["XS000007", "first_purchase_day"] == date(2024, 1, 20)
    assert got.comparison.set_index("stage").loc["first_purchase", "members"] == 1


def test_the_comparison_counts_a_known_day_after_its_as_of_day_as_not_yet_reached(con, world):
    """Nov 2023 - Jan 2024 counted as of 2024-04-01: XS000009's proposal (2024-04-15) and XS000010's close
    (2024-05-20) and its customer's first purchase (2024-05-25) come after it, although their stage rows (报价,
    成交) carry no day of their own."""
    got = check(con, world, SCOPES["feb_apr"], stages=FULL)
    assert got.comparison_as_of == date(2024, 4, 1)
    then = expected(world, SCOPES["feb_apr"].comparison(), date(2024, 4, 1), SALESFORCE_MAP, 3).set_index(
        "member_id")
    assert then.loc["XS000009", ["target_reached", "proposal_reached"]].tolist() == [True, False]
    assert then.loc["XS000010", ["proposal_reached", "first_purchase_reached"]].tolist() == [True, False]


def test_a_sales_manager_sees_only_the_leads_of_their_regions(con, world):
    got = check(con, world, SCOPES["manager"])
    assert set(got.reach["region"]) == {"华东"}
    everyone = leads_funnel(con, SCOPES["q1"], stage_map=SALESFORCE_MAP)
    others = everyone.reach[everyone.reach["region"] != "华东"]
    assert len(others) > 0 and not set(others["member_id"]) & set(got.reach["member_id"])
    # a lead without a region: only for a user who sees every region, with no region filter
    assert {"XS000004", "L9003"} <= set(everyone.reach["member_id"])
    all_regions = Scope(date(2024, 1, 1), date(2024, 3, 1), allowed_regions=tuple(sorted(
        {r for r in world.attrs["region"] if r is not None})))
    for scope in (all_regions, SCOPES["regions"]):
        assert not {"XS000004", "L9003"} & set(leads_funnel(con, scope, stage_map=SALESFORCE_MAP).reach["member_id"])
    asked = Scope(date(2024, 1, 1), date(2024, 3, 1), regions=("华北",), allowed_regions=("华东",))
    assert leads_funnel(con, asked, stage_map=SALESFORCE_MAP).empty



def purchase_stages_as_of(con, world: World, scope: Scope, days_n: list[tuple[int, date]], saved: dict) -> None:
    """The purchase stages of ``scope``'s leads as of each day with each N of ``days_n``, against the reference."""
    from analytics.metrics.funnel_leads import leads_reach

    for n, as_of in days_n:
        got = leads_reach(con, scope, stage_map=saved, loyal_min=n, as_of=as_of).reach
        got = got.sort_values("member_id", ignore_index=True)
        ref = expected(world, scope, as_of, saved, n)
        assert got["member_id"].tolist() == ref["member_id"].tolist()
        for k in ("first_purchase", "repeat_purchase", "loyal"):
            assert got[f"{k}_reached"].tolist() == ref[f"{k}_reached"].tolist(), (n, as_of, k)
            assert days(got[f"{k}_day"]) == ref[f"{k}_day"].tolist(), (n, as_of, k)


def test_the_purchase_stages_as_of_any_day(con, world):
    """Every purchase stage as of days through the half year (the comparison's as-of day falls anywhere), as the
    reference reads the raw sales (a month inside a customer's loyal month: tests/test_funnel_leads_demo.py)."""
    sweep = [(n, date(2024, 1, 1) + timedelta(days=d)) for n in (2, 3) for d in range(0, 182, 7)]
    purchase_stages_as_of(con, world, Scope(date(2023, 1, 1), date(2024, 6, 1), compare="none"), sweep,
                          SALESFORCE_MAP)
