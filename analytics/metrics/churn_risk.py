"""The churn page's customer lists from the customer value models: who is at risk now, and which of the customers
won back had been at risk.

- **at risk** (as of the period's end, or with an as-of day the last month end on or before it: the value
  models work to a month's end, and must not see purchases after the as-of day): active customers (a purchase
  within the window W) whose P(alive) (the BG/NBD model of the value page) is below :data:`AT_RISK_P`, most
  likely gone first (ties: higher CLV first, then customer id), with their CLV as the value at risk;
- **had been at risk**: a customer won back in the period who was on that list as of the day before the period
  (the models fitted on the data up to then).

Both fit the value page's models for a scope (seconds on a large base; kept like the value page's), so the page
draws them after the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import duckdb
import pandas as pd

from analytics.metrics import value
from analytics.scope import Scope, add_months, month_start

#: P(alive) below this puts an active customer on the at-risk list.
AT_RISK_P = 0.5
COLUMNS = ("customer_id", "p_alive", "clv", "customer_name", "home_region", "segment", "recency_days", "frequency",
           "monetary", "revenue", "expected_purchases")


@dataclass(frozen=True)
class AtRisk:
    """The at-risk list (``customers``: :data:`COLUMNS`, ranked; empty with a ``problem`` when the models could not
    be fitted) and the ids of the customers on the list as of the day before the period (``before``; None with
    ``before_problem`` when there is no model for then: no data before the period, or a fit problem)."""

    window: int
    threshold: float
    as_of: date  # the day the list is as of (a month's last day)
    customers: pd.DataFrame
    problem: str | None
    before: frozenset[str] | None
    before_problem: str | None


def _listed(view: value.ValueView, window: int, threshold: float) -> pd.DataFrame:
    table = view.customers
    if "p_alive" not in table:
        return table.iloc[0:0].reindex(columns=list(COLUMNS))
    risky = table[(table["recency_days"] <= window) & (table["p_alive"] < threshold)]
    ordered = risky.sort_values(["p_alive", "clv", "customer_id"], ascending=[True, False, True])
    return ordered[[c for c in COLUMNS if c in ordered]].reset_index(drop=True)


def at_risk(con: duckdb.DuckDBPyConnection, scope: Scope, window: int, *, threshold: float = AT_RISK_P,
            as_of: date | None = None) -> AtRisk:
    """The at-risk list as of the period's end (or the last month end on or before ``as_of``) and the list as of
    the day before the period (module docstring)."""
    if as_of is not None and (as_of + timedelta(days=1)).day != 1:  # not a month's last day: the month before
        scope = replace(scope, end=add_months(month_start(as_of), -1)) if month_start(as_of) > scope.start else scope
    now = value.value_view(con, scope, holdout=False)
    before_scope = replace(scope, start=add_months(scope.start, -1), end=add_months(scope.start, -1),
                           compare="none")
    first = con.execute("select min(first_order_date) from customer_summary").fetchall()[0][0]
    before, before_problem = None, "no_data"
    if first is not None and first < scope.start:
        earlier = value.value_view(con, before_scope, holdout=False)
        if "p_alive" in earlier.customers:
            before, before_problem = frozenset(_listed(earlier, window, threshold)["customer_id"]), None
        else:
            before_problem = earlier.fits.problem
    return AtRisk(window=window, threshold=threshold, as_of=now.as_of, customers=_listed(now, window, threshold),
                  problem=None if "p_alive" in now.customers else now.fits.problem, before=before,
                  before_problem=before_problem)


def with_flags(win_back: pd.DataFrame, risk: AtRisk | None) -> pd.DataFrame:
    """The won-back customers with ``was_at_risk`` (True/False; None when not known)."""
    known = risk is not None and risk.before is not None
    flags = [(c in risk.before) if known else None for c in win_back["customer_id"]]
    return win_back.assign(was_at_risk=pd.Series(flags, index=win_back.index, dtype=object))
