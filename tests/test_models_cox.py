"""The Cox model (analytics.models.cox) against R's ``coxph``, data simulated from known hazard ratios with and
without proportional hazards, and its rules for what it leaves out."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics.models.bgnbd import FitError
from analytics.models.cox import CoxTerm, LeftOut, fit_cox, hazard_words

FIXTURES = Path(__file__).parent / "fixtures" / "survival"

#: The log hazard ratios of the simulation: plan premium vs basic, region south and east vs north, age per SD.
TRUE_EFFECTS = {("plan", "premium"): -0.5, ("region", "south"): 0.4, ("region", "east"): 0.8, ("age", None): 0.3}


def simulate(n: int, seed: int, *, effect_switches_at: float | None = None) -> tuple[np.ndarray, np.ndarray,
                                                                                    pd.DataFrame]:
    """Exponential lifetimes (0.4 % a day at baseline) with TRUE_EFFECTS, censored uniformly within two years,
    in whole days. With ``effect_switches_at``, the plan's hazard ratio is instead 3 before that day and 1/3
    after it, everything else equal (no proportional hazards)."""
    rng = np.random.default_rng(seed)
    covariates = pd.DataFrame({"plan": np.where(rng.random(n) < 0.4, "premium", "basic"),
                               "region": rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2]),
                               "age": rng.normal(size=n)})
    premium = (covariates["plan"] == "premium").to_numpy()
    rest = sum(b * (covariates[c] == level).to_numpy() if level else b * covariates[c].to_numpy()
               for (c, level), b in TRUE_EFFECTS.items() if c != "plan")
    unit = rng.exponential(size=n)  # lifetimes by inverting the cumulative hazard
    if effect_switches_at is None:
        lifetimes = unit / (0.004 * np.exp(rest + TRUE_EFFECTS[("plan", "premium")] * premium))
    else:
        early = 0.004 * np.exp(rest) * np.where(premium, 3.0, 1.0)
        late = 0.004 * np.exp(rest) * np.where(premium, 1 / 3, 1.0)
        switch = early * effect_switches_at
        lifetimes = np.where(unit < switch, unit / early, effect_switches_at + (unit - switch) / late)
    censoring = rng.uniform(0, 730, n)
    return np.ceil(np.minimum(lifetimes, censoring)), lifetimes <= censoring, covariates


@pytest.fixture(scope="module")
def proportional():
    durations, observed, covariates = simulate(5000, seed=7)
    return fit_cox(durations, observed, covariates)


def test_cox_matches_r_coxph_statsmodels_suite():
    # R survival: coxph(Surv(time, status) ~ exog, ties = "efron") on survival_data_100_5.csv, as quoted in
    # statsmodels' survival_r_results.py (coef_100_5_efr, se_100_5_efr); tolerance 1e-6 relative (7 digits).
    data = pd.read_csv(FIXTURES / "survival_data_100_5.csv", sep=" ", header=None).to_numpy()
    covariates = pd.DataFrame(data[:, 3:], columns=[f"x{i}" for i in range(1, 6)])
    fit = fit_cox(data[:, 0], data[:, 1], covariates)
    r_coef = [-0.5641909, -0.3233021, -0.1234858, 0.3712328, 0.6421963]
    r_se = [0.1804027, 0.1496253, 0.1338531, 0.1529832, 0.1670848]
    assert [t.column for t in fit.terms] == list(covariates.columns) and all(t.numeric for t in fit.terms)
    np.testing.assert_allclose([t.coefficient for t in fit.terms], r_coef, rtol=1e-6)
    np.testing.assert_allclose([t.std_error for t in fit.terms], r_se, rtol=1e-6)
    z = stats.norm.ppf(0.975)
    for term, b, se in zip(fit.terms, r_coef, r_se, strict=True):
        assert term.hazard_ratio == pytest.approx(np.exp(b), rel=1e-6)
        assert (term.low, term.high) == pytest.approx((np.exp(b - z * se), np.exp(b + z * se)), rel=1e-5)
        assert term.p_value == pytest.approx(2 * stats.norm.sf(abs(b / se)), rel=1e-4)
    assert (fit.n, fit.events, fit.rows_dropped, fit.left_out, fit.converged) == (100, int(data[:, 1].sum()), 0, (),
                                                                                   True)


def test_cox_recovers_known_hazard_ratios(proportional):
    # 5,000 simulated customers: every log hazard ratio within 3 standard errors of the truth.
    fit = proportional
    assert fit.converged and fit.n == 5000 and fit.rows_dropped == 0
    got = {(t.column, t.level): t for t in fit.terms}
    assert set(got) == set(TRUE_EFFECTS)
    for key, truth in TRUE_EFFECTS.items():
        term = got[key]
        assert abs(term.coefficient - truth) < 3 * term.std_error, key
    # the reference levels are the largest: basic (60 %) and north (50 %); age is per unit
    assert got[("plan", "premium")].reference == "basic" and got[("region", "east")].reference == "north"
    assert got[("age", None)].numeric and got[("age", None)].reference is None
    assert got[("age", None)].customers == 5000 and got[("age", None)].events == fit.events
    premium = got[("plan", "premium")]
    assert 1800 < premium.customers < 2200 and 0 < premium.events < premium.customers


def test_the_proportional_hazards_check_holds_on_proportional_data(proportional):
    check = proportional.proportional_hazards
    assert check.holds and check.p_value > 0.05 and check.df == 4
    assert [(t.column, t.level) for t in check.terms] == [(t.column, t.level) for t in proportional.terms]
    assert all(abs(t.rho) < 0.05 for t in check.terms)


def test_the_proportional_hazards_check_rejects_an_effect_that_turns_around():
    # premium customers leave 3× as fast in their first 60 days and 3× as slowly after: the scaled Schoenfeld
    # residuals of plan fall with time (rho < 0) and the global test rejects
    durations, observed, covariates = simulate(2000, seed=11, effect_switches_at=60)
    check = fit_cox(durations, observed, covariates).proportional_hazards
    plan = next(t for t in check.terms if t.column == "plan")
    assert plan.rho < -0.2 and plan.p_value < 1e-10
    assert not check.holds and check.p_value < 1e-10


def test_the_global_check_of_one_term_is_the_term_check():
    durations, observed, covariates = simulate(1000, seed=3)
    check = fit_cox(durations, observed, covariates[["age"]]).proportional_hazards
    assert check.df == 1 and check.chi_square == pytest.approx(check.terms[0].chi_square, rel=1e-10)


def test_what_is_left_out_and_why():
    durations, observed, covariates = simulate(2000, seed=5)
    rng = np.random.default_rng(0)
    n = len(durations)
    country = np.where(rng.random(n) < 0.6, "DE", "FR").astype(object)
    country[-3:] = "MT"  # three customers: fewer than 10 leavers
    segment = rng.choice(["a", "b"], n).astype(object)
    segment[rng.random(n) < 0.2] = None  # a missing value is a level of its own
    flag = np.where(np.arange(n) >= n - 12, "yes", "no")  # 12 customers: fewer than 10 of them leave
    age = covariates["age"].to_numpy().copy()
    age[:40] = np.nan  # 40 customers without an age are dropped
    score = np.where(rng.random(n) < 0.7, np.nan, 1.0 + rng.random(n))  # missing for most
    frame = pd.DataFrame({"plan": covariates["plan"], "country": country, "segment": segment, "flag": flag,
                          "age": age, "constant": 5.0, "empty": np.nan, "score": score})
    fit = fit_cox(durations, observed, frame)
    assert fit.rows_dropped == 40 and fit.n == n - 40 and fit.events == observed[40:].sum()
    larger, smaller = pd.Series(segment[40:]).value_counts().index  # "a" or "b", each about 40 %
    assert [(t.column, t.level, t.reference) for t in fit.terms] == [
        ("plan", "premium", "basic"), ("country", "FR", "DE"), ("segment", smaller, larger), ("segment", None, larger),
        ("age", None, None)]
    reasons = {(item.column, item.level): item.reason for item in fit.left_out}
    assert reasons == {("country", "MT"): "rare_level", ("flag", None): "too_few_events",
                       ("constant", None): "no_variation", ("empty", None): "all_missing",
                       ("score", None): "mostly_missing"}
    # the rare level's customers are counted with the reference
    fr = next(t for t in fit.terms if t.level == "FR")
    assert fr.customers == (frame["country"].iloc[40:] == "FR").sum()


def test_the_reference_is_a_level_with_enough_leavers():
    # "big" has the most customers but only 5 leavers: the reference is "mid", the largest level with 10
    durations = np.r_[np.full(100, 50.0), np.arange(1.0, 61.0), np.arange(1.0, 41.0)]
    observed = np.r_[np.arange(100) < 5, np.ones(60, bool), np.ones(40, bool)]
    levels = pd.DataFrame({"tier": ["big"] * 100 + ["mid"] * 60 + ["top"] * 40})
    fit = fit_cox(durations, observed, levels)
    assert [(t.level, t.reference) for t in fit.terms] == [("top", "mid")]
    assert fit.left_out == (LeftOut("tier", "big", "rare_level", 5),)


def test_a_diverging_fit_is_reported_not_converged_and_quietly():
    # the leavers leave in the order of x: the partial likelihood grows without bound
    x = np.sort(np.random.default_rng(0).normal(size=200))[::-1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_cox(np.arange(1.0, 201.0), np.ones(200, bool), pd.DataFrame({"x": x}))
    assert not fit.converged


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda d, o, c: (d, np.zeros_like(o), c), FitError, "Only 0 customers left"),
    (lambda d, o, c: (d, o, c.iloc[:10]), ValueError, "one row per customer"),
    (lambda d, o, c: (d, o, c.to_numpy()), ValueError, "DataFrame"),
    (lambda d, o, c: (d, o, pd.concat([c, c["age"]], axis=1)), ValueError, "distinct column names"),
    (lambda d, o, c: (d, o, c.assign(plan="basic", region=np.nan, age=1.0)), FitError,
     "No covariate can be estimated: region \\(all_missing\\), plan \\(no_variation\\), age \\(no_variation\\)"),
    (lambda d, o, c: (d, o, c.assign(twice=2 * c["age"])), FitError, "determined by the others"),
    (lambda d, o, c: (-d, o, c), ValueError, "not negative"),
])
def test_bad_input_is_refused_with_a_message(make, error, message):
    durations, observed, covariates = simulate(500, seed=1)
    with pytest.raises(error, match=message):
        fit_cox(*make(durations, observed, covariates))


def test_too_few_leavers_with_every_numeric_value_is_refused():
    # 30 of 100 leave, but 25 of those have no age (a quarter of the customers: the rows are dropped)
    age = np.where(np.arange(100) < 25, np.nan, np.linspace(0, 1, 100))
    with pytest.raises(FitError, match="Only 5 customers who left have every numeric covariate"):
        fit_cox(np.arange(1.0, 101.0), np.arange(100) < 30, pd.DataFrame({"age": age}))


@pytest.mark.parametrize(("options", "message"), [({"level": 1.5}, "level must be between 0 and 1"),
                                                  ({"min_events": 0}, "min_events must be at least 1")])
def test_bad_options_are_refused_with_a_message(options, message):
    durations, observed, covariates = simulate(200, seed=1)
    with pytest.raises(ValueError, match=message):
        fit_cox(durations, observed, covariates, **options)


def term(hr: float, low: float, high: float, *, numeric: bool = False) -> CoxTerm:
    return CoxTerm(column="plan", numeric=numeric, level=None if numeric else "premium",
                   reference=None if numeric else "basic", hazard_ratio=hr, low=low, high=high, p_value=0.01,
                   coefficient=float(np.log(hr)), std_error=0.1, customers=100, events=50)


def test_hazard_words():
    faster = hazard_words(term(1.8, 1.2, 2.7))
    assert (faster.direction, faster.factor, faster.ratio, faster.level, faster.reference, faster.per) == (
        "faster", 1.8, 1.8, "premium", "basic", None)
    slower = hazard_words(term(0.5, 0.3, 0.8))
    assert (slower.direction, slower.factor) == ("slower", 2.0)
    assert hazard_words(term(1.1, 0.9, 1.3)).direction == "unclear"
    per_ten = hazard_words(term(1.05, 1.01, 1.1, numeric=True), per=10)
    assert (per_ten.ratio, per_ten.low, per_ten.high) == pytest.approx((1.05**10, 1.01**10, 1.1**10))
    assert (per_ten.per, per_ten.direction) == (10, "faster")
    with pytest.raises(ValueError, match="per must be a positive step"):
        hazard_words(term(1.8, 1.2, 2.7), per=10)
    with pytest.raises(ValueError, match="per must be a positive step"):
        hazard_words(term(1.05, 1.01, 1.1, numeric=True), per=0)


# ------------------------------------------- covariates that change over a customer's life (entry, subjects)


def test_a_life_split_into_stretches_with_the_same_covariates_gives_the_same_fit():
    """The counting-process form is exact: cutting each customer's life at an arbitrary day (same covariates
    either side, the leaving only on the last stretch) changes nothing in the estimates."""
    durations, observed, covariates = simulate(1500, seed=3)
    durations = np.asarray(durations, dtype=float)
    whole = fit_cox(durations, observed, covariates)
    rng = np.random.default_rng(5)
    cut = durations * rng.uniform(0.2, 0.8, len(durations))
    split = cut > 0
    ids = np.arange(len(durations))
    entry = np.concatenate([np.zeros(len(durations)), cut[split]])
    stop = np.concatenate([np.where(split, cut, durations), durations[split]])
    left = np.concatenate([np.where(split, False, observed), np.asarray(observed)[split]])
    rows = pd.concat([covariates, covariates[split]], ignore_index=True)
    stretched = fit_cox(stop, left, rows, entry=entry, subjects=np.concatenate([ids, ids[split]]))
    for a, b in zip(whole.terms, stretched.terms, strict=True):
        assert (a.column, a.level, a.customers, a.events) == (b.column, b.level, b.customers, b.events)
        assert b.hazard_ratio == pytest.approx(a.hazard_ratio, rel=1e-9)
        assert b.std_error == pytest.approx(a.std_error, rel=1e-9)
    assert (stretched.n, stretched.events) == (whole.n, whole.events)
    assert stretched.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-12)


def test_a_covariate_that_switches_on_recovers_its_hazard_ratio():
    """Simulated: hazard 0.01 a day, times 2.5 from the day a customer complains (a known switch day per
    customer): the time-varying fit recovers 2.5; counting the complaint over the whole life (as if known from
    the start) does not (the immortal-time bias the counting-process form avoids)."""
    rng = np.random.default_rng(11)
    n, base, ratio = 4000, 0.01, 2.5
    switch = rng.exponential(80.0, n)  # the day of the complaint
    first = rng.exponential(1 / base, n)
    leaves = np.where(first < switch, first, switch + rng.exponential(1 / (base * ratio), n))
    end = rng.uniform(100, 400, n)
    time, left = np.minimum(leaves, end), leaves <= end
    before = np.minimum(switch, time)
    has_after = switch < time
    stop = np.concatenate([before, time[has_after]])
    entry = np.concatenate([np.zeros(n), switch[has_after]])
    observed = np.concatenate([np.where(has_after, False, left), left[has_after]])
    complained = np.concatenate([np.zeros(n), np.ones(int(has_after.sum()))])
    fit = fit_cox(stop, observed, pd.DataFrame({"complained": complained}), entry=entry,
                  subjects=np.concatenate([np.arange(n), np.arange(n)[has_after]]))
    (term,) = fit.terms
    assert term.low < ratio < term.high and term.hazard_ratio == pytest.approx(ratio, rel=0.12)
    assert fit.n == n and term.customers == n
    naive = fit_cox(time, left, pd.DataFrame({"complained": has_after.astype(float)}))
    assert naive.terms[0].high < ratio  # biased towards "complaining customers stay"


def test_bad_stretches_are_refused():
    with pytest.raises(ValueError, match="entry"):
        fit_cox([5.0, 6.0], [True, False], pd.DataFrame({"x": [1.0, 2.0]}), entry=[5.0, 1.0])
    with pytest.raises(ValueError, match="subjects"):
        fit_cox([5.0, 6.0], [True, False], pd.DataFrame({"x": [1.0, 2.0]}), entry=[0.0, 1.0], subjects=["a"])
