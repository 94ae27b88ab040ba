"""Customer lifetime value with its interval (analytics.models.lifetime_value): the arithmetic by hand, the fast
path against a brute-force computation, and the interval's coverage over repeated simulations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.models.bgnbd import BgNbdFit, FitError, expected_purchases, fit_bgnbd
from analytics.models.gamma_gamma import GammaGammaFit, expected_spend, fit_gamma_gamma
from analytics.models.lifetime_value import discounted_purchases, lifetime_value
from analytics.models.parameter_draws import draw_parameters
from tests.cdnow_summary import cdnow_summary

#: Fader, Hardie & Lee (2005): BG/NBD r, α, a, b and Gamma-Gamma p, q, γ on CDNOW.
BG_CDNOW = (0.243, 4.414, 0.793, 2.426)
GG_CDNOW = (6.25, 3.74, 15.44)


def fixed_fits(bg=BG_CDNOW, gg=GG_CDNOW) -> tuple[BgNbdFit, GammaGammaFit]:
    """Fits with the given parameters and no sampling error: every parameter draw is the estimate."""
    return (BgNbdFit(*bg, std_errors={}, covariance=np.zeros((4, 4)), log_likelihood=np.nan, n_customers=0,
                     n_repeaters=0, converged=True, iterations=0, message="fixed"),
            GammaGammaFit(*gg, std_errors={}, covariance=np.zeros((3, 3)), log_likelihood=np.nan, n_customers=0,
                          n_ignored=0, converged=True, message="fixed"))


def simulate(rng: np.random.Generator, n: int, bg=BG_CDNOW, gg=GG_CDNOW, max_days: int = 500):
    """Customers from the BG/NBD and Gamma-Gamma models: first purchases spread over ``max_days`` days before the
    end, λ ~ Gamma(r, rate α), dropout p ~ Beta(a, b) after each repeat purchase, ν ~ Gamma(q, rate γ), each
    repeat purchase's value ~ Gamma(p, rate ν). Returns x, t_x, T (weeks, whole days) and the mean repeat value."""
    r, alpha, a, b = bg
    p, q, gamma = gg
    T = rng.integers(1, max_days, n) / 7.0
    lam, drop = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    x, t_x, t = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t_next = t[idx] + rng.exponential(1.0, idx.size) / lam[idx]
        inside = t_next <= T[idx]
        buy = idx[inside]
        x[buy] += 1
        t[buy] = t_next[inside]
        t_x[buy] = np.floor(t_next[inside] * 7) / 7  # purchase days
        alive[idx[~inside]] = False
        alive[buy[rng.random(buy.size) < drop[buy]]] = False
    t_x = np.minimum(t_x, T)
    nu = rng.gamma(q, 1 / gamma, n)
    m = np.where(x > 0, rng.gamma(p * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1), np.nan)
    return x, t_x, T, m


@pytest.fixture(scope="module")
def cdnow():
    s = cdnow_summary("1997-09-30")
    return s["x"].to_numpy(float), s["t_x"].to_numpy(), s["T"].to_numpy(), s["monetary"].to_numpy()


def test_discounting_and_margin_match_a_hand_computation():
    bg, gg = fixed_fits()
    x, t_x, T = np.array([0.0, 2.0, 7.0]), np.array([0.0, 30.43, 35.0]), np.array([38.86, 38.86, 38.0])
    m = np.array([np.nan, 40.0, 25.0])
    margin, historical, acquisition = np.array([0.3, 0.5, 0.2]), np.array([12.0, 150.0, 400.0]), np.array([5, 5, 0])
    got = lifetime_value(bg, gg, x, t_x, T, m, margin=margin, historical_value=historical,
                         acquisition_cost=acquisition, horizon_months=3, discount_rate=0.10)
    p, q, g = GG_CDNOW
    spend = np.array([p * g / (q - 1), (g + 2 * 40) * p / (2 * p + q - 1), (g + 7 * 25) * p / (7 * p + q - 1)])
    e = [expected_purchases(BG_CDNOW, k * 52 / 12, x, t_x, T) for k in range(4)]  # cumulative at 0, 1, 2, 3 months
    future = margin * spend * ((e[1] - e[0]) / 1.1 ** (1 / 12) + (e[2] - e[1]) / 1.1 ** (2 / 12)
                               + (e[3] - e[2]) / 1.1 ** (3 / 12))
    assert got.expected_spend == pytest.approx(spend, rel=1e-12)
    assert got.future_value == pytest.approx(future, rel=1e-12)
    assert got.clv == pytest.approx(historical + future - acquisition, rel=1e-12)
    assert got.expected_purchases == pytest.approx(e[3], rel=1e-12)
    assert got.total.point == pytest.approx(np.sum(historical + future - acquisition), rel=1e-12)
    # No sampling error: the intervals collapse onto the point.
    assert got.future_low == pytest.approx(future, rel=1e-9) and got.future_high == pytest.approx(future, rel=1e-9)
    # Undiscounted, the monthly steps add up to the purchases over the whole horizon.
    flat = lifetime_value(bg, gg, x, t_x, T, m, margin=1.0, horizon_months=3, discount_rate=0.0)
    assert flat.future_value == pytest.approx(spend * e[3], rel=1e-12)


def test_fast_path_equals_brute_force_with_the_same_draws(cdnow):
    # CDNOW has 70-odd distinct T for small x, so the interpolation in T is exercised as well as the exact path.
    x, t_x, T, m = cdnow
    bg, gg = fit_bgnbd(x, t_x, T), fit_gamma_gamma(x, m)
    margin = np.random.default_rng(0).uniform(-0.2, 0.6, x.size)
    got = lifetime_value(bg, gg, x, t_x, T, m, margin=margin, n_draws=100, seed=7)
    rng = np.random.default_rng(7)  # the draws are taken in this order: BG/NBD, then Gamma-Gamma
    bg_draws, _ = draw_parameters(bg.params, bg.covariance, 100, rng)
    gg_draws, _ = draw_parameters(gg.params, gg.covariance, 100, rng, lower=[np.nan, 1.0, np.nan])
    values = margin * discounted_purchases(bg_draws, x, t_x, T) * expected_spend(gg_draws, x, m)
    low, high = np.quantile(values, [0.05, 0.95], axis=0)
    assert got.future_low == pytest.approx(low, rel=1e-9, abs=1e-9)
    assert got.future_high == pytest.approx(high, rel=1e-9, abs=1e-9)
    assert (got.total_future.low, got.total_future.high) == pytest.approx(
        tuple(np.quantile(values.sum(axis=1), [0.05, 0.95])), rel=1e-9)
    point = margin * discounted_purchases(bg.params, x, t_x, T) * expected_spend(gg.params, x, m)
    assert got.future_value == pytest.approx(point, rel=1e-12, abs=1e-12)


def test_interval_contains_the_point_estimate(cdnow):
    x, t_x, T, m = cdnow
    bg, gg = fit_bgnbd(x, t_x, T), fit_gamma_gamma(x, m)
    got = lifetime_value(bg, gg, x, t_x, T, m, margin=0.3, historical_value=np.full(x.size, 20.0))
    assert np.all(got.future_low <= got.future_value) and np.all(got.future_value <= got.future_high)
    assert np.all(got.clv_low <= got.clv) and np.all(got.clv <= got.clv_high)
    assert got.total.low < got.total.point < got.total.high
    assert got.total.point == pytest.approx(got.clv.sum())
    assert got.total.point - got.total_future.point == pytest.approx(20.0 * x.size)
    # CDNOW (FHL 2005 parameters, 30 % margin, 12 months at 10 %): the 2,357 customers' future value, recorded here
    # (about $9.2 per customer; not published), with an interval of a few per cent either side.
    assert 0.85 < got.total_future.low / got.total_future.point < 0.97
    assert 1.03 < got.total_future.high / got.total_future.point < 1.15


def test_interval_narrows_as_the_fit_has_more_customers():
    # The same 200 customers valued with models fitted on 2,000 and on 20,000 customers: the parameters' standard
    # errors fall by about sqrt(10), and so should the intervals (asserted: by more than 1.8 times).
    rng = np.random.default_rng(21)
    data = simulate(rng, 20_000)
    widths = []
    for n in (2_000, 20_000):
        part = [v[:n] for v in data]
        bg, gg = fit_bgnbd(*part[:3]), fit_gamma_gamma(part[0], part[3])
        got = lifetime_value(bg, gg, *(v[:200] for v in data), margin=0.3)
        widths.append((got.total_future.high - got.total_future.low, np.median(got.future_high - got.future_low)))
    (total_small, each_small), (total_large, each_large) = widths
    assert total_large < total_small / 1.8 and each_large < each_small / 1.8


def test_interval_covers_the_true_expected_value_at_its_nominal_rate():
    # 40 simulations of 5,000 customers from known parameters; each fit's 90 % interval of the total future value
    # (expected under the model, given each customer's history) against that value under the true parameters.
    # Binomial(40, 0.9): P(covered <= 30) = 0.5 %, so at least 31 of 40 must cover. The errors scaled by the
    # interval's implied standard error (half-width / 1.645) must have a mean square within the chi-square(40)/40
    # 99 % band [0.52, 1.67]: the interval is neither too narrow nor too wide.
    rng = np.random.default_rng(2026)
    covered, z = 0, []
    for _ in range(40):
        x, t_x, T, m = simulate(rng, 5_000)
        bg, gg = fit_bgnbd(x, t_x, T), fit_gamma_gamma(x, m)
        got = lifetime_value(bg, gg, x, t_x, T, m, margin=0.3, n_draws=200, seed=rng)
        truth = np.sum(0.3 * discounted_purchases(BG_CDNOW, x, t_x, T) * expected_spend(GG_CDNOW, x, m))
        covered += got.total_future.low <= truth <= got.total_future.high
        z.append((got.total_future.point - truth) / ((got.total_future.high - got.total_future.low) / 2 / 1.645))
    assert covered >= 31, covered
    assert 0.52 < np.mean(np.square(z)) < 1.67, np.mean(np.square(z))


def test_group_totals_add_up_to_the_total(cdnow):
    x, t_x, T, m = cdnow
    bg, gg = fit_bgnbd(x, t_x, T), fit_gamma_gamma(x, m)
    region = np.array(["north", "south", "east"])[np.arange(x.size) % 3]
    segment = np.where(x == 0, "one-off", np.where(x < 3, "some", None)).astype(object)  # missing: a group too
    got = lifetime_value(bg, gg, x, t_x, T, m, margin=0.25, historical_value=5.0, acquisition_cost=2.0,
                         groups={"region": region, "segment": segment, "all": np.zeros(x.size)})
    for name in ("region", "segment"):
        totals = got.by_group[name]
        assert totals.clv.sum() == pytest.approx(got.total.point, rel=1e-12)
        assert totals.future.sum() == pytest.approx(got.total_future.point, rel=1e-12)
        assert totals.n_customers.sum() == x.size
        assert np.all(totals.clv_low <= totals.clv) and np.all(totals.clv <= totals.clv_high)
        assert np.all(totals.future_low <= totals.future) and np.all(totals.future <= totals.future_high)
    segment_totals = got.by_group["segment"]
    labels = list(segment_totals.labels)
    assert len(labels) == 3 and {"one-off", "some"} <= set(labels) and sum(pd.isna(v) for v in labels) == 1
    some = labels.index("some")
    assert segment_totals.clv[some] == pytest.approx(got.clv[(x > 0) & (x < 3)].sum(), rel=1e-12)
    # One group holding everyone has the overall total and interval (the same draws).
    everyone = got.by_group["all"]
    assert (everyone.clv[0], everyone.clv_low[0], everyone.clv_high[0]) == pytest.approx(
        (got.total.point, got.total.low, got.total.high), rel=1e-12)
    # total_by, after the fact, gives what groups= gave.
    again = got.total_by(region)
    assert again.clv_low == pytest.approx(got.by_group["region"].clv_low, rel=1e-12)
    assert list(again.labels) == list(got.by_group["region"].labels)


def test_negative_margins_keep_the_interval_ordered(cdnow):
    x, t_x, T, m = cdnow
    bg, gg = fit_bgnbd(x, t_x, T), fit_gamma_gamma(x, m)
    got = lifetime_value(bg, gg, x, t_x, T, m, margin=-0.1)
    assert np.all(got.future_value < 0) and np.all(got.future_low <= got.future_value)
    assert np.all(got.future_value <= got.future_high)


def test_lifetime_value_refuses_what_it_cannot_value(cdnow):
    x, t_x, T, m = cdnow
    bg, gg = fixed_fits()
    with pytest.raises(ValueError, match="one value per customer"):
        lifetime_value(bg, gg, x, t_x[:-1], T, m, margin=0.3)
    with pytest.raises(ValueError, match="at least one customer"):
        lifetime_value(bg, gg, [], [], [], [], margin=0.3)
    with pytest.raises(ValueError, match="at most 1"):
        lifetime_value(bg, gg, x, t_x, T, m, margin=30)
    with pytest.raises(ValueError, match="t_x <= T"):
        lifetime_value(bg, gg, np.array([1.0]), np.array([5.0]), np.array([4.0]), np.array([10.0]), margin=0.3)
    with pytest.raises(ValueError, match="horizon_months"):
        lifetime_value(bg, gg, x, t_x, T, m, margin=0.3, horizon_months=0)
    no_errors = BgNbdFit(*BG_CDNOW, std_errors={}, covariance=np.full((4, 4), np.nan), log_likelihood=np.nan,
                         n_customers=0, n_repeaters=0, converged=False, iterations=0, message="not converged")
    with pytest.raises(FitError, match="no standard errors"):
        lifetime_value(no_errors, gg, x, t_x, T, m, margin=0.3)
    with pytest.raises(FitError, match="not above 1"):
        lifetime_value(bg, fixed_fits(gg=(6.0, 0.9, 15.0))[1], x, t_x, T, m, margin=0.3)



def test_draws_of_a_parameter_the_data_hardly_identifies_stay_finite():
    """A parameter with a log-scale standard error of 10^4 (BG/NBD's b when nobody seems to leave)
    draws past float range now and then; such draws are redrawn, never passed on as inf."""
    params = np.array([0.5, 4.0, 0.8, 50.0])
    covariance = np.diag([0.01, 0.1, 0.01, (50.0 * 1e4) ** 2])
    with np.errstate(over="raise"):
        draws, rejected = draw_parameters(params, covariance, 200, np.random.default_rng(1))
    assert draws.shape == (200, 4) and np.all(np.isfinite(draws)) and np.all(draws > 0)
    assert rejected > 0  # a log-sd of 10^4: most draws leave float range (exp of beyond ±709)


@pytest.mark.parametrize(("se_a", "se_b", "refused"), [(80.0, 531.0, True), (20.0, 150.0, False)])
def test_draws_too_extreme_for_a_value_are_left_out_or_the_interval_refused(cdnow, se_a, se_b, refused):
    """BG/NBD's a and b when every customer drops out alike drift high and are poorly identified (a = 23 ± 80, b =
    151 ± 531 on a 240-customer fixture): some draws then give 2F1 no finite value. Under 10 % of such draws are
    left out (finite intervals); more, and the interval is refused with a message instead of NaN bounds."""
    _, gg = fixed_fits()
    bg = BgNbdFit(0.93, 4.31, 23.4, 151.1, std_errors={}, covariance=np.diag([0.01, 0.5, se_a ** 2, se_b ** 2]),
                  log_likelihood=np.nan, n_customers=0, n_repeaters=0, converged=True, iterations=0, message="")
    if refused:
        with pytest.raises(FitError, match="too uncertain for an interval"):
            lifetime_value(bg, gg, *cdnow, margin=0.3)
        return
    lv = lifetime_value(bg, gg, *cdnow, margin=0.3)
    assert np.all(np.isfinite(lv.clv_low)) and np.all(np.isfinite(lv.clv_high))
    assert lv.total.low < lv.total.point < lv.total.high
