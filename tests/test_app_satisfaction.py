"""The satisfaction & loyalty page (pages/satisfaction.py) through Streamlit's AppTest.

The app reads the seeded world of tests/satisfaction_fixture.py (400 customers in three regions, surveys after
purchases whose scores lean on how often the customer buys), imported through the real pipeline, over 2024 (the
comparison period 2023). What the page shows — the tiles, the monthly table, a group table, the gap and the
quadrants — is checked against the reference computations on the raw rows of tests/test_satisfaction.py
(``expected``: CSAT, NPS and the mean with their intervals; ``reference_surveyed``: each surveyed customer's score,
purchase days and revenue), the retention curve in words against a Logit fitted here, complaints and loyalty against
tests/test_complaints.py's and tests/test_loyalty.py's references; then the settings from the address (and a
link's bad value refused), a region filter, a sales manager (nothing of other regions, downloads included), a
database without surveys, picking a quadrant (its customers, each opening the customer detail). The command line's
report: tests/test_satisfaction_report.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import satisfaction_fixture as sf
import statsmodels.api as sm
from app_util import NORTH_MANAGER, open_app, page_text, spy_downloads
from import_util import database_of
from satisfaction_fixture import without_feedback_fixture  # noqa: F401 (a database without feedback)
from scipy.special import expit
from streamlit.testing.v1 import AppTest
from test_churn_view import attributes
from test_complaints import Reference
from test_loyalty import Raw
from test_satisfaction import COMPARISON, expected, reference_surveyed
from test_tiers import expected_tiers

from analytics.scope import Scope
from analytics.tiering import TierSpec
from ui.dates import fmt_date, fmt_month
from ui.formats import fmt_delta_points, fmt_int, fmt_number, fmt_pct
from ui.i18n import LANGUAGES, md_literal, t

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
PAGE = "pages/satisfaction.py"
PERIOD = {"from": "2024-01", "to": "2024-12"}
SURVEY_SECTIONS = ("satisfaction_monthly_title", "satisfaction_trend_title", "satisfaction_groups_title",
                   "satisfaction_gap_title", "satisfaction_quadrants_title", "satisfaction_curve_title")
SECTIONS = (*SURVEY_SECTIONS, "satisfaction_complaints_title", "satisfaction_loyalty_title")
AS_OF = sf.END  # the period's last day (the data runs on to 2025-02)
QUADRANTS = ("satisfied_loyal", "satisfied_leaving", "dissatisfied_staying", "dissatisfied_leaving")
OTHERS = ("华东", "华南")


@pytest.fixture(scope="module", name="world")
def world_fixture() -> tuple:
    sales, customers, feedback = sf.world()
    return sales, customers, feedback, attributes(sales, customers)


@pytest.fixture(scope="module", name="db")
def db_fixture(world, tmp_path_factory: pytest.TempPathFactory) -> Path:
    sales, customers, feedback, _ = world
    return database_of(tmp_path_factory.mktemp("app_satisfaction"), {
        "customers": customers, "transactions": sales.rename(columns={"day": "order_date"}), "feedback": feedback})


def run_page(monkeypatch, path: Path, lang: str = "en", **params) -> AppTest:
    """The app on ``path`` over 2024 (unless ``params`` say otherwise), moved to the page as a click does."""
    return open_app(monkeypatch, path, page=PAGE, lang=lang, **(PERIOD | params))


@pytest.fixture(scope="module", name="default_run")
def default_run_fixture(db):
    """``run_page(db, lang)`` made once per language for the tests that only read what it drew."""
    runs: dict[str, AppTest] = {}
    def run(lang: str = "en") -> AppTest:
        if lang not in runs:
            with pytest.MonkeyPatch.context() as monkeypatch:
                runs[lang] = run_page(monkeypatch, db, lang)
        return runs[lang]
    return run


def col(name: str, lang: str = "en") -> str:
    return t(f"satisfaction_col_{name}", lang)


def table_with(at: AppTest, *columns: str, lang: str = "en") -> pd.DataFrame:
    """The (one) table with all of the columns ``satisfaction_col_<column>``."""
    found = [df.value for df in at.dataframe if all(col(c, lang) in df.value.columns for c in columns)]
    assert len(found) == 1, (columns, len(found))
    return found[0]


def tiles(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.proto.delta) for m in at.metric}


def who_in(world, region: str) -> set[str]:
    home = world[3]
    return set(home.index[home["home_region"] == region])


def quadrant_of(ref: pd.DataFrame) -> pd.Series:
    cell = np.where(ref["satisfied"], np.where(ref["loyal"], 0, 1), np.where(ref["loyal"], 2, 3))
    return pd.Series(np.asarray(QUADRANTS)[cell], index=ref.index)


def assert_tiles(at: AppTest, feedback: pd.DataFrame, ref: pd.DataFrame, lang: str, who=None) -> None:
    """The four tiles: CSAT, NPS and the mean of the period's raw responses, their change from 2023's, and the share
    loyal of the surveyed customers ``ref``; n and the interval in the captions."""
    now = expected(feedback, sf.PERIOD_START, sf.END, who)
    before = expected(feedback, *COMPARISON, who)
    shown = tiles(at)
    csat, nps, mean = (t(f"satisfaction_kpi_{k}", lang) for k in ("csat", "nps", "mean"))
    assert shown[csat] == (fmt_pct(now["csat"][0], lang), fmt_delta_points(now["csat"][0] - before["csat"][0], lang))
    assert shown[nps] == (fmt_number(now["nps"][0], lang, 1),
                          fmt_delta_points((now["nps"][0] - before["nps"][0]) / 100, lang))
    assert shown[mean][0] == fmt_number(now["mean"][0], lang, 2)
    assert shown[t("satisfaction_kpi_loyal", lang)][0] == fmt_pct(ref["loyal"].mean(), lang)
    captions = [c.value for c in at.caption]
    ci = t("ci95", lang, low=fmt_pct(now["csat"][1], lang), high=fmt_pct(now["csat"][2], lang))
    assert any(t("sample_size", lang, n=fmt_int(now["csat_n"], lang)) + " · " + ci in c for c in captions)
    assert any(t("satisfaction_kpi_loyal_note", lang, n=fmt_int(len(ref), lang)) in c for c in captions)


def assert_quadrants(at: AppTest, ref: pd.DataFrame, lang: str = "en") -> None:
    table = table_with(at, "quadrant", "revenue_share", lang=lang).set_index(col("quadrant", lang))
    cells = quadrant_of(ref)
    for q in QUADRANTS:
        row = table.loc[t(f"satisfaction_quadrant_{q}", lang)]
        assert row[col("customers", lang)] == int((cells == q).sum()), q
        assert row[col("revenue", lang)] == pytest.approx(ref.loc[cells == q, "revenue"].sum(), abs=1e-6), q


# ----------------------------------------------------------------------------- what the page shows


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_shows_the_raw_rows_figures(default_run, world, lang):
    feedback = world[2]
    at = default_run(lang)
    assert [x.value for x in at.title] == [t("nav_satisfaction", lang)]
    assert [s.value for s in at.subheader] == [t(k, lang) for k in SECTIONS]
    ref = reference_surveyed(world, 3)
    assert_tiles(at, feedback, ref, lang)
    # every month of 2024 and, beside it, the same month of 2023
    months = table_with(at, "month", "compare_month", "csat_n", lang=lang)
    assert len(months) == 12
    for k, row in months.iterrows():
        month = pd.Timestamp(2024, k + 1, 1).date()
        then = pd.Timestamp(2023, k + 1, 1).date()
        want, past = expected(feedback, month, sf.month_last(month)), expected(feedback, then, sf.month_last(then))
        assert (row[col("month", lang)], row[col("compare_month", lang)]) == (fmt_month(month, lang),
                                                                              fmt_month(then, lang))
        assert (row[col("csat_n", lang)], row[col("nps_n", lang)]) == (want["csat_n"], want["nps_n"])
        assert (row[col("compare_csat_n", lang)], row[col("compare_nps_n", lang)]) == (past["csat_n"],
                                                                                      past["nps_n"])
        assert np.allclose([row[col(c, lang)] for c in ("csat", "csat_low", "csat_high")], want["csat"])
        assert np.allclose([row[col(c, lang)] for c in ("nps", "nps_low", "nps_high")], want["nps"])
        assert row[col("compare_csat", lang)] == pytest.approx(past["csat"][0])
    # by region (the grouping first shown): CSAT and NPS of each region's customers' responses
    groups = table_with(at, "group", "csat_small", lang=lang).set_index(col("group", lang))
    assert set(groups.index) == {"华东", "华北", "华南"}
    for region in groups.index:
        want = expected(feedback, sf.PERIOD_START, sf.END, who_in(world, region))
        row = groups.loc[region]
        assert (row[col("csat_n", lang)], row[col("nps_n", lang)]) == (want["csat_n"], want["nps_n"])
        assert np.allclose([row[col(c, lang)] for c in ("csat", "csat_low", "csat_high")], want["csat"])
        assert np.allclose([row[col(c, lang)] for c in ("nps", "nps_low", "nps_high")], want["nps"])
        too_few = want["csat_n"] < 30 or want["csat"][2] - want["csat"][1] > 0.10
        assert (row[col("csat_small", lang)] == t("satisfaction_too_few", lang)) is too_few
    # the gap: overall in words, and per region satisfied beside loyal
    words = t("satisfaction_gap_words", lang, satisfied=fmt_pct(ref["satisfied"].mean(), lang),
              loyal=fmt_pct(ref["loyal"].mean(), lang))
    assert any(words in m.value for m in at.markdown)
    gap = table_with(at, "words", lang=lang).set_index(col("group", lang))
    for region, rows in ref.groupby("home_region"):
        row = gap.loc[region]
        assert row[col("n", lang)] == len(rows)
        assert row[col("satisfied", lang)] == pytest.approx(rows["satisfied"].mean())
        assert row[col("loyal", lang)] == pytest.approx(rows["loyal"].mean())
        assert row[col("gap", lang)] == pytest.approx(100 * (rows["satisfied"].mean() - rows["loyal"].mean()))
        assert row[col("words", lang)] == t("satisfaction_gap_words", lang, satisfied=fmt_pct(
            rows["satisfied"].mean(), lang), loyal=fmt_pct(rows["loyal"].mean(), lang))
    assert_quadrants(at, ref, lang)
    # the definitions on show, with the threshold in use; the other language's words nowhere
    rule = next(i.value for i in at.info if i.icon == ":material/rule:")
    assert t("satisfaction_definition", lang, n="3", first=fmt_month(sf.PERIOD_START, lang),
             last=fmt_month(sf.PERIOD_END, lang)) == rule
    other = next(x for x in LANGUAGES if x != lang)
    assert t("satisfaction_gap_title", other) not in page_text(at)


def test_the_group_radio_and_the_tiers(monkeypatch, db, world):
    """By segment the groups are the customers' segments; by tier the pyramid's tiers of 2024, best first (their
    customers ranked with pandas by tests/test_tiers.py's reference), those without a purchase in 2024 last."""
    sales, _, feedback, home = world
    at = run_page(monkeypatch, db)
    at.radio(key="satisfaction_group_by").set_value("segment").run()
    groups = table_with(at, "group", "csat_small").set_index(col("group"))
    for segment in groups.index:
        who = set(home.index[home["segment"].isna()]) if segment == t("satisfaction_no_segment", "en") else set(
            home.index[home["segment"] == segment])
        want = expected(feedback, sf.PERIOD_START, sf.END, who)
        assert groups.loc[segment, col("csat_n")] == want["csat_n"], segment
    at.radio(key="satisfaction_group_by").set_value("tier").run()
    tiers = table_with(at, "group", "csat_small")
    ranked = expected_tiers(sales, Scope(sf.PERIOD_START, sf.PERIOD_END), TierSpec())
    names = TierSpec().names
    want = [(t(f"tiers_name_{names[k]}", "en"), set(rows["customer_id"])) for k, rows in ranked.groupby("tier")]
    want.append((t("satisfaction_no_tier", "en"), set(sales["customer_id"]) - set(ranked["customer_id"])))
    want = [(label, who) for label, who in want if expected(feedback, sf.PERIOD_START, sf.END, who)["csat_n"]
            + expected(feedback, sf.PERIOD_START, sf.END, who)["nps_n"]]
    assert list(tiers[col("group")]) == [label for label, _ in want]
    for (_, who), n in zip(want, tiers[col("csat_n")], strict=True):
        assert n == expected(feedback, sf.PERIOD_START, sf.END, who)["csat_n"]


def test_the_retention_curve_in_words_equals_a_logit_on_the_raw_rows(default_run, world):
    """"From 3 to 5 stars ... from X to Y": statsmodels' Logit fitted here on the raw rows (each satisfaction response
    dated in the 730 days up to the data's last purchase day less 180, bought again within 180 days after it)."""
    sales, _, feedback, _ = world
    last = sales.loc[sales["amount"] > 0, "day"].max() - timedelta(days=180)
    first = last - timedelta(days=729)
    f = sf.surveys(feedback, "csat", first, last)
    buys = sales[sales["amount"] >= 0]
    kept = [bool(((buys["customer_id"] == r.customer_id) & (buys["day"] > r.feedback_date)
                  & (buys["day"] <= r.feedback_date + timedelta(days=180))).any()) for r in f.itertuples()]
    fit = sm.Logit(np.asarray(kept, dtype=float), sm.add_constant(f["score"].to_numpy(dtype=float))).fit(disp=0)
    low, high = (float(expit(fit.params[0] + s * fit.params[1])) for s in (3, 5))
    at = default_run("en")
    sentence = next(m.value for m in at.markdown if m.value.startswith("From 3 to 5 stars"))
    direction = "rises" if high > low else "falls"
    assert sentence.startswith(t(f"satisfaction_curve_{direction}", "en", horizon="180", low=fmt_pct(low, "en"),
                                 high=fmt_pct(high, "en"), low_ci="", high_ci="").split(" (")[0])
    assert (t("satisfaction_curve_unclear", "en") in sentence) is bool(fit.pvalues[1] >= 0.05)
    assert any(t("satisfaction_curve_used", "en", n=fmt_int(len(f), "en"), retained=fmt_int(sum(kept), "en"),
                 horizon="180", first=fmt_date(first, "en"), last=fmt_date(last, "en")) in c.value for c in at.caption)


def assert_complaints(at: AppTest, world, target: int = 7, region: str | None = None, lang: str = "en") -> None:
    """The complaints' tiles, months and categories against tests/test_complaints.py's reference on the raw rows."""
    scope = Scope(sf.PERIOD_START, sf.PERIOD_END, regions=(region,) if region else ())
    ref = Reference(world[:3], scope, target)
    want = ref.figures(sf.PERIOD_START, sf.PERIOD_END, AS_OF)
    shown = tiles(at)
    assert shown[t("satisfaction_kpi_per_1000", lang)][0] == fmt_number(want["per_1000"], lang, 1)
    assert shown[t("satisfaction_kpi_within", lang, days=fmt_int(target, lang))][0] == fmt_pct(want["within_share"],
                                                                                               lang)
    assert shown[t("satisfaction_kpi_open", lang)][0] == fmt_int(want["open"], lang)
    months = table_with(at, "month", "per_1000", lang=lang)
    for k, row in months.iterrows():
        month = pd.Timestamp(2024, k + 1, 1).date()
        got = ref.figures(month, month, sf.month_last(month))
        assert (row[col("complaints", lang)], row[col("active", lang)]) == (got["complaints"], got["active"])
        assert row[col("per_1000", lang)] == pytest.approx(got["per_1000"], nan_ok=True)
    made = ref.made_in(sf.PERIOD_START, sf.PERIOD_END)
    categories = table_with(at, "category", "complaint_share", lang=lang).set_index(col("category", lang))
    assert categories[col("complaints", lang)].to_dict() == made.groupby("category").size().to_dict()


def assert_loyalty(at: AppTest, world, n: int = 3, region: str | None = None, lang: str = "en") -> None:
    """The loyalty tiles and the share loyal per region against tests/test_loyalty.py's definitions on the raw
    rows (the year of the period's last month)."""
    raw = Raw(world[0], world[1])
    members = raw.members(Scope(sf.PERIOD_START, sf.PERIOD_END, regions=(region,) if region else ()))
    want = raw.figures(sf.PERIOD_END, members, n)
    shown = tiles(at)
    assert shown[t("satisfaction_kpi_repeat_rate", lang)][0] == fmt_pct(want["repeat_rate"], lang)
    assert shown[t("satisfaction_kpi_loyal_share", lang, n=fmt_int(n, lang))][0] == fmt_pct(want["loyal_share"], lang)
    assert shown[t("satisfaction_kpi_frequency", lang)][0] == fmt_number(want["frequency"], lang, 1)
    groups = table_with(at, "group", "loyal_share", "tenure_median_days", lang=lang).set_index(col("group", lang))
    for group in groups.index:
        mine = raw.figures(sf.PERIOD_END, members & who_in(world, group), n)
        assert groups.loc[group, col("customers", lang)] == mine["customers"], group
        assert groups.loc[group, col("loyal_share", lang)] == pytest.approx(mine["loyal_share"]), group


@pytest.mark.parametrize("lang", LANGUAGES)
def test_complaints_and_loyalty_equal_the_raw_rows(default_run, world, lang):
    at = default_run(lang)
    assert_complaints(at, world, lang=lang)
    assert_loyalty(at, world, lang=lang)


def test_the_complaints_settings_from_the_address(monkeypatch, db, world):
    at = run_page(monkeypatch, db, target_days="2", retention_months="6")
    assert at.number_input(key="satisfaction_target_days").value == 2
    assert at.number_input(key="satisfaction_retention_months").value == 6
    assert_complaints(at, world, target=2)
    caption = next(c.value for c in at.caption if c.value.startswith(t("satisfaction_after_caption", "en", first="",
                                                                         last="", months="")[:16]))
    assert t("satisfaction_after_caption", "en", first=fmt_month(sf.PERIOD_START, "en"),
             last=fmt_month(pd.Timestamp(2024, 6, 1).date(), "en"), months="6") == caption  # months with 6 after


# ----------------------------------------------------------------------------- the loyalty threshold


def test_the_loyalty_threshold_from_the_address(monkeypatch, db, world):
    at = run_page(monkeypatch, db, loyal_min="6")
    assert at.number_input(key="satisfaction_loyal_min").value == 6
    ref = reference_surveyed(world, 6)
    assert_tiles(at, world[2], ref, "en")
    assert_quadrants(at, ref)
    assert_loyalty(at, world, n=6)
    assert not at.warning
    # changed on the page: the figures follow, and the address holds it (the default leaves it out)
    at.number_input(key="satisfaction_loyal_min").set_value(2).run()
    assert_quadrants(at, reference_surveyed(world, 2))
    assert at.query_params["loyal_min"] == "2"
    at.number_input(key="satisfaction_loyal_min").set_value(3).run()
    assert "loyal_min" not in at.query_params


@pytest.mark.parametrize("bad", ["abc", "60", "0", "2.5"])
def test_a_bad_threshold_in_a_link_is_refused_with_a_warning(monkeypatch, db, world, bad):
    at = run_page(monkeypatch, db, loyal_min=bad)
    assert [w.value for w in at.warning] == [t("satisfaction_option_refused", "en", name=t(
        "satisfaction_setting_loyal_min", "en"), value=md_literal(bad))]
    assert at.number_input(key="satisfaction_loyal_min").value == 3
    assert_quadrants(at, reference_surveyed(world, 3))


# ----------------------------------------------------------------------------- filters and users


def test_a_region_filter_shows_that_regions_customers(monkeypatch, db, world):
    at = run_page(monkeypatch, db, region="华北")
    north = who_in(world, "华北")
    ref = reference_surveyed(world, 3)
    assert_tiles(at, world[2], ref[ref.index.isin(north)], "en", north)
    assert set(table_with(at, "group", "csat_small")[col("group")]) == {"华北"}
    assert_quadrants(at, ref[ref.index.isin(north)])
    assert_complaints(at, world, region="华北")
    assert_loyalty(at, world, region="华北")


def test_a_sales_manager_sees_only_their_regions_anywhere_downloads_included(monkeypatch, db, world, tmp_path):
    access = tmp_path / "access.toml"
    access.write_text(NORTH_MANAGER, encoding="utf-8")
    offered = spy_downloads(monkeypatch)
    at = open_app(monkeypatch, db, page=PAGE, email="north@example.com", access=access, lang="en", region="华东",
                  **PERIOD)
    assert not [r for r in OTHERS if r in page_text(at)]  # a tampered link asks for 华东: nothing of it
    at = open_app(monkeypatch, db, page=PAGE, email="north@example.com", access=access, lang="en", **PERIOD)
    north = who_in(world, "华北")
    ref = reference_surveyed(world, 3)
    assert_tiles(at, world[2], ref[ref.index.isin(north)], "en", north)
    at.selectbox(key="satisfaction_quadrant").set_value("satisfied_leaving").run()
    listed = table_with(at, "customer_id", "purchase_days")
    assert len(listed) and set(listed[col("customer_id")]) <= north
    assert not [r for r in OTHERS if r in page_text(at)]
    assert offered and not [r for df in offered for r in OTHERS if r in df.to_csv()]
    whole = [df for df in offered if col("customer_id") in df.columns and col("purchase_days") in df.columns][-1]
    mine = ref[ref.index.isin(north) & (quadrant_of(ref) == "satisfied_leaving")]
    assert set(whole[col("customer_id")]) == set(mine.index)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_without_surveys_the_page_says_so(monkeypatch, without_feedback, lang):
    at = run_page(monkeypatch, without_feedback, lang)
    assert t("satisfaction_no_responses", lang) in [i.value for i in at.info]
    # no survey section, the complaints (no complaint file: said so, not "none in the filters") and loyalty ones
    assert [s.value for s in at.subheader] == [t(k, lang) for k in SECTIONS[-2:]]
    assert t("satisfaction_complaints_unrecorded", lang) in [i.value for i in at.info]
    assert t("satisfaction_complaints_none", lang) not in [i.value for i in at.info]


# ----------------------------------------------------------------------------- a quadrant's customers


def test_picking_a_quadrant_lists_its_customers_and_a_row_opens_the_customer(monkeypatch, db, world):
    _, customers, _, _ = world
    at = run_page(monkeypatch, db, region="华南")
    assert at.selectbox(key="satisfaction_quadrant").value is None
    at.session_state["satisfaction_quadrants"] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="satisfaction_quadrant").value == "satisfied_leaving"
    ref = reference_surveyed(world, 3)
    mine = ref[ref.index.isin(who_in(world, "华南")) & (quadrant_of(ref) == "satisfied_leaving")]
    want = mine.rename_axis("customer_id").reset_index().sort_values(["revenue", "customer_id"],
                                                                      ascending=[False, True])
    assert len(want) >= 2
    listed = table_with(at, "customer_id", "purchase_days")
    assert list(listed[col("customer_id")]) == list(want["customer_id"])
    assert np.allclose(listed[col("revenue")], want["revenue"]) and np.allclose(listed[col("score")], want["score"])
    assert list(listed[col("purchase_days")]) == list(want["days"])
    names = customers.set_index("customer_id")["customer_name"]
    assert [None if pd.isna(n) else n for n in listed[col("customer_name")]] == [names.get(c) for c in
                                                                                want["customer_id"]]
    at.session_state["satisfaction_quadrant_customers"] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert [x.value for x in at.title] == [t("nav_customer", "en")]
    assert at.query_params["customer"] == want["customer_id"].iloc[1]
    assert at.query_params["region"] == "华南"  # the filters stay
