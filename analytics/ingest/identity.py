"""Row identity: which staged rows repeat each other or rows already in the database.

A row of a kind with a natural key in the file (customer id, feedback id, lead id) is
identified by that key; two rows with the same key and different values are a *conflict*:
listed, and only the first (or the database's) kept. A row without one is identified by its
content plus its occurrence among identical rows of the same file, so importing a file
again, or the same rows re-saved in another file, adds nothing, while two identical
purchases inside one file stay two purchases.

A transaction id is an *order number*: the rows that carry it are the lines of one order
(:func:`is_order_file`). Within the file a line is identified by its order and its line id
when the file has line ids (a repeated line id is a duplicate or a conflict, as a natural
key is), else by its content and its occurrence among identical lines of its order: two
identical lines of one order are two lines. Against the database an order is compared
whole, as the multiset of its lines' contents (:func:`line_hash`): the same lines make it
*present*; new lines beside the stored ones *continue* it (an order is one order however many
files its lines came in); a new line in the place of a stored one makes an *amended* order
(:mod:`analytics.ingest.orders` keeps or replaces it). See :func:`_compare_orders`.

Natural keys are compared as they are (stored rows keyed so have no ``row_key``); content is
hashed (:func:`hash_expr`) and compared only where keys meet: with the database, or within
the file. Each query here writes a small side table of the staged table ``<staged>``:
``_dups`` (:func:`find_repeats`), ``_orders`` (:func:`order_starts`), ``_known``,
``_changed`` and ``_amended`` (the file's orders the database holds, those whose lines'
fingerprints differ, and those of them it holds with other lines) and ``_db``
(:func:`compare_with_database`).
"""

from __future__ import annotations

import duckdb

from analytics.ingest.layout import staged_columns
from analytics.ingest.mapping import Mapping
from analytics.ingest.purchases import STORED_TYPES, compare_purchases
from analytics.ingest.schema import NATURAL_KEYS, Column, identity_columns, repeat_columns, stored_columns


def hash_expr(cols: tuple[Column, ...], alias: str = "", present: frozenset[str] | None = None) -> str:
    """128 bits of md5 over a row's canonical values (the same text whatever file they
    came from: 2024/1/5 and 2024年1月5日 hash alike). Columns outside ``present`` are NULL."""
    prefix = f"{alias}." if alias else ""
    parts = ", ".join(f"coalesce(cast({prefix}{c.name} as varchar), chr(0))"
                      if present is None or c.name in present else "chr(0)" for c in cols)
    return f"md5_number(concat_ws(chr(31), {parts}))"


def natural_key_columns(kind: str, mapping: Mapping) -> list[str]:
    """The natural key columns this file has; empty when rows are keyed by content. The key
    starts with a column of the file; its other parts are the file's or always staged (a
    feedback row's scale)."""
    keys = NATURAL_KEYS[kind]
    if keys[0] not in mapping.columns:
        return []
    present = staged_columns(mapping)
    return [k for k in keys if k in present]


def is_order_file(kind: str, mapping: Mapping) -> bool:
    """Whether the file's rows are order lines: transactions with a transaction id column."""
    return kind == "transactions" and "transaction_id" in mapping.columns


def _repeat_key(kind: str, mapping: Mapping) -> list[str]:
    """The key whose repeats in the file are duplicates or conflicts: the natural key, but
    for order lines only with a line id (without one, identical lines of an order are
    separate lines)."""
    keys = natural_key_columns(kind, mapping)
    return keys if not is_order_file(kind, mapping) or "line_id" in keys else []


def line_hash(alias: str, present: frozenset[str] | None = None) -> str:
    """128 bits of md5 over an order line's content (its identity columns but the order
    number, each cast to its stored type): the same for the line in a file and stored.
    Columns outside ``present`` (a file's staged columns) count as empty."""
    parts = ", ".join(
        f"coalesce(cast(cast({alias}.{c.name} as {STORED_TYPES[c.type]}) as varchar), chr(0))"
        if present is None or c.name in present else "chr(0)"
        for c in identity_columns("transactions") if c.name != "transaction_id")
    return f"md5_number(concat_ws(chr(31), {parts}))"


def line_fingerprint(alias: str, present: frozenset[str] | None = None) -> str:
    """The aggregate fingerprint of an order's lines: the sum of DuckDB's 64-bit ``hash`` of
    each line's content (as :func:`line_hash`, typed as stored; columns outside ``present``
    empty). Equal multisets of lines give equal sums; both sides are hashed in the same
    query, so the hash need not be stable across DuckDB versions (nothing of it is stored)."""
    parts = ", ".join(
        f"cast({alias}.{c.name} as {STORED_TYPES[c.type]})" if present is None or c.name in present
        else f"cast(null as {STORED_TYPES[c.type]})"
        for c in identity_columns("transactions") if c.name != "transaction_id")
    return f"sum(hash({parts}))"


def keyless(kind: str, mapping: Mapping, alias: str = "") -> str:
    """True for a row of a file with a natural key whose key cell is empty: such a row
    is identified by its content instead."""
    prefix = f"{alias}." if alias else ""
    return f"{prefix}{natural_key_columns(kind, mapping)[0]} is null"


def same_key(kind: str, mapping: Mapping, a: str, b: str, *, stored: bool = True) -> str:
    """Join condition: row ``a`` (staged) has the natural key of row ``b`` (stored, else
    staged too). Empty key cells after the first compare equal, and a key column the file
    lacks (and staging does not make) is empty."""
    conds = []
    present = staged_columns(mapping)
    for i, k in enumerate(NATURAL_KEYS[kind]):
        if k not in present:
            if stored:
                conds.append(f"{b}.{k} is null")
        else:
            conds.append(f"{b}.{k} = {a}.{k}" if i == 0 else f"{b}.{k} is not distinct from {a}.{k}")
    return " and ".join(conds)


def _same_content(kind: str, present: frozenset[str], a: str, b: str) -> str:
    """Row ``a`` (staged, holding the columns ``present``) has the values of row ``b``
    (stored); a column ``a`` lacks is empty."""
    return " and ".join(f"{b}.{c.name} is not distinct from {a}.{c.name}" if c.name in present
                        else f"{b}.{c.name} is null" for c in stored_columns(kind))


def content_if_keyless(kind: str, mapping: Mapping, alias: str = "") -> str:
    """The content hash of a row whose natural key cell is empty (computed where needed,
    not staged: in a file with ids such rows are few)."""
    return (f"case when {keyless(kind, mapping, alias)} then "
            f"{hash_expr(identity_columns(kind), alias, staged_columns(mapping))} end")


def find_repeats(cur: duckdb.DuckDBPyConnection, staged: str, ok: str, mapping: Mapping,
                 only_if: str | None = None) -> None:
    """Rows repeating an earlier row's key or content, in ``<staged>_dups``; only those rows
    are numbered.

    ``mode`` 'natural': rows sharing a natural key, hashed to tell an exact repeat (imported
    once) from a conflict. ``mode`` 'content': rows without a key (a file without a key
    column, or an empty key cell) sharing their content: separate records, numbered.
    A file without repeats costs one grouping pass per mode.

    Parameters
    ----------
    cur
        The staging cursor.
    staged
        The staged table (its view ``<staged>_v`` gives each row's ``_rid`` and ``_line``).
    ok
        The condition of a valid row (not blank, not a total, not invalid).
    mapping
        The file's mapping.
    only_if
        A table of the repeated transaction ids, as only their rows can repeat a natural
        key; None: every row may.
    """
    kind, present = mapping.kind, staged_columns(mapping)
    keys = _repeat_key(kind, mapping)
    natural = bool(natural_key_columns(kind, mapping))
    parts = []
    if keys:
        source = f"{staged}_v"
        if only_if is not None:
            source = f"(select s.* from {staged}_v s semi join {only_if} o using (transaction_id))"
        key = ", ".join(keys)
        # a line without a line id is identified by its content within its order
        with_id = " and line_id is not null" if is_order_file(kind, mapping) else ""
        parts.append(
            f"with lines as (select * from {source} where {ok} and not {keyless(kind, mapping)}{with_id}), "
            f"repeated as (select {key} from lines group by {key} having count(*) > 1), "
            f"hashed as (select l.*, {hash_expr(repeat_columns(kind), 'l', present)} as _h "
            f"from lines l semi join repeated r on {same_key(kind, mapping, 'l', 'r', stored=False)}) "
            f"select 'natural' as mode, _rid, _line, _h as h, row_number() over w as n, "
            f"first_value(_h) over w as first_h, first_value(_line) over w as first_line from hashed "
            f"window w as (partition by {key} order by _rid)")
    without_key = f"{ok} and {keyless(kind, mapping)}" if natural else ok
    content = f", {hash_expr(identity_columns(kind), present=present)} as _content" if natural else ""
    parts.append(
        f"with lines as (select *{content} from {staged}_v where {without_key}), "
        f"repeated as (select _content from lines group by _content having count(*) > 1) "
        f"select 'content' as mode, _rid, _line, _content as h, row_number() over w as n, "
        f"_content as first_h, first_value(_line) over w as first_line "
        f"from lines semi join repeated using (_content) "
        f"window w as (partition by _content order by _rid)")
    cur.execute(f"create temp table {staged}_dups as "
                + " union all ".join(f"({p})" for p in parts))


def order_starts(cur: duckdb.DuckDBPyConnection, staged: str, ok: str, kind: str,
                 mapping: Mapping) -> str:
    """The expression telling whether a candidate row starts its order (``<staged>_orders``
    holds the first row and the number of lines of each repeated transaction id).

    A transaction id on several rows (order lines) starts its order on its first line in
    the file; rows without an id are orders of their own. Ids in strictly rising (or
    falling) order cannot repeat: that takes one streaming pass (:func:`_ids_monotonic`).
    Otherwise the ids are grouped in one pass (a hash table of every id: ~0.6 s at 10M
    unique ids, less when an order's lines are together), keeping the repeated ones.

    Parameters
    ----------
    cur, staged, ok, mapping
        As for :func:`find_repeats`.
    kind
        The kind of rows (only transactions have orders).

    Returns
    -------
    str
        A SQL condition over the staged row ``s`` and its order ``o`` (joined on the
        transaction id only when it is not ``"true"``).
    """
    if kind != "transactions" or "transaction_id" not in mapping.columns:
        return "true"
    if _ids_monotonic(cur, staged, ok):
        cur.execute(f"create temp table {staged}_orders (transaction_id varchar, first_rid bigint, lines bigint)")
        return "true"
    cur.execute(
        f"create temp table {staged}_orders as select transaction_id, min(_rid) as first_rid, count(*) as lines "
        f"from {staged}_v where {ok} and transaction_id is not null group by transaction_id having count(*) > 1")
    if not cur.execute(f"select count(*) from {staged}_orders").fetchall()[0][0]:
        return "true"
    return "coalesce(o.first_rid = s._rid, true)"


def _ids_monotonic(cur: duckdb.DuckDBPyConnection, staged: str, ok: str) -> bool:
    """True when the candidates' transaction ids, read in one stream, rise (or fall) strictly
    from each to the next: then no id repeats, which is proved without grouping them.

    Exports are often sorted by id. ``lag(...) over ()`` is a streaming window (one pass,
    no hash table); whatever order the stream has, a strict rise along one unbroken chain
    means every id differs. Only the first row may lack a predecessor (checked). The search
    stops at the second row that breaks the rise, so a file of order lines or of ids in no
    order costs next to nothing here."""
    stream = (f"select transaction_id, lag(transaction_id) over () as prev from {staged} "
              f"where {ok} and transaction_id is not null")
    for step in (">", "<"):
        # the rows that start a chain or break it; two of them end the search (an order's
        # second line, in an order-line file), so only a monotonic file is read to the end
        odd = cur.execute(f"select count(*) from (select 1 from ({stream}) "
                          f"where prev is null or not transaction_id {step} prev limit 2)").fetchall()[0][0]
        if odd <= 1:
            return True
    return False


def compare_with_database(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping) -> None:
    """Candidates the database has already, in ``<staged>_db``: with the same content
    ('present'), or with a natural key it holds with other values ('conflict_db'), or lines
    of an order it holds with other lines ('amended').

    A row with a natural key meets the stored rows with that key (compared column by
    column); an order line meets its order (:func:`_compare_orders`); a row without either
    meets the stored rows with its content key (``row_key``), which matches only equal
    content. Run again inside the commit's transaction.

    Parameters
    ----------
    cur
        The staging cursor.
    staged
        The staged table; its view ``<staged>_candidates`` holds the rows to import.
    mapping
        The file's mapping.
    """
    kind = mapping.kind
    cur.execute(f"drop table if exists {staged}_db")
    # an empty table holds none of the file's rows: its candidates are not read (a first import)
    stored = cur.execute(f"select exists (select 1 from {kind})").fetchall()[0][0]
    by_content = (f"select c._rid, 'present' as status from {staged}_candidates c "
                  f"join {kind} d on d.row_key = c._key")
    nothing = f"create temp table {staged}_db (_rid bigint, status varchar)"
    if not natural_key_columns(kind, mapping):
        cur.execute(f"create temp table {staged}_db as {by_content}" if stored else nothing)
        if kind == "transactions":
            compare_purchases(cur, staged, mapping)
        return
    keyless_rows = f"union all {by_content} where {keyless(kind, mapping, 'c')}"
    if is_order_file(kind, mapping):
        if not _compare_orders(cur, staged, mapping):  # none of its orders is stored
            cur.execute(f"create temp table {staged}_db as {by_content} where {keyless(kind, mapping, 'c')}"
                        if stored else nothing)
            return
        # the new lines of a continued order are imported; its other lines are present
        cur.execute(
            f"create temp table {staged}_db as "
            f"select c._rid, case when a.transaction_id is null then 'present' else 'amended' end as status "
            f"from {staged}_candidates c semi join {staged}_known using (transaction_id) "
            f"left join {staged}_amended a using (transaction_id) "
            f"anti join (select _rid from {staged}_lines l semi join {staged}_continued using (transaction_id) "
            f"where l.is_new) n using (_rid) {keyless_rows}")
        return
    if not stored:
        cur.execute(nothing)
        return
    same = _same_content(kind, staged_columns(mapping), "c", "d")
    cur.execute(
        f"create temp table {staged}_db as "
        f"select c._rid, case when {same} then 'present' else 'conflict_db' end as status "
        f"from {staged}_candidates c join {kind} d on {same_key(kind, mapping, 'c', 'd')} {keyless_rows}")


def _compare_orders(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping) -> bool:
    """The file's orders the database holds (``<staged>_known``), and those it holds with
    other lines (``<staged>_amended``: per order, how many lines only the file has and how
    many only the database has, counting identical lines). Returns whether it holds any.

    A database without order lines costs nothing. Else each order the database holds is
    first compared by a fingerprint of its lines on either side (how many, and the sum of
    a 64-bit hash of each line's content, :func:`line_fingerprint`: equal for equal
    multisets of lines, in any order); only orders whose fingerprints differ are compared
    line by line (:func:`line_hash`). Two different orders with equal fingerprints would
    need a 64-bit collision of the sums (odds about 1 in 10^19 per order).

    An order is one order however many files its lines come in. The file's lines an order
    lacks (``<staged>_lines.is_new``: lines past the number of identical lines stored) either
    *continue* it (``<staged>_continued``: the file brings lines beside the stored ones, and
    holds all the stored lines or none of them, as an export split over two files does; only
    its new lines are imported) or *amend* it: when a new line takes the place of a stored
    line (the same line id, or the same product; in a file with neither column, when the file
    also lacks stored lines), when the file holds some of the stored lines and lacks others,
    or when it only lacks stored lines."""
    cur.execute(f"drop table if exists {staged}_known")
    cur.execute(f"drop table if exists {staged}_amended")
    cur.execute(f"create temp table {staged}_amended (transaction_id varchar, only_in_file hugeint, "
                f"only_stored hugeint)")
    cur.execute(f"create or replace temp table {staged}_continued (transaction_id varchar)")
    cur.execute(f"create or replace temp table {staged}_lines (_rid bigint, transaction_id varchar, "
                f"h uhugeint, is_new boolean)")
    if not cur.execute("select exists (select 1 from transactions where transaction_id is not null)").fetchall()[0][0]:
        cur.execute(f"create temp table {staged}_known (transaction_id varchar, lines bigint, fingerprint hugeint)")
        return False
    present = staged_columns(mapping)
    cur.execute(f"create temp table {staged}_known as select transaction_id, count(*) as lines, "
                f"{line_fingerprint('c', present)} as fingerprint "
                f"from {staged}_candidates c semi join transactions t using (transaction_id) group by transaction_id")
    if not cur.execute(f"select exists (select 1 from {staged}_known)").fetchall()[0][0]:
        return False
    cur.execute(f"drop table if exists {staged}_changed")
    cur.execute(
        f"create temp table {staged}_changed as "
        f"with d as (select transaction_id, count(*) as lines, {line_fingerprint('t')} as fingerprint "
        f"from transactions t semi join {staged}_known using (transaction_id) group by transaction_id) "
        f"select transaction_id from {staged}_known k join d using (transaction_id) "
        f"where k.lines <> d.lines or k.fingerprint <> d.fingerprint")
    if not cur.execute(f"select exists (select 1 from {staged}_changed)").fetchall()[0][0]:
        return True  # the orders it shares are stored with the same lines: none continued, none amended
    # each file line of a changed order, numbered among the order's lines of the same content:
    # lines past the number stored are the file's new lines
    cur.execute(f"drop table if exists {staged}_lines")
    cur.execute(
        f"create temp table {staged}_lines as "
        f"with f as (select c._rid, c.transaction_id, {line_hash('c', present)} as h "
        f"from {staged}_candidates c semi join {staged}_changed using (transaction_id)), "
        f"d as (select transaction_id, {line_hash('t')} as h, count(*) as stored "
        f"from transactions t semi join {staged}_changed using (transaction_id) group by all) "
        f"select f._rid, f.transaction_id, f.h, row_number() over (partition by f.transaction_id, f.h "
        f"order by f._rid) > coalesce(any_value(d.stored) over (partition by f.transaction_id, f.h), 0) as is_new "
        f"from f left join d using (transaction_id, h)")
    cur.execute(
        f"create or replace temp table {staged}_diff as "
        f"with f as (select transaction_id, h, count(*) as n from {staged}_lines group by all), "
        f"d as (select transaction_id, {line_hash('t')} as h, count(*) as n "
        f"from transactions t semi join {staged}_changed using (transaction_id) group by all), "
        f"diff as (select coalesce(f.transaction_id, d.transaction_id) as transaction_id, "
        f"coalesce(f.n, 0) as in_file, coalesce(d.n, 0) as stored "
        f"from f full outer join d on f.transaction_id = d.transaction_id and f.h = d.h) "
        f"select transaction_id, sum(greatest(in_file - stored, 0)) as only_in_file, "
        f"sum(greatest(stored - in_file, 0)) as only_stored, sum(least(in_file, stored)) as both_sides "
        f"from diff group by transaction_id having only_in_file + only_stored > 0")
    # A new line in the place of a stored one (the same line id, or the same product) amends the
    # order; new lines beside the stored ones continue it (its lines came in several files).
    pairs = [f"t.{c} = c.{c}" for c in ("line_id", "product") if c in present]
    paired = (f"select distinct l.transaction_id from {staged}_lines l join {staged}_candidates c using (_rid) "
              f"join transactions t on t.transaction_id = l.transaction_id and ({' or '.join(pairs)}) "
              f"where l.is_new") if pairs else f"select transaction_id from {staged}_diff where only_stored > 0"
    cur.execute(f"drop table {staged}_amended")
    cur.execute(f"drop table if exists {staged}_continued")
    # the file holds all the stored lines (and more) or none of them (the rest of a split order)
    cur.execute(f"create temp table {staged}_continued as select transaction_id from {staged}_diff "
                f"where only_in_file > 0 and (only_stored = 0 or both_sides = 0) "
                f"and transaction_id not in ({paired})")
    cur.execute(f"create temp table {staged}_amended as select transaction_id, only_in_file, only_stored "
                f"from {staged}_diff anti join {staged}_continued using (transaction_id)")
    return True
