"""Sales rows without order numbers that amend stored ones.

Such a row is identified by its content, so a corrected amount would make a second purchase
beside the first. :func:`compare_purchases` finds the file's rows that amend a stored row
instead (the rule is in its docstring); :mod:`analytics.ingest.orders` keeps or replaces them
as it does amended orders.
"""

from __future__ import annotations

import duckdb

from analytics.ingest.layout import staged_columns
from analytics.ingest.mapping import Mapping
from analytics.ingest.schema import column

#: The type each compared column has where it is stored (a row's content is hashed as it is stored).
STORED_TYPES = {"id": "varchar", "text": "varchar", "date": "date", "money": "decimal(18, 4)",
                "number": "double"}

#: What names the purchase a sales row without an order number records: its customer, date and
#: descriptive columns. Two such rows with the same of these and other figures (amount,
#: quantity, cost) are one purchase told twice: the later one amends it.
PURCHASE_COLUMNS: tuple[str, ...] = ("customer_id", "order_date", "product", "category", "region", "channel",
                                     "sales_rep")


def purchase_key(alias: str, present: frozenset[str] | None = None) -> str:
    """128 bits of md5 over a sales row's :data:`PURCHASE_COLUMNS`, each as stored (columns
    outside ``present`` empty): the same for the row in a file and stored."""
    parts = ", ".join(
        f"coalesce(cast(cast({alias}.{name} as {STORED_TYPES[column('transactions', name).type]}) as varchar), chr(0))"
        if present is None or name in present else "chr(0)" for name in PURCHASE_COLUMNS)
    return f"md5_number(concat_ws(chr(31), {parts}))"


def compare_purchases(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping) -> None:
    """Sales rows without order numbers that amend stored ones, in ``<staged>_amended_rows``
    (the file's row, the stored row it amends) and as 'amended' in ``<staged>_db``.

    A row is compared by its content, so a corrected amount makes a new row. The rule: in a
    file with a product column, a new row with a product amends a stored row without an order
    number that the file does not hold when both name the same purchase
    (:data:`PURCHASE_COLUMNS`: customer, date, product, category, region, channel, sales rep)
    with other figures (a file without products cannot tell a corrected purchase from a second
    one the same day: its rows are added); within one purchase the file's
    new rows and the stored rows it lacks are paired in their order (file line, stored order),
    and new rows past the pairs are new purchases. Only stored rows in the file's span of
    dates are read (a file of new dates costs one look-up)."""
    cur.execute(f"drop table if exists {staged}_amended")
    cur.execute(f"create temp table {staged}_amended (transaction_id varchar, only_in_file hugeint, "
                f"only_stored hugeint)")
    cur.execute(f"create or replace temp table {staged}_amended_rows (_rid bigint, stored_rowid bigint)")
    present = staged_columns(mapping)
    if "product" not in present:  # without the product, a second purchase the same day looks alike
        return
    if not cur.execute("select exists (select 1 from transactions where transaction_id is null)").fetchall()[0][0]:
        return  # no stored row without an order number: the file's candidates are not read
    first, last = cur.execute(f"select min(order_date), max(order_date) from {staged}_candidates").fetchall()[0]
    stored = ("from transactions t where t.transaction_id is null and t.order_date between ? and ?")
    if first is None or not cur.execute(f"select exists (select 1 {stored})", [first, last]).fetchall()[0][0]:
        return
    cur.execute(
        f"insert into {staged}_amended_rows "
        f"with new as (select c._rid, {purchase_key('c', present)} as p from {staged}_candidates c "
        f"anti join {staged}_db using (_rid) where c.product is not null), "
        f"lacked as (select t.rowid as stored_rowid, {purchase_key('t')} as p {stored} "
        f"and t.row_key not in (select _key from {staged}_candidates)), "
        f"f as (select _rid, p, row_number() over (partition by p order by _rid) as k "
        f"from new semi join lacked using (p)), "
        f"d as (select stored_rowid, p, row_number() over (partition by p order by stored_rowid) as k "
        f"from lacked semi join new using (p)) "
        f"select f._rid, d.stored_rowid from f join d using (p, k)", [first, last])
    cur.execute(f"insert into {staged}_db select _rid, 'amended' from {staged}_amended_rows")
