"""Cohort retention (analytics.metrics.cohorts): a small sales file imported through the app's own path,
its matrices against an independent pandas computation on the file's raw rows, a few cells by hand, and
the gate (region filter, allowed regions, a tampered scope)."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pandas as pd
import pytest

from analytics.ingest.pipeline import import_file
from analytics.metrics.cohorts import (
    CUSTOMER_COLUMNS,
    MILESTONE_COLUMNS,
    REVENUE_COLUMNS,
    SIZE_COLUMNS,
    cohort_retention,
)
from analytics.scope import Scope
from analytics.store.connection import connect
from analytics.store.snapshot import snapshot

# Eight months of 2024. A first bought before the period (Feb-Jul in most tests); B returns in March
# without buying (not retained) and buys again in August (after that period); D returns in January
# before their first purchase (not part of their cohort) and in June only; E's first month nets 0;
# G only returns (no cohort); H first buys after the period; J buys on two months' last days.
# 华北: C, D, F; 华南: J; 华东: the others.
SALES = """customer_id,order_date,amount,region
A,2024-01-10,100,华东
A,2024-03-05,50,华东
B,2024-02-03,80,华东
B,2024-02-20,-30,华东
B,2024-03-15,-20,华东
B,2024-05-07,60,华东
B,2024-08-02,40,华东
C,2024-02-11,120,华北
C,2024-04-01,30,华北
C,2024-04-20,10,华北
C,2024-07-30,25,华北
D,2024-01-25,-15,华北
D,2024-03-09,70,华北
D,2024-04-09,35,华北
D,2024-06-01,-70,华北
E,2024-04-21,40,华东
E,2024-04-28,-40,华东
E,2024-06-02,20,华东
F,2024-06-14,90,华北
F,2024-07-02,10,华北
G,2024-05-05,-25,华东
H,2024-08-20,200,华东
I,2024-03-02,30,华东
I,2024-05-10,15,华东
I,2024-05-11,5,华东
I,2024-07-05,10,华东
J,2024-01-31,10,华南
J,2024-03-31,5,华南
"""
FEB, JUL = date(2024, 2, 1), date(2024, 7, 1)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cohorts")
    (folder / "sales.csv").write_text(SALES, encoding="utf-8")
    con = connect(folder / "crm.duckdb")
    assert import_file(con, folder / "sales.csv", commit=True).rows_imported == 28
    yield con
    con.close()


def reference(start: date, end: date, max_months: int, regions: tuple[str, ...] = ()) -> pd.DataFrame:
    """Both matrices from the raw rows with pandas alone: the cohort is the month of the first row that is
    not a return; a cell counts the cohort's customers with such a row in the month and sums all their rows."""
    raw = pd.read_csv(io.StringIO(SALES), parse_dates=["order_date"])
    assert raw.groupby("customer_id")["region"].nunique().max() == 1  # so the home region is the row region
    if regions:
        raw = raw[raw["region"].isin(regions)]
    raw = raw.assign(month=raw["order_date"].dt.to_period("M"), purchase=raw["amount"] >= 0)
    first = raw[raw["purchase"]].groupby("customer_id")["month"].min()
    first_month, last_month = pd.Period(start, "M"), pd.Period(end, "M")
    rows = []
    for cohort in sorted(set(first[(first >= first_month) & (first <= last_month)])):
        members = raw[raw["customer_id"].isin(first.index[first == cohort])]
        size = members["customer_id"].nunique()
        for n in range(min(max_months, (last_month - cohort).n) + 1):
            in_month = members[members["month"] == cohort + n]
            rows.append({"cohort": cohort, "months_since": n, "customers": size,
                         "retained": in_month.loc[in_month["purchase"], "customer_id"].nunique(),
                         "revenue": float(in_month["amount"].sum())})
    frame = pd.DataFrame(rows, columns=["cohort", "months_since", "customers", "retained", "revenue"])
    frame["share"] = frame["retained"] / frame["customers"]
    frame["base_revenue"] = frame.groupby("cohort")["revenue"].transform("first")
    frame["retention"] = np.where(frame["base_revenue"] > 0, frame["revenue"] / frame["base_revenue"], np.nan)
    return frame


def _months(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(cohort=frame["cohort"].dt.to_period("M"))


@pytest.mark.parametrize(("start", "end", "max_months", "regions"), [
    (FEB, JUL, 24, ()),
    (date(2024, 1, 1), date(2024, 8, 1), 24, ()),
    (FEB, JUL, 2, ()),
    (FEB, JUL, 0, ()),
    (date(2024, 3, 1), date(2024, 5, 1), 24, ()),
    (FEB, JUL, 24, ("华北",)),
    (FEB, JUL, 24, ("华东",)),
    (date(2024, 1, 1), date(2024, 4, 1), 24, ("华南",)),
], ids=["feb-jul", "whole-data", "max-2", "max-0", "mar-may", "north", "east", "south"])
def test_the_matrices_match_pandas_on_the_raw_rows(con, start, end, max_months, regions):
    view = cohort_retention(con, Scope(start, end, regions=regions), max_months=max_months)
    expected = reference(start, end, max_months, regions)
    assert len(expected) > 0
    customer = _months(view.customer_retention)[["cohort", "months_since", "customers", "retained", "share"]]
    pd.testing.assert_frame_equal(customer, expected[list(customer.columns)], check_dtype=False)
    revenue = _months(view.revenue_retention)[["cohort", "months_since", "revenue", "base_revenue", "retention"]]
    pd.testing.assert_frame_equal(revenue, expected[list(revenue.columns)], check_dtype=False)
    sizes = expected[expected["months_since"] == 0][["cohort", "customers", "revenue"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(_months(view.sizes)[["cohort", "customers", "revenue"]], sizes, check_dtype=False)
    # a month is the cohort's month plus N
    assert (view.customer_retention["month"].dt.to_period("M")
            == customer["cohort"] + customer["months_since"]).all()


def test_cells_by_hand_and_their_wilson_intervals(con):
    view = cohort_retention(con, Scope(FEB, JUL))
    # cohorts: Feb {B, C}, Mar {D, I}, Apr {E}, Jun {F}; A (Jan), H (Aug) and G (returns only) in none
    assert [(c.strftime("%Y-%m"), n) for c, n in zip(view.sizes["cohort"], view.sizes["customers"], strict=True)] \
        == [("2024-02", 2), ("2024-03", 2), ("2024-04", 1), ("2024-06", 1)]
    cells = view.customer_retention.set_index(["cohort", "months_since"])
    feb = cells.loc[pd.Timestamp(FEB)]
    # Feb: B and C (N0), no one in Mar (B only returned), C in Apr, B in May, no one in Jun, C in Jul
    assert feb["retained"].tolist() == [2, 0, 1, 1, 0, 1] and (feb["customers"] == 2).all()
    # Wilson (1927), 1 of 2 at 95 %: centre 0.5, half-width 1.96 * sqrt(0.125 + 1.96^2 / 16) / (1 + 1.96^2 / 2)
    assert (feb.loc[2, "low"], feb.loc[2, "high"]) == pytest.approx((0.094531, 0.905469), abs=1e-6)
    assert feb.loc[0, "high"] == 1.0 and feb.loc[0, "low"] == pytest.approx(0.342380, abs=1e-6)  # 2 of 2
    revenue = view.revenue_retention.set_index(["cohort", "months_since"])
    # Feb base: B 80 - 30 + C 120 = 170; Mar: B's return only, -20; Jul: C's 25
    assert revenue.loc[pd.Timestamp(FEB), "revenue"].tolist() == [170, -20, 40, 60, 0, 25]
    assert revenue.loc[(pd.Timestamp(FEB), 5), "retention"] == pytest.approx(25 / 170)
    # Mar: D 70 + I 30 = 100; Apr: D 35; May: I 20; Jun: D's return only, -70; Jul: I 10
    assert revenue.loc[pd.Timestamp(date(2024, 3, 1)), "retention"].tolist() == pytest.approx([1, .35, .2, -.7, .1])
    # Apr: E bought 40 and returned 40, a base of 0: no revenue retention, but E is retained in Jun
    assert revenue.loc[pd.Timestamp(date(2024, 4, 1)), "retention"].isna().all()
    assert cells.loc[pd.Timestamp(date(2024, 4, 1)), "retained"].tolist() == [1, 0, 1, 0]
    assert view.data_end == date(2024, 8, 20) and not view.customer_retention["provisional"].any()
    with snapshot(con) as snap:  # as the page's loader reads it
        pd.testing.assert_frame_equal(cohort_retention(snap, Scope(FEB, JUL)).revenue_retention,
                                      view.revenue_retention)


def test_milestones_are_the_cells_at_1_3_6_and_12_months_across_cohorts(con):
    view = cohort_retention(con, Scope(FEB, JUL))
    got = [(c.strftime("%Y-%m"), n, k) for c, n, k in view.milestones[["cohort", "months_since", "retained"]]
           .itertuples(index=False)]
    # N = 1 for every cohort up to Jun; N = 3 up to Apr (Apr + 3 = Jul); no cohort reaches N = 6
    assert got == [("2024-02", 1, 0), ("2024-03", 1, 1), ("2024-04", 1, 0), ("2024-06", 1, 1),
                   ("2024-02", 3, 1), ("2024-03", 3, 0), ("2024-04", 3, 0)]
    assert tuple(view.milestones.columns) == MILESTONE_COLUMNS
    cells = view.customer_retention.set_index(["cohort", "months_since"])
    for row in view.milestones.itertuples(index=False):
        assert cells.loc[(row.cohort, row.months_since), "share"] == row.share
    assert set(cohort_retention(con, Scope(FEB, JUL), max_months=2).milestones["months_since"]) == {1}


def test_cells_stop_at_the_period_end_and_at_max_months(con):
    view = cohort_retention(con, Scope(FEB, date(2024, 4, 1)))
    cells = view.customer_retention
    assert cells["month"].max() == pd.Timestamp(date(2024, 4, 1))  # B's May and Aug purchases are past it
    assert cells.groupby("cohort")["months_since"].max().tolist() == [2, 1, 0]
    short = cohort_retention(con, Scope(FEB, JUL), max_months=1)
    assert short.customer_retention["months_since"].max() == 1 == short.revenue_retention["months_since"].max()
    assert cohort_retention(con, Scope(FEB, JUL), max_months=0).customer_retention["share"].eq(1).all()
    with pytest.raises(ValueError, match="max_months must be 0 or more"):
        cohort_retention(con, Scope(FEB, JUL), max_months=-1)


def test_the_last_month_is_provisional_when_the_data_stops_before_its_end(con):
    # the data ends on 2024-08-20: August's cells may still grow; a period ending in July is complete
    view = cohort_retention(con, Scope(FEB, date(2024, 8, 1)))
    cells = view.customer_retention
    assert view.data_end == date(2024, 8, 20)
    assert (cells["provisional"] == (cells["month"] == pd.Timestamp(date(2024, 8, 1)))).all()
    assert cells["provisional"].sum() == 5  # Feb, Mar, Apr, Jun and H's own Aug cohort
    assert view.sizes.set_index("cohort").loc[pd.Timestamp(date(2024, 8, 1)), "provisional"]


def test_a_month_that_ends_on_the_last_purchase_day_is_complete(con):
    # J (华南) bought on 2024-01-31 and 2024-03-31 only: March is complete, April (no data) is not
    south = cohort_retention(con, Scope(date(2024, 1, 1), date(2024, 3, 1), regions=("华南",)))
    assert south.data_end == date(2024, 3, 31) and south.customer_retention["retained"].tolist() == [1, 0, 1]
    assert not south.customer_retention["provisional"].any()
    later = cohort_retention(con, Scope(date(2024, 1, 1), date(2024, 4, 1), regions=("华南",)))
    assert later.customer_retention["provisional"].tolist() == [False, False, False, True]
    # 华北's customers last bought on 2024-07-30 (C): as far as this scope sees, July may be incomplete
    north = cohort_retention(con, Scope(FEB, JUL, regions=("华北",)))
    cells = north.customer_retention
    assert north.data_end == date(2024, 7, 30)
    assert (cells["provisional"] == (cells["month"] == pd.Timestamp(JUL))).all() and cells["provisional"].sum() == 3


def test_the_gate_keeps_other_regions_out(con):
    def customers(scope: Scope) -> list[int]:
        return cohort_retention(con, scope).sizes["customers"].tolist()

    assert customers(Scope(FEB, JUL, regions=("华北",))) == [1, 1, 1]  # C (Feb), D (Mar), F (Jun)
    manager = Scope(FEB, JUL, allowed_regions=("华北",))
    pd.testing.assert_frame_equal(cohort_retention(con, manager).customer_retention,
                                  cohort_retention(con, Scope(FEB, JUL, regions=("华北",))).customer_retention)
    assert customers(Scope(FEB, JUL, regions=("华东",))) == [1, 1, 1]  # B (Feb), I (Mar), E (Apr)
    tampered = Scope(FEB, JUL, regions=("华东",), allowed_regions=("华北",))
    assert cohort_retention(con, tampered).empty


@pytest.mark.parametrize("scope", [
    Scope(date(2023, 1, 1), date(2023, 6, 1)),  # before the data
    Scope(FEB, JUL, regions=("西南",)),  # a region without customers
    Scope(FEB, JUL, regions=("华东",), allowed_regions=("华北",)),  # tampered
], ids=["no-first-purchase", "no-customer", "tampered"])
def test_an_empty_scope_gives_empty_frames(con, scope):
    view = cohort_retention(con, scope)
    assert view.empty and view.data_end is None
    for frame, columns in ((view.sizes, SIZE_COLUMNS), (view.customer_retention, CUSTOMER_COLUMNS),
                           (view.revenue_retention, REVENUE_COLUMNS), (view.milestones, MILESTONE_COLUMNS)):
        assert frame.empty and tuple(frame.columns) == columns
    # the same column types as with cohorts, so a page's date formatting works on both
    full = cohort_retention(con, Scope(FEB, JUL)).customer_retention
    assert view.customer_retention.dtypes.equals(full.dtypes)
