"""The parent's side of one measurement: start a job in a fresh worker subprocess, watch its
process tree's RSS, collect its result line with its wall time, CPU time and peak RSS; and
the median figures of a measurement's runs."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil
from bench_code import code_hash
from bench_common import BENCH_DIR, MIB, PROJECT_ROOT, RESULT_PREFIX, WORK_DIR, Job

POLL_SECONDS = 0.02
WORKER_SCRIPT = BENCH_DIR / "import_bench.py"  # started as ``import_bench.py --worker <job>``


def remove_db(db: Path) -> None:
    """Delete a database file and its write-ahead log."""
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)


def run_worker(job: Job) -> dict[str, Any]:
    """Run one job in a fresh subprocess; add its wall time, CPU time and peak RSS."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    out_path = WORK_DIR / f"worker_{job.mode}.out"
    err_path = WORK_DIR / f"worker_{job.mode}.err"
    cmd = [sys.executable, str(WORKER_SCRIPT), "--worker", json.dumps(asdict(job), default=str)]
    polled_peak = 0
    load_before = os.getloadavg()[0]
    code_before = code_hash(Path(job.code_dir))
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=PROJECT_ROOT)
        watched = psutil.Process(proc.pid)
        while True:
            # wait4 reaps only this child and gives its own CPU times.
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            try:
                rss = watched.memory_info().rss
                for child in watched.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        rss += child.memory_info().rss
                polled_peak = max(polled_peak, rss)
            except psutil.Error:
                pass
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped; keep Popen consistent
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    lines = [ln for ln in stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX):]) if lines else {}
    if proc.returncode != 0 or not lines:
        result.setdefault("error", f"exit {proc.returncode}: {stderr.strip().splitlines()[-1:]}")
    result.update({
        "wall_seconds": wall,
        # (the profile job resets VmHWM per statement, so there only the polled peak covers the run)
        "peak_rss_mb": (max(result.get("vm_hwm_mb", 0.0), polled_peak / MIB) if job.mode == "profile"
                        else result.get("vm_hwm_mb", polled_peak / MIB)),
        "polled_peak_rss_mb": polled_peak / MIB,
        "ru_maxrss_mb": usage.ru_maxrss / 1024,  # includes pre-exec (parent) pages; not used
        "process_cpu_seconds": usage.ru_utime + usage.ru_stime,  # start-up and imports included
        "load_avg_1min_before": load_before,
        "load_avg_1min_after": os.getloadavg()[0],
        "code": code_before,
    })
    if code_hash(Path(job.code_dir)) != code_before:
        result["code_changed_during_run"] = True
        print(f"  WARNING: analytics/ changed while the {job.mode} run was going on", flush=True)
    if job.db.exists():
        result["db_mb"] = job.db.stat().st_size / MIB
    return result


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def summarise(runs: list[dict[str, Any]], rows: int) -> dict[str, Any]:
    """Median figures of the successful runs of one measurement."""
    ok = [r for r in runs if "error" not in r]
    summary: dict[str, Any] = {"runs": runs, "failed_runs": len(runs) - len(ok)}
    if not ok:
        summary["error"] = runs[-1]["error"]
        summary["peak_rss_mb"] = _median(runs, "peak_rss_mb")
        summary["seconds_until_failure"] = _median(runs, "wall_seconds")
        return summary
    seconds = _median(ok, "seconds")
    assert seconds is not None
    summary.update({
        "seconds": seconds,
        "rows_per_second": rows / seconds,
        **{k: _median(ok, k) for k in ("wall_seconds", "cpu_seconds", "process_cpu_seconds", "peak_rss_mb",
                                       "polled_peak_rss_mb", "rss_idle_mb", "db_mb")},
        "rows_imported": ok[-1].get("rows_imported"),
    })
    return summary

