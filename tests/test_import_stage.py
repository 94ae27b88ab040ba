"""Where an import's staged rows live (analytics.ingest.stage) and what staging leaves to later.

A large file is staged in a database file beside the database, a small one in memory: the
import is the same either way, and no stage file outlives its import (nor a dead process).
Optional text (region, product, ...) is trimmed per distinct value after staging
(layout.trimmed_later): stored exactly as when staging trimmed it, without a note.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from import_util import rows, write

from analytics.errors import EncodingNotDetected
from analytics.ingest import pipeline, stage
from analytics.ingest.pipeline import commit_import, import_file, prepare
from analytics.store.connection import connect

HEADER = "订单编号,客户编号,订单日期,实付金额,数量,地区,渠道,商品名称,销售代表\n"


def _sales(n: int = 3000) -> str:
    """Order lines with what staging handles: padded and look-alike dimension text, a bad amount,
    a total row, a blank line, identical lines of an order."""
    lines = []
    for i in range(n):
        region = ["华东 ", "\u3000华北", "华南\u00a0", "  西南  ", "华东"][i % 5]
        product = ["茶叶 ", "咖啡", "\t绿茶", "茶叶"][i % 4]
        amount = "12x.5" if i == 17 else f"{100 + i % 37}.{i % 100:02d}"
        lines.append(f"D{i // 3:05d},C{i % 211:04d},2024-{i % 12 + 1:02d}-{i % 28 + 1:02d},{amount},{i % 4 + 1},"
                     f"{region},线上 ,{product},张三\n")
    lines.insert(40, lines[39])  # a repeated identical line of one order: a second line
    lines.insert(100, "\n")
    lines.append(",,,合计,,,,,\n")
    return HEADER + "".join(lines)


def _outcome(con, report) -> tuple:
    """What an import did and stored, without its ids and times."""
    stored = rows(con, "select line, transaction_id, customer_id, order_date, amount, quantity, region, channel, "
                       "product, sales_rep, is_return, is_order_start from transactions order by line")
    rejects = rows(con, "select line, column_name, value, reason from import_rejects order by line, column_name")
    counts = (report.rows_read, report.rows_valid, report.rows_rejected, report.rows_excluded,
              report.rows_duplicate, report.rows_imported)
    return counts, sorted(report.notes), stored, rejects


def _stage_files(folder) -> list:
    return sorted(p.name for p in folder.glob("stage_*")) if folder.exists() else []


def _attached(con) -> list:
    return rows(con, "select database_name from duckdb_databases() where database_name like 'stage_%'")


def test_a_large_file_is_staged_on_disk_and_imports_as_from_memory(tmp_path, monkeypatch):
    path = write(tmp_path / "sales.csv", _sales())
    small = connect(tmp_path / "memory" / "crm.duckdb")
    assert stage.on_disk(small.cursor(), path) is None  # 200 KB against a 1 GB limit: memory
    expected = _outcome(small, import_file(small, path, commit=True))
    small.close()

    monkeypatch.setattr(stage, "ON_DISK_SHARE", 0.0)  # every file is large
    con = connect(tmp_path / "disk" / "crm.duckdb")
    folder = tmp_path / "disk" / stage.STAGE_FOLDER
    prepared = prepare(con, path)
    files = [f for f in _stage_files(folder) if f.endswith(".duckdb")]  # (and its write-ahead log)
    assert len(files) == 1 and files[0].startswith(f"stage_{os.getpid()}_")
    assert rows(con, "select path from duckdb_databases() where database_name = ?", prepared.stage_db) == [
        (str(folder / files[0]),)]
    report = commit_import(prepared, imported_by="test")
    prepared.close()
    assert _stage_files(folder) == [] and _attached(con) == []
    assert _outcome(con, report) == expected
    assert expected[0][5] == 3000 and expected[0][2] == 1  # every line but the bad amount (and the total)
    con.close()


def test_no_stage_file_outlives_a_preview_or_a_refused_file(tmp_path, monkeypatch):
    monkeypatch.setattr(stage, "ON_DISK_SHARE", 0.0)
    con = connect(tmp_path / "crm.duckdb")
    folder = tmp_path / stage.STAGE_FOLDER
    path = write(tmp_path / "sales.csv", _sales(300))
    assert import_file(con, path).rows_to_import == 300  # a preview only
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"customer_id,amount\n\xff\xfe\x00garbage\x81\n")
    with pytest.raises(EncodingNotDetected):
        import_file(con, bad, kind="transactions")
    assert _stage_files(folder) == [] and _attached(con) == []
    assert rows(con, "select count(*) from transactions") == [(0,)]
    con.close()


def test_stage_files_left_by_a_dead_process_are_removed_and_others_kept(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead = int(done.stdout)
    folder = tmp_path / stage.STAGE_FOLDER
    folder.mkdir()
    names = [f"stage_{dead}_0a1b2c3d4e5f.duckdb", f"stage_{dead}_0a1b2c3d4e5f.duckdb.wal",
             f"stage_{os.getpid()}_abcdef012345.duckdb", "stage_notes.txt", "crm.duckdb"]
    for name in names:
        (folder / name).write_bytes(b"x")
    removed = stage.remove_stale(folder)
    assert sorted(p.name for p in removed) == sorted(names[:2])
    assert sorted(p.name for p in folder.iterdir()) == sorted(names[2:])


def test_the_memory_limit_is_read_in_bytes(tmp_path):
    con = connect(tmp_path / "crm.duckdb", memory_limit="512MB")
    assert stage.memory_limit_bytes(con.cursor()) == pytest.approx(512e6, rel=0.001)
    con.close()


def test_an_in_memory_database_stages_in_memory(monkeypatch, tmp_path):
    monkeypatch.setattr(stage, "ON_DISK_SHARE", 0.0)
    con = connect(":memory:")
    path = write(tmp_path / "sales.csv", _sales(50))
    prepared = prepare(con, path)
    assert rows(con, "select path from duckdb_databases() where database_name = ?", prepared.stage_db) == [(None,)]
    prepared.close()
    con.close()


def test_without_a_stage_database_the_rows_stage_in_a_temporary_table(con_memory_twin, tmp_path, monkeypatch):
    path = write(tmp_path / "sales.csv", _sales(200))
    expected = con_memory_twin(path)
    monkeypatch.setattr(pipeline, "attach_stage", lambda cur, source=None: None)  # as on a read-only connection
    con = connect(tmp_path / "temp" / "crm.duckdb")
    assert _outcome(con, import_file(con, path, commit=True)) == expected
    con.close()


@pytest.fixture
def con_memory_twin(tmp_path):
    """The outcome of importing a file with the usual stage, in a database of its own."""
    def run(path):
        twin = connect(tmp_path / "twin" / "crm.duckdb")
        try:
            return _outcome(twin, import_file(twin, path, commit=True))
        finally:
            twin.close()
    return run


def test_optional_text_is_trimmed_after_staging_and_only_look_alikes_are_noted(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    path = write(tmp_path / "sales.csv", HEADER + "".join([
        "A1,C1,2024-01-05,10,1,华东 ,线上,茶叶 ,张三\n",
        "A2,C2,2024-01-05,10,1,\t华东,线上,  茶叶,张三\n",
        "A3,C3,2024-01-05,10,1,华东\u00a0,线上,茶叶,张三\n",   # a no-break space: a look-alike
        "A4,C4,2024-01-05,10,1,   ,线上,\u3000,张三 \n",       # only spaces: no region, no product
    ]))
    report = import_file(con, path, commit=True)
    assert rows(con, "select transaction_id, region, product, sales_rep from transactions order by 1") == [
        ("A1", "华东", "茶叶", "张三"), ("A2", "华东", "茶叶", "张三"), ("A3", "华东", "茶叶", "张三"),
        ("A4", None, None, "张三")]
    looked = [n for n in report.notes if "look-alike" in n]
    assert len(looked) == 1 and "1 values" in looked[0] and "\\u00a0" in looked[0]
    con.close()


def test_required_text_is_still_trimmed_while_staging(tmp_path):
    """A lead's stage is required: a stage of only spaces is an empty stage, rejected as one."""
    con = connect(tmp_path / "crm.duckdb")
    path = write(tmp_path / "leads.csv", "lead_id,created_date,stage\nL1,2024-01-05, 赢单 \nL2,2024-01-06,   \n")
    report = import_file(con, path, kind="leads")
    assert report.rows_valid == 1 and [r["line"] for r in report.rejects] == [3]
    con.close()


def test_the_app_s_confined_connection_stages_on_disk_beside_its_database(tmp_path, monkeypatch):
    """The app's connection may touch only its folders; the stage folder is beside the database."""
    monkeypatch.setattr(stage, "ON_DISK_SHARE", 0.0)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = write(inbox / "sales.csv", _sales(100))
    con = connect(tmp_path / "db" / "crm.duckdb", confine_to=[inbox])
    prepared = prepare(con, path)
    assert rows(con, "select path from duckdb_databases() where database_name = ?", prepared.stage_db)[0][0].startswith(
        str(tmp_path / "db" / stage.STAGE_FOLDER))
    assert commit_import(prepared, imported_by="test").rows_imported == 100
    prepared.close()
    assert _stage_files(tmp_path / "db" / stage.STAGE_FOLDER) == []
    con.close()
