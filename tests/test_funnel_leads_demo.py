"""The leads funnel on the demo's files (analytics.ingest.demo: 900 leads in the demo's leads workbook, their
customers' 82,602 sales lines), imported through the real pipeline: every figure equals the design's rules
computed with pandas on the raw files (tests/funnel_leads_reference.py, through test_funnel_leads.check), here with
groups large enough to be ranked and a biggest leak with its worst region, which the small world of
test_funnel_leads.py never has."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from funnel_leads_reference import Purchases, attributes, stored
from funnel_leads_world import World
from test_funnel_leads import check, purchase_stages_as_of

from analytics.ingest import demo
from analytics.ingest.pipeline import import_file
from analytics.scope import Scope
from analytics.store.connection import connect


@pytest.fixture(scope="module", name="world")
def world_fixture(tmp_path_factory) -> World:
    folder = tmp_path_factory.mktemp("leads_demo")
    files = {f.kind: f.path for f in demo.write_files(demo.generate(size=3_000, seed=7), folder)}
    con = connect(folder / "crm.duckdb")
    try:
        for kind in ("transactions", "leads"):
            report = import_file(con, files[kind], commit=True)
            assert (report.kind, report.rows_rejected) == (kind, 0)
    finally:
        con.close()
    raw = pd.read_excel(files["leads"], dtype={"线索编号": str, "客户编号": str})
    cell = {c: [None if pd.isna(x) else x.date() if isinstance(x, pd.Timestamp) else x for x in raw[c]]
            for c in raw.columns}
    rows = [(1, i + 2, *(cell[c][i] for c in ("线索编号", "阶段")), None,
             *(cell[c][i] for c in ("创建日期", "客户编号", "大区", "线索来源", "销售代表", "意向日期", "报价日期",
                                    "关闭日期", "结果"))) for i in range(len(raw))]
    sales = pd.read_csv(files["transactions"], encoding="gb18030", dtype={"客户编号": str})
    sales = pd.DataFrame({"customer_id": sales["客户编号"], "amount": sales["实付金额"],
                          "order_date": pd.to_datetime(sales["订单日期"]).dt.date})
    leads = stored(rows)
    return World(path=folder / "crm.duckdb", rows=leads, attrs=attributes(leads), buys=Purchases.of(sales),
                 segments={})


@pytest.fixture(scope="module", name="con")
def con_fixture(world):
    con = world.open()
    yield con
    con.close()


@pytest.fixture(scope="module", name="end")
def end_fixture(world) -> date:
    """The data's end: the last purchase day or the last lead day, whichever is later."""
    lead_days = [d for c in ("created_date", "qualified_date", "proposal_date", "closed_date")
                 for d in world.attrs[c] if d is not None]
    return max(max(max(d) for d in world.buys.days.values()), max(lead_days))


FULL = ("potential", "target", "proposal", "first_purchase", "repeat_purchase", "loyal")
#: Each scope, order and stage list checked: the database and the files are read-only, so a funnel checked once
#: against the reference (every figure) is the same funnel for every later test that asks for it.
CHECKED: dict[tuple, object] = {}


def checked(con, world: World, scope: Scope, end: date, *, order: str = "strict", stages: tuple[str, ...] = FULL):
    """``test_funnel_leads.check`` of the demo (no stage map saved), once per scope, order and stage list."""
    key = (scope, order, stages)
    if key not in CHECKED:
        CHECKED[key] = check(con, world, scope, order=order, stages=stages, saved={}, end=end)
    return CHECKED[key]


@pytest.mark.parametrize(("scope", "order", "stages"), [
    (Scope(date(2023, 11, 1), date(2026, 10, 1), compare="none"), "strict", FULL),
    (Scope(date(2023, 11, 1), date(2026, 10, 1), compare="none"), "any",
     ("potential", "target", "first_purchase", "repeat_purchase", "loyal")),
    (Scope(date(2025, 11, 1), date(2026, 10, 1)), "strict", FULL),
    (Scope(date(2025, 1, 1), date(2025, 6, 1), compare="last_year"), "any", FULL),
])
def test_every_figure_of_the_demo_against_its_raw_files(con, world, end, scope, order, stages):
    got = checked(con, world, scope, end, order=order, stages=stages)
    assert got.now.unmapped.empty  # the demo's stage names are the design's synonyms
    # the demo dates every stage a lead passed: nothing is implied, and a won lead's close day is known
    assert (got.now.evidence["implied"] == 0).all()


def test_the_groups_are_ranked_and_the_leak_names_its_worst_region(con, world, end):
    scope = Scope(date(2023, 11, 1), date(2026, 10, 1), compare="none")
    got = checked(con, world, scope, end).funnel
    ranked = got.compare["region"].dropna(subset=["rank"])
    assert len(ranked) >= 5
    counts = got.counts.assign(start=got.counts["members"].shift(1))
    steps = counts.iloc[1:][counts["start"].iloc[1:] > 0]
    worst = int(np.argmin(steps["conversion"].to_numpy())) + 1  # (the first on a tie)
    regions = got.compare["region"]
    candidates = regions[(regions["step"] == worst) & ~regions["small"] & regions["group"].notna()]
    region = candidates.loc[candidates["rate"].idxmin()]
    assert (got.leak.step, got.leak.region) == (worst, region["group"])
    assert got.leak.lost_share == pytest.approx(1 - steps["conversion"].iloc[worst - 1])
    assert got.leak.region_lost_share == pytest.approx(1 - region["rate"])


def test_a_sales_manager_sees_their_regions_leads_in_the_demo(con, world, end):
    region = world.attrs["region"].value_counts().index[0]
    got = checked(con, world, Scope(date(2025, 11, 1), date(2026, 10, 1), allowed_regions=(region,)), end)
    assert set(got.reach["region"]) == {region} and not got.empty


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_names_the_leak_and_its_worst_region_in_a_sentence(monkeypatch, con, world, end, lang):
    """The funnel page on the demo's leads (no stage list saved: the suggested one, with proposal): the biggest
    leak in words with its worst region, as the leads funnel's figures (checked against the raw files above)."""
    from app_util import open_app

    from analytics.metrics.funnel_stages import BY_KEY
    from ui.formats import fmt_pct
    from ui.i18n import md_literal, t

    got = checked(con, world, Scope(date(2023, 11, 1), date(2026, 10, 1)), end).funnel
    leak = got.leak
    assert leak is not None and leak.region is not None
    at = open_app(monkeypatch, world.path, page="pages/funnel.py", lang=lang, **{"from": "2023-11", "to": "2026-10"})
    sentence = t("funnel_leak", lang, before=BY_KEY[leak.from_stage].name(lang), after=BY_KEY[leak.to_stage].name(lang),
                 lost=fmt_pct(leak.lost_share, lang), region=md_literal(leak.region),
                 region_lost=fmt_pct(leak.region_lost_share, lang))
    assert sentence in [w.value for w in at.warning]


def partial_months(world: World, most: int) -> list[tuple[int, date]]:
    """Up to ``most`` (N, as-of day) pairs where a linked customer first holds N >= 3 purchase days in 12 months in a
    month with a purchase day after the as-of day, and two by it: loyal at the month's end, one day short by the
    as-of day (the month counted up to it), though a second purchase is in."""
    pairs = set()
    for customer in sorted({c for c in world.attrs["customer_id"] if c}):
        bought = sorted(set(world.buys.days.get(customer, [])))
        best = 0
        for y, m in sorted({(d.year, d.month) for d in bought}):
            year = [d for d in bought if 0 <= (y * 12 + m) - (d.year * 12 + d.month) <= 11]
            inside = [d for d in year if (d.year, d.month) == (y, m)]
            if len(year) > best >= 0 and len(year) >= 3 and len(inside) >= 2 and inside[-2] < inside[-1]:
                pairs.add((len(year), inside[-2]))
            best = max(best, len(year))
    return sorted(pairs)[:most]


def test_a_loyal_day_inside_the_as_of_days_month_counts_it_up_to_that_day(con, world):
    """As of a day inside the month a customer first holds N purchase days in 12 months, one of them after it: not
    loyal yet (the month's purchase days counted up to the as-of day), as the reference reads the raw sales."""
    edges = partial_months(world, 6)
    assert len(edges) == 6, edges
    purchase_stages_as_of(con, world, Scope(date(2023, 11, 1), date(2026, 10, 1), compare="none"), edges, {})
