"""Customer tiers page data at 1M and 10M transactions: cold, warm, and pandas, side by side.

The databases are the overview benchmark's (``overview_bench.database``: ``bench/work/overview_<N>.duckdb``, the
file ``bench/work/transactions_<N>.csv`` imported through the real pipeline; made once, reused). For each size and
scope (the default scope, ``analytics.scope.default_scope``: the last 12 months against the 12 before; and the same
with a region filter, the files' first region), each measurement in a fresh process, on a snapshot of
``analytics/`` (``bench_code.snapshot_code``; other people edit the package meanwhile):

- **build** (once per size, before the rest, only when they are stale): the summaries the app builds after an
  import (``analytics.store.marts.summarize``; among them ``margin_month`` for tiers by margin, and the churn
  summaries churn per tier reads), seconds;
- **cold**: connect (read-only) and ``tiers.tier_view(con, scope)`` (the pyramid by revenue, the default tiers):
  what the page draws at once, nothing cached; split by the functions it calls (:data:`TIMED`, inclusive seconds
  per call path);
- **margin** (once per size, default scope): the same, cold, with ``TierSpec(measure="margin")``. The benchmark
  files have no cost column: every customer's margin is 0 (``no_cost`` says how many), so the ranking is by
  customer id alone; this times the path, not a meaningful pyramid;
- **warm**: the page's cached loader, ``ui.loaders.load_tiers_fast(scope.cache_key(), version, ())`` (the view
  without the CLV per tier, which the page loads after the rest), called again once it has been filled (median of
  5 calls): a rerun or a second visitor;
- **churn** (once per size and scope): connect and ``churn_tiers.tier_churn(con, scope, TierSpec())``, cold: the
  churn page's rate per tier, which the page draws after the rest;
- **clv** (once per size and scope): connect and ``tiers.clv_by_tier(con, scope)``, cold: the CLV per tier the page
  draws after the rest (it fits the value models);
- **pandas** (the baseline, same run): the same figures with pandas/numpy straight from the transactions already
  in a DataFrame (their read is timed apart and not counted; ``tiers_pandas.py``): per customer net revenue in the
  period and the comparison period, the tiers (ranked by value, ties by id, cut points as exact fractions), the
  tier table, top-20 % share, Gini and the Lorenz points, the mix by home region, the migration matrix and the
  moves with their value changes; then, in the same
  process and not timed, the view's, checked equal (counts exactly, amounts and shares to 1e-9 relative):
  ``matches`` per figure, with where they differ;
- **profile** (``--profile``, once, largest size, default scope): the cold view under cProfile
  (``bench/work/tiers_profile_<N>.txt``), every query it runs through the connection with its seconds to run and
  to fetch, and DuckDB's ``explain analyze`` of the slowest (``bench/work/tiers_explain_<N>.txt``).

- **tier filter** (``--tier-filter``: this alone, into the results file's ``tier_filter``): the tiers page's data
  (``tiers_report.load(..., with_clv=False)``, ``load_tiers_fast``) and the overview's (``overview.overview(...,
  with_average_clv=False, with_churn=False)``, ``load_overview_fast``) cold in one snapshot as the app loads them,
  default scope: ``plain`` (no tier filter), ``once`` (platinum + gold: the gate's ranking once per snapshot) and
  ``per_query`` (the same with the snapshot's once-marks ignored, every query ranking again: the cost before),
  interleaved, with the rankings DuckDB ran (its query log) and the figures of ``once`` and ``per_query`` compared.

Targets at 10M rows: cold <= 1 s, pandas / cold >= 10; the tiers page's data with the tier filter <= 1.5 s. Results go
to ``bench/tiers_results.json``; a missed target prints FAIL and exits 0 (a measurement, not a test).

Usage: ``python bench/tiers_bench.py [--rows 1000000 10000000] [--repeat 3] [--profile] [--tier-filter]
[--databases DIR]`` (``DIR``: copies of the databases to use instead of ``bench/work``'s)
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
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import tier_filter_bench  # noqa: E402
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
from churn_bench import REGION, WARM_CALLS, _median_parts, _ms, _versions, verdicts  # noqa: E402

#: Timed pieces by module; calls nest (``tier_view>per_customer``).
TIMED = {"tiers": "per_customer concentration _table _mix _migration", "churn_summary": "load",
         "churn": "purchase_months"}


# --------------------------------------------------------------------------- inside a worker

def _modules() -> dict:
    from analytics.metrics import churn, churn_summary, tiers

    return {"tiers": tiers, "churn_summary": churn_summary, "churn": churn}


def _scope(db: str, filtered: bool):
    return default_scope_of(db, REGION if filtered else None)


def _summary(view) -> dict:
    c = view.concentration
    return {"period": [str(view.scope.start), str(view.scope.end)], "measure": view.spec.measure,
            "ranked": view.ranked, "customers": view.customers, "no_cost": view.no_cost,
            "tiers": view.table["customers"].tolist(), "value": float(view.table["value"].sum()),
            "top_20_share": c.top_share, "gini": c.gini, "negative": c.negative,
            "moves": None if view.moves is None else dict(zip(view.moves["move"], view.moves["customers"].tolist(),
                                                              strict=True))}


def _cold(db: str, scope, measure: str = "revenue") -> dict:
    from analytics.metrics import tiers
    from analytics.store.connection import connect
    from analytics.tiering import TierSpec

    timers = Timers(_modules(), TIMED)
    t0, c0 = time.perf_counter(), time.process_time()
    con = connect(db, read_only=True)
    connected = time.perf_counter() - t0
    view = tiers.tier_view(con, scope, TierSpec(measure=measure))
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "cpu_seconds": time.process_time() - c0,
           "parts": {"connect": connected} | timers.take(seconds - connected), "view": _summary(view)}
    if measure == "margin":
        out["transactions_with_cost"] = con.execute("select count(cost) from transactions").fetchall()[0][0]
    return out


def _build(db: str) -> dict:
    from analytics.store import marts
    from analytics.store.connection import connect

    con = connect(db)
    t0, c0 = time.perf_counter(), time.process_time()
    built = marts.summarize(con)
    out = {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0, "built": built is not None}
    out["margin_month_rows"] = con.execute("select count(*) from margin_month").fetchall()[0][0]
    con.close()
    return out


def _warm(db: str, scope) -> dict:
    return warm_loader(db, "load_tiers_fast", scope.cache_key(), WARM_CALLS)


def _clv(db: str, scope) -> dict:
    from analytics.metrics import tiers
    from analytics.store.connection import connect

    t0, c0 = time.perf_counter(), time.process_time()
    clv = tiers.clv_by_tier(connect(db, read_only=True), scope)
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0, "problem": clv.problem,
            "with_clv": None if clv.table is None else int(clv.table["with_clv"].sum())}


def _churn(db: str, scope) -> dict:
    from analytics.metrics import churn_tiers
    from analytics.store.connection import connect
    from analytics.tiering import TierSpec

    t0, c0 = time.perf_counter(), time.process_time()
    got = churn_tiers.tier_churn(connect(db, read_only=True), scope, TierSpec())
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
            "window": None if got is None else got.window,
            "exposure": None if got is None else int(got.rates["exposure"].sum())}


def _pandas(db: str, scope) -> dict:
    from tiers_pandas import compare, figures_of_view, pandas_tiers

    from analytics.metrics import tiers
    from analytics.store.connection import connect

    con = connect(db, read_only=True)
    t0 = time.perf_counter()
    view = tiers.tier_view(con, scope)  # (not timed here: checked against the pandas figures)
    view_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    tx = con.execute("select customer_id, order_date, cast(amount * 10000 as bigint) as units, region, is_return "
                     "from transactions").df()
    load = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    mine = pandas_tiers(tx, scope, view.spec.cuts, view.spec.names)
    out = {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0, "load_seconds": load,
           "transactions": len(tx), "view_seconds": view_seconds}
    checked = compare(figures_of_view(view), mine)
    return out | {"matches": {k: v["matches"] for k, v in checked.items()},
                  "differences": {k: v for k, v in checked.items() if not v["matches"]}}


class _Recorder:
    """A connection that records the queries run through it: SQL, parameters, seconds to run and to fetch."""

    def __init__(self, con) -> None:
        self._con, self.queries = con, []

    def __getattr__(self, name: str):
        return getattr(self._con, name)

    def execute(self, sql: str, params=None):
        t0 = time.perf_counter()
        result = self._con.execute(sql, params if params is not None else [])
        query = {"sql": sql, "params": params, "run_s": time.perf_counter() - t0, "fetch_s": 0.0}
        self.queries.append(query)
        return _Fetch(result, query)


class _Fetch:
    def __init__(self, result, query: dict) -> None:
        self._result, self._query = result, query

    def __getattr__(self, name: str):
        fetch = getattr(self._result, name)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fetch(*args, **kwargs)
            finally:
                self._query["fetch_s"] += time.perf_counter() - t0
        return timed


def _profile(db: str, scope) -> dict:
    import cProfile

    from analytics.metrics import tiers
    from analytics.store.connection import connect

    rows = Path(db).stem.split("_")[-1]
    con = connect(db, read_only=True)
    recorder = _Recorder(con)
    prof = cProfile.Profile()
    prof.enable()
    tiers.tier_view(recorder, scope)
    prof.disable()
    out = write_profile(prof, f"tiers_profile_{rows}")
    slowest = max(recorder.queries, key=lambda q: q["run_s"])
    plan = con.execute(f"explain analyze {slowest['sql']}", slowest["params"] or []).fetchall()[0][1]
    explain = WORK_DIR / f"tiers_explain_{rows}.txt"
    explain.write_text(f"{slowest['sql']}\n\n{plan}\n")
    return out | {"explain": str(explain.relative_to(PROJECT_ROOT)), "queries": [
        {"sql": q["sql"][:160], "run_s": round(q["run_s"], 4), "fetch_s": round(q["fetch_s"], 4)}
        for q in recorder.queries]}


def worker(mode: str, db: str, filtered: bool) -> dict:
    """One measurement in this (fresh) process."""
    if mode.startswith("filter:"):  # filter:<page>:<how>
        return tier_filter_bench.worker(db, *mode.split(":")[1:]) | {"peak_rss_mb": _status_mb("VmHWM")}
    if mode == "build":
        return _build(db) | {"peak_rss_mb": _status_mb("VmHWM")}
    scope = _scope(db, filtered)
    modes = {"cold": lambda: _cold(db, scope), "margin": lambda: _cold(db, scope, "margin"),
             "warm": lambda: _warm(db, scope), "clv": lambda: _clv(db, scope),
             "churn": lambda: _churn(db, scope), "pandas": lambda: _pandas(db, scope),
             "profile": lambda: _profile(db, scope)}
    return modes[mode]() | {"peak_rss_mb": _status_mb("VmHWM")}


# --------------------------------------------------------------------------- the parent

def run(mode: str, db: Path, filtered: bool, code: Path) -> dict:
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(code), str(PROJECT_ROOT)])}
    args = [sys.executable, __file__, "--worker", mode, str(db), *(["--filtered"] if filtered else [])]
    out = subprocess.run(args, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT)
    if out.returncode:
        raise RuntimeError(f"worker {mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(rows: int, db: Path, filtered: bool, repeat: int, code: Path) -> dict:
    """Every measurement of one size and scope (medians of ``repeat`` runs; clv, churn and margin once)."""
    runs = {m: [run(m, db, filtered, code) for _ in range(repeat)] for m in ("cold", "warm", "pandas")}
    clv, churn = run("clv", db, filtered, code), run("churn", db, filtered, code)
    cold = statistics.median(r["seconds"] for r in runs["cold"])
    pandas_s = statistics.median(r["seconds"] for r in runs["pandas"])
    matches = {k: all(r["matches"][k] for r in runs["pandas"]) for k in runs["pandas"][0]["matches"]}
    differences = next((r["differences"] for r in runs["pandas"] if r["differences"]), {})
    return {"rows": rows, "scope": f"region {REGION}" if filtered else "default", "filtered": filtered,
            "cold_s": cold, "cold_cpu_s": statistics.median(r["cpu_seconds"] for r in runs["cold"]),
            "cold_parts": _median_parts(runs["cold"]), "warm_s": statistics.median(r["seconds"] for r in runs["warm"]),
            "warm_first_s": statistics.median(r["first_seconds"] for r in runs["warm"]),
            "clv_s": clv["seconds"], "clv_problem": clv["problem"], "churn_s": churn["seconds"], "pandas_s": pandas_s,
            "pandas_cpu_s": statistics.median(r["cpu_seconds"] for r in runs["pandas"]),
            "pandas_load_s": statistics.median(r["load_seconds"] for r in runs["pandas"]),
            "pandas_over_cold": pandas_s / cold, "matches": matches, "all_match": all(matches.values()),
            "differences": differences, "view": runs["cold"][0]["view"],
            "transactions": runs["pandas"][0]["transactions"],
            "peak_rss_mb": {m: max(r["peak_rss_mb"] for r in rs) for m, rs in runs.items()} | {
                "clv": clv["peak_rss_mb"], "churn": churn["peak_rss_mb"]},
            "runs": runs | {"clv": [clv], "churn": [churn]}}


def table(sizes: list[dict], margins: dict[int, dict]) -> str:
    """The results as a markdown table (medians; wall clock, CPU seconds of all threads in brackets)."""
    lines = ["| rows | scope | cold (CPU s) | warm (loader again) | by margin, cold (once) "
             "| then churn per tier (once) | then CLV per tier (once) | pandas (CPU s) (+ read) | pandas / cold "
             "| figures equal |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for s in sizes:
        wrong = ", ".join(k for k, ok in s["matches"].items() if not ok)
        margin = margins.get(s["rows"]) if not s["filtered"] else None
        lines.append(f"| {s['rows']:,} | {s['scope']} | {_ms(s['cold_s'])} ({s['cold_cpu_s']:.2f}) "
                     f"| {_ms(s['warm_s'])} | {_ms(margin['seconds']) if margin else '–'} | {_ms(s['churn_s'])} "
                     f"| {_ms(s['clv_s'])} "
                     f"| {_ms(s['pandas_s'])} ({s['pandas_cpu_s']:.2f}) (+{_ms(s['pandas_load_s'])}) "
                     f"| {s['pandas_over_cold']:.1f}x | {'all' if not wrong else 'NOT: ' + wrong} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also profile the cold view (largest size)")
    parser.add_argument("--output", type=Path, default=BENCH / "tiers_results.json")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "DB"))
    parser.add_argument("--filtered", action="store_true", help="(worker) the region-filtered scope")
    parser.add_argument("--tier-filter", action="store_true",
                        help="only the tier filter scenario, into the results file's tier_filter (the rest kept)")
    parser.add_argument("--databases", type=Path, help="a folder of copies of bench/work's overview_<N>.duckdb")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.filtered), default=str))
        return 0
    from bench_code import _git_state, snapshot_code
    from overview_bench import database

    WORK_DIR.mkdir(exist_ok=True)
    code = snapshot_code()
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "code": _git_state() | {"measured": code.name},
               "repeat": args.repeat, "statistic": "median", "cores": os.cpu_count(), "versions": _versions(),
               "load_average_start": os.getloadavg(), "sizes": [], "builds": [], "margin": [], "tier_filter": []}
    try:
        for rows in args.rows:
            db = args.databases / f"overview_{rows}.duckdb" if args.databases else database(rows)
            build = run("build", db, False, code)
            results["builds"].append({"rows": rows} | build)
            print(f"{rows:>11,} rows: summaries " + (f"built in {build['seconds']:.2f} s" if build["built"]
                                                     else "already built"), flush=True)
            results["tier_filter"] += tier_filter_bench.measure(rows, db, args.repeat,
                                                                lambda mode, db: run(mode, db, False, code))
            print(tier_filter_bench.table([r for r in results["tier_filter"] if r["rows"] == rows]), flush=True)
            if args.tier_filter:
                continue
            margin = run("margin", db, False, code)
            results["margin"].append({"rows": rows} | margin)
            print(f"{rows:>11,} rows, by margin: cold {_ms(margin['seconds'])} ({margin['view']['no_cost']:,} of "
                  f"{margin['view']['customers']:,} customers without a cost: "
                  f"{margin['transactions_with_cost']:,} transactions have one)", flush=True)
            for filtered in (False, True):
                row = measure(rows, db, filtered, args.repeat, code)
                results["sizes"].append(row)
                print(f"{rows:>11,} rows, {row['scope']:<10} cold {_ms(row['cold_s'])}, warm {_ms(row['warm_s'])}, "
                      f"churn per tier {_ms(row['churn_s'])}, "
                      f"CLV {_ms(row['clv_s'])}, pandas {_ms(row['pandas_s'])} (+{_ms(row['pandas_load_s'])} read), "
                      f"pandas/cold {row['pandas_over_cold']:.1f}x, figures equal: {row['all_match']}", flush=True)
            if args.profile and rows == max(args.rows):
                results["profile"] = run("profile", db, False, code)
    finally:
        shutil.rmtree(code, ignore_errors=True)
    results["load_average_end"] = os.getloadavg()
    filter_verdicts = tier_filter_bench.verdicts(results["tier_filter"])
    print("\n" + tier_filter_bench.table(results["tier_filter"]) + "\n")
    if args.tier_filter:  # this scenario's section of the results file (with its run's details), the rest kept
        others = json.loads(args.output.read_text()) if args.output.exists() else {}
        run_details = {k: v for k, v in results.items() if k not in ("sizes", "margin", "tier_filter")}
        results = others | {"tier_filter": results["tier_filter"], "tier_filter_run": run_details}
        results["verdicts"] = [v for v in others.get("verdicts", []) if not v["target"].startswith("tier filter")]
        results["verdicts"] += filter_verdicts
        for v in filter_verdicts:
            print(f"{'PASS' if v['pass'] else 'FAIL'}  {v['target']}: {v['value']}")
        args.output.write_text(json.dumps(results, indent=1, default=str, ensure_ascii=False))
        return 0
    results["verdicts"] = verdicts(results["sizes"]) + filter_verdicts
    print("\n" + table(results["sizes"], {m["rows"]: m for m in results["margin"]}) + "\n")
    if "profile" in results:
        for q in results["profile"]["queries"]:
            print(f"  query {q['run_s'] * 1000:,.0f} ms + fetch {q['fetch_s'] * 1000:,.0f} ms: {q['sql'][:100]}")
    finish(results, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
