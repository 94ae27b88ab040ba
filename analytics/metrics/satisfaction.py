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
import pandas as pd

from analytics.metrics.tiers import customer_tiers
from analytics.models import scores
from analytics.models.scores import Decomposition, Estimate
from analytics.scope import Scope, customer_feedback

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


def counts(frame: pd.DataFrame) -> dict[str, int | float]:
    """The :data:`_COUNTS` of some responses (both scales together: each count concerns its own scale)."""
    csat_scores = frame.loc[frame["scale"] == "csat", "score"].to_numpy(dtype=float)
    nps_scores = frame.loc[frame["scale"] == "nps", "score"].to_numpy(dtype=float)
    return {"csat_n": len(csat_scores), "satisfied": int((csat_scores >= 4).sum()),
            "total": float(csat_scores.sum()), "squares": float((csat_scores ** 2).sum()),
            "nps_n": len(nps_scores), "promoters": int((nps_scores >= 9).sum()),
            "detractors": int((nps_scores < 7).sum())}


def figures(c: dict) -> dict[str, Estimate]:
    """CSAT, NPS and the mean score of :func:`counts`."""
    return {"csat": scores.csat(c["satisfied"], c["csat_n"]), "nps": scores.nps(c["promoters"], c["detractors"],
                                                                              c["nps_n"]),
            "mean": scores.mean_score(c["total"], c["squares"], c["csat_n"])}


def _rows(frame: pd.DataFrame, key: str | None) -> pd.DataFrame:
    """Per value of ``key`` (or one row): the counts and the figures with their intervals, flat."""
    groups = [(None, frame)] if key is None else list(frame.groupby(key, dropna=False, sort=True))
    out = []
    if not groups:  # (no responses: no groups, the columns all the same)
        return _rows(frame, None).iloc[:0]
    for label, rows in groups:
        c = counts(rows)
        f = figures(c)
        out.append({"group": None if label is None or label != label else label, "csat_n": c["csat_n"],
                    "csat": f["csat"].value, "csat_low": f["csat"].low, "csat_high": f["csat"].high,
                    "mean": f["mean"].value, "mean_low": f["mean"].low, "mean_high": f["mean"].high,
                    "nps_n": c["nps_n"], "promoters": c["promoters"], "detractors": c["detractors"],
                    "nps": f["nps"].value, "nps_low": f["nps"].low, "nps_high": f["nps"].high})
    return pd.DataFrame(out)


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


def satisfaction(con: duckdb.DuckDBPyConnection, scope: Scope) -> Satisfaction:
    """:class:`Satisfaction` of ``scope`` (module docstring)."""
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
                        _by_group(con, scope, period_rows))


def _by_group(con: duckdb.DuckDBPyConnection, scope: Scope, rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    tiers = customer_tiers(con, scope)
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
TIER_ORDER = ("platinum", "gold", "iron", "lead")


def tier_rank(groups: pd.Series) -> pd.Series:
    return groups.map(lambda g: TIER_ORDER.index(g) if g in TIER_ORDER else len(TIER_ORDER))
