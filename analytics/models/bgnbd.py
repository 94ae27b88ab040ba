"""The BG/NBD model of repeat buying: who is still a customer, and how much will they buy.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "'Counting your customers' the easy way: an
alternative to the Pareto/NBD model", Marketing Science 24(2), 275–284; with their notes
"Implementing the BG/NBD model for customer base analysis in Excel" (2005) and Fader & Hardie
(2013), "Overcoming the BG/NBD model's #NUM! error problem" (the log-likelihood's stable form).

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, rate α); after each
repeat purchase they drop out with probability p ~ Beta(a, b). A customer is summarised by
``x`` (repeat purchases after the first), ``t_x`` (time of the last one since the first purchase)
and ``T`` (time from the first purchase to the end of the calibration period), all in weeks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import OptimizeResult, minimize
from scipy.special import digamma, expit, gammaln, hyp2f1

#: Parameter names, in the order of :attr:`BgNbdFit.params` and of the covariance matrix.
PARAM_NAMES = ("r", "alpha", "a", "b")

#: Fewer customers than this give no usable estimate of four parameters.
MIN_CUSTOMERS = 30

#: The largest gradient (of the mean log-likelihood per customer, in log-parameters) at an optimum.
GRADIENT_TOLERANCE = 1e-5

#: Above this many distinct (x, t_x, T) rows, a first fit on a random subset gives the start.
_SUBSET_ROWS = 20_000


class FitError(ValueError):
    """The data cannot support a BG/NBD fit; the message says what to change."""


@dataclass(frozen=True)
class BgNbdFit:
    """A fitted BG/NBD model (maximum likelihood).

    ``std_errors`` and ``covariance`` (order r, alpha, a, b) come from the numerical Hessian of
    the log-likelihood at the optimum, taken in log-parameters and carried back by the delta
    method; they are NaN when that Hessian is not negative definite.
    """

    r: float
    alpha: float
    a: float
    b: float
    std_errors: dict[str, float]
    covariance: np.ndarray = field(repr=False)
    log_likelihood: float
    n_customers: int
    n_repeaters: int
    converged: bool
    iterations: int
    message: str

    @property
    def params(self) -> np.ndarray:
        """The estimates as an array ``[r, alpha, a, b]``."""
        return np.array([self.r, self.alpha, self.a, self.b])


def _check_summary(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> None:
    if not (x.shape == t_x.shape == T.shape == w.shape) or x.ndim != 1:
        raise FitError("x, t_x, T (and weights) must be one-dimensional arrays of the same length.")
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(T).all() and np.isfinite(w).all()):
        raise FitError("The customer summary has missing or infinite values; drop or repair those customers.")
    if (x < 0).any() or (x != np.round(x)).any():
        raise FitError("x (repeat purchases) must be a whole number of at least 0 for every customer.")
    if (t_x < 0).any() or (t_x > T).any():
        raise FitError("Every customer needs 0 <= t_x <= T (the last purchase within the observation period).")
    if ((x == 0) & (t_x != 0)).any():
        raise FitError("A customer without repeat purchases (x = 0) must have t_x = 0.")
    if (w < 0).any():
        raise FitError("Weights (customer counts per row) must not be negative.")


def group_rows(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Identical (x, t_x, T) rows merged into one, their weights summed.

    Returns
    -------
    tuple of numpy.ndarray
        ``(x, t_x, T, weights)`` of the distinct rows, sorted by x, t_x, T; rows of zero
        weight dropped.
    """
    x, t_x, T = (np.asarray(v, dtype=float).ravel() for v in (x, t_x, T))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    _check_summary(x, t_x, T, w)
    first, inverse = distinct_rows(x, t_x, T)
    summed = np.bincount(inverse, weights=w, minlength=len(first))
    keep = summed > 0
    return x[first][keep], t_x[first][keep], T[first][keep], summed[keep]


def distinct_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of equal-length 1-D columns (a lexsort: several times faster than
    ``np.unique(..., axis=0)``). Returns the index of each distinct row's first occurrence, in
    sorted order, and for every row the number of its distinct row."""
    order = np.lexsort(columns[::-1])
    starts = np.ones(len(order), dtype=bool)
    for column in columns:
        ordered = column[order]
        starts[1:] &= ordered[1:] == ordered[:-1]
    starts[1:] = ~starts[1:]
    inverse = np.empty(len(order), dtype=np.intp)
    inverse[order] = np.cumsum(starts) - 1
    return order[starts], inverse


class _LogLikelihood:
    """The BG/NBD log-likelihood of grouped rows and its gradient in log-parameters.

    The terms that depend on x only (gamma functions) are computed once per distinct x; the
    two-component sum A3 + A4 is taken with ``logaddexp`` (Fader & Hardie 2013).
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> None:
        self.x, self.t_x, self.T, self.w = x, t_x, T, w
        self.n = float(w.sum())
        self.x_values, self.x_index = np.unique(x, return_inverse=True)
        self.x_weights = np.bincount(self.x_index, weights=w)
        self.repeat = x > 0
        self.bx1 = np.maximum(x, 1.0) - 1.0  # b + x - 1 = b + bx1 where x > 0

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(theta)
        xv, wx, x, w = self.x_values, self.x_weights, self.x, self.w
        ll_x = wx @ (gammaln(r + xv) - gammaln(r) + gammaln(a + b) + gammaln(b + xv) - gammaln(b)
                     - gammaln(a + b + xv))
        log_at, log_atx = np.log(alpha + self.T), np.log(alpha + self.t_x)
        l3 = -(r + x) * log_at
        l4 = np.where(self.repeat, np.log(a) - np.log(b + self.bx1) - (r + x) * log_atx, -np.inf)
        mix = np.logaddexp(l3, l4)
        ll = ll_x + self.n * r * np.log(alpha) + w @ mix
        w4 = w * np.exp(l4 - mix)
        w3 = w - w4
        d_r = wx @ (digamma(r + xv) - digamma(r)) + self.n * np.log(alpha) - w3 @ log_at - w4 @ log_atx
        d_alpha = self.n * r / alpha - w3 @ ((r + x) / (alpha + self.T)) - w4 @ ((r + x) / (alpha + self.t_x))
        d_ab = wx @ (digamma(a + b) - digamma(a + b + xv))
        d_a = d_ab + w4.sum() / a
        d_b = d_ab + wx @ (digamma(b + xv) - digamma(b)) - w4 @ (1.0 / (b + self.bx1))
        return float(ll), np.exp(theta) * np.array([d_r, d_alpha, d_a, d_b])


def _start(x: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Log-parameter starting values from moments: r = 1, the mean purchase rate r/α from the
    repeat purchases over the time observed, mean dropout a/(a+b) = 1/4 with a = 1."""
    rate = max(float(w @ x) / max(float(w @ T), 1e-9), 1e-6)
    return np.log([1.0, 1.0 / rate, 1.0, 3.0])


def _maximise(loglik: _LogLikelihood, theta0: np.ndarray) -> OptimizeResult:
    """L-BFGS-B on the mean negative log-likelihood per customer, in log-parameters."""

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = loglik(theta)
        if not np.isfinite(ll):
            return np.inf, np.zeros_like(theta)
        return -ll / loglik.n, -grad / loglik.n

    return minimize(objective, theta0, jac=True, method="L-BFGS-B", bounds=[(-20.0, 20.0)] * 4,
                    options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20})


def _hessian(loglik: _LogLikelihood, theta: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Central differences of the analytic gradient (in log-parameters), symmetrised."""
    h = np.empty((4, 4))
    for i in range(4):
        e = np.zeros(4)
        e[i] = step
        h[i] = (loglik(theta + e)[1] - loglik(theta - e)[1]) / (2 * step)
    return (h + h.T) / 2


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, weights: np.ndarray | None = None) -> BgNbdFit:
    """Fit the BG/NBD model by maximum likelihood (Fader, Hardie & Lee 2005, eq. 6).

    Identical (x, t_x, T) rows are grouped first, so a million customers whose times are whole
    days fit in seconds. The optimiser (L-BFGS-B with the analytic gradient) works in
    log-parameters; standard errors come from the numerical Hessian at the optimum.

    Parameters
    ----------
    x : array_like
        Repeat purchases per customer (purchase days after the first), whole numbers ≥ 0.
    t_x : array_like
        Weeks from the first to the last purchase (0 when ``x`` is 0).
    T : array_like
        Weeks from the first purchase to the end of the calibration period.
    weights : array_like, optional
        How many customers each row stands for (default 1 each).

    Returns
    -------
    BgNbdFit
        The estimates r, alpha (weeks), a, b with standard errors and covariance, the maximised
        log-likelihood, the customer counts, and whether the optimiser converged (it succeeded
        and the largest gradient of the mean log-likelihood is below ``GRADIENT_TOLERANCE``).

    Raises
    ------
    FitError
        Fewer than ``MIN_CUSTOMERS`` customers, no repeat purchases, or an invalid summary.
    """
    gx, gtx, gT, gw = group_rows(x, t_x, T, weights)
    n_customers = float(gw.sum())
    n_repeaters = float(gw[gx > 0].sum())
    if n_customers < MIN_CUSTOMERS:
        raise FitError(f"Only {n_customers:g} customers: the BG/NBD model needs at least {MIN_CUSTOMERS}. "
                       "Widen the period or the filters.")
    if n_repeaters == 0:
        raise FitError("No customer bought again after their first purchase, so there is nothing to learn "
                       "about repeat buying. Choose a longer calibration period.")

    loglik = _LogLikelihood(gx, gtx, gT, gw)
    theta0 = _start(gx, gT, gw)
    iterations = 0
    if len(gx) > _SUBSET_ROWS:  # the start: a fit on a uniform random subset of the rows, their weights kept
        pick = np.sort(np.random.default_rng(0).choice(len(gx), _SUBSET_ROWS, replace=False))
        subset = _LogLikelihood(gx[pick], gtx[pick], gT[pick], gw[pick])
        first = _maximise(subset, theta0)
        if np.isfinite(first.fun):
            theta0, iterations = first.x, first.nit
    result = _maximise(loglik, theta0)
    iterations += result.nit
    if not result.success and np.isfinite(result.fun):  # one restart from where the line search stopped
        result = _maximise(loglik, result.x)
        iterations += result.nit
    theta = result.x
    ll, grad = loglik(theta)
    largest_gradient = float(np.max(np.abs(grad))) / n_customers
    # judged by the optimum's own conditions (gradient ~0 here, Hessian negative definite below): an
    # optimiser that stops for precision loss at the optimum has still found it
    converged = bool(np.isfinite(ll)) and largest_gradient < GRADIENT_TOLERANCE
    message = (f"{result.message}; largest gradient of the mean log-likelihood {largest_gradient:.1e} "
               f"(tolerance {GRADIENT_TOLERANCE:.0e}) after {iterations} iterations")
    if np.max(np.abs(theta)) >= 20.0 - 1e-6:
        converged = False
        message += "; a parameter ran to its bound (the data may not identify the model)"

    params = np.exp(theta)
    hess = _hessian(loglik, theta)
    if np.all(np.isfinite(hess)) and np.all(np.linalg.eigvalsh(hess) < 0):
        cov_theta = np.linalg.inv(-hess)
        covariance = cov_theta * np.outer(params, params)  # delta method: d p / d log p = p
    else:
        covariance = np.full((4, 4), np.nan)
        converged = False
        message += "; the Hessian is not negative definite, so no standard errors"
    std_errors = dict(zip(PARAM_NAMES, np.sqrt(np.diag(covariance)).tolist(), strict=True))
    r, alpha, a, b = params.tolist()
    return BgNbdFit(r=r, alpha=alpha, a=a, b=b, std_errors=std_errors, covariance=covariance,
                    log_likelihood=ll, n_customers=round(n_customers), n_repeaters=round(n_repeaters),
                    converged=converged, iterations=int(iterations), message=message)


def _unpack(params: np.ndarray | BgNbdFit, ndim: int) -> tuple[np.ndarray, ...]:
    """r, alpha, a, b shaped to broadcast against customer arrays of ``ndim`` dimensions:
    ``params`` of shape (4,) gives scalars, (n_draws, 4) gives (n_draws, 1, ...)."""
    p = np.asarray(params.params if isinstance(params, BgNbdFit) else params, dtype=float)
    if p.shape[-1:] != (4,):
        raise ValueError(f"params must have shape (4,) or (n_draws, 4) in the order r, alpha, a, b; got {p.shape}.")
    return tuple(p[..., i].reshape(p.shape[:-1] + (1,) * ndim) for i in range(4))


def _probability_alive(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    # 1 / (1 + a/(b+x-1) ((α+T)/(α+t_x))^(r+x)) for x > 0, as expit of the log-odds
    x1 = np.maximum(x, 1.0) - 1.0
    log_odds_dead = np.log(a) - np.log(b + x1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(x > 0, expit(-log_odds_dead), 1.0)


#: Within this distance of a = 1, where eq. 10 is 0/0, the expectation is interpolated from a = 1 ± it.
_NEAR_ONE = 1e-6


def _purchases_if_alive(r, alpha, a, b, t, x, T) -> np.ndarray:
    """(a+b+x-1)/(a-1) [1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(α+T+t))]: the
    expected purchases in (T, T+t] of a customer alive at T (eq. 10 without P(alive)).

    The hypergeometric term is taken through Euler's transformation,
    (1-z)^(r+x) 2F1(r+x, b+x; c; z) = (1-z)^(a-1) 2F1(c-r-x, a-1; c; z) with c = a+b+x-1,
    whose first two parameters do not grow with x and whose 2F1 stays bounded as z -> 1
    whenever x + r + 1 - a > 0, where the direct form overflows (x in the hundreds) and loses
    accuracy near z = 1 (checked against numerical integration in the tests). Within
    ``_NEAR_ONE`` of a = 1 the value is interpolated linearly between a = 1 ± ``_NEAR_ONE``
    (error of order 1e-12)."""
    near = np.abs(a - 1.0) < _NEAR_ONE
    if not np.any(near):
        return _euler_form(r, alpha, a, b, t, x, T)
    below = _euler_form(r, alpha, np.where(near, 1.0 - _NEAR_ONE, a), b, t, x, T)
    above = _euler_form(r, alpha, np.where(near, 1.0 + _NEAR_ONE, a), b, t, x, T)
    share = np.where(near, (a - 1.0 + _NEAR_ONE) / (2 * _NEAR_ONE), 1.0)
    return below + share * (above - below)


def _euler_form(r, alpha, a, b, t, x, T) -> np.ndarray:
    c = a + b + x - 1.0
    log_1mz = -np.log1p(t / (alpha + T))  # ln((α+T)/(α+T+t)), accurate for small t too
    z = -np.expm1(log_1mz)
    g = np.exp((a - 1.0) * log_1mz) * hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
    return c / (a - 1.0) * (1.0 - g)


def expected_purchases(params: np.ndarray | BgNbdFit, t: float | np.ndarray, x: np.ndarray, t_x: np.ndarray,
                       T: np.ndarray) -> np.ndarray:
    """Expected purchases in the next ``t`` weeks, (T, T+t], given a customer's history
    (Fader, Hardie & Lee 2005, eq. 10).

    Parameters
    ----------
    params : array_like or BgNbdFit
        ``[r, alpha, a, b]`` (shape (4,)), or parameter draws of shape (n_draws, 4).
    t : float or array_like
        The horizon in weeks (broadcast against the customers).
    x, t_x, T : array_like
        The customers' summaries (see :func:`fit_bgnbd`).

    Returns
    -------
    numpy.ndarray
        Expected purchases per customer: the broadcast shape of ``t, x, t_x, T``, with a leading
        axis of n_draws when ``params`` is two-dimensional.
    """
    t, x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, t_x, T)))
    shape = x.shape
    t, x, t_x, T = (v.ravel() for v in (t, x, t_x, T))
    r, alpha, a, b = _unpack(params, 1)
    # The 2F1 part depends on (x, T, t) only: computed once per distinct row (few, in whole days).
    first, inverse = distinct_rows(x, T, t)
    if_alive = _purchases_if_alive(r, alpha, a, b, t[first], x[first], T[first])[..., inverse]
    expected = if_alive * _probability_alive(r, alpha, a, b, x, t_x, T)
    return expected.reshape(expected.shape[:-1] + shape)


def probability_alive(params: np.ndarray | BgNbdFit, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """The probability that a customer is still alive at T (Fader, Hardie & Lee 2005, eq. 11;
    the Excel note's form): 1 / (1 + a/(b+x-1) ((α+T)/(α+t_x))^(r+x)) for x > 0, and 1 for
    x = 0 (the model lets a customer drop out only right after a repeat purchase).

    Parameters
    ----------
    params : array_like or BgNbdFit
        ``[r, alpha, a, b]`` or draws of shape (n_draws, 4).
    x, t_x, T : array_like
        The customers' summaries (see :func:`fit_bgnbd`).

    Returns
    -------
    numpy.ndarray
        P(alive) in [0, 1] per customer (a leading n_draws axis for 2-D ``params``).
    """
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T)))
    r, alpha, a, b = _unpack(params, x.ndim)
    return _probability_alive(r, alpha, a, b, x, t_x, T)


def expected_purchases_new(params: np.ndarray | BgNbdFit, t: float | np.ndarray) -> np.ndarray:
    """Expected repeat purchases of a new customer in their first ``t`` weeks, E[X(t)]
    (Fader, Hardie & Lee 2005, eq. 7): (a+b-1)/(a-1) [1 - (α/(α+t))^r 2F1(r, b; a+b-1; t/(α+t))].

    Parameters
    ----------
    params : array_like or BgNbdFit
        ``[r, alpha, a, b]`` or draws of shape (n_draws, 4).
    t : float or array_like
        Weeks since the first purchase.

    Returns
    -------
    numpy.ndarray
        E[X(t)], the shape of ``t`` (a leading n_draws axis for 2-D ``params``).
    """
    t = np.asarray(t, dtype=float)
    r, alpha, a, b = _unpack(params, t.ndim)
    zero = np.zeros_like(t)
    return _purchases_if_alive(r, alpha, a, b, t, zero, zero)
