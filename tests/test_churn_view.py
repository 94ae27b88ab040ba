"""The churn & retention page's view model (analytics.metrics.churn_view) on seeded random and hand-made files
imported through the real import path into a DuckDB file, every figure against the definitions computed here day
by day from the raw rows with numpy and pandas (statsmodels for the Wilson intervals and the two-proportion test;
survival, the Cox drivers, the at-risk list and the CLI's report: tests/test_churn_view_survival.py)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from analytics.ingest.pipeline import import_file
from analytics.metrics.churn_view import churn_view, with_names
from analytics.scope import Scope
from analytics.store import marts
from analytics.store.connection import connect

PERIOD = Scope(date(2024, 1, 1), date(2024, 12, 1))  # the data runs from 2022-06 to 2025-03
END = date(2024, 12, 31)
MID = date(2024, 8, 15)  # an as-of day in the middle of a month, the data going on after it
EARLY = date(2023, 2, 28)
GROUPINGS = ("home_region", "segment", "acquisition_channel")
WINDOWS = tuple(range(30, 361, 30))


def random_rows(seed: int = 12, n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers buying at their own pace until they drop out (in 2024 个人 less often and 企业 more), now and then a
    long pause, a return or two lines on one day; 85 % of them in the customers file (region, segment, acquisition
    channel, 展会 rare), the others' home region from their sales rows (one region each) and no segment or channel."""
    rng = np.random.default_rng(seed)
    sales, customers = [], []
    for i in range(n):
        cid, region, segment = f"C{i:04d}", ("华东", "华北", "华南")[i % 3], ("企业", "个人")[int(rng.integers(2))]
        channel = "展会" if rng.random() < 0.03 else ("线上", "门店", "推荐")[int(rng.integers(3))]
        if rng.random() < 0.85:
            customers.append((cid, f"客户{i}", region, segment, channel))
        day, gap, dropout = date(2022, 6, 1) + timedelta(days=int(rng.integers(1000))), rng.gamma(2, 25), \
            rng.beta(2, 20)
        while day <= date(2025, 2, 28):
            sales.append((cid, day, round(float(rng.uniform(10, 300)), 2), region))
            if rng.random() < 0.1:  # a return (not a purchase), or a second line the same day
                sales.append((cid, day + timedelta(days=int(rng.integers(10))), -5.0 if rng.random() < .5 else 7.0,
                              region))
            change = {"个人": 3.0, "企业": 0.4}[segment] if day.year == 2024 else 1.0  # 2024: 个人 leave, 企业 stay
            if rng.random() < dropout * change:
                break
            day += timedelta(days=1 + int(rng.exponential(gap * change)) + int(rng.random() < .05) * int(
                rng.integers(90, 250)))
    frame = pd.DataFrame(sales, columns=["customer_id", "day", "amount", "region"])
    frame.insert(0, "transaction_id", [f"T{k:05d}" for k in range(len(frame))])
    return frame, pd.DataFrame(customers, columns=["customer_id", "customer_name", "region", "segment",
                                                   "acquisition_channel"])


def load(folder, sales: pd.DataFrame, customers: pd.DataFrame | None = None, feedback: pd.DataFrame | None = None):
    """A CRM database file in ``folder`` with the rows imported as a user would (``day`` as ``order_date``)."""
    con = connect(folder / "crm.duckdb")
    for kind, rows in (("customers", customers), ("transactions", sales.rename(columns={"day": "order_date"})),
                       ("feedback", feedback)):
        if rows is not None:
            rows.to_csv(folder / f"{kind}.csv", index=False)
            report = import_file(con, folder / f"{kind}.csv", kind=kind, commit=True)
            assert (report.rows_imported, report.rows_rejected) == (len(rows), 0)
    return con


def attributes(sales: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Per customer: home region (the customers file's, else the one region of their sales rows), segment and
    acquisition channel (the customers file's), name."""
    assert sales.groupby("customer_id")["region"].nunique().max() == 1
    own = sales.groupby("customer_id")["region"].first().rename("own")
    out = pd.concat([own, customers.set_index("customer_id")], axis=1)
    return out.assign(home_region=out["region"].fillna(out["own"])).drop(columns=["own", "region"])


def month_days(scope: Scope) -> list[tuple[date, date]]:
    return [(m.date(), (m + pd.offsets.MonthEnd(0)).date()) for m in pd.date_range(scope.start, scope.end, freq="MS")]


class Reference:
    """The definitions day by day: per customer with a purchase (a row of amount >= 0) on or before ``as_of`` and
    per day from the first purchase of anyone to ``as_of``, whether they bought, their last purchase so far,
    whether they are active at the day's end (that purchase at most W days back) and churned at its start (the
    purchase before the day more than W days back: a customer whose next purchase comes exactly W + 1 days later
    churns that day and is won back by it, as tests/test_churn.py's reference has it)."""

    def __init__(self, sales: pd.DataFrame, as_of: date, window: int, who=None):
        rows = sales[(sales["day"] <= as_of) & (sales["customer_id"].isin(who) if who is not None else True)]
        buys = rows[rows["amount"] >= 0]
        self.rows, self.as_of, self.window = rows, as_of, window
        self.ids = np.sort(buys["customer_id"].unique())
        self.day0 = buys["day"].min()
        days = np.arange((as_of - self.day0).days + 1)
        self.bought = np.zeros((len(self.ids), len(days)), dtype=bool)
        self.bought[np.searchsorted(self.ids, buys["customer_id"]), [(d - self.day0).days for d in buys["day"]]] = 1
        self.last = np.maximum.accumulate(np.where(self.bought, days, -1), axis=1)
        self.active = (self.last >= 0) & (days - self.last <= window)
        churned = np.zeros_like(self.active)  # at the day's start
        churned[:, 1:] = (self.last[:, :-1] >= 0) & (days[1:] - self.last[:, :-1] > window)
        self.became = np.zeros_like(self.active)  # the day they became churned
        self.became[:, 1:] = churned[:, 1:] & ~churned[:, :-1]
        self.back = self.bought & churned  # a purchase on a day they started churned

    def index(self, day: date) -> int:
        return (day - self.day0).days

    def monthly(self, scope: Scope, members=None) -> pd.DataFrame:
        keep = np.ones(len(self.ids), bool) if members is None else np.isin(self.ids, list(members))
        first = self.bought.argmax(axis=1)
        out = []
        for start, end in month_days(scope):
            s, e = self.index(start), min(self.index(end), self.index(self.as_of))
            won = keep & self.back[:, max(s, 0):e + 1].any(axis=1)
            month = self.rows[self.rows["day"].between(start, end) & self.rows["customer_id"].isin(self.ids[won])]
            out.append({"month": start, "active_start": int((keep & self.active[:, s - 1]).sum()) if s > 0 else 0,
                        "churned": int(self.became[keep, max(s, 0):e + 1].sum()), "won_back": int(won.sum()),
                        "won_back_revenue": month["amount"].sum(), "new_customers": int((keep & (first >= s) &
                                                                                          (first <= e)).sum()),
                        "provisional": end > self.as_of})
        return pd.DataFrame(out)

    def lifetimes(self) -> pd.DataFrame:
        """Per customer: days from the first purchase to the last (churned as of A) or to A (active)."""
        first, last = self.bought.argmax(axis=1), self.last[:, -1]
        observed = self.index(self.as_of) - last > self.window
        return pd.DataFrame({"customer_id": self.ids, "duration": np.where(observed, last, self.index(self.as_of))
                             - first, "observed": observed, "since": self.index(self.as_of) - last})

    def win_back(self, scope: Scope) -> pd.DataFrame:
        rows, cols = np.nonzero(self.back)
        out = pd.DataFrame({"customer_id": self.ids[rows], "days_away": cols - self.last[rows, cols - 1],
                            "returned": [self.day0 + timedelta(days=int(c)) for c in cols]})
        out = out[(out["returned"] >= scope.start) & (out["returned"] < scope.end_exclusive)]
        month = pd.to_datetime(self.rows["day"]).dt.to_period("M")
        out["revenue"] = [self.rows.loc[(self.rows["customer_id"] == c) & (month == pd.Period(d, "M")), "amount"].sum()
                          for c, d in zip(out["customer_id"], out["returned"], strict=True)]
        return out.sort_values(["returned", "customer_id"], ascending=[False, True]).reset_index(drop=True)


def pooled(frame: pd.DataFrame) -> tuple:
    """Σ churned / Σ active at the months' starts with statsmodels' Wilson interval (NaN without any)."""
    c, a = int(frame["churned"].sum()), int(frame["active_start"].sum())
    return (c, a, *((c / a, *proportion_confint(c, a, alpha=0.05, method="wilson")) if a else (np.nan,) * 3))


def same(got: tuple, expected: tuple) -> bool:
    return got[:2] == expected[:2] and np.allclose(got[2:], expected[2:], rtol=1e-9, atol=1e-12, equal_nan=True)


def previous(scope: Scope) -> Scope:
    """As many months just before the scope's (the view's period, which ends in A's month)."""
    start = pd.Timestamp(scope.start)
    return Scope(start - pd.DateOffset(months=scope.months), start - pd.DateOffset(months=1))


def view_of(con, scope: Scope = PERIOD, **options):
    return churn_view(con, scope, with_at_risk=False, **options)


@pytest.fixture(scope="module", name="data")
def data_fixture():
    sales, customers = random_rows()
    return sales, customers, attributes(sales, customers)


@pytest.fixture(scope="module", params=["months", "summaries"], name="con")
def con_fixture(request, tmp_path_factory, data):
    """The database without and with the summaries (every test then checks those too against the raw rows)."""
    con = load(tmp_path_factory.mktemp("churn_view"), data[0], data[1])
    if request.param == "summaries":
        assert marts.summarize(con)
    yield con
    con.close()


def gaps_window(sales: pd.DataFrame, as_of: date) -> int:
    buys = sales[(sales["amount"] >= 0) & (sales["day"] <= as_of)].drop_duplicates(["customer_id", "day"])
    gaps = buys.sort_values("day").groupby("customer_id")["day"].diff().dropna().dt.days
    return max(30, 30 * int(np.ceil(np.quantile(gaps, 0.9, method="inverted_cdf") / 30)))


def test_the_default_window_is_the_90th_percentile_of_the_gaps_rounded_up_to_30_days(con, data):
    sales = data[0].assign(day=pd.to_datetime(data[0]["day"]))
    derived = {}
    for scope, as_of in ((PERIOD, END), (PERIOD, MID), (Scope(date(2023, 1, 1), date(2023, 12, 1)), EARLY)):
        d = view_of(con, scope, as_of=as_of).definition
        derived[as_of] = gaps_window(sales, pd.Timestamp(as_of))  # the gaps up to the as-of day only
        assert (d.window, d.window_source, d.default_window, d.gap_share) == (derived[as_of], "data",
                                                                               derived[as_of], 0.9)
    assert derived[EARLY] != derived[END]  # the cut matters on this data
    chosen = view_of(con, window_days=75).definition
    assert (chosen.window, chosen.window_source, chosen.default_window) == (75, "option", derived[END])
    with pytest.raises(ValueError, match="at least 30 days"):
        view_of(con, window_days=29)


def test_without_repeat_purchases_the_window_falls_back_to_180_days(tmp_path):
    sales = pd.DataFrame({"transaction_id": ["T1", "T2", "T3", "T4"], "customer_id": ["A", "B", "B", "C"],
                          "day": [date(2024, 1, 5), date(2024, 2, 9), date(2024, 2, 9), date(2024, 3, 1)],
                          "amount": [10.0, 20.0, 5.0, 7.0], "region": "华东"})
    d = view_of(load(tmp_path, sales)).definition
    assert (d.window, d.window_source, d.default_window, d.as_of) == (180, "fallback", 180, date(2024, 3, 1))


def test_the_as_of_day(con, data):
    sales = data[0]
    last_purchase = sales.loc[sales["amount"] >= 0, "day"].max()  # anyone's (the rows go on to 2025-03 returns)
    assert view_of(con).definition.as_of == END  # the period's last day: the data goes on after it
    late = Scope(date(2024, 7, 1), date(2025, 6, 1))
    d = view_of(con, late).definition
    assert (d.as_of, d.as_of_source) == (last_purchase, "data") and sales["day"].max() > last_purchase
    ends = sales[sales["amount"] >= 0].groupby("region")["day"].max()  # a region stopping earlier: the data's end
    assert ends.min() < last_purchase
    assert view_of(con, Scope(late.start, late.end, regions=(ends.idxmin(),))).definition.as_of == last_purchase
    d = view_of(con, as_of=MID).definition
    assert (d.as_of, d.as_of_source) == (MID, "option")
    for outside in (date(2023, 12, 31), date(2025, 1, 1)):
        with pytest.raises(ValueError, match="must lie in the period"):
            view_of(con, as_of=outside)


@pytest.fixture(scope="module")
def cut_con(tmp_path_factory, data):
    """The same files with every row after MID left out."""
    con = load(tmp_path_factory.mktemp("churn_view_cut"), data[0][data[0]["day"] <= MID], data[1])
    yield con
    con.close()


def test_purchases_after_the_as_of_day_are_not_seen(con, cut_con):
    view, cut = view_of(con, as_of=MID), view_of(cut_con, as_of=MID)
    assert view.scope.end == date(2024, 8, 1) == view.monthly["month"].iloc[-1]  # the view ends in A's month
    assert view.monthly["provisional"].tolist() == [False] * 7 + [True]
    assert same(view.period_rate, cut.period_rate) and same(view.comparison_rate, cut.comparison_rate)
    for name in ("definition", "n_customers", "active", "churned", "cox_problem", "cox_customers"):
        assert getattr(view, name) == getattr(cut, name), name
    for name in ("monthly", "comparison_monthly", "sensitivity", "win_back"):
        pd.testing.assert_frame_equal(getattr(view, name), getattr(cut, name))
    for grouping in GROUPINGS:
        pd.testing.assert_frame_equal(view.by_group[grouping], cut.by_group[grouping])
    assert view.survival.keys() == cut.survival.keys()
    for key, curves in view.survival.items():
        assert curves.log_rank == cut.survival[key].log_rank
        for a, b in zip(curves.curves, cut.survival[key].curves, strict=True):
            assert (a.group, a.n, a.median, a.survival_at_horizon) == (b.group, b.n, b.median, b.survival_at_horizon)
            np.testing.assert_array_equal(a.survival, b.survival)


def test_the_cohorts_do_not_see_purchases_after_the_as_of_day(con, cut_con):
    view, cut = view_of(con, as_of=MID), view_of(cut_con, as_of=MID)
    assert view.cohorts.sizes["customers"].iloc[-1] == view.monthly["new_customers"].iloc[-1]
    pd.testing.assert_frame_equal(view.cohorts.sizes, cut.cohorts.sizes)
    pd.testing.assert_frame_equal(view.cohorts.customer_retention, cut.cohorts.customer_retention)


@pytest.mark.parametrize(("as_of", "window"), [(None, None), (MID, None), (None, 60), (MID, 45)])
def test_monthly_churn_and_the_period_and_comparison_rates(con, data, as_of, window):
    view = view_of(con, as_of=as_of, window_days=window)
    a, w = view.definition.as_of, view.definition.window
    ref = Reference(data[0], a, w)
    expected = ref.monthly(view.scope)
    pd.testing.assert_frame_equal(view.monthly[list(expected.columns)], expected, check_dtype=False)
    for row in view.monthly.itertuples():
        low, high = proportion_confint(row.churned, row.active_start, alpha=0.05, method="wilson")
        assert (row.churn_rate, row.churn_low, row.churn_high) == pytest.approx(
            (row.churned / row.active_start, low, high), rel=1e-9)
    assert same(view.period_rate, pooled(expected[~expected["provisional"]]))  # the complete months only
    compared = ref.monthly(previous(view.scope))
    pd.testing.assert_frame_equal(view.comparison_monthly[list(compared.columns)], compared, check_dtype=False)
    assert same(view.comparison_rate, pooled(compared)) and view.comparison_rate[1] > 0


def test_customers_active_and_churned_as_of_the_day(con, data):
    for as_of, window in ((None, None), (MID, 60), (date(2024, 3, 3), 90)):
        view = view_of(con, as_of=as_of, window_days=window)
        life = Reference(data[0], view.definition.as_of, view.definition.window).lifetimes()
        assert (view.n_customers, view.active, view.churned) == (
            len(life), int((~life["observed"]).sum()), int(life["observed"].sum()))


def hand_rows() -> pd.DataFrame:
    a = date(2024, 6, 30)
    rows = [("X", date(2024, 1, 10), 10.0), ("X", a - timedelta(days=60), 10.0),  # active: exactly W
            ("Y", date(2024, 2, 1), 10.0), ("Y", a - timedelta(days=61), 10.0),  # churned on A itself
            ("Z", a, 10.0), ("R", date(2024, 3, 1), 10.0), ("R", date(2024, 3, 1), 4.0),
            ("R", date(2024, 6, 1), -4.0),  # a return is no purchase
            ("Q", date(2024, 7, 5), 10.0), ("Q", date(2024, 8, 2), -10.0)]  # after A: not seen; August: a return
    sales = pd.DataFrame(rows, columns=["customer_id", "day", "amount"]).assign(region="华东")
    return sales.assign(transaction_id=[f"T{k}" for k in range(len(sales))])


def test_a_purchase_exactly_w_days_back_is_active_and_one_more_day_churned(tmp_path):
    a, con = date(2024, 6, 30), load(tmp_path, hand_rows())
    view = view_of(con, Scope(date(2024, 1, 1), date(2024, 6, 1)), window_days=60)
    assert (view.definition.as_of, view.n_customers, view.active, view.churned) == (a, 4, 2, 2)
    # churn days: X 03-11 (back 05-01, 112 days away), Y 04-02 (back 04-30, 89 days) and 06-30, R 05-01
    assert view.monthly["churned"].tolist() == [0, 0, 1, 1, 1, 1]
    assert view.win_back[["customer_id", "days_away"]].values.tolist() == [["X", 112], ["Y", 89]]
    assert view.survival["all"].curves[0].n_events == 2
    assert (view_of(con, Scope(date(2024, 1, 1), date(2024, 6, 1)), window_days=61).churned) == 1


def test_a_month_of_returns_only_at_the_datas_end_gives_a_view(tmp_path):
    """A period after the data's last purchase (its month holds returns only): the as-of day is that purchase
    day, before the period, so every month of the period is provisional; no error."""
    con = load(tmp_path, hand_rows())
    view = view_of(con, Scope(date(2024, 8, 1), date(2024, 8, 1)))
    last = con.execute("select max(order_date) from transactions where amount > 0").fetchall()[0][0]
    assert view.definition.as_of == last < date(2024, 8, 1)
    assert view.monthly["provisional"].all() and view.monthly["churned"].sum() == 0


@pytest.mark.parametrize("as_of", [None, MID])
def test_churn_by_group_against_the_comparison_period(con, data, as_of):
    view = view_of(con, as_of=as_of)
    ref = Reference(data[0], view.definition.as_of, view.definition.window)
    comparison, seen = previous(view.scope), set()
    for grouping in GROUPINGS:
        column = data[2][grouping]
        got = view.by_group[grouping]
        labels = sorted(column.dropna().unique()) + ([None] if column.isna().any() else [])  # None: without one
        assert [None if pd.isna(g) else g for g in got["group"]] == labels
        for row, label in zip(got.itertuples(), labels, strict=True):
            members = column.index[column.isna() if label is None else column == label]
            now = ref.monthly(view.scope, members)
            now = pooled(now[~now["provisional"]])
            before = pooled(ref.monthly(comparison, members))
            assert same((row.churned, row.exposure, row.rate, row.low, row.high), now), (grouping, label)
            assert same((row.compare_churned, row.compare_exposure, row.compare_rate, row.compare_low,
                         row.compare_high), before), (grouping, label)
            pooled_share = (now[0] + before[0]) / (now[1] + before[1])
            p = 1.0 if pooled_share in (0, 1) else proportions_ztest([now[0], before[0]], [now[1], before[1]])[1]
            assert row.p_value == pytest.approx(p, rel=1e-9)
            assert row.small == bool(now[1] == 0 or now[4] - now[3] > 0.10)
            moved = None if pd.isna(row.moved) else row.moved  # (None and NaN: pandas makes None NaN beside text)
            assert moved == (None if p >= 0.05 else "up" if now[2] > before[2] else "down")
            seen |= {("small", row.small), ("moved", moved)}
    assert {("small", True), ("small", False), ("moved", "down"), ("moved", None)} <= seen


@pytest.mark.parametrize(("as_of", "window"), [(None, None), (MID, 75)])
def test_window_sensitivity(con, data, as_of, window):
    view = view_of(con, as_of=as_of, window_days=window)
    a, chosen = view.definition.as_of, view.definition.window
    got = view.sensitivity.set_index("window")
    assert got.index.tolist() == sorted({*WINDOWS, chosen}) and got["chosen"].sum() == 1 and got.loc[chosen, "chosen"]
    for w, row in got.iterrows():
        ref = Reference(data[0], a, w)
        monthly = ref.monthly(view.scope)
        assert same((row.churned, row.exposure, row.rate, row.low, row.high),
                    pooled(monthly[~monthly["provisional"]])), w
        assert row.churned_share == pytest.approx((ref.lifetimes()["since"] > w).mean(), rel=1e-12)


@pytest.mark.parametrize(("as_of", "window"), [(None, None), (MID, 60)])
def test_win_back(con, data, as_of, window):
    view = view_of(con, as_of=as_of, window_days=window)
    expected = Reference(data[0], view.definition.as_of, view.definition.window).win_back(view.scope)
    names = data[2].loc[expected["customer_id"], ["customer_name", "home_region", "segment"]].reset_index(drop=True)
    expected = pd.concat([expected, names], axis=1)
    listed = with_names(con, view.scope, view.win_back)
    assert list(listed.columns)[:2] == ["customer_id", "customer_name"] and len(listed.columns) == 7
    got = listed.assign(returned=listed["returned"].dt.date)
    assert len(got) > 10 and got["returned"].max() <= view.definition.as_of
    pd.testing.assert_frame_equal(got[list(expected.columns)], expected, check_dtype=False)
    assert len(got) == view.monthly["won_back"].sum() and got["revenue"].sum() == pytest.approx(
        view.monthly["won_back_revenue"].sum())


@pytest.mark.parametrize("scope", [
    Scope(PERIOD.start, PERIOD.end, regions=("华北",)),
    Scope(PERIOD.start, PERIOD.end, allowed_regions=("华北",)),
    Scope(PERIOD.start, PERIOD.end, regions=("华北",), allowed_regions=("华北", "华南")),
], ids=["filter", "manager", "filter-within-allowed"])
def test_the_gate_keeps_other_regions_out(con, data, scope):
    view = view_of(con, scope, as_of=MID, window_days=60)
    north = data[2].index[data[2]["home_region"] == "华北"]
    ref = Reference(data[0], MID, 60, who=north)
    pd.testing.assert_frame_equal(view.monthly[["active_start", "churned", "won_back", "won_back_revenue"]],
                                  ref.monthly(view.scope)[["active_start", "churned", "won_back", "won_back_revenue"]],
                                  check_dtype=False)
    life = ref.lifetimes()
    assert (view.n_customers, view.churned) == (len(life), life["observed"].sum())
    assert view.survival["all"].curves[0].n == len(life) and set(view.win_back["home_region"]) == {"华北"}
    assert view.win_back["customer_id"].tolist() == ref.win_back(view.scope)["customer_id"].tolist()
    assert view.by_group["home_region"]["group"].tolist() == ["华北"]
    assert {c.group for c in view.survival["segment"].curves} <= {"企业", "个人", None}
    assert sum(view.sensitivity["chosen"]) == 1 and view.cox_population == len(life)


def test_a_tampered_scope_gives_an_empty_view(con):
    view = churn_view(con, Scope(PERIOD.start, PERIOD.end, regions=("华东",), allowed_regions=("华北",)))
    assert view.empty and (view.n_customers, view.active, view.churned) == (0, 0, 0)
    assert view.monthly["active_start"].sum() == 0 == view.monthly["churned"].sum() and view.win_back.empty
    assert view.survival == {} and view.cox is None and view.at_risk is None and view.cohorts.empty
    assert view.sensitivity["exposure"].sum() == 0 and all(g.empty or g["exposure"].sum() == 0
                                                           for g in view.by_group.values())
