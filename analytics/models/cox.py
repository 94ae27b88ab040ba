"""What goes with leaving sooner: the Cox proportional hazards model, its proportional-hazards check, and a
hazard ratio put into words.

Cox, D. R. (1972), "Regression models and life-tables", JRSS B 34(2), 187–220, fitted by statsmodels'
``PHReg`` (partial likelihood, Efron's (1977) handling of tied times, as R's ``coxph``). The check of
proportional hazards is Grambsch, P. M. & Therneau, T. M. (1994), "Proportional hazards tests and diagnostics
based on weighted residuals", Biometrika 81(3), 515–526: the scaled Schoenfeld residuals against the rank of
the event time, per term and globally, as R ``survival``'s ``cox.zph(fit, transform = "rank")`` computed it
before version 3.0 (which replaced it by a score test of the same hypothesis).

Covariates are a DataFrame, one row per customer. A numeric column (not bool) enters as it is: its hazard ratio
is per unit. Any other column (text, category, bool) is categorical, in treatment coding against a reference
level: of the levels with at least ``min_events`` customers who left, the one with the most customers. A missing
value is a level of its own (``None``). What is left out, each with its reason in :attr:`CoxFit.left_out`:

- a column missing for every customer (``all_missing``);
- a numeric column missing (or infinite) for more than half of the customers (``mostly_missing``); in the
  other numeric columns a missing value drops the customer from the fit (:attr:`CoxFit.rows_dropped`);
- a numeric column with fewer than two distinct values among the customers who left, or a categorical column
  with one level (``no_variation``): it says nothing about leaving;
- a categorical level with fewer than ``min_events`` customers who left (``rare_level``): its customers are
  counted with the reference level;
- a categorical column with fewer than two levels that have ``min_events`` leavers (``too_few_events``);
- a categorical level whose customers are exactly those of a level of an earlier column (``same_customers``:
  the customers missing from a customers file lack its segment and its channel alike): its effect is the earlier
  level's, estimated once, and its customers are counted with its own column's reference.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg, PHRegResults
from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

from analytics.models.bgnbd import FitError
from analytics.models.survival import check_lifetimes

#: A level or column needs this many customers who left to be estimated (the events-per-variable rule of
#: thumb of Peduzzi et al. (1995), J Clin Epidemiol 48(12), 1503–1510).
MIN_EVENTS = 10

#: Proportional hazards are rejected when the global test's p-value is below this.
PH_ALPHA = 0.05

#: Newton's decrement (score' · covariance · score) below which the fit counts as converged.
_DECREMENT_TOLERANCE = 1e-8

Reason = Literal["all_missing", "mostly_missing", "no_variation", "rare_level", "too_few_events", "same_customers"]

#: What a column of the design matrix stands for: (covariate, numeric, level, reference).
_TermKey = tuple[str, bool, str | None, str | None]


@dataclass(frozen=True)
class CoxTerm:
    """One estimated effect: a numeric column per unit (``numeric``; ``level`` and ``reference`` None), or
    customers of ``level`` against those of ``reference`` (either may be ``None``, the missing level).
    ``customers`` and ``events`` count the customers the term is about (all in the fit for a numeric one)."""

    column: str
    numeric: bool
    level: str | None
    reference: str | None
    hazard_ratio: float
    low: float
    high: float
    p_value: float
    coefficient: float
    std_error: float
    customers: int
    events: int


@dataclass(frozen=True)
class LeftOut:
    """A column (``level`` None) or categorical level not estimated, and why (see the module's rules).
    ``events`` counts the customers who left among those it is about: the level's; for a column, those with a
    value, except for ``too_few_events``: those outside its level with the most leavers."""

    column: str
    level: str | None
    reason: Reason
    events: int


@dataclass(frozen=True)
class PhTermCheck:
    """The proportional-hazards check of one term: ``rho`` is the correlation of its scaled Schoenfeld
    residuals with the rank of the event time (0 when its effect is constant in time)."""

    column: str
    level: str | None
    rho: float
    chi_square: float
    p_value: float


@dataclass(frozen=True)
class PhCheck:
    """The proportional-hazards check: per term, and the global chi-square on ``df`` degrees of freedom;
    ``holds`` when the global p-value is at least :data:`PH_ALPHA`."""

    terms: tuple[PhTermCheck, ...]
    chi_square: float
    df: int
    p_value: float
    holds: bool


@dataclass(frozen=True)
class CoxFit:
    """A fitted Cox model: the ``terms`` with hazard ratios and their ``level`` intervals (Wald, on the log
    scale), what was ``left_out``, the customers in the fit (``n``, ``events``) and those dropped for a missing
    numeric value, the maximised log partial likelihood, convergence and the proportional-hazards check."""

    terms: tuple[CoxTerm, ...]
    left_out: tuple[LeftOut, ...]
    n: int
    events: int
    rows_dropped: int
    log_likelihood: float
    converged: bool
    proportional_hazards: PhCheck | None
    level: float


@dataclass(frozen=True)
class HazardWords:
    """A hazard ratio said plainly: customers with ``level`` of ``column`` (against ``reference``; for a numeric
    column, each ``per`` more of it) leave ``ratio`` times as fast, within [``low``, ``high``]. ``direction`` is
    ``"faster"`` or ``"slower"``, or ``"unclear"`` when the interval includes 1; ``factor`` (≥ 1) is how many
    times faster or slower (1 / ratio when slower)."""

    column: str
    level: str | None
    reference: str | None
    per: float | None
    ratio: float
    low: float
    high: float
    direction: Literal["faster", "slower", "unclear"]
    factor: float


@dataclass(frozen=True)
class _Design:
    """The covariates made into the model's matrix, what each of its columns stands for, and what was left out."""

    matrix: np.ndarray
    terms: list[_TermKey]
    left_out: list[LeftOut]


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)


def _numeric_values(column: pd.Series) -> np.ndarray:
    values = column.to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isfinite(values), values, np.nan)


def _design(covariates: pd.DataFrame, observed: np.ndarray, min_events: int) -> tuple[_Design, np.ndarray]:
    """The design matrix and the rows kept (those without a missing value in a numeric column used)."""
    left_out: list[LeftOut] = []
    numeric: dict[str, np.ndarray] = {}
    for name in covariates.columns:
        column = covariates[name]
        if column.isna().all():
            left_out.append(LeftOut(str(name), None, "all_missing", 0))
        elif _is_numeric(column):
            values = _numeric_values(column)
            if np.isnan(values).mean() > 0.5:
                left_out.append(LeftOut(str(name), None, "mostly_missing", int(observed[~np.isnan(values)].sum())))
            else:
                numeric[str(name)] = values
    keep = np.ones(len(observed), dtype=bool)
    for values in numeric.values():
        keep &= ~np.isnan(values)
    left = observed[keep]
    columns: list[np.ndarray] = []
    terms: list[_TermKey] = []
    for name in covariates.columns:
        if str(name) in numeric:
            values = numeric[str(name)][keep]
            if len(np.unique(values[left])) < 2:
                left_out.append(LeftOut(str(name), None, "no_variation", int(left.sum())))
            else:
                columns.append(values)
                terms.append((str(name), True, None, None))
        elif not _is_numeric(covariates[name]) and not covariates[name].isna().all():
            labels = [None if pd.isna(v) else str(v) for v in covariates[name].to_numpy(dtype=object)[keep]]
            _categorical(str(name), np.array(labels, dtype=object), left, min_events, columns, terms, left_out)
    kept_columns, kept_terms = [], []
    for values, term in zip(columns, terms, strict=True):
        twin = next((other for other, known in zip(kept_columns, kept_terms, strict=True)
                     if not term[1] and not known[1] and known[0] != term[0] and np.array_equal(values, other)), None)
        if twin is not None:
            left_out.append(LeftOut(term[0], term[2], "same_customers", int(left[values == 1].sum())))
            continue
        kept_columns.append(values)
        kept_terms.append(term)
    matrix = np.column_stack(kept_columns) if kept_columns else np.empty((int(keep.sum()), 0))
    return _Design(matrix, kept_terms, left_out), keep


def _categorical(name: str, labels: np.ndarray, left: np.ndarray, min_events: int, columns: list[np.ndarray],
                 terms: list[_TermKey], left_out: list[LeftOut]) -> None:
    """Treatment-coded indicator columns of one categorical column against its reference level: of the levels
    with at least ``min_events`` leavers, the one with the most customers (ties: the first in sorted order, the
    missing level last). The other levels' customers are counted with the reference."""
    levels = sorted(set(labels), key=lambda v: (v is None, v or ""))
    if len(levels) < 2:
        left_out.append(LeftOut(name, None, "no_variation", int(left.sum())))
        return
    events = {level: int(left[labels == level].sum()) for level in levels}
    kept = [level for level in levels if events[level] >= min_events]
    if len(kept) < 2:
        left_out.append(LeftOut(name, None, "too_few_events", sum(events.values()) - max(events.values())))
        return
    left_out.extend(LeftOut(name, level, "rare_level", events[level]) for level in levels if level not in kept)
    sizes = [int(np.sum(labels == level)) for level in kept]
    reference = kept[int(np.argmax(sizes))]
    for level in kept:
        if level != reference:
            columns.append((labels == level).astype(float))
            terms.append((name, False, level, reference))


def _ph_check(result: PHRegResults, durations: np.ndarray, observed: np.ndarray, design: _Design) -> PhCheck | None:
    """Grambsch & Therneau (1994) with rank-transformed event times, as in R ``survival`` 2.x ``cox.zph``:
    per term rho = cor(t, r*) and chi² = (t'r*)² / (V_jj d Σt²) with r* = d · residuals · V, globally
    chi² = (t'r) V (t'r)' d / Σt², where t is the centred rank of the event time, r the Schoenfeld residuals of
    the d events and V the covariance of the coefficients. None when every event is at one time (no trend in
    time to test)."""
    residuals = np.asarray(result.schoenfeld_residuals)[observed]
    covariance = np.asarray(result.cov_params())
    d = len(residuals)
    ranks = stats.rankdata(durations[observed])
    centred = ranks - ranks.mean()
    scaled = residuals @ covariance * d
    sum_squares = float(centred @ centred)
    if sum_squares == 0:
        return None
    per_term = centred @ scaled
    chi_terms = per_term**2 / (np.diag(covariance) * d * sum_squares)
    rho = [float(np.corrcoef(centred, scaled[:, j])[0, 1]) for j in range(scaled.shape[1])]
    checks = tuple(PhTermCheck(column=term[0], level=term[2], rho=r, chi_square=float(chi),
                               p_value=float(stats.chi2.sf(chi, 1)))
                   for term, r, chi in zip(design.terms, rho, chi_terms, strict=True))
    weighted = centred @ residuals
    chi_global = float(weighted @ covariance @ weighted * d / sum_squares)
    p_global = float(stats.chi2.sf(chi_global, len(checks)))
    return PhCheck(terms=checks, chi_square=chi_global, df=len(checks), p_value=p_global, holds=p_global >= PH_ALPHA)


def fit_cox(durations: ArrayLike, observed: ArrayLike, covariates: pd.DataFrame, *, min_events: int = MIN_EVENTS,
            level: float = 0.95, entry: ArrayLike | None = None, subjects: ArrayLike | None = None) -> CoxFit:
    """Fit the Cox proportional hazards model of leaving (Cox 1972; statsmodels' ``PHReg``, Efron ties).

    Parameters
    ----------
    durations, observed : array_like
        Days from each customer's start to leaving (``observed`` True) or to the end of the data, as for
        :func:`analytics.models.survival.kaplan_meier`.
    covariates : pandas.DataFrame
        One row per customer, in the order of ``durations`` (the index is not used), one column per covariate;
        numeric columns per unit, the others categorical (see the module's rules).
    min_events : int
        The fewest customers who left that a categorical level needs (default :data:`MIN_EVENTS`), and that
        the whole fit needs.
    level : float
        The confidence level of the hazard ratios' intervals (default 0.95).
    entry, subjects : array_like, optional
        For covariates that change over a customer's life (the counting-process form of Andersen & Gill 1982):
        each row is a stretch (``entry``, ``durations``] of one customer (``subjects``: their id) with the
        covariates of that stretch, ``observed`` True only on the stretch that ends with their leaving.
        Counts of customers (``n``, a term's ``customers``) then count subjects, not rows.

    Returns
    -------
    CoxFit
        Per term the hazard ratio exp(β), its interval exp(β ± z·se), the Wald p-value, β and its standard
        error; the columns and levels left out with their reasons; n, events and rows dropped; the log partial
        likelihood; convergence (finite estimates and a Newton decrement below 1e-8); the
        proportional-hazards check (Grambsch & Therneau 1994).

    Raises
    ------
    ValueError
        Invalid lifetimes (:func:`~analytics.models.survival.check_lifetimes`), covariates that are not a
        DataFrame with a row per customer, a ``level`` outside (0, 1), or ``min_events`` below 1.
    FitError
        Fewer than ``min_events`` customers who left, no covariate left to estimate, or covariates that
        determine each other (such as a country and its region).
    """
    times, left = check_lifetimes(durations, observed)
    if not isinstance(covariates, pd.DataFrame) or len(covariates) != len(times) or not covariates.columns.is_unique:
        raise ValueError(f"covariates must be a DataFrame with one row per customer ({len(times)} rows) and "
                         "distinct column names.")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95); got {level}.")
    if min_events < 1:
        raise ValueError(f"min_events must be at least 1; got {min_events}.")
    starts = None if entry is None else np.asarray(entry, dtype=float)
    who = np.arange(len(times)) if subjects is None else np.asarray(subjects, dtype=object)
    if starts is not None and (starts.shape != times.shape or not (starts < times).all() or (starts < 0).any()):
        raise ValueError("entry must give each row a start of at least 0 and before its duration.")
    if who.shape != times.shape:
        raise ValueError("subjects must give one id per row.")
    if left.sum() < min_events:
        raise FitError(f"Only {int(left.sum())} customers left: a Cox model needs at least {min_events}. "
                       "Widen the period or the filters.")
    design, keep = _design(covariates.reset_index(drop=True), left, min_events)
    times, left, who = times[keep], left[keep], who[keep]
    starts = None if starts is None else starts[keep]
    if not design.terms:
        reasons = ", ".join(f"{item.column} ({item.reason})" for item in design.left_out if item.level is None)
        raise FitError(f"No covariate can be estimated: {reasons or 'none was given'}.")
    if left.sum() < min_events:
        raise FitError(f"Only {int(left.sum())} customers who left have every numeric covariate: a Cox model "
                       f"needs at least {min_events}. Leave out the columns with missing values.")
    centred = design.matrix - design.matrix.mean(axis=0)
    if np.linalg.matrix_rank(centred) < centred.shape[1]:
        raise FitError("Some covariates are determined by the others (for example a country and its region): "
                       "leave one of them out.")
    # A diverging fit (a covariate that orders the leavers perfectly) overflows and warns inside statsmodels;
    # it is reported as not converged, judged below by the optimum's own conditions.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", HessianInversionWarning)
        model = PHReg(times, design.matrix, status=left.astype(float), entry=starts, ties="efron")
        result = model.fit()
    params, covariance = np.asarray(result.params), np.asarray(result.cov_params())
    std_errors = np.sqrt(np.diag(covariance))
    score = model.score(params)
    converged = bool(np.isfinite(params).all() and np.isfinite(std_errors).all()
                     and score @ covariance @ score < _DECREMENT_TOLERANCE)
    bounds = np.exp(np.asarray(result.conf_int(alpha=1 - level)))
    p_values = np.asarray(result.pvalues)
    terms = []
    for j, (column, numeric, term_level, reference) in enumerate(design.terms):
        members = np.ones(len(times), dtype=bool) if numeric else design.matrix[:, j] == 1
        beta, se = float(params[j]), float(std_errors[j])
        terms.append(CoxTerm(column=column, numeric=numeric, level=term_level, reference=reference,
                             hazard_ratio=float(np.exp(beta)), low=float(bounds[j, 0]), high=float(bounds[j, 1]),
                             p_value=float(p_values[j]),
                             coefficient=beta, std_error=se, customers=len(pd.unique(who[members])),
                             events=int(left[members].sum())))
    return CoxFit(terms=tuple(terms), left_out=tuple(design.left_out), n=len(pd.unique(who)), events=int(left.sum()),
                  rows_dropped=int((~keep).sum()), log_likelihood=float(result.llf), converged=converged,
                  proportional_hazards=_ph_check(result, times, left, design), level=level)


def hazard_words(term: CoxTerm, *, per: float = 1.0) -> HazardWords:
    """A term's hazard ratio as the pieces of a sentence for a manager ("customers on plan B leave 1.8× as
    fast as those on plan A"; "each 10 more orders: 1.3× slower"); the UI words and translates it.

    Parameters
    ----------
    term : CoxTerm
        A term of :func:`fit_cox`.
    per : float
        For a numeric term, the step the ratio is for (default 1 unit): the ratio becomes HR^per. Must be 1
        for a categorical term.

    Returns
    -------
    HazardWords
        The ratio and its interval for the step, the direction (``"unclear"`` when the interval includes 1)
        and the factor ≥ 1 to say it with.

    Raises
    ------
    ValueError
        ``per`` is not a positive number, or not 1 for a categorical term.
    """
    if not (np.isfinite(per) and per > 0) or (not term.numeric and per != 1.0):
        raise ValueError(f"per must be a positive step of a numeric covariate (1 for a level); got {per}.")
    ratio, low, high = (float(v**per) for v in (term.hazard_ratio, term.low, term.high))
    direction: Literal["faster", "slower", "unclear"] = (
        "unclear" if low <= 1.0 <= high else "faster" if ratio > 1.0 else "slower")
    return HazardWords(column=term.column, level=term.level, reference=term.reference,
                       per=per if term.numeric else None, ratio=ratio, low=low, high=high, direction=direction,
                       factor=max(ratio, 1.0 / ratio))
