"""Leads files on the Data page (issue 15, point 1), driven through AppTest: a file of each shape is detected
as leads, says how it was read, and imports every row an independent reading of the raw file gives; a later
export's amended row is listed as replacing the stored one, and replaces it.
"""

from __future__ import annotations

import pytest
from app_data_util import (
    confirm,
    fresh_app_fixture,  # noqa: F401 (the autouse fresh_app fixture)
    open_data_page,
    rows,
    selectbox,
    upload,
)
from leads_reading import LEADS, STORED, current_stage, stage_dates, stage_log

from ui.i18n import LANGUAGES, md_literal, t
from ui.importing.messages import column_label, kind_label, localize

#: Each fixture, the name it is uploaded as, its shape's note (as the pipeline writes it) and its reading.
SHAPES = {
    "stage_history": ("stage_log_gbk.csv", "阶段变更记录.csv", "leads in one row per lead per stage reached: column "
                      "进入阶段时间 gives the day each stage was reached; each row is stored", stage_log),
    "stage_dates": ("stage_dates.xlsx", "线索跟进表.xlsx", "leads in one row per lead with a date per stage (确认日期, "
                    "报价日期, 成交日期): each row is stored with the lead's current stage", stage_dates),
    "current_stage": ("salesforce_leads.csv", "report1712345678901.csv", "leads in one row per lead with its current "
                      "stage: each row is stored; the stages before it are reached on days the file does not say",
                      current_stage),
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_leads_file_of_each_shape_imports_on_the_data_page(lang, shape):
    fixture, name, note, reading = SHAPES[shape]
    want = reading()
    at = open_data_page(lang)
    upload(at, (name, (LEADS / fixture).read_bytes()))
    assert selectbox(at, t("data_kind_label", lang)).value == "leads"
    said = " ".join(i.value for i in at.info)
    assert md_literal(localize(note, lang)) in said
    assert localize(note, lang) != note or lang == "en"  # the sentence is put into the page's language
    confirm(at, lang, len(want))
    assert rows(f"select {STORED} from leads order by line") == want
    assert md_literal(kind_label("leads", lang)) in " ".join(s.value for s in at.success)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_amended_row_is_listed_and_replaces_the_stored_one(lang, tmp_path):
    header = "线索编号,销售阶段,进入阶段日期,创建日期,负责人\n"
    at = open_data_page(lang)
    upload(at, ("三月.csv", (header + "L1,线索,2024-03-01,2024-03-01,王芳\nL1,意向,2024-03-06,2024-03-01,王芳\n")
                .encode()))
    confirm(at, lang, 2)
    at = open_data_page(lang)
    upload(at, ("四月.csv", (header + "L1,意向,2024-03-06,2024-03-01,张伟\nL1,报价,2024-04-02,2024-03-01,张伟\n")
                .encode()))
    assert selectbox(at, column_label("stage_date", lang)).value == "进入阶段日期"
    assert t("leads_amended_title", lang, n="1") in " ".join(m.value for m in at.markdown)
    replacing = next(d.value for d in at.dataframe if t("data_table_replaces", lang) in d.value.columns)
    assert replacing.to_dict("records") == [{
        t("data_table_line", lang): 2, t("data_table_key", lang): "L1 / 意向",
        t("data_table_changed", lang): column_label("sales_rep", lang),
        t("data_table_replaces", lang): localize("import #1, line 3", lang)}]
    confirm(at, lang, 2)
    assert rows("select stage, sales_rep, import_id from leads order by stage_date") == [
        ("线索", "王芳", 1), ("意向", "张伟", 2), ("报价", "张伟", 2)]
    assert t("leads_result_replaced", lang, n="1") in " ".join(c.value for c in at.caption)
