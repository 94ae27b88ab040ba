"""Issue 10, Excel findings: ids Excel stores as numbers (#4), merged cells (#5), a hidden first
sheet (#10), formulas without a saved value and a second data sheet (#20), and the
protective apostrophe in Excel downloads (#21).

The workbooks are built in memory by ``tests/hostile/excel.py`` (the same files the browser
tour uploads) or here, with openpyxl.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from app_data_util import (
    button,
    confirm,
    counts,
    fresh_app_fixture,  # noqa: F401 (the autouse fresh_app fixture)
    open_data_page,
    run,
    upload,
)
from app_data_util import rows as app_rows
from hostile.excel import (
    HEADER,
    formula_without_value,
    hidden_first_sheet,
    ids_as_numbers,
    merged_regions,
    two_data_sheets,
)
from import_util import (
    READERS,
    con_fixture,  # noqa: F401 (the con fixture)
    rows,
    write,
)
from openpyxl.chart import BarChart, Reference

from analytics.cli import main as cli_main
from analytics.errors import ConfirmationRequired, FileReadError
from analytics.ingest.pipeline import import_file
from ui.downloads import to_csv_bytes, to_xlsx_bytes
from ui.i18n import LANGUAGES, md_literal, t
from ui.importing.messages import localize

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _save(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _workbook(tmp_path: Path, name: str, data: list[list[object]], formats: dict[str, str] | None = None) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    for row in data:
        ws.append(row)
    for ref, fmt in (formats or {}).items():
        ws[ref].number_format = fmt
    path = tmp_path / name
    book.save(path)
    return path


def _localized_everywhere(text: str) -> None:
    """A pipeline sentence is a known message in every language (not left as English)."""
    for lang in LANGUAGES:
        shown = localize(text, lang)
        assert shown != text and "{" not in shown, (lang, text, shown)


# --- #4 ids Excel stores as numbers --------------------------------------------------------------


def test_number_ids_are_read_as_their_cells_show_them(con, tmp_path):
    report = import_file(con, _save(tmp_path, "ids.xlsx", ids_as_numbers()), commit=True)
    assert rows(con, "select transaction_id, customer_id from transactions order by line") == [
        ("20240001", "000424"), ("20240002", "000425"), ("20240003", "23"), ("20240004", "1024")]
    note = next(n for n in report.notes if "number format" in n)
    assert note == ("2 numbers were read as their cells show them, zero-padded by their number format "
                    "(e.g. 424 → 000424)")
    _localized_everywhere(note)


BASE = "客户编号,订单日期,实付金额\n000023,2024-01-05,100\n001024,2024-01-06,200\n"


def _padding_case_file(tmp_path: Path) -> Path:
    """A workbook of the purchases of :data:`BASE` with the ids as numbers, and one more."""
    return _workbook(tmp_path, "again.xlsx", [["客户编号", "订单日期", "实付金额"],
                                              [23.0, datetime(2024, 1, 5), 100],
                                              [1024, datetime(2024, 1, 6), 200],
                                              [77, datetime(2024, 1, 7), 50]])


def _padding_case(con, tmp_path: Path) -> Path:
    """The database holds customers 000023 and 001024 (no order numbers: rows are keyed by
    content); a workbook brings the same purchases with the ids as numbers, and one more."""
    import_file(con, write(tmp_path / "base.csv", BASE), commit=True)
    return _padding_case_file(tmp_path)


def test_ids_matching_stored_ids_only_when_padded_ask_first_and_never_double(con, tmp_path):
    path = _padding_case(con, tmp_path)
    report = import_file(con, path)
    decision = ("column 客户编号: 2 ids match ids in the database only when zero-padded to 6 digits "
                "(e.g. 23 → 000023, 1024 → 001024); pad this file's shorter ids to 6 digits, or keep them "
                "as written (then they are new ids)")
    assert report.needs_confirmation == [decision]
    assert report.id_padding == [{"column": "customer_id", "header": "客户编号", "width": 6, "matching": 2,
                                  "padded": 3, "examples": [["23", "000023"], ["1024", "001024"]],
                                  "applied": None}]
    _localized_everywhere(decision)
    with pytest.raises(ConfirmationRequired, match="pad_ids"):
        import_file(con, path, commit=True)
    assert rows(con, "select count(*), sum(amount) from transactions") == [(2, Decimal("300"))]
    padded = import_file(con, path, commit=True, pad_ids=True)
    assert (padded.rows_already_present, padded.rows_imported) == (2, 1)
    assert rows(con, "select customer_id, sum(amount) from transactions group by all order by 1") == [
        ("000023", Decimal("100")), ("000077", Decimal("50")), ("001024", Decimal("200"))]
    note = ("column 客户编号: 3 ids zero-padded to 6 digits, as chosen (2 of them match ids in the database, "
            "e.g. 23 → 000023, 1024 → 001024)")
    assert note in padded.notes
    _localized_everywhere(note)


def test_ids_kept_as_written_when_chosen_and_said(con, tmp_path):
    path = _padding_case(con, tmp_path)
    kept = import_file(con, path, commit=True, pad_ids=False)
    assert kept.rows_imported == 3 and not kept.needs_confirmation
    note = ("column 客户编号: kept as written, as chosen (2 ids would match ids in the database if zero-padded "
            "to 6 digits, e.g. 23 → 000023, 1024 → 001024)")
    assert note in kept.notes
    _localized_everywhere(note)


@pytest.mark.parametrize("force_python", READERS)
def test_padding_a_csv_file_keeps_every_line_number(con, tmp_path, force_python):
    import_file(con, write(tmp_path / "base.csv", BASE), commit=True)
    path = write(tmp_path / "again.csv", "客户编号,订单日期,实付金额\n23,2024-01-05,100\n\n77,2024-01-07,50\n"
                                         "C9,someday,5\n1024,2024-01-06,200\n")
    report = import_file(con, path, commit=True, pad_ids=True, force_python=force_python)
    assert [(r["line"], r["value"]) for r in report.rejects] == [(5, "someday")]
    assert (report.rows_already_present, report.rows_imported) == (2, 1)
    assert rows(con, "select line, customer_id from transactions where import_id = ?", report.import_id) == [
        (4, "000077")]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_data_page_asks_whether_to_pad_ids_and_waits_for_the_answer(lang, tmp_path):
    at = open_data_page(lang)
    upload(at, ("base.csv", BASE.encode("utf-8")))
    confirm(at, lang, 2)
    again = _padding_case_file(tmp_path)
    at.file_uploader[0].set_value([("again.xlsx", again.read_bytes(), XLSX)])
    run(at)
    asked = t("data_confirm_excel_pad", lang, header="客户编号", n="2", width="6",
              examples="23 → 000023, 1024 → 001024")
    assert md_literal(asked) in [w.value for w in at.warning]
    assert button(at, t("data_confirm", lang, n="3")).disabled
    assert t("data_confirm_blocked_pad", lang) in [c.value for c in at.caption]
    choice = next(r for r in at.radio if r.label == t("data_pad_ids_label", lang))
    assert choice.value is None
    choice.set_value(True)
    run(at)
    assert counts(at, lang, "rows_already_present", "rows_to_import") == ["2", "1"]
    confirm(at, lang, 1)
    assert app_rows("select customer_id, amount from transactions order by customer_id") == [
        ("000023", Decimal("100")), ("000077", Decimal("50")), ("001024", Decimal("200"))]


def test_order_numbers_are_offered_padding_too(con, tmp_path):
    import_file(con, write(tmp_path / "base.csv", "订单编号,客户编号,订单日期,实付金额\n"
                                                  "00000017,C1,2024-01-05,100\n"), commit=True)
    path = _workbook(tmp_path, "o.xlsx", [["订单编号", "客户编号", "订单日期", "实付金额"],
                                          [17, "C1", datetime(2024, 1, 5), 100]])
    report = import_file(con, path)
    assert [(p["column"], p["width"], p["examples"]) for p in report.id_padding] == [
        ("transaction_id", 8, [["17", "00000017"]])]
    assert import_file(con, path, commit=True, pad_ids=True).rows_already_present == 1


def test_no_offer_when_ids_match_as_written(con, tmp_path):
    import_file(con, write(tmp_path / "base.csv", BASE + "23,2024-01-09,5\n"), commit=True)
    path = _workbook(tmp_path, "x.xlsx", [["客户编号", "订单日期", "实付金额"], [23, datetime(2024, 1, 9), 5]])
    report = import_file(con, path)
    assert report.id_padding == [] and report.needs_confirmation == [] and report.rows_already_present == 1


def test_cli_pads_ids_when_asked(con, tmp_path, capsys):
    path = _padding_case(con, tmp_path)
    db = tmp_path / "crm.duckdb"
    con.close()
    assert cli_main(["--db", str(db), "import", str(path), "--commit"]) == 1
    assert "--pad-ids" in capsys.readouterr().err
    assert cli_main(["--db", str(db), "import", str(path), "--commit", "--pad-ids"]) == 0
    out = capsys.readouterr().out
    assert "3 ids zero-padded to 6 digits" in out


# --- #5 merged cells ------------------------------------------------------------------------------


def test_merged_cells_are_filled_with_their_top_left_value_and_said(con, tmp_path):
    report = import_file(con, _save(tmp_path, "merged.xlsx", merged_regions()), commit=True)
    assert rows(con, "select line, region from transactions order by line") == [
        (2, "华东"), (3, "华东"), (4, "华东"), (5, "华北"), (6, "华北"), (7, "华北")]
    note = "merged cells filled with the value of their top-left cell: 4 cells in 2 ranges (E2:E4, E5:E7)"
    assert note in report.notes
    _localized_everywhere(note)


def test_merged_cells_over_the_header_are_left_alone(con, tmp_path):
    path = _workbook(tmp_path, "m.xlsx", [["销售明细", None, None], ["客户编号", "订单日期", "实付金额"],
                                          ["C1", datetime(2024, 1, 5), 10], ["C2", None, 20]])
    book = openpyxl.load_workbook(path)
    book.active.merge_cells("A1:C1")  # a title over the table
    book.active.merge_cells("B3:B4")  # one date for two rows
    book.save(path)
    report = import_file(con, path)
    assert report.header_row == 2 and report.rows_valid == 2
    assert "merged cells filled with the value of their top-left cell: 1 cells in 1 ranges (B3:B4)" in report.notes


# --- #10 hidden sheets, #20 a second data sheet ---------------------------------------------------


def test_a_hidden_first_sheet_is_passed_over_and_named(con, tmp_path):
    path = _save(tmp_path, "hidden.xlsx", hidden_first_sheet())
    report = import_file(con, path)
    assert (report.sheet, report.rows_valid) == ("订单", 2)
    note = ("other sheets, not imported: '底稿' (hidden; a table of known columns); "
            "choose the sheet to import another one")
    assert note in report.notes
    _localized_everywhere(note)
    chosen = import_file(con, path, sheet="底稿")
    assert (chosen.sheet, chosen.rows_valid) == ("底稿", 1)
    assert "the sheet imported, '底稿', is hidden in the workbook" in chosen.notes
    assert "other sheets, not imported: '订单' (a table of known columns); choose the sheet to import another one" \
        in chosen.notes
    _localized_everywhere("the sheet imported, '底稿', is hidden in the workbook")


def test_very_hidden_and_plain_sheets_are_named(con, tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["本文件为导出数据"])
    secret = book.create_sheet("vba")
    secret.append(HEADER)
    secret.sheet_state = "veryHidden"
    book.create_sheet("订单").append(HEADER)
    book["订单"].append(["SO1", "C001", datetime(2024, 1, 5), 100, "华东", "天猫"])
    path = tmp_path / "v.xlsx"
    book.save(path)
    report = import_file(con, path)
    assert report.sheet == "订单"
    note = ("other sheets, not imported: '说明', 'vba' (very hidden; a table of known columns); "
            "choose the sheet to import another one")
    assert note in report.notes
    _localized_everywhere(note)


def test_a_second_data_sheet_is_named_with_how_to_import_it(con, tmp_path):
    report = import_file(con, _save(tmp_path, "two.xlsx", two_data_sheets()))
    assert report.sheet == "1月" and report.rows_valid == 1
    assert "other sheets, not imported: '2月' (a table of known columns); choose the sheet to import another one" \
        in report.notes
    assert import_file(con, _save(tmp_path, "two.xlsx", two_data_sheets()), sheet="2月").rows_valid == 1


def test_a_sheet_named_like_a_number_is_chosen_by_its_name(con, tmp_path):
    # the page's sheet choice passes the sheet's name: a year is a name, not a position
    book = openpyxl.Workbook()
    book.active.title = "2023"
    book.active.append(HEADER)
    book.active.append(["SO1", "C001", datetime(2023, 1, 5), 100, "华东", "天猫"])
    later = book.create_sheet("2024")
    for row in (HEADER, ["SO2", "C002", datetime(2024, 1, 5), 200, "华北", "京东"],
                ["SO3", "C003", datetime(2024, 1, 6), 300, "华北", "京东"]):
        later.append(row)
    path = tmp_path / "years.xlsx"
    book.save(path)
    by_name = import_file(con, path, sheet="2024")
    assert (by_name.sheet, by_name.rows_valid) == ("2024", 2)
    assert import_file(con, path, sheet=2).sheet == "2024"


def test_a_chart_sheet_is_never_read_as_a_table(con, tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "订单"
    for row in (HEADER, ["SO1", "C001", datetime(2024, 1, 5), 100, "华东", "天猫"]):
        book.active.append(row)
    chart = BarChart()
    chart.add_data(Reference(book.active, min_col=4, min_row=1, max_row=2), titles_from_data=True)
    book.create_chartsheet("图表", 0).add_chart(chart)
    path = tmp_path / "chart.xlsx"
    book.save(path)
    report = import_file(con, path)
    assert (report.sheet, report.rows_valid) == ("订单", 1)
    assert "other sheets, not imported: '图表'; choose the sheet to import another one" in report.notes
    with pytest.raises(FileReadError, match="sheet '图表' is a chart, not a table of cells") as error:
        import_file(con, path, sheet="图表")
    _localized_everywhere(str(error.value))


# --- #20 formulas without a saved value ----------------------------------------------------------


def test_a_formula_without_a_saved_value_is_said_with_its_cell(con, tmp_path):
    report = import_file(con, _save(tmp_path, "f.xlsx", formula_without_value()))
    reason = ("amount is a formula without a saved value (cell F2): the program that wrote the workbook does "
              "not calculate formulas; open it in Excel or WPS, save it and import it again")
    assert report.rejects[0] == {"line": 2, "column": "实付金额", "value": None, "reason": reason}
    assert [r["reason"].split("(cell ")[1][:2] for r in report.rejects] == ["F2", "F3", "F4"]
    note = ("3 cells are formulas without a saved value (e.g. F2, F3, F4) and read as empty: the program that "
            "wrote the workbook does not calculate formulas; open it in Excel or WPS, save it and import it again")
    assert note in report.notes
    _localized_everywhere(reason)
    _localized_everywhere(note)


def test_formulas_with_saved_values_read_as_their_values(con, tmp_path):
    # what Excel writes on saving: each formula with its value beside it (<f>D2*E2</f><v>10</v>)
    source = zipfile.ZipFile(io.BytesIO(formula_without_value()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                for i in (1, 2, 3):
                    data = data.replace(f"<f>D{i + 1}*E{i + 1}</f><v />".encode(),
                                        f"<f>D{i + 1}*E{i + 1}</f><v>{10 * i}</v>".encode())
            target.writestr(item, data)
    report = import_file(con, _save(tmp_path, "f.xlsx", buffer.getvalue()), commit=True)
    assert report.rows_imported == 3 and not any("formula" in n for n in report.notes)
    assert rows(con, "select order_date, amount from transactions order by line") == [
        (date(2024, 1, i), Decimal(10 * i)) for i in (1, 2, 3)]


# --- #21 downloads --------------------------------------------------------------------------------


def test_xlsx_downloads_keep_text_as_it_is_and_csv_still_protects():
    table = pd.DataFrame({"=name": ["+1", "=SUM(A1)", "-x", "@home", "plain"], "n": [-1, 2, 3, 4, 5]})
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(table))).worksheets[0]
    header = [c for c in sheet[1]]
    assert (header[0].value, header[0].data_type) == ("=name", "s")
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [(c.value, c.data_type) for c in cells] == [("+1", "s"), ("=SUM(A1)", "s"), ("-x", "s"),
                                                        ("@home", "s"), ("plain", "s")]
    assert [row[1].value for row in sheet.iter_rows(min_row=2)] == [-1, 2, 3, 4, 5]
    text = list(csv.reader(io.StringIO(to_csv_bytes(table).decode("utf-8-sig"))))
    assert text[0][0] == "'=name"
    assert [r[0] for r in text[1:]] == ["'+1", "'=SUM(A1)", "'-x", "'@home", "plain"]


def test_a_header_row_far_down_a_sheet_can_be_chosen(con, tmp_path):
    """Finding 20: a header below the rows searched (here row 81, under 80 lines of notes) is
    read when chosen, as in a text file; a row past the sheet's end says so."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "订单"
    for i in range(80):
        sheet.append([f"说明第 {i + 1} 行"])
    sheet.append(["客户编号", "订单日期", "实付金额"])
    sheet.append(["C1", "2024-01-05", 10])
    sheet.append(["C2", "2024-01-06", 20])
    path = tmp_path / "far.xlsx"
    book.save(path)
    report = import_file(con, path, header_row=81, commit=True)
    assert (report.header_row, report.rows_read, report.rows_imported) == (81, 2, 2)
    assert rows(con, "select customer_id, line from transactions order by line") == [("C1", 82), ("C2", 83)]
    with pytest.raises(FileReadError, match="header row 200 is outside sheet '订单'"):
        import_file(con, path, header_row=200)
