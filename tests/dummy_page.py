"""A page that exists only in tests: registered, it must be covered by everything that reads
the page registry (navigation, the role check, ``report``, the access matrix, the browser
smoke test) without another line of code anywhere.

``register()`` adds it to :data:`analytics.pages.PAGES` in this process; ``pytest
--dummy-page`` does so for a whole run (``conftest.py``), and the browser tests' servers
then start through ``tests/dummy_serve.py``, which registers it in the server's process.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from analytics import pages
from analytics import scope as gate
from analytics.access import ROLES

#: Who may open it: not the sales managers, so the matrix sees both answers (every page is
#: open to admins, the local user's role).
ROLES_ALLOWED = frozenset({"executive", "analyst", "admin"})
assert set(ROLES) > ROLES_ALLOWED


def revenue_by_region(con: duckdb.DuckDBPyConnection, scope: gate.Scope | None) -> pd.DataFrame:
    """The view model: revenue per region of the scope's period, read through the gate."""
    assert scope is not None
    rows = gate.sales(scope)
    return con.cursor().execute(
        f"select coalesce(region, '') as region, sum(revenue)::double as revenue from ({rows.sql}) "
        "group by all order by region", list(rows.params)).df()


def report(view: pd.DataFrame) -> dict[str, Any]:
    return {"by_region": view}


def report_lines(data: dict[str, Any]) -> list[str]:
    return [f"  {r['region'] or '(none)'}: {r['revenue']:,.2f}" for r in data["by_region"]]


PAGE = pages.Page("dummy", title="app_title", icon=":material/science:", script="tests/dummy_page_script.py",
                  roles=ROLES_ALLOWED, load=revenue_by_region, report=report, text=report_lines, label="Dummy")


def register() -> None:
    """Add the dummy page to the registry of this process (once)."""
    if PAGE.key not in pages.all_keys():
        pages.PAGES = pages.check((*pages.PAGES, PAGE))
