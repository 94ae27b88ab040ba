"""``python -m analytics report funnel`` on imported leads (the three leads fixtures, a workbook in the demo's shape,
a later stage-change log and a sales file: tests/funnel_leads_world.py): the report is the leads funnel's, and
every figure (stage counts with both percentages and intervals, each step per region, source and rep, stage times,
the stuck leads, the comparison cohort's counts) equals the design's rules computed with pandas on the raw files
(tests/funnel_leads_reference.py), with ``--source`` (one source, several comma-separated), ``--order`` and a
region filter; the mapping, the unmapped names and the implied stages are stated as the reference reads them."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest
from funnel_leads_reference import evidence, group_rows, meaning, stage_rows, stuck, times
from funnel_leads_world import World, build
from test_funnel_leads import expected, same

from analytics.cli import main
from analytics.scope import Scope

#: The data's end (the sales file's last purchase day) and the settings' stage list (the world saves none).
A = date(2024, 6, 30)
# (no stage list saved, and the leads have proposal dates: the suggested list, with proposal)
STAGES = ("potential", "target", "proposal", "first_purchase", "repeat_purchase", "loyal")
PERIOD = ["--from", "2024-01", "--to", "2024-02"]


@pytest.fixture(scope="module", name="world")
def world_fixture(tmp_path_factory) -> World:
    return build(tmp_path_factory.mktemp("leads_report"))


def report_json(capsys, world: World, *args: str) -> dict:
    code = main(["--db", str(world.path), "report", "funnel", *PERIOD, *args, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def kept(ref: pd.DataFrame, sources: tuple[str, ...]) -> pd.DataFrame:
    return ref[ref["source"].isin(sources)].reset_index(drop=True) if sources else ref


def rows(frame: list[dict], columns: list[str]) -> list[tuple]:
    return [tuple(float("nan") if r[c] is None and c not in ("group", "stage") else r[c] for c in columns)
            for r in frame]


@pytest.mark.parametrize(("args", "order", "sources", "regions"), [
    ([], "strict", (), ()),
    (["--source", "展会", "--order", "any"], "any", ("展会",), ()),
    (["--source", "展会, 官网,Trade Show", "--order", "strict"], "strict", ("展会", "官网", "Trade Show"), ()),
    (["--source", "展会,官网", "--order", "any", "--region", "华东"], "any", ("展会", "官网"), ("华东",)),
])
def test_report_funnel_on_leads_against_the_raw_files(world, capsys, args, order, sources, regions):
    report = report_json(capsys, world, *args)
    scope = Scope(date(2024, 1, 1), date(2024, 2, 1), regions=regions)
    assert (report["funnel"]["kind"], report["funnel"]["why"]) == ("leads", "leads")
    assert [s["key"] for s in report["funnel"]["stages"]] == list(STAGES) == report["funnel"]["timed"]
    assert report["funnel"]["groupings"] == ["region", "source", "sales_rep"]
    d = report["definition"]
    assert (d["order"], d["window_days"], d["sources"], d["as_of"]) == (order, None, list(sources) or None, str(A))
    whole = expected(world, scope, A, {}, 3)
    ref = kept(whole, sources)
    assert report["members"] == len(ref) > 0
    same(rows(report["stages"], ["stage", "members", "pct_previous", "pct_first", "continued", "conversion", "low",
                                 "high"]), stage_rows(ref, STAGES, order))
    for g in ("region", "source", "sales_rep"):
        same(rows(report["compare"][g], ["group", "step", "start", "reached", "rate", "low", "high", "small",
                                         "rank"]), group_rows(ref, STAGES, order, g))
    same(rows(report["times"], ["from_stage", "to_stage", "n", "median", "q1", "q3", "out_of_order"]),
         times(ref, STAGES))
    assert [(r["member_id"], r["stage"], r["days_in_stage"]) for r in report["stuck"]] == stuck(ref, STAGES, A)
    customers = {lead: a["customer_id"] for lead, a in world.attrs.iterrows()}
    assert [r["customer_id"] for r in report["stuck"]] == [customers[r["member_id"]] for r in report["stuck"]]
    assert all("active" not in r for r in report["stuck"])
    # the comparison period (Dec 2023) counted as of the same distance after its end, its leads kept alike
    comparison = scope.comparison()
    back = comparison.end_exclusive - timedelta(days=1) + (A - (scope.end_exclusive - timedelta(days=1)))
    assert report["comparison_cohort"]["as_of"] == str(back)
    same(rows(report["comparison_cohort"]["stages"], ["stage", "members", "pct_previous", "pct_first", "continued",
                                                      "conversion", "low", "high"]),
         stage_rows(kept(expected(world, comparison, back, {}, 3), sources), STAGES, order))
    # what the page states: the cohort, the mapping, the unmapped names, the implied stages: of the sources kept
    leads = report["leads"]
    assert leads["cohort"] == len(ref) and "evidence_sources" not in leads
    implied = {k: int(ref[f"{k}_implied"].sum()) for k in STAGES if f"{k}_implied" in ref}
    assert leads["implied"] == {k: n for k, n in implied.items() if n}
    assert [r["implied"] for r in leads["evidence"]] == [implied.get(k, 0) for k in STAGES]


@pytest.mark.parametrize("sources", [(), ("展会", "Trade Show")])
def test_the_mapping_and_the_unmapped_names_against_the_raw_files(world, capsys, sources):
    """Each stage name of the cohort's rows (not a date column's) with its meaning and its leads; the names nothing
    maps with theirs, in the text as "N leads at stages nothing maps: 'xxx' (n)"; under a source filter, of the
    kept sources' leads only."""
    report = report_json(capsys, world, *(["--source", ",".join(sources)] if sources else []))
    cohort = set(kept(expected(world, Scope(date(2024, 1, 1), date(2024, 2, 1)), A, {}, 3), sources)["member_id"])
    ev = evidence(world.rows, world.attrs, {})
    named = ev[~ev["from_column"] & ev["lead_id"].isin(cohort)].drop_duplicates(["lead_id", "stage"])
    want = named.groupby("stage")["lead_id"].count().to_dict()
    got = {r["name"]: (r["key"], r["how"], r["rows"]) for r in report["leads"]["mapping"]}
    assert {name: n for name, (_, _, n) in got.items()} == want
    assert all((key, how) == meaning(name, {}) for name, (key, how, _) in got.items())
    unmapped = {r["name"]: r["rows"] for r in report["leads"]["unmapped"]}
    assert unmapped == {name: n for name, n in want.items() if meaning(name, {})[0] is None} != {}
    assert report["leads"]["unmapped_leads"] == sum(unmapped.values())
    assert main(["--db", str(world.path), "report", "funnel", *PERIOD,
                 *(["--source", ",".join(sources)] if sources else [])]) == 0
    text = capsys.readouterr().out
    assert "leads funnel (from the imported leads)" in text and "still active" not in text
    assert f"{sum(unmapped.values())} leads at stages nothing maps: " in text


def test_a_source_that_is_no_text_is_refused(world, capsys):
    assert main(["--db", str(world.path), "report", "funnel", *PERIOD, "--source", " , "]) == 2
    assert "source must name at least one source" in capsys.readouterr().err
