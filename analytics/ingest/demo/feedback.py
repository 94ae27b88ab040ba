"""The demo's customer feedback: surveys (CSAT and NPS) and complaints.

Both are drawn per order, with probabilities and scores that depend on the customer's
latent satisfaction and on whether the order was returned (some of its lines).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics.ingest.demo.sampling import choose
from analytics.ingest.demo.seasons import NA, to_dates
from analytics.ingest.demo.world import (
    COMPLAINT_CATEGORIES,
    COMPLAINT_COMMENTS,
    COMPLAINT_SHARE,
    CSAT_COMMENTS,
    NPS_COMMENTS,
)


def comments(
    rng: np.random.Generator, table: Sequence[Sequence[str]], band: np.ndarray, share: float
) -> np.ndarray:
    """Pick a comment from ``table[band]`` for a ``share`` of rows; the others stay empty.

    Parameters
    ----------
    rng : numpy.random.Generator
        The feedback stream.
    table : Sequence[Sequence[str]]
        The comments of each band.
    band : numpy.ndarray
        Integer band (row of ``table``) of each row.
    share : float
        Probability that a row has a comment.

    Returns
    -------
    numpy.ndarray
        ``object`` array of comments, ``None`` where there is none.
    """
    width = max(len(row) for row in table)
    grid = np.array([[row[i % len(row)] for i in range(width)] for row in table], dtype=object)
    out = grid[band, rng.integers(0, width, len(band))]
    out[rng.random(len(band)) >= share] = None
    return out


def feedback_frame(
    rng: np.random.Generator,
    start: dt.date,
    end_day: int,
    c: dict[str, np.ndarray],
    o: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Draw the surveys after a sample of orders and the complaints.

    Parameters
    ----------
    rng : numpy.random.Generator
        The feedback stream.
    start : datetime.date
        First day of the window.
    end_day : int
        Day number of the last day; later feedback is dropped.
    c : dict[str, numpy.ndarray]
        The customers (see :func:`.customers.draw_customers`).
    o : dict[str, numpy.ndarray]
        The orders (the first of what :func:`.orders.draw_orders` returns).

    Returns
    -------
    pandas.DataFrame
        The canonical feedback columns, by date, with ids like ``FB0000123``.
    """
    ids, sat, cust, day, returned = c["ids"], c["sat"], o["cust"], o["day"], o["returned"]
    n_orders = len(cust)
    # Surveys: about one order in twenty gets a questionnaire a few days later.
    surveyed = np.flatnonzero(rng.random(n_orders) < 0.05)
    s_day = day[surveyed] + 1 + rng.poisson(2.0, len(surveyed))
    keep = s_day <= end_day
    surveyed, s_day = surveyed[keep], s_day[keep]
    n_s = len(surveyed)
    experience = sat[cust[surveyed]] + rng.normal(0.0, 0.9, n_s) - 1.3 * returned[surveyed]
    is_csat = rng.random(n_s) < 0.7
    csat = np.searchsorted(np.array([-1.9, -1.3, -0.5, 0.65]), experience) + 1
    nps = np.searchsorted(np.array([-2.6, -2.2, -1.9, -1.6, -1.3, -1.0, -0.55, 0.0, 0.55, 1.2]),
                          experience)
    score = np.where(is_csat, csat, nps).astype(float)
    csat_band = csat - 1
    nps_band = np.where(nps <= 6, 0, np.where(nps <= 8, 1, 2))
    s_comment = np.where(
        is_csat,
        comments(rng, CSAT_COMMENTS, csat_band, 0.35),
        comments(rng, NPS_COMMENTS, nps_band, 0.3),
    )

    # Complaints: rare, much more likely from dissatisfied customers and after returns.
    p_complaint = 0.009 * np.exp(-0.9 * sat[cust]) + 0.15 * returned
    complained = np.flatnonzero(rng.random(n_orders) < p_complaint)
    c_day = day[complained] + 1 + rng.poisson(3.0, len(complained))
    keep = c_day <= end_day
    complained, c_day = complained[keep], c_day[keep]
    n_c = len(complained)
    c_cat = np.where(returned[complained], 4, choose(rng, COMPLAINT_SHARE, n_c))
    resolve = c_day + np.minimum(np.round(rng.gamma(1.4, 4.0, n_c)), 30).astype(np.int64)
    resolved = (rng.random(n_c) >= 0.04) & (resolve <= end_day)
    c_comment = comments(rng, COMPLAINT_COMMENTS, c_cat, 0.8)

    f_day = np.concatenate([s_day, c_day])
    sort = np.lexsort((rng.random(len(f_day)), f_day))
    kind = np.concatenate([np.full(n_s, "survey"), np.full(n_c, "complaint")])
    scale = np.concatenate([np.where(is_csat, "CSAT", "NPS"), np.full(n_c, None)]).astype(object)
    category = np.concatenate([np.full(n_s, None), np.array(COMPLAINT_CATEGORIES)[c_cat]])
    resolved_day = np.concatenate([np.full(n_s, NA), np.where(resolved, resolve, NA)])
    f_cust = np.concatenate([cust[surveyed], cust[complained]])
    return pd.DataFrame({
        "customer_id": ids[f_cust[sort]],
        "feedback_date": to_dates(start, f_day[sort]),
        "score": np.concatenate([score, np.full(n_c, np.nan)])[sort],
        "feedback_id": np.char.add("FB", np.char.zfill(np.arange(1, len(sort) + 1).astype(str), 7)),
        "scale": pd.array(scale[sort], dtype="str"),
        "feedback_kind": kind[sort],
        "category": pd.array(category.astype(object)[sort], dtype="str"),
        "resolved_date": to_dates(start, resolved_day[sort]),
        "comment": pd.array(np.concatenate([s_comment, c_comment]).astype(object)[sort],
                            dtype="str"),
    })
