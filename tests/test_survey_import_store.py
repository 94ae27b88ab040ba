"""A response's two answers in the store (issue 14, point 1): keyed by (feedback id, scale), so the CSAT and NPS
rows of one response live side by side; re-imports add nothing, undo hands over and brings back each answer
on its own, and a database of schema version 5 keeps its rows' identity after the upgrade.
"""

from __future__ import annotations

import pytest
from import_util import con_fixture, rows, write  # noqa: F401 (the con fixture)

from analytics.ingest.claims import undo_preview
from analytics.ingest.pipeline import import_file, undo_import
from analytics.store import migrations
from analytics.store.connection import connect
from analytics.store.migrations import schema_version

HEADER = "问卷编号,客户编号,日期,满意度,推荐意愿\n"


def _held_as_ledger(con) -> list[tuple]:
    """Committed imports whose live rows differ from rows_imported + rows_inherited (none, when the ledger is
    true)."""
    return rows(con, "select i.import_id, coalesce(h.n, 0), i.rows_imported, i.rows_inherited from imports i "
                     "left join (select import_id, count(*) as n from feedback group by 1) h using (import_id) "
                     "where i.status = 'committed' "
                     "and coalesce(h.n, 0) <> i.rows_imported + coalesce(i.rows_inherited, 0)")


def _answers(con) -> list[tuple]:
    return rows(con, "select feedback_id, scale, score, import_id from feedback order by feedback_id, scale")


def test_importing_a_two_question_file_again_adds_nothing(con, tmp_path):
    path = write(tmp_path / "s.csv", HEADER + "R1,C1,2024-01-05,5,9\nR2,C2,2024-01-06,3,N/A\nR3,C3,2024-01-07,,6\n")
    first = import_file(con, path, commit=True)
    assert (first.rows_to_import, first.rows_imported, first.scores) == (3, 4, {"csat": 2, "nps": 2})
    again = import_file(con, path, commit=True)
    assert (again.status, again.rows_imported, again.rows_already_present, again.rows_valid) == ("nothing new", 0, 3, 3)
    assert _answers(con) == [("R1", "csat", 5.0, 1), ("R1", "nps", 9.0, 1), ("R2", "csat", 3.0, 1),
                             ("R3", "nps", 6.0, 1)]
    assert _held_as_ledger(con) == []


def test_a_file_of_only_the_satisfaction_answers_then_both_answers(con, tmp_path):
    """The same responses, first without the recommend column: the second file brings the NPS answers only;
    undoing the first hands it the CSAT answers it brought too, and never an answer it did not bring."""
    csat = write(tmp_path / "csat.csv", "问卷编号,客户编号,日期,满意度\nR1,C1,2024-01-05,5\nR2,C2,2024-01-06,3\n")
    both = write(tmp_path / "both.csv", HEADER + "R1,C1,2024-01-05,5,9\nR2,C2,2024-01-06,3,2\n")
    import_file(con, csat, commit=True)
    second = import_file(con, both, commit=True)
    assert (second.rows_already_present, second.rows_to_import, second.rows_imported) == (0, 2, 2)
    assert second.scores == {"nps": 2}
    assert _answers(con) == [("R1", "csat", 5.0, 1), ("R1", "nps", 9.0, 2), ("R2", "csat", 3.0, 1),
                             ("R2", "nps", 2.0, 2)]
    assert undo_preview(con, 1).kept == 2
    assert undo_import(con, 1) == 0  # both CSAT answers pass to import #2, which brought them too
    assert _answers(con) == [("R1", "csat", 5.0, 2), ("R1", "nps", 9.0, 2), ("R2", "csat", 3.0, 2),
                             ("R2", "nps", 2.0, 2)]
    assert _held_as_ledger(con) == []
    # and the other way round: a file of both answers, then one of the satisfaction answers only
    undo_import(con, 2)
    import_file(con, both, commit=True)
    import_file(con, csat, commit=True)
    assert undo_import(con, 3) == 2  # the NPS answers go: the last file did not bring them
    assert _answers(con) == [("R1", "csat", 5.0, 4), ("R2", "csat", 3.0, 4)]
    assert _held_as_ledger(con) == []


def test_a_conflicting_answer_is_held_and_comes_back_after_undo(con, tmp_path):
    first = write(tmp_path / "a.csv", HEADER + "R1,C1,2024-01-05,5,\n")
    second = write(tmp_path / "b.csv", HEADER + "R1,C1,2024-01-05,4,9\n")
    import_file(con, first, commit=True)
    report = import_file(con, second, commit=True)
    assert (report.rows_conflicting, report.rows_to_import, report.rows_imported) == (0, 1, 1)
    assert report.conflicts == [{"line": 2, "key": "R1 / csat", "other": "import #1, line 2", "kept": "the other row"}]
    assert _answers(con) == [("R1", "csat", 5.0, 1), ("R1", "nps", 9.0, 2)]
    assert undo_import(con, 1) == 1
    assert _answers(con) == [("R1", "csat", 4.0, 2), ("R1", "nps", 9.0, 2)]  # import #2's version of the answer
    assert _held_as_ledger(con) == []


def test_two_rows_answering_one_question_of_a_response_conflict(con, tmp_path):
    path = write(tmp_path / "s.csv", HEADER + "R1,C1,2024-01-05,5,9\nR1,C1,2024-01-05,4,9\nR1,C1,2024-01-05,5,9\n")
    report = import_file(con, path, commit=True)
    # line 3 repeats R1's NPS answer exactly but gives another CSAT answer: a conflict; line 4 repeats line 2
    assert (report.rows_valid, report.rows_conflicting, report.rows_duplicate, report.rows_to_import) == (3, 1, 1, 1)
    assert _answers(con) == [("R1", "csat", 5.0, 1), ("R1", "nps", 9.0, 1)]


def test_a_database_of_schema_5_keeps_its_survey_rows_and_claims(tmp_path, monkeypatch):
    """Rows and claims stored by schema 5 (a feedback row keyed by its id alone, no original score): after the
    upgrade they say their scale as answered, re-importing them adds nothing, and undo hands them over."""
    older = tmp_path / "migrations"
    older.mkdir()
    for version, path in migrations.migrations():
        if version <= 5:
            (older / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", older)
    path = tmp_path / "crm.duckdb"
    con = connect(path)
    assert schema_version(con) == 5
    cur = con.cursor()
    for import_id in (1, 2):  # #2 brought the same rows as #1 (its claims, as schema 5 keyed them)
        cur.execute("insert into imports (import_id, kind, file_name, content_hash, imported_by, imported_at, "
                    "rows_imported, status) values (nextval('import_id_seq'), 'feedback', 'old.csv', ?, 'test', "
                    "now(), ?, 'committed')", [f"h{import_id}", 3 if import_id == 1 else 0])
    cur.execute("insert into feedback (row_key, import_id, line, feedback_id, customer_id, feedback_date, score, "
                "scale, feedback_kind, category, resolved_date, comment) values "
                "(null, 1, 2, 'F1', 'C1', '2024-01-05', 5, 'csat', 'survey', null, null, null), "
                "(null, 1, 3, 'F2', 'C2', '2024-01-06', 9, 'nps', 'survey', null, null, null), "
                "(null, 1, 4, 'F3', 'C3', '2024-01-07', null, null, 'complaint', '物流', null, null)")
    cur.execute("insert into import_claims select 2, 'feedback', md5_number(concat_ws(chr(31), 'key', feedback_id)) "
                "from feedback")
    con.close()
    monkeypatch.undo()

    con = connect(path)
    try:
        assert schema_version(con) == migrations.SCHEMA_VERSION >= 6
        assert rows(con, "select feedback_id, score, original_score, original_scale from feedback order by line") == [
            ("F1", 5.0, 5.0, "1-5"), ("F2", 9.0, 9.0, "0-10"), ("F3", None, None, None)]
        assert rows(con, "select count(*) from feedback_held where original_scale is not null") == [(0,)]
        same = write(tmp_path / "same.csv", "反馈编号,客户编号,反馈日期,评分,量表,反馈类型,类别\n"
                     "F1,C1,2024-01-05,5,CSAT,问卷,\nF2,C2,2024-01-06,9,NPS,问卷,\nF3,C3,2024-01-07,,,投诉,物流\n")
        again = import_file(con, same, commit=True)
        assert (again.status, again.rows_already_present, again.rows_conflicting) == ("nothing new", 3, 0)
        assert undo_import(con, 1) == 0  # import #2 (and #3) brought every row: they stay, now #2's
        assert rows(con, "select feedback_id, import_id from feedback order by line") == [
            ("F1", 2), ("F2", 2), ("F3", 2)]
    finally:
        con.close()


@pytest.mark.parametrize("undo_first", [True, False])
def test_undo_takes_out_both_answers_of_a_response(con, tmp_path, undo_first):
    path = write(tmp_path / "s.csv", HEADER + "R1,C1,2024-01-05,5,9\nR2,C2,2024-01-06,2,1\n")
    other = write(tmp_path / "o.csv", HEADER + "R3,C3,2024-01-07,4,8\n")
    import_file(con, path, commit=True)
    import_file(con, other, commit=True)
    undone = 1 if undo_first else 2
    assert undo_import(con, undone) == (4 if undo_first else 2)
    assert {r[0] for r in _answers(con)} == ({"R3"} if undo_first else {"R1", "R2"})
    assert _held_as_ledger(con) == []
