"""The one import pipeline, used by the app and the command line alike.

``prepare`` reads a file, maps its columns, parses and validates every value and
compares each row with the database, writing nothing: its :class:`ImportReport` is the
validation report shown before anything is committed. ``commit_import`` then writes the new
rows, the ledger entry and the rejected rows, rebuilds the derived tables and raises the
data version, all in one transaction. ``undo_import`` takes one import's rows out again.

Row identity. A row of a kind with a natural key in the file (transaction id [+ product],
customer id, feedback id, lead id) is identified by that key; two rows with the same key
and different values are a *conflict*: listed, and only the first (or the database's)
kept. A row without one is identified by its content plus its occurrence among identical
rows of the same file, so importing a file again, or the same rows re-saved in another
file, adds nothing, while two identical purchases inside one file stay two purchases.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from analytics import audits, marts
from analytics.db import bump_data_version, read_sql, write_transaction
from analytics.errors import ConfirmationRequired, ImportNotFound
from analytics.mapping import Mapping, load_mapping, propose_mapping, save_mapping
from analytics.readers import RawTable, read_file
from analytics.schema import COLUMNS, NATURAL_KEYS, TOTAL_WORDS, Column

Progress = Callable[[str, float], None]
LIST_LIMIT = 1000  # rejects / conflicts listed in a report (all rejects are stored)
DATE_ORDERS = ("dmy", "mdy")

_KIND_WORDS = {
    "complaint": ("complaint", "投诉", "客诉"),
    "survey": ("survey", "调查", "问卷", "评价", "回访", "调研"),
}
_SCALE_WORDS = {
    "csat": ("csat", "满意度", "1-5", "5分", "五分制"),
    "nps": ("nps", "推荐", "推荐度", "净推荐值", "0-10", "10分", "十分制"),
}
_OUTCOME_WORDS = {
    "won": ("won", "win", "赢单", "成交", "成功", "签约"),
    "lost": ("lost", "lose", "输单", "流失", "失败", "丢单"),
}
SCALE_RANGE = {"csat": (1, 5), "nps": (0, 10)}


@dataclass
class ImportReport:
    """What an import found (preview) or did (committed).

    ``rows_read = rows_valid + rows_rejected + rows_excluded``;
    ``rows_valid = rows_duplicate + rows_conflicting + rows_already_present + rows_to_import``.
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
    rows_to_import: int = 0
    rows_imported: int = 0
    returns: int = 0
    zero_amounts: int = 0
    identical_rows: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)
    rejects_total: int = 0
    excluded: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    date_readings: dict[str, dict[str, Any]] = field(default_factory=dict)
    needs_confirmation: list[str] = field(default_factory=list)
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

    def close(self) -> None:
        """Drop the staging tables."""
        with contextlib.suppress(duckdb.Error):
            self.cursor.close()


def _noop(_stage: str, _fraction: float) -> None:
    return None


def _define_macros(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(read_sql("staging/macros.sql"))


def _sql_list(words: tuple[str, ...]) -> str:
    # Fixed words from this module, not user input; quoted as SQL literals.
    return ", ".join("'" + w.replace("'", "''") + "'" for w in words)


def _parse_expr(col: Column, src: str) -> str:
    if col.type in ("id", "text"):
        return f"crm_text({src})"
    if col.type == "date":
        return f"crm_date({src}, $date_order)"
    if col.type == "money":
        return f"crm_money({src})"
    if col.type == "number":
        return f"crm_number({src})"
    raise ValueError(f"unknown column type {col.type}")


def _word_case(expr: str, words: dict[str, tuple[str, ...]]) -> str:
    arms = " ".join(f"when lower({expr}) in ({_sql_list(ws)}) then '{key}'" for key, ws in words.items())
    return f"(case {arms} end)"


def prepare(con: duckdb.DuckDBPyConnection, path: str | Path, *, kind: str | None = None,
            encoding: str | None = None, sheet: str | int | None = None,
            header_row: int | None = None, mapping: dict[str, str] | None = None,
            mapping_name: str | None = None, date_order: str | None = None,
            progress: Progress | None = None, force_python: bool = False) -> PreparedImport:
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
        See :func:`analytics.readers.read_file`.
    mapping
        ``{canonical: file header}`` overriding the proposed mapping.
    mapping_name
        A saved mapping to start from (``mapping`` still overrides it).
    date_order
        ``"dmy"`` or ``"mdy"`` for dates written ``01/02/2024``; needed when the file's
        values leave the order open.
    progress
        Called as ``progress(stage, fraction)``.

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
    cur = con.cursor()
    try:
        progress("reading", 0.05)
        raw = read_file(cur, path, encoding=encoding, sheet=sheet, header_row=header_row,
                        force_python=force_python)
        explicit: dict[str, str] = {}
        if mapping_name:
            saved_kind, explicit = load_mapping(con, mapping_name)
            kind = kind or saved_kind
            explicit = {k: v for k, v in explicit.items() if v in raw.headers}
        explicit.update(mapping or {})
        mapped = propose_mapping(raw.headers, kind, explicit or None)
        progress("validating", 0.3)
        prepared = _stage(con, cur, raw, mapped, date_order)
        progress("compared with database", 0.5)
        return prepared
    except BaseException:
        cur.close()
        raise


def _stage(con: duckdb.DuckDBPyConnection, cur: duckdb.DuckDBPyConnection, raw: RawTable,
           mapping: Mapping, date_order: str | None) -> PreparedImport:
    _define_macros(cur)
    kind = mapping.kind
    cols = COLUMNS[kind]
    src = {c.name: f"r.c{mapping.columns[c.name]}" for c in cols if c.name in mapping.columns}
    report = ImportReport(
        file=raw.path.name, kind=kind, file_format=raw.file_format, encoding=raw.encoding,
        content_hash=raw.content_hash, header_row=raw.header_row, sheet=raw.sheet,
        sheets=raw.sheets, delimiter=raw.delimiter, mapping=mapping.as_names(),
        unmapped_columns=mapping.unmapped,
    )
    date_order = _decide_date_orders(cur, raw, mapping, date_order, report)

    all_cells = [f"r.c{i}" for i in range(len(raw.headers))]
    blank = " and ".join(f"crm_text({c}) is null" for c in all_cells)
    id_col = "lead_id" if kind == "leads" else "customer_id"
    total_match = " or ".join(
        f"lower(rtrim(crm_text({c}), ':：')) in ({_sql_list(TOTAL_WORDS)})" for c in all_cells)
    id_src = src[id_col]
    total = (f"(({total_match}) and (crm_text({id_src}) is null or "
             f"lower(rtrim(crm_text({id_src}), ':：')) in ({_sql_list(TOTAL_WORDS)})))")

    parsed = []
    for c in cols:
        parsed.append(f"{_parse_expr(c, src[c.name])} as {c.name}" if c.name in src
                      else f"null as {c.name}")
    raw_cols = [f"{src[c.name]} as raw_{c.name}" for c in cols if c.name in src]
    staged = f"{raw.table}_staged"
    cur.execute(
        f"create temp table {staged} as select r._line, ({blank}) as _blank, "
        f"coalesce({total}, false) as _total, {', '.join(parsed + raw_cols)} "
        f"from {raw.table} r",
        {"date_order": date_order} if "$date_order" in " ".join(parsed) else None,
    )
    cur.execute(f"drop table {raw.table}")
    _normalise_words(cur, staged, kind, src, report)
    checks = _row_checks(kind, cols, src, report)
    # One reject row per failing cell.
    rejects_sql = " union all ".join(
        f"select _line as line, '{column}' as column_name, cast({value} as varchar) as value, "
        f"{reason} as reason from {staged} where not _blank and not _total and ({cond})"
        for column, value, cond, reason in checks
    )
    cur.execute(f"create temp table {staged}_rejects "
                "(line bigint, column_name varchar, value varchar, reason varchar)")
    if rejects_sql:
        cur.execute(f"insert into {staged}_rejects {rejects_sql}")
    for m in raw.malformed:
        cur.execute(f"insert into {staged}_rejects values (?, null, ?, ?)", [m.line, m.text[:500], m.reason])
    bad_cond = " or ".join(f"({cond})" for _, _, cond, _ in checks) or "false"
    cur.execute(f"alter table {staged} add column _ok boolean")
    cur.execute(f"update {staged} set _ok = not _blank and not _total and not coalesce({bad_cond}, false)")

    natural = [k for k in NATURAL_KEYS[kind] if k in src]
    natural_key = bool(natural) and NATURAL_KEYS[kind][0] in src
    _add_keys(cur, staged, kind, cols, natural if natural_key else [])
    _compare_with_database(cur, staged, kind, natural_key)
    _fill_counts(cur, staged, raw, kind, natural_key, report)
    imported_before = cur.execute(
        "select import_id from imports where content_hash = ? and status = 'committed' "
        "and kind = ? order by import_id", [raw.content_hash, kind]).fetchall()
    report.already_imported_as = [r[0] for r in imported_before]
    if report.already_imported_as:
        ids = ", ".join(f"#{i}" for i in report.already_imported_as)
        report.notes.append(f"this exact file was imported before as {ids}")
    return PreparedImport(con=con, cursor=cur, raw=raw, mapping=mapping, staged=staged,
                          report=report, date_order=date_order, natural_key=natural_key)


def _decide_date_orders(cur: duckdb.DuckDBPyConnection, raw: RawTable, mapping: Mapping,
                        date_order: str | None, report: ImportReport) -> str | None:
    """Settle the day/month order of dd/mm/yyyy-style values, never silently.

    Values like 25/12/2024 or 12/25/2024 decide a column's order; a column whose values
    all fit both orders needs ``date_order`` from the user (proposed: month first).
    """
    dates = [c for c in COLUMNS[mapping.kind] if c.type == "date" and c.name in mapping.columns]
    if not dates:
        return date_order
    exprs = []
    for c in dates:
        s = f"c{mapping.columns[c.name]}"
        exprs.append(
            f"count(*) filter (where crm_is_dm({s})), "
            f"count(*) filter (where crm_is_dm({s}) and crm_dm_first({s}) > 12), "
            f"count(*) filter (where crm_is_dm({s}) and crm_dm_second({s}) > 12), "
            f"any_value({s}) filter (where crm_is_dm({s}))"
        )
    row = cur.execute(f"select {', '.join(exprs)} from {raw.table}").fetchall()[0]
    decided: set[str] = set()
    for i, c in enumerate(dates):
        n, first_big, second_big, example = row[4 * i: 4 * i + 4]
        if not n:
            continue
        header = mapping.header_of(c.name)
        if date_order:
            reading, why = date_order, "chosen"
        elif first_big and not second_big:
            reading, why = "dmy", f"values such as {example} only fit day/month/year"
        elif second_big and not first_big:
            reading, why = "mdy", f"values such as {example} only fit month/day/year"
        elif first_big and second_big:
            reading, why = "mdy", "values fit neither order consistently"
            report.needs_confirmation.append(
                f"column {header}: its dates mix day/month and month/day orders; choose one "
                "order (values that do not fit it are rejected)")
        else:
            reading, why = "mdy", f"every value (e.g. {example}) fits both orders"
            report.needs_confirmation.append(
                f"column {header}: dates like {example} could be day/month/year or "
                "month/day/year; proposed month/day/year, confirm or choose")
        decided.add(reading)
        report.date_readings[header] = {"reading": reading, "why": why, "values": n}
    if len(decided) > 1 and not date_order:
        report.needs_confirmation.append("date columns read in different orders; choose one order")
    return date_order or (decided.pop() if len(decided) == 1 else "mdy")


def _normalise_words(cur: duckdb.DuckDBPyConnection, staged: str, kind: str,
                     src: dict[str, str], report: ImportReport) -> None:
    """Bring coded values (scale, feedback kind, outcome) to canonical words."""
    if kind == "feedback":
        cur.execute(f"alter table {staged} add column raw_scale_text varchar")
        cur.execute(f"update {staged} set raw_scale_text = scale, "
                    f"scale = {_word_case('scale', _SCALE_WORDS)}, "
                    f"feedback_kind = coalesce({_word_case('feedback_kind', _KIND_WORDS)}, "
                    "case when feedback_kind is null and score is null then 'complaint' "
                    "when feedback_kind is null then 'survey' end)")
        # Without a scale column, read the file's scores as CSAT when all are 1-5, else NPS.
        lo, hi, missing = cur.execute(
            f"select min(score), max(score), count(*) filter (where scale is null and raw_scale_text is null "
            f"and score is not null) from {staged} where not _blank and not _total").fetchall()[0]
        if missing:
            inferred = "csat" if lo is not None and lo >= 1 and hi <= 5 else "nps"
            cur.execute(f"update {staged} set scale = ? where scale is null and raw_scale_text is null "
                        "and score is not null", [inferred])
            label = "CSAT 1–5" if inferred == "csat" else "NPS 0–10"
            report.notes.append(f"{missing} scores have no scale; read as {label} "
                                f"(scores range from {lo:g} to {hi:g})")
    elif kind == "leads":
        cur.execute(f"alter table {staged} add column raw_outcome_text varchar")
        cur.execute(f"update {staged} set raw_outcome_text = outcome, "
                    f"outcome = {_word_case('outcome', _OUTCOME_WORDS)}")


def _row_checks(kind: str, cols: tuple[Column, ...], src: dict[str, str],
                report: ImportReport) -> list[tuple[str, str, str, str]]:
    """(column header, raw value, failing condition, reason) for every rule."""
    checks = []
    for c in cols:
        if c.name not in src:
            continue
        header = report.mapping[c.name].replace("'", "''")
        raw = f"raw_{c.name}"
        required = c.required and not (kind == "feedback" and c.name == "score")
        if required:
            checks.append((header, raw, f"crm_text({raw}) is null", f"'{c.name} is empty'"))
        if c.type == "date":
            checks.append((header, raw, f"crm_text({raw}) is not null and {c.name} is null",
                           "'not a date' || case when crm_is_dm(" + raw + ") then "
                           "' in the chosen day/month order' else '' end"))
            checks.append((header, raw, f"year({c.name}) < 1900 or year({c.name}) > 2100",
                           "'date out of range (1900-2100)'"))
        elif c.type in ("money", "number"):
            checks.append((header, raw, f"crm_text({raw}) is not null and {c.name} is null",
                           "'not a number'" if c.type == "number" else "'not an amount'"))
    if kind == "feedback":
        score_h = report.mapping["score"].replace("'", "''")
        checks.append((score_h, "raw_score", "feedback_kind = 'survey' and score is null "
                       "and crm_text(raw_score) is null", "'score is empty (required for a survey)'"))
        checks.append((score_h, "raw_score",
                       "(scale = 'csat' and (score < 1 or score > 5)) "
                       "or (scale = 'nps' and (score < 0 or score > 10))",
                       "'score ' || cast(score as varchar) || ' is outside the ' || "
                       "case scale when 'csat' then 'CSAT scale 1-5' else 'NPS scale 0-10' end"))
        if "scale" in src:
            h = report.mapping["scale"].replace("'", "''")
            checks.append((h, "raw_scale_text", "raw_scale_text is not null and scale is null",
                           "'unknown scale (use CSAT or NPS)'"))
        if "feedback_kind" in src:
            h = report.mapping["feedback_kind"].replace("'", "''")
            known = _sql_list(_KIND_WORDS["survey"] + _KIND_WORDS["complaint"])
            checks.append((h, "raw_feedback_kind", "crm_text(raw_feedback_kind) is not null and "
                           f"lower(crm_text(raw_feedback_kind)) not in ({known})",
                           "'unknown feedback kind (use survey or complaint)'"))
    if kind == "leads" and "outcome" in src:
        h = report.mapping["outcome"].replace("'", "''")
        checks.append((h, "raw_outcome_text", "raw_outcome_text is not null and outcome is null",
                       "'unknown outcome (use won or lost, or leave empty)'"))
    return checks


def _hash_expr(cols: tuple[Column, ...]) -> str:
    parts = ", ".join(f"coalesce(cast({c.name} as varchar), chr(0))" for c in cols)
    return f"md5_number(concat_ws(chr(31), {parts}))"


def _add_keys(cur: duckdb.DuckDBPyConnection, staged: str, kind: str, cols: tuple[Column, ...],
              natural: list[str]) -> None:
    """row_hash (content), row_key (identity) and the in-file status of every valid row."""
    cur.execute(f"alter table {staged} add column row_hash uhugeint")
    cur.execute(f"alter table {staged} add column row_key uhugeint")
    cur.execute(f"alter table {staged} add column _status varchar")
    cur.execute(f"alter table {staged} add column _first_line bigint")
    cur.execute(f"alter table {staged} add column _db_import integer")
    cur.execute(f"alter table {staged} add column _db_line bigint")
    cur.execute(f"update {staged} set row_hash = {_hash_expr(cols)} where _ok")
    if natural:
        key = ", ".join(f"coalesce(cast({k} as varchar), chr(0))" for k in natural)
        cur.execute(f"update {staged} set row_key = "
                    f"md5_number(concat_ws(chr(31), '{kind}', {key})) where _ok")
        cur.execute(
            f"update {staged} s set _status = case when w.n = 1 then 'candidate' "
            "when s.row_hash = w.first_hash then 'duplicate' else 'conflict' end, "
            "_first_line = case when w.n = 1 then null else w.first_line end "
            f"from (select _line, row_number() over (partition by row_key order by _line) as n, "
            "first_value(row_hash) over (partition by row_key order by _line) as first_hash, "
            f"first_value(_line) over (partition by row_key order by _line) as first_line "
            f"from {staged} where _ok) w where s._line = w._line"
        )
    else:
        cur.execute(
            f"update {staged} s set row_key = md5_number(cast(s.row_hash as varchar) || '#' || w.n), "
            "_status = 'candidate', _first_line = case when w.n = 1 then null else w.first_line end "
            f"from (select _line, row_number() over (partition by row_hash order by _line) as n, "
            f"min(_line) over (partition by row_hash) as first_line from {staged} where _ok) w "
            "where s._line = w._line"
        )


def _compare_with_database(cur: duckdb.DuckDBPyConnection, staged: str, kind: str,
                           natural_key: bool) -> None:
    """Mark candidates already in the database ('present') or clashing with it."""
    cur.execute(
        f"update {staged} s set _status = case when s.row_hash = d.row_hash then 'present' "
        "else 'conflict_db' end, _db_import = d.import_id, _db_line = d.line "
        f"from {kind} d where s._status = 'candidate' and s.row_key = d.row_key"
    )
    cur.execute(f"update {staged} set _status = 'new' where _status = 'candidate'")


def _fill_counts(cur: duckdb.DuckDBPyConnection, staged: str, raw: RawTable, kind: str,
                 natural_key: bool, report: ImportReport) -> None:
    money = "amount" if kind == "transactions" else None
    row = cur.execute(
        "select count(*) filter (where _blank), count(*) filter (where _total), "
        "count(*) filter (where not _ok and not _blank and not _total), "
        "count(*) filter (where _ok), "
        "count(*) filter (where _status = 'duplicate'), "
        "count(*) filter (where _status in ('conflict', 'conflict_db')), "
        "count(*) filter (where _status = 'present'), "
        "count(*) filter (where _status = 'new'), "
        + (f"count(*) filter (where _ok and {money} < 0), count(*) filter (where _ok and {money} = 0), "
           if money else "0, 0, ")
        + "count(*) filter (where _ok and _first_line is not null) "
        f"from {staged}"
    ).fetchall()[0]
    (blank_rows, total_rows, rejected, valid, dup, conflicts, present, new,
     returns, zeros, repeated) = row
    malformed = len(raw.malformed)
    blank_lines = len(raw.blank_lines)
    report.rows_read = raw.rows_read
    report.rows_rejected = rejected + malformed
    report.rows_excluded = blank_rows + total_rows + blank_lines
    report.rows_valid = valid
    report.rows_duplicate = dup
    report.rows_conflicting = conflicts
    report.rows_already_present = present
    report.rows_to_import = new
    report.returns = returns
    report.zero_amounts = zeros
    if not natural_key:
        report.identical_rows = repeated
        if repeated:
            report.notes.append(
                f"{repeated} rows repeat an earlier row of this file exactly; without an id column "
                "each is kept as a separate record")
    elif dup:
        report.notes.append(f"{dup} rows repeat an earlier row with the same key exactly; each is "
                            "imported once")
    if returns:
        report.notes.append(f"{returns} rows have a negative amount and are kept as returns")
    if zeros:
        report.notes.append(f"{zeros} rows have an amount of zero")
    report.rejects_total = cur.execute(f"select count(*) from {staged}_rejects").fetchall()[0][0]
    report.rejects = [
        {"line": r[0], "column": r[1], "value": r[2], "reason": r[3]}
        for r in cur.execute(f"select * from {staged}_rejects order by line, column_name "
                             f"limit {LIST_LIMIT}").fetchall()
    ]
    excluded = [{"line": n, "reason": "blank line"} for n in raw.blank_lines[:LIST_LIMIT]]
    excluded += [
        {"line": r[0], "reason": "total row" if r[1] else "blank row"}
        for r in cur.execute(f"select _line, _total from {staged} where _blank or _total "
                             f"order by _line limit {LIST_LIMIT}").fetchall()
    ]
    report.excluded = sorted(excluded, key=lambda e: e["line"])[:LIST_LIMIT]
    key_cols = [k for k in NATURAL_KEYS[kind] if k in report.mapping]
    key_expr = " || ' / ' || ".join(f"coalesce(cast({k} as varchar), '')" for k in key_cols) or "''"
    report.conflicts = [
        {"line": r[0], "key": r[1],
         "other": (f"line {r[2]} of this file" if r[3] == "conflict"
                   else f"import #{r[4]}, line {r[5]}"),
         "kept": "the other row"}
        for r in cur.execute(
            f"select _line, {key_expr}, _first_line, _status, _db_import, _db_line from {staged} "
            f"where _status in ('conflict', 'conflict_db') order by _line limit {LIST_LIMIT}"
        ).fetchall()
    ]
    if report.conflicts:
        report.notes.append(f"{conflicts} rows share a key with another row but differ in values; "
                            "they are not imported (listed under conflicts)")


def commit_import(prepared: PreparedImport, *, imported_by: str, save_as: str | None = None,
           progress: Progress | None = None) -> ImportReport:
    """Write a prepared import in one transaction and return the final report.

    The comparison with the database is made again inside the transaction, so rows that
    arrived since the preview are not added twice.

    Raises
    ------
    ConfirmationRequired
        When the report asks for a decision (an ambiguous day/month order) that has not
        been given as ``date_order``.
    """
    progress = progress or _noop
    report = prepared.report
    if report.needs_confirmation:
        raise ConfirmationRequired(
            "the import needs a decision first: " + "; ".join(report.needs_confirmation)
            + " (give the day/month order: dmy or mdy)")
    cur, staged, kind = prepared.cursor, prepared.staged, report.kind
    names = [c.name for c in COLUMNS[kind]]
    extra = ", is_return" if kind == "transactions" else ""
    select_extra = ", amount < 0" if kind == "transactions" else ""
    # The staging tables are temporary tables of the staging cursor, so it writes.
    with write_transaction(prepared.con, cur):
        cur.execute(f"update {staged} set _status = 'candidate', _db_import = null, _db_line = null "
                    "where _status in ('new', 'present', 'conflict_db')")
        _compare_with_database(cur, staged, kind, prepared.natural_key)
        import_id = cur.execute("select nextval('import_id_seq')").fetchall()[0][0]
        progress("writing rows", 0.6)
        cur.execute(
            f"insert into {kind} (row_key, row_hash, import_id, line, {', '.join(names)}{extra}) "
            f"select row_key, row_hash, ?, _line, {', '.join(names)}{select_extra} "
            f"from {staged} where _status = 'new'", [import_id])
        imported = cur.execute(f"select count(*) from {staged} where _status = 'new'").fetchall()[0][0]
        present = cur.execute(
            f"select count(*) filter (where _status = 'present'), "
            f"count(*) filter (where _status in ('conflict', 'conflict_db')) from {staged}").fetchall()[0]
        report.rows_already_present, report.rows_conflicting = present
        report.rows_to_import = imported
        report.rows_imported = imported
        cur.execute(
            "insert into imports (import_id, kind, file_name, content_hash, file_format, encoding, "
            "sheet, header_row, mapping, imported_by, imported_at, rows_read, rows_valid, "
            "rows_rejected, rows_excluded, rows_duplicate, rows_already_present, "
            "rows_conflicting, rows_imported, status) values "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'committed')",
            [import_id, kind, report.file, report.content_hash, report.file_format,
             report.encoding, report.sheet, report.header_row,
             json.dumps(report.mapping, ensure_ascii=False), imported_by, datetime.now(),
             report.rows_read, report.rows_valid, report.rows_rejected, report.rows_excluded,
             report.rows_duplicate, report.rows_already_present, report.rows_conflicting,
             imported])
        cur.execute(f"insert into import_rejects select ?, line, column_name, value, reason "
                    f"from {staged}_rejects", [import_id])
        progress("rebuilding summaries", 0.8)
        marts.rebuild(cur)
        bump_data_version(cur)
    if save_as:
        save_mapping(prepared.con, save_as, prepared.mapping)
    report.import_id = import_id
    report.status = "committed" if imported else "nothing new"
    if not imported:
        report.notes.append("nothing new: every valid row is already in the database")
    report.data_version = prepared.con.cursor().execute(
        "select value from meta where key = 'data_version'").fetchall()[0][0]
    progress("checking data quality", 0.95)
    report.checks = {r.name: r.count for r in audits.run_checks(prepared.con)}
    progress("done", 1.0)
    return report


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
    """Remove exactly the rows import ``import_id`` added; return how many.

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
        removed = cur.execute(f"select count(*) from {kind} where import_id = ?",
                              [import_id]).fetchall()[0][0]
        cur.execute(f"delete from {kind} where import_id = ?", [import_id])
        cur.execute("update imports set status = 'undone', undone_at = ?, undone_by = ? "
                    "where import_id = ?", [datetime.now(), undone_by, import_id])
        marts.rebuild(cur)
        bump_data_version(cur)
    return int(removed)


def import_history(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The import ledger, newest first."""
    cur = con.cursor()
    rel = cur.execute("select * from imports order by import_id desc")
    names = [d[0] for d in rel.description]
    return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
