"""Customer tiers (the customer pyramid, 客户金字塔): what a tier is and how customers are put in one.

The rule (shown on the tiers page): the customers with a purchase in a window are ranked by their value in it
(net revenue, or margin), highest first, ties by customer id; the customer at rank r of N belongs to the first
tier whose cumulative cut point c satisfies r / N <= c (the last tier's cut point is 1). The comparison is exact
(cut points are decimals, compared as fractions: r * den <= num * N), so a customer exactly at a cut point is in
the tier above it.

Who is ranked: every customer the user may see (their allowed regions; everyone for an unrestricted user) with a
purchase in the window. Filters (a region, a segment, a tier) then pick which of them a page shows, so a
customer's tier does not change with the filter, and a sales manager's tiers rank their own regions' customers
only (nothing of other regions enters their figures).

This module is below the gate (:mod:`analytics.scope` uses it for the tier filter): SQL text and parameters only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from itertools import pairwise

import numpy as np

#: What a customer's value in a window is: net revenue (``customer_month.revenue``) or margin (amount - cost over
#: the rows with a known cost; ``margin_month``).
MEASURES = ("revenue", "margin")

#: Named sets of tiers: their names (best first) and cumulative cut points (one fewer than the names).
PRESETS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "pyramid": (("platinum", "gold", "iron", "lead"), (0.01, 0.05, 0.20)),
    "key": (("key", "ordinary", "small"), (0.20, 0.50)),
}
DEFAULT_PRESET = "pyramid"


@dataclass(frozen=True)
class TierSpec:
    """The tiers: ``names`` best first, ``cuts`` their cumulative cut points (shares of the ranked customers, one
    fewer than the names: the last tier takes the rest), and the value ranked (``measure``)."""

    names: tuple[str, ...] = PRESETS[DEFAULT_PRESET][0]
    cuts: tuple[float, ...] = PRESETS[DEFAULT_PRESET][1]
    measure: str = "revenue"

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        object.__setattr__(self, "cuts", tuple(float(c) for c in self.cuts))
        if self.measure not in MEASURES:
            raise ValueError(f"tiers rank customers by {' or '.join(MEASURES)}, not {self.measure!r}")
        if len(self.names) < 2 or len(set(self.names)) != len(self.names) or any(not n.strip() for n in self.names):
            raise ValueError(f"tiers need at least two different names, not {list(self.names)}")
        if {"new", "lost"} & set(self.names):  # the migration's words for no tier before and after
            raise ValueError(f"a tier may not be called new or lost (the migration's words), not {list(self.names)}")
        if len(self.cuts) != len(self.names) - 1:
            raise ValueError(f"{len(self.names)} tiers need {len(self.names) - 1} cut points, not {len(self.cuts)}")
        bounds = (0.0, *self.cuts, 1.0)
        if not all(a < b for a, b in pairwise(bounds)):
            raise ValueError("cut points must be increasing shares between 0 and 1 (e.g. 0.01, 0.05, 0.20), "
                             f"not {list(self.cuts)}")

    @classmethod
    def preset(cls, name: str, cuts: tuple[float, ...] | None = None, measure: str = "revenue") -> TierSpec:
        """The preset ``name``'s tiers (:data:`PRESETS`), with other cut points when given."""
        if name not in PRESETS:
            raise ValueError(f"the tier presets are {', '.join(PRESETS)}, not {name!r}")
        names, default_cuts = PRESETS[name]
        return cls(names, tuple(cuts) if cuts is not None else default_cuts, measure)

    @property
    def shares(self) -> tuple[float, ...]:
        """Each tier's share of the ranked customers (the differences of the cut points)."""
        bounds = (0.0, *self.cuts, 1.0)
        return tuple(b - a for a, b in pairwise(bounds))


def _fractions(cuts: tuple[float, ...]) -> list[tuple[int, int]]:
    """Each cut point as an exact (numerator, denominator) of its decimal text."""
    out = []
    for c in cuts:
        f = Fraction(repr(c)).limit_denominator(10**9)
        out.append((f.numerator, f.denominator))
    return out


def tier_case(spec: TierSpec, rank: str = "rank", count: str = "ranked") -> tuple[str, list]:
    """A SQL expression for the tier index (0: the best) of the customer at ``rank`` of ``count``, and its
    parameters: the first tier whose cut point c has rank * den <= num * count (exact integers)."""
    params: list = []
    parts = []
    for i, (num, den) in enumerate(_fractions(spec.cuts)):
        parts.append(f"when cast({rank} as hugeint) * ? <= cast({count} as hugeint) * ? then {i}")
        params += [den, num]
    return f"case {' '.join(parts)} else {len(spec.cuts)} end", params


def values_sql(measure: str, first: date, end_exclusive: date, regions: tuple[str, ...] | None,
               margins: bool) -> tuple[str, list]:
    """Per customer with a purchase in [first, end_exclusive) (whole months) among those with a home region in
    ``regions`` (None: everyone): ``customer_id``, ``value`` (double), ``last_day`` (their last purchase day in
    it) and ``costed`` (margin: whether a row of known cost was seen; always true by revenue). Margin reads
    ``margin_month`` when ``margins`` (the summaries are built), else the transactions."""
    params: list = [first, end_exclusive]
    who = "true"
    if regions is not None:
        who = "customer_id in (select customer_id from customer_summary where list_contains(?, home_region))"
        params.append(list(regions))
    months = ("select customer_id, sum(revenue) as revenue, "
              "max(last_day) filter (where purchase_days > 0) as last_day "
              f"from customer_month where month >= ? and month < ? and {who} group by customer_id "
              "having max(purchase_days) > 0")
    if measure == "revenue":
        return (f"select customer_id, cast(revenue as double) as value, last_day, true as costed from ({months}) m",
                params)
    if margins:
        earned = "select customer_id, sum(margin) as margin from margin_month where month >= ? and month < ? group by 1"
    else:
        earned = ("select customer_id, sum(amount - cost) as margin from transactions "
                  "where cost is not null and order_date >= ? and order_date < ? group by 1")
    params += [first, end_exclusive]
    return (f"select m.customer_id, cast(coalesce(e.margin, 0) as double) as value, m.last_day, "
            f"e.customer_id is not null as costed from ({months}) m left join ({earned}) e using (customer_id)"), params


def ranked_sql(spec: TierSpec, first: date, end_exclusive: date, regions: tuple[str, ...] | None,
               margins: bool) -> tuple[str, list]:
    """The tiers of the window (:func:`values_sql`): per ranked customer ``customer_id``, ``value``, ``rank``
    (1: the highest value; ties by customer id), ``ranked`` (N), ``tier`` (0: the best), ``last_day`` and
    ``costed``. One window query."""
    values, params = values_sql(spec.measure, first, end_exclusive, regions, margins)
    case, case_params = tier_case(spec)
    sql = (f"select customer_id, value, rank, ranked, {case} as tier, last_day, costed from ("
           f"select customer_id, value, last_day, costed, "
           f"row_number() over (order by value desc, customer_id) as rank, "
           f"count(*) over () as ranked from ({values}) v) r")
    return sql, [*case_params, *params]


def members_sql(spec: TierSpec, first: date, end_exclusive: date, regions: tuple[str, ...] | None,
                names: tuple[str, ...]) -> tuple[str, list]:
    """The ``customer_id`` of each customer of the window (:func:`ranked_sql`, by ``spec``) in the tiers ``names``
    (some of ``spec.names``), and its parameters: the tier filter's customers (:mod:`analytics.scope`)."""
    ranked, params = ranked_sql(spec, first, end_exclusive, regions, False)
    return (f"select r.customer_id from ({ranked}) r where list_contains(?, r.tier)",
            [*params, [spec.names.index(name) for name in names]])


def paired_sql(spec: TierSpec, now: tuple[date, date], then: tuple[date, date] | None,
               regions: tuple[str, ...] | None, margins: bool) -> tuple[str, list]:
    """The tiers of two windows ([first, end_exclusive) each: the period and the comparison period, or None) per
    customer ranked in either, as two :func:`ranked_sql` joined: ``key`` (the id), ``value``, ``tier``, ``ranked``,
    ``last_day``, ``costed`` of the first (NULL when not ranked there) and ``value_before``, ``tier_before`` of the
    second (the tiers page by margin; by revenue it ranks :func:`sums_sql` with :func:`tiers_of`)."""
    now_sql, now_params = ranked_sql(spec, *now, regions, margins)
    if then is None:
        return (f"select customer_id as key, *, null::double as value_before, null::int as tier_before "
                f"from ({now_sql}) n", now_params)
    then_sql, then_params = ranked_sql(spec, *then, regions, margins)
    return (f"select customer_id as key, n.value, n.tier, n.ranked, n.last_day, n.costed, t.value as value_before, "
            f"t.tier as tier_before from ({now_sql}) n full outer join ({then_sql}) t using (customer_id)",
            [*now_params, *then_params])


def cut_ranks(spec: TierSpec, ranked: int) -> list[int]:
    """Per cut point c = num / den: the last rank r in its tier or above, floor(num * N / den) (exact integers)."""
    return [num * ranked // den for num, den in _fractions(spec.cuts)]


def tiers_of(values: np.ndarray, keys: np.ndarray, spec: TierSpec) -> np.ndarray:
    """The tier index (0: the best) of each customer by the rule of the module docstring, NaN values not ranked
    (-1): ranked by value, highest first, ties by ``keys`` (the customer number or id, in id order). Without a
    sort: each cut point's rank is found by a partition, the customers tied at its value taken in key order."""
    ranked = np.flatnonzero(~np.isnan(values))
    tier = np.full(len(values), -1, dtype=np.int64)
    tier[ranked] = len(spec.cuts)
    v = values[ranked]
    for k, rank in reversed(list(enumerate(cut_ranks(spec, len(ranked))))):
        if rank == 0:
            continue
        bound = -np.partition(-v, rank - 1)[rank - 1]  # the value at that rank
        above = np.flatnonzero(v > bound)
        tied = np.flatnonzero(v == bound)
        tied = tied[np.argsort(keys[ranked[tied]], kind="stable")][: rank - len(above)]
        tier[ranked[above]] = k
        tier[ranked[tied]] = k
    return tier


def sums_sql(now: tuple[date, date], then: tuple[date, date] | None, regions: tuple[str, ...] | None,
             summaries: bool) -> tuple[str, list]:
    """Per customer with a purchase or a return in either window (among those with a home region in ``regions``;
    None: everyone): ``key`` (the customer number with ``summaries``, else the id), ``value_now`` and
    ``value_then`` (exact decimal sums of net revenue), ``last_day`` (the last purchase day in the first window),
    ``has_now`` and ``has_then`` (a purchase in the window): one pass over the months, both windows' sums at once."""
    windows = [now] if then is None else [now, then]
    # the parameters in the order of the text: the select list's (each window's sums and last day), then the
    # where clause's (the windows, the regions)
    selected: list = []
    sums = []
    for name, (first, end) in zip(("now", "then"), windows, strict=False):
        # (a customer bought in a window when they have a last purchase day in it: a month of returns only has none)
        sums.append(f"sum(revenue) filter (where month >= ? and month < ?) as value_{name}, "
                    f"max(last_day) filter (where month >= ? and month < ?) as last_{name}")
        selected += [first, end, first, end]
    where: list = [d for window in windows for d in window]
    key, months, customers = (("seq", "customer_month_numbered", "customer_numbers") if summaries
                              else ("customer_id", "customer_month", "customer_summary"))
    who = "true"
    if regions is not None:
        who = f"{key} in (select {key} from {customers} where list_contains(?, home_region))"
        where.append(list(regions))
    inside = " or ".join("(month >= ? and month < ?)" for _ in windows)
    before = "last_then is not null as has_then, " if then is not None else "false as has_then, null as value_then, "
    return (f"select {key} as key, last_now as last_day, last_now is not null as has_now, {before}"
            f"* exclude ({key}) from (select {key}, {', '.join(sums)} from {months} "
            f"where ({inside}) and {who} group by {key})"), [*selected, *where]
