"""Staging: the raw rows of a file, parsed in one SQL pass into the staged table.

:func:`parse` reads the raw table once and writes the staged table: trimmed text of the id
and text columns, typed values (the fast native cast first, the value parsers of
:data:`MACROS_SQL` only where it fails), coded words brought to canonical ones, the stored
columns a transactions file derives (amount from unit price × quantity, cost from amount less
profit: :func:`~analytics.ingest.layout.derived_columns`), blank and total rows flagged, the
content hash of each row of a file without a natural key and the ``_invalid`` flag of the row
rules (:mod:`analytics.ingest.validate`). The staged rows keep the file's order: their
position gives each row's line, so the staging query must hold no join (:func:`_plan_has_join`
checks; where one appears the rows are numbered explicitly).

The SQL expressions here are built from fixed words and the file's column positions, never
from the file's text (a repeated header line is found by the md5 of the header's cells).

Besides the value parsers of :data:`MACROS_SQL`, staging defines its own (:data:`_MACROS`):
total-row words read after removing spaces, separators and a unit (``合　计``, ``本页合计``,
``总计（元）``, ``Grand total``), day/month dates with a two-digit year, and the exact decimal of
an amount (an amount finer than the store's 4 decimals is rejected, not rounded; a number written
with underscores, which DuckDB's cast accepts, is refused). After the pass,
:func:`analytics.ingest.lookalike.normalize_text` folds look-alike text keys.
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

import duckdb

from analytics.ingest import leads, parser_file, surveys
from analytics.ingest.identity import natural_key_columns
from analytics.ingest.layout import AMOUNT_PLACES, CODED, PIVOT, TRIM, derived_columns, failed_texts, trimmed_later
from analytics.ingest.mapping import Mapping
from analytics.ingest.readers import RawTable
from analytics.ingest.schema import COLUMNS, TOTAL_PREFIXES, TOTAL_WORDS, Column
from analytics.ingest.stage import stage_path
from analytics.ingest.validate import content_hash, invalid_expr

#: The value parsers the staging query calls (``crm_date``, ``crm_money``, ...).
MACROS_SQL = Path(__file__).resolve().parent / "sql" / "macros.sql"


def _folded(words: tuple[str, ...]) -> str:
    """A regular-expression alternation of ``words`` as :func:`crm_total_fold` leaves them."""
    return "|".join(re.escape(re.sub(r"[\s_\-.·:：]+", "", w.lower())) for w in dict.fromkeys(words))


# Staging's own value macros (fixed text: words of the schema, no file text).
_MACROS = f"""
-- a cell folded for the total-row test: no spaces (any), separators, colons or unit in brackets
create or replace temp macro crm_total_fold(s) as lower(regexp_replace(s,
    '[(（\\[【][^)）\\]】]*[)）\\]】]|[\\s\\x{{00A0}}\\x{{2000}}-\\x{{200B}}\\x{{3000}}\\x{{FEFF}}:：_.·-]+', '', 'g'));
create or replace temp macro crm_is_total(s) as
    regexp_full_match(crm_total_fold(s), '({_folded(TOTAL_PREFIXES)})?({_folded(TOTAL_WORDS)})');
-- day/month dates with a four- or two-digit year (crm_date_norm'ed: 01-02-24)
create or replace temp macro crm_dmy_part(n, i) as
    regexp_extract(n, '^(\\d{{1,2}})-(\\d{{1,2}})-(\\d{{4}}|\\d{{2}})(?:[ T]\\S.*)?$', i);
create or replace temp macro crm_is_yy(s) as length(crm_dmy_part(crm_date_norm(crm_text(s)), 3)) = 2;
create or replace temp macro crm_is_dmy(s) as crm_dmy_part(crm_date_norm(crm_text(s)), 3) <> '';
create or replace temp macro crm_dmy_first(s) as try_cast(crm_dmy_part(crm_date_norm(crm_text(s)), 1) as integer);
create or replace temp macro crm_dmy_second(s) as try_cast(crm_dmy_part(crm_date_norm(crm_text(s)), 2) as integer);
-- a two-digit year by the POSIX pivot: 00-68 are 2000-2068, 69-99 are 1969-1999
create or replace temp macro crm_full_year(y) as
    case when length(y) = 2 then cast(try_cast(y as integer) + case when try_cast(y as integer) < {PIVOT} then 2000
                                                                 else 1900 end as varchar) else y end;
create or replace temp macro crm_dmy_text(n) as
    crm_dmy_part(n, 1) || '-' || crm_dmy_part(n, 2) || '-' || crm_full_year(crm_dmy_part(n, 3));
create or replace temp macro crm_date_dmy(s, date_order) as
    crm_date_dm(crm_dmy_text(crm_date_norm(crm_text(s))), date_order);
-- what a date cell reads as without a day/month order (NULL for day/month forms)
create or replace temp macro crm_date_reading(s) as
    case when not crm_is_dmy(s) then coalesce(try_cast(crm_text(s) as date), crm_date(s, null)) end;
-- the exact decimal an amount's text says, and whether the store's 4 places would change it
-- (more than a float's noise: 19.990000000000002 is 19.99, 0.00001 is not 0)
create or replace temp macro crm_money_exact(s) as
    try_cast(crm_money_digits(crm_money_signed(crm_money_clean(crm_text(s)))) as decimal(38, 12));
create or replace temp macro crm_many_places(s) as
    instr(s, '.') > 0 and strlen(s) - instr(s, '.') > {AMOUNT_PLACES};
create or replace temp macro crm_money_lossy(s) as
    crm_many_places(s) and abs(crm_money_exact(s) - round(crm_money_exact(s), {AMOUNT_PLACES}))
        > 0.000000001 * greatest(1, abs(crm_money_exact(s)));
"""


#: The in-memory database that holds the value parsers, attached once to each database instance.
PARSERS = "crm_parsers"
#: One thread defines the parsers of an instance (the others wait for them), or stores a plan's answer.
_DEFINING = threading.Lock()


def define_macros(cur: duckdb.DuckDBPyConnection) -> None:
    """Make the value parsers of :data:`MACROS_SQL`, and staging's own, callable on ``cur``.

    Defining them takes DuckDB 50-70 ms (it binds each macro's body, the nested ones expanded),
    and temporary macros die with their cursor, one per import. So they are defined once per
    database instance, in the in-memory database :data:`PARSERS` attached to it (every cursor
    of the instance sees an attached database; a database file reopened is a new instance, which
    gets its own; a process's later instances attach a file of them: :mod:`~analytics.ingest.parser_file`),
    and ``cur`` finds them through its search path. A read-only database can attach none: there they
    are temporary macros of ``cur``.
    """
    text = MACROS_SQL.read_text(encoding="utf-8") + _MACROS
    with _DEFINING:
        if not cur.execute("select count(*) from duckdb_databases() where database_name = ?",
                           [PARSERS]).fetchall()[0][0] and not parser_file.attach(
                cur, PARSERS, re.sub(r"\btemp macro\b", "macro", text)):
            try:
                cur.execute(f"attach ':memory:' as {PARSERS}")
            except duckdb.Error:  # a read-only database
                cur.execute(text)
                return
            definer = cur.cursor()  # its own cursor: ``use`` moves only it to the parsers' database
            try:
                definer.execute(f"use {PARSERS}")
                definer.execute(re.sub(r"\btemp macro\b", "macro", text))
            except BaseException:
                cur.execute(f"detach {PARSERS}")
                raise
            finally:
                definer.close()
    path = cur.execute("select current_setting('search_path')").fetchall()[0][0] or "main"
    cur.execute(f"set search_path = '{path},{PARSERS}'")


def _sql_list(words: tuple[str, ...]) -> str:
    # Fixed words from the schema, not user input; quoted as SQL literals.
    return ", ".join("'" + w.replace("'", "''") + "'" for w in words)


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
            f"then nullif(trim({cell}, {TRIM}), '') else nullif({cell}, '') end")


def _may_be_among(first: str, words: tuple[str, ...]) -> str:
    """A cheap first test for :func:`_among`: ``first``, the code of a text's first character,
    is the first letter of one of ``words`` (lower-case words; either case of the letter).
    ``first`` is a column computed once: ``ord(text)`` repeated in each comparison of the chain
    would decode the character again for each (15 times, most of the total flag's cost)."""
    codes = sorted({ord(ch) for w in words for ch in (w[0], w[0].upper())})
    return "(" + " or ".join(f"{first} = {code}" for code in codes) + ")"


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
    only where the native cast failed (CASE is evaluated lazily; COALESCE here is not).

    A date with a two-digit year is left to the day/month pass
    (:func:`analytics.ingest.validate.validate_staged`), never read as the year 0024. A number
    written with an underscore (``1_000``, which the native cast takes) is no number; an amount
    finer than the store's 4 places is no amount (rejected with the reason, never rounded); a
    plain number (a quantity, a score) keeps its exact value."""
    if col.type in ("id", "text"):
        return t
    if col.type == "date":
        return (f"case when {native} is not null then {native} when crm_is_yy({t}) then null "
                f"else crm_date({t}, null) end")
    value = f"case when {native} is not null then {native} else crm_money({t}) end"
    if col.type == "money":
        return f"case when contains({t}, '_') or crm_money_lossy({t}) then null else {value} end"
    return (f"case when contains({t}, '_') then null when crm_many_places({t}) "
            f"then coalesce(cast(crm_money_exact({t}) as double), cast({value} as double)) "
            f"else cast({value} as double) end")


#: The code of the (trimmed) id's first character, computed once below the flags that test it.
_ID_START = "_id_start"


def _total_flag(id_text: str, cell_list: str) -> str:
    """A total row: its id cell empty and a total word in a cell, or the id cell itself a total
    word (:data:`~analytics.ingest.schema.TOTAL_WORDS`, read by ``crm_is_total``). The cheap tests
    (first letter, :data:`_ID_START`; a character every total word holds) come first."""
    hint = (f"(contains({id_text}, '计') or contains({id_text}, '总和') or contains(lower({id_text}), 'total') "
            f"or contains(lower({id_text}), 'sum'))")
    any_total = f"list_bool_or([coalesce(crm_is_total(x), false) for x in {cell_list}])"
    return (f"case when {id_text} is null then coalesce({any_total}, false) "
            f"when {_may_be_among(_ID_START, TOTAL_WORDS + TOTAL_PREFIXES)} and {hint} "
            f"then coalesce(crm_is_total({id_text}), false) else false end")


def _header_flag(raw: RawTable, mapping: Mapping, id_col: str) -> str:
    """A line repeating the header row (files joined together): each mapped column's cell,
    trimmed, is its header. Compared by md5, so no header text enters the SQL; only rows whose
    id cell has the header's length and first character are hashed."""
    if raw.headerless or id_col not in mapping.columns:
        return "false"
    positions = sorted(set(mapping.columns.values()))
    trim = " \t\r\n\u3000"
    expected = chr(31).join(raw.headers[i].strip(trim) for i in positions)
    digest = hashlib.md5(expected.encode("utf-8")).hexdigest()
    id_header = raw.headers[mapping.columns[id_col]].strip(trim)
    if not id_header:
        return "false"
    id_text = f"t_{id_col}"
    cells = ", ".join(f"coalesce(trim(c{i}, {TRIM}), '')" for i in positions)
    return (f"case when strlen({id_text}) = {len(id_header.encode('utf-8'))} and {_ID_START} = {ord(id_header[0])} "
            f"then md5(concat_ws(chr(31), {cells})) = '{digest}' else false end")


def word_case(expr: str, words: dict[str, tuple[str, ...]]) -> str:
    arms = " ".join(f"when {_among(expr, ws)} then '{key}'" for key, ws in words.items())
    return f"(case {arms} end)"


def parse(cur: duckdb.DuckDBPyConnection, raw: RawTable, mapping: Mapping, stage_db: str | None,
          numbered: bool = False) -> tuple[str, bool]:
    """One pass over the raw rows: trimmed text, typed values, blank and total flags, keys.

    The staged table keeps the text of the typed cells that failed to parse (one list
    column, ``_raw``; see :func:`~analytics.ingest.layout.raw_text`) and of unknown coded
    words (``raw_<column>``), so rejects can show them.

    Parameters
    ----------
    cur
        The staging cursor (it holds the raw table).
    raw
        The file as read.
    mapping
        Which file column feeds each canonical column.
    stage_db
        The database for the staged table (:func:`analytics.ingest.stage.attach_stage`); None: a
        temporary table.
    numbered
        Read the raw rows numbered explicitly (``<raw.table>_numbered``, slower), as the
        staging query could reorder them.

    Returns
    -------
    tuple of (str, bool)
        The staged table's name, and whether its rows carry their number (``_rid``).
    """
    kind = mapping.kind
    cols = COLUMNS[kind]
    mapped = [c for c in cols if c.name in mapping.columns]
    cell = {c.name: f"c{mapping.columns[c.name]}" for c in mapped}
    cells = [f"c{i}" for i in range(len(raw.headers))]
    id_col = "lead_id" if kind == "leads" else "customer_id"
    # List forms: an OR chain of IN lists here is evaluated on every row, not lazily.
    cell_list = f"[{', '.join(cells)}]"
    all_blank = f"list_bool_and([coalesce(trim(x, {TRIM}), '') = '' for x in {cell_list}])"
    line = ["_line", "_rid"] if raw.has_lines else (["_rid"] if numbered else [])
    line_exprs = ["_line", "_line as _rid"] if raw.has_lines else line
    id_text = f"t_{id_col}"
    # Typed columns need no trim first: the native casts allow spaces around a value and the
    # slow parsers trim for themselves. Only id and text columns are trimmed, and optional text
    # later, per distinct value (layout.trimmed_later).
    trim_now = [c for c in mapped if c.type in ("id", "text") and not trimmed_later(kind, c)]
    # a feedback score cell holding a missing-value word (N/A, 无) is no text to parse: its word is kept
    answers = surveys.score_columns(mapping)
    texts = {c.name: _trimmed(cell[c.name]) if c in trim_now else surveys.answer_text(cell[c.name])
             if c.name in answers else _empty_null(cell[c.name]) for c in mapped}
    level1 = line_exprs + [f"{texts[c.name]} as t_{c.name}" for c in mapped] + [
        f"{_native_cast(c, cell[c.name])} as n_{c.name}" for c in mapped if c.type not in ("id", "text")] + [
        f"{surveys.missing_word(cell[n])} as m_{n}" for n in answers] + cells
    text_cells = dict.fromkeys(cell[c.name] for c in trim_now)
    level0 = ["*", *(f"ord({x}[-1]) as {_last_char(x)}" for x in text_cells)]
    # Blank and total rows have an empty id (or the id cell holds the total word): only
    # those rows are looked at cell by cell.
    flags = [
        f"case when {id_text} is not null then false else ({all_blank}) end as _blank",
        f"{_total_flag(id_text, cell_list)} as _total",
        f"{_header_flag(raw, mapping, id_col)} as _header",
    ]
    level2 = [*line, *flags]
    failed: list[tuple[str, str]] = []  # (column, its text): cells that may fail to parse
    for c in cols:
        t = f"t_{c.name}"
        words = CODED.get((kind, c.name))
        if words is not None:
            # a coded column: its canonical word, and the text when the word is unknown
            known = word_case(t, words) if c.name in cell else "cast(null as varchar)"
            value = known
            if c.name == "feedback_kind":  # a feedback row without a kind: by its scores
                value = surveys.kind_expr(mapping, f"when {t} is not null then {known} " if c.name in cell else "")
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
    level2 += surveys.staged_extras(mapping) + leads.staged_extras(mapping)
    # a repeated header line is excluded as a total row is (``_header`` says which it is)
    exclude = f" exclude ({', '.join([t for _, t in failed] + ['_total'])})"
    # Rows are identified by their natural key when the file has one; else by content.
    # (Content is compared only where keys meet: with the database, or within the file.)
    natural = bool(natural_key_columns(kind, mapping))
    source = f"{raw.table}_numbered" if numbered else raw.table
    # The derived columns are computed from the typed ones, one level up (no extra pass).
    level3 = ["(_total or _header) as _total"] + ([f"{failed_texts(failed)} as _raw"] if failed else []) + [
        f"{sql} as {name}" for name, sql in derived_columns(mapping).items()]
    # a date outside 1900-2100 is no date here: its text is kept (_raw) and shown with the
    # reading tried (analytics.ingest.validate), never a misread 0001-02-24 alone
    dates = [c.name for c in mapped if c.type == "date"]
    in_range = (" replace (" + ", ".join(f"case when year({d}) between 1900 and 2100 then {d} end as {d}"
                                         for d in dates) + ")") if dates else ""
    # A natural key is compared as it is (no key column is staged); content is hashed.
    level4 = ([] if natural else [f"{content_hash(mapping)} as _content"]) + [
        f"{invalid_expr(kind, mapping)} as _invalid"]
    query = (
        f"select *, {', '.join(level4)} from ("
        f"select *{exclude}{''.join(', ' + e for e in level3)} from (select *{in_range} from ("
        f"select {', '.join(level2)} from (select *, ord({id_text}) as {_ID_START} from ("
        f"select {', '.join(level1)} from (select {', '.join(level0)} from {source}))))))"
    )
    if not raw.has_lines and not numbered and _plan_has_join(cur, query):
        # the plan could reorder rows: number them explicitly (slower, always right)
        return parse(cur, raw, mapping, stage_db, numbered=True)
    staged = f"{raw.table}_staged"
    if not stage_db:
        cur.execute(f"create temp table {staged} as {query}")
    elif stage_path(cur, stage_db) is None:
        cur.execute(f"create table {stage_db}.main.{staged} as {query}")
    else:
        # Written to a file, a column is compressed as it is written; ids (near one value per
        # row) are kept uncompressed: analysing and compressing them took half the time of
        # writing them (0.5 s of a 10M-row sales file), for a file deleted after the import.
        ids = {c.name for c in mapped if c.type == "id"}
        columns = ", ".join(f'"{name}" {kind}' + (" using compression uncompressed" if name in ids else "")
                            for name, kind, *_ in cur.execute(f"describe {query}").fetchall())
        cur.execute(f"create table {stage_db}.main.{staged} ({columns})")
        cur.execute(f"insert into {stage_db}.main.{staged} {query}")
    return staged, numbered


#: :func:`_plan_has_join`'s answers by query text, the raw table's name taken out (bounded).
_JOIN_PLANS: dict[str, bool] = {}
_JOIN_PLANS_KEPT = 256
#: A raw table's name (:func:`analytics.ingest.raw.table_name`), new for each file read.
_RAW_TABLE = re.compile(r"\braw_[0-9a-f]{12}\b")


def _plan_has_join(cur: duckdb.DuckDBPyConnection, query: str) -> bool:
    """Whether DuckDB's plan of ``query`` holds a join (and so could reorder its rows).

    Planning the staging query costs about as much as running it on a small file (30-40 ms, most
    of it binding the macros' expanded bodies), so the answer is kept per query text, with the
    raw table's name (new for each file) taken out: the plan's shape follows from that text, the
    macros and the raw table's columns (as many text columns as the text names), none of which
    changes within a process. Files of one layout share the answer.
    """
    key = _RAW_TABLE.sub("raw", query)
    found = _JOIN_PLANS.get(key)
    if found is None:
        plan = "\n".join(str(row[-1]) for row in cur.execute(f"explain {query}").fetchall())
        found = "JOIN" in plan.upper()
        with _DEFINING:
            if len(_JOIN_PLANS) >= _JOIN_PLANS_KEPT:
                del _JOIN_PLANS[next(iter(_JOIN_PLANS))]  # the oldest
            _JOIN_PLANS[key] = found
    return found
