"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from analytics.db import connect


@pytest.fixture
def db(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh, migrated CRM database file in the test's temporary folder."""
    con = connect(tmp_path / "crm.duckdb")
    try:
        yield con
    finally:
        con.close()
