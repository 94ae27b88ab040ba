"""Look-alike text keys folded after staging: ``00123`` + NBSP, ``\\u200b00123``, ``００１２３``
and ``00123`` are one customer, ``华东`` + NBSP is ``华东``.

What is folded and how is said in :mod:`analytics.ingest.schema` (:func:`~analytics.ingest.schema.fold_key`
for keys and coded/dimension text, :func:`~analytics.ingest.schema.trim_text` for free text);
:func:`normalize_text` applies it to the staged rows and says per column how many values changed.
"""

from __future__ import annotations

import duckdb

from analytics.ingest.identity import natural_key_columns
from analytics.ingest.layout import CODED
from analytics.ingest.mapping import Mapping
from analytics.ingest.schema import COLUMNS, fold_key, is_key_text, lookalike_class, trim_text
from analytics.ingest.staging import word_case
from analytics.ingest.validate import content_hash, invalid_expr


def _shown(text: str) -> str:
    """A value with its invisible and look-alike spaces written out (``华东\\u00a0``), for a note."""
    return "".join(f"\\u{ord(ch):04x}" if (ch.isspace() and ch != " ") or ord(ch) in _INVISIBLE else ch
                   for ch in text)


_INVISIBLE = frozenset((0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x180E))


def normalize_text(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping) -> list[str]:
    """Fold the look-alike text of the staged rows' keys and trim free text; return the notes.

    Key and dimension columns (:func:`~analytics.ingest.schema.is_key_text`) are folded by
    :func:`~analytics.ingest.schema.fold_key` (NFKC, no zero-width characters, one space for a
    run of spaces); free text loses invisible characters at its ends only
    (:func:`~analytics.ingest.schema.trim_text`). Only the distinct values holding such
    characters (non-ASCII values matching :func:`~analytics.ingest.schema.lookalike_class`, or
    free text starting or ending with a non-ASCII character) go through Python; the rows holding
    a changed value are updated in place (the staged rows keep their order), then their row rules
    and content hash are computed again. A coded word (scale, kind, outcome) is read again from
    its folded text.

    Returns
    -------
    list of str
        One note per column with changed values: how many, and the first as an example.
    """
    kind = mapping.kind
    notes: list[str] = []
    changed_rows = f"{staged}_folded"
    cur.execute(f"create or replace temp table {changed_rows} (r bigint)")
    cls = lookalike_class()
    any_changed = False
    for c in COLUMNS[kind]:
        if c.name not in mapping.columns or c.type not in ("id", "text"):
            continue
        coded = CODED.get((kind, c.name))
        target = f"raw_{c.name}" if coded else c.name
        key = is_key_text(c)
        if key:
            found = cur.execute(
                f"select v, n, first from (select {target} as v, count(*) as n, min(rowid) as first from {staged} "
                f"where strlen({target}) <> length({target}) group by v) "
                f"where regexp_matches(v, '{cls}') order by first").fetchall()
        else:
            found = cur.execute(
                f"select v, n, first from (select {target} as v, count(*) as n, min(rowid) as first from {staged} "
                f"where ord({target}) > 127 or ord({target}[-1]) > 127 group by v) order by first").fetchall()
        fold = fold_key if key else trim_text
        changes = [(old, fold(old), n) for old, n, _ in found if fold(old) != old]
        if not changes:
            continue
        any_changed = True
        folds = f"{staged}_fold"
        cur.execute(f"create or replace temp table {folds} (old varchar, new varchar)")
        cur.executemany(f"insert into {folds} values (?, ?)", [(old, new) for old, new, _ in changes])
        cur.execute(f"insert into {changed_rows} select s.rowid from {staged} s join {folds} f on s.{target} = f.old")
        if coded:
            word = word_case("f.new", coded)
            sets = f"{c.name} = {word}, raw_{c.name} = case when {word} is null then f.new end"
        else:
            sets = f"{c.name} = f.new"
        cur.execute(f"update {staged} set {sets} from {folds} f where {staged}.{target} = f.old")
        cur.execute(f"drop table {folds}")
        header = mapping.header_of(c.name)
        total = sum(n for _, _, n in changes)
        old, new, _ = changes[0]
        notes.append(f"column {header}: {total} values written with look-alike characters were normalised "
                     f"(e.g. '{_shown(old)}' → '{_shown(new or '')}')")
    if any_changed:
        # the changed rows: their rules (an id left empty) and, without a natural key, their content
        natural = bool(natural_key_columns(kind, mapping))
        rekey = "" if natural else f", _content = {content_hash(mapping)}"
        cur.execute(f"update {staged} set _invalid = {invalid_expr(kind, mapping)}{rekey} "
                    f"where rowid in (select r from {changed_rows})")
    cur.execute(f"drop table {changed_rows}")
    return notes
