"""The import ledger (table ``imports``): who imported what, when, with what result."""

from __future__ import annotations

from typing import Any

import duckdb


def import_history(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The import ledger, newest first: one dict per import with every column of ``imports``
    (``import_id``, ``kind``, ``file_name``, ``imported_by``, ``imported_at``, the row counts,
    ``status`` committed / undone, ``undone_at``, ``undone_by``, ...)."""
    cur = con.cursor()
    rel = cur.execute("select * from imports order by import_id desc")
    names = [d[0] for d in rel.description]
    return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
