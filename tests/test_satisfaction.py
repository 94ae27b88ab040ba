"""The satisfaction & loyalty page's satisfaction and gap parts (analytics.metrics.satisfaction,
analytics.metrics.satisfaction_gap) on a seeded world imported through the real pipeline
(tests/satisfaction_fixture.py), every figure against pandas on the raw rows (statsmodels for the Wilson interval,
scipy for the t interval): CSAT, NPS and the mean per month and over the period and the comparison period, by
region, segment and tier, the groups too few to trust, the surveyed customers' satisfied and loyal shares and their
gap, the quadrants with their revenue, and the responses the retention curve is fitted on."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
import satisfaction_fixture as sf
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from test_churn_view import attributes
from test_churn_view import load as load_rows
from test_tiers import expected_tiers

from analytics.metrics import satisfaction_gap as sg
from analytics.metrics.satisfaction import MIN_RESPONSES, satisfaction
from analytics.scope import Scope
from analytics.store import marts
from analytics.tiering import TierSpec

PERIOD = Scope(sf.PERIOD_START, sf.PERIOD_END)
COMPARISON = (date(2023, 1, 1), date(2023, 12, 31))


@pytest.fixture(scope="module")
def world():
    sales, customers, feedback = sf.world()
    return sales, customers, feedback, attributes(sales, customers)


@pytest.fixture(scope="module", params=["marts", "summaries"])
def con(request, tmp_path_factory, world):
    con = load_rows(tmp_path_factory.mktemp("satisfaction"), world[0], world[1], world[2])
    if request.param == "summaries":
        assert marts.summarize(con)
    yield con
    con.close()


def expected(feedback: pd.DataFrame, first: date, last: date, who=None) -> dict:
    """CSAT, NPS and mean with their intervals from the raw responses dated first..last (of ``who``)."""
    def mine(scale):
        f = sf.surveys(feedback, scale, first, last)
        return f if who is None else f[f["customer_id"].isin(who)]
    c, n = mine("csat")["score"].to_numpy(float), mine("nps")["score"].to_numpy(float)
    out = {"csat_n": len(c), "nps_n": len(n)}
    if len(c):
        out["csat"] = ((c >= 4).mean(), *proportion_confint(int((c >= 4).sum()), len(c), method="wilson"))
        out["mean"] = (c.mean(), *(stats.t.interval(0.95, len(c) - 1, loc=c.mean(), scale=stats.sem(c))
                                   if len(c) > 1 else (np.nan, np.nan)))
    if len(n):
        p, d = (n >= 9).mean(), (n <= 6).mean()
        se = np.sqrt((p * (1 - p) + d * (1 - d) + 2 * p * d) / len(n))
        out["nps"] = (100 * (p - d), max(-100, 100 * (p - d - 1.959964 * se)), min(100, 100 * (p - d + 1.959964 * se)))
    return out


def same(estimate, values) -> bool:
    return np.allclose([estimate.value, estimate.low, estimate.high], values, rtol=1e-6, equal_nan=True)


def test_the_period_and_the_comparison(con, world):
    view = satisfaction(con, PERIOD)
    for got, (first, last) in ((view.period, (sf.PERIOD_START, sf.END)), (view.comparison, COMPARISON)):
        want = expected(world[2], first, last)
        assert (got["csat"].n, got["nps"].n) == (want["csat_n"], want["nps_n"])
        assert same(got["csat"], want["csat"]) and same(got["nps"], want["nps"]) and same(got["mean"], want["mean"])


def test_every_month_of_the_period(con, world):
    view = satisfaction(con, PERIOD)
    assert list(view.monthly["month"]) == [m.date() for m in pd.date_range(sf.PERIOD_START, sf.PERIOD_END,
                                                                             freq="MS")]
    for row in view.monthly.itertuples():
        want = expected(world[2], row.month, sf.month_last(row.month))
        assert (row.csat_n, row.nps_n) == (want["csat_n"], want["nps_n"])
        if want["csat_n"]:
            assert np.allclose([row.csat, row.csat_low, row.csat_high], want["csat"], rtol=1e-6)
        if want["nps_n"]:
            assert np.allclose([row.nps, row.nps_low, row.nps_high], want["nps"], rtol=1e-6)
    # the trend runs over every month with responses up to the period's end: more than 24 here, so STL
    assert view.trends["csat"].method == "stl" and view.trends["csat"].frame["month"].iloc[-1] == sf.PERIOD_END


def test_by_region_segment_and_tier_with_the_groups_too_few_to_trust(con, world):
    view = satisfaction(con, PERIOD)
    home = world[3]
    for grouping in ("home_region", "segment"):
        got = view.by_group[grouping]
        for row in got.itertuples():
            missing = pd.isna(row.group)
            who = home.index[home[grouping].isna()] if missing else home.index[home[grouping] == row.group]
            want = expected(world[2], sf.PERIOD_START, sf.END, set(who))
            assert (row.csat_n, row.nps_n) == (want["csat_n"], want["nps_n"]), (grouping, row.group)
            assert np.allclose([row.csat, row.csat_low, row.csat_high], want["csat"], rtol=1e-6)
            assert row.csat_small == (row.csat_n < MIN_RESPONSES or row.csat_high - row.csat_low > 0.10)
    ranked = expected_tiers(world[0], PERIOD, TierSpec())
    tiers = view.by_group["tier"]
    names = [n for n in TierSpec().names if n in set(tiers["group"])]
    assert [g for g in tiers["group"] if not pd.isna(g)] == names  # best tier first
    for row in tiers.itertuples():
        k = None if pd.isna(row.group) else TierSpec().names.index(row.group)
        who = (set(ranked.loc[ranked["tier"] == k, "customer_id"]) if k is not None
               else set(world[0]["customer_id"]) - set(ranked["customer_id"]))
        want = expected(world[2], sf.PERIOD_START, sf.END, who)
        assert (row.csat_n, row.nps_n) == (want["csat_n"], want["nps_n"]), row.group
    assert tiers["csat_small"].any() and not tiers["csat_small"].all()  # (both kinds: the rule is exercised)


def test_a_region_filter_and_the_tier_filter_narrow_the_responses(con, world):
    home = world[3]
    north = satisfaction(con, replace(PERIOD, regions=("华北",)))
    want = expected(world[2], sf.PERIOD_START, sf.END, set(home.index[home["home_region"] == "华北"]))
    assert (north.period["csat"].n, north.period["nps"].n) == (want["csat_n"], want["nps_n"])
    lead = satisfaction(con, replace(PERIOD, tiers=("lead",)))
    row = satisfaction(con, PERIOD).by_group["tier"].set_index("group").loc["lead"]
    assert (lead.period["csat"].n, lead.period["nps"].n) == (row["csat_n"], row["nps_n"])


def reference_surveyed(world, loyal_min: int) -> pd.DataFrame:
    sales, _, feedback, home = world
    f = sf.surveys(feedback, "csat", sf.PERIOD_START, sf.END)
    last_day = f.groupby("customer_id")["feedback_date"].transform("max")
    score = f[f["feedback_date"] == last_day].groupby("customer_id")["score"].mean()
    buys = sales[(sales["amount"] >= 0) & (sales["day"] >= date(2024, 1, 1)) & (sales["day"] <= sf.END)]
    days = buys.drop_duplicates(["customer_id", "day"]).groupby("customer_id").size()
    period = sales[(sales["day"] >= sf.PERIOD_START) & (sales["day"] <= sf.END)]
    revenue = period.groupby("customer_id")["amount"].sum()
    out = pd.DataFrame({"score": score})
    out["days"] = days.reindex(out.index).fillna(0).astype(int)
    out["revenue"] = revenue.reindex(out.index).fillna(0.0)
    out["satisfied"], out["loyal"] = out["score"] >= 4, out["days"] >= loyal_min
    out["home_region"] = home["home_region"].reindex(out.index)
    return out


@pytest.mark.parametrize("loyal_min", [3, 6])
def test_the_gap_and_the_quadrants(con, world, loyal_min):
    got = sg.gap(con, PERIOD, loyal_min)
    ref = reference_surveyed(world, loyal_min)
    overall = got.overall.iloc[0]
    n = len(ref)
    assert overall["n"] == n
    for share in ("satisfied", "loyal"):
        k = int(ref[share].sum())
        assert np.allclose([overall[share], overall[f"{share}_low"], overall[f"{share}_high"]],
                           [k / n, *proportion_confint(k, n, method="wilson")], rtol=1e-9)
    assert overall["gap"] == pytest.approx(100 * (ref["satisfied"].mean() - ref["loyal"].mean()))
    cells = {"satisfied_loyal": ref["satisfied"] & ref["loyal"], "satisfied_leaving": ref["satisfied"] & ~ref["loyal"],
             "dissatisfied_staying": ~ref["satisfied"] & ref["loyal"],
             "dissatisfied_leaving": ~ref["satisfied"] & ~ref["loyal"]}
    q = got.quadrants.set_index("quadrant")
    for cell, mask in cells.items():
        assert q.loc[cell, "customers"] == int(mask.sum()), cell
        assert q.loc[cell, "revenue"] == pytest.approx(ref.loc[mask, "revenue"].sum(), rel=1e-9, abs=1e-6)
    assert (q["customers"] > 0).sum() >= 3  # the world has satisfied and dissatisfied, loyal and not
    by_region = got.by_group["home_region"].set_index("group")
    for region, rows in ref.groupby("home_region"):
        assert by_region.loc[region, "n"] == len(rows)
        assert by_region.loc[region, "loyal"] == pytest.approx(rows["loyal"].mean())


def test_the_retention_curve_is_fitted_on_the_responses_with_a_full_follow_up(con, world):
    sales, _, feedback, _ = world
    fits, first, last = sg.follow_ups(con, PERIOD)
    end = sales.loc[sales["amount"] > 0, "day"].max()
    assert last == end - timedelta(days=sg.HORIZON_DAYS) and first == last - timedelta(days=sg.FIT_DAYS - 1)
    f = sf.surveys(feedback, "csat", first, last)
    buys = sales[sales["amount"] >= 0]
    retained = [bool(((buys["customer_id"] == r.customer_id) & (buys["day"] > r.feedback_date)
                      & (buys["day"] <= r.feedback_date + timedelta(days=sg.HORIZON_DAYS))).any())
                for r in f.itertuples()]
    want = f.assign(retained=retained).sort_values(["customer_id", "feedback_date", "score"])
    assert len(fits) == len(want)
    assert fits["retained"].tolist() == want["retained"].tolist()
    assert fits["score"].tolist() == want["score"].astype(float).tolist()
    curve = sg.gap(con, PERIOD).curve
    assert curve.problem is None and curve.n == len(want) and curve.slope > 0  # scores lean on buying often


def test_the_overviews_csat_and_nps_tiles(con, world):
    from analytics.metrics.overview_satisfaction import satisfaction_kpis

    tiles = satisfaction_kpis(con, PERIOD)
    now, before = expected(world[2], sf.PERIOD_START, sf.END), expected(world[2], *COMPARISON)
    csat, nps = tiles["csat"], tiles["nps"]
    assert (csat.value, *csat.ci) == pytest.approx(now["csat"], rel=1e-9)
    assert (csat.n, csat.previous, csat.previous_n) == (now["csat_n"], pytest.approx(before["csat"][0]),
                                                        before["csat_n"])
    assert csat.change == pytest.approx(now["csat"][0] - before["csat"][0])
    assert (nps.value, *nps.ci) == pytest.approx(now["nps"], rel=1e-6)
    assert nps.change == pytest.approx(now["nps"][0] - before["nps"][0], rel=1e-6)  # in points
    assert satisfaction_kpis(con, replace(PERIOD, allowed_regions=())) == {}  # no responses: no tiles
    alone = satisfaction_kpis(con, replace(PERIOD, compare="none"))
    assert alone["csat"].previous is None and alone["csat"].change is None
