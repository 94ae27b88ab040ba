"""An import or an undo rebuilds only the marts that read what it wrote (analytics.store.marts.rebuild with
``changed``), and they hold the same rows as a full rebuild; the summaries go stale only when one of them reads
what changed.

The graph comes from the models' SQL (analytics.store.lineage): pinned here, so a model change that alters it is
seen. The imports run through the real pipeline on the demo generator's frames (a small world: 300 customers),
split in two files per kind; which marts an import rebuilt is read from DuckDB's table oids (``create or
replace`` gives a table a new one), and every mart (and every summary, when they are said to be ready) is
compared, as a multiset of rows, with a full rebuild of a copy of the database.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analytics.ingest import demo
from analytics.ingest.pipeline import import_file, undo_import, written_tables
from analytics.store import marts
from analytics.store.connection import connect, write_transaction
from analytics.store.lineage import relations

MODELS = marts.MARTS + marts.SUMMARIES
#: What each model reads, as derived from its SQL today.
GRAPH: dict[str, set[str]] = {
    "customer_month": {"transactions"},
    "customer_attribute_values": {"customer_attributes"},
    "customer_summary": {"transactions", "customer_month", "customers", "customer_attribute_values"},
    "sales_month": {"transactions", "customer_summary"},
    "feedback_month": {"feedback"},
    "survey_followups": {"feedback", "customer_month"},
    "complaints": {"feedback"},
    "lead_stages": {"leads"},
    "lead_purchases": {"leads", "customer_month"},
    "customer_numbers": {"customer_summary"},
    "_churn_rows": {"customer_month", "customer_numbers"},
    "churn_month": {"_churn_rows"},
    "churn_gaps": {"_churn_rows"},
    "churn_returns": {"_churn_rows"},
    "churn_rows": {"_churn_rows"},
    "cohort_month": {"customer_month", "customer_summary"},
    "margin_month": {"transactions"},
    "customer_month_numbered": {"customer_month", "customer_numbers"},
}
#: The marts an import or undo of each kind rebuilds, and whether the summaries read what it changed.
REBUILT: dict[str, set[str]] = {
    "transactions": {"customer_month", "customer_attribute_values", "customer_summary", "sales_month",
                     "survey_followups", "lead_purchases"},
    "customers": {"customer_summary", "sales_month"},
    "feedback": {"feedback_month", "survey_followups", "complaints"},
    "leads": {"lead_stages", "lead_purchases"},
}
STALES_SUMMARIES = {"transactions": True, "customers": True, "feedback": False, "leads": False}
KINDS = tuple(REBUILT)


def test_the_graph_derived_from_the_models_sql_is_pinned():
    assert {name: set(marts.inputs(name)) for name in MODELS} == GRAPH


def test_every_model_reads_known_tables_or_models_built_before_it(db):
    tables = {r[0] for r in db.execute("select table_name from duckdb_tables()").fetchall()} - set(MODELS)
    assert {"transactions", "customers", "customer_attributes", "feedback", "leads"} <= tables
    for at, name in enumerate(MODELS):
        assert marts.inputs(name) <= tables | set(MODELS[:at]), name


@pytest.mark.parametrize(("sql", "read"), [
    pytest.param("with t as (select * from t) select * from t join u using (k)", {"t", "u"}, id="import-cte"),
    pytest.param("with a as (select 1), b as (select * from a) select * from b, c x, main.d", {"c", "d"},
                 id="later-ctes-and-comma-list"),
    pytest.param("select (select max(k) from (with s as (select 1 k) select * from s)) from s", {"s"},
                 id="nested-with-scoped-to-its-subquery"),
    pytest.param("select extract(year from d), substring(x from 2) from range(3) r(d) join 'f.csv' using (d)",
                 set(), id="functions-and-files"),
    pytest.param("-- from comment\nselect 'from s' as \"from t\" from \"Big\" where k in (select k from w)",
                 {"big", "w"}, id="comments-strings-quoted"),
    pytest.param("select * from a join b using (k), c join d on a.k = d.k and [1, 2] = [d.x, y], e",
                 {"a", "b", "c", "d", "e"}, id="from-list-after-join-conditions"),
    pytest.param("with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select * from r",
                 set(), id="recursive"),
    pytest.param("with a as materialized (select * from x) unpivot a on p, q into name k value v", {"x"},
                 id="materialized-unpivot"),
])
def test_relations_are_the_tables_named_outside_any_cte_scope(sql, read):
    assert relations(sql) == read


def test_downstream_follows_the_graph_in_build_order():
    assert marts.downstream({"leads"}) == ("lead_stages", "lead_purchases")
    assert marts.downstream({"customers", "imports"}) == (
        "customer_summary", "sales_month", "customer_numbers", "_churn_rows", "churn_month", "churn_gaps",
        "churn_returns", "churn_rows", "cohort_month", "customer_month_numbered")
    assert marts.downstream({"meta", "saved_mappings"}) == ()


# --------------------------------------------------------------------------- the world


@pytest.fixture(scope="module", name="files")
def files_fixture(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Per kind, two CSV files of the demo's frames: a first, and a second that adds rows and repeats or changes
    some of the first's (already present rows, other versions; the second sales file names its customers)."""
    folder = tmp_path_factory.mktemp("selective_files")
    data = demo.generate(size=300, seed=11)
    sales, customers, feedback, leads = data.transactions, data.customers, data.feedback, data.leads
    cut = sales["order_date"].quantile(0.6)
    first = sales[sales["order_date"] < cut]
    repeated = first[first["transaction_id"].isin(first["transaction_id"].drop_duplicates().tail(5))]
    names = customers.set_index("customer_id")["customer_name"]
    second = pd.concat([sales[sales["order_date"] >= cut], repeated])
    second = second.assign(customer_name=second["customer_id"].map(names).radd("门店"))
    changed_customers = customers.head(10).assign(segment="大客户")
    changed_leads = leads.head(10).assign(sales_rep="新代表")
    parts = {"transactions": (first, second), "customers": (customers.iloc[:250], pd.concat(
        [customers.iloc[250:], changed_customers])), "feedback": (feedback.iloc[:200], feedback.iloc[200:]),
        "leads": (leads.iloc[:60], pd.concat([leads.iloc[60:], changed_leads]))}
    out = {}
    for kind, frames in parts.items():
        paths = tuple(folder / f"{kind}_{i}.csv" for i in (1, 2))
        for frame, path in zip(frames, paths, strict=True):
            frame.to_csv(path, index=False)
        out[kind] = paths
    return out


def contents(con: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, list[str]]:
    """Each table's rows, as a sorted list of their reprs (a multiset)."""
    cur = con.cursor()
    return {t: sorted(map(repr, cur.execute(f"select * from {t}").fetchall())) for t in tables}


def oids(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return dict(con.execute("select table_name, table_oid from duckdb_tables() where schema_name = 'main' "
                            "and not temporary").fetchall())


def data_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables imports and undos write: every table but the models' and meta."""
    return sorted(set(oids(con)) - set(MODELS) - {"meta"})


def summary_tables() -> list[str]:
    return [s for s in marts.SUMMARIES if not s.startswith("_")]


def assert_as_full_rebuild(con: duckdb.DuckDBPyConnection, path: Path, ready: bool) -> None:
    """Every mart of ``con`` holds the rows a full rebuild of a copy of its database gives, and so does every
    summary when ``ready``."""
    con.execute("checkpoint")
    copy = path.with_name("full_rebuild.duckdb")
    shutil.copyfile(path, copy)
    other = duckdb.connect(str(copy))
    try:
        with write_transaction(other) as cur:
            assert marts.rebuild(cur) == marts.MARTS
        assert marts.summarize(other) is not None
        built = list(marts.MARTS) + (summary_tables() if ready else [])
        expected, got = contents(other, built), contents(con, built)
        for table in built:
            assert got[table] == expected[table], f"{table} differs from a full rebuild"
    finally:
        other.close()
        copy.unlink()


def step(con: duckdb.DuckDBPyConnection, path: Path, kind: str, action) -> int | None:
    """Run ``action`` (an import or undo of ``kind``) with the summaries built before it; check what it rebuilt,
    what it wrote, whether the summaries are ready, and that everything equals a full rebuild. Returns what
    ``action`` returns."""
    marts.summarize(con)
    assert marts.summaries_ready(con)
    tables = data_tables(con)
    before_oids, before = oids(con), contents(con, tables)
    result = action()
    after_oids, after = oids(con), contents(con, tables)
    rebuilt = {m for m in marts.MARTS if before_oids[m] != after_oids[m]}
    assert rebuilt == REBUILT[kind]
    assert not {m for m in set(after_oids) - set(marts.MARTS) if before_oids.get(m) != after_oids[m]}
    wrote = {t for t in tables if before[t] != after[t]}
    assert kind in wrote and wrote <= written_tables(kind)
    ready = marts.summaries_ready(con)
    assert ready == (not STALES_SUMMARIES[kind])
    assert_as_full_rebuild(con, path, ready)
    if not ready:
        assert marts.summarize(con) is not None
        assert_as_full_rebuild(con, path, ready=True)
    return result


def do_import(con: duckdb.DuckDBPyConnection, file: Path, kind: str) -> int:
    report = import_file(con, file, kind=kind, commit=True)
    assert report.status == "committed" and report.rows_imported > 0, report.notes
    return report.import_id


@pytest.fixture(scope="module", name="base")
def base_fixture(files, tmp_path_factory) -> Path:
    """A database with each kind's first file imported."""
    path = tmp_path_factory.mktemp("selective_base") / "crm.duckdb"
    con = connect(path)
    try:
        for kind in KINDS:
            do_import(con, files[kind][0], kind)
        marts.summarize(con)
    finally:
        con.close()
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_an_import_and_its_undo_rebuild_only_what_reads_the_kind(kind, files, base, tmp_path):
    path = tmp_path / "crm.duckdb"
    shutil.copyfile(base, path)
    con = connect(path)
    try:
        import_id = step(con, path, kind, lambda: do_import(con, files[kind][1], kind))
        assert step(con, path, kind, lambda: undo_import(con, import_id)) > 0
    finally:
        con.close()


def test_a_sequence_of_imports_and_undos_in_another_order_matches_full_rebuilds(files, tmp_path):
    path = tmp_path / "crm.duckdb"
    con = connect(path)
    try:
        ids = {kind: step(con, path, kind, lambda kind=kind: do_import(con, files[kind][0], kind))
               for kind in ("transactions", "feedback", "leads", "customers")}
        for kind in ("feedback", "transactions", "customers", "leads"):
            assert step(con, path, kind, lambda kind=kind: undo_import(con, ids[kind])) > 0
        assert con.execute("select count(*) from lead_stages").fetchall() == [(0,)]  # (the marts emptied)
    finally:
        con.close()


def test_marts_built_by_other_models_are_all_rebuilt_even_for_one_kind(files, base, tmp_path):
    path = tmp_path / "crm.duckdb"
    shutil.copyfile(base, path)
    con = connect(path)
    try:
        con.execute("update meta set value = value + 1 where key = 'marts_version'")
        con.execute("drop table complaints")
        before = oids(con)
        do_import(con, files["leads"][1], "leads")
        after = oids(con)
        assert all(before.get(m) != after[m] for m in marts.MARTS)
        assert not marts.summaries_ready(con)  # a full rebuild: the summaries are rebuilt too
        assert_as_full_rebuild(con, path, ready=False)
        with write_transaction(con) as cur:  # and then the marts are current: one kind rebuilds its own
            assert marts.rebuild(cur, changed={"feedback"}) == ("feedback_month", "survey_followups", "complaints")
    finally:
        con.close()
