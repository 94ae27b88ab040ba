"""The demo simulation as a whole: :func:`generate` runs the parts, :class:`DemoData` holds the result.

Everything is drawn from ``numpy.random.default_rng`` streams derived from the seed
and the size, one stream per part (leads, customers, orders, feedback, lead order),
so the same ``(size, seed, end)`` always gives identical frames.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.ingest.demo.customers import customer_frame, draw_customers
from analytics.ingest.demo.feedback import feedback_frame
from analytics.ingest.demo.leads import draw_leads, lead_frame
from analytics.ingest.demo.orders import draw_orders, transaction_frame
from analytics.ingest.demo.seasons import intensity, window
from analytics.ingest.demo.world import GROWTH


@dataclass(frozen=True, eq=False)
class DemoData:
    """The four generated tables, with the canonical columns of ``analytics.ingest.schema``.

    Attributes
    ----------
    transactions, customers, feedback, leads : pandas.DataFrame
        One frame per kind. Dates are ``datetime64`` (missing dates are ``NaT``),
        ids are strings, money is rounded to cents.
    """

    transactions: pd.DataFrame
    customers: pd.DataFrame
    feedback: pd.DataFrame
    leads: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        """Return the frames keyed by kind, in ``analytics.ingest.schema.KINDS`` order."""
        return {
            "transactions": self.transactions,
            "customers": self.customers,
            "feedback": self.feedback,
            "leads": self.leads,
        }


def generate(size: int = 20_000, seed: int = 7, end: dt.date = dt.date(2026, 10, 31)) -> DemoData:
    """Generate three years of CRM data for ``size`` customers, ending at ``end``.

    Parameters
    ----------
    size : int
        Number of customers (about 16 orders in 27 transaction rows, 1 feedback row
        and 0.3 leads per customer are generated).
    seed : int
        Random seed; the same ``(size, seed, end)`` gives identical frames.
    end : datetime.date
        Last day of the data; the window starts three years earlier.

    Returns
    -------
    DemoData
        Transactions, customers, feedback and leads with the canonical columns.

    Raises
    ------
    ValueError
        If ``size`` is smaller than 1.
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    streams = [np.random.default_rng([seed, size, k]) for k in range(5)]
    start, n_days = window(end)
    curves = intensity(start, n_days)
    growth = np.exp(GROWTH * np.arange(n_days) / 365.25)

    lead = draw_leads(streams[0], max(1, round(size * 0.3)), n_days, growth, curves[2])
    won_idx = np.flatnonzero(lead["stage"] == 3)
    if len(won_idx) > size:  # only for tiny sizes: more deals than customers
        lead["stage"][won_idx[size:]] = 4
        won_idx = won_idx[:size]
    cust = draw_customers(streams[1], size, lead, won_idx, curves, growth)
    orders, lines = draw_orders(streams[2], cust, curves, start)
    return DemoData(
        transactions=transaction_frame(streams[2], start, cust, orders, lines),
        customers=customer_frame(start, cust),
        feedback=feedback_frame(streams[3], start, n_days - 1, cust, orders),
        leads=lead_frame(streams[4], start, lead, won_idx, cust["ids"]),
    )
