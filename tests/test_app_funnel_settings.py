"""The funnel's stage list and stage map on the Data page's Settings tab (ui/importing/stage_settings.py), through
AppTest on the leads world (tests/funnel_leads_world.py): the table lists every stage name of the imported leads
with its leads (counted from the independent reading of the files) and what it means; an admin maps an unmapped
Salesforce status and drops proposal from the stage list, saves, and the stored settings and then the funnel page's
figures change (the warning no longer names it; target gains its leads, counted from the raw CSV; every stage as the
reference computes it with the new map); a refused value stores nothing and says why; a non-admin sees every field
disabled and, on the funnel page, that an admin can map the names; the funnel's warning links admins to the tab."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from app_util import open_app
from funnel_leads_reference import meaning, stage_rows
from funnel_leads_world import World, build
from leads_reading import LEADS
from streamlit.testing.v1 import AppTest
from test_app_funnel_leads import PERIOD, Q1, STAGES, A, col, name, table_with
from test_funnel_leads import expected

from analytics.ingest.pipeline import import_file
from analytics.metrics.funnel_names import clashes, entered_map, stage_names
from analytics.scope import Scope
from analytics.store import settings
from analytics.store.connection import connect
from ui import loaders
from ui.i18n import LANGUAGES, md_literal, t
from ui.importing.stage_settings import STAGES_KEY

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
FUNNEL, DATA = "pages/funnel.py", "pages/data.py"
#: The Salesforce status an admin maps (nothing maps it: tests/funnel_leads_world.py).
STATUS = "Working - Contacted"


@pytest.fixture(scope="module", name="world")
def world_fixture(tmp_path_factory) -> World:
    return build(tmp_path_factory.mktemp("app_funnel_settings"))


def copy_of(path: Path, folder: Path) -> Path:
    copy = folder / "crm.duckdb"
    copy.write_bytes(path.read_bytes())
    return copy


def settings_tab(monkeypatch, db: Path, lang: str, **login) -> AppTest:
    """The Data page opened on its Settings tab as the funnel page's link opens it (``?tab=settings``)."""
    at = open_app(monkeypatch, db, page=DATA, lang=lang, tab="settings", **login)
    assert at.pills(key=STAGES_KEY) and "tab" not in at.query_params
    return at


def choose(at: AppTest, choices: dict[str, str | None]) -> None:
    """Choose what some names count as in the stage map's table (as cell edits: AppTest cannot type in it)."""
    editor = at.data_editor[0]
    names = editor.value["name"].tolist()
    at.session_state[editor.key] = {"edited_rows": {names.index(n): {"key": k} for n, k in choices.items()},
                                 "added_rows": [], "deleted_rows": []}


def save(at: AppTest, lang: str) -> AppTest:
    next(b for b in at.button if b.label == t("data_settings_save", lang)).click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def stored() -> dict:
    """The settings table as the app's connection reads it."""
    return {k: json.loads(v) for k, v in loaders.connection().cursor().execute("select key, value from settings")
            .fetchall()}


def leads_at(at: AppTest, lang: str) -> dict[str, int]:
    table = table_with(at, col("stage", lang), col("leads", lang))
    return dict(zip(table[col("stage", lang)], table[col("leads", lang)], strict=True))


def unmapped_warning(at: AppTest, lang: str) -> str:
    return next(w.value for w in at.warning if w.icon == ":material/help:")


# ----------------------------------------------------------------------------- the names, the map


def test_the_names_are_the_leads_stage_names_with_their_leads_and_meaning(world, tmp_path):
    rows = world.rows.dropna(subset=["stage"])
    want = rows.groupby("stage")["lead_id"].nunique().to_dict()
    saved = {STATUS: "target", "Qualified": "proposal", "Negotiating": "proposal"}  # (no lead has the last)
    db = copy_of(world.path, tmp_path)
    con = connect(db)
    try:
        assert stage_names(con).saved == {}
        settings.save(con, {"funnel_stage_map": saved})
        names = stage_names(con)
    finally:
        con.close()
    got = names.names.set_index("name")
    assert got["leads"].to_dict() == want | {"Negotiating": 0}
    assert names.saved == saved
    for n, row in got.iterrows():
        assert (row["key"], row["how"]) == meaning(n, saved), n
        assert row["builtin"] == meaning(n, {})[0], n
    assert got.loc["Qualified", "builtin"] == "target" and got.loc["Qualified", "key"] == "proposal"
    order = list(zip(got["key"].isna(), got["leads"], strict=True))  # the unmapped first, then most leads first
    assert order == sorted(order, key=lambda x: (not x[0], -x[1]))
    assert got["key"].isna().any() and got["key"].notna().any()


def test_only_explicit_entries_go_in_the_map():
    names = pd.DataFrame({"name": ["Qualified", "意向", "Unqualified", "Gone"], "leads": [1, 8, 1, 0],
                          "key": ["proposal", "target", None, "lost"], "how": ["saved", "synonym", None, "saved"],
                          "builtin": ["target", "target", None, None]})
    # kept as saved; the built-in meaning (no entry); newly mapped; cleared (removed)
    assert entered_map(names, ["proposal", "target", "lost", None]) == {"Qualified": "proposal", "Unqualified": "lost"}
    assert entered_map(names, ["target", "ignore", float("nan"), "lost"]) == {"Qualified": "target", "意向": "ignore",
                                                                                "Gone": "lost"}
    assert clashes({"Negotiating": "proposal", " negotiating": "lost", "Won": "first_purchase"}) == [
        ("Negotiating", " negotiating")]
    assert clashes({"Negotiating": "proposal", "NEGOTIATING": "proposal"}) == []


# ----------------------------------------------------------------------------- an admin maps a name


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_admin_maps_a_name_and_drops_proposal_and_the_funnel_follows(monkeypatch, world, tmp_path, lang):
    db = copy_of(world.path, tmp_path)
    before = open_app(monkeypatch, db, page=FUNNEL, lang=lang, **PERIOD)
    assert md_literal(STATUS) in unmapped_warning(before, lang)
    where = {"page": t("nav_data", lang), "tab": t("data_tab_settings", lang)}
    link = next(p.proto for p in before.get("page_link") if p.proto.label == t("funnel_unmapped_map_link", lang,
                                                                                **where))
    assert link.page == "data" and "tab=settings" in link.query_string
    counts = leads_at(before, lang)

    at = settings_tab(monkeypatch, db, lang)
    assert at.pills(key=STAGES_KEY).value == list(STAGES)  # (none saved: the suggested list, with proposal)
    assert at.pills(key=STAGES_KEY).options == [name(k, lang) for k in STAGES]
    shown = at.data_editor[0].value
    assert shown.iloc[:, 0].tolist().count(STATUS) == 1 and not at.data_editor[0].proto.disabled
    choose(at, {STATUS: "target"})
    at.pills(key=STAGES_KEY).unselect("proposal")
    editor = at.data_editor[0].key
    save(at, lang)
    assert at.data_editor[0].key != editor  # (its rows moved: a new table, no edit left on a row number)
    assert [s.value for s in at.success] == [t("data_settings_saved", lang)] and not at.error
    stages = tuple(k for k in STAGES if k != "proposal")
    assert stored() == {"funnel_stages": list(stages), "funnel_stage_map": {STATUS: "target"}}
    assert at.pills(key=STAGES_KEY).value == list(stages)
    # drawn again with what is stored (the row moved among the mapped names); saved again, nothing changes
    table = at.data_editor[0].value.set_index("name")
    assert table.loc[STATUS].tolist() == ["target", 2, t("funnel_mapping_how_saved", lang)]
    assert [i.value for i in save(at, lang).info if i.icon == ":material/info:"] == [t("data_settings_unchanged", lang)]
    assert stored()["funnel_stage_map"] == {STATUS: "target"}

    after = open_app(monkeypatch, db, page=FUNNEL, lang=lang, **PERIOD)
    assert md_literal(STATUS) not in unmapped_warning(after, lang)
    salesforce = pd.read_csv(LEADS / "salesforce_leads.csv", dtype=str).dropna(subset=["Lead ID"])
    created = pd.to_datetime(salesforce["Created Date"], format="%m/%d/%Y").dt.date
    n = int(((salesforce["Lead Status"] == STATUS) & (created >= Q1[0]) & (created < date(2024, 4, 1))).sum())
    assert n == 2
    target = name("target", lang)
    assert leads_at(after, lang) == {k: v + (n if k == target else 0) for k, v in counts.items()
                                     if k != name("proposal", lang)}
    rows = stage_rows(expected(world, Scope(*Q1), A, {STATUS: "target"}, 3), stages, "strict")
    assert list(leads_at(after, lang).items()) == [(name(k, lang), members) for k, members, *_ in rows]


def test_clearing_a_saved_entry_removes_it(monkeypatch, world, tmp_path):
    db = copy_of(world.path, tmp_path)
    con = connect(db)
    try:
        settings.save(con, {"funnel_stage_map": {STATUS: "target", "Qualified": "proposal"}})
    finally:
        con.close()
    at = settings_tab(monkeypatch, db, "zh")
    choose(at, {"Qualified": None})
    save(at, "zh")
    assert settings.load(loaders.connection())["funnel_stage_map"] == {STATUS: "target"}


# ----------------------------------------------------------------------------- refused, read-only


def test_a_refused_stage_list_or_map_stores_nothing_and_says_why(monkeypatch, tmp_path):
    log = tmp_path / "leads.csv"
    log.write_text("线索编号,阶段,阶段日期,负责人,大区,线索来源,客户编号\nL1,Negotiating,2024-03-05,张伟,华东,官网,\n"
                   "L2,negotiating,2024-03-06,李强,华北,展会,\nL3,线索,2024-03-07,李强,华北,展会,\n", encoding="utf-8")
    con = connect(tmp_path / "crm.duckdb")
    try:
        assert import_file(con, log, commit=True).status == "committed"
    finally:
        con.close()
    at = settings_tab(monkeypatch, tmp_path / "crm.duckdb", "en")
    choose(at, {"Negotiating": "proposal", "negotiating": "lost"})
    at.pills(key=STAGES_KEY).set_value(["target"])
    save(at, "en")
    stage_list, stage_map = t("data_setting_funnel_stages", "en"), t("data_setting_funnel_stage_map", "en")
    assert [e.value for e in at.error] == [
        t("data_setting_error_stages", "en", setting=stage_list, n="2"),
        t("data_setting_error_stage_map_clash", "en", setting=stage_map,
          names="'Negotiating' → Proposal, 'negotiating' → Lost (an outcome, not a stage)")]
    assert t("data_settings_not_saved", "en") in [c.value for c in at.caption] and not at.success
    assert stored() == {}
    at.pills(key=STAGES_KEY).set_value(["potential", "proposal"])
    save(at, "en")  # the list alone is fine, the map still refused: still nothing stored
    assert len(at.error) == 1 and stored() == {}


def test_a_non_admin_sees_the_fields_disabled_and_is_told_an_admin_can_map(monkeypatch, world, tmp_path):
    access = tmp_path / "access.toml"
    access.write_text('[users."analyst@example.com"]\nrole = "analyst"\n', encoding="utf-8")
    login = {"email": "analyst@example.com", "access": access}
    at = settings_tab(monkeypatch, world.path, "zh", **login)
    assert at.pills(key=STAGES_KEY).disabled and at.data_editor[0].proto.disabled
    assert t("data_settings_admin_only", "zh") in [i.value for i in at.info]
    funnel = open_app(monkeypatch, world.path, page=FUNNEL, lang="zh", **PERIOD, **login)
    where = {"page": t("nav_data", "zh"), "tab": t("data_tab_settings", "zh")}
    assert t("funnel_unmapped_ask_admin", "zh", **where) in [c.value for c in funnel.caption]
    assert md_literal(STATUS) in unmapped_warning(funnel, "zh")
    assert not [p for p in funnel.get("page_link") if p.proto.page == "data"]
