"""Plain-language highlights: the facts in the overview's figures worth a sentence.

A highlight is a template name and the values that fill it; the sentence itself is
written by the UI in the user's language (``ui.widgets.highlight_text``). Which changes
are news and which are noise is decided here: small regions and small moves are left
out, and a rate's change that chance could explain is marked so.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analytics.metrics.kpis import Kpi
from analytics.models.proportions import two_proportion_p_value

#: Highlights are given only for regions whose comparison revenue is at least this share of
#: the total, so a tiny region's +300 % does not crowd out the real movers.
MIN_REGION_SHARE = 0.02
#: ... and only when the region's revenue changed by at least this much (in either
#: direction): a +0.4 % "biggest mover" is noise, not news.
MIN_REGION_CHANGE = 0.01


@dataclass(frozen=True)
class Highlight:
    """A fact worth a sentence: ``kind`` names the template, ``values`` fill it."""

    kind: str
    values: dict


def highlights(kpi: dict[str, Kpi], by_region: pd.DataFrame, has_comparison: bool) -> list[Highlight]:
    """Plain-language facts from the figures: the overall revenue change, the regions that
    moved most (up and down, in amount; only regions with at least :data:`MIN_REGION_SHARE`
    of the comparison revenue and a change of at least :data:`MIN_REGION_CHANGE`), and the
    changes in new customers and repeat rate."""
    out: list[Highlight] = []
    if not has_comparison:
        return out
    revenue = kpi["revenue"]
    if revenue.change is not None:
        out.append(Highlight("revenue_change", {"change": revenue.change, "value": revenue.value,
                                                "previous": revenue.previous}))
    total_before = by_region["previous_revenue"].sum()
    movers = by_region[(by_region["region"] != "") & (by_region["previous_revenue"] > 0)
                       & (by_region["previous_revenue"] >= MIN_REGION_SHARE * total_before)].copy()
    movers["delta"] = movers["revenue"] - movers["previous_revenue"]
    if len(movers) >= 2:  # with one region shown, the overall change says it all
        up = movers.sort_values(["delta", "region"], ascending=[False, True]).iloc[0]
        down = movers.sort_values(["delta", "region"], ascending=[True, True]).iloc[0]
        if up["delta"] > 0 and up["change"] >= MIN_REGION_CHANGE:
            out.append(Highlight("region_up", {"region": up["region"], "delta": float(up["delta"]),
                                               "change": float(up["change"])}))
        if down["delta"] < 0 and down["change"] <= -MIN_REGION_CHANGE:
            out.append(Highlight("region_down", {"region": down["region"], "delta": float(down["delta"]),
                                                 "change": float(down["change"])}))
    new = kpi["new_customers"]
    if new.change is not None:
        out.append(Highlight("new_customers_change", {"change": new.change, "value": new.value,
                                                      "previous": new.previous}))
    rate = kpi["repeat_rate"]
    if rate.change is not None:
        p = rate_change_p_value(rate)
        out.append(Highlight("repeat_rate_change", {"change": rate.change, "value": rate.value,
                                                    "previous": rate.previous, "p_value": p,
                                                    "significant": p is not None and p < SIGNIFICANCE}))
    return out


#: A rate's change is called out as real only below this p-value; otherwise the highlight
#: says it is within sampling error.
SIGNIFICANCE = 0.05


def rate_change_p_value(rate: Kpi) -> float | None:
    """The two-sided p-value of a rate's change between the two periods: a two-proportion
    z-test (:func:`analytics.models.proportions.two_proportion_p_value`), counting each
    period's customers as an independent sample.

    The same customers are often active in both periods; their answers are positively
    correlated, which makes the true variance of the difference smaller than this test
    assumes, so it errs on the side of "within sampling error". ``None`` without both
    samples.
    """
    if rate.n is None or rate.previous_n is None or not rate.n or not rate.previous_n:
        return None
    if rate.value is None or rate.previous is None:
        return None
    return two_proportion_p_value(round(rate.value * rate.n), rate.n,
                                  round(rate.previous * rate.previous_n), rate.previous_n)
