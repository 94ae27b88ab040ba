"""Import pipeline benchmark: ``import_file`` against DuckDB's bare CSV read.

For each size N (``--rows``), the script

1. generates ``bench/work/transactions_<N>.csv`` with DuckDB's ``COPY`` (reused when it
   already exists): transaction ids ``T000000001``, customer ids ``C0012345`` (about
   N/15 customers), ISO dates over three years, amounts with two decimals (3 % negative,
   i.e. returns), Chinese region, channel, product, category and sales-rep names;
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
   1/3 of the bare read; pipeline peak RSS under 1.5 GiB at 10M rows) and writes
   ``bench/results.json``. A missed target is reported, never turned into an exit code.

``--profile`` also imports (and re-imports) the largest file in a subprocess that times
every SQL statement the pipeline runs (through a proxy connection), with the peak RSS
and DuckDB's memory use of each, and profiles its Python code with cProfile; the summary
goes into the results and ``bench/work/profile_<N>.txt``.

``--set name=value`` (repeatable) applies a DuckDB setting to every benchmark connection
after it is opened, on both sides (for experiments; not part of the app's behaviour).

Usage::

    python bench/import_bench.py                      # 1M and 10M rows, once each
    python bench/import_bench.py --rows 1000000 --repeat 3 --profile
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import hashlib
import io
import json
import os
import platform
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / "work"
RESULTS_JSON = BENCH_DIR / "results.json"
TEMP_DIR = WORK_DIR / ".duckdb_tmp"  # what analytics.store.connection.connect uses for a database in WORK_DIR

DEFAULT_ROWS = (1_000_000, 10_000_000)
POLL_SECONDS = 0.02
MIB = 1024 * 1024
TARGET_RATIO = 1 / 3
TARGET_PEAK_MB = 1536.0  # 1.5 GiB
TARGET_PEAK_ROWS = 10_000_000
RESULT_PREFIX = "BENCH_RESULT "

REGIONS = ("华东", "华北", "华南", "华中", "西南", "西北", "东北")
CHANNELS = ("线上商城", "天猫旗舰店", "京东自营", "线下门店", "经销商", "电话销售", "微信小程序")
# (product noun, category); each noun comes in five models, so 60 products.
PRODUCTS = (
    ("空气净化器", "家电"), ("电饭煲", "家电"), ("扫地机器人", "家电"),
    ("蓝牙耳机", "数码"), ("平板电脑", "数码"), ("智能手表", "数码"),
    ("羽绒服", "服装"), ("运动鞋", "服装"),
    ("有机大米", "食品"), ("坚果礼盒", "食品"),
    ("面霜", "美妆"), ("乳胶枕", "家居"),
)
SALES_REPS = (
    "张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴婷", "徐明", "孙丽",
    "马超", "朱琳", "胡斌", "郭颖", "何勇", "林晓", "高峰", "罗丹", "郑凯", "梁爽", "宋涛", "谢芳",
)


@dataclass
class Job:
    """What one worker subprocess is asked to do."""

    mode: str
    csv: Path
    db: Path
    memory_limit: str
    settings: list[str] = field(default_factory=list)
    rows: int = 0
    code_dir: str = str(PROJECT_ROOT)  # the folder holding the ``analytics`` package to measure


# --------------------------------------------------------------------------- data

def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def csv_path(rows: int) -> Path:
    """Where the generated file of ``rows`` rows lives."""
    return WORK_DIR / f"transactions_{rows}.csv"


def generate_query(rows: int) -> str:
    """The query of a transactions table of ``rows`` rows.

    Values derive from ``hash(i, ...)``, so a size always gives the same file.
    """
    customers = max(rows // 15, 1)
    width = max(7, len(str(customers)))
    nouns = _sql_list(tuple(p for p, _ in PRODUCTS))
    cats = _sql_list(tuple(c for _, c in PRODUCTS))
    return f"""
        with base as (
            select i,
                   cast(hash(i, 'cust') % {customers} + 1 as bigint) as cust,
                   cast(hash(i, 'date') % 1096 as bigint) as day,
                   cast(hash(i, 'prod') % 60 as bigint) as prod,
                   cast(hash(i, 'qty') % 100 as bigint) as q,
                   cast(hash(i, 'disc') % 21 as bigint) as disc,
                   cast(hash(i, 'ret') % 100 as bigint) as ret,
                   cast(hash(i, 'chan') % {len(CHANNELS)} as bigint) as chan,
                   cast(hash(i, 'rep') % {len(SALES_REPS)} as bigint) as rep
            from range({rows}) t(i)
        ),
        priced as (
            select *,
                   case when q < 60 then 1 when q < 85 then 2 when q < 95 then 3 else 1 + q % 10 end
                       as qty,
                   (19.9 + (hash(prod, 'price') % 2000) * 1.5) * (100 - disc) / 100.0 as unit_price
            from base
        )
        select
            'T' || lpad(cast(i + 1 as varchar), 9, '0') as transaction_id,
            'C' || lpad(cast(cust as varchar), {width}, '0') as customer_id,
            strftime(date '2022-01-01' + cast(day as integer), '%Y-%m-%d') as order_date,
            printf('%.2f', (case when ret < 3 then -1 else 1 end) * qty * unit_price) as amount,
            qty as quantity,
            {_sql_list(REGIONS)}[cust % {len(REGIONS)} + 1] as region,
            {_sql_list(CHANNELS)}[chan + 1] as channel,
            {nouns}[prod % {len(PRODUCTS)} + 1] || ' ' || chr(65 + cast(prod // {len(PRODUCTS)} as integer))
                || '型' as product,
            {cats}[prod % {len(PRODUCTS)} + 1] as category,
            {_sql_list(SALES_REPS)}[rep + 1] as sales_rep
        from priced
        order by i
    """


def ensure_csv(rows: int, memory_limit: str) -> tuple[Path, float | None]:
    """The CSV of ``rows`` rows, generated (in a subprocess) when missing.

    Returns (path, seconds taken, or None when an existing file was reused).
    """
    path = csv_path(rows)
    if path.is_file():
        return path, None
    result = run_worker(Job("generate", path, WORK_DIR / "unused.duckdb", memory_limit, rows=rows))
    if "error" in result:
        raise RuntimeError(f"could not generate {path.name}: {result['error']}")
    return path, result["seconds"]


# --------------------------------------------------------------------------- workers
# Each runs inside its own subprocess and prints one result line (JSON) to stdout.

def _status_mb(key: str) -> float:
    """A ``/proc/self/status`` figure (VmRSS, VmHWM) in MiB."""
    match = re.search(rf"^{key}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(match.group(1)) / 1024 if match else float("nan")


def _reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0), to measure one step's peak."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _apply_settings(con: Any, settings: list[str]) -> None:
    for item in settings:
        name, value = item.split("=", 1)
        con.execute(f"set {name.strip()} = '{value.strip()}'")


def worker_generate(job: Job) -> dict[str, Any]:
    """Write the CSV of ``job.rows`` rows (to a partial name, then renamed)."""
    import duckdb

    job.csv.parent.mkdir(parents=True, exist_ok=True)
    partial = job.csv.with_suffix(".csv.partial")
    start = time.perf_counter()
    con = duckdb.connect(config={"memory_limit": "4GB", "temp_directory": str(TEMP_DIR)})
    con.execute(f"copy ({generate_query(job.rows)}) to '{partial}' (header true, delimiter ',')")
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


def _pipeline(job: Job) -> tuple[Callable[..., Any], Callable[..., Any]]:
    sys.path.insert(0, job.code_dir)
    from analytics.ingest.pipeline import import_file
    from analytics.store.connection import connect

    return connect, import_file


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


_TABLE_NAMES = re.compile(r"raw_[0-9a-f]{12}")
_SPACES = re.compile(r"\s+")


OPERATOR_DETAIL_SECONDS = 0.5  # statements slower than this get DuckDB's per-operator profile


def _operators(info: str) -> list[dict[str, Any]]:
    """DuckDB's JSON query profile flattened: one entry per operator, slowest first."""
    found: list[dict[str, Any]] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        extra = node.get("extra_info") or {}
        detail = extra.get("Projections") or extra.get("Aggregates") or extra.get("Join Type") or extra.get(
            "Function") or ""
        if isinstance(detail, list):
            detail = ", ".join(str(d) for d in detail)
        found.append({"operator": node.get("type", "?"), "depth": depth,
                      "seconds": float(node.get("timing") or 0.0),
                      "rows": node.get("intermediate_rows"), "detail": str(detail)[:300]})
        for child in node.get("children") or []:
            walk(child, depth + 1)

    with contextlib.suppress(ValueError, TypeError, AttributeError):
        for root in json.loads(info).get("operator") or []:
            walk(root, 0)
    return sorted((o for o in found if o["seconds"] >= 0.05), key=lambda o: -o["seconds"])[:12]


class _Timer:
    """Seconds, CPU, peak RSS and DuckDB memory of every SQL statement, in run order."""

    def __init__(self, con: Any) -> None:
        self.memory_cursor = con.cursor()  # its own cursor: never disturbs a pending result
        self.steps: list[dict[str, Any]] = []

    def measure(self, sql: str, inner: Any, run: Callable[[], Any]) -> Any:
        _reset_peak()
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return run()
        finally:
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            peak = _status_mb("VmHWM")
            used, spilled = self.memory_cursor.execute(
                "select sum(memory_usage_bytes), sum(temporary_storage_bytes) from duckdb_memory()"
            ).fetchall()[0]
            label = _SPACES.sub(" ", _TABLE_NAMES.sub("raw_*", sql)).strip()
            step = {"step": len(self.steps) + 1, "sql": label[:400], "seconds": seconds, "cpu_seconds": cpu,
                    "peak_rss_mb": peak, "duckdb_mb": (used or 0) / MIB, "duckdb_spilled_mb": (spilled or 0) / MIB}
            if seconds >= OPERATOR_DETAIL_SECONDS:
                with contextlib.suppress(Exception):
                    step["operators"] = _operators(inner.get_profiling_information(format="json"))
            self.steps.append(step)


class _TimedCursor:
    """A DuckDB connection/cursor whose ``execute`` calls are measured; the rest passes through.

    Each underlying cursor has DuckDB's detailed profiling on (kept in memory, not printed).
    """

    def __init__(self, inner: Any, timer: _Timer) -> None:
        self._inner = inner
        self._timer = timer
        with contextlib.suppress(Exception):
            inner.execute("set enable_profiling = 'no_output'")
            inner.execute("set profiling_mode = 'detailed'")

    def cursor(self) -> _TimedCursor:
        return _TimedCursor(self._inner.cursor(), self._timer)

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        return self._timer.measure(sql, self._inner, lambda: self._inner.execute(sql, *args, **kwargs))

    def executemany(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        return self._timer.measure(sql, self._inner, lambda: self._inner.executemany(sql, *args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _profile_once(import_file: Callable[..., Any], con: Any, csv: Path) -> dict[str, Any]:
    timer = _Timer(con)
    profiler = cProfile.Profile()
    error = None
    rows_imported = None
    start = time.perf_counter()
    profiler.enable()
    try:
        report = import_file(_TimedCursor(con, timer), csv, commit=True, imported_by="bench",
                             kind="transactions")
        rows_imported = report.rows_imported
    except Exception as exc:
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        profiler.disable()
    total = time.perf_counter() - start
    by_sql: dict[str, dict[str, Any]] = {}
    for s in timer.steps:
        agg = by_sql.setdefault(s["sql"], {"sql": s["sql"], "seconds": 0.0, "cpu_seconds": 0.0, "calls": 0,
                                           "first_step": s["step"], "peak_rss_mb": 0.0})
        agg["seconds"] += s["seconds"]
        agg["cpu_seconds"] += s["cpu_seconds"]
        agg["calls"] += 1
        agg["peak_rss_mb"] = max(agg["peak_rss_mb"], s["peak_rss_mb"])
    statements = sorted(by_sql.values(), key=lambda d: -d["seconds"])
    python_funcs = []
    stats = pstats.Stats(profiler)
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "/analytics/" in filename:
            python_funcs.append({"function": f"{Path(filename).name}:{line} {func}", "calls": ncalls,
                                 "self_seconds": tottime, "cumulative_seconds": cumtime})
    python_funcs.sort(key=lambda d: -d["self_seconds"])
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
    sql_total = sum(s["seconds"] for s in timer.steps)
    return {
        "seconds": total, "sql_seconds": sql_total, "other_seconds": total - sql_total,
        "rows_imported": rows_imported, "error": error, "statements": statements,
        "steps": timer.steps, "python_functions": python_funcs[:25], "cprofile_text": text.getvalue(),
    }


def worker_profile(job: Job) -> dict[str, Any]:
    """Import then re-import the file, measuring every SQL statement and the Python code."""
    connect, import_file = _pipeline(job)
    con = connect(job.db, memory_limit=job.memory_limit)
    _apply_settings(con, job.settings)
    first = _profile_once(import_file, con, job.csv)
    again = _profile_once(import_file, con, job.csv) if first["error"] is None else None
    con.close()
    return {"import": first, "reimport": again}


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


# --------------------------------------------------------------------------- parent

def remove_db(db: Path) -> None:
    """Delete a database file and its write-ahead log."""
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)


def run_worker(job: Job) -> dict[str, Any]:
    """Run one job in a fresh subprocess; add its wall time, CPU time and peak RSS."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    out_path = WORK_DIR / f"worker_{job.mode}.out"
    err_path = WORK_DIR / f"worker_{job.mode}.err"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(asdict(job), default=str)]
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


def _git_state() -> dict[str, Any]:
    """The commit and the uncommitted changes of the code measured (other people edit it)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                                  timeout=30).stdout.rstrip("\n")
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "modified": [ln[3:] for ln in git("status", "--porcelain", "analytics").splitlines()],
            "working_tree_sha256": code_hash(PROJECT_ROOT)}


def code_hash(root: Path) -> str:
    """A short hash of the pipeline's code under ``root`` (``analytics/**/*.py`` and ``*.sql``)."""
    digest = hashlib.sha256()
    for path in sorted((root / "analytics").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".sql"):
            with contextlib.suppress(OSError):
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def snapshot_code() -> Path:
    """Copy ``analytics/`` to ``bench/work/code_<hash>/`` so that every run measures the same code.

    (The package is edited while the benchmark runs; a change half-way would mix versions.)
    """
    staging = WORK_DIR / "code_partial"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(PROJECT_ROOT / "analytics", staging / "analytics",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    target = WORK_DIR / f"code_{code_hash(staging)}"
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


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


def _fmt_rate(rate: float) -> str:
    return f"{rate / 1e6:.2f} M/s" if rate >= 1e6 else f"{rate / 1e3:.0f} k/s"


def _cells(m: dict[str, Any] | None) -> list[str]:
    """seconds, rows/s, peak MB, CPU s of one measurement."""
    if m is None:
        return ["—"] * 4
    if "error" in m:
        what = "OOM" if "OutOfMemory" in m["error"] else "error"
        return [f"**failed ({what})** after {m['seconds_until_failure']:.0f}s", "—",
                f"{m['peak_rss_mb']:.0f}", "—"]
    return [f"{m['seconds']:.2f}", _fmt_rate(m["rows_per_second"]), f"{m['peak_rss_mb']:.0f}",
            f"{m['cpu_seconds']:.1f}"]


def markdown_table(sizes: list[dict[str, Any]]) -> str:
    """The results as a markdown table (medians)."""
    head = ("| rows | CSV MB | bare read s | bare rows/s | bare peak MB | bare CPU s "
            "| pipeline s | pipeline rows/s | pipeline peak MB | pipeline CPU s | ratio | CPU ratio |")
    lines = [head, "|" + "---:|" * 12]
    for s in sizes:
        ratio = f"{s['ratio']:.3f}" if s.get("ratio") is not None else "—"
        cpu_ratio = f"{s['cpu_ratio']:.3f}" if s.get("cpu_ratio") is not None else "—"
        lines.append(f"| {s['rows']:,} | {s['csv_mb']:.0f} | " + " | ".join(_cells(s["baseline"])) + " | "
                     + " | ".join(_cells(s["pipeline"])) + f" | {ratio} | {cpu_ratio} |")
    for s in sizes:
        r = s.get("reimport")
        if r and "error" in r:
            lines.append(f"\nRe-import of the {s['rows']:,}-row file: FAILED ({r['error'][:120]})")
        elif r:
            lines.append(f"\nRe-import of the {s['rows']:,}-row file (dedup path, adds {r['rows_imported']} "
                         f"rows): {r['seconds']:.2f} s, {_fmt_rate(r['rows_per_second'])}, "
                         f"peak {r['peak_rss_mb']:.0f} MB, CPU {r['cpu_seconds']:.1f} s")
    return "\n".join(lines)


def evaluate_targets(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """PASS/FAIL of each target at each size (the memory target is stated at 10M rows)."""
    verdicts = []
    for s in sizes:
        ratio = s.get("ratio")
        verdicts.append({
            "target": f"pipeline throughput >= 1/3 of the bare read at {s['rows']:,} rows",
            "rows": s["rows"], "value": round(ratio, 3) if ratio is not None else "pipeline failed",
            "pass": ratio is not None and ratio >= TARGET_RATIO})
    mem_sizes = [s for s in sizes if s["rows"] >= TARGET_PEAK_ROWS] or sizes[-1:]
    for s in mem_sizes:
        p = s["pipeline"]
        peak = p.get("peak_rss_mb")
        note = "" if s["rows"] >= TARGET_PEAK_ROWS else " (the target is stated at 10M rows)"
        verdicts.append({
            "target": f"pipeline peak RSS < 1536 MB at {s['rows']:,} rows{note}", "rows": s["rows"],
            "value": (round(peak, 1) if "error" not in p else f"import failed: {p['error'][:80]}"),
            "pass": "error" not in p and peak is not None and peak < TARGET_PEAK_MB})
    return verdicts


def _print_run(mode: str, i: int, repeat: int, r: dict[str, Any]) -> None:
    if "error" in r:
        print(f"  {mode:9s} run {i}/{repeat}: FAILED after {r['wall_seconds']:.1f}s, "
              f"peak {r['peak_rss_mb']:.0f} MB: {r['error'][:200]}", flush=True)
    else:
        print(f"  {mode:9s} run {i}/{repeat}: {r['seconds']:7.2f}s  cpu {r['cpu_seconds']:6.1f}s  "
              f"peak {r['peak_rss_mb']:6.0f} MB (polled {r['polled_peak_rss_mb']:.0f})  "
              f"rows added {r.get('rows_imported', 0):,}", flush=True)


def run_benchmark(row_counts: list[int], repeat: int, memory_limit: str, settings: list[str],
                  profile: bool, keep_db: bool, live_code: bool, code_from: Path | None) -> dict[str, Any]:
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
    largest = max(row_counts)
    sizes = []
    created: list[Path] = []
    profile_result = None
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    try:
        for rows in sorted(set(row_counts)):
            csv, gen_seconds = ensure_csv(rows, memory_limit)
            csv_mb = csv.stat().st_size / MIB
            print(f"\n## {rows:,} rows: {csv.name} ({csv_mb:.0f} MB, "
                  + (f"generated in {gen_seconds:.1f}s)" if gen_seconds is not None else "reused)"),
                  flush=True)
            runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "pipeline": []}
            pipe_db = WORK_DIR / f"pipeline_{rows}.duckdb"
            for i in range(1, repeat + 1):
                for mode in ("baseline", "pipeline"):
                    db = WORK_DIR / f"{mode}_{rows}.duckdb"
                    remove_db(db)
                    created.append(db)
                    result = run_worker(Job(mode, csv, db, memory_limit, settings, code_dir=str(code_dir)))
                    runs[mode].append(result)
                    _print_run(mode, i, repeat, result)
                    if mode == "baseline" or i < repeat or rows != largest:
                        remove_db(db)
            entry: dict[str, Any] = {
                "rows": rows, "csv": csv.relative_to(PROJECT_ROOT).as_posix(), "csv_mb": csv_mb,
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
            if rows == largest and "error" not in p:
                re_runs = []
                for i in range(1, repeat + 1):
                    result = run_worker(Job("reimport", csv, pipe_db, memory_limit, settings,
                                            code_dir=str(code_dir)))
                    if result.get("rows_imported"):
                        print(f"  WARNING: the re-import added {result['rows_imported']} rows", flush=True)
                    re_runs.append(result)
                    _print_run("reimport", i, repeat, result)
                entry["reimport"] = summarise(re_runs, rows)
            remove_db(pipe_db)
            if rows == largest and profile:
                prof_db = WORK_DIR / f"profile_{rows}.duckdb"
                remove_db(prof_db)
                created.append(prof_db)
                print("  profiling the pipeline (import + re-import) ...", flush=True)
                profile_result = run_worker(Job("profile", csv, prof_db, memory_limit, settings,
                                                code_dir=str(code_dir)))
                profile_result["rows"] = rows
                if "import" in profile_result:
                    write_profile_text(profile_result, rows)
                remove_db(prof_db)
            sizes.append(entry)
    finally:
        if not keep_db:
            for db in created:
                remove_db(db)
            shutil.rmtree(TEMP_DIR, ignore_errors=True)
            if not live_code and code_from is None:
                shutil.rmtree(code_dir, ignore_errors=True)
    results: dict[str, Any] = {
        "started": started, "machine": machine_info(), "code": code,
        "memory_limit": memory_limit, "settings": settings, "repeat": repeat,
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


def write_profile_text(result: dict[str, Any], rows: int) -> None:
    """The profile in readable form: ``bench/work/profile_<rows>.txt``."""
    out = [f"Pipeline profile at {rows:,} rows (peak RSS of the process, polled: {result['peak_rss_mb']:.0f} MB; "
           "DuckDB's detailed profiling is on, so times are somewhat above the benchmark's)\n"]
    for part in ("import", "reimport"):
        p = result.get(part)
        if not p:
            continue
        failed = f"; FAILED: {p['error']}" if p["error"] else ""
        out.append(f"=== {part}: {p['seconds']:.2f}s total, {p['sql_seconds']:.2f}s in {len(p['steps'])} SQL "
                   f"statements, {p['other_seconds']:.2f}s outside SQL{failed}")
        out.append("-- slowest SQL statements: seconds, CPU seconds, calls, first step, peak RSS MB")
        for s in p["statements"][:25]:
            out.append(f"{s['seconds']:8.2f} {s['cpu_seconds']:8.2f}  x{s['calls']:<3d} #{s['first_step']:<3d} "
                       f"{s['peak_rss_mb']:6.0f}  {s['sql'][:200]}")
        out.append("\n-- every statement in order: step, seconds, CPU s, peak RSS MB, DuckDB MB after, spilled MB")
        for s in p["steps"]:
            out.append(f"#{s['step']:<3d} {s['seconds']:8.2f} {s['cpu_seconds']:8.2f} {s['peak_rss_mb']:7.0f} "
                       f"{s['duckdb_mb']:7.0f} {s['duckdb_spilled_mb']:7.0f}  {s['sql'][:150]}")
        out.append("\n-- DuckDB operators of the slow statements (operator seconds are summed over threads)")
        for s in p["steps"]:
            if s.get("operators"):
                out.append(f"#{s['step']} ({s['seconds']:.2f}s) {s['sql'][:100]}")
                for o in s["operators"]:
                    out.append(f"    {o['seconds']:7.2f}s  {'  ' * o['depth']}{o['operator']} rows={o['rows']}  "
                               f"{o['detail'][:160]}")
        out.append("\n-- Python functions of analytics/ by self time (seconds; cumulative)")
        for f in p["python_functions"]:
            out.append(f"{f['self_seconds']:8.3f}  cum {f['cumulative_seconds']:8.3f}  x{f['calls']:<6} "
                       f"{f['function']}")
        out.append("\n-- cProfile, by cumulative time\n" + p["cprofile_text"])
    (WORK_DIR / f"profile_{rows}.txt").write_text("\n".join(out), encoding="utf-8")


def print_report(results: dict[str, Any]) -> None:
    """Table, targets and (when profiled) the slowest steps, on stdout."""
    m = results["machine"]
    print(f"\n# Import benchmark — {m['date']}")
    print(f"{m['cores_logical']} cores ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}, "
          f"DuckDB {m['duckdb']}, memory_limit {results['memory_limit']}"
          + (f", settings {results['settings']}" if results["settings"] else "")
          + f", {results['statistic']} of {results['repeat']}")
    c = results["code"]
    print(f"code: commit {c['commit']} + uncommitted changes to {len(c['modified'])} files in analytics/; "
          f"measured {c['measured']} (sha256 {c['measured_sha256']})\n")
    print(markdown_table(results["sizes"]))
    print()
    for v in results["verdicts"]:
        print(f"{'PASS' if v['pass'] else 'FAIL'}  {v['target']}: {v['value']}")
    prof = results.get("profile")
    if prof and "error" in prof and "import" not in prof:
        print(f"\nProfile run failed: {prof['error']}")
    for part in ("import", "reimport"):
        p = (prof or {}).get(part)
        if not p:
            continue
        print(f"\nProfile ({part}, {prof['rows']:,} rows): {p['seconds']:.1f}s, SQL {p['sql_seconds']:.1f}s, "
              f"outside SQL {p['other_seconds']:.1f}s" + (f"; FAILED: {p['error']}" if p["error"] else "")
              + "; slowest statements:")
        for s in p["statements"][:8]:
            print(f"  {s['seconds']:7.2f}s (CPU {s['cpu_seconds']:6.2f}s)  peak {s['peak_rss_mb']:5.0f} MB  "
                  f"{s['sql'][:80]}")
        for f in p["python_functions"][:3]:
            print(f"  {f['self_seconds']:7.2f}s  (Python) {f['function']}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS),
                        help="sizes to measure (default: 1000000 10000000)")
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
                            args.keep_db, args.live_code, args.code)
    print_report(results)
    args.output.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str) + "\n",
                           encoding="utf-8")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
