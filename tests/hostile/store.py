"""Files for a browser tour of the store group's findings of issue 10 (#12): upload each pair
in order on the data page (kind: transactions). ``order_part1.csv`` then ``order_part2.csv``:
order SO1 split over two files, one order with four lines (the second file's preview says it
continues a stored order). ``sales_no_ids.csv`` then ``sales_no_ids_corrected.csv``: a sales
file without order numbers and the same file with one amount corrected (the preview lists the
amended row and keeps the stored one unless replace is chosen)."""

from __future__ import annotations

_ORDERS_HEADER = "订单编号,客户编号,订单日期,实付金额,商品名称\n"
_SALES = "客户编号,订单日期,商品名称,实付金额\nC1,2024-01-05,A,100\nC1,2024-01-05,A,100\nC2,2024-01-06,B,50\n"

FILES: list[tuple[int, str, bytes]] = [
    (12, "order_part1.csv",
     (_ORDERS_HEADER + "SO1,C1,2024-01-05,10,A\nSO1,C1,2024-01-05,12,B\nSO0,C1,2024-01-04,1,A\n").encode()),
    (12, "order_part2.csv",
     (_ORDERS_HEADER + "SO1,C1,2024-01-05,7,C\nSO1,C1,2024-01-05,8,D\nSO2,C1,2024-01-06,1,A\n").encode()),
    (12, "sales_no_ids.csv", _SALES.encode()),
    (12, "sales_no_ids_corrected.csv", _SALES.replace("C2,2024-01-06,B,50", "C2,2024-01-06,B,55").encode()),
]
