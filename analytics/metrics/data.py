"""The Data page's figures: the import ledger, the data-quality checks and the metric
settings, as ``python -m analytics report data`` prints them (the page shows each in its
tab, from the same functions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from analytics.scope import Scope
from analytics.store import audits, settings
from analytics.store.ledger import import_history
from analytics.store.snapshot import snapshot


@dataclass(frozen=True)
class DataStatus:
    """The state of the data: ``imports`` (the ledger, newest first, as
    :func:`analytics.store.ledger.import_history` gives it), ``checks`` (every data-quality
    check's result) and ``settings`` (the metric settings in force)."""

    imports: list[dict[str, Any]]
    checks: list[audits.CheckResult]
    settings: dict[str, Any]


def data_status(con: duckdb.DuckDBPyConnection, scope: Scope | None = None) -> DataStatus:
    """The ledger, the checks and the settings, read in one snapshot. ``scope`` is not
    used: the Data page is not filtered (only analysts and admins, who see every region,
    may open it)."""
    del scope
    with snapshot(con) as view:
        return DataStatus(imports=import_history(view), checks=audits.run_checks(view),
                          settings=settings.load(view))


def report(view: DataStatus) -> dict[str, Any]:
    """The status as JSON-ready data: ``imports``, ``checks`` (name, description, rows, and
    the first offending rows as ``sample``), ``settings``."""
    return {
        "imports": view.imports,
        "checks": [{"name": r.name, "description": r.description, "rows": r.count,
                    "sample": r.sample.to_dict(orient="records")} for r in view.checks],
        "settings": view.settings,
    }


def report_lines(data: dict[str, Any]) -> list[str]:
    """The report as lines of text for a terminal."""
    lines = [f"imports ({len(data['imports'])}, newest first):"]
    for r in data["imports"]:
        lines.append(f"  #{r['import_id']:<4} {str(r['imported_at'])[:16]} {r['status']:<9} {r['kind']:<12} "
                     f"{r['rows_imported']:>10,} new {r['rows_rejected']:>8,} rejected  {r['file_name']}")
    failing = [c for c in data["checks"] if c["rows"]]
    lines += ["", f"data-quality checks: {len(data['checks']) - len(failing)} of {len(data['checks'])} pass"]
    lines += [f"  FAIL {c['name']}: {c['description']} — {c['rows']:,} rows" for c in failing]
    lines += ["", "settings:"] + [f"  {k} = {v}" for k, v in data["settings"].items()]
    return lines
