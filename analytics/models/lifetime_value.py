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

Speed: :class:`ValueModel` does, once per fit, everything that does not depend on the horizon, the discount
rate or a uniform margin (:mod:`analytics.models.clv_engine`: Chebyshev interpolation of the purchases in T and
in time, the draws summed by group and month); :meth:`ValueModel.values` then takes weighted sums. The draws of
one customer's value are computed when that customer's interval is asked for.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from analytics.models.bgnbd import BgNbdFit, FitError, expected_purchases
from analytics.models.clv_engine import WEEKS_PER_MONTH, Engine, month_weights, row_quantiles
from analytics.models.gamma_gamma import GammaGammaFit, expected_spend
from analytics.models.parameter_draws import draw_parameters

#: The longest horizon a :class:`ValueModel` values by default (the value page's limit).
MAX_MONTHS = 60


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
    historical_value, acquisition_cost, margin : numpy.ndarray
        As given, per customer (currency; the margin a fraction of revenue).
    future_value : numpy.ndarray
        Discounted future value net of cost over the horizon, per customer (``future_low``, ``future_high``: its
        interval, computed for every customer when first read; :meth:`future_interval` for some).
    expected_purchases, expected_spend, p_alive : numpy.ndarray
        Per customer at the estimates: purchases over the horizon (undiscounted), spend per purchase, P(alive).
    total, total_future, by_group : Interval, Interval, dict of str to GroupTotals
        Sums of the CLVs and of the future values; totals for each grouping of the :class:`ValueModel`.
    horizon_months, discount_rate, level, n_draws : int, float, float, int
        The settings used; ``n_rejected_draws``: draws redrawn (spend q <= 1: no finite mean) or left out (no value).
    """

    historical_value: np.ndarray
    acquisition_cost: np.ndarray
    margin: np.ndarray
    future_value: np.ndarray
    expected_purchases: np.ndarray
    expected_spend: np.ndarray
    p_alive: np.ndarray
    total: Interval
    total_future: Interval
    by_group: dict[str, GroupTotals]
    horizon_months: int
    discount_rate: float
    level: float
    n_draws: int
    n_rejected_draws: int
    _model: ValueModel = field(repr=False, compare=False)
    _scale: tuple[str, float] = field(repr=False, compare=False)  # the weight set of the totals, and its factor

    @property
    def clv(self) -> np.ndarray:
        """CLV per customer: historical + future - acquisition cost (``clv_low``, ``clv_high``: its interval)."""
        return self.historical_value + self.future_value - self.acquisition_cost

    @functools.cached_property
    def _future_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.future_interval(np.arange(self.future_value.size))

    future_low = property(lambda self: self._future_bounds[0])
    future_high = property(lambda self: self._future_bounds[1])
    clv_low = property(lambda self: self.historical_value + self.future_low - self.acquisition_cost)
    clv_high = property(lambda self: self.historical_value + self.future_high - self.acquisition_cost)

    @functools.cached_property
    def _pair_draws(self) -> np.ndarray:
        return self._model.engine.pair_values(self._weights, draws=True)

    @property
    def _weights(self) -> np.ndarray:
        return month_weights(self.horizon_months, self.discount_rate, self._model.months)

    def future_interval(self, rows: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """The interval of the future value of the customers at positions ``rows`` (low, high): their values
        under every parameter draw (about a second per million customers)."""
        rows = np.asarray(rows, dtype=np.intp)
        engine = self._model.engine
        keys, where = np.unique(engine.key_of[rows], return_inverse=True)
        quantiles, tails = np.empty((keys.size, 2)), _tails(self.level)
        chunk = max(1, 2_000_000 // engine.bg_draws.shape[0])
        for start in range(0, keys.size, chunk):
            part = keys[start:start + chunk]
            quantiles[start:start + chunk] = row_quantiles(engine.key_draws(part, self._pair_draws).T, tails)
        bounds = self.margin[rows, None] * quantiles[where]
        return bounds.min(axis=1), bounds.max(axis=1)

    def clv_interval(self, rows: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """The interval of the CLV of the customers at positions ``rows`` (low, high)."""
        rows = np.asarray(rows, dtype=np.intp)
        low, high = self.future_interval(rows)
        fixed = self.historical_value[rows] - self.acquisition_cost[rows]
        return fixed + low, fixed + high

    def total_by(self, keys: ArrayLike) -> GroupTotals:
        """Totals with intervals by any key per customer (region, segment, tier...), from the same draws: it
        passes over every customer and draw once (seconds at a million customers; groupings given to the
        :class:`ValueModel` cost nothing more)."""
        model, (set_name, factor) = self._model, self._scale
        weights = model.weight_sets[set_name]
        codes, labels = model.engine.labels({"_": keys})["_"]
        sums, columns = model.engine.column_sums({set_name: weights}, {"_": (codes, labels.size)})
        return self._totals(sums[:, columns[set_name, "_"], :] @ self._weights * factor, codes, labels)

    def _totals(self, draws: np.ndarray, codes: np.ndarray, labels: np.ndarray) -> GroupTotals:
        """GroupTotals from the draws of the groups' future values (n_draws, n_labels) and each customer's code."""
        low, high = np.quantile(draws, _tails(self.level), axis=0)
        point = np.bincount(codes, weights=self.future_value, minlength=labels.size)
        base = np.bincount(codes, weights=self.historical_value - self.acquisition_cost, minlength=labels.size)
        return GroupTotals(labels=labels, n_customers=np.bincount(codes, minlength=labels.size), clv=base + point,
                           clv_low=base + low, clv_high=base + high, future=point, future_low=low, future_high=high)


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


def _tails(level: float) -> tuple[float, float]:
    """The quantiles that bound an equal-tailed interval of ``level``."""
    return (1 - level) / 2, (1 + level) / 2


def _per_customer(value: ArrayLike, n: int, name: str) -> np.ndarray:
    array = np.broadcast_to(np.asarray(value, dtype=float), (n,)).astype(float)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite numbers (one per customer, or one for all)")
    return array


def _margin(value: ArrayLike, n: int) -> np.ndarray:
    margin = _per_customer(value, n, "margin")
    if np.any(margin > 1):
        raise ValueError("margin is a fraction of revenue: at most 1 (0.3 for a 30 % margin)")
    return margin


def _summary(x: ArrayLike, t_x: ArrayLike, T: ArrayLike, monetary: ArrayLike) -> tuple[np.ndarray, ...]:
    x, t_x, T, monetary = (np.asarray(v, dtype=float).ravel() for v in (x, t_x, T, monetary))
    if not (t_x.size == T.size == monetary.size == x.size > 0):
        raise ValueError("x, t_x, T and monetary must have one value per customer (and at least one customer)")
    t_x = np.where(x > 0, t_x, 0.0)
    if not (np.all(np.isfinite(x) & np.isfinite(t_x) & np.isfinite(T)) and np.all((x >= 0) & (t_x >= 0) & (t_x <= T))):
        raise ValueError("Every customer needs finite x >= 0 and 0 <= t_x <= T (weeks); repair the summary")
    return x, t_x, T, monetary


class ValueModel:
    """The lifetime values of one set of customers under two fitted models, for any horizon up to ``months``,
    discount rate and margin level: built once (the parameter draws and their sums by group and month, seconds
    at a million customers), then :meth:`values` per setting (a few hundredths of a second).

    Parameters are those of :func:`lifetime_value`; ``margin`` is each customer's own margin (the values' default),
    ``groups`` the groupings every :class:`LifetimeValue` has totals for, ``months`` the longest horizon.
    """

    def __init__(self, bgnbd: BgNbdFit, gamma_gamma: GammaGammaFit, x: ArrayLike, t_x: ArrayLike, T: ArrayLike,
                 monetary: ArrayLike, *, margin: ArrayLike, groups: Mapping[str, ArrayLike] | None = None,
                 level: float = 0.90, n_draws: int = 200, seed: int | np.random.Generator = 0,
                 months: int = MAX_MONTHS):
        x, t_x, T, monetary = _summary(x, t_x, T, monetary)
        margin = _margin(margin, x.size)
        if int(months) != months or months < 1:
            raise ValueError("horizon_months must be a whole number of months, at least 1")
        if not 0 < level < 1 or n_draws < 20:
            raise ValueError("level must be in (0, 1) and n_draws at least 20")
        if gamma_gamma.q <= 1:
            raise FitError(f"The spend model's q = {gamma_gamma.q:.2f} is not above 1, so the mean spend per purchase "
                           "is not finite and customers without repeat purchases have no lifetime value. Use a longer "
                           "period or check the value column for extreme amounts.")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        bg_draws, _ = draw_parameters(bgnbd.params, bgnbd.covariance, n_draws, rng)
        gg_draws, rejected = draw_parameters(gamma_gamma.params, gamma_gamma.covariance, n_draws, rng,
                                             lower=[np.nan, 1.0, np.nan])
        self.months, self.level, self.n_draws, self.margin = int(months), float(level), int(n_draws), margin
        # one weight per customer (a uniform margin scales it), and each customer's margin when they differ
        self.weight_sets = {"one": np.ones(x.size)}
        if np.ptp(margin) > 0:
            self.weight_sets["margin"] = margin
        self.engine = Engine(x, t_x, T, monetary, bgnbd.params, gamma_gamma.params, bg_draws, gg_draws,
                             self.months)
        self.groups = self.engine.labels(groups or {})
        self.sums, self.columns = self.engine.column_sums(
            self.weight_sets, {name: (codes, labels.size) for name, (codes, labels) in self.groups.items()})
        self.n_rejected_draws = rejected + self.engine.unusable_draws
        self.expected_spend = expected_spend(gamma_gamma.params, x, monetary)

    def values(self, *, horizon_months: int = 12, discount_rate: float = 0.10, margin: float | None = None,
               historical_value: ArrayLike = 0.0, acquisition_cost: ArrayLike = 0.0) -> LifetimeValue:
        """The lifetime values for a horizon (at most ``months``), an annual discount rate and either each
        customer's own margin (``margin=None``) or one ``margin`` for all."""
        engine, n = self.engine, self.margin.size
        if int(horizon_months) != horizon_months or not 1 <= horizon_months <= self.months:
            raise ValueError(f"horizon_months must be a whole number of months, from 1 to {self.months}")
        if discount_rate <= -1:
            raise ValueError("discount_rate must be above -1")
        if margin is None:
            margins = self.margin
            scale = ("margin", 1.0) if "margin" in self.weight_sets else ("one", float(self.margin[0]))
        else:
            margins, scale = _margin(margin, n), ("one", float(margin))
        weights = month_weights(int(horizon_months), float(discount_rate), self.months)
        unit = engine.pair_values(weights, draws=False)[engine.pair] * engine.point_alive * engine.point_spend
        future = margins * unit[engine.key_of]
        purchases = engine.point_pairs[engine.pair, int(horizon_months) - 1] * engine.point_alive
        historical = _per_customer(historical_value, n, "historical_value")
        acquisition = _per_customer(acquisition_cost, n, "acquisition_cost")
        set_name, factor = scale
        draws = self.sums @ weights * factor  # n_draws x columns
        total_draws = draws[:, self.columns[set_name, next(iter(self.groups), "")]].sum(axis=1)
        future_total = Interval(float(future.sum()), *map(float, np.quantile(total_draws, _tails(self.level))))
        fixed = float((historical - acquisition).sum())
        lv = LifetimeValue(historical_value=historical, acquisition_cost=acquisition, margin=margins,
                           future_value=future, expected_purchases=purchases[engine.key_of],
                           expected_spend=self.expected_spend, p_alive=engine.point_alive[engine.key_of],
                           total=Interval(future_total.point + fixed, future_total.low + fixed,
                                          future_total.high + fixed),
                           total_future=future_total, by_group={}, horizon_months=int(horizon_months),
                           discount_rate=float(discount_rate), level=self.level, n_draws=self.n_draws,
                           n_rejected_draws=self.n_rejected_draws, _model=self, _scale=scale)
        for name, (codes, labels) in self.groups.items():
            lv.by_group[name] = lv._totals(draws[:, self.columns[set_name, name]], codes, labels)
        return lv


def lifetime_value(bgnbd: BgNbdFit, gamma_gamma: GammaGammaFit, x: ArrayLike, t_x: ArrayLike, T: ArrayLike,
                   monetary: ArrayLike, *, margin: ArrayLike, historical_value: ArrayLike = 0.0,
                   acquisition_cost: ArrayLike = 0.0, horizon_months: int = 12, discount_rate: float = 0.10,
                   level: float = 0.90, n_draws: int = 200, seed: int | np.random.Generator = 0,
                   groups: Mapping[str, ArrayLike] | None = None) -> LifetimeValue:
    """Customer lifetime value with a ``level`` interval per customer, in total and by group.

    CLV_i = historical_i + margin_i · E[spend_i] · Σ_{k=1..H} ΔE[X_i]_k / (1 + d)^(k/12) - acquisition_i
    (see the module docstring; Fader, Hardie & Lee 2005, "RFM and CLV"). One setting:
    ``ValueModel(...).values(...)``; a :class:`ValueModel` kept gives other settings without its set-up.

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
    model = ValueModel(bgnbd, gamma_gamma, x, t_x, T, monetary, margin=margin, groups=groups, level=level,
                       n_draws=n_draws, seed=seed, months=int(horizon_months))
    return model.values(horizon_months=int(horizon_months), discount_rate=discount_rate,
                        historical_value=historical_value, acquisition_cost=acquisition_cost)
