"""An independent pandas reference for the overview's figures, and the assertions comparing the overview with it.

The expected figures are computed here with pandas from the raw fixture rows
(``overview_fixture``), following the definitions in ``analytics.metrics.overview``'s
docstring, never from the database; the churn tile's day by day (``churn_reference``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import churn_reference as churn
import pandas as pd
import pytest
from overview_fixture import CUST_COLUMNS, CUSTOMERS, TRANSACTIONS, TX_COLUMNS

from analytics.metrics import highlights as hl
from analytics.metrics import overview as ov
from analytics.metrics.kpis import Kpi
from analytics.scope import Scope

MONEY = {"rel": 1e-9, "abs": 1e-9}


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


def expected_churn(ref: Reference, spec: Spec) -> churn.Tile:
    """The churn tile's counts: the customers in scope by their own home region and segment (the channel filter
    does not apply), as of the period's last day or the data's last purchase."""
    comparison = spec.comparison_months()
    return churn.expected_tile(ref.tx, ref.home, customers_in_scope(ref, spec),
                               tuple(m.start_time.date() for m in spec.months()),
                               tuple(m.start_time.date() for m in comparison) if comparison else None)


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
    out["churn_rate"] = churn.expected_kpi(expected_churn(ref, spec))
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
    """(kind, the region or the change) of each highlight, in order; the churn highlights' (kind, values) last."""
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
    return out + churn.expected_highlights(expected_churn(ref, spec))


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


def assert_kpis(actual: dict[str, Kpi], expected: dict[str, dict], without: tuple[str, ...] = ()) -> None:
    """Every KPI tile but those ``without`` as expected (and those in the order of ``ov.KPIS``). The survey tiles
    (CSAT, NPS) are there only when ``expected`` has them (this fixture has no surveys: tests/test_satisfaction.py
    checks them)."""
    surveys = {"csat", "nps"}
    assert list(actual) == [name for name in ov.KPIS if name not in without and (name not in surveys
                                                                               or name in expected)]
    for name, want in expected.items():
        if name in without:
            continue
        kpi = actual[name]
        assert kpi.name == name
        for attr in ("value", "previous", "change"):
            assert_same(getattr(kpi, attr), want[attr], f"{name}.{attr}")
        if name in ("repeat_rate", "churn_rate"):
            assert kpi.n == want["n"], f"{name}.n"
            assert kpi.previous_n == want["previous_n"], f"{name}.previous_n"
            if want["ci"] is None:
                assert kpi.ci is None, f"{name}.ci"
            else:
                assert kpi.ci == pytest.approx(want["ci"], rel=1e-12, abs=1e-15), f"{name}.ci"
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
        if kind.startswith("churn_"):
            assert h.values.keys() == what.keys(), kind
            for key, want in what.items():
                assert h.values[key] == (want if isinstance(want, bool | str) else pytest.approx(want, **MONEY)), (
                    f"{kind}.{key}: {h.values[key]!r}, expected {want!r}")
        elif kind in ("region_up", "region_down"):
            assert h.values["region"] == what
        else:
            assert h.values["change"] == pytest.approx(what, **MONEY), kind
