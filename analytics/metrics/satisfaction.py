"""Satisfaction from surveys: CSAT, NPS and the mean score per month and per customer group, with their 95 %
intervals and numbers of responses (the satisfaction & loyalty page's first part, the overview's tiles).

Definitions (shown on the page):

- a **response** is one survey score of a customer in scope (home region, segment, tier: the gate's customers)
  dated in a month: a 1–5 satisfaction score (``scale = 'csat'``) or a 0–10 likelihood to recommend (``'nps'``),
  as the import stored them (other scales converted there; missing-value codes never stored); an **anonymous
  response** (a score without a customer) has no region, segment or tier: it counts in the period's figures, the
  months and the trends of a user who sees every region when no region, segment or tier filter is set
  (:func:`analytics.scope.feedback.sees_anonymous`), and in no group;
- **CSAT**: the share of satisfaction scores of 4 or 5 (Wilson interval); **mean score**: their mean (t interval);
- **NPS**: % promoters (9–10) − % detractors (0–6) among the recommend scores, in points, with its interval from
  the multinomial variance (:mod:`analytics.models.scores`);
- **per month**: the responses dated in it; the period's and the comparison period's figures pool their months;
- **trend and season** of monthly CSAT and NPS over every month with responses up to the period's end: STL when
  that is at least 24 months, else a 3-month moving average (:func:`analytics.models.scores.decompose`);
- **by group** (home region, acquisition channel, segment, tier): the period's responses of the group's customers
  (anonymous responses are in none: the page says how many there are);
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


def _rows_sql(scope: Scope) -> tuple[str, list]:
    """The survey counts per customer and month (the ``feedback_month`` mart) of the customers in scope up to the
    period's end, and per month of the anonymous responses when the scope sees them (``customer_id`` NULL, no
    groups), with the customer's groups and ``month_no`` (``year * 12 + month - 1``): what the counts sum."""
    rows = customer_feedback(scope, scope.end_exclusive - timedelta(days=1), "feedback_month", anonymous=True)
    return (f"select f.*, year(f.month) * 12 + month(f.month) - 1 as month_no, c.home_region, "
            f"c.acquisition_channel, c.segment from ({rows.sql}) f left join customer_summary c using (customer_id)",
            list(rows.params))


#: The counts behind the figures, per month or group: CSAT responses, satisfied (4-5), the scores' sum and sum of
#: squares; NPS responses, promoters (9-10), detractors (0-6). Sums of the ``feedback_month`` mart's columns.
_AGGREGATES = ("cast(sum(csat_n) as bigint) as csat_n, cast(sum(satisfied) as bigint) as satisfied, "
               "coalesce(sum(csat_total), 0) as total, coalesce(sum(csat_squares), 0) as squares, "
               "cast(sum(nps_n) as bigint) as nps_n, cast(sum(promoters) as bigint) as promoters, "
               "cast(sum(detractors) as bigint) as detractors")
_NAMES = ("csat_n", "satisfied", "total", "squares", "nps_n", "promoters", "detractors")
#: Of those, the anonymous responses' (no customer) per month: CSAT and NPS responses.
_ANONYMOUS = ("cast(coalesce(sum(csat_n) filter (where customer_id is null), 0) as bigint) as anonymous_csat, "
              "cast(coalesce(sum(nps_n) filter (where customer_id is null), 0) as bigint) as anonymous_nps")
_MONTH_NAMES = (*_NAMES, "anonymous_csat", "anonymous_nps")


def _month_no(d: date) -> int:
    return d.year * 12 + d.month - 1


def figures(c: dict) -> dict[str, Estimate]:
    """CSAT, NPS and the mean score of :func:`counts`."""
    return {"csat": scores.csat(c["satisfied"], c["csat_n"]), "nps": scores.nps(c["promoters"], c["detractors"],
                                                                              c["nps_n"]),
            "mean": scores.mean_score(c["total"], c["squares"], c["csat_n"])}


def _table(got: dict[str, np.ndarray], labels: list) -> pd.DataFrame:
    """Per label in order: the counts (``got[name][i]``: label ``i``'s) and the figures with their intervals, flat."""
    out = []
    for i, label in enumerate(labels):
        c = {k: (float(v[i]) if k in ("total", "squares") else int(v[i])) for k, v in got.items()}
        f = figures(c)
        out.append({"group": label, "csat_n": c["csat_n"],
                    "csat": f["csat"].value, "csat_low": f["csat"].low, "csat_high": f["csat"].high,
                    "mean": f["mean"].value, "mean_low": f["mean"].low, "mean_high": f["mean"].high,
                    "nps_n": c["nps_n"], "promoters": c["promoters"], "detractors": c["detractors"],
                    "nps": f["nps"].value, "nps_low": f["nps"].low, "nps_high": f["nps"].high})
    return pd.DataFrame(out, columns=_ROW_COLUMNS)


_ROW_COLUMNS = ("group", "csat_n", "csat", "csat_low", "csat_high", "mean", "mean_low", "mean_high", "nps_n",
                "promoters", "detractors", "nps", "nps_low", "nps_high")


@dataclass(frozen=True)
class Satisfaction:
    """The satisfaction part of the page (module docstring): ``period`` and ``comparison`` figures (CSAT, NPS,
    mean; comparison None without one), ``monthly`` (per month of the period: ``month`` and :func:`_table`'s
    columns), ``comparison_monthly``, ``trends`` (per ``"csat"`` / ``"nps"`` a :class:`Decomposition` of the
    monthly series up to the period's end), and ``by_group`` (per grouping: ``group`` and the figures, with
    ``csat_small`` / ``nps_small`` for groups too few to trust), ``anonymous`` (the period's anonymous responses
    per scale, ``csat`` and ``nps``: in ``period``, ``monthly`` and ``trends``, in no group; none unless the scope
    sees them)."""

    scope: Scope
    period: dict[str, Estimate]
    comparison: dict[str, Estimate] | None
    monthly: pd.DataFrame
    comparison_monthly: pd.DataFrame | None
    trends: dict[str, Decomposition]
    by_group: dict[str, pd.DataFrame]
    anonymous: dict[str, int]

    @property
    def empty(self) -> bool:
        return self.period["csat"].n == 0 and self.period["nps"].n == 0

    @property
    def anonymous_responses(self) -> int:
        """The period's anonymous responses (both scales): counted in the totals, not in any group."""
        return sum(self.anonymous.values())


def _months(first: date, last: date) -> list[date]:
    return [m.date() for m in pd.date_range(first, last, freq="MS")]


class MonthCounts:
    """The counts (:data:`_NAMES`, and the anonymous responses') per month number (``year * 12 + month - 1``) of the
    responses: one aggregate in DuckDB, summed here over any run of months (counts add up, so a period's are its
    months')."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.first = int(frame["month_no"].min()) if len(frame) else None
        k = int(frame["month_no"].max()) - self.first + 1 if len(frame) else 0
        at = frame["month_no"].to_numpy(dtype=np.int64) - (self.first or 0)
        self.got = {n: np.zeros(k, dtype=float if n in ("total", "squares") else np.int64) for n in _MONTH_NAMES}
        for n in _MONTH_NAMES:
            self.got[n][at] = frame[n].to_numpy()

    def _slice(self, first: date, last: date) -> dict[str, np.ndarray]:
        months = _month_no(last) - _month_no(first) + 1
        out = {n: np.zeros(max(months, 0), dtype=v.dtype) for n, v in self.got.items()}
        if self.first is None:
            return out
        lo, hi = _month_no(first) - self.first, _month_no(last) - self.first + 1
        take_lo, take_hi = max(lo, 0), min(hi, len(self.got["csat_n"]))
        for n, v in self.got.items():
            if take_hi > take_lo:
                out[n][take_lo - lo:take_hi - lo] = v[take_lo:take_hi]
        return out

    def total(self, first: date, last: date) -> dict[str, Estimate]:
        """CSAT, NPS and the mean score of the months from ``first`` to ``last``."""
        got = self._slice(first, last)
        return figures({n: (float(v.sum()) if n in ("total", "squares") else int(v.sum())) for n, v in got.items()})

    def anonymous(self, first: date, last: date) -> dict[str, int]:
        """The anonymous responses of the months from ``first`` to ``last``, per scale (``csat``, ``nps``)."""
        got = self._slice(first, last)
        return {"csat": int(got["anonymous_csat"].sum()), "nps": int(got["anonymous_nps"].sum())}

    def monthly(self, first: date, last: date) -> pd.DataFrame:
        """:func:`_table`'s columns per month from ``first`` to ``last`` (months without responses: zero counts, NaN
        figures), ``month`` first."""
        return _table(self._slice(first, last), _months(first, last)).rename(columns={"group": "month"})


def month_counts(con: duckdb.DuckDBPyConnection, scope: Scope) -> MonthCounts:
    """:class:`MonthCounts` of a scope's responses up to its period's end."""
    sql, params = _rows_sql(scope)
    return MonthCounts(con.execute(f"select month_no, {_AGGREGATES}, {_ANONYMOUS} from ({sql}) group by month_no",
                                   params).df())


def satisfaction(con: duckdb.DuckDBPyConnection, scope: Scope, tiers: pd.DataFrame | None = None) -> Satisfaction:
    """:class:`Satisfaction` of ``scope`` (module docstring); ``tiers``: the scope's
    :func:`~analytics.metrics.tiers.customer_tiers` when already read."""
    counted = month_counts(con, scope)
    comparison = scope.comparison()
    compared = comparison_monthly = None
    if comparison is not None:
        compared = counted.total(comparison.start, comparison.end)
        comparison_monthly = counted.monthly(comparison.start, comparison.end)
    trends = {}
    if counted.first is not None:
        first = date(counted.first // 12, counted.first % 12 + 1, 1)
        history = counted.monthly(min(first, scope.end), scope.end)
        for scale, value, n in (("csat", "csat", "csat_n"), ("nps", "nps", "nps_n")):
            trends[scale] = scores.decompose(history["month"], history[value].to_numpy(dtype=float),
                                             history[n].to_numpy(dtype=float))
    return Satisfaction(scope, counted.total(scope.start, scope.end), compared, counted.monthly(scope.start, scope.end),
                        comparison_monthly, trends, _by_group(con, scope, tiers),
                        counted.anonymous(scope.start, scope.end))


def _by_group(con: duckdb.DuckDBPyConnection, scope: Scope, tiers: pd.DataFrame | None = None
              ) -> dict[str, pd.DataFrame]:
    """Per grouping (:data:`GROUPINGS`), the period's figures per group of customers (the anonymous responses are
    in none): the attributes' counts aggregated in DuckDB (grouping sets), the tiers' from per-customer counts."""
    tiers = customer_tiers(con, scope) if tiers is None else tiers
    sql, params = _rows_sql(scope)
    keys = ("home_region", "acquisition_channel", "segment", "customer_id")
    which = " + ".join(f"grouping({k}) * {1 << i}" for i, k in enumerate(keys))
    frame = con.execute(
        f"select {', '.join(keys)}, {15} - ({which}) as by, {_AGGREGATES} from ({sql}) "
        "where month_no >= ? and customer_id is not null "
        f"group by grouping sets ({', '.join(f'({k})' for k in keys)})", [*params, _month_no(scope.start)]).df()
    out = {}
    for grouping in GROUPINGS:
        key = "customer_id" if grouping == "tier" else grouping
        part = frame[frame["by"] == 1 << keys.index(key)]
        if grouping == "tier":
            part = part.merge(tiers[["customer_id", "tier"]], on="customer_id", how="left")
            got = part.groupby("tier", dropna=False, sort=False)[list(_NAMES)].sum().reset_index()
            table = _table(*_labelled(got, "tier"))
            table = table.sort_values("group", key=tier_rank, kind="stable").reset_index(drop=True)
        else:
            if part[key].isna().all():
                continue
            table = _table(*_labelled(part, key))
        wide_csat = ~(table["csat_high"] - table["csat_low"] <= WIDE_CSAT)  # (NaN: no responses, too few)
        table["csat_small"] = (table["csat_n"] < MIN_RESPONSES) | wide_csat
        table["nps_small"] = (table["nps_n"] < MIN_RESPONSES) | ~(table["nps_high"] - table["nps_low"] <= WIDE_NPS)
        out[grouping] = table
    return out


def _labelled(frame: pd.DataFrame, key: str) -> tuple[dict[str, np.ndarray], list]:
    """A group's counts in label order (sorted, no value last) for :func:`_table`."""
    known = frame[frame[key].notna()].sort_values(key)
    ordered = pd.concat([known, frame[frame[key].isna()]])
    return {n: ordered[n].to_numpy() for n in _NAMES}, [None if pd.isna(v) else v for v in ordered[key]]


#: The tier filter's tiers, best first (their names; None: no purchase in the period).
TIER_ORDER = TIER_NAMES


def tier_rank(groups: pd.Series) -> pd.Series:
    return groups.map(lambda g: TIER_ORDER.index(g) if g in TIER_ORDER else len(TIER_ORDER))
