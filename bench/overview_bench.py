"""Overview load time at 1M and 10M transactions: cold, warm, and pandas, side by side.

For each size the benchmark imports ``bench/work/transactions_<N>.csv`` (made by
``import_bench.py``; generated here if missing) into ``bench/work/overview_<N>.duckdb``
through the real pipeline (once; reused afterwards, and upgraded in place when this release
has newer schema migrations; delete the file to import again), then measures, each in a
fresh subprocess:

- **cold**: open the database and compute what the overview page draws at once
  (``analytics.metrics.overview.overview(..., with_average_clv=False, with_churn=False)``, the page's
  ``ui.loaders.load_overview_fast``) for the default scope: 12 months against the previous 12, nothing
  cached; and the same with a region and a channel filter. The two tiles the page fills after it are timed
  apart in the same process, after it: **churn tile** (``overview_churn.churn_tile``) and **average CLV**
  (``overview_value.average_clv``: fits the value models), not counted in cold;
- **warm**: the page's cached loader (``ui.loaders.load_overview_fast``) called again with the
  same scope and data version: what a second visitor, or a rerun, waits for;
- **pandas**: the same figures computed with pandas from the raw transactions already in
  memory (the load of the rows into pandas is timed separately and not counted), checked
  equal to the DuckDB figures.

Targets at 10M rows: cold < 1 s, warm < 100 ms, pandas / cold >= 10. Results go to
``bench/overview_results.json``; a missed target prints FAIL but exits 0 (a measurement,
not a test).

Usage: ``python bench/overview_bench.py [--rows 1000000 10000000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

TARGET_COLD_S = 1.0
TARGET_WARM_S = 0.1
TARGET_SPEEDUP = 10.0


def reuse(db: Path) -> bool:
    """Whether a benchmark database ``db`` is there to reuse, brought to this release first, as the app brings a
    database when it opens it: one made by an older release gets the newer migrations and, when other models built
    its marts, the marts again (and its summaries again, if it had them built)."""
    import duckdb

    from analytics.store import marts
    from analytics.store.connection import connect
    from analytics.store.migrations import SCHEMA_VERSION, schema_version

    if not db.exists():
        return False
    probe = duckdb.connect(str(db), read_only=True)
    current = schema_version(probe)
    stamps = dict(probe.execute("select key, value from meta where key in ('marts_version', 'summaries_version')"
                                ).fetchall())
    probe.close()
    if current != SCHEMA_VERSION or stamps.get("marts_version") != marts.models_version():
        con = connect(db)
        if "summaries_version" in stamps and not marts.summaries_ready(con):
            marts.summarize(con)
        con.close()
    return True


def copy_for(name: str, rows: int, work: Path) -> tuple[Path, Path | None]:
    """A benchmark database made from this one (``<work>/<name>_<rows>.duckdb``): (its file, None) when it is there
    to reuse (:func:`reuse`), else (its file, a fresh copy of ``overview_<rows>.duckdb``, made when missing, under a
    partial name: the caller adds its rows and renames it to the file once whole, so a half-made file is never
    reused)."""
    db = work / f"{name}_{rows}.duckdb"
    if reuse(db):
        return db, None
    source = work / f"overview_{rows}.duckdb"
    if not source.exists():
        database(rows)
    partial = work / f"{name}_{rows}.partial.duckdb"
    partial.unlink(missing_ok=True)
    shutil.copyfile(source, partial)
    return db, partial


def database(rows: int) -> Path:
    """The benchmark database for ``rows`` transactions, imported through the pipeline."""
    from analytics.store.connection import connect

    db = WORK / f"overview_{rows}.duckdb"
    if reuse(db):
        return db
    from import_bench import ensure_csv

    csv, _ = ensure_csv(rows, os.environ.get("CRM_DB_MEMORY", "1GB"))
    from analytics.ingest.pipeline import import_file

    con = connect(db)
    import_file(con, csv, commit=True, kind="transactions", imported_by="bench")
    con.close()
    return db


def _scope(db: Path, filtered: bool):
    from analytics.scope import default_scope
    from analytics.store.connection import connect

    con = connect(db, read_only=True)
    scope = default_scope(con)
    con.close()
    if filtered:
        from dataclasses import replace

        from import_bench import CHANNELS, REGIONS

        scope = replace(scope, regions=(REGIONS[0],), channels=(CHANNELS[0],))
    return scope


def worker(mode: str, db: str, filtered: bool) -> dict:
    """One measurement in this (fresh) process."""
    from analytics.metrics import overview
    from analytics.store.connection import connect

    scope = _scope(Path(db), filtered)
    if mode == "cold":
        from analytics.metrics import overview_churn, overview_value

        t0 = time.perf_counter()
        con = connect(db, read_only=True)
        view = overview.overview(con, scope, with_average_clv=False, with_churn=False)
        seconds = time.perf_counter() - t0
        t1 = time.perf_counter()
        overview_churn.churn_tile(con, scope)
        t2 = time.perf_counter()
        overview_value.average_clv(con, scope)
        t3 = time.perf_counter()
        return {"seconds": seconds, "revenue": view.kpis["revenue"].value, "churn_tile_seconds": t2 - t1,
                "average_clv_seconds": t3 - t2}
    if mode == "warm":
        os.environ["CRM_DB"] = db
        import logging

        logging.getLogger("streamlit").setLevel(logging.ERROR)
        from ui import loaders

        version = loaders.data_version()
        loaders.load_overview_fast(scope.cache_key(), version)  # fills the cache
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            loaders.load_overview_fast(scope.cache_key(), loaders.data_version())
            times.append(time.perf_counter() - t0)
        return {"seconds": statistics.median(times)}
    if mode == "pandas":
        con = connect(db, read_only=True)
        t0 = time.perf_counter()
        tx = con.execute("select customer_id, order_date, amount, region, channel, is_return, is_order_start "
                         "from transactions").df()
        load = time.perf_counter() - t0
        con.close()
        t0 = time.perf_counter()
        figures = pandas_overview(tx, scope)
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "load_seconds": load, "revenue": figures["revenue"], "figures": figures}
    raise ValueError(mode)


def pandas_overview(tx, scope) -> dict:
    """The overview's KPIs, monthly trend and revenue by region with pandas (no customers
    file here, so the home region is the region of most spend, ties by name)."""
    import pandas as pd

    tx = tx.copy()
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    tx["amount"] = tx["amount"].astype(float)
    tx["month"] = tx["order_date"].dt.to_period("M")
    spend = tx.groupby(["customer_id", "region"], as_index=False)["amount"].sum()
    spend = spend.sort_values(["customer_id", "amount", "region"], ascending=[True, False, False])
    home = spend.drop_duplicates("customer_id").set_index("customer_id")["region"]
    first = tx[~tx["is_return"]].groupby("customer_id")["order_date"].min()

    def period(start: date, end: date) -> dict:
        lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.offsets.MonthBegin(1)
        rows = tx[(tx["order_date"] >= lo) & (tx["order_date"] < hi)]
        if scope.regions:
            rows_r = rows[rows["region"].isin(scope.regions)]
        else:
            rows_r = rows
        if scope.channels:
            rows_r = rows_r[rows_r["channel"].isin(scope.channels)]
            rows_c = rows[rows["channel"].isin(scope.channels)]
        else:
            rows_c = rows
        orders = int((rows_r["is_order_start"] & ~rows_r["is_return"]).sum())
        gross = rows_r.loc[~rows_r["is_return"], "amount"].sum()
        per = rows_c.assign(o=rows_c["is_order_start"] & ~rows_c["is_return"]).groupby("customer_id")["o"].sum()
        if scope.regions:
            per = per[home.reindex(per.index).isin(scope.regions).to_numpy()]
        active = per[per > 0]
        new = active[(first.reindex(active.index) >= lo).to_numpy() & (first.reindex(active.index) < hi).to_numpy()]
        return {"revenue": rows_r["amount"].sum(), "orders": orders, "aov": gross / orders if orders else None,
                "active": len(active), "new": len(new), "repeat_rate": (per >= 2).sum() / len(active) if len(active)
                else None, "by_region": rows_r.groupby("region")["amount"].sum().to_dict(),
                "trend": rows_r.groupby("month")["amount"].sum().to_dict()}

    now = period(scope.start, scope.end)
    comparison = scope.comparison()
    before = period(comparison.start, comparison.end) if comparison else None
    return {"revenue": float(now["revenue"]), "orders": now["orders"], "active": now["active"], "new": now["new"],
            "repeat_rate": now["repeat_rate"], "previous_revenue": float(before["revenue"]) if before else None,
            "regions": len(now["by_region"]), "months": len(now["trend"])}


def run(mode: str, db: Path, filtered: bool) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", mode, str(db)] + (["--filtered"] if filtered else []),
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "DB"))
    parser.add_argument("--filtered", action="store_true")
    args = parser.parse_args(argv)
    if args.worker:
        result = worker(args.worker[0], args.worker[1], args.filtered)
        result.pop("figures", None)
        print(json.dumps(result, default=str))
        return 0
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "sizes": []}
    for rows in args.rows:
        db = database(rows)
        for filtered in (False, True):
            runs = {m: [run(m, db, filtered) for _ in range(args.repeat)] for m in ("cold", "warm", "pandas")}
            cold = statistics.median(r["seconds"] for r in runs["cold"])
            warm = statistics.median(r["seconds"] for r in runs["warm"])
            pandas_s = statistics.median(r["seconds"] for r in runs["pandas"])
            load = statistics.median(r["load_seconds"] for r in runs["pandas"])
            same = abs(runs["cold"][0]["revenue"] - runs["pandas"][0]["revenue"]) < 0.01
            churn_s = statistics.median(r["churn_tile_seconds"] for r in runs["cold"])
            clv_s = statistics.median(r["average_clv_seconds"] for r in runs["cold"])
            row = {"rows": rows, "filtered": filtered, "cold_s": cold, "warm_s": warm, "pandas_s": pandas_s,
                   "churn_tile_s": churn_s, "average_clv_s": clv_s,
                   "pandas_load_s": load, "speedup_cold_vs_pandas": pandas_s / cold, "revenue_matches": same,
                   "runs": runs}
            results["sizes"].append(row)
            label = "region+channel filter" if filtered else "no filter"
            print(f"{rows:>11,} rows, {label:<22} cold {cold * 1000:7.0f} ms   warm {warm * 1000:6.1f} ms   "
                  f"pandas {pandas_s * 1000:7.0f} ms (+{load * 1000:.0f} ms to load the rows)   "
                  f"pandas/cold {pandas_s / cold:5.1f}x   revenue equal: {same}   "
                  f"then: churn tile {churn_s * 1000:.0f} ms, average CLV {clv_s * 1000:.0f} ms")
    big = [r for r in results["sizes"] if r["rows"] == max(args.rows)]
    for r in big:
        label = "filtered" if r["filtered"] else "default"
        for name, ok, shown in (("cold < 1 s", r["cold_s"] < TARGET_COLD_S, f"{r['cold_s']:.3f} s"),
                                ("warm < 100 ms", r["warm_s"] < TARGET_WARM_S, f"{r['warm_s'] * 1000:.1f} ms"),
                                ("pandas/cold >= 10", r["speedup_cold_vs_pandas"] >= TARGET_SPEEDUP,
                                 f"{r['speedup_cold_vs_pandas']:.1f}x")):
            print(f"{'PASS' if ok else 'FAIL'}  {name} at {r['rows']:,} rows ({label}): {shown}")
    (ROOT / "bench" / "overview_results.json").write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
