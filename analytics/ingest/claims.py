"""Claims: the rows an import brought that the database held already.

A row of a file that is already stored with the same content is not written again: the
import that stored it first holds it. The later import *claims* it (table
``import_claims``), so that undoing the holder does not take away a row another committed
import also brought: :func:`hand_over` gives each such row to the earliest committed import
that claims it (the rows stay, now held by that import, counted in its ``rows_inherited``),
and the ledger stays true: a committed import holds ``rows_imported + rows_inherited`` rows,
live or replaced.

A row an import brought with *other* values than the stored one (a conflicting key, the
lines of an amended order or an amended sales row it kept as stored) is its *held version*
(``<kind>_held``): when an undo leaves that key, order or purchase without a row, the
earliest committed import's held version comes in (:func:`bring_back`). So what is stored
is what importing the committed imports alone, in their order, would store
(``tests/test_hardening_store_properties.py`` checks it on random sequences), with one
exception: when undo puts back an order the undone import had replaced, the lines later
imports added to it are kept as their held versions even if they asked to replace (the ledger
keeps no choice for an import that found nothing to replace).

A kind of :data:`~analytics.ingest.schema.LATEST_WINS` (leads) keeps the *latest* import's version
of a key instead: an import bringing other values replaces the stored row, which steps aside as its
import's held version, and so does each claim on it (:func:`replace_versions`). Every held version
is then older than the live row's import and its claims, so undoing the live row's import hands it
to a claimant if there is one, else brings in the latest held version (``tests/test_leads_import_store.py``).

A row's identity (``claim_key``, 128 bits) is the same on both sides:

- a row with a natural key (customer id, lead id; a feedback row's id and scale, so the CSAT and
  NPS answers of one response are two rows): the key;
- an order line: its order number, its content (:func:`~analytics.ingest.identity.line_hash`)
  and its occurrence among identical lines of the order (the second identical line of an
  order is another line than the first);
- any other row: its content key ``row_key`` (content and occurrence in its file).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from analytics.ingest.attributes import remove_attributes
from analytics.ingest.identity import is_order_file, line_hash, natural_key_columns, same_key
from analytics.ingest.layout import staged_columns
from analytics.ingest.mapping import Mapping
from analytics.ingest.orders import restore_replaced
from analytics.ingest.purchases import purchase_key
from analytics.ingest.schema import LATEST_WINS, NATURAL_KEYS
from analytics.store.connection import WRITE_LOCK


def _line_key(alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    # xor, not the hash as text: casting a 128-bit integer to text costs ~25 µs a row
    return f"xor({prefix}_h, md5_number(concat_ws(chr(31), 'line', {prefix}transaction_id, {prefix}_n)))"


def _natural_key(kind: str, alias: str = "") -> str:
    """The claim key of a row with a natural key: its key's parts (an empty part after the first,
    a complaint's scale, is left out, so a key of one part hashes as it always did)."""
    prefix = f"{alias}." if alias else ""
    parts = ", ".join(f"{prefix}{k}" for k in NATURAL_KEYS[kind])
    return f"md5_number(concat_ws(chr(31), 'key', {parts}))"


def record_claims(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping, import_id: int) -> int:
    """Record the claims of import ``import_id``: its candidates the database holds with the
    same content (status 'present' in ``<staged>_db``). Inside the commit's transaction.
    Returns how many rows it claims."""
    kind = mapping.kind
    present = f"(select c.* from {staged}_candidates c semi join (select _rid from {staged}_db " \
              f"where status = 'present') p using (_rid))"
    if is_order_file(kind, mapping):
        # The present lines of an order are the first occurrences of their content in the file
        # (a continued order's new lines come after the stored ones), so numbering them alone
        # numbers them as among all the file's lines of the order. Staged in steps, each of
        # which streams or spills: one query with the window and the joins held 10M lines in
        # memory and failed under a 1 GB limit.
        cur.execute("drop table if exists _claim_lines")
        cur.execute(f"create temp table _claim_lines as select c._rid, c.transaction_id, "
                    f"{line_hash('c', staged_columns(mapping))} as _h from {staged}_candidates c "
                    f"semi join (select _rid from {staged}_db where status = 'present') p using (_rid) "
                    f"where c.transaction_id is not null")
        cur.execute(f"insert into import_claims select ?, ?, {_line_key('l')} from (select transaction_id, _h, "
                    f"row_number() over (partition by transaction_id, _h order by _rid) as _n "
                    f"from _claim_lines) l", [import_id, kind])
        cur.execute("drop table _claim_lines")
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


def replace_versions(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping) -> int:
    """Before an import of a :data:`~analytics.ingest.schema.LATEST_WINS` kind writes its rows (inside
    the commit's transaction): the stored rows whose key its candidates bring with other values
    (status 'conflict_db' in ``<staged>_db``) step aside as their imports' held versions, and each
    claim on them becomes the claimant's held version (it brought the stored values). A row that
    steps aside leaves its import's count (``rows_inherited`` falls by one; it comes back with the
    row, :func:`bring_back`). Returns how many stored rows were replaced."""
    kind = mapping.kind
    cur.execute("drop table if exists _replaced")
    amending = (f"select c.* from {staged}_candidates c semi join "
                f"(select _rid from {staged}_db where status = 'conflict_db') b using (_rid)")
    cur.execute(f"create temp table _replaced as select d.rowid as rid, d.import_id, {_natural_key(kind, 'd')} "
                f"as claim_key from {kind} d semi join ({amending}) c on {same_key(kind, mapping, 'c', 'd')}")
    cur.execute(f"insert into {kind}_held select * from {kind} where rowid in (select rid from _replaced)")
    cur.execute(f"insert into {kind}_held select d.* replace (c.import_id as import_id) from {kind} d "
                f"join _replaced r on d.rowid = r.rid join import_claims c on c.kind = ? and c.claim_key = r.claim_key",
                [kind])
    cur.execute("delete from import_claims c using _replaced r where c.kind = ? and c.claim_key = r.claim_key", [kind])
    cur.execute("update imports set rows_inherited = coalesce(rows_inherited, 0) - n from (select import_id, count(*) "
                "as n from _replaced group by import_id) r where imports.import_id = r.import_id")
    replaced = cur.execute(f"delete from {kind} where rowid in (select rid from _replaced)").fetchall()[0][0]
    cur.execute("drop table _replaced")
    return int(replaced)


def hold_versions(cur: duckdb.DuckDBPyConnection, kind: str, row: str, source: str, import_id: int) -> None:
    """Keep import ``import_id``'s versions of rows the database holds with other values (its
    conflicting rows, the lines of amended orders it kept as stored) in ``<kind>_held``.
    ``row`` is the commit's column list and select list (``(...) select ...``) and ``source``
    the staged rows to keep (aliased ``c``). Inside the commit's transaction."""
    cur.execute(f"insert into {kind}_held {row} from {source}", [import_id])


def _unit(kind: str, alias: str = "") -> str:
    """What a held version stands in for: the order (its number), or the key (a key of several
    parts, a feedback row's id and scale, as one text; NULL without its first part)."""
    prefix = f"{alias}." if alias else ""
    keys = NATURAL_KEYS[kind]
    if kind == "transactions" or len(keys) == 1:
        return f"{prefix}{keys[0]}"
    parts = ", ".join(f"{prefix}{k}" for k in keys)
    return f"case when {prefix}{keys[0]} is not null then concat_ws(chr(31), {parts}) end"


def _held_keys(kind: str, import_id: int) -> str:
    """The rows import ``import_id`` holds in ``kind``: ``rid`` (rowid), ``unit`` (the order
    or key) and ``claim_key``."""
    unit = _unit(kind)
    if kind != "transactions":
        return (f"select rowid as rid, {unit} as unit, case when {NATURAL_KEYS[kind][0]} is null then row_key "
                f"else {_natural_key(kind)} end as claim_key from {kind} where import_id = {int(import_id)}")
    # order lines are numbered among the live lines of their order (earlier imports first)
    orders = f"select distinct transaction_id from transactions where import_id = {int(import_id)}"
    return (f"select rid, transaction_id as unit, {_line_key()} as claim_key from (select *, row_number() over "
            f"(partition by transaction_id, _h order by import_id, line, rid) as _n from "
            f"(select rowid as rid, transaction_id, import_id, line, {line_hash('t')} as _h from transactions t "
            f"where transaction_id in ({orders}))) where import_id = {int(import_id)} "
            f"union all select rowid, null, row_key from transactions where import_id = {int(import_id)} "
            f"and transaction_id is null")


def hand_over(cur: duckdb.DuckDBPyConnection, kind: str, import_id: int) -> int:
    """Before import ``import_id``'s rows are removed (its undo), and before the order lines
    it replaced are put back: give each row another committed import claims to the earliest
    such import (counted in its ``rows_inherited``). Where the undo puts back the lines
    ``import_id`` replaced, its lines that others claimed become those imports' held
    versions of the order instead. Drops ``import_id``'s claims and held versions. Inside the
    undo's transaction. Returns how many rows passed to other imports."""
    cur.execute("drop table if exists _heirs")
    restored = ("select transaction_id from transactions_replaced where replaced_by = ?"
                if kind == "transactions" else "select null where ? is null")
    # a claimant later than an import that holds another version of the same order or key
    # does not take the row: that earlier version comes in (bring_back), the claimant's is held;
    # where the latest version wins, every held version is older than the claims
    earlier = (f"select {_unit(kind)} as unit, min(import_id) as first_held from {kind}_held "
               f"where import_id <> {int(import_id)} and {_unit(kind)} is not null group by 1")
    later = "false" if kind in LATEST_WINS else "coalesce(c.import_id > e.first_held, false)"
    cur.execute(f"create temp table _heirs as select h.rid, h.unit, h.claim_key, c.import_id as heir, "
                f"coalesce(h.unit in ({restored}), false) or {later} as restored, "
                f"row_number() over (partition by h.rid order by c.import_id) = 1 as first "
                f"from ({_held_keys(kind, import_id)}) h join import_claims c "
                f"on c.kind = ? and c.claim_key = h.claim_key and c.import_id <> ? "
                f"left join ({earlier}) e on e.unit = h.unit",
                [import_id, kind, import_id])
    # the lines of an order that goes back to the version this import replaced, or to an
    # earlier import's version: each claimant keeps them as its own version of the order
    cur.execute(f"insert into {kind}_held select k.* replace (h.heir as import_id) from {kind} k "
                f"join _heirs h on k.rowid = h.rid where h.restored")
    if kind == "transactions":
        # lines later imports added to such an order built on this import's version: they too
        # become those imports' held versions (the order goes back to the version it had)
        later = (f"from transactions where import_id <> {int(import_id)} and transaction_id in (select "
                 f"transaction_id from transactions where import_id = {int(import_id)} intersect select "
                 f"transaction_id from transactions_replaced where replaced_by = {int(import_id)})")
        cur.execute(f"insert into transactions_held select * {later}")
        cur.execute(f"update imports set rows_inherited = coalesce(rows_inherited, 0) - n from "
                    f"(select import_id, count(*) as n {later} group by import_id) l "
                    f"where imports.import_id = l.import_id")
        cur.execute(f"delete {later}")
    cur.execute(f"update {kind} set import_id = h.heir from _heirs h "
                f"where {kind}.rowid = h.rid and h.first and not h.restored")
    kept = int(cur.execute("select count(*) from _heirs where first and not restored").fetchall()[0][0])
    cur.execute("update imports set rows_inherited = coalesce(rows_inherited, 0) + n "
                "from (select heir, count(*) as n from _heirs where first and not restored group by heir) h "
                "where imports.import_id = h.heir")
    cur.execute("delete from import_claims c using _heirs h where c.kind = ? and c.import_id = h.heir "
                "and c.claim_key = h.claim_key and (h.first or h.restored)", [kind])
    cur.execute("drop table _heirs")
    cur.execute("delete from import_claims where import_id = ?", [import_id])
    cur.execute(f"delete from {kind}_held where import_id = ?", [import_id])
    return kept


def bring_back(cur: duckdb.DuckDBPyConnection, kind: str, units: str) -> int:
    """After an undo removed rows: each order or key of ``units`` (a query) left with no live
    row takes the earliest committed import's held version of it (the latest's, for a kind of
    :data:`~analytics.ingest.schema.LATEST_WINS`), if any (counted in that import's
    ``rows_inherited``). Returns how many rows it brought in."""
    held, live = _unit(kind, "h"), _unit(kind, "k")
    chosen = "max" if kind in LATEST_WINS else "min"
    cur.execute("drop table if exists _back")
    cur.execute(f"create temp table _back as select {held} as unit, {chosen}(h.import_id) as import_id "
                f"from {kind}_held h "
                f"where {held} in ({units}) and {held} not in (select {live} from {kind} k where {live} in ({units})) "
                f"group by 1")
    versions = f"from {kind}_held h semi join _back b on {held} = b.unit and h.import_id = b.import_id"
    brought = cur.execute(f"insert into {kind} select h.* {versions}").fetchall()[0][0]
    cur.execute("update imports set rows_inherited = coalesce(rows_inherited, 0) + n from "
                f"(select h.import_id, count(*) as n {versions} group by h.import_id) b "
                "where imports.import_id = b.import_id")
    cur.execute(f"delete from {kind}_held h using _back b where {held} = b.unit and h.import_id = b.import_id")
    cur.execute("drop table _back")
    return int(brought)


def _bring_back_purchases(cur: duckdb.DuckDBPyConnection) -> int:
    """After an undo removed sales rows without order numbers (``_undone_purchases``): each
    purchase they named takes the earliest committed import's held rows of it (the amended
    rows it kept aside). Returns how many rows it brought in."""
    cur.execute("drop table if exists _back")
    cur.execute(f"create temp table _back as select p, min(import_id) as import_id from "
                f"(select import_id, {purchase_key('h')} as p from transactions_held h where transaction_id is null) "
                f"semi join _undone_purchases using (p) group by p")
    held = (f"from transactions_held h where transaction_id is null and "
            f"({purchase_key('h')}, import_id) in (select (p, import_id) from _back)")
    brought = cur.execute(f"insert into transactions select h.* {held}").fetchall()[0][0]
    cur.execute(f"update imports set rows_inherited = coalesce(rows_inherited, 0) + n from "
                f"(select import_id, count(*) as n {held} group by import_id) b where imports.import_id = b.import_id")
    cur.execute(f"delete {held}")
    cur.execute("drop table _back")
    cur.execute("drop table _undone_purchases")
    return int(brought)


def mark_order_starts(cur: duckdb.DuckDBPyConnection, orders: str) -> None:
    """Give each order of ``orders`` (a query of transaction ids) that has live lines but no
    line marked as its start one: its first line (earliest import, then file line). The marts
    count an order on its start line, so an order is one order however many imports its lines
    came in."""
    cur.execute(
        f"update transactions set is_order_start = true where rowid in ("
        f"select min_by(rowid, (import_id, line)) from transactions where transaction_id in ({orders}) "
        f"group by transaction_id having not bool_or(is_order_start))")


@dataclass(frozen=True)
class UndoEffect:
    """What undoing an import does to the data: ``removed`` rows taken out, ``kept`` rows that
    stay because another committed import also brought them (now held by it), ``brought_back``
    rows that take the place of removed ones (order lines it had replaced, put back, and
    another import's version of a row or order it held)."""

    removed: int
    kept: int
    brought_back: int


def take_out(cur: duckdb.DuckDBPyConnection, kind: str, import_id: int) -> UndoEffect:
    """Take import ``import_id``'s rows out of ``kind`` (inside the undo's transaction): hand
    over what others also brought, put back what it replaced, remove the rest, bring in
    another import's version of what it leaves empty, and mark where each order starts."""
    kept = hand_over(cur, kind, import_id)
    restored = 0
    if kind == "transactions":
        restored = restore_replaced(cur, import_id)  # the lines of orders it replaced, as they were
        remove_attributes(cur, import_id)  # what its lines said about their customers
    unit = _unit(kind)  # the orders and keys it leaves
    cur.execute(f"create or replace temp table _undone as select distinct {unit} as unit from {kind} "
                f"where import_id = ? and {unit} is not null", [import_id])
    if kind == "transactions":  # the purchases its rows without order numbers named
        cur.execute(f"create or replace temp table _undone_purchases as select distinct {purchase_key('t')} as p "
                    f"from transactions t where import_id = ? and transaction_id is null", [import_id])
    removed = cur.execute(f"delete from {kind} where import_id = ?", [import_id]).fetchall()[0][0]
    brought = bring_back(cur, kind, "select unit from _undone")
    if kind == "transactions":
        brought += _bring_back_purchases(cur)
    if kind == "transactions":  # an order whose first line went starts on its next one
        mark_order_starts(cur, "select unit from _undone")
    cur.execute("drop table _undone")
    return UndoEffect(removed=int(removed), kept=kept, brought_back=restored + brought)


def undo_preview(con: duckdb.DuckDBPyConnection, import_id: int) -> UndoEffect:
    """What undoing import ``import_id`` would do (:func:`take_out` in a transaction rolled
    back), for the confirmation before it."""
    with WRITE_LOCK:
        cur = con.cursor()
        try:
            cur.execute("begin transaction")
            kind = cur.execute("select kind from imports where import_id = ?", [import_id]).fetchall()[0][0]
            return take_out(cur, kind, import_id)
        finally:
            cur.execute("rollback")
            cur.close()
