"""Satisfaction from surveys: CSAT, NPS and the mean score per month and per customer group, with their 95 %
intervals and numbers of responses (the satisfaction & loyalty page's first part, the overview's tiles).

Definitions (shown on the page):

- a **response** is one survey score of a customer in scope (home region, segment, tier: the gate's customers)
  dated in a month: a 1–5 satisfaction score (``scale = 'csat'``) or a 0–10 likelihood to recommend (``'nps'``),
  as the import stored them (other scales converted there; missing-value codes never stored);
- **CSAT**: the share of satisfaction scores of 4 or 5 (Wilson interval); **mean score**: their mean (t interval);
- **NPS**: % promoters (9–10) − % detractors (0–6) among the recommend scores, in points, with its interval from
  the multinomial variance (:mod:`analytics.models.scores`);
- **per month**: the responses dated in it; the period's and the comparison period's figures pool their months;
- **trend and season** of monthly CSAT and NPS over every month with responses up to the period's end: STL when
  that is at least 24 months, else a 3-month moving average (:func:`analytics.models.scores.decompose`);
- **by group** (home region, acquisition channel, segment, tier): the period's responses of the group's customers;
  a customer's tier is the tier filter's (the pyramid by revenue over the period; "no purchase in the period"
  without one). A group is **too few to trust** (marked, not ranked) with fewer than :data:`MIN_RESPONSES`
  responses or an interval wider than :data:`WIDE_CSAT` (CSAT) or :data:`WIDE_NPS` points (NPS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics.tiers import customer_tiers
from analytics.models import scores
from analytics.models.scores import Decomposition, Estimate
from analytics.scope import TIER_NAMES, Scope, customer_feedback

#: The customer attributes satisfaction is split by (``customer_summary`` columns), then the tier.
GROUPINGS: tuple[str, ...] = ("home_region", "acquisition_channel", "segment", "tier")
MIN_RESPONSES = 30
WIDE_CSAT = 0.10
WIDE_NPS = 20.0
#: Per month and scale: responses, satisfied (CSAT 4-5), promoters (NPS 9-10), detractors (NPS 0-6), the scores'
#: sum and sum of squares.
_COUNTS = ("n", "satisfied", "promoters", "detractors", "total", "squares")


def responses(con: duckdb.DuckDBPyConnection, scope: Scope, last_day: date | None = None) -> pd.DataFrame:
    """Every survey response of the customers in scope up to ``last_day`` (default: the period's last day):
    ``customer_id``, ``feedback_date``, ``month`` (its first day), ``scale``, ``score`` and the customer's groups
    (home region, acquisition channel, segment)."""
    last = last_day or scope.end_exclusive - timedelta(days=1)
    rows = customer_feedback(scope, last)
    return con.execute(
        f"select f.customer_id, f.feedback_date, cast(date_trunc('month', f.feedback_date) as date) as month, "
        f"f.scale, f.score, c.home_region, c.acquisition_channel, c.segment from ({rows.sql}) f "
        f"join customer_summary c using (customer_id) "
        f"where f.feedback_kind = 'survey' and f.scale in ('csat', 'nps') and f.score is not null",
        list(rows.params)).df()


def _per_code(frame: pd.DataFrame, codes: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """The :data:`_COUNTS` of the responses per code (0..k-1), by bincount (no group frames)."""
    score = frame["score"].to_numpy(dtype=float)
    csat = (frame["scale"] == "csat").to_numpy()
    nps = ~csat
    return {"csat_n": np.bincount(codes[csat], minlength=k),
            "satisfied": np.bincount(codes[csat & (score >= 4)], minlength=k),
            "total": np.bincount(codes[csat], weights=score[csat], minlength=k),
            "squares": np.bincount(codes[csat], weights=score[csat] ** 2, minlength=k),
            "nps_n": np.bincount(codes[nps], minlength=k),
            "promoters": np.bincount(codes[nps & (score >= 9)], minlength=k),
            "detractors": np.bincount(codes[nps & (score < 7)], minlength=k)}


def counts(frame: pd.DataFrame) -> dict[str, int | float]:
    """The :data:`_COUNTS` of some responses (both scales together: each count concerns its own scale)."""
    got = _per_code(frame, np.zeros(len(frame), dtype=np.int64), 1)
    return {k: (float(v[0]) if k in ("total", "squares") else int(v[0])) for k, v in got.items()}


def figures(c: dict) -> dict[str, Estimate]:
    """CSAT, NPS and the mean score of :func:`counts`."""
    return {"csat": scores.csat(c["satisfied"], c["csat_n"]), "nps": scores.nps(c["promoters"], c["detractors"],
                                                                              c["nps_n"]),
            "mean": scores.mean_score(c["total"], c["squares"], c["csat_n"])}


def _rows(frame: pd.DataFrame, key: str | None) -> pd.DataFrame:
    """Per value of ``key`` in order, missing last (or one row): the counts and the figures with their intervals,
    flat."""
    if key is None:
        codes, labels = np.zeros(len(frame), dtype=np.int64), [None]
    else:
        codes, uniques = pd.factorize(frame[key], sort=True, use_na_sentinel=True)
        labels = list(uniques)
        if (codes < 0).any():  # (no value: a group of its own, last)
            codes = np.where(codes < 0, len(labels), codes)
            labels.append(None)
    got = _per_code(frame, np.asarray(codes, dtype=np.int64), len(labels))
    out = []
    for i, label in enumerate(labels):
        c = {k: (float(v[i]) if k in ("total", "squares") else int(v[i])) for k, v in got.items()}
        f = figures(c)
        out.append({"group": label, "csat_n": c["csat_n"],
                    "csat": f["csat"].value, "csat_low": f["csat"].low, "csat_high": f["csat"].high,
                    "mean": f["mean"].value, "mean_low": f["mean"].low, "mean_high": f["mean"].high,
                    "nps_n": c["nps_n"], "promoters": c["promoters"], "detractors": c["detractors"],
                    "nps": f["nps"].value, "nps_low": f["nps"].low, "nps_high": f["nps"].high})
    table = pd.DataFrame(out, columns=_ROW_COLUMNS)
    return table if key is None or len(frame) else table.iloc[:0]


_ROW_COLUMNS = ("group", "csat_n", "csat", "csat_low", "csat_high", "mean", "mean_low", "mean_high", "nps_n",
                "promoters", "detractors", "nps", "nps_low", "nps_high")


@dataclass(frozen=True)
class Satisfaction:
    """The satisfaction part of the page (module docstring): ``period`` and ``comparison`` figures (CSAT, NPS,
    mean; comparison None without one), ``monthly`` (per month of the period: ``month`` and :func:`_rows`'
    columns), ``comparison_monthly``, ``trends`` (per ``"csat"`` / ``"nps"`` a :class:`Decomposition` of the
    monthly series up to the period's end), and ``by_group`` (per grouping: ``group`` and the figures, with
    ``csat_small`` / ``nps_small`` for groups too few to trust)."""

    scope: Scope
    period: dict[str, Estimate]
    comparison: dict[str, Estimate] | None
    monthly: pd.DataFrame
    comparison_monthly: pd.DataFrame | None
    trends: dict[str, Decomposition]
    by_group: dict[str, pd.DataFrame]

    @property
    def empty(self) -> bool:
        return self.period["csat"].n == 0 and self.period["nps"].n == 0


def _months(first: date, last: date) -> list[date]:
    return [m.date() for m in pd.date_range(first, last, freq="MS")]


def _monthly(frame: pd.DataFrame, first: date, last: date) -> pd.DataFrame:
    """:func:`_rows` per month from ``first`` to ``last`` (months without responses: zero counts, NaN figures)."""
    months = _months(first, last)
    rows = _rows(frame[(frame["month"] >= pd.Timestamp(first)) & (frame["month"] <= pd.Timestamp(last))]
                 .assign(month=lambda f: pd.to_datetime(f["month"]).dt.date), "month")
    empty = _rows(frame.iloc[:0], None).iloc[0].to_dict()
    by_month = {r["group"]: r for r in rows.to_dict("records")} if len(rows) else {}
    out = [{**(by_month.get(m) or empty), "group": m} for m in months]
    return pd.DataFrame(out).rename(columns={"group": "month"})


def satisfaction(con: duckdb.DuckDBPyConnection, scope: Scope, tiers: pd.DataFrame | None = None) -> Satisfaction:
    """:class:`Satisfaction` of ``scope`` (module docstring); ``tiers``: the scope's
    :func:`~analytics.metrics.tiers.customer_tiers` when already read."""
    frame = responses(con, scope)
    frame["month"] = pd.to_datetime(frame["month"])
    comparison = scope.comparison()
    period_rows = frame[frame["month"] >= pd.Timestamp(scope.start)]
    monthly = _monthly(frame, scope.start, scope.end)
    compared = None
    comparison_monthly = None
    if comparison is not None:
        then = frame[(frame["month"] >= pd.Timestamp(comparison.start))
                     & (frame["month"] <= pd.Timestamp(comparison.end))]  # (every response up to the period's end)
        compared = figures(counts(then))
        comparison_monthly = _monthly(then, comparison.start, comparison.end)
    trends = {}
    if len(frame):
        history = _monthly(frame, frame["month"].min().date(), scope.end)
        for scale, value, n in (("csat", "csat", "csat_n"), ("nps", "nps", "nps_n")):
            trends[scale] = scores.decompose(history["month"], history[value].to_numpy(dtype=float),
                                             history[n].to_numpy(dtype=float))
    return Satisfaction(scope, figures(counts(period_rows)), compared, monthly, comparison_monthly, trends,
                        _by_group(con, scope, period_rows, tiers))


def _by_group(con: duckdb.DuckDBPyConnection, scope: Scope, rows: pd.DataFrame,
              tiers: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    tiers = customer_tiers(con, scope) if tiers is None else tiers
    rows = rows.merge(tiers[["customer_id", "tier"]], on="customer_id", how="left")
    out = {}
    for grouping in GROUPINGS:
        if grouping != "tier" and rows[grouping].isna().all():
            continue
        table = _rows(rows, grouping)
        if grouping == "tier":  # best tier first, no purchase in the period last
            table = table.sort_values("group", key=tier_rank, kind="stable").reset_index(drop=True)
        wide_csat = ~(table["csat_high"] - table["csat_low"] <= WIDE_CSAT)  # (NaN: no responses, too few)
        table["csat_small"] = (table["csat_n"] < MIN_RESPONSES) | wide_csat
        table["nps_small"] = (table["nps_n"] < MIN_RESPONSES) | ~(table["nps_high"] - table["nps_low"] <= WIDE_NPS)
        out[grouping] = table
    return out


#: The tier filter's tiers, best first (their names; None: no purchase in the period).
TIER_ORDER = TIER_NAMES


def tier_rank(groups: pd.Series) -> pd.Series:
    return groups.map(lambda g: TIER_ORDER.index(g) if g in TIER_ORDER else len(TIER_ORDER))
