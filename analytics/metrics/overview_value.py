"""The overview's average-CLV tile: the customer value page's lifetime value per customer.

Definition (also on the tile and in the overview's definitions):

- **average CLV** = the value page's CLV total / its customers
  (:func:`analytics.metrics.value.value_view` with its default settings: ``total.point /
  n_customers``), as of the last day of the period, over every customer in scope with a
  purchase up to then; its 90 % interval is the total's (``total.low``, ``total.high``)
  divided by the same count;
- the comparison figure is the same at the end of the comparison period (``value_view`` on
  :meth:`~analytics.scope.Scope.comparison`); the tile's change is relative, as for the other
  money tiles;
- when the models cannot be fitted (``fits.problem``, one of
  :data:`analytics.metrics.value_fit.PROBLEMS`) there is no figure and the problem is named.

The fits and the lifetime values are kept per inputs (:mod:`analytics.metrics.value_fit`), so
the value page and the overview of the same scope fit once between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from analytics.metrics.value import LEVEL, ValueView, value_view
from analytics.scope import Scope


@dataclass(frozen=True)
class PeriodClv:
    """The average CLV at the end of one period.

    ``value``, ``low`` and ``high`` (the 90 % interval) are per customer, in the data's currency,
    None when ``problem`` (a :data:`~analytics.metrics.value_fit.PROBLEMS` code) stopped the models;
    ``n``: the customers it averages over.
    """

    as_of: date
    n: int
    value: float | None
    low: float | None
    high: float | None
    problem: str | None


@dataclass(frozen=True)
class AverageClv:
    """The tile: the period's average CLV, the comparison period's (None without one), and the
    settings both used (``horizon_months``, ``discount_rate`` a year, ``margin_source``: "cost"
    or "setting", ``margin``: the rate of customers without their own, ``level`` of the interval)."""

    current: PeriodClv
    comparison: PeriodClv | None
    horizon_months: int
    discount_rate: float
    margin_source: str
    margin: float
    level: float = LEVEL


def period_clv(view: ValueView) -> PeriodClv:
    """The average CLV of a value page's view: its totals divided by its customers."""
    total, n = view.total, view.n_customers
    if view.fits.problem is not None:  # else the models fitted, with at least MIN_CUSTOMERS customers
        return PeriodClv(view.as_of, n, None, None, None, view.fits.problem)
    return PeriodClv(view.as_of, n, total.point / n, total.low / n, total.high / n, None)


def _view(con: duckdb.DuckDBPyConnection, scope: Scope) -> ValueView:
    # The tile needs no holdout check (the CLV does not depend on it); the fits and lifetime
    # values are the value page's own, kept per inputs.
    return value_view(con, scope, holdout=False)


def average_clv(con: duckdb.DuckDBPyConnection, scope: Scope) -> AverageClv:
    """The average-CLV tile for ``scope`` (see the module docstring)."""
    now = _view(con, scope)
    comparison = scope.comparison()
    before = period_clv(_view(con, comparison)) if comparison is not None else None
    return AverageClv(current=period_clv(now), comparison=before, horizon_months=now.horizon_months,
                      discount_rate=now.discount_rate, margin_source=now.margin_source, margin=now.margin)
