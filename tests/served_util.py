"""Comparing the figures of two sources (an embedded database, a served marts folder built on DuckDB or on Spark):
every page's ``report --json``, run in this process through the command line's own ``main``.

``report_figures(["--db", PATH], "overview")`` or ``report_figures(["--marts", DIR], "tiers", "--user", EMAIL,
"--access-file", FILE)`` gives the report; ``assert_same_figures(a, b, rel=1e-9)`` says where two differ: keys,
lengths and text exactly, numbers within ``rel`` (relative; amounts summed in another order, or by another engine,
differ in the last bits).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analytics import pages
from analytics.cli import main
from analytics.ingest.demo import load_demo
from analytics.store import build, marts
from analytics.store.connection import connect
from analytics.store.export import export_parquet

#: The region the world's sales manager may see.
REGION = "华北"


@dataclass(frozen=True)
class World:
    """The demo data through the real pipeline: the database, its export, the marts built from it on DuckDB, an
    access file (:func:`write_access`) and a customer of :data:`REGION` (the customer detail's)."""

    db: Path
    export: Path
    marts: Path
    access: Path
    customer: str


def build_world(folder: Path) -> World:
    """The demo data (300 customers, seed 3) imported, summarised, exported and built on DuckDB under ``folder``."""
    con = connect(folder / "crm.duckdb")
    try:
        load_demo(con, size=300, seed=3)
        marts.summarize(con)
        export_parquet(con, folder / "export")
        customer = con.execute("select customer_id from customer_summary where home_region = ? order by revenue desc, "
                               "customer_id limit 1", [REGION]).fetchall()[0][0]
    finally:
        con.close()
    build.build_duckdb(folder / "export", folder / "marts")
    return World(folder / "crm.duckdb", folder / "export", folder / "marts", write_access(folder, REGION), customer)


def report_figures(source: list[str], page: str, *args: str) -> dict[str, Any]:
    """The ``report <page> --json`` of ``source`` (the global options: ``["--db", PATH]`` or ``["--marts", DIR]``)
    with ``args`` (filters, ``--user``, the page's options); fails with what the command said unless it exits 0."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*map(str, source), "report", page, *map(str, args), "--json"])
    assert code == 0, f"report {page} {' '.join(args)} on {source}: exit {code}: {err.getvalue()}"
    return json.loads(out.getvalue())


def every_page_figures(source: list[str], customer: str, *args: str, pages_of: str | None = None
                       ) -> dict[str, dict[str, Any]]:
    """Every registered page's report (:data:`analytics.pages.PAGES`; the customer detail of ``customer``) with
    ``args``, by page key; ``pages_of``: only the pages the role may open."""
    found = {}
    for page in pages.PAGES:
        if pages_of is not None and not page.allows(pages_of):
            continue
        extra = ("--customer", customer) if page.key == "customer" else ()
        found[page.key] = report_figures(source, page.key, *args, *extra)
    return found


def differences(a: Any, b: Any, rel: float = 1e-9, where: str = "") -> list[str]:
    """Where ``a`` and ``b`` (JSON-ready data) differ: every path with both values (empty: the same figures)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where or '.'}: keys {sorted(set(a) ^ set(b))} in one only"]
        return [d for k in a for d in differences(a[k], b[k], rel, f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items against {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, rel, f"{where}[{i}]")]
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        same = a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)
        return [] if same else [f"{where}: {a!r} against {b!r}"]
    return [] if a == b else [f"{where}: {a!r} against {b!r}"]


def assert_same_figures(a: Any, b: Any, rel: float = 1e-9) -> None:
    """Fail, listing the first differences, unless ``a`` and ``b`` hold the same figures (:func:`differences`)."""
    found = differences(a, b, rel)
    assert not found, f"{len(found)} differences, the first: " + "; ".join(found[:10])


def write_access(folder: Path, region: str) -> Path:
    """An access file with an admin, an analyst (both every region) and a sales manager of ``region`` only."""
    path = folder / "access.toml"
    path.write_text('[users."admin@example.com"]\nrole = "admin"\n\n[users."analyst@example.com"]\nrole = "analyst"\n\n'
                    f'[users."north@example.com"]\nrole = "sales_manager"\nregions = ["{region}"]\n', encoding="utf-8")
    return path
