"""Complaints (analytics.metrics.complaints and complaints_retention) on a hand-made file worked out by hand and on
the seeded random file of tests/test_churn_view.py with random complaints (open, resolved late, resolved before they
were made) and surveys, imported through the real import path, with and without the summaries: every figure against
an independent pandas computation on the raw rows (scipy's gamma quantiles for the Poisson interval, statsmodels'
Wilson interval, two-proportion test, conditional Poisson test and Kaplan–Meier curve), under region, tier and
access restrictions and for several targets and horizons."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats import rates
from test_churn_view import PERIOD, load, random_rows
from test_loyalty import Raw, moved, shares, z_test

from analytics.metrics import complaints as cm
from analytics.metrics.complaints_retention import FREQUENCY_BANDS
from analytics.scope import Scope, add_months
from analytics.store import marts
from analytics.store.connection import connect

CATEGORIES = ("物流", "质量", "服务", "价格")
SCOPES = {
    "period": PERIOD,
    "region": Scope(PERIOD.start, PERIOD.end, regions=("华南",)),
    "tier": Scope(PERIOD.start, PERIOD.end, tiers=("lead",)),
    "allowed_last_year": Scope(date(2023, 4, 1), date(2024, 3, 1), compare="last_year",
                               allowed_regions=("华东", "华北")),
    "late": Scope(date(2024, 9, 1), date(2025, 3, 1)),  # the data ends in 2025-02: A is its last purchase day
}


def random_complaints(sales: pd.DataFrame, seed: int = 5) -> pd.DataFrame:
    """For about a third of the customers one to three complaints, half a few days after one of their purchases and
    half on any day of the data; most resolved after a gamma-distributed wait, some the same day, some never, a few
    dated before the complaint; and surveys, which are not complaints."""
    rng = np.random.default_rng(seed)
    days = sales.groupby("customer_id")["day"].apply(list)
    rows = []
    for cid, bought in days.items():
        if rng.random() < 0.35:
            for _ in range(int(rng.integers(1, 4))):
                made = (bought[int(rng.integers(len(bought)))] + timedelta(days=int(rng.integers(7)))
                        if rng.random() < 0.5 else date(2022, 6, 1) + timedelta(days=int(rng.integers(1000))))
                fate, late, early = rng.random(), int(np.ceil(rng.gamma(1.3, 6))), int(rng.integers(1, 5))
                resolved = (None if fate < 0.15 else made if fate < 0.2 else made - timedelta(days=early)
                            if fate < 0.25 else made + timedelta(days=late))
                category = None if rng.random() < 0.1 else CATEGORIES[int(rng.integers(len(CATEGORIES)))]
                rows.append((cid, made, None, None, "complaint", category, resolved))
        if rng.random() < 0.3:
            rows.append((cid, bought[-1] + timedelta(days=2), int(rng.integers(1, 6)), "csat", "survey", None, None))
    frame = pd.DataFrame(rows, columns=["customer_id", "feedback_date", "score", "scale", "feedback_kind", "category",
                                        "resolved_date"])
    frame.insert(0, "feedback_id", [f"F{k:05d}" for k in range(len(frame))])
    return frame


@pytest.fixture(scope="module", name="data")
def data_fixture():
    sales, customers = random_rows()
    return sales, customers, random_complaints(sales)


@pytest.fixture(scope="module", params=["months", "summaries"], name="con")
def con_fixture(request, tmp_path_factory, data):
    con = load(tmp_path_factory.mktemp("complaints"), *data)
    if request.param == "summaries":
        assert marts.summarize(con)
    yield con
    con.close()


class Reference:
    """The definitions on the raw rows of one scope, target T and as-of day A."""

    def __init__(self, data, scope: Scope, target: int):
        sales, customers, feedback = data
        self.raw, self.scope, self.target = Raw(sales, customers), scope, target
        self.members = self.raw.members(scope)
        self.as_of = min(scope.end_exclusive - timedelta(days=1), self.raw.end)
        c = feedback[(feedback["feedback_kind"] == "complaint") & feedback["customer_id"].isin(self.members)
                     & (feedback["feedback_date"] <= self.as_of)].copy()
        c["resolved"] = pd.to_datetime(c["resolved_date"])
        c["made"] = pd.to_datetime(c["feedback_date"])
        c["days"] = (c["resolved"] - c["made"]).dt.days
        c["invalid"] = c["resolved"] < c["made"]
        self.c = c

    def made_in(self, first: date, last: date) -> pd.DataFrame:
        return self.c[(self.c["feedback_date"] >= first) & (self.c["feedback_date"] < add_months(last, 1))]

    def open_at(self, day: date) -> pd.DataFrame:
        return self.c[(self.c["feedback_date"] <= day) & ~(self.c["resolved"] <= pd.Timestamp(day))]

    def active(self, month: date) -> int:
        b = self.raw.buys
        return b.loc[(b["day"] >= month) & (b["day"] < add_months(month, 1)) & b["customer_id"].isin(self.members),
                     "customer_id"].nunique()

    def figures(self, first: date, last: date, day: date) -> dict:
        made = self.made_in(first, last)
        active = sum(self.active(m) for m in pd.date_range(first, last, freq="MS").date)
        k = len(made)
        rate = ((1000 * k / active, 1000 * (stats.gamma.ppf(0.025, k) if k else 0.0) / active,
                 1000 * stats.gamma.ppf(0.975, k + 1) / active) if active else (np.nan,) * 3)
        due = made[~made["invalid"] & (made["made"] + pd.Timedelta(days=self.target) <= pd.Timestamp(self.as_of))]
        within = int((due["days"] <= self.target).sum())
        return dict(zip(cm.FIGURES, (k, made["customer_id"].nunique(), active, *rate, len(due), within,
                                     *shares(within, len(due)), len(self.open_at(day)), int(made["invalid"].sum())),
                        strict=True))


def close(got: dict, expected: dict) -> None:
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12, nan_ok=True), key


@pytest.mark.parametrize("target", [0, 7, 20])
@pytest.mark.parametrize("name", list(SCOPES))
def test_volume_resolution_and_open_complaints_against_the_raw_rows(con, data, name, target):
    scope = SCOPES[name]
    view = cm.complaints(con, scope, target_days=target)
    ref = Reference(data, scope, target)
    assert view.as_of == ref.as_of and view.target_days == target
    comparison = scope.comparison()
    for frame, s in ((view.monthly, scope), (view.comparison_monthly, comparison)):
        months = list(pd.date_range(s.start, s.end, freq="MS").date)
        assert frame["month"].tolist() == months
        for row, m in zip(frame.to_dict("records"), months, strict=True):
            end = add_months(m, 1) - timedelta(days=1)
            close(row, ref.figures(m, m, min(end, ref.as_of)))
            assert row["provisional"] == (end > ref.as_of)
    period = ref.figures(scope.start, scope.end, ref.as_of)
    before = ref.figures(comparison.start, comparison.end, min(comparison.end_exclusive - timedelta(days=1), ref.as_of))
    close(view.period, period)
    close(view.comparison, before)
    p = rates.test_poisson_2indep(period["complaints"], period["active"], before["complaints"], before["active"],
                            method="exact-cond").pvalue
    assert view.per_1000_p_value == pytest.approx(p, rel=1e-9)
    q = z_test(period["within_target"], period["due"], before["within_target"], before["due"])
    assert view.within_p_value == pytest.approx(np.nan if q is None else q, rel=1e-9, nan_ok=True)
    assert view.moved == {"per_1000": moved(p, period["per_1000"], before["per_1000"]),
                          "within_share": moved(q, period["within_share"], before["within_share"])}
    # the open complaints at A, by age and listed
    still = ref.open_at(ref.as_of).assign(days_open=lambda f: (pd.Timestamp(ref.as_of) - f["made"]).dt.days)
    bands = pd.cut(still["days_open"], [-1, 7, 30, 90, np.inf]).value_counts(sort=False)
    assert view.open_by_age["band"].tolist() == ["0-7", "8-30", "31-90", "91+"]
    assert view.open_by_age["complaints"].tolist() == bands.tolist()
    listed = still.sort_values(["days_open", "customer_id"], ascending=[False, True])
    assert view.open_list["customer_id"].tolist() == listed["customer_id"].tolist()
    assert view.open_list["days_open"].tolist() == listed["days_open"].tolist()
    assert view.open_list["category"].tolist() == [None if pd.isna(c) else c for c in listed["category"]]
    assert [d.date() for d in view.open_list["feedback_date"]] == listed["feedback_date"].tolist()


@pytest.mark.parametrize("name", ["period", "region", "allowed_last_year"])
def test_categories_and_days_to_resolve_against_the_raw_rows(con, data, name):
    scope = SCOPES[name]
    view = cm.complaints(con, scope)
    ref = Reference(data, scope, 7)
    made = ref.made_in(scope.start, scope.end)
    then = ref.made_in(scope.comparison().start, scope.comparison().end)
    names = set(made["category"].dropna()) | set(then["category"].dropna())
    order = sorted(names, key=lambda c: (-(made["category"] == c).sum(), c))
    order += [None] if made["category"].isna().any() or then["category"].isna().any() else []
    assert view.categories["category"].tolist() == order

    def of(frame: pd.DataFrame, category: str | None) -> pd.DataFrame:
        return frame[frame["category"].isna() if category is None else frame["category"] == category]

    a = pd.Timestamp(ref.as_of)
    for row in view.categories.to_dict("records"):
        mine = of(made, row["category"])
        due = mine[~mine["invalid"] & (mine["made"] + pd.Timedelta(days=7) <= a)]
        within = int((due["days"] <= 7).sum())
        share, low, high = shares(within, len(due))
        close(row, {"complaints": len(mine), **dict(zip(["share", "share_low", "share_high"],
                                                         shares(len(mine), len(made)), strict=True)),
                    "due": len(due), "within_target": within, "within_share": share, "within_low": low,
                    "within_high": high, "open": int((~(mine["resolved"] <= a)).sum()),
                    "compare_complaints": len(of(then, row["category"])),
                    "small": len(due) == 0 or high - low > 0.10})
    # days to resolve in bands, the open ones apart; the Kaplan–Meier curve with the open ones censored at A
    valid = made[~made["invalid"]]
    done = valid[valid["resolved"] <= a]
    bands = pd.cut(done["days"], [-1, 1, 3, 7, 14, 30, np.inf]).value_counts(sort=False).tolist()
    bands.append(len(valid) - len(done))
    assert view.resolution["band"].tolist() == ["0-1", "2-3", "4-7", "8-14", "15-30", "31+", "open"]
    assert view.resolution["complaints"].tolist() == bands
    observed = valid["resolved"] <= a
    duration = np.where(observed, valid["days"], (a - valid["made"]).dt.days)
    fit = SurvfuncRight(duration.astype(float), observed.to_numpy().astype(float))
    curve = view.time_to_resolve.curve
    np.testing.assert_allclose(curve["days"], fit.surv_times)
    np.testing.assert_allclose(curve["share_open"], fit.surv_prob, rtol=1e-9)
    below = np.flatnonzero(np.asarray(fit.surv_prob) < 0.5 - 1e-9)
    assert view.time_to_resolve.median == (fit.surv_times[below[0]] if len(below) else None)
    assert (view.time_to_resolve.complaints, view.time_to_resolve.resolved) == (len(valid), int(observed.sum()))


def retention_rows(ref: Reference, horizon: int) -> pd.DataFrame:
    """Per customer-month compared (the months whose next H months end by A): the kind (a speed, "none" for
    complaints with an invalid resolution only, "others", "no_purchase_in_month"), the band and whether retained."""
    b = ref.raw.buys[ref.raw.buys["customer_id"].isin(ref.members)]
    month = b["day"].map(lambda d: d.replace(day=1))
    c = ref.c.assign(month=ref.c["feedback_date"].map(lambda d: d.replace(day=1)))
    a = pd.Timestamp(ref.as_of)
    done = c["resolved"] <= a
    c["speed"] = np.where(c["invalid"], -1, np.where(done & (c["days"] <= ref.target), 0, np.where(done, 1, 2)))
    out = []
    for m in pd.date_range(ref.scope.start, ref.scope.end, freq="MS").date:
        if add_months(m, horizon + 1) - timedelta(days=1) > ref.as_of:
            continue
        bought = set(b.loc[month == m, "customer_id"])
        later = set(b.loc[(month > m) & (month <= add_months(m, horizon)), "customer_id"])
        year = ref.raw.year(m, ref.members)
        slowest = c[c["month"] == m].groupby("customer_id")["speed"].max()
        for cid in sorted(bought | set(slowest.index)):
            kind = ("others" if cid not in slowest.index else "no_purchase_in_month" if cid not in bought else
                    {-1: "none", 0: "within_target", 1: "after_target", 2: "open"}[slowest[cid]])
            band = int(np.searchsorted(FREQUENCY_BANDS, year.get(cid, 0), side="right")) - 1
            out.append((m, cid, kind, max(band, 0), cid in later))
    return pd.DataFrame(out, columns=["month", "customer_id", "kind", "band", "retained"])


@pytest.mark.parametrize(("name", "horizon", "target"), [("period", 3, 7), ("period", 1, 0), ("period", 6, 14),
                                                         ("region", 3, 7), ("tier", 2, 7), ("late", 3, 7)])
def test_retention_after_a_complaint_against_the_raw_rows(con, data, name, horizon, target):
    scope = SCOPES[name]
    got = cm.complaints(con, scope, target_days=target, horizon_months=horizon).retention
    ref = Reference(data, scope, target)
    rows = retention_rows(ref, horizon)
    assert got.horizon_months == horizon
    assert list(got.months) == sorted(set(rows["month"]))
    others = rows[rows["kind"] == "others"]
    per_band = others.groupby("band")["retained"].agg(["size", "sum"]).reindex(range(5), fill_value=0)
    groups = {"complained": rows[rows["kind"].isin(["within_target", "after_target", "open", "none"])],
              **{k: rows[rows["kind"] == k] for k in ("within_target", "after_target", "open", "others",
                                                       "no_purchase_in_month")}}
    table = got.table.set_index("group")
    assert list(table.index) == list(groups)
    for group, mine in groups.items():
        row = table.loc[group]
        n, k = len(mine), int(mine["retained"].sum())
        expected = {"customer_months": n, "retained": k,
                    **dict(zip(["rate", "low", "high"], shares(k, n), strict=True)),
                    "small": n == 0 or shares(k, n)[2] - shares(k, n)[1] > 0.10}
        if group in ("others", "no_purchase_in_month") or n == 0:
            expected |= dict.fromkeys(["expected", "expected_low", "expected_high", "difference", "difference_low",
                                       "difference_high", "p_value"], np.nan)
        else:
            w = mine.groupby("band").size().reindex(range(5), fill_value=0) / n
            p = per_band["sum"] / per_band["size"].where(per_band["size"] > 0)
            e = float((w * p.fillna(0)).sum())
            var_e = float((w ** 2 * p * (1 - p) / per_band["size"]).fillna(0).sum())
            diff, se = k / n - e, np.sqrt((k / n) * (1 - k / n) / n + var_e)
            z = stats.norm.ppf(0.975)
            expected |= {"expected": e, "expected_low": max(0, e - z * np.sqrt(var_e)),
                         "expected_high": min(1, e + z * np.sqrt(var_e)), "difference": diff,
                         "difference_low": diff - z * se if se else np.nan,
                         "difference_high": diff + z * se if se else np.nan,
                         "p_value": 2 * stats.norm.sf(abs(diff) / se) if se else (1.0 if diff == 0 else np.nan)}
        close(row.to_dict(), expected)
    bands = got.bands
    complained = groups["complained"].groupby("band")["retained"].agg(["size", "sum"]).reindex(range(5), fill_value=0)
    assert bands["band_from"].tolist() == list(FREQUENCY_BANDS) and bands["band_to"].tolist() == [1, 2, 5, 11, None]
    assert bands["complained"].tolist() == complained["size"].tolist()
    assert bands["complained_retained"].tolist() == complained["sum"].tolist()
    assert bands["others"].tolist() == per_band["size"].tolist()
    assert bands["others_retained"].tolist() == per_band["sum"].tolist()


def test_the_random_file_has_what_the_cases_need(con, data):
    """Invalid resolutions, complaints still open, every speed and band with customer-months, moved and unmoved."""
    view = cm.complaints(con, PERIOD)
    assert view.period["invalid"] > 0 and view.period["open"] > 0 and view.period["complaints"] > 100
    assert (view.retention.table.set_index("group")["customer_months"] > 0).all()
    assert view.categories["category"].tolist()[-1] is None


def hand_made() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Eight customers of 华东 and their complaints, worked through in the test below; a survey is not a complaint."""
    bought = {"G1": ["2024-07-03", "2024-08-10"], "G2": ["2024-07-10", "2024-10-01"],
              "G3": ["2024-07-15", "2024-08-01"], "G4": ["2024-08-05", "2024-09-09"],
              "G5": ["2024-06-20", "2024-08-20"], "G6": ["2024-09-28"], "G7": ["2024-06-01"], "G8": ["2024-03-01"]}
    sales = pd.DataFrame([(c, d, 50.0, "华东") for c, days in bought.items() for d in days],
                         columns=["customer_id", "day", "amount", "region"])
    sales.insert(0, "transaction_id", [f"H{k:02d}" for k in range(len(sales))])
    said = [("G1", "2024-07-05", "物流", "2024-07-08"), ("G2", "2024-07-20", "质量", "2024-08-15"),
            ("G4", "2024-08-06", None, None), ("G5", "2024-07-25", "物流", "2024-07-24"),  # resolved before: invalid
            ("G6", "2024-09-29", "质量", "2024-10-02"), ("G7", "2024-05-01", "服务", "2024-05-03"),
            ("G8", "2024-03-03", "服务", None)]
    feedback = pd.DataFrame([(c, d, None, None, "complaint", k, r) for c, d, k, r in said]
                            + [("G3", "2024-07-20", 4, "csat", "survey", None, None)],
                            columns=["customer_id", "feedback_date", "score", "scale", "feedback_kind", "category",
                                     "resolved_date"])
    feedback.insert(0, "feedback_id", [f"F{k}" for k in range(len(feedback))])
    return sales, feedback


def test_a_hand_made_file_gives_the_figures_worked_out_by_hand(tmp_path):
    sales, feedback = hand_made()
    con = load(tmp_path, sales, None, feedback)
    scope = Scope(date(2024, 7, 1), date(2024, 9, 1))  # against 2024-04 to 2024-06; A = 2024-09-30
    view = cm.complaints(con, scope, target_days=7, horizon_months=1)
    p, c = view.period, view.comparison
    # July: G1, G2, G5 complain (G5's resolution is dated before the complaint); August G4 (never resolved);
    # September G6 (resolved 10-02, after A). Active: 3 in July, 4 in August, 2 in September.
    assert [p[k] for k in ("complaints", "complainants", "active", "due", "within_target", "open", "invalid")] == \
        [5, 5, 9, 3, 1, 3, 1]  # due: G1, G2, G4 (G6's 7 days end after A); open at A: G4, G6 and G8's of March
    assert p["per_1000"] == pytest.approx(5000 / 9)
    assert (p["per_1000_low"], p["per_1000_high"]) == pytest.approx(
        (1000 * stats.chi2.ppf(0.025, 10) / 18, 1000 * stats.chi2.ppf(0.975, 12) / 18))
    assert [c[k] for k in ("complaints", "active", "due", "within_target", "open")] == [1, 2, 1, 1, 1]
    assert view.per_1000_p_value == pytest.approx(stats.binomtest(5, 6, 9 / 11).pvalue)
    monthly = view.monthly
    assert monthly[["active", "complaints", "due", "within_target", "open", "invalid"]].values.tolist() == \
        [[3, 3, 2, 1, 2, 1], [4, 1, 1, 0, 2, 0], [2, 1, 0, 0, 3, 0]]  # open: G8 and G2 at July's end, ...
    assert np.isnan(monthly["within_share"].iloc[2]) and not monthly["provisional"].any()
    categories = view.categories
    assert categories["category"].tolist() == ["物流", "质量", "服务", None]
    assert categories[["complaints", "due", "within_target", "open", "compare_complaints"]].values.tolist() == \
        [[2, 1, 1, 0, 0], [2, 1, 0, 1, 0], [0, 0, 0, 0, 1], [1, 1, 0, 1, 0]]
    assert categories["small"].tolist() == [True] * 4
    assert view.resolution["complaints"].tolist() == [0, 1, 0, 0, 1, 0, 2]  # G1 3 days, G2 26, G4 and G6 open
    curve = view.time_to_resolve  # G6 censored after 1 day, G4 after 55
    assert curve.curve["days"].tolist() == [3, 26]
    assert curve.curve["share_open"].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert (curve.median, curve.complaints, curve.resolved) == (26, 4, 2)
    assert view.open_by_age["complaints"].tolist() == [1, 0, 1, 1]
    assert view.open_list[["customer_id", "days_open"]].values.tolist() == [["G8", 211], ["G4", 55], ["G6", 1]]
    assert view.open_list["category"].tolist() == ["服务", None, "质量"]
    # retention in the month after: July (G1, G2 complained; G3 not; G5 complained without buying in July) and
    # August (G4 complained; G1, G3, G5 not); every complainer bought on 1 day in their year
    r = view.retention
    assert r.months == (date(2024, 7, 1), date(2024, 8, 1))
    table = r.table.set_index("group")
    assert table[["customer_months", "retained"]].values.tolist() == [[3, 2], [1, 1], [1, 0], [1, 1], [4, 1], [1, 1]]
    # the others like them (1 purchase day: G3 in July, retained) retain 1.0; all others 1 in 4
    row = table.loc["complained"]
    se = np.sqrt(2 / 27)
    assert (row["expected"], row["difference"], row["difference_low"], row["p_value"]) == pytest.approx(
        (1.0, -1 / 3, -1 / 3 - 1.959963984540054 * se, 2 * stats.norm.sf(1 / 3 / se)))
    assert table.loc["within_target", "p_value"] == 1.0 and np.isnan(table.loc["after_target", "p_value"])
    assert r.bands[["complained", "complained_retained", "others", "others_retained"]].values.tolist()[:2] == \
        [[3, 2, 1, 1], [0, 0, 3, 0]]
    slow = cm.complaints(con, scope, target_days=30, horizon_months=1)  # G2's 26 days are within 30
    assert (slow.period["due"], slow.period["within_target"]) == (3, 2)
    assert slow.retention.table.set_index("group").loc["within_target", "customer_months"] == 2


def test_a_resolution_after_the_as_of_day_is_open_whatever_the_target(tmp_path):
    """G1 complains on 08-12 and is answered on 10-04, 53 days later: within a 60-day target, but after A (09-30)."""
    sales, _ = hand_made()
    feedback = pd.DataFrame([("F0", "G1", "2024-08-12", None, None, "complaint", "物流", "2024-10-04")],
                            columns=["feedback_id", "customer_id", "feedback_date", "score", "scale", "feedback_kind",
                                     "category", "resolved_date"])
    con = load(tmp_path, sales, None, feedback)
    view = cm.complaints(con, Scope(date(2024, 7, 1), date(2024, 9, 1)), target_days=60, horizon_months=1)
    assert (view.period["due"], view.period["open"]) == (0, 1)
    table = view.retention.table.set_index("group")["customer_months"]
    assert (table["within_target"], table["open"]) == (0, 1)
    assert view.resolution.set_index("band").loc["open", "complaints"] == 1


def test_no_complaints_or_no_data_is_empty_not_an_error(tmp_path):
    sales, _ = hand_made()
    con = load(tmp_path, sales)  # no feedback file
    view = cm.complaints(con, Scope(date(2024, 7, 1), date(2024, 9, 1)), horizon_months=1)
    assert view.empty and view.period["complaints"] == 0 and view.period["active"] == 9
    assert view.time_to_resolve is None and view.open_list.empty and view.categories.empty
    assert (view.retention.table["customer_months"][:4] == 0).all() and view.retention.table["customer_months"][4] > 0
    blank = cm.complaints(connect(tmp_path / "empty.duckdb"), PERIOD)
    assert blank.empty and np.isnan(blank.period["per_1000"]) and blank.period["active"] == 0
    assert (blank.retention.table["customer_months"] == 0).all() and blank.monthly["complaints"].sum() == 0


def test_a_target_or_horizon_out_of_range_is_refused(con):
    for bad in (-1, 366, 2.5):
        with pytest.raises(ValueError, match="resolution target must be 0 to 365 whole days"):
            cm.complaints(con, PERIOD, target_days=bad)
    for bad in (0, 13, 1.5):
        with pytest.raises(ValueError, match="retention horizon must be 1 to 12 whole months"):
            cm.complaints(con, PERIOD, horizon_months=bad)
