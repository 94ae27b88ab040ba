"""The proportion models (analytics.models.proportions) against published values and statsmodels."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from analytics.models.proportions import two_proportion_p_value, wilson_interval


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson (1927) score interval, written out: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = successes / n
    centre = p + z**2 / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return (centre - half) / (1 + z**2 / n), (centre + half) / (1 + z**2 / n)



@pytest.mark.parametrize(("successes", "n", "low", "high"), [
    # Newcombe, R. G. (1998), "Two-sided confidence intervals for the single proportion",
    # Statistics in Medicine 17, Table I, method 3 (score interval), to the 4 decimals printed there
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_interval_matches_newcombe_1998(successes, n, low, high):
    assert wilson_interval(successes, n) == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize(("successes", "n"), [(0, 1), (1, 1), (1, 2), (3, 7), (29, 29), (500, 1000), (1, 10_000)])
def test_wilson_interval_matches_statsmodels_and_the_formula(successes, n):
    got = wilson_interval(successes, n)
    assert got == pytest.approx(proportion_confint(successes, n, alpha=0.05, method="wilson"), rel=1e-9, abs=1e-12)
    assert got == pytest.approx(wilson(successes, n), rel=1e-9, abs=1e-12)
    assert 0 <= got[0] <= successes / n <= got[1] <= 1


def test_wilson_interval_other_levels():
    z90 = 1.6448536269514722
    assert wilson_interval(3, 7, z=z90) == pytest.approx(
        proportion_confint(3, 7, alpha=0.10, method="wilson"), rel=1e-9)


def test_wilson_interval_of_nothing_is_none():
    assert wilson_interval(0, 0) is None


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(804, 1149, 724, 1031), (600, 1000, 500, 1000), (2, 5, 1, 4),
                                                    (0, 3, 1, 3), (17, 20, 3, 40)])
def test_two_proportion_p_value_matches_statsmodels(x1, n1, x2, n2):
    assert two_proportion_p_value(x1, n1, x2, n2) == pytest.approx(proportions_ztest([x1, x2], [n1, n2])[1],
                                                                   rel=1e-9)


def test_two_proportion_p_value_of_identical_or_empty_samples():
    assert two_proportion_p_value(10, 10, 12, 12) == 1.0  # all successes in both: nothing changed
    assert two_proportion_p_value(0, 10, 0, 12) == 1.0
    assert two_proportion_p_value(1, 0, 1, 5) is None
