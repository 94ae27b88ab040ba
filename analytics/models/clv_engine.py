"""The arithmetic behind :mod:`analytics.models.lifetime_value`: what every horizon, discount rate and
margin level share, computed once per fit, so that a new setting costs a weighted sum.

The future value per unit of margin of customer i under parameters θ (the estimates or a draw) is

    v_i(θ) = E[spend_i | θ] · P(alive_i | θ) · Σ_k w_k A(x_i, T_i, k m | θ),

with A(x, T, t) the expected purchases in (T, T + t] of a customer alive at T (free of t_x), m = 52/12
weeks and w the weights of a horizon and a discount rate (:func:`month_weights`). A is analytic in
log(α + T) and in log(α + T + t) within strips of half-width about π, so it is computed at Chebyshev
points only — per x, :data:`T_NODES` in log(α̂ + T), at each of them :data:`MONTH_NODES` in
log(α̂ + T + t) — and interpolated (barycentric) to every customer's T and every month: relative
error below 1e-9 (``tests/test_models_lifetime_value.py`` compares it with the direct formula).

For every draw, month k and column c (a group label of a grouping, for one set of customer weights:
their margins, or one each), the engine sums Σ_{i in c} weight_i E[spend_i] P(alive_i) A(x_i, T_i, k m)
once. A horizon and discount rate then take the weighted sum over k of those sums: the draws of
every total for a new setting without touching the customers. Per customer, the values at the
estimates come from A per distinct (x, T) at every month; the draws of a customer's value are
computed when asked for (the customers a page shows).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from scipy import sparse

from analytics.models.bgnbd import FitError, distinct_rows, expected_purchases, probability_alive
from analytics.models.gamma_gamma import expected_spend

#: Weeks in a month (the BG/NBD time unit is the week).
WEEKS_PER_MONTH = 52 / 12
#: Chebyshev points per x in log(α̂ + T), and per such point in log(α̂ + T + t).
T_NODES = 16
MONTH_NODES = 16
_CHUNK_VALUES = 2_000_000  # values (draws x customers) computed at once
_THREADS = 2  # numpy and scipy.special release the GIL in their loops: the machines have 2 cores


def month_weights(horizon_months: int, discount_rate: float, months: int) -> np.ndarray:
    """c_k with Σ_k c_k A(k m) = Σ_{k<=H} (A(k m) - A((k-1) m)) / (1 + d)^(k/12) (summation by parts; A(0) = 0),
    zero past the horizon, length ``months``."""
    discount = (1 + discount_rate) ** (-np.arange(1, horizon_months + 1) / 12)
    weights = np.zeros(months)
    weights[:horizon_months] = discount - np.append(discount[1:], 0.0)
    return weights


def chebyshev(low: float, high: float, n: int) -> np.ndarray:
    """``n`` Chebyshev points of the second kind on [low, high], ends included, ascending."""
    return (low + high) / 2 - (high - low) / 2 * np.cos(np.pi * np.arange(n) / (n - 1))


def barycentric(nodes: np.ndarray, at: np.ndarray) -> np.ndarray:
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


def row_quantiles(values: np.ndarray, probs: tuple[float, float]) -> np.ndarray:
    """Quantiles along axis 1 (numpy's default 'linear' method) from a full sort, which numpy vectorises:
    ten times faster than ``np.quantile``'s partition on rows of a few hundred draws."""
    ordered = np.sort(values, axis=1)
    h = (values.shape[1] - 1) * np.asarray(probs)
    below = np.floor(h).astype(int)
    above = np.minimum(below + 1, values.shape[1] - 1)
    return ordered[:, below] + (h - below) * (ordered[:, above] - ordered[:, below])


def _in_threads(function, pieces: list) -> list:
    with ThreadPoolExecutor(_THREADS) as pool:
        return list(pool.map(function, pieces))


class _Nodes:
    """The interpolation points of the distinct (x, T) pairs: per x, the pairs' T themselves when there are at most
    :data:`T_NODES`, else Chebyshev points in log(α̂ + T); at each, the months themselves when there are at most
    :data:`MONTH_NODES`, else Chebyshev points in log(α̂ + T + t). ``pairs`` (CSR, pairs x nodes) interpolates
    node values to the pairs; ``months[e]`` (months x month nodes) a node's month-node values to the months."""

    def __init__(self, px: np.ndarray, pT: np.ndarray, alpha: float, months: int):
        self.blocks = []  # (first pair, end pair, first node, end node) per x, pairs sorted by (x, T)
        rows, cols, vals, node_x, node_T = [], [], [], [], []
        bounds = np.flatnonzero(np.diff(px)) + 1
        for p0, p1 in zip(np.r_[0, bounds], np.r_[bounds, px.size], strict=True):
            T = pT[p0:p1]
            e0 = sum(len(n) for n in node_T)
            if T.size <= T_NODES:
                nodes, matrix = T, np.eye(T.size)
            else:
                u = np.log(alpha + T)
                node_u = chebyshev(u[0], u[-1], T_NODES)
                nodes, matrix = np.clip(np.exp(node_u) - alpha, T[0], T[-1]), barycentric(node_u, u)
                nodes[[0, -1]] = T[0], T[-1]
            r, c = np.nonzero(matrix)
            rows.append(p0 + r)
            cols.append(e0 + c)
            vals.append(matrix[r, c])
            node_x.append(np.full(nodes.size, px[p0]))
            node_T.append(nodes)
            self.blocks.append((p0, p1, e0, e0 + nodes.size))
        self.x, self.T = np.concatenate(node_x), np.concatenate(node_T)
        self.pairs = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                       shape=(px.size, self.x.size))
        steps = WEEKS_PER_MONTH * np.arange(1, months + 1)
        if months <= MONTH_NODES:
            self.times = np.broadcast_to(steps, (self.x.size, months))
            self.months = np.broadcast_to(np.eye(months), (self.x.size, months, months))
        else:
            v = np.log(alpha + self.T[:, None] + steps[[0, -1]])
            node_v = np.stack([chebyshev(lo, hi, MONTH_NODES) for lo, hi in v])
            self.times = np.exp(node_v) - alpha - self.T[:, None]
            self.times[:, [0, -1]] = steps[[0, -1]]
            at = np.log(alpha + self.T[:, None] + steps)
            self.months = np.stack([barycentric(n, a) for n, a in zip(node_v, at, strict=True)])

    def alive_purchases(self, params: np.ndarray) -> np.ndarray:
        """A at every node and month node, shape (n_params, nodes, month nodes), for ``params`` (n_params, 4)."""
        n = self.times.shape[1]
        x, T, t = np.repeat(self.x, n), np.repeat(self.T, n), self.times.ravel()

        def part(rows: np.ndarray) -> np.ndarray:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                return (expected_purchases(params, t[rows], x[rows], T[rows], T[rows])
                        / probability_alive(params, x[rows], T[rows], T[rows]))

        values = np.concatenate(_in_threads(part, np.array_split(np.arange(x.size), _THREADS)), axis=1)
        return values.reshape(params.shape[0], self.x.size, n)

    def at_months(self, values: np.ndarray, nodes: slice = slice(None)) -> np.ndarray:
        """Month-node values (n_params, nodes, month nodes) -> values at every month (n_params, nodes, months)."""
        return np.einsum("pej,ekj->pek", values, self.months[nodes], optimize=True)


class Engine:
    """Per fit: the interpolation nodes and their values under the estimates and every usable draw, and what the
    per-customer values need; :meth:`column_sums` gives the sums by draw, column and month."""

    def __init__(self, x, t_x, T, monetary, bg, gg, bg_draws, gg_draws, months: int):
        self.months = months
        spend_m = np.where((x > 0) & np.isfinite(monetary) & (monetary > 0), monetary, 0.0)
        first, self.key_of = distinct_rows(x, t_x, T, spend_m)
        self.kx, self.ktx, self.kT, self.km = x[first], t_x[first], T[first], spend_m[first]
        pair_first, self.pair = distinct_rows(self.kx, self.kT)
        self.nodes = _Nodes(self.kx[pair_first], self.kT[pair_first], float(bg[1]), months)
        values = self.nodes.alive_purchases(np.vstack([bg, bg_draws]))
        if not np.all(np.isfinite(values[0])):
            raise FitError("The purchase model gives no expected purchases at its estimates (2F1 has no finite value "
                           "there): check the fit.")
        # draws so extreme (a parameter the data hardly pins down) that 2F1 gives no number are left out
        finite = np.all(np.isfinite(values[1:]), axis=(1, 2))
        self.unusable_draws = int(np.count_nonzero(~finite))
        if finite.sum() < 0.9 * finite.size:
            raise FitError(f"{self.unusable_draws} of {finite.size} parameter draws give no value: the estimates are "
                           "too uncertain for an interval (see their standard errors). Use more customers or a longer "
                           "period.")
        self.bg_draws, self.gg_draws = bg_draws[finite], gg_draws[finite]
        self.node_values = values[np.r_[True, finite]]  # estimates first, then the usable draws
        # at the estimates: A per pair and month; P(alive) and the spend per key
        self.point_pairs = self.nodes.pairs @ self.nodes.at_months(self.node_values[:1])[0]
        self.point_alive = probability_alive(bg, self.kx, self.ktx, self.kT)
        self.point_spend = expected_spend(gg, self.kx, self.km)

    @functools.cached_property
    def _tables(self) -> tuple:
        """For :meth:`_unit`: log(α + w) per usable draw for every week value w of T and t_x, each key's index into
        them, and r, log a, b per draw."""
        weeks, index = np.unique(np.concatenate([self.kT, self.ktx]), return_inverse=True)
        r, alpha, a, b = (self.bg_draws[:, i, None] for i in range(4))
        return np.log(alpha + weeks), index[:self.kx.size], index[self.kx.size:], r, np.log(a), b

    def _unit(self, keys: np.ndarray, x: float | None = None) -> np.ndarray:
        """E[spend] · P(alive) per usable draw for the keys ``keys``, shape (n_draws, n_keys): the formulas of
        :func:`~analytics.models.bgnbd.probability_alive` (FHL 2005 eq. 11) and
        :func:`~analytics.models.gamma_gamma.expected_spend`, with the logs of α + T and α + t_x looked up per
        draw instead of taken per key (three times faster). ``x``: the keys' x when they all share it (a block of
        :meth:`column_sums`: the per-x terms are then one column)."""
        log_weeks, t_index, tx_index, r, log_a, b = self._tables
        p, q, g = (self.gg_draws[:, i, None] for i in range(3))
        xs, m = (self.kx[keys] if x is None else x), self.km[keys]
        spend = np.where(m > 0, (g + xs * m) * (p / (p * xs + q - 1)), p * g / (q - 1))
        if x == 0:
            return spend
        log_odds = (log_a - np.log(b + np.maximum(xs, 1) - 1)
                    + (r + xs) * (log_weeks[:, t_index[keys]] - log_weeks[:, tx_index[keys]]))
        with np.errstate(over="ignore"):
            alive = spend / (1 + np.exp(log_odds))
        return alive if x is not None else np.where(xs > 0, alive, spend)

    def column_sums(self, weight_sets: Mapping[str, np.ndarray], groups: Mapping[str, tuple[np.ndarray, int]]
                    ) -> tuple[np.ndarray, dict[tuple[str, str], slice]]:
        """Σ_{i in column} weight_i E[spend_i] P(alive_i) A(x_i, T_i, k m) per draw, column and month k, shape
        (n_draws, n_columns, months), and each (set, grouping)'s columns (without groupings, grouping "": everyone;
        with them, each grouping's columns add up to everyone).

        ``weight_sets``: weights per customer (margins, or ones), each set's sums apart; ``groups``: per grouping,
        a code per customer (0 .. n_labels - 1) and the number of labels."""
        entries, start, columns = [], 0, {}
        everyone = {"": (np.zeros(self.key_of.size, dtype=np.intp), 1)}
        for set_name, weights in weight_sets.items():
            for name, (codes, n_labels) in (groups or everyone).items():
                entries.append((self.key_of, start + codes, weights))
                columns[set_name, name] = slice(start, start + n_labels)
                start += n_labels
        n_columns = start
        keys, cols, vals = (np.concatenate(parts) for parts in zip(*entries, strict=True))
        order = np.argsort(self.pair, kind="stable")  # keys by (x, T): a block's keys are a contiguous run
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        by_key = sparse.csr_matrix((vals, (rank[keys], cols)), shape=(self.kx.size, n_columns))  # rows in that order
        starts = np.searchsorted(self.pair[order], [b[0] for b in self.nodes.blocks] + [self.nodes.pairs.shape[0]])
        n_draws = self.bg_draws.shape[0]
        chunk = max(1, _CHUNK_VALUES // n_draws)

        def block(i: int) -> np.ndarray:
            p0, p1, e0, e1 = self.nodes.blocks[i]
            sums = np.zeros(((p1 - p0) * n_columns, n_draws))  # per pair and column, by draw
            for k0 in range(starts[i], starts[i + 1], chunk):
                k1 = min(k0 + chunk, starts[i + 1])
                keys, part = order[k0:k1], by_key[k0:k1]
                shift = np.repeat((self.pair[keys] - p0) * n_columns, np.diff(part.indptr))
                spread = sparse.csr_matrix((part.data, part.indices + shift, part.indptr),
                                           shape=(keys.size, (p1 - p0) * n_columns))
                sums += spread.T @ self._unit(keys, float(self.nodes.x[e0])).T
            at_nodes = self.nodes.pairs[p0:p1, e0:e1].T @ sums.reshape(p1 - p0, n_columns * n_draws)
            at_nodes = at_nodes.reshape(e1 - e0, n_columns, n_draws).transpose(2, 1, 0)  # draw, column, node
            months = self.nodes.at_months(self.node_values[1:, e0:e1], slice(e0, e1))  # draw, node, month
            return at_nodes @ months

        def blocks(indices: list[int]) -> np.ndarray:
            total = np.zeros((n_draws, n_columns, self.months))
            for i in indices:
                total += block(i)
            return total

        # the blocks shared out between the threads, largest first, each to the one with fewer keys so far
        sizes, shares, loads = np.diff(starts), [[] for _ in range(_THREADS)], np.zeros(_THREADS)
        for i in np.argsort(-sizes, kind="stable"):
            j = int(np.argmin(loads))
            shares[j].append(int(i))
            loads[j] += sizes[i] + 1
        return sum(_in_threads(blocks, shares)), columns

    def pair_values(self, weights: np.ndarray, draws: bool) -> np.ndarray:
        """Σ_k w_k A per pair: at the estimates, shape (pairs,); or per usable draw, shape (n_draws, pairs)."""
        if not draws:
            return self.point_pairs @ weights
        per_node = np.einsum("dej,ekj,k->de", self.node_values[1:], self.nodes.months, weights, optimize=True)
        return (self.nodes.pairs @ per_node.T).T

    def key_draws(self, keys: np.ndarray, pair_values: np.ndarray) -> np.ndarray:
        """Future value per unit of margin of the keys ``keys`` for every usable draw, shape (n_draws, n_keys),
        given :meth:`pair_values` (draws)."""
        return pair_values[:, self.pair[keys]] * self._unit(keys)

    def labels(self, groups: Mapping[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Codes and labels per grouping (a missing label, None or NaN, is one label, NaN)."""
        out = {}
        for name, labels in groups.items():
            codes, uniques = pd.factorize(np.asarray(labels), use_na_sentinel=False)
            if codes.size != self.key_of.size:
                raise ValueError(f"The grouping '{name}' has {codes.size} labels for {self.key_of.size} customers.")
            out[name] = (codes, np.asarray(uniques))
        return out
