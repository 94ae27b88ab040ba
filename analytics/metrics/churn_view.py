"""The churn & retention page's view model: churn by month with a visible, adjustable definition, how the rate
depends on the inactivity window, churn by group against the comparison period, cohorts, survival curves, what
goes with leaving sooner (a Cox model) and the customers won back.

Definitions beyond those of :mod:`analytics.metrics.churn` and :mod:`analytics.metrics.cohorts` (shown on the
page):

- **churn rate of the period** (and of the comparison period, and of each group): the customers who churned in
  its complete months over the customers active at those months' starts (customer-months at risk), with a 95 %
  Wilson interval; provisional months are left out (their churn is not yet known);
- **too few to rank**: a group whose interval is wider than :data:`WIDE` (10 points); **moved**: a group whose
  rate differs from its comparison-period rate by more than sampling error (two-proportion z-test, p < 0.05,
  customer-months taken as independent: an approximation, stated);
- **window sensitivity**: the period's churn rate and the share of customers churned as of the as-of day for
  each window of :data:`SENSITIVITY_WINDOWS` and the chosen one;
- **lifetime** (the survival curves and the Cox model): from the first purchase to the last (churned as of the
  as-of day: observed) or to the as-of day (active: censored), in days;
- **drivers**: a Cox model of lifetime (:mod:`analytics.metrics.churn_drivers`: a fixed sample, customer
  attributes, and feedback as it was given);
- **won back**: customers who bought again after being churned, in the period's months up to the as-of day,
  with the days they were away (from their purchase before to the return).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics import churn, churn_drivers, churn_risk, churn_summary
from analytics.metrics.churn_summary import Lives, fold
from analytics.metrics.cohorts import CohortRetention, cohort_retention
from analytics.models.cox import CoxFit
from analytics.models.proportions import two_proportion_p_value
from analytics.models.survival import LogRankTest, SurvivalCurve, kaplan_meier, log_rank_test
from analytics.scope import Scope, customers

LEVEL = 0.95
#: The windows of the sensitivity chart (days), with the chosen one.
SENSITIVITY_WINDOWS: tuple[int, ...] = tuple(range(30, 361, 30))
#: A group whose churn interval is wider than this (0-1) is marked, not ranked.
WIDE = 0.10
#: A change beyond sampling error: the two-proportion test's p-value below this.
MOVED_P = 0.05
#: Months of cohorts' cells.
COHORT_MONTHS = 24
GROUP_COLUMNS = ("group", "churned", "exposure", "rate", "low", "high", "compare_churned", "compare_exposure",
                 "compare_rate", "compare_low", "compare_high", "p_value", "small", "moved")


@dataclass(frozen=True)
class Definition:
    """The definition in use: the window W (days) and where it came from (``"data"``: the rule on the data's
    gaps; ``"option"``: asked for; ``"fallback"``: no repeat purchases to derive it from), the gaps' rule, and
    the as-of day A (``"option"`` or ``"data"``: the period's last day or the data's end)."""

    window: int
    window_source: str
    default_window: int
    gap_share: float
    as_of: date | None
    as_of_source: str


@dataclass(frozen=True)
class SurvivalSet:
    """Kaplan–Meier curves of one grouping (``"all"``: one curve) and the log-rank test between its groups."""

    grouping: str
    curves: tuple[SurvivalCurve, ...]
    log_rank: LogRankTest | None


@dataclass(frozen=True)
class ChurnView:
    """Everything the churn & retention page shows for a scope, a window and an as-of day (module docstring)."""

    scope: Scope
    definition: Definition
    n_customers: int  # with a purchase on or before the as-of day
    active: int  # of them, active on the as-of day
    churned: int  # of them, churned on the as-of day
    monthly: pd.DataFrame  # churn.monthly_churn of the period
    comparison_monthly: pd.DataFrame | None
    period_rate: tuple[int, int, float, float, float]  # churn.pooled_rate of the period's complete months
    comparison_rate: tuple[int, int, float, float, float] | None
    by_group: dict[str, pd.DataFrame]  # GROUP_COLUMNS per grouping with at least one group
    sensitivity: pd.DataFrame  # window, churned, exposure, rate, low, high, churned_share, chosen
    cohorts: CohortRetention
    survival: dict[str, SurvivalSet]
    cox: CoxFit | None
    cox_problem: str | None  # "too_few" | "failed: ..." when there is no model; "not_asked" without drivers
    cox_customers: int  # customers the model was fitted on (the sample)
    cox_population: int  # customers it was drawn from
    win_back: pd.DataFrame  # customer_id, returned, days_away, revenue, home_region, segment (names: with_names)
    at_risk: churn_risk.AtRisk | None = None  # with_at_risk: the lists from the value models (slower)
    tiers: object | None = None  # churn_tiers.TierSplit: the split by tier (the report; the page loads it apart)

    @property
    def empty(self) -> bool:
        """No customer in scope bought on or before the as-of day."""
        return self.n_customers == 0


def churn_view(con: duckdb.DuckDBPyConnection, scope: Scope, *, window_days: int | None = None,
               as_of: date | None = None, with_at_risk: bool = True, with_drivers: bool = True) -> ChurnView:
    """The churn & retention page for ``scope`` (the registry's loader; see the module docstring).

    Parameters
    ----------
    con
        The CRM database (the page's snapshot).
    scope
        The page's scope (period, comparison, filters, the user's regions).
    window_days
        The inactivity window W in days (at least :data:`analytics.metrics.churn.MIN_WINDOW`); default: derived
        from the data's purchase gaps (:func:`analytics.metrics.churn.default_window`).
    as_of
        The as-of day A, in the period; default: its last day, or the data's last purchase day if earlier.
    with_at_risk
        Also the at-risk list and which won-back customers had been on it
        (:func:`analytics.metrics.churn_risk.at_risk`: fits the value models; the page loads it after the rest).
    with_drivers
        Also the Cox model (:func:`analytics.metrics.churn_drivers.drivers`; the page loads it after the rest).

    The figures come from the summaries built after an import when they answer
    (:func:`analytics.metrics.churn_summary.load`), else from every customer's purchase months
    (:func:`analytics.metrics.churn.purchase_months`): the same figures either way.

    Raises
    ------
    ValueError
        A window below the minimum or an as-of day outside the period.
    """
    if window_days is not None and window_days < churn.MIN_WINDOW:
        raise ValueError(f"the inactivity window must be at least {churn.MIN_WINDOW} days, not {window_days}")
    data: churn.ChurnData | None = churn_summary.load(con, scope, as_of, window_days)
    if data is not None and window_days is None and data.default_window() not in churn_summary.WINDOWS:
        data = None  # (the default is always a multiple of 30 within them: a guard, not a path)
    if data is None:
        data = churn.purchase_months(con, scope, as_of)
    scope = cut_at(scope, data.as_of)  # months after the as-of day's are not shown
    derived = data.default_window()
    window = window_days if window_days is not None else derived
    lives = _lives(data, window) if isinstance(data, churn.PurchaseMonths) else data.lives(con, scope, window)
    source = "option" if window_days is not None else ("data" if data.has_gaps else "fallback")
    definition = Definition(window=window, window_source=source, default_window=derived, gap_share=churn.GAP_SHARE,
                            as_of=data.as_of if lives.n_customers else None,
                            as_of_source="option" if as_of is not None else "data")
    monthly = churn.monthly_churn(data, scope, window)
    comparison = scope.comparison()
    comparison_monthly = None if comparison is None else churn.monthly_churn(data, comparison, window)
    cox, problem, sampled, population = (churn_drivers.drivers(con, scope, window, data.as_of)
                                         if with_drivers else (None, "not_asked", 0, 0))
    churned = lives.churned(window)
    return ChurnView(
        scope=scope, definition=definition, n_customers=lives.n_customers, active=lives.n_customers - churned,
        churned=churned, monthly=monthly, comparison_monthly=comparison_monthly,
        period_rate=churn.monthly_rate(monthly),
        comparison_rate=None if comparison_monthly is None else churn.monthly_rate(comparison_monthly),
        by_group=_by_group(data, scope, window), sensitivity=_sensitivity(data, lives, scope, window),
        cohorts=cohort_retention(con, scope, max_months=COHORT_MONTHS, as_of=data.as_of,
                                 summarised=not isinstance(data, churn.PurchaseMonths)),
        survival=_survival(lives), cox=cox, cox_problem=problem, cox_customers=sampled,
        cox_population=population,
        win_back=(_win_back(data, scope, window) if isinstance(data, churn.PurchaseMonths)
                  else data.win_back(con, scope, window)),
        at_risk=churn_risk.at_risk(con, scope, window, as_of=data.as_of)
        if with_at_risk and lives.n_customers else None)


def cut_at(scope: Scope, as_of: date) -> Scope:
    """The scope whose period ends in the as-of day's month (months after it are not known)."""
    # (a data end before the period leaves the period as it is: every month is provisional)
    return replace(scope, end=as_of) if scope.start <= as_of < scope.end_exclusive - timedelta(days=1) else scope


def _by_group(data: churn.ChurnData, scope: Scope, window: int) -> dict[str, pd.DataFrame]:
    return {grouping: group_frame(churn.group_rates(data, scope, window, grouping))
            for grouping in churn.GROUPINGS if data.labels[grouping]}


def group_frame(rates: list[tuple[str | None, tuple, tuple | None]]) -> pd.DataFrame:
    """The :data:`GROUP_COLUMNS` frame of :func:`analytics.metrics.churn.group_rates`' rates: per group its rate,
    the comparison period's, the test of their difference, whether the interval is too wide to rank (``small``)
    and whether the rate moved beyond sampling error (``moved``: up, down or None). The last group (customers
    without one) is left out when it has nobody in either period."""
    rows = []
    for label, now, then in rates:
        c, a, rate, low, high = now
        cc, ca, crate, clow, chigh = then if then is not None else (0, 0, np.nan, np.nan, np.nan)
        if label is None and a == 0 and ca == 0:
            continue  # no customer without a group
        p = two_proportion_p_value(c, a, cc, ca) if then is not None else None
        moved = None if p is None or p >= MOVED_P else ("up" if rate > crate else "down")
        rows.append((label, c, a, rate, low, high, cc, ca, crate, clow, chigh, np.nan if p is None else p,
                     bool(a == 0 or high - low > WIDE), moved))
    return pd.DataFrame(rows, columns=list(GROUP_COLUMNS))


def _sensitivity(data: churn.ChurnData, lives: Lives, scope: Scope, window: int) -> pd.DataFrame:
    complete = churn.complete(data, scope)
    rows = []
    for w in sorted({*SENSITIVITY_WINDOWS, window}):
        active, churned = data.counts(scope, w)
        c, a, rate, low, high = churn.pooled_rate(churned[0][complete], active[0][complete])
        share = lives.churned(w) / lives.n_customers if lives.n_customers else np.nan
        rows.append((w, c, a, rate, low, high, share, w == window))
    return pd.DataFrame(rows, columns=["window", "churned", "exposure", "rate", "low", "high", "churned_share",
                                       "chosen"])


def _lives(months: churn.PurchaseMonths, window: int) -> Lives:
    """:class:`~analytics.metrics.churn_summary.Lives` from every customer's purchase months: per customer with a
    purchase on or before the as-of day, the days since their last one and their lifetime (``duration``,
    ``observed``: churned as of the as-of day), counted."""
    last_rows = months.next_first < 0
    as_of = churn.day_number(months.as_of)
    last, first = months.last[last_rows], months.customer_first[last_rows]
    since = as_of - last
    observed = since > window
    frame = pd.DataFrame({"duration": np.where(observed, last - first, as_of - first), "observed": observed,
                          "customers": 1})
    for g in churn.GROUPINGS:
        labels = np.array([*months.labels[g], None], dtype=object)
        frame[g] = labels[np.where(months.codes[g][last_rows] < 0, len(labels) - 1, months.codes[g][last_rows])]
    recency, counts = np.unique(since, return_counts=True)
    return Lives(recency.astype(np.int64), counts.astype(np.int64),
                 {g: fold(frame, g) for g in ("all", *churn.GROUPINGS)})


def _survival(lives: Lives) -> dict[str, SurvivalSet]:
    """Kaplan–Meier curves overall and per grouping (with at least two groups)."""
    if not lives.n_customers:
        return {}
    sets = {grouping: survival_set(lives.folded[grouping], grouping) for grouping in ("all", *churn.GROUPINGS)}
    return {grouping: s for grouping, s in sets.items() if s is not None}


def survival_set(counts: pd.DataFrame, grouping: str) -> SurvivalSet | None:
    """The Kaplan–Meier curves of lifetimes counted per distinct (duration, observed[, group]) (a
    :attr:`Lives.folded` frame) and the log-rank test between the groups; None for fewer than two groups."""
    groups = None if grouping == "all" else counts["group"].to_numpy(dtype=object)
    if groups is not None and len(set(groups)) < 2:
        return None
    curves = kaplan_meier(counts["duration"], counts["observed"], groups, weights=counts["customers"], level=LEVEL)
    test = None if groups is None else log_rank_test(counts["duration"], counts["observed"], groups,
                                                     weights=counts["customers"])
    return SurvivalSet(grouping, curves, test)


def _win_back(months: churn.PurchaseMonths, scope: Scope, window: int) -> pd.DataFrame:
    """Customers won back in the period's months (up to the as-of day): their return, days away and revenue that
    month, with their home region and segment; latest return first (names: :func:`with_names`)."""
    start = churn.day_number(scope.start)
    end = min(churn.day_number(scope.end_exclusive) - 1, churn.day_number(months.as_of))
    back = churn.returns(months, window) & (months.first >= start) & (months.first <= end)
    group = {g: np.array([*months.labels[g], None], dtype=object)[
        np.where(months.codes[g][back] < 0, len(months.labels[g]), months.codes[g][back])] for g in
        ("home_region", "segment")}
    frame = pd.DataFrame({
        "customer_id": months.ids_by_seq[months.seq[back]],
        "returned": (months.first[back]).astype("datetime64[D]").astype("datetime64[s]"),
        "days_away": (months.first[back] - months.previous_last[back]).astype("int64"),
        "revenue": months.revenue[back].astype(float), **group})
    return frame.sort_values(["returned", "customer_id"], ascending=[False, True]).reset_index(drop=True)


def with_names(con: duckdb.DuckDBPyConnection, scope: Scope, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (a ``customer_id`` column) with the customers' names (``customer_name``) after their ids."""
    who = customers(scope)
    names = con.execute(f"select customer_id, customer_name from ({who.sql}) c "
                        "semi join (select unnest(?) as customer_id) r using (customer_id)",
                        [*who.params, sorted(set(frame["customer_id"]))]).df()
    out = frame.merge(names, on="customer_id", how="left")
    columns = list(frame.columns)
    columns.insert(columns.index("customer_id") + 1, "customer_name")
    return out[columns]
