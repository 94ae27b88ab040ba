"""A seeded world for the satisfaction & loyalty page's tests: sales (tests/test_churn_view.random_rows: 400
customers from 2022-06 to 2025-02, three regions, two segments, most in the customers file), surveys after some
purchases (1-5 satisfaction, or 0-10 recommend) whose scores lean on how often the customer buys, and complaints,
some never resolved. ``reference_*`` compute the page's figures from these raw rows with pandas."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from import_util import database_of
from test_churn_view import random_rows

PERIOD_START, PERIOD_END = date(2024, 1, 1), date(2024, 12, 1)  # whole months, the last one's first day
END = date(2024, 12, 31)


def world(seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    sales, customers = random_rows()
    rng = np.random.default_rng(seed)
    buys = sales[sales["amount"] > 0]
    pace = buys.groupby("customer_id").size()
    notes = []
    for row in buys.sample(frac=1.0, random_state=seed).itertuples():
        lean = min(pace[row.customer_id] / 20, 1.0)
        when = row.day + timedelta(days=int(rng.integers(0, 5)))
        if rng.random() < 0.7:
            score = int(np.clip(np.round(rng.normal(2.8 + 1.8 * lean, 1.0)), 1, 5))
            notes.append((row.customer_id, when, score, "survey", "csat", None, None))
        else:
            score = int(np.clip(np.round(rng.normal(5.5 + 4 * lean, 2.0)), 0, 10))
            notes.append((row.customer_id, when, score, "survey", "nps", None, None))
        if rng.random() < 0.05:
            solved = when + timedelta(days=int(rng.integers(0, 30))) if rng.random() < 0.8 else None
            notes.append((row.customer_id, when, None, "complaint", None, solved, ("物流", "质量", "服务")[
                int(rng.integers(3))]))
    feedback = pd.DataFrame(notes, columns=["customer_id", "feedback_date", "score", "feedback_kind", "scale",
                                            "resolved_date", "category"])
    feedback.insert(0, "feedback_id", [f"F{k:05d}" for k in range(len(feedback))])
    return sales, customers, feedback


def surveys(feedback: pd.DataFrame, scale: str, first: date, last: date) -> pd.DataFrame:
    f = feedback[(feedback["feedback_kind"] == "survey") & (feedback["scale"] == scale)]
    return f[(f["feedback_date"] >= first) & (f["feedback_date"] <= last)]


def month_last(d: date) -> date:
    return (pd.Timestamp(d) + pd.offsets.MonthEnd(0)).date()


@pytest.fixture(scope="module", name="without_feedback")
def without_feedback_fixture(world, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's ``world`` (sales, customers, ...) imported without its feedback: a database with no survey and
    no complaint file."""
    sales, customers = world[0], world[1]
    return database_of(tmp_path_factory.mktemp("no_feedback"), {
        "customers": customers, "transactions": sales.rename(columns={"day": "order_date"})})
