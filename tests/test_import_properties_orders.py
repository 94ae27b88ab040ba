"""Property-based round trips of order-line files: random orders of 1–8 lines (some lines
repeated within their order, rows in any order) import whole, add nothing when imported
again or re-saved in another encoding and column order, and an amended order is reported,
kept or replaced, and restored by undo."""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from import_strategies import SETTINGS, ZH
from import_util import new_database

from analytics.ingest.pipeline import import_file, undo_import
from analytics.store.connection import connect

COLUMNS = ("transaction_id", "customer_id", "order_date", "amount", "quantity", "product")
HEADERS = {
    "en": ("Order ID", "Customer ID", "Order Date", "Sales", "Quantity", "Product Name"),
    "zh": ("订单编号", "客户编号", "订单日期", "销售额", "数量", "商品名称"),
}
Line = tuple[str, str, date, Decimal, int, str]  # the columns above, in that order

products = st.text(ZH + "ABCXYZ", min_size=1, max_size=4)


@st.composite
def orders(draw: st.DrawFn) -> list[Line]:
    """Lines of 1–6 orders, each of 1–8 lines; some lines repeated exactly in their order."""
    lines: list[Line] = []
    for n in range(draw(st.integers(1, 6))):
        tid, customer = f"SO{n:03d}", draw(st.sampled_from(["C1", "C2", "00123"]))
        day = draw(st.dates(min_value=date(2023, 1, 1), max_value=date(2024, 12, 31)))
        own = [(tid, customer, day, draw(st.decimals(Decimal("-50"), Decimal("999"), places=2)),
                draw(st.integers(-2, 9)), draw(products)) for _ in range(draw(st.integers(1, 8)))]
        own += draw(st.lists(st.sampled_from(own), max_size=2))  # identical lines of one order
        lines += own
    return lines


def write(path: Path, lines: list[Line], *, language: str = "en", encoding: str = "utf-8",
          order: tuple[int, ...] = tuple(range(len(COLUMNS))), seed: int = 0) -> Path:
    """The lines as a CSV file, rows shuffled (lines of an order need not be together)."""
    shuffled = list(lines)
    random.Random(seed).shuffle(shuffled)
    text = ",".join(HEADERS[language][i] for i in order) + "\n"
    text += "".join(",".join(str(line[i]) for i in order) + "\n" for line in shuffled)
    path.write_bytes(text.encode(encoding))
    return path


def stored(con) -> Counter:
    return Counter(con.cursor().execute(
        "select transaction_id, customer_id, order_date, amount, cast(quantity as integer), product "
        "from transactions").fetchall())


@given(lines=orders(), seed=st.integers(0, 1000), amend=st.sampled_from(["change", "add", "remove"]),
       replace_first=st.booleans())
@SETTINGS
def test_order_lines_round_trip(empty_database, lines, seed, amend, replace_first):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        con = connect(new_database(empty_database, folder / "crm.duckdb"))
        try:
            first = import_file(con, write(folder / "a.csv", lines, seed=seed), commit=True)
            assert (first.rows_imported, first.rows_rejected) == (len(lines), 0)
            assert first.orders == len({line[0] for line in lines})
            assert stored(con) == Counter(lines)
            again = import_file(con, write(folder / "a.csv", lines, seed=seed), commit=True)
            assert (again.rows_imported, again.orders_amended) == (0, 0)
            resaved = write(folder / "b.csv", lines, language="zh", encoding="gb18030",
                            order=(5, 2, 0, 4, 1, 3), seed=seed + 1)
            assert import_file(con, resaved, commit=True).rows_imported == 0

            # one order amended: a line changed, added or removed
            target = lines[0][0]
            own = [line for line in lines if line[0] == target]
            if amend == "change":
                changed = (*own[-1][:3], own[-1][3] + 1, *own[-1][4:])
                new_own = [*own[:-1], changed]
            elif amend == "add":
                new_own = [*own, (*own[0][:5], "新品")]
            else:
                new_own = own[:-1]
            amended = [line for line in lines if line[0] != target] + new_own
            before = stored(con)
            policy = "replace" if replace_first else "keep"
            path = write(folder / "c.csv", amended, seed=seed + 2)
            if not new_own:  # the order's only line removed: the order is simply not in the file
                assert import_file(con, path, commit=True).rows_imported == 0
                return
            report = import_file(con, path, commit=True, amended=policy)
            if amend == "add" and "新品" not in {line[5] for line in own}:
                # a line of a new product beside the stored ones continues the order (issue 10, #12)
                assert (report.orders_amended, report.orders_continued, report.rows_imported) == (0, 1, 1)
                assert stored(con) == before + Counter([new_own[-1]])
                undo_import(con, report.import_id)
                assert stored(con) == before
                return
            assert report.orders_amended == 1 and [a["order"] for a in report.amended] == [target]
            if policy == "keep":
                assert stored(con) == before and report.rows_amended == len(new_own)
                report = import_file(con, path, commit=True, amended="replace")
            assert stored(con) == Counter(amended)
            assert report.rows_replaced == len(own)
            undo_import(con, report.import_id)
            assert stored(con) == before
            assert con.cursor().execute("select count(*) from transactions_replaced").fetchall() == [(0,)]
        finally:
            con.close()
