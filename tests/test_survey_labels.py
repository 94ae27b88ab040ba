"""Survey answers written as labels, stars or numbers with a unit (the rule of analytics/ingest/survey_labels.py).

The fixtures are ``likert_labels_gbk.csv`` (a Chinese survey tool's export, GBK) and ``likert_labels_en.csv``
(English labels and stars, UTF-8); ``tests/fixtures/surveys/README.md`` says what each holds. Every expectation
is computed here from the raw text with pandas and the rule as the issue states it, written out below (not the
import's constants): a satisfaction label is the 1–5 score it names, stars count their filled ones, ``9分`` is 9;
the recommend question takes numbers only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from import_util import READERS, con_fixture, rows, write  # noqa: F401 (the con fixture)

from analytics.errors import MappingError
from analytics.ingest.pipeline import import_file

SURVEYS = Path(__file__).resolve().parent / "fixtures" / "surveys"
#: The satisfaction labels and their scores, as the issue states them.
LABELS = {"非常满意": 5, "满意": 4, "比较满意": 4, "一般": 3, "中立": 3, "还行": 3, "普通": 3, "比较不满意": 2,
          "不满意": 2, "非常不满意": 1, "very satisfied": 5, "satisfied": 4, "neutral": 3,
          "neither satisfied nor dissatisfied": 3, "dissatisfied": 2, "very dissatisfied": 1}
#: The missing-value words of these files.
MISSING = {"", "n/a", "无", "-"}
#: Each fixture: encoding, and its columns (id, customer, date, satisfaction, recommend, comment).
FILES = {"likert_labels_gbk.csv": ("gbk", ("答卷编号", "客户编号", "提交时间", "总体满意度", "推荐意愿", "留言")),
         "likert_labels_en.csv": ("utf-8", ("Response ID", "Customer ID", "Response date", "Overall satisfaction",
                                            "Likelihood to recommend", "Comment"))}


def _score(cell: str, question: str) -> tuple[float | None, bool]:
    """The score a cell gives by the rule (None: missing), and whether it was written as text."""
    text = cell.strip(" \u3000").lower()
    if text in MISSING:
        return None, False
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text), False
    if points := re.fullmatch(r"(\d+(?:\.\d+)?)\s*分", text):
        return float(points.group(1)), True
    if question == "nps":
        raise ValueError(f"no recommend score: {cell!r}")
    if text in LABELS:
        return float(LABELS[text]), True
    if text and set(text) <= {"★", "☆"}:
        return float(text.count("★")), True
    if stars := re.fullmatch(r"([1-5四五])\s*(星|stars?)", text):
        return float({"四": 4, "五": 5}.get(stars.group(1)) or stars.group(1)), True
    raise ValueError(f"no satisfaction score: {cell!r}")


def _raw(name: str) -> pd.DataFrame:
    encoding, _ = FILES[name]
    frame = pd.read_csv(SURVEYS / name, dtype=str, keep_default_na=False, encoding=encoding)
    return frame.assign(line=range(2, len(frame) + 2))


def _expected(name: str, frame: pd.DataFrame) -> list[tuple]:
    """A row per answered question of each line, with a customer or without (anonymous: None): (id, customer,
    scale, score, line)."""
    fid, customer, _, csat, nps, _ = FILES[name][1]
    out = []
    for r in frame.to_dict("records"):
        for column, question in ((csat, "csat"), (nps, "nps")):
            score, _ = _score(r[column], question)
            if score is not None:
                out.append((r[fid], r[customer] or None, question, score, r["line"]))
    return sorted(out, key=lambda e: (e[0], e[1] or "", e[2:]))


def _stored(con) -> list[tuple]:
    return sorted(rows(con, "select feedback_id, customer_id, scale, score, line from feedback"),
                  key=lambda e: (e[0], e[1] or "", e[2:]))


@pytest.mark.parametrize("force_python", READERS)
@pytest.mark.parametrize("name", list(FILES))
def test_labels_stars_and_points_are_stored_as_the_scores_they_name(con, name, force_python):
    frame = _raw(name)
    _, (_, customer, _, csat, nps, _) = FILES[name]
    report = import_file(con, SURVEYS / name, commit=True, force_python=force_python)
    expected = _expected(name, frame)
    assert _stored(con) == expected
    assert report.mapping["csat_score"] == csat and report.mapping["nps_score"] == nps
    # every answer read from text is counted in its column's entry, and none is stored off its scale
    from_text = {c: sum(_score(v, q)[1] for v in frame[c]) for c, q in ((csat, "csat"), (nps, "nps"))}
    assert {s["column"]: s["labels"] for s in report.score_scales} == from_text
    assert rows(con, "select count(*) from feedback where original_scale <> case scale when 'csat' then '1-5' "
                     "else '0-10' end or original_score <> score") == [(0,)]
    # rejected: the lines with no answer (missing words stay missing); a line without a customer is anonymous
    answered = frame.apply(lambda r: any(_score(r[c], q)[0] is not None for c, q in ((csat, "csat"), (nps, "nps"))),
                           axis=1)
    assert sorted({r["line"] for r in report.rejects}) == sorted(frame.loc[~answered, "line"])
    assert report.anonymous_responses == ((frame[customer] == "") & answered).sum()
    assert [m["column"] for m in report.missing_scores] == [c for c in (csat, nps)
                                                            if frame[c].str.strip().str.lower().isin(MISSING).any()]
    assert report.scores == {q: sum(1 for e in expected if e[2] == q) for q in ("csat", "nps")}
    again = import_file(con, SURVEYS / name, commit=True, force_python=force_python)
    assert (again.status, again.rows_imported) == ("nothing new", 0)


def test_the_gbk_export_is_read_as_gbk_and_says_what_it_read(con):
    frame = _raw("likert_labels_gbk.csv")
    report = import_file(con, SURVEYS / "likert_labels_gbk.csv")
    assert report.encoding == "gb18030" and report.unmapped_columns == []
    labels = sum(_score(v, "csat")[1] and not re.search(r"\d\s*分$", v) for v in frame["总体满意度"])
    points = sum(_score(v, "nps")[1] for v in frame["推荐意愿"])
    assert any(n.startswith(f"column 总体满意度: {labels} answers given as labels or stars, read as CSAT 1–5")
               for n in report.notes), report.notes
    assert f"column 推荐意愿: {points} answers given as a number with its unit, read as the number (9分 = 9)" \
        in report.notes


def _gbk_with(tmp_path: Path, column: str, line: int, value: str) -> tuple[Path, pd.DataFrame]:
    """The GBK export with the cell of ``column`` on ``line`` replaced by ``value``."""
    frame = _raw("likert_labels_gbk.csv")
    frame.loc[frame["line"] == line, column] = value
    path = tmp_path / "问卷导出.csv"
    frame.drop(columns="line").to_csv(path, index=False, encoding="gbk", lineterminator="\r\n")
    return path, frame


@pytest.mark.parametrize("value", ["非常愿意", "满意", "★★★★☆", "5星", "Very likely"])
def test_a_word_on_the_recommend_question_refuses_the_file_and_nothing_is_written(con, tmp_path, value):
    path, frame = _gbk_with(tmp_path, "推荐意愿", 5, value)
    with pytest.raises(MappingError) as refused:
        import_file(con, path, commit=True)
    answers = (~frame["推荐意愿"].str.strip().str.lower().isin(MISSING)).sum()
    said = str(refused.value)
    assert said.startswith(f"问卷导出.csv: column 推荐意愿 (likelihood to recommend) holds answers as words or stars "
                           f"(1 of {answers}, e.g. line 5: {value}): NPS is measured on 0–10"), said
    assert "leave it unmapped (--map nps_score=)" in said
    assert rows(con, "select (select count(*) from feedback), (select count(*) from imports), "
                     "(select count(*) from import_rejects)") == [(0, 0, 0)]
    # without the recommend column, the satisfaction labels import
    report = import_file(con, path, mapping={"nps_score": ""}, commit=True)
    clean = _expected("likert_labels_gbk.csv", _raw("likert_labels_gbk.csv"))
    assert report.scores == {"csat": sum(1 for e in clean if e[2] == "csat")}


@pytest.mark.parametrize("value", ["很好吧", "☆☆☆☆☆", "★★★★★★", "6星", "非常愿意"])
def test_a_satisfaction_cell_that_is_no_score_rejects_its_line_with_column_and_value(con, tmp_path, value):
    path, _ = _gbk_with(tmp_path, "总体满意度", 6, value)
    report = import_file(con, path, commit=True)
    assert {"line": 6, "column": "总体满意度", "value": value, "reason": "not a number"} in report.rejects
    assert 6 not in {line for (line,) in rows(con, "select line from feedback")}  # nor its recommend answer
    clean = [e for e in _expected("likert_labels_gbk.csv", _raw("likert_labels_gbk.csv")) if e[-1] != 6]
    assert _stored(con) == clean
    assert any(n.startswith("column 总体满意度: ") and n.endswith(f"1 answer neither a number nor a known label: "
                                                               f"rejected (line 6: {value})") for n in report.notes)


@pytest.mark.parametrize(("satisfaction", "recommend", "expected"), [
    ("5分", "9分", (5, 9)), ("4 分", "10 分", (4, 10)), ("5星", "0分", (5, 0)), ("四星", "7", (4, 7)),
    ("★★★★☆", "8", (4, 8)), ("★☆☆☆☆", "8", (1, 8)), ("2 stars", "8", (2, 8)), ("\u3000满意 ", "8", (4, 8)),
    ("NEUTRAL", "8", (3, 8)), ("3.5分", "9.5分", (3.5, 9.5))])
def test_numbers_with_their_unit_and_stars(con, tmp_path, satisfaction, recommend, expected):
    path = write(tmp_path / "s.csv", "客户编号,日期,满意度,推荐意愿\n"
                 f"C1,2024-01-05,{satisfaction},{recommend}\nC2,2024-01-05,3,6\n")
    report = import_file(con, path, commit=True)
    assert report.rejects == []
    assert rows(con, "select scale, score from feedback where customer_id = 'C1' order by scale") == [
        ("csat", expected[0]), ("nps", expected[1])]


def test_a_label_on_a_column_asked_on_another_scale_is_stored_as_its_1_to_5_score(con, tmp_path):
    path = write(tmp_path / "s.csv", "客户编号,日期,满意度（1-10分）\n"
                 "C1,2024-01-05,非常满意\nC2,2024-01-05,10\nC3,2024-01-05,8分\nC4,2024-01-05,不满意\n")
    import_file(con, path, commit=True)
    stored = rows(con, "select customer_id, score, original_score, original_scale from feedback order by line")
    assert stored == [("C1", 5.0, 5.0, "1-5"), ("C2", 5.0, 10.0, "1-10"),
                      ("C3", pytest.approx(1 + 4 * 7 / 9), 8.0, "1-10"), ("C4", 2.0, 2.0, "1-5")]


def test_labels_in_one_score_column_beside_a_scale_column(con, tmp_path):
    path = write(tmp_path / "l.csv", "客户编号,日期,评分,量表\n"
                 "C1,2024-01-05,满意,CSAT\nC2,2024-01-05,★★☆☆☆,CSAT\nC3,2024-01-05,9分,NPS\n"
                 "C4,2024-01-05,非常满意,NPS\nC5,2024-01-05,Dissatisfied,CSAT\n")
    report = import_file(con, path, commit=True)
    assert report.rejects == [{"line": 5, "column": "评分", "value": "非常满意", "reason":
                               "a satisfaction label or stars (1-5) on an NPS row: NPS is answered with a number 0-10"}]
    assert rows(con, "select customer_id, scale, score, original_scale from feedback order by line") == [
        ("C1", "csat", 4.0, "1-5"), ("C2", "csat", 2.0, "1-5"), ("C3", "nps", 9.0, "0-10"),
        ("C5", "csat", 2.0, "1-5")]


def test_a_score_column_of_labels_alone_is_read_as_csat(con, tmp_path):
    path = write(tmp_path / "l.csv", "客户编号,日期,评分\nC1,2024-01-05,非常满意\nC2,2024-01-05,一般\n"
                 "C3,2024-01-05,非常不满意\nC4,2024-01-05,无\n")
    report = import_file(con, path, commit=True)
    assert [(s["column"], s["question"], s["labels"]) for s in report.score_scales] == [("评分", "csat", 3)]
    assert rows(con, "select customer_id, scale, score from feedback order by line") == [
        ("C1", "csat", 5.0), ("C2", "csat", 3.0), ("C3", "csat", 1.0)]
    assert report.missing_scores == [{"column": "评分", "missing": 1, "codes": {"无": 1}, "lines": [5]}]
