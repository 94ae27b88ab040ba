"""Parquet files, read by DuckDB: every column cast to text, the row number as the line.

Parquet names its columns, so the header is always the file's column names
(``header_row`` None) and there are no blank or malformed lines.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from analytics.errors import FileReadError
from analytics.ingest.encoding import sha256
from analytics.ingest.raw import RawTable, header_names, table_name


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
    casts = ", ".join(
        f"cast({_quote_ident(row[0])} as varchar) as c{i}" for i, row in enumerate(described)
    )
    con.execute(f"create temp table {table} as select row_number() over () as _line, {casts} "
                "from read_parquet(?)", [str(path)])
    rows = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    return RawTable(path=path, file_format="parquet", encoding=None, content_hash=sha256(path),
                    headers=headers, header_row=None, table=table, rows_read=rows,
                    reader="parquet")


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
