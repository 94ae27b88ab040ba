"""The funnel's stages and how stage names in a leads file are read (analytics.metrics.funnel_stages): the design's
synonyms (docs/funnel-design.md), the saved map first, what is left unmapped with its rows."""

from __future__ import annotations

import pytest

from analytics.metrics import funnel_stages as fs
from analytics.store import settings

#: The design's table of synonyms, copied from docs/funnel-design.md ("Stages").
DESIGN = {
    "potential": "线索, 潜在客户, 潜在, 新线索, lead, new, prospect",
    "target": "意向, 目标客户, 有意向, 商机, qualified, opportunity, MQL, SQL",
    "proposal": "报价, 方案, 谈判, proposal, quote, negotiation",
    "first_purchase": "成交, 赢单, 已成交, 签约, won, closed won, customer",
    "lost": "流失, 输单, 丢单, 无效, lost, closed lost, dead",
}


def test_the_stages_in_order_with_their_names():
    assert [s.key for s in fs.STAGES] == list(settings.FUNNEL_STAGES)
    assert [(s.zh, s.en) for s in fs.STAGES][:3] == [("潜在客户", "Potential customers"),
                                                     ("目标客户", "Target customers"), ("报价", "Proposal")]
    assert [fs.BY_KEY[k].name("zh") for k in fs.LIFECYCLE_STAGES] == ["首次购买", "重复购买", "忠诚客户", "仍活跃"]
    assert fs.BY_KEY["active"].name("en") == "Still active"
    assert fs.DEFAULT_STAGES == ("potential", "target", "first_purchase", "repeat_purchase", "loyal")
    assert fs.suggested_stages(False) == fs.DEFAULT_STAGES
    assert fs.suggested_stages(True) == ("potential", "target", "proposal", "first_purchase", "repeat_purchase",
                                         "loyal")
    assert settings.check("funnel_stages", list(fs.suggested_stages(True)))  # a list the setting takes


@pytest.mark.parametrize(("key", "name"), [(k, n.strip()) for k, names in DESIGN.items() for n in names.split(",")])
def test_every_synonym_of_the_design(key, name):
    assert fs.stage_key(name) == (key, "synonym")


@pytest.mark.parametrize(("name", "key"), [
    ("Closed_Won", "first_purchase"), ("CLOSED-LOST", "lost"), ("  closed   won ", "first_purchase"),
    ("ＭＱＬ", "target"), ("Target customers", "target"), ("first_purchase", "first_purchase"),
    ("首次购买", "first_purchase"), ("potential", "potential"),
])
def test_case_width_separators_and_the_stages_own_names(name, key):
    assert fs.stage_key(name) == (key, "synonym")


def test_names_nobody_knows_are_unmapped_and_the_purchase_stages_are_not_lead_stages():
    for name in ("跟进中", "on hold", "复购", "忠诚客户", "loyal", ""):
        assert fs.stage_key(name) == (None, None), name


def test_the_saved_map_comes_first():
    saved = settings.check("funnel_stage_map", {"Won": "proposal", "跟进中": "target", "无效": "ignore"})
    assert fs.stage_key("won", saved) == ("proposal", "saved")  # over the synonym, as the names compare
    assert fs.stage_key(" 跟进中", saved) == ("target", "saved")
    assert fs.stage_key("无效", saved) == ("ignore", "saved")
    assert fs.stage_key("lead", saved) == ("potential", "synonym")


def test_the_mapping_of_a_leads_files_names_and_what_is_unmapped():
    names = ["线索"] * 5 + ["商机"] * 3 + ["跟进中"] * 4 + ["待定"] * 4 + ["on hold"] + ["Won"] * 2 + [None, "  "]
    mapping = fs.stage_mapping(names, {"待定": "ignore"})
    assert mapping.to_dict("records") == [
        {"name": "线索", "key": "potential", "how": "synonym", "rows": 5},
        {"name": "待定", "key": "ignore", "how": "saved", "rows": 4},
        {"name": "跟进中", "key": None, "how": None, "rows": 4},
        {"name": "商机", "key": "target", "how": "synonym", "rows": 3},
        {"name": "Won", "key": "first_purchase", "how": "synonym", "rows": 2},
        {"name": "on hold", "key": None, "how": None, "rows": 1},
    ]
    assert fs.unmapped(mapping).to_dict("records") == [{"name": "跟进中", "rows": 4}, {"name": "on hold", "rows": 1}]
    assert fs.unmapped(fs.stage_mapping([])).empty


def stage_rows(rows: list[tuple[bool, str]], saved: dict | None = None):
    """A database with only what the stage list in use reads: the settings and ``lead_stages``'s names."""
    import json

    import duckdb

    con = duckdb.connect()
    con.execute("create table settings (key varchar primary key, value varchar)")
    con.execute("create table lead_stages (lead_id varchar, from_column boolean, stage varchar)")
    con.executemany("insert into lead_stages values ('L1', ?, ?)", [list(r) for r in rows])
    for key, value in (saved or {}).items():
        con.execute("insert into settings values (?, ?)", [key, json.dumps(value)])
    return con


@pytest.mark.parametrize(("rows", "saved", "want"), [
    ([(True, "potential"), (True, "target"), (True, "won")], {}, fs.DEFAULT_STAGES),
    ([(True, "potential"), (True, "proposal")], {}, settings.FUNNEL_STAGES),  # a proposal date
    ([(True, "potential"), (False, "报价")], {}, settings.FUNNEL_STAGES),  # a name the synonyms read as proposal
    ([(True, "potential"), (False, "Quote sent")], {}, fs.DEFAULT_STAGES),  # unmapped: not a proposal
    ([(True, "potential"), (False, "Quote sent")], {"funnel_stage_map": {"quote sent": "proposal"}},
     settings.FUNNEL_STAGES),  # mapped so
    ([(True, "potential"), (False, "报价")], {"funnel_stage_map": {"报价": "ignore"}}, fs.DEFAULT_STAGES),
    ([(True, "potential"), (True, "proposal")], {"funnel_stages": ["potential", "first_purchase", "loyal"]},
     ("potential", "first_purchase", "loyal")),  # a saved list is the list, whatever the data
])
def test_the_stage_list_in_use_is_the_saved_one_else_the_suggested_one(rows, saved, want):
    from analytics.metrics.funnel_leads_query import definitions

    con = stage_rows(rows, saved)
    stages, stage_map = definitions(con, None, None)
    assert stages == want
    assert stage_map == settings.check("funnel_stage_map", saved.get("funnel_stage_map", {}))
    assert definitions(con, ("potential", "loyal"), {})[0] == ("potential", "loyal")  # given: used as given
