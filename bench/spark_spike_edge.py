"""Spike (not part of the app): an edge-case database for bench/spark_spike.py.

    python bench/spark_spike_edge.py --db /tmp/spark_demo.duckdb --out /tmp/spark_edge.duckdb --models-dir DIR

Copies the demo database and adds what the demo data lacks, then rebuilds every model with the SQL in
``--models-dir`` (the models before a rewrite, e.g. a checkout of main): sales files' customer attributes
(customer_attributes is empty in the demo: conflicting values, ties, NULLs) and a later customers import whose
rows leave some attributes NULL (arg_max must then take the earlier import's value).
"""
import argparse
import shutil
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from analytics.store.marts import MARTS, SUMMARIES

p = argparse.ArgumentParser()
p.add_argument("--db", default="/tmp/spark_demo.duckdb")
p.add_argument("--out", default="/tmp/spark_edge.duckdb")
p.add_argument("--models-dir", required=True)
a = p.parse_args()
shutil.copy(a.db, a.out)
con = duckdb.connect(a.out)
top = con.execute("select max(import_id) from customers").fetchall()[0][0] + 100
con.execute(f"""
insert into customer_attributes
select {top} + (i % 3), customer_id,
       case when i % 7 = 0 then null else 'Name ' || (i % 4) end,
       case when i % 5 = 0 then null else ['Consumer', 'Corporate', 'Home Office'][1 + i % 3] end,
       case when i % 11 = 0 then null else 'P' || (i % 2) end,
       'City ' || (i % 3),
       1 + (i % 4)
from (select customer_id, row_number() over (order by customer_id) as i
      from (select distinct customer_id from transactions) order by customer_id limit 3000)
""")
cols = [c[0] for c in con.execute("describe customers").fetchall()]
# a later customers import: NULL name, region and segment for 400 customers, a new city for them
con.execute(f"""
insert into customers ({', '.join(c for c in cols if c != 'row_key')})
select {top + 10}, line + 1000000, customer_id, null, null, null, acquired_date, acquisition_channel, null,
       province, 'New City'
from customers where customer_id in (select customer_id from customers order by customer_id limit 400)
""")
# customers known only from transactions: drop 500 customers' rows from the customers file
con.execute("delete from customers where customer_id in "
            "(select distinct customer_id from customers order by customer_id desc limit 500)")
# a later leads import (a stage-change log): a newer row for 300 leads without customer, outcome or region
lcols = [c[0] for c in con.execute("describe leads").fetchall() if c[0] != "row_key"]
con.execute(f"""
insert into leads ({', '.join(lcols)})
select {top + 20}, line + 1000000, lead_id, created_date, 'target', null, null, source, sales_rep,
       null, null, null, null, coalesce(stage_date, created_date) + 1
from (select * from leads where customer_id is not null and outcome is not null order by lead_id limit 300)
""")
for name in MARTS + SUMMARIES:
    temp = "temp " if name.startswith("_") else ""
    con.execute(f"create or replace {temp}table {name} as {(Path(a.models_dir) / (name + '.sql')).read_text()}")
for name in MARTS + SUMMARIES:
    if name.startswith("_"):
        con.execute(f"drop table {name}")
print("customer_attributes", con.execute("select count(*) from customer_attributes").fetchall(),
      "customer_attribute_values", con.execute("select count(*) from customer_attribute_values").fetchall())
