"""Stored columns derived in the staging pass: the cost from a profit (amount − profit, so the
margin is the file's profit) and the amount from unit price × quantity (a negative quantity a
return); the rejects of a line that cannot give its amount, the notes, margin rates, and the
identity of derived lines."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal

import pytest
from import_util import (
    READERS,
    con_fixture,  # noqa: F401 (the con fixture)
    rows,
    write,
)

from analytics.ingest.pipeline import import_file
from ui.importing.messages import localize

PROFIT = {
    "zh": "订单编号,订单日期,客户ID,客户名称,细分,地区,产品类别,销售额,数量,利润\n"
          "CN-1,2024-01-05,C1,张三,消费者,华东,办公用品,100.00,2,20.50\n"
          "CN-1,2024-01-05,C1,张三,消费者,华东,家具,\"1,300.00\",1,-10.25\n"
          "CN-2,2024-02-05,C2,李四,公司,华北,技术,999.99,5,333.33\n"
          "CN-3,2024-03-05,C2,李四,公司,华北,技术,-50,-1,-5\n",
    "en": "Order ID,Order Date,Customer ID,Customer Name,Segment,Region,Category,Sales,Quantity,Profit\n"
          "US-1,2024-01-05,C1,Ann,Consumer,East,Office,100.00,2,20.50\n"
          "US-1,2024-01-05,C1,Ann,Consumer,East,Furniture,\"1,300.00\",1,-10.25\n"
          "US-2,2024-02-05,C2,Bob,Corporate,West,Technology,999.99,5,333.33\n"
          "US-3,2024-03-05,C2,Bob,Corporate,West,Technology,-50,-1,-5\n",
}
PRICED = ("订单编号,订单日期,客户编号,单价,数量\n"
          "SO1,2024-01-05,C1,19.99,3\n"
          "SO1,2024-01-05,C1,0.5,2.5\n"
          "SO2,2024-01-06,C2,1200,1\n"
          "SO3,2024-01-09,C2,1200,-1\n")


def independent(text: str, column: str) -> dict[str, Decimal]:
    """Each customer's sum of ``column``, read from the text with Python's csv and decimal."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    lines = list(csv.reader(io.StringIO(text)))
    at, who = lines[0].index(column), next(i for i, h in enumerate(lines[0]) if h in ("客户ID", "Customer ID"))
    for line in lines[1:]:
        sums[line[who]] += Decimal(line[at].replace(",", ""))
    return dict(sums)


@pytest.mark.parametrize("force_python", READERS)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_profit_without_a_cost_gives_the_cost_and_the_margin(con, tmp_path, lang, force_python):
    path = write(tmp_path / f"profit_{lang}.csv", PROFIT[lang])
    report = import_file(con, path, commit=True, force_python=force_python)
    header = "利润" if lang == "zh" else "Profit"
    assert (report.rows_imported, report.rows_rejected) == (4, 0)
    assert (f"the file has no cost column: each row's cost is its amount less its profit ({header}), "
            "so its margin is the profit") in report.notes
    assert not any("margin rates" in n for n in report.notes)
    assert rows(con, "select line, amount, cost from transactions order by line") == [
        (2, Decimal("100"), Decimal("79.5")), (3, Decimal("1300"), Decimal("1310.25")),
        (4, Decimal("999.99"), Decimal("666.66")), (5, Decimal("-50"), Decimal("-45"))]
    assert dict(rows(con, "select customer_id, margin from customer_summary")) == independent(PROFIT[lang], header)


def test_a_file_with_a_cost_keeps_its_cost(con, tmp_path):
    path = write(tmp_path / "cost.csv", "customer_id,order_date,amount,cost,profit\nC1,2024-01-05,100,70,20\n")
    report = import_file(con, path, commit=True)
    assert rows(con, "select amount, cost from transactions") == [(Decimal("100"), Decimal("70"))]
    assert not any("cost column" in n for n in report.notes)


@pytest.mark.parametrize("force_python", READERS)
def test_unit_price_times_quantity_gives_the_amount_and_a_negative_quantity_a_return(con, tmp_path, force_python):
    report = import_file(con, write(tmp_path / "priced.csv", PRICED), commit=True, force_python=force_python)
    assert (report.rows_imported, report.rows_rejected, report.returns) == (4, 0, 1)
    assert report.notes[0] == ("the file has no amount column: each row's amount is its unit price (单价) × its "
                               "quantity (数量); a negative quantity makes it a return")
    assert rows(con, "select line, amount, quantity, is_return from transactions order by line") == [
        (2, Decimal("59.97"), 3.0, False), (3, Decimal("1.25"), 2.5, False),
        (4, Decimal("1200"), 1.0, False), (5, Decimal("-1200"), -1.0, True)]
    assert rows(con, "select customer_id, revenue, returns_amount from customer_summary order by 1") == [
        ("C1", Decimal("61.22"), Decimal("0")), ("C2", Decimal("0"), Decimal("1200"))]


def test_unit_price_quantity_and_profit_give_amount_and_cost(con, tmp_path):
    path = write(tmp_path / "both.csv", "Customer ID,Order Date,Unit Price,Quantity,Gross Profit\n"
                                        "C1,2024-01-05,25.5,4,30\nC1,2024-01-06,10,-2,-4\n")
    report = import_file(con, path, commit=True)
    assert sum("no amount column" in n or "no cost column" in n for n in report.notes) == 2
    assert rows(con, "select amount, cost from transactions order by line") == [
        (Decimal("102"), Decimal("72")), (Decimal("-20"), Decimal("-16"))]
    assert rows(con, "select margin from customer_summary") == [(Decimal("26"),)]


@pytest.mark.parametrize("force_python", READERS)
def test_a_line_that_cannot_give_its_amount_is_rejected_with_its_line_and_column(con, tmp_path, force_python):
    path = write(tmp_path / "bad.csv", "客户编号,订单日期,单价,数量\n"
                                       "C1,2024-01-05,19.99,\n"          # 2: no quantity
                                       "C1,2024-01-05,,3\n"              # 3: no unit price
                                       "C1,2024-01-05,abc,3\n"           # 4: not an amount
                                       "C1,2024-01-05,99999999999,1e9\n"  # 5: too large
                                       "C1,2024-01-05,2,3\n")            # 6: fine
    report = import_file(con, path, force_python=force_python)
    assert (report.rows_valid, report.rows_rejected) == (1, 4)
    assert [(r["line"], r["column"], r["reason"]) for r in report.rejects] == [
        (2, "数量", "quantity is empty: the amount is unit price × quantity"),
        (3, "单价", "unit price is empty: the amount is unit price × quantity"),
        (4, "单价", "not an amount"),
        (5, "单价", "unit price × quantity is out of range"),
    ]


def test_margin_rates_are_not_taken_for_profits_silently(con, tmp_path):
    path = write(tmp_path / "rates.csv", "Customer ID,Order Date,Sales,Margin\n"
                                         "C1,2024-01-05,1000,0.25\nC2,2024-01-06,250,0.3\n")
    report = import_file(con, path)
    assert report.notes[-1] == (
        "column Margin: every profit is between -1 and 1 (line 2: 0.25 on an amount of 1000); if these are margin "
        "rates, not amounts, the cost and margin derived from them are wrong: leave the column unmapped or give "
        "the profit as an amount")
    unmapped = import_file(con, path, mapping={"profit": ""}, commit=True)
    assert not any("profit" in n for n in unmapped.notes)
    assert rows(con, "select margin from customer_summary") == [(None,), (None,)]


@pytest.mark.parametrize("force_python", READERS)
@pytest.mark.parametrize("ids", ["orders", "no_ids"])
def test_derived_lines_keep_their_identity(con, tmp_path, ids, force_python):
    text = PRICED if ids == "orders" else "".join(line.split(",", 1)[1] for line in PRICED.splitlines(True))
    path = write(tmp_path / "priced.csv", text)
    import_file(con, path, commit=True, force_python=force_python)
    again = import_file(con, path, commit=True, force_python=force_python)
    assert (again.status, again.rows_already_present, again.orders_amended) == ("nothing new", 4, 0)
    # the same lines with their amounts written out are the same lines
    lines = list(csv.reader(io.StringIO(text)))
    price, quantity = lines[0].index("单价"), lines[0].index("数量")
    given = [[*lines[0][:price], "金额", "数量"]] + [
        [*line[:price], str(Decimal(line[price]) * Decimal(line[quantity])), line[quantity]] for line in lines[1:]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(given)
    written = import_file(con, write(tmp_path / "amounts.csv", out.getvalue()), commit=True, force_python=force_python)
    assert (written.rows_imported, written.rows_already_present, written.orders_amended) == (0, 4, 0)


def test_every_new_sentence_is_translated(con, tmp_path):
    rates = import_file(con, write(tmp_path / "r.csv", "客户编号,订单日期,单价,数量,毛利\n"
                                                       "C1,2024-01-05,1000,1,0.25\nC1,2024-01-06,5,,1\n"
                                                       "C1,2024-01-07,,1,1\nC1,2024-01-08,1e12,1e9,1\n"
                                                       "C1,2024-01-09,9,1,0.5\n"))
    conflict = import_file(con, write(tmp_path / "c.csv", "客户编号,订单日期,实付金额,细分\n"
                                                          "C1,2024-01-05,1,甲\nC1,2024-01-06,1,乙\n"))
    sentences = rates.notes + [r["reason"] for r in rates.rejects] + conflict.notes
    assert len(sentences) == 7
    for text in sentences:
        assert localize(text, "zh") != text and localize(text, "en") != text, text
