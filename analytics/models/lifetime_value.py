"""Customer lifetime value with its interval: historical value plus discounted, margin-weighted future value.

The future value follows Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base
analysis", JMR 42(4): expected purchases from the BG/NBD model (Fader, Hardie & Lee 2005, Marketing Science
24(2), eq. 10) times the expected spend from the Gamma-Gamma model, here summed over monthly steps and
discounted at an annual rate:

    future_i = margin_i · E[spend_i] · Σ_k (E[X_i(k m)] - E[X_i((k-1) m)]) / (1 + d)^(k/12),  k = 1..H,

with m = 52/12 weeks, E[X_i(t)] the expected purchases in (T_i, T_i + t] given (x_i, t_x_i, T_i), and
CLV_i = historical_i + future_i - acquisition_cost_i.

The interval comes from the parameters' sampling distribution: both models' parameters are drawn from their
asymptotic normal distributions in log-parameters (delta method: Cov(log θ) = Cov(θ) / θθᵀ; draws stay
positive) and the values recomputed per draw. The two likelihoods are separate factors of the joint one, so
the estimates are independent and drawn independently. The interval is that of the *expected* value under
the model; a single customer's actual future purchases scatter much more widely around it.

Speed: identical (x, t_x, T, spend) rows are computed once; the hypergeometric part depends on (x, T) only
and is interpolated in T (see ``_AliveValue``; relative error ~1e-12, checked in the tests); chunks bound memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import sparse

from analytics.models.bgnbd import BgNbdFit, FitError, distinct_rows, expected_purchases, probability_alive
from analytics.models.gamma_gamma import GammaGammaFit, expected_spend
from analytics.models.parameter_draws import draw_parameters

#: Weeks in a month (the BG/NBD time unit is the week).
WEEKS_PER_MONTH = 52 / 12

_NODES = 24  # Chebyshev nodes per x for the purchases of a customer alive at T, as a function of T
_CHUNK_VALUES = 2_000_000  # values (draws x customers) computed at once


@dataclass(frozen=True)
class Interval:
    """A point estimate and its interval (``level`` of the sampling distribution, equal tails)."""

    point: float
    low: float
    high: float


@dataclass(frozen=True)
class GroupTotals:
    """Totals per group: ``labels[j]`` has ``n_customers[j]`` customers, a CLV total ``clv[j]`` in
    [``clv_low[j]``, ``clv_high[j]``] and a future value ``future[j]`` in [``future_low[j]``, ``future_high[j]``];
    labels in order of first appearance, a missing label (None, NaN) is one group labelled NaN."""

    labels: np.ndarray
    n_customers: np.ndarray
    clv: np.ndarray
    clv_low: np.ndarray
    clv_high: np.ndarray
    future: np.ndarray
    future_low: np.ndarray
    future_high: np.ndarray


@dataclass(frozen=True)
class LifetimeValue:
    """Lifetime values per customer and in total, each with its interval.

    Attributes
    ----------
    historical_value, acquisition_cost : numpy.ndarray
        As given, per customer (currency).
    future_value, future_low, future_high : numpy.ndarray
        Discounted future value net of cost over the horizon, per customer, and its interval.
    expected_purchases, expected_spend : numpy.ndarray
        Per customer at the estimates: purchases over the horizon (undiscounted), spend per purchase.
    total, total_future, by_group : Interval, Interval, dict of str to GroupTotals
        Sums of the CLVs and of the future values; totals for each grouping passed to :func:`lifetime_value`.
    horizon_months, discount_rate, level, n_draws : int, float, float, int
        The settings used; ``n_rejected_draws``: draws redrawn (spend q <= 1: no finite mean) or left out (no value).
    """

    historical_value: np.ndarray
    acquisition_cost: np.ndarray
    future_value: np.ndarray
    future_low: np.ndarray
    future_high: np.ndarray
    expected_purchases: np.ndarray
    expected_spend: np.ndarray
    total: Interval
    total_future: Interval
    by_group: dict[str, GroupTotals]
    horizon_months: int
    discount_rate: float
    level: float
    n_draws: int
    n_rejected_draws: int
    _engine: _Engine = field(repr=False, compare=False)

    @property
    def clv(self) -> np.ndarray:
        """CLV per customer: historical + future - acquisition cost (``clv_low``, ``clv_high``: its interval)."""
        return self.historical_value + self.future_value - self.acquisition_cost

    clv_low = property(lambda self: self.historical_value + self.future_low - self.acquisition_cost)
    clv_high = property(lambda self: self.historical_value + self.future_high - self.acquisition_cost)

    def total_by(self, keys: ArrayLike) -> GroupTotals:
        """Totals with intervals by any key per customer (region, segment, tier...), recomputed from the same
        draws: it takes about as long as :func:`lifetime_value` did, which gives several in one pass (``groups=``)."""
        return self._engine.run({"_": keys})[1]["_"]


def discounted_purchases(bgnbd_params: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike, *,
                         horizon_months: int = 12, discount_rate: float = 0.10) -> np.ndarray:
    """Σ_k (E[X(k m)] - E[X((k-1) m)]) / (1 + d)^(k/12) over k = 1..H monthly steps (m = 52/12 weeks),
    computed directly from :func:`~analytics.models.bgnbd.expected_purchases` (no grouping): the reference
    that :func:`lifetime_value` reproduces.

    Returns
    -------
    numpy.ndarray
        Discounted expected purchases per customer, shape (n,) (or (n_draws, n) for stacked parameters).
    """
    steps = np.arange(horizon_months + 1)
    cumulative = [expected_purchases(bgnbd_params, WEEKS_PER_MONTH * k, x, t_x, T) for k in steps]
    return sum((cumulative[k] - cumulative[k - 1]) / (1 + discount_rate) ** (k / 12) for k in steps[1:])


class _AliveValue:
    """For distinct (x, T): Σ_k c_k A(x, T, t_k), with A(x, T, t) = E[X(t) | x, t_x, T] / P(alive | x, t_x, T)
    the expected purchases in (T, T + t] of a customer alive at T (free of t_x; taken at t_x = T) and c_k the
    discount weights. For an x with more than ``_NODES`` distinct T, A is computed at Chebyshev nodes in
    u = log(α̂ + T) and interpolated (barycentric): it is analytic in u within a strip of half-width π, so the
    error falls geometrically with the number of nodes."""

    def __init__(self, x: np.ndarray, T: np.ndarray, horizon_months: int, discount_rate: float, alpha: float):
        steps = np.arange(1, horizon_months + 1)
        discount = (1 + discount_rate) ** (-steps / 12)
        self.t = WEEKS_PER_MONTH * steps[:, None]
        self.weights = discount - np.append(discount[1:], 0.0)  # summation by parts: Σ c_k A_k
        self.x, self.T = x, T
        eval_x, eval_T, self.maps = [], [], []  # nodes per x, and node values -> distinct T
        for value in np.unique(x):
            rows = np.flatnonzero(x == value)
            nodes, matrix = T[rows], None
            if rows.size > _NODES:
                u = np.log(alpha + T[rows])
                node_u = (u.min() + u.max()) / 2 - np.ptp(u) / 2 * np.cos(np.pi * np.arange(_NODES) / (_NODES - 1))
                nodes, matrix = np.clip(np.exp(node_u) - alpha, T[rows].min(), T[rows].max()), _barycentric(node_u, u)
            eval_x.append(np.full(nodes.size, value))
            eval_T.append(nodes)
            self.maps.append((rows, matrix))
        self.eval_x, self.eval_T = np.concatenate(eval_x), np.concatenate(eval_T)

    def __call__(self, bg: np.ndarray, exact: bool = False, weights: np.ndarray | None = None) -> np.ndarray:
        """Values at every distinct (x, T), shape (n_draws, n) for ``bg`` of shape (n_draws, 4)."""
        x, T = (self.x, self.T) if exact else (self.eval_x, self.eval_T)
        with np.errstate(invalid="ignore", divide="ignore"):
            cumulative = expected_purchases(bg, self.t, x, T, T) / probability_alive(bg, x, T, T)[:, None, :]
        values = np.einsum("k,dkn->dn", self.weights if weights is None else weights, cumulative)
        if exact:
            return values
        out, start = np.empty((bg.shape[0], self.x.size)), 0
        for rows, matrix in self.maps:
            size = rows.size if matrix is None else matrix.shape[1]
            out[:, rows] = values[:, start:start + size] if matrix is None else values[:, start:start + size] @ matrix.T
            start += size
        return out


def _barycentric(nodes: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The matrix taking values at Chebyshev points of the second kind ``nodes`` to values at ``at``."""
    w = (-1.0) ** np.arange(nodes.size)
    w[[0, -1]] /= 2
    diff = at[:, None] - nodes[None, :]
    hit = diff == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = w / diff
        matrix = terms / terms.sum(axis=1, keepdims=True)
    rows = hit.any(axis=1)
    matrix[rows] = hit[rows].astype(float)
    return matrix


def _row_quantiles(values: np.ndarray, probs: tuple[float, float]) -> np.ndarray:
    """Quantiles along axis 1 (numpy's default 'linear' method) from a full sort, which numpy vectorises:
    ten times faster than ``np.quantile``'s partition on rows of a few hundred draws."""
    ordered = np.sort(values, axis=1)
    h = (values.shape[1] - 1) * np.asarray(probs)
    below = np.floor(h).astype(int)
    above = np.minimum(below + 1, values.shape[1] - 1)
    return ordered[:, below] + (h - below) * (ordered[:, above] - ordered[:, below])


class _Engine:
    """Future values per distinct customer key and draw, accumulated in chunks."""

    def __init__(self, x, t_x, T, monetary, margin, historical, acquisition, bg, gg, bg_draws, gg_draws,
                 horizon_months, discount_rate, level):
        self.margin, self.historical, self.acquisition = margin, historical, acquisition
        self.level = level
        spend_m = np.where((x > 0) & np.isfinite(monetary) & (monetary > 0), monetary, 0.0)
        first, self.key_of = distinct_rows(x, t_x, T, spend_m)
        self.kx, self.ktx, self.kT, self.km = x[first], t_x[first], T[first], spend_m[first]
        pair_first, self.pair = distinct_rows(self.kx, self.kT)
        self.alive_value = _AliveValue(self.kx[pair_first], self.kT[pair_first], horizon_months, discount_rate,
                                       float(bg[1]))
        # draws so extreme (a parameter the data hardly pins down) that 2F1 gives no number are left out
        with np.errstate(invalid="ignore", over="ignore"):
            values = self.alive_value(bg_draws)
        finite = np.all(np.isfinite(values), axis=1)
        self.unusable_draws = int(np.count_nonzero(~finite))
        if finite.sum() < 0.9 * finite.size:
            raise FitError(f"{self.unusable_draws} of {finite.size} parameter draws give no value: the estimates are "
                           "too uncertain for an interval (see their standard errors). Use more customers or a longer "
                           "period.")
        self.bg_draws, self.gg_draws, self.pair_values = bg_draws[finite], gg_draws[finite], values[finite]
        self.point_keys = self._unit_values(bg[None, :], gg[None, :], slice(None), exact=True)[0]
        last = np.eye(horizon_months)[-1]  # undiscounted purchases over the whole horizon, at the estimates
        self.point_purchases = (self.alive_value(bg[None, :], exact=True, weights=last)[0, self.pair]
                                * probability_alive(bg, self.kx, self.ktx, self.kT))

    def _unit_values(self, bg, gg, keys, exact=False, pair_values=None):
        """Future value per unit of margin for the keys ``keys``, shape (n_draws, n_keys)."""
        if pair_values is None:
            pair_values = self.alive_value(bg, exact=exact)
        x, tx, T = self.kx[keys], self.ktx[keys], self.kT[keys]
        return (pair_values[:, self.pair[keys]] * probability_alive(bg, x, tx, T)
                * expected_spend(gg, x, self.km[keys]))

    def run(self, groups: Mapping[str, ArrayLike], per_customer: bool = False):
        """Totals (and per-customer intervals) over the draws; returns (totals, by_group, key_intervals)."""
        tails = ((1 - self.level) / 2, (1 + self.level) / 2)
        margin_per_key = np.bincount(self.key_of, weights=self.margin, minlength=self.kx.size)
        pointwise = self.margin * self.point_keys[self.key_of]
        group_info = {}
        for name, labels in groups.items():
            codes, uniques = pd.factorize(np.asarray(labels), use_na_sentinel=False)
            if codes.size != self.key_of.size:
                raise ValueError(f"The grouping '{name}' has {codes.size} labels for {self.key_of.size} customers.")
            weights = sparse.csr_matrix((self.margin, (self.key_of, codes)), shape=(self.kx.size, len(uniques)))
            group_info[name] = (codes, np.asarray(uniques), weights, np.zeros((self.bg_draws.shape[0], len(uniques))))
        total_draws = np.zeros(self.bg_draws.shape[0])
        quantiles = np.empty((self.kx.size, 2)) if per_customer else None
        pair_values = self.pair_values
        chunk = max(1, _CHUNK_VALUES // self.bg_draws.shape[0])
        for start in range(0, self.kx.size, chunk):
            keys = slice(start, start + chunk)
            unit = self._unit_values(self.bg_draws, self.gg_draws, keys, pair_values=pair_values)
            total_draws += unit @ margin_per_key[keys]
            for _, _, weights, sums in group_info.values():
                sums += (weights[keys].T @ unit.T).T
            if per_customer:
                quantiles[keys] = _row_quantiles(unit.T, tails)
        fixed = self.historical - self.acquisition
        future = Interval(float(pointwise.sum()), *map(float, np.quantile(total_draws, tails)))
        base = float(fixed.sum())
        total = Interval(future.point + base, future.low + base, future.high + base)
        by_group = {}
        for name, (codes, uniques, _, sums) in group_info.items():
            low, high = np.quantile(sums, tails, axis=0)
            point = np.bincount(codes, weights=pointwise, minlength=uniques.size)
            base = np.bincount(codes, weights=fixed, minlength=uniques.size)
            by_group[name] = GroupTotals(labels=uniques, n_customers=np.bincount(codes, minlength=uniques.size),
                                         clv=base + point, clv_low=base + low, clv_high=base + high,
                                         future=point, future_low=low, future_high=high)
        return (future, total), by_group, quantiles


def _per_customer(value: ArrayLike, n: int, name: str) -> np.ndarray:
    array = np.broadcast_to(np.asarray(value, dtype=float), (n,)).astype(float)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite numbers (one per customer, or one for all)")
    return array


def _summary(x: ArrayLike, t_x: ArrayLike, T: ArrayLike, monetary: ArrayLike) -> tuple[np.ndarray, ...]:
    x, t_x, T, monetary = (np.asarray(v, dtype=float).ravel() for v in (x, t_x, T, monetary))
    if not (t_x.size == T.size == monetary.size == x.size > 0):
        raise ValueError("x, t_x, T and monetary must have one value per customer (and at least one customer)")
    t_x = np.where(x > 0, t_x, 0.0)
    if not (np.all(np.isfinite(x) & np.isfinite(t_x) & np.isfinite(T)) and np.all((x >= 0) & (t_x >= 0) & (t_x <= T))):
        raise ValueError("Every customer needs finite x >= 0 and 0 <= t_x <= T (weeks); repair the summary")
    return x, t_x, T, monetary


def lifetime_value(bgnbd: BgNbdFit, gamma_gamma: GammaGammaFit, x: ArrayLike, t_x: ArrayLike, T: ArrayLike,
                   monetary: ArrayLike, *, margin: ArrayLike, historical_value: ArrayLike = 0.0,
                   acquisition_cost: ArrayLike = 0.0, horizon_months: int = 12, discount_rate: float = 0.10,
                   level: float = 0.90, n_draws: int = 200, seed: int | np.random.Generator = 0,
                   groups: Mapping[str, ArrayLike] | None = None) -> LifetimeValue:
    """Customer lifetime value with a ``level`` interval per customer, in total and by group.

    CLV_i = historical_i + margin_i · E[spend_i] · Σ_{k=1..H} ΔE[X_i]_k / (1 + d)^(k/12) - acquisition_i
    (see the module docstring; Fader, Hardie & Lee 2005, "RFM and CLV").

    Parameters
    ----------
    bgnbd, gamma_gamma : BgNbdFit, GammaGammaFit
        The fitted models; both need finite covariances, and the spend model q > 1.
    x, t_x, T : array_like
        Per customer: repeat purchases, weeks from the first to the last purchase, weeks from the first
        purchase to the end of the calibration period (as for :func:`~analytics.models.bgnbd.fit_bgnbd`).
    monetary : array_like
        Mean value of the repeat purchases; ignored (may be NaN) where x = 0 or it is not positive: those
        customers get the population's mean spend.
    margin : array_like
        Profit per unit of revenue (a fraction, at most 1; negative for loss-making customers): one number,
        or one per customer (e.g. each customer's profit / revenue when the data has a profit column).
    historical_value : array_like
        Value already realised per customer (pass it net of cost, as the margin does), not discounted.
    acquisition_cost : array_like
        Cost of winning each customer, subtracted (0 when the data has none).
    horizon_months, discount_rate : int, float
        Months of future value (default 12); annual discount rate d (default 0.10), month k weighs (1 + d)^(-k/12).
    level, n_draws, seed : float, int, int or numpy.random.Generator
        Interval level (0.90: the 5th and 95th percentiles of the draws), parameter draws (200), their seed
        (the same seed gives the same intervals).
    groups : mapping of str to array_like, optional
        Named groupings, one label per customer (e.g. ``{"region": ..., "segment": ...}``): totals with
        intervals per label, in the same pass.

    Returns
    -------
    LifetimeValue
        Per customer (in the input order) and totals; currency as ``monetary`` and ``historical_value``.

    Raises
    ------
    FitError
        A model without standard errors, or a spend model with q <= 1 (no finite mean spend).
    ValueError
        Arrays of different lengths, a margin above 1, a horizon below 1 month, a level outside (0, 1).
    """
    x, t_x, T, monetary = _summary(x, t_x, T, monetary)
    n = x.size
    margin = _per_customer(margin, n, "margin")
    if np.any(margin > 1):
        raise ValueError("margin is a fraction of revenue: at most 1 (0.3 for a 30 % margin)")
    historical = _per_customer(historical_value, n, "historical_value")
    acquisition = _per_customer(acquisition_cost, n, "acquisition_cost")
    if int(horizon_months) != horizon_months or horizon_months < 1:
        raise ValueError("horizon_months must be a whole number of months, at least 1")
    if not 0 < level < 1 or discount_rate <= -1 or n_draws < 20:
        raise ValueError("level must be in (0, 1), discount_rate above -1 and n_draws at least 20")
    if gamma_gamma.q <= 1:
        raise FitError(f"The spend model's q = {gamma_gamma.q:.2f} is not above 1, so the mean spend per purchase is "
                       "not finite and customers without repeat purchases have no lifetime value. Use a longer period "
                       "or check the value column for extreme amounts.")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    bg_draws, _ = draw_parameters(bgnbd.params, bgnbd.covariance, n_draws, rng)
    gg_draws, rejected = draw_parameters(gamma_gamma.params, gamma_gamma.covariance, n_draws, rng,
                                         lower=[np.nan, 1.0, np.nan])
    engine = _Engine(x, t_x, T, monetary, margin, historical, acquisition, bgnbd.params, gamma_gamma.params,
                     bg_draws, gg_draws, int(horizon_months), float(discount_rate), float(level))
    (future, total), by_group, key_quantiles = engine.run(groups or {}, per_customer=True)
    bounds = margin[:, None] * key_quantiles[engine.key_of]
    return LifetimeValue(historical_value=historical, acquisition_cost=acquisition,
                         future_value=margin * engine.point_keys[engine.key_of], future_low=bounds.min(axis=1),
                         future_high=bounds.max(axis=1), expected_purchases=engine.point_purchases[engine.key_of],
                         expected_spend=expected_spend(gamma_gamma.params, x, monetary),
                         total=total, total_future=future, by_group=by_group, horizon_months=int(horizon_months),
                         discount_rate=float(discount_rate), level=float(level), n_draws=int(n_draws),
                         n_rejected_draws=rejected + engine.unusable_draws, _engine=engine)
