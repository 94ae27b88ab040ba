"""Data-quality checks: each is a query returning the offending rows; none means pass.

The checks live in ``analytics/store/sql/audits/*.sql``; a file's first comment line says what
it looks for. They run after every import and from ``python -m analytics check``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

AUDITS_DIR = Path(__file__).resolve().parent / "sql" / "audits"

SAMPLE_ROWS = 20


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome: how many rows fail it and the first of them."""

    name: str
    description: str
    count: int
    sample: pd.DataFrame

    @property
    def passed(self) -> bool:
        """True when no row fails the check."""
        return self.count == 0


@functools.cache
def checks() -> tuple[tuple[str, str, str], ...]:
    """Every check as (name, description, sql) (read once per process: the files ship with the code)."""
    found = []
    for path in sorted(AUDITS_DIR.glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        first = sql.splitlines()[0]
        if not first.startswith("--"):
            raise RuntimeError(f"audit {path.name} must start with a comment saying what it checks")
        found.append((path.stem, first.lstrip("- ").strip(), sql))
    return tuple(found)


def run_checks(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    """Run every check on the database."""
    results = []
    cur = con.cursor()
    for name, description, sql in checks():
        # one run of the check gives the count and the first rows
        sample = cur.execute(f"select *, count(*) over () as _found from ({sql}) "
                             f"limit {SAMPLE_ROWS}").df()
        count = int(sample["_found"].iloc[0]) if len(sample) else 0
        results.append(CheckResult(name, description, count, sample.drop(columns="_found")))
    return results


def count_failures(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many rows fail each check (:func:`run_checks`' counts), in one query and without the sample rows: what
    every import reports, a fifth of a small import's time when the samples were drawn as tables."""
    found = checks()
    if not found:
        return {}
    counts = ", ".join(f"(select count(*) from ({sql}\n))" for _, _, sql in found)
    cur = con.cursor()
    try:
        values = cur.execute(f"select {counts}").fetchall()[0]
    finally:
        cur.close()
    return {name: int(value) for (name, _, _), value in zip(found, values, strict=True)}
