"""Churn per customer tier (analytics.metrics.churn_tiers): the churn page's split by tier, survival by tier and the
tiers page's churn per tier, on the seeded random file of tests/test_churn_view.py imported through the real
import path, against the definitions computed day by day from the raw rows (test_churn_view.Reference) for tiers
ranked independently (test_tiers.expected_tiers); with and without the summaries, as of the data's end and of a day
in the middle of a month; and equal to the churn page narrowed by the tier filter to each tier."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest
from test_churn_view import MID, PERIOD, Reference, con_fixture, data_fixture, pooled, previous, random_rows, same  # noqa: F401 (con: the random file without, with summaries)
from test_churn_view import load as load_rows
from test_tiers import expected_tiers

from analytics.metrics import churn_tiers
from analytics.metrics.churn_view import churn_view
from analytics.metrics.tiers import tier_view
from analytics.scope import Scope
from analytics.tiering import TierSpec

NAMES = ("platinum", "gold", "iron", "lead")
WIDE = TierSpec(NAMES, (0.05, 0.15, 0.4))  # more customers per tier than the pyramid's on 400 customers


def members(sales: pd.DataFrame, scope: Scope, spec: TierSpec, as_of: date) -> dict:
    """Per tier (and None: no purchase in the period) the customer ids of ``scope``'s period's tiers (whole months:
    a tier is a value over months), the others with a purchase by the as-of day in the last group."""
    seen = sales[sales["day"] <= as_of]
    ranked = expected_tiers(sales.assign(cost=float("nan")), scope, spec)  # (no costs: by margin, every value 0)
    out = {name: set(ranked.loc[ranked["tier"] == k, "customer_id"]) for k, name in enumerate(spec.names)}
    out[None] = set(seen["customer_id"]) - set(ranked["customer_id"])
    return out


@pytest.mark.parametrize("as_of", [None, MID])
@pytest.mark.parametrize("spec", [WIDE, TierSpec.preset("key"), TierSpec(measure="margin")],
                         ids=["pyramid", "key", "margin"])
def test_churn_per_tier_against_the_raw_rows(con, data, as_of, spec):
    view = churn_view(con, PERIOD, as_of=as_of, with_at_risk=False, with_drivers=False)
    window, day = view.definition.window, view.definition.as_of
    split = churn_tiers.tier_split(con, PERIOD, window, as_of, spec)
    ref = Reference(data[0], day, window)
    scope = view.scope  # (ends in the as-of day's month)
    comparison = previous(scope)
    now, then = members(data[0], scope, spec, day), members(data[0], comparison, spec, day)
    labels = [*spec.names, None]
    assert [None if pd.isna(g) else g for g in split.rates["group"]] == labels
    lives = ref.lifetimes()
    for row, label in zip(split.rates.itertuples(), labels, strict=True):
        month = ref.monthly(scope, now[label])
        expected = pooled(month[~month["provisional"]])
        assert same((row.churned, row.exposure, row.rate, row.low, row.high), expected), label
        before = pooled(ref.monthly(comparison, then[label]))  # the comparison period split by its own tiers
        assert same((row.compare_churned, row.compare_exposure, row.compare_rate, row.compare_low,
                     row.compare_high), before), label
        mine = lives[lives["customer_id"].isin(now[label])]
        got = split.churned.iloc[labels.index(label)]
        assert (got["customers"], got["churned"]) == (len(mine), int(mine["observed"].sum())), label
    # the groups add up to the page's figures
    assert (split.rates["churned"].sum(), split.rates["exposure"].sum()) == view.period_rate[:2]
    assert (split.rates["compare_churned"].sum(), split.rates["compare_exposure"].sum()) == view.comparison_rate[:2]
    assert split.churned["customers"].sum() == view.n_customers and split.churned["churned"].sum() == view.churned
    # survival by tier: the lifetimes of each tier's customers
    assert split.survival is not None
    for curve in split.survival.curves:
        mine = lives[lives["customer_id"].isin(now[curve.group])]
        assert (curve.n, curve.n_events) == (len(mine), int(mine["observed"].sum())), curve.group
    assert [c.group for c in split.survival.curves] == [g for g in labels if now[g]]  # best first, none last
    assert split.survival.log_rank is not None and set(split.survival.log_rank.groups) == set(labels)


def test_each_tier_equals_the_churn_page_narrowed_to_it_by_the_tier_filter(con):
    view = churn_view(con, PERIOD, with_at_risk=False, with_drivers=False)
    window = view.definition.window
    split = churn_tiers.tier_split(con, PERIOD, window)
    assert split.names == NAMES  # the filter's tiers: the pyramid
    for row in split.rates.itertuples():
        if pd.isna(row.group):
            continue
        narrowed = churn_view(con, replace(PERIOD, tiers=(row.group,)), window_days=window, with_at_risk=False,
                              with_drivers=False)
        assert narrowed.period_rate[:2] == (row.churned, row.exposure), row.group
        mine = split.churned[split.churned["group"] == row.group].iloc[0]
        assert (narrowed.n_customers, narrowed.churned) == (mine["customers"], mine["churned"])


def test_the_tiers_page_and_the_churn_page_give_a_tier_the_same_churn(con):
    view = tier_view(con, PERIOD)
    got = churn_tiers.tier_churn(con, PERIOD, view.spec)
    split = churn_tiers.tier_split(con, PERIOD, got.window)
    pd.testing.assert_frame_equal(got.rates, split.rates.iloc[:len(NAMES)].reset_index(drop=True))
    pd.testing.assert_frame_equal(got.churned, split.churned.iloc[:len(NAMES)].reset_index(drop=True))


def test_a_region_filter_and_a_managers_regions_keep_other_customers_out(con, data):
    view = churn_view(con, PERIOD, with_at_risk=False, with_drivers=False)
    window, day = view.definition.window, view.definition.as_of
    for scope in (replace(PERIOD, regions=("华东",)), replace(PERIOD, allowed_regions=("华北", "华南"))):
        split = churn_tiers.tier_split(con, scope, window)
        sales = data[0]
        region_of = sales.groupby("customer_id")["region"].first()
        seen = sales[sales["customer_id"].map(region_of).isin(scope.allowed_regions or region_of.unique())]
        ranked = members(seen, view.scope, TierSpec(NAMES, scope.tier_cuts), day)  # ranked among whom they may see
        keep = set(region_of.index[region_of.isin(scope.regions or scope.allowed_regions)])
        ref = Reference(sales, day, window)
        for row in split.rates.itertuples():
            label = None if pd.isna(row.group) else row.group
            month = ref.monthly(view.scope, ranked[label] & keep)
            assert same((row.churned, row.exposure, row.rate, row.low, row.high),
                        pooled(month[~month["provisional"]])), (scope, label)


def test_without_purchases_there_is_no_split(tmp_path):
    sales, customers = random_rows(n=5)
    con = load_rows(tmp_path, sales, customers)
    assert churn_tiers.tier_split(con, Scope(date(2021, 1, 1), date(2021, 3, 1)), 90) is not None
    empty = churn_tiers.tier_split(con, replace(PERIOD, allowed_regions=()), 90)
    assert empty is None or (empty.rates["exposure"].sum() == 0 and empty.churned["customers"].sum() == 0)
