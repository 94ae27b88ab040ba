"""Tests of the demo-data generator's realism: the figures a published CRM data set shows
(revenue concentration, repeat buyers, churn, growth, shopping festivals, the weekly
pattern, satisfaction against loyalty, the lead funnel), on the small data set and at the
default size.

The realism figures are computed with pandas from the frames (``tests/demo_util.py``),
independently of how the generator produces them. What counts orders counts each order
once, however many lines it has.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pandas as pd
from demo_util import (
    END_TS,
    churned,
    csat_satisfied_share,
    monthly_revenue,
    orders,
    repeat_rate,
    revenue_share_top20,
    small_fixture,  # noqa: F401 (the small fixture)
)

from analytics.ingest import demo

# --------------------------------------------------------------------------- realism


def test_revenue_is_concentrated(small: demo.DemoData) -> None:
    assert 0.55 <= revenue_share_top20(small) <= 0.85


def test_repeat_rate(small: demo.DemoData) -> None:
    assert 0.35 <= repeat_rate(small) <= 0.75


def test_churn_share(small: demo.DemoData) -> None:
    assert 0.3 <= churned(small).mean() <= 0.7


def test_customer_acquisition_grows(small: demo.DemoData) -> None:
    acquired = small.customers["acquired_date"]
    first_year = acquired.between(pd.Timestamp(2023, 11, 1), pd.Timestamp(2024, 10, 31)).sum()
    last_year = acquired.between(pd.Timestamp(2025, 11, 1), pd.Timestamp(2026, 10, 31)).sum()
    assert last_year > 1.3 * first_year
    in_window = (acquired >= pd.Timestamp(2023, 11, 1)).mean()
    assert in_window > 0.6


def test_double_eleven_peak(small: demo.DemoData) -> None:
    monthly = monthly_revenue(small)
    for year in (2024, 2025):
        months = monthly[monthly.index.year == year]
        assert months[pd.Period(f"{year}-11", "M")] > 1.15 * months.mean()
    daily = orders(small).groupby("order_date").size()
    for year in (2024, 2025):
        october = daily[pd.Timestamp(year, 10, 8):pd.Timestamp(year, 10, 31)].median()
        assert daily[pd.Timestamp(year, 11, 11)] > 4 * october


def test_618_peak_and_spring_festival_dip(small: demo.DemoData) -> None:
    daily = orders(small).groupby("order_date").size()
    for year in (2024, 2025, 2026):
        june = daily[pd.Timestamp(year, 6, 1):pd.Timestamp(year, 6, 30)].median()
        assert daily[pd.Timestamp(year, 6, 18)] > 1.8 * june
    for festival in ("2024-02-10", "2025-01-29", "2026-02-17"):
        day = pd.Timestamp(festival)
        week = daily[day - pd.Timedelta(days=1):day + pd.Timedelta(days=6)].mean()
        run_up = daily[day - pd.Timedelta(days=25):day - pd.Timedelta(days=8)].mean()
        before = daily[day - pd.Timedelta(days=60):day - pd.Timedelta(days=30)].mean()
        assert week < 0.5 * before
        assert run_up > before


def test_mild_weekly_pattern(small: demo.DemoData) -> None:
    placed = orders(small)
    by_weekday = placed.groupby(placed["order_date"].dt.day_of_week).size()
    ratio = by_weekday.max() / by_weekday.min()
    assert 1.03 < ratio < 1.5


def test_business_orders_are_larger(small: demo.DemoData) -> None:
    placed = orders(small)
    segment = small.customers.set_index("customer_id")["segment"]
    by_segment = placed.groupby(segment.reindex(placed["customer_id"]).to_numpy())[["lines", "amount"]].mean()
    by_segment = by_segment.loc[list(demo.SEGMENTS)]  # 个人客户, 个体商户, 企业客户
    assert by_segment["lines"].is_monotonic_increasing
    assert by_segment["amount"].is_monotonic_increasing
    assert by_segment.loc["企业客户", "lines"] > 1.5 * by_segment.loc["个人客户", "lines"]
    assert by_segment.loc["企业客户", "amount"] > 1.8 * by_segment.loc["个人客户", "amount"]


def test_satisfaction_is_not_loyalty(small: demo.DemoData) -> None:
    satisfied = csat_satisfied_share(small)
    assert 0.7 <= satisfied <= 0.85
    days = orders(small).groupby("customer_id")["order_date"].nunique()
    days = days.reindex(small.customers["customer_id"], fill_value=0)
    loyal = ((days >= 2).to_numpy() & ~churned(small).to_numpy()).mean()
    assert loyal < satisfied - 0.2


def test_less_satisfied_customers_churn_more(small: demo.DemoData) -> None:
    fb = small.feedback
    mean_csat = fb[fb["scale"] == "CSAT"].groupby("customer_id")["score"].mean()
    churn = churned(small).reindex(mean_csat.index)
    low = churn[mean_csat <= 3].mean()
    high = churn[mean_csat >= 4].mean()
    assert low > high + 0.1


def test_lead_conversion_falls_stage_by_stage(small: demo.DemoData) -> None:
    ld = small.leads
    reached = [
        len(ld),
        ld["qualified_date"].notna().sum(),
        ld["proposal_date"].notna().sum(),
        (ld["outcome"] == "won").sum(),
    ]
    assert reached[0] > reached[1] > reached[2] > reached[3] > 0
    step = [b / a for a, b in itertools.pairwise(reached)]
    assert min(step) == step[0]  # the biggest leak is right after the first contact
    won = ld["outcome"] == "won"
    by_source = won.groupby(ld["source"]).mean()
    assert by_source.max() > 1.5 * by_source.min()
    by_rep = won.groupby(ld["sales_rep"]).mean()
    assert by_rep.std() > 0.02


# --------------------------------------------------------------------------- default size


def test_default_size(tmp_path: Path) -> None:
    started = time.perf_counter()
    data = demo.generate()
    generated = time.perf_counter()
    files = demo.write_files(data, tmp_path)
    written = time.perf_counter()
    assert len(files) == 4

    tx = data.transactions
    assert len(data.customers) == 20_000
    assert len(tx) >= 300_000
    assert tx["order_date"].min() == pd.Timestamp(2023, 11, 1)
    assert tx["order_date"].max() == END_TS
    placed = orders(data)
    assert 300_000 <= len(placed) < len(tx)
    assert 650 <= placed["amount"].mean() <= 800  # revenue per order as with one line an order
    assert 2_000 <= len(data.leads) <= 10_000
    assert len(data.feedback) >= 5_000

    figures = {
        "top20_revenue_share": revenue_share_top20(data),
        "repeat_rate": repeat_rate(data),
        "churn_share": float(churned(data).mean()),
        "csat_satisfied_share": csat_satisfied_share(data),
    }
    assert 0.55 <= figures["top20_revenue_share"] <= 0.85
    assert 0.35 <= figures["repeat_rate"] <= 0.75
    assert 0.3 <= figures["churn_share"] <= 0.7
    assert 0.7 <= figures["csat_satisfied_share"] <= 0.85
    print(
        f"\ndefault size: {len(tx):,} transaction rows, {len(placed):,} orders of "
        f"{placed['lines'].mean():.2f} lines, {len(data.customers):,} customers, "
        f"{len(data.feedback):,} feedback rows, {len(data.leads):,} leads; "
        + ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
        + f"; generate {generated - started:.2f} s, write_files {written - generated:.2f} s"
    )
