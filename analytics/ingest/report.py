"""The report of an import, :class:`ImportReport`: what it found (the validation report
shown before anything is committed) or did.

:func:`fill_counts` fills it from the staged table and its side tables. A report lists at
most :data:`LIST_LIMIT` rejects, excluded rows and conflicts; every reject is stored with
the import.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from analytics.ingest.excel import SheetTable
from analytics.ingest.identity import is_order_file, natural_key_columns, same_key
from analytics.ingest.layout import staged_columns
from analytics.ingest.mapping import Mapping
from analytics.ingest.orders import amended_orders, note_amended_rows, stored_lines
from analytics.ingest.readers import RawTable
from analytics.ingest.schema import LATEST_WINS, stored_columns
from analytics.ingest.surveys import anonymous_to_write, line_counts, scores_to_write

LIST_LIMIT = 1000  # rejects / conflicts listed in a report (all rejects are stored)


@dataclass
class ImportReport:
    """What an import found (preview) or did (committed).

    ``rows_read = rows_valid + rows_rejected + rows_excluded``;
    ``rows_valid = rows_duplicate + rows_conflicting + rows_already_present + rows_amended
    + rows_to_import``. For transactions, ``orders`` counts the file's orders (its order
    numbers, and each row without one); ``orders_amended`` those the database holds with other
    lines (listed in ``amended``): with ``amended_policy`` ``keep`` their lines are
    ``rows_amended`` (not imported), with ``replace`` they are imported and the
    ``rows_replaced`` stored lines of those orders are retired (undo restores them).
    ``attribute_conflicts`` lists customers given two values for a name, segment, province or
    city by a sales file and the imports before it
    (:func:`analytics.ingest.attributes.note_conflicts`). ``id_padding`` lists the id columns whose
    ids match stored ids only when zero-padded (:func:`analytics.ingest.padding.find_padding`).

    A feedback file stores a row per answer (:mod:`analytics.ingest.surveys`): its counts above
    are lines of the file (a line is new when one of its answers is), but ``rows_imported``, as the
    ledger's, counts the rows written; ``scores`` counts the rows to write (written, once
    committed) per scale (``none``: complaints), ``score_scales`` says how each score column was
    read and converted, and ``missing_scores`` counts each column's missing answers (codes and
    blanks) with their first lines. ``anonymous_responses`` counts the survey lines without a
    customer id among the lines to import: their answers are stored with no customer.

    A leads file's ``lead_shape`` says how its rows were read (:func:`analytics.ingest.leads.shape`:
    ``stage_history``, ``stage_dates`` or ``current_stage``). Its rows with the key of a stored row
    and other values replace the stored rows (:data:`~analytics.ingest.schema.LATEST_WINS`): they are
    among ``rows_to_import``, ``rows_replaced`` counts them, and ``amended_keys`` lists them (``line``,
    ``key``, ``changed``: the columns that differ, ``replaces``: the stored row, its import and line).
    """

    file: str
    kind: str
    file_format: str
    encoding: str | None
    content_hash: str
    header_row: int | None
    sheet: str | None
    sheets: list[str]
    delimiter: str | None
    mapping: dict[str, str]
    unmapped_columns: list[str]
    rows_read: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    rows_excluded: int = 0
    rows_duplicate: int = 0
    rows_conflicting: int = 0
    rows_already_present: int = 0
    rows_amended: int = 0
    rows_to_import: int = 0
    rows_imported: int = 0
    returns: int = 0
    zero_amounts: int = 0
    identical_rows: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)
    rejects_total: int = 0
    excluded: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    orders: int = 0
    orders_amended: int = 0
    orders_continued: int = 0
    amended_rows: list[dict[str, Any]] = field(default_factory=list)
    amended: list[dict[str, Any]] = field(default_factory=list)
    amended_policy: str = "keep"
    rows_replaced: int = 0
    attribute_conflicts: list[dict[str, Any]] = field(default_factory=list)
    date_readings: dict[str, dict[str, Any]] = field(default_factory=dict)
    needs_confirmation: list[str] = field(default_factory=list)
    id_padding: list[dict[str, Any]] = field(default_factory=list)
    lead_shape: str | None = None
    amended_keys: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, int] = field(default_factory=dict)
    score_scales: list[dict[str, Any]] = field(default_factory=list)
    missing_scores: list[dict[str, Any]] = field(default_factory=list)
    anonymous_responses: int = 0
    notes: list[str] = field(default_factory=list)
    already_imported_as: list[int] = field(default_factory=list)
    status: str = "preview"  # preview | committed | nothing new
    import_id: int | None = None
    data_version: int | None = None
    checks: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        return asdict(self)

    def to_json(self) -> str:
        """The report as JSON text (non-ASCII kept readable)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)


def fill_counts(cur: duckdb.DuckDBPyConnection, staged: str, raw: RawTable, mapping: Mapping,
                ok: str, report: ImportReport) -> None:
    """Fill ``report``'s counts, notes and lists from the staged table and its side tables.

    Parameters
    ----------
    cur
        The staging cursor.
    staged
        The staged table, with ``_bad``, ``_rejects``, ``_dups``, ``_db`` and the view
        ``_candidates`` made (see :func:`analytics.ingest.validate.validate_staged`).
    raw
        The file as read (rows read, blank and malformed lines).
    mapping
        The file's mapping.
    ok
        The condition of a valid row.
    report
        The report to fill.
    """
    kind = mapping.kind
    natural = bool(natural_key_columns(kind, mapping))
    money = kind == "transactions"
    blank_rows, total_rows, valid, returns, zeros = cur.execute(
        f"select count(*) filter (where _blank), count(*) filter (where _total and not _blank), "
        f"count(*) filter (where {ok}), "
        + ("count(*) filter (where amount < 0 and " + ok + "), "
           "count(*) filter (where amount = 0 and " + ok + ") " if money else "0, 0 ")
        + f"from {staged}"
    ).fetchall()[0]
    bad = cur.execute(f"select count(*) from {staged}_bad").fetchall()[0][0]
    dup, conflict, repeated = cur.execute(
        "select count(*) filter (where mode = 'natural' and n > 1 and h = first_h), "
        "count(*) filter (where mode = 'natural' and n > 1 and h <> first_h), "
        "count(*) filter (where mode = 'content' and n > 1) "
        f"from {staged}_dups").fetchall()[0]
    present, conflict_db, amended = cur.execute(
        f"select count(*) filter (where status = 'present'), "
        f"count(*) filter (where status = 'conflict_db'), "
        f"count(*) filter (where status = 'amended') from {staged}_db").fetchall()[0]
    if kind == "feedback":  # a row per answer: counted as the lines they came from
        lines = line_counts(cur, staged)
        valid, dup, repeated, present = lines["valid"], lines["duplicate"], lines["repeated"], lines["present"]
        conflict, conflict_db = lines["conflicting"], 0
        report.scores = scores_to_write(cur, staged)
        report.anonymous_responses, answers = anonymous_to_write(cur, staged)
        if answers:
            n = report.anonymous_responses
            report.notes.append(
                f"{n} survey response{' has' if n == 1 else 's have'} no customer id: {'its' if n == 1 else 'their'} "
                f"{answers} answer{' is' if answers == 1 else 's are'} stored without a customer (anonymous), counted "
                "in the CSAT and NPS totals of users who see every region when no region, segment or tier filter "
                "is set, and in no group")
    if kind in LATEST_WINS:  # a stored key's other version replaces it: imported, not a conflict
        report.rows_replaced, conflict_db = conflict_db, 0
    report.rows_read = raw.rows_read
    report.rows_rejected = bad + len(raw.malformed)
    report.rows_excluded = blank_rows + total_rows + len(raw.blank_lines)
    report.rows_valid = valid
    report.returns, report.zero_amounts = returns, zeros
    report.rows_duplicate, report.rows_conflicting = dup, conflict + conflict_db
    report.identical_rows = repeated
    if dup:
        report.notes.append(f"{dup} rows repeat an earlier row with the same key exactly; "
                            "each is imported once")
    if repeated:
        report.notes.append(
            f"{repeated} rows without an id repeat an earlier row of this file exactly; "
            "each is kept as a separate record")
    report.rows_already_present = present
    if is_order_file(kind, mapping):
        _fill_orders(cur, staged, valid, amended, report)
    elif amended:  # sales rows without order numbers that amend stored ones
        note_amended_rows(cur, staged, amended, report, LIST_LIMIT)
    report.rows_to_import = (valid - report.rows_duplicate - report.rows_conflicting - present
                             - report.rows_amended)
    if returns:
        report.notes.append(f"{returns} rows have a negative amount and are kept as returns")
    if zeros:
        report.notes.append(f"{zeros} rows have an amount of zero")
    if isinstance(raw, SheetTable):
        raw.explain_rejects(cur, staged)  # an empty cell that is a formula without a saved value
    report.rejects_total = cur.execute(f"select count(*) from {staged}_rejects").fetchall()[0][0]
    report.rejects = [
        {"line": r[0], "column": r[1], "value": r[2], "reason": r[3]}
        for r in cur.execute(f"select * from {staged}_rejects order by line, column_name "
                             f"limit {LIST_LIMIT}").fetchall()
    ]
    excluded = [{"line": n, "reason": "blank line"} for n in raw.blank_lines[:LIST_LIMIT]]
    excluded += [
        {"line": r[0], "reason": "blank row" if r[1] else "repeated header" if r[2] else "total row"}
        for r in cur.execute(f"select _line, _blank, _header from {staged}_v where _blank or _total "
                             f"order by _line limit {LIST_LIMIT}").fetchall()
    ]
    report.excluded = sorted(excluded, key=lambda e: e["line"])[:LIST_LIMIT]
    key_cols = natural_key_columns(kind, mapping)
    key_expr = " || ' / ' || ".join(f"coalesce(cast(s.{k} as varchar), '')" for k in key_cols) or "''"
    conflicts = []
    if natural:
        conflicts += cur.execute(
            f"select d._line, {key_expr}, 'line ' || d.first_line || ' of this file' "
            f"from {staged}_dups d join {staged}_v s using (_rid) "
            f"where d.mode = 'natural' and d.n > 1 and d.h <> d.first_h "
            f"order by d._line limit {LIST_LIMIT}").fetchall()
    if natural and kind not in LATEST_WINS:  # (where the latest version wins, a stored key's is amended, below)
        conflicts += cur.execute(
            f"with listed as (select s._line, s._rid, {key_expr} as shown from {staged}_db b "
            f"join {staged}_v s using (_rid) where b.status = 'conflict_db' "
            f"order by s._line limit {LIST_LIMIT}) "
            f"select l._line, l.shown, 'import #' || d.import_id || ', line ' || d.line "
            f"from listed l join {staged}_candidates c using (_rid) join {kind} d "
            f"on {same_key(kind, mapping, 'c', 'd')} order by l._line").fetchall()
    report.conflicts = [{"line": r[0], "key": r[1], "other": r[2], "kept": "the other row"}
                        for r in sorted(conflicts)[:LIST_LIMIT]]
    if kind in LATEST_WINS and report.rows_replaced:
        _fill_amended_keys(cur, staged, mapping, key_expr, report)
    if report.conflicts:
        report.notes.append(f"{report.rows_conflicting} rows share a key with another row but differ "
                            "in values; they are not imported (listed under conflicts)")


def _fill_amended_keys(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping, key_expr: str,
                       report: ImportReport) -> None:
    """List the rows of a file of a :data:`~analytics.ingest.schema.LATEST_WINS` kind that replace stored
    rows (the same key, other values): each with its key, the columns that differ and the stored row's
    import and line; and say so."""
    kind = mapping.kind
    present = staged_columns(mapping)
    differ = ", ".join(f"case when d.{c.name} is distinct from s.{c.name} then '{c.name}' end" if c.name in present
                       else f"case when d.{c.name} is not null then '{c.name}' end" for c in stored_columns(kind))
    found = cur.execute(
        f"select s._line, {key_expr}, list_filter([{differ}], lambda x: x is not null), "
        f"'import #' || d.import_id || ', line ' || d.line from {staged}_db b join {staged}_candidates s using (_rid) "
        f"join {kind} d on {same_key(kind, mapping, 's', 'd')} where b.status = 'conflict_db' "
        f"order by s._line limit {LIST_LIMIT}").fetchall()
    report.amended_keys = [{"line": r[0], "key": r[1], "changed": list(r[2]), "replaces": r[3]} for r in found]
    shown = ", ".join(str(r[0]) for r in found[:5]) + (", ..." if report.rows_replaced > 5 else "")
    report.notes.append(f"{report.rows_replaced} rows amend rows stored by earlier imports (the same key with other "
                        f"values; lines {shown}): they replace the stored rows (undoing the import puts them back)")


def _fill_orders(cur: duckdb.DuckDBPyConnection, staged: str, valid: int, amended_lines: int,
                 report: ImportReport) -> None:
    """The order counts of an order-line file, and its amended orders under the report's policy.

    Its orders are its valid lines less the lines after the first of each order number that
    repeats (``<staged>_orders``, made anyway to mark where each order starts)."""
    report.orders = valid - int(cur.execute(
        f"select coalesce(sum(lines - 1), 0) from {staged}_orders").fetchall()[0][0])
    report.orders_amended = int(cur.execute(f"select count(*) from {staged}_amended").fetchall()[0][0])
    report.orders_continued = int(cur.execute(f"select count(*) from {staged}_continued").fetchall()[0][0])
    if report.orders_continued:
        new_lines = cur.execute(f"select count(*) from {staged}_lines semi join {staged}_continued "
                                f"using (transaction_id) where is_new").fetchall()[0][0]
        report.notes.append(
            f"{report.orders_continued} orders continue orders already in the database (their other lines came "
            f"in an earlier file): {new_lines} new lines are added to them, and each is still one order")
    if not report.orders_amended:
        return
    report.amended = amended_orders(cur, staged, LIST_LIMIT)
    if report.amended_policy == "replace":
        report.rows_replaced = stored_lines(cur, staged)
        report.notes.append(
            f"{report.orders_amended} orders are in the database with other lines; they are replaced by "
            f"this file's version: {amended_lines} lines imported, {report.rows_replaced} stored lines "
            "replaced (undoing the import puts them back)")
    else:
        report.rows_amended = amended_lines
        report.notes.append(
            f"{report.orders_amended} orders are in the database with other lines; the stored orders are "
            f"kept and their {amended_lines} lines in this file are not imported (listed under amended "
            "orders; choose to replace them to import this file's version)")
