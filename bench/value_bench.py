"""Customer value page at 100k and 1M customers: model fit, page data cold and warm, and pandas RFM.

Data (``value_data.py``): N customers buying by a known BG/NBD process with Gamma-Gamma spend over
2022-2024, written as a customers file and a sales file (``bench/work/value_*_<N>.csv``; 1M
customers: about 6M transactions) and imported through the real pipeline into
``bench/work/value_<N>.duckdb`` once (reused afterwards, upgraded in place by newer migrations;
delete it to build again). Then, each in a fresh process,
on a snapshot of ``analytics/`` (``bench_code.snapshot_code``):

- **fit**: ``value_fit.fit_models`` on the customer base (BG/NBD + Gamma-Gamma), nothing cached;
- **page**: what the page computes (``value.value_view`` and the two customer lists it shows, whose CLV
  intervals are drawn for those customers), default scope: **cold** (connect included, empty caches),
  **warm** (again: fits and the lifetime-value model kept), then each setting of the page changed on the
  fitted models: **horizon** (24 months), **discount** (5 %), **margin** (25 %), each split by the
  functions it calls (:data:`TIMED`);
- **rerun**: the page's cached loader (``ui.loaders.load_view("value", ...)``) called again;
- **pandas** (the baseline, same run): the RFM table (recency, frequency, monetary from the
  customer-day sums, quintile scores, segments, segment summary) from the transactions in a
  DataFrame (their read timed apart), checked equal to the app's;
- **profile** (once, largest size): the page steps under cProfile, ``bench/work/value_profile_<N>.txt``.

Targets at 1M customers on 2 cores: fit <= 10 s; page data <= 1 s once fitted. Results go to
``bench/value_results.json``; a missed target prints FAIL and exits 0 (a measurement, not a test).

Usage: ``python bench/value_bench.py [--customers 100000 1000000] [--repeat 3]``
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
from bench_common import PROJECT_ROOT, WORK_DIR, Timers, _status_mb, write_profile  # noqa: E402
from value_data import TRUE, build  # noqa: E402

TARGET_FIT_S = 10.0
TARGET_PAGE_S = 1.0
TARGET_SIZE = 1_000_000
#: Timed pieces of the page data by module; calls nest (``holdout_check>fit_models``).
TIMED = {"value": "customer_base margin_rates _value_model ValueModel holdout_check _group_frame",
         "rfm": "rfm_table segment_summary segment_grid", "bgnbd": "probability_alive expected_purchases",
         "value_fit": "fit_models inputs_digest fit_bgnbd fit_gamma_gamma frequency_spend_correlation"}



# --------------------------------------------------------------------------- inside a worker

#: The page data measured in one process, in this order: the first view (cold), the same again (warm), then
#: each setting of the page changed on the fitted models (horizon, discount rate, margin).
STEPS = {"cold": {}, "warm": {}, "horizon": {"horizon_months": 24}, "discount": {"horizon_months": 24,
         "discount_rate": 0.05}, "margin": {"horizon_months": 24, "discount_rate": 0.05, "margin": 0.25}}


def page_data(con, scope, **kwargs):
    """What the value page computes: the view model and the two customer lists it shows (their CLV intervals
    are drawn for those customers: ``ValueView.top_by_clv``, ``ValueView.at_risk``)."""
    from analytics.metrics import value

    view = value.value_view(con, scope, **kwargs)
    page_lists(view)
    return view


def page_lists(view):
    return view.top_by_clv(100), view.at_risk(100)


def _modules() -> dict:
    from analytics.metrics import rfm, value, value_fit
    from analytics.models import bgnbd

    return {"value": value, "rfm": rfm, "value_fit": value_fit, "bgnbd": bgnbd}


def _timed(fn, *args, **kwargs) -> tuple[object, dict]:
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}


def _summary(view) -> dict:
    f = view.fits
    out = {"n_customers": view.n_customers, "problem": f.problem, "n_repeaters": f.n_repeaters,
           "total": None if view.total is None else [view.total.point, view.total.low, view.total.high],
           "holdout_error": None if view.holdout is None else view.holdout.error,
           "holdout_problem": view.holdout_problem}
    if f.bgnbd is not None:
        out["bgnbd"] = {k: getattr(f.bgnbd, k) for k in ("r", "alpha", "a", "b", "log_likelihood", "iterations")}
    if f.gamma_gamma is not None:
        out["gamma_gamma"] = {k: getattr(f.gamma_gamma, k) for k in ("p", "q", "gamma", "iterations")}
    return out


def worker(mode: str, db: str) -> dict:
    """One measurement in this (fresh) process."""
    from analytics.metrics import value_fit
    from analytics.metrics.customer_base import customer_base
    from analytics.scope import default_scope
    from analytics.store.connection import connect

    if mode == "build":
        return build(int(db))
    timers = Timers(_modules(), TIMED)
    t0 = time.perf_counter()
    con = connect(db, read_only=True)
    scope = default_scope(con)
    out: dict = {"connect_seconds": time.perf_counter() - t0}
    if mode == "fit":
        base, out["customer_base"] = _timed(customer_base, con, scope, scope.end_exclusive)
        timers.take(0.0)
        value_fit.clear()
        fits, out["fit"] = _timed(value_fit.fit_models, base)
        out["fit"]["parts"] = timers.take(out["fit"]["seconds"])
        out["fit"]["problem"] = fits.problem
        out["bgnbd"] = {k: getattr(fits.bgnbd, k) for k in ("r", "alpha", "a", "b", "iterations", "converged")}
        out["gamma_gamma"] = {k: getattr(fits.gamma_gamma, k) for k in ("p", "q", "gamma", "iterations", "converged")}
    elif mode == "page":
        value_fit.clear()
        for step, kwargs in STEPS.items():
            before = value_fit.fit_count
            view, m = _timed(page_data, con, scope, **kwargs)
            if step == "cold":
                m["seconds"] += out["connect_seconds"]
            m["parts"], m["fits_run"] = timers.take(m["seconds"]), value_fit.fit_count - before
            out[step] = m
        out["view"] = _summary(view)
    elif mode == "rerun":
        con.close()  # the loader opens the process's own connection
        os.environ["CRM_DB"] = db
        import logging

        logging.getLogger("streamlit").setLevel(logging.ERROR)
        from ui import loaders

        out["first"] = _timed(loaders.load_view, "value", scope.cache_key(), loaders.data_version())[1]
        out["seconds"] = statistics.median(
            _timed(loaders.load_view, "value", scope.cache_key(), loaders.data_version())[1]["seconds"]
            for _ in range(5))
    elif mode == "pandas":
        out |= pandas_worker(con, scope)
    elif mode == "profile":
        import cProfile

        value_fit.clear()
        prof = cProfile.Profile()
        prof.enable()
        for kwargs in STEPS.values():
            page_data(con, scope, **kwargs)
        prof.disable()
        out |= write_profile(prof, f"value_profile_{Path(db).stem.split('_')[-1]}")
    else:
        raise ValueError(mode)
    out["peak_rss_mb"] = _status_mb("VmHWM")
    return out


def pandas_rfm(tx, as_of):
    """The RFM table and segment summary with pandas from the transactions (see rfm.py's rules)."""
    import numpy as np
    import pandas as pd

    from analytics.metrics.rfm import SEGMENT_GRID, SEGMENTS

    buys = tx[~tx["is_return"]]
    days = buys.groupby(["customer_id", "order_date"], sort=False)["cents"].sum().reset_index()
    per = days.groupby("customer_id").agg(frequency=("cents", "size"), gross=("cents", "sum"),
                                          last=("order_date", "max"))
    per["recency_days"] = (pd.Timestamp(as_of) - per["last"]).dt.days
    per["monetary"] = per["gross"] / 100.0 / per["frequency"]
    per["revenue"] = tx.groupby("customer_id")["cents"].sum().reindex(per.index) / 100.0
    n = len(per)
    per["r"] = 1 + np.floor(5 * (n - per["recency_days"].rank(method="max")) / n).astype(int)
    per["f"] = 1 + np.floor(5 * (per["frequency"].rank(method="min") - 1) / n).astype(int)
    per["m"] = 1 + np.floor(5 * (per["monetary"].rank(method="min") - 1) / n).astype(int)
    grid = pd.Series({(r, f): s for r, row in SEGMENT_GRID.items() for f, s in enumerate(row, 1)})
    per["rfm_segment"] = grid.reindex(pd.MultiIndex.from_arrays([per["r"], per["f"]])).to_numpy()
    summary = per.groupby("rfm_segment").agg(customers=("r", "size"), revenue=("revenue", "sum")).reindex(SEGMENTS)
    summary["revenue_share"] = summary["revenue"] / per["revenue"].sum()
    return per, summary


def pandas_worker(con, scope) -> dict:
    """The app's RFM from the marts, then the pandas one from the transactions, and how they compare."""
    from datetime import timedelta

    from analytics.metrics import rfm
    from analytics.metrics.customer_base import customer_base

    def app():
        table = rfm.rfm_table(customer_base(con, scope, scope.end_exclusive))
        return table, rfm.segment_summary(table), rfm.segment_grid(table)

    (table, summary, _), app_m = _timed(app)
    t0 = time.perf_counter()
    tx = con.execute("select customer_id, order_date, cast(round(amount * 100) as bigint) as cents, is_return "
                     "from transactions where order_date < ?", [scope.end_exclusive]).df()
    load = time.perf_counter() - t0
    (per, psum), pd_m = _timed(pandas_rfm, tx, scope.end_exclusive - timedelta(days=1))
    mine = table.set_index("customer_id").reindex(per.index)
    diff = {c: int((mine[c] != per[c]).sum()) for c in ("recency_days", "frequency", "r", "f", "m", "rfm_segment")}
    diff["customers"] = len(table) - len(per)
    diff["segment_counts"] = int((summary.set_index("rfm_segment")["customers"] != psum["customers"]).sum())
    return {"app_rfm": app_m, "pandas": pd_m, "pandas_load_seconds": load, "transactions": len(tx),
            "mismatches": diff, "matches": not any(diff.values())}


# --------------------------------------------------------------------------- the parent

def run(mode: str, arg: str, code: Path) -> dict:
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(code), str(PROJECT_ROOT)])}
    out = subprocess.run([sys.executable, __file__, "--worker", mode, arg], capture_output=True, text=True, env=env,
                         cwd=PROJECT_ROOT)
    if out.returncode:
        raise RuntimeError(f"worker {mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def med(runs: list[dict], *keys: str) -> float:
    """The median over ``runs`` of the value at ``keys``."""
    def get(r: dict) -> float:
        for k in keys:
            r = r[k]
        return r
    return statistics.median(get(r) for r in runs)


def measure(n: int, repeat: int, code: Path, profile: bool) -> dict:
    """Every measurement at N customers (medians of ``repeat`` runs)."""
    db, built = WORK_DIR / f"value_{n}.duckdb", run("build", str(n), code)
    runs = {mode: [run(mode, str(db), code) for _ in range(repeat)] for mode in ("fit", "page", "rerun", "pandas")}
    first = {mode: rs[0] for mode, rs in runs.items()}
    row = {"customers": n, "built": built, "fit_s": med(runs["fit"], "fit", "seconds"),
           "fit_cpu_s": med(runs["fit"], "fit", "cpu_seconds"), "fit_parts": first["fit"]["fit"]["parts"],
           "customer_base_s": med(runs["fit"], "customer_base", "seconds")}
    for step in STEPS:
        row[f"{step}_s"] = med(runs["page"], step, "seconds")
        row[f"{step}_cpu_s"] = med(runs["page"], step, "cpu_seconds")
        parts = runs["page"][0][step]["parts"]
        row[f"{step}_parts"] = {p: med(runs["page"], step, "parts", p) for p in parts
                                if all(p in r[step]["parts"] for r in runs["page"])}
        row[f"{step}_fits_run"] = max(r[step]["fits_run"] for r in runs["page"])
    row |= {"rerun_s": med(runs["rerun"], "seconds"), "app_rfm_s": med(runs["pandas"], "app_rfm", "seconds"),
            "app_rfm_cpu_s": med(runs["pandas"], "app_rfm", "cpu_seconds"),
            "pandas_s": med(runs["pandas"], "pandas", "seconds"), "pandas_cpu_s": med(runs["pandas"], "pandas",
                                                                                      "cpu_seconds"),
            "pandas_load_s": med(runs["pandas"], "pandas_load_seconds"), "rfm_matches": first["pandas"]["matches"],
            "rfm_mismatches": first["pandas"]["mismatches"], "transactions": first["pandas"]["transactions"],
            "view": first["page"]["view"], "fit_params": {k: first["fit"][k] for k in ("bgnbd", "gamma_gamma")},
            "peak_rss_mb": max(r["peak_rss_mb"] for rs in runs.values() for r in rs)}
    for step in ("cold", "warm", "horizon", "app_rfm"):
        row[f"pandas_over_{step}"] = row["pandas_s"] / row[f"{step}_s"]
    if profile:
        row["profile"] = run("profile", str(db), code)
    row["runs"] = runs
    return row


def table(sizes: list[dict]) -> str:
    """The results as a markdown table (medians; wall clock, then CPU seconds of all threads)."""
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"

    def both(s: dict, key: str) -> str:
        return f"{ms(s[key + '_s'])} ({s[key + '_cpu_s']:.1f})" if key + "_cpu_s" in s else ms(s[key + "_s"])

    lines = ["| customers | transactions | fit (CPU s) | page cold (CPU s) | page warm (CPU s) | new horizon (CPU s) "
             "| new discount rate | new margin | loader rerun | app RFM (CPU s) | pandas RFM (CPU s) (+ read) "
             "| pandas / cold | pandas / warm | pandas / app RFM |", "|" + "---:|" * 14]
    for s in sizes:
        lines.append(f"| {s['customers']:,} | {s['transactions']:,} | {both(s, 'fit')} | {both(s, 'cold')} "
                     f"| {both(s, 'warm')} | {both(s, 'horizon')} | {both(s, 'discount')} | {both(s, 'margin')} "
                     f"| {ms(s['rerun_s'])} | {both(s, 'app_rfm')} "
                     f"| {both(s, 'pandas')} (+{ms(s['pandas_load_s'])}) | {s['pandas_over_cold']:.2f}x "
                     f"| {s['pandas_over_warm']:.2f}x | {s['pandas_over_app_rfm']:.2f}x |")
    return "\n".join(lines)


def verdicts(sizes: list[dict]) -> list[dict]:
    out = []
    for s in sizes:
        if s["customers"] != TARGET_SIZE:
            continue
        for name, value in (("fit <= 10 s", s["fit_s"]), ("page data once fitted (same inputs) <= 1 s", s["warm_s"]),
                            ("page data once fitted (new horizon) <= 1 s", s["horizon_s"]),
                            ("page data once fitted (new discount rate) <= 1 s", s["discount_s"]),
                            ("page data once fitted (new margin) <= 1 s", s["margin_s"])):
            limit = TARGET_FIT_S if name.startswith("fit") else TARGET_PAGE_S
            out.append({"target": f"{name} at {s['customers']:,} customers", "value": round(value, 3),
                        "pass": value <= limit})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled run of the largest size")
    parser.add_argument("--output", type=Path, default=BENCH / "value_results.json")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "ARG"))
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker), default=str))
        return 0
    from bench_code import _git_state, snapshot_code

    WORK_DIR.mkdir(exist_ok=True)
    code = snapshot_code()
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "code": _git_state() | {"measured": code.name},
               "repeat": args.repeat, "statistic": "median", "true_parameters": TRUE, "cores": os.cpu_count(),
               "load_average_start": os.getloadavg(), "sizes": []}
    try:
        for n in args.customers:
            row = measure(n, args.repeat, code, not args.no_profile and n == max(args.customers))
            results["sizes"].append(row)
            print(f"{n:>9,} customers: fit {row['fit_s']:.2f} s, page cold {row['cold_s']:.2f} s, warm "
                  f"{row['warm_s']:.2f} s, new horizon {row['horizon_s']:.2f} s (fits run {row['horizon_fits_run']}), "
                  f"pandas RFM {row['pandas_s']:.2f} s, RFM equal: {row['rfm_matches']}", flush=True)
    finally:
        shutil.rmtree(code, ignore_errors=True)
    results["load_average_end"] = os.getloadavg()
    results["verdicts"] = verdicts(results["sizes"])
    print("\n" + table(results["sizes"]) + "\n")
    for s in results["sizes"]:
        for step in STEPS:
            print(f"{s['customers']:,} {step}: " + ", ".join(f"{p} {v:.2f}" for p, v in s[f"{step}_parts"].items()
                                                              if v >= 0.01))
    for v in results["verdicts"]:
        print(f"{'PASS' if v['pass'] else 'FAIL'}  {v['target']}: {v['value']} s")
    args.output.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
