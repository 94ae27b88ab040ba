"""The parity suite at a million transaction lines (issue 16): the demo generated at 37,000 customers (about 1M sales
lines, with its feedback and leads) plus the edge rows (tests/spark_world.py), exported, built on DuckDB and on Spark
``local[2]``, every mart and summary compared (tests/mart_compare.py). The small world's module
(tests/test_spark_parity.py) covers the pages' reports and the bad paths; this one the same SQL at a size where
Spark splits the work into many tasks and partitions (shuffles, spills of sorts and windows across partitions).
"""

from __future__ import annotations

import pytest
from mart_compare import differences
from spark_world import database
from test_spark_parity import spark  # noqa: F401 (the module's session: started here, stopped after)

from analytics.store import build, build_spark
from analytics.store.connection import connect
from analytics.store.export import export_parquet

pytestmark = [pytest.mark.spark, pytest.mark.slow]

#: Customers of the generated demo: about 1M sales lines.
CUSTOMERS = 37_000


def test_a_million_lines_give_the_same_marts_on_both_engines(tmp_path, spark):  # noqa: F811
    db, _ = database(tmp_path, customers=CUSTOMERS, seed=11)
    con = connect(db, read_only=True)
    try:
        lines = con.execute("select count(*) from transactions").fetchall()[0][0]
        export_parquet(con, tmp_path / "export")
    finally:
        con.close()
    assert lines >= 1_000_000
    duck = build.build_duckdb(tmp_path / "export", tmp_path / "duckdb")
    on_spark = build_spark.build_spark(tmp_path / "export", tmp_path / "spark", spark=spark)
    assert {m: a["rows"] for m, a in on_spark["models"].items()} == {m: a["rows"] for m, a in duck["models"].items()}
    assert differences(tmp_path / "duckdb", tmp_path / "spark", build.written()) == {}
