"""The BG/NBD model (analytics.models.bgnbd) against Fader, Hardie & Lee (2005), an independent
log-likelihood, numerical integration, and data simulated from known parameters.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "'Counting your customers' the easy way: an
alternative to the Pareto/NBD model", Marketing Science 24(2), 275–284, and their note
"Implementing the BG/NBD model for customer base analysis in Excel" (the CDNOW figures).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cdnow_summary import cdnow_summary
from scipy import integrate
from scipy.special import betaln, gammaln
from statsmodels.tools.numdiff import approx_fprime, approx_hess

from analytics.models.bgnbd import (
    FitError,
    expected_purchases,
    expected_purchases_new,
    fit_bgnbd,
    probability_alive,
)


def paper_log_likelihood(params, x, t_x, T):
    """Eq. 6 of Fader, Hardie & Lee (2005), written out per customer without grouping:
    ln[Γ(r+x) α^r / Γ(r)] + ln[B(a, b+x) / B(a, b)]
    + ln[(α+T)^-(r+x) + 1{x>0} a/(b+x-1) (α+t_x)^-(r+x)]."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    a3 = (alpha + T) ** -(r + x)
    a4 = np.where(x > 0, a / (b + np.maximum(x, 1) - 1) * (alpha + t_x) ** -(r + x), 0.0)
    return head + np.log(a3 + a4)


@pytest.fixture(scope="module")
def cdnow():
    summary = cdnow_summary()
    return summary, fit_bgnbd(summary["x"], summary["t_x"], summary["T"])


def test_cdnow_summary_matches_fader_hardie_lee_2005(cdnow):
    # Published: 2,357 customers (first purchase in 1997 Q1), 946 of them repeat buyers, 2,457 repeat
    # purchase days in the 39-week calibration period ending 1997-09-30.
    summary, _ = cdnow
    assert len(summary) == 2357
    assert (summary["x"] > 0).sum() == 946
    assert summary["x"].sum() == 2457
    assert summary["T"].between(27.0, 39.0).all()
    first = summary.iloc[0]  # customer 1 is the paper's example: x = 2, t_x = 30.43, T = 38.86
    assert (first["x"], round(first["t_x"], 2), round(first["T"], 2)) == (2, 30.43, 38.86)


def test_bgnbd_matches_fader_hardie_lee_2005(cdnow):
    # Fader, Hardie & Lee (2005), section 4: r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
    # (CLVTools' own estimate on the same data: 0.2425945, 4.4136019, 0.7929199, 2.4258881, LL -9582.429.)
    _, fit = cdnow
    assert fit.converged, fit.message
    assert fit.params == pytest.approx([0.243, 4.414, 0.793, 2.426], abs=0.01)
    assert fit.params == pytest.approx([0.2425945, 4.4136019, 0.7929199, 2.4258881], rel=1e-4)
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.5)
    assert (fit.n_customers, fit.n_repeaters) == (2357, 946)


def test_bgnbd_is_the_maximum_of_the_papers_likelihood(cdnow):
    # The optimum of eq. 6 as written out independently: same value, zero gradient there.
    summary, fit = cdnow
    data = (summary["x"], summary["t_x"], summary["T"])
    assert paper_log_likelihood(fit.params, *data).sum() == pytest.approx(fit.log_likelihood, abs=1e-6)
    gradient = approx_fprime(fit.params, lambda p: paper_log_likelihood(p, *data).sum(), centered=True)
    assert np.abs(gradient).max() < 1e-3


def test_bgnbd_standard_errors_match_an_independent_hessian(cdnow):
    # statsmodels' numerical Hessian of eq. 6 in the natural parameters (no log transform, no
    # grouping). lifetimes 0.11 prints 0.012557, 0.378221, 0.185719, 0.705345 for the same fit.
    summary, fit = cdnow
    hess = approx_hess(fit.params, lambda p: paper_log_likelihood(p, summary["x"], summary["t_x"],
                                                                  summary["T"]).sum())
    independent = np.sqrt(np.diag(np.linalg.inv(-hess)))
    ours = np.array([fit.std_errors[k] for k in ("r", "alpha", "a", "b")])
    assert np.all(np.isfinite(ours)) and np.all(ours > 0)
    assert ours == pytest.approx(independent, rel=1e-3)
    assert ours == pytest.approx([0.012557, 0.378221, 0.185719, 0.705345], rel=2e-3)
    assert np.sqrt(np.diag(fit.covariance)) == pytest.approx(ours, rel=1e-12)
    assert np.allclose(fit.covariance, fit.covariance.T) and np.all(np.linalg.eigvalsh(fit.covariance) > 0)


def test_bgnbd_expected_purchases_of_the_example_customer_fader_hardie_lee_2005(cdnow):
    # Fader, Hardie & Lee (2005), section 4: the customer with x = 2, t_x = 30.43, T = 38.86 weeks
    # is expected to make 1.226 purchases in the next 39 weeks.
    _, fit = cdnow
    assert expected_purchases(fit, 39.0, 2, 30.43, 38.86) == pytest.approx(1.226, abs=0.005)
    assert expected_purchases(fit.params, 39.0, 2, 30.43, 38.86).shape == ()


def test_bgnbd_probability_alive_fader_hardie_lee_2005(cdnow):
    # The Excel note's P(alive): 1 for x = 0; for x > 0 in (0, 1), falling as T grows past the
    # last purchase (fixed x, t_x), rising with t_x (fixed x, T).
    summary, fit = cdnow
    alive = probability_alive(fit, summary["x"], summary["t_x"], summary["T"])
    assert alive.shape == (2357,)
    assert np.all((alive >= 0) & (alive <= 1))
    assert np.all(alive[summary["x"].to_numpy() == 0] == 1.0)
    T = np.linspace(30.43, 200.0, 50)
    for x in (1, 2, 5, 20):
        over_T = probability_alive(fit, x, 30.43, T)
        assert np.all(np.diff(over_T) < 0) and over_T[0] == pytest.approx(1 / (1 + fit.a / (fit.b + x - 1)))
    assert np.all(np.diff(probability_alive(fit, 2, np.linspace(0.1, 38.86, 20), 38.86)) > 0)
    r, alpha, a, b = fit.params
    by_hand = 1 / (1 + a / (b + 1) * ((alpha + 38.86) / (alpha + 30.43)) ** (r + 2))
    assert probability_alive(fit, 2, 30.43, 38.86) == pytest.approx(by_hand, rel=1e-12)


# --- simulated data -------------------------------------------------------------------------------------------

#: The recovery test's true parameters (close to CDNOW's), its size and the future horizon (weeks).
TRUE = (0.25, 4.0, 0.8, 2.5)
N_SIMULATED = 50_000
HORIZON = 39.0


def simulate_bgnbd(params, T, rng, horizon=0.0):
    """Customers of the BG/NBD story (Fader, Hardie & Lee 2005, section 3), one purchase at a time:
    λ ~ Gamma(r, rate α), p ~ Beta(a, b); while alive, exponential gaps of rate λ; after each repeat
    purchase the customer drops out with probability p. Returns x and t_x in (0, T] and the purchases
    in (T, T + horizon]."""
    r, alpha, a, b = params
    n = len(T)
    lam, p = rng.gamma(r, 1.0 / alpha, n), rng.beta(a, b, n)
    x, t_x, future, now = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.arange(n)
    with np.errstate(divide="ignore"):  # λ can underflow to 0: the next purchase never comes
        while active.size:
            now[active] += rng.standard_exponential(active.size) / lam[active]
            active = active[now[active] <= T[active] + horizon]
            in_calibration = active[now[active] <= T[active]]
            x[in_calibration] += 1
            t_x[in_calibration] = now[in_calibration]
            future[active[now[active] > T[active]]] += 1
            active = active[rng.random(active.size) >= p[active]]
    return x, t_x, future


@pytest.fixture(scope="module")
def simulated():
    # First purchases spread evenly over 12 weeks, the calibration period ending at week 39 (as CDNOW's).
    rng = np.random.default_rng(20050402)
    T = 39.0 - rng.uniform(0.0, 12.0, N_SIMULATED)
    x, t_x, future = simulate_bgnbd(TRUE, T, rng, horizon=HORIZON)
    return x, t_x, T, future, fit_bgnbd(x, t_x, T)


def test_bgnbd_recovers_simulated_parameters(simulated):
    # 50,000 customers from known parameters: each estimate within 3 of its standard errors, and
    # within a relative tolerance of 5 % (r, α) and 20 % (a, b; their standard errors are about 4-6 %).
    *_, fit = simulated
    assert fit.converged, fit.message
    se = np.array([fit.std_errors[k] for k in ("r", "alpha", "a", "b")])
    z = (fit.params - TRUE) / se
    assert np.all(np.abs(z) < 3), f"z-scores {z.round(2)}"
    assert np.all(np.abs(fit.params / TRUE - 1) < [0.05, 0.05, 0.2, 0.2]), fit.params
    assert fit.n_customers == N_SIMULATED


def test_bgnbd_standard_errors_match_the_spread_over_simulations():
    # The Hessian's standard errors against the spread of the estimates over 40 simulated data sets of
    # 5,000 customers: the ratio of the empirical standard deviation to the mean standard error lies in
    # [0.7, 1.35] (the sampling error of a standard deviation from 40 draws is about 11 %).
    rng = np.random.default_rng(11)
    estimates, std_errors = [], []
    for _ in range(40):
        T = 39.0 - rng.uniform(0.0, 12.0, 5000)
        x, t_x, _ = simulate_bgnbd(TRUE, T, rng)
        fit = fit_bgnbd(x, t_x, T)
        assert fit.converged, fit.message
        estimates.append(np.log(fit.params))  # compared on the log scale, where the estimates are near normal
        std_errors.append(np.sqrt(np.diag(fit.covariance)) / fit.params)
    ratio = np.std(estimates, axis=0, ddof=1) / np.mean(std_errors, axis=0)
    assert np.all((ratio > 0.7) & (ratio < 1.35)), ratio.round(3)


def test_bgnbd_fit_on_grouped_rows_equals_the_fit_on_every_customer(cdnow, simulated):
    # Rows grouped independently (pandas) and passed with weights fit as every row does; the maximised
    # log-likelihood is eq. 6 summed over the ungrouped customers.
    x, t_x, T, _, _ = simulated
    days = (np.round(x), np.floor(t_x * 7) / 7, np.round(T * 7) / 7)  # whole days: many identical rows
    for rows in (cdnow[0][["x", "t_x", "T"]], pd.DataFrame(dict(zip(("x", "t_x", "T"), days, strict=True)))):
        grouped = rows.groupby(["x", "t_x", "T"], as_index=False).size()
        assert len(grouped) < len(rows)
        whole = fit_bgnbd(rows["x"], rows["t_x"], rows["T"])
        weighted = fit_bgnbd(grouped["x"], grouped["t_x"], grouped["T"], weights=grouped["size"])
        assert weighted.log_likelihood == pytest.approx(whole.log_likelihood, abs=1e-6)
        assert weighted.params == pytest.approx(whole.params, rel=1e-6)
        assert paper_log_likelihood(whole.params, rows["x"], rows["t_x"], rows["T"]).sum() == pytest.approx(
            whole.log_likelihood, abs=1e-6)
        assert (weighted.n_customers, weighted.n_repeaters) == (len(rows), (rows["x"] > 0).sum())


@pytest.mark.parametrize(("x", "t_x", "T", "message"), [
    ([1] * 10 + [0] * 19, [2.0] * 10 + [0.0] * 19, [10.0] * 29, "Only 29 customers.*at least 30"),
    ([0] * 100, [0.0] * 100, [20.0] * 100, "No customer bought again"),
    ([1, 0] * 20, [12.0, 0.0] * 20, [10.0] * 40, r"0 <= t_x <= T"),
    ([1, -1] * 20, [2.0, 0.0] * 20, [10.0] * 40, "whole number of at least 0"),
    ([1.5, 0] * 20, [2.0, 0.0] * 20, [10.0] * 40, "whole number of at least 0"),
    ([1, 0] * 20, [2.0, 1.0] * 20, [10.0] * 40, r"x = 0\) must have t_x = 0"),
    ([1, 0] * 20, [2.0, np.nan] * 20, [10.0] * 40, "missing or infinite"),
    ([1, 0] * 20, [2.0, 0.0] * 20, [10.0] * 39, "same length"),
])
def test_bgnbd_degenerate_data_is_refused_with_a_message(x, t_x, T, message):
    with pytest.raises(FitError, match=message) as raised:
        fit_bgnbd(np.array(x, dtype=float), np.array(t_x), np.array(T))
    assert isinstance(raised.value, ValueError)


# --- expectations ---------------------------------------------------------------------------------------------

def integrated_purchases_if_alive(params, t, x, T):
    """E[Y(t) | alive at T, x, T] by numerical integration: given the history and alive, λ ~ Gamma(r+x,
    rate α+T) and p ~ Beta(a, b+x), and a customer with (λ, p) makes (1 - e^{-λpt})/p purchases in the
    next t (Fader, Hardie & Lee 2005, eq. 7 before mixing). λ is integrated in closed form, p by quad
    with the Beta density's end-point powers as its weight."""
    r, alpha, a, b = params

    def mean_given_p(p):
        if p == 0.0:  # the limit: a customer who never drops out buys λt, E[λ] = (r+x)/(α+T)
            return (r + x) * t / (alpha + T)
        return -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p

    value, _ = integrate.quad(mean_given_p, 0.0, 1.0, weight="alg", wvar=(a - 1.0, b + x - 1.0),
                              epsabs=0.0, epsrel=1e-12, limit=200)
    return value / np.exp(betaln(a, b + x))


PARAM_SETS = [(0.2425945, 4.4136019, 0.7929199, 2.4258881), (0.25, 4.0, 0.8, 2.5), (1.5, 12.0, 3.0, 1.5),
              (0.6, 2.0, 0.3, 8.0), (0.8, 1.0, 1.0 + 1e-9, 2.0)]


@pytest.mark.parametrize("params", PARAM_SETS)
def test_bgnbd_expected_purchases_new_matches_numerical_integration(params):
    # Eq. 7 (through the 2F1) against the integral over p of (1 - (α/(α+pt))^r)/p under Beta(a, b),
    # from a day to twenty years.
    t = np.array([1 / 7, 1.0, 39.0, 52.0, 520.0, 1040.0])
    got = expected_purchases_new(params, t)
    assert got == pytest.approx([integrated_purchases_if_alive(params, s, 0, 0.0) for s in t], rel=1e-7)


@pytest.mark.parametrize("params", PARAM_SETS)
def test_bgnbd_expected_purchases_matches_numerical_integration(params):
    # Eq. 10 against P(alive) times the integral, over CDNOW's range and well beyond it: heavy buyers
    # (x up to 300, where 2F1's direct form overflows), horizons up to ten years, recent and old last purchases.
    cases = [(x, t_x, T, t) for x in (0, 1, 2, 7, 40, 300) for (t_x, T) in ((0.0, 27.0), (30.43, 38.86), (5.0, 100.0))
             for t in (1.0, 39.0, 520.0) if x > 0 or t_x == 0]
    x, t_x, T, t = (np.array(c, dtype=float) for c in zip(*cases, strict=True))
    got = expected_purchases(params, t, x, t_x, T)
    alive = probability_alive(params, x, t_x, T)
    want = [p * integrated_purchases_if_alive(params, *c) for p, c in zip(alive, zip(t, x, T, strict=True),
                                                                           strict=True)]
    assert np.all(np.isfinite(got))
    assert got == pytest.approx(want, rel=1e-7, abs=1e-300)


def test_bgnbd_vectorised_parameter_draws_agree_with_a_loop(cdnow):
    # Draws of shape (n_draws, 4) give (n_draws, n_customers), row d equal to the call with draw d alone;
    # a = 1 exactly (the formula's 0/0) gives the neighbouring values.
    summary, fit = cdnow
    rng = np.random.default_rng(3)
    draws = np.exp(rng.multivariate_normal(np.log(fit.params), fit.covariance / np.outer(fit.params, fit.params), 6))
    draws[-1, 2] = 1.0
    data = (summary["x"].to_numpy(), summary["t_x"].to_numpy(), summary["T"].to_numpy())
    many = expected_purchases(draws, 39.0, *data)
    assert many.shape == (6, 2357)
    assert many == pytest.approx(np.stack([expected_purchases(d, 39.0, *data) for d in draws]), rel=1e-12)
    alive = probability_alive(draws, *data)
    assert alive.shape == (6, 2357)
    assert alive == pytest.approx(np.stack([probability_alive(d, *data) for d in draws]), rel=1e-12)
    t = np.array([13.0, 39.0, 52.0])
    new = expected_purchases_new(draws, t)
    assert new.shape == (6, 3)
    assert new == pytest.approx(np.stack([expected_purchases_new(d, t) for d in draws]), rel=1e-12)
    near_one = draws[-1].copy()
    near_one[2] = 1.0 + 1e-5
    assert many[-1] == pytest.approx(expected_purchases(near_one, 39.0, *data), rel=1e-4)


def test_bgnbd_expected_purchases_new_matches_the_simulation(simulated):
    # The simulated customers' mean repeat purchases in (0, T] against the mean of eq. 7 at their T,
    # within 4 standard errors of the simulation mean (and 2 %).
    x, _, T, _, _ = simulated
    expected = expected_purchases_new(TRUE, T)
    se = np.std(x - expected, ddof=1) / np.sqrt(len(x))
    assert abs(x.mean() - expected.mean()) < 4 * se
    assert x.mean() == pytest.approx(expected.mean(), rel=0.02)


def test_bgnbd_conditional_expectation_matches_simulated_future_purchases(simulated):
    # Purchases the same simulated customers make in the 39 weeks after calibration (the dead make none)
    # against eq. 10 at the true parameters, summed by calibration frequency 0, 1, ..., 6, 7+: each within
    # 4 standard errors of the simulated sum, and the total within 3 %.
    x, t_x, T, future, _ = simulated
    expected = expected_purchases(TRUE, HORIZON, x, t_x, T)
    bucket = np.minimum(x, 7)
    for k in range(8):
        rows = bucket == k
        se = np.sqrt(np.sum((future[rows] - expected[rows]) ** 2))
        assert abs(future[rows].sum() - expected[rows].sum()) < 4 * se, k
    assert future.sum() == pytest.approx(expected.sum(), rel=0.03)
