"""Satisfaction is not loyalty: the share satisfied next to the share loyal among the same surveyed customers, the
four quadrants, and how the chance of buying again rises with the satisfaction score.

Definitions (shown on the page, the loyalty threshold adjustable):

- **surveyed customers**: the customers in scope with a satisfaction (1–5) response in the period; their score is
  their latest one in it (the mean of that day's when they answered twice);
- **satisfied**: that score is 4 or 5; **loyal**: at least N purchase days (default :data:`LOYAL_MIN`) in the 12
  months ending with the period's last month (the loyalty part's definition); both shares with 95 % Wilson
  intervals, and the **gap** satisfied − loyal in points, overall and per home region, tier and segment;
- **quadrants**: satisfied and loyal; satisfied but leaving (not loyal); dissatisfied but staying (loyal);
  dissatisfied and leaving; with customers and their net revenue in the period;
- **buying again**: for each satisfaction response dated in the :data:`FIT_DAYS` days up to the follow-up limit
  (the data's last purchase day less H = :data:`HORIZON_DAYS` days, so every response has H days of data after
  it), whether the customer bought within H days after it; a logistic regression of that on the score
  (:mod:`analytics.models.retention_logit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics.churn_summary import data_end
from analytics.metrics.loyalty import loyal_customers
from analytics.metrics.loyalty_days import PurchaseDays, purchase_days
from analytics.metrics.satisfaction import tier_rank
from analytics.metrics.tiers import customer_tiers
from analytics.models.proportions import wilson_interval
from analytics.models.retention_logit import RetentionCurve, fit_retention
from analytics.scope import Scope, customer_feedback

LOYAL_MIN = 3
LOYAL_MONTHS = 12
HORIZON_DAYS = 180
FIT_DAYS = 730
QUADRANTS = ("satisfied_loyal", "satisfied_leaving", "dissatisfied_staying", "dissatisfied_leaving")
GROUPINGS = ("home_region", "tier", "segment")


def surveyed(con: duckdb.DuckDBPyConnection, scope: Scope, loyal_min: int = LOYAL_MIN,
             days: PurchaseDays | None = None, tiers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per surveyed customer (module docstring): ``customer_id``, ``score``, ``satisfied``, ``purchase_days`` (in
    the 12 months), ``loyal`` (the loyalty part's :func:`analytics.metrics.loyalty.loyal_customers`: one
    definition), ``revenue`` (net, in the period), ``home_region``, ``segment``, ``tier`` (the tier filter's of the
    period; None: no purchase in it) and ``quadrant``. ``days``, ``tiers``: the scope's purchase days and
    :func:`~analytics.metrics.tiers.customer_tiers` when already read."""
    if loyal_min < 1:
        raise ValueError(f"a loyal customer needs at least 1 purchase day, not {loyal_min}")
    rows = customer_feedback(scope, scope.end_exclusive - timedelta(days=1), "feedback_month")
    frame = con.execute(
        f"with latest as (select customer_id, arg_max(last_csat_score, month) as score from ({rows.sql}) f "
        f"where csat_n > 0 and month >= ? group by customer_id), "
        f"spent as (select customer_id, sum(revenue) as revenue from customer_month where month >= ? and month <= ? "
        f"and customer_id in (select customer_id from latest) group by customer_id) "
        f"select l.customer_id, l.score, cast(coalesce(s.revenue, 0) as double) as revenue, c.home_region, "
        f"c.segment from latest l left join spent s using (customer_id) join customer_summary c using (customer_id) "
        f"order by customer_id", [*rows.params, scope.start, scope.start, scope.end]).df()
    loyal = loyal_customers(days if days is not None else purchase_days(con, scope), scope.end, loyal_min)
    frame = frame.merge(loyal[["customer_id", "purchase_days", "loyal"]], on="customer_id", how="left")
    frame["purchase_days"] = frame["purchase_days"].fillna(0).astype("int64")
    frame["loyal"] = frame["loyal"].fillna(False).astype(bool)
    frame["satisfied"] = frame["score"] >= 4
    tiers = customer_tiers(con, scope) if tiers is None else tiers
    frame = frame.merge(tiers[["customer_id", "tier"]], on="customer_id", how="left")
    frame["tier"] = frame["tier"].astype(object).where(frame["tier"].notna(), None)
    cell = np.where(frame["satisfied"], np.where(frame["loyal"], 0, 1), np.where(frame["loyal"], 2, 3))
    frame["quadrant"] = np.asarray(QUADRANTS, dtype=object)[cell] if len(frame) else []
    return frame


def _share(k: int, n: int) -> tuple[float, float, float]:
    if n == 0:
        return np.nan, np.nan, np.nan
    low, high = wilson_interval(k, n)
    return k / n, low, high


def gap_rows(frame: pd.DataFrame, key: str | None) -> pd.DataFrame:
    """Per group of ``key`` (one row for None): surveyed customers ``n``, ``satisfied`` and ``loyal`` shares with
    their intervals and the ``gap`` (satisfied − loyal, in points)."""
    if key is not None and not len(frame):  # (nobody surveyed: no groups, the columns all the same)
        return gap_rows(frame, None).iloc[:0]
    groups = [(None, frame)] if key is None else list(frame.groupby(key, dropna=False, sort=True))
    out = []
    for label, rows in groups:
        n = len(rows)
        s, s_low, s_high = _share(int(rows["satisfied"].sum()), n)
        lo, lo_low, lo_high = _share(int(rows["loyal"].sum()), n)
        out.append({"group": None if label is None or label != label else label, "n": n, "satisfied": s,
                    "satisfied_low": s_low, "satisfied_high": s_high, "loyal": lo, "loyal_low": lo_low,
                    "loyal_high": lo_high, "gap": 100 * (s - lo) if n else np.nan})
    return pd.DataFrame(out)


def quadrants(frame: pd.DataFrame) -> pd.DataFrame:
    """Per quadrant (:data:`QUADRANTS`): customers, their share of the surveyed, their net revenue in the period."""
    n = len(frame)
    rows = []
    for q in QUADRANTS:
        mine = frame[frame["quadrant"] == q]
        rows.append({"quadrant": q, "customers": len(mine), "share": len(mine) / n if n else np.nan,
                     "revenue": float(mine["revenue"].sum())})
    return pd.DataFrame(rows)


def follow_ups(con: duckdb.DuckDBPyConnection, scope: Scope, horizon: int = HORIZON_DAYS
               ) -> tuple[pd.DataFrame, date | None, date | None]:
    """The responses the retention curve is fitted on (module docstring): ``customer_id``, ``feedback_date``,
    ``score``, ``retained`` (a purchase within ``horizon`` days after the response), with the first and last
    response day used (None without purchases)."""
    end = data_end(con)
    if end is None:
        return pd.DataFrame(columns=["customer_id", "feedback_date", "score", "retained"]), None, None
    last = end - timedelta(days=horizon)
    first = last - timedelta(days=FIT_DAYS)
    rows = customer_feedback(scope, last, "survey_followups")
    frame = con.execute(
        f"select customer_id, feedback_date, score, coalesce(next_month_day <= feedback_date + ?, false) as retained "
        f"from ({rows.sql}) f where feedback_date > ? order by customer_id, feedback_date, score",
        [horizon, *rows.params, first]).df()
    return frame, first + timedelta(days=1), last


@dataclass(frozen=True)
class Gap:
    """The gap part of the page: the definition's ``loyal_min``; ``overall`` and ``by_group`` (per grouping)
    :func:`gap_rows`; ``quadrants``; ``curve`` (the retention curve) fitted on ``fit_responses`` responses dated
    ``fit_from`` to ``fit_to``."""

    loyal_min: int
    overall: pd.DataFrame
    by_group: dict[str, pd.DataFrame]
    quadrants: pd.DataFrame
    curve: RetentionCurve
    fit_from: date | None
    fit_to: date | None
    horizon_days: int


def gap(con: duckdb.DuckDBPyConnection, scope: Scope, loyal_min: int = LOYAL_MIN,
        days: PurchaseDays | None = None, tiers: pd.DataFrame | None = None) -> Gap:
    """:class:`Gap` of ``scope`` with loyalty at ``loyal_min`` purchase days (``days``: the scope's purchase days
    when already read)."""
    frame = surveyed(con, scope, loyal_min, days, tiers)
    fits, first, last = follow_ups(con, scope)
    by_group = {g: gap_rows(frame, g) for g in GROUPINGS}
    by_group["tier"] = by_group["tier"].sort_values("group", key=tier_rank, kind="stable").reset_index(drop=True)
    return Gap(loyal_min, gap_rows(frame, None), by_group, quadrants(frame),
               fit_retention(fits["score"], fits["retained"]), first, last, HORIZON_DAYS)
