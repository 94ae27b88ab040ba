"""The parity suite (issue 16): the same marts from the same SQL files on DuckDB and on Spark ``local[2]``.

The demo's files through the real pipeline plus the edge rows the engines were seen to differ on
(tests/spark_world.py), exported to Parquet (``export --parquet``), built by ``marts build --engine duckdb`` and by
``--engine spark`` in one Spark session for the whole module, and compared model by model (tests/mart_compare.py:
the same columns and type families, the same rows; exact but for doubles, 1e-9 relative); then every page's
``report --json`` served from either build (``--marts``) and from the embedded database, for two users. A check
rejects the DuckDB constructs SQLGlot translates wrongly (``build_spark.UNPORTABLE``), and a mutation shows the edge
rows catch the one the demo alone hid. Last, the same comparison at a million transaction lines (the demo generated
at 37,000 customers plus the edge rows): a size where Spark splits the work into many tasks and partitions (shuffles,
sorts and windows across partitions). It runs in the module's session after the small build, so on a JVM already
warm (one module, one session: about 25 s less than a session of its own).

Needs pyspark, sqlglot (requirements-spark.txt) and Java 17: ``.ci/run`` installs them; without them these tests
are skipped, except under ``CI`` where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from mart_compare import differences
from served_util import REGION, assert_same_figures, every_page_figures, write_access
from spark_world import database

from analytics.cli import main
from analytics.store import build, build_spark, marts
from analytics.store.build_spark import UNPORTABLE, spark_sql, unportable
from analytics.store.connection import connect
from analytics.store.export import MANIFEST, ExportError, export_parquet

pytestmark = pytest.mark.spark

#: An example of each unportable construct, as the models once had it (docs/spark-findings.md).
EXAMPLES = {"unpivot_into": "select * from (unpivot t on a, b into name k value v)",
            "any_value_filter": "select any_value(x) filter (where y = 1) from t",
            "arg_max_nulls": "select arg_max(region, import_id) as region from t",
            "date_minus_date": "select coalesce(stage_date - date '1899-12-31', 0) from t",
            "arg_min_null": "select arg_min_null(second_day, month) from t",
            "n_smallest": "select min(first_day, 2)[2] from t",
            "ordered_list": "select list({'month': month, 'days': days} order by month) from t",
            "range_table": "select k from range(1, 25) r(k)"}


def _spark_or_skip():
    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{exc.name} is not installed (pip install -r requirements-spark.txt)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if os.environ.get("CI"):
            pytest.fail("no Java: .ci/run installs openjdk-17-jre-headless")
        pytest.skip("no Java (apt-get install openjdk-17-jre-headless)")


@pytest.fixture(scope="module")
def spark():
    _spark_or_skip()
    session = build_spark.session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory, spark) -> dict:
    folder = tmp_path_factory.mktemp("parity")
    db, added = database(folder, customers=600)
    con = connect(db, read_only=True)
    try:
        export_parquet(con, folder / "export")
    finally:
        con.close()
    made = {"db": db, "added": added, "export": folder / "export", "duckdb": folder / "duckdb",
            "spark": folder / "spark"}
    made["duckdb_manifest"] = build.build_duckdb(made["export"], made["duckdb"])
    # the command line, as a user runs it (it builds in the module's running session)
    assert main(["marts", "build", "--engine", "spark", "--input", str(made["export"]), "--output",
                 str(made["spark"]), "--json"]) == 0
    made["spark_manifest"] = json.loads((made["spark"] / MANIFEST).read_text())
    assert spark.range(1).count() == 1  # (a session the build did not start is left running)
    return made


def test_the_models_use_no_construct_spark_runs_otherwise():
    """Every model's SQL is in the common subset; each construct the check names is caught in its old form."""
    assert {name: unportable(marts.model_sql(name)) for name in build.models()} == {
        name: [] for name in build.models()}
    assert set(EXAMPLES) == set(UNPORTABLE)
    for construct, sql in EXAMPLES.items():
        assert unportable(sql) == [construct], construct
    assert unportable("select arg_max(region, struct_pack(a := 1)) filter (where region is not null) from t") == []


def test_the_edge_rows_are_in_the_data(world):
    added = world["added"]
    assert added["customer_attributes"] > 50 and min(added.values()) > 10, added
    con = duckdb.connect(str(world["db"]), read_only=True)
    try:  # (values the latest row lacks: the case where Spark's max_by and DuckDB's arg_max part)
        assert con.execute("select count(*) from customer_attribute_values").fetchall()[0][0] > 0
    finally:
        con.close()


def test_every_mart_and_summary_is_the_same_on_both_engines(world):
    assert differences(world["duckdb"], world["spark"], build.written()) == {}
    duck, spark = world["duckdb_manifest"], world["spark_manifest"]
    assert {m: a["rows"] for m, a in duck["models"].items()} == {m: a["rows"] for m, a in spark["models"].items()}
    assert all(about["rows"] > 0 for about in spark["models"].values())


@pytest.mark.parametrize("who", ["local", "north@example.com"])
def test_every_pages_report_is_the_same_served_from_either_build(world, who, tmp_path):
    """``report <page> --json`` of every registered page served from the Spark build equals the DuckDB build's and
    the embedded database's: the local user (every page) and a sales manager of one region (the gate)."""
    user = () if who == "local" else ("--user", who, "--access-file", write_access(tmp_path, REGION))
    role = None if who == "local" else "sales_manager"
    con = duckdb.connect(str(world["db"]), read_only=True)
    try:
        customer = con.execute("select customer_id from customer_summary where home_region = ? order by revenue "
                               "desc, customer_id limit 1", [REGION]).fetchall()[0][0]
    finally:
        con.close()
    on_spark = every_page_figures(["--marts", world["spark"]], customer, *user, pages_of=role)
    on_duckdb = every_page_figures(["--marts", world["duckdb"]], customer, *user, pages_of=role)
    embedded = every_page_figures(["--db", world["db"]], customer, *user, pages_of=role)
    assert list(on_spark) == list(on_duckdb) == list(embedded) and len(on_spark) >= 6
    for page in on_spark:
        assert_same_figures(on_spark[page], on_duckdb[page])
        assert_same_figures(on_spark[page], embedded[page])
    if role:  # (the gate held on the Spark build: that region's figures only)
        assert on_spark["overview"]["allowed_regions"] == [REGION]


def test_the_spark_build_says_what_built_it(world):
    manifest = world["spark_manifest"]
    assert manifest["engine"] == "spark" and manifest["master"] == "local[2]"
    for key in ("models_version", "input", "source_data_version"):
        assert manifest[key] == world["duckdb_manifest"][key], key
    assert list(manifest["models"]) == build.written()


def test_the_edge_rows_catch_spark_keeping_a_newer_null(world, spark):
    """Mutation: ``customer_summary`` without its ``filter (where x is not null)`` gives other rows on Spark than on
    DuckDB on this data (the demo alone hid it); with the filter, the same (the test above)."""
    sql = marts.model_sql("customer_summary")
    mutated = sql.replace(" filter (where customer_name is not null)", "").replace(
        " filter (where region is not null) as region", " as region")
    assert mutated != sql and "max_by" in spark_sql("customer_summary").lower()
    import sqlglot

    got = spark.sql(sqlglot.transpile(mutated, read="duckdb", write="spark")[0]).collect()
    reader = duckdb.connect()
    try:
        build.register_export(reader, world["export"], build.read_export(world["export"]))
        for name in ("customer_month", "customer_attribute_values"):
            files = build.model_files(world["duckdb"], name)
            reader.execute(f"create view {name} as select * from read_parquet('{files}')")
        want = reader.execute(f"select customer_id, customer_name, home_region from ({mutated})").fetchall()
    finally:
        reader.close()
    spark_rows = {(r["customer_id"], r["customer_name"], r["home_region"]) for r in got}
    assert len(spark_rows) == len(want) and spark_rows != set(want)


def test_a_failed_spark_build_leaves_the_output_as_it_found_it(world, spark, tmp_path, capsys):
    """A table missing from the export is named before anything is written; a file Spark cannot read fails the
    build part way, and the output folder is left new or empty as it was."""
    broken = tmp_path / "export"
    shutil.copytree(world["export"], broken)
    shutil.rmtree(broken / "leads")
    with pytest.raises(ExportError, match="lacks the table leads"):
        build.build("spark", broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    shutil.copytree(world["export"] / "leads", broken / "leads")
    next((broken / "transactions").rglob("*.parquet")).write_bytes(b"not a parquet file")  # (the first model's)
    with pytest.raises(Exception):  # noqa: B017 (Spark's own error, about the file)
        build.build("spark", broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    (tmp_path / "empty").mkdir()
    assert main(["marts", "build", "--engine", "spark", "--input", str(broken), "--output",
                 str(tmp_path / "empty")]) == 1
    assert list((tmp_path / "empty").iterdir()) == [] and capsys.readouterr().err
    assert spark.range(1).count() == 1  # (the session is still up for the module)


def test_an_export_is_required(tmp_path):
    with pytest.raises(ExportError, match="holds no export"):
        build.build("spark", tmp_path, tmp_path / "out")
    assert not Path(tmp_path / "out").exists()


def _model(folder: Path, sql: str) -> Path:
    (folder / "m").mkdir(parents=True)
    duckdb.sql(f"copy ({sql}) to '{folder / 'm' / 'part-0.parquet'}' (format parquet)")
    return folder


@pytest.mark.parametrize(("other", "found"), [
    ("select 1 as id, 10.25::decimal(28,2) as amount, 0.1::double + 0.2::double as rate, [1, 2] as xs", None),
    ("select 1 as id, 10.25::decimal(28,2) as amount, 0.3::double * (1 + 1e-10) as rate, [1, 2] as xs", None),
    ("select 1 as id, 10.25::decimal(18,2) as amount, 0.3::double * (1 + 1e-8) as rate, [1, 2] as xs", "1 of 1 rows"),
    ("select 1 as id, 10.26::decimal(38,2) as amount, 0.3::double as rate, [1, 2] as xs", "1 of 1 rows"),
    ("select 1 as id, 10.25::decimal(38,2) as amount, 0.3::double as rate, [2, 1] as xs", "1 of 1 rows"),
    ("select 1 as id, 10.25::double as amount, 0.3::double as rate, [1, 2] as xs",
     "m.amount: type decimal against float"),
    ("select 1::integer as id, 10.25::decimal(38,2) as amount, 0.3::double as rate, [1, 2] as xs union all "
     "select 1, 10.25, 0.3, [1, 2]", "1 rows against 2"),
])
def test_the_comparison_finds_what_differs(tmp_path, other, found):
    """Widths and a double's last bits are no difference; a decimal cent, a list's order, a type family, a row
    are (tests/mart_compare.py)."""
    left = _model(tmp_path / "left", "select 1::bigint as id, 10.25::decimal(38,2) as amount, 0.3::double as rate, "
                                     "[1, 2] as xs")
    got = differences(left, _model(tmp_path / "right", other), ["m"])
    if found is None:
        assert got == {}
    else:
        assert found in " ".join(got["m"]), got


#: Customers of the generated demo for the million-line comparison: about 1M sales lines.
CUSTOMERS_1M = 37_000


@pytest.mark.slow
def test_a_million_lines_give_the_same_marts_on_both_engines(tmp_path, spark):
    db, _ = database(tmp_path, customers=CUSTOMERS_1M, seed=11)
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
