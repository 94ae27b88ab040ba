"""RFM: recency, frequency and monetary value per customer, their 1–5 scores and named segments.

Definitions (shown on the value page):

- as of the end of the selected period, over each customer's whole history up to it
  (:func:`analytics.metrics.customer_base.customer_base` with no holdout);
- **recency**: days from the last purchase day to the last day of the period;
- **frequency**: days with a purchase;
- **monetary**: average spend per purchase day (purchases, returns not subtracted);
- **scores** 1–5 by quintile of the customers in scope: a customer's score is
  ``1 + floor(5 × share of customers with a worse value)``, a worse value being a longer recency,
  a lower frequency or a lower monetary value. Customers with equal values always share a score
  (the tie rule), so a measure where many customers tie (most customers buy on one day only)
  skips scores rather than splitting equals apart;
- **segments** from the recency and frequency scores (the R × F grid of :data:`SEGMENT_GRID`):
  champions, loyal, potential loyalists, new, promising, needs attention, about to sleep, at
  risk, can't lose, hibernating, lost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The segments, best first (their names are messages ``rfm_segment_<key>`` in ui/locales).
SEGMENTS: tuple[str, ...] = ("champions", "loyal", "potential_loyalists", "new", "promising", "needs_attention",
                             "about_to_sleep", "at_risk", "cant_lose", "hibernating", "lost")

#: Segment by recency score (rows, 5 first) and frequency score (columns, 1 to 5).
SEGMENT_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("new", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    4: ("promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"),
    3: ("about_to_sleep", "about_to_sleep", "needs_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
    1: ("lost", "hibernating", "at_risk", "at_risk", "cant_lose"),
}


def quintile_scores(values: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """1–5 scores: ``1 + floor(5 × share of values worse than each one)``; equal values share a score.

    Parameters
    ----------
    values : numpy.ndarray
        One value per customer (no NaN).
    higher_is_better : bool
        False for recency (fewer days is better).

    Returns
    -------
    numpy.ndarray
        Integer scores from 1 to 5.
    """
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ordered = np.sort(values)
    if higher_is_better:
        worse = np.searchsorted(ordered, values, side="left")  # strictly lower values
    else:
        worse = n - np.searchsorted(ordered, values, side="right")  # strictly higher values
    return (1 + np.floor(5 * worse / n)).astype(np.int64).clip(1, 5)


def rfm_table(base: pd.DataFrame) -> pd.DataFrame:
    """Each customer's RFM values, scores and segment.

    Parameters
    ----------
    base : pandas.DataFrame
        :func:`~analytics.metrics.customer_base.customer_base` (its ``recency_days``,
        ``purchase_days`` and ``gross_revenue`` columns).

    Returns
    -------
    pandas.DataFrame
        ``customer_id, home_region, segment, recency_days, frequency, monetary, revenue, r, f, m,
        rfm_segment``, in the order of ``base``.
    """
    frequency = base["purchase_days"].astype("int64")
    monetary = base["gross_revenue"].astype(float) / frequency
    out = pd.DataFrame({
        "customer_id": base["customer_id"], "home_region": base["home_region"], "segment": base["segment"],
        "recency_days": base["recency_days"].astype("int64"), "frequency": frequency, "monetary": monetary,
        "revenue": base["revenue"].astype(float),
    })
    out["r"] = quintile_scores(out["recency_days"].to_numpy(), higher_is_better=False)
    out["f"] = quintile_scores(frequency.to_numpy())
    out["m"] = quintile_scores(monetary.to_numpy())
    grid = {(r, f): name for r, row in SEGMENT_GRID.items() for f, name in enumerate(row, start=1)}
    out["rfm_segment"] = [grid[key] for key in zip(out["r"], out["f"], strict=True)]
    return out


def segment_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per segment (every segment, best first, empty ones too): customers, their share, revenue
    and its share, and the mean recency, frequency and monetary value."""
    grouped = table.groupby("rfm_segment")
    summary = pd.DataFrame({
        "customers": grouped.size(), "revenue": grouped["revenue"].sum(),
        "recency_days": grouped["recency_days"].mean(), "frequency": grouped["frequency"].mean(),
        "monetary": grouped["monetary"].mean(),
    }).reindex(list(SEGMENTS))
    summary["customers"] = summary["customers"].fillna(0).astype("int64")
    summary["revenue"] = summary["revenue"].fillna(0.0)
    total_customers, total_revenue = len(table), float(table["revenue"].sum())
    summary["customer_share"] = summary["customers"] / total_customers if total_customers else 0.0
    summary["revenue_share"] = summary["revenue"] / total_revenue if total_revenue else 0.0
    return summary.rename_axis("rfm_segment").reset_index()


def segment_grid(table: pd.DataFrame) -> pd.DataFrame:
    """Customers per recency score (rows, 5 first) and frequency score (columns 1–5)."""
    counts = pd.crosstab(table["r"], table["f"]).reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5])
    return counts.fillna(0).astype("int64")
