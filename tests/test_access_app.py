"""Who sees what, through the whole app (AppTest): each role × each page × URL tampering ×
the tables behind the downloads × several users served by one process.

The matrix reads the page registry (:data:`analytics.pages.PAGES`): every user of the
access file on every registered page, so a page is covered the moment it is registered
(``pytest --dummy-page`` shows it with a test-only page). Every table a page offers for
download is caught on its way to the CSV or Excel file (the ``downloads`` fixture).

The app runs with an ``[auth]`` section in its secrets (so the login gate is on) and an
access file of the test's own (``CRM_ACCESS_FILE``); ``AppTest.user`` plays the identity
provider's answer. Expected figures are :func:`analytics.metrics.overview.overview` for the
user's scope (``tests/test_overview.py`` checks those against pandas); what must never show
is checked on the page's whole text, tables included.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from app_util import AUTH, page_text, spy_downloads
from overview_fixture import load_fixture
from streamlit.testing.v1 import AppTest

from analytics import pages
from analytics import scope as gate
from analytics.access import Access
from analytics.metrics import overview as ov
from analytics.scope import Scope
from analytics.store.connection import connect
from ui.i18n import md_literal, t
from ui.widgets import kpi_value

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
ACCESS = """
[users."ceo@example.com"]
role = "executive"

[users."north@example.com"]
role = "sales_manager"
regions = ["华北"]

[users."South.West@Example.com"]
role = "sales_manager"
regions = ["华南", "西南"]

[users."analyst@example.com"]
role = "analyst"

[users."admin@example.com"]
role = "admin"
"""
#: user → the regions they may see (None: all)
USERS: dict[str, tuple[str, ...] | None] = {
    "ceo@example.com": None,
    "north@example.com": ("华北",),
    "south.west@example.com": ("华南", "西南"),
    "analyst@example.com": None,
    "admin@example.com": None,
}
ALL_REGIONS = ("华东", "华北", "华南", "西南")
CAN_IMPORT = {"analyst@example.com", "admin@example.com"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, ov.Overview]]:
    """The fixture database, the access file, and each user's expected default overview."""
    folder = tmp_path_factory.mktemp("access_app")
    path = folder / "t.duckdb"
    access = folder / "access.toml"
    access.write_text(ACCESS, encoding="utf-8")
    con = connect(path)
    try:
        load_fixture(con, folder)
        expected = {user: ov.overview(con, gate.default_scope(con, allowed)) for user, allowed in USERS.items()}
    finally:
        con.close()
    return path, access, expected


def app_as(monkeypatch: pytest.MonkeyPatch, world, email: str | None, page: str | None = None,
           **params: str | list[str]) -> AppTest:
    """The app as ``email`` (None: a visitor who has not logged in), in English, opened at the address of ``page``
    (a script whose stem is its address; default ``/``, the overview)."""
    path, access, _ = world
    monkeypatch.setenv("CRM_DB", str(path))
    monkeypatch.setenv("CRM_ACCESS_FILE", str(access))
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets = json.loads(json.dumps(AUTH))
    at.user = {"is_logged_in": False} if email is None else {"is_logged_in": True, "email": email}
    at.session_state["lang"] = params.pop("lang", "en")
    for key, value in params.items():
        at.query_params[key] = value
    if page is not None:
        at.switch_page(page)  # (before the first run: the page's own address, as a link opens it)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.fixture(scope="module")
def landing(world):
    """``app_as(world, email)`` (the app opened at ``/`` as each user) run once per user, for the tests that only
    read what it drew or ask its navigation."""
    @functools.cache
    def run(email: str) -> AppTest:
        with pytest.MonkeyPatch.context() as monkeypatch:
            return app_as(monkeypatch, world, email)

    return run


def shown_regions(at: AppTest) -> set[str]:
    """The regions in the revenue-by-region table (the one the downloads are made from)."""
    col = t("col_region", "en")
    return {r for df in at.dataframe if col in df.value.columns for r in df.value[col]}


def tiles(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


# ------------------------------------------------------------------------- the login gate


def test_a_visitor_who_has_not_logged_in_sees_only_the_login_screen(monkeypatch, world):
    at = app_as(monkeypatch, world, None)
    assert [x.value for x in at.title] == [t("login_title", "en")]
    assert [b.label for b in at.button] == [t("login_button", "en")]
    assert not at.metric and not at.dataframe and not at.sidebar.multiselect
    assert not any(r in page_text(at) for r in ALL_REGIONS)


@pytest.mark.parametrize("params", [{}, {"region": "华东"}], ids=["plain", "tampered"])
def test_a_logged_in_user_not_in_the_access_file_sees_nothing(monkeypatch, world, params):
    at = app_as(monkeypatch, world, "stranger@example.com", **params)
    assert [x.value for x in at.title] == [t("no_access_title", "en")]
    assert t("no_access_body", "en", email=md_literal("stranger@example.com")) in page_text(at)
    assert not at.metric and not at.dataframe and not at.sidebar.multiselect
    assert not any(r in page_text(at) for r in ALL_REGIONS)
    assert [b.label for b in at.button] == [t("logout", "en")]


def test_an_email_claim_is_shown_as_text(monkeypatch, world):
    at = app_as(monkeypatch, world, "[x](javascript:alert(1))<b>@example.com")
    body = at.info[0].value
    assert md_literal("[x](javascript:alert(1))<b>@example.com") in body
    assert re.search(r"(?<!\\)\]\(", body) is None, "a link would be made"


def test_an_unverified_email_is_not_trusted(monkeypatch, world):
    path, access, _ = world
    monkeypatch.setenv("CRM_DB", str(path))
    monkeypatch.setenv("CRM_ACCESS_FILE", str(access))
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets = json.loads(json.dumps(AUTH))
    at.user = {"is_logged_in": True, "email": "ceo@example.com", "email_verified": False}
    at.session_state["lang"] = "en"
    at.run()
    assert [x.value for x in at.title] == [t("no_access_title", "en")]
    assert not at.metric


def test_a_broken_access_file_lets_nobody_in(monkeypatch, world, tmp_path):
    broken = tmp_path / "access.toml"
    broken.write_text('[users."ceo@example.com"]\nrole = "emperor"\n', encoding="utf-8")
    path, _, _ = world
    at = app_as(monkeypatch, (path, broken, None), "ceo@example.com")
    assert [x.value for x in at.title] == [t("access_file_broken_title", "en")]
    assert not at.metric and not at.dataframe


# ---------------------------------------------------------------- each role on each page


@pytest.mark.parametrize("email", list(USERS))
def test_each_user_sees_their_scope_on_the_overview(world, landing, email):
    _, _, expected = world
    at = landing(email)
    view = expected[email]
    allowed = USERS[email]
    assert tiles(at) == {t(f"kpi_{name}", "en"): kpi_value(name, view.kpis[name].value, "en", "CNY")
                         for name in ov.KPIS if name in view.kpis}
    assert shown_regions(at) == set(view.by_region["region"].replace("", t("unknown_region", "en")))
    if allowed is not None:
        assert shown_regions(at) <= set(allowed)
        assert at.sidebar.multiselect(key="region").options == sorted(allowed)
        hidden = [r for r in ALL_REGIONS if r not in allowed]
        assert not [r for r in hidden if r in page_text(at)], "another region's name is on the page"
    sidebar = "\n".join(c.value for c in at.sidebar.caption)
    assert md_literal(email).lower() in sidebar.lower() and t(f"role_{_role(email)}", "en") in sidebar


def _role(email: str) -> str:
    return {"ceo@example.com": "executive", "analyst@example.com": "analyst",
            "admin@example.com": "admin"}.get(email, "sales_manager")


@pytest.mark.parametrize("email", list(USERS))
def test_only_analysts_and_admins_get_the_data_page(monkeypatch, world, landing, email):
    if email not in CAN_IMPORT:  # not in the navigation at all: no link, no URL that reaches it
        at = landing(email)
        links = [p.proto for p in at.get("page_link")]
        assert links and not [x for x in links if "data" in x.page]  # (the overview links to the tiers page)
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page("pages/data.py")
        assert not any(b.label == t("load_demo", "en") for b in at.button)
        return
    at = open_page(monkeypatch, world, email, "data")
    assert [x.value for x in at.title] == [t("data_title", "en")]
    assert at.get("file_uploader")


def test_the_data_page_run_without_the_frame_shows_nothing(monkeypatch, world):
    """Defence in depth: the page script itself refuses when the frame granted no access."""
    path, _, _ = world
    monkeypatch.setenv("CRM_DB", str(path))
    at = AppTest.from_file(str(Path(APP).parent / "pages" / "data.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value in {t("page_not_allowed", lang) for lang in ("zh", "en")}
    assert not at.get("file_uploader") and not at.dataframe and not at.button


@pytest.mark.parametrize(("email", "editable"), [("analyst@example.com", False), ("admin@example.com", True)])
def test_only_an_admin_can_change_the_settings(monkeypatch, world, email, editable):
    at = open_page(monkeypatch, world, email, "data")
    at.session_state["data_tab"] = t("data_tab_settings", "en")
    at.run()
    assert not at.exception
    churn = at.number_input(key="data_set_churn")
    assert churn.disabled is (not editable)
    assert (t("data_settings_admin_only", "en") in page_text(at)) is (not editable)


# ------------------------------------------- the matrix: every role × every registered page


def matrix_cases() -> list[tuple[str, str]]:
    """(user, page) for every user of the access file and every page in the registry."""
    return [(email, page.key) for email in USERS for page in pages.PAGES]


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[pd.DataFrame]:
    """Every table the run offers as a download (:func:`app_util.spy_downloads`)."""
    return spy_downloads(monkeypatch)


def hidden_regions(email: str) -> list[str]:
    allowed = USERS[email]
    return [] if allowed is None else [r for r in ALL_REGIONS if r not in allowed]


def assert_nothing_hidden(at: AppTest, email: str, offered: list[pd.DataFrame]) -> None:
    """No region the user may not see is anywhere on the page or in any download."""
    hidden = hidden_regions(email)
    text = page_text(at)
    assert not [r for r in hidden if r in text], "another region's name is on the page"
    files = "\n".join(df.to_csv() for df in offered)
    assert not [r for r in hidden if r in files], "another region's name is in a download"


def open_page(monkeypatch: pytest.MonkeyPatch, world, email: str, key: str, **params) -> AppTest:
    """The app as ``email`` on page ``key``: opened at the page's own address, as a link does (no overview drawn
    first); a page whose script is not named as its address (``--dummy-page``'s) through the navigation, as a click
    does. Either way the page is in the user's navigation and is the page drawn."""
    script = pages.get(key).script
    direct = Path(script).stem == key
    at = app_as(monkeypatch, world, email, page=script if direct else None, **params)
    if not direct:
        at.switch_page(script)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
    at.switch_page(script)  # (not run: raises unless the user's navigation has the page)
    assert at._page_hash == at._finished_page_script_hash, "the run drew another page than the one asked for"
    return at


@pytest.mark.parametrize(("email", "key"), matrix_cases())
def test_every_role_on_every_page(monkeypatch, world, landing, downloads, email, key):
    """A page the user's role may open: reachable, drawn without error, nothing of another
    region on it or in its downloads. Any other page: not in the navigation (no link, no
    address reaches it), and its script refuses on its own even with a session that has
    the user's access."""
    page = pages.get(key)
    role = _role(email)
    if page.allows(role):
        at = open_page(monkeypatch, world, email, key)
        assert t("page_not_allowed", "en") not in {e.value for e in at.error}
        assert at.title, "the page drew nothing"
        assert_nothing_hidden(at, email, downloads)
        if key in ("overview", "value"):  # pages with tables to download: the spy sees their files
            assert downloads, "no download was written"
        return
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        landing(email).switch_page(page.script)
    alone = AppTest.from_file(str(ROOT / page.script), default_timeout=60)
    alone.session_state["_access"] = Access(email, role, USERS[email])  # what ui.session.gate stores
    alone.run()
    assert not alone.exception
    assert len(alone.error) == 1 and alone.error[0].value in {t("page_not_allowed", lang) for lang in ("zh", "en")}
    assert not alone.dataframe and not alone.metric and not alone.get("file_uploader")


TAMPERING = [
    {"region": "华东"},
    {"region": ["华北", "华东"]},
    {"region": "' or 1=1 --"},
    {"region": "华东", "from": "2023-01", "to": "2024-09"},
]


def tampering_pages() -> list[str]:
    """The registered pages a sales manager may open that the filters apply to."""
    return [p.key for p in pages.PAGES if p.scoped and p.allows("sales_manager")]


@pytest.mark.parametrize("tampered", TAMPERING, ids=["other", "own_and_other", "sql", "other_and_period"])
@pytest.mark.parametrize("key", tampering_pages())
def test_url_values_outside_a_managers_regions_show_nothing_of_them_on_any_page(monkeypatch, world, downloads,
                                                                                key, tampered):
    at = open_page(monkeypatch, world, "north@example.com", key, **tampered)
    assert_nothing_hidden(at, "north@example.com", downloads)
    assert at.sidebar.multiselect(key="region").value in ([], ["华北"])


# ------------------------------------------------------------------------- URL tampering


def test_a_scope_outside_the_allowed_regions_reads_nothing(world):
    """Below the widgets: the gate itself, should a crafted scope reach it."""
    path, _, _ = world
    con = connect(path)
    try:
        view = ov.overview(con, Scope(date(2024, 3, 1), date(2024, 8, 1), regions=("华东",), allowed_regions=("华北",)))
    finally:
        con.close()
    assert view.kpis["revenue"].value == 0 and view.by_region.empty


# ------------------------------------------------------------ users of one server process


def test_users_served_by_one_process_never_get_each_others_results(monkeypatch, world):
    """One process, one cache: sessions interleaved, each sees exactly their own figures."""
    _, _, expected = world
    order = ["north@example.com", "ceo@example.com", "south.west@example.com", "north@example.com",
             "ceo@example.com", "south.west@example.com"]
    seen: dict[str, list[tuple]] = {}
    for email in order:  # no cache clearing in between: the second round is served from the cache
        at = app_as(monkeypatch, world, email)
        seen.setdefault(email, []).append((tuple(sorted(tiles(at).items())), frozenset(shown_regions(at))))
    for email, runs in seen.items():
        view = expected[email]
        want = tuple(sorted({t(f"kpi_{n}", "en"): kpi_value(n, view.kpis[n].value, "en", "CNY")
                             for n in ov.KPIS if n in view.kpis}.items()))
        assert [r[0] for r in runs] == [want, want], email
    assert len({runs[0][0] for runs in seen.values()}) == 3, "the three users' figures differ on the fixture"


@pytest.mark.parametrize(("email", "offers_demo"), [("ceo@example.com", False), ("north@example.com", False),
                                                    ("analyst@example.com", True)])
def test_on_an_empty_database_only_those_who_import_are_offered_the_demo(monkeypatch, world, tmp_path, email,
                                                                         offers_demo):
    _, access, _ = world
    at = app_as(monkeypatch, (tmp_path / "empty.duckdb", access, None), email)
    assert [x.value for x in at.title] == [t("empty_db_title", "en")]
    assert any(b.label == t("load_demo", "en") for b in at.button) is offers_demo
    assert (t("empty_db_ask_analyst", "en") in page_text(at)) is not offers_demo
    assert not at.metric
