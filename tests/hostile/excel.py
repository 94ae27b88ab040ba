"""Hostile Excel workbooks of issue 10 (findings 4, 5, 10 and 20), built in memory with openpyxl.

Each builder returns the bytes of an ``.xlsx`` file an analyst could upload as a sales file
(transactions); :data:`FILES` lists them for the browser tour, and the regression tests in
``tests/test_hardening_excel.py`` import the same builders.
"""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl

HEADER = ["订单编号", "客户编号", "订单日期", "实付金额", "大区", "渠道"]


def book_of(sheets: dict[str, list[list[object]]], hidden: tuple[str, ...] = ()) -> openpyxl.Workbook:
    """A workbook of ``sheets`` (name → rows), in that order, those named in ``hidden`` hidden."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, data in sheets.items():
        ws = book.create_sheet(name)
        for row in data:
            ws.append(row)
        if name in hidden:
            ws.sheet_state = "hidden"
    return book


def _bytes(book: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def ids_as_numbers() -> bytes:
    """#4: customer ids and order numbers Excel stores as numbers: ``000424`` kept only as the
    number format ``000000`` (or ``00000#``), and ids written as floats (``424.0``)."""
    book = book_of({"订单": [HEADER,
                           [20240001, 424, datetime(2024, 1, 5), 100.5, "华东", "天猫"],
                           [20240002, 425, datetime(2024, 1, 6), 200, "华北", "京东"],
                           [20240003, 23.0, datetime(2024, 1, 7), 50, "华南", "门店"],
                           [20240004, 1024.0, datetime(2024, 1, 8), 80, "华东", "门店"]]})
    ws = book["订单"]
    ws["B2"].number_format = "000000"
    ws["B3"].number_format = "00000#"
    return _bytes(book)


def merged_regions() -> bytes:
    """#5: the region merged over each block of rows (A person sees 华东 on rows 2-4)."""
    rows = [HEADER] + [[f"SO{i}", f"C{i:03d}", datetime(2024, 1, i), 10 * i, None, "天猫"] for i in range(1, 7)]
    rows[1][4], rows[4][4] = "华东", "华北"
    book = book_of({"订单": rows})
    book["订单"].merge_cells("E2:E4")
    book["订单"].merge_cells("E5:E7")
    return _bytes(book)


def hidden_first_sheet() -> bytes:
    """#10: a hidden first sheet (last year's working copy) before the visible one."""
    old = [HEADER, ["OLD1", "C900", datetime(2023, 1, 5), 999, "华东", "天猫"]]
    new = [HEADER, ["SO1", "C001", datetime(2024, 1, 5), 100, "华东", "天猫"],
           ["SO2", "C002", datetime(2024, 1, 6), 200, "华北", "京东"]]
    return _bytes(book_of({"底稿": old, "订单": new}, hidden=("底稿",)))


def formula_without_value() -> bytes:
    """#20: amounts that are formulas without a saved value (written by a program that does
    not calculate them, as openpyxl does)."""
    header = ["订单编号", "客户编号", "订单日期", "单价", "数量", "实付金额"]
    rows = [header] + [[f"SO{i}", f"C{i:03d}", datetime(2024, 1, i), 10, i, f"=D{i + 1}*E{i + 1}"]
                       for i in range(1, 4)]
    return _bytes(book_of({"订单": rows}))


def two_data_sheets() -> bytes:
    """#20: a second sheet that is also a table of sales (February after January)."""
    jan = [HEADER, ["SO1", "C001", datetime(2024, 1, 5), 100, "华东", "天猫"]]
    feb = [HEADER, ["SO2", "C002", datetime(2024, 2, 5), 200, "华北", "京东"]]
    return _bytes(book_of({"1月": jan, "2月": feb}))


FILES: list[tuple[int, str, bytes]] = [
    (4, "ids_as_numbers.xlsx", ids_as_numbers()),
    (5, "merged_regions.xlsx", merged_regions()),
    (10, "hidden_first_sheet.xlsx", hidden_first_sheet()),
    (20, "formula_without_value.xlsx", formula_without_value()),
    (20, "two_data_sheets.xlsx", two_data_sheets()),
]
