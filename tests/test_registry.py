"""The page registry (analytics/pages.py): its rules, and that registering a page is all it
takes for the navigation, the role check, ``report``, the access matrix and the browser smoke
test to cover it (shown with the test-only page of ``tests/dummy_page.py``).

``pytest --dummy-page`` runs the whole suite with that page registered: the access matrix
and the smoke test then open it for every role, in both languages, on a laptop and a phone.
"""

from __future__ import annotations

import json
from pathlib import Path

import dummy_page
import pandas as pd
import pytest
import test_access_app
import test_browser
from overview_fixture import TRANSACTIONS, TX_COLUMNS, load_fixture
from streamlit.testing.v1 import AppTest

from analytics import pages
from analytics.access import ROLES
from analytics.cli import main
from analytics.store.connection import connect
from ui.i18n import LANGUAGES, t

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def page(key: str = "x", **changes) -> pages.Page:
    fields = {"key": key, "title": "app_title", "icon": ":material/science:", "script": f"pages/{key}.py",
              "roles": frozenset(ROLES), "load": dummy_page.revenue_by_region, "report": dummy_page.report,
              "text": dummy_page.report_lines, "label": key.title()}
    return pages.Page(**(fields | changes))


# ----------------------------------------------------------------------- the registry's rules


def test_every_registered_page_has_its_script_and_its_title_in_both_languages():
    # (and the test-only page with --dummy-page)
    assert pages.all_keys()[:8] == ("overview", "value", "churn", "satisfaction", "tiers", "funnel", "customer",
                                    "data")
    for p in pages.PAGES:
        assert (ROOT / p.script).is_file(), p.script
        # a fresh server's first request goes through Streamlit's folder-based navigation,
        # which knows only pages/ (the test-only page aside)
        assert p.script == f"pages/{p.key}.py" or p is dummy_page.PAGE
        assert all(t(p.title, lang) for lang in LANGUAGES)
    assert pages.default().key == "overview"


@pytest.mark.parametrize(("registry", "message"), [
    ([page("a", default=True), page("a", script="pages/b.py")], "two pages have the key a"),
    ([page("a", default=True), page("b", script="pages/a.py")], "two pages have the script pages/a.py"),
    ([page("a"), page("b")], "exactly one page must be the default, not none"),
    ([page("a", default=True), page("b", default=True)], r"exactly one page must be the default, not \['a', 'b'\]"),
    ([page("a", default=True, roles=frozenset({"admin"}))], "must be open to every role"),
    ([page("a", default=True), page("b", roles=frozenset({"analyst"}))], "open to admins .* not b"),
])
def test_the_registry_refuses_what_would_break_the_app(registry, message):
    with pytest.raises(ValueError, match=message):
        pages.check(registry)


@pytest.mark.parametrize(("changes", "message"), [
    ({"key": "Churn Rate"}, "it is a URL path"),
    ({"roles": frozenset()}, "roles must be some of"),
    ({"roles": frozenset({"boss"})}, "roles must be some of"),
    ({"script": "pages/x.ipynb"}, "must be a .py file"),
])
def test_a_page_entry_is_checked(changes, message):
    with pytest.raises(ValueError, match=message):
        page(**changes)


def test_an_unknown_page_names_the_pages():
    with pytest.raises(KeyError, match="no page 'nope'; the pages are overview, value, churn, satisfaction, tiers, "
                                       "funnel, customer, data"):
        pages.get("nope")


# ------------------------------------------------ one registration, every consumer covers it


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> pages.Page:
    """The test-only page registered for this test (nothing else edited; already there with
    ``--dummy-page``)."""
    if dummy_page.PAGE.key not in pages.all_keys():
        monkeypatch.setattr(pages, "PAGES", pages.check((*pages.PAGES, dummy_page.PAGE)))
    return dummy_page.PAGE


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("registry")
    path = folder / "t.duckdb"
    con = connect(path)
    try:
        load_fixture(con, folder)
    finally:
        con.close()
    return path


def expected_revenue_by_region(first: str, last: str, regions: set[str] | None = None) -> dict[str, float]:
    """From the raw fixture rows, with pandas: revenue per region of the months first..last."""
    rows = pd.DataFrame(TRANSACTIONS, columns=TX_COLUMNS)
    month = rows["order_date"].str[:7]
    rows = rows[(month >= first) & (month <= last)].fillna({"region": ""})
    if regions is not None:
        rows = rows[rows["region"].isin(regions)]
    return rows.groupby("region")["amount"].sum().astype(float).to_dict()


def test_the_access_matrix_and_the_smoke_test_cover_a_registered_page(registered):
    assert {(email, "dummy") for email in test_access_app.USERS} <= set(test_access_app.matrix_cases())
    assert "dummy" in test_access_app.tampering_pages() or not registered.allows("sales_manager")
    assert {(lang, size) for key, lang, size in test_browser.smoke_cases() if key == "dummy"} == {
        (lang, size) for lang in LANGUAGES for size in (test_browser.DESKTOP, test_browser.PHONE)}
    assert test_browser.docs_folder() == test_browser.SCREENSHOTS  # the app's own screenshots stay as they are


@pytest.mark.parametrize("email", list(test_access_app.USERS))
def test_a_registered_page_is_in_the_navigation_of_its_roles_only(registered, fixture_db, monkeypatch, tmp_path,
                                                                   email):
    access = tmp_path / "access.toml"
    access.write_text(test_access_app.ACCESS, encoding="utf-8")
    at = test_access_app.app_as(monkeypatch, (fixture_db, access, None), email)
    role = test_access_app._role(email)
    if not registered.allows(role):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(registered.script)
        return
    at.switch_page(registered.script)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    (table,) = at.dataframe
    shown = dict(zip(table.value["region"], table.value["revenue"], strict=True))
    # the default period: the 12 months up to the fixture's last sale (Sep 2024)
    assert shown == pytest.approx(expected_revenue_by_region("2023-10", "2024-09", test_access_app.USERS[email]))


def test_report_prints_a_registered_page(registered, fixture_db, capsys, tmp_path):
    db = str(fixture_db)
    code = main(["--db", db, "report", "dummy", "--from", "2024-03", "--to", "2024-08", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["page"] == "dummy" and report["period"]["months"] == 6
    shown = {r["region"]: r["revenue"] for r in report["by_region"]}
    assert shown == pytest.approx(expected_revenue_by_region("2024-03", "2024-08"))
    access = tmp_path / "access.toml"
    access.write_text(test_access_app.ACCESS, encoding="utf-8")
    code = main(["--db", db, "report", "dummy", "--user", "north@example.com", "--access-file", str(access)])
    assert code == 1 and "may not open the dummy page" in capsys.readouterr().err
    assert main(["--db", db, "report", "dummy", "--from", "2024-03", "--to", "2024-08"]) == 0
    assert capsys.readouterr().out.startswith("Dummy 2024-03 to 2024-08, compared with 2023-09 to 2024-02")


def test_a_registered_page_script_refuses_a_role_it_does_not_name(registered, fixture_db, monkeypatch):
    monkeypatch.setenv("CRM_DB", str(fixture_db))
    at = AppTest.from_file(str(ROOT / registered.script), default_timeout=60)
    at.session_state["_access"] = test_access_app.Access("north@example.com", "sales_manager", ("华北",))
    at.run()
    assert not at.exception and len(at.error) == 1 and not at.dataframe
