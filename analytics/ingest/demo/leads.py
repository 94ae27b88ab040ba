"""The demo's sales funnel: leads pass 线索 → 意向 → 报价 → 成交/流失.

Conversion at each step depends on the lead's source and on the sales rep's skill;
won leads become (mostly corporate) customers in :mod:`.customers`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analytics.ingest.demo.sampling import choose, pick_in_region, sample_days
from analytics.ingest.demo.seasons import NA, to_dates
from analytics.ingest.demo.world import (
    LEAD_SOURCE_LIFT,
    LEAD_SOURCE_SHARE,
    LEAD_SOURCES,
    LEAD_STAGES,
    REGION_WEIGHTS,
    REGIONS,
    REPS,
)


def draw_leads(
    rng: np.random.Generator, n: int, n_days: int, growth: np.ndarray, business: np.ndarray
) -> dict[str, np.ndarray]:
    """Simulate the sales funnel.

    Parameters
    ----------
    rng : numpy.random.Generator
        The leads' stream.
    n : int
        Number of leads.
    n_days : int
        Length of the window.
    growth, business : numpy.ndarray
        Daily growth factor and business calendar intensity; leads are created in
        proportion to their product.

    Returns
    -------
    dict[str, numpy.ndarray]
        Per lead: day numbers ``created``, ``qualified``, ``proposal`` and ``closed``
        (``NA`` when not reached by the end of the window), ``stage`` (index into
        ``LEAD_STAGES``), ``region``, ``rep`` (index into ``REPS.names``) and ``source``
        (index into ``LEAD_SOURCES``).
    """
    created = sample_days(rng, (business * growth)[None, :], np.zeros(n, np.int64))
    region = choose(rng, REGION_WEIGHTS, n)
    rep = pick_in_region(rng, REPS, region)
    source = choose(rng, LEAD_SOURCE_SHARE, n)
    skill = np.exp(rng.normal(0.0, 0.22, len(REPS.names)))[rep]
    lift = LEAD_SOURCE_LIFT[source]
    p_qualify = np.clip(0.34 * lift * skill, 0.02, 0.95)
    p_propose = np.clip(0.64 * np.sqrt(lift * skill), 0.02, 0.95)
    p_win = np.clip(0.46 * np.sqrt(lift) * skill, 0.02, 0.95)
    u = rng.random((3, n))
    qualified = u[0] < p_qualify
    proposed = qualified & (u[1] < p_propose)
    won = proposed & (u[2] < p_win)

    def delay(base: int, scale: float) -> np.ndarray:
        return base + np.round(rng.gamma(2.0, scale, n)).astype(np.int64)

    d_qualified = created + delay(1, 3.0)
    d_proposal = d_qualified + delay(2, 5.0)
    d_closed = d_proposal + delay(3, 8.0)
    # A lost lead is closed some time after the last stage it reached.
    last = np.where(proposed, d_proposal, np.where(qualified, d_qualified, created))
    d_lost = last + delay(4, 9.0)
    d_closed = np.where(won, d_closed, d_lost)

    end_day = n_days - 1
    has_qualified = qualified & (d_qualified <= end_day)
    has_proposal = proposed & (d_proposal <= end_day)
    closed = d_closed <= end_day
    stage = np.where(
        closed,
        np.where(won, 3, 4),
        np.where(has_proposal, 2, np.where(has_qualified, 1, 0)),
    )
    return {
        "created": created,
        "qualified": np.where(has_qualified, d_qualified, NA),
        "proposal": np.where(has_proposal, d_proposal, NA),
        "closed": np.where(closed, d_closed, NA),
        "stage": stage,
        "region": region,
        "rep": rep,
        "source": source,
    }


def lead_frame(
    rng: np.random.Generator,
    start: dt.date,
    lead: dict[str, np.ndarray],
    won_idx: np.ndarray,
    ids: np.ndarray,
) -> pd.DataFrame:
    """The leads in order of creation, with ids like ``XS000123``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The stream that orders leads created on the same day.
    start : datetime.date
        First day of the window.
    lead : dict[str, numpy.ndarray]
        What :func:`draw_leads` returned.
    won_idx : numpy.ndarray
        The won leads; the k-th of them became the customer with internal index k.
    ids : numpy.ndarray
        Customer id of each internal customer index.

    Returns
    -------
    pandas.DataFrame
        The canonical lead columns; won leads point at the customers they became.
    """
    n_leads = len(lead["created"])
    customer = np.full(n_leads, None, dtype=object)
    customer[won_idx] = ids[np.arange(len(won_idx))]
    order = np.lexsort((rng.random(n_leads), lead["created"]))
    outcome = np.array([None, None, None, "won", "lost"], dtype=object)[lead["stage"]]
    return pd.DataFrame({
        "lead_id": np.char.add("XS", np.char.zfill(np.arange(1, n_leads + 1).astype(str), 6)),
        "created_date": to_dates(start, lead["created"][order]),
        "stage": np.array(LEAD_STAGES)[lead["stage"][order]],
        "customer_id": pd.array(customer[order], dtype="str"),
        "region": np.array(REGIONS)[lead["region"][order]],
        "source": np.array(LEAD_SOURCES)[lead["source"][order]],
        "sales_rep": REPS.names[lead["rep"][order]],
        "qualified_date": to_dates(start, lead["qualified"][order]),
        "proposal_date": to_dates(start, lead["proposal"][order]),
        "closed_date": to_dates(start, lead["closed"][order]),
        "outcome": pd.array(outcome[order], dtype="str"),
    })
