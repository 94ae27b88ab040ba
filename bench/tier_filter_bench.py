"""The global tier filter's cost: the tiers page's and the overview's data with and without it, side by side.

Part of ``tiers_bench.py`` (``--tier-filter``; its workers run these in fresh processes). For each size, on the
overview benchmark's databases with their summaries, default scope (the last 12 months against the 12 before), each
page's data cold in one snapshot, as the app's loaders compute it:

- **tiers**: ``tiers_report.load(view, scope, with_clv=False)`` (``ui.loaders.load_tiers_fast``);
- **overview**: ``overview.overview(view, scope, with_average_clv=False, with_churn=False)``
  (``ui.loaders.load_overview_fast``);

each three ways, interleaved (``repeat`` rounds of every page and way, medians):

- ``plain``: no tier filter;
- ``once``: the tier filter platinum + gold, its ranking run once per snapshot (the gate's ``/*once*/`` mark,
  :mod:`analytics.store.snapshot`);
- ``per_query``: the same with the snapshot's marks ignored, so every query runs the ranking itself, as every query
  did before the marks.

Each run also counts the rankings DuckDB ran (its query log: the window ``row_number() over (order by value desc``
of :func:`analytics.tiering.ranked_sql`), and the figures of ``once`` and ``per_query`` are compared (the tier
table's counts and value; revenue, orders, active customers: counts exactly, amounts to 1e-9 relative). Target at
10M rows: the tiers page's data with the tier filter <= 1.5 s.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench_common import default_scope_of
from churn_bench import _ms

FILTER_TIERS = ("platinum", "gold")
HOWS = ("plain", "once", "per_query")
PAGES = ("tiers", "overview")
TARGET_S, TARGET_ROWS = 1.5, 10_000_000


def worker(db: str, page: str, how: str) -> dict:
    """One page's data, cold, in one snapshot, one of :data:`HOWS` (in this fresh process): seconds, figures and
    the rankings run."""
    from dataclasses import replace

    from analytics.metrics import overview, tiers_report
    from analytics.store import snapshot
    from analytics.store.connection import connect

    scope = default_scope_of(db)
    scope = scope if how == "plain" else replace(scope, tiers=FILTER_TIERS)
    if how == "per_query":  # every query runs its marked subquery itself, as before the marks
        snapshot.Snapshot._reuse = lambda self, sql, params: (sql, params)
    t0 = time.perf_counter()
    con = connect(db, read_only=True)
    con.execute("call enable_logging('QueryLog')")
    with snapshot.snapshot(con) as view:
        if page == "tiers":
            v = tiers_report.load(view, scope, with_clv=False)
            figures = {"tiers": v.table["customers"].tolist(), "value": float(v.table["value"].sum())}
        else:
            v = overview.overview(view, scope, with_average_clv=False, with_churn=False)
            figures = {k: float(v.kpis[k].value) for k in ("revenue", "orders", "active_customers")}
    seconds = time.perf_counter() - t0
    logged = con.execute("select message from duckdb_logs where type = 'QueryLog'").fetchall()
    return {"seconds": seconds, "figures": figures,
            "rankings": sum(m.count("row_number() over (order by value desc") for (m,) in logged)}


def measure(rows: int, db: Path, repeat: int, run: Callable[[str, Path], dict]) -> list[dict]:
    """Every page and way at one size: medians of ``repeat`` interleaved runs (``run(mode, db)``: a worker)."""
    runs: dict[tuple[str, str], list[dict]] = {}
    for _ in range(repeat):
        for page in PAGES:
            for how in HOWS:
                runs.setdefault((page, how), []).append(run(f"filter:{page}:{how}", db))
    out = []
    for page in PAGES:
        seconds = {f"{how}_s": statistics.median(r["seconds"] for r in runs[page, how]) for how in HOWS}
        figures = runs[page, "per_query"][0]["figures"]
        out.append({"rows": rows, "page": page, "tiers": list(FILTER_TIERS)} | seconds | {
            "rankings": {how: runs[page, how][0]["rankings"] for how in HOWS},
            "figures_equal": all(_same(r["figures"], figures) for how in HOWS[1:] for r in runs[page, how]),
            "figures": figures, "runs": {how: runs[page, how] for how in HOWS}})
    return out


def _same(a: dict, b: dict) -> bool:
    """Figures equal: counts exactly, amounts to 1e-9 relative (sums of doubles in no fixed order)."""
    return a.keys() == b.keys() and all(math.isclose(x, y, rel_tol=1e-9) if isinstance(x, float) else x == y
                                        for k in a for x, y in [(a[k], b[k])])


def table(rows: list[dict]) -> str:
    """The results as a markdown table (medians)."""
    lines = ["| rows | page | no tier filter | platinum + gold, ranked once per snapshot | the same, ranked in "
             "every query (before) | rankings run (once / every query) | once − no filter | figures equal |",
             "|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['rows']:,} | {r['page']} | {_ms(r['plain_s'])} | {_ms(r['once_s'])} "
                     f"| {_ms(r['per_query_s'])} | {r['rankings']['once']} / {r['rankings']['per_query']} "
                     f"| {_ms(r['once_s'] - r['plain_s'])} | {'yes' if r['figures_equal'] else 'NO'} |")
    return "\n".join(lines)


def verdicts(rows: list[dict]) -> list[dict]:
    """The target: the tiers page's data with the tier filter at :data:`TARGET_ROWS` rows; the figures equal."""
    out = [{"target": f"tier filter: tiers page data, tiers {'+'.join(FILTER_TIERS)}, <= {TARGET_S} s at {r['rows']:,} "
            "rows", "value": f"{r['once_s']:.3f} s", "pass": r["once_s"] <= TARGET_S}
           for r in rows if r["page"] == "tiers" and r["rows"] == TARGET_ROWS]
    return out + [{"target": f"tier filter: figures equal once / every query at {r['rows']:,} rows, {r['page']}",
                   "value": str(r["figures_equal"]), "pass": r["figures_equal"]} for r in rows]
