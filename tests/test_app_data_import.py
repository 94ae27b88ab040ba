"""The Data page's import (pages/data.py, ui/importing/, analytics/ingest/intake.py), driven
through AppTest: a file uploaded, previewed with its rejected rows, imported on confirm;
the same file again; several files at once; the upload limit; a language switch; the
inbox of large files; and the pieces under the page (the private copy of an upload, the
pipeline's sentences localized, no raw message key).

Each test runs the whole app on a database of its own (``CRM_DB`` in a temporary folder),
opens the Data page in 中文 or English, and checks what the page shows against what the
database holds afterwards, read through the app's own connection (``tests/app_data_util.py``).
"""

from __future__ import annotations

from datetime import date

import pytest
from app_data_util import (
    GOOD,
    confirm,
    counts,
    fresh_app_fixture,  # noqa: F401 (the autouse fresh_app fixture)
    open_data_page,
    rows,
    run,
    selectbox,
    upload,
)

from analytics.ingest import intake
from analytics.ingest.pipeline import import_file
from analytics.paths import work_dir
from ui import importing, loaders
from ui.dates import fmt_date
from ui.i18n import LANGUAGES, md_literal, t

# lines 3 and 5 are bad: an amount that is no amount, an empty customer id
WITH_REJECTS = (b"order_id,customer_id,order_date,amount\n"
                b"T1,C1,2024-01-05,10\n"
                b"T2,C2,2024-01-06,12,5\n"
                b"T3,C3,2024-01-07,30\n"
                b"T4,,2024-01-08,40\n"
                b"T5,C5,2024-01-09,abc\n")


# ----------------------------------------------------------------------------- upload, preview, confirm


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_good_file_is_previewed_then_imported_on_confirm(lang):
    at = open_data_page(lang)
    upload(at, ("orders.csv", GOOD))
    assert counts(at, lang, "rows_read", "rows_valid", "rows_rejected", "rows_already_present", "rows_to_import") \
        == ["3", "3", "0", "0", "3"]
    assert selectbox(at, t("data_kind_label", lang)).value == "transactions"
    assert rows("select count(*) from transactions") == [(0,)], "a preview writes nothing"

    confirm(at, lang, 3)
    assert [s.value for s in at.success] == [t("data_result_imported", lang, id="1", n="3",
                                               kind=t("data_kind_transactions", lang), present="0")]
    assert rows("select transaction_id, customer_id, order_date, amount, region from transactions order by line") == [
        ("T1", "C1", date(2024, 1, 5), 100.5, "East"), ("T2", "C2", date(2024, 1, 6), 200, "North"),
        ("T3", "C1", date(2024, 2, 1), 50, "East")]
    assert rows("select file_name, imported_by, rows_imported, status from imports") == [
        ("orders.csv", "local", 3, "committed")]
    # the demo offer is gone once there are transactions
    assert t("load_demo", lang) not in [b.label for b in at.button]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rejected_rows_are_listed_with_their_line_numbers(lang):
    at = open_data_page(lang)
    upload(at, ("rejects.csv", WITH_REJECTS))
    assert counts(at, lang, "rows_read", "rows_valid", "rows_rejected", "rows_to_import") == ["5", "2", "3", "2"]
    table = at.dataframe[0].value
    assert list(table.columns) == [t(f"data_table_{c}", lang) for c in ("line", "column", "value", "reason")]
    assert table.values.tolist() == [
        [3, t("data_whole_line", lang), "T2,C2,2024-01-06,12,5", t("data_reason_cells", lang, expected="4", found="5")],
        [5, "customer_id", "", t("data_reason_empty", lang, column=t("data_col_customer_id", lang))],
        [6, "amount", "abc", t("data_reason_not_amount", lang)],
    ]
    labels = [b.label for b in at.get("download_button")]
    assert labels == [t("download_csv", lang), t("download_excel", lang)]
    confirm(at, lang, 2)
    assert rows("select line, customer_id from transactions order by line") == [(2, "C1"), (4, "C3")]
    assert rows("select line from import_rejects order by line") == [(3,), (5,), (6,)]


def test_rejects_read_in_chinese():
    at = open_data_page("zh")
    upload(at, ("rejects.csv", WITH_REJECTS))
    assert at.dataframe[0].value["原因"].tolist() == ["应有 4 个单元格，实际 5 个", "客户编号为空", "不是有效金额"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_uploading_the_same_file_again_adds_nothing_and_says_so(lang):
    at = open_data_page(lang)
    upload(at, ("orders.csv", GOOD))
    confirm(at, lang, 3)
    upload(at, ("orders.csv", GOOD))  # a new upload of the same bytes
    assert counts(at, lang, "rows_valid", "rows_already_present", "rows_to_import") == ["3", "3", "0"]
    assert t("data_note_imported_before", lang, ids="#1") in at.info[0].value.replace("\\", "")
    confirm(at, lang, 0)
    assert t("data_result_nothing_new", lang, id="2", present="3") in [i.value for i in at.info]
    assert rows("select count(*) from transactions") == [(3,)]
    assert rows("select import_id, rows_imported from imports order by import_id") == [(1, 3), (2, 0)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_file_over_the_upload_limit_is_refused_with_where_to_put_it(lang, monkeypatch):
    """The browser refuses such files first; the server checks again and never reads one."""
    monkeypatch.setattr(importing.sources, "upload_limit_mib", lambda: 1)
    at = open_data_page(lang)
    big = GOOD + b"".join(b"T%07d,C1,2024-01-05,1\n" % i for i in range(60_000))  # ~1.3 MiB
    upload(at, ("big.csv", big), ("orders.csv", GOOD))
    size = f"{len(big) / 1024 / 1024:,.1f}"  # MiB, as the limit
    assert [e.value for e in at.error] == [t("data_upload_too_large", lang, file="big\\.csv", size=size, limit="1",
                                             folder=md_literal(str(intake.INBOX_DIR)))]
    assert counts(at, lang, "rows_valid") == ["3"], "the other file is read as usual"
    assert not list(work_dir().glob("crm-upload-*/big*")), "nothing of it was saved"


def test_several_files_at_once_each_with_its_own_preview_and_confirm():
    customers = b"customer_id,customer_name,region\nC1,Ann,East\nC2,Bo,North\n"
    at = open_data_page("en")
    upload(at, ("orders.csv", GOOD), ("customers.csv", customers))
    assert [s.value for s in at.selectbox if s.label == "Kind of data"] == ["transactions", "customers"]
    confirm(at, "en", 2)  # the customers file: its button is the only one for 2 rows
    assert rows("select count(*) from customers") == [(2,)]
    assert rows("select count(*) from transactions") == [(0,)]
    confirm(at, "en", 3)
    assert rows("select count(*) from transactions") == [(3,)]
    assert rows("select file_name from imports order by import_id") == [("customers.csv",), ("orders.csv",)]


def test_switching_language_draws_a_files_widgets_anew():
    # a selectbox sends back the label it showed: kept keys would hand the old language's label
    # to the new language's options
    at = open_data_page("zh")
    upload(at, ("orders.csv", GOOD))
    before = selectbox(at, "数据类型").key
    at.session_state["lang"] = "en"
    run(at)
    after = selectbox(at, "Kind of data")
    assert after.key != before and after.value == "transactions"
    assert counts(at, "en", "rows_to_import") == ["3"]
    confirm(at, "en", 3)
    assert rows("select count(*) from transactions") == [(3,)]


# ----------------------------------------------------------------------------- inbox


def test_inbox_lists_only_its_own_plain_files_and_imports_one(tmp_path):
    inbox = intake.INBOX_DIR
    inbox.mkdir()
    (inbox / "big.csv").write_bytes(GOOD)
    (inbox / "notes.docx").write_bytes(b"x")
    (inbox / ".hidden.csv").write_bytes(GOOD)
    (inbox / "~$lock.xlsx").write_bytes(b"x")
    (inbox / "sub").mkdir()
    (inbox / "sub" / "deep.csv").write_bytes(GOOD)
    outside = tmp_path / "secret.csv"
    outside.write_bytes(GOOD)
    (inbox / "escape.csv").symlink_to(outside)
    (inbox / "inside.csv").symlink_to(inbox / "big.csv")
    (inbox / "dangling.csv").symlink_to(tmp_path / "missing.csv")
    assert sorted(f.name for f in intake.list_inbox(inbox)) == ["big.csv", "inside.csv"]
    assert intake.list_inbox(tmp_path / "nowhere") == []

    at = open_data_page("en")
    choice = selectbox(at, "File in the inbox")
    assert choice.options == [t("data_inbox_file", "en", name=f.name, mb="<0.1", modified=fmt_date(f.modified, "en"))
                              for f in intake.list_inbox(inbox)]
    choice.set_value("big.csv")
    run(at)
    assert counts(at, "en", "rows_to_import") == ["3"]
    confirm(at, "en", 3)
    assert rows("select file_name, rows_imported from imports") == [("big.csv", 3)]
    assert (inbox / "big.csv").exists(), "an inbox file is read where it is"


def test_an_empty_inbox_says_where_to_put_files():
    at = open_data_page("zh")
    assert t("data_inbox_empty", "zh") in [i.value for i in at.info]
    assert any(str(intake.INBOX_DIR) in c.value for c in at.caption)


# ----------------------------------------------------------------------------- pieces


def test_an_upload_is_saved_under_its_base_name_in_a_private_folder():
    class Upload:
        file_id = "f1"
        name = "..\\..\\evil/../../etc/订单 2024$(rm).CSV"

        def getvalue(self) -> bytes:
            return GOOD

    entry = importing.Staged.from_upload(Upload())
    try:
        assert entry.path.name == "订单_2024_rm.csv"
        assert entry.path.parent == entry.folder and entry.folder.name.startswith("crm-upload-")
        assert oct(entry.folder.stat().st_mode & 0o777) == "0o700"
        assert entry.path.read_bytes() == GOOD
    finally:
        entry.close()
    assert not entry.folder.exists(), "closing an entry removes its private copy"


def test_pipeline_sentences_are_localized(tmp_path):
    con = loaders.connection()
    path = tmp_path / "notes.csv"
    path.write_text("order_id,customer_id,order_date,amount\nT1,C1,2024-01-05,-10\nT1,C1,2024-01-05,-10\n"
                    "T2,C2,2024-01-06,0\nT3,C3,2024-01-07,5\nT3,C3,2024-01-07,6\n", encoding="utf-8")
    report = import_file(con, path)
    assert report.notes, "the pipeline wrote notes"
    for lang in LANGUAGES:
        localized = [importing.localize(n, lang) for n in report.notes]
        assert all(n != m for n, m in zip(report.notes, localized, strict=True)), localized
    assert importing.localize("something new from the pipeline", "zh") == "something new from the pipeline"
    assert importing.localize("order_date is empty", "zh") == "订单日期为空"
    assert importing.localize("import #3, line 7", "zh") == "第 3 次导入的第 7 行"


def test_no_page_text_is_a_raw_key():
    at = open_data_page("zh")
    upload(at, ("rejects.csv", WITH_REJECTS))
    texts = ([m.value for m in at.markdown] + [c.value for c in at.caption] + [m.label for m in at.metric]
             + [s.label for s in at.selectbox] + [b.label for b in at.button])
    assert not [x for x in texts if x.startswith("data_")], texts
