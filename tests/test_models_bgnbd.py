"""The BG/NBD model (analytics.models.bgnbd) against Fader, Hardie & Lee (2005), an independent
log-likelihood, numerical integration, and data simulated from known parameters.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "'Counting your customers' the easy way: an
alternative to the Pareto/NBD model", Marketing Science 24(2), 275–284, and their note
"Implementing the BG/NBD model for customer base analysis in Excel" (the CDNOW figures).
"""

from __future__ import annotations

import numpy as np
import pytest
from cdnow_summary import cdnow_summary
from scipy.special import betaln, gammaln
from statsmodels.tools.numdiff import approx_fprime, approx_hess

from analytics.models.bgnbd import (
    expected_purchases,
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
