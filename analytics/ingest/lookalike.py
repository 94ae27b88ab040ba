"""Look-alike text keys folded after staging: ``00123`` + NBSP, ``\\u200b00123``, ``００１２３``
and ``00123`` are one customer, ``华东`` + NBSP is ``华东``.

What is folded and how is said in :mod:`analytics.ingest.schema` (:func:`~analytics.ingest.schema.fold_key`
for keys and coded/dimension text, :func:`~analytics.ingest.schema.trim_text` for free text);
:func:`normalize_text` applies it to the staged rows and says per column how many values changed.
"""

from __future__ import annotations

import duckdb

from analytics.ingest.identity import natural_key_columns
from analytics.ingest.layout import CODED, TRIM_CHARS, trimmed_later
from analytics.ingest.mapping import Mapping
from analytics.ingest.schema import COLUMNS, Column, fold_key, is_key_text, lookalike_class, trim_text
from analytics.ingest.staging import word_case
from analytics.ingest.validate import content_hash, invalid_expr


def _shown(text: str) -> str:
    """A value with its invisible and look-alike spaces written out (``华东\\u00a0``), for a note."""
    return "".join(f"\\u{ord(ch):04x}" if (ch.isspace() and ch != " ") or ord(ch) in _INVISIBLE else ch
                   for ch in text)


_INVISIBLE = frozenset((0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x180E))


def _target(kind: str, col: Column) -> str:
    """The staged column holding ``col``'s text: ``raw_<name>`` for a coded column (its unknown
    words), else the column itself."""
    return f"raw_{col.name}" if CODED.get((kind, col.name)) else col.name


def normalize_text(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping) -> list[str]:
    """Fold the look-alike text of the staged rows' keys and trim free text; return the notes.

    Key and dimension columns (:func:`~analytics.ingest.schema.is_key_text`) are folded by
    :func:`~analytics.ingest.schema.fold_key` (NFKC per character, no zero-width characters,
    trimmed); free text loses invisible characters at its ends only
    (:func:`~analytics.ingest.schema.trim_text`). Optional text is staged as written
    (:func:`~analytics.ingest.layout.trimmed_later`), so its values starting or ending with a
    space or control character are gathered and trimmed here too, per distinct value; a value
    that only loses what staging trims from other columns (spaces, tabs, line breaks,
    ideographic spaces) is not noted. One scan gathers, per column, the distinct
    values that may change (non-ASCII ones for dimension text; free text starting or ending with
    a non-ASCII character) and whether an id column holds any non-ASCII value; only for such id
    columns does a second scan gather the ids matching
    :func:`~analytics.ingest.schema.lookalike_class` (so a file of ASCII ids never builds the
    class nor runs it). Only the values gathered go through Python. The rows holding a changed value are
    updated in place (the staged rows keep their order), then their row rules and content hash
    are computed again. A coded word (scale, kind, outcome) is read again from its folded text.

    Returns
    -------
    list of str
        One note per column with changed values: how many, and the first (by line) as an example.
    """
    kind = mapping.kind
    columns = [c for c in COLUMNS[kind] if c.name in mapping.columns and c.type in ("id", "text")]
    if not columns:
        return []
    # One scan: the distinct non-ASCII values of the dimension columns (few), the free text
    # starting or ending with a non-ASCII character, and whether an id column has any non-ASCII
    # value at all. A CASE inside the aggregate, not a FILTER clause: a FILTER's conditions are
    # all evaluated on every row, a CASE's only where the first holds.
    gathers = []
    for c in columns:
        x = _target(kind, c)
        if c.type == "id":
            gathers.append(f"bool_or(strlen({x}) <> length({x}))")
        else:
            may = f"strlen({x}) <> length({x})" if is_key_text(c) else f"ord({x}) > 127 or ord({x}[-1]) > 127"
            if trimmed_later(kind, c):  # staged as written: a space or control character at an end too
                may = f"{may} or ord({x}) <= 32 or ord({x}[-1]) <= 32"
            gathers.append(f"list(distinct case when {may} then {x} end)")
    found = list(cur.execute(f"select {', '.join(gathers)} from {staged}").fetchall()[0])
    # ids (many distinct values): only those with a look-alike character, where any is non-ASCII
    wide = [i for i, c in enumerate(columns) if c.type == "id" and found[i]]
    if wide:
        cls = lookalike_class()
        ids = [_target(kind, columns[i]) for i in wide]
        lists = cur.execute("select " + ", ".join(
            f"list(distinct case when strlen({x}) <> length({x}) and regexp_matches({x}, '{cls}') then {x} end)"
            for x in ids) + f" from {staged}").fetchall()[0]
        for i, values in zip(wide, lists, strict=True):
            found[i] = values
    notes: list[str] = []
    changed_rows = f"{staged}_folded"
    folds = f"{staged}_fold"
    changed = False
    for c, values in zip(columns, found, strict=True):
        fold = fold_key if is_key_text(c) else trim_text
        # (old, new, noted): a value only trimmed of what staging trims elsewhere is not noted
        later = trimmed_later(kind, c)
        changes = [(old, new, not later or (new or "") != old.strip(TRIM_CHARS))
                   for old in values or () if old is not None and (new := fold(old)) != old]
        if not changes:
            continue
        coded = CODED.get((kind, c.name))
        target = _target(kind, c)
        cur.execute(f"create or replace temp table {folds} (old varchar, new varchar, noted boolean)")
        cur.executemany(f"insert into {folds} values (?, ?, ?)", changes)
        if not changed:
            cur.execute(f"create or replace temp table {changed_rows} (r bigint)")
            changed = True
        total, old, new = cur.execute(
            f"select count(*), arg_min(f.old, s.rowid), arg_min(f.new, s.rowid) from {staged} s "
            f"join {folds} f on s.{target} = f.old where f.noted").fetchall()[0]
        cur.execute(f"insert into {changed_rows} select s.rowid from {staged} s join {folds} f on s.{target} = f.old")
        if coded:
            word = word_case("f.new", coded)
            sets = f"{c.name} = {word}, raw_{c.name} = case when {word} is null then f.new end"
        else:
            sets = f"{c.name} = f.new"
        cur.execute(f"update {staged} set {sets} from {folds} f where {staged}.{target} = f.old")
        cur.execute(f"drop table {folds}")
        if not total:
            continue
        notes.append(f"column {mapping.header_of(c.name)}: {total} values written with look-alike characters were "
                     f"normalised (e.g. '{_shown(old)}' → '{_shown(new or '')}')")
    if changed:
        # the changed rows: their rules (an id left empty) and, without a natural key, their content
        natural = bool(natural_key_columns(kind, mapping))
        rekey = "" if natural else f", _content = {content_hash(mapping)}"
        cur.execute(f"update {staged} set _invalid = {invalid_expr(kind, mapping)}{rekey} "
                    f"where rowid in (select r from {changed_rows})")
        cur.execute(f"drop table {changed_rows}")
    return notes
