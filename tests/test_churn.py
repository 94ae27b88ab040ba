"""Churn with a visible definition (analytics.metrics.churn) on files imported through the real import path,
against the definitions computed day by day from the raw rows with pandas (``churn_reference``)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from churn_reference import reference

from analytics.ingest.pipeline import import_file
from analytics.metrics.churn import default_window, monthly_churn, purchase_months
from analytics.models.proportions import wilson_interval
from analytics.scope import Scope
from analytics.store.connection import connect

PERIOD = Scope(date(2024, 1, 1), date(2024, 6, 1))  # as of 2024-06-30
AS_OF = date(2024, 6, 30)


def hand_rows() -> pd.DataFrame:
    """A few customers whose histories hit the definition's edges (W = 60 unless said)."""
    rows = [
        # A: buys every month: never churned
        *[("A", f"2023-{m:02d}-10", 100.0, "华东") for m in range(10, 13)],
        *[("A", f"2024-{m:02d}-10", 100.0, "华东") for m in range(1, 7)],
        # B: last purchase exactly 60 days before 2024-06-30 (2024-05-01): active as of it, not churned
        ("B", "2023-12-05", 50.0, "华东"), ("B", "2024-05-01", 70.0, "华东"),
        # C: last purchase 61 days before 2024-06-30 (2024-04-30): churned on 2024-06-30 itself
        ("C", "2024-01-15", 30.0, "华北"), ("C", "2024-04-30", 30.0, "华北"),
        # D: leaves in February (2023-12-20 + 61 = 2024-02-19), comes back in May, buys twice that month
        ("D", "2023-11-02", 80.0, "华北"), ("D", "2023-12-20", 80.0, "华北"),
        ("D", "2024-05-03", 90.0, "华北"), ("D", "2024-05-20", 10.0, "华北"),
        # E: first purchase in the period (March): new, cannot churn that month; a return later in March
        ("E", "2024-03-01", 40.0, "华南"), ("E", "2024-03-31", -40.0, "华南"),
        # F: bought before the data's period only (2023-06): churned before the period, never active in it
        ("F", "2023-06-01", 25.0, "华南"),
        # G: a month of returns only between purchases (not a purchase month)
        ("G", "2024-01-05", 60.0, "华东"), ("G", "2024-02-07", -20.0, "华东"), ("G", "2024-04-01", 60.0, "华东"),
        # H: buys after the period: must not count
        ("H", "2024-08-01", 99.0, "华东"), ("A", "2024-09-09", 5.0, "华东"),
    ]
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "amount", "region"])


def load(tmp_path, rows: pd.DataFrame):
    con = connect(tmp_path / "crm.duckdb")
    rows.to_csv(tmp_path / "sales.csv", index=False)
    report = import_file(con, tmp_path / "sales.csv", kind="transactions", commit=True)
    assert (report.rows_imported, report.rows_rejected) == (len(rows), 0)
    return con


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    con = load(tmp_path_factory.mktemp("churn"), hand_rows())
    yield con
    con.close()


@pytest.mark.parametrize("window", [60, 30, 90, 365])
def test_monthly_churn_matches_the_definition_day_by_day(con, window):
    got = monthly_churn(purchase_months(con.cursor(), PERIOD), PERIOD, window)
    expected = reference(hand_rows(), PERIOD, window)
    columns = ["month", "active_start", "churned", "won_back", "won_back_revenue", "new_customers"]
    pd.testing.assert_frame_equal(got[columns].reset_index(drop=True), expected[columns], check_dtype=False)
    for row in got.itertuples():
        interval = wilson_interval(row.churned, row.active_start)
        assert (row.churn_low, row.churn_high) == pytest.approx(interval)
        assert row.churn_rate == pytest.approx(row.churned / row.active_start)


def test_the_definitions_edges_by_hand(con):
    got = monthly_churn(purchase_months(con.cursor(), PERIOD), PERIOD, 60).set_index("month")
    # churn days (60 days without a purchase, then the 61st): B 2024-02-04, D 02-19; C 03-16 (back 04-30),
    # G 03-06 (back 04-01); E 05-01 (a first day of a month counts in that month); G 06-01; C 06-30, the last
    # day; B's last purchase is exactly 60 days before 06-30: not churned. A never; F before the period.
    assert got["churned"].tolist() == [0, 2, 2, 0, 1, 2]
    # active on the last day of February: A, C (01-15, 45 days), G (01-05, 55 days): March's rate 2 of 3
    assert got.loc[date(2024, 3, 1), ["active_start", "churned"]].tolist() == [3, 2]
    assert got.loc[date(2024, 3, 1), "churn_rate"] == pytest.approx(2 / 3)
    # won back: C (30) and G (60) in April, B (70) and D (90 + 10, two days in May) in May
    assert got["won_back"].tolist() == [0, 0, 0, 2, 2, 0]
    assert got["won_back_revenue"].tolist() == [0.0, 0.0, 0.0, 90.0, 170.0, 0.0]
    assert got["new_customers"].tolist() == [2, 0, 1, 0, 0, 0]  # C and G in January, E in March
    # the data goes on after the period (H, A in September): no month of the period is provisional
    assert not got["provisional"].any()


def test_a_region_filter_and_a_managers_regions(con):
    for scope in (Scope(PERIOD.start, PERIOD.end, regions=("华北",)),
                  Scope(PERIOD.start, PERIOD.end, allowed_regions=("华北",))):
        got = monthly_churn(purchase_months(con.cursor(), scope), scope, 60)
        expected = reference(hand_rows(), scope, 60)
        assert got["churned"].tolist() == expected["churned"].tolist()
        assert got["active_start"].tolist() == expected["active_start"].tolist()
    tampered = Scope(PERIOD.start, PERIOD.end, regions=("华东",), allowed_regions=("华北",))
    months = purchase_months(con.cursor(), tampered)
    assert months.n_customers == 0 and monthly_churn(months, tampered, 60)["active_start"].sum() == 0


def test_months_after_the_data_are_provisional(tmp_path):
    rows = hand_rows()
    rows = rows[pd.to_datetime(rows["order_date"]) <= "2024-05-20"]
    con = load(tmp_path, rows)
    got = monthly_churn(purchase_months(con.cursor(), PERIOD), PERIOD, 60)
    assert got["provisional"].tolist() == [False, False, False, False, True, True]
    con.close()


def test_the_default_window_is_the_90th_percentile_of_the_gaps_rounded_up_to_30_days(con):
    months = purchase_months(con.cursor(), Scope(date(2023, 1, 1), date(2024, 6, 1)))
    r = hand_rows().assign(day=pd.to_datetime(hand_rows()["order_date"]))
    r = r[(r["amount"] > 0) & (r["day"] <= "2024-06-30")]
    gaps = np.concatenate([np.diff(np.sort(g["day"].unique())).astype("timedelta64[D]").astype(int)
                           for _, g in r.groupby("customer_id")])
    expected = 30 * int(np.ceil(np.quantile(gaps, 0.9, method="inverted_cdf") / 30))
    assert default_window(months) == max(30, expected)
    with pytest.raises(ValueError, match="at least 30 days"):
        monthly_churn(months, PERIOD, 29)


def _months_with_gaps(between: np.ndarray, within: int):
    """PurchaseMonths whose consecutive-month gaps are ``between`` and with ``within`` gaps inside months."""
    from analytics.metrics.churn import PurchaseMonths

    n = len(between) + 1
    last = np.concatenate([[0], np.cumsum(between)]).astype(np.int64)
    nxt = np.concatenate([last[1:], [-1]])
    days = np.ones(n, dtype=np.int64)
    days[0] += within
    zeros = np.zeros(n, dtype=np.int64)
    return PurchaseMonths(first=last, last=last, previous_last=np.concatenate([[-1], last[:-1]]), next_first=nxt,
                          customer_first=zeros, purchase_days=days, revenue=zeros.astype(float), codes={}, labels={},
                          seq=zeros, ids_by_seq=np.array(["c"], dtype=object), as_of=date(2030, 1, 1))


@pytest.mark.parametrize("seed", range(5))
def test_the_default_window_counts_gaps_at_the_edges_of_each_30_days(seed):
    """The rule by its definition (smallest multiple of 30 with 90 % of the gaps at most that long), on gaps
    that sit on and next to the multiples of 30, against a plain sort; at most 720 days."""
    rng = np.random.default_rng(seed)
    between = rng.choice([31, 59, 60, 61, 89, 90, 91, 119, 120, 121, 700, 721, 900], size=200)
    within = int(rng.integers(0, 400))
    gaps = np.sort(np.concatenate([np.full(within, 1), between]))
    want = 30
    while want < 720 and (gaps <= want).sum() < 0.9 * len(gaps):
        want += 30
    assert default_window(_months_with_gaps(between, within)) == want
    assert default_window(_months_with_gaps(np.full(50, 1000), 0)) == 720


@pytest.mark.parametrize("cut", [date(2024, 3, 31), date(2024, 5, 31)])
def test_a_month_recounted_from_the_transactions_is_the_month_customer_month_holds(con, cut):
    """scope.months_until recounts the as-of month from the transactions as customer_month counts it: at the
    month's last day every column of the recount equals the mart's row (returns, a returns-only month)."""
    from analytics.scope import months_until

    def rows(recount: bool) -> list[tuple]:
        source = months_until(cut, recount)
        return sorted(con.execute(f"select * from ({source.sql}) s", list(source.params)).fetchall(),
                      key=lambda r: (r[0], r[1]))

    recounted = rows(True)
    assert recounted == rows(False) and any(r[1] == cut.replace(day=1) for r in recounted)
