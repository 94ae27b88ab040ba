"""The canonical tables as Parquet, for the marts to be built elsewhere (``python -m analytics export --parquet DIR``).

What the marts and summaries read (:func:`analytics.store.marts.inputs`: ``transactions``, ``customers``,
``customer_attributes``, ``feedback``, ``leads``), each in a folder of its own under ``DIR``, in one snapshot of the
database (one read transaction: an import committed meanwhile is in all of them or in none):

- a dated table in one folder per month of its date (:data:`TABLES`: Hive-style ``month=YYYY-MM``, the layout Spark
  and DuckDB read as a partitioned table, ``month`` a text column; rows without a date in ``month=none``);
- the others as one file (``part-0.parquet``);
- a table without rows as one file with its columns, so a reader still finds the table and its types;
- every column but ``row_key``: the row's identity in this database, an unsigned 128-bit integer that Spark has no
  type for and no mart reads;
- ``_meta/``: what the app shows beside the marts and no mart reads (:data:`META_TABLES`: the metric ``settings`` and
  the ``imports`` ledger), one file each (``_meta/settings.parquet``); ``marts build`` carries the folder to its
  output, and a served marts folder (:mod:`analytics.store.served`) reads it. Their columns keep their types: the
  settings' and the ledger's ``JSON`` values stay ``JSON`` (a string with Parquet's JSON annotation), times stay
  ``TIMESTAMP``;
- ``manifest.json``: the schema version, the data version, per table its rows, columns and partitioning, and under
  ``meta`` per table of ``_meta`` its file, rows, columns and their types.

The folder must be new or empty: an export never mixes with another's files.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from analytics.errors import CRMError
from analytics.store.migrations import SCHEMA_VERSION

#: The canonical tables, each with the date column its months come from (None: one file).
TABLES: dict[str, str | None] = {"transactions": "order_date", "customers": None, "customer_attributes": None,
                                 "feedback": "feedback_date", "leads": "created_date"}
#: Columns never exported (module docstring).
LEFT_OUT = ("row_key",)
#: The small tables written to ``_meta/`` (module docstring): what the app shows beside the marts.
META_TABLES = ("settings", "imports")
META = "_meta"
MANIFEST = "manifest.json"
FORMAT = 1


class ExportError(CRMError):
    """An export that cannot be written (the folder is not empty, or is a file)."""


def quoted(path: Path) -> str:
    """``path`` as a SQL string literal (a file name in ``COPY``/``read_parquet``, which take no parameters)."""
    return "'" + str(path).replace("'", "''") + "'"


def export_parquet(con: duckdb.DuckDBPyConnection, folder: str | Path) -> dict:
    """Write the canonical tables of ``con``'s database to ``folder`` (module docstring); returns the manifest.

    Raises
    ------
    ExportError
        ``folder`` is a file, or a folder that is not empty.
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ExportError(f"{folder} is {'a file' if not folder.is_dir() else 'not empty'}: export into a new or "
                          "empty folder (an export never mixes with another's files)")
    folder.mkdir(parents=True, exist_ok=True)
    cur = con.cursor()
    cur.execute("begin transaction")  # (one snapshot for every table)
    try:
        tables = {}
        for table, day in TABLES.items():
            columns = [r[0] for r in cur.execute(f"describe {table}").fetchall() if r[0] not in LEFT_OUT]
            rows = cur.execute(f"select count(*) from {table}").fetchall()[0][0]
            target = folder / table
            target.mkdir()
            listed = ", ".join(columns)
            if day is not None and rows:
                cur.execute(f"copy (select {listed}, coalesce(strftime({day}, '%Y-%m'), 'none') as month "
                            f"from {table}) to {quoted(target)} (format parquet, partition_by (month), "
                            "overwrite_or_ignore true)")
            else:
                cur.execute(f"copy (select {listed} from {table}) to {quoted(target / 'part-0.parquet')} "
                            "(format parquet)")
            tables[table] = {"rows": rows, "columns": columns,
                             "partitioned_by": "month" if day is not None and rows else None, "month_of": day}
        (folder / META).mkdir()
        meta = {}
        for table in META_TABLES:
            described = cur.execute(f"describe {table}").fetchall()
            target = folder / META / f"{table}.parquet"
            cur.execute(f"copy {table} to {quoted(target)} (format parquet)")
            meta[table] = {"file": f"{META}/{target.name}",
                           "rows": cur.execute(f"select count(*) from {table}").fetchall()[0][0],
                           "columns": [r[0] for r in described], "types": [r[1] for r in described]}
        version = cur.execute("select value from meta where key = 'data_version'").fetchall()
        manifest = {"format": FORMAT, "schema_version": SCHEMA_VERSION,
                    "data_version": int(version[0][0]) if version else None, "tables": tables, "meta": meta}
    finally:
        cur.execute("rollback")
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest
