"""The tier filter in the sidebar through Streamlit's AppTest: kept in the address as ``tier=`` (a tier that is not
one of the pyramid's, as in a tampered link, is dropped), the names in the page's language, the cut points from
the metric settings, and the overview of those customers for the local user and for a sales manager (the figures
themselves against pandas: tests/test_tier_filter.py); each of the app's loaders ranks the tiers once (its snapshot's
table, tests/test_tier_filter_snapshot.py)."""

from __future__ import annotations

import pytest
from app_util import NORTH_MANAGER, open_app
from test_churn_view import load
from test_tier_filter import CUSTOMERS, CUTS, SALES, overview_figures, scope
from test_tier_filter_snapshot import RANKING

from analytics.scope import TIER_NAMES
from analytics.store import connection as db
from analytics.store import settings
from ui.formats import fmt_pct
from ui.i18n import LANGUAGES, t
from ui.widgets import kpi_value

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
URL = {"from": "2024-01", "to": "2024-06"}


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """The hand-made fixture of tests/test_tier_filter.py with its cut points saved as the metric setting."""
    folder = tmp_path_factory.mktemp("app_tier_filter")
    con = load(folder, SALES, CUSTOMERS)
    settings.save(con, {"tier_cuts": list(CUTS)})
    con.close()
    return folder / "crm.duckdb"


def shown(at, kpi: str, lang: str) -> str:
    return next(m.value for m in at.metric if m.label == t(f"kpi_{kpi}", lang))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_tier_filter_from_the_address(monkeypatch, database, lang):
    """``?tier=gold&tier=diamond``: gold is chosen, diamond (no tier of the pyramid) dropped from the widget and the
    address; the scope carries the settings' cut points; the overview shows gold's customers only."""
    at = open_app(monkeypatch, database, lang=lang, **URL, tier=["gold", "diamond"])
    widget = at.sidebar.multiselect(key="tier")
    assert widget.value == ["gold"]
    assert widget.options == [t(f"filter_tier_{name}", lang) for name in TIER_NAMES]
    assert widget.label == t("filter_tier", lang)
    assert all(fmt_pct(c, lang, 0) in widget.help for c in CUTS)
    assert at.query_params["tier"] == "gold"
    assert at.session_state["_scope"] == scope(("gold",))
    expected = overview_figures(("gold",), scope(("gold",)))
    assert shown(at, "revenue", lang) == kpi_value("revenue", expected["revenue_now"], lang, "CNY")
    assert shown(at, "active_customers", lang) == kpi_value("active_customers", expected["active_now"], lang, "CNY")


def test_several_tiers_and_none(monkeypatch, database):
    at = open_app(monkeypatch, database, lang="en", **URL, tier=["gold", "platinum"])
    assert sorted(at.sidebar.multiselect(key="tier").value) == ["gold", "platinum"]
    assert at.session_state["_scope"].tiers == ("platinum", "gold")
    assert shown(at, "active_customers", "en") == "3"  # A01, A02, A03
    at = open_app(monkeypatch, database, lang="en", **URL, tier="diamond")
    assert at.sidebar.multiselect(key="tier").value == []
    assert at.session_state["_scope"].tiers == () and "tier" not in at.query_params


def test_a_sales_managers_tiers(monkeypatch, database, tmp_path):
    """A manager of 华北: iron among 华北's customers alone is A03 (for everyone it is A04, A05, A06)."""
    access = tmp_path / "access.toml"
    access.write_text(NORTH_MANAGER, encoding="utf-8")
    at = open_app(monkeypatch, database, email="north@example.com", access=access, lang="en", **URL, tier="iron")
    assert at.session_state["_scope"] == scope(("iron",), allowed_regions=("华北",))
    assert shown(at, "active_customers", "en") == "1"
    assert shown(at, "revenue", "en") == kpi_value("revenue", 500.0, "en", "CNY")


def test_each_loader_ranks_the_tiers_once(monkeypatch, tmp_path):
    """The overview, then the tiers page, with platinum + gold: every ranking DuckDB runs (its query log) makes a
    snapshot's table, none runs inside a figure's query, and there are no more rankings than snapshots (one per
    loader call, where each query ranked again before); the figures are those customers' (pandas)."""
    con = load(tmp_path, SALES, CUSTOMERS)  # (a database of its own: the log is switched on before it is confined)
    settings.save(con, {"tier_cuts": list(CUTS)})
    con.close()
    opened = []

    def confine(con, folders):
        con.execute("call enable_logging('QueryLog')")
        opened.append(con)
        real(con, folders)

    real = db.confine
    monkeypatch.setattr(db, "confine", confine)
    at = open_app(monkeypatch, tmp_path / "crm.duckdb", lang="en", **URL, tier=["platinum", "gold"])
    expected = overview_figures(("platinum", "gold"), scope(("platinum", "gold")))
    assert shown(at, "revenue", "en") == kpi_value("revenue", expected["revenue_now"], "en", "CNY")
    at.switch_page("pages/tiers.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    (app,) = opened
    logged = [m for (m,) in app.execute("select message from duckdb_logs where type = 'QueryLog'").fetchall()]
    ranked = [m for m in logged if RANKING in m]
    assert ranked and all(m.startswith("create temp table snapshot_once_") for m in ranked)
    assert len(ranked) <= sum(m == "begin transaction" for m in logged)
