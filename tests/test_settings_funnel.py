"""The funnel's settings (analytics.store.settings): the stage list and the stage-name map, checked with messages a
person understands, stored all or nothing, and read back as stored."""

from __future__ import annotations

import pytest

from analytics.store import settings
from analytics.store.connection import connect


@pytest.fixture
def con():
    c = connect(":memory:")
    yield c
    c.close()


def test_the_defaults_leave_proposal_out_and_map_nothing(con):
    stored = settings.load(con)
    assert stored["funnel_stages"] == ["potential", "target", "first_purchase", "repeat_purchase", "loyal"]
    assert stored["funnel_stage_map"] == {}


def test_a_stage_list_and_a_map_are_stored_and_read_back(con):
    saved = settings.save(con, {"funnel_stages": ("potential", "target", "proposal", "first_purchase"),
                                "funnel_stage_map": {" 报价单 ": "proposal", "Closed Won": "first_purchase",
                                                     "closed_won": "first_purchase", "垃圾": "ignore",
                                                     "已流失": "lost"}})
    # the names trimmed; two spellings of one name with the same meaning kept once (the first)
    assert saved["funnel_stage_map"] == {"报价单": "proposal", "Closed Won": "first_purchase", "垃圾": "ignore",
                                         "已流失": "lost"}
    stored = settings.load(con)
    assert stored["funnel_stages"] == ["potential", "target", "proposal", "first_purchase"]
    assert stored["funnel_stage_map"] == saved["funnel_stage_map"]


@pytest.mark.parametrize("stages", [
    ["first_purchase", "repeat_purchase"],  # purchase stages only
    ["potential", "loyal"],  # stages dropped
    list(settings.FUNNEL_STAGES),  # every stage
])
def test_any_two_or_more_stages_in_their_order_are_a_stage_list(stages):
    assert settings.check("funnel_stages", stages) == stages


@pytest.mark.parametrize(("value", "message"), [
    ("potential,target", "must be a list of stage keys"),
    ([1, 2], "must be a list of stage keys"),
    (["potential", "quote"], "unknown stage 'quote'; the stages are potential → target → proposal"),
    (["potential", "target", "target"], "lists 'target' more than once"),
    (["loyal"], "needs at least 2 stages"),
    ([], "needs at least 2 stages"),
    (["target", "potential", "loyal"], "must keep the stages' order .*'potential' cannot come after 'target'"),
    (["potential", "first_purchase", "proposal"], "'proposal' cannot come after 'first_purchase'"),
])
def test_a_bad_stage_list_is_refused_and_nothing_is_stored(con, value, message):
    with pytest.raises(ValueError, match=message):
        settings.save(con, {"currency": "USD", "funnel_stages": value})
    assert settings.load(con)["currency"] == "CNY"  # all or nothing


@pytest.mark.parametrize(("value", "message"), [
    (["报价"], "must map stage names to stages"),
    ({"": "target"}, "a stage name that is empty or not text"),
    ({"  ": "target"}, "a stage name that is empty or not text"),
    ({"意向客户": "qualified"}, "maps '意向客户' to 'qualified': a stage name maps to one of potential, target, "
                               "proposal, first_purchase, lost, ignore"),
    ({"复购": "repeat_purchase"}, "repeat purchase and loyal come from the customers' purchases"),
    ({"VIP": "loyal"}, "repeat purchase and loyal come from the customers' purchases"),
    ({"Won": "first_purchase", "WON ": "lost"}, "maps 'Won' and 'WON' \\(the same name\\) to different stages"),
    ({"Ｗｏｎ": "first_purchase", "won": "lost"}, "the same name"),  # full-width letters are the same name
])
def test_a_bad_stage_map_is_refused_and_nothing_is_stored(con, value, message):
    with pytest.raises(ValueError, match=message):
        settings.save(con, {"currency": "USD", "funnel_stage_map": value})
    assert settings.load(con)["currency"] == "CNY"
    assert settings.load(con)["funnel_stage_map"] == {}
