"""Satisfaction & loyalty page data at 1M transactions and 200k survey rows: cold, warm, and pandas, side by side.

The database is ``bench/work/satisfaction_<N>.duckdb`` (``satisfaction_data.py``: a copy of the overview
benchmark's ``overview_<N>.duckdb``, with a seeded feedback file of 200,000 survey rows and 10,000 complaints
imported through the real pipeline, and the summaries built; made once, reused). For each scope (the default scope,
``analytics.scope.default_scope``: the last 12 months against the 12 before; and the same with a region filter, the
files' first region), each measurement in a fresh process, on a snapshot of ``analytics/``
(``bench_code.snapshot_code``; other people edit the package meanwhile), the three interleaved per round:

- **data** and **build** (once, before the rest): the database made when missing (seconds to write the feedback
  file, import it, build the summaries), and the summaries rebuilt when the measured code's are newer;
- **cold**: connect (read-only) and ``satisfaction_view.load(con, scope)``: the page's data, nothing cached; split by
  the functions it calls (:data:`TIMED`, inclusive seconds per call path, e.g. ``loyalty>by_tier>per_customer``;
  ``(rest)``: outside them);
- **warm**: the page's cached loader called again once it has been filled (median of 5 calls): a
  ``ui.loaders.load_satisfaction*`` loader of the view when there is one, else ``load_view("satisfaction", ...)``
  (the page registry's loader, :data:`LOADERS`); ``warm_first`` is the filling call (the view through the
  loader's snapshot, in a process that has already imported everything);
- **pandas** (the baseline, same run): the same figures with pandas/numpy/statsmodels straight from the transactions
  and feedback rows already in DataFrames (their read is timed apart and not counted; ``satisfaction_pandas.py``):
  CSAT, NPS and the mean over the period, the comparison period and per month, their trend and season, per home
  region and per tier; the surveyed customers' satisfied and loyal shares and gap (overall, per region, tier and
  segment) and the quadrants with their revenue; the follow-up responses with their retained flags and the logistic
  fit on them; then, not timed, the view's, checked equal (counts exactly, rates to 1e-9 relative, the follow-up
  responses row by row): ``matches`` per figure, with where they differ. Complaints and loyalty have no pandas
  counterpart here (their tests check them against the raw rows), so the ratio is also given against the cold
  parts the baseline does compute (:data:`COVERED`);
- **profile** (``--profile``, once, default scope): the cold load under cProfile
  (``bench/work/satisfaction_profile_<N>.txt``), every query it runs with its seconds to run and to fetch, and
  DuckDB's ``explain analyze`` of the slowest three (``bench/work/satisfaction_explain_<N>.txt``).

Target at 1M transactions and 200k survey rows on 2 cores: cold <= 1 s (pandas / cold reported). Results go to
``bench/satisfaction_results.json``; a missed target prints FAIL and exits 0 (a measurement, not a test).

Usage: ``python bench/satisfaction_bench.py [--rows 1000000] [--repeat 3] [--profile]``
"""

from __future__ import annotations

import argparse
import inspect
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
from churn_bench import REGION, WARM_CALLS, _median_parts, _ms, _versions  # noqa: E402

TARGET_COLD_S = 1.0
#: Timed pieces by module (those present; calls nest). The loyalty threshold's purchase days are read once for the
#: complaints and loyalty parts (``loyalty_days.purchase_days``).
TIMED = {"satisfaction_view": "purchase_days per_customer customer_tiers satisfaction gap complaints loyalty",
         "satisfaction": "month_counts _by_group customer_tiers",
         "satisfaction_gap": "surveyed loyal_customers follow_ups fit_retention customer_tiers",
         "tiers": "per_customer", "scores": "decompose",
         "complaints": "complaint_rows monthly categories time_to_resolve open_complaints retention",
         "loyalty": "trend tenure frequency by_region by_tier per_customer"}
#: The parts of the view the pandas baseline computes too (the tiers they share: ranked, then named; satisfaction
#: and the gap; not complaints nor loyalty).
COVERED = ("per_customer", "customer_tiers", "satisfaction", "gap")
#: The page's cached loaders of the whole view, in the order looked for; else the registry's ``load_view``.
LOADERS = ("load_satisfaction", "load_satisfaction_fast", "load_satisfaction_view")


# --------------------------------------------------------------------------- inside a worker

def _timers() -> Timers:
    """:data:`TIMED`'s functions of the modules there are (complaints and loyalty may not have landed)."""
    import importlib

    modules, timed = {}, {}
    for name, functions in TIMED.items():
        try:
            module = importlib.import_module(f"analytics.{'models' if name == 'scores' else 'metrics'}.{name}")
        except ImportError:
            continue
        modules[name] = module
        timed[name] = " ".join(f for f in functions.split() if inspect.isfunction(getattr(module, f, None)))
    return Timers(modules, timed)


def _summary(view) -> dict:
    s, g = view.satisfaction, view.gap
    return {"period": [str(view.scope.start), str(view.scope.end)], "csat": s.period["csat"].value,
            "csat_n": s.period["csat"].n, "nps": s.period["nps"].value, "nps_n": s.period["nps"].n,
            "surveyed": int(g.overall["n"].iloc[0]), "follow_ups": g.curve.n, "slope": g.curve.slope,
            "fit_problem": g.curve.problem, "trends": {k: d.method for k, d in s.trends.items()},
            "with_complaints": view.complaints is not None, "with_loyalty": view.loyalty is not None}


def _cold(db: str, scope) -> dict:
    from analytics.metrics import satisfaction_view
    from analytics.store.connection import connect

    timers = _timers()
    t0, c0 = time.perf_counter(), time.process_time()
    con = connect(db, read_only=True)
    connected = time.perf_counter() - t0
    view = satisfaction_view.load(con, scope)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "cpu_seconds": time.process_time() - c0,
            "parts": {"connect": connected} | timers.take(seconds - connected), "view": _summary(view)}


def _data(db: str) -> dict:
    from satisfaction_data import database

    rows = int(Path(db).stem.split("_")[-1])
    t0 = time.perf_counter()
    _, made = database(rows, WORK_DIR)
    return {"made": bool(made), "seconds": time.perf_counter() - t0} | made


def _build(db: str) -> dict:
    from analytics.store import marts
    from analytics.store.connection import connect

    con = connect(db)
    t0 = time.perf_counter()
    built = marts.summarize(con)
    out = {"seconds": time.perf_counter() - t0, "built": built is not None}
    out["feedback"] = dict(con.execute("select feedback_kind || ' ' || coalesce(scale, ''), count(*) from feedback "
                                       "group by all order by all").fetchall())
    out["transactions"] = con.execute("select count(*) from transactions").fetchall()[0][0]
    out["customers"] = con.execute("select count(*) from customer_summary").fetchall()[0][0]
    con.close()
    return out


def _warm(db: str, scope) -> dict:
    os.environ["CRM_DB"] = db
    from analytics import pages
    from ui import loaders

    name = next((n for n in LOADERS if hasattr(loaders, n)), None)
    if name is None:
        pages.get("satisfaction")  # (registered, else this raises)
        name = "load_view"
        loaders.load_view_satisfaction = lambda key, version, options: loaders.load_view(  # (warm_loader's call)
            "satisfaction", key, version, options)
        return warm_loader(db, "load_view_satisfaction", scope.cache_key(), WARM_CALLS) | {"loader": name}
    return warm_loader(db, name, scope.cache_key(), WARM_CALLS) | {"loader": name}


def _pandas(db: str, scope) -> dict:
    from satisfaction_pandas import compare, compare_follow_ups, figures_of_view, pandas_satisfaction

    from analytics.metrics import satisfaction_gap, satisfaction_view
    from analytics.store.connection import connect
    from analytics.tiering import TierSpec

    con = connect(db, read_only=True)
    t0 = time.perf_counter()
    tx = con.execute("select customer_id, order_date, cast(amount * 10000 as bigint) as units, region, is_return "
                     "from transactions").df()
    fb = con.execute("select customer_id, feedback_date, score, scale, feedback_kind from feedback").df()
    customers = con.execute("select customer_id, import_id, region, segment, acquisition_channel "
                            "from customers").df()
    load = time.perf_counter() - t0
    spec = TierSpec.preset("pyramid", scope.tier_cuts)
    t0, c0 = time.perf_counter(), time.process_time()
    g = satisfaction_gap
    mine, my_fits = pandas_satisfaction(tx, fb, customers, scope, cuts=spec.cuts, names=spec.names,
                                        loyal_min=g.LOYAL_MIN, loyal_months=g.LOYAL_MONTHS, horizon=g.HORIZON_DAYS,
                                        fit_days=g.FIT_DAYS)
    out = {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0, "load_seconds": load,
           "transactions": len(tx), "feedback": len(fb)}
    del tx
    t0 = time.perf_counter()
    view = satisfaction_view.load(con, scope)  # (not timed here: checked against the pandas figures)
    fits, _, _ = satisfaction_gap.follow_ups(con, scope)
    out["view_seconds"] = time.perf_counter() - t0
    app, app_fits = figures_of_view(view, fits)
    checked = compare(app, mine)
    checked["follow_up_rows"] = compare_follow_ups(app_fits, my_fits)
    return out | {"matches": {k: v["matches"] for k, v in checked.items()},
                  "differences": {k: v for k, v in checked.items() if not v["matches"]}}


def _profile(db: str, scope) -> dict:
    import cProfile

    from tiers_bench import _Recorder

    from analytics.metrics import satisfaction_view
    from analytics.store.connection import connect

    class Recorder(_Recorder):  # (the queries through its cursors too)
        def cursor(self):
            inner = Recorder(self._con.cursor())
            inner.queries = self.queries
            return inner

    rows = Path(db).stem.split("_")[-1]
    con = connect(db, read_only=True)
    recorder = Recorder(con)
    prof = cProfile.Profile()
    prof.enable()
    satisfaction_view.load(recorder, scope)
    prof.disable()
    out = write_profile(prof, f"satisfaction_profile_{rows}")
    slowest = sorted(recorder.queries, key=lambda q: -q["run_s"])[:3]
    plans = []
    for q in slowest:
        plan = con.execute(f"explain analyze {q['sql']}", q["params"] or []).fetchall()[0][1]
        took = f"-- {q['run_s'] * 1000:.1f} ms to run, {q['fetch_s'] * 1000:.1f} ms to fetch"
        plans.append(f"{took}\n{q['sql']}\n\n{plan}\n")
    explain = WORK_DIR / f"satisfaction_explain_{rows}.txt"
    explain.write_text("\n\n".join(plans))
    return out | {"explain": str(explain.relative_to(PROJECT_ROOT)), "queries": [
        {"sql": q["sql"][:200], "run_s": round(q["run_s"], 4), "fetch_s": round(q["fetch_s"], 4)}
        for q in recorder.queries]}


def worker(mode: str, db: str, filtered: bool) -> dict:
    """One measurement in this (fresh) process."""
    if mode == "data":
        return _data(db) | {"peak_rss_mb": _status_mb("VmHWM")}
    if mode == "build":
        return _build(db) | {"peak_rss_mb": _status_mb("VmHWM")}
    scope = default_scope_of(db, REGION if filtered else None)
    modes = {"cold": _cold, "warm": _warm, "pandas": _pandas, "profile": _profile}
    return modes[mode](db, scope) | {"peak_rss_mb": _status_mb("VmHWM"), "load_average": os.getloadavg()}


# --------------------------------------------------------------------------- the parent

def run(mode: str, db: Path, filtered: bool, code: Path) -> dict:
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(code), str(PROJECT_ROOT)])}
    args = [sys.executable, __file__, "--worker", mode, str(db), *(["--filtered"] if filtered else [])]
    out = subprocess.run(args, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT)
    if out.returncode:
        raise RuntimeError(f"worker {mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(rows: int, db: Path, filtered: bool, repeat: int, code: Path) -> dict:
    """Every measurement of one scope (medians of ``repeat`` rounds of cold, warm and pandas)."""
    runs: dict[str, list] = {"cold": [], "warm": [], "pandas": []}
    for _ in range(repeat):
        for mode in runs:
            runs[mode].append(run(mode, db, filtered, code))
    cold = statistics.median(r["seconds"] for r in runs["cold"])
    covered = statistics.median(sum(r["parts"].get(p, 0.0) for p in COVERED) for r in runs["cold"])
    pandas_s = statistics.median(r["seconds"] for r in runs["pandas"])
    matches = {k: all(r["matches"][k] for r in runs["pandas"]) for k in runs["pandas"][0]["matches"]}
    return {"rows": rows, "scope": f"region {REGION}" if filtered else "default", "filtered": filtered,
            "cold_s": cold, "cold_cpu_s": statistics.median(r["cpu_seconds"] for r in runs["cold"]),
            "cold_parts": _median_parts(runs["cold"]), "warm_s": statistics.median(r["seconds"] for r in runs["warm"]),
            "warm_first_s": statistics.median(r["first_seconds"] for r in runs["warm"]),
            "warm_loader": runs["warm"][0]["loader"], "pandas_s": pandas_s,
            "pandas_cpu_s": statistics.median(r["cpu_seconds"] for r in runs["pandas"]),
            "pandas_load_s": statistics.median(r["load_seconds"] for r in runs["pandas"]),
            "pandas_over_cold": pandas_s / cold, "cold_covered_s": covered, "pandas_over_covered": pandas_s / covered,
            "matches": matches, "all_match": all(matches.values()),
            "differences": next((r["differences"] for r in runs["pandas"] if r["differences"]), {}),
            "view": runs["cold"][0]["view"], "transactions": runs["pandas"][0]["transactions"],
            "feedback_rows": runs["pandas"][0]["feedback"],
            "peak_rss_mb": {m: max(r["peak_rss_mb"] for r in rs) for m, rs in runs.items()}, "runs": runs}


def table(sizes: list[dict]) -> str:
    """The results as a markdown table (medians; wall clock, CPU seconds of all threads in brackets)."""
    lines = ["| transactions | survey rows | scope | cold (CPU s) | warm (loader again) | loader's first call "
             "| pandas (CPU s) (+ read) | pandas / cold | tiers + satisfaction + gap, cold | pandas / them "
             "| peak RSS cold / pandas | figures equal |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for s in sizes:
        wrong = ", ".join(k for k, ok in s["matches"].items() if not ok)
        rss = s["peak_rss_mb"]
        lines.append(f"| {s['rows']:,} | {s['survey_rows']:,} | {s['scope']} "
                     f"| {_ms(s['cold_s'])} ({s['cold_cpu_s']:.2f}) "
                     f"| {_ms(s['warm_s'])} | {_ms(s['warm_first_s'])} "
                     f"| {_ms(s['pandas_s'])} ({s['pandas_cpu_s']:.2f}) (+{_ms(s['pandas_load_s'])}) "
                     f"| {s['pandas_over_cold']:.1f}x | {_ms(s['cold_covered_s'])} | {s['pandas_over_covered']:.1f}x "
                     f"| {rss['cold']:.0f} / {rss['pandas']:.0f} MB "
                     f"| {'all' if not wrong else 'NOT: ' + wrong} |")
    return "\n".join(lines)


def verdicts(sizes: list[dict]) -> list[dict]:
    return [{"target": f"cold <= 1 s at {s['rows']:,} transactions, {s['survey_rows']:,} survey rows, {s['scope']} "
                       f"scope (pandas / cold {s['pandas_over_cold']:.1f}x)",
             "value": f"{s['cold_s']:.3f} s", "pass": s["cold_s"] <= TARGET_COLD_S} for s in sizes]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also profile the cold load (default scope)")
    parser.add_argument("--output", type=Path, default=BENCH / "satisfaction_results.json")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "DB"))
    parser.add_argument("--filtered", action="store_true", help="(worker) the region-filtered scope")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.filtered), default=str))
        return 0
    from bench_code import _git_state, snapshot_code

    WORK_DIR.mkdir(exist_ok=True)
    code = snapshot_code()
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "code": _git_state() | {"measured": code.name},
               "repeat": args.repeat, "statistic": "median", "cores": os.cpu_count(), "versions": _versions(),
               "load_average_start": os.getloadavg(), "sizes": [], "data": [], "builds": []}
    try:
        for rows in args.rows:
            db = WORK_DIR / f"satisfaction_{rows}.duckdb"
            data = run("data", db, False, code)
            build = run("build", db, False, code)
            results["data"].append({"rows": rows} | data)
            results["builds"].append({"rows": rows} | build)
            print(f"{rows:>11,} rows: database {'made' if data['made'] else 'reused'} ({data['seconds']:.1f} s), "
                  f"summaries {'built' if build['built'] else 'current'}; feedback {build['feedback']}", flush=True)
            surveys = sum(n for k, n in build["feedback"].items() if k.startswith("survey"))
            for filtered in (False, True):
                row = measure(rows, db, filtered, args.repeat, code) | {"survey_rows": surveys}
                results["sizes"].append(row)
                print(f"{rows:>11,} rows, {row['scope']:<10} cold {_ms(row['cold_s'])}, warm {_ms(row['warm_s'])} "
                      f"({row['warm_loader']}), pandas {_ms(row['pandas_s'])} (+{_ms(row['pandas_load_s'])} read), "
                      f"pandas/cold {row['pandas_over_cold']:.1f}x, figures equal: {row['all_match']}", flush=True)
            if args.profile and rows == max(args.rows):
                results["profile"] = run("profile", db, False, code)
    finally:
        shutil.rmtree(code, ignore_errors=True)
    results["load_average_end"] = os.getloadavg()
    results["verdicts"] = verdicts(results["sizes"])
    print("\n" + table(results["sizes"]) + "\n")
    if "profile" in results:
        for q in sorted(results["profile"]["queries"], key=lambda q: -q["run_s"])[:8]:
            print(f"  query {q['run_s'] * 1000:,.1f} ms + fetch {q['fetch_s'] * 1000:,.1f} ms: {q['sql'][:110]}")
    finish(results, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
