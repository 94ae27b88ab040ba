"""The customer tiers page's view model: the pyramid, how concentrated value is, the tier mix of each region,
acquisition channel and segment, and how customers moved between tiers from the comparison period to the period.

Definitions (shown on the page; the tier rule itself: :mod:`analytics.tiering`):

- a customer's **value** in a period: their net revenue in its months (returns subtracted), or their margin
  (amount - cost over the rows with a known cost; 0 for a customer without one: the page says how many);
- the **pyramid** of the period: the tiers of the ranked customers (every customer the user may see with a
  purchase in the period) that the filters keep (home region, segment; the transaction channel filter does not
  apply: a customer's value is not split by channel): per tier, customers, value, its share, average, lowest and
  highest value;
- **concentration** (the Lorenz curve, the top-20 % share, the Gini coefficient) of the customers kept, values
  below zero counted as zero (the page says how many there were): the Lorenz curve is the cumulative share of
  value against the cumulative share of customers, largest first; the top-20 % share is the value of the
  floor(0.2 N) highest over the total; Gini = sum_i (2 i - N - 1) x_(i) / (N sum x) with x ascending;
- **migration**: each customer's tier in the comparison period against the period (``new``: no purchase in the
  comparison period; ``lost``: none in the period): counts per pair and the value change (value in the period
  less value in the comparison period), summed over upgrades, downgrades, the same tier, new and lost customers;
- churn and lifetime value per tier come from the churn and value pages' analytics, loaded after the rest
  (:mod:`analytics.metrics.churn_tiers`, :func:`clv_by_tier`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import duckdb
import numpy as np
import pandas as pd

from analytics import tiering
from analytics.metrics import churn
from analytics.scope import TIER_PRESET, Scope, customers, summary_rows
from analytics.store import marts
from analytics.tiering import TierSpec

#: The groupings of the tier mix (``customer_summary`` columns).
MIX_GROUPINGS: tuple[str, ...] = ("home_region", "acquisition_channel", "segment")
#: Points of the Lorenz curve drawn (customer shares 0, 1/LORENZ_POINTS, ..., 1).
LORENZ_POINTS = 200
TOP_SHARE = 0.2
NEW, LOST = "new", "lost"
MOVES = ("upgrade", "downgrade", "same", NEW, LOST)


@dataclass(frozen=True)
class Concentration:
    """How concentrated the kept customers' value is (module docstring): ``customers`` (N), ``negative`` (of them,
    with a value below zero, counted as zero), ``total`` (the clipped sum), ``top_share`` (of the floor(0.2 N)
    highest; NaN without value), ``gini`` and ``lorenz`` (``customers_share``, ``value_share``, from 0 to 1)."""

    customers: int
    negative: int
    total: float
    top_share: float
    gini: float
    lorenz: pd.DataFrame


@dataclass(frozen=True)
class TierView:
    """Everything the tiers page draws at once for a scope and a tier definition (module docstring)."""

    scope: Scope
    spec: TierSpec
    ranked: int  # customers ranked in the period (all the user may see with a purchase in it)
    customers: int  # of them, those the filters keep
    no_cost: int  # by margin: kept customers without a row of known cost in the period (value 0)
    table: pd.DataFrame  # tier, name, customers, customer_share, value, value_share, average, lowest, highest
    concentration: Concentration
    mix: dict[str, pd.DataFrame]  # per grouping: group, tier, name, customers, share (of the group's customers)
    migration: pd.DataFrame | None  # before, after (tier names, "new", "lost"), customers, value_before, ...
    moves: pd.DataFrame | None  # move (MOVES), customers, value_change
    comparison: Scope | None = None
    clv: TierClv | None = None  # with_clv (the report): the value page's CLV per tier; the page loads it later
    churn: object | None = None  # with_clv (the report): churn_tiers.TierChurn, the churn page's rate per tier

    @property
    def empty(self) -> bool:
        return self.customers == 0


def per_customer(con: duckdb.DuckDBPyConnection, scope: Scope, spec: TierSpec) -> pd.DataFrame:
    """One row per customer the filters keep who was ranked in the period or in the comparison period: ``value``
    and ``tier`` in each (``value_before``, ``tier_before``; NaN and -1 when not ranked there), whether a row of
    known cost was seen (``costed``; margin only), the customer's groups (:data:`MIX_GROUPINGS`) and ``key``: the
    customer's number (``customer_numbers.seq``) when ``attrs["numbered"]``, else the id (the page picks customers
    by query; churn per tier maps keys to its rows)."""
    summarised = marts.summaries_ready(con)
    comparison = scope.comparison()
    windows = ((scope.start, scope.end_exclusive),
               None if comparison is None else (comparison.start, comparison.end_exclusive))
    labels = churn.group_labels(con, scope, MIX_GROUPINGS)
    numbered = summarised and spec.measure == "revenue"  # (keyed by the customers' numbers)
    who = summary_rows(scope, "customer_numbers") if numbered else customers(scope)
    codes = ", ".join(f"coalesce(list_position(?, w.{g}), 0) - 1 as {g}" for g in MIX_GROUPINGS)
    code_params = [list(labels[g]) or [""] for g in MIX_GROUPINGS]
    if spec.measure == "revenue":
        # the sums per customer of everyone ranked (the filters' customers marked), ranked here: a partition per cut
        # point instead of two sorts of every customer (tiering.tiers_of)
        sums, params = tiering.sums_sql(*windows, scope.allowed_regions, summarised)
        sql = (f"with g as ({sums}), who as ({who.sql}) "
               "select g.key, case when has_now then cast(value_now as double) else 'nan'::double end as value, "
               "case when has_then then cast(value_then as double) else 'nan'::double end as value_before, "
               "w.customer_id is not null as kept, "
               f"{codes} from g left join who w on g.key = w.{'seq' if numbered else 'customer_id'}")
        got = con.execute(sql, [*params, *who.params, *code_params]).fetchnumpy()
        keys = np.asarray(got["key"])
        value, before = np.asarray(got["value"]), np.asarray(got["value_before"])
        tier, tier_before = tiering.tiers_of(value, keys, spec), tiering.tiers_of(before, keys, spec)
        kept = np.asarray(got["kept"]) & ((tier >= 0) | (tier_before >= 0))
        frame = pd.DataFrame({"key": keys[kept], "value": value[kept], "tier": tier[kept],
                              "ranked": int((~np.isnan(value)).sum()),
                              "value_before": before[kept], "tier_before": tier_before[kept],
                              "costed": tier[kept] >= 0,
                              **{g: np.asarray(got[g])[kept] for g in MIX_GROUPINGS}})
    else:
        pairs, pair_params = tiering.paired_sql(spec, *windows, scope.allowed_regions, summarised)  # (margin)
        sql = (f"with p as ({pairs}), who as ({who.sql}) "
               "select p.key, coalesce(p.value, 'nan'::double) as value, coalesce(p.tier, -1) as tier, "
               "coalesce(p.ranked, 0) as ranked, coalesce(p.value_before, 'nan'::double) as value_before, "
               "coalesce(p.tier_before, -1) as tier_before, coalesce(p.costed, false) as costed, "
               f"{codes} from p join who w on p.key = w.customer_id")
        # (the codes' parameters come last in the text, after the CTEs': bound in that order)
        got = con.execute(sql, [*pair_params, *who.params, *code_params]).fetchnumpy()
        frame = pd.DataFrame({k: np.asarray(v) for k, v in got.items()})
    frame.attrs["labels"] = labels
    frame.attrs["numbered"] = numbered
    return frame


def concentration(values: np.ndarray) -> Concentration:
    """:class:`Concentration` of ``values`` (one per customer)."""
    n = len(values)
    negative = int((values < 0).sum())
    x = np.sort(np.clip(values, 0, None))[::-1]  # largest first
    total = float(x.sum())
    if n == 0 or total <= 0:
        empty = pd.DataFrame({"customers_share": [0.0, 1.0], "value_share": [0.0, np.nan if n == 0 else 0.0]})
        return Concentration(n, negative, total, np.nan, np.nan, empty)
    cumulative = np.concatenate([[0.0], np.cumsum(x)]) / total
    top = int(np.floor(TOP_SHARE * n))
    ascending = x[::-1]
    i = np.arange(1, n + 1)
    gini = float(((2 * i - n - 1) * ascending).sum() / (n * total))
    at = np.unique(np.round(np.linspace(0, n, min(LORENZ_POINTS, n) + 1)).astype(int))
    lorenz = pd.DataFrame({"customers_share": at / n, "value_share": cumulative[at]})
    return Concentration(n, negative, total, float(cumulative[top]), gini, lorenz)


def _table(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    kept = frame["tier"].to_numpy() >= 0
    tier, value = frame["tier"].to_numpy()[kept], frame["value"].to_numpy(dtype=float)[kept]
    k = len(names)
    counts = np.bincount(tier, minlength=k)
    sums = np.bincount(tier, weights=value, minlength=k)
    spread = pd.Series(value).groupby(tier).agg(["min", "max"]).reindex(range(k))
    total = value.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({
            "tier": np.arange(k), "name": list(names), "customers": counts,
            "customer_share": counts / len(value) if len(value) else np.full(k, np.nan), "value": sums,
            "value_share": sums / total if total else np.full(k, np.nan),
            "average": np.where(counts > 0, sums / np.maximum(counts, 1), np.nan),
            "lowest": spread["min"].to_numpy(dtype=float), "highest": spread["max"].to_numpy(dtype=float)})


def _mix(frame: pd.DataFrame, names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    kept = frame["tier"].to_numpy() >= 0
    tier = frame["tier"].to_numpy()[kept]
    k = len(names)
    out = {}
    for g in MIX_GROUPINGS:
        labels = frame.attrs["labels"][g]
        if not labels:
            continue
        code = frame[g].to_numpy()[kept]
        code = np.where(code < 0, len(labels), code)  # customers without one last
        counts = np.bincount(code * k + tier, minlength=(len(labels) + 1) * k).reshape(len(labels) + 1, k)
        sizes = counts.sum(axis=1)
        present = np.flatnonzero(sizes)
        groups = [*labels, None]
        out[g] = pd.DataFrame({
            "group": [groups[i] for i in present for _ in range(k)], "tier": np.tile(np.arange(k), len(present)),
            "name": list(names) * len(present), "customers": counts[present].ravel(),
            "share": (counts[present] / sizes[present, None]).ravel()})
    return out


def _migration(frame: pd.DataFrame, names: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    before, after = frame["tier_before"].to_numpy(), frame["tier"].to_numpy()
    value_before = np.nan_to_num(frame["value_before"].to_numpy(dtype=float))
    value_after = np.nan_to_num(frame["value"].to_numpy(dtype=float))
    k = len(names)
    rows_of = (NEW, *names)  # before: -1 is new
    columns_of = (*names, LOST)  # after: -1 is lost (last)
    row = before + 1
    column = np.where(after < 0, k, after)
    cell = row * (k + 1) + column
    size = (k + 1) * (k + 1)
    counts = np.bincount(cell, minlength=size)
    was = np.bincount(cell, weights=value_before, minlength=size)
    now = np.bincount(cell, weights=value_after, minlength=size)
    present = np.flatnonzero(counts)
    matrix = pd.DataFrame({"before": [rows_of[i // (k + 1)] for i in present],
                           "after": [columns_of[i % (k + 1)] for i in present], "customers": counts[present],
                           "value_before": was[present], "value_after": now[present]})
    matrix["value_change"] = matrix["value_after"] - matrix["value_before"]
    # MOVES' positions: upgrade 0, downgrade 1, same 2, new 3, lost 4
    move = np.select([before == -1, after == -1, after < before, after > before], [3, 4, 0, 1], 2)
    change = value_after - value_before
    moves = pd.DataFrame({"move": list(MOVES), "customers": np.bincount(move, minlength=len(MOVES)),
                          "value_change": np.bincount(move, weights=change, minlength=len(MOVES))})
    return matrix, moves


def tier_view(con: duckdb.DuckDBPyConnection, scope: Scope, spec: TierSpec | None = None) -> TierView:
    """The tiers page for ``scope`` and ``spec`` (default: the pyramid by revenue)."""
    spec = spec or TierSpec()
    frame = per_customer(con, scope, spec)
    kept = frame[frame["tier"] >= 0]
    ranked = int(kept["ranked"].max()) if len(kept) else 0
    comparison = scope.comparison()
    matrix, moves = _migration(frame, spec.names) if comparison is not None else (None, None)
    return TierView(
        scope=scope, spec=spec, ranked=ranked, customers=len(kept),
        no_cost=int((~kept["costed"]).sum()) if spec.measure == "margin" else 0,
        table=_table(frame, spec.names), concentration=concentration(kept["value"].to_numpy(dtype=float)),
        mix=_mix(frame, spec.names), migration=matrix, moves=moves, comparison=comparison)


@dataclass(frozen=True)
class TierClv:
    """The value page's lifetime value per tier (drawn after the rest: it fits the value models): per tier,
    ``customers`` (ranked and kept), ``with_clv`` (of them, with a CLV: every customer the value page models),
    ``total`` and ``average`` CLV; ``problem`` when the models could not be fitted (then no figures)."""

    table: pd.DataFrame | None
    problem: str | None
    horizon_months: int


def clv_by_tier(con: duckdb.DuckDBPyConnection, scope: Scope, spec: TierSpec | None = None) -> TierClv:
    """:class:`TierClv` for ``scope``: the value page's CLV (its default settings, as of the period's end) of each
    tier's customers."""
    from analytics.metrics.value import value_view  # (the value models are heavy; only this needs them)

    spec = spec or TierSpec()
    value = value_view(con, scope, holdout=False)
    if value.fits.problem is not None:  # (else the value page has every customer's CLV)
        return TierClv(None, value.fits.problem, value.horizon_months)
    sql, params = tiering.ranked_sql(spec, scope.start, scope.end_exclusive, scope.allowed_regions,
                                     spec.measure == "margin" and marts.summaries_ready(con))
    who = customers(scope)
    ranked = con.execute(f"select r.customer_id, r.tier from ({sql}) r semi join ({who.sql}) w using (customer_id)",
                         [*params, *who.params]).df()
    clv = ranked.merge(value.customers[["customer_id", "clv"]], on="customer_id", how="left")
    rows = []
    for k, name in enumerate(spec.names):
        mine = clv.loc[clv["tier"] == k, "clv"]
        rows.append((k, name, len(mine), int(mine.notna().sum()), float(mine.sum()),
                     float(mine.mean()) if mine.notna().any() else np.nan))
    return TierClv(pd.DataFrame(rows, columns=["tier", "name", "customers", "with_clv", "total", "average"]), None,
                   value.horizon_months)


@dataclass(frozen=True)
class Pyramid:
    """The overview's pyramid in miniature: the tier table and the concentration of the period (as on the tiers
    page, without the comparison and the rest), for the setting's tiers by revenue."""

    spec: TierSpec
    table: pd.DataFrame
    concentration: Concentration
    customers: int


def pyramid(con: duckdb.DuckDBPyConnection, scope: Scope, spec: TierSpec | None = None) -> Pyramid:
    """:class:`Pyramid` of ``scope``'s period (its tiers as :func:`tier_view` has them)."""
    spec = spec or TierSpec()
    frame = per_customer(con, replace(scope, compare="none"), spec)
    kept = frame[frame["tier"] >= 0]
    return Pyramid(spec, _table(frame, spec.names), concentration(kept["value"].to_numpy(dtype=float)), len(kept))


def customer_tiers(con: duckdb.DuckDBPyConnection, scope: Scope, spec: TierSpec | None = None,
                   ranked: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per customer the filters keep who was ranked in the period or the comparison period: ``customer_id``,
    ``tier`` and ``tier_before`` (names of ``spec``'s tiers, default the tier filter's pyramid by revenue with the
    scope's cut points; None where not ranked), for pages that split by tier; ``ranked``: ``spec``'s
    :func:`per_customer` frame when already read."""
    spec = spec or filter_spec(scope)
    frame = per_customer(con, scope, spec) if ranked is None else ranked
    ids = frame["key"].to_numpy(dtype=object)
    if frame.attrs["numbered"]:
        ids = ids_by_number(con)[frame["key"].to_numpy(dtype=np.int64) - 1]
    names = np.array([*spec.names, None], dtype=object)
    return pd.DataFrame({"customer_id": ids, "tier": names[frame["tier"].to_numpy()],
                         "tier_before": names[frame["tier_before"].to_numpy()]})


def ids_by_number(con: duckdb.DuckDBPyConnection) -> np.ndarray:
    """The customers' ids by number: ``ids[seq - 1]`` (``customer_numbers``; seq runs 1..N in id order)."""
    return np.asarray(con.execute("select customer_id from customer_numbers order by seq").fetchnumpy()["customer_id"],
                      dtype=object)


def filter_spec(scope: Scope) -> TierSpec:
    """The tier filter's tiers (the churn and satisfaction pages' split by tier): the pyramid by revenue with the
    scope's cut points."""
    return TierSpec.preset(TIER_PRESET, scope.tier_cuts)
