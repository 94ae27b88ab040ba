"""What a small import costs with the marts rebuilt selectively (only those that read what it wrote:
``analytics.store.marts.rebuild(cur, changed=...)``) against every mart rebuilt, side by side in one run.

The benchmark copies a benchmark database (never changes the one in ``bench/work``) to a temporary folder, brings
it to this release (its marts and summaries built), then for each small file, alternating the two modes
``--repeat`` times: imports it (timing the commit, and the marts' rebuild inside it), builds the summaries if
the import left them stale (what the app then does in the background), and undoes it (timed the same way).
``full`` is the same pipeline with ``rebuild`` told nothing of what changed.

The small files are the first ``--lines`` lines of the benchmark's own CSV files: feedback
(``feedback_1000000.csv``) and leads (``leads_dates_1000000.csv``) into ``overview_1000000.duckdb`` (1M
transactions), and transactions with new ids (from ``transactions_1000000.csv``) into
``funnel_1000000.duckdb`` (1M transactions and 1M leads). Prints a table and writes
``bench/marts_results.json``.

Usage: ``python bench/marts_bench.py [--repeat 3] [--lines 2000] [--tmp /tmp]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
sys.path.insert(0, str(ROOT))

#: (what, database in bench/work, kind, source CSV in bench/work)
CASES = (
    ("feedback into 1M transactions", "overview_1000000.duckdb", "feedback", "feedback_1000000.csv"),
    ("leads into 1M transactions", "overview_1000000.duckdb", "leads", "leads_dates_1000000.csv"),
    ("transactions into 1M transactions + 1M leads", "funnel_1000000.duckdb", "transactions",
     "transactions_1000000.csv"),
)


def small_file(source: Path, lines: int, folder: Path, kind: str) -> Path:
    """The first ``lines`` lines of ``source``; a sales file's transaction ids made new (``B`` prefix)."""
    with source.open(encoding="utf-8") as f:
        head = [next(f) for _ in range(lines + 1)]
    if kind == "transactions":
        head[1:] = ["B" + line for line in head[1:]]
    path = folder / f"small_{kind}.csv"
    path.write_text("".join(head), encoding="utf-8")
    return path


def run(con, path: Path, kind: str, full: bool) -> dict[str, float]:
    """Import ``path``, build the summaries if stale, undo it; the seconds of each step and of the rebuilds."""
    from analytics.ingest import pipeline
    from analytics.store import marts

    real, rebuilds = marts.rebuild, []

    def timed(cur, changed=None):
        started = time.perf_counter()
        built = real(cur, None if full else changed)
        rebuilds.append(time.perf_counter() - started)
        return built

    marts.rebuild = timed
    try:
        prepared = pipeline.prepare(con, path, kind=kind)
        try:
            started = time.perf_counter()
            report = pipeline.commit_import(prepared, imported_by="bench")
            commit = time.perf_counter() - started
        finally:
            prepared.close()
        summarize_import = marts.summarize(con) or 0.0
        started = time.perf_counter()
        pipeline.undo_import(con, report.import_id)
        undo = time.perf_counter() - started
        summarize_undo = marts.summarize(con) or 0.0
    finally:
        marts.rebuild = real
    return {"rows": report.rows_imported, "commit_s": commit, "rebuild_import_s": rebuilds[0],
            "summaries_after_import_s": summarize_import, "undo_s": undo, "rebuild_undo_s": rebuilds[1],
            "summaries_after_undo_s": summarize_undo}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    from analytics.store import marts
    from analytics.store.connection import connect

    results = []
    folder = Path(tempfile.mkdtemp(prefix="marts_bench_", dir=args.tmp))
    try:
        for name, db, kind, source in CASES:
            copy = folder / db
            if not copy.exists():
                shutil.copyfile(WORK / db, copy)
            con = connect(copy)  # brings the copy's marts to this release
            marts.summarize(con)
            path = small_file(WORK / source, args.lines, folder, kind)
            runs: dict[str, list[dict[str, float]]] = {"selective": [], "full": []}
            for _ in range(args.repeat):
                for mode in runs:
                    runs[mode].append(run(con, path, kind, full=mode == "full"))
            con.close()
            median = {mode: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for mode, rs in runs.items()}
            results.append({"case": name, "kind": kind, "database": db, "median": median, "runs": runs})
            sel, full = median["selective"], median["full"]
            print(f"| {name} ({int(sel['rows'])} rows) | commit {sel['commit_s']:.2f} s vs {full['commit_s']:.2f} s "
                  f"| rebuild {sel['rebuild_import_s']:.2f} s vs {full['rebuild_import_s']:.2f} s "
                  f"| summaries after {sel['summaries_after_import_s']:.2f} s vs {full['summaries_after_import_s']:.2f}"
                  f" s | undo {sel['undo_s']:.2f} s vs {full['undo_s']:.2f} s |", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    (ROOT / "bench" / "marts_results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
