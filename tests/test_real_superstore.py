"""A real public order-line export, Sample Superstore (tests/fixtures/superstore/, MIT): every
line imported, and the figures equal an independent computation on the raw file.

The file as published (English headers, a `Row ID` per line, the product's name), and the
same lines re-saved the way a Chinese company's Excel export looks: GBK, Chinese headers,
no line number and no product (so lines are told apart only by their content within their
order; some orders hold the same product twice at different prices).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from import_util import rows

from analytics.ingest.pipeline import import_file
from analytics.store.connection import connect

SUPERSTORE = Path(__file__).resolve().parent / "fixtures" / "superstore" / "superstore.csv"
#: The Chinese export's headers, for the columns it keeps.
ZH = {"Order ID": "订单编号", "Order Date": "订单日期", "Customer ID": "客户ID", "Customer Name": "客户名称",
      "Segment": "细分", "Region": "地区", "Category": "产品类别", "Sales": "销售额", "Quantity": "数量",
      "Profit": "利润"}


def raw_lines() -> list[dict[str, str]]:
    with SUPERSTORE.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def independent(lines: list[dict[str, str]]) -> dict[str, object]:
    """The figures, from the raw text with Python's decimal (exact), nothing of the app."""
    by_region: dict[str, Decimal] = defaultdict(Decimal)
    for r in lines:
        by_region[r["Region"]] += Decimal(r["Sales"])
    return {"lines": len(lines), "orders": len({r["Order ID"] for r in lines}),
            "customers": len({r["Customer ID"] for r in lines}),
            "revenue": sum(Decimal(r["Sales"]) for r in lines),
            "profit": sum(Decimal(r["Profit"]) for r in lines), "by_region": dict(by_region),
            "names": {r["Customer ID"]: r["Customer Name"] for r in lines},
            "segments": {r["Customer ID"]: r["Segment"] for r in lines}}


@pytest.fixture(scope="module")
def expected() -> dict[str, object]:
    return independent(raw_lines())


def chinese_export(folder: Path) -> Path:
    """The lines as a Chinese Excel export: GBK, the headers in ZH, no line id, no product."""
    path = folder / "超市订单明细.csv"
    with path.open("w", encoding="gb18030", newline="") as f:
        out = csv.writer(f)
        out.writerow(ZH.values())
        out.writerows([r[k] for k in ZH] for r in raw_lines())
    return path


def check_figures(con, expected: dict[str, object]) -> None:
    assert rows(con, "select count(*), sum(amount) from transactions") == [(expected["lines"], expected["revenue"])]
    assert rows(con, "select sum(orders), count(*) filter (where orders > 0) from customer_summary") == [
        (expected["orders"], expected["customers"])]
    assert dict(rows(con, "select region, sum(revenue) from sales_month group by region")) == expected["by_region"]
    assert rows(con, "select sum(margin) from customer_summary") == [(expected["profit"],)]
    names = dict(rows(con, "select customer_id, customer_name from customer_summary"))
    segments = dict(rows(con, "select customer_id, segment from customer_summary"))
    assert names == expected["names"] and segments == expected["segments"]


@pytest.mark.parametrize("shape", ["published", "chinese_export"])
def test_every_line_of_the_superstore_file_is_imported_with_its_figures(tmp_path, expected, shape):
    path = SUPERSTORE if shape == "published" else chinese_export(tmp_path)
    con = connect(tmp_path / "crm.duckdb")
    try:
        report = import_file(con, path, commit=True)
        assert (report.rows_read, report.rows_imported, report.rows_rejected, report.rows_conflicting,
                report.rows_duplicate) == (expected["lines"], expected["lines"], 0, 0, 0)
        assert report.orders == expected["orders"]
        check_figures(con, expected)
        again = import_file(con, path, commit=True)
        assert (again.rows_imported, again.rows_already_present, again.orders_amended) == (0, expected["lines"], 0)
    finally:
        con.close()


def test_the_overview_report_of_superstore_equals_the_raw_file(tmp_path, expected):
    """The overview's figures for 2017 (the last 12 months with data) against the raw lines."""
    con = connect(tmp_path / "crm.duckdb")
    try:
        import_file(con, SUPERSTORE, commit=True)
    finally:
        con.close()
    from analytics.report import run_report
    from analytics.scope import default_scope

    con = connect(tmp_path / "crm.duckdb")
    try:
        scope = default_scope(con)
        report = run_report(con, "overview", scope)
    finally:
        con.close()
    in_2017 = [r for r in raw_lines() if r["Order Date"].startswith("2017")]
    year = independent(in_2017)
    assert report["period"] == {"start": "2017-01", "end": "2017-12", "months": 12}
    assert report["kpis"]["revenue"]["value"] == pytest.approx(float(year["revenue"]), abs=1e-6)
    assert report["kpis"]["orders"]["value"] == year["orders"]
    assert report["kpis"]["active_customers"]["value"] == year["customers"]
    assert {r["region"]: r["revenue"] for r in report["by_region"]} == pytest.approx(
        {k: float(v) for k, v in year["by_region"].items()}, abs=1e-6)
