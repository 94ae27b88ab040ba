"""``python -m analytics report funnel``: the funnel page's figures as JSON and as text, computed by the page's
loader (analytics.metrics.funnel_view), on the seeded random file of tests/test_churn_view.py imported through the
real pipeline. Every figure of the report equals the view model's (the same JSON from ``report(view)`` in process)
and the raw rows' (tests/funnel_reference.py: pandas and statsmodels, not the engine), for the default definitions
and for each option given (order, N, W, the stuck threshold) with a region filter; the options' bad values are
refused with a message and exit status 2; which funnel, and why, follows the import ledger."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from funnel_reference import GROUPS, STAGES, Expected, expected, raw_of, stage_rows, world
from test_churn_view import load

from analytics.cli import main
from analytics.ingest.pipeline import import_file
from analytics.metrics import funnel_view
from analytics.report import plain
from analytics.scope import Scope
from analytics.store.connection import connect

PERIOD = ["--from", "2023-07", "--to", "2024-06"]
SCOPE = Scope(date(2023, 7, 1), date(2024, 6, 1))


@pytest.fixture(scope="module", name="data")
def data_fixture():
    return world()


@pytest.fixture(scope="module", name="db")
def db_fixture(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("funnel_report")
    load(folder, data[0], data[1]).close()
    return str(folder / "crm.duckdb")


@pytest.fixture(scope="module", name="raw")
def raw_fixture(data):
    return raw_of(data[0], data[1])


def report_json(capsys, db: str, *args: str) -> dict:
    code = main(["--db", db, "report", "funnel", *PERIOD, *args, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def approx(x):
    return pytest.approx(x, abs=1e-12, nan_ok=True)


def assert_figures(report: dict, want: Expected, order: str) -> None:
    """Every figure of ``report`` against the raw rows' (``want``)."""
    stages = pd.DataFrame(report["stages"])
    assert stages["stage"].tolist() == list(STAGES)
    for column in ("members", "continued"):
        assert stages[column].tolist() == want.stages[column].tolist(), column
    for column in ("pct_previous", "pct_first", "conversion", "low", "high"):
        assert stages[column].astype(float).tolist() == approx(want.stages[column].tolist()), column
    assert report["members"] == len(want.ref) and report["definition"]["order"] == order
    assert report["overall"]["value"] == approx(want.overall)
    assert report["definition"]["window_days"] == want.window and report["definition"]["as_of"] == str(want.as_of)
    cohort = report["comparison_cohort"]
    assert [s["members"] for s in cohort["stages"]] == want.comparison["members"].tolist()
    assert cohort["as_of"] == str(want.comparison_as_of)
    before = want.comparison["members"].iloc[-1] / want.comparison["members"].iloc[0]
    assert report["overall_change"] == approx(want.overall - before)
    for grouping in GROUPS:
        got = pd.DataFrame(report["compare"][grouping]).sort_values(["step", "group"], na_position="last")
        ref = want.groups[grouping].sort_values(["step", "group"], na_position="last")
        for column in ("step", "start", "reached", "small"):
            assert got[column].tolist() == ref[column].tolist(), (grouping, column)
        for column in ("rate", "low", "high", "rank"):
            assert got[column].astype(float).tolist() == approx(ref[column].astype(float).tolist()), column
        # listed weakest first within each step, the small groups last
        ranks = pd.DataFrame(report["compare"][grouping])
        for _, part in ranks.groupby("step"):
            assert part["rank"].tolist()[:int(part["rank"].notna().sum())] == list(range(1, part["rank"].notna()
                                                                                           .sum() + 1))
    leak = report["leak"]
    assert (leak["step"], leak["start"], leak["lost"], leak["region"]) == (
        want.leak["step"], want.leak["start"], want.leak["lost"], want.leak["region"])
    assert (leak["lost_share"], leak["region_lost_share"]) == (approx(want.leak["lost_share"]),
                                                              approx(want.leak["region_lost_share"]))
    times = pd.DataFrame(report["times"])
    assert times["from_stage"].tolist() == want.times["from_stage"].tolist()  # (still active has no day)
    assert times["n"].tolist() == want.times["n"].tolist()
    for column in ("median", "q1", "q3"):
        assert times[column].astype(float).tolist() == approx(want.times[column].tolist()), column
    assert [(r["member_id"], r["stage"], r["days_in_stage"]) for r in report["stuck"]] == want.stuck


def test_report_funnel_equals_the_view_and_the_raw_rows(db, raw, capsys):
    report = report_json(capsys, db)
    assert report["period"] == {"start": "2023-07", "end": "2024-06", "months": 12}
    assert report["comparison"] == {"kind": "previous", "start": "2022-07", "end": "2023-06"}
    assert report["options"] == {"order": None, "loyal_min": None, "window_days": None, "stuck_days": None,
                                 "source": None}
    assert report["funnel"]["kind"] == "lifecycle" and report["funnel"]["why"] == "no_leads"
    assert [s["key"] for s in report["funnel"]["stages"]] == list(STAGES)
    assert report["definition"]["loyal_min_purchase_days_12_months"] == 3
    assert report["definition"]["window_source"] == "data" and report["definition"]["stuck_days"] is None
    want = expected(raw, SCOPE)
    assert_figures(report, want, "strict")
    assert want.leak["region"] and len(want.ref) > 300
    con = connect(db)
    try:
        view = funnel_view.load(con, SCOPE)
    finally:
        con.close()
    ours = json.loads(json.dumps(plain(funnel_view.report(view)), ensure_ascii=False, default=str))
    assert {k: v for k, v in report.items() if k in ours} == ours


@pytest.mark.parametrize(("args", "order", "n", "window", "stuck_days", "scope"), [
    (["--order", "any"], "any", 3, None, None, SCOPE),
    (["--order", "strict", "--loyal-min", "5", "--stuck-days", "20"], "strict", 5, None, 20, SCOPE),
    (["--order", "any", "--window-days", "120", "--stuck-days", "15", "--region", "华北"], "any", 3, 120, 15,
     Scope(date(2023, 7, 1), date(2024, 6, 1), regions=("华北",))),
])
def test_each_option_against_the_raw_rows(db, raw, capsys, args, order, n, window, stuck_days, scope):
    report = report_json(capsys, db, *args)
    want = expected(raw, scope, order, n, window, stuck_days)
    assert_figures(report, want, order)
    d = report["definition"]
    assert (d["loyal_min_purchase_days_12_months"], d["stuck_days"]) == (n, stuck_days)
    assert d["window_source"] == ("option" if window else "data")
    if stuck_days:
        assert report["stuck"], "the threshold lists some customers"
        assert {r["threshold"] for r in report["thresholds"]} == {stuck_days}
    if scope.regions:
        assert {r["group"] for r in report["compare"]["region"]} == set(scope.regions)


def test_the_text_report_says_the_figures(db, raw, capsys):
    assert main(["--db", db, "report", "funnel", *PERIOD, "--order", "any"]) == 0
    text = capsys.readouterr().out
    want = expected(raw, SCOPE, "any")
    assert text.startswith("Funnel 2023-07 to 2024-06, compared with 2022-07 to 2023-06 (previous)\n"
                           "lifecycle funnel (no leads file imported); as of ")
    assert "any order; loyal: >= 3 purchase days in 12 months" in text
    members = want.stages["members"].tolist()
    assert f"First purchase    {members[0]:>9,}" in text and f"Still active      {members[3]:>9,}" in text
    leak = want.leak
    names = ("First purchase", "Repeat purchase", "Loyal customers", "Still active")
    assert (f"biggest leak: {names[leak['step'] - 1]} → {names[leak['step']]} loses {leak['lost_share']:.1%} "
            f"({leak['lost']:,} of {leak['start']:,}), worst in {leak['region']} "
            f"({leak['region_lost_share']:.1%})") in text
    # half a year: every region too few at the leaking step, so none is named
    assert main(["--db", db, "report", "funnel", "--from", "2024-01", "--to", "2024-06"]) == 0
    text = capsys.readouterr().out
    leak = expected(raw, Scope(date(2024, 1, 1), date(2024, 6, 1))).leak
    assert leak["region"] is None
    assert (f"biggest leak: Loyal customers → Still active loses {leak['lost_share']:.1%} "
            f"({leak['lost']:,} of {leak['start']:,})\n") in text


@pytest.mark.parametrize(("args", "message"), [
    (["--order", "sideways"], "error: order must be strict or any, not 'sideways'"),
    (["--loyal-min", "0"], "error: loyal_min '0': give a value from 1 to 52"),
    (["--loyal-min", "two"], "error: loyal_min 'two': give a whole number"),
    (["--window-days", "10"], "error: window_days '10': give a value from 30 to 730"),
    (["--stuck-days", "0"], "error: stuck_days '0': give a value from 1 to 3650"),
    (["--stuck-days", "1.5"], "error: stuck_days '1.5': give a whole number"),
    (["--horizon-months", "6"], "error: --horizon-months: the funnel page has no such option"),
])
def test_bad_options_are_refused_with_a_message(db, capsys, args, message):
    code = main(["--db", db, "report", "funnel", *PERIOD, *args])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "") and err.strip() == message


def test_the_loader_refuses_what_the_page_would_not_ask_for(db):
    con = connect(db)
    try:
        for options, message in (({"order": "loose"}, "order must be strict or any"),
                                 ({"window_days": 731}, "window_days must be 30 to 730 days, not 731"),
                                 ({"stuck_days": 0}, "stuck_days must be 1 to 3650 days, not 0")):
            with pytest.raises(funnel_view.OptionError, match=message):
                funnel_view.load(con, SCOPE, **options)
    finally:
        con.close()


def test_which_funnel_follows_the_stored_leads(tmp_path, data):
    """Without a lead stored the page shows the lifecycle funnel and says no leads file was imported; with one
    (a committed leads import) the leads funnel."""
    con = load(tmp_path, data[0].head(200), data[1])
    try:
        assert funnel_view.which(con) == ("lifecycle", "no_leads")
        (tmp_path / "leads.csv").write_text("lead_id,created_date,stage,region\nL1,2024-02-01,线索,华北\n",
                                            encoding="utf-8")
        report = import_file(con, tmp_path / "leads.csv", kind="leads", commit=True)
        assert report.rows_imported == 1
        assert funnel_view.which(con) == ("leads", "leads")
        view = funnel_view.load(con, SCOPE)
        assert (view.kind, view.why, view.window_days, view.members) == ("leads", "leads", None, 1)
        assert view.timed == view.stages and view.leads is not None and view.leads.cohort == 1
    finally:
        con.close()


def test_an_empty_cohort_and_a_tiny_one(db):
    con = connect(db)
    try:
        nobody = funnel_view.load(con, Scope(date(2021, 1, 1), date(2021, 6, 1)))
        assert nobody.empty and not nobody.tiny and nobody.funnel.leak is None
        report = json.loads(json.dumps(plain(funnel_view.report(nobody)), default=str))
        assert report["members"] == 0 and report["overall"]["value"] is None and report["leak"] is None
        few = funnel_view.load(con, Scope(date(2024, 3, 1), date(2024, 3, 1), regions=("华北",)))
        assert few.tiny and 0 < few.members < funnel_view.TINY
    finally:
        con.close()


@pytest.mark.parametrize(("sources", "order"), [(("线上",), "strict"), (("门店", "推荐"), "any")])
def test_the_source_option_keeps_the_customers_of_those_acquisition_channels(db, raw, capsys, sources, order):
    """``--source``: the lifecycle funnel of the customers whose acquisition channel is one of them, the comparison
    period's cohort alike; the stage counts against the raw rows' (tests/funnel_reference.py)."""
    report = report_json(capsys, db, "--source", ",".join(sources), "--order", order)
    assert report["definition"]["sources"] == list(sources) and report["leads"] is None
    want = expected(raw, SCOPE, order)
    channel = raw.who["acquisition_channel"]

    def kept(ref: pd.DataFrame) -> pd.DataFrame:
        return ref[channel.reindex(ref["member_id"]).isin(sources).to_numpy()].reset_index(drop=True)

    rows = stage_rows(kept(want.ref), order)
    stages = pd.DataFrame(report["stages"])
    assert stages["members"].tolist() == rows["members"].tolist() and 0 < rows["members"].iloc[0] < len(want.ref)
    for column in ("pct_previous", "pct_first", "conversion", "low", "high"):
        assert stages[column].astype(float).tolist() == approx(rows[column].astype(float).tolist()), column
    sources_shown = {r["group"] for r in report["compare"]["source"]}
    assert sources_shown <= set(sources)
    assert report["members"] == int(rows["members"].iloc[0])
