"""What the benchmark's parent process and its worker subprocesses share: the paths, the
job a worker is given (``Job``), the line a worker prints its result on, and the helpers a
worker uses to read its own memory figures, apply the ``--set`` settings and import the
code measured."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / "work"
TEMP_DIR = WORK_DIR / ".duckdb_tmp"  # what analytics.store.connection.connect uses for a database in WORK_DIR
MIB = 1024 * 1024
RESULT_PREFIX = "BENCH_RESULT "


@dataclass
class Job:
    """What one worker subprocess is asked to do."""

    mode: str
    csv: Path
    db: Path
    memory_limit: str
    settings: list[str] = field(default_factory=list)
    rows: int = 0
    shape: str = "transactions"  # the file's shape (bench_data.SHAPES), for ``generate``
    code_dir: str = str(PROJECT_ROOT)  # the folder holding the ``analytics`` package to measure


# --------------------------------------------------------------------------- inside a worker

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


def _pipeline(job: Job) -> tuple[Callable[..., Any], Callable[..., Any]]:
    sys.path.insert(0, job.code_dir)
    from analytics.ingest.pipeline import import_file
    from analytics.store.connection import connect

    return connect, import_file


class Timers:
    """Inclusive seconds per call path of named functions, patched in place: ``timed`` maps a key of
    ``modules`` to the space-separated names of its functions to time (a missing one is skipped). Calls nest:
    a path is ``outer>inner``; :meth:`take` hands the totals over with ``(rest)``, the time outside them."""

    def __init__(self, modules: dict, timed: dict[str, str]) -> None:
        self.stack: list[str] = []
        self.totals: dict[str, float] = {}
        for mod, names in timed.items():
            for name in names.split():
                if hasattr(modules[mod], name):
                    setattr(modules[mod], name, self._wrap(getattr(modules[mod], name), name))

    def _wrap(self, fn, name):
        import time

        def timed(*args, **kwargs):
            self.stack.append(name)
            path, t0 = ">".join(self.stack), time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.totals[path] = self.totals.get(path, 0.0) + time.perf_counter() - t0
                self.stack.pop()
        return timed

    def take(self, total: float) -> dict[str, float]:
        out, self.totals = self.totals, {}
        out["(rest)"] = total - sum(s for p, s in out.items() if ">" not in p)
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def write_profile(prof, name: str) -> dict:
    """Write a finished ``cProfile.Profile``'s 45 largest cumulative entries to ``bench/work/<name>.txt`` and
    return the file and the 25 largest (cumulative and own seconds per function), for a results file."""
    import io
    import pstats

    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(45)
    path = WORK_DIR / f"{name}.txt"
    path.write_text(text.getvalue())
    top = sorted((v[3], v[2], f"{Path(k[0]).name}:{k[1]}({k[2]})") for k, v in pstats.Stats(prof).stats.items())
    return {"file": str(path.relative_to(PROJECT_ROOT)), "top_cumulative": [
        {"function": f, "cumulative_s": round(c, 3), "self_s": round(s, 3)} for c, s, f in top[::-1][:25]]}


def warm_loader(db: str, loader: str, scope_key: tuple, calls: int) -> dict:
    """A page's cached loader (``ui.loaders.<loader>(scope_key, version, ())``) called again once it has been
    filled, in this process, on ``db``: the median of ``calls`` calls (a rerun or a second visitor), the calls, and
    the first (filling) call's seconds."""
    import logging
    import os
    import statistics
    import time

    os.environ["CRM_DB"] = db
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from ui import loaders

    def call() -> float:
        t0 = time.perf_counter()
        getattr(loaders, loader)(scope_key, loaders.data_version(), ())
        return time.perf_counter() - t0

    first = call()  # fills the cache (a cold view through the loader's snapshot)
    times = [call() for _ in range(calls)]
    return {"seconds": statistics.median(times), "calls": times, "first_seconds": first}


def default_scope_of(db: str, region: str | None = None):
    """The default scope of the database ``db`` (``analytics.scope.default_scope``: the last 12 months against the 12
    before), with a filter to ``region`` when given."""
    from dataclasses import replace

    from analytics.scope import default_scope
    from analytics.store.connection import connect

    con = connect(db, read_only=True)
    scope = default_scope(con)
    con.close()
    return replace(scope, regions=(region,)) if region else scope


def finish(results: dict, output: Path) -> None:
    """The end of a page benchmark: per size and scope the cold time's parts (5 ms or more) and any figure that
    differs from pandas, then PASS/FAIL per target; the results written to ``output``."""
    import json

    for s in results["sizes"]:
        print(f"{s['rows']:,} {s['scope']} cold: " + ", ".join(f"{p} {v * 1000:.0f} ms"
                                                              for p, v in s["cold_parts"].items() if v >= 0.005))
        for name, diff in s["differences"].items():
            print(f"  MISMATCH {name}: {json.dumps(diff, ensure_ascii=False, default=str)[:600]}")
    for v in results["verdicts"]:
        print(f"{'PASS' if v['pass'] else 'FAIL'}  {v['target']}: {v['value']}")
    output.write_text(json.dumps(results, indent=1, default=str, ensure_ascii=False))
