"""Survey scores as estimates (analytics.models.scores) and the retention curve on the satisfaction score
(analytics.models.retention_logit): CSAT against statsmodels' Wilson interval, NPS's interval against the
multinomial covariance computed here and its coverage on simulated surveys, the mean's t interval against scipy,
STL recovering a known season, and the logistic model recovering known coefficients from simulated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit
from statsmodels.stats.proportion import proportion_confint

from analytics.models import retention_logit as rl
from analytics.models import scores


def test_csat_is_the_share_of_4_and_5_with_the_wilson_interval():
    got = scores.csat(78, 100)
    assert (got.value, got.n) == (0.78, 100)
    assert (got.low, got.high) == pytest.approx(proportion_confint(78, 100, method="wilson"), rel=1e-12)
    assert np.isnan(scores.csat(0, 0).value) and scores.csat(0, 0).n == 0


def test_nps_in_points_with_the_multinomial_interval():
    promoters, passives, detractors = 50, 30, 20
    n = promoters + passives + detractors
    got = scores.nps(promoters, detractors, n)
    assert got.value == pytest.approx(30.0)
    # Var(p - d) from the multinomial covariance: Var p + Var d - 2 Cov(p, d), Cov = -p d / n
    p, d = promoters / n, detractors / n
    var = (p * (1 - p) + d * (1 - d) + 2 * p * d) / n
    assert (got.low, got.high) == pytest.approx((30 - 100 * 1.959964 * var ** 0.5, 30 + 100 * 1.959964 * var ** 0.5),
                                                rel=1e-6)
    all_promoters = scores.nps(10, 0, 10)
    assert all_promoters.value == 100 and all_promoters.high == 100  # (clipped)


def test_the_nps_interval_covers_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    truth = (0.45, 0.30, 0.25)  # promoters, passives, detractors: NPS 20
    hits = 0
    for _ in range(2000):
        p, _, d = rng.multinomial(200, truth)
        e = scores.nps(p, d, 200)
        hits += e.low <= 20 <= e.high
    assert 0.93 <= hits / 2000 <= 0.97


def test_the_mean_score_has_the_t_interval():
    x = np.array([1, 2, 2, 3, 4, 4, 5, 5, 5, 3], dtype=float)
    got = scores.mean_score(x.sum(), (x ** 2).sum(), len(x))
    low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (got.value, got.low, got.high) == pytest.approx((x.mean(), low, high), rel=1e-12)
    assert np.isnan(scores.mean_score(4.0, 16.0, 1).low)


def test_stl_recovers_a_known_season_and_short_series_get_a_moving_average():
    months = pd.date_range("2022-01-01", periods=36, freq="MS")
    season = 0.05 * np.sin(2 * np.pi * np.arange(36) / 12)
    trend = np.linspace(0.70, 0.80, 36)
    values = trend + season
    values[7] = np.nan  # a month without responses: interpolated, said
    got = scores.decompose(months, values, np.full(36, 100))
    assert got.method == "stl"
    assert got.frame["filled"].tolist() == [i == 7 for i in range(36)]
    ok = np.arange(36) != 7
    assert np.abs(got.frame["season"].to_numpy()[ok] - season[ok]).max() < 0.01
    assert np.abs(got.frame["trend"].to_numpy()[ok] - trend[ok]).max() < 0.01
    short = scores.decompose(months[:12], values[:12], np.arange(1, 13))
    assert short.method == "moving_average" and short.frame["season"].isna().all()
    v, w = values[:3], np.arange(1, 4)
    assert short.frame["trend"][1] == pytest.approx(np.nansum(v * w) / w[np.isfinite(v)].sum())


@pytest.mark.parametrize(("a", "b"), [(-2.0, 0.6), (0.5, -0.3), (-1.0, 0.0)])
def test_the_logistic_curve_recovers_known_coefficients(a, b):
    """Simulated: scores 1-5 uniform, retained with P = expit(a + b s), 20,000 responses. The estimates lie within
    4 standard errors of the truth (and within 0.1), and the band at each score covers the true probability."""
    rng = np.random.default_rng(11)
    s = rng.integers(1, 6, 20_000).astype(float)
    y = rng.random(len(s)) < expit(a + b * s)
    fit = rl.fit_retention(s, y)
    assert fit.problem is None and (fit.n, fit.retained) == (len(s), int(y.sum()))
    assert abs(fit.intercept - a) < max(4 * fit.intercept_se, 1e-9) and abs(fit.intercept - a) < 0.1
    assert abs(fit.slope - b) < 4 * fit.slope_se and abs(fit.slope - b) < 0.1
    for score in (1, 3, 5):
        p, low, high = fit.at(score)
        assert low <= expit(a + b * score) <= high
        assert p == pytest.approx(expit(fit.intercept + fit.slope * score))
    assert fit.curve["score"].iloc[[0, -1]].tolist() == [1.0, 5.0]
    c = fit.curve
    assert (c["low"] <= c["probability"]).all() and (c["probability"] <= c["high"]).all()


def test_the_fit_is_refused_with_too_little_to_go_on():
    assert rl.fit_retention([1, 2, 3], [0, 1, 1]).problem == "too_few"
    assert rl.fit_retention(np.full(100, 4.0), np.arange(100) % 2).problem == "one_score"
    s = np.repeat([1.0, 5.0], 50)
    assert rl.fit_retention(s, s > 3).problem == "separated"
