"""The leads funnel's parts one by one on the world of tests/funnel_leads_world.py, imported through the real
pipeline: the ``lead_stages`` mart against the raw files (each stored row's stage, the date columns' stages, the
lead's attributes by the latest row that gives one, the linked customer's first and second purchase days), rebuilt
by an undo; the gate's tier filter on leads without a customer; the stage map (a saved map overrides the synonyms,
from the argument or the setting; unmapped names listed with their leads); which funnel the page can show; the
input checks."""

from __future__ import annotations

import shutil
from datetime import date

import pandas as pd
import pytest
from funnel_leads_reference import attributes, evidence, meaning
from funnel_leads_world import SALESFORCE_MAP, World, build

from analytics.ingest.pipeline import import_file, undo_import
from analytics.metrics.funnel_leads import data_end, has_leads, leads_funnel, leads_reach
from analytics.scope import Scope
from analytics.store import settings
from analytics.store.connection import connect

Q1 = Scope(date(2024, 1, 1), date(2024, 3, 1))


@pytest.fixture(scope="module", name="world")
def world_fixture(tmp_path_factory) -> World:
    return build(tmp_path_factory.mktemp("leads_rules"))


@pytest.fixture(name="con")
def con_fixture(world, tmp_path):
    """A copy of the world's database for each test (some save settings or undo an import)."""
    shutil.copy(world.path, tmp_path / "crm.duckdb")
    con = connect(tmp_path / "crm.duckdb")
    yield con
    con.close()


def mart_rows(world: World) -> list[tuple]:
    """``lead_stages`` as the raw files say it should be: each lead's evidence with its attributes, and its
    customer's first and second purchase days (``lead_purchases``)."""
    out = []
    for r in evidence(world.rows, world.attrs, {}).itertuples():
        a = world.attrs.loc[r.lead_id]
        bought = world.buys.days.get(a["customer_id"], []) if a["customer_id"] else []
        out.append((r.lead_id, r.stage, r.from_column, r.stage_date, a["created_date"], a["customer_id"], a["region"],
                    a["source"], a["sales_rep"], a["outcome"], bought[0] if bought else None,
                    bought[1] if len(bought) > 1 else None))
    return sorted(out, key=repr)


def stored_mart(con) -> list[tuple]:
    got = con.execute("select lead_id, stage, from_column, stage_date, created_date, customer_id, region, source, "
                      "sales_rep, outcome, first_purchase_day, second_purchase_day from lead_stages "
                      "left join lead_purchases using (customer_id)").fetchall()
    return sorted(got, key=repr)


def test_the_mart_holds_each_leads_evidence_and_attributes(con, world):
    assert stored_mart(con) == mart_rows(world)
    # every lead has one row of its created date, from a column (the leads funnel reads its attributes there)
    assert con.execute("select lead_id from lead_stages group by lead_id having count(*) filter "
                       "(where from_column and stage = 'potential') <> 1").fetchall() == []
    lead = {r[0]: r for r in stored_mart(con)}
    # the later log's row of XS2403008: its rep is the latest import's, its created date the earliest given
    assert lead["XS2403008"][4:9] == (date(2024, 3, 19), None, "华北", "转介绍", "王芳")
    # a log that names the customer only on its won row links the lead; first and second purchase days
    assert lead["XS2403001"][5] == "000512" and lead["XS2403001"][10:] == (date(2024, 4, 5), date(2024, 4, 20))
    # two purchases on one day are one purchase day; a return is none
    assert lead["XS2401001"][10:] == (date(2024, 2, 3), date(2024, 3, 10))
    assert lead["XS2403003"][10:] == (date(2024, 3, 30), None)


def test_the_mart_follows_an_undo(con, world):
    last = con.execute("select max(import_id) from imports").fetchall()[0][0]
    undo_import(con, last)
    rows = world.rows[world.rows["import_no"] < 5]
    before = World(path=world.path, rows=rows, attrs=attributes(rows), buys=world.buys, segments=world.segments)
    assert stored_mart(con) == mart_rows(before)
    assert con.execute("select distinct sales_rep from lead_stages where lead_id = 'XS2403008'").fetchall() == [
        ("李强",)]


def test_a_tier_filter_keeps_only_leads_whose_customer_is_in_the_tiers(con, world):
    everyone = leads_reach(con, Q1, stage_map=SALESFORCE_MAP).reach
    tiered = leads_reach(con, Scope(Q1.start, Q1.end, tiers=("platinum", "gold", "iron", "lead")),
                         stage_map=SALESFORCE_MAP).reach
    # every tier together: the customers ranked over the period (those who bought in it); a lead without a customer,
    # or whose customer did not buy in the period (000512 first bought in April, C004 in May), is in none
    bought = {c for c, days in world.buys.days.items() if any(Q1.start <= d < Q1.end_exclusive for d in days)}
    customers = world.attrs["customer_id"]
    assert set(tiered["member_id"]) == {lead for lead in everyone["member_id"] if customers[lead] in bought}
    assert {"XS2403001", "XS000010", "XS000005"} & set(everyone["member_id"]) == {"XS2403001", "XS000010", "XS000005"}
    assert not {"XS2403001", "XS000010", "XS000005"} & set(tiered["member_id"])


def expected_mapping(world: World, scope_leads: set[str], saved: dict) -> list[tuple]:
    """Each stage name of the cohort's stored rows with its meaning and its leads, most leads first."""
    rows = world.rows[world.rows["lead_id"].isin(scope_leads)]
    counted = rows.drop_duplicates(["lead_id", "stage"])["stage"].value_counts()
    out = [(name, *meaning(name, saved), int(n)) for name, n in counted.items()]
    return sorted(out, key=lambda r: (-r[3], r[0]))


@pytest.mark.parametrize("saved", [{}, SALESFORCE_MAP, {"意向": "proposal", "新线索": "ignore", "won": "lost"}])
def test_the_mapping_says_how_each_name_was_read_and_lists_the_unmapped(con, world, saved):
    got = leads_reach(con, Q1, stage_map=saved)
    want = expected_mapping(world, set(got.reach["member_id"]), saved)
    assert [tuple(None if pd.isna(v) else v for v in r) for r in got.mapping.itertuples(index=False)] == want
    assert list(got.unmapped.itertuples(index=False, name=None)) == [(r[0], r[3]) for r in want if r[1] is None]


def test_a_saved_map_overrides_the_synonyms_from_the_setting_too(con):
    settings.save(con, {"funnel_stage_map": SALESFORCE_MAP, "funnel_stages": ["potential", "target", "proposal",
                                                                              "first_purchase"]})
    from_setting = leads_funnel(con, Q1)
    given = leads_funnel(con, Q1, stages=("potential", "target", "proposal", "first_purchase"),
                         stage_map=SALESFORCE_MAP)
    assert from_setting.stages == given.stages == ("potential", "target", "proposal", "first_purchase")
    pd.testing.assert_frame_equal(from_setting.funnel.counts, given.funnel.counts)
    mapping = from_setting.now.mapping.set_index("name")
    assert tuple(mapping.loc["Qualified", ["key", "how"]]) == ("proposal", "saved")  # a synonym of target
    assert tuple(mapping.loc["意向", ["key", "how"]]) == ("target", "synonym")
    without = leads_funnel(con, Q1, stage_map={})
    assert without.now.mapping.set_index("name").loc["Qualified", "key"] == "target"
    qualified = "00Q5g00000A1bCgEAF"
    saved, synonyms = (f.reach.set_index("member_id").loc[qualified] for f in (from_setting, without))
    assert saved["proposal_reached"] and not synonyms["proposal_reached"]


def test_the_suggested_stage_list_has_proposal_when_the_leads_carry_one(con):
    got = leads_reach(con, Q1, stages=("potential", "target", "first_purchase"), stage_map={})
    assert got.has_proposal and got.suggested == ("potential", "target", "proposal", "first_purchase",
                                                  "repeat_purchase", "loyal")
    salesforce_only = leads_reach(con, Scope(Q1.start, Q1.end, regions=("East", "North")), stage_map={})
    assert not salesforce_only.has_proposal and "proposal" not in salesforce_only.suggested


def test_which_funnel_the_page_can_show_and_the_data_end(con, tmp_path):
    assert has_leads(con) and data_end(con) == date(2024, 6, 30)
    empty = connect(tmp_path / "empty.duckdb")
    try:
        assert not has_leads(empty) and data_end(empty) is None
        got = leads_funnel(empty, Q1)
        assert got.empty and got.data_end is None and got.comparison_as_of is None
        assert got.funnel.counts["members"].tolist() == [0] * len(got.stages)
        # leads without any sale: the data ends on the latest lead day
        report = import_file(empty, _leads_only(tmp_path), commit=True)
        assert report.kind == "leads" and has_leads(empty) and data_end(empty) == date(2024, 2, 9)
    finally:
        empty.close()


def _leads_only(folder):
    path = folder / "leads_only.csv"
    path.write_text("线索编号,创建日期,阶段,意向日期\nK1,2024-02-01,意向,2024-02-09\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("options", "message"), [
    ({"order": "both"}, "the order must be one of strict, any"),
    ({"loyal_min": 0}, "a loyal customer needs at least 1 purchase day"),
    ({"stages": ["loyal", "potential"]}, "must keep the stages' order"),
    ({"stages": ["potential"]}, "needs at least 2 stages"),
    ({"stage_map": {"Qualified": "loyal"}}, "repeat purchase and loyal come from the customers' purchases"),
    ({"stuck_days": {"loyal": 3}}, "stuck thresholds are per stage before the last"),
])
def test_options_that_are_not_ones_are_refused(con, options, message):
    with pytest.raises(ValueError, match=message):
        leads_funnel(con, Q1, **options)
