"""The overview's churn-rate tile and churn highlights (analytics.metrics.overview_churn) against the day-by-day
reference (``churn_reference``, statsmodels for the Wilson interval and the z-test), by hand on the overview's
fixture, on a file made to move churn in some regions, and as sentences in both languages.

The regions file (:func:`region_rows`): customers buy every 20 days (W = 30) from Oct 2022 and some stop, so that
they churn (31 days after their last purchase) in the months planned per region; the period is Jan–Jun 2024, the
data runs to mid-July (every month of the period complete):

- 东北 and 华北 alike: 1 churns a month in 2023, 6 a month in 2024 (a rise, the same in both: a tie);
- 华南: 12 a month in Jul–Dec 2023, none otherwise (a fall, the largest change); 华东: 1 a month throughout
  (no change beyond chance); 西南: 30 customers who all stop in 2024 (a large change, but under 200 customer-months
  in the period: never named).
"""

from __future__ import annotations

from datetime import date, timedelta

import churn_reference as cr
import pandas as pd
import pytest
from overview_fixture import con_fixture  # noqa: F401 (the con fixture)
from overview_reference import REF, Spec, assert_highlights, expected_churn
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from analytics.ingest.pipeline import import_file
from analytics.metrics import overview as ov
from analytics.metrics.highlights import Highlight
from analytics.metrics.overview_churn import ChurnTile, churn_kpi, churn_tile
from analytics.scope import Scope
from analytics.store.connection import connect
from ui.widgets import highlight_text

NAN = float("nan")

# ------------------------------------------------------------------ by hand, on the overview's fixture


def test_the_main_scope_by_hand(con):
    """Mar–Aug 2024 against Sep 2023–Feb 2024, as of 2024-08-31 (the period's end: the data goes on to 09-03).
    The gaps between purchase days up to then: C2 5, C5 45, C1 96, 157, 84, 79, C7 81, C9 197, C3 416 (C4's second
    purchase is after the as-of day): 90 % of 9 is 8.1, so W covers all 9: 420 days. Nobody goes 420 days without a
    purchase in either period, so no one churns; active at the months' starts: C1, C3, C5, C7, C8, C9 (6, 6),
    then C2 too (7, 7, 7, 7): 40 customer-months; before: C1, C3, C7 (3, 3, 3), C8 (4), C5 (5), C9 (6): 24."""
    assert expected_churn(REF, Spec("2024-03", "2024-08")) == cr.Tile(
        420, date(2024, 8, 31), (0, 40), (0, 24), {"华东": ((0, 16), (0, 12)), "华北": ((0, 6), (0, 3)),
                                                  "华南": ((0, 12), (0, 8)), "西南": ((0, 6), (0, 1))})
    view = ov.overview(con, Spec("2024-03", "2024-08").scope(), with_average_clv=False)
    tile, kpi = view.churn, view.kpis["churn_rate"]
    assert (tile.window, tile.current[:3], tile.comparison[:3]) == (420, (0, 40, 0.0), (0, 24, 0.0))
    assert tile.current[3:] == pytest.approx((0.0, 1.959963984540054**2 / (40 + 1.959963984540054**2)), abs=1e-15)
    assert (kpi.value, kpi.previous, kpi.change, kpi.n, kpi.previous_n) == (0.0, 0.0, 0.0, 40, 24)
    assert tile.p_value == 1.0  # no churn in either: nothing changed
    assert [(h.kind, h.values) for h in view.highlights[-1:]] == [
        ("churn_change", {"value": 0.0, "previous": 0.0, "change": 0.0, "significant": False})]


def test_the_apps_default_scope_by_hand(con):
    """Oct 2023–Sep 2024 against Oct 2022–Sep 2023, as of 2024-09-03 (the data's last purchase: September is
    provisional). With C4's 25 days the gaps are 10 and 9 of them are at most 197 days: W = 210. Churned (211 days
    after a last purchase): C3 2023-12-09, C7 2024-03-28, C8 06-09, C5 08-13; active at the starts of Oct–Aug:
    3, 3, 4, 4, 5, 5, 4, 5, 5, 4, 5 = 47. Before: C3 from June 2023, C7 from July, C1 from August: 1 + 2 + 3 + 3."""
    want = expected_churn(REF, Spec("2023-10", "2024-09"))
    assert (want.window, want.as_of, want.current, want.comparison) == (210, date(2024, 9, 3), (4, 47), (0, 9))
    tile = churn_tile(con, Spec("2023-10", "2024-09").scope())
    assert (tile.window, tile.current[:2], tile.comparison[:2]) == (210, (4, 47), (0, 9))
    kpi = churn_kpi(tile)
    assert (kpi.value, kpi.previous, kpi.change) == pytest.approx((4 / 47, 0.0, 4 / 47))
    assert tile.highlights[0].kind == "churn_change" and not tile.highlights[0].values["significant"]


# ------------------------------------------------------------------ the regions file against the reference


FIRST, LAST = date(2022, 10, 1), date(2024, 7, 15)
Y2023 = [date(2023, m, 1) for m in range(1, 13)]
H1_2024 = [date(2024, m, 1) for m in range(1, 7)]
#: Per region: customers, the days between their purchases, and how many churn in which months (in the month
#: that ends 31 days or less after their last purchase: W is 30 days in every scope).
PLAN = {"东北": (90, 20, {**dict.fromkeys(Y2023, 1), **dict.fromkeys(H1_2024, 6)}),
        "华北": (90, 20, {**dict.fromkeys(Y2023, 1), **dict.fromkeys(H1_2024, 6)}),
        "华南": (150, 20, dict.fromkeys(Y2023[6:], 12)),
        "华东": (100, 20, dict.fromkeys(Y2023 + H1_2024, 1)),
        "西南": (30, 20, dict.fromkeys(H1_2024, 5))}


def region_rows() -> pd.DataFrame:
    """The regions file (module docstring): a customer who churns in month m last buys 31 days or more before
    its last day, within one step of it; channels alternate (the channel filter does not apply to churn)."""
    out, i = [], 0
    for region, (n, step, plan) in PLAN.items():
        stops = [cr.month_end(m) - timedelta(days=31) for m, k in plan.items() for _ in range(k)]
        for stop in stops + [LAST] * (n - len(stops)):
            i += 1
            day, k = FIRST + timedelta(days=i % step), 0
            while day <= stop:
                out.append((f"S{len(out):06d}", f"K{i:03d}", day.isoformat(), 100.0, region, ("门店", "天猫")[k % 2]))
                day, k = day + timedelta(days=step), k + 1
    return pd.DataFrame(out, columns=["transaction_id", "customer_id", "order_date", "amount", "region", "channel"])


ROWS = region_rows()
HOME = ROWS.groupby("customer_id")["region"].first()  # each customer buys in one region: their home region


@pytest.fixture(scope="module")
def regions_con(tmp_path_factory):
    folder = tmp_path_factory.mktemp("overview_churn")
    ROWS.to_csv(folder / "sales.csv", index=False)
    con = connect(folder / "crm.duckdb")
    report = import_file(con, folder / "sales.csv", kind="transactions", commit=True)
    assert (report.rows_imported, report.rows_rejected) == (len(ROWS), 0)
    yield con
    con.close()


def reference_tile(scope: Scope) -> cr.Tile:
    visible = scope.visible_regions()
    customers = set(HOME.index if visible is None else HOME.index[HOME.isin(visible)])
    comparison = scope.comparison()
    return cr.expected_tile(ROWS, HOME, customers, (scope.start, scope.end),
                            (comparison.start, comparison.end) if comparison else None)


def assert_rate(actual: tuple, expected: tuple[int, int]) -> None:
    """A pooled rate (churned, customer-months, rate, low, high) against the counts, statsmodels' Wilson."""
    churned, exposure = expected
    assert actual[:2] == (churned, exposure)
    assert actual[2] == pytest.approx(churned / exposure, rel=1e-12)
    wilson = proportion_confint(churned, exposure, alpha=0.05, method="wilson")
    assert actual[3:] == pytest.approx(wilson, rel=1e-12, abs=1e-15)


PERIOD = Scope(date(2024, 1, 1), date(2024, 6, 1))
SCOPES = {  # the scope, its window and the highlights worked out from the plan
    "all": (PERIOD, 30, ["churn_change", ("churn_region_down", "华南"), ("churn_region_up", "东北")]),
    "last_year": (Scope(PERIOD.start, PERIOD.end, "last_year"), 30,
                  ["churn_change", ("churn_region_up", "东北"), ("churn_region_up", "华北")]),
    "region-filter": (Scope(PERIOD.start, PERIOD.end, regions=("华北", "华东")), 30,
                      ["churn_change", ("churn_region_up", "华北")]),
    "manager": (Scope(PERIOD.start, PERIOD.end, allowed_regions=("华南", "西南")), 30,
                ["churn_change", ("churn_region_down", "华南")]),
    "too-few-customer-months": (Scope(PERIOD.start, PERIOD.end, regions=("西南",)), 30, ["churn_change"]),
}


@pytest.mark.parametrize("name", SCOPES)
def test_the_tile_matches_the_reference(regions_con, name):
    scope, window, shape = SCOPES[name]
    tile, want = churn_tile(regions_con, scope), reference_tile(scope)
    assert tile.window == want.window == window
    assert_rate(tile.current, want.current)
    assert_rate(tile.comparison, want.comparison)
    z_test = proportions_ztest([want.current[0], want.comparison[0]], [want.current[1], want.comparison[1]])[1]
    assert tile.p_value == pytest.approx(z_test, rel=1e-9)
    expected = cr.expected_highlights(want)
    assert_highlights(tile.highlights, expected)
    assert [kind if kind == "churn_change" else (kind, v["region"]) for kind, v in expected] == shape
    kpi = churn_kpi(tile)
    now, before = want.current[0] / want.current[1], want.comparison[0] / want.comparison[1]
    assert kpi.name == "churn_rate"
    assert (kpi.value, kpi.previous, kpi.change) == pytest.approx((now, before, now - before), rel=1e-12)
    assert (kpi.n, kpi.previous_n, kpi.ci) == (want.current[1], want.comparison[1], pytest.approx(tile.current[3:]))


def test_the_overview_carries_the_tile(regions_con):
    view = ov.overview(regions_con, PERIOD, with_average_clv=False)
    assert view.churn == churn_tile(regions_con, PERIOD)
    assert view.kpis["churn_rate"] == churn_kpi(view.churn)
    assert view.highlights[-3:] == view.churn.highlights
    assert view.churn.highlights[0].values["significant"]  # 5.9 % against 3.7 %: p < 0.001


def test_the_channel_filter_does_not_apply(regions_con):
    assert churn_tile(regions_con, Scope(PERIOD.start, PERIOD.end, channels=("门店",))) == churn_tile(regions_con,
                                                                                                   PERIOD)


def test_no_comparison_no_previous_and_no_highlights(regions_con):
    scope = Scope(PERIOD.start, PERIOD.end, "none")
    tile, want = churn_tile(regions_con, scope), reference_tile(scope)
    assert_rate(tile.current, want.current)
    assert (tile.comparison, tile.p_value, tile.highlights) == (None, None, [])
    kpi = churn_kpi(tile)
    assert (kpi.previous, kpi.change, kpi.previous_n) == (None, None, None) and kpi.n == want.current[1]


def test_the_comparison_leaves_out_months_after_the_as_of_day(regions_con):
    # Jun 2024–Sep 2025 against Jun 2023–Sep 2024, as of 2024-07-15 (the data's end): Jul–Sep 2024 are provisional
    scope = Scope(date(2024, 6, 1), date(2025, 9, 1), "last_year")
    tile, want = churn_tile(regions_con, scope), reference_tile(scope)
    assert_rate(tile.current, want.current)
    assert_rate(tile.comparison, want.comparison)


def test_kpis_gives_every_tile(con):
    # (no surveys in this fixture: no CSAT or NPS tile; tests/test_satisfaction.py checks those)
    assert list(ov.kpis(con, Spec("2024-03", "2024-08").scope())) == [n for n in ov.KPIS if n not in ("csat", "nps")]


# ------------------------------------------------------------------ the KPI and the sentences


def test_the_kpi_without_customer_months_has_no_value():
    no_one = (0, 0, NAN, NAN, NAN)
    kpi = churn_kpi(ChurnTile(90, no_one, (3, 60, 0.05, 0.017, 0.137), None))
    assert (kpi.value, kpi.previous, kpi.change, kpi.n, kpi.ci, kpi.previous_n) == (None, 0.05, None, None, None, 60)
    kpi = churn_kpi(ChurnTile(90, (3, 60, 0.05, 0.017, 0.137), no_one, None))
    assert (kpi.value, kpi.previous, kpi.change, kpi.n, kpi.ci, kpi.previous_n) == (
        0.05, None, None, 60, (0.017, 0.137), 0)
    kpi = churn_kpi(ChurnTile(90, no_one, None, None))
    assert (kpi.value, kpi.previous, kpi.n, kpi.previous_n) == (None, None, None, None)


def churn_change(value: float, previous: float, significant: bool) -> Highlight:
    return Highlight("churn_change", {"value": value, "previous": previous, "change": value - previous,
                                      "significant": significant})


def region(kind: str, name: str, value: float, previous: float) -> Highlight:
    return Highlight(kind, {"region": name, "value": value, "previous": previous, "change": value - previous})


@pytest.mark.parametrize(("highlight", "en", "zh"), [
    (churn_change(0.1, 0.08, True), "Monthly churn up 2.0 pts to 10.0% (from 8.0%).",
     "月流失率上升 2.0个百分点，至 10.0%（此前 8.0%）。"),
    (churn_change(0.08, 0.1, True), "Monthly churn down 2.0 pts to 8.0% (from 10.0%).",
     "月流失率下降 2.0个百分点，至 8.0%（此前 10.0%）。"),
    (churn_change(0.081, 0.08, False),
     "Monthly churn up 0.1 pts to 8.1% (from 8.0%). Within sampling error: the change may be chance.",
     "月流失率上升 0.1个百分点，至 8.1%（此前 8.0%）。该变化在抽样误差范围内，可能只是偶然波动。"),
    (churn_change(0.079, 0.08, False),
     "Monthly churn down 0.1 pts to 7.9% (from 8.0%). Within sampling error: the change may be chance.",
     "月流失率下降 0.1个百分点，至 7.9%（此前 8.0%）。该变化在抽样误差范围内，可能只是偶然波动。"),
    (region("churn_region_up", "华北", 0.095, 0.012),
     "Churn in 华北 rose beyond sampling error: 9.5% a month (from 1.2%).",
     "华北的流失率上升，超出抽样误差：每月 9.5%（此前 1.2%）。"),
    (region("churn_region_down", "华南", 0.0, 0.1),
     "Churn in 华南 fell beyond sampling error: 0.0% a month (from 10.0%).",
     "华南的流失率下降，超出抽样误差：每月 0.0%（此前 10.0%）。"),
    (Highlight("churn_tier_down", {"tier": "platinum", "value": 0.005, "previous": 0.013, "change": -0.008}),
     "Churn among Platinum customers fell beyond sampling error: 0.5% a month (from 1.3% among the comparison "
     "period's Platinum customers).", "铂金客户的流失率下降，超出抽样误差：每月 0.5%（对比期的铂金客户为 1.3%）。"),
    (region("churn_region_up", "*North*", 0.2, 0.1),  # a region's name is data, never markup
     r"Churn in \*North\* rose beyond sampling error: 20.0% a month (from 10.0%).",
     r"\*North\*的流失率上升，超出抽样误差：每月 20.0%（此前 10.0%）。"),
])
def test_the_highlight_sentences(highlight, en, zh):
    assert highlight_text(highlight, "en", "CNY") == en
    assert highlight_text(highlight, "zh", "CNY") == zh


# ------------------------------------------------------------------ tiers whose churn moved


def expected_tier_highlights(con, scope: Scope) -> list[tuple[str, str]]:
    """The rules on the churn rates per tier (tests/test_churn_tiers.py checks those against the raw rows): a tier
    with at least 200 customer-months in both periods whose rates differ by the z-test at p < 0.05, the largest
    change first, at most two."""
    from analytics.metrics import churn_tiers

    window = churn_tile(con, scope).window
    rates = churn_tiers.tier_split(con, scope, window).rates
    moves = []
    for r in rates.itertuples():
        if pd.isna(r.group) or min(r.exposure, r.compare_exposure) < 200:
            continue
        if proportions_ztest([r.churned, r.compare_churned], [r.exposure, r.compare_exposure])[1] < 0.05:
            moves.append((-abs(r.rate - r.compare_rate), r.group,
                          "churn_tier_up" if r.rate > r.compare_rate else "churn_tier_down"))
    return [(kind, tier) for _, tier, kind in sorted(moves)[:2]]


@pytest.mark.parametrize("name", SCOPES)
def test_the_tier_highlights_name_the_tiers_whose_churn_moved(regions_con, name):
    from analytics.metrics.overview_churn import tier_highlights

    scope = SCOPES[name][0]
    got = tier_highlights(regions_con, scope)
    assert [(h.kind, h.values["tier"]) for h in got] == expected_tier_highlights(regions_con, scope)
    # (on this file the lead tier's churn rose in 2024, too little of it in the manager's regions; no other tier churns)
    assert [(h.kind, h.values["tier"]) for h in got] == (
        [("churn_tier_up", "lead")] if name in ("all", "last_year", "region-filter") else [])
    assert all(h.values["change"] == pytest.approx(h.values["value"] - h.values["previous"]) for h in got)

