"""``--profile``: the worker that imports, then re-imports, the file through a proxy
connection timing every SQL statement (wall and CPU time, peak RSS, DuckDB's memory and
spill use, DuckDB's per-operator profile of the slow ones) under cProfile, and the readable
``bench/work/profile_<N>.txt`` written from its result."""

from __future__ import annotations

import contextlib
import cProfile
import io
import json
import pstats
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_common import MIB, WORK_DIR, Job, _apply_settings, _pipeline, _reset_peak, _status_mb

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

