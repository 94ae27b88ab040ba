"""Import pipeline benchmark: ``import_file`` against DuckDB's bare CSV read.

For each file shape (``--shape``) and size N (``--rows``), the script

1. generates the file with DuckDB's ``COPY`` (reused when it already exists; see
   ``bench_data.py``): ``transactions`` (``bench/work/transactions_<N>.csv``: one row per
   transaction, ids ``T000000001`` rising, customer ids ``C0012345``, about N/15
   customers) or ``lines`` (``bench/work/order_lines_<N>.csv``: an order-line export, 1–5
   lines per order, 3 on average, order numbers in no order, some lines repeated exactly
   within their order); both with ISO dates over three years, amounts with two decimals
   (3 % negative, i.e. returns), Chinese region, channel, product, category and sales-rep
   names;
2. measures, each in a fresh subprocess on a fresh database file:

   * ``baseline``: ``create table t as select * from read_csv(file)`` (auto-detect) in a
     bare DuckDB database with the same memory limit and temporary directory;
   * ``pipeline``: ``analytics.ingest.pipeline.import_file(con, file, commit=True)`` on a new
     database opened with ``analytics.store.connection.connect``;
   * ``reimport`` (largest size only): the same file imported again, in a new process,
     into the database the pipeline run filled; it must add 0 rows (the dedup path);

   recording the time of the operation (inside the subprocess, after its imports), the
   subprocess's wall and CPU time and its peak RSS: ``VmHWM`` read by the subprocess
   itself at the end, cross-checked by polling its process tree every 20 ms. (The
   ``ru_maxrss`` of ``wait4`` is kept in the JSON but not used: on Linux it carries the
   parent's RSS over from before ``exec``.) A run that fails (e.g. DuckDB's out-of-memory
   error) is recorded as failed and the benchmark goes on;
3. prints a markdown table, PASS/FAIL against the targets (pipeline throughput at least
   1/3 of the bare read; pipeline peak RSS under 1.5 GiB at 10M rows; for each shape) and writes
   ``bench/results.json``. A missed target is reported, never turned into an exit code.

``--profile`` also imports (and re-imports) the largest file of the last shape in a subprocess that times
every SQL statement the pipeline runs (through a proxy connection), with the peak RSS
and DuckDB's memory use of each, and profiles its Python code with cProfile; the summary
goes into the results and ``bench/work/profile_<N>.txt``.

``--set name=value`` (repeatable) applies a DuckDB setting to every benchmark connection
after it is opened, on both sides (for experiments; not part of the app's behaviour).

The parts: ``bench_data.py`` (the CSV files), ``bench_runner.py`` (starting a worker
subprocess and measuring it), ``bench_workers.py`` (what runs inside one: the workers are
started as ``python bench/import_bench.py --worker <job>``), ``bench_profile.py``
(``--profile``), ``bench_code.py`` (the snapshot of the code measured and its hash),
``bench_report.py`` (the table, the targets and the printed report) and ``bench_common.py``
(the paths and the job they share). This file holds the command line and the order of the
measurements.

Usage::

    python bench/import_bench.py                      # both shapes, 1M and 10M rows, once each
    python bench/import_bench.py --shape lines --rows 10000000 --repeat 3
    python bench/import_bench.py --rows 1000000 --repeat 3 --profile
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Any

import psutil
from bench_code import _git_state, code_hash, snapshot_code
from bench_common import BENCH_DIR, MIB, PROJECT_ROOT, TEMP_DIR, WORK_DIR, Job
from bench_data import CHANNELS as CHANNELS  # (overview_bench.py imports these three from here)
from bench_data import REGIONS as REGIONS
from bench_data import SHAPES, ensure_csv
from bench_profile import write_profile_text
from bench_report import TARGET_PEAK_MB, TARGET_PEAK_ROWS, TARGET_RATIO, _print_run, evaluate_targets, print_report
from bench_runner import remove_db, run_worker, summarise
from bench_workers import run_in_worker

RESULTS_JSON = BENCH_DIR / "results.json"

DEFAULT_ROWS = (1_000_000, 10_000_000)


def machine_info() -> dict[str, Any]:
    """Cores, memory, CPU model, versions and the date of the run."""
    import duckdb

    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


def measure_size(rows: int, shape: str, largest: bool, repeat: int, memory_limit: str, settings: list[str],
                 profile: bool, code_dir: Path, created: list[Path]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The bare read and the pipeline on the file of ``rows`` rows of ``shape`` (and, at the
    largest size, the re-import and the profile); returns its entry of the results and the
    profile (None when not profiled). Database files made are appended to ``created``."""
    csv, gen_seconds = ensure_csv(rows, memory_limit, shape)
    csv_mb = csv.stat().st_size / MIB
    print(f"\n## {rows:,} rows ({shape}): {csv.name} ({csv_mb:.0f} MB, "
          + (f"generated in {gen_seconds:.1f}s)" if gen_seconds is not None else "reused)"), flush=True)
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "pipeline": []}
    pipe_db = WORK_DIR / f"pipeline_{shape}_{rows}.duckdb"
    for i in range(1, repeat + 1):
        for mode in ("baseline", "pipeline"):
            db = WORK_DIR / f"{mode}_{shape}_{rows}.duckdb"
            remove_db(db)
            created.append(db)
            result = run_worker(Job(mode, csv, db, memory_limit, settings, code_dir=str(code_dir)))
            runs[mode].append(result)
            _print_run(mode, i, repeat, result)
            if mode == "pipeline" and "error" not in result and result.get("rows_imported") != rows:
                print(f"  WARNING: the pipeline imported {result.get('rows_imported')} of {rows} rows", flush=True)
            if mode == "baseline" or i < repeat or not largest:
                remove_db(db)
    entry: dict[str, Any] = {
        "rows": rows, "shape": shape, "csv": csv.relative_to(PROJECT_ROOT).as_posix(), "csv_mb": csv_mb,
        "csv_generation_seconds": gen_seconds,
        "baseline": summarise(runs["baseline"], rows), "pipeline": summarise(runs["pipeline"], rows),
    }
    b, p = entry["baseline"], entry["pipeline"]
    both = "error" not in b and "error" not in p
    entry["ratio"] = p["rows_per_second"] / b["rows_per_second"] if both else None
    # The same ratio in CPU time: less sensitive to other load on the machine.
    entry["cpu_ratio"] = b["cpu_seconds"] / p["cpu_seconds"] if both else None
    codes = {r.get("code") for r in runs["baseline"] + runs["pipeline"]}
    entry["code_changed_between_runs"] = len(codes) > 1
    if largest and "error" not in p:
        re_runs = []
        for i in range(1, repeat + 1):
            result = run_worker(Job("reimport", csv, pipe_db, memory_limit, settings, code_dir=str(code_dir)))
            if result.get("rows_imported"):
                print(f"  WARNING: the re-import added {result['rows_imported']} rows", flush=True)
            re_runs.append(result)
            _print_run("reimport", i, repeat, result)
        entry["reimport"] = summarise(re_runs, rows)
    remove_db(pipe_db)
    profile_result = None
    if largest and profile:
        prof_db = WORK_DIR / f"profile_{shape}_{rows}.duckdb"
        remove_db(prof_db)
        created.append(prof_db)
        print("  profiling the pipeline (import + re-import) ...", flush=True)
        profile_result = run_worker(Job("profile", csv, prof_db, memory_limit, settings, code_dir=str(code_dir)))
        profile_result["rows"] = rows
        profile_result["shape"] = shape
        if "import" in profile_result:
            write_profile_text(profile_result, rows)
        remove_db(prof_db)
    return entry, profile_result


def run_benchmark(row_counts: list[int], repeat: int, memory_limit: str, settings: list[str],
                  profile: bool, keep_db: bool, live_code: bool, code_from: Path | None,
                  shapes: list[str] | None = None) -> dict[str, Any]:
    """Every measurement, in order; returns what goes into results.json."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    if live_code:
        code_dir = PROJECT_ROOT
    elif code_from is not None:
        code_dir = code_from.resolve()
        if not (code_dir / "analytics" / "ingest" / "pipeline.py").is_file():
            raise SystemExit(f"--code {code_from}: no analytics/ingest/pipeline.py there")
    else:
        code_dir = snapshot_code()
    code = {**_git_state(), "measured": "working tree" if live_code else code_dir.name,
            "measured_sha256": code_hash(code_dir)}
    print(f"measuring the analytics package in {code_dir} ({code['measured_sha256']})", flush=True)
    shapes = shapes or list(SHAPES)
    largest = max(row_counts)
    sizes = []
    created: list[Path] = []
    profile_result = None
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    try:
        for shape in shapes:
            for rows in sorted(set(row_counts)):
                entry, prof = measure_size(rows, shape, rows == largest, repeat, memory_limit, settings,
                                           profile and shape == shapes[-1], code_dir, created)
                sizes.append(entry)
                profile_result = prof or profile_result
    finally:
        if not keep_db:
            for db in created:
                remove_db(db)
            shutil.rmtree(TEMP_DIR, ignore_errors=True)
            if not live_code and code_from is None:
                shutil.rmtree(code_dir, ignore_errors=True)
    results: dict[str, Any] = {
        "started": started, "machine": machine_info(), "code": code,
        "memory_limit": memory_limit, "settings": settings, "repeat": repeat, "shapes": shapes,
        "statistic": "median" if repeat > 1 else "single run",
        "targets": {"min_ratio": TARGET_RATIO, "max_pipeline_peak_mb": TARGET_PEAK_MB,
                    "peak_at_rows": TARGET_PEAK_ROWS},
        "sizes": sizes,
    }
    results["verdicts"] = evaluate_targets(sizes)
    if profile_result is not None:
        for part in ("import", "reimport"):
            if profile_result.get(part):
                profile_result[part].pop("cprofile_text", None)
                profile_result[part]["statements"] = profile_result[part]["statements"][:25]
        results["profile"] = profile_result
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS),
                        help="sizes to measure (default: 1000000 10000000)")
    parser.add_argument("--shape", nargs="+", choices=sorted(SHAPES), default=list(SHAPES),
                        help="file shapes to measure: one row per transaction, order lines (default: both)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the median is reported")
    parser.add_argument("--memory-limit", default=os.environ.get("CRM_DB_MEMORY", "1GB"),
                        help="DuckDB memory limit for both sides (default $CRM_DB_MEMORY or 1GB)")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="a DuckDB setting applied to every connection after opening (experiments)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile the pipeline's SQL statements and Python at the largest size")
    parser.add_argument("--keep-db", action="store_true", help="keep the database files (debugging)")
    parser.add_argument("--live-code", action="store_true",
                        help="import analytics/ from the working tree instead of a snapshot taken at the start")
    parser.add_argument("--code", type=Path, metavar="DIR",
                        help="measure the analytics package in DIR/analytics (e.g. an earlier snapshot)")
    parser.add_argument("--output", type=Path, default=RESULTS_JSON, help="results file (JSON)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1 or any(n < 1 for n in args.rows):
        parser.error("--rows and --repeat must be positive")
    if any("=" not in s for s in args.settings):
        parser.error("--set takes NAME=VALUE")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--worker``, one job inside a subprocess)."""
    args = parse_args(argv)
    if args.worker:
        spec = json.loads(args.worker)
        run_in_worker(Job(**{**spec, "csv": Path(spec["csv"]), "db": Path(spec["db"])}))
        return 0
    results = run_benchmark(args.rows, args.repeat, args.memory_limit, args.settings, args.profile,
                            args.keep_db, args.live_code, args.code, args.shape)
    print_report(results)
    args.output.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str) + "\n",
                           encoding="utf-8")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
