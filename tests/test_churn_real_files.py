"""The churn page on real public files, imported through the app's own path: the CDNOW sample (no header, columns
by position; Fader, Hardie & Lee 2005) and Sample Superstore (order lines, MIT; tests/fixtures/). The page's
figures, from the purchase months and from the summaries built after the import, equal an independent computation
on the raw file: purchase days read with pandas, churn day by day (tests/churn_reference.py), the lifetimes'
Kaplan–Meier curve with statsmodels."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from unittest import mock

import churn_reference as cr
import numpy as np
import pandas as pd
import pytest
from cdnow_summary import CDNOW_SAMPLE
from statsmodels.duration.survfunc import SurvfuncRight
from test_customer_base import BY_POSITION
from test_real_superstore import SUPERSTORE

from analytics.ingest.pipeline import import_file
from analytics.metrics import churn_summary
from analytics.metrics.churn_view import churn_view
from analytics.scope import Scope
from analytics.store import marts
from analytics.store.connection import connect


def cdnow_rows() -> pd.DataFrame:
    raw = pd.read_csv(CDNOW_SAMPLE, sep=r"\s+", header=None, names=["full_id", "customer_id", "date", "cds", "amount"],
                      dtype={"customer_id": str, "date": str})
    return pd.DataFrame({"customer_id": raw["customer_id"], "order_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
                         "amount": raw["amount"]})


def superstore_rows() -> pd.DataFrame:
    raw = pd.read_csv(SUPERSTORE, dtype=str)
    return pd.DataFrame({"customer_id": raw["Customer ID"], "order_date": pd.to_datetime(raw["Order Date"]),
                         "amount": raw["Sales"].astype(float), "segment": raw["Segment"]})


#: (name, the file, how it is imported, its rows read independently, the scope, who is in it)
CASES = {
    # the sample's customers first bought in 1997's first quarter; the period ends before the data (June 1998)
    "cdnow": (CDNOW_SAMPLE, {"mapping": BY_POSITION}, cdnow_rows, Scope(date(1997, 3, 1), date(1998, 2, 1)), None),
    # the data ends on 2017-12-30: the period's last month is provisional
    "superstore": (SUPERSTORE, {}, superstore_rows, Scope(date(2017, 1, 1), date(2017, 12, 1), segments=("Consumer",)),
                   ("segment", "Consumer")),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request, tmp_path_factory):
    path, options, read, scope, keep = CASES[request.param]
    con = connect(tmp_path_factory.mktemp(request.param) / "crm.duckdb")
    rows = read()
    assert import_file(con, path, commit=True, **options).rows_imported == len(rows)
    assert marts.summarize(con)
    if keep is not None:
        rows = rows[rows[keep[0]] == keep[1]]
    yield con, rows, scope
    con.close()


def independent(rows: pd.DataFrame, scope: Scope, as_of: date, window: int | None) -> dict:
    """The figures from the raw rows: every day with a row of a purchase (an amount of 0 or more) is a purchase day."""
    r = rows[(rows["amount"] >= 0) & (rows["order_date"].dt.date <= as_of)]
    buys = {c: sorted(set(g.dt.date)) for c, g in r.groupby("customer_id")["order_date"]}
    gaps = [(b - a).days for days in buys.values() for a, b in pairwise(days)]
    derived = 30 * max(1, int(np.ceil(np.quantile(gaps, 0.9, method="inverted_cdf") / 30)))
    w = window or derived
    cut = rows[rows["order_date"].dt.date <= as_of]
    monthly = cr.monthly(buys, cr.months_of(scope.start, scope.end), w, as_of,
                         cut.assign(order_date=cut["order_date"].dt.date))
    first = np.array([d[0] for d in buys.values()], dtype="datetime64[D]")
    last = np.array([d[-1] for d in buys.values()], dtype="datetime64[D]")
    since = (np.datetime64(as_of) - last).astype(int)
    observed = since > w
    duration = np.where(observed, (last - first).astype(int), (np.datetime64(as_of) - first).astype(int))
    km = SurvfuncRight(duration, observed.astype(int))
    return {"window": derived, "used": w, "monthly": monthly, "customers": len(buys), "churned": int(observed.sum()),
            "km_times": km.surv_times, "km": km.surv_prob, "cohorts": pd.Series(first.astype("datetime64[M]"))
            .value_counts().sort_index()}


@pytest.mark.parametrize("read", ["summaries", "months"])
@pytest.mark.parametrize("window", [None, 90])
def test_the_churn_figures_equal_the_raw_files(case, read, window):
    con, rows, scope = case
    if read == "summaries":
        view = churn_view(con, scope, window_days=window, with_at_risk=False, with_drivers=False)
        assert churn_summary.load(con, scope, window_days=window) is not None  # (they answered)
    else:
        with mock.patch.object(churn_summary, "load", return_value=None):
            view = churn_view(con, scope, window_days=window, with_at_risk=False, with_drivers=False)
    d = view.definition
    ref = independent(rows, view.scope, d.as_of, window)
    assert (d.default_window, d.window) == (ref["window"], ref["used"])
    assert (view.n_customers, view.churned) == (ref["customers"], ref["churned"])
    assert 0 < view.churned < view.n_customers
    got = view.monthly
    expected = ref["monthly"]
    assert got["churned"].sum() > 10 and got["won_back"].sum() > 0
    for column in ("active_start", "churned", "won_back", "new_customers", "provisional"):
        assert got[column].tolist() == expected[column].tolist(), column
    np.testing.assert_allclose(got["won_back_revenue"], expected["won_back_revenue"], rtol=1e-9, atol=1e-9)
    curve = view.survival["all"].curves[0]
    at = np.searchsorted(curve.times, ref["km_times"], side="right") - 1
    np.testing.assert_allclose(np.where(at >= 0, curve.survival[np.maximum(at, 0)], 1.0), ref["km"], rtol=1e-12)
    sizes = view.cohorts.sizes.set_index("cohort")["customers"]
    in_period = ref["cohorts"][(ref["cohorts"].index >= pd.Timestamp(view.scope.start))
                               & (ref["cohorts"].index < pd.Timestamp(view.scope.end_exclusive))]
    assert sizes.tolist() == in_period.tolist() and len(sizes) > 0


def test_churn_per_tier_equals_the_raw_files(case):
    """Churn per tier (the tier filter's pyramid of the period, ranked here on the raw file's net revenue in the
    period's months, ties by id; among everyone, the filter then keeping its customers): each tier's churned and
    customer-months equal the day-by-day count on its customers' raw rows, and the tiers add up to the page's."""
    from analytics.metrics import churn_tiers
    from analytics.tiering import TierSpec

    con, rows, scope = case
    read = next(v[2] for v in CASES.values() if v[3] == scope)
    everyone = read()  # (ranked among every customer, whatever the filter keeps)
    view = churn_view(con, scope, with_at_risk=False, with_drivers=False)
    split = churn_tiers.tier_split(con, scope, view.definition.window)
    as_of, cut = view.definition.as_of, view.scope
    in_period = everyone[(everyone["order_date"] >= pd.Timestamp(cut.start))
                         & (everyone["order_date"] < pd.Timestamp(cut.end_exclusive))]
    buyers = sorted(set(in_period.loc[in_period["amount"] >= 0, "customer_id"]))
    value = in_period.groupby("customer_id")["amount"].sum().reindex(buyers).round(6)
    ranked = value.reset_index().sort_values(["amount", "customer_id"], ascending=[False, True])["customer_id"]
    n, cuts = len(ranked), TierSpec().cuts
    tier = {c: next((k for k, x in enumerate(cuts) if (r + 1) * 100 <= round(x * 100) * n), len(cuts))
            for r, c in enumerate(ranked)}
    r = rows[(rows["amount"] >= 0) & (rows["order_date"].dt.date <= as_of)]
    buys = {c: sorted(set(g.dt.date)) for c, g in r.groupby("customer_id")["order_date"]}
    for row in split.rates.itertuples():
        k = None if pd.isna(row.group) else TierSpec().names.index(row.group)
        mine = {c: d for c, d in buys.items() if tier.get(c) == k}
        monthly = cr.monthly(mine, cr.months_of(cut.start, cut.end), view.definition.window, as_of)
        known = monthly[~monthly["provisional"]]
        assert (row.churned, row.exposure) == (int(known["churned"].sum()), int(known["active_start"].sum())), k
    assert (split.rates["churned"].sum(), split.rates["exposure"].sum()) == view.period_rate[:2]
    assert split.rates["churned"].sum() > 0
