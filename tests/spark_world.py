"""The data the Spark parity suite builds the marts from (tests/test_spark_parity.py).

The demo's files through the real pipeline, then what the demo lacks and where the engines were seen to differ
(docs/spark-findings.md: the demo alone passed a wrong translation of ``arg_max``), written straight into the
canonical tables:

- sales-file customer attributes (the demo has none): conflicting values, ties across imports, NULLs;
- a later customers import whose rows leave name, region and segment NULL (the latest *value* must win, not the
  latest row);
- customers known only from their transactions (their customers-file rows removed);
- a later stage-log row without customer, region or outcome for some leads;
- anonymous survey answers (no customer), which the demo lacks;
- months with returns only (a return a month after a customer's last purchase), and gaps of more than 720 days
  (a purchase 800 days before a customer's first), which the churn marts treat apart.

Then the embedded database's marts and summaries are rebuilt, so it serves the same data as the export.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from analytics.ingest.demo import load_demo
from analytics.store import marts
from analytics.store.connection import connect, write_transaction


def add_edges(con: duckdb.DuckDBPyConnection, customers: int) -> dict[str, int]:
    """Add the module docstring's rows for about ``customers`` customers' worth of data; returns rows added per
    kind."""
    many, few = max(30, customers // 7), max(10, customers // 50)
    with write_transaction(con) as cur:
        top = cur.execute("select max(import_id) from imports").fetchall()[0][0] + 100
        cur.execute(f"""
            insert into customer_attributes (import_id, customer_id, customer_name, segment, province, city, lines)
            select {top} + (i % 3), customer_id,
                   case when i % 7 = 0 then null else 'Name ' || (i % 4) end,
                   case when i % 5 = 0 then null else ['Consumer', 'Corporate', 'Home Office'][1 + i % 3] end,
                   case when i % 11 = 0 then null else 'P' || (i % 2) end,
                   'City ' || (i % 3), 1 + (i % 4)
            from (select customer_id, row_number() over (order by customer_id) as i
                  from (select distinct customer_id from transactions) order by customer_id limit {many})""")
        columns = [r[0] for r in cur.execute("describe customers").fetchall() if r[0] != "row_key"]
        cur.execute(f"""
            insert into customers ({', '.join(columns)})
            select {top + 10}, line + 1000000, customer_id, null, null, null, acquired_date, acquisition_channel,
                   null, province, 'New City'
            from customers where customer_id in (select customer_id from customers order by customer_id
                                                 limit {few * 2})""")
        cur.execute("delete from customers where customer_id in (select distinct customer_id from customers "
                    f"order by customer_id desc limit {few * 2})")
        columns = [r[0] for r in cur.execute("describe leads").fetchall() if r[0] != "row_key"]
        cur.execute(f"""
            insert into leads ({', '.join(columns)})
            select {top + 20}, line + 1000000, lead_id, created_date, 'target', null, null, source, sales_rep,
                   null, null, null, null, coalesce(stage_date, created_date) + 1
            from (select * from leads where customer_id is not null and outcome is not null order by lead_id
                  limit {few * 2})""")
        columns = [r[0] for r in cur.execute("describe feedback").fetchall() if r[0] != "row_key"]
        cur.execute(f"""
            insert into feedback ({', '.join(columns)})
            select {top + 30}, line + 1000000, 'ANON-' || feedback_id, null, feedback_date, score, scale,
                   feedback_kind, category, resolved_date, comment, original_score, original_scale
            from feedback where score is not null order by feedback_id limit {few * 3}""")
        columns = [r[0] for r in cur.execute("describe transactions").fetchall() if r[0] != "row_key"]

        def copied(import_id: int, tag: str, day: str, amount: str, is_return: str) -> str:
            changes = {"import_id": str(import_id), "line": "line + 1000000", "transaction_id": f"'{tag}' || line",
                       "order_date": day, "amount": amount, "is_return": is_return, "is_order_start": "true"}
            return ", ".join(changes.get(c, c) for c in columns)

        cur.execute(f"""
            insert into transactions ({', '.join(columns)})
            select {copied(top + 40, 'EDGE-R', 'last + 35', '-abs(amount)', 'true')}
            from (select t.*, max(order_date) over (partition by customer_id) as last,
                         row_number() over (partition by customer_id order by order_date desc, line) as n
                  from transactions t where not is_return)
            where n = 1 and last + 35 < (select max(order_date) from transactions)
            order by customer_id limit {few * 2}""")
        cur.execute(f"""
            insert into transactions ({', '.join(columns)})
            select {copied(top + 41, 'EDGE-G', 'first - 800', 'abs(amount)', 'false')}
            from (select t.*, min(order_date) over (partition by customer_id) as first,
                         row_number() over (partition by customer_id order by order_date, line) as n
                  from transactions t where not is_return)
            where n = 1 order by customer_id desc limit {few * 2}""")
        cur.execute("update meta set value = value + 1 where key = 'data_version'")
        marts.rebuild(cur)
    marts.summarize(con)
    counts = con.execute(
        "select (select count(*) from customer_attributes), (select count(*) from leads where import_id = ?), "
        "(select count(*) from customers where import_id = ?), (select count(*) from feedback where import_id = ?), "
        "(select count(*) from transactions where import_id = ?), (select count(*) from transactions where "
        "import_id = ?)", [top + 20, top + 10, top + 30, top + 40, top + 41]).fetchall()[0]
    return dict(zip(("customer_attributes", "lead_log_rows", "customers_later", "anonymous_answers",
                     "returns_only_months", "long_gaps"), counts, strict=True))


def database(folder: Path, customers: int, seed: int = 3) -> tuple[Path, dict[str, int]]:
    """The demo at ``customers`` customers with the edge rows, in ``folder/crm.duckdb``."""
    path = folder / "crm.duckdb"
    con = connect(path)
    try:
        load_demo(con, size=customers, seed=seed, folder=folder / "files")
        added = add_edges(con, customers)
    finally:
        con.close()
    return path, added
