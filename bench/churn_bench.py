"""Churn page data at 1M and 10M transactions: cold, warm, and pandas, side by side.

The databases are the overview benchmark's (``overview_bench.database``: ``bench/work/overview_<N>.duckdb``, the
file ``bench/work/transactions_<N>.csv`` imported through the real pipeline; made once, reused). For each size and
scope (the default scope, ``analytics.scope.default_scope``: the last 12 months against the 12 before; and the
same with a region filter), each measurement in a fresh process, on a snapshot of ``analytics/``
(``bench_code.snapshot_code``; other people edit the package meanwhile):

- **build** (once per size, before the rest): the summaries the app builds after an import
  (``analytics.store.marts.summarize``, forced: the stamp removed first), seconds; the database keeps them, as the
  app's would;
- **cold**: connect (read-only) and ``churn_view.churn_view(con, scope, with_at_risk=False, with_drivers=False)``:
  what the page draws at once (from the summaries), nothing cached; split by the functions it calls (:data:`TIMED`,
  inclusive seconds per call path: ``_by_group>counts`` is the part of ``_by_group`` in ``counts``);
- **months** (once per size and scope): the same view counted from every customer's purchase months (the summaries
  not read: ``churn_summary.load`` patched to give None), cold: what the page costs before its summaries are built;
- **warm**: the page's cached loader, ``ui.loaders.load_churn_fast(scope.cache_key(), version, ())``, called again
  once it has been filled (median of 5 calls): a rerun or a second visitor;
- **drivers**: connect and ``churn_drivers.drivers(con, scope, W, A)`` (the Cox model the page draws after the
  rest, as its ``load_churn_drivers``), cold, once per size and scope;
- **at_risk**: connect and ``churn_risk.at_risk(con, scope, W, as_of=A)`` with the view's window and as-of day (as
  the page's ``load_churn_at_risk``), cold, once per size and scope: the list the page loads after the rest
  (it fits the value models, now and as of the day before the period);
- **pandas** (the baseline, same run): the same figures with pandas/numpy straight from the transactions already
  in a DataFrame (their read is timed apart and not counted; ``churn_pandas.py``): the default window W, per month
  of the period customers active the day before it starts and churned in it, the period's pooled rate, the
  comparison period's, per-region pooled rates, the cohort customer-retention matrix, lifetimes per customer and
  the Kaplan–Meier median and curve (statsmodels' ``SurvfuncRight``), customers won back; then, in the same process and
  not timed, the view's (and its customers' lifetimes, per customer, from the query its survival curves count:
  ``churn_summary.spans``), checked equal (counts exactly, rates to 1e-9 relative): ``matches`` per figure, with
  where they differ;
- **profile** (``--profile``, once, largest size, default scope): the cold view under cProfile,
  ``bench/work/churn_profile_<N>.txt``.

Targets at 10M rows: cold <= 1 s, pandas / cold >= 10 (cold: what the page draws at once; the Cox model and the
at-risk list follow, each measured on its own). Results go to ``bench/churn_results.json``; a missed target
prints FAIL and exits 0 (a measurement, not a test).

Usage: ``python bench/churn_bench.py [--rows 1000000 10000000] [--repeat 3] [--filtered] [--profile]``
(``--filtered``: the region-filtered scope only; default: both scopes)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from bench_common import (  # noqa: E402
    PROJECT_ROOT,
    WORK_DIR,
    Timers,
    _status_mb,
    default_scope_of,
    finish,
    warm_loader,
    write_profile,
)

TARGET_COLD_S = 1.0
TARGET_SPEEDUP = 10.0
TARGET_SIZE = 10_000_000
WARM_CALLS = 5
#: Timed pieces by module; calls nest (``_by_group>churn_counts>_folded``).
TIMED = {"churn": "purchase_months monthly_churn churn_counts _folded",
         "churn_summary": "load lives labels",
         "churn_view": "_lives _by_group _sensitivity cohort_retention _survival _win_back",
         "churn_drivers": "drivers fit_cox _stretches", "churn_risk": "_listed", "value": "value_view"}
#: The region of the filtered scope (the benchmark files' first).
REGION = "华东"


# --------------------------------------------------------------------------- inside a worker

def _modules() -> dict:
    from analytics.metrics import churn, churn_drivers, churn_risk, churn_summary, churn_view, value

    return {"churn": churn, "churn_summary": churn_summary, "churn_view": churn_view, "churn_drivers": churn_drivers,
            "churn_risk": churn_risk, "value": value}


def _scope(db: str, filtered: bool):
    return default_scope_of(db, REGION if filtered else None)


def _summary(view) -> dict:
    d = view.definition
    return {"window": d.window, "window_source": d.window_source, "as_of": str(d.as_of),
            "period": [str(view.scope.start), str(view.scope.end)], "customers": view.n_customers,
            "active": view.active, "churned": view.churned, "period_rate": list(view.period_rate),
            "comparison_rate": None if view.comparison_rate is None else list(view.comparison_rate),
            "cohorts": len(view.cohorts.sizes), "won_back": len(view.win_back), "cox_problem": view.cox_problem,
            "cox_customers": view.cox_customers}


def _cold(db: str, scope, from_months: bool = False) -> dict:
    from unittest import mock

    from analytics.metrics import churn_summary, churn_view
    from analytics.store.connection import connect

    timers = Timers(_modules(), TIMED)
    with mock.patch.object(churn_summary, "load", return_value=None) if from_months else contextlib.nullcontext():
        t0, c0 = time.perf_counter(), time.process_time()
        con = connect(db, read_only=True)
        connected = time.perf_counter() - t0
        view = churn_view.churn_view(con, scope, with_at_risk=False, with_drivers=False)
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "cpu_seconds": time.process_time() - c0,
            "parts": {"connect": connected} | timers.take(seconds - connected), "view": _summary(view)}


def _build(db: str) -> dict:
    from analytics.store import marts
    from analytics.store.connection import connect

    con = connect(db)
    con.execute("delete from meta where key = 'summaries_generation'")
    t0, c0 = time.perf_counter(), time.process_time()
    built = marts.summarize(con) is not None
    seconds = time.perf_counter() - t0
    rows = {name: con.execute(f"select count(*) from {name}").fetchall()[0][0]
            for name in marts.SUMMARIES if not name.startswith("_")}
    con.close()
    return {"seconds": seconds, "cpu_seconds": time.process_time() - c0, "built": built, "rows": rows}


def _warm(db: str, scope) -> dict:
    return warm_loader(db, "load_churn_fast", scope.cache_key(), WARM_CALLS)


def _later(mode: str, db: str, scope, window: int, as_of: str) -> dict:
    """What the page draws after the rest, cold: the Cox model (``drivers``) or the at-risk lists (``at_risk``)."""
    from datetime import date

    from analytics.metrics import churn_drivers, churn_risk, churn_view
    from analytics.store.connection import connect

    day = date.fromisoformat(as_of)
    scope = churn_view._cut_at(scope, day)  # the view's scope, which the page passes
    timers = Timers(_modules(), TIMED)
    t0, c0 = time.perf_counter(), time.process_time()
    con = connect(db, read_only=True)
    if mode == "drivers":
        fit, problem, sampled, population = churn_drivers.drivers(con, scope, window, day)
        out = {"problem": problem, "customers": sampled, "population": population,
               "terms": 0 if fit is None else len(fit.terms)}
    else:
        risk = churn_risk.at_risk(con, scope, window, as_of=day)
        out = {"listed": len(risk.customers), "problem": risk.problem, "as_of": str(risk.as_of),
               "before": None if risk.before is None else len(risk.before), "before_problem": risk.before_problem}
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "cpu_seconds": time.process_time() - c0, "parts": timers.take(seconds)} | out


def _pandas(db: str, scope) -> dict:
    from churn_pandas import compare, figures_of_view, pandas_churn

    from analytics.metrics import churn_summary, churn_view
    from analytics.store.connection import connect

    con = connect(db, read_only=True)
    t0 = time.perf_counter()
    tx = con.execute("select customer_id, order_date, cast(amount * 10000 as bigint) as units, region, is_return "
                     "from transactions").df()
    load = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    mine, my_lives = pandas_churn(tx, scope)
    out = {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0, "load_seconds": load,
           "transactions": len(tx)}
    del tx
    # the view's figures (not timed), and its customers' lifetimes from the query its survival curves count
    t0 = time.perf_counter()
    view = churn_view.churn_view(con, scope, with_at_risk=False, with_drivers=False)
    out["view_seconds"] = time.perf_counter() - t0
    d = view.definition
    spans = churn_summary.spans(con, view.scope, d.as_of, churn_summary.data_end(con))
    lives = con.execute(f"select customer_id, ? - last_day > ? as observed, case when ? - last_day > ? then "
                        f"last_day - first_day else ? - first_day end as duration from ({spans.sql}) s",
                        [d.as_of, d.window, d.as_of, d.window, d.as_of, *spans.params]).df()
    app, app_lives = figures_of_view(view, lives)
    checked = compare(app, app_lives, mine, my_lives)
    return out | {"matches": {k: v["matches"] for k, v in checked.items()},
                  "differences": {k: v for k, v in checked.items() if not v["matches"]}, "figures": mine}


def _profile(db: str, scope) -> dict:
    import cProfile

    from analytics.metrics import churn_view
    from analytics.store.connection import connect

    prof = cProfile.Profile()
    prof.enable()
    churn_view.churn_view(connect(db, read_only=True), scope, with_at_risk=False, with_drivers=False)
    prof.disable()
    return write_profile(prof, f"churn_profile_{Path(db).stem.split('_')[-1]}")


def worker(mode: str, db: str, filtered: bool, window: int | None, as_of: str | None) -> dict:
    """One measurement in this (fresh) process."""
    if mode == "build":
        return _build(db) | {"peak_rss_mb": _status_mb("VmHWM")}
    scope = _scope(db, filtered)
    if mode == "cold":
        out = _cold(db, scope)
    elif mode == "months":
        out = _cold(db, scope, from_months=True)
    elif mode in ("drivers", "at_risk"):
        out = _later(mode, db, scope, window, as_of)
    elif mode == "warm":
        out = _warm(db, scope)
    elif mode == "pandas":
        out = _pandas(db, scope)
    elif mode == "profile":
        out = _profile(db, scope)
    else:
        raise ValueError(mode)
    return out | {"peak_rss_mb": _status_mb("VmHWM")}


# --------------------------------------------------------------------------- the parent

def run(mode: str, db: Path, filtered: bool, code: Path, *extra: str) -> dict:
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(code), str(PROJECT_ROOT)])}
    args = [sys.executable, __file__, "--worker", mode, str(db), *(["--filtered"] if filtered else []), *extra]
    out = subprocess.run(args, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT)
    if out.returncode:
        raise RuntimeError(f"worker {mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median_parts(runs: list[dict]) -> dict[str, float]:
    parts = runs[0]["parts"]
    return {p: statistics.median(r["parts"][p] for r in runs) for p in parts if all(p in r["parts"] for r in runs)}


def measure(rows: int, db: Path, filtered: bool, repeat: int, code: Path) -> dict:
    """Every measurement of one size and scope (medians of ``repeat`` runs; at_risk once)."""
    runs = {m: [run(m, db, filtered, code) for _ in range(repeat)] for m in ("cold", "warm", "pandas")}
    view = runs["cold"][0]["view"]
    definition = ("--window", str(view["window"]), "--as-of", view["as_of"])
    risk = run("at_risk", db, filtered, code, *definition)
    drivers = run("drivers", db, filtered, code, *definition)
    months = run("months", db, filtered, code)
    cold = statistics.median(r["seconds"] for r in runs["cold"])
    pandas_s = statistics.median(r["seconds"] for r in runs["pandas"])
    matches = {k: all(r["matches"][k] for r in runs["pandas"]) for k in runs["pandas"][0]["matches"]}
    differences = next((r["differences"] for r in runs["pandas"] if r["differences"]), {})
    for r in runs["pandas"]:
        r.pop("figures")
    return {"rows": rows, "scope": f"region {REGION}" if filtered else "default", "filtered": filtered,
            "cold_s": cold, "cold_cpu_s": statistics.median(r["cpu_seconds"] for r in runs["cold"]),
            "cold_parts": _median_parts(runs["cold"]), "warm_s": statistics.median(r["seconds"] for r in runs["warm"]),
            "warm_first_s": statistics.median(r["first_seconds"] for r in runs["warm"]),
            "months_s": months["seconds"], "months_parts": months["parts"], "drivers_s": drivers["seconds"],
            "drivers_parts": drivers["parts"], "drivers_problem": drivers["problem"],
            "at_risk_s": risk["seconds"], "at_risk_parts": risk["parts"], "at_risk_listed": risk["listed"],
            "at_risk_problem": risk["problem"], "pandas_s": pandas_s,
            "pandas_cpu_s": statistics.median(r["cpu_seconds"] for r in runs["pandas"]),
            "pandas_load_s": statistics.median(r["load_seconds"] for r in runs["pandas"]),
            "pandas_over_cold": pandas_s / cold, "matches": matches, "all_match": all(matches.values()),
            "differences": differences, "view": view, "transactions": runs["pandas"][0]["transactions"],
            "peak_rss_mb": {m: max(r["peak_rss_mb"] for r in rs) for m, rs in runs.items()} | {
                "at_risk": risk["peak_rss_mb"], "drivers": drivers["peak_rss_mb"], "months": months["peak_rss_mb"]},
            "runs": runs | {"at_risk": [risk], "drivers": [drivers], "months": [months]}}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 0.1 else f"{seconds * 1000:,.0f} ms" if seconds < 10 \
        else f"{seconds:,.1f} s"


def table(sizes: list[dict]) -> str:
    """The results as a markdown table (medians; wall clock, CPU seconds of all threads in brackets)."""
    lines = ["| rows | scope | cold: first paint (CPU s) | warm (loader again) | then Cox (once) | then at_risk (once) "
             "| before the summaries (once) | pandas (CPU s) (+ read) | pandas / cold | figures equal |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for s in sizes:
        wrong = ", ".join(k for k, ok in s["matches"].items() if not ok)
        lines.append(f"| {s['rows']:,} | {s['scope']} | {_ms(s['cold_s'])} ({s['cold_cpu_s']:.2f}) "
                     f"| {_ms(s['warm_s'])} | {_ms(s['drivers_s'])} | {_ms(s['at_risk_s'])} | {_ms(s['months_s'])} "
                     f"| {_ms(s['pandas_s'])} ({s['pandas_cpu_s']:.2f}) (+{_ms(s['pandas_load_s'])}) "
                     f"| {s['pandas_over_cold']:.1f}x | {'all' if not wrong else 'NOT: ' + wrong} |")
    return "\n".join(lines)


def verdicts(sizes: list[dict]) -> list[dict]:
    """The targets at :data:`TARGET_SIZE` rows (at the largest size measured, marked, when it was not measured)."""
    size = TARGET_SIZE if any(s["rows"] == TARGET_SIZE for s in sizes) else max(s["rows"] for s in sizes)
    note = "" if size == TARGET_SIZE else f" (the targets are for {TARGET_SIZE:,} rows)"
    out = []
    for s in (s for s in sizes if s["rows"] == size):
        where = f"at {size:,} rows, {s['scope']} scope{note}"
        out.append({"target": f"cold <= 1 s {where}", "value": f"{s['cold_s']:.3f} s",
                    "pass": s["cold_s"] <= TARGET_COLD_S})
        out.append({"target": f"pandas / cold >= 10 {where}", "value": f"{s['pandas_over_cold']:.1f}x",
                    "pass": s["pandas_over_cold"] >= TARGET_SPEEDUP})
    return out


def _versions() -> dict:
    import duckdb
    import numpy
    import pandas
    import statsmodels

    return {"python": sys.version.split()[0], "duckdb": duckdb.__version__, "pandas": pandas.__version__,
            "numpy": numpy.__version__, "statsmodels": statsmodels.__version__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--filtered", action="store_true", help="the region-filtered scope only")
    parser.add_argument("--profile", action="store_true", help="also profile the cold view (largest size)")
    parser.add_argument("--output", type=Path, default=BENCH / "churn_results.json")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "DB"))
    parser.add_argument("--window", type=int)
    parser.add_argument("--as-of")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.filtered, args.window, args.as_of), default=str))
        return 0
    from bench_code import _git_state, snapshot_code
    from overview_bench import database

    WORK_DIR.mkdir(exist_ok=True)
    code = snapshot_code()
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "code": _git_state() | {"measured": code.name},
               "repeat": args.repeat, "statistic": "median", "cores": os.cpu_count(), "versions": _versions(),
               "load_average_start": os.getloadavg(), "sizes": []}
    try:
        for rows in args.rows:
            db = database(rows)
            build = run("build", db, False, code)
            results.setdefault("builds", []).append({"rows": rows} | build)
            print(f"{rows:>11,} rows: summaries built in {build['seconds']:.2f} s ({build['rows']})", flush=True)
            for filtered in (True,) if args.filtered else (False, True):
                row = measure(rows, db, filtered, args.repeat, code)
                results["sizes"].append(row)
                problem = f"; {row['at_risk_problem']}" if row["at_risk_problem"] else ""
                print(f"{rows:>11,} rows, {row['scope']:<10} cold {_ms(row['cold_s'])}, warm {_ms(row['warm_s'])}, "
                      f"Cox {_ms(row['drivers_s'])}, from the months {_ms(row['months_s'])}, "
                      f"at_risk {_ms(row['at_risk_s'])} ({row['at_risk_listed']:,} listed{problem}), "
                      f"pandas {_ms(row['pandas_s'])} (+{_ms(row['pandas_load_s'])} read), "
                      f"pandas/cold {row['pandas_over_cold']:.1f}x, figures equal: {row['all_match']}", flush=True)
            if args.profile and rows == max(args.rows):
                results["profile"] = run("profile", db, args.filtered, code)
    finally:
        shutil.rmtree(code, ignore_errors=True)
    results["load_average_end"] = os.getloadavg()
    results["verdicts"] = verdicts(results["sizes"])
    print("\n" + table(results["sizes"]) + "\n")
    finish(results, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
