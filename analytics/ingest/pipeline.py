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
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from analytics.errors import ConfirmationRequired, ImportNotFound
from analytics.ingest.mapping import Mapping, load_mapping, propose_mapping, save_mapping
from analytics.ingest.readers import RawTable, read_file, resolve_lines
from analytics.ingest.schema import COLUMNS, NATURAL_KEYS, TOTAL_WORDS, Column
from analytics.store import audits, marts
from analytics.store.connection import bump_data_version, write_transaction

Progress = Callable[[str, float], None]
LIST_LIMIT = 1000  # rejects / conflicts listed in a report (all rejects are stored)
DATE_ORDERS = ("dmy", "mdy")
#: The value parsers the staging query calls (``crm_date``, ``crm_money``, ...).
MACROS_SQL = Path(__file__).resolve().parent / "sql" / "macros.sql"

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

    stage_db: str | None = None

    def close(self) -> None:
        """Drop the staging tables."""
        self.release(self.cursor, self.stage_db)

    @staticmethod
    def release(cursor: duckdb.DuckDBPyConnection, stage_db: str | None) -> None:
        """Free a staging cursor and its in-memory database (attached to the whole
        database instance, so it outlives the cursor unless detached)."""
        if stage_db:
            with contextlib.suppress(duckdb.Error):
                cursor.execute(f"detach {stage_db}")
        with contextlib.suppress(duckdb.Error):
            cursor.close()


def _noop(_stage: str, _fraction: float) -> None:
    return None


def _attach_stage(cur: duckdb.DuckDBPyConnection) -> str | None:
    """A compressed in-memory database for this import's staged rows, on the path of
    ``cur`` only; None where one cannot be attached (a read-only connection), and then
    the staged rows go to a temporary table.

    Compressed, 10M staged rows take about half the memory of a temporary table, which
    spills to disk past the memory limit (about 8 % of a 10M-row import's time).
    """
    name = f"stage_{secrets.token_hex(6)}"
    try:
        cur.execute(f"attach ':memory:' as {name} (compress)")
    except duckdb.Error:
        return None
    cur.execute(f"set search_path = 'main,{name}'")
    return name


def _define_macros(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(MACROS_SQL.read_text(encoding="utf-8"))


def _sql_list(words: tuple[str, ...]) -> str:
    # Fixed words from this module, not user input; quoted as SQL literals.
    return ", ".join("'" + w.replace("'", "''") + "'" for w in words)


# Characters trimmed from both ends of every cell: ASCII white space and the full-width
# space (U+3000) that Chinese input methods type.
_TRIM = "' \t\r\n\u3000'"


def _is_space(char_code: str) -> str:
    # Comparisons, not IN: DuckDB turns an IN list into a join, and a join may reorder
    # rows, which the staging query must not (its row order gives the file's lines).
    return f"({char_code} <= 32 or {char_code} = 12288)"


def _last_char(cell: str) -> str:
    """The name of the column holding the code of ``cell``'s last character (computed one
    level below :func:`_trimmed`: used twice there, it would be computed twice)."""
    return f"{cell}_end"


def _trimmed(cell: str) -> str:
    """Trimmed text, empty as NULL; the costly trim runs only on cells that start or end
    with white space (or a control character)."""
    return (f"case when {_is_space(f'ord({cell})')} or {_is_space(_last_char(cell))} "
            f"then nullif(trim({cell}, {_TRIM}), '') else nullif({cell}, '') end")


def _may_be_among(expr: str, words: tuple[str, ...]) -> str:
    """A cheap first test for :func:`_among`: ``expr`` starts with the first letter of one of
    ``words`` (lower-case words; either case of the letter)."""
    codes = sorted({ord(ch) for w in words for ch in (w[0], w[0].upper())})
    return "(" + " or ".join(f"ord({expr}) = {code}" for code in codes) + ")"


def _among(expr: str, words: tuple[str, ...]) -> str:
    """``expr`` (lower-cased) is one of ``words``, without an IN list (see _is_space)."""
    joined = "|".join(w.replace("'", "''") for w in words)
    return f"contains('|{joined}|', '|' || lower({expr}) || '|')"


def _empty_null(cell: str) -> str:
    return f"nullif({cell}, '')"


def _native_cast(col: Column, cell: str) -> str:
    """The fast native cast of a typed cell (NULL where it fails); computed one level below
    :func:`_typed_expr`, which uses it twice. The native casts allow spaces around a value."""
    if col.type == "date":
        # ord in '1'..'2': 1900-2100 ISO dates; keeps words like 'epoch' away from the cast
        return f"case when ord({cell}) between 49 and 50 then try_cast({cell} as date) end"
    if col.type in ("money", "number"):
        return f"try_cast({cell} as decimal(18, 4))"
    raise ValueError(f"unknown column type {col.type}")


def _typed_expr(col: Column, t: str, native: str) -> str:
    """The parsed value of the text ``t`` whose native cast is ``native``: the full parser
    only where the native cast failed (CASE is evaluated lazily; COALESCE here is not)."""
    if col.type in ("id", "text"):
        return t
    full = f"crm_date({t}, null)" if col.type == "date" else f"crm_money({t})"
    value = f"case when {native} is not null then {native} else {full} end"
    return f"cast({value} as double)" if col.type == "number" else value


def _word_case(expr: str, words: dict[str, tuple[str, ...]]) -> str:
    arms = " ".join(f"when {_among(expr, ws)} then '{key}'" for key, ws in words.items())
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
        See :func:`analytics.ingest.readers.read_file`.
    mapping
        ``{canonical: file header}`` overriding the proposed mapping.
    mapping_name
        A saved mapping to start from (``mapping`` still overrides it).
    date_order
        ``"dmy"`` or ``"mdy"`` for dates written ``01/02/2024``; needed when the file's
        values leave the order open.
    progress
        Called as ``progress(stage, fraction)``.
    force_python
        Read CSV with Python's csv module (tests compare both readers).

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
    stage_db = None
    try:
        stage_db = _attach_stage(cur)
        _define_macros(cur)
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
            staged, numbered = _parse(cur, raw, mapped, stage_db)
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
        prepared = _validate(con, cur, raw, mapped, staged, date_order)
        prepared.stage_db = stage_db
        progress("compared with database", 0.5)
        return prepared
    except BaseException:
        PreparedImport.release(cur, stage_db)
        raise


def _parse(cur: duckdb.DuckDBPyConnection, raw: RawTable, mapping: Mapping, stage_db: str | None,
           numbered: bool = False) -> tuple[str, bool]:
    """One pass over the raw rows: trimmed text, typed values, blank and total flags, keys.

    The staged table keeps the text of the typed cells that failed to parse (one list
    column, ``_raw``; see :func:`_raw_text`) and of unknown coded words (``raw_<column>``),
    so rejects can show them.
    """
    kind = mapping.kind
    cols = COLUMNS[kind]
    mapped = [c for c in cols if c.name in mapping.columns]
    cell = {c.name: f"c{mapping.columns[c.name]}" for c in mapped}
    cells = [f"c{i}" for i in range(len(raw.headers))]
    id_col = "lead_id" if kind == "leads" else "customer_id"
    words = _sql_list(TOTAL_WORDS)
    total_forms = tuple(w + suffix for w in TOTAL_WORDS for suffix in ("", ":", "："))
    # List forms: an OR chain of IN lists here is evaluated on every row, not lazily.
    cell_list = f"[{', '.join(cells)}]"
    any_total = (f"list_has_any([lower(rtrim(trim(x, {_TRIM}), ':：')) for x in {cell_list}], "
                 f"[{words}])")
    all_blank = f"list_bool_and([coalesce(trim(x, {_TRIM}), '') = '' for x in {cell_list}])"
    line = ["_line", "_rid"] if raw.has_lines else (["_rid"] if numbered else [])
    line_exprs = ["_line", "_line as _rid"] if raw.has_lines else line
    id_text = f"t_{id_col}"
    # Typed columns need no trim first: the native casts allow spaces around a value and the
    # slow parsers trim for themselves. Only id and text columns are trimmed.
    level1 = line_exprs + [
        f"{_trimmed(cell[c.name]) if c.type in ('id', 'text') else _empty_null(cell[c.name])} as t_{c.name}"
        for c in mapped] + [f"{_native_cast(c, cell[c.name])} as n_{c.name}" for c in mapped
                            if c.type not in ("id", "text")] + cells
    text_cells = dict.fromkeys(cell[c.name] for c in mapped if c.type in ("id", "text"))
    level0 = ["*", *(f"ord({x}[-1]) as {_last_char(x)}" for x in text_cells)]
    # Blank and total rows have an empty id (or the id cell holds the total word): only
    # those rows are looked at cell by cell.
    flags = [
        f"case when {id_text} is not null then false else ({all_blank}) end as _blank",
        f"case when {id_text} is null or ({_may_be_among(id_text, total_forms)} "
        f"and {_among(id_text, total_forms)}) "
        f"then coalesce({any_total}, false) else false end as _total",
    ]
    level2 = [*line, *flags]
    failed: list[tuple[str, str]] = []  # (column, its text): cells that may fail to parse
    for c in cols:
        t = f"t_{c.name}"
        words = _CODED.get((kind, c.name))
        if words is not None:
            # a coded column: its canonical word, and the text when the word is unknown
            known = _word_case(t, words) if c.name in cell else "cast(null as varchar)"
            value = known
            if c.name == "feedback_kind":  # a feedback row without a kind: by its score
                given = f"when {t} is not null then {known} " if c.name in cell else ""
                value = (f"case {given}when t_score is null then 'complaint' else 'survey' end")
            level2.append(f"{value} as {c.name}")
            level2.append(f"case when {known} is null then {t} end as raw_{c.name}"
                          if c.name in cell else f"cast(null as varchar) as raw_{c.name}")
        elif c.name not in cell:
            continue  # an unmapped column is NULL: not stored, to keep staging narrow
        else:
            level2.append(f"{_typed_expr(c, t, f'n_{c.name}')} as {c.name}")
            if c.type not in ("id", "text"):
                level2.append(t)
                failed.append((c.name, t))
    exclude = f" exclude ({', '.join(t for _, t in failed)})" if failed else ""
    # Rows are identified by their natural key when the file has one; else by content.
    # (Content is compared only where keys meet: with the database, or within the file.)
    natural = bool(_natural_key_columns(kind, mapping))
    source = f"{raw.table}_numbered" if numbered else raw.table
    # A natural key is compared as it is (no key column is staged); content is hashed.
    level3 = ([f"{_failed_texts(failed)} as _raw"] if failed else []) + (
        [] if natural else [f"{_hash_expr(cols, present=_staged_columns(mapping))} as _content"])
    query = (
        f"select *, {_invalid_expr(kind, mapping)} as _invalid from ("
        f"select *{exclude}{''.join(', ' + e for e in level3)} from ("
        f"select {', '.join(level2)} from (select {', '.join(level1)} from ("
        f"select {', '.join(level0)} from {source}))))"
    )
    if not raw.has_lines and not numbered and _plan_has_join(cur, query):
        # the plan could reorder rows: number them explicitly (slower, always right)
        return _parse(cur, raw, mapping, stage_db, numbered=True)
    staged = f"{raw.table}_staged"
    target = f"{stage_db}.main.{staged}" if stage_db else f"temp.main.{staged}"
    cur.execute(f"create table {target} as {query}")
    return staged, numbered


def _failed_texts(failed: list[tuple[str, str]]) -> str:
    """One list column with the text of the typed cells that did not parse (NULL, and so
    16 bytes, for the rows where all parsed: one column keeps staging narrow)."""
    any_failed = " or ".join(f"({name} is null and {t} is not null)" for name, t in failed)
    items = ", ".join(f"case when {name} is null and trim({t}, {_TRIM}) <> '' then {t} end"
                      for name, t in failed)
    return f"case when {any_failed} then [{items}] end"


def _raw_text(mapping: Mapping, name: str) -> str:
    """The expression for the unparsed text of typed column ``name`` (see _failed_texts)."""
    typed = [c.name for c in COLUMNS[mapping.kind]
             if c.name in mapping.columns and c.type not in ("id", "text")]
    return f"_raw[{typed.index(name) + 1}]"


def _plan_has_join(cur: duckdb.DuckDBPyConnection, query: str) -> bool:
    plan = "\n".join(str(row[-1]) for row in cur.execute(f"explain {query}").fetchall())
    return "JOIN" in plan.upper()


def _hash_expr(cols: tuple[Column, ...], alias: str = "", present: frozenset[str] | None = None) -> str:
    """128 bits of md5 over a row's canonical values (the same text whatever file they
    came from: 2024/1/5 and 2024年1月5日 hash alike). Columns outside ``present`` are NULL."""
    prefix = f"{alias}." if alias else ""
    parts = ", ".join(f"coalesce(cast({prefix}{c.name} as varchar), chr(0))"
                      if present is None or c.name in present else "chr(0)" for c in cols)
    return f"md5_number(concat_ws(chr(31), {parts}))"


# Columns holding coded words, brought to canonical ones. They are staged even when the file
# lacks them (a feedback row's kind follows from its score, its scale may be inferred from
# the file's scores), each with raw_<column>, the text of an unknown word.
_CODED: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("feedback", "scale"): _SCALE_WORDS,
    ("feedback", "feedback_kind"): _KIND_WORDS,
    ("leads", "outcome"): _OUTCOME_WORDS,
}


def _staged_columns(mapping: Mapping) -> frozenset[str]:
    """The canonical columns the staged table holds."""
    return frozenset(mapping.columns) | {name for kind, name in _CODED if kind == mapping.kind}


def _natural_key_columns(kind: str, mapping: Mapping) -> list[str]:
    """The natural key columns this file has; empty when rows are keyed by content."""
    keys = NATURAL_KEYS[kind]
    if keys[0] not in mapping.columns:
        return []
    return [k for k in keys if k in mapping.columns]


def _keyless(kind: str, mapping: Mapping, alias: str = "") -> str:
    """True for a row of a file with a natural key whose key cell is empty: such a row
    is identified by its content instead."""
    prefix = f"{alias}." if alias else ""
    return f"{prefix}{_natural_key_columns(kind, mapping)[0]} is null"


def _same_key(kind: str, mapping: Mapping, a: str, b: str, *, stored: bool = True) -> str:
    """Join condition: row ``a`` (staged) has the natural key of row ``b`` (stored, else
    staged too). Empty key cells after the first compare equal, and a key column the file
    lacks is empty."""
    conds = []
    for i, k in enumerate(NATURAL_KEYS[kind]):
        if k not in mapping.columns:
            if stored:
                conds.append(f"{b}.{k} is null")
        else:
            conds.append(f"{b}.{k} = {a}.{k}" if i == 0 else f"{b}.{k} is not distinct from {a}.{k}")
    return " and ".join(conds)


def _same_content(kind: str, present: frozenset[str], a: str, b: str) -> str:
    """Row ``a`` (staged, holding the columns ``present``) has the values of row ``b``
    (stored); a column ``a`` lacks is empty."""
    return " and ".join(f"{b}.{c.name} is not distinct from {a}.{c.name}" if c.name in present
                        else f"{b}.{c.name} is null" for c in COLUMNS[kind])


def _content_if_keyless(kind: str, mapping: Mapping, alias: str = "") -> str:
    """The content hash of a row whose natural key cell is empty (computed where needed,
    not staged: in a file with ids such rows are few)."""
    return (f"case when {_keyless(kind, mapping, alias)} then "
            f"{_hash_expr(COLUMNS[kind], alias, _staged_columns(mapping))} end")


def _validate(con: duckdb.DuckDBPyConnection, cur: duckdb.DuckDBPyConnection, raw: RawTable,
              mapping: Mapping, staged: str, date_order: str | None) -> PreparedImport:
    kind = mapping.kind
    cols = COLUMNS[kind]
    raw.settle()
    report = ImportReport(
        file=raw.path.name, kind=kind, file_format=raw.file_format, encoding=raw.encoding,
        content_hash=raw.content_hash, header_row=raw.header_row, sheet=raw.sheet,
        sheets=raw.sheets, delimiter=raw.delimiter, mapping=mapping.as_names(),
        unmapped_columns=mapping.unmapped,
    )
    _settle_day_month(cur, staged, mapping, date_order, report)
    if kind == "feedback":
        _infer_scale(cur, staged, mapping, report)
    checks = _row_checks(kind, cols, mapping)
    ok = "(not _blank and not _total and not _invalid)"
    view = f"{staged}_v"
    cur.execute(f"create temp table {staged}_bad as select * from {view} "
                "where not _blank and not _total and _invalid")
    cur.execute(f"create temp table {staged}_rejects "
                "(line bigint, column_name varchar, value varchar, reason varchar)")
    for header, value, cond, reason in checks:
        cur.execute(f"insert into {staged}_rejects select _line, ?, cast({value} as varchar), {reason} "
                    f"from {staged}_bad where coalesce({cond}, false)", [header])
    for m in raw.malformed:
        cur.execute(f"insert into {staged}_rejects values (?, null, ?, ?)", [m.line, m.text[:500], m.reason])
    natural = bool(_natural_key_columns(kind, mapping))
    orders = _order_starts(cur, staged, ok, kind, mapping)
    # A natural key starts with the transaction id: when no id repeats, no key can.
    _find_repeats(cur, staged, ok, mapping,
                  only_if=f"{staged}_orders" if natural and kind == "transactions" else None)
    # Join the small side tables only when they hold rows: each join costs a probe per row.
    repeats = cur.execute(f"select count(*) from {staged}_dups").fetchall()[0][0] > 0
    # Identity: the natural key (compared as it is: no row_key), else the content (+ its
    # occurrence among identical rows).
    content = _content_if_keyless(kind, mapping, "s") if natural else "s._content"
    by_content = (f"case when d.n > 1 then md5_number(cast({content} as varchar) || '#' || d.n) "
                  f"else {content} end") if repeats else content
    key = f"case when {_keyless(kind, mapping, 's')} then {by_content} end" if natural else by_content
    cur.execute(
        f"create temp view {staged}_candidates as select s.*, {orders} as _order_start, {key} as _key "
        f"from {view} s "
        + (f"left join {staged}_dups d using (_rid) " if repeats else "")
        + (f"left join {staged}_orders o using (transaction_id) " if orders != "true" else "")
        + f"where {ok}"
        # a repeated natural key is imported once (its first row); repeated content is not
        + (" and (d.n is null or d.n = 1 or d.mode = 'content')" if natural and repeats else "")
    )
    _compare_with_database(cur, staged, mapping)
    _fill_counts(cur, staged, raw, mapping, ok, report)
    imported_before = cur.execute(
        "select import_id from imports where content_hash = ? and status = 'committed' "
        "and kind = ? order by import_id", [raw.content_hash, kind]).fetchall()
    report.already_imported_as = [r[0] for r in imported_before]
    if report.already_imported_as:
        ids = ", ".join(f"#{i}" for i in report.already_imported_as)
        report.notes.append(f"this exact file was imported before as {ids}")
    return PreparedImport(con=con, cursor=cur, raw=raw, mapping=mapping, staged=staged,
                          report=report, date_order=date_order, natural_key=natural)


def _settle_day_month(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping,
                      date_order: str | None, report: ImportReport) -> None:
    """Settle the day/month order of dd/mm/yyyy-style values, never silently.

    Values like 25/12/2024 or 12/25/2024 decide a column's order; a column whose values
    all fit both orders needs ``date_order`` from the user (proposed: month first). Only
    the rows holding such values are touched.
    """
    dates = [c for c in COLUMNS[mapping.kind] if c.type == "date" and c.name in mapping.columns]
    if not dates:
        return
    exprs = []
    for c in dates:
        r = _raw_text(mapping, c.name)
        dm = f"{c.name} is null and {r} is not null and crm_is_dm({r})"
        exprs.append(
            f"count(*) filter (where {dm}), "
            f"count(*) filter (where {dm} and crm_dm_first({r}) > 12), "
            f"count(*) filter (where {dm} and crm_dm_second({r}) > 12), "
            f"arg_min({r}, _rid) filter (where {dm}), "
            f"arg_min({r}, _rid) filter (where {dm} and crm_dm_first({r}) > 12), "
            f"arg_min({r}, _rid) filter (where {dm} and crm_dm_second({r}) > 12)"
        )
    row = cur.execute(f"select {', '.join(exprs)} from {staged}_v "
                      "where _raw is not null").fetchall()[0]
    readings: dict[str, str] = {}
    for i, c in enumerate(dates):
        n, first_big, second_big, example, first_example, second_example = row[6 * i: 6 * i + 6]
        if not n:
            continue
        header = mapping.header_of(c.name)
        if date_order:
            reading, why = date_order, "chosen"
        elif first_big and not second_big:
            reading, why = "dmy", f"values such as {first_example} only fit day/month/year"
        elif second_big and not first_big:
            reading, why = "mdy", f"values such as {second_example} only fit month/day/year"
        elif first_big and second_big:
            reading, why = "mdy", (f"values such as {first_example} fit only day/month/year and "
                                   f"values such as {second_example} only month/day/year")
            report.needs_confirmation.append(
                f"column {header}: its dates mix day/month and month/day orders; choose one "
                "order (values that do not fit it are rejected)")
        else:
            reading, why = "mdy", f"every value (e.g. {example}) fits both orders"
            report.needs_confirmation.append(
                f"column {header}: dates like {example} could be day/month/year or "
                "month/day/year; proposed month/day/year, confirm or choose")
        readings[c.name] = reading
        report.date_readings[header] = {"reading": reading, "why": why, "values": n}
    if len(set(readings.values())) > 1 and not date_order:
        report.needs_confirmation.append("date columns read in different orders; choose one order")
    if readings:
        # the rows holding day/month values: parse them, then hash their content again
        # (a natural key holds no date)
        natural = bool(_natural_key_columns(mapping.kind, mapping))
        rekey = f"_content = {_hash_expr(COLUMNS[mapping.kind], present=_staged_columns(mapping))}"
        for name, reading in readings.items():
            r = _raw_text(mapping, name)
            cur.execute(f"update {staged} set {name} = crm_date_dm(crm_date_norm(crm_text({r})), ?) "
                        f"where {name} is null and {r} is not null and crm_is_dm({r})", [reading])
        if not natural:
            # the keys of the rows whose dates were just read (the text stays; checks see the date)
            cur.execute(f"update {staged} set {rekey} where _raw is not null")
        # the day/month rows were invalid (unparsed dates) until now
        cur.execute(f"update {staged} set _invalid = {_invalid_expr(mapping.kind, mapping)} where _invalid")


def _infer_scale(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping,
                 report: ImportReport) -> None:
    """Scores without a scale: CSAT when every such score is 1-5, else NPS (and say so)."""
    lo, hi, missing = cur.execute(
        f"select min(score), max(score), count(*) from {staged} "
        "where scale is null and raw_scale is null and score is not null "
        "and not _blank and not _total").fetchall()[0]
    if not missing:
        return
    inferred = "csat" if lo >= 1 and hi <= 5 else "nps"
    cur.execute(f"update {staged} set scale = ? where scale is null and raw_scale is null "
                "and score is not null", [inferred])
    # the score-range rule applies now that these rows have a scale
    cur.execute(f"update {staged} set _invalid = {_invalid_expr('feedback', mapping)} "
                "where score is not null")
    label = "CSAT 1–5" if inferred == "csat" else "NPS 0–10"
    report.notes.append(f"{missing} scores have no scale; read as {label} "
                        f"(scores range from {lo:g} to {hi:g})")


def _invalid_expr(kind: str, mapping: Mapping) -> str:
    """True for a row that fails any rule of :func:`_row_checks`."""
    checks = _row_checks(kind, COLUMNS[kind], mapping)
    return " or ".join(f"coalesce({cond}, false)" for _, _, cond, _ in checks) or "false"


def _row_checks(kind: str, cols: tuple[Column, ...],
                mapping: Mapping) -> list[tuple[str, str, str, str]]:
    """(column header, value shown, failing condition, reason) for every rule."""
    checks = []
    for c in cols:
        if c.name not in mapping.columns:
            continue
        header = mapping.header_of(c.name)
        typed = c.type not in ("id", "text")
        raw = _raw_text(mapping, c.name) if typed else c.name
        if c.required and not (kind == "feedback" and c.name == "score"):
            empty = f"{c.name} is null" + (f" and {raw} is null" if typed else "")
            checks.append((header, raw, empty, f"'{c.name} is empty'"))
        if c.type == "date":
            checks.append((header, raw, f"{c.name} is null and {raw} is not null",
                           f"'not a date' || case when crm_is_dm({raw}) then "
                           "' in the chosen day/month order' else '' end"))
            checks.append((header, c.name, f"year({c.name}) not between 1900 and 2100",
                           "'date out of range (1900-2100)'"))
        elif typed:
            checks.append((header, raw, f"{c.name} is null and {raw} is not null",
                           "'not a number'" if c.type == "number" else "'not an amount'"))
    if kind == "feedback":
        score = mapping.header_of("score")
        raw_score = _raw_text(mapping, "score")
        checks.append((score, raw_score, f"feedback_kind = 'survey' and score is null and {raw_score} is null",
                       "'score is empty (required for a survey)'"))
        checks.append((score, "score",
                       "(scale = 'csat' and (score < 1 or score > 5)) "
                       "or (scale = 'nps' and (score < 0 or score > 10))",
                       "'score ' || cast(score as varchar) || ' is outside the ' || "
                       "case scale when 'csat' then 'CSAT scale 1-5' else 'NPS scale 0-10' end"))
        if "scale" in mapping.columns:
            checks.append((mapping.header_of("scale"), "raw_scale", "raw_scale is not null",
                           "'unknown scale (use CSAT or NPS)'"))
        if "feedback_kind" in mapping.columns:
            checks.append((mapping.header_of("feedback_kind"), "raw_feedback_kind",
                           "raw_feedback_kind is not null",
                           "'unknown feedback kind (use survey or complaint)'"))
    if kind == "leads" and "outcome" in mapping.columns:
        checks.append((mapping.header_of("outcome"), "raw_outcome", "raw_outcome is not null",
                       "'unknown outcome (use won or lost, or leave empty)'"))
    return checks


def _find_repeats(cur: duckdb.DuckDBPyConnection, staged: str, ok: str, mapping: Mapping,
                  only_if: str | None = None) -> None:
    """Rows repeating an earlier row's key or content; only those rows are numbered.

    ``mode`` 'natural': rows sharing a natural key, hashed to tell an exact repeat (imported
    once) from a conflict. ``mode`` 'content': rows without a key (a file without a key
    column, or an empty key cell) sharing their content: separate records, numbered.
    ``only_if``: a table of the repeated transaction ids, as only their rows can repeat a
    natural key. A file without repeats costs one grouping pass per mode.
    """
    kind, present = mapping.kind, _staged_columns(mapping)
    keys = _natural_key_columns(kind, mapping)
    natural = bool(keys)
    parts = []
    if natural:
        source = f"{staged}_v"
        if only_if is not None:
            source = f"(select s.* from {staged}_v s semi join {only_if} o using (transaction_id))"
        key = ", ".join(keys)
        parts.append(
            f"with lines as (select * from {source} where {ok} and not {_keyless(kind, mapping)}), "
            f"repeated as (select {key} from lines group by {key} having count(*) > 1), "
            f"hashed as (select l.*, {_hash_expr(COLUMNS[kind], 'l', present)} as _h "
            f"from lines l semi join repeated r on {_same_key(kind, mapping, 'l', 'r', stored=False)}) "
            f"select 'natural' as mode, _rid, _line, _h as h, row_number() over w as n, "
            f"first_value(_h) over w as first_h, first_value(_line) over w as first_line from hashed "
            f"window w as (partition by {key} order by _rid)")
    keyless = f"{ok} and {_keyless(kind, mapping)}" if natural else ok
    content = f", {_hash_expr(COLUMNS[kind], present=present)} as _content" if natural else ""
    parts.append(
        f"with lines as (select *{content} from {staged}_v where {keyless}), "
        f"repeated as (select _content from lines group by _content having count(*) > 1) "
        f"select 'content' as mode, _rid, _line, _content as h, row_number() over w as n, "
        f"_content as first_h, first_value(_line) over w as first_line "
        f"from lines semi join repeated using (_content) "
        f"window w as (partition by _content order by _rid)")
    cur.execute(f"create temp table {staged}_dups as "
                + " union all ".join(f"({p})" for p in parts))


def _order_starts(cur: duckdb.DuckDBPyConnection, staged: str, ok: str, kind: str,
                  mapping: Mapping) -> str:
    """The expression telling whether a candidate row starts its order.

    A transaction id on several rows (order lines) starts its order on its first line in
    the file; rows without an id are orders of their own. Ids in strictly rising (or
    falling) order cannot repeat: that takes one streaming pass (:func:`_ids_monotonic`).
    Otherwise the ids are grouped (a hash table of every id: ~1.5 CPU-s at 10M rows, more
    under the memory limit), and only the repeated ones are numbered.
    """
    if kind != "transactions" or "transaction_id" not in mapping.columns:
        return "true"
    if _ids_monotonic(cur, staged, ok):
        cur.execute(f"create temp table {staged}_orders (transaction_id varchar, first_rid bigint)")
        return "true"
    cur.execute(
        f"create temp table {staged}_orders as "
        f"with repeated as (select transaction_id from {staged} where {ok} and transaction_id is not null "
        f"group by transaction_id having count(*) > 1) "
        f"select transaction_id, min(_rid) as first_rid from {staged}_v semi join repeated "
        f"using (transaction_id) where {ok} group by transaction_id")
    if not cur.execute(f"select count(*) from {staged}_orders").fetchall()[0][0]:
        return "true"
    return "coalesce(o.first_rid = s._rid, true)"


def _ids_monotonic(cur: duckdb.DuckDBPyConnection, staged: str, ok: str) -> bool:
    """True when the candidates' transaction ids, read in one stream, rise (or fall) strictly
    from each to the next: then no id repeats, which is proved without grouping them.

    Exports are often sorted by id. ``lag(...) over ()`` is a streaming window (one pass,
    no hash table); whatever order the stream has, a strict rise along one unbroken chain
    means every id differs. Only the first row may lack a predecessor (checked)."""
    starts, not_rising, not_falling = cur.execute(
        "select count(*) filter (where prev is null), count(*) filter (where not transaction_id > prev), "
        "count(*) filter (where not transaction_id < prev) "
        f"from (select transaction_id, lag(transaction_id) over () as prev from {staged} "
        f"where {ok} and transaction_id is not null)").fetchall()[0]
    return starts <= 1 and (not_rising == 0 or not_falling == 0)


def _compare_with_database(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping) -> None:
    """Candidates whose key is in the database already: same content ('present') or not.

    A row with a natural key meets the stored rows with that key (compared column by
    column); a row without one meets the stored rows with its content key (``row_key``),
    which matches only equal content.
    """
    kind = mapping.kind
    cur.execute(f"drop table if exists {staged}_db")
    by_content = (f"select c._rid, 'present' as status from {staged}_candidates c "
                  f"join {kind} d on d.row_key = c._key")
    if not _natural_key_columns(kind, mapping):
        cur.execute(f"create temp table {staged}_db as {by_content}")
        return
    same = _same_content(kind, _staged_columns(mapping), "c", "d")
    cur.execute(
        f"create temp table {staged}_db as "
        f"select c._rid, case when {same} then 'present' else 'conflict_db' end as status "
        f"from {staged}_candidates c join {kind} d on {_same_key(kind, mapping, 'c', 'd')} "
        f"union all {by_content} where {_keyless(kind, mapping, 'c')}")


def _fill_counts(cur: duckdb.DuckDBPyConnection, staged: str, raw: RawTable, mapping: Mapping,
                 ok: str, report: ImportReport) -> None:
    kind = mapping.kind
    natural = bool(_natural_key_columns(kind, mapping))
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
    present, conflict_db = cur.execute(
        f"select count(*) filter (where status = 'present'), "
        f"count(*) filter (where status = 'conflict_db') from {staged}_db").fetchall()[0]
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
    report.rows_to_import = (valid - report.rows_duplicate - report.rows_conflicting - present)
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
        {"line": r[0], "reason": "blank row" if r[1] else "total row"}
        for r in cur.execute(f"select _line, _blank from {staged}_v where _blank or _total "
                             f"order by _line limit {LIST_LIMIT}").fetchall()
    ]
    report.excluded = sorted(excluded, key=lambda e: e["line"])[:LIST_LIMIT]
    key_cols = [k for k in NATURAL_KEYS[kind] if k in report.mapping]
    key_expr = " || ' / ' || ".join(f"coalesce(cast(s.{k} as varchar), '')" for k in key_cols) or "''"
    conflicts = []
    if natural:
        conflicts += cur.execute(
            f"select d._line, {key_expr}, 'line ' || d.first_line || ' of this file' "
            f"from {staged}_dups d join {staged}_v s using (_rid) "
            f"where d.mode = 'natural' and d.n > 1 and d.h <> d.first_h "
            f"order by d._line limit {LIST_LIMIT}").fetchall()
        conflicts += cur.execute(
            f"with listed as (select s._line, s._rid, {key_expr} as shown from {staged}_db b "
            f"join {staged}_v s using (_rid) where b.status = 'conflict_db' "
            f"order by s._line limit {LIST_LIMIT}) "
            f"select l._line, l.shown, 'import #' || d.import_id || ', line ' || d.line "
            f"from listed l join {staged}_candidates c using (_rid) join {kind} d "
            f"on {_same_key(kind, mapping, 'c', 'd')} order by l._line").fetchall()
    report.conflicts = [{"line": r[0], "key": r[1], "other": r[2], "kept": "the other row"}
                        for r in sorted(conflicts)[:LIST_LIMIT]]
    if report.conflicts:
        report.notes.append(f"{report.rows_conflicting} rows share a key with another row but differ "
                            "in values; they are not imported (listed under conflicts)")
        if kind == "transactions" and "product" not in report.mapping:
            report.notes.append("if rows with one transaction id are lines of one order, map the "
                                "product column too: a line is identified by transaction id and product")


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
    staged_cols = _staged_columns(prepared.mapping)
    extra = ", is_return, is_order_start" if kind == "transactions" else ""
    select_extra = ", c.amount < 0, c._order_start" if kind == "transactions" else ""
    # The staging tables are temporary tables of the staging cursor, so it writes.
    with write_transaction(prepared.con, cur):
        _compare_with_database(cur, staged, prepared.mapping)
        present, conflict_db = cur.execute(
            f"select count(*) filter (where status = 'present'), "
            f"count(*) filter (where status = 'conflict_db') from {staged}_db").fetchall()[0]
        import_id = cur.execute("select nextval('import_id_seq')").fetchall()[0][0]
        progress("writing rows", 0.6)
        cur.execute(
            f"insert into {kind} (row_key, import_id, line, {', '.join(names)}{extra}) "
            f"select c._key, ?, c._line, "
            f"{', '.join(f'c.{n}' if n in staged_cols else 'null' for n in names)}"
            f"{select_extra} "
            f"from {staged}_candidates c"
            + (f" anti join {staged}_db b using (_rid)" if present + conflict_db else ""), [import_id])
        imported = cur.execute(f"select count(*) from {kind} where import_id = ?",
                               [import_id]).fetchall()[0][0]
        report.rows_conflicting = _in_file_conflicts(cur, staged) + conflict_db
        report.rows_already_present = present
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
        if save_as:
            save_mapping(cur, save_as, prepared.mapping)
        if imported:
            # nothing new leaves the data (and so the derived tables) as they were
            progress("rebuilding summaries", 0.8)
            marts.rebuild(cur)
            bump_data_version(cur)
    report.import_id = import_id
    report.status = "committed" if imported else "nothing new"
    if not imported:
        report.notes.append("nothing new: every valid row is already in the database")
    report.data_version = prepared.con.cursor().execute(
        "select value from meta where key = 'data_version'").fetchall()[0][0]
    progress("checking data quality", 0.95)
    try:
        report.checks = {r.name: r.count for r in audits.run_checks(prepared.con)}
    except duckdb.Error as exc:
        # the import is committed: its report must reach the caller, with the failure in it
        report.notes.append(f"the data-quality checks could not run ({exc}); run them again with "
                            "`python -m analytics check`")
    progress("done", 1.0)
    return report


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
