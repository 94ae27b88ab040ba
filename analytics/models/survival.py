"""How long customers stay: Kaplan–Meier curves per group and the log-rank test between groups.

Kaplan, E. L. & Meier, P. (1958), "Nonparametric estimation from incomplete observations", JASA 53(282),
457–481; Greenwood, M. (1926), "The errors of sampling of the survivorship tables", Reports on Public Health
and Medical Subjects 33; Mantel, N. (1966), "Evaluation of survival data and two new rank order statistics
arising in its consideration", Cancer Chemotherapy Reports 50(3), 163–170. The curve is statsmodels'
(``SurvfuncRight``); its Greenwood error, the median's interval and the log-rank test are computed here, as
statsmodels has no Greenwood error with frequency weights (it gives Tsiatis' error of the cumulative hazard)
and no weights in ``survdiff``. All are checked against R's ``survival`` package, SAS and statsmodels in the
tests.

A customer is a duration (days from the start, e.g. the first purchase, to leaving or to the end of what
is known) and whether they were seen to leave (``observed``; False: still a customer, censored). Both
functions also take ``weights``, a whole number of customers per row, so that customers with the same
duration, flag and group can be passed as one row with their count: the results are those of one row per
customer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from pandas.api.types import infer_dtype
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight

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
    test on the log-log scale (as statsmodels' ``quantile_ci`` and SAS's ``PROC LIFETEST``), has a ``high`` of
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


def check_weights(weights: ArrayLike | None, n: int) -> np.ndarray:
    """Frequency weights, checked: how many customers each of ``n`` rows stands for.

    Parameters
    ----------
    weights : array_like or None
        A whole number of customers (0 or more) per row; None: each row is one customer.
    n : int
        The number of rows (durations).

    Returns
    -------
    numpy.ndarray
        The weights as floats; ones when ``weights`` is None.

    Raises
    ------
    ValueError
        Not one weight per row, or a weight that is not a number, missing, infinite, negative or fractional.
    """
    if weights is None:
        return np.ones(n)
    raw = np.asarray(weights)
    if raw.shape != (n,):
        raise ValueError(f"weights must have one count per row ({n}); got shape {raw.shape}.")
    counts = _as_numbers(raw)
    if counts is None:
        raise ValueError("weights must be numbers: how many customers each row stands for.")
    if not (np.isfinite(counts) & (counts >= 0) & (counts == np.floor(counts))).all():
        raise ValueError("weights must be whole numbers of customers (0, 1, 2, ...) for every row: "
                         "not missing, negative or fractional.")
    return counts


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
    if infer_dtype(values, skipna=True) in ("string", "integer", "boolean", "empty"):
        codes, distinct = pd.factorize(values)  # equal values of these have the same text: name the few distinct
        text = [str(value) for value in distinct]
    else:  # e.g. 1 and 1.0, or 0.0 and -0.0, are equal but not the same text: the text of each value
        missing = pd.isna(values)
        codes, distinct = pd.factorize(np.array([None if gone else str(value)
                                                 for value, gone in zip(values, missing, strict=True)], dtype=object))
        text = list(distinct)
    order = sorted(range(len(text)), key=text.__getitem__)
    rank = np.empty(len(text) + 1, dtype=np.intp)  # rank[-1]: the missing group (code -1), after the others
    rank[order], rank[-1] = np.arange(len(text)), len(text)
    labels: list[str | None] = [text[i] for i in order] + ([None] if (codes < 0).any() else [])
    return labels, rank[codes]


def _lifetimes(durations: ArrayLike, observed: ArrayLike, groups: ArrayLike | None, weights: ArrayLike | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str | None], np.ndarray]:
    """Durations, flags, weights, group labels and each row's group, checked, rows of weight 0 left out (and
    groups left with none)."""
    times, left = check_lifetimes(durations, observed)
    counts = check_weights(weights, len(times))
    labels, index = group_labels(groups, len(times))
    if not counts.all():
        kept = counts > 0
        if not kept.any():
            raise ValueError("No customers: every weight is 0, there is no lifetime to estimate.")
        times, left, counts, index = times[kept], left[kept], counts[kept], index[kept]
        present = np.bincount(index, minlength=len(labels)) > 0
        labels = [label for label, here in zip(labels, present, strict=True) if here]
        index = (np.cumsum(present) - 1)[index]
    return times, left, counts, labels, index


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95); got {level}.")
    return float(stats.norm.ppf(0.5 + level / 2))


def _log_log_band(survival: np.ndarray, std_error: np.ndarray, z: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """σ = se / (S |ln S|), the delta-method SE of ln(-ln S), and the band S^exp(±z·σ); NaN where S is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = std_error / (survival * np.abs(np.log(survival)))
        low, high = survival ** np.exp(z * sigma), survival ** np.exp(-z * sigma)
    undefined = (survival <= 0) | ~np.isfinite(sigma)
    return sigma, np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)


def _median_interval(times: np.ndarray, survival: np.ndarray, sigma: np.ndarray,
                     z: float) -> tuple[float | None, float | None]:
    """SAS's (and statsmodels' ``quantile_ci``) interval of the median on the log-log scale: from the first
    time whose |ln(-ln S) - ln(ln 2)| <= z·σ to the time after the last such; ``None`` where there is none."""
    with np.errstate(divide="ignore", invalid="ignore"):  # ln(-ln S) of S = 0 is out of every interval
        inside = np.flatnonzero(np.abs(np.log(-np.log(survival)) - np.log(np.log(2.0))) <= z * sigma)
    if not len(inside):
        return None, None
    return float(times[inside[0]]), float(times[inside[-1] + 1]) if inside[-1] + 1 < len(times) else None


def _curve(group: str | None, durations: np.ndarray, observed: np.ndarray, counts: np.ndarray,
           horizon: float, level: float, z: float) -> SurvivalCurve:
    fit = SurvfuncRight(durations, observed.astype(float), freq_weights=counts)
    times, survival = np.asarray(fit.surv_times, dtype=float), np.asarray(fit.surv_prob, dtype=float)
    at_risk, events = np.asarray(fit.n_risk, dtype=float), np.asarray(fit.n_events, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):  # Greenwood: NaN from where everyone left (S = 0)
        std_error = survival * np.sqrt(np.cumsum(np.where(at_risk > events,
                                                          events / (at_risk * (at_risk - events)), np.nan)))
    sigma, low, high = _log_log_band(survival, std_error, z)
    below = np.flatnonzero(survival < 0.5 - _ROUNDING)
    median_estimate = Estimate(float(times[below[0]]) if len(below) else None,
                               *_median_interval(times, survival, sigma, z))
    if horizon > durations.max():
        at_horizon = Estimate(None, None, None)
    else:
        step = int(np.searchsorted(times, horizon, side="right")) - 1
        at_horizon = (Estimate(1.0, 1.0, 1.0) if step < 0
                      else Estimate(*(None if np.isnan(v) else float(v)
                                      for v in (survival[step], low[step], high[step]))))
    return SurvivalCurve(group=group, n=int(counts.sum()), n_events=int(counts[observed].sum()), times=times,
                         survival=survival, std_error=std_error, low=low, high=high,
                         at_risk=at_risk.astype(np.int64), events=events.astype(np.int64),
                         median=median_estimate, horizon=horizon, survival_at_horizon=at_horizon, level=level)


def kaplan_meier(durations: ArrayLike, observed: ArrayLike, groups: ArrayLike | None = None, *,
                 weights: ArrayLike | None = None, horizon: float = HORIZON_DAYS,
                 level: float = 0.95) -> tuple[SurvivalCurve, ...]:
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
    weights : array_like, optional
        How many customers each row stands for (whole numbers, 0 or more; rows of 0 are left out): the
        result is that of the rows repeated that many times. Without weights, one customer per row.
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
        ``horizon`` with its band; see :class:`SurvivalCurve`. Counts are of customers (sums of weights).

    Raises
    ------
    ValueError
        Invalid durations or flags (:func:`check_lifetimes`) or weights (:func:`check_weights`), all weights
        0, ``groups`` of the wrong length, a ``level`` outside (0, 1) or a negative or infinite ``horizon``.
    """
    times, left, counts, labels, index = _lifetimes(durations, observed, groups, weights)
    z = _z(level)
    if not (np.isfinite(horizon) and horizon >= 0):
        raise ValueError(f"horizon must be a finite time of at least 0; got {horizon}.")
    return tuple(_curve(label, times[index == i], left[index == i], counts[index == i], float(horizon), level, z)
                 for i, label in enumerate(labels))


def log_rank_test(durations: ArrayLike, observed: ArrayLike, groups: ArrayLike, *,
                  weights: ArrayLike | None = None) -> LogRankTest | None:
    """Whether customers of different groups stay for different lengths of time: the log-rank test
    (Mantel 1966), unweighted in time (R's ``survdiff`` with ``rho = 0``, statsmodels' ``survdiff``).

    At each time t at which someone left, with n customers at risk (n > 1), d of them leaving, and n_g, d_g
    those of group g: O - E sums d_g - d·n_g/n and the covariance d(n - d)/(n - 1)·n_g/n·(δ_gh - n_h/n);
    the statistic is (O - E)' V⁻¹ (O - E) over all groups but the first.

    Parameters
    ----------
    durations, observed, weights : array_like
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
    times, left, counts, labels, index = _lifetimes(durations, observed, groups, weights)
    k = len(labels)
    if k < 2:
        return None
    distinct, at = np.unique(times, return_inverse=True)
    cells = at * k + index  # customers (there, leaving) per distinct time and group
    there = np.bincount(cells, weights=counts, minlength=len(distinct) * k).reshape(-1, k)
    leaving = np.bincount(cells, weights=counts * left, minlength=len(distinct) * k).reshape(-1, k)
    at_risk = np.cumsum(there[::-1], axis=0)[::-1]
    n, d = at_risk.sum(axis=1), leaving.sum(axis=1)
    # V is a weighted graph Laplacian of the groups less the first row and column, singular exactly when a
    # group never shares a time that adds to it (d > 0, n > d) with the others: decided on the counts, as
    # rounding would otherwise leave a near-singular V and a meaningless statistic
    if not (at_risk[(d > 0) & (n > d)] > 0).any(axis=0).all():
        return None
    used = (d > 0) & (n > 1)
    share, d, n = at_risk[used] / n[used, None], d[used], n[used]
    excess = (leaving[used] - share * d[:, None]).sum(axis=0)[1:]
    spread = share * (d * (n - d) / (n - 1))[:, None]
    covariance = (np.diag(spread.sum(axis=0)) - spread.T @ share)[1:, 1:]
    statistic = float(excess @ np.linalg.solve(covariance, excess))
    return LogRankTest(groups=tuple(labels), statistic=statistic, df=k - 1,
                       p_value=float(stats.chi2.sf(statistic, k - 1)))
