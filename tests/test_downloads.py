"""Downloads (ui/downloads.py): no cell of a CSV or Excel file can run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import numpy as np
import openpyxl
import pandas as pd
import pytest

from ui.downloads import FORMULA_STARTS, download_name, neutralize, to_csv_bytes, to_xlsx_bytes

ATTACKS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\")"]
HTML = "<img src=x onerror=alert(1)>"


@pytest.fixture
def table() -> pd.DataFrame:
    """Attacks in text cells and a column name, next to plain text, real numbers and dates."""
    rows = len(ATTACKS)
    return pd.DataFrame(
        {
            "name": ATTACKS,
            "customer": ["张三", "李四", HTML, "O'Brien", None, "plain", "https://example.com"],
            "=cmd": ["x"] * rows,
            "amount": [-1234.5, -1, 0, 2.5, np.nan, 1e6, -0.25],
            "orders": [-3, 0, 1, 2, 3, 4, 5],
            "ordered_at": [date(2024, 1, d) for d in range(1, rows + 1)],
            "mixed": [-7, "-7", "ok", None, 1.5, "=x", "@x"],
        }
    ).assign(ordered_at=lambda df: pd.to_datetime(df["ordered_at"]))


def _xlsx_rows(data: bytes) -> tuple[list[str], list[list[openpyxl.cell.cell.Cell]]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return book.sheetnames, [list(row) for row in book.worksheets[0].iter_rows()]


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# --- neutralize -------------------------------------------------------------------------------


def test_neutralize_prefixes_text_that_starts_a_formula(table):
    out = neutralize(table)
    assert out["name"].tolist() == ["'" + text for text in ATTACKS]
    assert list(out.columns) == ["name", "customer", "'=cmd", "amount", "orders", "ordered_at", "mixed"]
    assert out["mixed"].tolist()[:3] == [-7, "'-7", "ok"]
    assert out["mixed"].tolist()[4:] == [1.5, "'=x", "'@x"]


def test_neutralize_leaves_other_cells_and_the_input_alone(table):
    before = table.copy()
    out = neutralize(table)
    pd.testing.assert_frame_equal(table, before)
    assert out["customer"].tolist()[:4] == ["张三", "李四", HTML, "O'Brien"]
    assert pd.isna(out["customer"].iloc[4]) and pd.isna(out["mixed"].iloc[3])
    pd.testing.assert_series_equal(out["amount"], table["amount"])
    pd.testing.assert_series_equal(out["orders"], table["orders"])
    pd.testing.assert_series_equal(out["ordered_at"], table["ordered_at"])
    assert out.dtypes.tolist() == table.dtypes.tolist()


def test_neutralize_handles_categories_and_other_column_names():
    df = pd.DataFrame({0: pd.Categorical(["=a", "b", None, "=a"]), "ok": ["-", "", "a-b", "x="]})
    out = neutralize(df)
    assert list(out.columns) == [0, "ok"]
    assert isinstance(out[0].dtype, pd.CategoricalDtype)
    assert out[0].tolist()[:2] == ["'=a", "b"] and pd.isna(out[0].iloc[2])
    assert out["ok"].tolist() == ["'-", "", "a-b", "x="]


def test_neutralize_keeps_an_empty_table():
    out = neutralize(pd.DataFrame({"=a": pd.Series([], dtype=object)}))
    assert list(out.columns) == ["'=a"] and out.empty


# --- CSV --------------------------------------------------------------------------------------


def test_csv_is_utf8_with_bom_and_has_no_index(table):
    data = to_csv_bytes(table)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = _csv_rows(data)
    assert rows[0] == ["name", "customer", "'=cmd", "amount", "orders", "ordered_at", "mixed"]
    assert len(rows) == len(table) + 1


def test_csv_round_trip(table):
    rows = _csv_rows(to_csv_bytes(table))
    body = rows[1:]
    assert [row[0] for row in body] == ["'" + text for text in ATTACKS]
    assert [row[1] for row in body] == ["张三", "李四", HTML, "O'Brien", "", "plain", "https://example.com"]
    assert [row[3] for row in body] == ["-1234.5", "-1.0", "0.0", "2.5", "", "1000000.0", "-0.25"]
    assert [row[4] for row in body] == ["-3", "0", "1", "2", "3", "4", "5"]
    assert body[0][5] == "2024-01-01"
    assert [row[6] for row in body] == ["-7", "'-7", "ok", "", "1.5", "'=x", "'@x"]


def test_no_csv_cell_starts_a_formula(table):
    cells = [cell for row in _csv_rows(to_csv_bytes(table)) for cell in row]
    # real negative numbers are the only cells that may start with "-"
    starting = [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    assert starting == ["-1234.5", "-3", "-7", "-1.0", "-0.25"]


# --- Excel ------------------------------------------------------------------------------------


def test_no_xlsx_cell_is_a_formula(table):
    _, rows = _xlsx_rows(to_xlsx_bytes(table))
    cells = [cell for row in rows for cell in row]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    # an xlsx text cell is never a formula: text is kept as it is, no apostrophe (issue 10, #21)
    assert all(cell.data_type == "s" for cell in cells if isinstance(cell.value, str))
    texts = [cell.value for cell in cells if isinstance(cell.value, str)]
    assert "=cmd" in texts and "=1+1" in texts and "\t=1" in texts


def test_xlsx_keeps_text_numbers_and_dates(table):
    names, rows = _xlsx_rows(to_xlsx_bytes(table))
    assert names == ["data"]
    header, body = [cell.value for cell in rows[0]], [[cell.value for cell in row] for row in rows[1:]]
    assert header == ["name", "customer", "=cmd", "amount", "orders", "ordered_at", "mixed"]
    assert len(body) == len(table)
    # xlsx stores a carriage return as "_x000D_"; Excel decodes it, openpyxl does not
    assert [row[0].replace("_x000D_", "\r") for row in body] == ATTACKS
    assert [row[1] for row in body] == ["张三", "李四", HTML, "O'Brien", None, "plain", "https://example.com"]
    assert [row[3] for row in body] == [-1234.5, -1, 0, 2.5, None, 1e6, -0.25]
    assert all(isinstance(row[4], int) for row in body) and body[0][4] == -3
    assert body[0][5] == datetime(2024, 1, 1)
    assert [row[6] for row in body] == [-7, "-7", "ok", None, 1.5, "=x", "@x"]


def test_xlsx_writes_no_links(table):
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(table)))
    assert [cell.coordinate for row in book.worksheets[0].iter_rows() for cell in row if cell.hyperlink] == []


def test_xlsx_columns_fit_their_content(table):
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(table))).worksheets[0]
    widths = {column: sheet.column_dimensions[column].width for column in "ABCDEFG"}
    # xlsxwriter stores a width of n characters as n plus under 1 of padding
    assert all(8 <= width < 61 for width in widths.values())
    # "+cmd|' /C calc'!A0" and its apostrophe: 19 characters, and a little room
    assert widths["A"] >= 19
    assert widths["B"] >= len(HTML)


def test_xlsx_widths_count_chinese_characters_double():
    wide = "上海市浦东新区张江高科技园区"
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(pd.DataFrame({"地址": [wide]})))).worksheets[0]
    assert sheet.column_dimensions["A"].width >= 2 * len(wide)


def test_xlsx_caps_long_columns():
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(pd.DataFrame({"note": ["x" * 500]})))).worksheets[0]
    assert sheet.column_dimensions["A"].width < 61


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("客户明细", "客户明细"),
        ("a[b]:c*d?e/f\\g", "a_b__c_d_e_f_g"),
        ("x" * 40, "x" * 31),
        ("'quoted'", "quoted"),
        ("", "data"),
        ("History", "History_"),
    ],
)
def test_xlsx_sheet_names_are_made_valid(requested, expected):
    names, _ = _xlsx_rows(to_xlsx_bytes(pd.DataFrame({"a": [1]}), sheet_name=requested))
    assert names == [expected]


def test_xlsx_of_an_empty_table_has_its_header():
    _, rows = _xlsx_rows(to_xlsx_bytes(pd.DataFrame({"客户": pd.Series([], dtype=str), "=x": []})))
    assert [[cell.value for cell in row] for row in rows] == [["客户", "=x"]]


# --- file names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "ext", "expected"),
    [
        ("客户明细", "csv", "客户明细.csv"),
        ("orders_2024-01", "xlsx", "orders_2024-01.xlsx"),
        ("客户 2024/01", ".CSV", "客户_2024_01.csv"),
        ("../../etc/passwd", "csv", "etc_passwd.csv"),
        ("a\\b:c*d?e\"f<g>h|i", "csv", "a_b_c_d_e_f_g_h_i.csv"),
        ("line\nbreak\x00", "csv", "line_break.csv"),
        (".hidden", "csv", "hidden.csv"),
        ("", "csv", "download.csv"),
        ("///", "xlsx", "download.xlsx"),
        ("x" * 300, "csv", "x" * 100 + ".csv"),
    ],
)
def test_download_name(stem, ext, expected):
    assert download_name(stem, ext) == expected


@pytest.mark.parametrize("ext", ["", ".", "c/v", "tar.gz", "xlsx "])
def test_download_name_rejects_odd_extensions(ext):
    with pytest.raises(ValueError, match="file extension must be letters and digits"):
        download_name("report", ext)
