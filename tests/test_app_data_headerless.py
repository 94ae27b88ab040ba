"""The Data page with files that have no header row (pages/data.py, ui/importing/), driven
through AppTest: the CDNOW purchase log found to start with data, its columns offered by
position with their first values, mapped by hand and imported; the "first line is data"
choice switched on and off.

Each test runs the whole app on a database of its own (``tests/app_data_util.py``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from app_data_util import (
    confirm,
    counts,
    fresh_app_fixture,  # noqa: F401 (the autouse fresh_app fixture)
    open_data_page,
    rows,
    run,
    selectbox,
    upload,
)

from ui.i18n import LANGUAGES, md_literal, t

CDNOW = Path(__file__).resolve().parent / "fixtures" / "cdnow" / "CDNOW_sample.txt"


def _column(lang: str, n: int, *values: str) -> str:
    """How the page names column `n` of a file without a header row, with its first values."""
    name = t("data_column_position", lang, n=str(n))
    return t("data_column_samples", lang, column=name, values=("、" if lang == "zh" else ", ").join(values)) \
        if values else name


def _no_header(at):
    matches = [c for c in at.checkbox if c.label in (t("data_no_header_label", lang) for lang in LANGUAGES)]
    assert len(matches) == 1, [c.label for c in at.checkbox]
    return matches[0]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_cdnow_log_is_mapped_by_position_and_imported(lang):
    at = open_data_page(lang)
    upload(at, ("CDNOW_sample.txt", CDNOW.read_bytes()))
    assert _no_header(at).value, "the first line is found to be data"
    positional = ("、" if lang == "zh" else ", ").join(_column(lang, n) for n in range(1, 6))
    assert at.error[0].value == md_literal(t("data_error_kind_unknown", lang, columns=positional))
    selectbox(at, t("data_kind_label", lang)).set_value("transactions")
    run(at)
    customer = selectbox(at, t("data_col_customer_id", lang) + " *")
    assert customer.options == [t("data_not_mapped", lang), _column(lang, 1, "00004", "00021", "00050"),
                                _column(lang, 2, "0001", "0002", "0003"),
                                _column(lang, 3, "19970101", "19970118", "19970802"),
                                _column(lang, 4, "2", "1", "3"), _column(lang, 5, "29.33", "29.73", "14.96")]
    assert t("data_mapping_positional", lang) in [c.value for c in at.caption]
    assert t("data_map_required_positional", lang) in [m.value for m in at.markdown]
    for column, position in (("customer_id", 1), ("order_date", 3), ("amount", 5)):
        selectbox(at, t(f"data_col_{column}", lang) + " *").set_value(f"column {position}")
        run(at)
    assert not at.error
    selectbox(at, t("data_col_quantity", lang)).set_value("column 4")
    run(at)
    assert counts(at, lang, "rows_read", "rows_valid", "rows_rejected", "rows_to_import") == [
        "6,919", "6,919", "0", "6,919"]
    said = at.info[0].value
    assert md_literal(t("data_note_headerless", lang)) in said and md_literal(t("data_note_spaces", lang)) in said
    mapped = t("data_mapping_summary", lang, pairs=" · ".join(
        f"{t(f'data_col_{c}', lang)} ← {_column(lang, n)}"
        for c, n in (("customer_id", 1), ("order_date", 3), ("amount", 5), ("quantity", 4))))
    assert md_literal(mapped) in [c.value for c in at.caption]
    confirm(at, lang, 6_919)
    assert rows("select count(*), count(distinct customer_id), sum(quantity), min(order_date), max(order_date) "
                "from transactions") == [(6_919, 2_357, 16_479, date(1997, 1, 1), date(1998, 6, 30))]
    assert rows("select header_row, mapping from imports") == [
        (None, '{"customer_id": "column 1", "order_date": "column 3", "amount": "column 5", '
               '"quantity": "column 4"}')]


def test_the_first_line_is_data_when_chosen_and_a_header_again_when_not():
    at = open_data_page("en")
    upload(at, ("people.csv", "张三,华东\n李四,华北\n".encode()))
    assert not _no_header(at).value, "a row of words is a header"
    assert at.error[0].value == md_literal(t("data_error_kind_unknown", "en", columns="张三, 华东"))
    _no_header(at).check()
    run(at)
    assert _no_header(at).value
    selectbox(at, "Kind of data").set_value("customers")
    run(at)
    selectbox(at, t("data_col_customer_id", "en") + " *").set_value("column 1")
    run(at)
    assert not at.error
    selectbox(at, t("data_col_region", "en")).set_value("column 2")
    run(at)
    assert md_literal(t("data_note_no_header", "en")) in at.info[0].value
    assert counts(at, "en", "rows_read", "rows_valid") == ["2", "2"]
    _no_header(at).uncheck()
    run(at)
    assert not _no_header(at).value, "the first line names the columns again"
    assert counts(at, "en", "rows_read") == ["1"]  # the columns chosen by position stay chosen
    _no_header(at).check()
    run(at)
    confirm(at, "en", 2)
    assert rows("select line, customer_id, region from customers order by line") == [
        (1, "张三", "华东"), (2, "李四", "华北")]


def test_a_file_with_a_header_can_be_read_as_data_and_back():
    at = open_data_page("en")
    upload(at, ("t.csv", b"customer_id,order_date,amount\nC1,2024-01-05,10\n"))
    assert not _no_header(at).value
    assert counts(at, "en", "rows_read") == ["1"]
    _no_header(at).check()
    run(at)
    assert at.error[0].value == md_literal(t("data_error_kind_unknown", "en", columns="column 1, column 2, column 3"))
    _no_header(at).uncheck()
    run(at)
    assert not at.error and not _no_header(at).value
    assert counts(at, "en", "rows_read", "rows_valid") == ["1", "1"]


def test_a_file_found_to_start_with_data_can_be_read_with_its_first_line_as_header():
    at = open_data_page("en")
    upload(at, ("log.txt", b" 00004 0001 19970101  2   29.33\r\n 00021 0002 19970101  1   10.00\r\n"))
    assert _no_header(at).value
    _no_header(at).uncheck()
    run(at)
    assert not _no_header(at).value
    assert at.number_input[0].value == 1
    assert at.error[0].value == md_literal(t("data_error_kind_unknown", "en",
                                             columns="00004, 0001, 19970101, 2, 29.33"))
