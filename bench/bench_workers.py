"""What runs inside a measured subprocess (``python bench/import_bench.py --worker <job>``):
one job (generate the CSV, the bare read, the pipeline import or re-import, the profile),
then one result line (JSON) on stdout, with the process's peak RSS."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from bench_common import RESULT_PREFIX, TEMP_DIR, Job, _apply_settings, _pipeline, _status_mb
from bench_data import generate_query
from bench_profile import worker_profile


def worker_generate(job: Job) -> dict[str, Any]:
    """Write the CSV of ``job.rows`` rows (to a partial name, then renamed)."""
    import duckdb

    job.csv.parent.mkdir(parents=True, exist_ok=True)
    partial = job.csv.with_suffix(".csv.partial")
    start = time.perf_counter()
    con = duckdb.connect(config={"memory_limit": "4GB", "temp_directory": str(TEMP_DIR)})
    con.execute(f"copy ({generate_query(job.rows, job.shape)}) to '{partial}' (header true, delimiter ',')")
    con.close()
    partial.replace(job.csv)
    return {"seconds": time.perf_counter() - start}


def worker_baseline(job: Job) -> dict[str, Any]:
    """Bare DuckDB: the whole file into a table, types auto-detected."""
    import duckdb

    rss_idle = _status_mb("VmRSS")
    start, cpu = time.perf_counter(), time.process_time()
    con = duckdb.connect(str(job.db), config={"memory_limit": job.memory_limit,
                                              "temp_directory": str(TEMP_DIR)})
    _apply_settings(con, job.settings)
    con.execute("create table t as select * from read_csv(?)", [str(job.csv)])
    rows = con.execute("select count(*) from t").fetchall()[0][0]
    con.close()
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
            "rows_imported": rows, "rss_idle_mb": rss_idle}


def _report_fields(report: Any) -> dict[str, Any]:
    return {k: getattr(report, k) for k in (
        "rows_read", "rows_valid", "rows_rejected", "rows_excluded", "rows_already_present",
        "rows_imported", "status")}


def worker_pipeline(job: Job) -> dict[str, Any]:
    """The app's import (``reimport``: of a file already in the database)."""
    connect, import_file = _pipeline(job)
    rss_idle = _status_mb("VmRSS")
    start, cpu = time.perf_counter(), time.process_time()
    con = connect(job.db, memory_limit=job.memory_limit)
    _apply_settings(con, job.settings)
    connected = time.perf_counter()
    report = import_file(con, job.csv, commit=True, imported_by="bench", kind="transactions")
    con.close()
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
            "connect_seconds": connected - start, "code_from": sys.modules["analytics"].__file__,
            "rss_idle_mb": rss_idle, **_report_fields(report)}


WORKERS: dict[str, Callable[[Job], dict[str, Any]]] = {
    "generate": worker_generate,
    "baseline": worker_baseline,
    "pipeline": worker_pipeline,
    "reimport": worker_pipeline,
    "profile": worker_profile,
}


def run_in_worker(job: Job) -> None:
    """Inside the subprocess: do the job, print its result line (errors included)."""
    try:
        result = WORKERS[job.mode](job)
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    result["vm_hwm_mb"] = _status_mb("VmHWM")
    print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False, default=str), flush=True)

