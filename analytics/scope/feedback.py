"""The gate's feedback part: the feedback marts' rows of the customers in scope, and the anonymous responses.

An **anonymous response** is a survey score without a customer (the survey tool exported no customer id): it has no
home region, segment or tier, so no filter or restriction can place it. It is seen only by a user who sees every
region (``allowed_regions`` None: an executive, analyst or admin; never a sales manager, even one whose list names
every region), and only when no region, segment or tier filter is set (:func:`sees_anonymous`); the channel filter
does not apply to feedback, a customer's or an anonymous one. Only ``feedback_month`` holds
anonymous rows (``customer_id`` NULL, one per month): follow-ups and complaints are about customers.
"""

from __future__ import annotations

from datetime import date

from analytics.scope import Rows, Scope, customers

#: The feedback marts :func:`customer_feedback` reads, and the column that dates their rows.
FEEDBACK_TABLES = {"feedback_month": "month", "survey_followups": "feedback_date", "complaints": "feedback_date"}
#: The marts that hold anonymous responses' rows (``customer_id`` NULL).
ANONYMOUS_TABLES = ("feedback_month",)


def sees_anonymous(scope: Scope) -> bool:
    """Whether ``scope`` sees the anonymous responses (module docstring): a user who sees every region, with no
    region, segment or tier filter."""
    return scope.allowed_regions is None and not scope.regions and not scope.segments and not scope.tiers


def customer_feedback(scope: Scope, last_day: date, table: str, *, anonymous: bool = False) -> Rows:
    """A feedback mart's rows (:data:`FEEDBACK_TABLES`) dated up to ``last_day``, of the customers in scope by
    their own attributes (:func:`customers`): every column of ``table``. With ``anonymous`` (``table`` one of
    :data:`ANONYMOUS_TABLES`), also the anonymous responses' rows (``customer_id`` NULL) when the scope sees them
    (:func:`sees_anonymous`); never otherwise.

    Raises
    ------
    ValueError
        ``anonymous`` asked of a mart without anonymous rows.
    """
    if anonymous and table not in ANONYMOUS_TABLES:
        raise ValueError(f"{table} holds no anonymous responses (only {', '.join(ANONYMOUS_TABLES)} does)")
    who, dated = customers(scope), FEEDBACK_TABLES[table]
    rows = f"select f.* from {table} f semi join ({who.sql}) c using (customer_id) where f.{dated} <= ?"
    if not (anonymous and sees_anonymous(scope)):
        return Rows(rows, (*who.params, last_day))
    return Rows(f"{rows} union all select f.* from {table} f where f.customer_id is null and f.{dated} <= ?",
                (*who.params, last_day, last_day))
