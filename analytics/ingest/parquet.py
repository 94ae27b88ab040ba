"""Parquet files, read by DuckDB: every column cast to text, the row number as the line.

Parquet names its columns, so the header is always the file's column names
(``header_row`` None) and there are no blank or malformed lines.

A time with a time zone (``TIMESTAMP WITH TIME ZONE``: an instant) is written as the local time
in the zone of the ``import_time_zone`` setting (default Asia/Shanghai;
:mod:`analytics.store.settings`), never in the server's zone or DuckDB's ``TimeZone`` setting,
so a file gives the same order dates on every machine and a re-import finds its rows present.
DuckDB's ICU extension, statically linked, converts (``timezone(zone, instant)``), offline.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from analytics.errors import FileReadError
from analytics.ingest.encoding import sha256
from analytics.ingest.raw import RawTable, header_names, table_name
from analytics.store import settings

#: The type DuckDB gives a Parquet instant (``isAdjustedToUTC``).
_INSTANT = "TIMESTAMP WITH TIME ZONE"


def read_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> RawTable:
    """Read a Parquet file into a raw table on ``con``.

    Raises
    ------
    FileReadError
        For a file DuckDB cannot read as Parquet.
    """
    try:
        described = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise FileReadError(f"{path.name}: not a readable Parquet file ({exc})") from exc
    headers = header_names([row[0] for row in described])
    table = table_name()
    zone = import_zone(con)
    instants = [name for name, (_, type_, *_) in zip(headers, described, strict=True) if type_ == _INSTANT]
    casts = ", ".join(
        f"cast({_local(_quote_ident(row[0]), zone) if row[1] == _INSTANT else _quote_ident(row[0])} as varchar) as c{i}"
        for i, row in enumerate(described)
    )
    con.execute(f"create temp table {table} as select row_number() over () as _line, {casts} "
                "from read_parquet(?)", [str(path)])
    rows = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    notes = [f"column {name}: times with a time zone are read as dates in {zone} (the import time zone setting)"
             for name in instants]
    return RawTable(path=path, file_format="parquet", encoding=None, content_hash=sha256(path),
                    headers=headers, header_row=None, table=table, rows_read=rows,
                    reader="parquet", notes=notes)


def import_zone(con: duckdb.DuckDBPyConnection) -> str:
    """The ``import_time_zone`` setting (its default where the database has no settings)."""
    try:
        return str(settings.load(con)["import_time_zone"])
    except duckdb.Error:
        return str(settings.default("import_time_zone"))


def _local(column: str, zone: str) -> str:
    """The local time in ``zone`` of the instants of ``column`` (a zone of the setting's fixed
    list, checked again here: it is written into the SQL)."""
    settings.check("import_time_zone", zone)
    return f"timezone('{zone}', {column})"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
