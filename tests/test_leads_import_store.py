"""Leads in the store (issue 15, point 1): a row per lead and stage, the latest import's version of each. A later
export of a lead at a further stage adds a row; an amended row replaces the stored one and undoing the import
puts it back; any sequence of imports and undos leaves what importing the committed imports alone stores; an
import or undo that fails half way changes nothing; a database of schema 6 keeps its leads, claims and held
versions, brought under the new key and rule (migration 008).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from atomicity_util import snapshot
from hypothesis import given
from hypothesis import strategies as st
from import_strategies import SETTINGS
from import_util import con_fixture, new_database, rows, write  # noqa: F401 (the con fixture)

from analytics.cli import main
from analytics.ingest.pipeline import import_file, undo_import
from analytics.store import marts, migrations
from analytics.store.connection import connect, data_version
from analytics.store.migrations import schema_version

HEADER = "线索编号,阶段,阶段日期,创建日期,负责人\n"
FIRST = "L1,线索,2024-03-01,2024-03-01,王芳\nL1,意向,2024-03-06,2024-03-01,王芳\n"
MARCH_1, MARCH_6 = dt.date(2024, 3, 1), dt.date(2024, 3, 6)


def lead_rows(con) -> list[tuple]:
    return rows(con, "select lead_id, stage, stage_date, sales_rep, import_id from leads order by lead_id, stage_date")


def ledger_holds(con) -> list[tuple]:
    """Committed imports whose live lead rows differ in number from rows_imported + rows_inherited."""
    return rows(con, "select i.import_id, count(l.lead_id), i.rows_imported, i.rows_inherited from imports i "
                     "left join leads l using (import_id) where i.status = 'committed' group by all "
                     "having count(l.lead_id) <> i.rows_imported + coalesce(i.rows_inherited, 0)")


def test_a_later_export_at_a_further_stage_adds_a_row(con, tmp_path):
    first = write(tmp_path / "march.csv", HEADER + FIRST)
    later = write(tmp_path / "april.csv", HEADER + FIRST + "L1,报价,2024-04-02,2024-03-01,王芳\n")
    import_file(con, first, commit=True)
    report = import_file(con, later, commit=True)
    assert (report.rows_already_present, report.rows_imported, report.rows_replaced) == (2, 1, 0)
    assert lead_rows(con) == [("L1", "线索", MARCH_1, "王芳", 1), ("L1", "意向", MARCH_6, "王芳", 1),
                              ("L1", "报价", dt.date(2024, 4, 2), "王芳", 2)]


def test_a_lead_at_a_further_current_stage_adds_a_row(con, tmp_path):
    """A CRM export of current stages: the lead's earlier row stays (it reached that stage), the new one is added."""
    header = "Lead ID,Created Date,Lead Status,Owner\n"
    import_file(con, write(tmp_path / "jan.csv", header + "L1,2024-01-08,Working - Contacted,Wang Fang\n"), commit=True)
    import_file(con, write(tmp_path / "feb.csv", header + "L1,2024-01-08,Qualified,Wang Fang\n"), commit=True)
    assert rows(con, "select stage, import_id from leads order by import_id") == [
        ("Working - Contacted", 1), ("Qualified", 2)]


@pytest.mark.parametrize("policy", ["keep", "replace"])  # (the amended-order choice does not apply to leads)
def test_an_amended_row_replaces_the_stored_one_and_undo_puts_it_back(con, tmp_path, policy):
    first = write(tmp_path / "a.csv", HEADER + FIRST)
    amended = write(tmp_path / "b.csv", HEADER + "L1,线索,2024-03-01,2024-03-01,王芳\n"
                    "L1,意向,2024-03-06,2024-03-01,张伟\n")  # another rep
    import_file(con, first, commit=True)
    preview = import_file(con, amended, amended=policy)
    assert (preview.rows_to_import, preview.rows_replaced, preview.rows_conflicting, preview.rows_already_present) == (
        1, 1, 0, 1)
    assert preview.amended_keys == [{"line": 3, "key": "L1 / 意向", "changed": ["sales_rep"],
                                     "replaces": "import #1, line 3"}]
    assert any(n.startswith("1 rows amend rows stored by earlier imports") for n in preview.notes)
    report = import_file(con, amended, commit=True, amended=policy)
    assert (report.status, report.rows_imported, report.rows_replaced) == ("committed", 1, 1)
    assert rows(con, "select rows_replaced from imports where import_id = 2") == [(1,)]
    assert lead_rows(con) == [("L1", "线索", MARCH_1, "王芳", 1), ("L1", "意向", MARCH_6, "张伟", 2)]
    assert ledger_holds(con) == []
    assert undo_import(con, 2) == 1
    assert lead_rows(con) == [("L1", "线索", MARCH_1, "王芳", 1), ("L1", "意向", MARCH_6, "王芳", 1)]
    assert rows(con, "select count(*) from leads_held") == [(0,)] and ledger_holds(con) == []


def test_the_command_line_says_the_shape_and_the_rows_that_replace_stored_ones(tmp_path, capsys):
    db = str(tmp_path / "crm.duckdb")
    assert main(["--db", db, "import", str(write(tmp_path / "a.csv", HEADER + FIRST)), "--commit"]) == 0
    amended = write(tmp_path / "b.csv", HEADER + "L1,意向,2024-03-06,2024-03-01,张伟\n")
    capsys.readouterr()
    assert main(["--db", db, "import", str(amended)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("b.csv: leads (stage history), csv")
    assert "amended: line 2 (key L1 / 意向) replaces import #1, line 3 (changed: sales_rep; undo puts it back)" in out
    assert main(["--db", db, "import", str(amended), "--commit", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["lead_shape"], report["rows_imported"], report["rows_replaced"], report["amended_keys"]) == (
        "stage_history", 1, 1,
        [{"line": 2, "key": "L1 / 意向", "changed": ["sales_rep"], "replaces": "import #1, line 3"}])


def test_undoing_the_amended_rows_first_import_keeps_the_amendment(con, tmp_path):
    first = write(tmp_path / "a.csv", HEADER + "L1,意向,2024-03-06,2024-03-01,王芳\n")
    again = write(tmp_path / "a2.csv", HEADER + "L1,意向,2024-03-06,2024-03-01,王芳\n")  # the same row, claimed
    amended = write(tmp_path / "b.csv", HEADER + "L1,意向,2024-03-07,2024-03-01,王芳\n")
    for path in (first, again, amended):
        import_file(con, path, commit=True)
    assert rows(con, "select import_id, stage_date from leads_held order by 1") == [
        (1, dt.date(2024, 3, 6)), (2, dt.date(2024, 3, 6))]  # the stored row and its claim stepped aside
    undo_import(con, 1)
    assert lead_rows(con) == [("L1", "意向", dt.date(2024, 3, 7), "王芳", 3)]
    undo_import(con, 3)  # the second import's version comes back: it brought the row too
    assert lead_rows(con) == [("L1", "意向", dt.date(2024, 3, 6), "王芳", 2)]
    assert ledger_holds(con) == [] and rows(con, "select count(*) from leads_held") == [(0,)]


# ----------------------------------------------------------------------------- any sequence of imports and undos

LEADS = ("L0", "L1", "L2")
STAGES = ("线索", "意向")


def text(spec: list[tuple[str, str, int]]) -> str:
    """A leads file of (lead, stage, version) rows: version 2 has another rep and stage date."""
    return HEADER + "".join(f"{lead},{stage},2024-01-0{2 + version + STAGES.index(stage)},2024-01-01,"
                            f"{'王芳' if version == 1 else '张伟'}\n" for lead, stage, version in spec)


def stored(con) -> Counter:
    return Counter(rows(con, "select lead_id, stage, stage_date, sales_rep from leads"))


steps = st.lists(st.one_of(
    st.tuples(st.just("import"), st.lists(st.tuples(st.sampled_from(LEADS), st.sampled_from(STAGES),
                                                    st.sampled_from([1, 2])), min_size=1, max_size=4)),
    st.tuples(st.just("undo"), st.integers(0, 20))), min_size=2, max_size=7)


@given(steps=steps)
@SETTINGS
def test_stored_leads_are_those_of_the_committed_imports(empty_database, steps):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        con = connect(new_database(empty_database, folder / "crm.duckdb"))
        committed: dict[int, list] = {}
        # the committed imports alone, in their order, into a database of their own; after an import
        # that is the previous step's replay and the new import (it has the highest id), so only an
        # undo needs a new replay
        replays = iter(range(len(steps) + 1))
        replay = connect(new_database(empty_database, folder / f"replay{next(replays)}.duckdb"))
        try:
            for n, (action, arg) in enumerate(steps):
                if action == "import":
                    path = write(folder / f"f{n}.csv", text(arg))
                    committed[import_file(con, path, commit=True).import_id] = arg
                    import_file(replay, path, commit=True)
                elif committed:
                    target = sorted(committed)[arg % len(committed)]
                    undo_import(con, target)
                    del committed[target]
                    replay.close()
                    replay = connect(new_database(empty_database, folder / f"replay{next(replays)}.duckdb"))
                    for i, key in enumerate(sorted(committed)):
                        import_file(replay, write(folder / f"r{n}_{i}.csv", text(committed[key])), commit=True)
                assert stored(con) == stored(replay), (steps[: n + 1], sorted(committed))
                assert ledger_holds(con) == []
        finally:
            replay.close()
            con.close()


# ----------------------------------------------------------------------------- whole or not at all

class Boom(Exception):
    """A step of the commit or undo failed."""


def _fail_in_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    real = marts.rebuild

    def rebuild(cur: duckdb.DuckDBPyConnection, changed: object = None) -> None:
        real(cur, changed)
        raise Boom("disk full while rebuilding summaries")

    monkeypatch.setattr(marts, "rebuild", rebuild)


@pytest.mark.parametrize("step", ["import", "undo"])
def test_a_failure_while_replacing_or_putting_back_leads_changes_nothing(tmp_path, monkeypatch, step):
    con = connect(tmp_path / "crm.duckdb")
    try:
        import_file(con, write(tmp_path / "a.csv", HEADER + "L1,线索,2024-03-01,2024-03-01,王芳\n"
                               "L1,意向,2024-03-06,2024-03-01,王芳\n"), commit=True)
        import_file(con, write(tmp_path / "a2.csv", HEADER + "L1,意向,2024-03-06,2024-03-01,王芳\n"), commit=True)
        amended = write(tmp_path / "b.csv", HEADER + "L1,意向,2024-03-06,2024-03-01,张伟\n"
                        "L1,报价,2024-03-20,2024-03-01,张伟\nL2,,2024-03-21,2024-03-21,张伟\n")
        if step == "undo":
            import_file(con, amended, commit=True)
        before, version = snapshot(con), data_version(con)
        assert len(before["leads_held"]) == (2 if step == "undo" else 0)
        _fail_in_rebuild(monkeypatch)
        with pytest.raises(Boom):
            import_file(con, amended, commit=True) if step == "import" else undo_import(con, 3)
        monkeypatch.undo()
        assert snapshot(con) == before and data_version(con) == version
        # and the database is usable: the same step now completes
        if step == "import":
            report = import_file(con, amended, commit=True)
            assert (report.rows_imported, report.rows_replaced, report.rows_rejected) == (2, 1, 1)
        else:
            assert undo_import(con, 3) == 2
        assert ledger_holds(con) == []
    finally:
        con.close()


# ----------------------------------------------------------------------------- a database of schema 6

def test_a_database_of_schema_6_keeps_its_leads_under_the_new_key_and_rule(tmp_path, monkeypatch,
                                                                         empty_database):
    """Rows, claims and held versions stored by schema 6 (a lead keyed by its id alone, the stored row kept):
    after the upgrade the stored rows are those the four imports give under the new key and rule (a held lead
    at another stage comes in; a later held version replaces older bringers), the ledger holds, re-importing
    adds nothing and undo works on them."""
    older = tmp_path / "migrations"
    older.mkdir()
    for version, path in migrations.migrations():
        if version <= 6:
            (older / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", older)
    path = tmp_path / "crm.duckdb"
    con = connect(path)
    assert schema_version(con) == 6
    files = {1: [("L1", "线索", "A"), ("L2", "线索", "A"), ("L3", "线索", "A")],
             2: [("L1", "意向", "A"), ("L2", "线索", "A"), ("L3", "线索", "B")],
             3: [("L2", "线索", "B"), ("L3", "线索", "A")],
             4: [("L1", "线索", "A")]}
    cur = con.cursor()
    for import_id in files:  # as schema 6 stored them: #1's rows; the others' conflicts held, equal rows claimed
        cur.execute("insert into imports (import_id, kind, file_name, content_hash, imported_by, imported_at, "
                    "rows_imported, status) values (nextval('import_id_seq'), 'leads', 'old.csv', ?, 'test', "
                    "now(), ?, 'committed')", [f"h{import_id}", 3 if import_id == 1 else 0])
    insert = ("(row_key, import_id, line, lead_id, created_date, stage, sales_rep) "
              "values (null, ?, ?, ?, '2024-01-01', ?, ?)")
    for line, (lead, stage, rep) in enumerate(files[1], start=2):
        cur.execute(f"insert into leads {insert}", [1, line, lead, stage, rep])
    for import_id in (2, 3, 4):
        for line, (lead, stage, rep) in enumerate(files[import_id], start=2):
            if (lead, stage, rep) in files[1]:
                cur.execute("insert into import_claims values (?, 'leads', md5_number(concat_ws(chr(31), 'key', ?)))",
                            [import_id, lead])
            else:
                cur.execute(f"insert into leads_held {insert}", [import_id, line, lead, stage, rep])
    con.close()
    monkeypatch.undo()

    replays = iter(range(10))

    def replay(committed: list[int]) -> Counter:
        fresh = connect(new_database(empty_database, tmp_path / "replays" / f"{next(replays)}.duckdb"))
        try:
            for i in committed:
                body = "".join(f"{lead},{stage},,2024-01-01,{rep}\n" for lead, stage, rep in files[i])
                import_file(fresh, write(tmp_path / f"r{i}.csv", HEADER + body), commit=True)
            return Counter(rows(fresh, "select lead_id, stage, sales_rep from leads"))
        finally:
            fresh.close()

    con = connect(path)
    try:
        assert schema_version(con) == migrations.SCHEMA_VERSION >= 8
        assert rows(con, "select lead_id, stage, sales_rep, import_id from leads order by all") == [
            ("L1", "意向", "A", 2), ("L1", "线索", "A", 1), ("L2", "线索", "B", 3), ("L3", "线索", "A", 3)]
        assert Counter(rows(con, "select lead_id, stage, sales_rep from leads")) == replay([1, 2, 3, 4])
        assert rows(con, "select lead_id, sales_rep, import_id from leads_held order by all") == [
            ("L2", "A", 1), ("L2", "A", 2), ("L3", "A", 1), ("L3", "B", 2)]
        assert rows(con, "select import_id from import_claims where kind = 'leads'") == [(4,)]
        assert ledger_holds(con) == []
        again = write(tmp_path / "again.csv", HEADER + "L1,线索,,2024-01-01,A\n")
        assert import_file(con, again, commit=True).status == "nothing new"
        for undone, committed in ((3, [1, 2, 4, 5]), (1, [2, 4, 5]), (5, [2, 4])):
            undo_import(con, undone)
            assert Counter(rows(con, "select lead_id, stage, sales_rep from leads")) == replay(
                [i for i in committed if i in files]), undone
            assert ledger_holds(con) == []
    finally:
        con.close()
