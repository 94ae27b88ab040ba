"""The satisfaction benchmark's database: ``bench/work/satisfaction_<N>.duckdb``, a copy of the overview benchmark's
``overview_<N>.duckdb`` (N transactions imported through the pipeline; never modified here) with a seeded feedback
file imported through the real pipeline too, and the summaries built. Made once and reused (upgraded in place when
this release has newer schema migrations; delete the file to make it again).

The feedback file (``bench/work/feedback_<N>.csv``, :func:`feedback_rows`): :data:`SURVEYS` survey rows, about
70 % CSAT 1–5 and 30 % NPS 0–10, and :data:`COMPLAINTS` complaints (a category; 85 % resolved 0–30 days after),
each dated 0–4 days (complaints 0–9) after one of the customer's purchases, drawn at random from all purchase rows
(so a customer who buys more answers more). Scores lean on how often the customer buys (their purchase rows, as a
z-score), so the page's retention curve has a real slope: CSAT ~ round(N(3.5 + 0.7 z, 1)) in 1..5, NPS ~
round(N(7 + 1.5 z, 2)) in 0..10. Columns as the importer maps them: ``feedback_id, customer_id, feedback_date,
score, scale`` ('CSAT' or 'NPS'), ``feedback_kind`` ('survey' or 'complaint'), ``category, resolved_date``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

SURVEYS = 200_000
COMPLAINTS = 10_000
CSAT_SHARE = 0.70
RESOLVED_SHARE = 0.85
CATEGORIES = ("物流", "质量", "服务", "价格", "售后")
SEED = 14


def feedback_rows(tx: pd.DataFrame, seed: int = SEED, surveys: int = SURVEYS, complaints: int = COMPLAINTS
                  ) -> pd.DataFrame:
    """The feedback file's rows (module docstring) from ``tx`` (``customer_id``, ``order_date``, ``is_return``: every
    transaction)."""
    rng = np.random.default_rng(seed)
    buys = tx.loc[~tx["is_return"].to_numpy(), ["customer_id", "order_date"]].reset_index(drop=True)
    pace = buys.groupby("customer_id")["order_date"].size()
    z = ((pace - pace.mean()) / pace.std()).reindex(buys["customer_id"]).to_numpy()
    day = pd.to_datetime(buys["order_date"]).to_numpy().astype("datetime64[D]")

    picked = rng.choice(len(buys), size=surveys, replace=False)
    csat = rng.random(surveys) < CSAT_SHARE
    lean = z[picked]
    score = np.where(csat, np.clip(np.round(rng.normal(3.5 + 0.7 * lean, 1.0)), 1, 5),
                     np.clip(np.round(rng.normal(7.0 + 1.5 * lean, 2.0)), 0, 10)).astype(np.int64)
    survey = pd.DataFrame({
        "customer_id": buys["customer_id"].to_numpy()[picked],
        "feedback_date": day[picked] + rng.integers(0, 5, surveys).astype("timedelta64[D]"),
        "score": pd.array(score, dtype="Int64"), "scale": np.where(csat, "CSAT", "NPS"), "feedback_kind": "survey",
        "category": None, "resolved_date": pd.NaT})

    picked = rng.choice(len(buys), size=complaints, replace=False)
    made = day[picked] + rng.integers(0, 10, complaints).astype("timedelta64[D]")
    resolved = made + rng.integers(0, 31, complaints).astype("timedelta64[D]")
    complaint = pd.DataFrame({
        "customer_id": buys["customer_id"].to_numpy()[picked], "feedback_date": made,
        "score": pd.array([None] * complaints, dtype="Int64"), "scale": None, "feedback_kind": "complaint",
        "category": np.asarray(CATEGORIES, dtype=object)[rng.integers(0, len(CATEGORIES), complaints)],
        "resolved_date": np.where(rng.random(complaints) < RESOLVED_SHARE, resolved, np.datetime64("NaT"))})
    rows = pd.concat([survey, complaint], ignore_index=True)
    rows.insert(0, "feedback_id", [f"FB{k:08d}" for k in range(len(rows))])
    for column in ("feedback_date", "resolved_date"):
        rows[column] = pd.to_datetime(rows[column]).dt.strftime("%Y-%m-%d")
    return rows


def database(rows: int, work: Path) -> tuple[Path, dict]:
    """The benchmark database for ``rows`` transactions (module docstring), made when missing; with what making it
    took (empty when it was there)."""
    from overview_bench import copy_for

    from analytics.ingest.pipeline import import_file
    from analytics.store import marts
    from analytics.store.connection import connect

    db, partial = copy_for("satisfaction", rows, work)
    if partial is None:
        return db, {}
    made: dict = {}
    t0 = time.perf_counter()
    con = connect(partial)
    tx = con.execute("select customer_id, order_date, is_return from transactions").df()
    feedback = feedback_rows(tx)
    csv = work / f"feedback_{rows}.csv"
    feedback.to_csv(csv, index=False)
    made["write_csv_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = import_file(con, csv, kind="feedback", commit=True, imported_by="bench")
    made["import_s"] = time.perf_counter() - t0
    made |= {"rows_imported": report.rows_imported, "rows_rejected": report.rows_rejected}
    if (report.rows_imported, report.rows_rejected) != (len(feedback), 0):
        con.close()
        raise RuntimeError(f"the feedback import took {report.rows_imported:,} of {len(feedback):,} rows "
                           f"({report.rows_rejected:,} rejected)")
    t0 = time.perf_counter()
    marts.summarize(con)
    made["summarize_s"] = time.perf_counter() - t0
    con.close()
    partial.rename(db)
    return db, made
