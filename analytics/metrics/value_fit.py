"""The value models fitted on a customer base, kept until their inputs change.

:func:`fit_models` fits BG/NBD (purchases and P(alive)) and Gamma-Gamma (spend per purchase) on
the per-customer summary of :func:`~analytics.metrics.customer_base.customer_base`, and checks
the spend model's assumption (frequency and spend independent). Fits are kept in this process,
keyed by a digest of exactly what they read (each customer's x, t_x, T and mean repeat spend):
the same data fits once, whatever page, scope or rerun asks; new data, another period or other
filters give other inputs and a new fit. The page's own settings (horizon, discount rate,
margin) are not inputs of a fit, so changing them never refits.

When the data cannot support the models, the result names the problem (:data:`PROBLEMS`) for
the page to explain, instead of raising.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.models.bgnbd import BgNbdFit, FitError, fit_bgnbd
from analytics.models.gamma_gamma import (
    FrequencySpendCheck,
    GammaGammaFit,
    fit_gamma_gamma,
    frequency_spend_correlation,
)

#: Below these, the page says the data is too small to fit (and shows RFM only).
MIN_CUSTOMERS = 100
MIN_REPEATERS = 20
#: Below this span (weeks from the first purchase to the end of the calibration period,
#: the longest customer's T), the data is too short to tell a slow buyer from a lost one.
MIN_WEEKS = 13

#: What can stop the models, each a message ``value_problem_<code>`` saying what to do.
PROBLEMS = ("too_few_customers", "too_few_repeaters", "too_short", "purchases_not_converged",
            "spend_not_converged", "spend_no_mean", "interval_failed")

#: Fits kept (each a few kilobytes).
CACHE_SIZE = 32


@dataclass(frozen=True)
class Fits:
    """The fitted models of one customer base, or why there are none.

    ``bgnbd`` and ``gamma_gamma`` are None when ``problem`` stops them (``detail``: the
    model's own words, in English); ``spend_check`` is None with fewer than 3 repeat buyers.
    ``fits`` counts the fits this process ran (for tests that a cached result was reused).
    """

    bgnbd: BgNbdFit | None
    gamma_gamma: GammaGammaFit | None
    spend_check: FrequencySpendCheck | None
    problem: str | None
    detail: str | None
    n_customers: int
    n_repeaters: int
    weeks: float

    @property
    def usable(self) -> bool:
        """Both models fitted, converged, with standard errors: lifetime values can be drawn."""
        return self.problem is None


_cache: OrderedDict[str, Fits] = OrderedDict()
_lock = threading.Lock()
#: How many fits this process has run (tests check that a rerun does not add one).
fit_count = 0


def inputs_digest(base: pd.DataFrame) -> str:
    """A digest of what the models read from ``base`` (x, t_x, T, mean repeat spend per customer)."""
    digest = hashlib.blake2b(digest_size=16)
    for column in ("x", "t_x", "T", "monetary"):
        digest.update(np.ascontiguousarray(base[column].to_numpy(dtype=float)).tobytes())
    return digest.hexdigest()


def fit_models(base: pd.DataFrame) -> Fits:
    """BG/NBD and Gamma-Gamma fitted on ``base`` (:func:`~analytics.metrics.customer_base.customer_base`),
    from this process's cache when the same inputs were fitted before."""
    return _remember(_cache, CACHE_SIZE, inputs_digest(base), lambda: _fit(base))


def _remember(cache: OrderedDict, size: int, key: object, compute):
    """``cache[key]``, else ``compute()`` stored under ``key``, the least recently used entries dropped past
    ``size`` (computed outside the lock: two threads may compute one key, the result is the same)."""
    with _lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    result = compute()
    with _lock:
        cache[key] = result
        while len(cache) > size:
            cache.popitem(last=False)
    return result


def _fit(base: pd.DataFrame) -> Fits:
    global fit_count
    fit_count += 1
    x = base["x"].to_numpy(dtype=float)
    n, repeaters = len(base), int((x > 0).sum())
    weeks = float(base["T"].max()) if n else 0.0

    def stop(problem: str, detail: str | None = None, spend_check: FrequencySpendCheck | None = None,
             bgnbd: BgNbdFit | None = None) -> Fits:
        return Fits(bgnbd, None, spend_check, problem, detail, n, repeaters, weeks)

    if n < MIN_CUSTOMERS:
        return stop("too_few_customers")
    if weeks < MIN_WEEKS:
        return stop("too_short")
    if repeaters < MIN_REPEATERS:
        return stop("too_few_repeaters")
    monetary = base["monetary"].to_numpy(dtype=float)
    try:
        spend_check = frequency_spend_correlation(x, monetary)
    except ValueError:
        spend_check = None
    try:
        bgnbd = fit_bgnbd(x, base["t_x"].to_numpy(dtype=float), base["T"].to_numpy(dtype=float))
    except FitError as exc:
        return stop("purchases_not_converged", str(exc), spend_check)
    if not bgnbd.converged or not np.all(np.isfinite(list(bgnbd.std_errors.values()))):
        return stop("purchases_not_converged", bgnbd.message, spend_check)
    try:
        gamma_gamma = fit_gamma_gamma(x, monetary)
    except (FitError, ValueError) as exc:
        return stop("spend_not_converged", str(exc), spend_check, bgnbd)
    if not gamma_gamma.converged or not np.all(np.isfinite(list(gamma_gamma.std_errors.values()))):
        return Fits(bgnbd, gamma_gamma, spend_check, "spend_not_converged", gamma_gamma.message, n, repeaters, weeks)
    if gamma_gamma.q <= 1:
        return Fits(bgnbd, gamma_gamma, spend_check, "spend_no_mean", None, n, repeaters, weeks)
    return Fits(bgnbd, gamma_gamma, spend_check, None, None, n, repeaters, weeks)


#: Per-customer results kept (a customer base, its RFM table, lifetime values: ~100-300 MB each at a million
#: customers), fewest first to go.
RESULTS_SIZE = 8
_results: OrderedDict[object, object] = OrderedDict()


def memo(key: object, compute):
    """``compute()``, kept in this process under ``key``: a digest of every input it reads, or
    ``(kind, state_key(con), ...)`` for a result of the database's state and the arguments given."""
    return _remember(_results, RESULTS_SIZE, key, compute)


def state_key(con) -> tuple | None:
    """The database file and the data version ``con`` reads (a snapshot's own): what every figure read from
    the database depends on (an import, an undo and a settings change each raise the version). None for an
    in-memory database (nothing to tell two apart): its results are not kept."""
    path = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchall()
    if not path or not path[0][0]:
        return None
    version = getattr(con, "data_version", None)
    if version is None:
        version = int(con.execute("select value from meta where key = 'data_version'").fetchall()[0][0])
    return (path[0][0], int(version))


def clear() -> None:
    """Forget every kept fit and result (tests)."""
    with _lock:
        _cache.clear()
        _results.clear()
