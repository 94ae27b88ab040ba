"""A KPI tile's figures, shared by the pages that show tiles."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kpi:
    """One KPI tile: the period's value, the comparison period's, and the change.

    ``change`` is relative (0.1 = +10 %) for amounts and counts, and the difference in
    rate (0.021 = +2.1 points) for rates; ``None`` when there is nothing to compare with.
    ``n`` and ``ci`` are given for rates (the sample size and the 95 % interval).
    """

    name: str
    value: float | None
    previous: float | None
    change: float | None
    n: int | None = None
    ci: tuple[float, float] | None = None
    previous_n: int | None = None
