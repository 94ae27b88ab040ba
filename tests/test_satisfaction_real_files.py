"""The satisfaction & loyalty page on real public files, imported through the app's own path: the CDNOW sample (no
header, columns by position; Fader, Hardie & Lee 2005) and Sample Superstore (order lines, MIT; tests/fixtures/),
the whole file and Superstore's segment and home-region filters. The files hold no survey and no complaint, so the
page shows its loyalty part and says the surveys and complaints have nothing: every loyalty figure of the view
(:func:`analytics.metrics.satisfaction_view.load`, as the page and ``report satisfaction`` load it), at the default
loyalty threshold and at others, equals a computation with pandas on the raw file by the README's definitions
("Metric definitions (satisfaction & loyalty)"; the loyalty part's in ``analytics/metrics/loyalty.py``), tiers
ranked here (tests/test_tiers.py's ``expected_tiers``); the survey and complaint parts are empty, not zeros; the
report, ``report(view)`` made JSON and ``python -m analytics report satisfaction --json``, carries the same figures."""

from __future__ import annotations

import json
from datetime import date
from itertools import product

import numpy as np
import pandas as pd
import pytest
from app_util import open_app
from cdnow_summary import CDNOW_SAMPLE
from satisfaction_fixture import month_last
from scipy import stats
from test_customer_base import BY_POSITION
from test_loyalty import moved, shares, z_test
from test_real_superstore import SUPERSTORE
from test_tiers import expected_tiers

from analytics.cli import main
from analytics.ingest.pipeline import import_file
from analytics.metrics import satisfaction_view
from analytics.report import plain
from analytics.scope import Scope
from analytics.store import marts
from analytics.store.connection import connect
from analytics.tiering import TierSpec
from ui.formats import fmt_int, fmt_number, fmt_pct
from ui.i18n import t

PYRAMID = TierSpec.preset("pyramid")


def read_cdnow() -> pd.DataFrame:
    raw = pd.read_csv(CDNOW_SAMPLE, sep=r"\s+", header=None, names=["full_id", "customer_id", "date", "cds", "amount"],
                      dtype={"customer_id": str, "date": str})
    return pd.DataFrame({"customer_id": raw["customer_id"], "day": pd.to_datetime(raw["date"], format="%Y%m%d"),
                         "amount": raw["amount"].astype(float), "region": None, "segment": None})


def read_superstore() -> pd.DataFrame:
    raw = pd.read_csv(SUPERSTORE, dtype=str)
    return pd.DataFrame({"customer_id": raw["Customer ID"], "day": pd.to_datetime(raw["Order Date"]),
                         "amount": raw["Sales"].astype(float), "region": raw["Region"], "segment": raw["Segment"]})


#: (the file, how it is imported, its rows read independently)
FILES = {"cdnow": (CDNOW_SAMPLE, {"mapping": BY_POSITION}, read_cdnow),
         "superstore": (SUPERSTORE, {}, read_superstore)}
#: (the file, the scope)
SCOPES = {
    # the report's default period (the 12 months up to the data's last, 1998-06); every customer first bought in
    # 1997's first quarter, so the comparison period's years start before the data: partial
    "cdnow": ("cdnow", Scope(date(1997, 7, 1), date(1998, 6, 1))),
    # the data end on 2017-12-30: December's year is partial
    "superstore": ("superstore", Scope(date(2017, 1, 1), date(2017, 12, 1))),
    "superstore_consumer": ("superstore", Scope(date(2017, 1, 1), date(2017, 12, 1), segments=("Consumer",))),
    # Superstore's Region is the app's region, a customer's home region the one of most spend (no customers file)
    "superstore_west": ("superstore", Scope(date(2017, 1, 1), date(2017, 6, 1), compare="last_year",
                                            regions=("West",))),
}
#: The loyalty thresholds N: the default (3), 2 (loyal = repeat buyer) and 5.
LOYAL_MINS = (None, 2, 5)


def months_of(first: date, last: date) -> list[date]:
    return list(pd.date_range(first, last, freq="MS").date)


class RawFile:
    """The definitions on the raw rows, nothing of the app: a purchase is a row with an amount of 0 or more, a
    purchase day a distinct date with one; a customer's home region is the region of most spend (the file has no
    customers file), their segment the file's."""

    def __init__(self, rows: pd.DataFrame):
        self.rows = rows
        buys = rows[rows["amount"] >= 0]
        self.days = buys[["customer_id", "day"]].drop_duplicates()
        self.first = self.days.groupby("customer_id")["day"].min()
        self.start = self.first.min().replace(day=1).date()  # the data's first month, anyone's
        self.end = self.days["day"].max().date()  # the data's last purchase day, anyone's
        ids = sorted(set(rows["customer_id"]))
        spend = rows.groupby(["customer_id", "region"])["amount"].sum().round(6).reset_index()  # (CDNOW: none)
        top = spend[spend["amount"] == spend.groupby("customer_id")["amount"].transform("max")]
        assert not top["customer_id"].duplicated().any()  # (no tie in these files: no tie rule needed)
        self.home = top.set_index("customer_id")["region"].reindex(ids).astype(object)
        self.segment = rows.groupby("customer_id")["segment"].first().reindex(ids)
        self.years: dict[tuple, pd.Series] = {}  # (month, members) → year's: the rows are read-only

    def members(self, scope: Scope) -> set[str]:
        """The customers in scope: home region and segment."""
        keep = pd.Series(True, index=self.home.index)
        if scope.regions:
            keep &= self.home.isin(scope.regions)
        if scope.segments:
            keep &= self.segment.isin(scope.segments)
        return set(keep.index[keep])

    def year(self, month: date, members: set[str]) -> pd.Series:
        """Per customer of ``members`` with a purchase in the 12 months ending with ``month``: their purchase days."""
        if (key := (month, frozenset(members))) not in self.years:  # (read once: every N asks for the same years)
            first = pd.Timestamp(month) - pd.DateOffset(months=11)
            d = self.days[(self.days["day"] >= first) & (self.days["day"] <= pd.Timestamp(month_last(month)))
                          & self.days["customer_id"].isin(members)]
            self.years[key] = d.groupby("customer_id").size()
        return self.years[key]

    def bought_in(self, month: date, members: set[str]) -> set[str]:
        d = self.days[(self.days["day"] >= pd.Timestamp(month)) & (self.days["day"] <= pd.Timestamp(month_last(month)))]
        return set(d["customer_id"]) & members

    def as_of(self, month: date) -> date:
        return min(month_last(month), self.end)

    def tenure(self, month: date, ids) -> pd.Series:
        """Days from each customer's first purchase to the month's as-of day."""
        return pd.Series([(self.as_of(month) - self.first[c].date()).days for c in ids], index=list(ids), dtype=float)

    def partial(self, month: date) -> bool:
        """The year of ``month`` is not all in the data."""
        return (pd.Timestamp(month) - pd.DateOffset(months=11)).date() < self.start or month_last(month) > self.end


def figures(y: pd.Series, n: int) -> dict:
    """A year's figures from its customers' purchase days ``y``: customers, repeat (2 days or more), loyal (N or
    more) with their shares, and purchase frequency, the mean of ``y`` with its t interval."""
    k, repeat, loyal = len(y), int((y >= 2).sum()), int((y >= n).sum())
    mean = float(y.mean()) if k else np.nan
    half = stats.t.ppf(0.975, k - 1) * y.std(ddof=1) / np.sqrt(k) if k > 1 else np.nan
    low, high = mean - half, mean + half
    return dict(zip(("customers", "repeat", "repeat_rate", "repeat_low", "repeat_high", "loyal", "loyal_share",
                     "loyal_low", "loyal_high", "frequency", "frequency_low", "frequency_high"),
                    (k, repeat, *shares(repeat, k), loyal, *shares(loyal, k), mean, low, high), strict=True))


def groups(raw: RawFile, scope: Scope, n: int, now: pd.Series, then: pd.Series, labels: list,
           year_now: pd.Series, year_then: pd.Series) -> list[dict]:
    """Per group (``labels``, then None for customers without one when there are any): the year's figures of the
    group's customers, their median tenure, and the comparison year's of the customers in it then."""
    tenure = raw.tenure(scope.end, year_now.index)
    out = []
    for label in [*labels, None]:
        mine = year_now[now.isna()] if label is None else year_now[now == label]
        before = year_then[then.isna()] if label is None else year_then[then == label]
        if label is None and not len(mine) and not len(before):
            continue
        f = figures(mine, n)
        k, m = int((before >= n).sum()), len(before)
        p = z_test(f["loyal"], f["customers"], k, m)
        c_share, c_low, c_high = shares(k, m)
        out.append({"group": label, **f, "tenure_median_days": tenure[mine.index].median() if len(mine) else np.nan,
                    "compare_customers": m, "compare_loyal": k, "compare_loyal_share": c_share,
                    "compare_loyal_low": c_low, "compare_loyal_high": c_high, "p_value": p,
                    "moved": moved(p, f["loyal_share"], c_share),
                    "small": f["customers"] == 0 or f["loyal_high"] - f["loyal_low"] > 0.10})
    return out


def expected_loyalty(raw: RawFile, scope: Scope, n: int) -> dict:
    """The loyalty part of ``report satisfaction`` (its shape), from the raw rows."""
    members = raw.members(scope)
    comparison = scope.comparison()
    trend, before = ([{"month": m, **figures(raw.year(m, members), n), "partial": raw.partial(m)}
                      for m in months_of(s.start, s.end)] for s in (scope, comparison))
    now, then = trend[-1], before[-1]
    p = z_test(now["loyal"], now["customers"], then["loyal"], then["customers"])
    y, y_then = raw.year(scope.end, members), raw.year(comparison.end, members)
    # purchase days in the year: 1 to 12 (or N if larger), the last "or more"
    cap = max(12, n)
    counts = np.minimum(y, cap).value_counts().reindex(range(1, cap + 1), fill_value=0)
    frequency = [{"purchase_days": d, "customers": int(c), "share": c / len(y), "loyal": d >= n}
                 for d, c in counts.items()]
    # tenure: quartiles, and the share loyal per whole year of it (365 days), the last band open
    tenure = raw.tenure(scope.end, y.index)
    band = np.minimum(tenure // 365, 3)
    bands = []
    for b in range(4):
        inside = y[band == b]
        share, low, high = shares(k := int((inside >= n).sum()), len(inside))
        bands.append({"years_from": b, "years_to": b + 1 if b < 3 else None, "customers": len(inside), "loyal": k,
                      "loyal_share": share, "loyal_low": low, "loyal_high": high,
                      "small": inside.empty or high - low > 0.10})
    # by home region: every region of the customers in scope; by tier: the pyramid of each period, ranked here
    # among every customer (a filter picks whom to show, it does not change a tier)
    home = raw.home
    regions = sorted({home[c] for c in members if pd.notna(home[c])})
    names = dict(enumerate(PYRAMID.names))
    tier_now = expected_tiers(raw.rows, scope, PYRAMID).set_index("customer_id")["tier"].map(names)
    tier_then = expected_tiers(raw.rows, comparison, PYRAMID).set_index("customer_id")["tier"].map(names)
    return {
        "definition": {"loyal_min_purchase_days_12_months": n, "as_of": raw.as_of(scope.end)},
        "period": now, "comparison": then, "p_value": p, "moved": moved(p, now["loyal_share"], then["loyal_share"]),
        "trend": trend, "comparison_trend": before, "frequency": frequency,
        "tenure": {"median_days": tenure.median(), "q1_days": tenure.quantile(0.25), "q3_days": tenure.quantile(0.75),
                   "bands": bands},
        "by_region": groups(raw, scope, n, home.reindex(y.index), home.reindex(y_then.index), regions, y, y_then),
        "by_tier": groups(raw, scope, n, tier_now.reindex(y.index), tier_then.reindex(y_then.index),
                          list(PYRAMID.names), y, y_then),
    }


def assert_same(got, want, where: str = "") -> None:
    """``got`` (the report made JSON: dates as text, NaN as None) equals ``want`` (figures to 1e-9)."""
    if isinstance(want, dict):
        assert set(got) == set(want), where
        for key, value in want.items():
            assert_same(got[key], value, f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{where}[{i}]")
    elif want is None or (isinstance(want, float) and np.isnan(want)):
        assert got is None, where
    elif isinstance(want, date):
        assert got == want.isoformat()[:10], where
    elif isinstance(want, bool | np.bool_ | str):
        assert got == want, where
    else:
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), where


def as_json(data):
    """A report as the command line prints it: JSON, no NaN."""
    return json.loads(json.dumps(plain(data), allow_nan=False))


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Per file: the database (imported through the app's path, then its summaries built, as after an import in
    the app), its path, the raw rows, and each of its scopes' report (default N) read before the summaries."""
    opened = {}

    def store(name: str) -> tuple:
        if name not in opened:
            path, options, read = FILES[name]
            db = tmp_path_factory.mktemp(name) / "crm.duckdb"
            con = connect(db)
            rows = read()
            assert import_file(con, path, commit=True, **options).rows_imported == len(rows)
            early = {s: as_json(satisfaction_view.report(satisfaction_view.load(con, scope)))
                     for s, (file, scope) in SCOPES.items() if file == name}
            assert marts.summarize(con)
            opened[name] = (con, db, RawFile(rows), early)
        return opened[name]

    yield store
    for con, *_ in opened.values():
        con.close()


@pytest.fixture(scope="module", params=list(product(SCOPES, LOYAL_MINS)),
                ids=[f"{s}-N{n or 'default'}" for s, n in product(SCOPES, LOYAL_MINS)])
def case(request, stores):
    name, n = request.param
    file, scope = SCOPES[name]
    con, _, raw, _ = stores(file)
    view = satisfaction_view.load(con, scope, loyal_min=n)
    return name, view, raw, expected_loyalty(raw, scope, n or 3)


def test_every_loyalty_figure_equals_the_raw_file(case):
    name, view, _, want = case
    reported = as_json(satisfaction_view.report(view))  # (JSON-ready, no NaN left)
    assert_same(reported["loyalty"], want, name)
    # the view the page draws holds the same figures as its report
    lo, got = view.loyalty, reported["loyalty"]
    assert got["period"] == as_json(lo.period) == got["trend"][-1] and view.loyal_min == lo.min_days
    assert [got[k] for k in ("trend", "frequency", "by_region", "by_tier")] == as_json(
        [lo.trend, lo.frequency, lo.by_region, lo.by_tier])
    assert [got["tenure"][k] for k in ("median_days", "q1_days", "q3_days", "bands")] == as_json(
        [lo.tenure.median, lo.tenure.q1, lo.tenure.q3, lo.tenure.bands])
    # the data cover what the checks are for: loyal and not, several tiers, partial years where said
    p = want["period"]
    if view.loyal_min == 2:  # (loyal at 2 purchase days: a repeat buyer)
        assert p["loyal"] == p["repeat"] < p["customers"]
    else:
        assert 0 < p["loyal"] < p["repeat"] < p["customers"]
    assert sum(r["customers"] > 0 for r in want["by_tier"]) >= 3
    partial = [r["partial"] for r in want["trend"]]
    if name == "cdnow":  # (years before 1997-12's reach before the data)
        assert all(r["partial"] for r in want["comparison_trend"]) and partial[0] and not partial[-1]
    elif view.scope.end.month == 12:  # (the data end on 2017-12-30)
        assert partial[-1] and not partial[0]


def test_without_surveys_or_complaints_those_parts_are_empty_not_zeros(case):
    """What the page branches on (no responses: says so; no complaint: says so; loyalty shown), and the survey and
    complaint figures without a response or a complaint: None (no value), counts of 0, empty tables."""
    _, view, raw, _ = case
    assert view.no_responses and view.complaints.empty and not view.loyalty.empty and not view.empty
    r = as_json(satisfaction_view.report(view))
    assert view.complaints.recorded is False and r["complaints"]["recorded"] is False  # (no complaint file: said so)
    for figures_ in (r["figures"]["period"], r["figures"]["comparison"]):
        assert figures_ == {k: {"value": None, "low": None, "high": None, "n": 0} for k in ("csat", "nps", "mean")}
    for month in r["monthly"] + r["comparison_monthly"]:
        assert (month["csat_n"], month["nps_n"], month["csat"], month["nps"], month["mean"]) == (0, 0, None, None, None)
    assert len(r["monthly"]) == view.scope.months and r["trends"] == {}
    assert all(table == [] for table in r["by_group"].values())
    assert r["gap"]["overall"] == [{"group": None, "n": 0, "satisfied": None, "satisfied_low": None,
                                    "satisfied_high": None, "loyal": None, "loyal_low": None, "loyal_high": None,
                                    "gap": None}]
    assert all(table == [] for table in r["gap"]["by_group"].values())
    assert [(q["customers"], q["share"], q["revenue"]) for q in r["gap"]["quadrants"]] == [(0, None, 0.0)] * 4
    curve = r["retention_curve"]
    assert curve["problem"] is not None and curve["responses"] == 0 and curve["at_scores"] is None
    assert (curve["intercept"], curve["slope"], curve["slope_p_value"]) == (None, None, None)
    # complaints: none made, none due, none open; the shares of none are None; what they are counted against is
    # real: each month's customers in scope with a purchase in it
    c = r["complaints"]
    members = raw.members(view.scope)
    for period, months in ((c["period"], c["monthly"]), (c["comparison"], c["comparison_monthly"])):
        for row in [period, *months]:
            assert (row["complaints"], row["complainants"], row["due"], row["within_target"], row["open"],
                    row["invalid"]) == (0, 0, 0, 0, 0, 0)
            assert (row["within_share"], row["within_low"], row["within_high"]) == (None, None, None)
            assert row["per_1000"] == (0.0 if row["active"] else None)
        assert [m["active"] for m in months] == [len(raw.bought_in(date.fromisoformat(m["month"]), members))
                                                 for m in months]
        assert period["active"] == sum(m["active"] for m in months) > 0
    assert (c["per_1000_p_value"], c["within_p_value"], c["moved"]) == (None, None, dict.fromkeys(c["moved"]))
    assert c["categories"] == [] and c["open"] == [] and c["time_to_resolve"] is None
    assert all(b["complaints"] == 0 and b["share"] is None for b in c["resolution"])
    assert all(b["complaints"] == 0 for b in c["open_by_age"])
    groups_ = {g["group"]: g for g in c["retention"]["groups"]}
    assert all((g["customer_months"], g["rate"], g["expected"]) == (0, None, None)
               for name, g in groups_.items() if name != "others")
    # the others (everyone, as nobody complained): a purchase in month m, bought again in the 3 months after it
    others = groups_["others"]
    kept = n = 0
    for month in (pd.Timestamp(m) for m in c["retention"]["months"]):
        assert month_last((month + pd.DateOffset(months=3)).date()) <= raw.as_of(view.scope.end)
        buyers = raw.bought_in(month.date(), members)
        later = set().union(*(raw.bought_in((month + pd.DateOffset(months=k)).date(), members) for k in (1, 2, 3)))
        n, kept = n + len(buyers), kept + len(buyers & later)
    assert (others["customer_months"], others["retained"]) == (n, kept) and n > 0
    assert others["rate"] == pytest.approx(kept / n)


@pytest.mark.parametrize("name", list(SCOPES))
def test_the_figures_are_the_same_before_the_summaries(stores, name):
    """Read from the marts just after the import (no summaries yet: customers not numbered) and from the summaries:
    the same report."""
    file, scope = SCOPES[name]
    con, _, _, early = stores(file)
    assert as_json(satisfaction_view.report(satisfaction_view.load(con, scope))) == early[name]


@pytest.mark.parametrize("n", LOYAL_MINS)
def test_report_satisfaction_json_on_cdnow_gives_the_same_figures(stores, capsys, n):
    """``python -m analytics report satisfaction --json`` on the CDNOW database: its default period is the 12
    months up to the data's last (1998-06); the loyalty figures equal the raw file's, the whole report the view's."""
    con, db, raw, _ = stores("cdnow")
    scope = SCOPES["cdnow"][1]
    argv = ["--db", str(db), "report", "satisfaction", *(["--loyal-min", str(n)] if n else []), "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["period"] == {"start": "1997-07", "end": "1998-06", "months": 12}
    assert out["comparison"] == {"kind": "previous", "start": "1996-07", "end": "1997-06"}
    assert out["options"]["loyal_min"] == n
    assert_same(out["loyalty"], expected_loyalty(raw, scope, n or 3), "cli")
    page = as_json(satisfaction_view.report(satisfaction_view.load(con, scope, loyal_min=n)))
    assert {k: out[k] for k in page} == page
    # and as text: the loyalty line, the surveys said to have none
    assert main(argv[:-1]) == 0
    text = capsys.readouterr().out
    p = out["loyalty"]["period"]
    assert "CSAT: no responses" in text and "NPS: no responses" in text and "complaints 0:" in text
    assert (f"loyalty: {p['loyal_share']:.1%} loyal (>= {n or 3} purchase days in 12 months) of "
            f"{p['customers']:,} customers; repeat-purchase rate {p['repeat_rate']:.1%}; "
            f"{p['frequency']:,.1f} purchase days a year") in text
    assert out["loyalty"]["definition"]["as_of"] == raw.end.isoformat() == "1998-06-30"


@pytest.mark.usefixtures("fresh_streamlit_caches")
def test_the_page_on_cdnow_shows_loyalty_and_says_surveys_and_complaints_have_none(stores, monkeypatch):
    """The page (AppTest) on CDNOW at N = 5 from its address: no response, no complaint file; the raw loyalty tiles."""
    _, db, raw, _ = stores("cdnow")
    at = open_app(monkeypatch, db, page="pages/satisfaction.py", lang="en", loyal_min="5",
                  **{"from": "1997-07", "to": "1998-06"})
    infos = [i.value for i in at.info]
    assert t("satisfaction_no_responses", "en") in infos and t("satisfaction_complaints_unrecorded", "en") in infos
    assert [s.value for s in at.subheader] == [t("satisfaction_complaints_title", "en"),
                                               t("satisfaction_loyalty_title", "en")]
    want = expected_loyalty(raw, SCOPES["cdnow"][1], 5)
    p = want["period"]
    shown = {m.label: m.value for m in at.metric}
    assert shown == {t("satisfaction_kpi_repeat_rate", "en"): fmt_pct(p["repeat_rate"], "en"),
                     t("satisfaction_kpi_loyal_share", "en", n=fmt_int(5, "en")): fmt_pct(p["loyal_share"], "en"),
                     t("satisfaction_kpi_frequency", "en"): fmt_number(p["frequency"], "en", 1),
                     t("satisfaction_kpi_tenure", "en"): t("satisfaction_days", "en", n=fmt_number(
                         want["tenure"]["median_days"], "en", 0))}
