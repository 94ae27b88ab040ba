"""The lines of the demo's orders: which products an order holds, how many of each, at what price.

An order has a geometric number of lines (business customers' orders more). Its first
line is the order's main product; further lines are more often cheap add-ons, half of
them from the main product's category. A product drawn twice for one order is one line
with the units of both, as a shopping cart has it. Then, as in real order exports, a few
orders hold a product twice after all: a second line of it at another price (a second
piece at a discount), or one line entered twice (two identical lines, two purchases).
"""

from __future__ import annotations

import numpy as np

from analytics.ingest.demo.sampling import choice_rows, choose
from analytics.ingest.demo.world import (
    ADDON_CHEAP,
    ADDON_SAME_CAT,
    CAT_MARGIN,
    CAT_SHARE,
    CATEGORIES,
    PROD_CAT,
    PROD_POP,
    PROD_PRICE,
    PRODUCTS,
    SEG_LINE_STOP,
    TWICE_SHARE,
)


def _pick_weights() -> np.ndarray:
    """Product weights per category: rows ``0..5`` for an order's main product (popularity),
    rows ``6..11`` for a further line (popularity, favouring cheap products)."""
    pick = np.zeros((2 * len(CATEGORIES), len(PRODUCTS)))
    columns = np.arange(len(PRODUCTS))
    pick[PROD_CAT, columns] = PROD_POP
    pick[PROD_CAT + len(CATEGORIES), columns] = PROD_POP * (PROD_PRICE / 300.0) ** -ADDON_CHEAP
    return pick


def _one_line_per_product(
    order: np.ndarray, product: np.ndarray, quantity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Merge the lines of one product in one order into the first of them.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        The kept lines (indices, in their original order) and their summed quantities.
    """
    sort = np.lexsort((np.arange(len(order)), product, order))
    key = order[sort] * len(PRODUCTS) + product[sort]
    head = np.concatenate([[True], key[1:] != key[:-1]])
    units = np.bincount(np.cumsum(head) - 1, weights=quantity[sort]).astype(np.int64)
    kept = sort[head]
    back = np.argsort(kept)
    return kept[back], units[back]


def draw_lines(
    rng: np.random.Generator, c: dict[str, np.ndarray], o: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Draw every order's lines, with their quantities, amounts and costs.

    Parameters
    ----------
    rng : numpy.random.Generator
        The orders' stream.
    c : dict[str, numpy.ndarray]
        The customers (see :func:`.customers.draw_customers`).
    o : dict[str, numpy.ndarray]
        The orders: per order ``cust``, ``cat`` (the main product's category),
        ``discount`` (price paid over list price) and ``promo`` (the day's promotion
        price level); see :func:`.orders.draw_orders`.

    Returns
    -------
    dict[str, numpy.ndarray]
        Per line, grouped by order and in line order: ``order`` (index into the orders),
        ``cat``, ``product``, ``quantity``, ``amount`` and ``cost``.
    """
    n_orders = len(o["cust"])
    cust = o["cust"]
    segment = c["segment"][cust]
    n_lines = rng.geometric(SEG_LINE_STOP[segment])
    order = np.repeat(np.arange(n_orders), n_lines)
    n = len(order)
    further = np.arange(n) > np.repeat(np.cumsum(n_lines) - n_lines, n_lines)  # not the main product
    same_cat = ~further | (rng.random(n) < ADDON_SAME_CAT)
    cat = np.where(same_cat, o["cat"][order], choice_rows(rng, CAT_SHARE, segment[order]))
    product = choice_rows(rng, _pick_weights(), cat + len(CATEGORIES) * further)
    cheap = np.clip((300.0 / PROD_PRICE[product]) ** 0.35, 0.35, 1.8)  # more units of cheap products
    quantity = 1 + rng.poisson(c["qty_level"][cust[order]] * cheap)
    kept, quantity = _one_line_per_product(order, product, quantity)
    order, cat, product = order[kept], cat[kept], product[kept]

    # A few orders hold a product twice: one of their lines again at another price, or
    # one of their lines entered twice.
    per_order = np.bincount(order, minlength=n_orders)
    twice = choose(rng, TWICE_SHARE, n_orders)
    which = np.cumsum(per_order) - per_order + (rng.random(n_orders) * per_order).astype(np.int64)
    repriced = which[twice == 1]
    price_factor = np.concatenate([np.ones(len(order)), rng.uniform(0.7, 0.95, len(repriced))])
    order, cat, product = (np.concatenate([a, a[repriced]]) for a in (order, cat, product))
    quantity = np.concatenate([quantity, np.ones(len(repriced), np.int64)])

    # Price paid: the order's price level, the line's own factor and a little noise.
    n = len(order)
    unit = PROD_PRICE[product] * o["discount"][order] * price_factor * np.exp(rng.normal(0.0, 0.03, n))
    amount = np.round(unit * quantity, 2)
    margin = np.clip(
        CAT_MARGIN[cat] + rng.normal(0.0, 0.025, n) - 0.6 * (1.0 - o["promo"][order] * price_factor),
        0.20, 0.45,
    )
    cost = np.round(amount * (1.0 - margin), 2)
    lines = np.concatenate([np.arange(n), which[twice == 2]])
    lines = lines[np.argsort(order[lines], kind="stable")]
    return {"order": order[lines], "cat": cat[lines], "product": product[lines],
            "quantity": quantity[lines], "amount": amount[lines], "cost": cost[lines]}
