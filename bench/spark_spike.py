"""Spike (not part of the app): build the marts and summaries on Spark from the same SQL files and
compare every table with DuckDB's.

    python bench/spark_spike.py [--db /tmp/spark_demo.duckdb] [--work /tmp/spark_spike] [--json out.json]

1. Copies the demo database (built by ``python -m analytics --db ... demo`` with the models as they were) and
   rebuilds every model there with the SQL files of this checkout, timing each build (DuckDB reference).
   Each non-temporary table of the copy is compared with the original database's: a rewrite of a
   model must leave DuckDB's rows unchanged.
2. Exports the base tables the models read (``analytics.store.marts.inputs``) to Parquet.
3. One SparkSession ``local[2]``; the Parquet files become temp views; each model, in MARTS then
   SUMMARIES order, is transpiled with ``sqlglot.transpile(sql, read="duckdb", write="spark")``, run
   and materialised (``localCheckpoint``) as a temp view for later models, and compared with the
   DuckDB reference: columns, row count, rows order-independently (exact for text, integers, dates and
   decimals; doubles within 1e-9 relative; timestamps at midnight taken as dates; structs and lists as
   Python values). A model that fails or differs is replaced by DuckDB's table (via Parquet) for the
   models after it, so each model is judged on equal inputs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import sqlglot

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.store import marts  # noqa: E402
from analytics.store.marts import MARTS, SUMMARIES, inputs, model_sql  # noqa: E402

MODELS = MARTS + SUMMARIES
REL_TOL = 1e-9


# ---------------------------------------------------------------------------------------------- values
def norm(value):
    """A value from DuckDB or Spark as a comparable Python value."""
    if value is None:
        return None
    if hasattr(value, "asDict"):  # a Spark Row (struct)
        value = value.asDict(recursive=False)
    if isinstance(value, dict):
        return tuple(sorted((str(k), norm(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("<list>", tuple(norm(v) for v in value))
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.date() if value.time() == dt.time(0) else value
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return value.normalize() if value == value.to_integral_value() else value  # 5.00 == 5
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        return value
    return value


def sort_key(row):
    """Rows sorted by this key line up when they are equal (floats rounded for the key only)."""
    def k(v):
        if v is None:
            return (0, "")
        if isinstance(v, float):
            return (1, f"{v:.6e}" if math.isfinite(v) else str(v))
        if isinstance(v, (int, Decimal)):
            return (1, f"{float(v):.6e}")
        return (2, repr(v))
    return tuple(k(v) for v in row)


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        try:
            fa, fb = float(a), float(b)
        except (TypeError, ValueError):
            return False
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return fa == fb or abs(fa - fb) <= REL_TOL * max(abs(fa), abs(fb))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return Decimal(str(a)) == Decimal(str(b))
    return a == b


def compare(ref_rows, got_rows):
    """(equal, detail): rows compared order-independently."""
    ref = sorted((tuple(norm(v) for v in r) for r in ref_rows), key=sort_key)
    got = sorted((tuple(norm(v) for v in r) for r in got_rows), key=sort_key)
    if len(ref) != len(got):
        only_ref = set(map(repr, ref)) - set(map(repr, got))
        return False, {"rows_duckdb": len(ref), "rows_spark": len(got),
                       "first_only_in_duckdb": sorted(only_ref)[:3],
                       "first_only_in_spark": sorted(set(map(repr, got)) - set(map(repr, ref)))[:3]}
    diffs = [(i, r, g) for i, (r, g) in enumerate(zip(ref, got, strict=True)) if not same(r, g)]
    if not diffs:
        return True, {}
    return False, {"rows_differing": len(diffs),
                   "first_differing": [{"duckdb": repr(r), "spark": repr(g)} for _, r, g in diffs[:3]]}


# ---------------------------------------------------------------------------------------------- steps
def duckdb_reference(db: Path, work: Path):
    """Rebuild every model on a copy of ``db`` with this checkout's SQL; time each; compare the copy's
    tables with the original's (a rewrite must not change DuckDB's rows)."""
    ref_db = work / "reference.duckdb"
    shutil.copy(db, ref_db)
    con = duckdb.connect(str(ref_db))
    times = {}
    for name in MODELS:
        temp = "temp " if name.startswith("_") else ""
        started = time.perf_counter()
        con.execute(f"create or replace {temp}table {name} as {model_sql(name)}")
        times[name] = time.perf_counter() - started
    orig = duckdb.connect(str(db), read_only=True)
    unchanged = {}
    for name in MODELS:
        if name.startswith("_"):
            continue
        ok, detail = compare(orig.execute(f"select * from {name}").fetchall(),
                             con.execute(f"select * from {name}").fetchall())
        same_cols = [c[0] for c in orig.execute(f"describe {name}").fetchall()] == \
                    [c[0] for c in con.execute(f"describe {name}").fetchall()]
        same_types = [c[1] for c in orig.execute(f"describe {name}").fetchall()] == \
                     [c[1] for c in con.execute(f"describe {name}").fetchall()]
        unchanged[name] = {"rows_equal": ok, "columns_equal": same_cols, "types_equal": same_types, **detail}
    orig.close()
    return con, times, unchanged


def export_base(con, work: Path) -> dict[str, Path]:
    models = set(MODELS)
    base = sorted(set().union(*(inputs(m) for m in MODELS)) - models)
    out = {}
    for table in base:
        path = work / "parquet" / f"{table}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        # row_key (UHUGEINT: no Parquet or Spark type) is read by no model
        cols = [c[0] for c in con.execute(f"describe {table}").fetchall() if c[0] != "row_key"]
        con.execute(f"copy (select {', '.join(cols)} from {table}) to '{path}' (format parquet)")
        out[table] = path
    return out


def spark_session():
    from pyspark.sql import SparkSession
    started = time.perf_counter()
    spark = (SparkSession.builder.master("local[2]").appName("spark-spike")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.shuffle.partitions", "4")
             .config("spark.driver.memory", "2g")
             .getOrCreate())
    spark.sparkContext.setLogLevel("OFF")
    spark.range(1).collect()
    return spark, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="/tmp/spark_demo.duckdb")
    parser.add_argument("--work", default="/tmp/spark_spike")
    parser.add_argument("--json", default=None)
    parser.add_argument("--sql-dir", default=None, help="models' SQL from here (default: this checkout's)")
    parser.add_argument("--only", nargs="*", default=None, help="models to report (all are built)")
    args = parser.parse_args()
    work = Path(args.work)
    if args.sql_dir:
        marts.MARTS_DIR = Path(args.sql_dir)
    shutil.rmtree(work, ignore_errors=True)
    (work / "spark_sql").mkdir(parents=True)

    con, duck_times, unchanged = duckdb_reference(Path(args.db), work)
    base = export_base(con, work)

    spark, start_s = spark_session()
    import pyspark
    print(f"spark {pyspark.__version__} session start {start_s:.1f} s; sqlglot {sqlglot.__version__}; "
          f"duckdb {duckdb.__version__}", flush=True)
    for table, path in base.items():
        spark.read.parquet(str(path)).createOrReplaceTempView(table)

    results = []
    for name in MODELS:
        res = {"model": name, "translated": False, "ran": False, "equal": False,
               "duckdb_s": round(duck_times[name], 3)}
        sql = model_sql(name)
        try:
            spark_sql = sqlglot.transpile(sql, read="duckdb", write="spark", pretty=True)
            assert len(spark_sql) == 1, f"{len(spark_sql)} statements"
            spark_sql = spark_sql[0]
            (work / "spark_sql" / f"{name}.sql").write_text(spark_sql + "\n")
            res["translated"] = True
        except Exception as e:
            res["error"] = f"transpile: {type(e).__name__}: {e}"
        if res["translated"]:
            try:
                started = time.perf_counter()
                df = spark.sql(spark_sql).localCheckpoint(eager=True)
                res["spark_s"] = round(time.perf_counter() - started, 3)
                rows = df.collect()
                res["ran"] = True
            except Exception as e:
                msg = " | ".join(ln.strip() for ln in str(e).splitlines() if ln.strip() and not ln.startswith("\tat "))
                res["error"] = f"spark: {type(e).__name__}: {msg[:700]}"
        if res["ran"]:
            ref_rows = con.execute(f"select * from {name}").fetchall()
            duck_cols = con.execute(f"describe {name}").fetchall()
            res["columns_duckdb"] = [f"{c[0]} {c[1]}" for c in duck_cols]
            res["columns_spark"] = [f"{f.name} {f.dataType.simpleString()}" for f in df.schema.fields]
            res["columns_equal"] = [c[0] for c in duck_cols] == df.columns
            ok, detail = compare(ref_rows, rows)
            res["rows"] = len(ref_rows)
            res["equal"] = ok and res["columns_equal"]
            res.update(detail)
            if ok and res["columns_equal"]:
                df.createOrReplaceTempView(name)
        if not res["equal"]:  # later models read DuckDB's table
            path = work / "parquet" / f"{name}.parquet"
            con.execute(f"copy {name} to '{path}' (format parquet)")
            spark.read.parquet(str(path)).createOrReplaceTempView(name)
            res["downstream_reads_duckdb_table"] = True
        results.append(res)
        flag = "OK " if res["equal"] else "BAD"
        print(f"{flag} {name:28} translated={res['translated']} ran={res['ran']} equal={res['equal']} "
              f"rows={res.get('rows')} spark={res.get('spark_s')}s duckdb={res['duckdb_s']}s", flush=True)
        if not res["equal"]:
            for key in ("error", "rows_duckdb", "rows_spark", "rows_differing", "first_differing",
                        "first_only_in_duckdb", "first_only_in_spark"):
                if key in res:
                    print(f"      {key}: {res[key]}", flush=True)
            if res.get("ran") and not res.get("columns_equal"):
                print(f"      columns duckdb {res['columns_duckdb']}\n      columns spark  {res['columns_spark']}")

    print("DuckDB rebuild with this checkout's SQL vs the original database:")
    for name, u in unchanged.items():
        print(f"  {name:28} {u}", flush=True)
    summary = {"versions": {"pyspark": pyspark.__version__, "sqlglot": sqlglot.__version__,
                            "duckdb": duckdb.__version__},
               "spark_session_start_s": round(start_s, 2), "models": results, "duckdb_unchanged": unchanged}
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1, default=str) + "\n")
    spark.stop()
    return 0 if all(r["equal"] for r in results) and all(u["rows_equal"] for u in unchanged.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
