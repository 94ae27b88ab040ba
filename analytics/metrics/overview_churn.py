"""The overview's churn tile and churn highlights: the churn page's monthly churn rate for the period and the
comparison period, and the regions and customer tiers whose churn moved beyond sampling error.

Definitions (the churn page's, :mod:`analytics.metrics.churn`; shown in the tile's help):

- the **churn rate** is the period's: customers who churned in its complete months over the customers active at
  those months' starts, with its 95 % Wilson interval, for the window W derived from the data (the churn page's
  default) and as of the period's last day (or the data's end); the comparison period's is the same over its
  months; the tile's change is the difference in points;
- a **highlight** names the overall change and each region whose churn rate differs from its comparison-period
  rate beyond sampling error (two-proportion z-test, p < 0.05), largest change first, at most
  :data:`MAX_REGIONS`; regions with fewer than :data:`MIN_EXPOSURE` customer-months in either period are left
  out (their rates swing by chance);
- a **tier highlight** names each tier of the tier filter's pyramid (:mod:`analytics.metrics.churn_tiers`: the
  period's tiers against the comparison period's own) whose churn rate moved the same way, by the same rules
  (at most :data:`MAX_REGIONS`); it is computed after the rest (it ranks the customers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np

from analytics.metrics import churn, churn_summary, churn_tiers
from analytics.metrics.highlights import Highlight
from analytics.metrics.kpis import Kpi
from analytics.models.proportions import two_proportion_p_value
from analytics.scope import Scope

#: Regions named in the highlights, at most.
MAX_REGIONS = 2
#: A region needs this many customer-months in each period to be named.
MIN_EXPOSURE = 200
#: A change beyond sampling error: the two-proportion test's p-value below this.
SIGNIFICANT_P = 0.05


@dataclass(frozen=True)
class ChurnTile:
    """The tile's figures: W, the as-of day, the period's and the comparison period's pooled rates
    (:func:`analytics.metrics.churn.pooled_rate`: churned, customer-months, rate, low, high; the comparison None
    without one), the test of their difference and the churn highlights."""

    window: int
    current: tuple[int, int, float, float, float]
    comparison: tuple[int, int, float, float, float] | None
    p_value: float | None
    highlights: list[Highlight] = field(default_factory=list)


def churn_tile(con: duckdb.DuckDBPyConnection, scope: Scope) -> ChurnTile:
    """The tile and highlights for ``scope`` (module docstring): from the summaries when built for the current
    data, else from the purchase months (one query)."""
    months = churn_summary.load(con, scope) or churn.purchase_months(con, scope)
    window = months.default_window()
    current = churn.period_rate(months, scope, window)
    comparison_scope = scope.comparison()
    if comparison_scope is None:
        return ChurnTile(window, current, None, None)
    comparison = churn.period_rate(months, comparison_scope, window)  # (only its months whose churn is known)
    p = two_proportion_p_value(current[0], current[1], comparison[0], comparison[1])
    out = []
    if p is not None and not np.isnan(current[2]) and not np.isnan(comparison[2]):
        out.append(Highlight("churn_change", {"value": current[2], "previous": comparison[2],
                                              "change": current[2] - comparison[2], "significant": p < SIGNIFICANT_P}))
    out += _moved(churn.group_rates(months, scope, window, "home_region"), "region")
    return ChurnTile(window, current, comparison, p, out)


def _moved(rates: list[tuple[str | None, tuple, tuple | None]], kind: str) -> list[Highlight]:
    """Highlights ``churn_<kind>_up`` / ``_down`` for the groups of ``rates`` (:func:`churn.group_rates`' shape)
    whose rate moved beyond sampling error with enough customer-months in both periods, largest change first."""
    moves = []
    for group, (c, a, rate, _, _), then in rates:
        if group is None or then is None or min(a, then[1]) < MIN_EXPOSURE:  # (no group: no region, no tier)
            continue
        pc, pa, before = then[:3]
        p = two_proportion_p_value(c, a, pc, pa)
        if p is not None and p < SIGNIFICANT_P:
            moves.append((abs(rate - before), group, rate, before))
    return [Highlight(f"churn_{kind}_up" if rate > before else f"churn_{kind}_down",
                      {kind: group, "value": rate, "previous": before, "change": rate - before})
            for _, group, rate, before in sorted(moves, key=lambda m: (-m[0], m[1]))[:MAX_REGIONS]]


def tier_highlights(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[Highlight]:
    """The tiers whose churn rate moved beyond sampling error (module docstring); none without a comparison."""
    if scope.comparison() is None:
        return []
    months = churn_summary.load(con, scope) or churn.purchase_months(con, scope)
    split = churn_tiers.tier_split(con, scope, months.default_window(),
                                   months=months if isinstance(months, churn.PurchaseMonths) else None)
    if split is None:
        return []
    rates = [(None if g is None or g != g else g, (r.churned, r.exposure, r.rate, r.low, r.high),
              (r.compare_churned, r.compare_exposure, r.compare_rate, r.compare_low, r.compare_high))
             for g, r in zip(split.rates["group"], split.rates.itertuples(), strict=True)]
    return _moved(rates, "tier")


def churn_kpi(tile: ChurnTile) -> Kpi:
    """The tile as a KPI: the rate, the comparison's, the change in points, customer-months and interval."""
    _, exposure, rate, low, high = tile.current
    value = None if exposure == 0 else rate
    previous = None if tile.comparison is None or tile.comparison[1] == 0 else tile.comparison[2]
    change = None if value is None or previous is None else value - previous
    return Kpi("churn_rate", value, previous, change, n=exposure or None,
               ci=None if value is None else (low, high),
               previous_n=None if tile.comparison is None else tile.comparison[1])
