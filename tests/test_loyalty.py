"""Behavioural loyalty (analytics.metrics.loyalty, from analytics.metrics.loyalty_days' purchase days) on a
hand-made file and on the seeded random file of tests/test_churn_view.py, imported through the real import path,
with and without the summaries: every figure against an independent pandas computation on the raw rows
(statsmodels' Wilson interval and two-proportion test, scipy's t interval), for the period, the comparison period,
each month's year, the regions and the tiers (tests/test_tiers.py's independent ranking), under region, segment,
tier and access restrictions."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint, proportions_ztest
from test_churn_view import PERIOD, attributes, con_fixture, data_fixture, load  # noqa: F401 (con: without, with summaries)
from test_tiers import expected_tiers

from analytics.metrics import loyalty, loyalty_days
from analytics.scope import Scope, add_months
from analytics.store import marts
from analytics.store.connection import connect
from analytics.tiering import TierSpec

PYRAMID = TierSpec.preset("pyramid")
SCOPES = {
    "period": PERIOD,
    "region": Scope(PERIOD.start, PERIOD.end, regions=("华北", "华南")),
    "segment_last_year": Scope(date(2024, 3, 1), date(2024, 11, 1), compare="last_year", segments=("企业",)),
    "personal": Scope(PERIOD.start, PERIOD.end, segments=("个人",)),  # 2024: 个人 buy less often
    "tier": Scope(PERIOD.start, PERIOD.end, tiers=("iron", "lead")),
    "allowed": Scope(date(2023, 7, 1), date(2024, 6, 1), allowed_regions=("华东",)),
    "early": Scope(date(2022, 6, 1), date(2023, 2, 1)),  # years reaching before the data: partial
    "late": Scope(date(2024, 10, 1), date(2025, 3, 1), compare="none"),  # months after the data: partial
}


def shares(k: int, n: int) -> tuple[float, float, float]:
    return (k / n, *proportion_confint(k, n, alpha=0.05, method="wilson")) if n else (np.nan,) * 3


def z_test(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """statsmodels' two-proportion z-test; None with an empty sample, 1.0 when every member of both is alike."""
    if not (n1 and n2):
        return None
    with np.errstate(invalid="ignore", divide="ignore"):  # (every member alike: 0 / 0)
        p = proportions_ztest([k1, k2], [n1, n2])[1]
    return 1.0 if np.isnan(p) else float(p)


def moved(p: float | None, now: float, then: float) -> str | None:
    return None if p is None or p >= 0.05 else ("up" if now > then else "down")


class Raw:
    """The definitions on the raw rows: purchases (amount >= 0), the customers of a scope, each customer's first
    purchase, the data's first month and last purchase day."""

    def __init__(self, sales: pd.DataFrame, customers: pd.DataFrame):
        self.sales = sales
        self.buys = sales[sales["amount"] >= 0]
        self.who = attributes(sales, customers)
        self.first = self.buys.groupby("customer_id")["day"].min()
        self.start = self.buys["day"].min().replace(day=1)
        self.end = self.buys["day"].max()

    def members(self, scope: Scope) -> set[str]:
        who = self.who
        regions = set(scope.regions or who["home_region"]) & set(scope.allowed_regions or who["home_region"])
        keep = who["home_region"].isin(regions) & (who["segment"].isin(scope.segments) if scope.segments else True)
        out = set(who.index[keep])
        if scope.tiers:
            ranked = expected_tiers(self.sales, Scope(*scope.tier_window), PYRAMID, scope.allowed_regions)
            out &= set(ranked.loc[ranked["tier"].isin([PYRAMID.names.index(t) for t in scope.tiers]), "customer_id"])
        return out

    def year(self, month: date, members: set[str]) -> pd.Series:
        """Per customer of ``members`` with a purchase in the year of ``month``: their purchase days in it."""
        b = self.buys[(self.buys["day"] >= add_months(month, -11)) & (self.buys["day"] < add_months(month, 1))
                      & self.buys["customer_id"].isin(members)]
        return b.groupby("customer_id")["day"].nunique()

    def as_of(self, month: date) -> date:
        return min(add_months(month, 1) - timedelta(days=1), self.end)

    def tenure(self, month: date, ids) -> pd.Series:
        return pd.Series([(self.as_of(month) - self.first[c]).days for c in ids], index=list(ids), dtype=float)

    def figures(self, month: date, members: set[str], n: int = 3) -> dict:
        y = self.year(month, members)
        k = len(y)
        if k > 1:
            low, high = stats.t.interval(0.95, k - 1, loc=y.mean(), scale=y.std(ddof=1) / np.sqrt(k))
        else:
            low = high = np.nan
        return dict(zip(loyalty.FIGURE_COLUMNS, (k, int((y >= 2).sum()), *shares(int((y >= 2).sum()), k),
                                                 int((y >= n).sum()), *shares(int((y >= n).sum()), k),
                                                 y.mean() if k else np.nan, low, high), strict=True))

    def partial(self, month: date) -> bool:
        return add_months(month, -11) < self.start or add_months(month, 1) - timedelta(days=1) > self.end


def close(got: dict, expected: dict) -> None:
    for key, value in expected.items():
        if isinstance(value, float) and np.isnan(value):
            assert np.isnan(got[key]), key
        else:
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


@pytest.fixture(scope="module", name="raw")
def raw_fixture(data):
    return Raw(data[0], data[1])


@pytest.mark.parametrize("name", list(SCOPES))
def test_every_month_and_both_periods_against_the_raw_rows(con, raw, name):
    scope = SCOPES[name]
    view = loyalty.loyalty(con, scope, with_tiers=False)
    members = raw.members(scope)
    assert view.as_of == min(scope.end_exclusive - timedelta(days=1), raw.end)
    comparison = scope.comparison()
    for frame, s in ((view.trend, scope), (view.comparison_trend, comparison)):
        if s is None:
            assert frame is None
            continue
        months = list(pd.date_range(s.start, s.end, freq="MS").date)
        assert frame["month"].tolist() == months
        for row, month in zip(frame.to_dict("records"), months, strict=True):
            close(row, raw.figures(month, members))
            assert row["partial"] == raw.partial(month), month
    assert view.period == view.trend.iloc[-1].to_dict()
    if comparison is None:
        assert view.comparison is None and np.isnan(view.p_value) and view.moved is None
    else:
        now, then = view.period, view.comparison
        p = z_test(now["loyal"], now["customers"], then["loyal"], then["customers"])
        assert view.p_value == pytest.approx(np.nan if p is None else p, rel=1e-9, nan_ok=True)
        assert view.moved == moved(p, now["loyal_share"], then["loyal_share"])
    assert view.empty == (view.period["customers"] == 0)


def test_the_scopes_cover_what_they_are_for(con, raw):
    """The random file has what the cases need: customers in every scope, partial years, moved and unmoved shares."""
    views = {name: loyalty.loyalty(con, s, with_tiers=False) for name, s in SCOPES.items()}
    assert all(v.period["customers"] > 30 for v in views.values())
    assert views["early"].trend["partial"].all() and not views["period"].trend["partial"].any()
    assert views["late"].trend["partial"].iloc[-1] and not views["late"].trend["partial"].iloc[0]
    assert [views[k].moved for k in ("period", "segment_last_year", "personal")] == [None, "up", "down"]


@pytest.mark.parametrize("name", ["period", "region", "segment_last_year", "tier", "allowed"])
def test_regions_and_tiers_against_the_raw_rows(con, raw, name):
    scope = SCOPES[name]
    view = loyalty.loyalty(con, scope)
    members = raw.members(scope)
    comparison = scope.comparison()
    now, then = raw.year(scope.end, members), raw.year(comparison.end, members)
    tenure = raw.tenure(scope.end, now.index)
    region = raw.who["home_region"]
    # (ranked among the customers the user may see, as the tier filter ranks)
    tiers_now = expected_tiers(raw.sales, scope, PYRAMID, scope.allowed_regions).set_index("customer_id")["tier"]
    tiers_then = expected_tiers(raw.sales, comparison, PYRAMID, scope.allowed_regions).set_index("customer_id")["tier"]
    name_of = dict(enumerate(PYRAMID.names))
    regions = sorted(set(region[list(members)]))
    cases = ((view.by_region, region.reindex(now.index), region.reindex(then.index), regions),
             (view.by_tier, tiers_now.reindex(now.index).map(name_of), tiers_then.reindex(then.index).map(name_of),
              list(PYRAMID.names)))
    for frame, group_now, group_then, labels in cases:
        none = group_now.isna().any() or group_then.isna().any()  # (the last group only when it has someone)
        assert [None if pd.isna(g) else g for g in frame["group"]] == [*labels, *([None] if none else [])]
        for row in frame.to_dict("records"):
            g = row["group"]
            mine = now[group_now.isna()] if g is None else now[group_now == g]
            before = then[group_then.isna()] if g is None else then[group_then == g]
            close(row, raw.figures(scope.end, set(mine.index)))
            assert row["tenure_median_days"] == pytest.approx(tenure[mine.index].median(), nan_ok=True)
            k, n = int((before >= 3).sum()), len(before)
            close(row, dict(zip(["compare_loyal_share", "compare_loyal_low", "compare_loyal_high"], shares(k, n),
                                strict=True)))
            assert (row["compare_customers"], row["compare_loyal"]) == (n, k)
            p = z_test(row["loyal"], row["customers"], k, n)
            assert row["p_value"] == pytest.approx(np.nan if p is None else p, rel=1e-9, nan_ok=True)
            assert row["moved"] == moved(p, row["loyal_share"], k / n if n else np.nan)
            assert row["small"] == (row["customers"] == 0 or row["loyal_high"] - row["loyal_low"] > 0.10)


def test_a_group_is_ranked_only_with_enough_customers(tmp_path):
    """800 customers in 华东 and 30 in 华北, customer i buying on 1 + i % 5 days of 2024: 3 in 5 loyal in each
    region; 华东's interval is narrow enough to rank (480 of 800: 6.7 points), 华北's is not (18 of 30)."""
    rows = [(f"K{i:04d}", date(2024, 1 + d, 10), 50.0, "华东" if i < 800 else "华北")
            for i in range(830) for d in range(1 + i % 5)]
    sales = pd.DataFrame(rows, columns=["customer_id", "day", "amount", "region"])
    sales.insert(0, "transaction_id", [f"T{k:05d}" for k in range(len(sales))])
    con = load(tmp_path, sales)
    regions = loyalty.loyalty(con, Scope(date(2024, 12, 1), date(2024, 12, 1))).by_region.set_index("group")
    assert regions[["customers", "loyal"]].values.tolist() == [[800, 480], [30, 18]]  # (华东, 华北: code points)
    assert regions["small"].tolist() == [False, True]
    width = np.diff(proportion_confint(480, 800, alpha=0.05, method="wilson"))[0]
    assert 0.06 < width < 0.10


@pytest.mark.parametrize("n", [1, 3, 5, 14])
def test_frequency_tenure_and_the_customers_against_the_raw_rows(con, raw, n):
    view = loyalty.loyalty(con, PERIOD, n, with_tiers=False)
    members = raw.members(PERIOD)
    y = raw.year(PERIOD.end, members)
    cap = max(12, n)
    counts = np.minimum(y, cap).value_counts().reindex(range(1, cap + 1), fill_value=0)
    assert view.frequency["purchase_days"].tolist() == list(range(1, cap + 1))
    assert view.frequency["customers"].tolist() == counts.tolist()
    np.testing.assert_allclose(view.frequency["share"], counts / len(y), rtol=1e-12)
    assert view.frequency["loyal"].tolist() == [d >= n for d in range(1, cap + 1)]
    tenure = raw.tenure(PERIOD.end, y.index)
    assert (view.tenure.q1, view.tenure.median, view.tenure.q3) == pytest.approx(
        tuple(np.percentile(tenure, [25, 50, 75])))
    band = np.minimum(tenure // 365, 3)
    bands = view.tenure.bands
    assert bands["years_from"].tolist() == [0, 1, 2, 3] and bands["years_to"].tolist()[:3] == [1, 2, 3]
    for row in bands.to_dict("records"):
        inside = y[band == row["years_from"]]
        k = int((inside >= n).sum())
        assert (row["customers"], row["loyal"]) == (len(inside), k)
        close(row, dict(zip(["loyal_share", "loyal_low", "loyal_high"], shares(k, len(inside)), strict=True)))
    listed = loyalty.loyal_customers(loyalty_days.purchase_days(con, PERIOD), PERIOD.end, n)
    assert listed["customer_id"].tolist() == sorted(y.index)
    assert listed["purchase_days"].tolist() == y.sort_index().tolist()
    assert listed["loyal"].tolist() == (y.sort_index() >= n).tolist()
    assert listed["tenure_days"].tolist() == tenure.sort_index().astype(int).tolist()
    assert listed["home_region"].tolist() == raw.who["home_region"].reindex(sorted(y.index)).tolist()


def hand_made() -> pd.DataFrame:
    """Six customers, their purchases by hand (a return is not a purchase; two lines on one day are one day)."""
    rows = [("A", "2024-01-05", 10, "华东"), ("A", "2024-03-10", 10, "华东"), ("A", "2024-12-01", 10, "华东"),
            ("B", "2023-12-15", 10, "华东"), ("B", "2024-06-01", 10, "华东"), ("B", "2024-06-01", 20, "华东"),
            ("C", "2024-05-05", 10, "华东"), ("C", "2024-05-20", 10, "华东"),
            ("D", "2023-06-01", 10, "华东"), ("D", "2024-04-01", -50, "华东"),
            ("E", "2021-01-10", 10, "华北"), ("E", "2024-02-02", 10, "华北"), ("E", "2024-02-03", 10, "华北"),
            ("E", "2024-08-08", 10, "华北"), ("E", "2024-09-09", 10, "华北"),
            ("F", "2024-12-31", 10, "华北")]
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "amount", "region"])
    frame.insert(0, "transaction_id", [f"H{k:02d}" for k in range(len(frame))])
    return frame


def test_a_hand_made_file_gives_the_figures_worked_out_by_hand(tmp_path):
    con = load(tmp_path, hand_made())
    scope = Scope(date(2024, 12, 1), date(2024, 12, 1))  # against 2024-11
    view = loyalty.loyalty(con, scope)
    # December's year (2024): A 3 days, B 1 (two lines on 06-01; 2023-12-15 outside), C 2, E 4, F 1; D only a return
    p = view.period
    assert (p["customers"], p["repeat"], p["loyal"], p["partial"]) == (5, 3, 2, False)
    assert p["frequency"] == pytest.approx(11 / 5)
    # November's year (2023-12 to 2024-11): A 2, B 2, C 2, E 4
    c = view.comparison
    assert (c["customers"], c["repeat"], c["loyal"]) == (4, 4, 1)
    # tenure on 2024-12-31: F 0, C 240, A 361, B 382, E 1451 days
    assert (view.tenure.median, view.tenure.q1, view.tenure.q3) == (361, 240, 382)
    assert view.tenure.bands[["customers", "loyal"]].values.tolist() == [[3, 1], [1, 0], [0, 0], [1, 1]]
    assert view.frequency["customers"].tolist()[:5] == [2, 1, 1, 1, 0]
    regions = view.by_region.set_index("group")
    assert regions.loc["华东", ["customers", "repeat", "loyal", "compare_customers", "compare_loyal"]].tolist() == \
        [3, 2, 1, 3, 0]
    assert regions.loc["华北", ["customers", "repeat", "loyal", "compare_customers", "compare_loyal"]].tolist() == \
        [2, 1, 1, 1, 1]
    assert bool(regions.loc["华北", "small"])  # two customers: too few to rank
    assert view.by_tier["customers"].sum() == 5
    # December's tiers rank A and F (both lead); B, C and E bought nothing in it: the last group
    assert view.by_tier["customers"].tolist() == [0, 0, 0, 2, 3] and view.by_tier.iloc[-1]["group"] is None
    assert loyalty.loyalty(con, scope, 2).period["loyal"] == 3


def test_days_read_before_the_summaries_map_the_tiers_the_same(tmp_path, data):
    con = load(tmp_path, data[0], data[1])
    days = loyalty_days.purchase_days(con, PERIOD)  # (no summaries: no customer numbers)
    before = loyalty.by_tier(con, days, PERIOD, 3)
    assert marts.summarize(con)
    after = loyalty.by_tier(con, days, PERIOD, 3)  # the tiers now keyed by number, the days still by id
    pd.testing.assert_frame_equal(before, after)
    assert before["customers"].sum() > 100


def test_nobody_in_scope_or_no_data_is_empty_not_an_error(con, tmp_path):
    none = loyalty.loyalty(con, Scope(PERIOD.start, PERIOD.end, regions=("华东",), allowed_regions=("华北",)))
    assert none.empty and none.period["customers"] == 0 and np.isnan(none.period["loyal_share"])
    assert none.by_region.empty and none.frequency["customers"].sum() == 0 and np.isnan(none.tenure.median)
    blank = connect(tmp_path / "empty.duckdb")
    view = loyalty.loyalty(blank, PERIOD)
    assert view.empty and view.trend["partial"].all() and view.by_tier["customers"].sum() == 0


def test_a_threshold_that_is_not_a_whole_number_of_days_is_refused(con):
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="at least 1 purchase day"):
            loyalty.loyalty(con, PERIOD, bad)
    days = loyalty_days.purchase_days(con, PERIOD)
    with pytest.raises(ValueError, match="not among the months read"):
        days.year_days(date(2025, 1, 1))
