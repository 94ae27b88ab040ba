"""The value page's view model (analytics.metrics.value) on small files imported through the real
import path, against figures computed here from the raw rows with pandas (and the models' own
formulas called on that independent summary)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from analytics.ingest.pipeline import import_file
from analytics.metrics import value_fit
from analytics.metrics.value import at_risk, default_holdout_from, value_view
from analytics.models import bgnbd, gamma_gamma
from analytics.models.bgnbd import FitError
from analytics.models.lifetime_value import ValueModel, discounted_purchases, lifetime_value
from analytics.scope import Scope
from analytics.store import settings
from analytics.store.connection import connect

REGIONS = ("华东", "华北", "华南")
FIRST, DATA_END = date(2023, 1, 1), date(2025, 2, 28)
PERIOD = Scope(date(2024, 1, 1), date(2024, 12, 1))  # as of 2024-12-31; rows after it must not count
END = pd.Timestamp("2024-12-31")


def simulate(n: int, seed: int, *, span_days: int = 540, first: date = FIRST, last: date = DATA_END,
             repeat: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A sales file (BG/NBD-like buying, gamma spend, same-day second lines, returns, a cost on some
    customers' rows) and a customers file (region, segment, acquisition cost for some)."""
    rng = np.random.default_rng(seed)
    rows, customers = [], []
    for i in range(1, n + 1):
        cid, region = f"K{i:04d}", REGIONS[rng.integers(3)]
        day = first + timedelta(days=int(rng.integers(0, span_days)))
        rate, drop, mean, margin = rng.gamma(0.9, 1 / 25), rng.beta(1.2, 3), rng.gamma(4, 50), rng.uniform(0.15, 0.5)
        k = 0
        while day <= last:
            for _ in range(1 + (rng.random() < 0.15)):  # sometimes two lines on one day
                amount = round(float(rng.gamma(6, mean / 6)) + 1, 2)
                costed = i % 3 == 1 or (i % 3 == 2 and k % 2 == 0)
                rows.append((cid, day, amount, round(amount * (1 - margin), 2) if costed else None, region))
                if rng.random() < 0.1 and day + timedelta(days=3) <= last:
                    rows.append((cid, day + timedelta(days=3), -round(amount * 0.3, 2), None, region))
                k += 1
            if not repeat or rng.random() < drop:
                break
            day += timedelta(days=1 + int(rng.exponential(1 / rate)))
        if i <= n * 5 // 6:
            customers.append((cid, region, "企业" if i % 2 else "个人",
                              round(float(rng.uniform(20, 80)), 2) if i <= n * 5 // 8 else None))
    sales = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount", "cost", "region"])
    sales.insert(0, "transaction_id", [f"T{j:05d}" for j in range(len(sales))])
    customers.append(("K9999", "华北", "企业", 50.0))  # in the customers file only: never bought
    return sales, pd.DataFrame(customers, columns=["customer_id", "region", "segment", "acquisition_cost"])


def load(tmp_path, sales: pd.DataFrame, customers: pd.DataFrame | None = None, *, cost: bool = True):
    con = connect(tmp_path / "crm.duckdb")
    if customers is not None:
        customers.to_csv(tmp_path / "customers.csv", index=False)
        assert import_file(con, tmp_path / "customers.csv", kind="customers", commit=True).rows_rejected == 0
    (sales if cost else sales.drop(columns="cost")).to_csv(tmp_path / "sales.csv", index=False)
    report = import_file(con, tmp_path / "sales.csv", kind="transactions", commit=True)
    assert (report.rows_imported, report.rows_rejected) == (len(sales), 0)
    return con


def summary(sales: pd.DataFrame, end: pd.Timestamp, holdout_end: pd.Timestamp = END) -> pd.DataFrame:
    """Per customer who bought up to ``end`` (inclusive), from the raw rows: x, t_x, T (weeks), recency,
    revenue (net of returns), mean repeat spend, margin rate of the costed rows (all of them: a customer's
    rate is theirs, the period's end limits the revenue it applies to), holdout purchase days."""
    s = sales.assign(order_date=pd.to_datetime(sales["order_date"]))
    before = s[s["order_date"] <= end]
    buys = before[before["amount"] > 0]
    days = buys.groupby(["customer_id", "order_date"], as_index=False)["amount"].sum()
    first = days.groupby("customer_id")["order_date"].agg(["min", "max", "size"])
    out = pd.DataFrame({"x": first["size"] - 1, "t_x": (first["max"] - first["min"]).dt.days / 7,
                        "T": (end - first["min"]).dt.days / 7, "recency_days": (end - first["max"]).dt.days})
    repeat = days[days["order_date"] > days["customer_id"].map(first["min"])]
    out["monetary"] = repeat.groupby("customer_id")["amount"].mean()
    out["revenue"] = before.groupby("customer_id")["amount"].sum()
    costed = s[s["cost"].notna() & s["customer_id"].isin(before["customer_id"])]
    out["costed"] = costed.groupby("customer_id")["amount"].sum()
    out["margin"] = (costed["amount"] - costed["cost"]).groupby(costed["customer_id"]).sum()
    later = s[(s["order_date"] > end) & (s["order_date"] <= holdout_end) & (s["amount"] > 0)]
    out["holdout"] = later.groupby("customer_id")["order_date"].nunique()
    out["holdout"] = out["holdout"].fillna(0)
    out["home_region"] = s.groupby("customer_id")["region"].first()  # each customer buys in one region
    return out.sort_index()


@pytest.fixture(scope="module")
def data():
    return simulate(330, seed=11)  # over 100 customers in each region: a region's view fits


@pytest.fixture(scope="module")
def con(tmp_path_factory, data):
    con = load(tmp_path_factory.mktemp("value"), *data)
    yield con
    con.close()


@pytest.fixture(scope="module")
def view(con):
    return value_view(con.cursor(), PERIOD)


@pytest.fixture(scope="module")
def reference(data):
    return summary(data[0], END)


def test_the_customer_base_and_rfm_values_match_the_raw_rows(view, reference):
    c = view.customers.set_index("customer_id")
    assert view.n_customers == len(reference) == len(c) and "K9999" not in c.index
    assert view.as_of == date(2024, 12, 31) and view.fits.problem is None
    assert c["frequency"].tolist() == (reference["x"] + 1).tolist()
    assert c["recency_days"].tolist() == reference["recency_days"].tolist()
    assert c["revenue"].to_numpy() == pytest.approx(reference["revenue"].to_numpy())
    assert c["home_region"].tolist() == reference["home_region"].tolist()
    assert view.fits.n_repeaters == int((reference["x"] > 0).sum())


def test_each_customer_margin_rate_comes_from_their_costed_rows(view, reference):
    has = reference["costed"].fillna(0) > 0
    overall = reference.loc[has, "margin"].sum() / reference.loc[has, "costed"].sum()
    expected = np.where(has, reference["margin"] / reference["costed"], overall)
    c = view.customers
    assert (view.margin_source, view.margin) == ("cost", pytest.approx(overall))
    assert 0 < (~has).sum() < has.sum()  # both kinds of customer are in the fixture
    assert c["margin_rate"].to_numpy() == pytest.approx(expected)
    assert c["historical_value"].to_numpy() == pytest.approx(expected * reference["revenue"].to_numpy())


def test_lifetime_value_is_history_plus_the_discounted_future_less_acquisition_cost(view, reference, data):
    """Future value = discounted expected purchases (lifetime_value.discounted_purchases, called on the
    summary computed here) x expected spend (gamma_gamma.expected_spend) x margin, at the fitted parameters."""
    fits, c = view.fits, view.customers
    independent = bgnbd.fit_bgnbd(reference["x"].to_numpy(), reference["t_x"].to_numpy(), reference["T"].to_numpy())
    assert fits.bgnbd.params == pytest.approx(independent.params, rel=1e-4)
    spend_fit = gamma_gamma.fit_gamma_gamma(reference["x"].to_numpy(), reference["monetary"].to_numpy())
    assert fits.gamma_gamma.params == pytest.approx(spend_fit.params, rel=1e-4)
    x, t_x, T = (reference[k].to_numpy() for k in ("x", "t_x", "T"))
    purchases = discounted_purchases(fits.bgnbd.params, x, t_x, T, horizon_months=12, discount_rate=0.10)
    spend = gamma_gamma.expected_spend(fits.gamma_gamma.params, x, reference["monetary"].to_numpy())
    future = purchases * spend * c["margin_rate"].to_numpy()
    acquisition = data[1].set_index("customer_id")["acquisition_cost"].reindex(reference.index).fillna(0).to_numpy()
    assert view.acquisition_customers == int((acquisition > 0).sum()) > 0
    assert c["future_value"].to_numpy() == pytest.approx(future, rel=1e-6)
    clv = c["historical_value"].to_numpy() + future - acquisition
    assert c["clv"].to_numpy() == pytest.approx(clv, rel=1e-6, abs=1e-6)
    assert view.total.point == pytest.approx(clv.sum(), rel=1e-6)
    assert view.total_future.point == pytest.approx(future.sum(), rel=1e-6)
    assert c["expected_purchases"].to_numpy() == pytest.approx(
        bgnbd.expected_purchases(fits.bgnbd.params, 52, x, t_x, T), rel=1e-6)
    assert c["p_alive"].to_numpy() == pytest.approx(bgnbd.probability_alive(fits.bgnbd.params, x, t_x, T))
    assert "clv_low" not in c  # drawn for the customers shown only
    c = view.with_intervals(c)
    assert list(c.columns[c.columns.get_loc("clv"):][:3]) == ["clv", "clv_low", "clv_high"]
    assert (c["clv_low"] <= c["clv"] + 1e-9).all() and (c["clv"] <= c["clv_high"] + 1e-9).all()
    assert (c["clv_high"] > c["clv_low"]).any()
    some = view.with_intervals(view.customers.iloc[[5, 2, 40]])  # any rows, in any order: the same intervals
    assert some["clv_low"].to_numpy() == pytest.approx(c["clv_low"].to_numpy()[[5, 2, 40]], rel=1e-12)
    for interval in (view.total, view.total_future):
        assert interval.low < interval.point < interval.high


def test_totals_by_region_add_up_to_the_total_and_to_their_customers(view, reference):
    regions = view.by_group["home_region"].set_index("group")
    c = view.customers.assign(region=reference["home_region"].to_numpy())
    assert regions["clv"].sum() == pytest.approx(view.total.point)
    assert regions["future"].sum() == pytest.approx(view.total_future.point)
    assert regions["customers"].to_dict() == c.groupby("region").size().to_dict()
    assert regions["clv"].to_dict() == pytest.approx(c.groupby("region")["clv"].sum().to_dict())
    assert (regions["clv_low"] < regions["clv"]).all() and (regions["clv"] < regions["clv_high"]).all()
    assert regions["clv_per_customer"].to_numpy() == pytest.approx((regions["clv"] / regions["customers"]).to_numpy())
    for name in ("segment", "rfm_segment"):
        assert view.by_group[name]["clv"].sum() == pytest.approx(view.total.point)
    assert view.by_group["rfm_segment"].set_index("group")["customers"].to_dict() == \
        view.customers.groupby("rfm_segment").size().to_dict()


def test_margin_option_overrides_the_cost_data(con, view):
    other = value_view(con.cursor(), PERIOD, margin=0.2)
    assert (other.margin_source, other.margin) == ("option", 0.2)
    assert other.customers["margin_rate"].eq(0.2).all()
    assert other.customers["historical_value"].to_numpy() == pytest.approx(0.2 * view.customers["revenue"].to_numpy())
    assert other.total_future.point == pytest.approx(
        (view.customers["future_value"] / view.customers["margin_rate"] * 0.2).sum(), rel=1e-6)


@pytest.mark.parametrize(("first", "end", "expected"), [
    (date(2024, 1, 15), date(2024, 12, 1), date(2024, 10, 1)),  # 12 months: 3 held
    (date(2023, 1, 5), date(2024, 6, 1), date(2024, 2, 1)),  # 18 months: 4.5, rounded up to 5
    (date(2024, 1, 31), date(2024, 10, 1), date(2024, 8, 1)),  # 10 months: 2.5 -> 3
    (date(2024, 1, 1), date(2024, 6, 1), date(2024, 5, 1)),  # 6 months: 1.5 -> 2
    (date(2024, 1, 1), date(2024, 4, 1), date(2024, 4, 1)),  # 4 months: 1 held, 3 left
    (date(2024, 1, 1), date(2024, 3, 1), None),  # 3 months: 1 held leaves 2 (< 3)
])
def test_the_default_holdout_is_the_last_quarter_of_the_months_with_data(first, end, expected):
    assert default_holdout_from(first, Scope(end, end)) == expected


def test_the_holdout_check_against_purchase_days_counted_from_the_raw_rows(view, data):
    sales = data[0]
    first_month = pd.Period(pd.to_datetime(sales["order_date"]).min(), "M")
    months = (pd.Period("2024-12", "M") - first_month).n + 1
    held = max(1, int(months / 4 + 0.5))  # a quarter, rounded half up
    h = view.holdout
    assert (h.cutoff, h.end, h.months) == ((pd.Period("2025-01", "M") - held).to_timestamp().date(),
                                           date(2024, 12, 31), held)
    cutoff = pd.Timestamp(h.cutoff)
    calibration = summary(sales, cutoff - pd.Timedelta(days=1))
    group = np.minimum(calibration["x"], 7)
    actual = calibration["holdout"].groupby(group).sum().reindex(range(8), fill_value=0)
    counts = group.value_counts().reindex(range(8), fill_value=0)
    weeks = (END + pd.Timedelta(days=1) - cutoff).days / 7
    predicted = pd.Series(bgnbd.expected_purchases(h.fits.bgnbd.params, weeks, calibration["x"].to_numpy(),
                                                   calibration["t_x"].to_numpy(), calibration["T"].to_numpy()),
                          index=calibration.index).groupby(group).sum().reindex(range(8), fill_value=0)
    refit = bgnbd.fit_bgnbd(*(calibration[k].to_numpy() for k in ("x", "t_x", "T")))
    assert h.fits.bgnbd.params == pytest.approx(refit.params, rel=1e-4)
    table = h.table.set_index("frequency")
    assert table.index.tolist() == list(range(8))
    assert table["customers"].tolist() == counts.tolist()
    assert table["actual_total"].tolist() == actual.tolist() and actual.sum() > 0
    assert table["predicted_total"].to_numpy() == pytest.approx(predicted.to_numpy())
    with np.errstate(invalid="ignore"):
        assert table["actual"].to_numpy() == pytest.approx((actual / counts).to_numpy(), nan_ok=True)
    assert (h.actual, h.predicted) == (actual.sum(), pytest.approx(predicted.sum()))
    assert h.error == pytest.approx((predicted - actual).abs().sum() / actual.sum())


@pytest.mark.parametrize(("month", "problem"), [(date(2023, 3, 1), "before_data"), (date(2025, 1, 1), "after_period")])
def test_a_holdout_before_the_data_or_after_the_period_is_refused(con, month, problem):
    view = value_view(con.cursor(), PERIOD, holdout_from=month)
    assert (view.holdout, view.holdout_problem) == (None, problem)
    assert view.total is not None  # the rest of the page is unaffected


def test_a_chosen_holdout_month_is_used(con):
    view = value_view(con.cursor(), PERIOD, holdout_from=date(2024, 12, 17))
    assert (view.holdout.cutoff, view.holdout.months, view.holdout_problem) == (date(2024, 12, 1), 1, None)


def test_at_risk_ranks_active_customers_by_value_at_risk(view, reference):
    c = view.customers
    p, future = c["p_alive"].to_numpy(), c["future_value"].to_numpy()
    assert c["value_at_risk"].to_numpy() == pytest.approx((1 - p) * np.maximum(future, 0) / p)
    ranked = at_risk(c, view.active_days, None)
    active = reference.index[reference["recency_days"] <= view.active_days]
    assert sorted(ranked["customer_id"]) == sorted(active) and 0 < len(active) < len(reference)
    values, ids = ranked["value_at_risk"].to_numpy(), ranked["customer_id"].to_numpy()
    assert np.all(np.diff(values) <= 0)
    assert at_risk(c, view.active_days, 5)["customer_id"].tolist() == ids[:5].tolist()


def test_at_risk_breaks_ties_by_customer_id_and_needs_the_models():
    frame = pd.DataFrame({"customer_id": ["C", "A", "D", "B", "E"], "recency_days": [10, 20, 30, 181, 5],
                          "p_alive": [0.5, 0.5, 1.0, 0.1, 0.9], "value_at_risk": [7.0, 7.0, 0.0, 99.0, 8.0]})
    assert at_risk(frame, 180, None)["customer_id"].tolist() == ["E", "A", "C", "D"]  # B is not active
    assert at_risk(frame, 180, 2)["customer_id"].tolist() == ["E", "A"]
    assert at_risk(frame.drop(columns="p_alive"), 180).empty


def test_a_region_filter_or_a_managers_regions_keep_only_those_customers(con, reference):
    for scope in (Scope(PERIOD.start, PERIOD.end, regions=("华北",)),
                  Scope(PERIOD.start, PERIOD.end, allowed_regions=("华北",))):
        view = value_view(con.cursor(), scope)
        expected = reference.index[reference["home_region"] == "华北"].tolist()
        assert view.customers["customer_id"].tolist() == expected and view.n_customers == len(expected)
        assert view.by_group["home_region"]["group"].tolist() == ["华北"]
    tampered = value_view(con.cursor(), Scope(PERIOD.start, PERIOD.end, regions=("华东",), allowed_regions=("华北",)))
    assert tampered.n_customers == 0 and tampered.total is None and tampered.segments["customers"].sum() == 0
    assert (tampered.fits.problem, tampered.holdout_problem) == ("too_few_customers", "too_few_customers")


def test_another_horizon_reuses_the_fit_and_new_data_refits(tmp_path, data, monkeypatch):
    from analytics.metrics import value as value_module

    built = []
    monkeypatch.setattr(value_module, "ValueModel", lambda *a, **k: built.append(1) or ValueModel(*a, **k))
    con = load(tmp_path, *data)
    first = value_view(con.cursor(), PERIOD)
    fits = value_fit.fit_count
    longer = value_view(con.cursor(), PERIOD, horizon_months=24)
    assert value_fit.fit_count == fits and longer.fits is first.fits
    assert longer.total.point > first.total.point and longer.horizon_months == 24
    # a horizon, discount rate or margin of its own reuses the kept model (its draws summed by month) and gives
    # what a model built for that setting alone gives
    other = value_view(con.cursor(), PERIOD, horizon_months=30, discount_rate=0.04, margin=0.35)
    assert len(built) == 1
    c = first.customers
    alone = lifetime_value(first.fits.bgnbd, first.fits.gamma_gamma, *(c_ for c_ in summary(data[0], END)[
        ["x", "t_x", "T", "monetary"]].reindex(c["customer_id"]).to_numpy().T), margin=0.35,
        historical_value=0.35 * c["revenue"].to_numpy(), acquisition_cost=c["acquisition_cost"].to_numpy(),
        horizon_months=30, discount_rate=0.04, level=value_module.LEVEL,
        groups={"region": c["home_region"].fillna("").to_numpy(dtype=object)})
    for got, expected in ((other.total, alone.total), (other.total_future, alone.total_future)):
        assert (got.point, got.low, got.high) == pytest.approx((expected.point, expected.low, expected.high), rel=1e-8)
    assert other.customers["clv"].to_numpy() == pytest.approx(alone.clv, rel=1e-8)
    regions = other.by_group["home_region"].set_index("group")
    mine = pd.DataFrame({"low": alone.by_group["region"].clv_low}, index=alone.by_group["region"].labels)
    assert regions["clv_low"].to_numpy() == pytest.approx(mine["low"].reindex(regions.index).to_numpy(), rel=1e-8)
    rows = [0, 7, 99]
    assert other.with_intervals(other.customers.iloc[rows])["clv_high"].to_numpy() == pytest.approx(
        alone.clv_high[rows], rel=1e-8)
    again = value_view(con.cursor(), PERIOD)
    assert value_fit.fit_count == fits and again.total == first.total
    more = pd.DataFrame([("N1", "K0001", "2024-11-20", 90.0, None, "华东")], columns=data[0].columns)
    more.to_csv(tmp_path / "more.csv", index=False)
    assert import_file(con, tmp_path / "more.csv", kind="transactions", commit=True).rows_imported == 1
    value_view(con.cursor(), PERIOD)
    assert value_fit.fit_count > fits
    con.close()


def test_without_cost_data_the_gross_margin_setting_applies(tmp_path, data):
    con = load(tmp_path, data[0], cost=False)
    settings.save(con, {"gross_margin": 0.25})
    view = value_view(con.cursor(), PERIOD)
    assert (view.margin_source, view.margin, view.acquisition_customers) == ("setting", 0.25, 0)
    assert view.customers["historical_value"].to_numpy() == pytest.approx(0.25 * view.customers["revenue"].to_numpy())
    assert (view.customers["clv"] >= view.customers["historical_value"]).all()  # no acquisition cost
    con.close()


@pytest.mark.parametrize(("n", "span", "first", "repeat", "problem"), [
    (60, 400, FIRST, True, "too_few_customers"),
    (150, 40, date(2024, 11, 1), True, "too_short"),
    (150, 500, FIRST, False, "too_few_repeaters"),
])
def test_data_the_models_cannot_fit_names_the_problem_and_keeps_rfm(tmp_path, n, span, first, repeat, problem):
    sales, customers = simulate(n, seed=5, span_days=span, first=first, last=date(2024, 12, 31), repeat=repeat)
    con = load(tmp_path, sales, customers)
    view = value_view(con.cursor(), PERIOD)
    reference = summary(sales, END)
    assert view.fits.problem == problem and view.total is None and view.by_group == {}
    assert view.n_customers == len(reference) and "clv" not in view.customers
    assert view.segments["customers"].sum() == len(reference)
    assert view.customers[["r", "f", "m"]].isin(range(1, 6)).all().all()
    assert view.holdout is None and view.holdout_problem == problem
    assert at_risk(view.customers, view.active_days).empty
    con.close()


def test_lifetime_values_without_an_interval_name_the_problem_and_keep_the_rest(con, monkeypatch):
    """When too few parameter draws stay within the models' bounds, lifetime_value refuses (FitError): the
    view then names the problem (interval_failed, with the model's words) instead of failing the page."""
    from analytics.metrics import value as value_module

    def refuse(*args, **kwargs):
        raise FitError("Too few parameter draws meet the model's bounds")

    monkeypatch.setattr(value_module, "ValueModel", refuse)
    view = value_view(con.cursor(), PERIOD, horizon_months=7)
    assert view.fits.problem == "interval_failed" and "Too few parameter draws" in view.fits.detail
    assert view.total is None and "clv" not in view.customers and view.segments["customers"].sum() == view.n_customers


def test_a_copy_of_the_view_keeps_its_lists_and_leaves_the_model_behind(view):
    """The app's cache pickles the view: the copy has the customers, totals and the two lists with their
    intervals, not the lifetime-value model (hundreds of megabytes at a million customers)."""
    import pickle

    copy = pickle.loads(pickle.dumps(view))
    assert copy.values is None and view.values is not None
    assert len(pickle.dumps(view)) < 2 * len(pickle.dumps(view.customers)) + 200_000
    pd.testing.assert_frame_equal(copy.top_by_clv(10), view.top_by_clv(10))
    pd.testing.assert_frame_equal(copy.at_risk(10), view.at_risk(10))
    assert {"clv_low", "clv_high"} <= set(copy.top_by_clv(10).columns)
    # the lists are what the model draws for those customers
    pd.testing.assert_frame_equal(view.top_by_clv(10), view.with_intervals(view.customers.loc[
        view.top_by_clv(10).index]))
    # each listed customer's interval is their own (the lists keep the customers' rows)
    for listed in (view.at_risk(20), view.top_by_clv(20)):
        own = view.with_intervals(view.customers[view.customers["customer_id"].isin(listed["customer_id"])])
        own = own.set_index("customer_id").loc[listed["customer_id"]]
        assert listed["clv_low"].to_numpy() == pytest.approx(own["clv_low"].to_numpy(), rel=1e-12)
        assert listed["clv_high"].to_numpy() == pytest.approx(own["clv_high"].to_numpy(), rel=1e-12)
    with pytest.raises(RuntimeError, match="no lifetime-value model"):
        copy.with_intervals(copy.customers.head(3))
    assert len(view.top_by_clv(200)) == min(200, view.n_customers)  # beyond the listed: drawn when asked
