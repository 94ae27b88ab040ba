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
from the file's text.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import duckdb

from analytics.ingest.identity import natural_key_columns
from analytics.ingest.layout import CODED, TRIM, derived_columns, failed_texts
from analytics.ingest.mapping import Mapping
from analytics.ingest.readers import RawTable
from analytics.ingest.schema import COLUMNS, TOTAL_WORDS, Column
from analytics.ingest.validate import content_hash, invalid_expr

#: The value parsers the staging query calls (``crm_date``, ``crm_money``, ...).
MACROS_SQL = Path(__file__).resolve().parent / "sql" / "macros.sql"


def attach_stage(cur: duckdb.DuckDBPyConnection) -> str | None:
    """A compressed in-memory database for this import's staged rows, on the path of
    ``cur`` only.

    Compressed, 10M staged rows take about half the memory of a temporary table, which
    spills to disk past the memory limit (about 8 % of a 10M-row import's time).

    Returns
    -------
    str or None
        The attached database's name; None where one cannot be attached (a read-only
        connection), and then the staged rows go to a temporary table.
    """
    name = f"stage_{secrets.token_hex(6)}"
    try:
        cur.execute(f"attach ':memory:' as {name} (compress)")
    except duckdb.Error:
        return None
    cur.execute(f"set search_path = 'main,{name}'")
    return name


def define_macros(cur: duckdb.DuckDBPyConnection) -> None:
    """Define the value parsers of :data:`MACROS_SQL` on ``cur``."""
    cur.execute(MACROS_SQL.read_text(encoding="utf-8"))


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
        The in-memory database for the staged table (:func:`attach_stage`); None: a
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
    words = _sql_list(TOTAL_WORDS)
    total_forms = tuple(w + suffix for w in TOTAL_WORDS for suffix in ("", ":", "："))
    # List forms: an OR chain of IN lists here is evaluated on every row, not lazily.
    cell_list = f"[{', '.join(cells)}]"
    any_total = (f"list_has_any([lower(rtrim(trim(x, {TRIM}), ':：')) for x in {cell_list}], "
                 f"[{words}])")
    all_blank = f"list_bool_and([coalesce(trim(x, {TRIM}), '') = '' for x in {cell_list}])"
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
        words = CODED.get((kind, c.name))
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
    natural = bool(natural_key_columns(kind, mapping))
    source = f"{raw.table}_numbered" if numbered else raw.table
    # The derived columns are computed from the typed ones, one level up (no extra pass).
    level3 = ([f"{failed_texts(failed)} as _raw"] if failed else []) + [
        f"{sql} as {name}" for name, sql in derived_columns(mapping).items()]
    # A natural key is compared as it is (no key column is staged); content is hashed.
    level4 = ([] if natural else [f"{content_hash(mapping)} as _content"]) + [
        f"{invalid_expr(kind, mapping)} as _invalid"]
    query = (
        f"select *, {', '.join(level4)} from ("
        f"select *{exclude}{''.join(', ' + e for e in level3)} from ("
        f"select {', '.join(level2)} from (select {', '.join(level1)} from ("
        f"select {', '.join(level0)} from {source}))))"
    )
    if not raw.has_lines and not numbered and _plan_has_join(cur, query):
        # the plan could reorder rows: number them explicitly (slower, always right)
        return parse(cur, raw, mapping, stage_db, numbered=True)
    staged = f"{raw.table}_staged"
    target = f"{stage_db}.main.{staged}" if stage_db else f"temp.main.{staged}"
    cur.execute(f"create table {target} as {query}")
    return staged, numbered


def _plan_has_join(cur: duckdb.DuckDBPyConnection, query: str) -> bool:
    plan = "\n".join(str(row[-1]) for row in cur.execute(f"explain {query}").fetchall())
    return "JOIN" in plan.upper()
