"""How long customers stay: Kaplan–Meier curves per group and the log-rank test between groups.

Kaplan, E. L. & Meier, P. (1958), "Nonparametric estimation from incomplete observations", JASA 53(282),
457–481; Greenwood, M. (1926), "The errors of sampling of the survivorship tables", Reports on Public Health
and Medical Subjects 33; Mantel, N. (1966), "Evaluation of survival data and two new rank order statistics
arising in its consideration", Cancer Chemotherapy Reports 50(3), 163–170. The estimates are statsmodels'
(``SurvfuncRight``, ``survdiff``), checked against R's ``survival`` package and SAS in the tests.

A customer is a duration (days from the start, e.g. the first purchase, to leaving or to the end of what
is known) and whether they were seen to leave (``observed``; False: still a customer, censored).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

#: Survival is reported at this many days by default (one year).
HORIZON_DAYS = 365.0

#: statsmodels multiplies the curve's steps as exp(Σ ln(1 - d/n)): a curve that is exactly 0.5 can come out
#: as 0.4999999999999999, and would put the median a step early. Below 0.5 means below 0.5 - this.
_ROUNDING = 1e-9


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its confidence interval; each is ``None`` where the data do not reach it."""

    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class SurvivalCurve:
    """The Kaplan–Meier curve of one group, one entry per distinct time at which someone left.

    The curve is 1 before ``times[0]`` and steps to ``survival[i]`` at ``times[i]``. ``low`` and ``high``
    are the pointwise band at the fit's ``level`` on the log-log scale, S^exp(±z·se/(S·ln S)) with
    Greenwood's ``std_error`` (R's ``conf.type = "log-log"``; it stays within [0, 1]); they are NaN where
    the curve has reached 0 (no variance there). ``at_risk[i]`` customers were still there just before
    ``times[i]`` and ``events[i]`` of them left at it.

    ``median`` is the first time the curve falls below 0.5 (statsmodels' ``quantile`` and SAS's convention;
    R takes the midpoint of a stretch at exactly 0.5); its value is ``None`` when the curve never does, i.e.
    more than half were still customers at the end of the data. Its interval, from inverting the pointwise
    test on the log-log scale (statsmodels' ``quantile_ci``, SAS's ``PROC LIFETEST``), has a ``high`` of
    ``None`` when the curve does not fall far enough to close it. ``survival_at_horizon`` is
    the share still there ``horizon`` days in, with the band at that time; all ``None`` when nobody was
    followed that long.
    """

    group: str | None
    n: int
    n_events: int
    times: np.ndarray
    survival: np.ndarray
    std_error: np.ndarray
    low: np.ndarray
    high: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    median: Estimate
    horizon: float
    survival_at_horizon: Estimate
    level: float


@dataclass(frozen=True)
class LogRankTest:
    """The log-rank test of equal survival in all ``groups``: chi-square ``statistic`` on ``df`` degrees of
    freedom (the number of groups less one) and its ``p_value``."""

    groups: tuple[str | None, ...]
    statistic: float
    df: int
    p_value: float


def check_lifetimes(durations: ArrayLike, observed: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Durations and leave flags as arrays, checked.

    Parameters
    ----------
    durations : array_like
        Days (or any unit) from each customer's start to leaving or to the end of what is known.
    observed : array_like
        True (or 1) where the customer was seen to leave, False (or 0) where they are still a customer.

    Returns
    -------
    tuple of numpy.ndarray
        ``(durations, observed)`` as float and bool arrays.

    Raises
    ------
    ValueError
        Not one-dimensional or of different lengths, no customers, a duration that is missing, negative or
        not a number, or a flag that is not True/False (1/0).
    """
    raw_durations, raw_observed = np.asarray(durations), np.asarray(observed)
    if raw_durations.ndim != 1 or raw_observed.ndim != 1:
        raise ValueError("durations and observed must be one-dimensional: one value per customer.")
    if len(raw_durations) != len(raw_observed):
        raise ValueError(f"durations and observed must have the same length ({len(raw_durations)} durations, "
                         f"{len(raw_observed)} observed flags).")
    if len(raw_durations) == 0:
        raise ValueError("No customers: there is no lifetime to estimate.")
    times = _as_numbers(raw_durations)
    if times is None:
        raise ValueError("durations must be numbers (days from the start to leaving or to the end).")
    if not np.isfinite(times).all() or (times < 0).any():
        raise ValueError("durations must be finite and not negative for every customer.")
    flags = _as_numbers(raw_observed)
    if flags is None or not np.isin(flags, (0.0, 1.0)).all():
        raise ValueError("observed must be True/False (or 1/0) for every customer: whether they were seen to leave.")
    return times, flags == 1.0


def _as_numbers(values: np.ndarray) -> np.ndarray | None:
    """``values`` as floats (missing values NaN), or None when they are text, dates or not numbers."""
    if values.dtype.kind in "USmM":  # text, dates and time spans are not counts of days
        return None
    try:
        return values.astype(float)
    except (TypeError, ValueError):
        return None


def group_labels(groups: ArrayLike | None, n: int) -> tuple[list[str | None], np.ndarray]:
    """The groups' labels, sorted, the missing group (None, NaN) last as ``None``, and each customer's index
    into them; one group ``None`` when ``groups`` is None. Labels are the values as text."""
    if groups is None:
        return [None], np.zeros(n, dtype=np.intp)
    values = np.asarray(groups, dtype=object)
    if values.shape != (n,):
        raise ValueError(f"groups must have one label per customer ({n}); got shape {values.shape}.")
    missing = pd.isna(values)
    text = np.array([None if gone else str(value) for value, gone in zip(values, missing, strict=True)], dtype=object)
    labels: list[str | None] = sorted(set(text[~missing]))
    if missing.any():
        labels.append(None)
    index = {label: i for i, label in enumerate(labels)}
    return labels, np.array([index[label] for label in text], dtype=np.intp)


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95); got {level}.")
    return float(stats.norm.ppf(0.5 + level / 2))


def _log_log_band(survival: np.ndarray, std_error: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """S^exp(±z·σ) with σ = se / (S |ln S|), the delta-method SE of ln(-ln S); NaN where S is 0 (or 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = std_error / (survival * np.abs(np.log(survival)))
        low, high = survival ** np.exp(z * sigma), survival ** np.exp(-z * sigma)
    undefined = (survival <= 0) | ~np.isfinite(sigma)
    return np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)


def _curve(group: str | None, durations: np.ndarray, observed: np.ndarray, horizon: float,
           level: float, z: float) -> SurvivalCurve:
    fit = SurvfuncRight(durations, observed.astype(float))
    times, survival = np.asarray(fit.surv_times, dtype=float), np.asarray(fit.surv_prob, dtype=float)
    std_error = np.asarray(fit.surv_prob_se, dtype=float)
    low, high = _log_log_band(survival, std_error, z)
    below = np.flatnonzero(survival < 0.5 - _ROUNDING)
    with np.errstate(divide="ignore", invalid="ignore"):  # ln(-ln S) of S = 0 or 1 is out of every interval
        median_low, median_high = fit.quantile_ci(0.5, alpha=1 - level, method="cloglog")
    median_estimate = Estimate(float(times[below[0]]) if len(below) else None,
                               *(float(v) if np.isfinite(v) else None for v in (median_low, median_high)))
    if horizon > durations.max():
        at_horizon = Estimate(None, None, None)
    else:
        step = int(np.searchsorted(times, horizon, side="right")) - 1
        at_horizon = (Estimate(1.0, 1.0, 1.0) if step < 0
                      else Estimate(*(None if np.isnan(v) else float(v)
                                      for v in (survival[step], low[step], high[step]))))
    return SurvivalCurve(group=group, n=len(durations), n_events=int(observed.sum()), times=times,
                         survival=survival, std_error=std_error, low=low, high=high,
                         at_risk=np.asarray(fit.n_risk, dtype=np.int64),
                         events=np.asarray(fit.n_events, dtype=np.int64),
                         median=median_estimate, horizon=horizon, survival_at_horizon=at_horizon, level=level)


def kaplan_meier(durations: ArrayLike, observed: ArrayLike, groups: ArrayLike | None = None, *,
                 horizon: float = HORIZON_DAYS, level: float = 0.95) -> tuple[SurvivalCurve, ...]:
    """The Kaplan–Meier estimate of the share of customers still there after each time, per group
    (Kaplan & Meier 1958; statsmodels' ``SurvfuncRight``).

    Parameters
    ----------
    durations : array_like
        Days from each customer's start to leaving (``observed``) or to the end of the data (censored).
    observed : array_like of bool
        True (or 1) where the customer was seen to leave.
    groups : array_like, optional
        A label per customer (text, numbers, ...; compared as text). Missing labels (None, NaN) form one
        group labelled ``None``. Without groups, one curve of everyone, labelled ``None``.
    horizon : float
        The time (same unit as ``durations``) at which to report survival, default 365 days.
    level : float
        The confidence level of the pointwise band and the intervals (default 0.95).

    Returns
    -------
    tuple of SurvivalCurve
        One curve per group, groups in sorted order of their labels with the missing group last. Each holds
        the step curve (times at which someone left, survival, Greenwood standard error, log-log band, at
        risk, events), n and the number who left, the median lifetime with its interval and survival at
        ``horizon`` with its band; see :class:`SurvivalCurve`.

    Raises
    ------
    ValueError
        Invalid durations or flags (:func:`check_lifetimes`), ``groups`` of the wrong length, a ``level``
        outside (0, 1) or a negative or infinite ``horizon``.
    """
    times, left = check_lifetimes(durations, observed)
    labels, index = group_labels(groups, len(times))
    z = _z(level)
    if not (np.isfinite(horizon) and horizon >= 0):
        raise ValueError(f"horizon must be a finite time of at least 0; got {horizon}.")
    return tuple(_curve(label, times[index == i], left[index == i], float(horizon), level, z)
                 for i, label in enumerate(labels))


def log_rank_test(durations: ArrayLike, observed: ArrayLike, groups: ArrayLike) -> LogRankTest | None:
    """Whether customers of different groups stay for different lengths of time: the log-rank test
    (Mantel 1966; statsmodels' ``survdiff``, unweighted, as R's ``survdiff`` with ``rho = 0``).

    Parameters
    ----------
    durations, observed : array_like
        As for :func:`kaplan_meier`.
    groups : array_like
        A label per customer; missing labels form one group (``None``), as in :func:`kaplan_meier`.

    Returns
    -------
    LogRankTest or None
        The chi-square statistic, its degrees of freedom (groups less one) and p-value (upper tail, computed
        with ``scipy.stats.chi2.sf`` so that small p-values keep their precision). ``None`` when there is
        nothing to test: fewer than two groups, or no group comparison in the data (nobody left, or a group
        had no one at risk when anyone left, which makes the test's covariance singular).

    Raises
    ------
    ValueError
        As :func:`kaplan_meier`.
    """
    times, left = check_lifetimes(durations, observed)
    labels, index = group_labels(groups, len(times))
    if len(labels) < 2:
        return None
    try:
        statistic, _ = survdiff(times, left.astype(float), index)
    except np.linalg.LinAlgError:
        return None
    df = len(labels) - 1
    return LogRankTest(groups=tuple(labels), statistic=float(statistic), df=df,
                       p_value=float(stats.chi2.sf(statistic, df)))
