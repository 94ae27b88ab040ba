"""The funnel engine (analytics.metrics.funnel) on small reach tables, every figure against a computation here: by
hand on a table of eight members, and member by member in plain Python and pandas on a seeded random table with
skipped stages, unknown days and groups of every size (statsmodels' Wilson interval, pandas' quantiles)."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from analytics.metrics import funnel as f

STAGES = ("a", "b", "c", "d")
AS_OF = date(2024, 12, 31)


def table(rows: list[tuple], stages=STAGES) -> pd.DataFrame:
    """A reach table from (member, entered, region, outcome, {stage: day or True (reached, day unknown)})."""
    out = pd.DataFrame({"member_id": [r[0] for r in rows], "entered": pd.to_datetime([r[1] for r in rows]),
                        "region": pd.Series([r[2] for r in rows], dtype=object),
                        "source": pd.Series([None] * len(rows), dtype=object),
                        "sales_rep": pd.Series([None] * len(rows), dtype=object),
                        "outcome": pd.Series([r[3] for r in rows], dtype=object)})
    for k in stages:
        out[f"{k}_reached"] = [k in r[4] for r in rows]
        out[f"{k}_day"] = pd.to_datetime([r[4][k] if isinstance(r[4].get(k), date) else None for r in rows])
    return out


D = date
#: Eight members; m5 skipped b, m6 skipped a and b, m8 reached c and d with no day known.
HAND = table([
    ("m1", D(2024, 1, 5), "东", None,
     {"a": D(2024, 1, 5), "b": D(2024, 1, 15), "c": D(2024, 2, 14), "d": D(2024, 3, 1)}),
    ("m2", D(2024, 1, 9), "东", None, {"a": D(2024, 1, 9), "b": D(2024, 1, 29)}),
    ("m3", D(2024, 2, 1), "西", "lost", {"a": D(2024, 2, 1), "b": D(2024, 2, 11), "c": D(2024, 3, 12)}),
    ("m4", D(2024, 2, 3), "西", None, {"a": D(2024, 2, 3)}),
    ("m5", D(2024, 3, 1), "西", None, {"a": D(2024, 3, 1), "c": D(2024, 4, 1)}),
    ("m6", D(2024, 3, 8), None, None, {"c": D(2024, 5, 1), "d": D(2024, 6, 1)}),
    ("m7", D(2024, 4, 2), "东", None, {"a": D(2024, 4, 2), "b": D(2024, 3, 30)}),  # b's day before a's
    ("m8", D(2024, 5, 1), "东", None, {"a": D(2024, 5, 1), "b": D(2024, 5, 6), "c": True, "d": True}),
])


def test_strict_and_any_order_differ_on_skipped_stages_by_hand():
    strict = f.stage_counts(HAND, STAGES, "strict")
    assert strict["members"].tolist() == [7, 5, 3, 2]  # a: all but m6; b: m1 m2 m3 m7 m8; c: m1 m3 m8; d: m1 m8
    assert strict["pct_previous"].tolist()[1:] == pytest.approx([5 / 7, 3 / 5, 2 / 3])
    assert strict["pct_first"].tolist() == pytest.approx([1, 5 / 7, 3 / 7, 2 / 7])
    assert strict["conversion"].tolist()[1:] == strict["pct_previous"].tolist()[1:]
    anyway = f.stage_counts(HAND, STAGES, "any")
    assert anyway["members"].tolist() == [7, 5, 5, 3]  # c: + m5 m6; d: + m6
    assert anyway["pct_previous"].tolist()[1:] == pytest.approx([5 / 7, 1.0, 3 / 5])
    # c counts m5 and m6, who are not at b: of b's five, m1 m3 m8 went on to c; of c's five, m1 m6 m8 to d
    assert anyway["continued"].tolist() == [0, 5, 3, 3]
    assert anyway["conversion"].tolist()[1:] == pytest.approx([5 / 7, 3 / 5, 3 / 5])
    assert anyway[["low", "high"]].iloc[2].tolist() == pytest.approx(wilson(3, 5))


def test_cohort_takes_the_members_entered_in_the_period_both_ends_included():
    got = f.cohort(HAND, D(2024, 1, 9), D(2024, 3, 1))
    assert got["member_id"].tolist() == ["m2", "m3", "m4", "m5"]
    assert f.cohort(HAND, D(2025, 1, 1), D(2025, 12, 31)).empty


def test_stage_times_by_hand():
    times = f.stage_times(HAND, STAGES).set_index("from_stage")
    # a→b: m1 10, m2 20, m3 10, m8 5 (m7's b comes first: out of order); b→c: m1 30, m3 30; c→d: m1 16, m6 31
    assert times.loc["a", ["n", "out_of_order"]].tolist() == [4, 1]
    assert times.loc["a", ["q1", "median", "q3"]].tolist() == pytest.approx(
        pd.Series([10, 20, 10, 5]).quantile([0.25, 0.5, 0.75]).tolist())
    assert times.loc["b", ["n", "median"]].tolist() == [2, 30]
    assert times.loc["c", ["n", "median", "q1", "q3"]].tolist() == pytest.approx([2, 23.5, 19.75, 27.25])


def test_stuck_members_by_hand():
    thresholds = f.stuck_thresholds(HAND, STAGES).set_index("stage")
    assert thresholds.loc["a", "threshold"] == pytest.approx(pd.Series([10, 20, 10, 5]).quantile(0.9))
    assert thresholds["how"].tolist() == ["percentile"] * 3
    stuck = f.stuck_members(HAND, STAGES, AS_OF, thresholds.reset_index())
    # furthest a: m4 (day known); b: m2, m7; c: m3 (lost), m5; d is the last stage. Everyone waited long enough.
    assert stuck["member_id"].tolist() == ["m2", "m4", "m7", "m5"]  # longest in stage first
    assert stuck["stage"].tolist() == ["b", "a", "b", "c"]
    assert stuck["days_in_stage"].tolist() == [(AS_OF - d).days for d in (D(2024, 1, 29), D(2024, 2, 3),
                                                                         D(2024, 3, 30), D(2024, 4, 1))]
    # a threshold given for b: m2 waited 337 days, m7 276
    mine = f.stuck_thresholds(HAND, STAGES, {"b": 300})
    assert mine.set_index("stage").loc["b", ["threshold", "how"]].tolist() == [300, "option"]
    assert f.stuck_members(HAND, STAGES, AS_OF, mine)["member_id"].tolist() == ["m2", "m4", "m5"]
    # exactly the threshold is not more than it
    exact = f.stuck_thresholds(HAND, STAGES, {"a": (AS_OF - D(2024, 2, 3)).days})
    assert "m4" not in f.stuck_members(HAND, STAGES, AS_OF, exact)["member_id"].tolist()


def test_stuck_over_the_first_stages_only():
    """As the lifecycle funnel reads it (its last stage a state): over a, b, c, c is the last stage."""
    got = f.funnel(HAND, STAGES, AS_OF, stuck_stages=STAGES[:3])
    assert got.stuck["member_id"].tolist() == ["m2", "m4", "m7"]  # m5 (furthest c) is at the last of a, b, c
    with pytest.raises(ValueError, match="two or more first stages"):
        f.funnel(HAND, STAGES, AS_OF, stuck_stages=("b", "c"))


def random_reach(seed: int = 7) -> pd.DataFrame:
    """Groups of 400, 300, 35 and 29 members and 100 without a region; each stage reached with its own chance (so
    some skip a stage), its day known four times in five, a lost outcome now and then."""
    rng = np.random.default_rng(seed)
    sizes = {"东": 400, "西": 300, "南": 35, "北": 29, None: 100}
    rate = {"东": 0.8, "西": 0.6, "南": 0.7, "北": 0.5, None: 0.65}
    rows = []
    for region, n in sizes.items():
        for _ in range(n):
            entered = D(2024, 1, 1) + timedelta(days=int(rng.integers(0, 200)))
            stages, day = {}, entered
            for i, k in enumerate(STAGES):
                if rng.random() < (0.97 if i == 0 else rate[region] - 0.1 * i):
                    day = day + timedelta(days=int(rng.gamma(2, 10)))
                    stages[k] = day if rng.random() < 0.8 else True
            rows.append((f"M{len(rows):04d}", entered, region, "lost" if rng.random() < 0.15 else None, stages))
    return table(rows)


@pytest.fixture(scope="module")
def reach():
    return random_reach()


def members_at(reach: pd.DataFrame, k: int, order: str) -> pd.Series:
    """Member by member: counted at stage k under the order."""
    return pd.Series([all(row[f"{s}_reached"] for s in STAGES[: k + 1]) if order == "strict"
                      else row[f"{STAGES[k]}_reached"] for _, row in reach.iterrows()], index=reach.index)


def wilson(k: int, n: int) -> tuple[float, float]:
    return tuple(proportion_confint(k, n, alpha=0.05, method="wilson"))


@pytest.mark.parametrize("order", ["strict", "any"])
def test_stage_counts_and_intervals_against_statsmodels(reach, order):
    got = f.stage_counts(reach, STAGES, order)
    at = [members_at(reach, k, order) for k in range(len(STAGES))]
    assert got["members"].tolist() == [int(s.sum()) for s in at]
    for k in range(1, len(STAGES)):
        n, x = int(at[k - 1].sum()), int(at[k].sum())
        went_on = int((at[k - 1] & at[k]).sum())
        assert got["pct_previous"][k] == pytest.approx(x / n)
        assert got["pct_first"][k] == pytest.approx(x / int(at[0].sum()))
        assert (got["continued"][k], got["conversion"][k]) == (went_on, pytest.approx(went_on / n))
        assert (got["low"][k], got["high"][k]) == pytest.approx(wilson(went_on, n), abs=1e-12)
        if order == "strict":
            assert went_on == x
    if order == "any":
        assert (got["continued"] < got["members"])[1:].any(), "the random table skips stages"


def test_strict_and_any_differ_on_the_random_table(reach):
    assert f.stage_counts(reach, STAGES, "strict")["members"].tolist() != \
        f.stage_counts(reach, STAGES, "any")["members"].tolist()


@pytest.mark.parametrize("order", ["strict", "any"])
def test_groups_compared_weakest_first_small_ones_marked(reach, order):
    got = f.group_conversion(reach, STAGES, "region", order)
    expected = []
    for label in ["东", "西", "南", "北", None]:
        mine = reach[reach["region"].map(lambda r, label=label: r == label)]
        at = [members_at(mine, k, order) for k in range(len(STAGES))]
        for k in range(1, len(STAGES)):
            n, x = int(at[k - 1].sum()), int((at[k - 1] & at[k]).sum())
            low, high = wilson(x, n) if n else (np.nan, np.nan)
            small = n < 30 or high - low > 0.20
            expected.append((k, label, n, x, x / n if n else np.nan, low, high, small))
    want = pd.DataFrame(expected, columns=["step", "group", "start", "reached", "rate", "low", "high", "small"])
    want["rank"] = want[~want["small"]].sort_values(["step", "rate"]).groupby("step").cumcount() + 1
    merged = got.merge(want, on=["step", "group"], suffixes=("", "_want"), how="outer", validate="1:1")
    assert len(merged) == len(got) == 5 * 3
    for column in ("start", "reached", "rate", "low", "high", "rank"):
        assert merged[column].to_numpy(dtype=float) == pytest.approx(merged[f"{column}_want"].to_numpy(dtype=float),
                                                                     nan_ok=True, abs=1e-12), column
    assert merged["small"].tolist() == merged["small_want"].tolist()
    # 北 (29) is always too few, 南 (35) too wide; the order: per step, ranked weakest first, then the small ones
    assert got.loc[got["group"] == "北", "small"].all() and got.loc[got["group"] == "南", "small"].all()
    for _, step in got.groupby("step"):
        ranked = step[~step["small"]]
        assert ranked["rate"].is_monotonic_increasing and ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
        assert step["small"].tolist() == sorted(step["small"].tolist())


def test_the_biggest_leak_and_its_worst_region(reach):
    counts = f.stage_counts(reach, STAGES, "strict")
    by_region = f.group_conversion(reach, STAGES, "region", "strict")
    leak = f.biggest_leak(counts, by_region)
    at = [int(members_at(reach, k, "strict").sum()) for k in range(len(STAGES))]
    lost = [1 - at[k] / at[k - 1] for k in range(1, len(STAGES))]
    step = int(np.argmax(lost)) + 1
    assert (leak.step, leak.from_stage, leak.to_stage) == (step, STAGES[step - 1], STAGES[step])
    assert (leak.start, leak.lost, leak.lost_share) == (at[step - 1], at[step - 1] - at[step],
                                                        pytest.approx(lost[step - 1]))
    # in any order, the share of a step's members that did not go on
    anyway = f.biggest_leak(f.stage_counts(reach, STAGES, "any"))
    at = [members_at(reach, k, "any") for k in range(len(STAGES))]
    lost = [1 - (at[k - 1] & at[k]).sum() / at[k - 1].sum() for k in range(1, len(STAGES))]
    assert (anyway.step, anyway.lost_share) == (int(np.argmax(lost)) + 1, pytest.approx(max(lost)))
    rows = by_region[(by_region["step"] == step) & ~by_region["small"] & by_region["group"].notna()]
    worst = rows.loc[rows["rate"].idxmin()]
    assert (leak.region, leak.region_start, leak.region_lost_share) == (
        worst["group"], worst["start"], pytest.approx(1 - worst["rate"]))
    assert leak.region in ("东", "西")  # the only regions not small
    # every region small: no region named; no member at any step's start: no leak
    assert f.biggest_leak(counts, by_region.assign(small=True)).region is None
    assert f.biggest_leak(f.stage_counts(reach.iloc[:0], STAGES)) is None


def test_stage_times_and_default_stuck_thresholds_against_pandas(reach):
    times = f.stage_times(reach, STAGES)
    thresholds = f.stuck_thresholds(reach, STAGES)
    for i, (before, after) in enumerate(pairwise(STAGES)):
        both = reach[reach[f"{before}_day"].notna() & reach[f"{after}_day"].notna()]
        days = (both[f"{after}_day"] - both[f"{before}_day"]).dt.days
        assert times["n"][i] == (days >= 0).sum() and times["out_of_order"][i] == (days < 0).sum()
        assert [times["q1"][i], times["median"][i], times["q3"][i]] == pytest.approx(
            days[days >= 0].quantile([0.25, 0.5, 0.75]).tolist())
        assert thresholds["threshold"][i] == pytest.approx(days[days >= 0].quantile(0.9))


def test_stuck_members_against_a_member_by_member_reading(reach):
    as_of = D(2024, 10, 1)
    limits = {"a": 20.0, "b": 15.5, "c": 40.0}
    got = f.stuck_members(reach, STAGES, as_of, f.stuck_thresholds(reach, STAGES, limits))
    want = []
    for _, row in reach.iterrows():
        reached = [k for k in STAGES if row[f"{k}_reached"]]
        if not reached or reached[-1] == STAGES[-1] or row["outcome"] == "lost":
            continue
        k = reached[-1]
        day = row[f"{k}_day"]
        if pd.notna(day) and (pd.Timestamp(as_of) - day).days > limits[k]:
            want.append((row["member_id"], k, (pd.Timestamp(as_of) - day).days))
    want.sort(key=lambda r: (-r[2], r[0]))
    assert list(zip(got["member_id"], got["stage"], got["days_in_stage"], strict=True)) == want
    assert len(want) > 20
    assert (got["next_stage"] == got["stage"].map(lambda k: STAGES[STAGES.index(k) + 1])).all()


def test_the_funnel_holds_every_figure(reach):
    got = f.funnel(reach, STAGES, AS_OF, order="any", stuck_days={"a": 30})
    pd.testing.assert_frame_equal(got.counts, f.stage_counts(reach, STAGES, "any"))
    assert set(got.compare) == {"region", "source", "sales_rep"}
    assert got.compare["source"]["group"].isna().all()  # no source known: one group, None
    assert got.members == int(reach["a_reached"].sum())
    assert got.overall == pytest.approx(got.counts["members"].iloc[-1] / got.counts["members"].iloc[0])
    assert got.thresholds.set_index("stage").loc["a", "threshold"] == 30
    assert got.leak == f.biggest_leak(got.counts, got.compare["region"])


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r.drop(columns="b_day"), "lacks the columns b_day"),
    (lambda r: pd.concat([r, r.iloc[:1]]), "more than one row"),
    (lambda r: r.assign(a_reached=r["a_reached"].astype(object)), "a_reached must be true or false"),
    (lambda r: r.assign(c_reached=False), "a day for c without having reached it"),
])
def test_a_table_that_is_not_a_reach_table_is_refused(change, message):
    with pytest.raises(ValueError, match=message):
        f.funnel(change(HAND), STAGES, AS_OF)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: f.stage_counts(HAND, STAGES, "loose"), "order must be one of strict, any"),
    (lambda: f.funnel(HAND, ["a"], AS_OF), "two or more distinct stages"),
    (lambda: f.stuck_thresholds(HAND, STAGES, {"d": 5}), "per stage before the last"),
    (lambda: f.stuck_thresholds(HAND, STAGES, {"a": -1}), "number of days of 0 or more"),
    (lambda: f.group_conversion(HAND, STAGES, "channel"), "no group column 'channel'"),
])
def test_bad_options_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
