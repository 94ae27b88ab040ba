"""RFM scores and segments (analytics.metrics.rfm) against an independent pandas computation."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from analytics.ingest.pipeline import import_file
from analytics.metrics.customer_base import customer_base
from analytics.metrics.rfm import SEGMENTS, quintile_scores, rfm_table, segment_grid, segment_summary
from analytics.scope import Scope
from analytics.store.connection import connect

# The widely used R × F segment map (regular expressions over "<R><F>"), with lost split from
# hibernating: a second, independent statement of the grid.
SEGMENT_RULES = [
    (r"11", "lost"), (r"[1-2][1-2]", "hibernating"), (r"[1-2][3-4]", "at_risk"), (r"[1-2]5", "cant_lose"),
    (r"3[1-2]", "about_to_sleep"), (r"33", "needs_attention"), (r"[3-4][4-5]", "loyal"), (r"41", "promising"),
    (r"51", "new"), (r"[4-5][2-3]", "potential_loyalists"), (r"5[4-5]", "champions"),
]


def pandas_scores(values: pd.Series, higher_is_better: bool) -> np.ndarray:
    """Scores from scipy's 'min' rank: the rank of the first of equal values, minus one, is how
    many values are worse."""
    ranks = rankdata(values if higher_is_better else -values, method="min")
    return np.minimum(5, 1 + (5 * (ranks - 1)) // len(values)).astype(int)


def test_quintile_scores_split_evenly_and_keep_ties_together():
    assert quintile_scores(np.arange(10)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quintile_scores(np.arange(10), higher_is_better=False).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    # six customers on one purchase day tie: one score, and the next value jumps past it
    assert quintile_scores(np.array([1, 1, 1, 1, 1, 1, 2, 2, 3, 9])).tolist() == [1] * 6 + [4, 4, 5, 5]
    assert quintile_scores(np.array([])).tolist() == []


def test_scores_and_segments_match_pandas_on_a_random_base():
    rng = np.random.default_rng(11)
    n = 2000
    base = pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in range(n)], "home_region": "华东", "segment": None,
        "recency_days": rng.integers(0, 400, n), "purchase_days": rng.geometric(0.45, n),
        "revenue": rng.gamma(2.0, 50.0, n).round(2),
    })
    base["gross_revenue"] = base["revenue"] + rng.choice([0.0, 5.0], n)
    table = rfm_table(base)
    monetary = base["gross_revenue"] / base["purchase_days"]
    assert table.r.tolist() == pandas_scores(base["recency_days"], False).tolist()
    assert table.f.tolist() == pandas_scores(base["purchase_days"], True).tolist()
    assert table.m.tolist() == pandas_scores(monetary, True).tolist()
    codes = (table.r.astype(str) + table.f.astype(str)).tolist()
    expected = [next(name for rule, name in SEGMENT_RULES if re.fullmatch(rule, code)) for code in codes]
    assert table.rfm_segment.tolist() == expected
    summary = segment_summary(table).set_index("rfm_segment")
    assert summary.index.tolist() == list(SEGMENTS)
    counts = pd.Series(expected).value_counts()
    assert summary.customers.to_dict() == {s: int(counts.get(s, 0)) for s in SEGMENTS}
    assert summary.customer_share.sum() == pytest.approx(1.0) and summary.revenue_share.sum() == pytest.approx(1.0)
    assert summary.revenue.sum() == pytest.approx(base.revenue.sum())
    grid = segment_grid(table)
    assert grid.to_numpy().sum() == n and grid.loc[5, 5] == ((table.r == 5) & (table.f == 5)).sum()


def test_rfm_of_an_imported_file_as_of_the_period_end(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    lines = ["customer_id,order_date,amount"]
    # C0..C9: customer i bought on i+1 days, the last one i*10 days before the end of June
    for i in range(10):
        for d in range(i + 1):
            lines.append(f"C{i},{(pd.Timestamp('2024-06-30') - pd.Timedelta(days=i * 10 + d)).date()},{10 * (i + 1)}")
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_file(con, tmp_path / "s.csv", commit=True)
    base = customer_base(con.cursor(), Scope(date(2024, 1, 1), date(2024, 6, 1)), date(2024, 7, 1))
    table = rfm_table(base).set_index("customer_id")
    assert table.recency_days.tolist() == [10 * i for i in range(10)]
    assert table.frequency.tolist() == list(range(1, 11))
    assert table.monetary.tolist() == [10.0 * (i + 1) for i in range(10)]
    assert table.r.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1] and table.f.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert table.rfm_segment.tolist() == ["new", "new", "potential_loyalists", "potential_loyalists",
                                          "needs_attention", "needs_attention", "at_risk", "at_risk", "cant_lose",
                                          "cant_lose"]
    con.close()
