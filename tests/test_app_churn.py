"""The churn & retention page (pages/churn.py) through Streamlit's AppTest.

The app reads a database built from seeded synthetic files imported through the real pipeline: 360
customers in three regions buying over 2023-2024 (now and then a long pause, so some are won back), a
customers file with segment and acquisition channel (政府 only in 华南) and a feedback file with complaints
and CSAT surveys (so the drivers section has a model). What the page shows is checked against the
definitions computed here day by day from the raw rows with pandas (:func:`reference`, the logic of
tests/test_churn.py's reference with the as-of day as a parameter). The lists, a manager's scope and picking
a customer: tests/test_app_churn_lists.py.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from app_util import open_app
from import_util import database_of
from statsmodels.stats.proportion import proportion_confint
from streamlit.testing.v1 import AppTest
from test_tiers import expected_tiers

from analytics.scope import Scope
from analytics.tiering import TierSpec
from ui.dates import fmt_date, fmt_month
from ui.figures.value import group_name
from ui.formats import fmt_int, fmt_money, fmt_pct
from ui.i18n import LANGUAGES, md_literal, t

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
PAGE = "pages/churn.py"
FIRST, LAST = date(2023, 1, 1), date(2024, 12, 31)  # the data; the default period: 2024, against 2023
PERIOD = date(2024, 1, 1)
MID = date(2024, 6, 15)  # an as-of day in the period's middle month, the data going on after it
REGIONS = ("华北", "华东", "华南")
SECTIONS = ("churn_monthly_title", "churn_window_title", "churn_groups_title", "churn_cohorts_title",
            "churn_survival_title", "churn_drivers_title", "churn_at_risk_title", "churn_win_back_title")


def world(n: int = 360, seed: int = 22) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Sales, customers and feedback: customers buying at their own pace until they drop out (each their own
    chance, a BG/NBD-like world so the value models fit), one region each, now and then a pause of 120-300
    days; 30 % with a complaint (some never resolved), half with a 1-5 CSAT survey."""
    rng = np.random.default_rng(seed)
    sales, people, notes = [], [], []
    for i in range(n):
        cid, region = f"C{i:04d}", REGIONS[i % 3]
        segment = "政府" if region == "华南" and i % 4 == 0 else ("企业", "个人")[int(rng.integers(2))]
        people.append((cid, f"客户{i:04d}", region, segment, ("线上", "门店", "推荐")[int(rng.integers(3))]))
        day = FIRST + timedelta(days=int(rng.integers(0, 600)))
        gap, spend, dropout = rng.gamma(2.0, 25.0), rng.gamma(4.0, 30.0), rng.beta(2.0, 12.0)
        while day <= LAST:
            sales.append((cid, day, round(spend * rng.gamma(5, 0.2), 2), region))
            if rng.random() < dropout:
                break
            wait, paused = int(rng.exponential(gap)), rng.random() < 0.03  # now and then a long pause
            day += timedelta(days=1 + wait + int(paused) * int(rng.integers(120, 300)))
        if rng.random() < 0.3:
            when = FIRST + timedelta(days=int(rng.integers(0, 700)))
            solved = when + timedelta(days=int(rng.integers(1, 20))) if rng.random() < 0.6 else None
            notes.append((cid, when, None, "complaint", None, solved))
        if rng.random() < 0.5:
            notes.append((cid, FIRST + timedelta(days=int(rng.integers(0, 700))), int(rng.integers(1, 6)), "survey",
                          "csat", None))
    sales.append(("C0000", LAST, 50.0, REGIONS[0]))  # the data ends on the period's last day
    tx = pd.DataFrame(sales, columns=["customer_id", "order_date", "amount", "region"])
    tx.insert(0, "transaction_id", [f"T{k:06d}" for k in range(len(tx))])
    feedback = pd.DataFrame(notes, columns=["customer_id", "feedback_date", "score", "feedback_kind", "scale",
                                            "resolved_date"])
    feedback.insert(0, "feedback_id", [f"F{k:05d}" for k in range(len(feedback))])
    customers = pd.DataFrame(people, columns=["customer_id", "customer_name", "region", "segment",
                                              "acquisition_channel"])
    return tx, customers, feedback


def build(folder: Path) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """The database (closed again, for the app to open), its raw sales rows and customers."""
    tx, customers, feedback = world()
    return database_of(folder, {"customers": customers, "transactions": tx, "feedback": feedback}), tx, customers


@pytest.fixture(scope="module")
def churn_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    return build(tmp_path_factory.mktemp("app_churn"))


def reference(tx: pd.DataFrame, *, as_of: date = LAST, window: int | None = None,
              regions: tuple[str, ...] | None = None, who: set | None = None) -> dict:
    """The page's figures day by day from the raw rows (purchase days: days with a row; each customer buys in
    their home region only): the default window (the smallest multiple of 30 days within which 90 % of the gaps
    between consecutive purchase days lie), per month of the period up to the as-of day's month the customers
    active on the day before it, churned in it (the day W + 1 after a purchase with none by then), won back
    and new; the period's pooled rate over its complete months; who is active as of A; the returns."""
    rows = tx[(tx["order_date"] <= as_of) & (tx["region"].isin(regions) if regions else True)
              & (tx["customer_id"].isin(who) if who is not None else True)]
    buys = {c: sorted(set(g)) for c, g in rows.groupby("customer_id")["order_date"]}
    gaps = np.array([(b - a).days for days in buys.values() for a, b in pairwise(days)])
    w = 30
    while window is None and (gaps <= w).sum() < 0.9 * len(gaps):
        w += 30
    w = window or w
    months, returns = [], []
    for m in pd.date_range(PERIOD, as_of, freq="MS").date:
        end = min((pd.Timestamp(m) + pd.offsets.MonthEnd(0)).date(), as_of)
        active = churned = new = 0
        for c, days in buys.items():
            before = [d for d in days if d < m]
            active += bool(before) and (m - timedelta(days=1) - before[-1]).days <= w
            churned += sum(m <= d + timedelta(days=w + 1) <= end for d, nxt in zip(days, [*days[1:], None],
                                                                                     strict=True)
                           if nxt is None or (nxt - d).days > w)
            returns += [(c, b, (b - a).days) for a, b in pairwise(days)
                        if (b - a).days > w and m <= b <= end]
            new += m <= days[0] <= end
        months.append({"month": m, "active_start": active, "churned": churned, "new": new,
                       "complete": end == (pd.Timestamp(m) + pd.offsets.MonthEnd(0)).date()})
    frame = pd.DataFrame(months)
    done = frame[frame["complete"]]
    c, a = int(done["churned"].sum()), int(done["active_start"].sum())
    back = pd.DataFrame(returns, columns=["customer_id", "returned", "days_away"])
    month = pd.to_datetime(rows["order_date"]).dt.to_period("M")
    revenue = sum(rows.loc[(rows["customer_id"] == cid) & (month == pd.Period(d, "M")), "amount"].sum()
                  for cid, d in zip(back["customer_id"], back["returned"], strict=True))
    last = pd.Series({cid: days[-1] for cid, days in buys.items()})
    active_ids = set(last.index[[(as_of - d).days <= w for d in last]])
    return {"window": w, "months": frame, "churned": c, "exposure": a, "rate": c / a,
            "interval": proportion_confint(c, a, alpha=0.05, method="wilson"), "customers": len(buys),
            "active": len(active_ids), "active_ids": active_ids, "won_back": back, "won_back_revenue": revenue,
            "last": last, "new": int(frame["new"].sum())}


def run_churn(monkeypatch: pytest.MonkeyPatch, path: Path, lang: str = "en", **params) -> AppTest:
    """The app on ``path``, moved to the churn page as a click in the navigation does."""
    return open_app(monkeypatch, path, page=PAGE, lang=lang, **params)


def tiles(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.main.caption]


def assert_figures(at: AppTest, ref: dict, lang: str = "en", as_of: date = LAST) -> None:
    """The caption, the four tiles and their notes equal the reference's."""
    n = ref["customers"]
    assert captions(at)[0] == t("churn_caption", lang, window=fmt_int(ref["window"], lang),
                                date=fmt_date(as_of, lang), customers=fmt_int(n, lang))
    assert tiles(at) == {t("churn_kpi_rate", lang): fmt_pct(ref["rate"], lang),
                         t("churn_kpi_active", lang): fmt_int(ref["active"], lang),
                         t("churn_kpi_won_back", lang): fmt_int(len(ref["won_back"]), lang),
                         t("churn_kpi_new", lang): fmt_int(ref["new"], lang)}
    low, high = ref["interval"]
    rate_note = t("churn_kpi_rate_note", lang, low=fmt_pct(low, lang), high=fmt_pct(high, lang),
                  churned=fmt_int(ref["churned"], lang), exposure=fmt_int(ref["exposure"], lang))
    assert any(c.startswith(rate_note) for c in captions(at)), rate_note
    notes = (t("churn_kpi_active_note", lang, churned=fmt_int(n - ref["active"], lang), n=fmt_int(n, lang)),
             t("churn_kpi_won_back_note", lang, revenue=fmt_money(ref["won_back_revenue"], lang, "CNY",
                                                                    compact=True)))
    assert set(notes) <= set(captions(at))


def refusals(at: AppTest) -> list[str]:
    """The warnings about a link's option (the page's others: the proportional-hazards check)."""
    return [w.value for w in at.warning if w.icon == ":material/link_off:"]


def monthly_table(at: AppTest, lang: str) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if t("churn_col_active_start", lang) in df.value.columns)


# ----------------------------------------------------------------------------- what the page shows


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_shows_its_sections_and_the_raw_rows_figures(monkeypatch, churn_db, lang):
    path, tx, _ = churn_db
    at = run_churn(monkeypatch, path, lang)
    ref = reference(tx)
    assert [x.value for x in at.title] == [t("nav_churn", lang)]
    assert [s.value for s in at.subheader] == [t(k, lang) for k in SECTIONS]
    assert {t("churn_settings_title", lang), t("churn_definitions_title", lang)} <= {e.label for e in at.expander}
    assert_figures(at, ref, lang)
    assert t("churn_definition", lang, window=fmt_int(ref["window"], lang), date=fmt_date(LAST, lang)) + " " + t(
        "churn_window_source_data", lang, window=fmt_int(ref["window"], lang), share=fmt_pct(0.9, lang, 0)) \
        in [i.value for i in at.info]
    months = monthly_table(at, lang)
    assert list(months[t("churn_col_month", lang)]) == [fmt_month(m, lang) for m in ref["months"]["month"]]
    assert list(months[t("churn_col_active_start", lang)]) == list(ref["months"]["active_start"])
    assert list(months[t("churn_col_churned", lang)]) == list(ref["months"]["churned"])
    # by region at the period's W: each region's churned and customer-months
    groups = next(df.value for df in at.dataframe if t("churn_col_exposure", lang) in df.value.columns)
    want = {group_name("home_region", r, lang): reference(tx, window=ref["window"], regions=(r,)) for r in REGIONS}
    assert {g: (c, e) for g, c, e in zip(groups[t("churn_col_group", lang)], groups[t("churn_col_churned", lang)],
                                         groups[t("churn_col_exposure", lang)], strict=True)} == {
        g: (r["churned"], r["exposure"]) for g, r in want.items()}
    lives = next(df.value for df in at.dataframe if t("churn_col_median_days", lang) in df.value.columns)
    assert lives[[t("churn_col_customers", lang), t("churn_col_churned", lang)]].values.tolist() == [
        [ref["customers"], ref["customers"] - ref["active"]]]
    # the drivers have data: a model on every customer, feedback among its terms
    assert t("churn_drivers_caption", lang, n=fmt_int(ref["customers"], lang),
             events=fmt_int(ref["customers"] - ref["active"], lang),
             population=fmt_int(ref["customers"], lang)) in captions(at)
    said = "\n".join(m.value for m in at.markdown)
    assert t("churn_cox_short_complaints", lang) in said or t("churn_cox_per_complaints", lang) in said
    assert t("churn_drivers_none", lang) not in [i.value for i in at.info]
    assert at.number_input(key="churn_window_days").value is None and not refusals(at)
    other = next(x for x in LANGUAGES if x != lang)
    assert t("churn_kpi_rate", other) not in tiles(at)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_churn_and_survival_by_tier(monkeypatch, churn_db, lang):
    """By tier: each tier of the period (the tier filter's pyramid, ranked here on the raw rows) with its churned
    and customer-months, the customers without a purchase in the period last; the survival curves per tier."""
    path, tx, _ = churn_db
    at = run_churn(monkeypatch, path, lang)
    at.radio(key="churn_group_by").set_value("tier").run()
    at.radio(key="churn_survival_by").set_value("tier").run()
    assert not at.exception
    assert t("churn_tier_note", lang) in captions(at) and t("churn_tier_survival_note", lang) in captions(at)
    ref = reference(tx)
    ranked = expected_tiers(tx.rename(columns={"order_date": "day"}), Scope(PERIOD, date(2024, 12, 1)), TierSpec())
    members = {group_name("tier", name, lang): set(ranked.loc[ranked["tier"] == k, "customer_id"])
               for k, name in enumerate(TierSpec().names)}
    members[group_name("tier", None, lang)] = set(tx["customer_id"]) - set(ranked["customer_id"])
    groups = next(df.value for df in at.dataframe if t("churn_col_exposure", lang) in df.value.columns)
    got = {g: (c, e) for g, c, e in zip(groups[t("churn_col_group", lang)], groups[t("churn_col_churned", lang)],
                                        groups[t("churn_col_exposure", lang)], strict=True)}
    want = {g: reference(tx, window=ref["window"], who=who) for g, who in members.items() if who}
    assert got == {g: (r["churned"], r["exposure"]) for g, r in want.items()}
    assert sum(c for c, _ in got.values()) == ref["churned"]  # the tiers and the rest add up to the page's rate
    lives = next(df.value for df in at.dataframe if t("churn_col_median_days", lang) in df.value.columns)
    assert dict(zip(lives[t("churn_col_group", lang)], lives[t("churn_col_customers", lang)], strict=True)) == {
        g: r["customers"] for g, r in want.items()}


def test_a_region_filter_shows_that_regions_customers_only(monkeypatch, churn_db):
    path, tx, customers = churn_db
    at = run_churn(monkeypatch, path, "en", region="华北")
    ref = reference(tx, regions=("华北",))
    assert at.sidebar.multiselect(key="region").value == ["华北"]
    assert ref["customers"] < reference(tx)["customers"]
    assert_figures(at, ref)
    north = set(customers.loc[customers["region"] == "华北", "customer_id"])
    ids = {i for df in at.dataframe if t("churn_col_customer_id", "en") in df.value.columns
           for i in df.value[t("churn_col_customer_id", "en")]}
    assert ids and ids <= north


# ----------------------------------------------------------------------------- the definition: W and A


def test_a_changed_window_reruns_with_it_and_puts_it_in_the_address(monkeypatch, churn_db):
    path, tx, _ = churn_db
    at = run_churn(monkeypatch, path, "en")
    default = reference(tx)["window"]
    assert default != 90 and "window_days" not in at.query_params
    at.number_input(key="churn_window_days").set_value(90).run()
    assert not at.exception
    assert at.query_params["window_days"] == "90"
    assert_figures(at, reference(tx, window=90))
    assert t("churn_window_source_option", "en", window=fmt_int(default, "en"), share=fmt_pct(0.9, "en", 0)) \
        in at.info[0].value


def test_a_link_with_a_window_opens_with_it(monkeypatch, churn_db):
    path, tx, _ = churn_db
    at = run_churn(monkeypatch, path, "zh", window_days="90")
    assert at.number_input(key="churn_window_days").value == 90
    assert at.query_params["window_days"] == "90" and not refusals(at)
    assert_figures(at, reference(tx, window=90), "zh")


@pytest.mark.parametrize(("name", "text"), [("window_days", "abc"), ("window_days", "10"),
                                            ("as_of", "1999-01-01")])
def test_a_refused_link_option_warns_and_falls_back_to_the_default(monkeypatch, churn_db, name, text):
    path, tx, _ = churn_db
    at = run_churn(monkeypatch, path, "en", **{name: text})
    assert refusals(at) == [t("churn_option_refused", "en", name=t(f"churn_setting_{name}", "en"),
                                     value=md_literal(text))]
    assert_figures(at, reference(tx))
    assert name not in at.query_params
    assert at.number_input(key="churn_window_days").value is None
    assert at.date_input(key="churn_as_of").value is None


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_as_of_day_shows_the_figures_as_of_it_and_no_later_month(monkeypatch, churn_db, lang):
    path, tx, _ = churn_db
    at = run_churn(monkeypatch, path, lang, as_of=MID.isoformat())
    ref = reference(tx, as_of=MID)
    assert at.date_input(key="churn_as_of").value == MID and at.query_params["as_of"] == MID.isoformat()
    assert_figures(at, ref, lang, as_of=MID)
    shown = list(monthly_table(at, lang)[t("churn_col_month", lang)])
    assert shown == [fmt_month(date(2024, m, 1), lang) for m in range(1, 7)]
    later = [fmt_month(date(2024, m, 1), lang) for m in range(7, 13)]
    assert not [df for df in at.dataframe if set(later) & set(df.value.astype(str).to_numpy().ravel())]
    assert t("churn_provisional_note", lang) in captions(at)  # June ends after the as-of day
    back = next(df.value for df in at.dataframe if t("churn_col_returned", lang) in df.value.columns)
    assert max(back[t("churn_col_returned", lang)]) <= MID


# ----------------------------------------------------------------------------- nobody in scope


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_filter_without_customers_says_so(monkeypatch, churn_db, lang):
    path, _, customers = churn_db
    assert set(customers.loc[customers["segment"] == "政府", "region"]) == {"华南"}
    at = run_churn(monkeypatch, path, lang, region="华北", segment="政府")
    assert [i.value for i in at.info] == [t("churn_no_customers", lang)]
    assert captions(at) == [t("churn_caption_empty", lang)]
    assert not at.metric and not at.dataframe and not at.subheader
