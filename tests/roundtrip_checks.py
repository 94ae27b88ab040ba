"""What every import round trip checks, shared by ``test_import_properties_csv`` and
``test_import_properties_xlsx_parquet``: the committed report's counts, every stored value
and the line it came from (``check_committed``), and that a second import of the same file
adds nothing (``check_reimport``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from import_strategies import Row

from analytics.ingest.pipeline import import_file
from analytics.ingest.report import ImportReport
from analytics.ingest.schema import fold_key
from analytics.store.connection import data_version


def expected_rows(rows: list[Row], lines: list[int]) -> list[tuple[Any, ...]]:
    """The stored rows: ids, region and channel as written but folded as keys are (``小计：`` is
    ``小计:``: analytics.ingest.schema.fold_key)."""
    def key(text: str | None) -> str | None:
        return None if text is None else fold_key(text)
    return [(line, key(r.customer_id), r.order_date, r.amount, key(r.region), key(r.channel), key(r.transaction_id),
             r.amount < 0) for line, r in zip(lines, rows, strict=True)]


def stored_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    rows = con.execute(
        "select line, customer_id, order_date, amount, region, channel, transaction_id, is_return "
        "from transactions order by line").fetchall()
    for row in rows:  # the amount is exactly what was written, to the cent
        assert row[3] == row[3].quantize(Decimal("0.01")), row
    return rows


def check_committed(con: duckdb.DuckDBPyConnection, report: ImportReport, rows: list[Row],
                    lines: list[int]) -> None:
    assert report.rejects == []
    assert report.excluded == []
    assert (report.rows_read, report.rows_valid, report.rows_rejected, report.rows_excluded) == (
        len(rows), len(rows), 0, 0)
    assert (report.rows_duplicate, report.rows_conflicting, report.rows_already_present) == (0, 0, 0)
    assert (report.rows_to_import, report.rows_imported, report.status) == (len(rows), len(rows), "committed")
    assert report.kind == "transactions"
    distinct = len({(r.customer_id, r.order_date, r.amount, r.region, r.channel) for r in rows})
    if rows[0].transaction_id is None:
        assert report.identical_rows == len(rows) - distinct
    assert stored_rows(con) == expected_rows(rows, lines)


def check_reimport(con: duckdb.DuckDBPyConnection, path: Path, rows: list[Row], **options: Any) -> None:
    before, version = stored_rows(con), data_version(con)
    again = import_file(con, path, commit=True, **options)
    assert data_version(con) == version      # nothing changed, cached pages stay valid
    assert again.status == "nothing new"
    assert (again.rows_imported, again.rows_already_present, again.rows_rejected) == (0, len(rows), 0)
    assert again.already_imported_as == [1]
    assert stored_rows(con) == before
