"""Churn per customer tier, with the churn page's definitions (:mod:`analytics.metrics.churn`): the churn page's
split by tier and survival curves by tier, and the tiers page's churn per tier.

Definitions (shown on both pages):

- a customer's **tier in a period** is their tier over it (:mod:`analytics.tiering`: ranked among every customer
  the user may see with a purchase in it; whole months, up to the as-of day's month), as the tier filter has it;
  the churn page uses the filter's tiers (the pyramid by revenue, the ``tier_cuts`` setting), the tiers page its
  own;
- the customers in scope without a purchase in the period have no tier of it: they are the last group (**no
  purchase in the period**), so the groups add up to the page's totals (among them every customer who left
  before the period and bought nothing in it);
- the **churn rate of a tier** is the churn page's rate counted over that tier's customers: churned in the
  period's complete months over active at those months' starts, 95 % Wilson interval; the **comparison period**
  is split by its own tiers (the top 1 % then against the top 1 % now, like for like), and a tier's rate
  **moved** when the two differ beyond sampling error (the churn page's test);
- the **survival curves by tier** group every customer by their tier in the period (lifetimes as on the churn
  page). Everyone in a tier bought in the period, so a tier's customers cannot have left long before it: read the
  curves as comparisons between tiers, not as the lifetimes of new customers.

The rows: with the summaries built and an as-of day they answer for (the data's end or a month's last day before
it), every customer's purchase months from ``churn_rows`` (one scan, no window); otherwise the churn page's
purchase months (:func:`analytics.metrics.churn.purchase_months`). The same figures either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics import churn, churn_summary
from analytics.metrics.churn_summary import fold
from analytics.metrics.churn_view import SurvivalSet, cut_at, group_frame, survival_set
from analytics.metrics.tiers import filter_spec, ids_by_number, per_customer
from analytics.scope import Scope, summary_rows
from analytics.store import marts
from analytics.tiering import TierSpec


@dataclass(frozen=True)
class TierRows:
    """Every purchase month up to the as-of day of the customers in scope: its last purchase day, the first
    purchase day of the customer's next month with one (-1: none), the customer's first purchase day (days since
    1970-01-01), and the customer's tier code in the period (``now``) and in the comparison period (``then``):
    0 is the best tier, ``len(names)`` none (no purchase in that period)."""

    names: tuple[str, ...]
    as_of: date
    last: np.ndarray
    next_first: np.ndarray
    customer_first: np.ndarray
    now: np.ndarray
    then: np.ndarray
    folded: dict = field(default_factory=dict, repr=False, compare=False)

    def counts(self, scope: Scope, window: int, which: str = "now") -> tuple[np.ndarray, np.ndarray]:
        """:func:`analytics.metrics.churn.churn_counts` per tier of the period (``which="now"``) or of the
        comparison period (``"then"``): shape (tiers + 1, months), the last row the customers without one."""
        if "rows" not in self.folded:  # (one cell per row: each code is counted once or twice)
            self.folded["rows"] = churn.fold_rows(self.now, len(self.names) + 1, self.last, self.next_first,
                                                  fold=False)
        rows = self.folded["rows"]
        code = rows[0] if which == "now" else self.then
        return churn.folded_counts((code, *rows[1:]), scope, window, self.as_of)


def tier_rows(con: duckdb.DuckDBPyConnection, scope: Scope, spec: TierSpec | None = None, *,
              as_of: date | None = None, months: churn.PurchaseMonths | None = None) -> TierRows | None:
    """:class:`TierRows` of ``scope`` for the tiers ``spec`` (default: :func:`filter_spec`) as of ``as_of``
    (:func:`analytics.metrics.churn.as_of_day`); ``months``: the scope's purchase months when already read (for the
    path without summaries). None without purchases."""
    spec = spec or filter_spec(scope)
    day = churn.as_of_day(con, scope, as_of)
    if day is None:
        return None
    scope = cut_at(scope, day)  # (tiers of the months the churn page counts: up to the as-of day's, whole months)
    frame = per_customer(con, scope, spec)
    k = len(spec.names)
    summarised = marts.summaries_ready(con) and churn_summary.answers(day, churn_summary.data_end(con))
    if summarised:  # keyed by the customers' numbers
        who = summary_rows(scope, "customer_numbers")
        seqs = np.asarray(con.execute(f"select seq from ({who.sql}) w", list(who.params)).fetchnumpy()["seq"])
        comparison = scope.comparison()
        lower = min(scope.start, comparison.start) if comparison is not None else scope.start
        # (a month whose next purchase comes before the earliest period starts adds nothing to either period)
        rows = con.execute("select seq, last_day, next_first, customer_first from churn_rows "
                           "where last_day <= ? and (next_first < 0 or next_first >= ?)",
                           [churn.day_number(day), churn.day_number(lower)]).fetchnumpy()
        size = int(max(seqs.max(initial=0), np.asarray(rows["seq"]).max(initial=0))) + 1
        keys = (np.asarray(frame["key"]) if frame.attrs["numbered"]
                else pd.Index(ids_by_number(con)).get_indexer(frame["key"].to_numpy(dtype=object)) + 1)
        row_seq = np.asarray(rows["seq"])
        last, next_first, first = (np.asarray(rows[c]) for c in ("last_day", "next_first", "customer_first"))
        inside = np.zeros(size, dtype=bool)
        inside[seqs] = True
    else:  # the scope's purchase months, keyed by their own numbering
        months = months if months is not None and months.as_of == day else churn.purchase_months(con, scope, day)
        ids = frame["key"].to_numpy(dtype=object)
        if frame.attrs["numbered"]:
            ids = ids_by_number(con)[frame["key"].to_numpy(dtype=np.int64) - 1]
        known = np.flatnonzero(pd.notna(months.ids_by_seq))  # (customers in scope without a purchase have no id here)
        found = pd.Index(months.ids_by_seq[known]).get_indexer(ids)
        keys = np.where(found >= 0, known[np.maximum(found, 0)], -1)
        size, row_seq = len(months.ids_by_seq), months.seq
        last, next_first, first = months.last, months.next_first, months.customer_first
        inside = np.ones(size, dtype=bool)
    codes = {}
    for name, column in (("now", "tier"), ("then", "tier_before")):
        code = np.full(size, k, dtype=np.int64)
        tier = frame[column].to_numpy()
        ok = (keys >= 0) & (tier >= 0)
        code[keys[ok]] = tier[ok]
        codes[name] = code[row_seq]
    keep = inside[row_seq]
    if keep.all():  # (no filter: every row is the scope's)
        return TierRows(spec.names, day, last, next_first, first, codes["now"], codes["then"])
    return TierRows(spec.names, day, last[keep], next_first[keep], first[keep], codes["now"][keep],
                    codes["then"][keep])


def tier_rates(rows: TierRows, scope: Scope, window: int) -> list[tuple[str | None, tuple, tuple | None]]:
    """Per tier (best first, then ``None``: no purchase in the period) the period's churn rate
    (:func:`analytics.metrics.churn.pooled_rate` over its complete months) and the comparison period's over its
    own tiers (None without one), as :func:`analytics.metrics.churn.group_rates` gives them per group."""
    comparison = scope.comparison()
    active, churned = rows.counts(scope, window, "now")
    now = churn.complete(rows, scope)
    if comparison is not None:
        then_active, then_churned = rows.counts(comparison, window, "then")
        then = churn.complete(rows, comparison)
    return [(label, churn.pooled_rate(churned[i][now], active[i][now]),
             None if comparison is None else churn.pooled_rate(then_churned[i][then], then_active[i][then]))
            for i, label in enumerate([*rows.names, None])]


def tier_lives(rows: TierRows, window: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Per customer with a purchase by the as-of day, counted per distinct (duration, observed, group): their
    lifetime (the churn page's) and tier in the period (``group``: its name; None: no purchase in the period);
    and per tier (the last: none) its customers and those churned as of the as-of day."""
    as_of = churn.day_number(rows.as_of)
    last_rows = (rows.next_first < 0) | (rows.next_first > as_of)  # the customer's last month by the as-of day
    last, first = rows.last[last_rows].astype(np.int64), rows.customer_first[last_rows].astype(np.int64)
    observed = as_of - last > window
    code = rows.now[last_rows]
    labels = np.array([*rows.names, None], dtype=object)
    frame = pd.DataFrame({"duration": np.where(observed, last - first, as_of - first), "observed": observed,
                          "tier": labels[code], "customers": 1})
    k = len(labels)
    return fold(frame, "tier"), np.bincount(code, minlength=k), np.bincount(code[observed], minlength=k)


@dataclass(frozen=True)
class TierSplit:
    """The churn page's split by tier: ``rates`` (:data:`analytics.metrics.churn_view.GROUP_COLUMNS`, one row per
    tier and a last for no purchase in the period), ``survival`` (the curves by tier and their log-rank test; None
    with fewer than two groups), ``churned_share`` per tier (churned as of the as-of day over its customers with a
    purchase by then), the tiers' ``names`` and the as-of day."""

    names: tuple[str, ...]
    as_of: date
    rates: pd.DataFrame
    survival: SurvivalSet | None
    churned: pd.DataFrame  # group, customers, churned, share


def tier_split(con: duckdb.DuckDBPyConnection, scope: Scope, window: int, as_of: date | None = None,
               spec: TierSpec | None = None, months: churn.PurchaseMonths | None = None) -> TierSplit | None:
    """:class:`TierSplit` of ``scope`` for the window W (days) as of ``as_of`` (the churn page's), for the tiers
    ``spec`` (default: the tier filter's, :func:`filter_spec`). None without purchases."""
    rows = tier_rows(con, scope, spec, as_of=as_of, months=months)
    if rows is None:
        return None
    cut = cut_at(scope, rows.as_of)  # (as the churn page counts: months after the as-of day's are not shown)
    lives, customers, gone = tier_lives(rows, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        churned = pd.DataFrame({"group": [*rows.names, None], "customers": customers, "churned": gone,
                                "share": np.where(customers > 0, gone / np.maximum(customers, 1), np.nan)})
    survival = survival_set(lives, "group") if len(lives) else None
    if survival is not None:  # the curves best tier first, no purchase in the period last
        order = {g: i for i, g in enumerate([*rows.names, None])}
        survival = replace(survival, curves=tuple(sorted(survival.curves, key=lambda c: order[c.group])))
    return TierSplit(rows.names, rows.as_of, group_frame(tier_rates(rows, cut, window)), survival, churned)




@dataclass(frozen=True)
class TierChurn:
    """The tiers page's churn per tier (its tiers): ``rates`` (one row per tier of
    :data:`analytics.metrics.churn_view.GROUP_COLUMNS`: the churn page's rate, the comparison period's over its own
    tiers, whether it moved) and ``churned`` (per tier: customers, churned as of the as-of day, share), for the churn
    page's window W (its default for the scope unless given) as of its as-of day."""

    window: int
    as_of: date
    rates: pd.DataFrame
    churned: pd.DataFrame


def tier_churn(con: duckdb.DuckDBPyConnection, scope: Scope, spec: TierSpec, window: int | None = None
               ) -> TierChurn | None:
    """:class:`TierChurn` of ``scope`` for the tiers ``spec``; None without purchases."""
    data: churn.ChurnData = churn_summary.load(con, scope) or churn.purchase_months(con, scope)
    w = window if window is not None else data.default_window()
    split = tier_split(con, scope, w, None, spec, data if isinstance(data, churn.PurchaseMonths) else None)
    if split is None:
        return None
    k = len(spec.names)
    return TierChurn(w, split.as_of, split.rates[split.rates["group"].isin(spec.names)].reset_index(drop=True),
                     split.churned.iloc[:k].reset_index(drop=True))
