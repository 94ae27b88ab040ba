"""The overview's CSAT and NPS tiles: the satisfaction page's figures (:mod:`analytics.metrics.satisfaction`) over
the period and the comparison period, with their changes (in points), numbers of responses and 95 % intervals;
anonymous responses count by the page's rule (a user who sees every region, no region, segment or tier filter).
No tile when neither period has a response (a database without surveys shows none)."""

from __future__ import annotations

import duckdb

from analytics.metrics.kpis import Kpi
from analytics.metrics.satisfaction import month_counts
from analytics.scope import Scope

#: The tiles, in order.
TILES = ("csat", "nps")


def satisfaction_kpis(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, Kpi]:
    """``{"csat": Kpi, "nps": Kpi}`` (CSAT as a share, NPS in points; the change is the difference: a share's in
    fractions, NPS's in points), or ``{}`` without responses."""
    counted = month_counts(con, scope)
    now = counted.total(scope.start, scope.end)
    comparison = scope.comparison()
    before = None if comparison is None else counted.total(comparison.start, comparison.end)
    out = {}
    for name in TILES:
        e, b = now[name], (before[name] if before else None)
        if e.n == 0 and (b is None or b.n == 0):
            continue
        value = None if e.n == 0 else float(e.value)
        previous = None if b is None or b.n == 0 else float(b.value)
        out[name] = Kpi(name, value, previous, None if value is None or previous is None else value - previous,
                        n=e.n or None, ci=None if e.n == 0 else (float(e.low), float(e.high)),
                        previous_n=None if b is None else b.n)
    return out
