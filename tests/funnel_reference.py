"""Every figure of the funnel page computed from the raw rows with pandas and statsmodels, for the report's and the
page's tests (tests/test_funnel_report.py, tests/test_app_funnel.py): the lifecycle funnel's members read purchase
day by purchase day (tests/test_funnel_lifecycle.py's ``reference``), then the stage counts, both percentages, each
step's conversion with its Wilson interval (statsmodels), the comparison cohort, each step per group with the small
groups and the ranks, the biggest leak, the stage times and the stuck customers, as the README defines them. Nothing
here is a test; nothing here calls the funnel engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint
from test_churn_view import random_rows
from test_funnel_lifecycle import reference, stuck, window_of
from test_loyalty import Raw

from analytics.scope import Scope

STAGES = ("first_purchase", "repeat_purchase", "loyal", "active")
#: Each group column of the page and the customer attribute it is.
GROUPS = {"region": "home_region", "source": "acquisition_channel", "segment": "segment"}


def world() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The seeded random file of tests/test_churn_view.py with 1,200 customers (400 per region): enough for the
    regions not to be too few at the lifecycle's last step over a year (the biggest leak then names one)."""
    return random_rows(n=1200)


def raw_of(sales: pd.DataFrame, customers: pd.DataFrame) -> Raw:
    raw = Raw(sales, customers)
    raw.days = {c: np.array(sorted(set(g)), dtype="datetime64[D]") for c, g in raw.buys.groupby("customer_id")["day"]}
    return raw


def wilson(k: int, n: int) -> tuple[float, float]:
    return tuple(float(x) for x in proportion_confint(k, n, alpha=0.05, method="wilson")) if n else (np.nan, np.nan)


def reached(ref: pd.DataFrame, order: str) -> pd.DataFrame:
    """Per customer and stage: counted there under ``order``."""
    flags = pd.DataFrame({"first_purchase": True, "repeat_purchase": ref["second"].notna(),
                          "loyal": ref["loyal"].notna(), "active": ref["active"]}, index=ref.index).astype(bool)
    return flags.cummin(axis=1) if order == "strict" else flags


def stage_rows(ref: pd.DataFrame, order: str) -> pd.DataFrame:
    """One row per stage: members, % of previous, % of first, continued, conversion, low, high."""
    at = reached(ref, order)
    rows = []
    for i, k in enumerate(STAGES):
        members = int(at[k].sum())
        row = {"stage": k, "members": members, "pct_first": members / len(ref) if len(ref) else np.nan,
               "pct_previous": np.nan, "continued": 0, "conversion": np.nan, "low": np.nan, "high": np.nan}
        if i:
            before = at[STAGES[i - 1]]
            went = int((before & at[k]).sum())
            row.update(pct_previous=members / before.sum() if before.sum() else np.nan, continued=went,
                       conversion=went / before.sum() if before.sum() else np.nan)
            row["low"], row["high"] = wilson(went, int(before.sum()))
        rows.append(row)
    return pd.DataFrame(rows)


def group_rows(ref: pd.DataFrame, who: pd.DataFrame, order: str, grouping: str) -> pd.DataFrame:
    """Each step's conversion per group: group, step, start, reached, rate, low, high, small, rank (1: weakest of
    the groups not small; ties by the group's name); a customer without a value in the group None."""
    at = reached(ref, order)
    value = [v if isinstance(v, str) else None for v in who.reindex(ref["member_id"])[GROUPS[grouping]]]
    at = at.assign(group=value)
    rows = []
    for i in range(1, len(STAGES)):
        for group, part in at.groupby("group", dropna=False):
            start = int(part[STAGES[i - 1]].sum())
            went = int((part[STAGES[i - 1]] & part[STAGES[i]]).sum())
            low, high = wilson(went, start)
            rows.append({"group": None if pd.isna(group) else group, "step": i, "start": start, "reached": went,
                         "rate": went / start if start else np.nan, "low": low, "high": high,
                         "small": start < 30 or (high - low) > 0.2 or not start})
    frame = pd.DataFrame(rows)
    ranked = frame[~frame["small"]].assign(name=lambda f: f["group"].fillna("\uffff"))
    ranked = ranked.sort_values(["step", "rate", "name"])
    frame["rank"] = ranked.groupby("step").cumcount().add(1).reindex(frame.index)
    return frame


@dataclass
class Expected:
    """The page's figures for a scope, from the raw rows."""

    as_of: date
    window: int
    ref: pd.DataFrame
    stages: pd.DataFrame
    comparison: pd.DataFrame | None
    comparison_as_of: date | None
    groups: dict[str, pd.DataFrame]
    leak: dict | None
    times: pd.DataFrame
    stuck: list[tuple]

    @property
    def overall(self) -> float:
        return self.stages["members"].iloc[-1] / self.stages["members"].iloc[0]


def expected(raw: Raw, scope: Scope, order: str = "strict", n: int = 3, window: int | None = None,
             stuck_days: int | None = None) -> Expected:
    members = raw.members(scope)
    as_of, last = raw.end, scope.end_exclusive - timedelta(days=1)
    w = window or window_of(raw.days, members, min(last, as_of))
    ref = reference(raw.days, members, scope.start, last, as_of, w, n)
    stages = stage_rows(ref, order)
    comparison = back = None
    if scope.comparison() is not None:
        c = scope.comparison()
        back = c.end_exclusive - timedelta(days=1) + (as_of - last)
        comparison = stage_rows(reference(raw.days, raw.members(c), c.start, c.end_exclusive - timedelta(days=1),
                                          back, w, n), order)
    groups = {g: group_rows(ref, raw.who, order, g) for g in GROUPS}
    steps = stages.iloc[1:][stages["members"].shift(1).iloc[1:] > 0]
    leak = None
    if not steps.empty:
        worst = steps.loc[steps["conversion"].idxmin()]
        step = int(worst.name)
        regions = groups["region"]
        regions = regions[(regions["step"] == step) & ~regions["small"] & regions["group"].notna()]
        region = regions.loc[regions["rate"].idxmin()] if not regions.empty else None
        leak = {"step": step, "start": int(stages["members"][step - 1]), "lost_share": 1 - worst["conversion"],
                "lost": int(stages["members"][step - 1] - worst["continued"]),
                "region": None if region is None else region["group"],
                "region_lost_share": None if region is None else 1 - region["rate"]}
    times = []
    for a, b, k in (("first", "second", "first_purchase"), ("second", "loyal", "repeat_purchase")):
        gap = (ref[b] - ref[a]).dt.days.dropna()
        gap = gap[gap >= 0]
        times.append({"from_stage": k, "n": len(gap), "median": gap.median(), "q1": gap.quantile(0.25),
                      "q3": gap.quantile(0.75)})
    limits = {} if stuck_days is None else {"first_purchase": stuck_days, "repeat_purchase": stuck_days}
    return Expected(as_of, w, ref, stages, comparison, back, groups, leak, pd.DataFrame(times),
                    stuck(ref, as_of, limits))
