"""``python -m analytics report satisfaction``: the page's figures (tests/test_app_satisfaction.py's seeded world)
printed as JSON and as text, computed by the page's loader: the months and the comparison period in the head, the
period's CSAT, the quadrants at the threshold given, complaints and loyalty, each against the raw rows
(tests/test_satisfaction.py, tests/test_complaints.py and tests/test_loyalty.py's references)."""

from __future__ import annotations

import json

import pytest
import satisfaction_fixture as sf
from test_app_satisfaction import AS_OF, QUADRANTS, db_fixture, quadrant_of, world_fixture  # noqa: F401
from test_complaints import Reference
from test_loyalty import Raw
from test_satisfaction import expected, reference_surveyed

from analytics.cli import main
from analytics.scope import Scope


def test_report_satisfaction_prints_the_pages_figures(db, world, capsys):
    code = main(["--db", str(db), "report", "satisfaction", "--from", "2024-01", "--to", "2024-12",
                 "--loyal-min", "4", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["period"] == {"start": "2024-01", "end": "2024-12", "months": 12}
    assert report["comparison"] == {"kind": "previous", "start": "2023-01", "end": "2023-12"}
    want = expected(world[2], sf.PERIOD_START, sf.END)
    assert report["figures"]["period"]["csat"]["n"] == want["csat_n"]
    assert report["figures"]["period"]["csat"]["value"] == pytest.approx(want["csat"][0])
    ref = reference_surveyed(world, 4)
    cells = quadrant_of(ref)
    assert {r["quadrant"]: r["customers"] for r in report["gap"]["quadrants"]} == {
        q: int((cells == q).sum()) for q in QUADRANTS}
    complaints = Reference(world[:3], Scope(sf.PERIOD_START, sf.PERIOD_END), 7).figures(sf.PERIOD_START,
                                                                                     sf.PERIOD_END, AS_OF)
    assert report["complaints"]["period"]["complaints"] == complaints["complaints"]
    assert report["complaints"]["period"]["per_1000"] == pytest.approx(complaints["per_1000"])
    raw = Raw(world[0], world[1])
    loyal = raw.figures(sf.PERIOD_END, raw.members(Scope(sf.PERIOD_START, sf.PERIOD_END)), 4)
    assert report["loyalty"]["period"]["loyal_share"] == pytest.approx(loyal["loyal_share"])
    assert main(["--db", str(db), "report", "satisfaction", "--from", "2024-01", "--to", "2024-12"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Satisfaction & loyalty 2024-01 to 2024-12, compared with 2023-01 to 2023-12")
    assert f"surveyed customers {len(reference_surveyed(world, 3)):,}" in text
    assert f"complaints {complaints['complaints']:,}:" in text and "loyalty: " in text
