"""Survey scores as estimates: CSAT, NPS and the mean score with their 95 % intervals, and a monthly series split
into trend and season.

- **CSAT**: the share of 1–5 satisfaction scores of 4 or 5 (Wilson interval, :func:`wilson_interval`).
- **NPS**: the share of 0–10 recommend scores of 9 or 10 (promoters) less the share below 7 (detractors), in points
  (−100 to 100). Its interval is the normal one from the multinomial variance of a difference of two shares of one
  sample: Var(p̂ − d̂) = [p (1 − p) + d (1 − d) + 2 p d] / n (e.g. Rocks 2016, "Measuring NPS precisely"); clipped to
  [−100, 100].
- **Mean score**: the mean with a t interval (n − 1 degrees of freedom).
- **Trend and season**: STL (statsmodels ``STL``, Cleveland et al. 1990; period 12, robust) of a monthly series when
  it has at least :data:`STL_MONTHS` months, the months without responses filled by linear interpolation (said);
  otherwise a centred 3-month moving average of the months' values weighted by their responses as the trend and no
  season.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.tsa.seasonal import STL

from analytics.models.proportions import wilson_interval

Z95 = 1.959963984540054
#: Months a series needs for the trend and season to be separated by STL (two years: twice the period).
STL_MONTHS = 24


@dataclass(frozen=True)
class Estimate:
    """A figure estimated from ``n`` responses with its 95 % interval (NaN without responses)."""

    value: float
    low: float
    high: float
    n: int


def csat(satisfied: int, n: int) -> Estimate:
    """CSAT: ``satisfied`` (scores 4–5) of ``n`` 1–5 scores, with its Wilson interval."""
    if n <= 0:
        return Estimate(np.nan, np.nan, np.nan, 0)
    low, high = wilson_interval(int(satisfied), int(n))
    return Estimate(satisfied / n, low, high, int(n))


def nps(promoters: int, detractors: int, n: int) -> Estimate:
    """NPS in points from ``promoters`` (9–10) and ``detractors`` (0–6) of ``n`` 0–10 scores, with its interval from
    the multinomial variance (module docstring)."""
    if n <= 0:
        return Estimate(np.nan, np.nan, np.nan, 0)
    p, d = promoters / n, detractors / n
    value = p - d
    se = np.sqrt(max(p * (1 - p) + d * (1 - d) + 2 * p * d, 0.0) / n)
    return Estimate(100 * value, max(-100.0, 100 * (value - Z95 * se)), min(100.0, 100 * (value + Z95 * se)),
                    int(n))


def mean_score(total: float, total_squares: float, n: int) -> Estimate:
    """The mean of ``n`` scores from their sum and sum of squares, with its t interval (NaN bounds for one score)."""
    if n <= 0:
        return Estimate(np.nan, np.nan, np.nan, 0)
    mean = total / n
    if n == 1:
        return Estimate(mean, np.nan, np.nan, 1)
    variance = max((total_squares - n * mean * mean) / (n - 1), 0.0)
    half = stats.t.ppf(0.975, n - 1) * np.sqrt(variance / n)
    return Estimate(mean, mean - half, mean + half, int(n))


@dataclass(frozen=True)
class Decomposition:
    """A monthly series split: ``frame`` with ``month``, ``value`` (NaN where no response), ``trend``, ``season``
    (NaN without STL) and ``filled`` (a month interpolated for STL); ``method``: ``"stl"`` or ``"moving_average"``."""

    frame: pd.DataFrame
    method: str


def decompose(months: pd.Series, values: np.ndarray, weights: np.ndarray) -> Decomposition:
    """Trend and season of a monthly series (one value per consecutive month, NaN without responses; ``weights``:
    the responses behind each value) by the module docstring's rule."""
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    frame = pd.DataFrame({"month": list(months), "value": values})
    known = np.isfinite(values)
    if known.sum() == 0:
        return Decomposition(frame.assign(trend=np.nan, season=np.nan, filled=False), "moving_average")
    first, last = np.flatnonzero(known)[[0, -1]]
    span = slice(first, last + 1)
    inner = values[span]
    if last - first + 1 >= STL_MONTHS:
        at = np.arange(len(inner))
        ok = np.isfinite(inner)
        filled = np.interp(at, at[ok], inner[ok])
        fit = STL(filled, period=12, robust=True).fit()
        trend, season = np.full(len(values), np.nan), np.full(len(values), np.nan)
        trend[span], season[span] = fit.trend, fit.seasonal
        was = np.zeros(len(values), dtype=bool)
        was[span] = ~ok
        return Decomposition(frame.assign(trend=trend, season=season, filled=was), "stl")
    w = np.where(known, weights, 0.0)
    v = np.where(known, values, 0.0)
    kernel = np.ones(3)
    num = np.convolve(v * w, kernel, mode="same")
    den = np.convolve(w, kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        trend = np.where(den > 0, num / den, np.nan)
    return Decomposition(frame.assign(trend=trend, season=np.nan, filled=False), "moving_average")
