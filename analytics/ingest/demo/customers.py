"""The demo's customers: who they are, when they were acquired and their latent traits.

Each customer has a latent satisfaction, a purchase rate (Gamma distributed, as in
Pareto/NBD and BG/NBD), a lifetime (Gamma distributed around a mean that grows with
satisfaction) and a chance to never come back after the first purchase (BG/NBD style,
more likely when dissatisfied). About a fifth were acquired in the two years before
the window and are still buying at its start.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analytics.ingest.demo.sampling import choice_rows, choose, pick, pick_in_region, sample_days
from analytics.ingest.demo.seasons import to_dates
from analytics.ingest.demo.world import (
    ACQ_CHANNELS,
    ACQ_COST,
    ACQ_ONETIME,
    ACQ_RATE,
    ACQ_SAT,
    ACQ_SHARE,
    BRANDS,
    CAT_RATE,
    CAT_SHARE,
    CITY_NAMES,
    GIVEN,
    GROWTH,
    INDUSTRIES,
    LEAD_SOURCES,
    LEGACY_SAT,
    LEGACY_SHARE,
    LEGACY_YEARS,
    LIFE_SHAPE,
    PREF_CHANNEL,
    QTY_SHAPE,
    REGION_WEIGHTS,
    REGIONS,
    REPS,
    SAT_LIFE,
    SAT_ONETIME,
    SEG_CURVE,
    SEG_LIFE,
    SEG_ONETIME,
    SEG_QTY,
    SEG_RATE,
    SEG_RATE_SHAPE,
    SEG_SHARE,
    SEGMENTS,
    SHOP_KINDS,
    SHOP_WORDS,
    SURNAMES,
)


def names(rng: np.random.Generator, segment: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Chinese person names for individuals, shop names and company names for businesses.

    Parameters
    ----------
    rng : numpy.random.Generator
        The customers' stream.
    segment, region : numpy.ndarray
        Index into ``SEGMENTS`` and into ``REGIONS`` of each customer; shops and
        companies are named after a city of the customer's region.

    Returns
    -------
    numpy.ndarray
        One name per customer.
    """
    n = len(segment)
    given = pick(rng, GIVEN, n)
    two = rng.random(n) < 0.7
    given = np.where(two, np.char.add(given, pick(rng, GIVEN, n)), given)
    person = np.char.add(pick(rng, SURNAMES, n), given)
    city = CITY_NAMES.names[pick_in_region(rng, CITY_NAMES, region)]
    company = np.char.add(
        np.char.add(np.char.add(city, pick(rng, BRANDS, n)), pick(rng, INDUSTRIES, n)),
        "有限公司",
    )
    shop = np.char.add(np.char.add(city, pick(rng, SHOP_WORDS, n)), pick(rng, SHOP_KINDS, n))
    return np.where(segment == 0, person, np.where(segment == 1, shop, company))


def draw_customers(
    rng: np.random.Generator,
    size: int,
    lead: dict[str, np.ndarray],
    won_idx: np.ndarray,
    curves: np.ndarray,
    growth: np.ndarray,
) -> dict[str, np.ndarray]:
    """Draw the customers and their latent traits.

    The first ``len(won_idx)`` customers are won leads, then customers acquired in the
    window, then "legacy" customers acquired in the two years before it and still
    buying at its start. Day numbers count from the window start.

    Parameters
    ----------
    rng : numpy.random.Generator
        The customers' stream.
    size : int
        Number of customers.
    lead : dict[str, numpy.ndarray]
        The leads (see :func:`.leads.draw_leads`).
    won_idx : numpy.ndarray
        The leads that became customers, at most ``size``.
    curves : numpy.ndarray
        The daily intensity of the three calendars (see :func:`.seasons.intensity`).
    growth : numpy.ndarray
        The daily growth factor of customer acquisition.

    Returns
    -------
    dict[str, numpy.ndarray]
        Per customer (by internal index): ``segment``, ``legacy``, ``region``, ``rep``,
        ``acq_channel``, the days ``acquired`` and ``first`` (of the first purchase; -1
        for legacy customers), ``sat``, ``lifetime`` (days), ``rate`` (repeat orders a
        day), ``qty_level``, ``primary_cat``, ``pref_channel``, ``names``, ``acq_cost``
        and ``ids``; ``order[k]`` is the customer with id k + 1.
    """
    n_days = curves.shape[1]
    end_day = n_days - 1
    n_won = len(won_idx)
    n_legacy = round((size - n_won) * LEGACY_SHARE)
    n_new = size - n_won - n_legacy
    n_other = n_new + n_legacy
    seg_other = choose(rng, SEG_SHARE, n_other)
    seg_won = np.where(rng.random(n_won) < 0.85, 2, 1)
    segment = np.concatenate([seg_won, seg_other])
    legacy = np.zeros(size, bool)
    legacy[n_won + n_new:] = True
    region = np.concatenate([lead["region"][won_idx], choose(rng, REGION_WEIGHTS, n_other)])
    rep = np.concatenate([lead["rep"][won_idx], pick_in_region(rng, REPS, region[n_won:])])
    source_as_channel = np.array([ACQ_CHANNELS.index(s) for s in LEAD_SOURCES])
    acq_channel = np.concatenate([
        source_as_channel[lead["source"][won_idx]],
        choice_rows(rng, ACQ_SHARE, seg_other),
    ])
    history = LEGACY_YEARS * 365
    legacy_weight = np.exp(GROWTH * np.arange(-history, 0) / 365.25)[None, :]
    acquired = np.concatenate([
        lead["closed"][won_idx],
        sample_days(rng, curves ** 0.7 * growth, SEG_CURVE[seg_other[:n_new]]),
        sample_days(rng, legacy_weight, np.zeros(n_legacy, np.int64)) - history,
    ])
    # Most buy on the day they register; some take a few days. Legacy customers'
    # first purchase lies before the window.
    first = acquired + np.where(rng.random(size) < 0.7, 0, rng.geometric(0.15, size))
    first = np.where(legacy, -1, np.minimum(first, end_day))

    rep_service = rng.normal(0.0, 0.25, len(REPS.names))[rep]
    sat = rng.normal(0.0, 1.0, size) + ACQ_SAT[acq_channel] + rep_service
    sat += np.where(legacy, LEGACY_SAT, 0.0)  # survivors are the more satisfied ones
    onetime_logit = SEG_ONETIME[segment] + ACQ_ONETIME[acq_channel] - SAT_ONETIME * sat
    onetime = ~legacy & (rng.random(size) < 1.0 / (1.0 + np.exp(-onetime_logit)))
    life_mean = SEG_LIFE[segment] * np.exp(SAT_LIFE * sat)
    lifetime = np.where(onetime, 0.0, rng.gamma(LIFE_SHAPE, life_mean / LIFE_SHAPE))
    shape = SEG_RATE_SHAPE[segment]
    primary_cat = choice_rows(rng, CAT_SHARE, segment)
    mean_rate = SEG_RATE[segment] * ACQ_RATE[acq_channel] * CAT_RATE[primary_cat]
    rate = rng.gamma(shape, mean_rate / shape)
    qty_level = rng.gamma(QTY_SHAPE, SEG_QTY[segment] / QTY_SHAPE)
    pref_channel = choice_rows(rng, PREF_CHANNEL, acq_channel)
    pref_channel = np.where((segment == 2) & (rng.random(size) < 0.5), 5, pref_channel)
    customer_names = names(rng, segment, region)
    acq_cost = np.round(
        ACQ_COST[acq_channel] * np.array([1.0, 1.6, 2.8])[segment]
        * np.exp(rng.normal(0.0, 0.35, size)),
        2,
    )
    # Customer ids in order of acquisition.
    order = np.lexsort((rng.random(size), acquired))
    rank = np.empty(size, np.int64)
    rank[order] = np.arange(size)
    width = max(6, len(str(size)))
    ids = np.char.zfill((rank + 1).astype(str), width)
    return {
        "segment": segment, "legacy": legacy, "region": region, "rep": rep,
        "acq_channel": acq_channel, "acquired": acquired, "first": first, "sat": sat,
        "lifetime": lifetime, "rate": rate, "qty_level": qty_level,
        "primary_cat": primary_cat, "pref_channel": pref_channel, "names": customer_names,
        "acq_cost": acq_cost, "order": order, "ids": ids,
    }


def customer_frame(start: dt.date, c: dict[str, np.ndarray]) -> pd.DataFrame:
    """The customer master data, in id order.

    Parameters
    ----------
    start : datetime.date
        First day of the window.
    c : dict[str, numpy.ndarray]
        What :func:`draw_customers` returned.

    Returns
    -------
    pandas.DataFrame
        The canonical customer columns.
    """
    order = c["order"]
    return pd.DataFrame({
        "customer_id": c["ids"][order],
        "customer_name": c["names"][order],
        "region": np.array(REGIONS)[c["region"][order]],
        "segment": np.array(SEGMENTS)[c["segment"][order]],
        "acquired_date": to_dates(start, c["acquired"][order]),
        "acquisition_channel": np.array(ACQ_CHANNELS)[c["acq_channel"][order]],
        "acquisition_cost": c["acq_cost"][order],
    })
