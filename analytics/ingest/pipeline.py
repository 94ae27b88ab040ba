"""The one import pipeline, used by the app and the command line alike.

``prepare`` reads a file (:mod:`analytics.ingest.readers`), maps its columns, stages it in
one SQL pass (:mod:`analytics.ingest.staging`), validates every row
(:mod:`analytics.ingest.validate`) and compares each row with the file's other rows and
with the database (:mod:`analytics.ingest.identity`), writing nothing: its
:class:`ImportReport` (:mod:`analytics.ingest.report`) is the validation report shown before
anything is committed. ``commit_import`` then writes the new rows, the ledger entry and the
rejected rows, rebuilds the derived tables that read what it wrote and raises the data
version, all in one transaction. ``undo_import`` takes one import's rows out again.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from analytics.errors import ConfirmationRequired, ImportNotFound
from analytics.ingest.attributes import write_attributes
from analytics.ingest.claims import hold_versions, record_claims, replace_versions, take_out
from analytics.ingest.identity import compare_with_database, is_order_file, natural_key_columns
from analytics.ingest.layout import staged_columns
from analytics.ingest.lookalike import normalize_text
from analytics.ingest.mapping import Mapping, load_mapping, propose_mapping, save_mapping
from analytics.ingest.orders import replace_amended
from analytics.ingest.padding import HINT as PAD_HINT
from analytics.ingest.padding import apply_padding, find_padding, is_decision, tell_padding
from analytics.ingest.readers import RawTable, discard, read_file, resolve_lines
from analytics.ingest.report import ImportReport
from analytics.ingest.schema import LATEST_WINS, stored_columns
from analytics.ingest.stage import attach_stage, release_stage
from analytics.ingest.staging import define_macros, parse
from analytics.ingest.survey_scales import SCALE_DECISION, SCALE_HINT
from analytics.ingest.surveys import line_counts
from analytics.ingest.validate import validate_staged
from analytics.store import audits, marts
from analytics.store.connection import bump_data_version, write_transaction

__all__ = ["DATE_ORDERS", "SCALES", "PreparedImport", "Progress", "commit_import", "import_file", "prepare",
           "undo_import", "written_tables"]

Progress = Callable[[str, float], None]
DATE_ORDERS = ("dmy", "mdy")
SCALES = ("csat", "nps")  # of feedback scores given without a scale


@dataclass
class PreparedImport:
    """A file read, mapped and staged on its own cursor; ``commit_import`` writes it."""

    con: duckdb.DuckDBPyConnection
    cursor: duckdb.DuckDBPyConnection
    raw: RawTable
    mapping: Mapping
    staged: str
    report: ImportReport
    date_order: str | None
    natural_key: bool

    stage_db: str | None = None

    def close(self) -> None:
        """Drop the staging tables."""
        self.release(self.cursor, self.stage_db)

    @staticmethod
    def release(cursor: duckdb.DuckDBPyConnection, stage_db: str | None) -> None:
        """Free a staging cursor and its stage database (:func:`~analytics.ingest.stage.release_stage`)."""
        release_stage(cursor, stage_db)
        with contextlib.suppress(duckdb.Error):
            cursor.close()


def _noop(_stage: str, _fraction: float) -> None:
    return None


def prepare(con: duckdb.DuckDBPyConnection, path: str | Path, *, kind: str | None = None,
            encoding: str | None = None, sheet: str | int | None = None,
            header_row: int | None = None, mapping: dict[str, str] | None = None,
            mapping_name: str | None = None, date_order: str | None = None, amended: str = "keep",
            pad_ids: bool | None = None, progress: Progress | None = None,
            force_python: bool = False, scale: str | None = None) -> PreparedImport:
    """Read, map, parse and validate a file; write nothing.

    Parameters
    ----------
    con
        The CRM database connection.
    path
        CSV, TSV, ``.xlsx`` or Parquet file.
    kind
        ``transactions``, ``customers``, ``feedback`` or ``leads``; default detected.
    encoding, sheet, header_row
        See :func:`analytics.ingest.readers.read_file`; ``header_row=0`` says the file has no
        header row (its columns are ``column 1``, ``column 2``, ... by position); by default a
        first line of values rather than column names is found to be data.
    mapping
        ``{canonical: file header}`` overriding the proposed mapping; a header may be given
        by its 1-based position (``3`` or ``column 3``), as for a file without a header row.
    mapping_name
        A saved mapping to start from (``mapping`` still overrides it).
    date_order
        ``"dmy"`` or ``"mdy"`` for dates written ``01/02/2024``; needed when the file's
        values leave the order open.
    amended
        ``"keep"`` (default) or ``"replace"``: what committing does with an order the
        database holds with other lines than the file's (:mod:`analytics.ingest.orders`).
    pad_ids
        For ids that match stored ids only when zero-padded (``424`` in the file, ``000424``
        stored; :mod:`analytics.ingest.padding`): True pads them to the stored width, False keeps
        them as written; None (default) leaves it to be decided (the report asks for it).
    progress
        Called as ``progress(stage, fraction)``.
    force_python
        Read CSV with Python's csv module (tests compare both readers).
    scale
        ``"csat"`` or ``"nps"``: the scale of feedback scores given without one; needed when the
        scores fit no one scale (:func:`analytics.ingest.validate.validate_staged`).

    Returns
    -------
    PreparedImport
        Its ``report`` is the validation report.

    Raises
    ------
    FileReadError, EncodingNotDetected, MappingError, ValueError
    """
    progress = progress or _noop
    if date_order is not None and date_order not in DATE_ORDERS:
        raise ValueError(f"date order must be one of {', '.join(DATE_ORDERS)}, not {date_order!r}")
    if scale is not None and scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    cur = con.cursor()
    stage_db = None
    try:
        stage_db = attach_stage(cur, Path(path))
        define_macros(cur)
        verify = False
        while True:
            progress("reading", 0.05)
            raw = read_file(cur, path, encoding=encoding, sheet=sheet, header_row=header_row,
                            force_python=force_python, verify_encoding=verify)
            explicit: dict[str, str] = {}
            if mapping_name:
                saved_kind, explicit = load_mapping(con, mapping_name)
                kind = kind or saved_kind
                explicit = {k: v for k, v in explicit.items() if v in raw.headers}
            explicit.update(mapping or {})
            mapped = propose_mapping(raw.headers, kind, explicit or None)
            progress("validating", 0.3)
            try:
                staged, numbered = parse(cur, raw, mapped, stage_db)
            except duckdb.InvalidInputException:
                if raw.pending is None:
                    raise
                discard(cur, raw)  # DuckDB's reader stopped on the file (mixed line endings): Python's reads it
                force_python = True
                continue
            retry = resolve_lines(cur, raw, staged, numbered)
            if retry is None:
                break
            # DuckDB's reader could not be trusted with this file: read it again.
            cur.execute(f"drop table {staged}")
            cur.execute(f"drop view if exists {raw.table}_numbered")
            cur.execute(f"drop view if exists {raw.table}")
            if retry == "encoding":
                verify = True
            else:
                force_python = True
        normalized = normalize_text(cur, staged, mapped)  # look-alike keys folded (NFKC, spaces)
        padding = find_padding(cur, staged, mapped)  # ids that lost their leading zeros
        if pad_ids and padding:
            apply_padding(cur, staged, mapped, padding)
        report, staged = validate_staged(cur, raw, mapped, staged, date_order, amended, scale=scale)
        report.notes[:0] = raw.notes + normalized  # how the file was read (no header row, runs of spaces)
        tell_padding(report, padding, pad_ids)
        progress("compared with database", 0.5)
        return PreparedImport(con=con, cursor=cur, raw=raw, mapping=mapped, staged=staged,
                              report=report, date_order=date_order,
                              natural_key=bool(natural_key_columns(mapped.kind, mapped)),
                              stage_db=stage_db)
    except BaseException:
        PreparedImport.release(cur, stage_db)
        raise


def commit_import(prepared: PreparedImport, *, imported_by: str, save_as: str | None = None,
                  progress: Progress | None = None) -> ImportReport:
    """Write a prepared import in one transaction and return the final report: its rows, what
    a sales file's new lines say about their customers
    (:func:`analytics.ingest.attributes.write_attributes`), the ledger entry, the rejects and the
    derived tables.

    The comparison with the database is made again inside the transaction, so rows that
    arrived since the preview are not added twice.

    Raises
    ------
    ConfirmationRequired
        When the report asks for a decision (an ambiguous day/month order, scores that fit
        no one scale) that has not been given as ``date_order`` or ``scale``.
    """
    progress = progress or _noop
    report = prepared.report
    if report.needs_confirmation:
        raise ConfirmationRequired(
            "the import needs a decision first: " + "; ".join(report.needs_confirmation) + " ("
            + "; ".join(dict.fromkeys(PAD_HINT if is_decision(item) else SCALE_HINT if SCALE_DECISION in item
                                      else "give the day/month order: dmy or mdy"
                                      for item in report.needs_confirmation)) + ")")
    cur, staged, kind = prepared.cursor, prepared.staged, report.kind
    names = [c.name for c in stored_columns(kind)]
    staged_cols = staged_columns(prepared.mapping)
    extra = ", is_return, is_order_start" if kind == "transactions" else ""
    select_extra = ", c.amount < 0, c._order_start" if kind == "transactions" else ""
    # The staging tables are temporary tables of the staging cursor, so it writes.
    replace = report.amended_policy == "replace"
    with write_transaction(prepared.con, cur):
        compare_with_database(cur, staged, prepared.mapping)
        present, conflict_db, amended = cur.execute(
            f"select count(*) filter (where status = 'present'), "
            f"count(*) filter (where status = 'conflict_db'), "
            f"count(*) filter (where status = 'amended') from {staged}_db").fetchall()[0]
        import_id = cur.execute("select nextval('import_id_seq')").fetchall()[0][0]
        replaced = replace_amended(cur, staged, import_id) if replace and amended else 0
        latest = kind in LATEST_WINS  # its other versions of stored keys replace them
        if latest and conflict_db:
            replaced, conflict_db = replace_versions(cur, staged, prepared.mapping), 0
        progress("writing rows", 0.6)
        skipped = "status = 'present'" if latest else "status <> 'amended'" if replace else "true"
        lines = f"{staged}_candidates c" + (f" anti join (select _rid from {staged}_db where {skipped}) b using (_rid)"
                                            if present + conflict_db + amended else "")
        row = (f"(row_key, import_id, line, {', '.join(names)}{extra}) select c._key, ?, c._line, "
               f"{', '.join(f'c.{n}' if n in staged_cols else 'null' for n in names)}{select_extra}")
        cur.execute(f"insert into {kind} {row} from {lines}", [import_id])
        if conflict_db or (amended and not replace):  # its versions of rows stored with other values
            held = "'conflict_db'" if replace else "'conflict_db', 'amended'"
            hold_versions(cur, kind, row, f"{staged}_candidates c semi join (select _rid from {staged}_db "
                          f"where status in ({held})) h using (_rid)", import_id)
        write_attributes(cur, lines, prepared.mapping, import_id)
        if is_order_file(kind, prepared.mapping):  # an order continued from an earlier file starts there
            cur.execute(f"update transactions set is_order_start = false where import_id = ? and transaction_id in "
                        f"(select transaction_id from {staged}_continued)", [import_id])
        if present:  # the rows it brought that were stored already: undoing their holder keeps them
            record_claims(cur, staged, prepared.mapping, import_id)
        imported = cur.execute(f"select count(*) from {kind} where import_id = ?",
                               [import_id]).fetchall()[0][0]
        report.rows_conflicting = _in_file_conflicts(cur, staged) + conflict_db
        report.rows_already_present = present
        report.rows_amended = 0 if replace else amended
        report.rows_replaced = replaced
        report.orders_amended = int(cur.execute(f"select count(*) from {staged}_amended").fetchall()[0][0]) \
            if is_order_file(kind, prepared.mapping) else 0
        report.rows_to_import = imported
        if kind == "feedback":  # a row per answer: the report counts the lines they came from
            lines = line_counts(cur, staged)
            report.rows_conflicting, report.rows_already_present = lines["conflicting"], lines["present"]
            report.rows_to_import = lines["new"]
            report.scores = {s: int(n) for s, n in cur.execute(
                "select coalesce(scale, 'none'), count(*) from feedback where import_id = ? group by all order by 1",
                [import_id]).fetchall()}
        report.rows_imported = imported
        cur.execute(
            "insert into imports (import_id, kind, file_name, content_hash, file_format, encoding, "
            "sheet, header_row, mapping, imported_by, imported_at, rows_read, rows_valid, "
            "rows_rejected, rows_excluded, rows_duplicate, rows_already_present, "
            "rows_conflicting, rows_imported, amended_policy, orders_amended, rows_replaced, status) values "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'committed')",
            [import_id, kind, report.file, report.content_hash, report.file_format,
             report.encoding, report.sheet, report.header_row,
             json.dumps(report.mapping, ensure_ascii=False), imported_by, datetime.now(),
             report.rows_read, report.rows_valid, report.rows_rejected, report.rows_excluded,
             report.rows_duplicate, report.rows_already_present, report.rows_conflicting,
             imported, report.amended_policy if report.orders_amended or amended else None, report.orders_amended,
             replaced])
        cur.execute(f"insert into import_rejects select ?, line, column_name, value, reason "
                    f"from {staged}_rejects", [import_id])
        if save_as:
            save_mapping(cur, save_as, prepared.mapping)
        if imported or replaced:
            # nothing new leaves the data (and so the derived tables) as they were
            progress("rebuilding summaries", 0.8)
            marts.rebuild(cur, changed=written_tables(kind))
            bump_data_version(cur)
    report.import_id = import_id
    report.status = "committed" if imported else "nothing new"
    if not imported:
        report.notes.append("nothing new: every valid row is already in the database")
    report.data_version = prepared.con.cursor().execute(
        "select value from meta where key = 'data_version'").fetchall()[0][0]
    progress("checking data quality", 0.95)
    try:
        report.checks = audits.count_failures(prepared.con)
    except duckdb.Error as exc:
        # the import is committed: its report must reach the caller, with the failure in it
        report.notes.append(f"the data-quality checks could not run ({exc}); run them again with "
                            "`python -m analytics check`")
    progress("done", 1.0)
    return report


def written_tables(kind: str) -> frozenset[str]:
    """The tables an import or an undo of ``kind`` may write (beside ``meta`` and ``saved_mappings``): the
    kind's own, its held versions (:mod:`analytics.ingest.claims`), the ledger; for a sales file also what its
    lines say about their customers (:mod:`analytics.ingest.attributes`) and the order lines it replaced
    (:mod:`analytics.ingest.orders`). The marts that read none of them keep their rows
    (:func:`analytics.store.marts.rebuild`)."""
    sales = {"customer_attributes", "transactions_replaced"} if kind == "transactions" else set()
    return frozenset({kind, f"{kind}_held", "imports", "import_rejects", "import_claims", *sales})


def _in_file_conflicts(cur: duckdb.DuckDBPyConnection, staged: str) -> int:
    return cur.execute(f"select count(*) from {staged}_dups "
                       "where mode = 'natural' and n > 1 and h <> first_h").fetchall()[0][0]


def import_file(con: duckdb.DuckDBPyConnection, path: str | Path, *, commit: bool = False,
                imported_by: str = "local", save_as: str | None = None,
                progress: Progress | None = None, **options: Any) -> ImportReport:
    """Prepare ``path`` and, with ``commit=True``, write it: the whole pipeline in one call.

    ``options`` are those of :func:`prepare`. Returns the preview report without
    ``commit``, the final report with it.
    """
    prepared = prepare(con, path, progress=progress, **options)
    try:
        if not commit:
            return prepared.report
        return commit_import(prepared, imported_by=imported_by, save_as=save_as,
                             progress=progress)
    finally:
        prepared.close()


def undo_import(con: duckdb.DuckDBPyConnection, import_id: int, *, undone_by: str = "local") -> int:
    """Remove exactly the rows import ``import_id`` added, and what its lines said about
    their customers, and put back the stored order lines it replaced
    (:func:`analytics.ingest.orders.restore_replaced`); return how many rows were removed.
    A row another committed import also brought is not removed: it passes to the earliest
    such import; a key or order it leaves empty takes the earliest committed import's version
    of it (:func:`analytics.ingest.claims.take_out`; :func:`~analytics.ingest.claims.undo_preview`
    tells beforehand).

    Raises
    ------
    ImportNotFound
        If there is no such import or it is not in the committed state.
    """
    with write_transaction(con) as cur:
        rows = cur.execute("select kind, status from imports where import_id = ?",
                           [import_id]).fetchall()
        if not rows:
            raise ImportNotFound(f"there is no import #{import_id}")
        kind, status = rows[0]
        if status != "committed":
            raise ImportNotFound(f"import #{import_id} is {status}; only committed imports can be undone")
        effect = take_out(cur, kind, import_id)
        cur.execute("update imports set status = 'undone', undone_at = ?, undone_by = ? "
                    "where import_id = ?", [datetime.now(), undone_by, import_id])
        marts.rebuild(cur, changed=written_tables(kind))
        bump_data_version(cur)
    return effect.removed
