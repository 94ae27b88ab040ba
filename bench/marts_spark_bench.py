"""The mart build on DuckDB and on Spark ``local[2]``, side by side, at 1M, 5M and 10M transactions (issue 16).

For each size N the benchmark takes ``bench/work/overview_<N>.duckdb`` (transactions imported through the real
pipeline by ``overview_bench.database``; made when missing, from ``import_bench``'s CSV), exports it with
``python -m analytics export --parquet`` into ``bench/work/export_<N>`` (once; reused while its data version is the
database's), then builds every mart and summary from that export, each build a fresh subprocess of the real command
line, the two engines alternating ``--repeat`` times:

- **duckdb**: ``python -m analytics marts build --engine duckdb --threads 2``;
- **spark**: ``python -m analytics marts build --engine spark --master local[2]`` (the JVM started by the command;
  its start is counted, and shown apart as ``session``).

Per build: the wall time of the command, the peak memory of its process tree (the JVM included; sampled every
0.2 s), and the seconds of each model from the output's manifest (where the time goes). After the last repeat the
two outputs are compared model by model (``tests/mart_compare.py``: the same columns, type families and rows) and
the result is printed with the table. Results go to ``bench/marts_spark_results.json``.

Usage: ``python bench/marts_spark_bench.py [--rows 1000000 5000000 10000000] [--repeat 1]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

ENGINES = {"duckdb": ["--engine", "duckdb", "--threads", "2"], "spark": ["--engine", "spark", "--master", "local[2]"]}


def export(rows: int) -> Path:
    """``bench/work/export_<rows>``: the benchmark database's export, written again when its data version is not the
    database's."""
    import duckdb
    from overview_bench import database

    db = database(rows)
    folder = WORK / f"export_{rows}"
    con = duckdb.connect(str(db), read_only=True)
    version = int(con.execute("select value from meta where key = 'data_version'").fetchall()[0][0])
    con.close()
    manifest = folder / "manifest.json"
    if manifest.is_file() and json.loads(manifest.read_text())["data_version"] == version:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), "export", "--parquet", str(folder)],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    print(f"exported {rows:,} transactions in {time.perf_counter() - started:.1f} s", flush=True)
    return folder


def peak_memory(pid: int, stop: threading.Event, found: list[int]) -> None:
    """The highest total resident memory of ``pid`` and its descendants until ``stop``, into ``found``."""
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not stop.is_set():
        try:
            tree = [root, *root.children(recursive=True)]
            found.append(sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        stop.wait(0.2)


def build(engine: str, source: Path, target: Path) -> dict:
    """One build in a fresh subprocess: its wall seconds, peak memory (MB) and manifest."""
    shutil.rmtree(target, ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "analytics", "marts", "build", *ENGINES[engine], "--input",
                             str(source), "--output", str(target), "--json"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    stop, memory = threading.Event(), []
    watcher = threading.Thread(target=peak_memory, args=(proc.pid, stop, memory), daemon=True)
    watcher.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    watcher.join()
    if proc.returncode:
        raise RuntimeError(f"{engine} build failed: {err[-2000:]}")
    return {"seconds": round(seconds, 2), "peak_mb": round(max(memory, default=0) / 2**20),
            "manifest": json.loads(out)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--tmp", default=None, help="where the outputs are written (default: a temporary folder)")
    args = parser.parse_args(argv)
    from mart_compare import differences

    from analytics.store.build import written

    results = {"load_before": os.getloadavg(), "sizes": {}}
    with tempfile.TemporaryDirectory(dir=args.tmp, prefix="marts-spark-") as tmp:
        for rows in args.rows:
            source = export(rows)
            runs = {engine: [] for engine in ENGINES}
            for _ in range(args.repeat):
                for engine in ENGINES:
                    runs[engine].append(build(engine, source, Path(tmp) / f"{engine}_{rows}"))
                    print(f"{rows:>11,} {engine:6} {runs[engine][-1]['seconds']:8.1f} s "
                          f"{runs[engine][-1]['peak_mb']:6,} MB  load {os.getloadavg()[0]:.1f}", flush=True)
            found = differences(Path(tmp) / f"duckdb_{rows}", Path(tmp) / f"spark_{rows}", written())
            size = {"transactions": rows, "equal": not found, "differences": found}
            for engine, done in runs.items():
                last = done[-1]["manifest"]
                size[engine] = {"seconds": statistics.median(r["seconds"] for r in done),
                                "runs": [r["seconds"] for r in done],
                                "peak_mb": max(r["peak_mb"] for r in done),
                                "session_seconds": last.get("session_seconds"),
                                "translate_seconds": last.get("translate_seconds"),
                                "register_seconds": last.get("register_seconds"),
                                "models_seconds": round(sum(a["seconds"] for a in last["models"].values()), 2),
                                "models": {m: a["seconds"] for m, a in last["models"].items()},
                                "rows": {m: a["rows"] for m, a in last["models"].items()}}
            size["spark_over_duckdb"] = round(size["spark"]["seconds"] / size["duckdb"]["seconds"], 1)
            results["sizes"][str(rows)] = size
            print(f"{rows:>11,} spark / duckdb {size['spark_over_duckdb']}×, marts equal: {size['equal']}",
                  flush=True)
    results["load_after"] = os.getloadavg()
    print()
    print("| transactions | DuckDB s | Spark local[2] s | of it: session, translate, read export, models | "
          "Spark / DuckDB | peak MB DuckDB / Spark | equal |")
    print("|---:|---:|---:|---|---:|---:|---|")
    for rows, size in results["sizes"].items():
        on = size["spark"]
        print(f"| {int(rows):,} | {size['duckdb']['seconds']} | {on['seconds']} | {on['session_seconds']}, "
              f"{on['translate_seconds']}, {on['register_seconds']}, {on['models_seconds']} | "
              f"{size['spark_over_duckdb']}× | {size['duckdb']['peak_mb']:,} / {on['peak_mb']:,} | "
              f"{'yes' if size['equal'] else 'NO'} |")
    names = list(next(iter(results["sizes"].values()))["spark"]["models"])
    print("\nseconds per model (DuckDB / Spark):")
    for name in names:
        cells = "  ".join(f"{s['duckdb']['models'][name]:7.2f} / {s['spark']['models'][name]:7.2f}"
                          for s in results["sizes"].values())
        print(f"  {name:26} {cells}")
    (ROOT / "bench" / "marts_spark_results.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
