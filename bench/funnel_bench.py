"""Funnel page data (the leads funnel) at 1M leads: cold, warm, and pandas, side by side.

The database is ``bench/work/funnel_<N>.duckdb`` (``funnel_data.py``: a copy of the overview benchmark's
``overview_<N>.duckdb``, N transactions, with N seeded leads imported through the real pipeline: 90 % as a file of
stage dates in the demo's shape, 10 % as a stage-change log; made once, reused). For each scope (the default scope,
``analytics.scope.default_scope``: the last 12 months against the 12 before; and the same with a region filter), each
measurement in a fresh process, on a snapshot of ``analytics/`` (``bench_code.snapshot_code``), interleaved per round:

- **mart** (once, before the rest): the ``lead_stages`` mart built again (``create or replace table`` of its SQL, as
  every import does in its transaction; rolled back) on a copy of the database: median of 3, with its rows;
- **cold**: connect (read-only) and ``funnel_view.load(con, scope)``, the funnel page's data (what the page
  registry's loader computes: the leads funnel with the comparison's counts, the mapping, the evidence and the
  stuck leads' customers), nothing cached; split by the functions it calls (:data:`TIMED`, inclusive seconds per
  call path; ``(rest)`` outside them); with ``--before REV`` also the same on that commit's ``analytics/``
  (``cold_before``), in the same rounds, and whether its view is the same (``before_matches``);
- **warm**: the page's cached loader (``ui.loaders.load_view("funnel", ...)``, the page registry's) called again
  once filled (median of 5 calls); ``warm_first``: the filling call (the page's whole view, ``funnel_view.load``);
- **pandas** (the baseline, same run): the reach table and the figures (strict stage counts, lost leads, each
  step per region) with pandas/numpy from the stored leads rows and the transactions already in DataFrames (their
  read is timed apart and not counted; ``funnel_pandas.py``), then, not timed, checked equal to the app's.

Target at 1M leads on 2 cores: cold <= 1 s. The machine is shared: each figure is given with the load average
and the CPU seconds of all the process's threads. Results go to ``bench/funnel_results.json``; a missed target
prints FAIL and exits 0 (a measurement, not a test).

Usage: ``python bench/funnel_bench.py [--rows 1000000] [--repeat 3] [--before REV]``
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
from datetime import timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from bench_common import PROJECT_ROOT, WORK_DIR, Timers, _status_mb, default_scope_of, finish, warm_loader  # noqa: E402
from churn_bench import REGION, WARM_CALLS, _median_parts, _ms, _versions  # noqa: E402

TARGET_COLD_S = 1.0
#: Timed pieces by module (calls nest).
TIMED = {"view": "leads_funnel _customers restricted",
         "funnel_leads": "data_end definitions leads_reach comparison_counts _named_leads _loyal funnel stage_counts",
         "funnel": "counted group_conversion stage_times stuck_thresholds stuck_members biggest_leak"}


# --------------------------------------------------------------------------- inside a worker

def _cold(db: str, scope) -> dict:
    from analytics.metrics import funnel, funnel_leads, funnel_view, funnel_view_leads
    from analytics.store.connection import connect

    timers = Timers({"view": funnel_view_leads, "funnel_leads": funnel_leads, "funnel": funnel}, TIMED)
    t0, c0 = time.perf_counter(), time.process_time()
    con = connect(db, read_only=True)
    connected = time.perf_counter() - t0
    view = funnel_view.load(con, scope)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "cpu_seconds": time.process_time() - c0,
            "parts": {"connect": connected} | timers.take(seconds - connected),
            "view": {"kind": view.kind, "cohort": view.leads.cohort, "as_of": str(view.funnel.as_of),
                     "members": [int(x) for x in view.funnel.counts["members"]],
                     "comparison": [int(x) for x in view.comparison["members"]],
                     "stuck": len(view.funnel.stuck), "stuck_with_customer": int(view.funnel.stuck["customer_id"]
                                                                                 .notna().sum())}}


def _warm(db: str, scope) -> dict:
    os.environ["CRM_DB"] = db
    from ui import loaders

    loaders.load_view_funnel = lambda key, version, options: loaders.load_view("funnel", key, version, options)
    return warm_loader(db, "load_view_funnel", scope.cache_key(), WARM_CALLS) | {"loader": "load_view"}


def _pandas(db: str, scope) -> dict:
    from funnel_pandas import compare, figures, of_app, reach_table

    from analytics.metrics import funnel_leads
    from analytics.metrics.loyalty import DEFAULT_MIN_DAYS
    from analytics.store.connection import connect

    con = connect(db, read_only=True)
    t0 = time.perf_counter()
    leads = con.execute("select import_id, line, lead_id, stage, stage_date, created_date, customer_id, region, "
                        "source, sales_rep, qualified_date, proposal_date, closed_date, outcome from leads").df()
    tx = con.execute("select customer_id, order_date, is_return from transactions").df()
    load = time.perf_counter() - t0
    stages, saved = funnel_leads.definitions(con, None, None)
    as_of = funnel_leads.data_end(con)
    created = (scope.start, min(scope.end_exclusive - timedelta(days=1), as_of))
    t0, c0 = time.perf_counter(), time.process_time()
    reach = reach_table(leads, tx, stage_map=saved, created=created, as_of=as_of,
                        region=scope.regions[0] if scope.regions else None, min_days=DEFAULT_MIN_DAYS)
    mine = figures(reach, stages)
    out = {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0, "load_seconds": load,
           "leads_rows": len(leads), "transactions": len(tx)}
    checked = compare(of_app(funnel_leads.leads_funnel(con, scope)), mine)
    return out | {"matches": {k: v["matches"] for k, v in checked.items()},
                  "differences": {k: v for k, v in checked.items() if not v["matches"]}}


def _mart(db: str) -> dict:
    from analytics.store import marts
    from analytics.store.connection import connect

    copy = WORK_DIR / "funnel_mart_copy.duckdb"
    shutil.copyfile(db, copy)
    try:
        con = connect(copy)
        times, purchases = [], []
        models = [m for m in ("lead_stages", "lead_purchases") if m in marts.MARTS]
        for _ in range(3):
            con.execute("begin")
            for model, into in zip(models, (times, purchases), strict=False):
                t0 = time.perf_counter()
                con.execute(f"create or replace table {model} as {marts.model_sql(model)}")
                into.append(time.perf_counter() - t0)
            rows = con.execute("select count(*) from lead_stages").fetchall()[0][0]
            con.execute("rollback")
        leads = con.execute("select count(*), count(distinct lead_id) from leads").fetchall()[0]
        con.close()
    finally:
        copy.unlink(missing_ok=True)
    return {"seconds": statistics.median(times), "runs": times, "mart_rows": rows, "leads_rows": leads[0],
            "leads": leads[1], "purchases_seconds": statistics.median(purchases) if purchases else None}


def worker(mode: str, db: str, filtered: bool) -> dict:
    """One measurement in this (fresh) process."""
    extra = {"peak_rss_mb": _status_mb("VmHWM"), "load_average": os.getloadavg()}
    if mode == "data":
        from funnel_data import database

        t0 = time.perf_counter()
        _, made = database(int(Path(db).stem.split("_")[-1]), WORK_DIR)
        return {"made": bool(made), "seconds": time.perf_counter() - t0} | made | extra
    if mode == "mart":
        return _mart(db) | extra
    scope = default_scope_of(db, REGION if filtered else None)
    modes = {"cold": _cold, "cold_before": _cold, "warm": _warm, "pandas": _pandas}
    out = modes[mode](db, scope)
    return out | {"peak_rss_mb": _status_mb("VmHWM"), "load_average": os.getloadavg()}


# --------------------------------------------------------------------------- the parent

def run(mode: str, db: Path, filtered: bool, code: Path) -> dict:
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(code), str(PROJECT_ROOT)])}
    args = [sys.executable, __file__, "--worker", mode, str(db), *(["--filtered"] if filtered else [])]
    out = subprocess.run(args, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT)
    if out.returncode:
        raise RuntimeError(f"worker {mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(rows: int, db: Path, filtered: bool, repeat: int, code: Path, before: Path | None) -> dict:
    """Every measurement of one scope (medians of ``repeat`` rounds of cold, [cold before,] warm and pandas)."""
    runs: dict[str, list] = {"cold": [], **({"cold_before": []} if before else {}), "warm": [], "pandas": []}
    for _ in range(repeat):
        for mode in runs:
            runs[mode].append(run(mode, db, filtered, before if mode == "cold_before" else code))
    med = {m: statistics.median(r["seconds"] for r in rs) for m, rs in runs.items()}
    matches = {k: all(r["matches"][k] for r in runs["pandas"]) for k in runs["pandas"][0]["matches"]}
    out = {"rows": rows, "scope": f"region {REGION}" if filtered else "default", "filtered": filtered,
           "cohort": runs["cold"][0]["view"]["cohort"], "cold_s": med["cold"],
           "cold_cpu_s": statistics.median(r["cpu_seconds"] for r in runs["cold"]),
           "cold_parts": _median_parts(runs["cold"]), "warm_s": med["warm"],
           "warm_first_s": statistics.median(r["first_seconds"] for r in runs["warm"]),
           "pandas_s": med["pandas"], "pandas_cpu_s": statistics.median(r["cpu_seconds"] for r in runs["pandas"]),
           "pandas_load_s": statistics.median(r["load_seconds"] for r in runs["pandas"]),
           "pandas_over_cold": med["pandas"] / med["cold"], "matches": matches, "all_match": all(matches.values()),
           "differences": next((r["differences"] for r in runs["pandas"] if r["differences"]), {}),
           "load_average": [r["load_average"][0] for rs in runs.values() for r in rs],
           "view": runs["cold"][0]["view"], "peak_rss_mb": {m: max(r["peak_rss_mb"] for r in rs)
                                                            for m, rs in runs.items()}, "runs": runs}
    if before:
        out |= {"cold_before_s": med["cold_before"],
                "cold_before_cpu_s": statistics.median(r["cpu_seconds"] for r in runs["cold_before"]),
                "cold_before_parts": _median_parts(runs["cold_before"]),
                "before_matches": runs["cold_before"][0]["view"] == out["view"]}
    return out


def table(sizes: list[dict]) -> str:
    """The results as a markdown table (medians; wall clock, CPU seconds of all threads in brackets)."""
    lines = ["| leads | scope | cohort | cold (CPU s) | cold before (CPU s) | warm (loader again) "
             "| loader's first call | pandas (CPU s) (+ read) | pandas / cold | load average (1 min) | figures equal |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for s in sizes:
        wrong = ", ".join(k for k, ok in s["matches"].items() if not ok)
        before = f"{_ms(s['cold_before_s'])} ({s['cold_before_cpu_s']:.2f})" if "cold_before_s" in s else "-"
        load = s["load_average"]
        lines.append(f"| {s['rows']:,} | {s['scope']} | {s['cohort']:,} | {_ms(s['cold_s'])} ({s['cold_cpu_s']:.2f}) "
                     f"| {before} | {_ms(s['warm_s'])} | {_ms(s['warm_first_s'])} "
                     f"| {_ms(s['pandas_s'])} ({s['pandas_cpu_s']:.2f}) (+{_ms(s['pandas_load_s'])}) "
                     f"| {s['pandas_over_cold']:.1f}x | {min(load):.1f}-{max(load):.1f} "
                     f"| {'all' if not wrong else 'NOT: ' + wrong} |")
    return "\n".join(lines)


def _snapshot_rev(rev: str) -> Path:
    """``analytics/`` as of the commit ``rev`` in ``bench/work/code_before_<rev>/``."""
    target = WORK_DIR / f"code_before_{rev}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev, "analytics"], cwd=PROJECT_ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", help="also measure cold on this commit's analytics/ (same rounds)")
    parser.add_argument("--output", type=Path, default=BENCH / "funnel_results.json")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "DB"))
    parser.add_argument("--filtered", action="store_true", help="(worker) the region-filtered scope")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.filtered), default=str))
        return 0
    from bench_code import _git_state, snapshot_code

    WORK_DIR.mkdir(exist_ok=True)
    code = snapshot_code()
    before = _snapshot_rev(args.before) if args.before else None
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "code": _git_state() | {"measured": code.name},
               "before": args.before, "repeat": args.repeat, "statistic": "median", "cores": os.cpu_count(),
               "versions": _versions(), "load_average_start": os.getloadavg(), "sizes": [], "data": [], "marts": []}
    try:
        for rows in args.rows:
            db = WORK_DIR / f"funnel_{rows}.duckdb"
            data = run("data", db, False, code)
            results["data"].append({"rows": rows} | data)
            mart = {"rows": rows, "now": run("mart", db, False, code)}
            if before:
                mart["before"] = run("mart", db, False, before)
            results["marts"].append(mart)
            print(f"{rows:>11,} leads: database {'made' if data['made'] else 'reused'} ({data['seconds']:.1f} s); "
                  f"lead_stages mart {_ms(mart['now']['seconds'])} ({mart['now']['mart_rows']:,} rows, load "
                  f"{mart['now']['load_average'][0]:.1f}; lead_purchases "
                  f"{_ms(mart['now']['purchases_seconds'] or 0)})" + (f", before {_ms(mart['before']['seconds'])} "
                                                             f"({mart['before']['mart_rows']:,} rows)" if before
                                                             else ""), flush=True)
            for filtered in (False, True):
                row = measure(rows, db, filtered, args.repeat, code, before)
                results["sizes"].append(row)
                print(f"{rows:>11,} leads, {row['scope']:<10} cold {_ms(row['cold_s'])}"
                      + (f" (before {_ms(row['cold_before_s'])})" if before else "")
                      + f", warm {_ms(row['warm_s'])}, pandas {_ms(row['pandas_s'])} (+{_ms(row['pandas_load_s'])} "
                      f"read), pandas/cold {row['pandas_over_cold']:.1f}x, figures equal: {row['all_match']}",
                      flush=True)
    finally:
        shutil.rmtree(code, ignore_errors=True)
        if before:
            shutil.rmtree(before, ignore_errors=True)
    results["load_average_end"] = os.getloadavg()
    results["verdicts"] = [{"target": f"cold <= 1 s at {s['rows']:,} leads, {s['scope']} scope (cohort "
                                      f"{s['cohort']:,}; pandas / cold {s['pandas_over_cold']:.1f}x)",
                            "value": f"{s['cold_s']:.3f} s (CPU {s['cold_cpu_s']:.2f} s, load "
                                     f"{min(s['load_average']):.1f}-{max(s['load_average']):.1f})",
                            "pass": s["cold_s"] <= TARGET_COLD_S} for s in results["sizes"]]
    print("\n" + table(results["sizes"]) + "\n")
    finish(results, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
