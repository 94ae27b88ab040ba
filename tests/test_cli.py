"""``python -m analytics``: reports, exit statuses, the ledger, undo and checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from analytics import scope as gate
from analytics.access import Access
from analytics.cli import main
from analytics.paths import PROJECT_ROOT
from analytics.report import run_report
from analytics.scope import Scope
from analytics.store.connection import connect

GOOD = "订单编号,客户编号,订单日期,实付金额,大区\nSO1,00123,2024-01-05,100,华东\nSO2,00124,2024-01-06,x,华北\n"
REPORT_KEYS = {"kind", "encoding", "rows_read", "rows_valid", "rows_rejected", "rows_already_present",
               "rows_imported", "rejects", "conflicts"}


@pytest.fixture
def files(tmp_path):
    (tmp_path / "good.csv").write_bytes(GOOD.encode("gbk"))
    (tmp_path / "ambiguous.csv").write_text("customer_id,order_date,amount\nC1,01/02/2024,1\n", encoding="utf-8")
    return tmp_path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_preview_then_commit_then_again(files, capsys):
    db = str(files / "crm.duckdb")
    code, out, _ = run(capsys, "--db", db, "import", str(files / "good.csv"), "--json")
    report = json.loads(out)
    assert code == 0 and set(report) >= REPORT_KEYS
    assert (report["status"], report["encoding"], report["rows_read"], report["rows_valid"]) == (
        "preview", "gb18030", 2, 1)
    assert report["rejects"] == [{"line": 3, "column": "实付金额", "value": "x", "reason": "not an amount"}]
    code, out, _ = run(capsys, "--db", db, "import", str(files / "good.csv"), "--commit", "--json")
    assert code == 0 and json.loads(out)["rows_imported"] == 1
    code, out, _ = run(capsys, "--db", db, "import", str(files / "good.csv"), "--commit", "--json")
    again = json.loads(out)
    assert (again["status"], again["rows_imported"], again["rows_already_present"]) == ("nothing new", 0, 1)


def test_human_readable_report(files, capsys):
    code, out, _ = run(capsys, "--db", str(files / "crm.duckdb"), "import", str(files / "good.csv"))
    assert code == 0
    assert "line 3, 实付金额: 'x': not an amount" in out
    assert "nothing written (preview)" in out


def test_failures_exit_non_zero_with_a_message(files, capsys):
    db = str(files / "crm.duckdb")
    code, out, err = run(capsys, "--db", db, "import", str(files / "ambiguous.csv"), "--commit", "--json")
    assert code == 1 and "day/month" in err and json.loads(out)["kind"] == "ConfirmationRequired"
    code, _, err = run(capsys, "--db", db, "import", str(files / "ambiguous.csv"), "--commit",
                       "--date-order", "dmy")
    assert code == 0
    code, _, err = run(capsys, "--db", db, "import", str(files / "missing.csv"))
    assert code == 1 and "no such file" in err
    code, _, err = run(capsys, "--db", db, "import", str(files / "good.csv"), "--map", "amount")
    assert code == 1 and "COLUMN=HEADER" in err
    code, _, err = run(capsys, "--db", db, "undo", "42")
    assert code == 1 and "no import #42" in err
    with pytest.raises(SystemExit) as usage:
        main(["--db", db, "import"])
    assert usage.value.code == 2


def test_ledger_undo_and_checks(files, capsys):
    db = str(files / "crm.duckdb")
    run(capsys, "--db", db, "import", str(files / "good.csv"), "--commit", "--user", "analyst@x.cn")
    code, out, _ = run(capsys, "--db", db, "imports", "--json")
    ledger = json.loads(out)
    assert code == 0 and len(ledger) == 1
    assert (ledger[0]["file_name"], ledger[0]["imported_by"], ledger[0]["rows_imported"],
            ledger[0]["rows_rejected"], ledger[0]["status"]) == ("good.csv", "analyst@x.cn", 1, 1, "committed")
    code, out, _ = run(capsys, "--db", db, "check", "--json")
    assert code == 0 and all(c["rows"] == 0 for c in json.loads(out))
    code, out, _ = run(capsys, "--db", db, "undo", "1", "--json")
    assert code == 0 and json.loads(out)["rows_removed"] == 1
    code, out, _ = run(capsys, "--db", db, "imports")
    assert "undone" in out
    code, _, err = run(capsys, "--db", db, "undo", "1")
    assert code == 1 and "undone" in err


def test_check_exits_1_when_a_check_finds_rows(files, capsys):
    db = str(files / "crm.duckdb")
    (files / "future.csv").write_text("customer_id,order_date,amount\nC1,2099-01-01,1\n", encoding="utf-8")
    run(capsys, "--db", db, "import", str(files / "future.csv"), "--commit")
    code, out, _ = run(capsys, "--db", db, "check")
    assert code == 1 and "FAIL future_order_dates" in out


def test_saved_mapping_from_the_command_line(files, capsys):
    db = str(files / "crm.duckdb")
    (files / "odd.csv").write_text("会员,时间,钱\nC1,2024-01-05,1\n", encoding="utf-8")
    code, _, _ = run(capsys, "--db", db, "import", str(files / "odd.csv"), "--kind", "transactions",
                     "--map", "customer_id=会员", "--map", "order_date=时间", "--map", "amount=钱",
                     "--save-mapping", "门店", "--commit")
    assert code == 0
    (files / "odd2.csv").write_text("会员,时间,钱\nC2,2024-01-06,2\n", encoding="utf-8")
    code, out, _ = run(capsys, "--db", db, "import", str(files / "odd2.csv"), "--mapping", "门店",
                       "--commit", "--json")
    assert code == 0 and json.loads(out)["rows_imported"] == 1


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "analytics", *args], cwd=PROJECT_ROOT, text=True,
                          capture_output=True, env={**os.environ, **(env or {})}, timeout=120)


def test_real_entry_point_and_crm_db_variable(files):
    db = files / "from_env.duckdb"
    done = _cli("import", str(files / "good.csv"), "--commit", "--json", env={"CRM_DB": str(db)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows_imported"] == 1
    assert db.exists()


def test_a_database_held_by_another_process_is_reported_not_corrupted(files):
    db = files / "held.duckdb"
    holder = connect(db)
    try:
        done = _cli("--db", str(db), "import", str(files / "good.csv"), "--commit")
        assert done.returncode == 3
        assert "open in another process" in done.stderr
    finally:
        holder.close()


def test_readme_documents_every_command():
    readme = (Path(PROJECT_ROOT) / "README.md").read_text(encoding="utf-8")
    for command in ("demo", "import", "imports", "undo", "check"):
        assert f"python -m analytics {command}" in readme or f"analytics [--db PATH] {command}" in readme


SALES = ("transaction_id,customer_id,order_date,amount,region,channel\n"
         "T1,C1,2024-01-05,100,华东,online\n"
         "T2,C1,2024-02-05,50,华东,store\n"
         "T3,C2,2024-02-06,80,华北,online\n"
         "T4,C2,2023-12-20,30,华北,online\n"
         "T5,C3,2024-03-01,-20,华北,store\n")


def test_report_overview_prints_the_page_figures(tmp_path, capsys):
    """``report overview --json``: the figures of the overview for the given filters; a region
    filter changes them; the months given are the months reported."""
    (tmp_path / "sales.csv").write_text(SALES, encoding="utf-8")
    db = str(tmp_path / "crm.duckdb")
    assert run(capsys, "--db", db, "import", str(tmp_path / "sales.csv"), "--commit")[0] == 0
    code, out, _ = run(capsys, "--db", db, "report", "overview", "--from", "2024-01", "--to", "2024-03-31", "--json")
    report = json.loads(out)
    assert code == 0
    assert report["user"] is None and report["allowed_regions"] is None  # the local user: full access
    assert report["period"] == {"start": "2024-01", "end": "2024-03", "months": 3}
    assert report["comparison"] == {"kind": "previous", "start": "2023-10", "end": "2023-12"}
    kpis = report["kpis"]
    assert kpis["revenue"]["value"] == 210.0 and kpis["revenue"]["previous"] == 30.0
    assert kpis["orders"]["value"] == 3  # the return starts no order
    assert kpis["active_customers"]["value"] == 2 and kpis["new_customers"]["value"] == 1  # C2 bought in 2023
    assert kpis["repeat_rate"]["value"] == 0.5 and kpis["repeat_rate"]["n"] == 2
    assert {r["region"]: r["revenue"] for r in report["by_region"]} == {"华东": 150.0, "华北": 60.0}
    code, out, _ = run(capsys, "--db", db, "report", "overview", "--from", "2024-01", "--to", "2024-03",
                       "--region", "华北", "--json")
    assert json.loads(out)["kpis"]["revenue"]["value"] == 60.0
    code, out, _ = run(capsys, "--db", db, "report", "overview", "--from", "2024-01", "--to", "2024-03")
    assert code == 0 and "revenue" in out and "华东" in out


def test_report_refuses_a_bad_month_and_an_empty_database(tmp_path, capsys):
    db = str(tmp_path / "crm.duckdb")
    code, _, err = run(capsys, "--db", db, "report", "overview")
    assert code == 1 and "no transactions" in err
    (tmp_path / "sales.csv").write_text(SALES, encoding="utf-8")
    run(capsys, "--db", db, "import", str(tmp_path / "sales.csv"), "--commit")
    code, _, err = run(capsys, "--db", db, "report", "overview", "--from", "2024-13")
    assert code == 2 and "--from '2024-13'" in err
    code, _, err = run(capsys, "--db", db, "report", "overview", "--from", "2024-03", "--to", "2024-01")
    assert code == 2 and "before it starts" in err
    # an option that does not fit the period: said as such, not as an unexpected error
    code, out, err = run(capsys, "--db", db, "report", "churn", "--from", "2024-01", "--to", "2024-03",
                         "--as-of", "2023-06-30")
    assert (code, out) == (2, "") and "the as-of day 2023-06-30 must lie in the period" in err
    assert "unexpected" not in err


# 华南 adds a third region; 华北's last sale (a return) is in March, the others' in February.
ACCESS = """
[users."Li.Wei@example.com"]
role = "sales_manager"
regions = ["华东", "华南"]

[users."cfo@example.com"]
role = "executive"
"""
MANAGER_REGIONS = ("华东", "华南")


@pytest.fixture
def sales_db(tmp_path, capsys):
    """A database with SALES and a 华南 sale, and an access file with a sales manager of
    华东 and 华南 and an executive: ``(db, access_file)``."""
    (tmp_path / "sales.csv").write_text(SALES + "T6,C4,2024-02-10,70,华南,online\n", encoding="utf-8")
    db = str(tmp_path / "crm.duckdb")
    assert run(capsys, "--db", db, "import", str(tmp_path / "sales.csv"), "--commit")[0] == 0
    (tmp_path / "access.toml").write_text(ACCESS, encoding="utf-8")
    return db, str(tmp_path / "access.toml")


def _expected(db: str, scope: Scope) -> dict:
    """``run_report(con, "overview", scope)`` for ``scope`` computed in-process, as the CLI's JSON reads back."""
    con = connect(db)
    try:
        return json.loads(json.dumps(run_report(con, "overview", scope), ensure_ascii=False, default=str))
    finally:
        con.close()


def test_report_as_a_sales_manager_is_the_report_scoped_to_their_regions(sales_db, capsys):
    """``--user``: the figures are those of ``Scope(..., allowed_regions=their regions)``;
    no other region appears; the default period is the latest months of *their* data."""
    db, access = sales_db
    code, out, err = run(capsys, "--db", db, "report", "overview", "--from", "2024-01", "--to", "2024-03",
                         "--user", "li.wei@EXAMPLE.com", "--access-file", access, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report.pop("user") == {"email": "Li.Wei@example.com", "role": "sales_manager"}
    expected = _expected(db, Scope(date(2024, 1, 1), date(2024, 3, 1), allowed_regions=MANAGER_REGIONS))
    assert report == {k: v for k, v in expected.items() if k != "user"}
    assert report["allowed_regions"] == sorted(MANAGER_REGIONS)
    assert {r["region"] for r in report["by_region"]} == set(MANAGER_REGIONS)
    assert report["kpis"]["revenue"]["value"] == 100 + 50 + 70  # 华北's 80 and -20 left out

    code, out, _ = run(capsys, "--db", db, "report", "overview", "--user", "li.wei@example.com",
                       "--access-file", access, "--json")
    report = json.loads(out)
    con = connect(db)
    try:
        default = gate.default_scope(con, MANAGER_REGIONS)
    finally:
        con.close()
    assert (default.start, default.end) == (date(2024, 1, 1), date(2024, 2, 1))  # not 华北's March
    assert report["period"] == {"start": "2024-01", "end": "2024-02", "months": 2}
    assert report["kpis"] == _expected(db, default)["kpis"]
    code, out, _ = run(capsys, "--db", db, "report", "overview", "--user", "li.wei@example.com",
                       "--access-file", access)
    assert code == 0 and "for Li.Wei@example.com (sales_manager), regions 华东, 华南" in out and "华北" not in out


def test_a_region_filter_outside_the_users_regions_gives_nothing(sales_db, capsys):
    """``--region 华北`` for a manager of 华东 and 华南 (a tampered link) shows zero figures,
    never 华北's; with one of their regions too, only that region's."""
    db, access = sales_db
    args = ("--db", db, "report", "overview", "--from", "2024-01", "--to", "2024-03",
            "--user", "li.wei@example.com", "--access-file", access, "--json")
    code, out, _ = run(capsys, *args, "--region", "华北")
    report = json.loads(out)
    assert code == 0 and report["filters"]["regions"] == ["华北"]
    assert report["by_region"] == [] and report["highlights"] == []
    kpis = report["kpis"]
    assert kpis["revenue"]["value"] == 0 and kpis["orders"]["value"] == 0
    assert kpis["active_customers"]["value"] == 0 and kpis["new_customers"]["value"] == 0
    assert report["trend"] and all(r["revenue"] == 0 and r["orders"] == 0 for r in report["trend"])
    assert report["data_through"] is None
    code, out, _ = run(capsys, *args, "--region", "华北", "--region", "华东")
    report = json.loads(out)
    assert report["kpis"]["revenue"]["value"] == 150.0
    assert [r["region"] for r in report["by_region"]] == ["华东"]


def test_report_as_an_executive_through_the_environment_variable(sales_db, capsys, monkeypatch):
    db, access = sales_db
    monkeypatch.setenv("CRM_ACCESS_FILE", access)
    code, out, _ = run(capsys, "--db", db, "report", "overview", "--user", "CFO@example.com", "--json")
    report = json.loads(out)
    assert code == 0 and report.pop("user") == {"email": "cfo@example.com", "role": "executive"}
    assert report == {k: v for k, v in _expected(db, Scope(date(2023, 12, 1), date(2024, 3, 1))).items()
                      if k != "user"}


def test_report_for_a_user_not_in_the_access_file_prints_no_figures(sales_db, capsys):
    db, access = sales_db
    code, out, err = run(capsys, "--db", db, "report", "overview", "--user", "nobody@example.com",
                         "--access-file", access)
    assert code == 1 and out == ""
    assert f"nobody@example.com has no access: not in the access file {access}" in err
    code, out, err = run(capsys, "--db", db, "report", "overview", "--user", "nobody@example.com",
                         "--access-file", access, "--json")
    assert code == 1 and json.loads(out) == {"error": err.removeprefix("error: ").strip(), "kind": "AccessDenied"}


def test_report_with_a_bad_or_missing_access_file_exits_1(sales_db, capsys, tmp_path):
    db, _ = sales_db
    bad = tmp_path / "bad.toml"
    bad.write_text('[users."li.wei@example.com"]\nrole = "sales_manager"\n', encoding="utf-8")
    code, out, err = run(capsys, "--db", db, "report", "overview", "--user", "li.wei@example.com",
                         "--access-file", str(bad))
    assert code == 1 and out == ""
    assert f"{bad}: user 'li.wei@example.com': a sales_manager needs 'regions'" in err
    missing = tmp_path / "missing.toml"
    code, out, err = run(capsys, "--db", db, "report", "overview", "--user", "li.wei@example.com",
                         "--access-file", str(missing))
    assert code == 1 and out == "" and str(missing) in err and "access.example.toml" in err
    with pytest.raises(SystemExit) as usage:
        main(["--db", db, "report", "overview", "--access-file", str(bad)])
    assert usage.value.code == 2 and "only with --user" in capsys.readouterr().err


def test_report_for_a_user_refuses_a_scope_with_other_regions(sales_db):
    db, _ = sales_db
    manager = Access("li.wei@example.com", "sales_manager", MANAGER_REGIONS)
    con = connect(db)
    try:
        with pytest.raises(ValueError, match=r"not li\.wei@example\.com's"):
            run_report(con, "overview", Scope(date(2024, 1, 1), date(2024, 3, 1)), manager)
        scope = Scope(date(2024, 1, 1), date(2024, 3, 1), allowed_regions=tuple(reversed(MANAGER_REGIONS)))
        assert run_report(con, "overview", scope, manager)["user"]["role"] == "sales_manager"
    finally:
        con.close()


def test_report_data_prints_the_data_pages_ledger_checks_and_settings(sales_db, capsys):
    """``report data``: what the Data page's tabs show, from the same functions; for analysts
    and admins only; it has no period or filters."""
    db, access = sales_db
    code, out, err = run(capsys, "--db", db, "report", "data", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["page"] == "data" and report["user"] is None and "period" not in report
    ledger = [(r["import_id"], r["kind"], r["file_name"], r["rows_imported"], r["status"]) for r in report["imports"]]
    assert ledger == [(1, "transactions", "sales.csv", 6, "committed")]
    assert {c["name"] for c in report["checks"]} == {
        p.stem for p in (PROJECT_ROOT / "analytics" / "store" / "sql" / "audits").glob("*.sql")}
    assert report["settings"]["currency"] == "CNY"
    code, out, _ = run(capsys, "--db", db, "report", "data")
    assert code == 0 and out.startswith("Data\nimports (1, newest first):") and "sales.csv" in out
    code, _, err = run(capsys, "--db", db, "report", "data", "--region", "华东")
    assert code == 2 and "--region: the data page has no period or filters" in err
    code, out, err = run(capsys, "--db", db, "report", "data", "--user", "cfo@example.com", "--access-file", access)
    assert code == 1 and out == "" and "cfo@example.com (executive) may not open the data page" in err


def test_an_unforeseen_error_is_one_sentence_not_a_traceback(tmp_path, monkeypatch, capsys):
    """Issue 10: what no rule foresaw (a reader's own exception) is said in one line, exit 1;
    CRM_DEBUG=1 shows the traceback."""
    import duckdb

    from analytics import cli

    def failing(*args, **kwargs):
        raise duckdb.InvalidInputException("CSV Parser state machine reached an invalid state\n  more detail")

    monkeypatch.setattr(cli, "import_file", failing)
    path = tmp_path / "x.csv"
    path.write_text("customer_id,order_date,amount\nC1,2024-01-05,1\n", encoding="utf-8")
    monkeypatch.delenv("CRM_DEBUG", raising=False)
    assert cli.main(["--db", str(tmp_path / "crm.duckdb"), "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: an unexpected error (InvalidInputException: CSV Parser state machine reached an "
                          "invalid state); nothing was written.")
    assert "Traceback" not in err and "more detail" not in err
    monkeypatch.setenv("CRM_DEBUG", "1")
    with pytest.raises(duckdb.InvalidInputException):
        cli.main(["--db", str(tmp_path / "crm.duckdb"), "import", str(path)])
