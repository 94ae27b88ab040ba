"""Vectorised draws the demo simulation is built from.

Each function consumes its ``numpy.random.Generator`` in a fixed way, so the same
stream always gives the same draws.
"""

from __future__ import annotations

import numpy as np

from analytics.ingest.demo.world import PerRegion


def choice_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw one column index per element of ``rows`` from the row-wise distributions ``probs``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The stream to draw from (one uniform number per element of ``rows``).
    probs : numpy.ndarray
        Shape ``(k, m)``; row ``i`` holds the (not necessarily normalised) weights of
        distribution ``i``.
    rows : numpy.ndarray
        Integer row of ``probs`` to draw from, one per draw.

    Returns
    -------
    numpy.ndarray
        Column indices, same length as ``rows``.
    """
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(len(probs))[:, None]).ravel()
    u = rows + rng.random(len(rows))
    return np.searchsorted(flat, u, side="right") - rows * probs.shape[1]


def choose(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """Draw ``n`` indices from the single distribution ``probs`` (weights, shape ``(m,)``).

    Parameters
    ----------
    rng : numpy.random.Generator
        The stream to draw from.
    probs : numpy.ndarray
        Weights of the ``m`` outcomes.
    n : int
        Number of draws.

    Returns
    -------
    numpy.ndarray
        ``n`` indices into ``probs``.
    """
    return choice_rows(rng, probs[None, :], np.zeros(n, np.int64))


def sample_days(rng: np.random.Generator, weights: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Draw one day per element of ``groups`` with probability ``weights[group, day]``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The stream to draw from.
    weights : numpy.ndarray
        Shape ``(k, n_days)``: the daily weights of each group.
    groups : numpy.ndarray
        Integer group of each draw.

    Returns
    -------
    numpy.ndarray
        Day numbers, same length as ``groups``.
    """
    return choice_rows(rng, weights, groups)


def pick(rng: np.random.Generator, options: np.ndarray, n: int) -> np.ndarray:
    """Draw ``n`` elements of ``options`` uniformly, with replacement.

    Parameters
    ----------
    rng : numpy.random.Generator
        The stream to draw from.
    options : numpy.ndarray
        What to draw from.
    n : int
        Number of draws.

    Returns
    -------
    numpy.ndarray
        ``n`` elements of ``options``.
    """
    return options[rng.integers(0, len(options), n)]


def pick_in_region(rng: np.random.Generator, table: PerRegion, region: np.ndarray) -> np.ndarray:
    """Draw uniformly one name of each element's region.

    Parameters
    ----------
    rng : numpy.random.Generator
        The stream to draw from.
    table : PerRegion
        The names of each region (sales reps, cities).
    region : numpy.ndarray
        Integer region (index into ``REGIONS``) of each draw.

    Returns
    -------
    numpy.ndarray
        Indices into ``table.names``, same length as ``region``.
    """
    return table.start[region] + (rng.random(len(region)) * table.count[region]).astype(np.int64)
