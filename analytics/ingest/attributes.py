"""Customer attributes from sales files: the customer's name, segment, province and city that
a transactions file carries on its lines.

They are not stored on the lines (:attr:`~analytics.ingest.schema.Column.stored`); they fill the
customer dimension. A commit writes them into ``customer_attributes`` (:func:`write_attributes`:
one row per import, customer and combination of values, with the number of its lines that
said it) and an undo takes them out again (:func:`remove_attributes`). The derived table
``customer_attribute_values`` ranks each customer's values and ``customer_summary`` shows the
first where the customers file is silent (``analytics/store/sql/marts/``).

A customer given two values for one attribute, across the lines of a file or across imports,
is never silently settled: the import report lists it (:func:`note_conflicts`) and so does
the data-quality check ``customer_attribute_conflicts``.
"""

from __future__ import annotations

import duckdb

from analytics.ingest.mapping import Mapping
from analytics.ingest.report import LIST_LIMIT, ImportReport
from analytics.ingest.schema import COLUMNS

#: The transactions columns that describe the customer (kept in the customers kind's columns).
ATTRIBUTES: tuple[str, ...] = tuple(
    c.name for c in COLUMNS["transactions"]
    if not c.stored and c.name in {k.name for k in COLUMNS["customers"]})


def attribute_columns(mapping: Mapping) -> list[str]:
    """The customer attributes a file carries (none but for a transactions file)."""
    return [a for a in ATTRIBUTES if a in mapping.columns] if mapping.kind == "transactions" else []


def write_attributes(cur: duckdb.DuckDBPyConnection, lines: str, mapping: Mapping, import_id: int) -> None:
    """Write what the lines an import adds say about their customers into
    ``customer_attributes`` (inside the commit's transaction).

    Parameters
    ----------
    cur
        The staging cursor, in the commit's transaction.
    lines
        The FROM clause of the lines the import writes (staged rows, alias ``c``).
    mapping
        The file's mapping.
    import_id
        The import.
    """
    said = attribute_columns(mapping)
    if not said:
        return
    values = ", ".join(f"c.{a}" if a in said else "null" for a in ATTRIBUTES)
    cur.execute(
        f"insert into customer_attributes (import_id, customer_id, {', '.join(ATTRIBUTES)}, lines) "
        f"select ?, c.customer_id, {values}, count(*) from {lines} "
        f"where {' or '.join(f'c.{a} is not null' for a in said)} "
        f"group by c.customer_id, {', '.join(f'c.{a}' for a in said)}", [import_id])


def remove_attributes(cur: duckdb.DuckDBPyConnection, import_id: int) -> None:
    """Take out what import ``import_id`` said about its customers (inside the undo's transaction)."""
    cur.execute("delete from customer_attributes where import_id = ?", [import_id])


def note_conflicts(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping, ok: str,
                   report: ImportReport) -> None:
    """List the customers given two or more values for an attribute by this file's valid lines
    and the imports before it, where the customers file gives none (its value wins); note how
    many customers.

    Each entry of ``report.attribute_conflicts`` (the first :data:`LIST_LIMIT`, by the line
    where the customer first appears) holds ``customer_id``, ``attribute``, ``line`` and
    ``values``: each value with ``lines_in_file`` and ``lines_stored`` (the lines of earlier
    imports that said it), most said first. Only conflicts this file takes part in are listed.

    Parameters
    ----------
    cur
        The staging cursor.
    staged
        The staged table (its view ``<staged>_v`` gives each row's line).
    mapping
        The file's mapping.
    ok
        The condition of a valid row.
    report
        The report to fill.
    """
    said = attribute_columns(mapping)
    if not said:
        return
    names = ", ".join(said)
    everything = ", ".join(ATTRIBUTES)
    rows = cur.execute(
        # what the file's valid lines say, per customer, attribute and value
        f"with file as (select customer_id, {names}, count(*) as lines, min(_line) as line "
        f"from {staged}_v where {ok} group by customer_id, {names}), "
        f"in_file as (select customer_id, attribute, value, sum(lines) as lines, min(line) as line "
        f"from (unpivot file on {names} into name attribute value value) group by all), "
        # what earlier imports said about these customers, and what the customers file gives
        "stored as (select customer_id, attribute, value, lines from customer_attribute_values "
        "semi join (select distinct customer_id from file) using (customer_id)), "
        f"given as (unpivot (select customer_id, {everything} from customers) on {everything} "
        "into name attribute value value), "
        "seen as (select customer_id, attribute, value, coalesce(f.lines, 0) as in_file, "
        "coalesce(s.lines, 0) as stored, f.line "
        "from in_file f full join stored s using (customer_id, attribute, value) "
        "anti join given using (customer_id, attribute)), "
        # the attributes with two values or more, where this file says one of them
        "pairs as (select customer_id, attribute, min(min(line)) over (partition by customer_id) as line, "
        "count(distinct customer_id) over () as customers from seen group by customer_id, attribute "
        "having count(*) > 1 and sum(in_file) > 0) "
        "select p.customers, p.customer_id, p.attribute, p.line, "
        "list({'value': s.value, 'lines_in_file': s.in_file, 'lines_stored': s.stored} "
        "order by s.in_file + s.stored desc, s.value) "
        "from pairs p join seen s using (customer_id, attribute) "
        f"group by all order by p.line, p.customer_id, p.attribute limit {LIST_LIMIT}").fetchall()
    if not rows:
        return
    report.attribute_conflicts = [
        {"customer_id": r[1], "attribute": r[2], "line": r[3],
         "values": [{k: int(v) if k != "value" else v for k, v in item.items()} for item in r[4]]}
        for r in rows]
    report.notes.append(
        f"{rows[0][0]} {'customer has' if rows[0][0] == 1 else 'customers have'} more than one name"
        f", segment, province or city in this file or against "
        "earlier imports (listed under attribute conflicts); the customer summary shows the value on most lines "
        "(ties: the latest import)")
