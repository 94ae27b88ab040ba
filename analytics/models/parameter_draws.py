"""Draws of a fitted model's parameters from their estimated sampling distribution, for intervals of
anything computed from them (the lifetime values: :mod:`analytics.models.lifetime_value`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from analytics.models.bgnbd import FitError


def draw_parameters(params: ArrayLike, covariance: ArrayLike, n_draws: int, rng: np.random.Generator,
                    *, lower: ArrayLike | None = None) -> tuple[np.ndarray, int]:
    """Parameter draws from their asymptotic normal distribution in log-parameters.

    log θ ~ N(log θ̂, Σ / θ̂θ̂ᵀ) (the delta method), exponentiated, so every draw is positive. ``params`` θ̂ has
    shape (k,), ``covariance`` Σ (k, k). ``lower`` gives per-parameter bounds (NaN: none) that a draw must
    exceed; draws that do not, or that leave float range (a parameter the data hardly identifies), are redrawn (the
    distribution conditioned on the bounds: q > 1 for a finite mean spend).

    Returns
    -------
    tuple of (numpy.ndarray, int)
        Draws of shape (n_draws, k) and the number of draws rejected for the bounds.

    Raises
    ------
    FitError
        The covariance is not finite (the fit gave no standard errors), or too few draws meet the bounds.
    """
    theta, cov = np.asarray(params, dtype=float), np.asarray(covariance, dtype=float)
    if not (np.all(np.isfinite(cov)) and np.all(theta > 0)):
        raise FitError("The fitted model has no standard errors (it did not converge), so the lifetime value "
                       "has no interval. Refit on more data or a longer period.")
    log_cov = cov / np.outer(theta, theta)
    bound = np.full(theta.shape, -np.inf) if lower is None else np.nan_to_num(np.asarray(lower, float), nan=-np.inf)
    kept, rejected = [], 0
    for _ in range(20):
        with np.errstate(over="ignore"):  # a parameter the data hardly pins down can draw past float range
            batch = np.exp(rng.multivariate_normal(np.log(theta), log_cov, size=n_draws))
        ok = np.all(np.isfinite(batch) & (batch > 0) & (batch > bound), axis=1)
        kept.append(batch[ok])
        rejected += int(np.count_nonzero(~ok))
        if sum(len(k) for k in kept) >= n_draws:
            return np.concatenate(kept)[:n_draws], rejected
    raise FitError("Too few parameter draws meet the model's bounds (for spend: q > 1, a finite mean spend); "
                   "the estimates are too uncertain. Use more customers or a longer period.")
