"""Proportions: the interval around a rate, and whether two rates differ by more than chance."""

from __future__ import annotations

import math

#: The normal quantile of a two-sided 95 % interval.
Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion (95 % by default).

    Wilson, E. B. (1927), "Probable inference, the law of succession, and statistical
    inference", JASA 22(158). Unlike the normal approximation it stays inside [0, 1] and
    is reliable for small n and rates near 0 or 1.

    Parameters
    ----------
    successes : int
        How many of the ``n`` have the property.
    n : int
        The sample size.
    z : float
        The normal quantile of the interval's level (1.96 for 95 %).

    Returns
    -------
    tuple of float or None
        (low, high), both within [0, 1]; ``None`` when ``n`` is 0.
    """
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p_value(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """The two-sided p-value of the difference between two proportions, ``x1/n1`` and
    ``x2/n2``: the pooled two-proportion z-test (as statsmodels' ``proportions_ztest``).

    Parameters
    ----------
    x1, n1 : int
        Successes and sample size of the first sample.
    x2, n2 : int
        Successes and sample size of the second sample.

    Returns
    -------
    float or None
        The p-value; 1.0 when every member of both samples is alike (all successes or
        none: nothing changed); ``None`` when a sample is empty.
    """
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 1.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (x1 / n1 - x2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))
