"""The demo's orders and returns, and the transaction rows they make.

Repeat orders form a non-homogeneous Poisson process whose intensity follows the
retail calendar, sampled exactly by inverting the cumulative intensity. Order value
comes from the product's list price, a customer-specific quantity level (Gamma
heterogeneity, as in the gamma-gamma spend model), promotions and the channel.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analytics.ingest.demo.sampling import choice_rows
from analytics.ingest.demo.seasons import new_year_shopping, promotion_prices, to_dates
from analytics.ingest.demo.world import (
    CAT_MARGIN,
    CAT_RETURN,
    CAT_SHARE,
    CATEGORIES,
    CHANNELS,
    PREF_CHANNEL,
    PRIMARY_CAT,
    PROD_CAT,
    PROD_NAME,
    PROD_POP,
    PROD_PRICE,
    PRODUCTS,
    REGIONS,
    REPS,
    SEG_CURVE,
)


def draw_orders(
    rng: np.random.Generator, c: dict[str, np.ndarray], curves: np.ndarray, start: dt.date
) -> dict[str, np.ndarray]:
    """Draw every order (one product line each) and which of them are returned.

    Parameters
    ----------
    rng : numpy.random.Generator
        The orders' stream.
    c : dict[str, numpy.ndarray]
        The customers (see :func:`.customers.draw_customers`).
    curves : numpy.ndarray
        The daily intensity of the three calendars (see :func:`.seasons.intensity`).
    start : datetime.date
        First day of the window.

    Returns
    -------
    dict[str, numpy.ndarray]
        Per order: ``cust`` (internal customer index), ``day``, ``cat``, ``product``,
        ``quantity``, ``channel``, ``amount``, ``cost``, ``returned`` and ``return_day``.
    """
    size = len(c["segment"])
    n_days = curves.shape[1]
    end_day = n_days - 1
    legacy, first, segment = c["legacy"], c["first"], c["segment"]

    # Repeat orders: a Poisson process with the customer's rate on the segment's
    # calendar while the customer is alive, sampled by inverting the cumulative
    # intensity (all segments' curves laid end to end).
    cum = np.cumsum(curves, axis=1)
    flat = (cum + np.concatenate([[0.0], np.cumsum(cum[:, -1])[:-1]])[:, None]).ravel()
    curve = SEG_CURVE[segment]
    last_alive = np.minimum(first + np.floor(c["lifetime"]).astype(np.int64), end_day)
    lo = np.where(legacy, flat[curve * n_days] - curves[curve, 0], flat[curve * n_days + first])
    hi = np.where(last_alive < 0, lo, flat[curve * n_days + np.maximum(last_alive, 0)])
    repeats = rng.poisson(c["rate"] * np.maximum(hi - lo, 0.0))
    newcomers = np.flatnonzero(~legacy)
    cust = np.concatenate([newcomers, np.repeat(np.arange(size), repeats)])
    u = np.repeat(lo, repeats) + rng.random(int(repeats.sum())) * np.repeat(hi - lo, repeats)
    repeat_day = np.searchsorted(flat, u, side="left") - np.repeat(curve, repeats) * n_days
    day = np.concatenate([first[newcomers], np.clip(repeat_day, 0, end_day)])
    n_orders = len(cust)

    # Product: mostly the customer's favourite category; the 春节 run-up favours food gifts.
    loyal_cat = rng.random(n_orders) < PRIMARY_CAT
    cat = np.where(loyal_cat, c["primary_cat"][cust], choice_rows(rng, CAT_SHARE, segment[cust]))
    festive = new_year_shopping(start, n_days)
    cat = np.where(festive[day] & (rng.random(n_orders) < 0.15), CATEGORIES.index("食品"), cat)
    pop = np.zeros((len(CATEGORIES), len(PRODUCTS)))
    pop[PROD_CAT, np.arange(len(PRODUCTS))] = PROD_POP
    product = choice_rows(rng, pop, cat)
    price = PROD_PRICE[product]
    cheap = np.clip((300.0 / price) ** 0.35, 0.35, 1.8)  # more units of cheap products
    quantity = 1 + rng.poisson(c["qty_level"][cust] * cheap)
    channel = np.where(
        rng.random(n_orders) < 0.8,
        c["pref_channel"][cust],
        choice_rows(rng, PREF_CHANNEL, np.full(n_orders, 2, np.int64)),
    )

    # Price paid: list price, promotions, the channel and a little noise.
    promo = promotion_prices(start, n_days)
    discount = promo[day] * np.where(rng.random(n_orders) < 0.2, 0.95, 1.0)
    discount *= np.array([1.0, 1.0, 0.98, 1.02, 0.99, 0.95])[channel]
    unit = price * discount * np.exp(rng.normal(0.0, 0.03, n_orders))
    amount = np.round(unit * quantity, 2)
    margin = np.clip(
        CAT_MARGIN[cat] + rng.normal(0.0, 0.025, n_orders) - 0.6 * (1.0 - promo[day]),
        0.20, 0.45,
    )
    cost = np.round(amount * (1.0 - margin), 2)

    # Returns: a refund of the order a few days later, likelier from unhappy customers.
    returned = rng.random(n_orders) < CAT_RETURN[cat] * np.exp(-0.35 * c["sat"][cust])
    return_day = day + 1 + rng.poisson(5.0, n_orders)
    returned &= return_day <= end_day
    return {
        "cust": cust, "day": day, "cat": cat, "product": product, "quantity": quantity,
        "channel": channel, "amount": amount, "cost": cost, "returned": returned,
        "return_day": return_day,
    }


def transaction_frame(
    rng: np.random.Generator,
    start: dt.date,
    c: dict[str, np.ndarray],
    o: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Orders and returns as transaction rows with ids like ``SO2024010500012``/``RT...``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The stream that orders the rows of the same day.
    start : datetime.date
        First day of the window.
    c : dict[str, numpy.ndarray]
        The customers (see :func:`.customers.draw_customers`).
    o : dict[str, numpy.ndarray]
        What :func:`draw_orders` returned.

    Returns
    -------
    pandas.DataFrame
        The canonical transaction columns, by date; a return is a row with negative
        amount and cost on its return day.
    """
    n_orders = len(o["cust"])
    r = np.flatnonzero(o["returned"])
    all_cust = np.concatenate([o["cust"], o["cust"][r]])
    all_day = np.concatenate([o["day"], o["return_day"][r]])
    is_return = np.concatenate([np.zeros(n_orders, bool), np.ones(len(r), bool)])
    sort = np.lexsort((rng.random(len(all_cust)), all_day))
    sorted_day = all_day[sort]
    serial = np.arange(len(sort)) - np.searchsorted(sorted_day, sorted_day, side="left") + 1
    digits = max(5, len(str(int(serial.max()))))
    stamp = np.datetime_as_string(np.datetime64(start, "D") + sorted_day, unit="D")
    stamp = np.char.replace(stamp, "-", "")
    prefix = np.where(is_return[sort], "RT", "SO")
    tid = np.char.add(np.char.add(prefix, stamp), np.char.zfill(serial.astype(str), digits))
    row = np.concatenate([np.arange(n_orders), r])[sort]
    sign = np.where(is_return[sort], -1.0, 1.0)
    who = all_cust[sort]
    return pd.DataFrame({
        "customer_id": c["ids"][who],
        "order_date": to_dates(start, sorted_day),
        "amount": sign * o["amount"][row],
        "transaction_id": tid,
        "quantity": o["quantity"][row].astype(np.int64),
        "cost": sign * o["cost"][row],
        "region": np.array(REGIONS)[c["region"][who]],
        "channel": np.array(CHANNELS)[o["channel"][row]],
        "product": PROD_NAME[o["product"][row]],
        "category": np.array(CATEGORIES)[o["cat"][row]],
        "sales_rep": REPS.names[c["rep"][who]],
    })
