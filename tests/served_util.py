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
from pathlib import Path
from typing import Any

from analytics import pages
from analytics.cli import main


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
    """An access file with an analyst (every region) and a sales manager of ``region`` only."""
    path = folder / "access.toml"
    path.write_text(f'[users."analyst@example.com"]\nrole = "analyst"\n\n'
                    f'[users."north@example.com"]\nrole = "sales_manager"\nregions = ["{region}"]\n', encoding="utf-8")
    return path
