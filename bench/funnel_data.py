"""The funnel benchmark's database: ``bench/work/funnel_<N>.duckdb``, a copy of the overview benchmark's
``overview_<N>.duckdb`` (N transactions imported through the pipeline; never modified here) with :data:`LEADS`
seeded leads imported through the real pipeline in two of the three shapes, and the summaries built. Made once and
reused (upgraded in place when this release has newer schema migrations or mart models; delete the file to
make it again).

The leads (:func:`lead_files`), created on business-like days from :data:`FIRST_DAY` to the transactions' last day
(so a 12-month cohort holds about a quarter of them):

- ``bench/work/leads_dates_<N>.csv`` (shape b, the demo generator's: one row per lead, Chinese headers, a stage
  column beside the stage dates): 90 % of the leads. Each passes 线索 → 意向 (55 %) → 报价 (60 % of those) → 成交
  (45 % of those), else 流失 when it stopped after 意向 (50 %); days between stages 1–20; a won lead is linked to a
  customer of the transactions (drawn at random, 80 % of won leads), so its purchase stages come from them;
- ``bench/work/leads_log_<N>.csv`` (shape a, a stage-change log without a created date column): the other 10 %,
  one row per stage reached with its day (the same walk, English stage names lead / qualified / quote / won /
  lost), the customer named on the won row only.

Region, source and rep: one of the transactions' regions (5 % none), six sources, four reps per region.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

LEADS = 1_000_000
LOG_SHARE = 0.10
FIRST_DAY = np.datetime64("2021-03-01")
SOURCES = ("官网表单", "搜索广告", "展会", "电话营销", "老客户推荐", "社交媒体")
SEED = 15


def _walk(rng: np.random.Generator, n: int, last: np.datetime64) -> dict[str, np.ndarray]:
    """Per lead: created day, then the days of 意向, 报价, the close (NaT when not reached) and the outcome."""
    span = int((last - FIRST_DAY).astype(int))
    created = FIRST_DAY + rng.integers(0, span + 1, n).astype("timedelta64[D]")
    step = [rng.integers(1, 21, n).astype("timedelta64[D]") for _ in range(3)]
    qualified = rng.random(n) < 0.55
    proposal = qualified & (rng.random(n) < 0.60)
    won = proposal & (rng.random(n) < 0.45)
    lost = qualified & ~won & (rng.random(n) < 0.50)
    nat = np.datetime64("NaT", "D")
    q_day = np.where(qualified, created + step[0], nat)
    p_day = np.where(proposal, q_day + step[1], nat)
    c_day = np.where(won | lost, np.where(proposal, p_day, q_day) + step[2], nat)
    # nothing after the data's end: a stage that would fall later is not reached yet
    q_day, p_day, c_day = (np.where(d <= last, d, nat) for d in (q_day, p_day, c_day))
    outcome = np.where(~np.isnat(c_day), np.where(won, "won", "lost"), None)
    return {"created": created, "qualified": q_day, "proposal": p_day, "closed": c_day, "outcome": outcome}


def _day(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnat(values), "", np.datetime_as_string(values, unit="D"))


def lead_files(customers: np.ndarray, regions: np.ndarray, last: np.datetime64, leads: int = LEADS,
               seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two files' rows (module docstring): the stage-dates file (demo headers) and the stage-change log."""
    rng = np.random.default_rng(seed)
    w = _walk(rng, leads, last)
    region = np.where(rng.random(leads) < 0.05, "", regions[rng.integers(0, len(regions), leads)])
    source = np.asarray(SOURCES, dtype=object)[rng.integers(0, len(SOURCES), leads)]
    rep_no = rng.integers(1, 5, leads)
    rep = np.char.add(np.char.add(region.astype(str), "销售"), rep_no.astype(str)).astype(object)
    won = w["outcome"] == "won"
    linked = won & (rng.random(leads) < 0.80)
    customer = np.where(linked, customers[rng.integers(0, len(customers), leads)], "")
    ids = np.char.add("XS", np.char.zfill(np.arange(1, leads + 1).astype(str), 7)).astype(object)
    stage = np.select([won, w["outcome"] == "lost", ~np.isnat(w["proposal"]), ~np.isnat(w["qualified"])],
                      ["成交", "流失", "报价", "意向"], "线索")
    in_log = rng.random(leads) < LOG_SHARE
    b = ~in_log
    dates = pd.DataFrame({"线索编号": ids[b], "创建日期": _day(w["created"][b]), "阶段": stage[b],
                          "客户编号": customer[b], "大区": region[b], "线索来源": source[b], "销售代表": rep[b],
                          "意向日期": _day(w["qualified"][b]), "报价日期": _day(w["proposal"][b]),
                          "关闭日期": _day(w["closed"][b]), "结果": np.where(w["outcome"][b] == None, "",  # noqa: E711
                                                                          w["outcome"][b])})
    parts = []
    for name, days, keep in (("lead", w["created"], in_log), ("qualified", w["qualified"], in_log),
                             ("quote", w["proposal"], in_log),
                             ("won", w["closed"], in_log & won),
                             ("lost", w["closed"], in_log & (w["outcome"] == "lost"))):
        k = keep & ~np.isnat(days)
        parts.append(pd.DataFrame({"lead_id": ids[k], "stage": name, "stage_date": _day(days[k]),
                                   "sales_rep": rep[k], "region": region[k], "source": source[k],
                                   "customer_id": customer[k] if name == "won" else ""}))
    log = pd.concat(parts, ignore_index=True).sort_values(["lead_id", "stage_date"], kind="stable")
    return dates, log


def database(rows: int, work: Path) -> tuple[Path, dict]:
    """The benchmark database for ``rows`` transactions (module docstring), made when missing; with what making it
    took (empty when it was there)."""
    from overview_bench import copy_for

    from analytics.ingest.pipeline import import_file
    from analytics.store import marts
    from analytics.store.connection import connect

    db, partial = copy_for("funnel", rows, work)
    if partial is None:
        return db, {}
    made: dict = {}
    t0 = time.perf_counter()
    con = connect(partial)
    customers = np.asarray([r[0] for r in con.execute("select distinct customer_id from transactions "
                                                      "order by 1").fetchall()], dtype=object)
    regions = np.asarray([r[0] for r in con.execute("select distinct region from transactions where region "
                                                    "is not null order by 1").fetchall()], dtype=object)
    last = np.datetime64(con.execute("select max(order_date) from transactions").fetchall()[0][0], "D")
    dates, log = lead_files(customers, regions, last)
    files = {"dates": work / f"leads_dates_{rows}.csv", "log": work / f"leads_log_{rows}.csv"}
    dates.to_csv(files["dates"], index=False)
    log.to_csv(files["log"], index=False)
    made["write_csv_s"] = time.perf_counter() - t0
    for name, frame in (("dates", dates), ("log", log)):
        t0 = time.perf_counter()
        report = import_file(con, files[name], kind="leads", commit=True, imported_by="bench")
        made[f"import_{name}_s"] = time.perf_counter() - t0
        made[f"rows_{name}"] = [report.rows_imported, report.rows_rejected]
        if (report.rows_imported, report.rows_rejected) != (len(frame), 0):
            con.close()
            raise RuntimeError(f"the leads import ({name}) took {report.rows_imported:,} of {len(frame):,} rows "
                               f"({report.rows_rejected:,} rejected)")
    t0 = time.perf_counter()
    marts.summarize(con)
    made["summarize_s"] = time.perf_counter() - t0
    con.close()
    partial.rename(db)
    return db, made


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    print(database(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000, Path(__file__).resolve().parent / "work"))
