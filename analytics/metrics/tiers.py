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
- **churned by the period's end** per tier: the tier's customers whose last purchase in the period is more than W
  days before its last day (W: the churn page's default, :func:`analytics.metrics.churn.default_window` of the
  scope), with a 95 % Wilson interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from analytics import tiering
from analytics.models.proportions import wilson_interval
from analytics.scope import Scope, customers
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
    churned: pd.DataFrame  # tier, name, customers, churned, share, low, high (by the period's end)
    window: int  # W of the churned figures
    comparison: Scope | None = None
    names: tuple[str, ...] = field(default=())
    clv: TierClv | None = None  # with_clv (the report): the value page's CLV per tier; the page loads it later

    @property
    def empty(self) -> bool:
        return self.customers == 0


def _label(tier: int, names: tuple[str, ...]) -> str:
    return NEW if tier == -1 else names[tier]


def per_customer(con: duckdb.DuckDBPyConnection, scope: Scope, spec: TierSpec) -> pd.DataFrame:
    """One row per customer the filters keep who was ranked in the period or in the comparison period: ``value``
    and ``tier`` in each (``value_before``, ``tier_before``; NaN and -1 when not ranked there), whether a row of
    known cost was seen (``costed``; margin only), the last purchase day in the period (``last_day``) and the
    customer's groups (:data:`MIX_GROUPINGS`). Numbers only (no ids): the page picks customers by query."""
    margins = spec.measure == "margin" and marts.summaries_ready(con)
    allowed = scope.allowed_regions
    now_sql, now_params = tiering.ranked_sql(spec, scope.start, scope.end_exclusive, allowed, margins)
    comparison = scope.comparison()
    if comparison is not None:
        then_sql, then_params = tiering.ranked_sql(spec, comparison.start, comparison.end_exclusive, allowed, margins)
    else:
        then_sql, then_params = "select null::varchar as customer_id, null::double as value, null::int as tier " \
                                "where false", []
    who = customers(scope)
    costed = ("select distinct customer_id from margin_month where month >= ? and month < ?" if margins else
              "select distinct customer_id from transactions where cost is not null and order_date >= ? "
              "and order_date < ?")
    groups = ", ".join(f"w.{g}" for g in MIX_GROUPINGS)
    sql = (f"with now as ({now_sql}), then_ as ({then_sql}), who as ({who.sql}), "
           f"last as (select customer_id, max(last_day) as last_day from customer_month "
           f"where month >= ? and month < ? and purchase_days > 0 group by 1), "
           f"costed as ({costed}) "
           "select n.value, coalesce(n.tier, -1) as tier, n.ranked, t.value as value_before, "
           "coalesce(t.tier, -1) as tier_before, c.customer_id is not null as costed, l.last_day, "
           f"{groups} from now n full outer join then_ t using (customer_id) join who w using (customer_id) "
           "left join last l using (customer_id) left join costed c using (customer_id)")
    params = [*now_params, *then_params, *who.params, scope.start, scope.end_exclusive, scope.start,
              scope.end_exclusive]
    return con.execute(sql, params).df()


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
    kept = frame[frame["tier"] >= 0]
    total = kept["value"].sum()
    rows = []
    for k, name in enumerate(names):
        v = kept.loc[kept["tier"] == k, "value"]
        rows.append((k, name, len(v), len(v) / len(kept) if len(kept) else np.nan, float(v.sum()),
                     float(v.sum() / total) if total else np.nan, float(v.mean()) if len(v) else np.nan,
                     float(v.min()) if len(v) else np.nan, float(v.max()) if len(v) else np.nan))
    return pd.DataFrame(rows, columns=["tier", "name", "customers", "customer_share", "value", "value_share",
                                       "average", "lowest", "highest"])


def _mix(frame: pd.DataFrame, names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    kept = frame[frame["tier"] >= 0]
    out = {}
    for g in MIX_GROUPINGS:
        if kept[g].isna().all():
            continue
        groups = kept[g].astype(object).where(kept[g].notna(), None)
        counts = pd.crosstab(groups.fillna("\0"), kept["tier"]).reindex(columns=range(len(names)), fill_value=0)
        rows = []
        for group, row in counts.iterrows():
            size = int(row.sum())
            for k, name in enumerate(names):
                rows.append((None if group == "\0" else group, k, name, int(row[k]), row[k] / size))
        out[g] = pd.DataFrame(rows, columns=["group", "tier", "name", "customers", "share"])
    return out


def _migration(frame: pd.DataFrame, names: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    before = frame["tier_before"].to_numpy()
    after = frame["tier"].to_numpy()
    value_before = frame["value_before"].fillna(0.0).to_numpy(dtype=float)
    value_after = frame["value"].fillna(0.0).to_numpy(dtype=float)
    labels_before = [_label(int(k), names) for k in before]
    labels_after = [LOST if k == -1 else names[int(k)] for k in after]
    cells = pd.DataFrame({"before": labels_before, "after": labels_after, "value_before": value_before,
                          "value_after": value_after})
    order = {name: i for i, name in enumerate((NEW, *names, LOST))}
    matrix = (cells.groupby(["before", "after"], sort=False)
              .agg(customers=("value_before", "size"), value_before=("value_before", "sum"),
                   value_after=("value_after", "sum")).reset_index())
    matrix["value_change"] = matrix["value_after"] - matrix["value_before"]
    matrix = matrix.sort_values(["before", "after"], key=lambda s: s.map(order)).reset_index(drop=True)
    move = np.select([before == -1, after == -1, after < before, after > before],
                     [NEW, LOST, "upgrade", "downgrade"], "same")
    change = value_after - value_before
    moves = pd.DataFrame([(m, int((move == m).sum()), float(change[move == m].sum())) for m in MOVES],
                         columns=["move", "customers", "value_change"])
    return matrix, moves


def _churned(frame: pd.DataFrame, names: tuple[str, ...], last_day: date, window: int) -> pd.DataFrame:
    kept = frame[frame["tier"] >= 0]
    since = (pd.Timestamp(last_day) - pd.to_datetime(kept["last_day"])).dt.days.to_numpy()
    rows = []
    for k, name in enumerate(names):
        mine = kept["tier"].to_numpy() == k
        n, gone = int(mine.sum()), int((since[mine] > window).sum())
        low, high = wilson_interval(gone, n) if n else (np.nan, np.nan)
        rows.append((k, name, n, gone, gone / n if n else np.nan, low, high))
    return pd.DataFrame(rows, columns=["tier", "name", "customers", "churned", "share", "low", "high"])


def tier_view(con: duckdb.DuckDBPyConnection, scope: Scope, spec: TierSpec | None = None, *,
              window: int | None = None) -> TierView:
    """The tiers page for ``scope`` and ``spec`` (default: the pyramid by revenue); ``window``: W of the churned
    figures (default: the churn page's default for the scope)."""
    from analytics.metrics import churn, churn_summary  # (the churn modules are heavier; only this needs them)

    spec = spec or TierSpec()
    frame = per_customer(con, scope, spec)
    if window is None:
        data = churn_summary.load(con, scope) or churn.purchase_months(con, scope)
        window = data.default_window()
    kept = frame[frame["tier"] >= 0]
    ranked = int(kept["ranked"].max()) if len(kept) else 0
    comparison = scope.comparison()
    matrix, moves = _migration(frame, spec.names) if comparison is not None else (None, None)
    return TierView(
        scope=scope, spec=spec, ranked=ranked, customers=len(kept),
        no_cost=int((~kept["costed"]).sum()) if spec.measure == "margin" else 0,
        table=_table(frame, spec.names), concentration=concentration(kept["value"].to_numpy(dtype=float)),
        mix=_mix(frame, spec.names), migration=matrix, moves=moves,
        churned=_churned(frame, spec.names, scope.end_exclusive - timedelta(days=1), window), window=window,
        comparison=comparison, names=spec.names)


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
    if value.fits.problem is not None or "clv" not in value.customers:
        return TierClv(None, value.fits.problem or "no_clv", value.horizon_months)
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
