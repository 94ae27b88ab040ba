"""The customer detail's view model (:func:`analytics.metrics.customer.customer_detail`) against pandas
on the raw rows of a small fixture, its gate, its search, and ``report customer --json``.

The fixture (imported through the real pipeline): 240 seeded random customers in 华东 and 华北 over
2023–2024 (enough for the value models to fit), and two written by hand: K007 星辰贸易 (华东, 企业;
a two-line order, two orders on one day, one in 华北, a return, rows in both years, surveys and
complaints, one still open) and K150 星辰商行 (华北, 个人). ``tests/test_app_customer.py`` reuses it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import scope as gate
from analytics.ingest.pipeline import import_file
from analytics.metrics import customer as detail
from analytics.report import plain
from analytics.scope import Scope
from analytics.store.connection import connect

ROOT = Path(__file__).resolve().parents[1]
FOCUS, NAMESAKE = "K007", "K150"
FOCUS_NAME, NAMESAKE_NAME = "星辰贸易", "星辰商行"
#: What the app opens with: the last 12 months with data.
DEFAULT = Scope(date(2024, 1, 1), date(2024, 12, 1), "previous")
#: An earlier period: K007's 2024 rows are after it.
EARLY = Scope(date(2023, 1, 1), date(2023, 12, 1), "previous")
#: Two months: too short a history for the value models.
SHORT = Scope(date(2023, 1, 1), date(2023, 2, 1), "previous")

TX_COLUMNS = ["transaction_id", "customer_id", "order_date", "amount", "quantity", "region", "channel", "product",
              "category", "sales_rep"]
FOCUS_ROWS = [
    ("T7001", FOCUS, "2023-02-03", 120.00, 1, "华东", "门店", "茶具", "家居", "王芳"),
    ("T7001", FOCUS, "2023-02-03", 80.50, 2, "华东", "门店", "茶叶", "食品", "王芳"),
    ("T7002", FOCUS, "2023-06-15", 300.00, 3, "华东", "天猫", "茶具", "家居", "王芳"),
    ("T7003", FOCUS, "2023-06-15", 50.00, 1, "华北", "门店", "茶叶", "食品", "李强"),
    ("R7001", FOCUS, "2023-07-01", -40.00, -1, "华东", "门店", "茶叶", "食品", "王芳"),
    ("T7004", FOCUS, "2024-03-09", 210.25, 1, "华东", "天猫", "茶具", "家居", "王芳"),
    ("T7005", FOCUS, "2024-08-20", 99.99, 1, "华东", "天猫", "茶叶", "食品", "王芳"),
    ("T7006", FOCUS, "2024-11-30", 150.00, 2, "华东", "门店", "茶具", "家居", "王芳"),
]
NAMESAKE_ROWS = [
    ("T1501", NAMESAKE, "2023-09-01", 66.00, 1, "华北", "门店", "茶叶", "食品", "李强"),
    ("T1502", NAMESAKE, "2024-05-05", 77.00, 1, "华北", "门店", "茶叶", "食品", "李强"),
]
CUST_COLUMNS = ["customer_id", "customer_name", "region", "segment", "province", "city", "acquired_date",
                "acquisition_channel", "acquisition_cost"]
FB_COLUMNS = ["feedback_id", "customer_id", "feedback_date", "score", "scale", "feedback_kind", "category",
              "resolved_date", "comment"]
FOCUS_FEEDBACK = [
    ("F1", FOCUS, "2023-03-01", 4, "csat", "survey", None, None, "包装很好"),
    ("F2", FOCUS, "2024-04-02", None, None, "complaint", "物流", "2024-04-09", "送货晚了"),
    ("F3", FOCUS, "2024-10-01", None, None, "complaint", "质量", None, "茶具有裂纹"),
    ("F4", FOCUS, "2024-12-05", 9, "nps", "survey", None, None, None),
]


def fixture_frames(seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Transactions, customers and feedback as the files hold them."""
    rng = np.random.default_rng(seed)
    start, days = date(2023, 1, 1), 730
    tx, customers, feedback = list(FOCUS_ROWS) + list(NAMESAKE_ROWS), [], list(FOCUS_FEEDBACK)
    customers.append((FOCUS, FOCUS_NAME, "华东", "企业", "江苏", "南京", "2022-12-20", "线上广告", 88.5))
    customers.append((NAMESAKE, NAMESAKE_NAME, "华北", "个人", None, None, None, None, None))
    for i in range(1, 243):
        cid = f"K{i:03d}"
        if cid in (FOCUS, NAMESAKE):
            continue
        region, segment = ("华东", "华北")[i % 2], ("企业", "个人")[(i // 2) % 2]
        customers.append((cid, f"客户{i:03d}", region, segment, None, None, None, None, None))
        # the BG/NBD story (Fader, Hardie & Lee 2005): purchases at a gamma-distributed rate, a
        # beta-distributed chance to leave after each one
        first, rate, leave = int(rng.integers(0, days - 60)), rng.gamma(0.8, 1 / 25), rng.beta(1.0, 3.0)
        buy_days, d = [first], float(first)
        while rng.random() >= leave:
            d += rng.exponential(1 / rate)
            if d >= days:
                break
            buy_days.append(int(d))
        buy_days = sorted(set(buy_days))
        for k, d in enumerate(buy_days):
            when = (start + timedelta(days=d)).isoformat()
            tx.append((f"O{i:03d}-{k}", cid, when, round(float(rng.uniform(20, 500)), 2), 1, region, "天猫", "茶叶",
                       "食品", "张伟"))
        if i % 9 == 0:
            when = (start + timedelta(days=buy_days[-1] + 3)).isoformat()
            feedback.append((f"G{i:03d}", cid, when, int(rng.integers(1, 6)), "csat", "survey", None, None, None))
    return (pd.DataFrame(tx, columns=TX_COLUMNS), pd.DataFrame(customers, columns=CUST_COLUMNS),
            pd.DataFrame(feedback, columns=FB_COLUMNS))


def build_database(folder: Path) -> Path:
    """The fixture imported through the real pipeline into ``folder/t.duckdb`` (closed again)."""
    path = folder / "t.duckdb"
    con = connect(path)
    try:
        for kind, frame in zip(("customers", "transactions", "feedback"), (fixture_frames()[1], fixture_frames()[0],
                                                                          fixture_frames()[2]), strict=True):
            file = folder / f"{kind}.csv"
            frame.to_csv(file, index=False)
            report = import_file(con, file, commit=True, kind=kind)
            assert (report.rows_imported, report.rows_rejected) == (len(frame), 0), kind
    finally:
        con.close()
    return path


def expected_figures(scope: Scope, customer: str = FOCUS) -> dict:
    """The customer's figures as of ``scope``'s end, from the raw rows (pandas, not the app's SQL)."""
    tx, _, fb = fixture_frames()
    as_of = scope.end_exclusive - timedelta(days=1)
    tx = tx.assign(order_date=pd.to_datetime(tx["order_date"]).dt.date)
    rows = tx[(tx["customer_id"] == customer) & (tx["order_date"] <= as_of)]
    bought = rows[rows["amount"] > 0]
    everyone = tx[tx["order_date"] <= as_of]
    per = everyone[everyone["amount"] > 0].groupby("customer_id")
    last, days = per["order_date"].max(), per["order_date"].nunique()
    recency = pd.Series([(as_of - d).days for d in last], index=last.index)
    gross = per["amount"].sum() / days
    n = len(last)
    # RFM scores: 1 + floor(5 x share of customers with a strictly worse value)
    feedback = fb[(fb["customer_id"] == customer) & (pd.to_datetime(fb["feedback_date"]).dt.date <= as_of)]
    return {
        "revenue": round(float(rows["amount"].sum()), 2), "orders": bought["transaction_id"].nunique(),
        "purchase_days": bought["order_date"].nunique(), "returns": round(float(-rows.loc[rows["amount"] < 0,
                                                                                            "amount"].sum()), 2),
        "first": bought["order_date"].min(), "last": bought["order_date"].max(),
        "recency": int(recency[customer]), "frequency": int(days[customer]), "monetary": float(gross[customer]),
        "r": 1 + 5 * int((recency > recency[customer]).sum()) // n,
        "f": 1 + 5 * int((days < days[customer]).sum()) // n,
        "m": 1 + 5 * int((gross < gross[customer]).sum()) // n,
        "transactions": rows.sort_values("order_date", ascending=False, kind="stable"),
        "months": bought.assign(month=[d.replace(day=1) for d in bought["order_date"]]).groupby("month").agg(
            orders=("transaction_id", "nunique"), purchase_days=("order_date", "nunique")),
        "revenue_by_month": rows.assign(month=[d.replace(day=1) for d in rows["order_date"]]).groupby("month")[
            "amount"].sum(),
        "feedback": feedback,
    }


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_database(tmp_path_factory.mktemp("customer_detail"))


@pytest.fixture(scope="module")
def con(db_path):
    con = connect(db_path)
    yield con
    con.close()


@pytest.mark.parametrize("scope", [DEFAULT, EARLY], ids=["default", "earlier_period"])
def test_the_detail_equals_pandas_on_the_raw_rows(con, scope):
    view = detail.customer_detail(con, scope, customer=FOCUS)
    want = expected_figures(scope)
    p, v = view.profile, view.value
    assert (view.customer_id, p["customer_name"], p["home_region"], p["segment"]) == (FOCUS, FOCUS_NAME, "华东", "企业")
    assert (p["province"], p["city"], p["acquired_date"], p["acquisition_channel"]) == ("江苏", "南京",
                                                                                        date(2022, 12, 20), "线上广告")
    assert p["acquisition_cost"] == pytest.approx(88.5)
    # purchases up to the period's end only (the earlier period leaves 2024 out)
    assert p["revenue"] == pytest.approx(want["revenue"])
    assert p["returns_amount"] == pytest.approx(want["returns"])
    assert (p["orders"], p["purchase_days"]) == (want["orders"], want["purchase_days"])
    assert (p["first_order_date"], p["last_order_date"]) == (want["first"], want["last"])
    # RFM as of the period's end, scores among every customer who bought by then
    assert (v["recency_days"], v["frequency"]) == (want["recency"], want["frequency"])
    assert v["monetary"] == pytest.approx(want["monetary"])
    assert (v["r"], v["f"], v["m"]) == (want["r"], want["f"], want["m"])
    # the models fitted on the fixture's two years: the outlook is there, the interval around the point
    if scope == DEFAULT:
        assert view.models_problem is None
    if view.models_problem is None:
        assert 0 < v["p_alive"] <= 1 and v["expected_purchases"] > 0
        assert v["clv_low"] <= v["clv"] <= v["clv_high"]
    else:
        assert "p_alive" not in v and "clv" not in v
    # the transactions listed: every row up to the end, newest first
    listed, raw = view.transactions, want["transactions"]
    assert view.transaction_count == len(raw) == len(listed)
    assert [d.date() for d in listed["order_date"]] == list(raw["order_date"])
    assert sorted(listed["amount"].astype(float).round(2)) == sorted(raw["amount"].round(2))
    assert listed["is_return"].sum() == (raw["amount"] < 0).sum()
    # the months: orders and purchase days per month with a purchase, revenue net of returns
    months = view.months.set_index(view.months["month"].dt.date)
    assert months["orders"].loc[want["months"].index].tolist() == want["months"]["orders"].tolist()
    assert months["purchase_days"].loc[want["months"].index].tolist() == want["months"]["purchase_days"].tolist()
    assert months["revenue"].astype(float).round(2).to_dict() == want["revenue_by_month"].round(2).to_dict()


def test_without_fitted_models_the_rest_is_there(con):
    """Two months: too few customers and too short a history for the models; RFM and the rest stay."""
    view = detail.customer_detail(con, SHORT, customer=FOCUS)
    assert view.models_problem in ("too_few_customers", "too_short")
    assert "p_alive" not in view.value and view.value["frequency"] == expected_figures(SHORT)["frequency"]
    assert view.profile["revenue"] == pytest.approx(expected_figures(SHORT)["revenue"])


def test_feedback_and_complaint_resolution_days(con):
    view = detail.customer_detail(con, DEFAULT, customer=FOCUS)
    raw = expected_figures(DEFAULT)["feedback"]
    fb = view.feedback
    assert len(fb) == len(raw) == 4
    assert [d.date().isoformat() for d in fb["feedback_date"]] == sorted(raw["feedback_date"], reverse=True)
    resolved = fb.set_index(fb["feedback_date"].dt.date)["resolution_days"]
    assert resolved.loc[date(2024, 4, 2)] == (date(2024, 4, 9) - date(2024, 4, 2)).days
    assert pd.isna(resolved.loc[date(2024, 10, 1)])  # still open
    early = detail.customer_detail(con, EARLY, customer=FOCUS)
    assert len(early.feedback) == 1  # the 2024 notes are after the earlier period
    assert detail.customer_detail(con, DEFAULT, customer=NAMESAKE).feedback is None


GATES = {
    "allowed_regions": Scope(DEFAULT.start, DEFAULT.end, "previous", allowed_regions=("华北",)),
    "region_filter": Scope(DEFAULT.start, DEFAULT.end, "previous", regions=("华北",)),
    "segment_filter": Scope(DEFAULT.start, DEFAULT.end, "previous", segments=("个人",)),
}


@pytest.mark.parametrize("name", GATES)
def test_a_customer_outside_the_scope_is_not_found_like_one_that_does_not_exist(con, name):
    scope = GATES[name]
    hidden = detail.customer_detail(con, scope, customer=FOCUS)
    missing = detail.customer_detail(con, scope, customer="K999")
    for view in (hidden, missing):
        assert view.customer_id is None and view.profile is None and view.value is None
        assert view.transactions is None and view.feedback is None and view.months is None
        assert view.matches.empty
    assert plain(detail.report(hidden)) | {"query": None} == plain(detail.report(missing)) | {"query": None}
    # the gate below the view model gives no row of the hidden customer either
    for table in ("transactions", "feedback"):
        rows = gate.customer_records(scope, table, FOCUS)
        assert con.cursor().execute(f"select count(*) from ({rows.sql})", list(rows.params)).fetchall() == [(0,)]
    # a name search does not find them
    names = detail.customer_detail(con, scope, customer="星辰").matches
    assert FOCUS not in set(names["customer_id"])


def test_the_namesake_in_scope_opens_for_a_north_manager(con):
    north = GATES["allowed_regions"]
    view = detail.customer_detail(con, north, customer="星辰")
    assert view.customer_id is None and view.matches["customer_id"].tolist() == [NAMESAKE]
    assert detail.customer_detail(con, north, customer=NAMESAKE).profile["customer_name"] == NAMESAKE_NAME


def test_a_search_lists_the_matches_by_revenue(con):
    view = detail.customer_detail(con, DEFAULT, customer="星辰")
    assert view.customer_id is None
    assert set(view.matches["customer_id"]) == {FOCUS, NAMESAKE}
    assert view.matches["revenue"].is_monotonic_decreasing
    prefix = detail.customer_detail(con, DEFAULT, customer="K00").matches
    assert sorted(prefix["customer_id"]) == [f"K00{i}" for i in range(1, 10)]
    many = detail.customer_detail(con, DEFAULT, customer="客户").matches
    assert len(many) == detail.MATCHES_SHOWN
    assert detail.customer_detail(con, DEFAULT, customer=None).matches.empty


def test_report_customer_json_equals_the_view(db_path, tmp_path):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db_path, copy)  # the module's connection holds the original
    out = subprocess.run([sys.executable, "-m", "analytics", "--db", str(copy), "report", "customer",
                          "--customer", FOCUS, "--from", "2024-01", "--to", "2024-12", "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    printed = json.loads(out.stdout)
    con = connect(copy)
    try:
        view = detail.customer_detail(con, DEFAULT, customer=FOCUS)
    finally:
        con.close()
    want = plain(detail.report(view))
    assert printed["options"] == {"customer": FOCUS}
    for key, value in want.items():
        assert printed[key] == value, key
    assert printed["profile"]["revenue"] == pytest.approx(expected_figures(DEFAULT)["revenue"])
