"""Leads files in three shapes, one table (issue 15, point 1): a Chinese CRM's stage-change log (GBK), a
workbook of a date column per stage (a title row above the header, a 合计 row) and a Salesforce-style export of
each lead's current stage. Every stored row equals an independent reading of the raw file (pandas, openpyxl);
the shape is told from the headers; importing again adds nothing. Further stages, amended rows and undo:
``test_leads_import_store.py``; the Data page: ``test_leads_import_app.py``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from import_util import con_fixture, rows, write  # noqa: F401 (the con fixture)
from leads_reading import LEADS, STORED, current_stage, stage_dates, stage_log

from analytics.errors import MappingError
from analytics.ingest import leads
from analytics.ingest.mapping import propose_mapping
from analytics.ingest.pipeline import import_file


def stored(con, import_id: int) -> list[tuple]:
    return rows(con, f"select {STORED} from leads where import_id = ? order by line", import_id)


# ----------------------------------------------------------------------------- (a) a stage-change log, GBK

def test_a_stage_change_log_stores_each_stage_reached(con):
    report = import_file(con, LEADS / "stage_log_gbk.csv", commit=True)
    assert (report.kind, report.lead_shape, report.encoding) == ("leads", "stage_history", "gb18030")
    assert report.mapping["stage_date"] == "进入阶段时间" and report.mapping["stage"] == "销售阶段"
    assert set(report.unmapped_columns) == {"线索名称", "所属部门", "操作人"}
    want = stage_log()
    assert stored(con, report.import_id) == want
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (22, len(want), 2)
    assert [(r["line"], r["column"], r["reason"]) for r in report.rejects] == [
        (14, "线索编号", "lead_id is empty"), (17, "销售阶段", "stage is empty")]
    # two leads carry no created date on any row: they were created on their first stage's day
    assert rows(con, "select lead_id, min(created_date), min(stage_date) from leads where lead_id in "
                     "('XS2403002', 'XS2403006') group by 1 order by 1") == [
        ("XS2403002", dt.date(2024, 3, 2), dt.date(2024, 3, 2)), ("XS2403006", dt.date(2024, 3, 11),
                                                                  dt.date(2024, 3, 11))]
    assert any("6 rows have no created date" in n for n in report.notes)


def test_a_log_without_a_created_date_column_takes_each_leads_earliest_stage_date(con, tmp_path):
    path = write(tmp_path / "log.csv", "线索编号,阶段,变更日期,负责人\nL1,意向,2024-01-09,王五\n"
                 "L1,线索,2024-01-05,王五\nL2,线索,2024-02-01,李四\nL3,报价,,李四\n")
    report = import_file(con, path, commit=True)
    assert report.lead_shape == "stage_history"
    assert rows(con, "select lead_id, stage, stage_date, created_date from leads order by line") == [
        ("L1", "意向", dt.date(2024, 1, 9), dt.date(2024, 1, 5)),
        ("L1", "线索", dt.date(2024, 1, 5), dt.date(2024, 1, 5)),
        ("L2", "线索", dt.date(2024, 2, 1), dt.date(2024, 2, 1))]
    assert [(r["line"], r["column"], r["reason"]) for r in report.rejects] == [
        (5, "变更日期", leads.NO_CREATED_DATE)]
    assert "the file has no created date column: each lead was created on its earliest stage date in this file " \
           "(变更日期)" in report.notes


# ----------------------------------------------------------------------------- (b) a date column per stage, .xlsx

def test_a_workbook_of_stage_dates_stores_each_lead_at_its_current_stage(con):
    report = import_file(con, LEADS / "stage_dates.xlsx", commit=True)
    assert (report.kind, report.lead_shape, report.header_row) == ("leads", "stage_dates", 3)
    want = stage_dates()
    assert stored(con, report.import_id) == want
    assert {r[2] for r in want} == {"won", "lost", "proposal", "target", "potential"}
    assert (report.rows_imported, report.rows_rejected, report.excluded) == (
        len(want), 0, [{"line": 13, "reason": "total row"}])
    assert rows(con, "select customer_id from leads where customer_id is not null order by 1") == [
        ("000601",), ("000618",)]


def test_a_stage_dates_file_with_a_stage_column_stores_its_stage_as_given(con, tmp_path):
    path = write(tmp_path / "b.csv", "线索编号,创建日期,阶段,确认日期,成交日期\n"
                 "L1,2024-01-05,成交,2024-01-09,2024-02-01\nL2,2024-01-06,意向,2024-01-10,\n")
    report = import_file(con, path, commit=True)
    assert report.lead_shape == "stage_dates"
    assert rows(con, "select lead_id, stage, qualified_date, closed_date from leads order by line") == [
        ("L1", "成交", dt.date(2024, 1, 9), dt.date(2024, 2, 1)), ("L2", "意向", dt.date(2024, 1, 10), None)]
    assert not any(n.startswith("the file has no stage column") for n in report.notes)


# ----------------------------------------------------------------------------- (c) a CRM export, current stage only

def test_a_crm_export_of_current_stages_stores_each_lead_as_it_comes(con):
    report = import_file(con, LEADS / "salesforce_leads.csv", commit=True)
    assert (report.kind, report.lead_shape, report.encoding) == ("leads", "current_stage", "utf-8")
    assert report.mapping == {"lead_id": "Lead ID", "created_date": "Created Date", "stage": "Lead Status",
                              "source": "Lead Source", "sales_rep": "Owner", "customer_id": "Converted Account ID",
                              "region": "Region"}
    assert report.date_readings["Created Date"]["reading"] == "mdy" and not report.needs_confirmation
    want = current_stage()
    assert stored(con, report.import_id) == want
    assert [(r["line"], r["column"], r["reason"]) for r in report.rejects] == [
        (5, "Lead ID", "lead_id is empty"), (9, "Lead ID", "lead_id is empty")]


# ----------------------------------------------------------------------------- shapes, and importing again

@pytest.mark.parametrize(("headers", "shape"), [
    (["线索编号", "销售阶段", "进入阶段日期", "所属区域"], "stage_history"),
    (["线索编号", "阶段", "阶段日期", "创建日期", "负责人"], "stage_history"),
    (["Lead ID", "Stage", "Date reached", "Owner"], "stage_history"),
    (["lead id", "status", "stage date", "created date"], "stage_history"),
    (["线索编号", "变更后阶段", "变更时间", "操作人"], "stage_history"),
    (["线索编号", "创建日期", "确认日期", "报价日期", "成交日期", "结果"], "stage_dates"),
    (["lead_id", "created_date", "qualified_date", "proposal_date", "closed_date", "outcome"], "stage_dates"),
    (["线索编号", "创建日期", "阶段", "关闭日期"], "stage_dates"),
    (["Lead ID", "Created Date", "Lead Status", "Lead Source", "Owner", "Converted Account ID"], "current_stage"),
    (["Record ID", "Create Date", "Lifecycle Stage", "Original Source", "Contact owner"], "current_stage"),
    (["线索编号", "创建时间", "线索状态", "线索来源", "负责人"], "current_stage"),
])
def test_the_shape_is_told_from_the_headers(headers, shape):
    mapping = propose_mapping(headers)
    assert (mapping.kind, leads.shape(mapping)) == ("leads", shape)


def test_a_leads_file_without_a_created_date_or_a_stage_date_is_refused():
    with pytest.raises(MappingError, match="a leads file needs the column\\(s\\) created_date"):
        propose_mapping(["线索编号", "阶段", "负责人"], kind="leads")


@pytest.mark.parametrize("name", ["stage_log_gbk.csv", "stage_dates.xlsx", "salesforce_leads.csv"])
def test_importing_a_leads_file_again_adds_nothing(con, name):
    first = import_file(con, LEADS / name, commit=True)
    before = rows(con, "select * from leads order by all")
    again = import_file(con, LEADS / name, commit=True)
    assert (again.status, again.rows_imported, again.rows_already_present, again.rows_replaced) == (
        "nothing new", 0, first.rows_imported, 0)
    assert again.already_imported_as == [first.import_id]
    assert rows(con, "select * from leads order by all") == before


def test_each_shape_imports_beside_the_others(con):
    reports = [import_file(con, LEADS / n, commit=True)
               for n in ("stage_log_gbk.csv", "stage_dates.xlsx", "salesforce_leads.csv")]
    assert rows(con, "select count(*) from leads") == [(len(stage_log()) + len(stage_dates()) + len(current_stage()),)]
    assert [r.import_id for r in reports] == [1, 2, 3]


# ----------------------------------------------------------------------------- bad rows

def test_bad_rows_are_rejected_with_their_line_and_column_and_the_rest_imports(con, tmp_path):
    path = write(tmp_path / "bad.csv", "线索编号,销售阶段,阶段日期,创建日期,结果\n"
                 "L1,线索,2024-01-05,2024-01-05,\n"      # fine
                 ",意向,2024-01-09,2024-01-05,\n"         # no lead id
                 "L1,,2024-01-09,2024-01-05,\n"           # no stage
                 "L2,线索,2024-13-01,2024-01-06,\n"       # a stage date that is no date
                 "L3,线索,,,\n"                           # no created date, and no stage date to take it from
                 "L4,成交,2024-02-01,2024-01-07,也许\n")  # an unknown outcome
    report = import_file(con, path, commit=True)
    assert [(r["line"], r["column"], r["value"], r["reason"]) for r in report.rejects] == [
        (3, "线索编号", None, "lead_id is empty"),
        (4, "销售阶段", None, "stage is empty"),
        (5, "阶段日期", "2024-13-01", "not a date"),
        (6, "创建日期", None, leads.NO_CREATED_DATE),
        (7, "结果", "也许", "unknown outcome (use won or lost, or leave empty)")]
    assert rows(con, "select line, lead_id from leads") == [(2, "L1")]
    assert rows(con, "select line, column_name from import_rejects order by line") == [
        (3, "线索编号"), (4, "销售阶段"), (5, "阶段日期"), (6, "创建日期"), (7, "结果")]


def test_one_lead_and_stage_twice_in_a_file_on_other_days_is_a_conflict(con, tmp_path):
    path = write(tmp_path / "twice.csv", "线索编号,阶段,阶段日期,创建日期\nL1,意向,2024-01-09,2024-01-05\n"
                 "L1,意向,2024-01-12,2024-01-05\nL1,意向,2024-01-09,2024-01-05\n")
    report = import_file(con, path, commit=True)
    assert (report.rows_conflicting, report.rows_duplicate, report.rows_imported) == (1, 1, 1)
    assert report.conflicts == [
        {"line": 3, "key": "L1 / 意向", "other": "line 2 of this file", "kept": "the other row"}]
    assert rows(con, "select stage_date from leads") == [(dt.date(2024, 1, 9),)]


def test_a_stage_reached_before_the_lead_was_created_is_an_audit_finding(con, tmp_path):
    path = write(tmp_path / "early.csv", "线索编号,阶段,阶段日期,创建日期\nL1,线索,2024-01-05,2024-01-05\n"
                 "L1,意向,2024-01-02,2024-01-05\n")
    report = import_file(con, path, commit=True)
    assert report.rows_imported == 2 and report.checks["lead_dates_out_of_order"] == 1
