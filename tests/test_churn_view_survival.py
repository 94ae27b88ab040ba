"""The churn view's lifetimes, survival curves, Cox drivers and at-risk list (analytics.metrics.churn_view) and
``report churn``, on seeded files imported through the real import path: the curves and log-rank tests against
statsmodels on one row per customer (durations computed here day by day from the raw rows), the Cox model on a world
where leaving follows a known proportional-hazards effect, its feedback covariates against the feedback file's rows
read here, its hash sample, the at-risk list's as-of day, and the CLI's JSON against the view. The random sales and
the day-by-day reference: tests/test_churn_view.py."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.survfunc import SurvfuncRight, survdiff
from test_churn_view import GROUPINGS, MID, PERIOD, Reference, attributes, load, random_rows, view_of

from analytics.metrics import churn_drivers
from analytics.metrics.churn_view import churn_view
from analytics.paths import PROJECT_ROOT

END = date(2024, 12, 31)


@pytest.fixture(scope="module")
def data():
    sales, customers = random_rows()
    return sales, customers, attributes(sales, customers)


@pytest.fixture(scope="module")
def con(tmp_path_factory, data):
    con = load(tmp_path_factory.mktemp("churn_survival"), data[0], data[1])
    yield con
    con.close()


@pytest.fixture(scope="module")
def views():
    """``view_of`` once per database and options (the same options in the same order): the databases are read-only
    and the tests only read the views."""
    return functools.cache(view_of)


@pytest.mark.parametrize(("as_of", "window"), [(None, None), (MID, 60)])
def test_the_curves_are_kaplan_meier_on_one_row_per_customer(con, data, views, as_of, window):
    view = views(con, as_of=as_of, window_days=window)
    life = Reference(data[0], view.definition.as_of, view.definition.window).lifetimes()
    life = life.join(data[2], on="customer_id")
    assert set(view.survival) == {"all", *GROUPINGS} and view.survival["all"].log_rank is None
    for key, survival in view.survival.items():
        column = pd.Series(None, index=life.index, dtype=object) if key == "all" else life[key]
        labels = sorted(column.dropna().unique()) + ([None] if column.isna().any() else [])  # None: no group
        assert [c.group for c in survival.curves] == labels
        column = column.fillna("(none)")
        for curve in survival.curves:
            members = life[column == ("(none)" if curve.group is None else curve.group)]
            fit = SurvfuncRight(members["duration"].to_numpy(float), members["observed"].to_numpy(float))
            np.testing.assert_array_equal(curve.times, fit.surv_times)
            np.testing.assert_allclose(curve.survival, fit.surv_prob, rtol=1e-12)
            np.testing.assert_array_equal(curve.at_risk, fit.n_risk)
            np.testing.assert_array_equal(curve.events, fit.n_events)
            assert (curve.n, curve.n_events) == (len(members), members["observed"].sum())
            median = fit.quantile(0.5)
            assert curve.median.value == (None if np.isnan(median) else median), (key, curve.group)
            step = np.searchsorted(fit.surv_times, 365, side="right") - 1
            at_365 = None if members["duration"].max() < 365 else 1.0 if step < 0 else fit.surv_prob[step]
            assert curve.survival_at_horizon.value == pytest.approx(at_365, rel=1e-12)
        if key != "all":
            statistic, p = survdiff(life["duration"], life["observed"].astype(int), column)
            assert (survival.log_rank.statistic, survival.log_rank.p_value) == pytest.approx((statistic, p), rel=1e-8)
            assert survival.log_rank.df == len(labels) - 1
    assert view.survival["all"].curves[0].n_events == view.churned and life["duration"].min() >= 0


def test_drivers_are_fitted_with_a_partial_customers_file(con, views):
    """Customers missing from the customers file lack segment and channel alike: the channel's missing level is
    the segment's customers, estimated once (under segment) and named as left out."""
    view = views(con, as_of=None, window_days=None)
    assert view.cox_problem is None, view.cox_problem
    assert any(x.reason == "same_customers" and x.column == "acquisition_channel" and x.level is None
               for x in view.cox.left_out)


def lifetimes_world(n: int, seed: int, feedback: bool) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Customers who buy every 7 to 21 days from their first purchase (2023-01 to 2024-09) for an exponential
    lifetime, mean 300 days for 企业 and 150 for 个人 (hazard ratio 2), region and channel at random; with
    ``feedback``, for some one complaint (resolved or not) and one CSAT survey, unrelated to leaving."""
    rng = np.random.default_rng(seed)
    sales, customers, said = [], [], []
    for i in range(n):
        cid, segment = f"K{i:04d}", "个人" if i % 5 < 2 else "企业"
        customers.append((cid, ("华东", "华北", "华南")[int(rng.integers(3))], segment,
                          ("线上", "门店", "推荐")[int(rng.integers(3))]))
        first = date(2023, 1, 1) + timedelta(days=int(rng.integers(640)))
        day, end = first, first + timedelta(days=float(rng.exponential(150 if segment == "个人" else 300)))
        while day <= min(end, END):
            sales.append((cid, day, float(rng.integers(20, 400)), "华东"))
            day += timedelta(days=int(rng.integers(7, 22)))
        if rng.random() < 0.3:
            when = first + timedelta(days=int(rng.integers(200)))
            solved = when + timedelta(days=int(rng.integers(1, 30))) if rng.random() < 0.6 else None
            said.append((cid, when, None, "complaint", None, solved))
        if rng.random() < 0.5:
            said.append((cid, first + timedelta(days=int(rng.integers(200))), int(rng.integers(1, 6)), "survey", "csat",
                         None))
    frame = pd.DataFrame(sales, columns=["customer_id", "day", "amount", "region"])
    frame.insert(0, "transaction_id", [f"T{k:06d}" for k in range(len(frame))])
    notes = pd.DataFrame(said, columns=["customer_id", "feedback_date", "score", "feedback_kind", "scale",
                                        "resolved_date"])
    notes.insert(0, "feedback_id", [f"F{k:05d}" for k in range(len(notes))])
    return frame, pd.DataFrame(customers, columns=["customer_id", "region", "segment", "acquisition_channel"]), \
        (notes if feedback else None)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    sales, customers, feedback = lifetimes_world(3000, 3, feedback=True)
    con = load(tmp_path_factory.mktemp("churn_cox"), sales, customers, feedback)
    yield con, sales, customers, feedback
    con.close()


def test_the_cox_model_finds_the_known_hazard_ratio(world, views):
    view = views(world[0], window_days=30)
    assert view.cox_problem is None and (view.cox_customers, view.cox_population, view.cox.n) == (3000, 3000, 3000)
    terms = {(t.column, t.level): t for t in view.cox.terms}
    term = terms["segment", "个人"]
    # 个人 leave twice as fast: about 2,200 leavers give a standard error of 0.045 on the log scale; the lifetime
    # ends at the last purchase (up to 21 days before leaving): tolerance 0.15 on the log scale (1.72 to 2.32)
    assert (term.reference, term.customers) == ("企业", 1200) and abs(np.log(term.hazard_ratio / 2)) < 0.15
    # nothing else goes with leaving, feedback included (counted from when it was given, no immortal time)
    others = [t for t in view.cox.terms if t.column != "segment"]
    assert {t.column for t in others} == {"home_region", "acquisition_channel", "first_order_value", "complaints",
                                          "unresolved_complaint", "satisfaction"}
    assert all(abs(np.log(t.hazard_ratio)) < 0.3 for t in others), [(t.column, t.hazard_ratio) for t in others]


def test_feedback_enters_from_when_it_was_given_within_the_customers_life(world, views):
    con, sales, _, feedback = world
    view = views(con, window_days=30)
    life = Reference(sales, END, 30).lifetimes().set_index("customer_id")
    first = sales.groupby("customer_id")["day"].min()
    said = feedback[feedback["feedback_date"] <= END]
    said = said.assign(day=[(d - first[c]).days for c, d in zip(said["customer_id"], said["feedback_date"],
                                                                strict=True)])
    said = said[said["day"] <= said["customer_id"].map(life["duration"])]  # given before the lifetime ends
    assert not said.duplicated(["customer_id", "feedback_kind"]).any()
    terms = {(t.column, t.level): t for t in view.cox.terms}
    surveys = said[said["feedback_kind"] == "survey"]
    bands = pd.cut(surveys["score"], [0, 2, 3, 5], labels=["1-2", "3", "4-5"])
    for band in ("1-2", "3", "4-5"):  # one survey each: customers with the band, leavers still in it at the end
        who = surveys.loc[bands == band, "customer_id"]
        assert (terms["satisfaction", band].customers, terms["satisfaction", band].events) == (
            len(who), life.loc[who, "observed"].sum()), band
    complaints = said[said["feedback_kind"] == "complaint"]  # one complaint each; open from it to its resolution
    solved = [(r - first[c]).days if pd.notna(r) and r <= END else np.inf
              for c, r in zip(complaints["customer_id"], complaints["resolved_date"], strict=True)]
    open_at_end = complaints.loc[np.array(solved) > complaints["customer_id"].map(life["duration"]), "customer_id"]
    assert (terms["unresolved_complaint", "yes"].customers, terms["unresolved_complaint", "yes"].events) == (
        len(complaints), life.loc[open_at_end, "observed"].sum())
    assert view.cox.events == life["observed"].sum() and terms["complaints", None].customers == len(life)


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    sales, customers, _ = lifetimes_world(600, 8, feedback=False)  # no feedback file at all
    con = load(tmp_path_factory.mktemp("churn_cox_small"), sales, customers)
    yield con
    con.close()


def test_absent_feedback_is_left_out_not_a_crash(small_world, views):
    view = views(small_world, window_days=60)
    assert view.cox_problem is None
    left = {(x.column, x.reason) for x in view.cox.left_out if x.level is None}
    assert left == {("complaints", "no_variation"), ("unresolved_complaint", "no_variation"),
                    ("satisfaction", "all_missing")}


def test_up_to_cox_sample_customers_the_model_takes_them_all(small_world, views):
    view = views(small_world, window_days=60)
    assert (view.cox_customers, view.cox_population, view.cox.n) == (600, 600, 600) <= (churn_drivers.COX_SAMPLE,) * 3


def test_the_cox_sample_is_a_fixed_hash_sample(small_world, views, monkeypatch):
    whole = views(small_world, window_days=60)  # (COX_SAMPLE as it is: every customer)
    monkeypatch.setattr(churn_drivers, "COX_SAMPLE", 250)
    # (at commit 6f7f7f4 this raised ValueError: pd.util.hash_array refuses numpy's fixed-width text array)
    first, again = view_of(small_world, window_days=60), view_of(small_world, window_days=60)
    assert (first.cox_customers, first.cox_population, first.cox.n) == (250, 600, 250)
    assert [(t.level, t.customers, t.events) for t in first.cox.terms] == [  # the same customers, the same fit
        (t.level, t.customers, t.events) for t in again.cox.terms]
    ratios = [t.hazard_ratio for t in first.cox.terms]
    assert ratios == pytest.approx([t.hazard_ratio for t in again.cox.terms], rel=1e-9)
    assert ratios != pytest.approx([t.hazard_ratio for t in whole.cox.terms], rel=1e-3)  # not the whole fit


def buy_till_you_die(n: int = 1500, seed: int = 1) -> pd.DataFrame:
    """Customers buying at their own rate until they drop out after a purchase (the BG/NBD world the value
    models fit), from 2023-01 to the end of 2024."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        rate, dropout = rng.gamma(2.0, 1 / 60), rng.beta(1.0, 6.0)
        day = date(2023, 1, 1) + timedelta(days=int(rng.integers(500)))
        while day <= END:
            rows.append((f"B{i:04d}", day, float(rng.integers(20, 300)), "华东"))
            if rng.random() < dropout:
                break
            day += timedelta(days=1 + int(rng.exponential(1 / rate)))
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "amount", "region"])
    return frame.assign(transaction_id=[f"T{k:05d}" for k in range(len(frame))])


def test_the_at_risk_list_does_not_see_purchases_after_the_as_of_day(tmp_path):
    sales = buy_till_you_die()
    (tmp_path / "full").mkdir(), (tmp_path / "cut").mkdir()
    full, cut = load(tmp_path / "full", sales), load(tmp_path / "cut", sales[sales["day"] <= MID])
    risks = [churn_view(c, PERIOD, window_days=90, as_of=MID).at_risk for c in (full, cut)]
    listed = [r.customers for r in risks]
    assert len(listed[1]) > 0
    assert listed[0]["customer_id"].tolist() == listed[1]["customer_id"].tolist()
    # as of the month end before the as-of day (the value models work to a month's end)
    month_end = MID.replace(day=1) - timedelta(days=1)
    assert risks[0].as_of == risks[1].as_of == month_end
    last = sales[sales["day"] <= month_end].groupby("customer_id")["day"].max()
    assert (listed[0]["recency_days"] == [(month_end - last[c]).days for c in listed[0]["customer_id"]]).all()


@pytest.fixture(scope="module")
def cli(tmp_path_factory, data, con, views):
    """``report churn --json`` run as a user would, and the view of the same rows (``con``: imported alike), window
    and day."""
    folder = tmp_path_factory.mktemp("churn_cli")
    load(folder, data[0], data[1]).close()
    done = subprocess.run([sys.executable, "-m", "analytics", "--db", str(folder / "crm.duckdb"), "report", "churn",
                           "--json", "--window-days", "60", "--as-of", MID.isoformat(), "--from", "2024-01", "--to",
                           "2024-12"], cwd=PROJECT_ROOT, text=True, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), views(con, as_of=MID, window_days=60)  # (churn_view without the at-risk list)


def test_the_cli_report_is_json_and_says_what_the_view_says(cli):
    got, view = cli
    assert got["definition"] == {"window_days": 60, "window_source": "option", "as_of_source": "option",
                                 "default_window_days": view.definition.default_window, "gap_share": 0.9,
                                 "as_of": "2024-08-15"}
    assert (got["customers"], got["active"], got["churned"]) == (view.n_customers, view.active, view.churned)
    assert list(got["churn_rate"].values()) == pytest.approx(list(view.period_rate), rel=1e-12)
    assert [m["churned"] for m in got["monthly"]] == view.monthly["churned"].tolist()
    assert got["monthly"][-1]["month"] == "2024-08-01" and got["monthly"][-1]["provisional"]
    for grouping in GROUPINGS:
        assert [g["rate"] for g in got["by_group"][grouping]] == pytest.approx(
            view.by_group[grouping]["rate"].tolist(), rel=1e-12)
    assert [s["rate"] for s in got["window_sensitivity"]] == pytest.approx(view.sensitivity["rate"].tolist())
    assert got["survival"]["all"]["groups"][0]["median_days"]["value"] == view.survival["all"].curves[0].median.value
    assert got["win_back"]["customers"] == len(view.win_back) and got["cox"]["population"] == view.cox_population
    assert got["win_back"]["revenue"] == pytest.approx(view.win_back["revenue"].sum())


def test_the_reports_comparison_is_the_one_compared_with(cli):
    got, _ = cli
    months = [m["month"][:7] for m in got["comparison_monthly"]]
    assert (months[0], months[-1]) == (got["comparison"]["start"], got["comparison"]["end"])
