"""Customer tiers (analytics.tiering, analytics.metrics.tiers): files imported through the real import path into a
DuckDB file, every figure against an independent computation here from the raw rows with pandas, numpy and
exact fractions: the assignment with ties and customers exactly at cut points, both presets, value shares,
concentration (Gini two ways, the top-20 % share), the mix, the migration counts and value changes, margins,
the gate (filters keep a customer's tier, a sales manager's tiers rank their regions only)."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from test_churn_view import load

from analytics.metrics import tiers
from analytics.metrics.tiers_report import spec_of
from analytics.scope import Scope
from analytics.store import marts
from analytics.tiering import TierSpec

PERIOD = Scope(date(2024, 1, 1), date(2024, 12, 1))
BEFORE = Scope(date(2023, 1, 1), date(2023, 12, 1))
REGIONS = ("华东", "华北", "华南")


def random_sales(seed: int = 21, n: int = 500) -> pd.DataFrame:
    """Customers buying over 2023-2024 with lognormal amounts, some returns (one larger than the purchases: a net
    value below zero), equal totals (ties), a cost on two lines of three."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        cid, region = f"C{i:04d}", REGIONS[i % 3]
        for _ in range(int(rng.integers(1, 12))):
            day = date(2023, 1, 1) + timedelta(days=int(rng.integers(0, 731)))
            amount = round(float(rng.lognormal(4, 1.2)), 2)
            rows.append((cid, day, amount, region, round(amount * 0.6, 2) if rng.random() < 0.66 else None))
        if rng.random() < 0.05:
            rows.append((cid, date(2024, 6, 1), -5000.0, region, None))
    for k in range(6):  # six customers with equal totals in 2024: ties broken by id
        rows.append((f"T{5 - k}", date(2024, 3, 3), 1234.5, REGIONS[k % 3], 700.0))
    rows.append(("R1", date(2024, 5, 5), -20.0, "华东", None))  # returns only: not ranked
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "amount", "region", "cost"])
    frame.insert(0, "transaction_id", [f"X{k:05d}" for k in range(len(frame))])
    return frame


@pytest.fixture(scope="module", params=["marts", "summaries"])
def db(request, tmp_path_factory):
    sales = random_sales()
    con = load(tmp_path_factory.mktemp("tiers"), sales)
    if request.param == "summaries":
        assert marts.summarize(con)
    yield con, sales
    con.close()


def expected_tiers(sales: pd.DataFrame, scope: Scope, spec: TierSpec, regions=None) -> pd.DataFrame:
    """Per customer ranked in the scope's period: value, rank, tier, by the rule of analytics/tiering.py."""
    r = sales[(pd.to_datetime(sales["day"]) >= pd.Timestamp(scope.start))
              & (pd.to_datetime(sales["day"]) < pd.Timestamp(scope.end_exclusive))]
    if regions is not None:
        r = r[r["region"].isin(regions)]
    buyers = set(r.loc[r["amount"] >= 0, "customer_id"])
    if spec.measure == "revenue":
        value = r.groupby("customer_id")["amount"].sum()
    else:
        costed = r[r["cost"].notna()]
        value = (costed["amount"] - costed["cost"]).groupby(costed["customer_id"]).sum()
    out = pd.DataFrame({"customer_id": sorted(buyers)})
    out["value"] = out["customer_id"].map(value).fillna(0.0).round(6)
    out = out.sort_values(["value", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    n = len(out)
    cuts = [Fraction(repr(c)) for c in spec.cuts]
    out["rank"] = np.arange(1, n + 1)
    out["tier"] = [next((k for k, c in enumerate(cuts) if Fraction(int(r_), n) <= c), len(cuts)) for r_ in out["rank"]]
    return out


def got_tiers(con, scope: Scope, spec: TierSpec) -> pd.DataFrame:
    from analytics.tiering import ranked_sql

    sql, params = ranked_sql(spec, scope.start, scope.end_exclusive, scope.allowed_regions,
                             spec.measure == "margin" and marts.summaries_ready(con))
    return con.execute(f"select * from ({sql}) order by rank", params).df()


@pytest.mark.parametrize("spec", [TierSpec(), TierSpec.preset("key"), TierSpec(("a", "b"), (0.5,)),
                                  TierSpec(measure="margin"), TierSpec(("x", "y", "z"), (0.013, 0.5))],
                         ids=["pyramid", "key", "halves", "margin", "odd-cuts"])
def test_every_customer_is_in_the_tier_of_the_rule(db, spec):
    con, sales = db
    expected = expected_tiers(sales, PERIOD, spec)
    got = got_tiers(con, PERIOD, spec)
    assert got["customer_id"].tolist() == expected["customer_id"].tolist()  # the order: value, then id
    np.testing.assert_allclose(got["value"], expected["value"], rtol=1e-9, atol=1e-6)
    assert got["tier"].tolist() == expected["tier"].tolist()
    assert "R1" not in set(got["customer_id"])  # returns only: no purchase, not ranked
    ties = got[got["customer_id"].str.startswith("T")]
    assert ties["customer_id"].tolist() == sorted(ties["customer_id"]) and ties["rank"].diff().dropna().eq(1).all()


def test_a_customer_exactly_at_a_cut_point_is_in_the_tier_above(tmp_path):
    # 100 customers with values 100, 99, ..., 1: rank r has r / 100, the cuts 1 %, 5 %, 20 % fall exactly on ranks
    sales = pd.DataFrame({"transaction_id": [f"T{i}" for i in range(100)], "customer_id": [f"C{i:03d}" for i in
                                                                                         range(100)],
                          "day": date(2024, 2, 2), "amount": [100.0 - i for i in range(100)], "region": "华东"})
    con = load(tmp_path, sales)
    got = got_tiers(con, PERIOD, TierSpec())
    assert (got["tier"] == 0).sum() == 1 and (got["tier"] == 1).sum() == 4 and (got["tier"] == 2).sum() == 15
    assert got.loc[got["rank"] == 5, "tier"].item() == 1 and got.loc[got["rank"] == 6, "tier"].item() == 2
    assert got.loc[got["rank"] == 20, "tier"].item() == 2 and got.loc[got["rank"] == 21, "tier"].item() == 3
    # seven customers: 1/7 > 5 %, so the first is iron and nobody is platinum or gold
    (tmp_path / "seven").mkdir()
    seven = load(tmp_path / "seven", sales.head(7))
    assert got_tiers(seven, PERIOD, TierSpec())["tier"].tolist() == [2] + [3] * 6


def test_the_pyramid_concentration_and_mix(db):
    con, sales = db
    view = tiers.tier_view(con, PERIOD)
    expected = expected_tiers(sales, PERIOD, TierSpec())
    assert (view.ranked, view.customers) == (len(expected), len(expected))
    total = expected["value"].sum()
    for k, row in view.table.iterrows():
        mine = expected[expected["tier"] == k]["value"]
        assert (row["name"], row["customers"]) == (TierSpec().names[k], len(mine))
        assert row["value"] == pytest.approx(mine.sum()) and row["value_share"] == pytest.approx(mine.sum() / total)
        assert row["lowest"] == pytest.approx(mine.min()) and row["highest"] == pytest.approx(mine.max())
    x = np.clip(expected["value"].to_numpy(), 0, None)
    c = view.concentration
    assert c.negative == int((expected["value"] < 0).sum()) > 0
    gini = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())  # the mean difference form
    assert c.gini == pytest.approx(gini, rel=1e-9)
    top = np.sort(x)[::-1][: int(0.2 * len(x))].sum() / x.sum()
    assert c.top_share == pytest.approx(top, rel=1e-9)
    lorenz = c.lorenz
    assert lorenz["customers_share"].iloc[0] == 0 and lorenz["value_share"].iloc[-1] == pytest.approx(1.0)
    assert (np.diff(lorenz["value_share"]) >= -1e-12).all()
    region = sales.groupby("customer_id")["region"].first()
    mix = view.mix["home_region"]
    for (group, k), n in expected.assign(group=expected["customer_id"].map(region)).groupby(["group", "tier"]).size(
            ).items():
        assert mix[(mix["group"] == group) & (mix["tier"] == k)]["customers"].item() == n


def test_migration_counts_and_value_changes(db):
    con, sales = db
    view = tiers.tier_view(con, PERIOD)
    now = expected_tiers(sales, PERIOD, TierSpec()).set_index("customer_id")
    then = expected_tiers(sales, BEFORE, TierSpec()).set_index("customer_id")
    names = TierSpec().names
    both = now[["tier", "value"]].join(then[["tier", "value"]], how="outer", suffixes=("_now", "_then"))
    before = [("new" if np.isnan(t) else names[int(t)]) for t in both["tier_then"]]
    after = [("lost" if np.isnan(t) else names[int(t)]) for t in both["tier_now"]]
    change = both["value_now"].fillna(0) - both["value_then"].fillna(0)
    expected = pd.DataFrame({"before": before, "after": after, "change": change.to_numpy()}).groupby(
        ["before", "after"]).agg(customers=("change", "size"), value_change=("change", "sum"))
    got = view.migration.set_index(["before", "after"]).sort_index()
    assert got["customers"].to_dict() == expected["customers"].to_dict()
    np.testing.assert_allclose(got["value_change"].to_numpy(), expected["value_change"].reindex(got.index), rtol=1e-9)
    moves = view.moves.set_index("move")
    up = sum(n for (b, a), n in expected["customers"].items() if b not in ("new",) and a != "lost"
             and names.index(a) < names.index(b))
    assert moves.loc["upgrade", "customers"] == up
    assert moves["customers"].sum() == len(both) and moves.loc["new", "customers"] == both["tier_then"].isna().sum()
    assert moves["value_change"].sum() == pytest.approx(change.sum())


def test_by_margin_customers_without_a_cost_count_as_zero(db):
    con, sales = db
    view = tiers.tier_view(con, PERIOD, TierSpec(measure="margin"))
    r = sales[(pd.to_datetime(sales["day"]).dt.year == 2024)]
    buyers = set(r.loc[r["amount"] >= 0, "customer_id"])
    costed = set(r.loc[r["cost"].notna(), "customer_id"])
    assert view.no_cost == len(buyers - costed) > 0


def test_filters_keep_a_customers_tier_and_a_manager_ranks_their_regions_only(db):
    con, sales = db
    everyone = expected_tiers(sales, PERIOD, TierSpec()).set_index("customer_id")
    region = sales.groupby("customer_id")["region"].first()
    filtered = tiers.tier_view(con, Scope(PERIOD.start, PERIOD.end, regions=("华北",)))
    kept = everyone[everyone.index.map(region) == "华北"]
    assert filtered.ranked == len(everyone) and filtered.customers == len(kept)
    assert filtered.table["customers"].tolist() == [int((kept["tier"] == k).sum()) for k in range(4)]
    manager = tiers.tier_view(con, Scope(PERIOD.start, PERIOD.end, allowed_regions=("华北",)))
    own = expected_tiers(sales, PERIOD, TierSpec(), regions=("华北",))
    assert manager.ranked == manager.customers == len(own)
    assert manager.table["customers"].tolist() == [int((own["tier"] == k).sum()) for k in range(4)]


def test_the_options_and_their_errors(db):
    con, _ = db
    assert spec_of(con) == TierSpec()
    assert spec_of(con, preset="key", by="margin") == TierSpec.preset("key", measure="margin")
    assert spec_of(con, cuts="0.02,0.1,0.3").cuts == (0.02, 0.1, 0.3)
    assert spec_of(con, cuts="0.3", names="A,B").names == ("A", "B")
    for bad, match in (({"by": "profit"}, "by must be"), ({"preset": "gold"}, "preset must be"),
                       ({"cuts": "0.2,0.1,0.3"}, "increasing"), ({"cuts": "x"}, "shares separated"),
                       ({"cuts": "0.1,0.2"}, "3 cut points"), ({"names": "A,A", "cuts": "0.5"}, "different names"),
                       ({"names": "top,new", "cuts": "0.5"}, "new or lost")):
        with pytest.raises(ValueError, match=match):
            spec_of(con, **bad)


@pytest.fixture(scope="module")
def demo_con(tmp_path_factory):
    """The demo data (1,500 customers), on which the value models fit."""
    from analytics.ingest.demo import load_demo
    from analytics.store.connection import connect

    folder = tmp_path_factory.mktemp("tiers_demo")
    con = connect(folder / "crm.duckdb")
    load_demo(con, size=1500, folder=folder / "demo")
    yield con
    con.close()


def test_the_lifetime_value_per_tier_is_the_value_pages(demo_con):
    from analytics.metrics.value import value_view
    from analytics.scope import default_scope
    from analytics.tiering import ranked_sql

    scope = default_scope(demo_con)
    got = tiers.clv_by_tier(demo_con, scope)
    value = value_view(demo_con, scope, holdout=False)
    assert got.problem is None and value.fits.problem is None
    clv = value.customers.set_index("customer_id")["clv"]
    sql, params = ranked_sql(TierSpec(), scope.start, scope.end_exclusive, None, False)
    ranked = demo_con.execute(sql, params).df()
    assert got.table["customers"].sum() == len(ranked) > 500
    for k, row in got.table.iterrows():
        ids = ranked.loc[ranked["tier"] == k, "customer_id"]
        assert row["customers"] == len(ids) == row["with_clv"]
        assert row["total"] == pytest.approx(clv.reindex(ids).sum(), rel=1e-9)
        assert row["average"] == pytest.approx(clv.reindex(ids).mean(), rel=1e-9)
    assert got.table["average"].is_monotonic_decreasing  # the best tier is worth the most


def test_the_overviews_pyramid_is_the_tiers_pages(db):
    con, _ = db
    for scope in (PERIOD, Scope(PERIOD.start, PERIOD.end, regions=("华南",), compare="last_year")):
        small, whole = tiers.pyramid(con, scope), tiers.tier_view(con, scope)
        pd.testing.assert_frame_equal(small.table, whole.table)
        assert (small.customers, small.concentration.top_share, small.concentration.gini) == (
            whole.customers, whole.concentration.top_share, whole.concentration.gini)


def test_equal_values_made_of_different_sums_tie_exactly_and_fall_by_id(tmp_path):
    # B's 0.1 + 0.2 and A's 0.3 are equal (as doubles 0.1 + 0.2 > 0.3): by id, A ranks first and alone is "top"
    sales = pd.DataFrame({"transaction_id": ["T1", "T2", "T3"], "customer_id": ["B", "B", "A"],
                          "day": [date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1)], "amount": [0.1, 0.2, 0.3],
                          "region": ["华北", "华北", "华东"]})
    con = load(tmp_path, sales)
    spec = TierSpec(("top", "rest"), (0.5,))
    for built in (False, True):
        if built:
            assert marts.summarize(con)
        got = tiers.tier_view(con, PERIOD, spec)
        assert got.table["customers"].tolist() == [1, 1]
        assert got_tiers(con, PERIOD, spec)["customer_id"].tolist() == ["A", "B"]
        cells = tiers.per_customer(con, PERIOD, spec)
        assert cells["value"].tolist() == [0.3, 0.3]  # (the exact sums, as doubles)
        east = cells.attrs["labels"]["home_region"].index("华东")  # A's home region
        assert cells.loc[cells["home_region"] == east, "tier"].tolist() == [0], built


@pytest.mark.parametrize("seed", range(6))
def test_the_partition_ranking_equals_a_full_sort(seed):
    from analytics.tiering import tiers_of

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    values = rng.integers(0, 40, n).astype(float)  # many ties
    values[rng.random(n) < 0.2] = np.nan  # not ranked
    keys = rng.permutation(n)
    spec = [TierSpec(), TierSpec.preset("key"), TierSpec(("a", "b", "c"), (0.013, 0.5))][seed % 3]
    got = tiers_of(values, keys, spec)
    ranked = np.flatnonzero(~np.isnan(values))
    order = ranked[np.lexsort((keys[ranked], -values[ranked]))]
    cuts = [Fraction(repr(c)) for c in spec.cuts]
    expected = np.full(n, -1)
    for r, i in enumerate(order, start=1):
        expected[i] = next((k for k, c in enumerate(cuts) if Fraction(r, len(ranked)) <= c), len(cuts))
    assert got.tolist() == expected.tolist()
