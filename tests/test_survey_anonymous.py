"""Anonymous survey responses: a survey row without a customer id imports with no customer and counts where it
honestly can.

The rule: an anonymous response has no home region, segment or tier, so it is seen only by a user who sees every
region (``allowed_regions`` None: an executive, analyst or admin; a sales manager never), and only when no region,
segment or tier filter is set. Then it counts in CSAT, NPS and the mean over the period, per month and in the
trend, and in the overview's tiles; never in a group, the gap, the quadrants or the retention curve (customers').

The import's expectations come from the raw fixtures (``tests/fixtures/surveys/``) read with pandas or openpyxl;
the figures' from pandas on the seeded world of ``tests/satisfaction_fixture.py`` with anonymous responses added
(``tests/test_satisfaction.py``'s ``expected``: CSAT, NPS and the mean with their intervals; a response of a
customer outside ``who`` is left out there, and so is every anonymous one).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import openpyxl
import pandas as pd
import pytest
import satisfaction_fixture as sf
from app_util import open_app, page_text
from import_util import READERS, database_of, rows, write
from test_app_satisfaction import assert_tiles
from test_churn_view import attributes
from test_satisfaction import COMPARISON, expected, reference_surveyed
from test_survey_import import CODES, QUESTIONS, SURVEYS, _two_questions
from test_tiers import expected_tiers

from analytics.cli import main
from analytics.ingest.pipeline import import_file, undo_import
from analytics.metrics import satisfaction_gap as sg
from analytics.metrics.overview_satisfaction import satisfaction_kpis
from analytics.metrics.satisfaction import satisfaction
from analytics.scope import Scope
from analytics.store import migrations
from analytics.store.connection import connect
from analytics.tiering import TierSpec
from ui.formats import fmt_int
from ui.i18n import LANGUAGES, t
from ui.widgets import kpi_value

PERIOD = Scope(sf.PERIOD_START, sf.PERIOD_END)


@pytest.fixture(name="con")
def con_fixture(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    yield con
    con.close()


def _anonymous_stored(con) -> list[tuple]:
    return sorted(rows(con, "select feedback_id, feedback_date, scale, score, original_score, comment, line "
                            "from feedback where customer_id is null"))


# ----------------------------------------------------------------------------- the import


@pytest.mark.parametrize("force_python", READERS)
@pytest.mark.parametrize(("name", "encoding"), [("two_questions_utf8.csv", "utf-8-sig"),
                                               ("two_questions_gbk.csv", "gbk")])
def test_a_survey_row_without_a_customer_is_stored_with_none(con, name, encoding, force_python):
    frame = _two_questions(name, encoding)
    answered = ~frame[list(QUESTIONS)].isin(CODES).all(axis=1)
    anonymous = frame[(frame["客户编号"] == "") & answered]
    want = sorted((r.问卷编号, pd.Timestamp(r.提交答卷时间).date(), scale, float(getattr(r, q)), float(getattr(r, q)),
                   r.留言 or None, r.line) for r in anonymous.itertuples() for q, scale in QUESTIONS.items()
                  if getattr(r, q) not in CODES)
    report = import_file(con, SURVEYS / name, commit=True, force_python=force_python)
    assert _anonymous_stored(con) == want and want
    assert report.anonymous_responses == len(anonymous)
    assert f"1 survey response has no customer id: its {len(want)} answers are stored without a customer " \
           "(anonymous), counted in the CSAT and NPS totals of users who see every region when no region, " \
           "segment or tier filter is set, and in no group" in report.notes
    # no line is rejected for its missing customer, and the customers' answers are stored as before
    assert not [r for r in report.rejects if r["column"] == "客户编号"]
    assert rows(con, "select count(*) from feedback where customer_id is not null") == [
        ((~frame.loc[frame["客户编号"] != "", list(QUESTIONS)].isin(CODES)).to_numpy().sum(),)]
    # the same file again, or the same rows saved in the other encoding: nothing new, anonymous rows included
    twin = "two_questions_gbk.csv" if encoding != "gbk" else "two_questions_utf8.csv"
    for again in (name, twin):
        report = import_file(con, SURVEYS / again, commit=True)
        assert (report.status, report.rows_imported, report.anonymous_responses) == ("nothing new", 0, 0)
    assert _anonymous_stored(con) == want


def test_an_xlsx_row_without_a_member_id_is_converted_and_stored_with_none(con):
    sheet = [list(r) for r in openpyxl.load_workbook(SURVEYS / "survey_export.xlsx").active.iter_rows(values_only=True)]
    header, body = [str(h) for h in sheet[1]], sheet[2:]
    want = []
    for line, cells in enumerate(body, start=3):
        r = dict(zip(header, cells, strict=True))
        for column, scale, convert in (("满意度（1-7分）", "csat", lambda s: 1 + 4 * (s - 1) / 6),
                                       ("推荐可能性（0-100）", "nps", lambda s: s / 10)):
            s = r[column]  # missing: blank, 999, and 99 above the scale's top (1-7)
            if r["会员编号"] is None and s is not None and s != 999 and not (s == 99 and scale == "csat"):
                want.append((r["答卷编号"], r["填写时间"].date(), scale, convert(s), float(s), r["意见"], line))
    report = import_file(con, SURVEYS / "survey_export.xlsx", commit=True)
    got = _anonymous_stored(con)
    assert [g[:3] + g[4:] for g in got] == [w[:3] + w[4:] for w in sorted(want)] and want
    assert [g[3] for g in got] == pytest.approx([w[3] for w in sorted(want)])
    assert (report.rejects, report.anonymous_responses) == ([], 1)


def test_a_complaint_without_a_customer_is_still_rejected_with_its_line(con):
    frame = pd.read_csv(SURVEYS / "complaints.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    report = import_file(con, SURVEYS / "complaints.csv", commit=True)
    lines = [int(i) + 2 for i in frame.index[frame["客户编号"] == ""]]
    assert report.rejects == [{"line": n, "column": "客户编号", "value": None, "reason": "customer_id is empty"}
                              for n in lines] and lines
    assert report.anonymous_responses == 0
    assert rows(con, "select count(*), count(customer_id) from feedback") == [(len(frame) - len(lines),) * 2]


def test_without_ids_anonymous_answers_are_known_by_their_content(con, tmp_path):
    """No feedback id: a row is its content (and its occurrence among identical rows of the file), so two identical
    anonymous answers are two, importing the file again adds nothing, and undo takes them out. In a file with a kind
    column, a complaint without a customer is rejected beside an anonymous survey that is not."""
    path = write(tmp_path / "s.csv", "客户编号,日期,满意度,推荐意愿\n,2024-01-05,5,9\n,2024-01-05,5,9\n"
                                     ",2024-01-06,3,\nC1,2024-01-06,4,8\n")
    first = import_file(con, path, commit=True)
    assert (first.rows_imported, first.anonymous_responses, first.identical_rows) == (7, 3, 1)
    assert rows(con, "select scale, score, count(*) from feedback where customer_id is null group by all "
                     "order by all") == [("csat", 3.0, 1), ("csat", 5.0, 2), ("nps", 9.0, 2)]
    again = import_file(con, path, commit=True)
    assert (again.status, again.rows_already_present, again.anonymous_responses) == ("nothing new", 4, 0)
    assert undo_import(con, 1) == 0  # import #2 brought every row too: they pass to it
    assert rows(con, "select import_id, count(*) from feedback group by all") == [(2, 7)]
    assert undo_import(con, 2) == 7 and rows(con, "select count(*) from feedback") == [(0,)]
    mixed = write(tmp_path / "m.csv", "客户编号,日期,评分,量表,反馈类型,类别\n,2024-02-01,4,CSAT,问卷,\n"
                                      ",2024-02-02,,,投诉,物流\n")
    report = import_file(con, mixed, commit=True)
    assert report.rejects == [{"line": 3, "column": "客户编号", "value": None, "reason": "customer_id is empty"}]
    assert rows(con, "select customer_id, feedback_kind, score from feedback where import_id = ?", report.import_id) \
        == [(None, "survey", 4.0)]


def test_a_database_of_schema_6_takes_anonymous_responses_after_the_upgrade(tmp_path, monkeypatch):
    older = tmp_path / "migrations"
    older.mkdir()
    for version, path in migrations.migrations():
        if version <= 6:
            (older / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", older)
    con = connect(tmp_path / "crm.duckdb")
    nullable = "select table_name, is_nullable from information_schema.columns where column_name = 'customer_id' " \
               "and table_name in ('feedback', 'feedback_held') order by 1"
    assert rows(con, nullable) == [("feedback", "NO"), ("feedback_held", "YES")]
    con.close()
    monkeypatch.undo()
    con = connect(tmp_path / "crm.duckdb")
    try:
        assert rows(con, "select max(version) from schema_migrations") == [(migrations.SCHEMA_VERSION,)]
        assert rows(con, nullable) == [("feedback", "YES"), ("feedback_held", "YES")]
        assert import_file(con, SURVEYS / "two_questions_utf8.csv", commit=True).anonymous_responses == 1
    finally:
        con.close()


# ----------------------------------------------------------------------------- the figures


def anonymous_rows(seed: int = 9, n: int = 240) -> pd.DataFrame:
    """Survey scores without a customer over 2023-2024 (the comparison period and the period): CSAT 1-5 or NPS 0-10,
    every other one without a feedback id (identified by its content)."""
    rng = np.random.default_rng(seed)
    csat = rng.random(n) < 0.6
    return pd.DataFrame({
        "feedback_id": [f"A{k:04d}" if k % 2 else None for k in range(n)], "customer_id": None,
        "feedback_date": [date(2023, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 731, n)],
        "score": np.where(csat, rng.integers(1, 6, n), rng.integers(0, 11, n)), "feedback_kind": "survey",
        "scale": np.where(csat, "csat", "nps"), "resolved_date": None, "category": None})


@pytest.fixture(scope="module", name="world")
def world_fixture() -> tuple:
    sales, customers, feedback = sf.world()
    both = pd.concat([feedback, anonymous_rows()], ignore_index=True)
    return sales, customers, both, attributes(sales, customers)


@pytest.fixture(scope="module", name="db")
def db_fixture(world, tmp_path_factory):
    sales, customers, feedback, _ = world
    return database_of(tmp_path_factory.mktemp("anonymous"), {
        "customers": customers, "transactions": sales.rename(columns={"day": "order_date"}), "feedback": feedback})


@pytest.fixture(name="world_con")
def world_con_fixture(db):
    con = connect(db)
    yield con
    con.close()


def anonymous_of(feedback: pd.DataFrame, first: date, last: date) -> dict[str, int]:
    f = feedback[feedback["customer_id"].isna()]
    return {s: len(sf.surveys(f, s, first, last)) for s in ("csat", "nps")}


def test_the_marts_keep_anonymous_scores_per_month_and_customers_elsewhere(world_con, world):
    f = world[2][world[2]["customer_id"].isna()]
    month = f["feedback_date"].map(lambda d: d.replace(day=1))
    want = f.assign(month=month, csat=f["scale"] == "csat", nps=f["scale"] == "nps",
                    satisfied=(f["scale"] == "csat") & (f["score"] >= 4)).groupby("month")[
        ["csat", "satisfied", "nps"]].sum()
    got = rows(world_con, "select month, csat_n, satisfied, nps_n, last_csat_day from feedback_month "
                          "where customer_id is null order by month")
    assert got == [(m, r.csat, r.satisfied, r.nps, None) for m, r in want.iterrows()]
    assert rows(world_con, "select (select count(*) from survey_followups where customer_id is null), "
                           "(select count(*) from complaints where customer_id is null), "
                           "(select count(*) from survey_followups)") == [
        (0, 0, len(world[2][world[2]["customer_id"].notna() & (world[2]["scale"] == "csat")]))]


def test_a_user_who_sees_every_region_without_filters_counts_them(world_con, world):
    feedback = world[2]
    for scope in (PERIOD, replace(PERIOD, channels=("线上",))):  # (the channel filter does not apply to surveys)
        view = satisfaction(world_con, scope)
        for got, (first, last) in ((view.period, (sf.PERIOD_START, sf.END)), (view.comparison, COMPARISON)):
            want = expected(feedback, first, last)
            assert (got["csat"].n, got["nps"].n) == (want["csat_n"], want["nps_n"])
            for k in ("csat", "nps", "mean"):
                assert np.allclose([got[k].value, got[k].low, got[k].high], want[k], rtol=1e-6)
        assert view.anonymous == anonymous_of(feedback, sf.PERIOD_START, sf.END) and view.anonymous_responses > 0
        for row in view.monthly.itertuples():
            want = expected(feedback, row.month, sf.month_last(row.month))
            assert (row.csat_n, row.nps_n, row.csat) == (want["csat_n"], want["nps_n"], pytest.approx(want["csat"][0]))
        trend = view.trends["csat"].frame.set_index("month")["value"]
        assert trend.loc[view.monthly["month"]].tolist() == pytest.approx(view.monthly["csat"].tolist())


def _tier_customers(world, name: str) -> set[str]:
    ranked = expected_tiers(world[0], PERIOD, TierSpec())
    return set(ranked.loc[ranked["tier"] == TierSpec().names.index(name), "customer_id"])


@pytest.mark.parametrize("narrowed", ["restricted_user", "every_region_by_name", "region", "segment", "tier"])
def test_a_region_restricted_user_or_any_region_segment_or_tier_filter_leaves_them_out(world_con, world, narrowed):
    home = world[3]
    scope, who = {
        "restricted_user": (replace(PERIOD, allowed_regions=("华北",)), home.index[home["home_region"] == "华北"]),
        "every_region_by_name": (replace(PERIOD, allowed_regions=("华东", "华北", "华南")), home.index),
        "region": (replace(PERIOD, regions=("华北",)), home.index[home["home_region"] == "华北"]),
        "segment": (replace(PERIOD, segments=("企业",)), home.index[home["segment"] == "企业"]),
        "tier": (replace(PERIOD, tiers=("lead",)), _tier_customers(world, "lead")),
    }[narrowed]
    view = satisfaction(world_con, scope)
    for got, (first, last) in ((view.period, (sf.PERIOD_START, sf.END)), (view.comparison, COMPARISON)):
        want = expected(world[2], first, last, set(who))
        assert (got["csat"].n, got["nps"].n) == (want["csat_n"], want["nps_n"])
        assert np.allclose([got["csat"].value, got["nps"].value], [want["csat"][0], want["nps"][0]], rtol=1e-9)
    assert view.anonymous == {"csat": 0, "nps": 0}
    assert view.monthly["csat_n"].sum() == expected(world[2], sf.PERIOD_START, sf.END, set(who))["csat_n"]
    tiles = satisfaction_kpis(world_con, scope)
    assert (tiles["csat"].n, tiles["nps"].n) == (view.period["csat"].n, view.period["nps"].n)


def test_groups_gap_and_curve_are_about_customers_only(world_con, world):
    feedback = world[2]
    view = satisfaction(world_con, PERIOD)
    customers = expected(feedback[feedback["customer_id"].notna()], sf.PERIOD_START, sf.END)
    for grouping, table in view.by_group.items():
        assert (table["csat_n"].sum(), table["nps_n"].sum()) == (customers["csat_n"], customers["nps_n"]), grouping
        assert (table["csat_n"].sum() + view.anonymous["csat"], table["nps_n"].sum() + view.anonymous["nps"]) == (
            view.period["csat"].n, view.period["nps"].n)
    gap = sg.gap(world_con, PERIOD)
    assert gap.overall.iloc[0]["n"] == len(reference_surveyed(world, 3))
    assert gap.quadrants["customers"].sum() == len(reference_surveyed(world, 3))
    fits, first, last = sg.follow_ups(world_con, PERIOD)
    assert len(fits) == len(sf.surveys(feedback[feedback["customer_id"].notna()], "csat", first, last))


def test_the_overview_tiles_count_them_as_the_page_does(world_con, world):
    tiles = satisfaction_kpis(world_con, PERIOD)
    now, before = expected(world[2], sf.PERIOD_START, sf.END), expected(world[2], *COMPARISON)
    for name in ("csat", "nps"):
        assert (tiles[name].value, *tiles[name].ci) == pytest.approx(now[name], rel=1e-6)
        assert (tiles[name].n, tiles[name].previous_n) == (now[f"{name}_n"], before[f"{name}_n"])
        assert tiles[name].previous == pytest.approx(before[name][0], rel=1e-6)


def test_importing_the_world_feedback_file_again_adds_nothing(world_con, db):
    before = rows(world_con, "select count(*), count(customer_id) from feedback")
    report = import_file(world_con, db.parent / "feedback.csv", kind="feedback", commit=True)
    assert (report.status, report.rows_already_present, report.anonymous_responses) == (
        "nothing new", report.rows_valid, 0)
    assert rows(world_con, "select count(*), count(customer_id) from feedback") == before


def test_the_report_says_how_many_are_anonymous(db, world, capsys):
    args = ["--db", str(db), "report", "satisfaction", "--from", "2024-01", "--to", "2024-12"]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    anonymous = anonymous_of(world[2], sf.PERIOD_START, sf.END)
    assert data["anonymous_responses"] == anonymous
    assert data["figures"]["period"]["csat"]["n"] == expected(world[2], sf.PERIOD_START, sf.END)["csat_n"]
    assert main(args) == 0
    n = sum(anonymous.values())
    assert f"  {n:,} anonymous responses ({anonymous['csat']:,} CSAT, {anonymous['nps']:,} NPS) count in the " \
           "totals, not in any group" in capsys.readouterr().out.splitlines()
    assert main([*args, "--region", "华北", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["anonymous_responses"] == {"csat": 0, "nps": 0}


# ----------------------------------------------------------------------------- the pages


@pytest.mark.usefixtures("fresh_streamlit_caches")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_says_how_many_are_anonymous_and_counts_them_in_the_tiles(monkeypatch, db, world, lang):
    period = {"from": "2024-01", "to": "2024-12"}
    at = open_app(monkeypatch, db, page="pages/satisfaction.py", lang=lang, **period)
    assert_tiles(at, world[2], reference_surveyed(world, 3), lang)
    anonymous = anonymous_of(world[2], sf.PERIOD_START, sf.END)
    said = t("satisfaction_anonymous", lang, n=fmt_int(sum(anonymous.values()), lang),
             csat=fmt_int(anonymous["csat"], lang), nps=fmt_int(anonymous["nps"], lang))
    assert said in [c.value for c in at.caption]
    north = open_app(monkeypatch, db, page="pages/satisfaction.py", lang=lang, region="华北", **period)
    home = world[3]
    who = set(home.index[home["home_region"] == "华北"])
    ref = reference_surveyed(world, 3)
    assert_tiles(north, world[2], ref[ref.index.isin(who)], lang, who)
    assert t("satisfaction_anonymous", lang, n="X", csat="X", nps="X").split("X")[0] not in page_text(north)


@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_the_overview_page_tiles_include_them_without_filters_only(monkeypatch, db, world):
    period = {"from": "2024-01", "to": "2024-12"}
    home = world[3]
    for params, who in (({}, None), ({"region": "华北"}, set(home.index[home["home_region"] == "华北"]))):
        at = open_app(monkeypatch, db, lang="en", **period, **params)
        shown = {m.label: m.value for m in at.metric}
        want = expected(world[2], sf.PERIOD_START, sf.END, who)
        assert shown[t("kpi_csat", "en")] == kpi_value("csat", want["csat"][0], "en", "CNY")
        assert shown[t("kpi_nps", "en")] == kpi_value("nps", want["nps"][0], "en", "CNY")
