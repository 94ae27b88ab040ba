"""The demo's orders and returns, and the transaction rows they make.

Repeat orders form a non-homogeneous Poisson process whose intensity follows the
retail calendar, sampled exactly by inverting the cumulative intensity. An order has a
main category, a channel and a price level (promotions, coupons, the channel); its lines
(:mod:`.lines`) carry the products, with a customer-specific quantity level (Gamma
heterogeneity, as in the gamma-gamma spend model). The transaction rows are an
order-line export: one row per line, the order number on each line of its order.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analytics.ingest.demo.lines import draw_lines
from analytics.ingest.demo.sampling import choice_rows
from analytics.ingest.demo.seasons import new_year_shopping, promotion_prices, to_dates
from analytics.ingest.demo.world import (
    CAT_RETURN,
    CAT_SHARE,
    CATEGORIES,
    CHANNELS,
    PREF_CHANNEL,
    PRIMARY_CAT,
    PROD_NAME,
    REGIONS,
    REPS,
    SEG_CURVE,
)


def draw_orders(
    rng: np.random.Generator, c: dict[str, np.ndarray], curves: np.ndarray, start: dt.date
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Draw every order, its lines, and which lines are returned.

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
    tuple[dict[str, numpy.ndarray], dict[str, numpy.ndarray]]
        Per order: ``cust`` (internal customer index), ``day``, ``channel``, ``returned``
        (some of its lines are) and ``return_day``; per line: what
        :func:`.lines.draw_lines` returns, and ``returned``.
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

    # The main product's category: mostly the customer's favourite; the 春节 run-up
    # favours food gifts.
    loyal_cat = rng.random(n_orders) < PRIMARY_CAT
    cat = np.where(loyal_cat, c["primary_cat"][cust], choice_rows(rng, CAT_SHARE, segment[cust]))
    festive = new_year_shopping(start, n_days)
    cat = np.where(festive[day] & (rng.random(n_orders) < 0.15), CATEGORIES.index("食品"), cat)
    channel = np.where(
        rng.random(n_orders) < 0.8,
        c["pref_channel"][cust],
        choice_rows(rng, PREF_CHANNEL, np.full(n_orders, 2, np.int64)),
    )
    # Price level: promotions, a coupon now and then, and the channel.
    promo = promotion_prices(start, n_days)[day]
    discount = promo * np.where(rng.random(n_orders) < 0.2, 0.95, 1.0)
    discount *= np.array([1.0, 1.0, 0.98, 1.02, 0.99, 0.95])[channel]
    o = {"cust": cust, "day": day, "cat": cat, "channel": channel, "discount": discount, "promo": promo}
    lines = draw_lines(rng, c, o)

    # Returns: a refund of some of an order's lines a few days later, likelier from
    # unhappy customers; one return per order.
    line_cust = cust[lines["order"]]
    return_day = day + 1 + rng.poisson(5.0, n_orders)
    lines["returned"] = (
        (rng.random(len(line_cust)) < CAT_RETURN[lines["cat"]] * np.exp(-0.35 * c["sat"][line_cust]))
        & (return_day[lines["order"]] <= end_day)
    )
    returned = np.bincount(lines["order"][lines["returned"]], minlength=n_orders) > 0
    return {"cust": cust, "day": day, "channel": channel, "returned": returned,
            "return_day": return_day}, lines


def transaction_frame(
    rng: np.random.Generator,
    start: dt.date,
    c: dict[str, np.ndarray],
    o: dict[str, np.ndarray],
    lines: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Order lines and returned lines as transaction rows, an order-line export.

    Each order, and each order's return, gets a number like ``SO2024010500012`` /
    ``RT...`` (the day, then a serial within the day); its lines follow each other,
    with that number, customer, date, channel, region and sales rep.

    Parameters
    ----------
    rng : numpy.random.Generator
        The stream that orders the orders and returns of the same day.
    start : datetime.date
        First day of the window.
    c : dict[str, numpy.ndarray]
        The customers (see :func:`.customers.draw_customers`).
    o, lines : dict[str, numpy.ndarray]
        What :func:`draw_orders` returned.

    Returns
    -------
    pandas.DataFrame
        The canonical transaction columns, by date; a returned line is a row with negative
        amount and cost on its order's return day.
    """
    n_orders = len(o["cust"])
    # The documents: the orders, then a return for each order with returned lines.
    r = np.flatnonzero(o["returned"])
    doc_order = np.concatenate([np.arange(n_orders), r])
    doc_day = np.concatenate([o["day"], o["return_day"][r]])
    is_return = np.concatenate([np.zeros(n_orders, bool), np.ones(len(r), bool)])
    sort = np.lexsort((rng.random(len(doc_order)), doc_day))
    sorted_day = doc_day[sort]
    serial = np.arange(len(sort)) - np.searchsorted(sorted_day, sorted_day, side="left") + 1
    digits = max(5, len(str(int(serial.max()))))
    stamp = np.char.replace(np.datetime_as_string(np.datetime64(start, "D") + sorted_day, unit="D"), "-", "")
    prefix = np.where(is_return[sort], "RT", "SO")
    tid = np.char.add(np.char.add(prefix, stamp), np.char.zfill(serial.astype(str), digits))
    rank = np.empty(len(sort), np.int64)
    rank[sort] = np.arange(len(sort))

    # The rows: every line in its order, and each returned line in its order's return.
    back = np.flatnonzero(lines["returned"])
    return_doc = np.full(n_orders, -1)
    return_doc[r] = n_orders + np.arange(len(r))
    line = np.concatenate([np.arange(len(lines["order"])), back])
    doc = np.concatenate([lines["order"], return_doc[lines["order"][back]]])
    rows = np.lexsort((line, rank[doc]))
    line, doc = line[rows], doc[rows]
    order = doc_order[doc]
    who = o["cust"][order]
    sign = np.where(is_return[doc], -1.0, 1.0)
    return pd.DataFrame({
        "customer_id": c["ids"][who],
        "order_date": to_dates(start, doc_day[doc]),
        "amount": sign * lines["amount"][line],
        "transaction_id": tid[rank[doc]],
        "quantity": lines["quantity"][line].astype(np.int64),
        "cost": sign * lines["cost"][line],
        "region": np.array(REGIONS)[c["region"][who]],
        "channel": np.array(CHANNELS)[o["channel"][order]],
        "product": PROD_NAME[lines["product"][line]],
        "category": np.array(CATEGORIES)[lines["cat"][line]],
        "sales_rep": REPS.names[c["rep"][who]],
    })
