"""The overview's highlights: which region moves are news, and when a repeat-rate change is real."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.metrics import highlights as hl
from analytics.metrics import overview as ov
from analytics.metrics.kpis import Kpi


@pytest.mark.parametrize(("north_now", "south_now", "expected"), [
    (1_005, 900, [("region_down", "华南")]),  # 华北 +0.5 %: no mover
    (1_100, 996, [("region_up", "华北")]),  # 华南 -0.4 %: no mover
    (1_010, 990, [("region_up", "华北"), ("region_down", "华南")]),  # exactly ±1 % counts
])
def test_region_moves_under_one_percent_are_no_highlight(north_now, south_now, expected):
    by_region = pd.DataFrame({"region": ["华北", "华南"], "revenue": [north_now, south_now],
                              "previous_revenue": [1_000, 1_000]})
    by_region["change"] = by_region["revenue"] / by_region["previous_revenue"] - 1
    none = Kpi("x", 0, None, None)
    kpi = {name: none for name in ov.KPIS}
    got = [(h.kind, h.values["region"]) for h in hl.highlights(kpi, by_region, True)]
    assert got == expected


@pytest.mark.parametrize(("now", "n", "before", "n_before", "significant"), [
    (0.700, 1149, 0.702, 1031, False),  # the demo's -0.2 points: noise
    (0.60, 1000, 0.50, 1000, True),
    (0.40, 5, 0.25, 4, False),  # the fixture's +15 points on 5 and 4 customers
    (1.0, 10, 1.0, 12, False),
])
def test_a_repeat_rate_change_is_called_real_only_when_it_is(now, n, before, n_before, significant):
    """Against statsmodels' two-proportion z-test, computed here independently."""
    from statsmodels.stats.proportion import proportions_ztest

    rate = Kpi("repeat_rate", now, before, now - before, n=n, previous_n=n_before)
    p = hl.rate_change_p_value(rate)
    counts = [round(now * n), round(before * n_before)]
    if 0 < sum(counts) < n + n_before:
        assert p == pytest.approx(proportions_ztest(counts, [n, n_before])[1], rel=1e-9)
    kpi = {name: Kpi(name, 0, None, None) for name in ov.KPIS} | {"repeat_rate": rate}
    (h,) = hl.highlights(kpi, pd.DataFrame(columns=["region", "revenue", "previous_revenue", "change"]), True)
    assert h.values["significant"] is significant
