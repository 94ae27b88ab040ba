"""Data-quality checks: each is a query returning the offending rows; none means pass.

The checks live in ``analytics/store/sql/audits/*.sql``; a file's first comment line says what
it looks for. They run after every import and from ``python -m analytics check``.
"""

from __future__ import annotations

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


def checks() -> list[tuple[str, str, str]]:
    """Every check as (name, description, sql)."""
    found = []
    for path in sorted(AUDITS_DIR.glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        first = sql.splitlines()[0]
        if not first.startswith("--"):
            raise RuntimeError(f"audit {path.name} must start with a comment saying what it checks")
        found.append((path.stem, first.lstrip("- ").strip(), sql))
    return found


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
