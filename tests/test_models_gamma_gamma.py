"""The Gamma-Gamma spend model (analytics.models.gamma_gamma) against its published CDNOW fit and simulations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from analytics.models.bgnbd import FitError
from analytics.models.gamma_gamma import (
    MIN_REPEATERS,
    expected_spend,
    fit_gamma_gamma,
    frequency_spend_correlation,
)
from tests.cdnow_summary import cdnow_summary


def gg_loglik(theta, x, m) -> float:
    """Fader & Hardie (2013), "The Gamma-Gamma model of monetary value", eq. 3, written out per customer."""
    p, q, g = theta
    return float(np.sum(special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q) + q * np.log(g)
                        + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(g + x * m)))


def simulate_spend(rng: np.random.Generator, n: int, p: float, q: float, gamma: float):
    """Repeat buyers: x ~ 1 + Poisson(2); ν ~ Gamma(q, rate γ); each transaction ~ Gamma(p, rate ν); m = their mean."""
    x = 1 + rng.poisson(2.0, n)
    nu = rng.gamma(q, 1 / gamma, n)
    m = rng.gamma(p * x, 1 / nu) / x  # the sum of x Gamma(p, ν) values is Gamma(px, ν)
    return x, m


@pytest.fixture(scope="module")
def cdnow():
    return cdnow_summary("1997-09-30")


def test_gamma_gamma_matches_fader_hardie_lee_2005_rfm_and_clv(cdnow):
    # Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base analysis",
    # JMR 42(4), and Fader & Hardie (2013), "The Gamma-Gamma model of monetary value": on the 946
    # repeaters of the CDNOW 1/10 sample (mean value of their repeat purchase days up to 1997-09-30)
    # p = 6.25, q = 3.74, γ = 15.44; the population mean spend per transaction p γ / (q - 1) = $35.17.
    assert (cdnow["x"] > 0).sum() == 946
    fit = fit_gamma_gamma(cdnow["x"], cdnow["monetary"])
    assert fit.converged, fit.message
    assert (fit.p, fit.q, fit.gamma) == pytest.approx((6.25, 3.74, 15.44), abs=0.05)
    assert fit.n_customers == 946 and fit.n_ignored == 2357 - 946
    assert fit.mean_spend == pytest.approx(35.17, abs=0.05)
    # The log-likelihood (-4055.92 here; not published) is the independent formula's at the optimum, and its maximum.
    repeat = cdnow[cdnow["x"] > 0]
    x, m = repeat["x"].to_numpy(float), repeat["monetary"].to_numpy()
    assert fit.log_likelihood == pytest.approx(gg_loglik(fit.params, x, m), rel=1e-10)
    assert fit.log_likelihood == pytest.approx(-4055.92, abs=0.01)
    for step in np.eye(3) * 1e-3:
        assert gg_loglik(fit.params + step * fit.params, x, m) < fit.log_likelihood
        assert gg_loglik(fit.params - step * fit.params, x, m) < fit.log_likelihood
    assert all(0 < se < np.inf for se in fit.std_errors.values())


def test_gamma_gamma_density_is_the_integral_over_nu():
    # The closed form of eq. 3 against its definition: m | ν ~ Gamma(px, rate xν), ν ~ Gamma(q, rate γ).
    p, q, g = 6.25, 3.74, 15.44
    for x, m in [(1, 20.0), (3, 45.5), (12, 8.0)]:
        def integrand(nu, x=x, m=m):
            return stats.gamma.pdf(m, p * x, scale=1 / (x * nu)) * stats.gamma.pdf(nu, q, scale=1 / g)
        density, _ = integrate.quad(integrand, 0, np.inf, limit=200)
        assert gg_loglik((p, q, g), np.array([x]), np.array([m])) == pytest.approx(np.log(density), rel=1e-7)


def test_gamma_gamma_standard_errors_are_the_inverse_numerical_hessian(cdnow):
    fit = fit_gamma_gamma(cdnow["x"], cdnow["monetary"])
    repeat = cdnow[cdnow["x"] > 0]
    x, m = repeat["x"].to_numpy(float), repeat["monetary"].to_numpy()
    theta, h = fit.params, 1e-4 * fit.params
    hess = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = np.eye(3)[i] * h[i], np.eye(3)[j] * h[j]
            hess[i, j] = (gg_loglik(theta + ei + ej, x, m) - gg_loglik(theta + ei - ej, x, m)
                          - gg_loglik(theta - ei + ej, x, m) + gg_loglik(theta - ei - ej, x, m)) / (4 * h[i] * h[j])
    assert fit.covariance == pytest.approx(np.linalg.inv(-hess), rel=1e-3)
    assert [fit.std_errors[k] for k in ("p", "q", "gamma")] == pytest.approx(np.sqrt(np.diag(fit.covariance)))


def test_gamma_gamma_recovers_simulated_parameters():
    # 20,000 simulated repeat buyers with p = 6, q = 4, γ = 15; each estimate within 3.5 of its standard
    # errors (two-sided 3.5 σ: a 1-in-2,000 miss per parameter for a correct estimator; the seed is fixed).
    truth = np.array([6.0, 4.0, 15.0])
    x, m = simulate_spend(np.random.default_rng(11), 20_000, *truth)
    fit = fit_gamma_gamma(x, m)
    assert fit.converged, fit.message
    se = np.array([fit.std_errors[k] for k in ("p", "q", "gamma")])
    assert np.all(np.abs(fit.params - truth) < 3.5 * se), (fit.params, se)
    assert np.all(se < 0.1 * truth)  # and the estimates are informative at this size


def test_gamma_gamma_weights_are_repeated_rows():
    x, m = simulate_spend(np.random.default_rng(5), 300, 6.0, 4.0, 15.0)
    counts = np.random.default_rng(6).integers(1, 4, x.size)
    grouped = fit_gamma_gamma(x, m, weights=counts)
    expanded = fit_gamma_gamma(np.repeat(x, counts), np.repeat(m, counts))
    assert grouped.params == pytest.approx(expanded.params, rel=1e-6)
    assert grouped.log_likelihood == pytest.approx(expanded.log_likelihood, rel=1e-9)
    assert grouped.n_customers == counts.sum()


def test_gamma_gamma_ignores_non_repeaters_and_non_positive_spend():
    x, m = simulate_spend(np.random.default_rng(2), 500, 6.0, 4.0, 15.0)
    x_all = np.concatenate([x, [0, 0, 0, 2, 3]])
    m_all = np.concatenate([m, [np.nan, 10.0, np.nan, -5.0, 0.0]])
    fit = fit_gamma_gamma(x_all, m_all)
    assert fit.n_customers == 500 and fit.n_ignored == 5
    assert fit.params == pytest.approx(fit_gamma_gamma(x, m).params)


def test_expected_spend_is_the_credibility_weighted_mean():
    p, q, g = 6.25, 3.74, 15.44
    x = np.array([0, 1, 4, 20])
    m = np.array([np.nan, 10.0, 50.0, 50.0])
    population = p * g / (q - 1)
    weight = p * x / (p * x + q - 1)  # FHL 2005 eq. 5: a weighted mean of the population's and the customer's mean
    want = np.where(x > 0, (1 - weight) * population + weight * np.nan_to_num(m), population)
    assert expected_spend((p, q, g), x, m) == pytest.approx(want)
    # More repeat purchases pull the estimate towards the customer's own mean.
    assert abs(expected_spend((p, q, g), [20], [50.0])[0] - 50) < abs(expected_spend((p, q, g), [4], [50.0])[0] - 50)


def test_expected_spend_over_draws_and_without_a_finite_mean():
    draws = np.array([[6.25, 3.74, 15.44], [5.0, 3.0, 12.0], [6.0, 0.9, 10.0]])
    x, m = np.array([0, 2]), np.array([np.nan, 30.0])
    out = expected_spend(draws, x, m)
    assert out.shape == (3, 2)
    for row, theta in zip(out[:2], draws[:2], strict=True):
        assert row == pytest.approx(expected_spend(theta, x, m))
    # q <= 1: the population has no finite mean spend, so a customer without repeat purchases has none.
    assert np.isnan(out[2, 0]) and out[2, 1] == pytest.approx((10 + 60) * 6 / (12 + 0.9 - 1))


def test_frequency_spend_correlation_on_cdnow(cdnow):
    # Fader & Hardie (2013), section 2: "the correlation between average transaction value and the number
    # of transactions is 0.11" on the CDNOW sample; small, so the independence assumption is kept.
    check = frequency_spend_correlation(cdnow["x"], cdnow["monetary"])
    assert check.n == 946
    assert check.pearson == pytest.approx(0.11, abs=0.005)
    assert check.pearson_ci[0] < check.pearson < check.pearson_ci[1]
    assert check.pearson_p_value < 0.01  # "significant" at n = 946, yet small: the verdict goes by size
    assert check.spearman == pytest.approx(stats.spearmanr(cdnow.loc[cdnow.x > 0, "x"],
                                                           cdnow.loc[cdnow.x > 0, "monetary"]).statistic)
    assert check.independence_plausible and check.verdict == "modest"
    assert "0.11" in check.message


def test_frequency_spend_correlation_flags_a_material_breach():
    rng = np.random.default_rng(3)
    x = 1 + rng.poisson(3.0, 2_000)
    m = 10 * x * rng.gamma(20.0, 1 / 20.0, x.size)  # spend rises with frequency
    check = frequency_spend_correlation(x, m)
    assert check.pearson > 0.5 and not check.independence_plausible and check.verdict == "material"
    independent = frequency_spend_correlation(x, rng.gamma(5.0, 6.0, x.size))
    assert independent.verdict == "weak" and independent.independence_plausible


def test_gamma_gamma_refuses_too_few_repeaters_or_constant_spend():
    x, m = simulate_spend(np.random.default_rng(4), MIN_REPEATERS - 1, 6.0, 4.0, 15.0)
    with pytest.raises(FitError, match="at least 20 repeat buyers"):
        fit_gamma_gamma(np.concatenate([x, np.zeros(1000)]), np.concatenate([m, np.full(1000, np.nan)]))
    with pytest.raises(FitError, match="at least 20 repeat buyers"):
        fit_gamma_gamma(np.zeros(100), np.full(100, np.nan))
    with pytest.raises(FitError, match="same average spend"):
        fit_gamma_gamma(np.ones(50), np.full(50, 9.99))
    assert issubclass(FitError, ValueError)


def test_gamma_gamma_refuses_malformed_input():
    with pytest.raises(ValueError, match="one length"):
        fit_gamma_gamma([1, 2, 3], [1.0, 2.0])
    with pytest.raises(ValueError, match="non-negative"):
        fit_gamma_gamma([1, -2, 3], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="weights"):
        fit_gamma_gamma([1, 2, 3], [1.0, 2.0, 3.0], weights=[1, -1, 1])
    with pytest.raises(ValueError, match="at least 3 repeat buyers"):
        frequency_spend_correlation([0, 1, 2], [np.nan, 5.0, 6.0])
