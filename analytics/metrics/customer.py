"""The customer detail's view model: one customer as of the end of the selected period.

Opened from any customer table (the value page's first; the churn, tier and satisfaction pages
reuse it) by the customer's id, or found by a search. Everything goes through the gate: a
customer outside the user's scope (another region's, for a sales manager) is "not found",
exactly like one that does not exist, whatever the URL asks.

What it shows: who the customer is (``customer_summary``), their purchase history by month
(``customer_month``) and their latest transactions, their RFM scores and segment, P(alive),
expected purchases and CLV with its interval (the value page's models for the same scope and
settings, :func:`analytics.metrics.value.value_view`: fitted once, reused), and their feedback
and complaints when a feedback file was imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from analytics import scope as gate
from analytics.metrics import value
from analytics.scope import Scope

#: Latest transactions listed; matches listed for a search.
TRANSACTIONS_SHOWN = 500
MATCHES_SHOWN = 20


@dataclass(frozen=True)
class CustomerView:
    """One customer, or the customers a search matched (``customer_id`` None)."""

    query: str | None
    customer_id: str | None
    profile: dict[str, Any] | None
    months: pd.DataFrame | None  # month, orders, purchase_days, revenue, returns_amount
    transactions: pd.DataFrame | None  # the latest TRANSACTIONS_SHOWN, newest first
    transaction_count: int
    value: dict[str, Any] | None  # the customer's row of the value page (RFM, P(alive), CLV ...)
    models_problem: str | None
    horizon_months: int
    feedback: pd.DataFrame | None  # ... resolved_date, resolution_days (days to resolve a complaint), comment
    matches: pd.DataFrame  # customer_id, customer_name, home_region, revenue (search results)


def customer_detail(con: duckdb.DuckDBPyConnection, scope: Scope, *, customer: str | None = None) -> CustomerView:
    """The customer whose id is ``customer`` (when in scope), else the customers in scope whose id starts
    with it or whose name contains it (at most :data:`MATCHES_SHOWN`, by revenue); nothing without one."""
    empty = pd.DataFrame(columns=["customer_id", "customer_name", "home_region", "revenue"])
    if not customer:
        return CustomerView(None, None, None, None, None, 0, None, None, 12, None, empty)
    who = gate.customers(scope)
    profile = con.cursor().execute(f"select * from ({who.sql}) c where customer_id = ?",
                                   [*who.params, customer]).df()
    if profile.empty:
        matches = con.cursor().execute(
            f"select customer_id, customer_name, home_region, revenue from ({who.sql}) c "
            "where starts_with(customer_id, ?) or contains(lower(customer_name), lower(?)) "
            f"order by revenue desc, customer_id limit {MATCHES_SHOWN}", [*who.params, customer, customer]).df()
        return CustomerView(customer, None, None, None, None, 0, None, None, 12, None, matches)
    rows = gate.customer_records(scope, "transactions", customer)
    transactions = con.cursor().execute(
        f"select order_date, transaction_id, amount, quantity, product, category, region, channel, sales_rep, "
        f"is_return from ({rows.sql}) order by order_date desc, line desc limit {TRANSACTIONS_SHOWN}",
        list(rows.params)).df()
    count = con.cursor().execute(f"select count(*) from ({rows.sql})", list(rows.params)).fetchall()[0][0]
    history = gate.customer_history(scope)
    months = con.cursor().execute(
        f"select month, orders, purchase_days, revenue, returns_amount, first_day, last_day "
        f"from ({history.sql}) h where customer_id = ? order by month", [*history.params, customer]).df()
    notes = gate.customer_records(scope, "feedback", customer)
    feedback = con.cursor().execute(
        "select feedback_date, feedback_kind, score, scale, category, resolved_date, "
        f"datediff('day', feedback_date, resolved_date) as resolution_days, comment from ({notes.sql}) "
        "order by feedback_date desc", list(notes.params)).df()
    view = value.value_view(con, scope, holdout=False)  # the detail shows no holdout check
    row = view.with_intervals(view.customers[view.customers["customer_id"] == customer])
    shown = months[["month", "orders", "purchase_days", "revenue", "returns_amount"]]
    return CustomerView(customer, customer, _as_of(profile.iloc[0].to_dict(), months), shown, transactions, int(count),
                        row.iloc[0].to_dict() if len(row) else None, view.fits.problem, view.horizon_months,
                        feedback if len(feedback) else None, empty)


def _as_of(profile: dict[str, Any], months: pd.DataFrame) -> dict[str, Any]:
    """``customer_summary``'s row with its purchase figures as of the period's end (its ``months``), not
    over the whole data: the detail of an earlier period shows nothing that happened after it."""
    first, last = months["first_day"].dropna(), months["last_day"].dropna()
    revenue, returns = float(months["revenue"].sum()), float(months["returns_amount"].sum())
    return profile | {
        "first_order_date": first.min().date() if len(first) else None,
        "last_order_date": last.max().date() if len(last) else None,
        "orders": int(months["orders"].sum()), "purchase_days": int(months["purchase_days"].sum()),
        "revenue": revenue, "gross_revenue": revenue + returns, "returns_amount": returns,
        # the customer's margin rate (over all their costed rows) on their revenue to the period's end
        "margin": (revenue * float(profile["margin"]) / float(profile["costed_revenue"])
                   if pd.notna(profile["costed_revenue"]) and profile["costed_revenue"] > 0 else None),
        "first_day_revenue": profile["first_day_revenue"] if len(first) else None,
        "acquired_date": profile["acquired_date"].date() if pd.notna(profile["acquired_date"]) else None}


def report(view: CustomerView) -> dict[str, Any]:
    """The customer detail for ``report customer --customer ID``."""
    return {"query": view.query, "customer_id": view.customer_id, "found": view.customer_id is not None,
            "profile": view.profile, "value": view.value, "models_problem": view.models_problem,
            "horizon_months": view.horizon_months, "months": view.months, "transaction_count": view.transaction_count,
            "transactions": view.transactions, "feedback": view.feedback, "matches": view.matches}


def report_lines(data: dict[str, Any]) -> list[str]:
    """The customer report as lines for a terminal."""
    if not data["query"]:
        return ["give a customer id (or part of a name) with --customer"]
    if not data["found"]:
        lines = [f"no customer {data['query']!r} among the customers in scope"]
        if data["matches"]:
            lines += ["matches:"] + [f"  {m['customer_id']}  {m['customer_name'] or ''}  {m['home_region'] or ''}"
                                     for m in data["matches"]]
        return lines
    p, v = data["profile"], data["value"] or {}
    lines = [f"{data['customer_id']} {p.get('customer_name') or ''} ({p.get('home_region') or 'no region'}, "
             f"{p.get('segment') or 'no segment'})",
             f"first purchase {p.get('first_order_date')}, last {p.get('last_order_date')}; "
             f"{data['transaction_count']:,} transaction rows"]
    if v:
        lines.append(f"RFM {v['r']}{v['f']}{v['m']} ({v['rfm_segment']}): recency {v['recency_days']} days, "
                     f"{v['frequency']} purchase days, {v['monetary']:,.2f} per purchase day")
        if v.get("clv") is not None:
            lines.append(f"P(alive) {v['p_alive']:.1%}; expected purchases in {data['horizon_months']} months "
                         f"{v['expected_purchases']:.2f}; CLV {v['clv']:,.2f} "
                         f"(90% interval {v['clv_low']:,.2f} to {v['clv_high']:,.2f})")
    if data["models_problem"]:
        lines.append(f"models not fitted: {data['models_problem']}")
    return lines
