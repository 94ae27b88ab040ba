"""The lifecycle funnel (analytics.metrics.funnel_lifecycle) on the seeded random file of tests/test_churn_view.py,
imported through the real import path, with and without the summaries: every member's days and the funnel's counts
against the definitions computed here from the raw transaction rows with pandas (the module docstring's rules read
purchase day by purchase day), under region, segment, tier and access restrictions, for the period and the
comparison period (counted as of a day in the middle of a month, the data going on after it); and
``customer_month.second_day`` against the raw rows."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from test_churn_view import con_fixture, data_fixture  # noqa: F401 (con: without, with summaries)
from test_loyalty import Raw

from analytics.metrics import funnel_lifecycle as fl
from analytics.metrics.churn_view import churn_view
from analytics.metrics.funnel import stage_times
from analytics.metrics.funnel_stages import LIFECYCLE_STAGES
from analytics.scope import Scope

SCOPES = {
    "period": Scope(date(2024, 1, 1), date(2024, 6, 1)),  # compared as of 2024-08-30: mid-month, data after it
    "region": Scope(date(2023, 7, 1), date(2024, 6, 1), regions=("华北", "华南")),
    "allowed": Scope(date(2024, 1, 1), date(2024, 6, 1), allowed_regions=("华东",)),
    "segment_last_year": Scope(date(2024, 3, 1), date(2024, 11, 1), compare="last_year", segments=("企业",)),
    "tier": Scope(date(2024, 1, 1), date(2024, 12, 1), tiers=("iron", "lead")),
    "late": Scope(date(2024, 10, 1), date(2025, 3, 1)),  # ends after the data: the comparison's cut in its period
    "none": Scope(date(2023, 1, 1), date(2023, 12, 1), compare="none"),
}


def window_of(days: dict[str, np.ndarray], members: set[str], cut: date) -> int:
    """The churn page's default W (README): the smallest multiple of 30 days (30 to 720) within which 90 % of the
    gaps between consecutive purchase days up to ``cut`` lie; 180 without any."""
    gaps = np.concatenate([np.diff(d[d <= np.datetime64(cut)]).astype(int) for c, d in days.items() if c in members]
                          or [np.zeros(0, int)])
    if not len(gaps):
        return 180
    return int(min(720, 30 * max(1, int(np.ceil(np.quantile(gaps, 0.9, method="inverted_cdf") / 30)))))


def reference(days: dict[str, np.ndarray], members: set[str], first: date, last: date, as_of: date, window: int,
              n: int) -> pd.DataFrame:
    """Per customer of ``members`` whose first purchase day lies from ``first`` to ``last`` (and by ``as_of``):
    the stages' days as of ``as_of``, read purchase day by purchase day."""
    cut, rows = np.datetime64(as_of), []
    for c in sorted(members):
        d = days.get(c, np.zeros(0, "datetime64[D]"))
        d = d[d <= cut]
        if not len(d) or not np.datetime64(first) <= d[0] <= np.datetime64(min(last, as_of)):
            continue
        loyal = None
        for month in pd.date_range(pd.Timestamp(d[0]).replace(day=1), as_of, freq="MS"):
            end = min((month + pd.offsets.MonthEnd(0)).date(), as_of)
            since = np.datetime64((month - pd.DateOffset(months=11)).date())
            if ((d >= since) & (d <= np.datetime64(end))).sum() >= n:
                loyal = end
                break
        rows.append((c, pd.Timestamp(d[0]), pd.Timestamp(d[1]) if len(d) > 1 else pd.NaT,
                     pd.Timestamp(loyal) if loyal else pd.NaT, bool((cut - d[-1]).astype(int) <= window)))
    return pd.DataFrame(rows, columns=["member_id", "first", "second", "loyal", "active"])


def counts(ref: pd.DataFrame) -> dict[str, list[int]]:
    reached = [pd.Series(True, index=ref.index), ref["second"].notna(), ref["loyal"].notna(), ref["active"]]
    strict = [reached[0]]
    for r in reached[1:]:
        strict.append(strict[-1] & r)
    return {"strict": [int(s.sum()) for s in strict], "any": [int(r.sum()) for r in reached]}


@pytest.fixture(scope="module", name="raw")
def raw_fixture(data):
    raw = Raw(data[0], data[1])
    raw.days = {c: np.array(sorted(set(g)), dtype="datetime64[D]") for c, g in raw.buys.groupby("customer_id")["day"]}
    return raw


def stuck(ref: pd.DataFrame, as_of: date, stuck_days: dict) -> list[tuple]:
    """The customers (still active or not) waiting at the first or the repeat purchase (not loyal) longer than the
    threshold: the given one, else the 90th percentile of the step's days (linear interpolation)."""
    out = []
    for key, day, following in (("first_purchase", "first", "second"), ("repeat_purchase", "second", "loyal")):
        gap = (ref[following] - ref[day]).dt.days.dropna()
        limit = stuck_days.get(key, gap[gap >= 0].quantile(0.9))
        at = ref[ref["loyal"].isna() & (ref["second"].isna() if key == "first_purchase"
                                                         else ref["second"].notna())]
        waited = (pd.Timestamp(as_of) - at[day]).dt.days
        out += [(c, key, w) for c, w in zip(at["member_id"], waited, strict=True) if w > limit]
    return sorted(out, key=lambda r: (-r[2], r[0]))


def check(con, raw, scope: Scope, order: str = "strict", n: int = 3, window: int | None = None,
          stuck_days: dict | None = None) -> fl.Lifecycle:
    got = fl.lifecycle_funnel(con, scope, order=order, min_days=n, window_days=window, stuck_days=stuck_days)
    members = raw.members(scope)
    as_of = raw.end  # the data's end
    churn_as_of = min(scope.end_exclusive - timedelta(days=1), raw.end)
    w = window or window_of(raw.days, members, churn_as_of)
    assert (got.window_days, got.window_source) == (w, "option" if window else "data")
    assert got.funnel.as_of == got.data_end == as_of
    last = scope.end_exclusive - timedelta(days=1)
    ref = reference(raw.days, members, scope.start, last, as_of, w, n)
    reach = got.reach
    assert reach["member_id"].tolist() == ref["member_id"].tolist()
    assert reach["entered"].tolist() == reach["first_purchase_day"].tolist() == ref["first"].tolist()
    for key, column in (("repeat_purchase", "second"), ("loyal", "loyal")):
        assert reach[f"{key}_day"].astype(str).tolist() == ref[column].astype(str).tolist(), key
        assert reach[f"{key}_reached"].tolist() == ref[column].notna().tolist(), key
    assert reach["active_reached"].tolist() == ref["active"].tolist()
    assert reach["outcome"].tolist() == [None] * len(ref)  # (no outcome: lapsed customers can be stuck)
    who = raw.who.reindex(ref["member_id"])
    for column, attribute in (("region", "home_region"), ("source", "acquisition_channel"), ("segment", "segment")):
        assert reach[column].tolist() == [v if isinstance(v, str) else None for v in who[attribute]], column
    assert got.funnel.counts["members"].tolist() == counts(ref)[order]
    times = stage_times(reach, LIFECYCLE_STAGES)
    for i, (a, b) in enumerate((("first", "second"), ("second", "loyal"))):
        gap = (ref[b] - ref[a]).dt.days.dropna()  # (with N = 1, loyal at the first month's end: before the second)
        assert (times["n"][i], times["out_of_order"][i]) == ((gap >= 0).sum(), (gap < 0).sum())
        assert times["median"][i] == pytest.approx(gap[gap >= 0].median(), nan_ok=True)
    assert list(zip(*(got.funnel.stuck[c] for c in ("member_id", "stage", "days_in_stage")), strict=True)) == \
        stuck(ref, as_of, stuck_days or {})
    comparison = scope.comparison()
    if comparison is None:
        assert got.comparison is None and got.comparison_as_of is None and got.overall_change is None
        return got
    back = comparison.end_exclusive - timedelta(days=1) + (as_of - last)
    assert got.comparison_as_of == back
    then = reference(raw.days, members, comparison.start, comparison.end_exclusive - timedelta(days=1), back, w, n)
    assert got.comparison["members"].tolist() == counts(then)[order]
    return got


@pytest.mark.parametrize("name", list(SCOPES))
def test_each_scope_against_the_raw_rows(con, raw, name):
    got = check(con, raw, SCOPES[name])
    assert not got.empty


@pytest.mark.parametrize(("name", "order", "n", "window", "stuck_days", "stuck_at"), [
    # the default thresholds: lapsed one-time and two-time buyers wait past them (the ones to bring back)
    ("period", "any", 3, None, None, {"first_purchase", "repeat_purchase"}),
    ("period", "strict", 1, None, {"first_purchase": 20}, set()),  # N = 1: loyal at once, never stuck
    ("period", "any", 1, 60, None, set()),
    ("period", "strict", 5, 120, {"first_purchase": 30, "repeat_purchase": 10}, {"first_purchase", "repeat_purchase"}),
    ("late", "strict", 3, None, {"first_purchase": 20, "repeat_purchase": 20}, {"first_purchase", "repeat_purchase"}),
])
def test_the_order_n_w_and_stuck_days_against_the_raw_rows(con, raw, name, order, n, window, stuck_days, stuck_at):
    got = check(con, raw, SCOPES[name], order, n, window, stuck_days)
    assert set(got.funnel.stuck["stage"]) == stuck_at
    if n == 1:  # loyal on the first purchase: some loyal customers never bought again
        assert (got.reach["loyal_reached"] & ~got.reach["repeat_purchase_reached"]).any()


def test_w_is_the_churn_pages(con):
    for scope in (SCOPES["period"], SCOPES["tier"]):
        page = churn_view(con, scope, with_at_risk=False, with_drivers=False)
        assert fl.lifecycle_funnel(con, scope).window_days == page.definition.window


def test_the_region_gate_keeps_other_regions_out(con, raw):
    allowed = fl.lifecycle_funnel(con, SCOPES["allowed"])
    assert set(allowed.reach["region"]) == {"华东"} and allowed.funnel.members > 20
    everyone = fl.lifecycle_funnel(con, Scope(date(2024, 1, 1), date(2024, 6, 1)))
    assert set(everyone.reach["region"]) == {"华东", "华北", "华南"}
    # a manager of 华东 asking for 华北 (a tampered address): nobody, in both periods
    tampered = fl.lifecycle_funnel(con, Scope(date(2024, 1, 1), date(2024, 6, 1), regions=("华北",),
                                              allowed_regions=("华东",)))
    assert tampered.empty and tampered.reach.empty and tampered.comparison["members"].sum() == 0
    assert tampered.funnel.stuck.empty and tampered.funnel.leak is None


def test_the_scopes_cover_what_they_are_for(con, raw):
    """The comparison of "period" is counted in the middle of a month with data after it; "late" ends after the
    data (its comparison's cut lies in the comparison period); the stages lose members and some are stuck."""
    period = fl.lifecycle_funnel(con, SCOPES["period"])
    assert period.comparison_as_of == date(2024, 8, 30) and raw.end > period.comparison_as_of
    late = fl.lifecycle_funnel(con, SCOPES["late"])
    assert SCOPES["late"].comparison().start < late.comparison_as_of < SCOPES["late"].comparison().end_exclusive
    wide = fl.lifecycle_funnel(con, SCOPES["region"])
    assert (np.diff(wide.funnel.counts["members"]) < 0).all()
    # (stuck by default: none here, every step's 90th percentile is longer than W = 90 days)


def test_customer_month_second_day_against_the_raw_rows(con, raw):
    buys = raw.buys.assign(month=pd.to_datetime(raw.buys["day"]).dt.to_period("M").dt.to_timestamp())
    want = buys.groupby(["customer_id", "month"])["day"].agg(lambda d: sorted(set(d))[1] if d.nunique() > 1 else None)
    got = con.execute("select customer_id, month, second_day from customer_month order by customer_id, month").df()
    got = got.set_index(["customer_id", pd.to_datetime(got["month"])])["second_day"]
    # months of returns only have no purchase day: no second day
    assert got.drop(want.index).isna().all()
    assert [None if pd.isna(v) else pd.Timestamp(v) for v in got.reindex(want.index)] == \
        [None if pd.isna(v) else pd.Timestamp(v) for v in want]
    assert want.notna().sum() > 100


@pytest.mark.parametrize(("change", "message"), [
    ({"min_days": 0}, "at least 1 purchase day"),
    ({"window_days": 10}, "churn window must be from 30 to 730 days"),
    ({"order": "loose"}, "order must be one of strict, any"),
])
def test_bad_options_are_refused(con, change, message):
    with pytest.raises(ValueError, match=message):
        fl.lifecycle_funnel(con, SCOPES["period"], **change)
