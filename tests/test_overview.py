"""The overview's figures against an independent pandas computation on a hand-made fixture.

The fixture is written as CSV files and imported through the real pipeline
(``import_file``), so the marts are the ones the app reads. The expected figures are
computed here with pandas from the raw fixture rows, following the definitions in
``analytics.metrics.overview``'s docstring, never from the database.

What the fixture exercises (the period is Mar–Aug 2024 unless a test says otherwise):

- order T10 has two lines (products A and B): one order;
- returns: R1 (C1, 华东) and R5 (C5, whose only activity in the period is a return, so C5
  is not active there but the return still lowers revenue);
- C2's home region is 华东 (customers file) but one of C2's rows is in 华北;
- C3 and C9 have no customers-file row: home region = the region of most spend (C3: 华南
  500 against 华北 80), no segment;
- C1, C3 and C9 bought before the period (not new); C2 and C4 are new;
- C1 (3 orders) and C2 (2 orders) repeat, C3, C4 and C9 have one order;
- a row without a transaction id (an order of its own) and a row without a region;
- May 2024 has no sales at all (the trend shows zeros);
- the previous period (Sep 2023–Feb 2024, across the year boundary) and last year
  (Mar–Aug 2023) have sales; 西南 is tiny before (10 of 1,010) so it is no highlight;
- a row after the period (Sep 2024) that ``data_through`` must not report;
- C6 is in the customers file only (never bought).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analytics import scope as gate
from analytics.ingest.pipeline import import_file
from analytics.metrics import highlights as hl
from analytics.metrics import overview as ov
from analytics.metrics.kpis import Kpi
from analytics.scope import Scope
from analytics.store.connection import connect

MONEY = {"rel": 1e-9, "abs": 1e-9}

TX_COLUMNS = ["transaction_id", "customer_id", "order_date", "amount", "quantity", "region", "channel", "product"]
TRANSACTIONS = [
    # last year (Mar–Aug 2023)
    ("L1", "C3", "2023-05-12", 80, 1, "华北", "天猫", "A"),
    ("L2", "C7", "2023-06-10", 120, 1, "华东", "天猫", "B"),
    ("L4", "C1", "2023-07-01", 90, 1, "华东", "门店", "A"),
    ("L3", "C7", "2023-08-30", 60, 1, "华东", "门店", "A"),
    # the previous period (Sep 2023–Feb 2024)
    ("P1", "C1", "2023-10-05", 200, 1, "华东", "天猫", "A"),
    ("P2", "C8", "2023-11-11", 150, 1, "华北", "天猫", "B"),
    ("P3", "C5", "2023-12-01", 400, 2, "华南", "门店", "A"),
    ("P5", "C9", "2024-01-05", 10, 1, "西南", "门店", "A"),
    ("P4", "C5", "2024-01-15", 250, 1, "华南", "天猫", "B"),
    # the period (Mar–Aug 2024); nothing in May
    ("T10", "C1", "2024-03-10", 120, 1, "华东", "天猫", "A"),
    ("T10", "C1", "2024-03-10", 80, 2, "华东", "天猫", "B"),
    ("R5", "C5", "2024-03-05", -40, -1, "华南", "门店", "A"),
    ("T20", "C2", "2024-04-15", 300, 3, "华北", "门店", "A"),
    ("T21", "C2", "2024-04-20", 100, 1, "华东", "天猫", "B"),
    ("T11", "C1", "2024-06-02", 90, 1, "华东", "门店", "B"),
    ("R1", "C1", "2024-06-20", -50, -1, "华东", "天猫", "A"),
    ("T30", "C3", "2024-07-01", 500, 5, "华南", "天猫", "A"),
    ("T90", "C9", "2024-07-20", 1000, 4, "西南", "门店", "B"),
    (None, "C4", "2024-08-09", 200, 1, "华北", "门店", "A"),
    ("T12", "C1", "2024-08-20", 70, 1, None, "天猫", "B"),
    # after the period
    ("T40", "C4", "2024-09-03", 60, 1, "华北", "天猫", "A"),
]
CUST_COLUMNS = ["customer_id", "region", "segment"]
CUSTOMERS = [
    ("C1", "华东", "企业"),
    ("C2", "华东", "个人"),
    ("C4", "华北", "个人"),
    ("C5", "华南", "企业"),
    ("C6", "华北", "企业"),
    ("C8", "华北", "个人"),
]


def write_fixture(folder: Path) -> tuple[Path, Path]:
    """The fixture as the two CSV files a user would import."""
    tx_path, cust_path = folder / "transactions.csv", folder / "customers.csv"
    pd.DataFrame(TRANSACTIONS, columns=TX_COLUMNS).to_csv(tx_path, index=False)
    pd.DataFrame(CUSTOMERS, columns=CUST_COLUMNS).to_csv(cust_path, index=False)
    return tx_path, cust_path


def load_fixture(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    tx_path, cust_path = write_fixture(folder)
    customers = import_file(con, cust_path, commit=True, kind="customers")
    transactions = import_file(con, tx_path, commit=True, kind="transactions")
    assert (customers.rows_imported, customers.rows_rejected) == (len(CUSTOMERS), 0)
    assert (transactions.rows_imported, transactions.rows_rejected) == (len(TRANSACTIONS), 0)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("overview")
    con = connect(folder / "t.duckdb")
    load_fixture(con, folder)
    yield con
    con.close()


# ------------------------------------------------------------------ the pandas reference


@dataclass(frozen=True)
class Spec:
    """A scope as the test states it (months as 'YYYY-MM')."""

    start: str
    end: str
    compare: str = "previous"
    regions: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    allowed: tuple[str, ...] | None = None

    def scope(self) -> Scope:
        return Scope(start=date.fromisoformat(self.start + "-01"), end=date.fromisoformat(self.end + "-01"),
                     compare=self.compare, regions=self.regions, channels=self.channels,
                     segments=self.segments, allowed_regions=self.allowed)

    def months(self) -> tuple[pd.Period, pd.Period]:
        return pd.Period(self.start, "M"), pd.Period(self.end, "M")

    def comparison_months(self) -> tuple[pd.Period, pd.Period] | None:
        start, end = self.months()
        if self.compare == "none":
            return None
        shift = (end.ordinal - start.ordinal + 1) if self.compare == "previous" else 12
        return start - shift, end - shift

    def visible(self) -> set[str] | None:
        """Regions rows may have; None = any. A filter outside the allowed regions gives none."""
        if self.allowed is None:
            return set(self.regions) or None
        return set(self.regions) & set(self.allowed) if self.regions else set(self.allowed)


@dataclass(frozen=True)
class Reference:
    """The raw fixture with what the definitions derive from it."""

    tx: pd.DataFrame  # + month, is_return, starts_order, segment
    home: pd.Series  # customer -> home region
    segment: pd.Series  # customer -> segment (NaN when unknown)
    first_purchase: pd.Series  # customer -> month of first purchase ever


def reference() -> Reference:
    tx = pd.DataFrame(TRANSACTIONS, columns=TX_COLUMNS)
    cust = pd.DataFrame(CUSTOMERS, columns=CUST_COLUMNS).set_index("customer_id")
    tx["amount"] = tx["amount"].astype(float)
    tx["month"] = pd.to_datetime(tx["order_date"]).dt.to_period("M")
    tx["is_return"] = tx["amount"] < 0
    # the first line of a transaction id in the file starts its order; a row without an id is one
    tx["starts_order"] = tx["transaction_id"].isna() | ~tx["transaction_id"].duplicated()
    spend = tx.dropna(subset=["region"]).groupby(["customer_id", "region"], as_index=False)["amount"].sum()
    top = spend.sort_values("amount").groupby("customer_id")["region"].last()
    ids = sorted(set(tx["customer_id"]) | set(cust.index))
    home = cust["region"].reindex(ids).fillna(top.reindex(ids))
    segment = cust["segment"].reindex(ids)
    first = tx[~tx["is_return"]].groupby("customer_id")["month"].min()
    tx["segment"] = tx["customer_id"].map(segment)
    return Reference(tx, home, segment, first)


REF = reference()


def rows_in_scope(ref: Reference, spec: Spec, start: pd.Period, end: pd.Period) -> pd.DataFrame:
    """Transaction rows of a period: the row's region and channel, the customer's segment."""
    tx = ref.tx
    keep = tx["month"].between(start, end)
    visible = spec.visible()
    if visible is not None:
        keep &= tx["region"].isin(visible)
    if spec.channels:
        keep &= tx["channel"].isin(spec.channels)
    if spec.segments:
        keep &= tx["segment"].isin(spec.segments)
    return tx[keep]


def customers_in_scope(ref: Reference, spec: Spec) -> set[str]:
    """Customers by their home region and segment."""
    keep = pd.Series(True, index=ref.home.index)
    visible = spec.visible()
    if visible is not None:
        keep &= ref.home.isin(visible)
    if spec.segments:
        keep &= ref.segment.isin(spec.segments)
    return set(ref.home.index[keep])


def orders_by_customer(ref: Reference, spec: Spec, start: pd.Period, end: pd.Period) -> pd.DataFrame:
    """Order starts (returns excluded) of the customers in scope, in any region, in the
    filtered channels: one row per order with customer_id and month."""
    tx = ref.tx
    keep = (tx["month"].between(start, end) & tx["starts_order"] & ~tx["is_return"]
            & tx["customer_id"].isin(customers_in_scope(ref, spec)))
    if spec.channels:
        keep &= tx["channel"].isin(spec.channels)
    return tx.loc[keep, ["customer_id", "month"]]


def period_values(ref: Reference, spec: Spec, start: pd.Period, end: pd.Period) -> dict:
    rows = rows_in_scope(ref, spec, start, end)
    orders = int((rows["starts_order"] & ~rows["is_return"]).sum())
    gross = float(rows.loc[~rows["is_return"], "amount"].sum())
    per_customer = orders_by_customer(ref, spec, start, end).groupby("customer_id").size()
    active = list(per_customer.index)
    new = [c for c in active if start <= ref.first_purchase[c] <= end]
    repeat = int((per_customer >= 2).sum())
    return {
        "revenue": float(rows["amount"].sum()),
        "orders": orders,
        "aov": gross / orders if orders else None,
        "active_customers": len(active),
        "new_customers": len(new),
        "repeat_customers": repeat,
        "repeat_rate": repeat / len(active) if active else None,
    }


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson (1927) score interval, written out: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = successes / n
    centre = p + z**2 / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return (centre - half) / (1 + z**2 / n), (centre + half) / (1 + z**2 / n)


def expected_kpis(ref: Reference, spec: Spec) -> dict[str, dict]:
    now = period_values(ref, spec, *spec.months())
    cmp_months = spec.comparison_months()
    before = period_values(ref, spec, *cmp_months) if cmp_months else None
    out = {}
    for name in ("revenue", "orders", "active_customers", "new_customers", "repeat_rate", "aov"):
        value = now[name]
        previous = before[name] if before else None
        if value is None or previous is None:
            change = None
        elif name == "repeat_rate":
            change = value - previous  # points
        else:
            change = value / previous - 1 if previous else None
        out[name] = {"value": value, "previous": previous, "change": change}
    n = now["active_customers"]
    out["repeat_rate"].update(n=n, ci=wilson(now["repeat_customers"], n) if n else None,
                              previous_n=before["active_customers"] if before else None)
    return out


def expected_trend(ref: Reference, spec: Spec) -> pd.DataFrame:
    frames = []
    for label, months in (("current", spec.months()), ("comparison", spec.comparison_months())):
        if months is None:
            continue
        start, end = months
        rows = rows_in_scope(ref, spec, start, end)
        orders = orders_by_customer(ref, spec, start, end)
        every = pd.period_range(start, end, freq="M")
        frames.append(pd.DataFrame({
            "period": label,
            "month": every,
            "position": range(1, len(every) + 1),
            "revenue": rows.groupby("month")["amount"].sum().reindex(every, fill_value=0.0).to_numpy(),
            "orders": rows[rows["starts_order"] & ~rows["is_return"]].groupby("month").size()
            .reindex(every, fill_value=0).to_numpy(),
            "active_customers": orders.groupby("month")["customer_id"].nunique()
            .reindex(every, fill_value=0).to_numpy(),
        }))
    return pd.concat(frames, ignore_index=True)


def expected_by_region(ref: Reference, spec: Spec) -> pd.DataFrame:
    def revenue(months: tuple[pd.Period, pd.Period]) -> pd.Series:
        rows = rows_in_scope(ref, spec, *months)
        return rows.assign(region=rows["region"].fillna("")).groupby("region")["amount"].sum()

    now = revenue(spec.months())
    cmp_months = spec.comparison_months()
    before = revenue(cmp_months) if cmp_months else pd.Series(dtype=float)
    regions = sorted(set(now.index) | set(before.index))
    df = pd.DataFrame({"region": regions,
                       "revenue": now.reindex(regions, fill_value=0.0).to_numpy(dtype=float),
                       "previous_revenue": before.reindex(regions, fill_value=0.0).to_numpy(dtype=float)})
    df = df.sort_values(["revenue", "region"], ascending=[False, True], ignore_index=True)
    df["change"] = [r / p - 1 if cmp_months and p > 0 else math.nan
                    for r, p in zip(df["revenue"], df["previous_revenue"], strict=True)]
    df["share"] = df["revenue"] / df["revenue"].sum() if df["revenue"].sum() else math.nan
    if not cmp_months:
        df["previous_revenue"] = math.nan
    return df


def expected_highlights(ref: Reference, spec: Spec) -> list[tuple[str, object]]:
    """(kind, the region or the change) of each highlight, in order."""
    if spec.comparison_months() is None:
        return []
    k = expected_kpis(ref, spec)
    out: list[tuple[str, object]] = []
    if k["revenue"]["change"] is not None:
        out.append(("revenue_change", k["revenue"]["change"]))
    regions = expected_by_region(ref, spec)
    threshold = 0.02 * regions["previous_revenue"].sum()
    movers = regions[(regions["region"] != "") & (regions["previous_revenue"] > 0)
                     & (regions["previous_revenue"] >= threshold)]
    if len(movers) >= 2:
        delta = dict(zip(movers["region"], movers["revenue"] - movers["previous_revenue"], strict=True))
        before = dict(zip(movers["region"], movers["previous_revenue"], strict=True))
        up = max(sorted(delta), key=lambda r: delta[r])  # the first of the largest, by name
        down = min(sorted(delta), key=lambda r: delta[r])
        if delta[up] > 0 and delta[up] / before[up] >= 0.01:  # moves under 1 % are no news
            out.append(("region_up", up))
        if delta[down] < 0 and delta[down] / before[down] <= -0.01:
            out.append(("region_down", down))
    for name, kind in (("new_customers", "new_customers_change"), ("repeat_rate", "repeat_rate_change")):
        if k[name]["change"] is not None:
            out.append((kind, k[name]["change"]))
    return out


def expected_data_through(ref: Reference, spec: Spec) -> date | None:
    rows = rows_in_scope(ref, spec, *spec.months())
    return date.fromisoformat(rows["order_date"].max()) if len(rows) else None


# ------------------------------------------------------------------ assertions


def assert_same(actual: float | None, expected: float | None, what: str) -> None:
    if expected is None:
        assert actual is None, f"{what}: {actual!r}, expected None"
    elif isinstance(expected, int):
        assert actual == expected, f"{what}: {actual!r}, expected {expected!r}"
    else:
        assert actual == pytest.approx(expected, **MONEY), f"{what}: {actual!r}, expected {expected!r}"


def assert_kpis(actual: dict[str, Kpi], expected: dict[str, dict]) -> None:
    assert list(actual) == list(ov.KPIS)
    for name, want in expected.items():
        kpi = actual[name]
        assert kpi.name == name
        for attr in ("value", "previous", "change"):
            assert_same(getattr(kpi, attr), want[attr], f"{name}.{attr}")
        if name == "repeat_rate":
            assert kpi.n == want["n"]
            assert kpi.previous_n == want["previous_n"]
            if want["ci"] is None:
                assert kpi.ci is None
            else:
                assert kpi.ci == pytest.approx(want["ci"], rel=1e-12)
        else:
            assert (kpi.n, kpi.ci, kpi.previous_n) == (None, None, None)


def assert_trend(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(actual.columns) == ["period", "month", "position", "revenue", "orders", "active_customers"]
    got = actual.assign(month=pd.to_datetime(actual["month"]).dt.to_period("M"),
                        period=actual["period"].astype(object))
    want = expected.assign(period=expected["period"].astype(object))
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-9)


def assert_by_region(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(actual.columns) == ["region", "revenue", "previous_revenue", "change", "share"]
    assert actual["region"].tolist() == expected["region"].tolist()
    for column in ("revenue", "previous_revenue", "change", "share"):
        assert actual[column].to_numpy(dtype=float) == pytest.approx(
            expected[column].to_numpy(dtype=float), rel=1e-9, abs=1e-9, nan_ok=True), column


def assert_highlights(actual: list[hl.Highlight], expected: list[tuple[str, object]]) -> None:
    assert [h.kind for h in actual] == [kind for kind, _ in expected]
    for h, (kind, what) in zip(actual, expected, strict=True):
        if kind in ("region_up", "region_down"):
            assert h.values["region"] == what
        else:
            assert h.values["change"] == pytest.approx(what, **MONEY), kind


# ------------------------------------------------------------------ the fixture, by hand


def test_reference_matches_hand_counts_for_the_main_scope():
    """The pandas reference itself, checked against figures worked out by hand (see the
    module docstring), so a mistake in it cannot hide one in the code under test."""
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
    view = ov.overview(con, Spec("2024-03", "2024-08").scope())
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


@pytest.mark.parametrize(("north_now", "south_now", "expected"), [
    (1_005, 900, [("region_down", "华南")]),  # 华北 +0.5 %: no mover
    (1_100, 996, [("region_up", "华北")]),  # 华南 -0.4 %: no mover
    (1_010, 990, [("region_up", "华北"), ("region_down", "华南")]),  # exactly ±1 % counts
])
def test_region_moves_under_one_percent_are_no_highlight(north_now, south_now, expected):
    by_region = pd.DataFrame({"region": ["华北", "华南"], "revenue": [north_now, south_now],
                              "previous_revenue": [1_000, 1_000]})
    by_region["change"] = by_region["revenue"] / by_region["previous_revenue"] - 1
    none = Kpi("x", 0, None, None)
    kpi = {name: none for name in ov.KPIS}
    got = [(h.kind, h.values["region"]) for h in hl.highlights(kpi, by_region, True)]
    assert got == expected


def test_default_scope_is_the_last_twelve_months_with_data(con):
    assert gate.default_scope(con) == Scope(date(2023, 10, 1), date(2024, 9, 1), "previous")
    assert gate.default_scope(con, ("西南",)) == Scope(date(2024, 1, 1), date(2024, 7, 1), "previous",
                                                    allowed_regions=("西南",))
    assert gate.default_scope(con, ("东北",)) is None


def test_default_scope_of_an_empty_database_is_none(db):
    assert gate.default_scope(db) is None


# ------------------------------------------------------------------ Scope


def test_scope_snaps_days_to_whole_months():
    s = Scope(date(2024, 3, 15), date(2024, 5, 31))
    assert (s.start, s.end, s.end_exclusive, s.months) == (date(2024, 3, 1), date(2024, 5, 1), date(2024, 6, 1), 3)
    assert s == Scope(date(2024, 3, 1), date(2024, 5, 1))
    assert Scope(date(2024, 12, 9), date(2024, 12, 9)).end_exclusive == date(2025, 1, 1)


@pytest.mark.parametrize(("start", "end", "compare", "expected"), [
    (date(2024, 1, 1), date(2024, 2, 1), "previous", (date(2023, 11, 1), date(2023, 12, 1))),
    (date(2023, 11, 1), date(2024, 2, 1), "previous", (date(2023, 7, 1), date(2023, 10, 1))),
    (date(2024, 1, 1), date(2024, 12, 1), "previous", (date(2023, 1, 1), date(2023, 12, 1))),
    (date(2024, 3, 1), date(2024, 3, 1), "previous", (date(2024, 2, 1), date(2024, 2, 1))),
    (date(2023, 11, 1), date(2024, 2, 1), "last_year", (date(2022, 11, 1), date(2023, 2, 1))),
    (date(2024, 1, 1), date(2025, 6, 1), "last_year", (date(2023, 1, 1), date(2024, 6, 1))),
])
def test_comparison_periods_across_year_boundaries(start, end, compare, expected):
    s = Scope(start, end, compare, regions=("华北",), channels=("门店",), segments=("企业",), allowed_regions=("华北",))
    c = s.comparison()
    assert (c.start, c.end) == expected
    assert c.months == s.months
    assert c.compare == "none"
    assert (c.regions, c.channels, c.segments, c.allowed_regions) == (s.regions, s.channels, s.segments,
                                                                      s.allowed_regions)


def test_no_comparison():
    assert Scope(date(2024, 1, 1), date(2024, 2, 1), "none").comparison() is None


def test_invalid_comparison_is_refused():
    with pytest.raises(ValueError, match=r"comparison must be one of previous, last_year, none, not 'bogus'"):
        Scope(date(2024, 1, 1), date(2024, 2, 1), "bogus")


def test_reversed_period_is_refused():
    with pytest.raises(ValueError, match=r"the period ends \(2024-01\) before it starts \(2024-03\)"):
        Scope(date(2024, 3, 1), date(2024, 1, 31))


def test_filter_values_are_sets():
    a = Scope(date(2024, 1, 1), date(2024, 2, 1), regions=("华南", "华北", "华南"), allowed_regions=("b", "a"))
    b = Scope(date(2024, 1, 1), date(2024, 2, 1), regions=("华北", "华南"), allowed_regions=("a", "b"))
    assert a == b and a.cache_key() == b.cache_key()
    assert a.regions == ("华北", "华南")


def test_cache_key_differs_when_allowed_regions_differ():
    keys = {Scope(date(2024, 1, 1), date(2024, 2, 1), allowed_regions=allowed).cache_key()
            for allowed in (None, (), ("华北",), ("华北", "华南"))}
    assert len(keys) == 4


def test_cache_key_differs_with_every_field():
    base = Scope(date(2024, 1, 1), date(2024, 2, 1))
    variants = [base, Scope(date(2023, 12, 1), date(2024, 2, 1)), Scope(date(2024, 1, 1), date(2024, 3, 1)),
                Scope(date(2024, 1, 1), date(2024, 2, 1), "last_year"),
                Scope(date(2024, 1, 1), date(2024, 2, 1), regions=("华北",)),
                Scope(date(2024, 1, 1), date(2024, 2, 1), channels=("华北",)),
                Scope(date(2024, 1, 1), date(2024, 2, 1), segments=("华北",))]
    assert len({v.cache_key() for v in variants}) == len(variants)


@pytest.mark.parametrize(("regions", "allowed", "visible"), [
    ((), None, None),
    (("华北",), None, ("华北",)),
    ((), ("华北", "华南"), ("华北", "华南")),
    (("华南",), ("华北", "华南"), ("华南",)),
    (("华东", "华南"), ("华北", "华南"), ("华南",)),
    (("华东",), ("华北",), ()),
    ((), (), ()),
])
def test_visible_regions(regions, allowed, visible):
    assert Scope(date(2024, 1, 1), date(2024, 1, 1), regions=regions, allowed_regions=allowed
                 ).visible_regions() == visible


def test_a_scope_comes_back_from_its_cache_key():
    """The cached loaders receive the key and rebuild the scope from it: nothing is lost."""
    s = Scope(date(2024, 3, 9), date(2024, 5, 2), "last_year", regions=("华北", "华东"), channels=("online",),
              segments=("企业客户",), allowed_regions=("华东",))
    assert Scope.from_key(s.cache_key()) == s


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


@pytest.mark.parametrize(("start", "end", "compare", "spans"), [
    ("2024-03", "2024-08", "previous", [("2023-09", "2024-08")]),
    ("2024-03", "2024-08", "none", [("2024-03", "2024-08")]),
    ("2024-03", "2024-05", "last_year", [("2023-03", "2023-05"), ("2024-03", "2024-05")]),
    ("2024-01", "2024-12", "last_year", [("2023-01", "2024-12")]),  # touching: one span
    ("2023-03", "2024-08", "last_year", [("2022-03", "2024-08")]),  # overlapping: one span
])
def test_month_spans_cover_both_periods_once(start, end, compare, spans):
    scope = Spec(start, end, compare).scope()
    assert gate.month_spans(scope) == [(scope.start, scope.end)]
    assert gate.month_spans(scope, with_comparison=True) == [
        (date.fromisoformat(a + "-01"), date.fromisoformat(b + "-01")) for a, b in spans]


@pytest.mark.parametrize("spec", [
    Spec("2024-03", "2024-05", "last_year"),
    Spec("2024-03", "2024-05", "last_year", channels=("门店",), allowed=("华南", "西南")),
    Spec("2023-03", "2024-08", "last_year", regions=("华东",), segments=("企业",)),
], ids=["gap", "gap-channel-allowed", "overlap-region-segment"])
def test_rows_with_comparison_are_the_two_periods_rows(con, spec):
    """The gate's one-pass sources give exactly the union of the two periods' rows."""
    scope = spec.scope()
    comparison = scope.comparison()
    for source in (gate.sales, gate.customer_activity):
        both = source(scope, with_comparison=True)
        parts = [source(scope), source(comparison)]
        got = con.execute(f"select * from ({both.sql}) order by all", list(both.params)).fetchall()
        want = con.execute(f"select * from ({parts[0].sql} union {parts[1].sql}) order by all",
                           [*parts[0].params, *parts[1].params]).fetchall()
        assert got == want, source.__name__


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
    """Three statements for the whole page: the sales and the customers of both periods,
    and how far the data goes (the customer activity is grouped once, not per period),
    besides the read transaction they share."""
    counting = _CountingConnection(con)
    view = ov.overview(counting, Spec("2024-03", "2024-08", channels=("天猫",), allowed=("华东", "华北")).scope())
    assert view.kpis["active_customers"].value is not None
    assert len(counting.statements) == 3
    assert sum("customer_month" in s or "from transactions where" in s for s in counting.statements) == 1


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


@pytest.mark.parametrize(("now", "n", "before", "n_before", "significant"), [
    (0.700, 1149, 0.702, 1031, False),  # the demo's -0.2 points: noise
    (0.60, 1000, 0.50, 1000, True),
    (0.40, 5, 0.25, 4, False),  # the fixture's +15 points on 5 and 4 customers
    (1.0, 10, 1.0, 12, False),
])
def test_a_repeat_rate_change_is_called_real_only_when_it_is(now, n, before, n_before, significant):
    """Against statsmodels' two-proportion z-test, computed here independently."""
    from statsmodels.stats.proportion import proportions_ztest

    rate = Kpi("repeat_rate", now, before, now - before, n=n, previous_n=n_before)
    p = hl.rate_change_p_value(rate)
    counts = [round(now * n), round(before * n_before)]
    if 0 < sum(counts) < n + n_before:
        assert p == pytest.approx(proportions_ztest(counts, [n, n_before])[1], rel=1e-9)
    kpi = {name: Kpi(name, 0, None, None) for name in ov.KPIS} | {"repeat_rate": rate}
    (h,) = hl.highlights(kpi, pd.DataFrame(columns=["region", "revenue", "previous_revenue", "change"]), True)
    assert h.values["significant"] is significant
