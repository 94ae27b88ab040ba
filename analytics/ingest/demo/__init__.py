"""Deterministic, realistic demo data for a Chinese company's CRM.

The generator simulates a mid-sized Chinese retailer that sells household
appliances, electronics, clothing, cosmetics, food and home goods to individuals,
small shops and companies through online platforms, its own shop, stores and a
telephone sales team. Nothing in the output is pasted in: the dashboard figures
emerge from a small customer model, over a three-year window:

* :mod:`.world`: the fixed world (regions and sales reps, cities, segments,
  channels, products, the lead funnel, name and comment parts) and the model's
  parameters;
* :mod:`.seasons`: the window, day numbers and the retail calendar (春节, 618, 双11,
  双12, 国庆, the week, promotions);
* :mod:`.sampling`: the vectorised draws everything else is built from;
* :mod:`.customers`: customers acquired with growth and seasonality (a fifth of them
  before the window), each with a latent satisfaction, a purchase rate, a lifetime
  and a chance to never come back (Pareto/NBD and BG/NBD style);
* :mod:`.orders`: repeat orders as a Poisson process on the calendar, returns, and the
  transaction rows: an order-line export (one row per line, the order number on each);
* :mod:`.lines`: each order's lines (one or several products, business customers'
  orders larger; quantities gamma-gamma style; now and then a product twice);
* :mod:`.feedback`: surveys (CSAT and NPS) and complaints, driven by satisfaction;
* :mod:`.leads`: leads through 线索 → 意向 → 报价 → 成交/流失; won leads become
  (mostly corporate) customers;
* :mod:`.simulation`: :func:`generate`, which runs the parts on seeded
  ``numpy.random.default_rng`` streams (the same ``(size, seed, end)`` always gives
  identical frames), and :class:`DemoData`;
* :mod:`.files`: :func:`write_files` (ordinary CSV and Excel files in the formats a
  company exports) and :func:`load_demo` (imports them through the user's pipeline).
"""

from __future__ import annotations

from analytics.ingest.demo.files import DEFAULT_FOLDER, FILE_NAMES, DemoFile, load_demo, write_files
from analytics.ingest.demo.seasons import SPRING_FESTIVAL
from analytics.ingest.demo.simulation import DemoData, generate
from analytics.ingest.demo.world import (
    CATEGORIES,
    CHANNELS,
    LEAD_STAGES,
    PRODUCTS,
    REGIONS,
    SALES_REPS,
    SEGMENTS,
)

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "DEFAULT_FOLDER",
    "FILE_NAMES",
    "LEAD_STAGES",
    "PRODUCTS",
    "REGIONS",
    "SALES_REPS",
    "SEGMENTS",
    "SPRING_FESTIVAL",
    "DemoData",
    "DemoFile",
    "generate",
    "load_demo",
    "write_files",
]
