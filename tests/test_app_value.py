"""The customer value page (pages/value.py) through Streamlit's AppTest.

The app reads a database built from a seeded synthetic sales file and customers file (imported
through the real pipeline): 240 customers in three regions (half of them in 华北) over two years, enough for the models
to fit. What the page shows is checked against independent computations from the raw rows:
customers and RFM segment counts with pandas (the stated quintile rule and the R x F grid), the
model parameters refitted on a pandas summary of the raw rows; the CLV totals against
:func:`analytics.metrics.value.value_view` (``tests/test_models_lifetime_value.py`` checks those
by hand). Also: the page's options in the address, a database too small for the models, a sales
manager who sees only their region, and the demo data in both languages.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from app_util import NORTH_MANAGER, open_app, spy_downloads
from streamlit.testing.v1 import AppTest

from analytics import scope as gate
from analytics.ingest.demo import load_demo
from analytics.ingest.pipeline import import_file
from analytics.metrics import rfm, value
from analytics.models.bgnbd import fit_bgnbd
from analytics.models.gamma_gamma import fit_gamma_gamma
from analytics.store.connection import connect
from ui.dates import fmt_date
from ui.formats import fmt_int, fmt_money, fmt_pct
from ui.i18n import LANGUAGES, md_literal, t

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
AS_OF = date(2024, 12, 31)  # the last sale: the default period ends in Dec 2024
REGIONS = ("华北", "华东", "华北", "华南")  # by customer number: half the customers in 华北
ACCESS = NORTH_MANAGER


def sales(n_customers: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded customers who each buy at their own rate until they drop out, each with their own chance
    of dropping out after a purchase (a BG/NBD-like world: with one chance for all, the fit's a and b
    run off to infinity)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_customers):
        customer = f"K{i:04d}"
        day = date(2023, 1, 1) + timedelta(days=int(rng.integers(0, 540)))
        gap, spend, dropout = rng.gamma(2.0, 25.0), rng.gamma(4.0, 30.0), rng.beta(2.0, 12.0)
        while day <= AS_OF:
            for line in range(1 + int(rng.random() < 0.1)):  # now and then two orders on one day
                rows.append((f"T{len(rows):06d}", customer, day.isoformat(), round(spend * rng.gamma(5, 0.2), 2),
                             REGIONS[i % 4], "门店" if line else "天猫"))
            if rng.random() < dropout:
                break
            day += timedelta(days=1 + int(rng.exponential(gap)))
    rows.append(("T999999", "K0000", AS_OF.isoformat(), 50.0, REGIONS[0], "门店"))
    tx = pd.DataFrame(rows, columns=["transaction_id", "customer_id", "order_date", "amount", "region", "channel"])
    customers = pd.DataFrame({"customer_id": [f"K{i:04d}" for i in range(n_customers)],
                              "customer_name": [f"客户{i:04d}" for i in range(n_customers)],
                              "region": [REGIONS[i % 4] for i in range(n_customers)],
                              "segment": ["企业" if i % 4 == 0 else "个人" for i in range(n_customers)]})
    return tx, customers


def build(folder: Path, n_customers: int, seed: int = 11) -> tuple[Path, pd.DataFrame]:
    """A database of ``n_customers`` (closed again, for the app to open) and its raw sales rows."""
    tx, customers = sales(n_customers, seed)
    tx.to_csv(folder / "sales.csv", index=False)
    customers.to_csv(folder / "customers.csv", index=False)
    con = connect(folder / "crm.duckdb")
    try:
        import_file(con, folder / "customers.csv", commit=True, kind="customers")
        report = import_file(con, folder / "sales.csv", commit=True, kind="transactions")
        assert (report.rows_imported, report.rows_rejected) == (len(tx), 0)
    finally:
        con.close()
    return folder / "crm.duckdb", tx


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    return build(tmp_path_factory.mktemp("app_value"), 240)


@functools.cache  # (each database is read-only once built, and the tests only read the view)
def expected_view(path: Path, allowed: tuple[str, ...] | None = None, **options) -> value.ValueView:
    con = connect(path)
    try:
        return value.value_view(con, gate.default_scope(con, allowed), **options)
    finally:
        con.close()


def run_value(monkeypatch: pytest.MonkeyPatch, path: Path, lang: str = "en", *, email: str | None = None,
              access: Path | None = None, **params: str) -> AppTest:
    """The app on ``path``, moved to the value page as a click in the navigation does."""
    return open_app(monkeypatch, path, page="pages/value.py", email=email, access=access, lang=lang, **params)


def tiles(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def table(at: AppTest, lang: str, *columns: str) -> pd.DataFrame:
    """The first table with the columns ``value_col_<column>`` of ``columns``."""
    labels = {t(f"value_col_{column}", lang) for column in columns}
    return next(df.value for df in at.dataframe if labels <= set(df.value.columns))


def independent_rfm(tx: pd.DataFrame) -> pd.DataFrame:
    """Per customer from the raw rows with pandas: recency, purchase days, spend per purchase day,
    the 1-5 scores by the stated rule (1 + floor(5 x share with a worse value)) and the segment."""
    tx = tx.assign(day=pd.to_datetime(tx["order_date"]))
    per = tx.groupby("customer_id").agg(first=("day", "min"), last=("day", "max"), days=("day", "nunique"),
                                        gross=("amount", "sum"))
    per["recency"] = (pd.Timestamp(AS_OF) - per["last"]).dt.days
    per["monetary"] = per["gross"] / per["days"]
    n = len(per)
    r = 1 + np.floor(5 * (per["recency"].rank(method="min", ascending=False) - 1) / n)
    f = 1 + np.floor(5 * (per["days"].rank(method="min") - 1) / n)
    per["segment"] = [rfm.SEGMENT_GRID[int(a)][int(b) - 1] for a, b in zip(r, f, strict=True)]
    return per


def number(text: str) -> float:
    return float(text.replace(",", ""))


# ----------------------------------------------------------------------------- what the page shows


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_shows_the_customers_segments_models_and_clv_of_the_data(monkeypatch, fixture_db, lang):
    path, tx = fixture_db
    at = run_value(monkeypatch, path, lang)
    view = expected_view(path)
    per = independent_rfm(tx)
    assert [x.value for x in at.title] == [t("nav_value", lang)]
    margin = t("value_caption_margin_setting", lang, margin=fmt_pct(0.3, lang))  # no cost column: the setting
    repeaters = int((per["days"] > 1).sum())
    assert at.caption[0].value == t("value_caption", lang, date=fmt_date(AS_OF, lang),
                                    customers=fmt_int(len(per), lang), repeaters=fmt_int(repeaters, lang),
                                    horizon="12", discount=fmt_pct(0.1, lang), margin=margin)
    shown = tiles(at)
    assert shown[t("value_kpi_customers", lang)] == fmt_int(len(per), lang)
    assert shown[t("value_kpi_clv_total", lang)] == fmt_money(view.total.point, lang, "CNY", compact=True)
    assert shown[t("value_kpi_future", lang, months="12")] == fmt_money(view.total_future.point, lang, "CNY",
                                                                        compact=True)
    assert shown[t("value_kpi_clv_avg", lang)] == fmt_money(view.total.point / len(per), lang, "CNY")
    assert t("value_interval", lang, low=fmt_money(view.total.low, lang, "CNY", compact=True),
             high=fmt_money(view.total.high, lang, "CNY", compact=True)) in [c.value for c in at.caption]
    # the RFM segment counts, from the raw rows
    segments = table(at, lang, "customer_share")
    counts = per["segment"].value_counts()
    want = [(t(f"rfm_segment_{s}", lang), int(counts.get(s, 0))) for s in rfm.SEGMENTS]
    assert list(zip(segments[t("value_col_rfm_segment", lang)], segments[t("value_col_customers", lang)],
                    strict=True)) == want
    # the models, refitted on a pandas summary of the raw rows
    days = tx.assign(day=pd.to_datetime(tx["order_date"])).groupby(["customer_id", "day"])["amount"].sum()
    days = days.reset_index().sort_values(["customer_id", "day"])
    x = per["days"].to_numpy() - 1
    t_x = (per["last"] - per["first"]).dt.days.to_numpy() / 7
    big_t = (pd.Timestamp(AS_OF) - per["first"]).dt.days.to_numpy() / 7
    bg = fit_bgnbd(x, t_x, big_t)
    repeat_spend = days.groupby("customer_id")["amount"].apply(lambda a: a.iloc[1:].mean()).reindex(per.index)
    gg = fit_gamma_gamma(x, repeat_spend.to_numpy())
    models = [df.value for df in at.dataframe if t("value_col_estimate", lang) in df.value.columns]
    for frame, fit, names in ((models[0], bg, ("r", "alpha", "a", "b")), (models[1], gg, ("p", "q", "gamma"))):
        estimates = [number(v) for v in frame[t("value_col_estimate", lang)]]
        assert estimates == pytest.approx([getattr(fit, p) for p in names], rel=1e-3), names
        errors = [number(v) for v in frame[t("value_col_std_error", lang)]]
        assert errors == pytest.approx([fit.std_errors[p] for p in names], rel=2e-2, abs=1e-4), names
    # the lists: top customers by CLV, then the at-risk list
    top = table(at, lang, "customer_id", "clv_low")
    ranked = view.customers.sort_values(["clv", "customer_id"], ascending=[False, True])
    assert list(top[t("value_col_customer_id", lang)]) == list(ranked["customer_id"].head(100))
    risky = table(at, lang, "customer_id", "value_at_risk")
    assert list(risky[t("value_col_customer_id", lang)]) == list(value.at_risk(view.customers, 180, 100)
                                                                 ["customer_id"])
    assert (risky[t("value_col_recency_days", lang)] <= 180).all()
    other = next(x for x in LANGUAGES if x != lang)
    assert t("value_kpi_customers", other) not in shown


def test_the_segment_picker_lists_that_segments_customers(monkeypatch, fixture_db):
    path, tx = fixture_db
    per = independent_rfm(tx)
    at = run_value(monkeypatch, path, "zh")
    picker = at.selectbox(key="value_rfm_segment")
    assert picker.value == "champions"
    for segment in ("lost", "at_risk"):
        picker.set_value(segment).run()
        listed = table(at, "zh", "customer_id", "r")
        assert sorted(listed[t("value_col_customer_id", "zh")]) == sorted(per.index[per["segment"] == segment])


def test_a_long_segment_shows_its_start_and_downloads_all_of_it(monkeypatch, fixture_db):
    """A segment longer than the table's limit (ui.customer_links.SHOWN, 1,000; 3 here) shows its customers of
    highest CLV and says so; its downloads hold every customer of the segment."""
    from ui import customer_links

    path, tx = fixture_db
    per = independent_rfm(tx)
    monkeypatch.setattr(customer_links, "SHOWN", 3)
    offered = spy_downloads(monkeypatch)
    at = run_value(monkeypatch, path, "en")
    at.selectbox(key="value_rfm_segment").set_value("lost").run()
    members = per.index[per["segment"] == "lost"]
    assert len(members) > 3
    listed = table(at, "en", "customer_id", "r")
    clv = listed[t("value_col_clv", "en")].to_numpy()
    assert len(listed) == 3 and list(clv) == sorted(clv, reverse=True)
    assert t("value_rfm_shown_clv", "en", shown="3", n=f"{len(members):,}") in [c.value for c in at.caption]
    whole = [df for df in offered if t("value_col_customer_id", "en") in df.columns and len(df) == len(members)]
    assert whole and sorted(whole[0][t("value_col_customer_id", "en")]) == sorted(members)
    shown_ids = set(listed[t("value_col_customer_id", "en")])
    assert shown_ids <= set(whole[0][t("value_col_customer_id", "en")])


def test_the_holdout_check_is_shown_with_its_period_and_error(monkeypatch, fixture_db):
    path, _ = fixture_db
    at = run_value(monkeypatch, path, "en")
    holdout = expected_view(path).holdout
    assert holdout.cutoff == date(2024, 7, 1)  # the last quarter of 24 months: 6 months held out
    assert tiles(at)[t("value_holdout_error", "en")] == fmt_pct(holdout.error, "en")
    assert t("value_holdout_totals", "en", predicted=fmt_int(holdout.predicted, "en"),
             actual=fmt_int(holdout.actual, "en")) in [c.value for c in at.caption]
    checked = table(at, "en", "calibration_frequency")
    assert list(checked[t("value_col_customers", "en")]) == list(holdout.table["customers"])


# ----------------------------------------------------------------------------- options in the address


def test_the_horizon_in_the_address_changes_the_total(monkeypatch, fixture_db):
    path, _ = fixture_db
    at = run_value(monkeypatch, path, "en", horizon_months="24")
    longer, default = expected_view(path, horizon_months=24), expected_view(path)
    assert longer.total.point > default.total.point
    shown = tiles(at)
    assert shown[t("value_kpi_clv_total", "en")] == fmt_money(longer.total.point, "en", "CNY", compact=True)
    assert shown[t("value_kpi_future", "en", months="24")] == fmt_money(longer.total_future.point, "en", "CNY",
                                                                        compact=True)
    assert at.number_input(key="value_horizon_months").value == 24
    assert not at.warning
    at.number_input(key="value_horizon_months").set_value(6).run()
    assert at.query_params["horizon_months"] == "6"
    assert tiles(at)[t("value_kpi_clv_total", "en")] == fmt_money(expected_view(path, horizon_months=6).total.point,
                                                                 "en", "CNY", compact=True)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_refused_horizon_warns_and_uses_the_default(monkeypatch, fixture_db, lang):
    path, _ = fixture_db
    at = run_value(monkeypatch, path, lang, horizon_months="abc")
    assert [w.value for w in at.warning] == [t("value_option_refused", lang,
                                               name=t("value_setting_horizon_months", lang), value=md_literal("abc"))]
    assert tiles(at)[t("value_kpi_clv_total", lang)] == fmt_money(expected_view(path).total.point, lang, "CNY",
                                                                  compact=True)
    assert at.number_input(key="value_horizon_months").value == 12
    assert "horizon_months" not in at.query_params


def test_discount_margin_and_holdout_from_the_address(monkeypatch, fixture_db):
    path, _ = fixture_db
    at = run_value(monkeypatch, path, "en", discount_rate="0.2", margin="0.5", holdout_from="2024-09")
    view = expected_view(path, discount_rate=0.2, margin=0.5, holdout_from=date(2024, 9, 1))
    assert tiles(at)[t("value_kpi_clv_total", "en")] == fmt_money(view.total.point, "en", "CNY", compact=True)
    assert t("value_caption_margin_option", "en", margin=fmt_pct(0.5, "en")) in at.caption[0].value
    assert "discount rate 20.0% a year" in at.caption[0].value
    assert at.number_input(key="value_margin").value == 50.0
    assert at.selectbox(key="value_holdout_from").value == date(2024, 9, 1)
    assert view.holdout.cutoff == date(2024, 9, 1)
    assert tiles(at)[t("value_holdout_error", "en")] == fmt_pct(view.holdout.error, "en")


def test_a_holdout_too_early_says_why(monkeypatch, fixture_db):
    path, _ = fixture_db
    at = run_value(monkeypatch, path, "zh", holdout_from="2023-02")
    assert t("value_holdout_problem_before_data", "zh") in [i.value for i in at.info]


# ----------------------------------------------------------------------------- when the models cannot fit


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """40 customers: too few for the models."""
    return build(tmp_path_factory.mktemp("app_value_small"), 40, seed=5)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_too_few_customers_shows_the_problem_and_still_the_rfm_segments(monkeypatch, small_db, lang):
    path, tx = small_db
    at = run_value(monkeypatch, path, lang)
    assert expected_view(path).fits.problem == "too_few_customers"
    assert t("value_problem_too_few_customers", lang) in [w.value for w in at.warning]
    assert t("value_kpi_clv_total", lang) not in tiles(at)
    counts = independent_rfm(tx)["segment"].value_counts()
    segments = table(at, lang, "customer_share")
    assert list(segments[t("value_col_customers", lang)]) == [int(counts.get(s, 0)) for s in rfm.SEGMENTS]
    assert t("value_lists_no_models", lang) in [i.value for i in at.info]


# ----------------------------------------------------------------------------- access


def test_a_sales_manager_sees_only_their_regions_customers(monkeypatch, fixture_db, tmp_path):
    path, tx = fixture_db
    access = tmp_path / "access.toml"
    access.write_text(ACCESS, encoding="utf-8")
    offered = spy_downloads(monkeypatch)
    at = run_value(monkeypatch, path, "en", email="north@example.com", access=access)
    own = independent_rfm(tx[tx["customer_id"].isin(tx.loc[tx["region"] == "华北", "customer_id"])])
    view = expected_view(path, ("华北",))
    assert tiles(at)[t("value_kpi_customers", "en")] == fmt_int(len(own), "en") == fmt_int(view.n_customers, "en")
    assert tiles(at)[t("value_kpi_clv_total", "en")] == fmt_money(view.total.point, "en", "CNY", compact=True)
    text = "\n".join([str(x.value) for kind in ("title", "markdown", "caption", "info", "warning")
                      for x in getattr(at, kind)] + [df.value.to_csv() for df in at.dataframe])
    assert "华东" not in text and "华南" not in text
    assert offered and not any(r in df.to_csv() for df in offered for r in ("华东", "华南"))
    ids = {i for df in at.dataframe if t("value_col_customer_id", "en") in df.value.columns
           for i in df.value[t("value_col_customer_id", "en")]}
    assert ids and ids <= set(own.index)


# ----------------------------------------------------------------------------- the demo data


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("value_demo")
    con = connect(folder / "crm.duckdb")
    try:
        load_demo(con, size=1500, folder=folder / "demo")
    finally:
        con.close()
    return folder / "crm.duckdb"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_runs_on_the_demo_data(monkeypatch, demo_db, lang):
    at = run_value(monkeypatch, demo_db, lang)
    view = expected_view(demo_db)
    assert view.fits.problem is None
    assert tiles(at)[t("value_kpi_clv_total", lang)] == fmt_money(view.total.point, lang, "CNY", compact=True)
    assert tiles(at)[t("value_kpi_customers", lang)] == fmt_int(view.n_customers, lang)
    assert [s.value for s in at.subheader] == [t(k, lang) for k in (
        "value_key_title", "value_rfm_title", "value_models_title", "value_groups_title", "value_holdout_title",
        "value_top_title", "value_at_risk_title")]
    for grouping in ("segment", "rfm_segment"):
        at.radio(key="value_group_by").set_value(grouping).run()
        assert not at.exception
        groups = table(at, lang, "clv_per_customer")
        assert len(groups) == len(view.by_group[grouping])

