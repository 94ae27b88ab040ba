"""Kaplan–Meier and the log-rank test (analytics.models.survival) against R's ``survival`` package, SAS's
``PROC LIFETEST`` and the estimators written out by hand.

The reference cases are those statsmodels tests itself against (statsmodels 0.15.0,
``statsmodels/duration/tests/test_survfunc.py`` and its ``results/``; see ``tests/fixtures/survival/README.md``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.duration.survfunc import survdiff

from analytics.models.survival import Estimate, group_labels, kaplan_meier, log_rank_test

FIXTURES = Path(__file__).parent / "fixtures" / "survival"
Z95 = stats.norm.ppf(0.975)

# R survival, as quoted in statsmodels' test_survfunc.py: survfit(Surv(ti, st) ~ ix) and survdiff(...) of
#   ti1 = c(3, 1, 2, 3, 2, 1, 5, 3); st1 = c(0, 1, 1, 1, 0, 0, 1, 0)
#   ti2 = c(1, 1, 2, 3, 7, 1, 5, 3, 9); st2 = c(0, 1, 0, 0, 1, 0, 1, 0, 1)
TI1, ST1 = [3, 1, 2, 3, 2, 1, 5, 3], [0, 1, 1, 1, 0, 0, 1, 0]
TI2, ST2 = [1, 1, 2, 3, 7, 1, 5, 3, 9], [0, 1, 0, 0, 1, 0, 1, 0, 1]
R_CURVES = {
    "one": dict(times=[1, 2, 3, 5], surv=[0.8750000, 0.7291667, 0.5468750, 0.0], se=[0.1169268, 0.1649762, 0.2005800],
                at_risk=[8, 6, 4, 1], events=[1, 1, 1, 1]),
    "two": dict(times=[1, 5, 7, 9], surv=[0.8888889, 0.5925926, 0.2962963, 0.0], se=[0.1047566, 0.2518034, 0.2444320],
                at_risk=[9, 3, 2, 1], events=[1, 1, 1, 1]),
}

# A hand-made fixture: 14 customers, ties among events and between an event and a censoring.
DAYS = [2, 3, 3, 4, 5, 5, 6, 8, 8, 9, 10, 12, 12, 15]
LEFT = [1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 0]


def km_by_hand(durations, observed, z=Z95):
    """The product-limit estimate (Kaplan & Meier 1958) with Greenwood's variance and the log-log band,
    exp(-exp(ln(-ln S) ± z·sqrt(V)/|ln S|)), V = Σ d / (n (n - d)), one row per time at which someone left."""
    d_all, o_all = np.asarray(durations, dtype=float), np.asarray(observed, dtype=bool)
    rows, s, greenwood = [], 1.0, 0.0
    for t in sorted(set(d_all[o_all])):
        n = int((d_all >= t).sum())
        d = int(((d_all == t) & o_all).sum())
        s *= 1 - d / n
        greenwood = greenwood + d / (n * (n - d)) if n > d else math.inf
        if 0 < s < 1:
            centre, width = math.log(-math.log(s)), z * math.sqrt(greenwood) / abs(math.log(s))
            low, high = math.exp(-math.exp(centre + width)), math.exp(-math.exp(centre - width))
        else:
            low = high = math.nan
        rows.append(dict(time=t, n=n, d=d, s=s, se=s * math.sqrt(greenwood), low=low, high=high, v=greenwood))
    return rows


def median_by_hand(rows, z=Z95):
    """The first time S < 0.5, and SAS PROC LIFETEST's interval for it on the log-log scale: the times whose
    |ln(-ln S) - ln(ln 2)| / (sqrt(V) / |ln S|) <= z, from the first of them to the event time after the last."""
    median = next((r["time"] for r in rows if r["s"] < 0.5), None)
    inside = [i for i, r in enumerate(rows) if 0 < r["s"] < 1
              and abs(math.log(-math.log(r["s"])) - math.log(math.log(2))) <= z * math.sqrt(r["v"]) / -math.log(r["s"])]
    low = rows[inside[0]]["time"] if inside else None
    high = rows[inside[-1] + 1]["time"] if inside and inside[-1] + 1 < len(rows) else None
    return median, low, high


def log_rank_by_hand(durations, observed, groups):
    """Mantel's (1966) log-rank statistic U' V^-1 U, U_j = Σ (d_j - n_j d / n), V_jl = Σ d (n - d) / (n - 1) ·
    n_j / n · (δ_jl - n_l / n), over the event times, for all groups but the first (sorted)."""
    d_all, o_all, g_all = np.asarray(durations, dtype=float), np.asarray(observed, dtype=bool), np.asarray(groups)
    labels = sorted(set(g_all))[1:]
    u, v = np.zeros(len(labels)), np.zeros((len(labels), len(labels)))
    for t in sorted(set(d_all[o_all])):
        at_risk = d_all >= t
        n, d = at_risk.sum(), ((d_all == t) & o_all).sum()
        if n < 2:
            continue
        share = np.array([(at_risk & (g_all == g)).sum() / n for g in labels])
        u += [((d_all == t) & o_all & (g_all == g)).sum() for g in labels] - share * d
        v += d * (n - d) / (n - 1) * (np.diag(share) - np.outer(share, share))
    return float(u @ np.linalg.solve(v, u)), len(labels)


def test_kaplan_meier_matches_r_survival_statsmodels_suite():
    # R survfit's survival, standard error, numbers at risk and events, vendored from statsmodels' test suite;
    # tolerance 1e-6 (R printed to 7 digits). R gives no standard error where the curve reaches 0: NaN here.
    one, two = kaplan_meier(TI1 + TI2, ST1 + ST2, ["one"] * 8 + ["two"] * 9)
    for curve, label in ((one, "one"), (two, "two")):
        r = R_CURVES[label]
        assert curve.group == label
        np.testing.assert_allclose(curve.times, r["times"])
        np.testing.assert_allclose(curve.survival, r["surv"], atol=1e-6)
        np.testing.assert_allclose(curve.std_error[:3], r["se"], atol=1e-6)
        assert np.isnan(curve.std_error[3]) and np.isnan(curve.low[3]) and np.isnan(curve.high[3])
        assert curve.at_risk.tolist() == r["at_risk"] and curve.events.tolist() == r["events"]
    # the curves fall below 0.5 at 5 (0.547 -> 0) and at 7 (0.593 -> 0.296): R's median is the same there
    assert (one.median.value, two.median.value) == (5.0, 7.0)
    assert (one.n, one.n_events, two.n, two.n_events) == (8, 4, 9, 4)


def test_kaplan_meier_matches_sas_lifetest_bmt():
    # SAS PROC LIFETEST's product-limit estimates for the ALL group of Klein & Moeschberger's bone marrow
    # transplant data (bmt_results.csv, 5 significant digits): tolerance 1e-4 absolute.
    bmt = pd.read_csv(FIXTURES / "bmt.csv")
    sas = pd.read_csv(FIXTURES / "bmt_results.csv")
    curves = kaplan_meier(bmt["T"], bmt["Status"], bmt["Group"])
    assert [c.group for c in curves] == ["ALL", "AML-High Risk", "AML-Low Risk"]
    all_group = curves[0]
    assert (all_group.n, all_group.n_events) == (38, 24)
    np.testing.assert_allclose(all_group.times, sas["t"])
    np.testing.assert_allclose(all_group.survival, sas["s"], atol=1e-4)
    np.testing.assert_allclose(all_group.std_error, sas["se"], atol=1e-4)
    # the median and its log-log interval, from SAS's printed survival and standard errors by hand
    rows = [dict(time=t, s=s, v=(se / s) ** 2) for t, s, se in sas[["t", "s", "se"]].itertuples(index=False)]
    median, low, high = median_by_hand(rows)
    assert (median, low, high) == (418, 192, None)  # still 0.353 at the last event, not clearly below 0.5
    assert all_group.median == Estimate(median, low, high)


def test_kaplan_meier_matches_the_estimator_by_hand():
    (curve,) = kaplan_meier(DAYS, LEFT, horizon=9.5)
    rows = km_by_hand(DAYS, LEFT)
    assert curve.group is None and curve.n == 14 and curve.n_events == 8
    np.testing.assert_array_equal(curve.times, [r["time"] for r in rows])
    np.testing.assert_array_equal(curve.at_risk, [r["n"] for r in rows])
    np.testing.assert_array_equal(curve.events, [r["d"] for r in rows])
    for name in ("survival", "std_error", "low", "high"):
        np.testing.assert_allclose(getattr(curve, name), [r[{"survival": "s", "std_error": "se"}.get(name, name)]
                                                          for r in rows], rtol=1e-12)
    assert curve.median == Estimate(*median_by_hand(rows))
    assert curve.median == Estimate(9.0, 4.0, None)  # S: 0.534 after day 8, 0.427 after day 9
    at_nine = rows[-2]  # the last step at or before day 9.5 is day 9 (the next event is day 12)
    assert at_nine["time"] == 9
    assert curve.survival_at_horizon == pytest.approx(Estimate(at_nine["s"], at_nine["low"], at_nine["high"]))


def test_the_band_level_follows_level():
    (wide,) = kaplan_meier(DAYS, LEFT, level=0.99)
    rows = km_by_hand(DAYS, LEFT, z=stats.norm.ppf(0.995))
    np.testing.assert_allclose(wide.low, [r["low"] for r in rows], rtol=1e-12)
    assert wide.level == 0.99


def test_the_median_is_the_first_time_below_half():
    # statsmodels' (SAS's) convention: a curve that sits at exactly 0.5 from day 2 has its median at day 3,
    # where it falls below (R's survfit would print the midpoint, 2.5).
    (curve,) = kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1])
    np.testing.assert_allclose(curve.survival, [0.75, 0.5, 0.25, 0.0])
    assert curve.median.value == 3.0
    # 7/8 · 4/7 = 0.5 exactly comes out of statsmodels' exp(Σ ln) as 0.49999999999999994: still 0.5
    (rounded,) = kaplan_meier([1, 2, 2, 2, 2, 2, 3, 4], [1, 0, 1, 1, 0, 1, 1, 1])
    assert rounded.survival[1] < 0.5 and rounded.survival[1] == pytest.approx(0.5)
    assert rounded.median.value == 3.0


def test_no_median_when_more_than_half_stay():
    (curve,) = kaplan_meier([1, 2, 3, 4, 5, 6, 7, 8], [1, 0, 1, 0, 0, 0, 0, 0])
    assert curve.survival.min() > 0.5
    assert curve.median.value is None and curve.median.high is None


def test_a_group_where_nobody_left_has_a_flat_curve():
    stayed, _ = kaplan_meier([5, 6, 7, 1, 2], [0, 0, 0, 1, 1], ["stay", "stay", "stay", "go", "go"])[::-1]
    assert (stayed.group, stayed.n, stayed.n_events, stayed.times.size) == ("stay", 3, 0, 0)
    assert stayed.median == Estimate(None, None, None)
    assert kaplan_meier([5, 6, 7], [0, 0, 0], horizon=6)[0].survival_at_horizon == Estimate(1.0, 1.0, 1.0)


def test_survival_at_the_horizon_before_the_first_event_and_beyond_follow_up():
    assert kaplan_meier(DAYS, LEFT, horizon=1)[0].survival_at_horizon == Estimate(1.0, 1.0, 1.0)
    last = km_by_hand(DAYS, LEFT)[-1]["s"]
    assert kaplan_meier(DAYS, LEFT, horizon=15)[0].survival_at_horizon.value == pytest.approx(last)
    assert kaplan_meier(DAYS, LEFT, horizon=16)[0].survival_at_horizon == Estimate(None, None, None)
    assert kaplan_meier(DAYS, LEFT)[0].horizon == 365.0


def test_groups_are_sorted_text_with_the_missing_group_last():
    groups = ["b", None, "a", np.nan, "b", "a", pd.NA, "b", "a", "b", "a", "b", None, "a"]
    curves = kaplan_meier(DAYS, LEFT, groups)
    assert [c.group for c in curves] == ["a", "b", None]
    g = np.array(["~" if pd.isna(v) else v for v in groups])
    for curve, label in zip(curves, ["a", "b", "~"], strict=True):
        mine = g == label
        assert (curve.n, curve.n_events) == (mine.sum(), np.asarray(LEFT)[mine].sum())
        rows = km_by_hand(np.asarray(DAYS)[mine], np.asarray(LEFT)[mine])
        np.testing.assert_allclose(curve.survival, [r["s"] for r in rows])
    assert [c.group for c in kaplan_meier([1, 2, 3], [1, 1, 0], [2, 10, 2])] == ["10", "2"]


def test_log_rank_matches_r_survdiff_statsmodels_suite():
    # R: survdiff(Surv(ti, st) ~ ix) on ti1/ti2 gives chisq 2.14673, p 0.14287; on the two AML groups of the
    # bone marrow transplant data 13.44556 (both quoted in statsmodels' test suite). Tolerance 1e-5 relative.
    test = log_rank_test(TI1 + TI2, ST1 + ST2, ["one"] * 8 + ["two"] * 9)
    assert (test.groups, test.df) == (("one", "two"), 1)
    assert test.statistic == pytest.approx(2.14673, rel=1e-5)
    assert test.p_value == pytest.approx(0.14287, rel=1e-4)
    bmt = pd.read_csv(FIXTURES / "bmt.csv")
    aml = bmt[bmt["Group"] != "ALL"]
    assert log_rank_test(aml["T"], aml["Status"], aml["Group"]).statistic == pytest.approx(13.44556, rel=1e-5)


def test_log_rank_of_three_groups_matches_the_statistic_by_hand():
    bmt = pd.read_csv(FIXTURES / "bmt.csv")
    test = log_rank_test(bmt["T"], bmt["Status"], bmt["Group"])
    statistic, df = log_rank_by_hand(bmt["T"], bmt["Status"], bmt["Group"])
    assert (test.df, test.groups) == (df, ("ALL", "AML-High Risk", "AML-Low Risk"))
    assert test.statistic == pytest.approx(statistic, rel=1e-10)
    assert test.p_value == pytest.approx(stats.chi2.sf(statistic, 2), rel=1e-10)
    groups = ["b", None, "a", None, "b", "a", None, "b", "a", "b", "a", "b", None, "a"]
    two_by_hand = log_rank_by_hand(DAYS, LEFT, ["~" if g is None else g for g in groups])
    assert log_rank_test(DAYS, LEFT, groups).statistic == pytest.approx(two_by_hand[0], rel=1e-10)


def test_log_rank_has_nothing_to_test_with_one_group_or_no_comparison():
    assert log_rank_test(DAYS, LEFT, ["a"] * 14) is None
    assert log_rank_test([1, 2, 3, 4], [0, 0, 0, 0], ["a", "a", "b", "b"]) is None  # nobody left
    assert log_rank_test([1, 2, 3], [0, 1, 1], ["a", "b", "b"]) is None  # "a" gone before anyone left


@pytest.mark.parametrize(("durations", "observed", "groups", "message"), [
    ([1, 2], [1], None, "same length"),
    ([[1, 2]], [[1, 0]], None, "one-dimensional"),
    ([], [], None, "No customers"),
    ([1, -2], [1, 0], None, "finite and not negative"),
    ([1, np.nan], [1, 0], None, "finite and not negative"),
    ([1, np.inf], [1, 0], None, "finite and not negative"),
    (["1", "2"], [1, 0], None, "must be numbers"),
    (np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[D]"), [1, 0], None, "must be numbers"),
    ([1, 2], [1, 2], None, "True/False"),
    ([1, 2], [1, None], None, "True/False"),
    ([1, 2], ["yes", "no"], None, "True/False"),
    ([1, 2], [1, 0], ["a"], "one label per customer"),
])
def test_bad_input_is_refused_with_a_message(durations, observed, groups, message):
    with pytest.raises(ValueError, match=message):
        kaplan_meier(durations, observed, groups)
    with pytest.raises(ValueError, match=message):
        log_rank_test(durations, observed, groups if groups is not None else ["a"] * len(durations))


@pytest.mark.parametrize(("options", "message"), [
    ({"level": 1.0}, "level must be between 0 and 1"),
    ({"level": 0.0}, "level must be between 0 and 1"),
    ({"horizon": -1.0}, "horizon must be a finite time"),
    ({"horizon": np.inf}, "horizon must be a finite time"),
])
def test_bad_options_are_refused_with_a_message(options, message):
    with pytest.raises(ValueError, match=message):
        kaplan_meier(DAYS, LEFT, **options)


def weighted_rows(seed=7, n=4000):
    """Random customers (whole days, so many ties; censored at random and at day 500) in groups a, b, c,
    aggregated to one row per (days, left, group) with its count, plus rows of weight 0 that must change
    nothing (one beyond everyone's follow-up, one of a group with no customers); and the rows expanded back
    to one per customer."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], n)
    days = np.minimum(np.ceil(rng.exponential(np.where(group == "c", 260.0, 240.0))), 500.0)
    left = (rng.random(n) < 0.7) & (days < 500)
    rows = pd.DataFrame({"days": days, "left": left, "group": group}).groupby(["days", "left", "group"]).size()
    ghosts = pd.DataFrame({"days": [10_000.0, 3.0], "left": [True, True], "group": ["a", "zzz"], "count": [0, 0]})
    rows = pd.concat([rows.reset_index(name="count"), ghosts]).sample(frac=1, random_state=seed)
    return rows.reset_index(drop=True), rows.iloc[np.repeat(np.arange(len(rows)), rows["count"])]


@pytest.mark.parametrize("horizon", [365.0, 501.0])
def test_weighted_rows_give_the_per_customer_curves(horizon):
    rows, customers = weighted_rows()
    weighted = kaplan_meier(rows["days"], rows["left"], rows["group"], weights=rows["count"], horizon=horizon)
    each = kaplan_meier(customers["days"], customers["left"], customers["group"], horizon=horizon)
    assert [c.group for c in weighted] == [c.group for c in each] == ["a", "b", "c"]
    for w, e in zip(weighted, each, strict=True):
        assert (w.n, w.n_events) == (e.n, e.n_events) == ((customers["group"] == w.group).sum(),
                                                          customers["left"][customers["group"] == w.group].sum())
        np.testing.assert_array_equal(w.times, e.times)
        assert w.at_risk.tolist() == e.at_risk.tolist() and w.events.tolist() == e.events.tolist()
        for name in ("survival", "std_error", "low", "high"):
            np.testing.assert_allclose(getattr(w, name), getattr(e, name), rtol=1e-12, atol=1e-12)
        assert e.median.value is not None and e.median.low is not None
        assert w.median == pytest.approx(e.median, rel=1e-12)
        assert w.survival_at_horizon == pytest.approx(e.survival_at_horizon, rel=1e-12)
        assert (e.survival_at_horizon.value is None) == (horizon > 500)  # the weight-0 row at day 10,000 is out
    assert any(e.median.high is not None for e in each)


def test_weighted_log_rank_matches_survdiff_on_the_customers():
    rows, customers = weighted_rows()
    statistic, p_value = survdiff(customers["days"], customers["left"].astype(float), customers["group"])
    assert 1e-6 < p_value < 0.5  # a test whose p-value survdiff's 1 - cdf still gives to 1e-10
    for test in (log_rank_test(rows["days"], rows["left"], rows["group"], weights=rows["count"]),
                 log_rank_test(customers["days"], customers["left"], customers["group"])):
        assert (test.groups, test.df) == (("a", "b", "c"), 2)
        assert test.statistic == pytest.approx(statistic, rel=1e-10)
        assert test.p_value == pytest.approx(p_value, rel=1e-10)


def test_rows_of_weight_zero_are_left_out():
    (curve,) = kaplan_meier([1, 2, 9], [1, 1, 1], weights=[0, 3, 0], horizon=5)
    assert (curve.n, curve.n_events, curve.times.tolist(), curve.at_risk.tolist()) == (3, 3, [2.0], [3])
    assert curve.survival_at_horizon == Estimate(None, None, None)  # followed to day 2 only
    assert log_rank_test([1, 2, 3], [1, 1, 0], ["a", "b", "b"], weights=[0, 2, 1]) is None  # one group left


def test_log_rank_has_nothing_to_test_when_the_first_of_three_groups_is_gone_before_anyone_left():
    # survdiff's covariance is exactly singular here (LinAlgError); computed otherwise it can come out merely
    # near-singular, so the test must see it in the counts
    rng = np.random.default_rng(1)
    days = np.concatenate([[0.5, 0.5, 0.7], rng.integers(1, 30, 50)])
    left = np.concatenate([[0, 0, 0], rng.random(50) < 0.7])
    groups = np.concatenate([["a"] * 3, rng.choice(["b", "c"], 50)])
    with pytest.raises(np.linalg.LinAlgError):
        survdiff(days, left.astype(float), groups)
    assert log_rank_test(days, left, groups) is None
    assert log_rank_test(days, left, groups, weights=np.r_[0, 0, 0, np.ones(50)]).df == 1  # without "a": b, c
    with pytest.raises(np.linalg.LinAlgError):  # everyone at risk left at the one time anyone left: V = 0
        survdiff([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0, 1, 1, 1])
    assert log_rank_test([1, 1, 1], [1, 1, 1], ["a", "b", "b"], weights=[1, 1, 2]) is None


@pytest.mark.parametrize(("weights", "message"), [
    ([1, -1, 2], "whole numbers"),
    ([1, 0.5, 2], "whole numbers"),
    ([1, np.nan, 2], "whole numbers"),
    ([1, None, 2], "whole numbers"),
    ([1, np.inf, 2], "whole numbers"),
    ([1, 2], "one count per row"),
    ([[1, 2, 3]], "one count per row"),
    (["1", "2", "3"], "must be numbers"),
    ([0, 0, 0], "No customers"),
])
def test_bad_weights_are_refused_with_a_message(weights, message):
    for function in (kaplan_meier, log_rank_test):
        with pytest.raises(ValueError, match=message):
            function([1, 2, 3], [1, 0, 1], ["a", "b", "a"], weights=weights)


def test_group_labels_are_each_value_as_text():
    labels, index = group_labels([1, 1.0, True, "1", 0.0, -0.0, None, "x", np.nan], 9)
    assert labels == ["-0.0", "0.0", "1", "1.0", "True", "x", None]
    assert [labels[i] for i in index] == ["1", "1.0", "True", "1", "0.0", "-0.0", None, "x", None]
    labels, index = group_labels(pd.Series(["b", "a", None, "b"], dtype="string"), 4)
    assert (labels, index.tolist()) == (["a", "b", None], [1, 0, 2, 1])
