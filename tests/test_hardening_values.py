"""Issue 10, values: staging and validation of hostile but realistic files (findings 6, 8, 9, 11, 17
and part of 20). Each file is built during the test by tests/hostile/values.py, whose FILES the
browser tour uploads too."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hostile import values as hostile
from import_util import READERS, con_fixture, rows, write  # noqa: F401 (the con fixture)

from analytics.cli import main
from analytics.errors import ConfirmationRequired
from analytics.ingest.pipeline import import_file
from analytics.store import settings


def _file(tmp_path, finding: int, index: int = 0):
    name, content = [(n, c) for f, n, c in hostile.FILES if f == finding][index]
    path = tmp_path / name
    path.write_bytes(content)
    return path


# ----------------------------------------------------------------------------- 6: score scales

@pytest.mark.parametrize("stray", ["55", "0"])
def test_one_stray_score_is_a_reject_not_a_reason_to_read_the_file_as_nps(con, tmp_path, stray):
    scores = [1 + i % 5 for i in range(99)]
    text = "客户编号,反馈日期,评分\n" + "".join(f"C{i},2024-01-05,{s}\n" for i, s in enumerate(scores))
    path = write(tmp_path / "f.csv", text + f"C99,2024-01-06,{stray}\n")
    report = import_file(con, path, commit=True)
    assert report.needs_confirmation == []
    assert [(r["line"], r["reason"]) for r in report.rejects] == [
        (101, f"score {float(stray)} is outside the CSAT scale 1-5")]
    assert "column 评分: scores 1–5 in 99 of 100 rows; 1 outside: rejected; read as CSAT 1–5" in report.notes
    assert report.rows_imported == 99
    assert rows(con, "select distinct scale from feedback") == [("csat",)]


def test_a_clean_file_keeps_its_evident_scale(con, tmp_path):
    csat = write(tmp_path / "c.csv", "customer_id,date,score\nC1,2024-01-05,4\nC2,2024-01-05,5\n")
    assert "column score: scores 1–5 in 2 of 2 rows; read as CSAT 1–5" in import_file(con, csat).notes
    nps = write(tmp_path / "n.csv", "customer_id,date,score\n" + "".join(
        f"C{i},2024-01-05,{s}\n" for i, s in enumerate([9, 10, 7, 0, 8, 3, 10, 9, 6, 10])))
    report = import_file(con, nps)
    assert report.needs_confirmation == [] and report.rows_rejected == 0
    assert "column score: scores 0–10 in 10 of 10 rows; read as NPS 0–10" in report.notes


def test_mixed_scores_need_the_analysts_choice_of_scale(con, tmp_path, capsys):
    path = _file(tmp_path, 6, 1)
    report = import_file(con, path)
    assert report.needs_confirmation == [
        "column 评分: the scores fit no one scale (1–5 in 16 of 20 rows, 0–10 in 20 of 20); "
        "proposed CSAT 1–5, confirm or choose the scale (scores outside it are rejected)"]
    with pytest.raises(ConfirmationRequired, match="the score scale: csat or nps"):
        import_file(con, path, commit=True)
    assert rows(con, "select count(*) from feedback") == [(0,)]
    chosen = import_file(con, path, scale="nps", commit=True)
    assert chosen.rows_imported == 20 and chosen.needs_confirmation == []
    assert "column 评分: scores 0–10 in 20 of 20 rows; read as NPS 0–10, as chosen" in chosen.notes
    assert rows(con, "select distinct scale from feedback") == [("nps",)]
    # the command line: asks for the decision, then takes it
    db = str(tmp_path / "cli.duckdb")
    assert main(["--db", db, "import", str(path), "--commit"]) == 1
    assert "the score scale: csat or nps" in capsys.readouterr().err
    assert main(["--db", db, "import", str(path), "--scale", "csat", "--commit", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["rows_imported"], out["rows_rejected"]) == (16, 4)


# ----------------------------------------------------------------------------- 8: time zones

def _tz_parquet(tmp_path):
    path = tmp_path / "tz.parquet"
    path.write_bytes(hostile.tz_parquet())
    return path


@pytest.mark.parametrize("server_zone", ["UTC", "America/New_York", "Asia/Shanghai"])
def test_parquet_timestamps_with_a_zone_are_read_in_the_stated_zone(tmp_path, server_zone):
    from analytics.store.connection import connect

    con = connect(tmp_path / "crm.duckdb")
    try:
        con.execute(f"set global TimeZone = '{server_zone}'")
        report = import_file(con, _tz_parquet(tmp_path), commit=True)
        # 2024-01-31 17:30 UTC is 1 February in Shanghai (the default zone)
        assert rows(con, "select customer_id, order_date from transactions order by line") == [
            ("C1", date(2024, 2, 1)), ("C2", date(2024, 1, 31))]
        assert ("column 订单日期: times with a time zone are read as dates in Asia/Shanghai "
                "(the import time zone setting)") in report.notes
        # the other zone, the same file: nothing new
        con.execute("set global TimeZone = 'Pacific/Honolulu'")
        again = import_file(con, _tz_parquet(tmp_path), commit=True)
        assert (again.rows_imported, again.rows_already_present) == (0, 2)
    finally:
        con.close()


def test_the_import_time_zone_is_a_setting(con, tmp_path):
    settings.save(con, {"import_time_zone": "UTC"})
    report = import_file(con, _tz_parquet(tmp_path), commit=True)
    assert rows(con, "select order_date from transactions order by line") == [
        (date(2024, 1, 31),), (date(2024, 1, 31),)]
    assert any("in UTC (the import time zone setting)" in n for n in report.notes)
    with pytest.raises(ValueError, match="must be one of"):
        settings.check("import_time_zone", "Mars/Olympus")


# ----------------------------------------------------------------------------- 9: look-alike keys

@pytest.mark.parametrize("force_python", READERS)
def test_ids_and_regions_that_look_identical_are_one_key(con, tmp_path, force_python):
    path = _file(tmp_path, 9)
    report = import_file(con, path, commit=True, force_python=force_python)
    assert report.rows_imported == 7 and report.rows_rejected == 0
    assert rows(con, "select distinct customer_id from transactions order by 1") == [("00123",), ("AB123",)]
    assert rows(con, "select distinct region from transactions order by 1") == [("华东",)]
    # a product name keeps its full-width letters; only invisible spaces at its ends go
    assert rows(con, "select distinct product from transactions order by 1") == [("ＸＬ码 T恤",)]
    notes = [n for n in report.notes if n.startswith("column ")]
    assert ("column 客户编号: 5 values written with look-alike characters were normalised "
            "(e.g. '00123\\u00a0' → '00123')") in notes
    assert "column 大区: 3 values written with look-alike characters were normalised (e.g. '华东\\u00a0' → '华东')" \
        in notes
    assert any(n.startswith("column 商品: 1 values") for n in notes)
    # the customer is one customer, and a manager of 华东 sees every line
    assert rows(con, "select count(distinct customer_id) from transactions where region = '华东'") == [(2,)]


def test_a_customers_file_and_a_sales_file_meet_on_the_normalised_id(con, tmp_path):
    write(tmp_path / "c.csv", "客户编号,客户名称,大区\n00123,某某科技,华东\n")
    write(tmp_path / "t.csv", "客户编号,订单日期,实付金额\n\ufeff００１２３\u200b,2024-01-05,10\n")
    import_file(con, tmp_path / "c.csv", commit=True)
    import_file(con, tmp_path / "t.csv", commit=True)
    assert rows(con, "select t.customer_id, c.customer_name from transactions t join customers c using (customer_id)") \
        == [("00123", "某某科技")]


def test_a_coded_word_with_an_invisible_space_is_known(con, tmp_path):
    path = write(tmp_path / "f.csv",
                 "客户编号,反馈日期,评分,量表\nC1,2024-01-05,9,NPS\u00a0\nC2,2024-01-05,4,ＣＳＡＴ\n")
    report = import_file(con, path, commit=True)
    assert report.rows_rejected == 0
    assert rows(con, "select scale from feedback order by line") == [("nps",), ("csat",)]


# ----------------------------------------------------------------------------- 11: spaced totals

@pytest.mark.parametrize("force_python", READERS)
def test_spaced_and_prefixed_total_rows_are_excluded(con, tmp_path, force_python):
    path = _file(tmp_path, 11)
    report = import_file(con, path, commit=True, force_python=force_python)
    assert report.rows_rejected == 0, report.rejects
    assert report.rows_imported == 2
    assert [e["line"] for e in report.excluded if e["reason"] == "total row"] == list(range(4, 14))
    assert rows(con, "select customer_id from transactions order by line") == [("C1",), ("合计公司",)]


# ----------------------------------------------------------------------------- 17: two-digit years

@pytest.mark.parametrize("force_python", READERS)
def test_two_digit_years_are_read_with_a_stated_pivot(con, tmp_path, force_python):
    path = _file(tmp_path, 17)
    report = import_file(con, path, commit=True, force_python=force_python)
    assert report.date_readings["订单日期"]["reading"] == "dmy"
    assert ("column 订单日期: 4 dates have a two-digit year (e.g. 01/02/24); 00–68 are read as 2000–2068 "
            "and 69–99 as 1969–1999") in report.notes
    assert rows(con, "select order_date from transactions order by line") == [
        (date(2024, 2, 1),), (date(2024, 12, 25),), (date(1999, 3, 4),)]
    assert [(r["line"], r["value"], r["reason"]) for r in report.rejects] == [
        (5, "31/02/24", "not a date in the chosen day/month order")]


def test_a_misread_date_shows_the_text_and_the_reading(con, tmp_path):
    path = write(tmp_path / "t.csv", "客户编号,订单日期,实付金额\nC1,0024-01-05,10\nC2,1850/01/05,1\nC3,2024-01-05,3\n")
    report = import_file(con, path)
    assert [(r["line"], r["value"], r["reason"]) for r in report.rejects] == [
        (2, "0024-01-05", "date out of range (1900-2100)"),
        (3, "1850/01/05", "date out of range (1900-2100): read as 1850-01-05")]
    ambiguous = write(tmp_path / "a.csv", "客户编号,订单日期,实付金额\nC1,01/02/24,10\n")
    report = import_file(con, ambiguous)
    assert report.rejects == [] and report.needs_confirmation
    assert all("0001" not in str(v) for v in report.to_dict().values())


# ----------------------------------------------------------------------------- 20: header, precision, underscores

@pytest.mark.parametrize("force_python", READERS)
def test_a_repeated_header_line_is_excluded_not_a_customer(con, tmp_path, force_python):
    path = _file(tmp_path, 20)
    report = import_file(con, path, commit=True, force_python=force_python)
    assert report.rows_rejected == 0 and report.rows_imported == 3
    assert [e for e in report.excluded] == [{"line": 4, "reason": "repeated header"},
                                            {"line": 6, "reason": "repeated header"}]
    assert "2 lines repeat the header row (files joined together?); they are excluded" in report.notes
    assert rows(con, "select customer_id from customers order by line") == [("C1",), ("C2",), ("C3",)]


@pytest.mark.parametrize("force_python", READERS)
def test_amounts_finer_than_the_store_and_underscored_numbers_are_rejected(con, tmp_path, force_python):
    path = _file(tmp_path, 20, 1)
    report = import_file(con, path, commit=True, force_python=force_python)
    assert [(r["line"], r["value"], r["reason"]) for r in report.rejects] == [
        (3, "0.00001", "amount has more decimal places than the 4 the store keeps"),
        (4, "1_000", "not an amount"),
        (5, "12.34567", "amount has more decimal places than the 4 the store keeps"),
        (6, "1_0", "not a number")]
    assert rows(con, "select customer_id, amount, quantity from transactions order by line") == [
        ("C1", Decimal("10.5"), 1.0), ("C6", Decimal("19.99"), 0.00001)]


# ----------------------------------------------------------------------------- the Data page

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_data_page_asks_for_the_scale_and_sets_the_import_zone(lang, tmp_path, monkeypatch, fresh_streamlit_caches):
    from app_data_util import button, confirm, open_data_page, open_tab, run, upload
    from app_data_util import rows as app_rows

    from analytics.ingest import intake
    from ui.i18n import md_literal, t

    monkeypatch.setenv("CRM_DB", str(tmp_path / "crm.duckdb"))
    monkeypatch.setattr(intake, "INBOX_DIR", tmp_path / "inbox")
    at = open_data_page(lang)
    upload(at, ("mixed.csv", hostile.mixed_scores()))
    assert button(at, t("data_confirm", lang, n="16")).disabled  # the proposed reading: 4 scores outside
    assert [w.value for w in at.warning] == [md_literal(t("data_confirm_scale", lang, header="评分", fit_csat="16",
                                                          n="20", fit_nps="20", label="CSAT 1–5"))]
    choice = next(r for r in at.radio if r.label == t("data_scale_label", lang))
    choice.set_value("nps")
    run(at)
    assert not at.warning
    confirm(at, lang, 20)
    assert app_rows("select distinct scale from feedback") == [("nps",)]
    # the import time zone is a setting of the Settings tab
    open_tab(at, lang, "settings")
    at.selectbox(key="data_set_import_zone").set_value("UTC")
    button(at, t("data_settings_save", lang)).click()
    run(at)
    assert app_rows("select value from settings where key = 'import_time_zone'") == [('"UTC"',)]


@pytest.mark.parametrize(("finding", "name", "content"), hostile.FILES, ids=[f"{f}-{n}" for f, n, _ in hostile.FILES])
def test_each_hostile_file_gets_a_preview_on_the_data_page(finding, name, content, tmp_path, monkeypatch,
                                                           fresh_streamlit_caches):
    from app_data_util import open_data_page, upload

    from analytics.ingest import intake

    monkeypatch.setenv("CRM_DB", str(tmp_path / "crm.duckdb"))
    monkeypatch.setattr(intake, "INBOX_DIR", tmp_path / "inbox")
    at = upload(open_data_page("zh"), (name, content))
    assert not at.error, [e.value for e in at.error]
    assert at.metric, "a preview with its counts"
    # every note and decision reads in Chinese: none is left in the pipeline's English
    said = [m.value for m in (*at.info, *at.warning)]
    assert said and not [s for s in said if "column " in s or " rows" in s], said
