"""The overview's average-CLV tile (issue 11, point 7): its figure, interval and change against the
customer value page's view model and against counts from the raw rows; no figure ("–", the reason
in the tile's help) when the models cannot be fitted; ``report overview``; the tile in the app in
both languages.

The fitted case is the value page tests' simulated file (``test_value_view.simulate``: 330 customers
over 2023-01 to 2025-02) imported through the real pipeline; the "–" case is the overview's tiny
hand-made fixture (9 customers: under the models' 100).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from overview_fixture import load_fixture
from test_app_overview import run_app
from test_value_view import load as load_sales
from test_value_view import simulate, summary

from analytics.cli import main
from analytics.metrics import overview as ov
from analytics.metrics import value_fit
from analytics.metrics.overview_value import AverageClv, PeriodClv
from analytics.metrics.value import value_view
from analytics.scope import Scope
from analytics.store.connection import connect
from ui import widgets
from ui.dates import fmt_date, fmt_period
from ui.formats import fmt_int, fmt_money
from ui.i18n import LANGUAGES, t

PERIOD = Scope(date(2024, 1, 1), date(2024, 12, 1))  # against Jan–Dec 2023: both fit
EAST = Scope(date(2024, 1, 1), date(2024, 12, 1), regions=("华东",))  # 2023's 华东 customers are too few
TINY = Scope(date(2024, 3, 1), date(2024, 8, 1))  # the overview fixture
CURRENCY = "CNY"


@pytest.fixture(scope="module")
def sales() -> pd.DataFrame:
    return simulate(330, seed=11)[0]


@pytest.fixture(scope="module")
def fitted_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("overview_clv")
    con = load_sales(folder, *simulate(330, seed=11))
    con.close()
    return folder / "crm.duckdb"


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("overview_clv_tiny")
    con = connect(folder / "t.duckdb")
    load_fixture(con, folder)
    con.close()
    return folder / "t.duckdb"


@pytest.fixture(scope="module")
def con(fitted_db: Path):
    con = connect(fitted_db)
    yield con
    con.close()


def customers_up_to(sales: pd.DataFrame, day: str) -> int:
    """Customers with a purchase up to ``day``, counted from the raw rows."""
    return len(summary(sales, pd.Timestamp(day)))


def test_the_figure_is_the_value_pages_clv_per_customer(con, sales):
    view = ov.overview(con, PERIOD)
    clv = view.average_clv
    # the value page's own view (with its holdout check, which the tile skips)
    for tile, scope, day in ((clv.current, PERIOD, "2024-12-31"), (clv.comparison, PERIOD.comparison(), "2023-12-31")):
        page = value_view(con, scope)
        n = customers_up_to(sales, day)
        assert page.fits.problem is None and tile.problem is None
        assert tile.n == page.n_customers == n
        assert tile.as_of == date.fromisoformat(day)
        # independently: the customers' lifetime values added up, over the customers counted from the rows
        assert tile.value == pytest.approx(page.customers["clv"].sum() / n, rel=1e-9)
        assert tile.value == pytest.approx(page.total.point / n, rel=1e-12)
        assert (tile.low, tile.high) == pytest.approx((page.total.low / n, page.total.high / n), rel=1e-12)
        assert tile.low < tile.value < tile.high
    kpi = view.kpis["avg_clv"]
    assert (kpi.value, kpi.previous, kpi.n, kpi.previous_n) == (clv.current.value, clv.comparison.value, 330, 224)
    assert kpi.change == pytest.approx(clv.current.value / clv.comparison.value - 1, rel=1e-12)
    assert (clv.horizon_months, clv.discount_rate, clv.level) == (12, 0.10, 0.90)
    # (no surveys in this fixture: no CSAT or NPS tile; the two drawn last close the list)
    assert list(view.kpis) == [n for n in ov.KPIS if n not in ("csat", "nps")]
    assert ov.KPIS[-2:] == ("avg_clv", "churn_rate")


def test_a_rerun_does_not_fit_again(con):
    ov.overview(con, PERIOD)
    fits = value_fit.fit_count
    again = ov.overview(con, PERIOD)
    assert value_fit.fit_count == fits
    assert again.average_clv == ov.overview(con, PERIOD).average_clv


def test_no_change_when_the_comparison_period_cannot_be_fitted(con, sales):
    clv = ov.overview(con, EAST).average_clv
    assert clv.current.problem is None and clv.current.n == 118
    assert clv.comparison == PeriodClv(date(2023, 12, 31), 76, None, None, None, "too_few_customers")
    kpi = ov.overview(con, EAST).kpis["avg_clv"]
    assert kpi.value == clv.current.value and (kpi.previous, kpi.change, kpi.previous_n) == (None, None, 76)
    help_text, _ = widgets.average_clv_note(clv, "en", CURRENCY, "Jan–Dec 2023")
    assert help_text.split("  \n")[-1] == ("Jan–Dec 2023: no estimate, so no change: the value models need at least "
                                           "100 customers in scope (there are 76). Widen the period or the filters.")


def test_no_comparison_no_change(con):
    clv = ov.overview(con, Scope(PERIOD.start, PERIOD.end, "none")).average_clv
    assert clv.comparison is None and clv.current.value is not None


def test_no_relative_change_from_a_loss():
    """A negative comparison average (acquisition cost above the value) gives no relative change."""
    def tile(now: float, before: float) -> AverageClv:
        return AverageClv(PeriodClv(date(2024, 12, 31), 200, now, now - 1, now + 1, None),
                          PeriodClv(date(2023, 12, 31), 150, before, before - 1, before + 1, None),
                          12, 0.1, "setting", 0.3)
    assert ov.clv_kpi(tile(50.0, -20.0)).change is None
    assert ov.clv_kpi(tile(50.0, 0.0)).change is None
    assert ov.clv_kpi(tile(50.0, 40.0)).change == pytest.approx(0.25)


def test_a_tiny_database_has_no_figure_and_says_why(tiny_db, capsys):
    con = connect(tiny_db)
    try:
        view = ov.overview(con, TINY)
    finally:
        con.close()
    clv = view.average_clv
    # customers with a purchase up to 2024-08-31 in the fixture: C1, C2, C3, C4, C5, C7, C8, C9
    assert clv.current == PeriodClv(date(2024, 8, 31), 8, None, None, None, "too_few_customers")
    kpi = view.kpis["avg_clv"]
    assert (kpi.value, kpi.previous, kpi.change) == (None, None, None)
    assert widgets.kpi_value("avg_clv", kpi.value, "en", CURRENCY) == "–"
    for lang in LANGUAGES:
        help_text, caption = widgets.average_clv_note(clv, lang, CURRENCY, "the comparison")
        reason = t("kpi_avg_clv_problem_too_few_customers", lang, customers=fmt_int(100, lang), n="8")
        assert help_text.split("  \n")[0] == t("kpi_avg_clv_no_estimate_because", lang, reason=reason)
        assert "the comparison" not in help_text  # no figure now: the comparison's problem is beside the point
        assert caption == t("sample_size", lang, n="8") + " · " + t("kpi_avg_clv_no_estimate", lang)

    code, out, _ = run_cli(capsys, tiny_db, "--from", "2024-03", "--to", "2024-08")
    assert code == 0
    assert [line.split() for line in out.splitlines() if "avg_clv" in line] == [
        ["avg_clv", "–", "(no", "estimate:", "too_few_customers;", "n", "=", "8)"]]


def run_cli(capsys, db: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--db", str(db), "report", "overview", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_report_overview_includes_the_tile(fitted_db, con, capsys):
    expected = ov.overview(con, PERIOD).average_clv
    code, out, _ = run_cli(capsys, fitted_db, "--from", "2024-01", "--to", "2024-12", "--json")
    assert code == 0
    data = json.loads(out)
    clv, kpi = data["average_clv"], data["kpis"]["avg_clv"]
    assert clv["current"]["value"] == pytest.approx(expected.current.value, rel=1e-12)
    now = expected.current
    assert (clv["current"]["low"], clv["current"]["high"]) == pytest.approx((now.low, now.high), rel=1e-12)
    assert (clv["current"]["n"], clv["comparison"]["n"], clv["current"]["as_of"]) == (330, 224, "2024-12-31")
    assert clv["comparison"]["value"] == pytest.approx(expected.comparison.value, rel=1e-12)
    assert kpi["change"] == pytest.approx(expected.current.value / expected.comparison.value - 1, rel=1e-9)
    assert (clv["horizon_months"], clv["discount_rate"], clv["level"]) == (12, 0.1, 0.9)

    code, out, _ = run_cli(capsys, fitted_db, "--from", "2024-01", "--to", "2024-12")
    line = next(line for line in out.splitlines() if line.strip().startswith("avg_clv"))
    assert f"{now.value:,.2f}" in line and f"{now.value / expected.comparison.value - 1:+.1%}" in line
    assert f"90% interval {now.low:,.2f}–{now.high:,.2f}" in line and "n = 330" in line


def test_the_tile_texts():
    clv = AverageClv(PeriodClv(date(2024, 12, 31), 1234, 4099.52, 4091.08, 4107.89, None),
                     PeriodClv(date(2023, 12, 31), 1000, 4000.0, 3990.0, 4010.0, None), 12, 0.1, "cost", 0.3)
    help_text, caption = widgets.average_clv_note(clv, "en", CURRENCY, "Jan–Dec 2023")
    assert help_text.split("  \n") == [
        "As of 31 Dec 2024: value to date plus 12 months of predicted future value, discounted 10.0% a year, "
        "net of costs and acquisition cost.", "90% interval ¥4,091–¥4,108"]
    assert caption == "n = 1,234  \n90% interval ¥4,091–¥4,108"
    help_text, caption = widgets.average_clv_note(clv, "zh", CURRENCY, "2023年1月–12月")
    assert help_text.split("  \n")[1] == "90%区间 ¥4,091–¥4,108" and caption.startswith("样本量 1,234  \n")
    # a per-customer amount in full, not compact (¥4.1K)
    assert widgets.kpi_value("avg_clv", 4099.52, "en", CURRENCY) == "¥4,100"
    assert widgets.kpi_value("avg_clv", 4099.52, "zh", CURRENCY) == "¥4,100"
    assert widgets.kpi_value("avg_clv", 412.345, "en", CURRENCY) == "¥412.35"


# ------------------------------------------------------------------ the app


@pytest.mark.usefixtures("fresh_streamlit_caches")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_app_shows_the_tile(monkeypatch, fitted_db, con, lang):
    expected = ov.overview(con, PERIOD)
    clv, kpi = expected.average_clv, expected.kpis["avg_clv"]
    at = run_app(monkeypatch, fitted_db, lang=lang, **{"from": "2024-01", "to": "2024-12"})
    tile = next(m for m in at.metric if m.label == t("kpi_avg_clv", lang))
    assert tile.value == widgets.kpi_value("avg_clv", clv.current.value, lang, CURRENCY)
    assert tile.delta == widgets.kpi_delta(kpi, lang)
    comparison = fmt_period(date(2023, 1, 1), date(2023, 12, 1), lang)
    help_text = tile.proto.help
    assert help_text.startswith(t("kpi_avg_clv_help", lang))
    interval = t("kpi_avg_clv_interval", lang, level="90%", low=fmt_money(clv.current.low, lang, CURRENCY),
                 high=fmt_money(clv.current.high, lang, CURRENCY))
    assert interval in help_text and fmt_date(date(2024, 12, 31), lang) in help_text
    assert t("kpi_previous_value", lang, period=comparison,
             value=widgets.kpi_value("avg_clv", clv.comparison.value, lang, CURRENCY)) in help_text
    assert t("sample_size", lang, n=fmt_int(330, lang)) + widgets.CAPTION_BREAK + interval in [
        c.value for c in at.caption]
    definitions = next(e for e in at.expander if e.label == t("definitions_title", lang))
    assert t("kpi_avg_clv", lang) in definitions.markdown[0].value
    assert len(at.metric) == len(ov.KPIS) - 2  # (no survey tiles)


@pytest.mark.usefixtures("fresh_streamlit_caches")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_app_shows_a_dash_and_the_reason(monkeypatch, tiny_db, lang):
    at = run_app(monkeypatch, tiny_db, lang=lang, **{"from": "2024-03", "to": "2024-08"})
    tile = next(m for m in at.metric if m.label == t("kpi_avg_clv", lang))
    assert tile.value == "–" and not tile.delta
    reason = t("kpi_avg_clv_problem_too_few_customers", lang, customers=fmt_int(100, lang), n="8")
    assert t("kpi_avg_clv_no_estimate_because", lang, reason=reason) in tile.proto.help


def test_the_fast_overview_leaves_the_tile_out_and_never_fits(con, monkeypatch):
    """The page draws every other figure from overview(with_average_clv=False) at once and the tile when
    average_clv is ready: the fast view has no avg_clv figure and does not touch the value models; the
    tile then fills in the same figure the full overview (the report's) has."""
    def forbidden(*args, **kwargs):
        raise AssertionError("the fast overview must not compute lifetime values")

    monkeypatch.setattr(ov, "average_clv", forbidden)
    fast = ov.overview(con, PERIOD, with_average_clv=False)
    assert "avg_clv" not in fast.kpis and fast.average_clv is None
    monkeypatch.undo()
    full = ov.overview(con, PERIOD)
    assert {k: v for k, v in full.kpis.items() if k != "avg_clv"} == fast.kpis
    assert ov.clv_kpi(full.average_clv) == full.kpis["avg_clv"]
