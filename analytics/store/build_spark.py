"""The marts built on Spark (``python -m analytics marts build --engine spark``): the models' SQL files translated by
SQLGlot from DuckDB's dialect to Spark SQL (:func:`spark_sql`), run in build order on a SparkSession, each mart
written as Parquet into its own folder (the layout of :mod:`analytics.store.build`).

Where SQLGlot's translation was wrong or Spark lacked a function, the SQL file was changed so one text serves both
engines (``docs/spark-findings.md``; :data:`UNPORTABLE` lists what the files must not use again). A written mart is
read back from its files for the models after it (the files are the checkpoint); a step (``_`` model) is kept with
``localCheckpoint``.

Needs ``pip install -r requirements-spark.txt`` (pyspark, sqlglot) and Java 17 or later; nothing is downloaded.
"""

from __future__ import annotations

import functools
import os
import re
import time
import warnings
from pathlib import Path

from analytics.store import marts
from analytics.store.build import finish, models, prepare, read_export
from analytics.store.export import ExportError

#: The environment variable naming the Spark master when ``--master`` is not given.
MASTER_VARIABLE = "SPARK_MASTER"
DEFAULT_MASTER = "local[*]"
#: Spark's logging on a local master: errors only (its start-up warnings are not the user's business).
LOGGING = Path(__file__).with_name("spark-log4j2.properties")
#: Driver memory for a local master (the driver does the work there); ``$SPARK_DRIVER_MEMORY`` overrides it.
LOCAL_DRIVER_MEMORY = "4g"

#: DuckDB constructs the models' SQL must not use: each is translated wrongly or not at all, found by the Spark
#: spike (docs/spark-findings.md), with the common form to write instead.
UNPORTABLE: dict[str, tuple[str, str]] = {
    "unpivot_into": (r"\bunpivot\b(?![^;]*\bfor\b)", "the standard unpivot (value for name in (...))"),
    "any_value_filter": (r"\bany_value\s*\([^()]*\)\s*filter\b", "max(x) filter (...)"),
    "arg_max_nulls": (r"\barg_(?:max|min)\s*\((?:[^()]|\([^()]*\))*\)(?!\s*filter\s*\(\s*where\s+[\w.]+\s+is not "
                      r"null)", "arg_max(x, o) filter (where x is not null): Spark's max_by keeps NULLs"),
    "date_minus_date": (r"\b\w*_date\s*-\s*(?:date\s*'|\w*_date\b)", "date_diff('day', a, b)"),
    "arg_min_null": (r"\barg_(?:min|max)_null\s*\(", "row_number() over (...) and max(...) filter (...)"),
    "n_smallest": (r"\b(?:min|max)\s*\([^(),]+,\s*\d+\s*\)", "row_number() over (...)"),
    "ordered_list": (r"\b(?:list|array_agg)\s*\([^()]*\border\s+by\b", "list_sort(list(...))"),
    "range_table": (r"\bfrom\s+range\s*\(", "from (select unnest(generate_series(a, b)) as k)"),
}


def unportable(sql: str) -> list[str]:
    """The :data:`UNPORTABLE` constructs found in ``sql`` (comments removed first)."""
    text = re.sub(r"--[^\n]*", "", sql).lower()
    return [name for name, (pattern, _) in UNPORTABLE.items() if re.search(pattern, text)]


def _tools():
    try:
        with warnings.catch_warnings():  # (pyspark warns that pandas 3 is newer than it has tested)
            warnings.simplefilter("ignore", FutureWarning)
            import pyspark
            import pyspark.sql  # noqa: F401
        import sqlglot
    except ImportError as exc:
        raise ExportError(f"building on Spark needs pyspark and sqlglot ({exc.name} is missing): "
                          "pip install -r requirements-spark.txt") from exc
    return sqlglot


@functools.cache
def spark_sql(name: str) -> str:
    """Model ``name``'s SQL in Spark's dialect (SQLGlot, DuckDB → Spark)."""
    statements = _tools().transpile(marts.model_sql(name), read="duckdb", write="spark")
    if len(statements) != 1:
        raise ExportError(f"model {name} is {len(statements)} statements, not one")
    return statements[0]


def local_cores(master: str) -> int | None:
    """The cores a ``local`` master uses (None for any other master)."""
    found = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\s*\d+)?\])?", master)
    if not found:
        return None
    return os.cpu_count() or 1 if found.group(1) in (None, "*") else int(found.group(1))


def session(master: str | None = None, driver_memory: str | None = None):
    """A SparkSession on ``master`` (default ``$SPARK_MASTER``, else ``local[*]``), in UTC, without its web UI; on a
    local master with a few shuffle partitions per core (the default 200 are tasks of nothing at this size). The
    process's running session when it has one (its settings stay as they are)."""
    _tools()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    master = master or os.environ.get(MASTER_VARIABLE) or DEFAULT_MASTER
    builder = (SparkSession.builder.master(master).appName("crm-marts")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
               .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false"))
    cores = local_cores(master)
    if cores is not None:  # (on a cluster, its own settings for memory and logging stand)
        builder = (builder.config("spark.sql.shuffle.partitions", str(max(4, 2 * cores)))
                   .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{LOGGING}")
                   .config("spark.driver.memory", driver_memory or os.environ.get("SPARK_DRIVER_MEMORY")
                           or LOCAL_DRIVER_MEMORY))
    elif driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            spark = builder.getOrCreate()
    except Exception as exc:  # (pyspark raises its own error when the JVM does not start)
        if "JAVA" in str(exc).upper():
            raise ExportError("Spark could not start Java: install Java 17 or later (Debian: apt-get install "
                              f"openjdk-17-jre-headless) or set JAVA_HOME ({exc})") from exc
        raise
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def register_export(spark, source: Path, export: dict) -> None:
    """Each table of the export in ``source`` as a temp view with the manifest's columns (the ``month`` folders read
    as partitions, then left out)."""
    for table, about in export["tables"].items():
        folder = str(source / table)
        frame = spark.read.option("basePath", folder).parquet(folder)
        frame.select(*about["columns"]).createOrReplaceTempView(table)


def build_spark(source: str | Path, target: str | Path, *, master: str | None = None,
                driver_memory: str | None = None, spark=None) -> dict:
    """Build every model on Spark from the export in ``source`` into ``target`` (:mod:`analytics.store.build`);
    returns the output's manifest. ``spark``: a running session to use (else :func:`session`'s; one it started is
    stopped after the build)."""
    read_export(source)  # (before anything else: a folder that is no export says so)
    started = time.perf_counter()
    for name in models():
        found = unportable(marts.model_sql(name))
        if found:
            raise ExportError(f"model {name} uses {', '.join(found)}, which Spark cannot run as DuckDB does: write "
                              f"{'; '.join(UNPORTABLE[f][1] for f in found)}")
    sqls = {name: spark_sql(name) for name in models()}
    translate_s = round(time.perf_counter() - started, 3)
    source, target, export = prepare(source, target)
    started = time.perf_counter()
    if spark is None:
        from pyspark.sql import SparkSession

        own = SparkSession.getActiveSession() is None
        spark = session(master, driver_memory)
    else:
        own = False
    start_s = round(time.perf_counter() - started, 3)
    try:
        started = time.perf_counter()
        register_export(spark, source, export)
        register_s = round(time.perf_counter() - started, 3)
        built = {}
        for name, sql in sqls.items():
            started = time.perf_counter()
            frame = spark.sql(sql)
            if name.startswith("_"):
                frame.localCheckpoint(eager=True).createOrReplaceTempView(name)
                continue
            frame.write.parquet(str(target / name))
            back = spark.read.parquet(str(target / name))
            back.createOrReplaceTempView(name)
            built[name] = {"rows": back.count(), "seconds": round(time.perf_counter() - started, 3)}
        import pyspark

        return finish(target, source, export, "spark", built, master=spark.sparkContext.master,
                      spark=pyspark.__version__, session_seconds=start_s, translate_seconds=translate_s,
                      register_seconds=register_s)
    finally:
        if own:
            spark.stop()
