"""What happens after a complaint: whether complaining customers keep buying, against customers like them who did not
complain, and by how fast their complaint was resolved (the complaints part of the satisfaction & loyalty page).

Definitions (shown on the page; the horizon H and the target T adjustable there):

- the unit is a **customer-month**. The **months compared** are the period's months m whose next H months (default
  :data:`DEFAULT_HORIZON_MONTHS`) end by the as-of day A (:mod:`analytics.metrics.complaints`), so that every
  outcome is known;
- **eligible**: a customer in scope with a purchase in m. **Complained**: eligible, and made a complaint in m.
  **Others**: eligible, without a complaint in m. Customers who complained in m without a purchase in m are not
  compared (the last row: counted, with their retention);
- **retained**: a purchase in the H calendar months after m (whole months, the same window for everyone of m);
- **like with like**: customers who complain buy more than those who do not, and buying more goes with buying again.
  So the others are also taken as they would be with the complainers' buying frequency: the others' retention in each
  **frequency band** (purchase days in the 12 months ending with m: :data:`FREQUENCY_BANDS`) weighted by the
  complainers' customer-months in that band (direct standardisation): the **expected** retention, with its 95 %
  interval; the **difference** (retention − expected; a share, × 100 for points) with its 95 % interval and
  p-value (normal approximation; a customer's months taken as independent, as on the churn page; none when every
  rate involved is 0 or 1, as in a group of one);
- **by resolution speed**: complained customer-months by their slowest complaint of m: resolved within T days
  (``within_target``), resolved later but by A (``after_target``), not resolved by A (``open``); each against the
  others standardised to its own frequency mix. A customer-month whose only complaints have an invalid resolution
  (dated before the complaint) falls in none of the three;
- a group is **too few to trust** (marked, not ranked) when its retention interval is wider than 10 points;
- this is an association, not an effect: customers whose complaint is resolved fast may differ in other ways (what
  they complained about, who handled it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from analytics.metrics.churn_view import WIDE
from analytics.metrics.loyalty_days import PurchaseDays, with_objects
from analytics.models.proportions import Z95, wilson_interval
from analytics.scope import Scope, add_months

DEFAULT_HORIZON_MONTHS = 3
MAX_HORIZON_MONTHS = 12
#: The frequency bands: each band's least purchase days in the 12 months ending with the month (1, 2, 3-5, 6-11, 12+).
FREQUENCY_BANDS = (1, 2, 3, 6, 12)
#: The resolution-speed groups, by code (a customer-month's slowest complaint).
SPEEDS = ("within_target", "after_target", "open")
GROUPS = ("complained", *SPEEDS, "others", "no_purchase_in_month")
BAND_COLUMNS = ("band_from", "band_to", "complained", "complained_retained", "others", "others_retained")
COLUMNS = ("group", "customer_months", "retained", "rate", "low", "high", "expected", "expected_low",
           "expected_high", "difference", "difference_low", "difference_high", "p_value", "small")


@dataclass(frozen=True)
class Retention:
    """Retention after a complaint (module docstring): the ``months`` compared, ``table`` (one row per
    :data:`GROUPS`: :data:`COLUMNS`; expected and difference NaN for the others and for the complainers without a
    purchase in the month) and ``bands`` (per frequency band: ``band_from``, ``band_to`` (None: open), the
    complained and other customer-months and those retained)."""

    horizon_months: int
    months: tuple[date, ...]
    table: pd.DataFrame
    bands: pd.DataFrame


def horizon_of(horizon_months: int) -> int:
    """The horizon H, checked: whole months, 1 to :data:`MAX_HORIZON_MONTHS`."""
    if int(horizon_months) != horizon_months or not 1 <= horizon_months <= MAX_HORIZON_MONTHS:
        raise ValueError(f"the retention horizon must be 1 to {MAX_HORIZON_MONTHS} whole months, not {horizon_months}")
    return int(horizon_months)


def compared_months(days: PurchaseDays, scope: Scope, horizon: int) -> list[date]:
    """The period's months whose next ``horizon`` months end by the as-of day."""
    return [m for m in pd.date_range(scope.start, scope.end, freq="MS").date
            if add_months(m, horizon + 1) - timedelta(days=1) <= days.as_of]


def retention(days: PurchaseDays, scope: Scope, customer: np.ndarray, month: np.ndarray, speed: np.ndarray,
              horizon: int = DEFAULT_HORIZON_MONTHS) -> Retention:
    """:class:`Retention` of ``scope``'s period for complaints given as arrays: the customer (an index into
    ``days.ids``), the month made (its first day, ``datetime64[D]``) and the resolution speed (a code into
    :data:`SPEEDS`; -1: an invalid resolution)."""
    h = horizon_of(horizon)
    months = compared_months(days, scope, h)
    k, cum = len(FREQUENCY_BANDS), days.cumulative
    # per kind (0-2: the speeds, 3: complained with none, 4: others, 5: complained without a purchase) and band
    total, kept = np.zeros((6, k), dtype=np.int64), np.zeros((6, k), dtype=np.int64)
    for m in months:
        j, first = days.column(m), days.column(add_months(m, -11))
        bought = cum[:, j + 1] > cum[:, j]
        retained, band = _outcome(cum, np.flatnonzero(bought), first, j, h)
        everyone = np.bincount(band, minlength=k), np.bincount(band[retained], minlength=k)
        here = month == np.datetime64(m, "D")
        who, at = np.unique(customer[here], return_inverse=True)
        slowest = np.full(len(who), -2, dtype=np.int64)
        np.maximum.at(slowest, at, speed[here])
        kind = np.where(bought[who], np.where(slowest == -1, 3, slowest), 5)
        retained, band = _outcome(cum, who, first, j, h)
        cell = kind * k + band
        complained = (np.bincount(cell, minlength=6 * k).reshape(6, k),
                      np.bincount(cell[retained], minlength=6 * k).reshape(6, k))
        total += complained[0]
        kept += complained[1]
        total[4] += everyone[0] - complained[0][:4].sum(axis=0)  # the others: the eligible who did not complain
        kept[4] += everyone[1] - complained[1][:4].sum(axis=0)
    rows = [_row("complained", total[:4].sum(axis=0), kept[:4].sum(axis=0), total[4], kept[4])]
    rows += [_row(name, total[i], kept[i], total[4], kept[4]) for i, name in enumerate(SPEEDS)]
    rows += [_row("others", total[4], kept[4], None, None),
             _row("no_purchase_in_month", total[5], kept[5], None, None)]
    bands = with_objects(pd.DataFrame({"band_from": FREQUENCY_BANDS, "complained": total[:4].sum(axis=0),
                                       "complained_retained": kept[:4].sum(axis=0), "others": total[4],
                                       "others_retained": kept[4]}),
                         band_to=[*(b - 1 for b in FREQUENCY_BANDS[1:]), None])[list(BAND_COLUMNS)]
    return Retention(h, tuple(months), pd.DataFrame(rows, columns=list(COLUMNS)), bands)


def _outcome(cum: np.ndarray, who: np.ndarray, first: int, j: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """For the customers ``who`` (rows of the cumulated purchase days ``cum``): whether they bought in the ``h``
    months after month ``j``, and their frequency band (purchase days in months ``first`` to ``j``)."""
    band = np.maximum(np.searchsorted(FREQUENCY_BANDS, cum[who, j + 1] - cum[who, first], side="right") - 1, 0)
    return cum[who, j + 1 + h] > cum[who, j + 1], band


def _row(group: str, n: np.ndarray, r: np.ndarray, others_n: np.ndarray | None, others_r: np.ndarray | None
         ) -> tuple:
    """One :data:`COLUMNS` row: the group's retention over its customer-months ``n`` (per band) of which ``r``
    retained, against the others' (per band) standardised to the group's bands."""
    size, kept = int(n.sum()), int(r.sum())
    if size == 0:
        return (group, 0, 0, *(np.nan,) * 3, *(np.nan,) * 7, True)
    low, high = wilson_interval(kept, size)
    rate = kept / size
    expected = (np.nan,) * 7
    if others_n is not None and not (others_n[n > 0] == 0).any():
        weight = n / size
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(others_n > 0, others_r / np.maximum(others_n, 1), 0.0)
            var = float(np.sum(np.where(others_n > 0, weight ** 2 * p * (1 - p) / np.maximum(others_n, 1), 0.0)))
        e = float(np.sum(weight * p))
        diff = rate - e
        se = math.sqrt(rate * (1 - rate) / size + var)
        # (no spread at all, every rate 0 or 1: no interval, and no test unless nothing differs)
        band = (diff - Z95 * se, diff + Z95 * se) if se > 0 else (np.nan, np.nan)
        p_value = math.erfc(abs(diff) / se / math.sqrt(2)) if se > 0 else (1.0 if diff == 0 else np.nan)
        expected = (e, max(0.0, e - Z95 * math.sqrt(var)), min(1.0, e + Z95 * math.sqrt(var)), diff, *band, p_value)
    return (group, size, kept, rate, low, high, *expected, bool(high - low > WIDE))
