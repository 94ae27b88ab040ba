"""The database file: schema versions, derived tables and data-quality checks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analytics.ingest.pipeline import import_file
from analytics.paths import PROJECT_ROOT
from analytics.store import audits, migrations
from analytics.store import connection as db
from analytics.store.connection import connect, data_version
from analytics.store.migrations import schema_version

TRANSACTIONS = """transaction_id,customer_id,order_date,amount,cost,region,product
T1,A,2024-01-05,100,60,华东,P0
T2,A,2024-01-20,50,30,华北,P1
T3,A,2024-03-02,80,50,华北,P2
T4,A,2024-03-02,-20,-12,华北,P0
T5,B,2024-02-10,300,200,华南,P1
T6,B,2024-02-10,10,5,华南,P2
T7,C,2024-02-11,-40,-25,华中,P0
T8,D,2024-01-01,25,10,东北,P1
T9,D,2024-02-01,25,10,西北,P2
T10,E,2024-02-03,7,3,华东,P0
T10,E,2024-02-03,8,3,华东,P1
T11,E,2024-02-03,9,3,华东,P2
,E,2024-02-28,1,,华东,P0
"""
CUSTOMERS = "customer_id,customer_name,region,segment\nB,乙公司,西南,重要客户\nE,戊公司,华东,普通客户\n"


@pytest.fixture
def loaded(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    (tmp_path / "t.csv").write_text(TRANSACTIONS, encoding="utf-8")
    (tmp_path / "c.csv").write_text(CUSTOMERS, encoding="utf-8")
    import_file(con, tmp_path / "c.csv", commit=True)
    import_file(con, tmp_path / "t.csv", commit=True)
    yield con
    con.close()


def expected_summary() -> pd.DataFrame:
    """customer_summary computed independently with pandas from the fixture text."""
    from io import StringIO

    t = pd.read_csv(StringIO(TRANSACTIONS), parse_dates=["order_date"])
    c = pd.read_csv(StringIO(CUSTOMERS))
    buys = t[t.amount >= 0]
    out = pd.DataFrame({"customer_id": sorted(set(t.customer_id) | set(c.customer_id))})
    out["first_order_date"] = out.customer_id.map(buys.groupby("customer_id").order_date.min())
    out["last_order_date"] = out.customer_id.map(buys.groupby("customer_id").order_date.max())
    keys = buys.transaction_id.fillna(pd.Series("row" + buys.index.astype(str), index=buys.index))
    out["orders"] = out.customer_id.map(buys.assign(key=keys).groupby("customer_id").key.nunique()).fillna(0)
    out["purchase_days"] = out.customer_id.map(buys.groupby("customer_id").order_date.nunique()).fillna(0)
    out["revenue"] = out.customer_id.map(t.groupby("customer_id").amount.sum()).fillna(0)
    out["returns_amount"] = out.customer_id.map(-t[t.amount < 0].groupby("customer_id").amount.sum()).fillna(0)
    spend = t.groupby(["customer_id", "region"]).amount.sum().reset_index()
    # most spend; ties broken by the larger region name (as the SQL's arg_max over (spend, region))
    spend = spend.sort_values(["customer_id", "amount", "region"]).groupby("customer_id").tail(1)
    home = dict(zip(spend.customer_id, spend.region, strict=True))
    home.update(dict(zip(c.customer_id, c.region, strict=True)))
    out["home_region"] = out.customer_id.map(home)
    return out


def test_customer_summary_matches_pandas(loaded):
    got = loaded.execute("select * from customer_summary order by customer_id").df()
    want = expected_summary()
    assert list(got.customer_id) == list(want.customer_id) == ["A", "B", "C", "D", "E"]
    assert got.set_index("customer_id").loc["E", "orders"] == 3
    for col in ("orders", "purchase_days", "revenue", "returns_amount"):
        assert got[col].astype(float).tolist() == want[col].astype(float).tolist(), col
    assert got.home_region.tolist() == want.home_region.tolist()
    from io import StringIO

    t = pd.read_csv(StringIO(TRANSACTIONS), parse_dates=["order_date"])
    buys = t[t.amount >= 0]
    first = buys.groupby("customer_id").order_date.transform("min")
    spent = buys[buys.order_date == first].groupby("customer_id").amount.sum()
    # C only returned something: no first purchase day
    assert got.first_day_revenue.astype(float).fillna(-1).tolist() == [spent.get(c, -1) for c in got.customer_id]
    assert pd.to_datetime(got.first_order_date).tolist() == pd.to_datetime(want.first_order_date).tolist()
    assert pd.to_datetime(got.last_order_date).tolist() == pd.to_datetime(want.last_order_date).tolist()
    # D spent 25 in 东北 and 25 in 西北: the tie goes to the same region every time
    assert got.set_index("customer_id").loc["D", "home_region"] == "西北"
    assert got.set_index("customer_id").loc["B", "segment"] == "重要客户"


def test_customer_month_matches_pandas(loaded):
    from io import StringIO

    t = pd.read_csv(StringIO(TRANSACTIONS), parse_dates=["order_date"])
    t["month"] = t.order_date.dt.to_period("M").dt.to_timestamp()
    buys = t[t.amount >= 0]
    # an order is a transaction id (lines of one id are one order); a row without an id is one
    orders = buys.assign(key=buys.transaction_id.fillna(pd.Series(buys.index.astype(str), index=buys.index)))
    want = t.groupby(["customer_id", "month"]).agg(revenue=("amount", "sum")).reset_index()
    want["orders"] = [orders[(orders.customer_id == c) & (orders.month == m)].key.nunique()
                      for c, m in zip(want.customer_id, want.month, strict=True)]
    want["purchase_days"] = [buys[(buys.customer_id == c) & (buys.month == m)].order_date.nunique()
                             for c, m in zip(want.customer_id, want.month, strict=True)]
    days = buys.groupby(["customer_id", "month"]).order_date.agg(["min", "max"])
    want["first_day"] = [days["min"].get((c, m)) for c, m in zip(want.customer_id, want.month, strict=True)]
    want["last_day"] = [days["max"].get((c, m)) for c, m in zip(want.customer_id, want.month, strict=True)]
    got = loaded.execute("select customer_id, month, orders, purchase_days, revenue, first_day, last_day "
                         "from customer_month order by customer_id, month").df()
    assert got.customer_id.tolist() == want.customer_id.tolist()
    for col in ("first_day", "last_day"):  # NaT in a month of returns only
        assert pd.to_datetime(got[col]).astype(str).tolist() == pd.to_datetime(want[col]).astype(str).tolist(), col
    assert pd.to_datetime(got.month).tolist() == want.month.tolist()
    assert got.orders.tolist() == want.orders.tolist()
    assert got.purchase_days.tolist() == want.purchase_days.tolist()
    assert got.revenue.astype(float).tolist() == want.revenue.astype(float).tolist()
    # E: three lines of two orders on one day, and a row without an id later that month
    assert got[got.customer_id == "E"][["orders", "purchase_days"]].values.tolist() == [[3, 2]]


def test_migrations_are_recorded_and_not_applied_twice(tmp_path):
    path = tmp_path / "crm.duckdb"
    con = connect(path)
    assert schema_version(con) == migrations.SCHEMA_VERSION
    con.close()
    con = connect(path)
    assert con.execute("select count(*) from schema_migrations").fetchall() == [(len(migrations.migrations()),)]
    con.close()


def test_a_newer_release_migrates_an_existing_file_in_place(tmp_path, monkeypatch, loaded):
    path = Path(loaded.execute("select path from duckdb_databases() where database_name = 'crm'")
                .fetchall()[0][0])
    loaded.close()
    extra = tmp_path / "migrations"
    extra.mkdir()
    for _version, src in migrations.migrations():
        (extra / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    (extra / "999_add_note.sql").write_text("alter table customers add column note varchar;",
                                            encoding="utf-8")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", extra)
    con = connect(path)
    assert schema_version(con) == 999
    assert con.execute("select count(*) from transactions").fetchall() == [(13,)]
    assert "note" in [r[0] for r in con.execute("describe customers").fetchall()]
    con.close()


def test_a_migration_numbered_below_one_applied_is_applied_too(tmp_path, monkeypatch):
    """Migrations written on two branches come in either order: a database that took 999 takes 998 when a
    release brings it (and a read-only open refuses the database until then)."""
    extra = tmp_path / "migrations"
    extra.mkdir()
    for _version, src in migrations.migrations():
        (extra / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    (extra / "999_add_note.sql").write_text("alter table customers add column note varchar;", encoding="utf-8")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", extra)
    path = tmp_path / "crm.duckdb"
    connect(path).close()
    (extra / "998_add_memo.sql").write_text("alter table customers add column memo varchar;", encoding="utf-8")
    for module in (migrations, db):  # this release's version, as its files say
        monkeypatch.setattr(module, "SCHEMA_VERSION", 999)
    with pytest.raises(RuntimeError, match="schema version 999 \\(it lacks 998\\)"):
        connect(path, read_only=True)
    con = connect(path)
    assert schema_version(con) == 999
    assert [r[0] for r in con.execute("select version from schema_migrations where version > 900 order by 1")
            .fetchall()] == [998, 999]
    assert {"note", "memo"} <= {r[0] for r in con.execute("describe customers").fetchall()}
    con.close()


def test_a_failing_migration_leaves_the_file_at_its_old_version(tmp_path, monkeypatch):
    path = tmp_path / "crm.duckdb"
    connect(path).close()
    extra = tmp_path / "migrations"
    extra.mkdir()
    for _, src in migrations.migrations():
        (extra / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    (extra / "998_broken.sql").write_text(
        "alter table customers add column note varchar; select * from no_such_table;", encoding="utf-8")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", extra)
    with pytest.raises(Exception, match="no_such_table"):
        connect(path)
    monkeypatch.undo()
    con = connect(path)
    assert schema_version(con) == migrations.SCHEMA_VERSION
    assert "note" not in [r[0] for r in con.execute("describe customers").fetchall()]
    con.close()


def test_read_only_open_refuses_an_old_schema(tmp_path):
    import duckdb

    path = tmp_path / "old.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(RuntimeError, match="schema version 0"):
        connect(path, read_only=True)


def test_database_path_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CRM_DB", str(tmp_path / "x.duckdb"))
    assert db.default_db_path() == tmp_path / "x.duckdb"
    monkeypatch.delenv("CRM_DB")
    assert db.default_db_path() == PROJECT_ROOT / "data" / "crm.duckdb"


def test_data_version_counts_changes(loaded):
    assert data_version(loaded) == 2


# ----------------------------------------------------------------------------- audits

def _findings(con) -> dict[str, int]:
    """Each check's count, the same from the samples' query (the check command, the Data page) and from the
    count-only one (every import's report)."""
    counts = {r.name: r.count for r in audits.run_checks(con)}
    assert audits.count_failures(con) == counts
    return counts


def test_every_audit_passes_on_clean_data(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    (tmp_path / "c.csv").write_text("customer_id,region\nA,华东\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text("customer_id,order_date,amount\nA,2024-01-05,10\nA,2024-02-05,12\n",
                                    encoding="utf-8")
    (tmp_path / "f.csv").write_text("customer_id,date,score,kind,resolved date\n"
                                    "A,2024-01-06,,complaint,2024-01-08\n", encoding="utf-8")
    (tmp_path / "l.csv").write_text("lead_id,created,stage,customer_id,qualified date\n"
                                    "L1,2024-01-01,成交,A,2024-01-03\n", encoding="utf-8")
    for name in ("c.csv", "t.csv", "f.csv", "l.csv"):
        assert import_file(con, tmp_path / name, commit=True).rows_imported == 1 + (name == "t.csv")
    assert set(_findings(con).values()) == {0}
    con.close()


def test_each_audit_finds_its_rows(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    files = {
        "c.csv": "customer_id,region\nA,华东\nN,华北\n",
        "t.csv": ("customer_id,order_date,amount\nA,2099-01-05,10\nZ,2024-01-05,5\nN,2024-01-05,-3\n"
                  + "".join(f"A,2024-01-{d:02d},10\n" for d in range(1, 29))
                  + "A,2024-02-01,1000000\n"),
        "f.csv": "customer_id,date,score,kind,resolved date\nA,2024-01-06,,complaint,2024-01-02\n",
        "l.csv": ("lead_id,created,stage,customer_id,qualified date,closed date\n"
                  "L1,2024-01-05,成交,NOBODY,2024-01-01,\n"),
        # A's segment: two values in the sales files, none in the customers file
        "s.csv": "customer_id,order_date,amount,segment\nA,2024-01-06,5,企业\nA,2024-01-07,5,个人\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        import_file(con, tmp_path / name, commit=True)
    found = _findings(con)
    assert found == {"amount_outliers": 1, "converted_leads_unknown_customer": 1, "customer_attribute_conflicts": 1,
                     "future_order_dates": 1, "lead_dates_out_of_order": 1, "net_negative_customers": 1,
                     "resolved_before_reported": 1, "unknown_customers": 1}
    samples = {r.name: r.sample for r in audits.run_checks(con)}
    assert samples["unknown_customers"].customer_id.tolist() == ["Z"]
    assert samples["future_order_dates"].line.tolist() == [2]
    con.close()


def test_outlier_check_flags_a_misplaced_decimal_not_a_big_order(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    rows = "".join(f"C{i},2024-01-{i % 28 + 1:02d},{4000 + i},1,冰箱\n" for i in range(30))
    rows += "B1,2024-02-01,40000,10,冰箱\n"      # ten fridges at the usual price: fine
    rows += "B2,2024-02-02,450000,1,冰箱\n"      # one fridge at 100 times the price: flagged
    (tmp_path / "t.csv").write_text("customer_id,order_date,amount,quantity,product\n" + rows, encoding="utf-8")
    import_file(con, tmp_path / "t.csv", commit=True)
    found = {r.name: r for r in audits.run_checks(con)}["amount_outliers"]
    assert found.count == 1 and found.sample.customer_id.tolist() == ["B2"]
    con.close()


def test_outlier_check_samples_a_large_table_by_hash_and_still_finds_the_outlier(tmp_path):
    """Past 100,000 rows the usual price comes from the rows whose hash of import and line falls in
    the first 100,000/rows of the hash range: about 100,000 of them, the same ones at every run."""
    con = connect(tmp_path / "crm.duckdb")
    n = 150_000
    rows = "".join(f"C{i % 5000},2024-01-{i % 28 + 1:02d},{4000 + i % 50},1,冰箱\n" for i in range(n))
    rows += "B2,2024-02-02,450000,1,冰箱\n"
    (tmp_path / "t.csv").write_text("customer_id,order_date,amount,quantity,product\n" + rows, encoding="utf-8")
    import_file(con, tmp_path / "t.csv", commit=True)
    sampled = con.execute("select count(*) from transactions where hash(import_id, line) "
                          "< 100000 * (18446744073709551615 // (select count(*) from transactions))").fetchall()[0][0]
    assert abs(sampled - 100_000) < 5 * (100_000 * (1 - 100_000 / (n + 1))) ** 0.5  # binomial, 5 sigma
    first = {r.name: r for r in audits.run_checks(con)}["amount_outliers"]
    again = {r.name: r for r in audits.run_checks(con)}["amount_outliers"]
    assert first.count == again.count == 1 and first.sample.customer_id.tolist() == ["B2"]
    assert first.sample.usual_price.iloc[0] == pytest.approx(4024.5, abs=1)  # the median of 4000..4049
    con.close()


def test_tables_built_by_other_models_are_rebuilt_when_the_database_opens(tmp_path):
    """A release that changes a derived table's model rebuilds it on the first open (here: an
    earlier customer_month without the first and last purchase days)."""
    from analytics.store import marts

    path = tmp_path / "crm.duckdb"
    con = connect(path)
    (tmp_path / "t.csv").write_text("customer_id,order_date,amount\nA,2024-01-05,10\nA,2024-01-09,5\n",
                                    encoding="utf-8")
    import_file(con, tmp_path / "t.csv", commit=True)
    con.execute("alter table customer_month drop column first_day")
    con.execute("update meta set value = 1 where key = 'marts_version'")
    con.close()
    con = connect(path)
    assert con.execute("select first_day, last_day from customer_month").fetchall() == [
        (pd.Timestamp("2024-01-05").date(), pd.Timestamp("2024-01-09").date())]
    assert con.execute("select value from meta where key = 'marts_version'").fetchall() == [(marts.models_version(),)]
    con.close()
