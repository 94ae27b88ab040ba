"""The global tier filter (issue 13, point 6) through the one gate (analytics.scope): a hand-made fixture and a
seeded random one imported through the real import path, every figure against an independent computation here
from the raw rows with pandas and exact fractions: which customers each tier keeps (ties by id, customers exactly
at cut points), the overview's revenue and active customers, the value page's customers and the churn page's
customers with the filter, the comparison period keeping the selected period's tiers, a sales manager's tiers
ranked among their regions only, an unknown tier refused, and ``report overview --tier gold --json``."""

from __future__ import annotations

import json
from datetime import date, timedelta
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from test_churn_view import load

from analytics import scope as gate
from analytics.cli import main
from analytics.metrics import churn_summary
from analytics.metrics import overview as ov
from analytics.metrics.churn_view import churn_view
from analytics.metrics.value import value_view
from analytics.scope import TIER_CUTS, TIER_NAMES, Scope
from analytics.store import marts, settings

PERIOD = (date(2024, 1, 1), date(2024, 6, 1))  # against 2023-07..2023-12
#: Cut points under which the hand-made fixture's ten ranked customers put one at each cut point: rank 1 of 10
#: (0.1) is platinum, rank 3 (0.3) gold, rank 6 (0.6) iron.
CUTS = (0.1, 0.3, 0.6)
COLUMNS = ["transaction_id", "customer_id", "day", "amount", "region", "channel"]
SALES = pd.DataFrame([
    ("X01", "A01", date(2023, 3, 5), 100.0, "华东", "门店"),  # history before either period
    # the comparison period: A11 (5000) would top a ranking of it, but is not ranked in the selected period
    ("C01", "A01", date(2023, 9, 10), 700.0, "华东", "门店"),
    ("C02", "A03", date(2023, 10, 2), 200.0, "华北", "天猫"),
    ("C03", "A05", date(2023, 11, 20), 900.0, "华南", "门店"),
    ("C04", "A11", date(2023, 8, 8), 5000.0, "华北", "天猫"),
    ("C05", "A12", date(2023, 8, 15), 300.0, "华东", "门店"),
    ("C06", "A07", date(2023, 12, 1), 50.0, "华东", "天猫"),
    # the period: A01 1000, A02 800 (a row in 华北, home 华东), A03 = A04 = 500 (a tie: A03 first), A05 300,
    # A06 250 (on the period's last day), A07 150 (net of a return), A08 120, A09 100 (no customers-file row:
    # home 华南), A10 -80 (a return larger than the purchase: ranked last); A12 returns only: not ranked
    ("P01", "A01", date(2024, 1, 10), 600.0, "华东", "门店"),
    ("P02", "A01", date(2024, 4, 12), 400.0, "华东", "天猫"),
    ("P03", "A02", date(2024, 2, 1), 500.0, "华东", "门店"),
    ("P04", "A02", date(2024, 3, 3), 300.0, "华北", "天猫"),
    ("P05", "A03", date(2024, 2, 14), 500.0, "华北", "门店"),
    ("P06", "A04", date(2024, 5, 5), 500.0, "华北", "天猫"),
    ("P07", "A05", date(2024, 3, 30), 300.0, "华南", "门店"),
    ("P08", "A06", date(2024, 6, 30), 250.0, "华南", "天猫"),
    ("P09", "A07", date(2024, 1, 31), 200.0, "华东", "门店"),
    ("R07", "A07", date(2024, 2, 10), -50.0, "华东", "门店"),
    ("P10", "A08", date(2024, 4, 1), 120.0, "华北", "门店"),
    ("P11", "A09", date(2024, 5, 15), 100.0, "华南", "天猫"),
    ("P12", "A10", date(2024, 1, 5), 400.0, "华东", "天猫"),
    ("R10", "A10", date(2024, 6, 1), -480.0, "华东", "天猫"),
    ("R12", "A12", date(2024, 2, 20), -30.0, "华东", "门店"),
    # after the period
    ("Z01", "A01", date(2024, 7, 3), 90.0, "华东", "门店"),
    ("Z02", "A04", date(2024, 8, 1), 60.0, "华北", "天猫"),
], columns=COLUMNS)
CUSTOMERS = pd.DataFrame(
    [(f"A{i:02d}", region, segment) for i, region, segment in (
        (1, "华东", "企业"), (2, "华东", "个人"), (3, "华北", "企业"), (4, "华北", "个人"), (5, "华南", "企业"),
        (6, "华南", "个人"), (7, "华东", "企业"), (8, "华北", "企业"), (10, "华东", "个人"), (11, "华北", "个人"),
        (12, "华东", "企业"), (13, "华北", "企业"))],
    columns=["customer_id", "region", "segment"])


def scope(tiers=(), cuts=CUTS, **kwargs) -> Scope:
    return Scope(*PERIOD, tiers=tiers, tier_cuts=cuts, **kwargs)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    con = load(tmp_path_factory.mktemp("tier_filter"), SALES, CUSTOMERS)
    yield con
    con.close()


# ------------------------------------------------------------------ the independent computation


def home_regions(sales: pd.DataFrame, customers: pd.DataFrame) -> pd.Series:
    """Per customer: the customers file's region, else the region of their most spend."""
    spend = sales.groupby(["customer_id", "region"])["amount"].sum().reset_index()
    most = spend.sort_values(["amount", "region"], ascending=[False, True]).groupby("customer_id")["region"].first()
    return customers.set_index("customer_id")["region"].combine_first(most)


def expected_tiers(sales: pd.DataFrame, customers: pd.DataFrame, first: date, last: date, cuts=CUTS,
                   allowed=None) -> dict[str, str]:
    """Per ranked customer, their tier name: those with a purchase in the months ``first``..``last`` (and a home
    region in ``allowed``), ranked by net revenue in them, highest first, ties by id; rank r of N in the first tier
    whose cut point c has r / N <= c (exactly)."""
    days = pd.to_datetime(sales["day"])
    rows = sales[(days >= pd.Timestamp(first)) & (days < pd.Timestamp(gate.add_months(last, 1)))]
    buyers = set(rows.loc[rows["amount"] > 0, "customer_id"])
    if allowed is not None:
        homes = home_regions(sales, customers)
        buyers = {c for c in buyers if homes[c] in allowed}
    value = rows.groupby("customer_id")["amount"].sum()
    ranked = sorted(buyers, key=lambda c: (-round(value[c], 6), c))
    bounds = [Fraction(repr(c)) for c in cuts]
    n = len(ranked)
    return {c: TIER_NAMES[next((k for k, b in enumerate(bounds) if Fraction(r, n) <= b), len(bounds))]
            for r, c in enumerate(ranked, start=1)}


def kept(tiers: dict[str, str], names) -> set[str]:
    return {c for c, name in tiers.items() if name in names}


def gate_customers(con, s: Scope) -> set[str]:
    rows = gate.customers(s)
    return {r[0] for r in con.execute(f"select customer_id from ({rows.sql})", list(rows.params)).fetchall()}


def in_months(sales: pd.DataFrame, first: date, last: date) -> pd.DataFrame:
    days = pd.to_datetime(sales["day"])
    return sales[(days >= pd.Timestamp(first)) & (days < pd.Timestamp(gate.add_months(last, 1)))]


# ------------------------------------------------------------------ which customers each tier keeps


def test_the_hand_made_tiers_are_those_worked_out_by_hand():
    """The independent ranking itself, checked by hand: one customer exactly at each cut point, A03 before A04
    (equal revenue, ties by id), A10 (net below zero) last, A12 (returns only) and A11 (not buying) unranked."""
    tiers = expected_tiers(SALES, CUSTOMERS, *PERIOD)
    assert tiers == {"A01": "platinum", "A02": "gold", "A03": "gold", "A04": "iron", "A05": "iron", "A06": "iron",
                     "A07": "lead", "A08": "lead", "A09": "lead", "A10": "lead"}
    # the default cut points (1 %, 5 %, 20 %) over ten customers: rank 2 of 10 is exactly at 20 %
    assert expected_tiers(SALES, CUSTOMERS, *PERIOD, TIER_CUTS) == {**{c: "lead" for c in tiers},
                                                                     "A01": "iron", "A02": "iron"}


@pytest.mark.parametrize("cuts", [CUTS, TIER_CUTS, (0.25, 0.5, 0.75), (0.2, 0.4, 0.9)])
@pytest.mark.parametrize("names", [("platinum",), ("gold",), ("iron",), ("lead",), ("platinum", "gold"),
                                   ("gold", "lead"), TIER_NAMES])
def test_each_tier_keeps_the_customers_of_an_independent_ranking(db, cuts, names):
    expected = kept(expected_tiers(SALES, CUSTOMERS, *PERIOD, cuts), names)
    assert gate_customers(db, scope(names, cuts)) == expected


def random_sales(seed: int = 5, n: int = 230) -> pd.DataFrame:
    """Customers in three regions buying in 2024 (amounts in whole tens, so many tie), some returns; exactly 100
    of them buy in the first half-year (the others in the second only), so the default cut points fall on ranks
    1, 5 and 20 exactly there."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        cid, region = f"R{i:03d}", ("华东", "华北", "华南")[i % 3]
        for k in range(int(rng.integers(1, 4))):  # 2024-07-01 is day 182 of 2024: the first row of R000-R099 in
            low, high = (0, 182) if i < 100 and k == 0 else (0 if i < 100 else 182, 366)  # H1, none of the others
            day = date(2024, 1, 1) + timedelta(days=int(rng.integers(low, high)))
            rows.append((cid, day, float(rng.integers(1, 30) * 10), region, "门店"))
        if rng.random() < 0.1:
            rows.append((cid, date(2024, 3, 1), -40.0, region, "门店"))
    frame = pd.DataFrame(rows, columns=COLUMNS[1:])
    frame.insert(0, "transaction_id", [f"Y{k:05d}" for k in range(len(frame))])
    return frame


@pytest.fixture(scope="module")
def random_db(tmp_path_factory):
    sales = random_sales()
    con = load(tmp_path_factory.mktemp("tier_filter_random"), sales)
    yield con, sales
    con.close()


@pytest.mark.parametrize("allowed", [None, ("华北",), ("华东", "华南")])
@pytest.mark.parametrize("last", [date(2024, 6, 1), date(2024, 12, 1)])
def test_the_default_pyramid_on_random_data_equals_pandas(random_db, last, allowed):
    con, sales = random_db
    tiers = expected_tiers(sales, pd.DataFrame(columns=["customer_id", "region"]), date(2024, 1, 1), last,
                           TIER_CUTS, allowed)
    for name in TIER_NAMES:
        s = Scope(date(2024, 1, 1), last, tiers=(name,), allowed_regions=allowed)
        assert gate_customers(con, s) == kept(tiers, (name,)), name
    if last == date(2024, 6, 1) and allowed is None:
        assert len(tiers) % 100 == 0  # N a multiple of 100: ranks 1, 5 and 20 sit exactly at the cut points
        assert [sum(1 for t in tiers.values() if t == name) for name in TIER_NAMES] == [
            len(tiers) // 100, 4 * len(tiers) // 100, 15 * len(tiers) // 100, 80 * len(tiers) // 100]


def test_other_filters_pick_among_the_tiers_without_changing_them(db):
    """A region or segment filter keeps those of the tier's customers it keeps anyway: nobody moves tier."""
    tiers = expected_tiers(SALES, CUSTOMERS, *PERIOD)
    homes = home_regions(SALES, CUSTOMERS)
    segments = CUSTOMERS.set_index("customer_id")["segment"]
    for names in (("gold",), ("iron",), ("platinum", "gold")):
        assert gate_customers(db, scope(names, regions=("华北",))) == {c for c in kept(tiers, names)
                                                                        if homes[c] == "华北"}
        assert gate_customers(db, scope(names, segments=("企业",))) == {c for c in kept(tiers, names)
                                                                         if segments.get(c) == "企业"}


# ------------------------------------------------------------------ a sales manager


def test_a_sales_managers_tiers_rank_their_regions_only(db):
    """For a manager of 华北 only A03, A04 and A08 (home 华北) are ranked: A03 (rank 1 of 3, 1/3 > 0.3) is iron,
    A04 and A08 lead; for everyone A03 is gold and A04 iron. Nothing of another region enters."""
    north = expected_tiers(SALES, CUSTOMERS, *PERIOD, allowed=("华北",))
    assert north == {"A03": "iron", "A04": "lead", "A08": "lead"}
    for name in TIER_NAMES:
        assert gate_customers(db, scope((name,), allowed_regions=("华北",))) == kept(north, (name,))
    view = ov.overview(db, scope(("iron",), allowed_regions=("华北",)), with_average_clv=False, with_churn=False)
    assert view.kpis["revenue"].value == 500.0 and view.kpis["active_customers"].value == 1  # A03's P05
    # a tampered link asking for a region the manager may not see: nothing, tiers or not
    assert gate_customers(db, scope(("lead",), regions=("华东",), allowed_regions=("华北",))) == set()


# ------------------------------------------------------------------ through the gate on other pages


def overview_figures(names, s: Scope) -> dict[str, float]:
    """Revenue and orders (rows of the scope's regions) and active customers (of its regions by home region) of
    the period and the comparison period of the customers in the period's tiers ``names``, from the raw rows."""
    who = kept(expected_tiers(SALES, CUSTOMERS, s.start, s.end, s.tier_cuts, s.allowed_regions), names)
    homes = home_regions(SALES, CUSTOMERS)
    out = {}
    for label, period in (("now", s), ("before", s.comparison())):
        rows = in_months(SALES, period.start, period.end)
        rows = rows[rows["customer_id"].isin(who)]
        bought = set(rows.loc[rows["amount"] > 0, "customer_id"])
        if s.regions:
            rows = rows[rows["region"].isin(s.regions)]
            bought = {c for c in bought if homes[c] in s.regions}
        out |= {f"revenue_{label}": rows["amount"].sum(), f"orders_{label}": int((rows["amount"] > 0).sum()),
                f"active_{label}": len(bought)}
    return out


@pytest.mark.parametrize("names", [("platinum",), ("platinum", "gold"), ("iron",), ("lead",), TIER_NAMES])
@pytest.mark.parametrize("regions", [(), ("华北",)])
def test_the_overview_with_a_tier_filter_equals_those_customers_figures(db, names, regions):
    """Revenue and orders (row regions: A02's row in 华北 counts there) and active customers (home regions: A02 is
    华东's) of the period and of the comparison period, which shows the same customers (the selected period's
    tiers), KPIs and trend alike."""
    s = scope(names, regions=regions)
    expected = overview_figures(names, s)
    view = ov.overview(db, s, with_average_clv=False, with_churn=False)
    k = view.kpis
    assert k["revenue"].value == pytest.approx(expected["revenue_now"], abs=1e-9)
    assert k["revenue"].previous == pytest.approx(expected["revenue_before"], abs=1e-9)
    assert (k["orders"].value, k["orders"].previous) == (expected["orders_now"], expected["orders_before"])
    assert (k["active_customers"].value, k["active_customers"].previous) == (expected["active_now"],
                                                                             expected["active_before"])
    trend = view.trend.groupby("period")["revenue"].sum()
    assert trend["current"] == pytest.approx(expected["revenue_now"], abs=1e-9)
    assert view.by_region["revenue"].sum() == pytest.approx(expected["revenue_now"], abs=1e-9)


def test_the_comparison_keeps_the_selected_periods_tiers(db):
    """Platinum and gold of 2024-H1 are A01, A02, A03: in 2023-H2 they spent 700 + 200; a ranking of 2023-H2 would
    have made A11 (5000, not buying in 2024) their only customer instead."""
    s = scope(("platinum", "gold"))
    c = s.comparison()
    assert (c.start, c.end, c.tier_window, c.tiers) == (date(2023, 7, 1), date(2023, 12, 1), PERIOD, s.tiers)
    assert gate_customers(db, c) == {"A01", "A02", "A03"}
    assert kept(expected_tiers(SALES, CUSTOMERS, c.start, c.end), ("platinum", "gold")) == {"A11"}
    k = ov.overview(db, s, with_average_clv=False, with_churn=False).kpis
    assert (k["revenue"].value, k["revenue"].previous) == (2300.0, 900.0)
    assert (k["active_customers"].value, k["active_customers"].previous) == (3, 2)


def test_the_value_page_counts_the_tiers_customers(db):
    for names in (("platinum", "gold"), ("iron",), ("lead",)):
        expected = kept(expected_tiers(SALES, CUSTOMERS, *PERIOD), names)
        view = value_view(db, scope(names), holdout=False)
        assert view.n_customers == len(expected)
        assert set(view.customers["customer_id"]) == expected


def expected_churn(names, window: int) -> tuple[date, int, int]:
    """As-of day, customers and active customers of the churn page for the period's tiers ``names``: the as-of
    day is the period's last day or the data's last purchase (anyone's) if earlier; active: last purchase up to
    it at most ``window`` days before it."""
    who = kept(expected_tiers(SALES, CUSTOMERS, *PERIOD), names)
    as_of = min(date(2024, 6, 30), max(SALES.loc[SALES["amount"] > 0, "day"]))
    bought = SALES[SALES["customer_id"].isin(who) & (SALES["amount"] > 0)]
    last = bought[bought["day"] <= as_of].groupby("customer_id")["day"].max()
    return as_of, len(last), int(sum((as_of - d).days <= window for d in last))


@pytest.mark.parametrize("names", [("platinum", "gold"), ("iron",), ("lead",)])
def test_the_churn_page_counts_the_tiers_customers(db, names):
    as_of, customers, active = expected_churn(names, 90)
    view = churn_view(db, scope(names), window_days=90, with_at_risk=False, with_drivers=False)
    assert (view.definition.as_of, view.n_customers, view.active) == (as_of, customers, active)
    assert view.churned == customers - active


def test_the_customer_detail_and_transactions_obey_the_filter(db):
    """A customer of another tier is out of scope on the detail page as one the user may not see; the
    transactions in scope are the tier's customers' rows."""
    gold = scope(("gold",))
    for customer, rows in (("A02", 2), ("A01", 0)):
        records = gate.customer_records(gold, "transactions", customer)
        assert len(db.execute(records.sql, list(records.params)).fetchall()) == rows
    rows = gate.transactions(gold)
    got = db.execute(f"select transaction_id from ({rows.sql})", list(rows.params)).fetchall()
    assert sorted(r[0] for r in got) == ["P03", "P04", "P05"]


# ------------------------------------------------------------------ the summaries, the scope's checks


def test_the_churn_summaries_refuse_a_tiered_scope_and_the_pages_count_from_the_months(tmp_path):
    """The churn summaries count groups, not customers: ``summary_rows`` refuses a tiered scope, ``churn_summary.load``
    declines one, and the churn page counts from the purchase months: the same figures as without the summaries."""
    con = load(tmp_path, SALES, CUSTOMERS)
    try:
        assert marts.summarize(con) is not None
        for table in ("churn_month", "churn_gaps", "churn_returns", "cohort_month"):
            with pytest.raises(ValueError, match=f"{table} counts customers per group.*platinum, gold"):
                gate.summary_rows(scope(("platinum", "gold")), table)
        assert gate_customers(con, scope(("platinum", "gold"))) == {"A01", "A02", "A03"}
        numbers = gate.summary_rows(scope(("platinum", "gold")), "customer_numbers")  # one row per customer: narrowed
        assert {r[0] for r in con.execute(f"select customer_id from ({numbers.sql})", list(numbers.params)).fetchall()
                } == {"A01", "A02", "A03"}
        assert churn_summary.load(con, scope(("platinum", "gold"))) is None
        assert churn_summary.load(con, scope()) is not None  # (the summaries answer for the scope without tiers)
        view = churn_view(con, scope(("platinum", "gold")), window_days=90, with_at_risk=False, with_drivers=False)
        assert (view.definition.as_of, view.n_customers, view.active) == expected_churn(("platinum", "gold"), 90)
    finally:
        con.close()


def test_a_tier_must_be_one_of_the_pyramids():
    with pytest.raises(ValueError, match=r"unknown tier 'diamond': the tiers are platinum, gold, iron, lead"):
        Scope(*PERIOD, tiers=("gold", "diamond"))
    with pytest.raises(ValueError, match=r"cut points must be increasing shares"):
        Scope(*PERIOD, tiers=("gold",), tier_cuts=(0.2, 0.1, 0.5))
    with pytest.raises(ValueError, match=r"4 tiers need 3 cut points, not 2"):
        Scope(*PERIOD, tier_cuts=(0.1, 0.2))
    with pytest.raises(ValueError, match=r"the tier window ends \(2024-01\) before it starts \(2024-03\)"):
        Scope(*PERIOD, tiers=("gold",), tier_window=(date(2024, 3, 1), date(2024, 1, 1)))


def test_the_scope_keeps_its_tiers_through_its_cache_key():
    s = Scope(date(2024, 2, 9), date(2024, 5, 2), "last_year", regions=("华北",), allowed_regions=("华北", "华东"),
              tiers=("lead", "gold", "gold"), tier_cuts=(0.02, 0.1, 0.3))
    assert s.tiers == ("gold", "lead") and s.tier_window == (date(2024, 2, 1), date(2024, 5, 1))
    assert Scope.from_key(s.cache_key()) == s
    assert Scope.from_key(s.comparison().cache_key()).tier_window == s.tier_window
    assert Scope(*PERIOD).tier_window is None and Scope(*PERIOD).tier_cuts == TIER_CUTS
    assert len({Scope(*PERIOD, tiers=t, tier_cuts=c).cache_key() for t in ((), ("gold",), ("iron",))
                for c in (TIER_CUTS, CUTS)}) == 6


def test_the_default_cut_points_are_the_settings_default():
    assert list(TIER_CUTS) == settings.default("tier_cuts")


# ------------------------------------------------------------------ the command line


def test_report_overview_with_a_tier_filter(tmp_path, capsys):
    """``report overview --tier ... --json``: the cut points from the metric settings, the figures of those
    customers; an unknown tier is an option error (exit 2)."""
    con = load(tmp_path, SALES, CUSTOMERS)
    settings.save(con, {"tier_cuts": list(CUTS)})
    con.close()
    db = str(tmp_path / "crm.duckdb")
    base = ["--db", db, "report", "overview", "--from", "2024-01", "--to", "2024-06"]
    assert main([*base, "--tier", "gold", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["filters"] == {"regions": [], "channels": [], "segments": [], "tiers": ["gold"],
                                 "tier_cuts": list(CUTS)}
    expected = overview_figures(("gold",), scope(("gold",)))
    kpis = report["kpis"]
    assert (kpis["revenue"]["value"], kpis["revenue"]["previous"]) == (expected["revenue_now"],
                                                                       expected["revenue_before"]) == (1300.0, 200.0)
    assert kpis["active_customers"]["value"] == expected["active_now"] == 2
    assert main([*base, "--tier", "gold", "--tier", "platinum"]) == 0
    assert "filters: tiers = platinum, gold; tier_cuts = 0.1, 0.3, 0.6" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main([*base, "--tier", "diamond"])
    assert exit_.value.code == 2
    assert "argument --tier: invalid choice: 'diamond'" in capsys.readouterr().err
    assert main(["--db", db, "report", "data", "--tier", "gold"]) == 2
    assert "--tier: the data page has no period or filters" in capsys.readouterr().err
