"""The gate's feedback part: the feedback marts' rows of the customers in scope."""

from __future__ import annotations

from datetime import date

from analytics.scope import Rows, Scope, customers

#: The feedback marts :func:`customer_feedback` reads, and the column that dates their rows.
FEEDBACK_TABLES = {"feedback_month": "month", "survey_followups": "feedback_date", "complaints": "feedback_date"}


def customer_feedback(scope: Scope, last_day: date, table: str) -> Rows:
    """A feedback mart's rows (:data:`FEEDBACK_TABLES`) dated up to ``last_day``, of the customers in scope by
    their own attributes (:func:`customers`): every column of ``table``."""
    who = customers(scope)
    return Rows(f"select f.* from {table} f semi join ({who.sql}) c using (customer_id) "
                f"where f.{FEEDBACK_TABLES[table]} <= ?", (*who.params, last_day))
