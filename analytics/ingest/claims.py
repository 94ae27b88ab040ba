"""Claims: the rows an import brought that the database held already.

A row of a file that is already stored with the same content is not written again: the
import that stored it first holds it. The later import *claims* it (table
``import_claims``), so that undoing the holder does not take away a row another committed
import also brought: :func:`hand_over` gives each such row to the earliest committed import
that claims it (the rows stay, now held by that import, counted in its ``rows_inherited``),
and the ledger stays true: a committed import holds ``rows_imported + rows_inherited`` rows,
live or replaced. What is stored is always what importing the committed imports alone, in
their order, would have stored, for rows that repeat each other; a row an import brought with
*other* values (a conflict, a kept amended order) was not stored and is not claimed.

A row's identity (``claim_key``, 128 bits) is the same on both sides:

- a row with a natural key (customer id, feedback id, lead id): the key;
- an order line: its order number, its content (:func:`~analytics.ingest.identity.line_hash`)
  and its occurrence among identical lines of the order (the second identical line of an
  order is another line than the first);
- any other row: its content key ``row_key`` (content and occurrence in its file).
"""

from __future__ import annotations

import duckdb

from analytics.ingest.identity import is_order_file, line_hash, natural_key_columns
from analytics.ingest.layout import staged_columns
from analytics.ingest.mapping import Mapping
from analytics.ingest.schema import NATURAL_KEYS


def _line_key(alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return f"md5_number(concat_ws(chr(31), 'line', {prefix}transaction_id, cast({prefix}_h as varchar), {prefix}_n))"


def _natural_key(kind: str, alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return f"md5_number(concat_ws(chr(31), 'key', {prefix}{NATURAL_KEYS[kind][0]}))"


def record_claims(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping, import_id: int) -> int:
    """Record the claims of import ``import_id``: its candidates the database holds with the
    same content (status 'present' in ``<staged>_db``). Inside the commit's transaction.
    Returns how many rows it claims."""
    kind = mapping.kind
    present = f"(select c.* from {staged}_candidates c semi join (select _rid from {staged}_db " \
              f"where status = 'present') p using (_rid))"
    if is_order_file(kind, mapping):
        # occurrences are numbered among the file's lines of the order with the same content
        lines = (f"select *, row_number() over (partition by transaction_id, _h order by _rid) as _n from "
                 f"(select c._rid, c.transaction_id, {line_hash('c', staged_columns(mapping))} as _h "
                 f"from {staged}_candidates c semi join (select distinct transaction_id from {present} "
                 f"where transaction_id is not null) o using (transaction_id))")
        cur.execute(f"insert into import_claims select ?, ?, {_line_key('l')} from ({lines}) l "
                    f"semi join {present} p using (_rid)", [import_id, kind])
        cur.execute(f"insert into import_claims select ?, ?, _key from {present} where transaction_id is null",
                    [import_id, kind])
    elif natural_key_columns(kind, mapping):
        key = NATURAL_KEYS[kind][0]
        cur.execute(f"insert into import_claims select ?, ?, case when {key} is null then _key "
                    f"else {_natural_key(kind)} end from {present}", [import_id, kind])
    else:
        cur.execute(f"insert into import_claims select ?, ?, _key from {present}", [import_id, kind])
    return int(cur.execute("select count(*) from import_claims where import_id = ?",
                           [import_id]).fetchall()[0][0])


def _held_keys(kind: str, import_id: int) -> str:
    """The rows import ``import_id`` holds in ``kind``, with their ``rowid`` and ``claim_key``."""
    if kind != "transactions":
        return (f"select rowid as rid, case when {NATURAL_KEYS[kind][0]} is null then row_key "
                f"else {_natural_key(kind)} end as claim_key from {kind} where import_id = {int(import_id)}")
    # order lines are numbered among the live lines of their order (earlier imports first)
    orders = f"select distinct transaction_id from transactions where import_id = {int(import_id)}"
    return (f"select rid, {_line_key()} as claim_key from (select *, row_number() over "
            f"(partition by transaction_id, _h order by import_id, line, rid) as _n from "
            f"(select rowid as rid, transaction_id, import_id, line, {line_hash('t')} as _h from transactions t "
            f"where transaction_id in ({orders}))) where import_id = {int(import_id)} "
            f"union all select rowid, row_key from transactions where import_id = {int(import_id)} "
            f"and transaction_id is null")


def hand_over(cur: duckdb.DuckDBPyConnection, kind: str, import_id: int) -> dict[int, int]:
    """Before import ``import_id``'s rows are removed (its undo): give each row another
    committed import claims to the earliest such import, and drop the claims of
    ``import_id``. Inside the undo's transaction. Returns ``{import: rows handed to it}``."""
    cur.execute("drop table if exists _heirs")
    cur.execute(f"create temp table _heirs as select h.rid, h.claim_key, min(c.import_id) as heir "
                f"from ({_held_keys(kind, import_id)}) h join import_claims c "
                f"on c.kind = ? and c.claim_key = h.claim_key and c.import_id <> ? group by all", [kind, import_id])
    counts = dict(cur.execute("select heir, count(*) from _heirs group by heir").fetchall())
    if counts:
        cur.execute(f"update {kind} set import_id = h.heir from _heirs h where {kind}.rowid = h.rid")
        cur.execute("delete from import_claims c using _heirs h "
                    "where c.kind = ? and c.import_id = h.heir and c.claim_key = h.claim_key", [kind])
        cur.execute("update imports set rows_inherited = coalesce(rows_inherited, 0) + n "
                    "from (select heir, count(*) as n from _heirs group by heir) h "
                    "where imports.import_id = h.heir")
    cur.execute("drop table _heirs")
    cur.execute("delete from import_claims where import_id = ?", [import_id])
    return {int(k): int(v) for k, v in counts.items()}


def mark_order_starts(cur: duckdb.DuckDBPyConnection, orders: str) -> None:
    """Give each order of ``orders`` (a query of transaction ids) that has live lines but no
    line marked as its start one: its first line (earliest import, then file line). The marts
    count an order on its start line, so an order is one order however many imports its lines
    came in."""
    cur.execute(
        f"update transactions set is_order_start = true where rowid in ("
        f"select min_by(rowid, (import_id, line)) from transactions where transaction_id in ({orders}) "
        f"group by transaction_id having not bool_or(is_order_start))")
