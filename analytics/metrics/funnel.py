"""The funnel engine: stage counts, step conversions, groups compared, the biggest leak, stage times and stuck
members, from a *reach* table (docs/funnel-design.md, "One engine, two producers"). Pure pandas and numpy: the
producers (:mod:`analytics.metrics.funnel_lifecycle`, the leads funnel) read the database and build the table.

**The reach table**: one row per cohort member, ``member_id`` (unique), ``entered`` (the day it entered the funnel),
the group columns (``region``, ``source``, ``sales_rep``; None where unknown), ``outcome`` (``"lost"`` or None) and
per stage key ``k`` of the stage list ``k_reached`` (bool: reached by the as-of day, its day known or not) and
``k_day`` (that day; NaT: not known). A known day implies the stage was reached.

Definitions (shown on the page):

- **cohort**: the members that entered in the period (:func:`cohort`); every step counts the same members;
- **order**: ``strict`` (default), a member counts at stage k only if it reached every stage up to k; ``any``, it
  counts at k if it reached k (:func:`counted`);
- **per stage**: members, % of the previous step (members at k ÷ at k − 1) and % of the first step;
- a step's **conversion**: of the members counted at k − 1, the share also counted at k, with its Wilson 95 %
  interval (Wilson 1927; :func:`analytics.models.proportions.wilson_interval`). In strict order it is the % of the
  previous step; in any order a member may count at k without counting at k − 1 (it skipped it), so the % of the
  previous step is a ratio of two counts (above 100 % at times) while the conversion stays a share of the members
  at k − 1;
- **compare** by a group column: each group's step conversions with counts and intervals; a group is **small**
  (marked, not ranked) with fewer than :data:`SMALL_START` members at the step's start or an interval wider than
  :data:`WIDE` (20 points); the others are ranked weakest (lowest conversion) first;
- **biggest leak**: the step that loses the largest share of the members at its start (1 − conversion; the first
  such step on a tie), with its worst region: the lowest conversion among the regions not small (a member without
  a region is in no region);
- **stage times**: days from each stage's day to the next stage's where both are known: n, median and quartiles
  (linear interpolation between order statistics, numpy's default); pairs whose next day comes first are counted
  apart (``out_of_order``), not timed;
- **stuck**: members whose furthest stage (the last of the list they reached, in whatever order) is k, not the
  last stage, not lost, reached on a known day more than the step k → k + 1's threshold before the as-of day; the
  threshold defaults to the 90th percentile (:data:`STUCK_PERCENTILE`) of that step's times (none without times:
  nobody is listed there) and is adjustable per stage.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

import numpy as np
import pandas as pd

from analytics.models.proportions import wilson_interval

#: The orders a funnel is counted under.
ORDERS: tuple[str, ...] = ("strict", "any")
#: The group columns the funnel is compared by.
GROUPINGS: tuple[str, ...] = ("region", "source", "sales_rep")
#: A group with fewer members at a step's start is small (not ranked).
SMALL_START = 30
#: A group whose step interval is wider than this (20 points) is small.
WIDE = 0.20
#: The default stuck threshold of a step: this percentile of its times.
STUCK_PERCENTILE = 90
LOST = "lost"
STEP_COLUMNS = ("step", "from_stage", "to_stage", "start", "reached", "rate", "low", "high")


def check_reach(reach: pd.DataFrame, stages: Sequence[str]) -> None:
    """Raise ``ValueError`` when ``reach`` is not a reach table for ``stages`` (module docstring)."""
    if len(stages) < 2 or len(set(stages)) != len(stages):
        raise ValueError(f"a funnel needs two or more distinct stages, not {list(stages)}")
    needed = ["member_id", "entered", "outcome", *(f"{k}_{c}" for k in stages for c in ("reached", "day"))]
    missing = [c for c in needed if c not in reach.columns]
    if missing:
        raise ValueError(f"the reach table lacks the columns {', '.join(missing)}")
    if reach["member_id"].duplicated().any():
        raise ValueError("the reach table has a member on more than one row: one row per member")
    for k in stages:
        if reach[f"{k}_reached"].dtype != bool:
            raise ValueError(f"{k}_reached must be true or false for every member, not {reach[f'{k}_reached'].dtype}")
        if (reach[f"{k}_day"].notna() & ~reach[f"{k}_reached"]).any():
            raise ValueError(f"a member has a day for {k} without having reached it ({k}_day without {k}_reached)")


def check_order(order: str) -> None:
    """Raise ``ValueError`` when ``order`` is not one of :data:`ORDERS`."""
    if order not in ORDERS:
        raise ValueError(f"the order must be one of {', '.join(ORDERS)}, not {order!r}")


def cohort(reach: pd.DataFrame, first: date, last: date) -> pd.DataFrame:
    """The members of ``reach`` that entered from ``first`` to ``last`` (both included)."""
    entered = pd.to_datetime(reach["entered"])
    return reach[(entered >= pd.Timestamp(first)) & (entered <= pd.Timestamp(last))].reset_index(drop=True)


def counted(reach: pd.DataFrame, stages: Sequence[str], order: str = "strict") -> np.ndarray:
    """Per member (row) and stage (column): whether it counts at the stage under ``order`` (module docstring)."""
    check_order(order)
    reached = _reached(reach, stages)
    return np.logical_and.accumulate(reached, axis=1) if order == "strict" else reached


def _reached(reach: pd.DataFrame, stages: Sequence[str]) -> np.ndarray:
    """Per member (row) and stage (column): whether it reached the stage."""
    return np.column_stack([reach[f"{k}_reached"].to_numpy(dtype=bool) for k in stages]) if len(reach) else \
        np.zeros((0, len(stages)), dtype=bool)


def _steps(at: np.ndarray, stages: Sequence[str], codes: np.ndarray | None = None, groups: int = 1) -> list[tuple]:
    """:data:`STEP_COLUMNS` for each step of ``at`` (members x stages, counted), per group (``codes``: each
    member's group in [0, ``groups``); None: one group), group by group within each step."""
    codes = np.zeros(len(at), dtype=np.int64) if codes is None else codes

    def per_group(flags: np.ndarray) -> np.ndarray:
        return np.bincount(codes[flags], minlength=groups)

    rows = []
    for i in range(1, len(stages)):
        starts, went_on = per_group(at[:, i - 1]), per_group(at[:, i - 1] & at[:, i])
        for g in range(groups):
            start, reached = int(starts[g]), int(went_on[g])
            rows.append((i, stages[i - 1], stages[i], start, reached, reached / start if start else np.nan,
                         *(wilson_interval(reached, start) or (np.nan, np.nan))))
    return rows


def stage_counts(reach: pd.DataFrame, stages: Sequence[str], order: str = "strict") -> pd.DataFrame:
    """The members at each stage under ``order``.

    Returns
    -------
    pandas.DataFrame
        One row per stage in order: ``stage``, ``members``, ``pct_previous`` (÷ the members at the stage before),
        ``pct_first`` (÷ the members at the first stage), ``continued`` (the members at the stage before also
        counted here), ``conversion`` (``continued`` ÷ the members at the stage before) with ``low`` and ``high``,
        its Wilson 95 % interval. The first stage: ``pct_first`` 1 and no step (``continued`` 0, NaN). Shares of
        1, not percent; NaN over zero members.
    """
    at = counted(reach, stages, order)
    members = at.sum(axis=0).astype(np.int64)
    steps = _steps(at, stages)
    with np.errstate(invalid="ignore", divide="ignore"):
        first = members / members[0] if members[0] else np.full(len(stages), np.nan)
        previous = np.r_[np.nan, members[1:] / np.where(members[:-1] > 0, members[:-1], np.nan)]
    return pd.DataFrame({"stage": list(stages), "members": members, "pct_previous": previous, "pct_first": first,
                         "continued": [0, *(s[4] for s in steps)], "conversion": [np.nan, *(s[5] for s in steps)],
                         "low": [np.nan, *(s[6] for s in steps)], "high": [np.nan, *(s[7] for s in steps)]})


def group_conversion(reach: pd.DataFrame, stages: Sequence[str], by: str, order: str = "strict") -> pd.DataFrame:
    """Each group's step conversions (``by``: a group column of ``reach``; members without one form the group
    None).

    Returns
    -------
    pandas.DataFrame
        One row per step and group: ``group`` and :data:`STEP_COLUMNS` (``start``: the group's members counted at
        the step's first stage, ``reached``: those also counted at its second, ``rate``: the conversion
        (``reached`` ÷ ``start``), ``low``/``high`` its
        Wilson 95 % interval), ``small`` (module docstring) and ``rank`` (1: the weakest of the step's groups not
        small; NaN when small). Sorted by step, then ranked groups weakest first, then the small ones by group.
    """
    if by not in reach.columns:
        raise ValueError(f"the reach table has no group column {by!r}")
    at = counted(reach, stages, order)
    codes, labels = pd.factorize(reach[by].astype(object), sort=True)  # (NaN and None: code -1, the last group)
    labels = [*labels, None] if (codes < 0).any() else list(labels)
    codes = np.where(codes < 0, len(labels) - 1, codes)
    rows = _steps(at, stages, codes, len(labels))
    frame = pd.DataFrame(rows, columns=list(STEP_COLUMNS))
    frame.insert(0, "group", pd.Series(labels * (len(stages) - 1), dtype=object))
    frame["small"] = ((frame["start"] < SMALL_START) | (frame["high"] - frame["low"] > WIDE)).astype(bool)
    order_in_step = np.tile(np.arange(len(labels)), len(stages) - 1)  # the groups' sorted order, None last
    ranked = frame[~frame["small"]].assign(label=order_in_step[~frame["small"].to_numpy()])
    ranked = ranked.sort_values(["step", "rate", "label"])
    frame["rank"] = ranked.groupby("step").cumcount().add(1).reindex(frame.index).astype(float)
    frame["label"] = order_in_step
    return frame.sort_values(["step", "rank", "label"], na_position="last").drop(columns="label").reset_index(
        drop=True)


@dataclass(frozen=True)
class Leak:
    """The step that loses the largest share (:func:`biggest_leak`): ``step`` (its index: ``from_stage`` is stage
    ``step - 1``), the members at its start, those ``lost`` there and ``lost_share``; its worst region (None when
    every region is small) with that region's members at the start and lost share."""

    step: int
    from_stage: str
    to_stage: str
    start: int
    lost: int
    lost_share: float
    region: str | None
    region_start: int | None
    region_lost_share: float | None


def biggest_leak(counts: pd.DataFrame, by_region: pd.DataFrame | None = None) -> Leak | None:
    """The biggest leak (module docstring) from :func:`stage_counts` and :func:`group_conversion` by region (under
    the same order); None when no step has members at its start."""
    steps = counts.iloc[1:].assign(step=np.arange(1, len(counts)), start=counts["members"].to_numpy()[:-1])
    steps = steps[steps["start"] > 0]
    if steps.empty:
        return None
    worst = steps.loc[steps["conversion"].idxmin()]
    step = int(worst["step"])
    region = None
    if by_region is not None:
        candidates = by_region[(by_region["step"] == step) & ~by_region["small"] & by_region["group"].notna()]
        if not candidates.empty:
            region = candidates.loc[candidates["rate"].idxmin()]
    return Leak(step=step, from_stage=str(counts["stage"].iloc[step - 1]), to_stage=str(worst["stage"]),
                start=int(worst["start"]), lost=int(worst["start"] - worst["continued"]),
                lost_share=float(1 - worst["conversion"]),
                region=None if region is None else str(region["group"]),
                region_start=None if region is None else int(region["start"]),
                region_lost_share=None if region is None else float(1 - region["rate"]))


def _durations(reach: pd.DataFrame, before: str, after: str) -> tuple[np.ndarray, int]:
    """Days from ``before``'s day to ``after``'s, per member with both known and the second not first; and how
    many had the second first."""
    start, end = pd.to_datetime(reach[f"{before}_day"]), pd.to_datetime(reach[f"{after}_day"])
    both = start.notna() & end.notna()
    days = (end[both] - start[both]).dt.days.to_numpy(dtype=np.int64)
    return days[days >= 0], int((days < 0).sum())


def stage_times(reach: pd.DataFrame, stages: Sequence[str]) -> pd.DataFrame:
    """Days from each stage to the next (module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per step: ``from_stage``, ``to_stage``, ``n`` (members timed), ``median``, ``q1``, ``q3`` (days;
        NaN without any) and ``out_of_order`` (members whose next stage's day comes before this one's).
    """
    rows = []
    for before, after in pairwise(stages):
        days, backwards = _durations(reach, before, after)
        q1, median, q3 = np.percentile(days, [25, 50, 75]) if len(days) else (np.nan,) * 3
        rows.append((before, after, len(days), float(median), float(q1), float(q3), backwards))
    return pd.DataFrame(rows, columns=["from_stage", "to_stage", "n", "median", "q1", "q3", "out_of_order"])


def stuck_thresholds(reach: pd.DataFrame, stages: Sequence[str],
                     stuck_days: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The stuck threshold of each stage but the last (module docstring): ``stage``, ``next_stage``, ``threshold``
    (days; NaN: none) and ``how`` (``"percentile"``, ``"option"``, or None without times). ``stuck_days``: a
    threshold in days per stage key, overriding the default."""
    stuck_days = dict(stuck_days or {})
    wrong = [k for k in stuck_days if k not in stages[:-1]]
    if wrong:
        raise ValueError(f"stuck thresholds are per stage before the last ({', '.join(stages[:-1])}), "
                         f"not {', '.join(map(repr, wrong))}")
    bad = {k: v for k, v in stuck_days.items() if not (isinstance(v, numbers.Real) and not isinstance(v, bool)
                                                         and np.isfinite(v) and v >= 0)}
    if bad:
        raise ValueError(f"a stuck threshold is a number of days of 0 or more, not {bad}")
    rows = []
    for before, after in pairwise(stages):
        if before in stuck_days:
            rows.append((before, after, float(stuck_days[before]), "option"))
            continue
        days, _ = _durations(reach, before, after)
        rows.append((before, after, float(np.percentile(days, STUCK_PERCENTILE)) if len(days) else np.nan,
                     "percentile" if len(days) else None))
    return pd.DataFrame(rows, columns=["stage", "next_stage", "threshold", "how"], dtype=object).astype(
        {"threshold": float})


def stuck_members(reach: pd.DataFrame, stages: Sequence[str], as_of: date, thresholds: pd.DataFrame,
                  groupings: Sequence[str] = GROUPINGS) -> pd.DataFrame:
    """The stuck members (module docstring) as of ``as_of`` by ``thresholds`` (:func:`stuck_thresholds`), with
    their group columns of ``groupings``.

    Returns
    -------
    pandas.DataFrame
        One row per stuck member, longest in stage first (then by ``member_id``): ``member_id``, ``stage`` (the
        furthest reached), ``next_stage``, ``day`` (reached on), ``days_in_stage`` (as-of day − day),
        ``threshold``, ``entered`` and the group columns of ``groupings`` the table has.
    """
    groups = [g for g in groupings if g in reach.columns]
    columns = ["member_id", "stage", "next_stage", "day", "days_in_stage", "threshold", "entered", *groups]
    reached = _reached(reach, stages)
    furthest = np.where(reached.any(axis=1), len(stages) - 1 - np.argmax(reached[:, ::-1], axis=1), -1)
    limit = thresholds.set_index("stage")["threshold"]
    day = np.full(len(reach), np.datetime64("NaT"), dtype="datetime64[ns]")
    for i, k in enumerate(stages[:-1]):  # (each member's furthest stage's day; none at the last stage)
        at = furthest == i
        day[at] = pd.to_datetime(reach[f"{k}_day"]).to_numpy("datetime64[ns]")[at]
    known = ~np.isnat(day)
    waited = np.zeros(len(reach), dtype=np.int64)
    waited[known] = (np.datetime64(as_of, "ns") - day[known]) // np.timedelta64(1, "D")
    threshold = np.r_[[limit[k] for k in stages[:-1]], np.nan][furthest]  # (-1, nothing reached: NaN)
    keep = np.flatnonzero(known & (reach["outcome"] != LOST).to_numpy() & (waited > threshold))
    if not len(keep):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    by_id = keep[reach["member_id"].iloc[keep].argsort(kind="stable").to_numpy()]
    order = by_id[np.argsort(-waited[by_id], kind="stable")]  # longest in stage first, then by member
    names = np.asarray(stages, dtype=object)
    out = reach[["member_id", "entered", *groups]].iloc[order].reset_index(drop=True)
    out = out.assign(stage=names[furthest[order]], next_stage=names[furthest[order] + 1], day=day[order],
                     days_in_stage=waited[order], threshold=threshold[order])
    return out[columns]


@dataclass(frozen=True)
class Funnel:
    """Every figure of a funnel over one cohort (:func:`funnel`): its ``stages`` and ``order``, the ``as_of``
    day, the stage ``counts`` (:func:`stage_counts`), ``compare`` per group column (:func:`group_conversion`),
    the ``leak`` (:func:`biggest_leak`), the stage ``times`` (:func:`stage_times`), the stuck ``thresholds``
    (:func:`stuck_thresholds`) and the ``stuck`` members (:func:`stuck_members`)."""

    stages: tuple[str, ...]
    order: str
    as_of: date
    counts: pd.DataFrame
    compare: dict[str, pd.DataFrame]
    leak: Leak | None
    times: pd.DataFrame
    thresholds: pd.DataFrame
    stuck: pd.DataFrame

    @property
    def members(self) -> int:
        """The members at the first stage."""
        return int(self.counts["members"].iloc[0])

    @property
    def overall(self) -> float:
        """The overall conversion: the members at the last stage ÷ at the first (NaN without any)."""
        return float(self.counts["pct_first"].iloc[-1])

    def change(self, comparison: pd.DataFrame | None) -> float | None:
        """The overall conversion less the comparison period's (``comparison``: its :func:`stage_counts`), in shares
        of 1 (None without a comparison; NaN when either has no member)."""
        if comparison is None:
            return None
        return self.overall - float(comparison["pct_first"].iloc[-1])


def funnel(reach: pd.DataFrame, stages: Sequence[str], as_of: date, *, order: str = "strict",
           groupings: Sequence[str] = GROUPINGS, stuck_days: Mapping[str, float] | None = None,
           stuck_stages: Sequence[str] | None = None, stuck_columns: Sequence[str] = ()) -> Funnel:
    """Every figure of the funnel of ``reach`` (a cohort's reach table, :func:`check_reach`) over ``stages`` as of
    ``as_of`` under ``order``, compared by each of ``groupings`` the table has; ``stuck_days``: stuck thresholds
    that override the default (:func:`stuck_thresholds`); ``stuck_stages``: the first stages of ``stages`` the
    stuck members are read over (default: all; the lifecycle funnel leaves out its last, "still active", a state
    every member not lost is in); ``stuck_columns``: further columns of ``reach`` the stuck members carry.
    ``ValueError`` for a table, order or threshold that is not one (module docstring)."""
    stages = tuple(stages)
    check_reach(reach, stages)
    counts = stage_counts(reach, stages, order)
    compare = {g: group_conversion(reach, stages, g, order) for g in groupings if g in reach.columns}
    thresholds = stuck_thresholds(reach, stages, stuck_days)
    progress = tuple(stuck_stages or stages)
    if progress != stages[:len(progress)] or len(progress) < 2:
        raise ValueError(f"the stuck members are read over two or more first stages of {list(stages)}, "
                         f"not {list(progress)}")
    return Funnel(stages=stages, order=order, as_of=as_of, counts=counts, compare=compare,
                  leak=biggest_leak(counts, compare.get("region")), times=stage_times(reach, stages),
                  thresholds=thresholds,
                  stuck=stuck_members(reach, progress, as_of, thresholds, (*groupings, *stuck_columns)))
