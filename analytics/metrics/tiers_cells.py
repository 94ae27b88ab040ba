"""The customers behind one cell of the tiers page's migration matrix, and whether margin can rank anyone.

A cell is a pair (``before``, ``after``): a customer's tier in the comparison period (a tier name, or ``"new"``:
no purchase then) and in the period (a tier name, or ``"lost"``: no purchase in it), exactly as
:func:`analytics.metrics.tiers.tier_view` counts them (the same :func:`analytics.tiering.ranked_sql` windows over
every customer the user may see, then the filters' customers through the gate, :func:`analytics.scope.customers`).
The view model carries numbers only; the page asks for a cell's ids and names here when a cell is picked.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from analytics import tiering
from analytics.metrics.tiers import LOST, NEW
from analytics.metrics.tiers_report import spec_of
from analytics.scope import Scope, customers
from analytics.store import marts
from analytics.tiering import TierSpec

#: The columns of :func:`cell_customers`, in order.
CELL_COLUMNS = ("customer_id", "customer_name", "home_region", "segment", "value_before", "value_after",
                "value_change")


def _tier(label: str, spec: TierSpec, outside: str, side: str) -> int:
    """The tier index of ``label`` (-1 for ``outside``: new before, lost after)."""
    if label == outside:
        return -1
    if label in spec.names:
        return spec.names.index(label)
    raise ValueError(f"the {side} tier must be one of {', '.join([*spec.names, outside])}, not {label!r}")


def cell_customers(con: duckdb.DuckDBPyConnection, scope: Scope, spec: TierSpec, before: str,
                   after: str) -> pd.DataFrame:
    """The customers the filters keep who were in tier ``before`` in the comparison period and are in tier
    ``after`` in the period.

    Parameters
    ----------
    con
        The database.
    scope
        The period, its comparison period, the filters and the user's regions.
    spec
        The tiers (names, cut points, revenue or margin).
    before
        A tier name of ``spec``, or ``"new"`` (no purchase in the comparison period).
    after
        A tier name of ``spec``, or ``"lost"`` (no purchase in the period).

    Returns
    -------
    pandas.DataFrame
        One row per customer: ``customer_id``, ``customer_name``, ``home_region``, ``segment``, ``value_before``
        and ``value_after`` (their value in each period, 0 when they bought nothing in it; currency units) and
        ``value_change`` (after less before); the largest change either way first, ties by customer id.

    Raises
    ------
    ValueError
        When the scope has no comparison period, or ``before`` or ``after`` is no tier of ``spec``.
    """
    comparison = scope.comparison()
    if comparison is None:
        raise ValueError("a migration cell needs a comparison period (the scope compares with none)")
    was, now = _tier(before, spec, NEW, "before"), _tier(after, spec, LOST, "after")
    margins = spec.measure == "margin" and marts.summaries_ready(con)
    allowed = scope.allowed_regions
    now_sql, now_params = tiering.ranked_sql(spec, scope.start, scope.end_exclusive, allowed, margins)
    then_sql, then_params = tiering.ranked_sql(spec, comparison.start, comparison.end_exclusive, allowed, margins)
    who = customers(scope)
    sql = (f"with now as ({now_sql}), then_ as ({then_sql}), who as ({who.sql}), "
           "moved as (select customer_id, coalesce(t.value, 0) as value_before, coalesce(n.value, 0) as value_after "
           "from now n full outer join then_ t using (customer_id) "
           "where coalesce(t.tier, -1) = ? and coalesce(n.tier, -1) = ?) "
           "select w.customer_id, w.customer_name, w.home_region, w.segment, m.value_before, m.value_after, "
           "m.value_after - m.value_before as value_change "
           "from moved m join who w using (customer_id) "
           "order by abs(m.value_after - m.value_before) desc, w.customer_id")
    frame = con.execute(sql, [*now_params, *then_params, *who.params, was, now]).df()
    return frame[list(CELL_COLUMNS)]


def has_cost(con: duckdb.DuckDBPyConnection, scope: Scope) -> bool:
    """Whether any customer the user may see (their regions; the filters do not matter: tiers rank them all)
    has a sales row with a known cost, so that ranking by margin means something."""
    who = customers(Scope(scope.start, scope.end, allowed_regions=scope.allowed_regions))
    sql = f"select exists (select 1 from ({who.sql}) c where c.costed_revenue is not null)"
    return bool(con.execute(sql, list(who.params)).fetchall()[0][0])


def _cell(con: duckdb.DuckDBPyConnection, scope: Scope, options: dict[str, Any], before: str,
          after: str) -> pd.DataFrame:
    return cell_customers(con, scope, spec_of(con, **options), before, after)


def _costs(con: duckdb.DuckDBPyConnection, scope: Scope, options: dict[str, Any]) -> bool:
    del options  # the same answer for any tiers
    return has_cost(con, scope)


#: The tiers page's queries beyond its view model, by name, for its one cached loader
#: (``ui.loaders.load_tiers_query``): ``query(con, scope, options, *args)``, ``options`` the page's options
#: (:func:`analytics.metrics.tiers_report.spec_of`'s keywords).
QUERIES = {"cell": _cell, "costs": _costs}
