"""Survey files on the Data page (issue 14, point 1), driven through AppTest: a two-question export imports as
a row per answer with its missing answers and its anonymous responses (no customer id) said, and a file whose
recommend question is on 1–5 is refused with the reason, then imports once the analyst leaves that column unmapped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from app_data_util import (
    confirm,
    fresh_app_fixture,  # noqa: F401 (the autouse fresh_app fixture)
    open_data_page,
    rows,
    run,
    selectbox,
    upload,
)

from ui.i18n import LANGUAGES, md_literal, t
from ui.importing.messages import column_label, kind_label

SURVEYS = Path(__file__).resolve().parent / "fixtures" / "surveys"
CODES = {"", "N/A", "无", "-", "不适用", "-99", "99"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_two_question_export_imports_a_row_per_answer(lang):
    frame = pd.read_csv(SURVEYS / "two_questions_gbk.csv", dtype=str, keep_default_na=False, encoding="gbk")
    at = open_data_page(lang)
    upload(at, ("满意度调查.csv", (SURVEYS / "two_questions_gbk.csv").read_bytes()))
    assert selectbox(at, t("data_kind_label", lang)).value == "feedback"
    mapped = {s.label: s.value for s in at.selectbox}
    assert mapped[column_label("csat_score", lang)] == "满意度评分"
    assert mapped[column_label("nps_score", lang)] == "推荐意愿"
    said = " ".join(i.value for i in at.info)
    assert md_literal("column 推荐意愿: 4 answers are missing (N/A (2), blank (1), - (1); lines 6, 10, 16, 18)") in said
    answered = ~frame[["满意度评分", "推荐意愿"]].isin(CODES).all(axis=1)
    anonymous = frame[answered & (frame["客户编号"] == "")]  # one answered line without a customer id
    answers = int((~anonymous[["满意度评分", "推荐意愿"]].isin(CODES)).to_numpy().sum())
    assert len(anonymous) == 1 and md_literal(f"1 survey response has no customer id: its {answers} answers are "
                                              "stored without a customer (anonymous)") in said
    confirm(at, lang, answered.sum())
    assert rows("select scale, count(*) from feedback group by all order by 1") == [
        ("csat", (~frame["满意度评分"].isin(CODES)).sum()), ("nps", (~frame["推荐意愿"].isin(CODES)).sum())]
    assert rows("select count(*) from feedback where customer_id is null") == [(answers,)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_recommend_question_on_1_to_5_is_refused_then_left_out(lang):
    frame = pd.read_csv(SURVEYS / "recommend_1_5.csv", dtype=str)
    at = open_data_page(lang)
    upload(at, ("recommend_1_5.csv", (SURVEYS / "recommend_1_5.csv").read_bytes()))
    assert len(at.error) == 1 and md_literal("column 推荐度 (likelihood to recommend) holds scores on a 1–5 scale") \
        in at.error[0].value
    assert rows("select count(*) from feedback") == [(0,)]
    selectbox(at, t("data_kind_label", lang)).set_value("feedback")
    run(at)
    selectbox(at, column_label("nps_score", lang)).set_value("")
    run(at)
    assert not at.error
    confirm(at, lang, len(frame))
    assert rows("select customer_id, scale, score from feedback order by line") == [
        (c, "csat", float(s)) for c, s in zip(frame["客户编号"], frame["满意度"], strict=True)]
    assert md_literal(kind_label("feedback", lang)) in " ".join(s.value for s in at.success)
