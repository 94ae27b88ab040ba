"""Survey scores on other scales and missing-value codes (issue 14, point 1).

The conversion rule, as stated in the import report and the README: satisfaction asked on lo–hi
is stored on 1–5 as ``1 + 4·(s − lo)/(hi − lo)``; recommend on 0–100 as ``s / 10``; recommend on a
scale not starting at 0 is refused. Expectations are computed here from the raw files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from import_util import con_fixture, rows, write  # noqa: F401 (the con fixture)

from analytics.cli import main
from analytics.errors import MappingError
from analytics.ingest.pipeline import import_file
from analytics.ingest.survey_scales import stated_scale

SURVEYS = Path(__file__).resolve().parent / "fixtures" / "surveys"
TEXT_CODES = {"N/A", "NA", "无", "-", "不适用"}


def test_satisfaction_on_1_to_10_is_read_from_its_values_and_converted(con):
    frame = pd.read_csv(SURVEYS / "satisfaction_1_10.csv", dtype={"客户编号": str})
    report = import_file(con, SURVEYS / "satisfaction_1_10.csv", commit=True)
    sat = frame["总体满意度"]
    assert (sat.min(), sat.max()) == (1, 10)  # so the scale read is 1-10
    nps = frame[frame["NPS"] <= 10]  # 999 marks a missing answer
    expected = sorted([(c, "csat", 1 + 4 * (s - 1) / 9, float(s), "1-10") for c, s in zip(frame["客户编号"], sat,
                                                                                           strict=True)]
                      + [(c, "nps", float(s), float(s), "0-10") for c, s in zip(nps["客户编号"], nps["NPS"],
                                                                                strict=True)])
    stored = rows(con, "select customer_id, scale, score, original_score, original_scale from feedback "
                       "order by customer_id, scale")
    assert [(s[0], s[1], s[3], s[4]) for s in stored] == [(e[0], e[1], e[3], e[4]) for e in expected]
    assert [s[2] for s in stored] == pytest.approx([e[2] for e in expected])
    # "satisfied" (4 or more on 1-5) is 8-10 of 10
    assert rows(con, "select count(*) from feedback where scale = 'csat' and score >= 4") == [((sat >= 8).sum(),)]
    assert ("column 总体满意度: satisfaction scores 1–10 in 12 of 12 rows; stored as CSAT 1–5 by "
            "s' = 1 + 4·(s − 1)/9, so satisfied (4–5) is 8–10 here") in report.notes
    assert report.missing_scores == [{"column": "NPS", "missing": 1, "codes": {"999": 1},
                                      "lines": [int(frame.index[frame["NPS"] == 999][0]) + 2]}]


@pytest.mark.parametrize(("header", "scale"), [
    ("满意度（1-7分）", (1, 7)), ("满意度(1~10)", (1, 10)), ("Satisfaction (1–5)", (1, 5)),
    ("推荐意愿（0至10）", (0, 10)), ("满意度（百分制）", (0, 100)), ("满意度(10分制)", (None, 10)),
    ("满意度（七分制）", (None, 7)), ("满意度", None), ("满意度(10-1)", None)])
def test_a_header_states_its_scale(header, scale):
    assert stated_scale(header) == scale


def test_the_header_s_scale_wins_over_the_values(con, tmp_path):
    answers = [5, 4, 3, 5, 4]  # all within 1-5, but asked on 1-7
    path = write(tmp_path / "s.csv", "客户编号,日期,满意度（1-7分）\n"
                 + "".join(f"C{i},2024-01-05,{s}\n" for i, s in enumerate(answers)))
    import_file(con, path, commit=True)
    assert [s for (s,) in rows(con, "select score from feedback order by line")] == pytest.approx(
        [1 + 4 * (s - 1) / 6 for s in answers])


def test_99_is_a_score_on_0_to_100_and_a_missing_code_on_1_to_5(con, tmp_path):
    path = write(tmp_path / "s.csv", "客户编号,日期,满意度,推荐可能性\n"
                 "C1,2024-01-05,5,99\nC2,2024-01-05,99,80\nC3,2024-01-05,4,35\nC4,2024-01-05,3,60\n")
    report = import_file(con, path, commit=True)
    assert rows(con, "select customer_id, scale, score from feedback order by line, scale") == [
        ("C1", "csat", 5.0), ("C1", "nps", 9.9), ("C2", "nps", 8.0), ("C3", "csat", 4.0), ("C3", "nps", 3.5),
        ("C4", "csat", 3.0), ("C4", "nps", 6.0)]
    assert report.missing_scores == [{"column": "满意度", "missing": 1, "codes": {"99": 1}, "lines": [3]}]


def test_missing_codes_are_reported_and_never_averaged_in(con):
    raw = pd.read_csv(SURVEYS / "missing_codes_gbk.csv", dtype=str, keep_default_na=False, encoding="gbk")
    raw = raw.assign(line=range(2, len(raw) + 2))
    report = import_file(con, SURVEYS / "missing_codes_gbk.csv", commit=True)
    surveys = raw[raw["反馈类型"] == "问卷"]
    numbers = pd.to_numeric(surveys["评分"], errors="coerce")
    tops = surveys["量表"].map({"CSAT": 5, "NPS": 10})
    answered = surveys[numbers.between(0, tops)]  # -99, 99 and 999 lie outside every scale here
    for scale in ("CSAT", "NPS"):
        kept = answered[answered["量表"] == scale]
        stored = rows(con, "select count(*), avg(score) from feedback where scale = ?", scale.lower())[0]
        assert stored == (len(kept), pytest.approx(kept["评分"].astype(float).mean()))
    # complaints import without a score
    complaints = raw[raw["反馈类型"] == "投诉"]
    assert rows(con, "select feedback_id, category from feedback where feedback_kind = 'complaint' order by line") == [
        (r.反馈编号, r.类别) for r in complaints.itertuples()]
    # every other survey row is reported: its missing answer counted, the row rejected for having no score
    missing = surveys[~surveys.index.isin(answered.index)]
    codes = missing["评分"].replace("", "blank")
    assert report.missing_scores == [{"column": "评分", "missing": len(missing),
                                      "codes": dict(codes.value_counts(sort=False).loc[codes.unique()]),
                                      "lines": missing["line"].head(5).tolist()}]
    empty = "score is empty (required for a survey)"
    assert [(r["line"], r["reason"]) for r in report.rejects] == [
        (r.line, f"no score: every answer is missing ({r.评分})" if r.评分 else empty) for r in missing.itertuples()]
    assert set(missing["评分"]) - {"", "-99", "99", "999"} == TEXT_CODES  # every word code is in the file
    assert report.rows_read == report.rows_valid + report.rows_rejected == len(raw)


def test_a_stray_answer_is_a_reject_not_a_reason_to_read_another_scale(con, tmp_path):
    answers = [1 + i % 5 for i in range(99)] + [55]
    path = write(tmp_path / "s.csv", "客户编号,日期,满意度\n"
                 + "".join(f"C{i},2024-01-05,{s}\n" for i, s in enumerate(answers)))
    report = import_file(con, path, commit=True)
    assert report.rejects == [{"line": 101, "column": "满意度", "value": "55.0",
                               "reason": "score 55.0 is outside the CSAT scale 1-5"}]
    assert "column 满意度: CSAT scores 1–5 in 99 of 100 rows; 1 outside: rejected" in report.notes
    assert rows(con, "select count(*), sum(score) from feedback") == [(99, float(sum(answers[:99])))]


def test_a_stated_scale_rejects_the_answers_beyond_it(con, tmp_path):
    path = write(tmp_path / "s.csv", "客户编号,日期,满意度(1-7)\nC1,2024-01-05,7\nC2,2024-01-05,8\n")
    report = import_file(con, path)
    assert report.rejects == [{"line": 3, "column": "满意度(1-7)", "value": "8.0",
                               "reason": "score 8.0 is outside the satisfaction scale 1-7 of this column"}]


@pytest.mark.parametrize(("header", "answers", "said"), [
    ("推荐度", [1, 2, 3, 4, 5, 6, 7, 5, 6, 4, 7, 3],
     "on a 1–7 scale (12 of 12 answers between 1 and 7, e.g. line 2: 1)"),
    ("推荐意愿（1-10分）", [10, 9, 8], "on a 1–10 scale (as its header says)")])
def test_a_recommend_question_not_on_0_to_10_is_refused(con, tmp_path, header, answers, said):
    path = write(tmp_path / "r.csv", f"客户编号,日期,{header}\n"
                 + "".join(f"C{i},2024-01-05,{s}\n" for i, s in enumerate(answers)))
    with pytest.raises(MappingError, match=f"^r.csv: column {header} \\(likelihood to recommend\\) holds scores "
                                           + said.replace("(", "\\(").replace(")", "\\)")):
        import_file(con, path)


def test_a_few_low_recommend_answers_are_read_as_nps_and_the_note_says_so(con, tmp_path):
    path = write(tmp_path / "r.csv", "客户编号,日期,推荐意愿\nC1,2024-01-05,3\nC2,2024-01-05,5\n")
    report = import_file(con, path, commit=True)
    assert ("column 推荐意愿: NPS scores 0–10 in 2 of 2 rows (too few answers to tell from a 1–5 or 1–7 scale; if it "
            "was asked so, say it in the header: 推荐意愿(1-5))") in report.notes
    assert rows(con, "select scale, score from feedback order by line") == [("nps", 3.0), ("nps", 5.0)]


def test_the_command_line_refuses_a_recommend_scale_and_imports_without_the_column(tmp_path, capsys):
    db, path = str(tmp_path / "cli.duckdb"), str(SURVEYS / "recommend_1_5.csv")
    assert main(["--db", db, "import", path, "--commit"]) == 1
    assert "recommend_1_5.csv: column 推荐度 (likelihood to recommend) holds scores on a 1–5 scale" in \
        capsys.readouterr().err
    assert main(["--db", db, "import", path, "--map", "nps_score=", "--commit", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    frame = pd.read_csv(path)
    assert (out["rows_imported"], out["scores"], out["unmapped_columns"]) == (len(frame), {"csat": len(frame)},
                                                                              ["推荐度"])


def test_a_complaint_row_holds_one_score(con, tmp_path):
    path = write(tmp_path / "c.csv", "客户编号,日期,反馈类型,满意度,推荐意愿,类别\n"
                 "C1,2024-01-05,投诉,2,3,物流\nC2,2024-01-05,投诉,2,,物流\nC3,2024-01-05,投诉,,,质量\n")
    report = import_file(con, path, commit=True)
    assert report.rejects == [{"line": 2, "column": "满意度 / 推荐意愿", "value": "2.0, 3.0", "reason":
                               "a complaint row holds one score, this one 2: give it the kind survey, or leave all "
                               "but one empty"}]
    assert rows(con, "select customer_id, feedback_kind, scale, score from feedback order by line") == [
        ("C2", "complaint", "csat", 2.0), ("C3", "complaint", None, None)]


def test_a_survey_row_without_answers_is_no_complaint(con, tmp_path):
    path = write(tmp_path / "s.csv", "客户编号,日期,满意度,推荐意愿,类别\n"
                 "C1,2024-01-05,4,9,\nC2,2024-01-05,,,\nC3,2024-01-05,,,物流\n")
    report = import_file(con, path, commit=True)
    assert [(r["line"], r["reason"]) for r in report.rejects] == [(3, "score is empty (required for a survey)")]
    assert rows(con, "select customer_id, feedback_kind, scale from feedback order by line, scale") == [
        ("C1", "survey", "csat"), ("C1", "survey", "nps"), ("C3", "complaint", None)]


def test_one_question_column_beside_a_scale_column_is_read_by_the_scale_column(con, tmp_path):
    """An export with one row per answer (满意度 named so, but the 量表 column says each row's scale)."""
    path = write(tmp_path / "l.csv", "客户编号,日期,满意度,量表\nC1,2024-01-05,5,CSAT\nC2,2024-01-05,9,NPS\n")
    report = import_file(con, path, commit=True)
    assert report.mapping["score"] == "满意度" and "csat_score" not in report.mapping
    assert rows(con, "select scale, score, original_scale from feedback order by line") == [
        ("csat", 5.0, "1-5"), ("nps", 9.0, "0-10")]
