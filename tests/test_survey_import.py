"""Survey files as they come (issue 14, point 1): the two-question survey export in UTF-8 and GBK,
an .xlsx export with a title row, a complaint export, blank customer ids (anonymous responses), a refused file.

The fixtures are in ``tests/fixtures/surveys/`` (their README says what each holds). Every
expectation is computed here from the raw file with pandas (or openpyxl), by the rules as the
issue states them, not by the import's code: a response is a row per answered question; the
missing-value codes are ``-99``, ``99``/``999`` above the scale's top, ``N/A``, ``NA``, ``无``,
``-``, ``不适用`` and blank; a row without any answer is rejected; a survey row without a customer is an
anonymous response, stored with no customer (``tests/test_survey_anonymous.py``), a complaint without one rejected.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from import_util import READERS, con_fixture, rows  # noqa: F401 (the con fixture)

from analytics.errors import MappingError
from analytics.ingest.pipeline import import_file

SURVEYS = Path(__file__).resolve().parent / "fixtures" / "surveys"
#: The missing-value codes of these files (every scale in them tops out below 99).
CODES = {"", "N/A", "NA", "无", "-", "不适用", "-99", "99", "999"}
QUESTIONS = {"满意度评分": "csat", "推荐意愿": "nps"}


def _two_questions(name: str, encoding: str) -> pd.DataFrame:
    """The two-question file as text, with its line numbers (the header is line 1)."""
    frame = pd.read_csv(SURVEYS / name, dtype=str, keep_default_na=False, encoding=encoding)
    return frame.assign(line=range(2, len(frame) + 2))


def _expected_answers(frame: pd.DataFrame) -> list[tuple]:
    """A stored row per answered question of each line (no customer: None, anonymous): (id, customer, date, scale,
    score, comment, line)."""
    long = frame.melt(id_vars=["问卷编号", "客户编号", "提交答卷时间", "留言", "line"], value_vars=list(QUESTIONS),
                      var_name="question", value_name="answer")
    kept = long[~long["answer"].isin(CODES)]
    return sorted((r.问卷编号, r.客户编号 or None, pd.Timestamp(r.提交答卷时间).date(), QUESTIONS[r.question],
                   float(r.answer), r.留言 or None, r.line) for r in kept.itertuples())


def _stored(con) -> list[tuple]:
    return sorted(rows(con, "select feedback_id, customer_id, feedback_date, scale, score, comment, line "
                            "from feedback where feedback_kind = 'survey'"))


@pytest.mark.parametrize("force_python", READERS)
@pytest.mark.parametrize(("name", "encoding", "detected"), [("two_questions_utf8.csv", "utf-8-sig", "utf-8-sig"),
                                                            ("two_questions_gbk.csv", "gbk", "gb18030")])
def test_a_two_question_file_stores_one_row_per_answer(con, name, encoding, detected, force_python):
    frame = _two_questions(name, encoding)
    report = import_file(con, SURVEYS / name, commit=True, force_python=force_python)
    expected = _expected_answers(frame)
    assert _stored(con) == expected
    # both answers of a response share its id, customer, date and comment, and are on their scales
    assert rows(con, "select count(*) from feedback where scale is null or score is null") == [(0,)]
    assert rows(con, "select min(score), max(score) from feedback where scale = 'csat'")[0] >= (1, 1)
    assert rows(con, "select bool_and(score between 0 and 10) from feedback where scale = 'nps'") == [(True,)]
    assert report.encoding == detected and report.kind == "feedback"
    assert report.mapping == {"feedback_id": "问卷编号", "customer_id": "客户编号", "feedback_date": "提交答卷时间",
                              "csat_score": "满意度评分", "nps_score": "推荐意愿", "comment": "留言"}
    # the report counts lines of the file; rows_imported (as the ledger) the rows written
    answered = frame[list(QUESTIONS)].apply(lambda c: ~c.isin(CODES)).any(axis=1)
    rejected = ~answered
    assert (report.rows_read, report.rows_rejected, report.rows_valid) == (len(frame), rejected.sum(),
                                                                          (~rejected).sum())
    assert report.rows_valid == report.rows_to_import and report.rows_imported == len(expected)
    assert report.scores == {scale: sum(1 for e in expected if e[3] == scale) for scale in ("csat", "nps")}
    assert report.anonymous_responses == ((frame["客户编号"] == "") & answered).sum()
    assert rows(con, "select rows_read, rows_rejected, rows_imported from imports") == [
        (len(frame), rejected.sum(), len(expected))]


@pytest.mark.parametrize(("name", "encoding"), [("two_questions_utf8.csv", "utf-8-sig"),
                                               ("two_questions_gbk.csv", "gbk")])
def test_missing_answers_are_counted_per_column_with_their_lines(con, name, encoding):
    frame = _two_questions(name, encoding)
    report = import_file(con, SURVEYS / name)
    expected = []
    for column in QUESTIONS:
        missing = frame[frame[column].isin(CODES)]
        codes = missing[column].replace("", "blank")
        expected.append({"column": column, "missing": len(missing),
                         "codes": dict(codes.value_counts(sort=False).loc[codes.unique()]),
                         "lines": missing["line"].head(5).tolist()})
    assert report.missing_scores == expected
    for entry in expected:
        lines = ", ".join(map(str, entry["lines"]))
        assert any(n.startswith(f"column {entry['column']}: {entry['missing']} answers are missing (")
                   and f"lines {lines}" in n for n in report.notes), report.notes


def test_unanswered_rows_are_rejected_with_line_and_column_blank_customers_are_not(con):
    frame = _two_questions("two_questions_utf8.csv", "utf-8-sig")
    report = import_file(con, SURVEYS / "two_questions_utf8.csv")
    unanswered = frame[frame[list(QUESTIONS)].isin(CODES).all(axis=1)]
    expected = []
    for r in unanswered.itertuples():
        said = ", ".join(v for v in (r.满意度评分, r.推荐意愿) if v)
        expected.append({"line": r.line, "column": "满意度评分 / 推荐意愿", "value": said,
                         "reason": f"no score: every answer is missing ({said})"})
    assert sorted(report.rejects, key=lambda r: (r["line"], r["column"])) == sorted(
        expected, key=lambda r: (r["line"], r["column"]))
    assert report.rows_rejected == len(unanswered)


def test_the_same_answers_saved_as_gbk_add_nothing(con):
    first = import_file(con, SURVEYS / "two_questions_utf8.csv", commit=True)
    before = _stored(con)
    again = import_file(con, SURVEYS / "two_questions_gbk.csv", commit=True)
    assert _stored(con) == before
    assert (again.status, again.rows_imported, again.rows_already_present, again.rows_to_import) == (
        "nothing new", 0, first.rows_valid, 0)
    assert rows(con, "select import_id, rows_imported, status from imports order by import_id") == [
        (1, first.rows_imported, "committed"), (2, 0, "committed")]


def _sheet_rows() -> tuple[list[str], list[list[object]]]:
    sheet = openpyxl.load_workbook(SURVEYS / "survey_export.xlsx").active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    return [str(h) for h in values[1]], values[2:]  # a title row, then the header


def test_an_xlsx_export_with_a_title_row_converts_the_stated_scales(con):
    headers, body = _sheet_rows()
    report = import_file(con, SURVEYS / "survey_export.xlsx", commit=True)
    assert (report.file_format, report.header_row, report.unmapped_columns) == ("xlsx", 2, ["序号"])
    expected = []
    for line, cells in enumerate(body, start=3):
        r = dict(zip(headers, cells, strict=True))
        for column, scale, lo, hi in (("满意度（1-7分）", "csat", 1, 7), ("推荐可能性（0-100）", "nps", 0, 100)):
            s = r[column]
            if s is None or s in (999,) or s > hi:  # missing: blank, or a code above the top
                continue
            converted = 1 + 4 * (s - lo) / (hi - lo) if scale == "csat" else s / 10
            expected.append((r["答卷编号"], r["会员编号"], r["填写时间"].date(), scale, converted, float(s),
                             f"{lo}-{hi}", line))
    stored = rows(con, "select feedback_id, customer_id, feedback_date, scale, score, original_score, "
                       "original_scale, line from feedback order by line, scale")
    assert [s[:4] + s[5:] for s in stored] == [e[:4] + e[5:] for e in sorted(expected, key=lambda e: (e[-1], e[3]))]
    assert [s[4] for s in stored] == pytest.approx([e[4] for e in sorted(expected, key=lambda e: (e[-1], e[3]))])
    assert report.rejects == []  # the row without a member id is an anonymous response
    assert [(s["column"], s["scale"], s["stated"], s["rule"]) for s in report.score_scales] == [
        ("满意度（1-7分）", "1-7", True, "s' = 1 + 4·(s − 1)/6"), ("推荐可能性（0-100）", "0-100", True, "s' = s / 10")]
    assert ("column 满意度（1-7分）: satisfaction scores 1–7 in 9 of 9 rows (as its header says); stored as CSAT 1–5 "
            "by s' = 1 + 4·(s − 1)/6, so satisfied (4–5) is 6–7 here") in report.notes


def test_a_complaint_export_imports_without_scores(con):
    frame = pd.read_csv(SURVEYS / "complaints.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    report = import_file(con, SURVEYS / "complaints.csv", commit=True)
    assert report.kind == "feedback" and report.unmapped_columns == ["处理状态"]
    kept = frame[frame["客户编号"] != ""]
    assert rows(con, "select feedback_id, customer_id, feedback_kind, score, scale, category, "
                     "cast(resolved_date as varchar), comment from feedback order by line") == [
        (r.投诉编号, r.客户编号, "complaint", None, None, r.投诉类别, r.解决日期 or None, r.投诉内容 or None)
        for r in kept.itertuples()]
    assert report.rejects == [{"line": int(frame.index[frame["客户编号"] == ""][0]) + 2, "column": "客户编号",
                               "value": None, "reason": "customer_id is empty"}]
    assert report.scores == {"none": len(kept)} and report.missing_scores == []


def test_a_recommend_question_on_1_to_5_is_refused_and_nothing_is_written(con):
    frame = pd.read_csv(SURVEYS / "recommend_1_5.csv", dtype=str)
    with pytest.raises(MappingError) as refused:
        import_file(con, SURVEYS / "recommend_1_5.csv", commit=True)
    said = str(refused.value)
    n = len(frame)
    assert said.startswith(f"recommend_1_5.csv: column 推荐度 (likelihood to recommend) holds scores on a 1–5 scale "
                           f"({n} of {n} answers between 1 and 5, e.g. line 2: {frame['推荐度'][0]}): NPS is measured "
                           "on 0–10")
    assert "leave it unmapped (--map nps_score=)" in said
    assert rows(con, "select (select count(*) from feedback), (select count(*) from imports), "
                     "(select count(*) from import_rejects)") == [(0, 0, 0)]
    # without the recommend column, the satisfaction answers import
    report = import_file(con, SURVEYS / "recommend_1_5.csv", mapping={"nps_score": ""}, commit=True)
    assert report.unmapped_columns == ["推荐度"] and report.scores == {"csat": n}
    assert rows(con, "select customer_id, score from feedback order by line") == [
        (c, float(s)) for c, s in zip(frame["客户编号"], frame["满意度"], strict=True)]
