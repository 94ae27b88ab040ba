"""Customer attributes carried by sales files (name, segment, province, city): they reach the
customer summary and the segment filter, a customers file wins over them, disagreements are
reported and found by their check, undo takes an import's attributes out, and they change no
line's identity."""

from __future__ import annotations

from datetime import date

import pytest
from import_util import (
    READERS,
    con_fixture,  # noqa: F401 (the con fixture)
    rows,
    write,
)

from analytics.ingest.pipeline import import_file, undo_import
from analytics.report import run_report
from analytics.scope import Scope, customers
from analytics.store import audits

HEADERS = {
    "zh": "订单编号,订单日期,客户ID,客户名称,细分,省份,城市,地区,产品类别,销售额,数量,利润\n",
    "en": "Order ID,Order Date,Customer ID,Customer Name,Segment,Province,City,Region,Category,Sales,Quantity,Profit\n",
}
LINES = ("CN-1,2024-01-05,C1,张三,消费者,浙江,杭州,华东,办公用品,100.00,2,20.50\n"
         "CN-1,2024-01-05,C1,张三,消费者,浙江,杭州,华东,家具,300.00,1,-10\n"
         "CN-2,2024-02-05,C2,李四公司,公司,江苏,南京,华东,技术,1000,5,250\n"
         "CN-3,2024-02-06,C3,王五,小型企业,北京,北京,华北,技术,50,1,5\n")
YEAR = Scope(start=date(2024, 1, 1), end=date(2024, 12, 1), compare="none")
CHECK = "customer_attribute_conflicts"


def summary(con) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in rows(con, "select customer_id, customer_name, segment, province, city "
                                           "from customer_summary order by customer_id")}


def check(con) -> list[dict]:
    found = {r.name: r for r in audits.run_checks(con)}[CHECK]
    return found.sample.to_dict("records")


def in_segment(con, *segments: str) -> list[str]:
    scoped = customers(Scope(start=YEAR.start, end=YEAR.end, compare="none", segments=segments))
    return [r[0] for r in rows(con, f"select customer_id from ({scoped.sql}) order by 1", *scoped.params)]


@pytest.mark.parametrize("force_python", READERS)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_sales_file_alone_names_its_customers_and_fills_the_segment_filter(con, tmp_path, lang, force_python):
    path = write(tmp_path / f"orders_{lang}.csv", HEADERS[lang] + LINES)
    report = import_file(con, path, commit=True, force_python=force_python)
    assert (report.rows_imported, report.rows_rejected, report.attribute_conflicts) == (4, 0, [])
    assert {"customer_name", "segment", "province", "city"} <= set(report.mapping)
    assert summary(con) == {"C1": ("张三", "消费者", "浙江", "杭州"), "C2": ("李四公司", "公司", "江苏", "南京"),
                            "C3": ("王五", "小型企业", "北京", "北京")}
    # the attributes are not stored on the lines: one row per import, customer and values
    assert rows(con, "select customer_id, segment, lines from customer_attributes order by 1") == [
        ("C1", "消费者", 2), ("C2", "公司", 1), ("C3", "小型企业", 1)]
    assert in_segment(con, "公司") == ["C2"]
    assert in_segment(con, "消费者", "小型企业") == ["C1", "C3"]
    overview = run_report(con, "overview", Scope(start=YEAR.start, end=YEAR.end, compare="none",
                                                 segments=("消费者",)))
    assert overview["kpis"]["revenue"]["value"] == pytest.approx(400.0)
    assert overview["kpis"]["active_customers"]["value"] == 1
    assert check(con) == []


def test_a_customers_file_wins_over_the_sales_file_whichever_comes_first(con, tmp_path):
    sales = write(tmp_path / "orders.csv", HEADERS["zh"] + LINES)
    # C1's city left empty in the customers file: the sales file's city shows
    people = write(tmp_path / "customers.csv", "客户编号,客户名称,客户类型,省份,城市\n"
                                               "C1,张三有限公司,公司,上海,\nC2,李四,消费者,江苏,苏州\n")
    import_file(con, people, commit=True)
    import_file(con, sales, commit=True)
    assert summary(con) == {"C1": ("张三有限公司", "公司", "上海", "杭州"), "C2": ("李四", "消费者", "江苏", "苏州"),
                            "C3": ("王五", "小型企业", "北京", "北京")}
    assert in_segment(con, "公司") == ["C1"]
    # sales files disagreeing where the customers file speaks are no conflict; elsewhere they are
    more = import_file(con, write(tmp_path / "more.csv", HEADERS["zh"]
                                  + "CN-9,2024-03-05,C2,李四公司,小型企业,江苏,南京,华东,技术,10,1,1\n"
                                  + "CN-9,2024-03-05,C3,王五,小型企业,天津,天津,华北,技术,10,1,1\n"), commit=True)
    c3 = [("C3", "city"), ("C3", "province")]
    assert [(c["customer_id"], c["attribute"]) for c in more.attribute_conflicts] == c3
    assert [(c["customer_id"], c["attribute"]) for c in check(con)] == c3
    undo_import(con, more.import_id)
    undo_import(con, 1)
    undo_import(con, 2)
    import_file(con, sales, commit=True)
    import_file(con, people, commit=True)
    assert summary(con)["C1"] == ("张三有限公司", "公司", "上海", "杭州")


def test_values_that_differ_within_a_file_are_reported_and_found_by_the_check(con, tmp_path):
    path = write(tmp_path / "orders.csv", HEADERS["en"]
                 + "O1,2024-01-05,C1,Ann,Consumer,Zhejiang,Hangzhou,East,Tech,10,1,2\n"
                 + "O2,2024-01-06,C2,Bob,Corporate,Jiangsu,Nanjing,East,Tech,10,1,2\n"
                 + "O3,2024-01-07,C2,Bob,Home Office,Jiangsu,Nanjing,East,Tech,10,1,2\n"
                 + "O4,2024-01-08,C2,Bob,Corporate,Jiangsu,Suzhou,East,Tech,10,1,2\n")
    preview = import_file(con, path)
    assert preview.attribute_conflicts == [
        {"customer_id": "C2", "attribute": "city", "line": 3,
         "values": [{"value": "Nanjing", "lines_in_file": 2, "lines_stored": 0},
                    {"value": "Suzhou", "lines_in_file": 1, "lines_stored": 0}]},
        {"customer_id": "C2", "attribute": "segment", "line": 3,
         "values": [{"value": "Corporate", "lines_in_file": 2, "lines_stored": 0},
                    {"value": "Home Office", "lines_in_file": 1, "lines_stored": 0}]},
    ]
    assert any(n.startswith("1 customer has more than one name, segment, province or city") for n in preview.notes)
    report = import_file(con, path, commit=True)
    assert report.checks[CHECK] == 2
    # never silently picked: the summary shows the value on most lines, the check shows them all
    assert summary(con)["C2"] == ("Bob", "Corporate", "Jiangsu", "Nanjing")
    assert check(con) == [
        {"customer_id": "C2", "attribute": "city", "shown": "Nanjing", "values_seen": "Nanjing: 2 · Suzhou: 1"},
        {"customer_id": "C2", "attribute": "segment", "shown": "Corporate",
         "values_seen": "Corporate: 2 · Home Office: 1"},
    ]


def test_values_that_differ_across_imports_tie_to_the_latest_and_undo_takes_them_out(con, tmp_path):
    header = "客户编号,订单日期,实付金额,客户分类\n"
    first = write(tmp_path / "jan.csv", header + "C1,2024-01-05,10,消费者\nC2,2024-01-05,10,公司\n")
    second = write(tmp_path / "feb.csv", header + "C1,2024-02-05,10,公司\nC2,2024-02-05,10,公司\n")
    import_file(con, first, commit=True)
    report = import_file(con, second, commit=True)
    assert report.attribute_conflicts == [
        {"customer_id": "C1", "attribute": "segment", "line": 2,
         "values": [{"value": "公司", "lines_in_file": 1, "lines_stored": 0},
                    {"value": "消费者", "lines_in_file": 0, "lines_stored": 1}]}]
    # one line each: the tie goes to the latest import
    assert summary(con)["C1"][1] == "公司"
    assert check(con) == [{"customer_id": "C1", "attribute": "segment", "shown": "公司",
                           "values_seen": "公司: 1 · 消费者: 1"}]
    undo_import(con, report.import_id)
    assert rows(con, "select distinct import_id from customer_attributes") == [(1,)]
    assert summary(con)["C1"][1] == "消费者"
    assert check(con) == []
    undo_import(con, 1)
    assert rows(con, "select count(*) from customer_attributes") == [(0,)]
    assert summary(con) == {}


@pytest.mark.parametrize("force_python", READERS)
@pytest.mark.parametrize("ids", ["orders", "no_ids"])
def test_attributes_change_no_line_identity_and_a_reimport_adds_nothing(con, tmp_path, ids, force_python):
    lines = LINES if ids == "orders" else "".join(",".join(line.split(",")[1:]) for line in LINES.splitlines(True))
    header = HEADERS["zh"] if ids == "orders" else HEADERS["zh"].split(",", 1)[1]
    path = write(tmp_path / "orders.csv", header + lines)
    import_file(con, path, commit=True, force_python=force_python)
    before = rows(con, "select * from customer_attributes order by all")
    again = import_file(con, path, commit=True, force_python=force_python)
    assert (again.status, again.rows_imported, again.rows_already_present, again.orders_amended) == (
        "nothing new", 0, 4, 0)
    assert rows(con, "select * from customer_attributes order by all") == before
    # the same lines without the attribute columns are the same lines
    keep = [i for i, name in enumerate(header.strip().split(",")) if name not in ("客户名称", "细分", "省份", "城市")]
    plain = "".join(",".join(line.rstrip("\n").split(",")[i] for i in keep) + "\n"
                    for line in (header + lines).splitlines(True))
    bare = import_file(con, write(tmp_path / "plain.csv", plain), commit=True, force_python=force_python)
    assert (bare.rows_imported, bare.rows_already_present, bare.orders_amended) == (0, 4, 0)


def test_only_the_lines_an_import_adds_count_for_its_attributes(con, tmp_path):
    header = "客户编号,订单日期,实付金额,客户名称\n"
    import_file(con, write(tmp_path / "a.csv", header + "C1,2024-01-05,10,甲\nC1,2024-01-06,10,甲\n"), commit=True)
    later = import_file(con, write(tmp_path / "b.csv", header + "C1,2024-01-05,10,甲\nC1,2024-01-06,10,甲\n"
                                   "C1,2024-01-07,10,乙\n"), commit=True)
    assert (later.rows_imported, later.rows_already_present) == (1, 2)
    assert rows(con, "select import_id, customer_name, lines from customer_attributes order by 1") == [
        (1, "甲", 2), (2, "乙", 1)]
    assert summary(con)["C1"][0] == "甲"
