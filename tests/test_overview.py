"""The overview's figures against an independent pandas computation on a hand-made fixture."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from overview_fixture import (
    con_fixture,  # noqa: F401 (the con fixture)
    load_fixture,
)
from overview_reference import (
    REF,
    Spec,
    assert_by_region,
    assert_highlights,
    assert_kpis,
    assert_trend,
    expected_by_region,
    expected_data_through,
    expected_highlights,
    expected_kpis,
    expected_trend,
)

from analytics import scope as gate
from analytics.ingest.pipeline import import_file
from analytics.metrics import overview as ov
from analytics.store.connection import connect

# ------------------------------------------------------------------ the fixture, by hand


def test_reference_matches_hand_counts_for_the_main_scope():
    """The pandas reference itself, checked against figures worked out by hand (see
    ``overview_fixture``'s docstring), so a mistake in it cannot hide one in the code under test."""
    k = expected_kpis(REF, Spec("2024-03", "2024-08"))
    assert k["revenue"] == {"value": 2370.0, "previous": 1010.0, "change": pytest.approx(2370 / 1010 - 1)}
    assert (k["orders"]["value"], k["orders"]["previous"]) == (8, 5)
    assert k["aov"]["value"] == pytest.approx(2460 / 8)
    assert (k["active_customers"]["value"], k["active_customers"]["previous"]) == (5, 4)
    assert (k["new_customers"]["value"], k["new_customers"]["previous"]) == (2, 3)
    assert k["repeat_rate"]["value"] == pytest.approx(0.4)
    assert k["repeat_rate"]["change"] == pytest.approx(0.15)
    trend = expected_trend(REF, Spec("2024-03", "2024-08"))
    current = trend[trend["period"] == "current"]
    assert current["revenue"].tolist() == [160, 400, 0, 40, 1500, 270]
    assert current["orders"].tolist() == [1, 2, 0, 1, 2, 2]
    assert current["active_customers"].tolist() == [1, 1, 0, 1, 2, 2]
    regions = expected_by_region(REF, Spec("2024-03", "2024-08"))
    assert regions["region"].tolist() == ["西南", "华北", "华南", "华东", ""]
    assert regions["revenue"].tolist() == [1000, 500, 460, 340, 70]
    assert expected_highlights(REF, Spec("2024-03", "2024-08"))[1:3] == [("region_up", "华北"),
                                                                          ("region_down", "华南")]
    # 华北: C2's 华北 row is revenue there, but C2 (home 华东) is no 华北 customer
    north = expected_kpis(REF, Spec("2024-03", "2024-08", regions=("华北",)))
    assert (north["revenue"]["value"], north["active_customers"]["value"]) == (500.0, 1)


def test_main_scope_figures_by_hand(con):
    view = ov.overview(con, Spec("2024-03", "2024-08").scope(), with_churn=False)  # churn: test_overview_churn.py
    k = view.kpis
    assert (k["revenue"].value, k["orders"].value, k["active_customers"].value, k["new_customers"].value) == (
        2370.0, 8, 5, 2)
    assert k["aov"].value == pytest.approx(307.5)
    assert k["repeat_rate"].value == pytest.approx(0.4)
    assert k["repeat_rate"].n == 5
    may = view.trend[(view.trend["period"] == "current") & (view.trend["position"] == 3)].iloc[0]
    assert (may["month"].month, may["revenue"], may["orders"], may["active_customers"]) == (5, 0, 0, 0)
    assert [(h.kind, h.values.get("region")) for h in view.highlights] == [
        ("revenue_change", None), ("region_up", "华北"), ("region_down", "华南"),
        ("new_customers_change", None), ("repeat_rate_change", None)]


# ------------------------------------------------------------------ every scope against pandas


SCOPES = [
    pytest.param(Spec("2024-03", "2024-08"), id="all-previous"),
    pytest.param(Spec("2024-03", "2024-08", "last_year"), id="all-last_year"),
    pytest.param(Spec("2024-03", "2024-08", "none"), id="all-none"),
    pytest.param(Spec("2023-11", "2024-02", "last_year"), id="across-new-year-last_year"),
    pytest.param(Spec("2024-01", "2024-04"), id="across-new-year-previous"),
    pytest.param(Spec("2024-04", "2024-04"), id="one-month"),
    pytest.param(Spec("2024-03", "2024-08", regions=("华北",)), id="region"),
    pytest.param(Spec("2024-03", "2024-08", regions=("华北", "华南")), id="two-regions"),
    pytest.param(Spec("2024-03", "2024-08", channels=("门店",)), id="channel-store"),
    pytest.param(Spec("2024-03", "2024-08", channels=("天猫",)), id="channel-online"),
    pytest.param(Spec("2024-03", "2024-08", regions=("华东",), channels=("天猫",)), id="region-and-channel"),
    pytest.param(Spec("2024-03", "2024-08", segments=("企业",)), id="segment-enterprise"),
    pytest.param(Spec("2024-03", "2024-08", "last_year", segments=("个人",)), id="segment-individual"),
    pytest.param(Spec("2024-03", "2024-08", allowed=("华北", "华南")), id="allowed"),
    pytest.param(Spec("2024-03", "2024-08", regions=("华南",), allowed=("华北", "华南")), id="allowed-filtered"),
    pytest.param(Spec("2024-03", "2024-08", regions=("华东", "华南"), allowed=("华北", "华南")),
                 id="allowed-filter-partly-outside"),
    pytest.param(Spec("2024-03", "2024-08", regions=("华东",), allowed=("华北",)), id="allowed-filter-outside"),
    pytest.param(Spec("2024-03", "2024-08", channels=("门店",), allowed=("西南",)), id="allowed-and-channel"),
    pytest.param(Spec("2024-05", "2024-05"), id="empty-month"),
    pytest.param(Spec("2025-01", "2025-03"), id="empty-future"),
    pytest.param(Spec("2022-01", "2022-12", "none"), id="empty-past-no-comparison"),
]


@pytest.mark.parametrize("spec", SCOPES)
def test_kpis_match_pandas(con, spec):
    assert_kpis(ov.kpis(con, spec.scope()), expected_kpis(REF, spec))


@pytest.mark.parametrize("spec", SCOPES)
def test_monthly_trend_matches_pandas(con, spec):
    assert_trend(ov.monthly_trend(con, spec.scope()), expected_trend(REF, spec))


@pytest.mark.parametrize("spec", SCOPES)
def test_revenue_by_region_matches_pandas(con, spec):
    assert_by_region(ov.revenue_by_region(con, spec.scope()), expected_by_region(REF, spec))


@pytest.mark.parametrize("spec", SCOPES)
def test_overview_matches_pandas(con, spec):
    """The whole view: the same figures as the parts, the highlights and how far the data goes."""
    scope = spec.scope()
    view = ov.overview(con, scope)
    assert view.scope == scope
    assert view.comparison == scope.comparison()
    assert_kpis(view.kpis, expected_kpis(REF, spec))
    assert_trend(view.trend, expected_trend(REF, spec))
    assert_by_region(view.by_region, expected_by_region(REF, spec))
    assert_highlights(view.highlights, expected_highlights(REF, spec))
    assert view.data_through == expected_data_through(REF, spec)


def test_a_region_outside_the_allowed_ones_gives_zero_everything(con):
    """A tampered URL (?region=华东 for a 华北-only user) shows nothing, never 华东's figures."""
    view = ov.overview(con, Spec("2024-03", "2024-08", regions=("华东",), allowed=("华北",)).scope())
    for name in ("revenue", "orders", "active_customers", "new_customers"):
        assert (view.kpis[name].value, view.kpis[name].previous, view.kpis[name].change) == (0, 0, None), name
    assert view.kpis["aov"].value is None and view.kpis["repeat_rate"].value is None
    assert view.kpis["repeat_rate"].n == 0 and view.kpis["repeat_rate"].ci is None
    churn = view.kpis["churn_rate"]
    assert (churn.value, churn.previous, churn.n, churn.ci, churn.previous_n) == (None, None, None, None, 0)
    assert (view.trend[["revenue", "orders", "active_customers"]] == 0).all().all()
    assert len(view.trend) == 12
    assert view.by_region.empty
    assert view.highlights == []
    assert view.data_through is None


def test_a_restricted_user_sees_only_their_regions(con):
    view = ov.overview(con, Spec("2024-03", "2024-08", allowed=("华北",)).scope())
    assert view.by_region["region"].tolist() == ["华北"]
    # 华北 rows: C2's 300 (C2 is a 华东 customer, not counted) and C4's 200
    assert view.kpis["revenue"].value == pytest.approx(500)
    assert view.kpis["active_customers"].value == 1
    assert gate.filter_values(con, ("华北",))["region"] == ["华北"]
    assert gate.data_months(con, ("西南",)) == (date(2024, 1, 1), date(2024, 7, 1))
    assert gate.data_months(con, ("东北",)) is None


def test_without_comparison_there_are_no_changes_or_highlights(con):
    view = ov.overview(con, Spec("2024-03", "2024-08", "none").scope())
    assert view.comparison is None
    assert all(k.previous is None and k.change is None for k in view.kpis.values())
    assert view.kpis["repeat_rate"].previous_n is None
    assert set(view.trend["period"]) == {"current"}
    assert view.by_region["previous_revenue"].isna().all() and view.by_region["change"].isna().all()
    assert view.highlights == []


# ------------------------------------------------------------------ both periods in one pass


#: Scopes whose comparison period overlaps the period (last year over more than 12 months)
#: or leaves a gap before it (last year over fewer), with and without filters: the overview
#: reads both periods in one pass, so every month must count in the right period(s) only.
ONE_PASS_SCOPES = [
    pytest.param(Spec("2023-03", "2024-08", "last_year"), id="overlapping-last_year"),
    pytest.param(Spec("2023-06", "2024-08", "last_year", channels=("天猫",), allowed=("华东", "华北")),
                 id="overlapping-last_year-channel-allowed"),
    pytest.param(Spec("2024-03", "2024-05", "last_year", channels=("门店",)), id="gap-last_year-channel"),
    pytest.param(Spec("2024-06", "2024-08", "last_year", segments=("企业",)), id="gap-last_year-segment"),
    pytest.param(Spec("2023-01", "2024-12", "last_year", regions=("华东", "华南")), id="two-years-last_year-regions"),
]


@pytest.mark.parametrize("spec", ONE_PASS_SCOPES)
def test_overview_with_overlapping_or_distant_comparison_matches_pandas(con, spec):
    view = ov.overview(con, spec.scope())
    assert_kpis(view.kpis, expected_kpis(REF, spec))
    assert_trend(view.trend, expected_trend(REF, spec))
    assert_by_region(view.by_region, expected_by_region(REF, spec))
    assert_highlights(view.highlights, expected_highlights(REF, spec))
    assert view.data_through == expected_data_through(REF, spec)


class _CountingConnection:
    """A connection whose cursors count the statements they run."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con, self.statements = con, []

    def cursor(self):
        outer = self

        class Cursor:
            def __init__(self) -> None:
                self.cur = outer.con.cursor()

            def execute(self, sql, params=None):
                if sql not in ("begin transaction", "rollback", "commit"):
                    outer.statements.append(sql)
                self.cur.execute(sql, params)
                return self.cur

            def close(self) -> None:
                self.cur.close()

        return Cursor()


def test_the_overview_reads_each_source_once(con):
    """Three statements for the page's own figures: the sales and the customers of both periods,
    and how far the data goes (the customer activity is grouped once, not per period); then the
    average-CLV tile's per period (the value page's settings, the state its results are kept under and
    the customer base; no holdout check), besides the read transaction they all share."""
    counting = _CountingConnection(con)
    view = ov.overview(counting, Spec("2024-03", "2024-08", channels=("天猫",), allowed=("华东", "华北")).scope(),
                       with_churn=False, with_funnel=False)  # (the funnel's reads: the funnel page's tests)
    assert view.kpis["active_customers"].value is not None
    own, clv = counting.statements[:3], counting.statements[3:]
    assert sum("customer_month" in s or "from transactions where" in s for s in own) == 1
    kinds = ["settings" if s.strip().startswith("select key, value from settings") else
             "state" if "duckdb_databases()" in s or "'data_version'" in s else
             "surveys" if "from feedback_month" in s else
             "base" if "customer_month" in s else s[:60] for s in clv]
    # per period: the settings, the database's state (the key the value page's results are kept under:
    # its file, and the data version, read once per snapshot) and the customer base; then the survey counts per
    # month of both periods at once (the CSAT and NPS tiles, from the feedback_month mart)
    assert kinds == ["settings", "state", "state", "base", "settings", "state", "base", "surveys"]


def test_an_import_committed_while_the_overview_computes_does_not_mix_into_it(tmp_path, monkeypatch):
    """The overview's queries read one snapshot: a sale committed between them (here right
    after the customer query) shows in none of its figures, and in all of the next one's."""
    con = connect(tmp_path / "snap.duckdb")
    load_fixture(con, tmp_path)
    scope = Spec("2024-03", "2024-08").scope()
    before = ov.overview(con, scope)
    late = tmp_path / "late.csv"
    late.write_text("transaction_id,customer_id,order_date,amount,region\nZ1,C1,2024-08-30,1000,华东\n",
                    encoding="utf-8")
    real = ov._customers

    def customers_then_an_import(snapshot, s):
        out = real(snapshot, s)
        import_file(con, late, commit=True, kind="transactions")  # another session's import
        return out

    monkeypatch.setattr(ov, "_customers", customers_then_an_import)
    during = ov.overview(con, scope)
    monkeypatch.setattr(ov, "_customers", real)
    after = ov.overview(con, scope)
    con.close()
    assert during.data_through == before.data_through == date(2024, 8, 20)
    assert during.kpis == before.kpis
    assert after.data_through == date(2024, 8, 30)
    assert after.kpis["revenue"].value == before.kpis["revenue"].value + 1000
