"""The churn page's figures with pandas/numpy straight from the transactions (``churn_bench.py``'s baseline), the
same figures taken from :func:`analytics.metrics.churn_view.churn_view`, and how the two compare.

The definitions are those of ``analytics/metrics/churn.py`` and ``cohorts.py``, worked out here from the rows
(no derived table): a purchase is a row that is not a return, a customer's purchase days are their distinct days
with one up to the as-of day A, and a customer is in scope by their home region (the region of most spend, net
of returns, ties to the greater name: ``customer_summary.sql``; the benchmark files have no customers file).
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import numpy as np
import pandas as pd

#: Rates (and the Kaplan–Meier median) agree when within this relative difference; counts must be equal.
RTOL = 1e-9
GAP_SHARE, WINDOW_STEP, FALLBACK_WINDOW, COHORT_MONTHS = 0.90, 30, 180, 24
_EPOCH = date(1970, 1, 1)


def _day(d: date) -> int:
    return (d - _EPOCH).days


def _month(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of days since 1970-01-01."""
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _month_starts(start: date, months: int) -> np.ndarray:
    first = np.datetime64(start, "M")
    return (first + np.arange(months + 1)).astype("datetime64[D]").astype(np.int64)  # and the month after


# --------------------------------------------------------------------------- pandas, from the rows

def _counts(d, nxt, prev, group, groups: int, start: date, months: int, window: int, as_of: int) -> dict:
    """Per group and month of a period: customers active on the day before the month starts, customers who became
    churned in the month (up to A and the period's end), customers won back in the month; and per month whether
    it is complete (ends on or before A)."""
    starts = _month_starts(start, months)
    active = np.zeros((groups, months), dtype=np.int64)
    for k, s in enumerate(starts[:-1]):
        e = s - 1  # the day before the month: the last purchase so far at most W days back
        live = (d <= e) & (d >= e - window) & (nxt > e)
        active[:, k] = np.bincount(group[live], minlength=groups)
    limit = min(as_of, int(starts[-1]) - 1)
    churn_day = d + window + 1  # no purchase in the W days after d
    gone = (nxt - d > window) & (churn_day >= starts[0]) & (churn_day <= limit)
    idx = np.searchsorted(starts, churn_day[gone], side="right") - 1
    churned = np.bincount(group[gone] * months + idx, minlength=groups * months).reshape(groups, months)
    back = (prev >= 0) & (d - prev > window) & (d >= starts[0]) & (d <= limit)
    won = np.bincount(np.searchsorted(starts, d[back], side="right") - 1, minlength=months)
    return {"active": active, "churned": churned, "won_back": won, "complete": starts[1:] - 1 <= as_of}


def _pooled(churned: np.ndarray, active: np.ndarray) -> list:
    c, a = int(churned.sum()), int(active.sum())
    return [c, a, c / a if a else math.nan]


def pandas_churn(tx: pd.DataFrame, scope) -> tuple[dict, pd.DataFrame]:
    """The figures of :func:`figures_of_view` from ``tx`` (customer_id, order_date, units (amount in 1/10,000),
    region, is_return: every transaction), for ``scope`` (period, comparison, regions), and the lifetimes
    (customer_id, duration, observed)."""
    from statsmodels.duration.survfunc import SurvfuncRight

    day = tx["order_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    buy = ~tx["is_return"].to_numpy()
    cid, ids = pd.factorize(tx["customer_id"])
    ids = np.asarray(ids, dtype=object)
    # the home region: most spend (net of returns), ties to the greater name
    rcode, rnames = pd.factorize(tx["region"])
    spend = pd.DataFrame({"c": cid, "r": rcode, "v": tx["units"].to_numpy()})
    spend = spend[spend["r"] >= 0].groupby(["c", "r"], sort=False)["v"].sum().reset_index()
    spend["name"] = np.asarray(rnames, dtype=object)[spend["r"].to_numpy()]
    top = spend.sort_values(["c", "v", "name"], ascending=[True, False, False]).drop_duplicates("c")
    home = np.full(len(ids), None, dtype=object)
    home[top["c"].to_numpy()] = top["name"].to_numpy()
    in_scope = np.isin(home, list(scope.regions)) if scope.regions else np.ones(len(ids), dtype=bool)
    # A: the data's last purchase (anyone's), at most the period's last day; the period ends in A's month
    last_day = scope.end_exclusive - timedelta(days=1)
    as_of = min(int(day[buy].max()), _day(last_day))
    as_of_date = _EPOCH + timedelta(days=as_of)
    if scope.start <= as_of_date < last_day:
        from dataclasses import replace

        scope = replace(scope, end=as_of_date)
    # each customer's distinct purchase days up to A, in order, with the purchase day before and after
    keep = buy & (day <= as_of) & in_scope[cid]
    low = int(day.min())
    span = as_of - low + 1
    key = np.unique(cid[keep].astype(np.int64) * span + (day[keep] - low))
    c, d = key // span, key % span + low
    same = c[1:] == c[:-1]
    nxt = np.full(len(d), np.iinfo(np.int64).max // 4, dtype=np.int64)
    nxt[:-1][same] = d[1:][same]
    prev = np.full(len(d), -1, dtype=np.int64)
    prev[1:][same] = d[:-1][same]
    # the default window: 90 % of the gaps between consecutive purchase days at most W, W a multiple of 30
    gaps = d[1:][same] - d[:-1][same]
    if gaps.size:
        q = np.quantile(gaps, GAP_SHARE, method="inverted_cdf")
        window = max(WINDOW_STEP, WINDOW_STEP * math.ceil(q / WINDOW_STEP))
    else:
        window = FALLBACK_WINDOW
    # per group (home region; customers without one last) and month
    labels = sorted({h for h in home[np.unique(c)] if h is not None})  # the scope's customers' home regions
    code = np.full(len(ids), len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        code[home == label] = i
    group = code[c]
    now = _counts(d, nxt, prev, group, len(labels) + 1, scope.start, scope.months, window, as_of)
    comparison = scope.comparison()
    before = (_counts(d, nxt, prev, group, len(labels) + 1, comparison.start, comparison.months, window, as_of)
              if comparison is not None else None)
    done = now["complete"]
    out: dict = {"window": window, "as_of": str(as_of_date)}
    out["monthly"] = {"active_start": now["active"].sum(0).tolist(), "churned": now["churned"].sum(0).tolist()}
    out["period_rate"] = _pooled(now["churned"][:, done], now["active"][:, done])
    out["comparison_monthly"] = None if before is None else {"active_start": before["active"].sum(0).tolist(),
                                                             "churned": before["churned"].sum(0).tolist()}
    out["comparison_rate"] = None if before is None else _pooled(before["churned"], before["active"])
    regions = {}
    for i, label in enumerate([*labels, None]):
        rate = _pooled(now["churned"][i, done], now["active"][i, done])
        compare = _pooled(before["churned"][i], before["active"][i]) if before is not None else [0, 0, math.nan]
        if label is None and rate[1] == 0 and compare[1] == 0:
            continue
        regions[str(label)] = rate + compare
    out["region_rates"] = regions
    # cohorts: customers whose first purchase (up to A) lies in the period; months with a purchase since
    head = np.r_[True, ~same]  # each customer's first row (customers in code order)
    cust, first_day, last = c[head], d[head], d[np.r_[~same, True]]
    first_month = _month(first_day)
    p0, pn = _month(np.array([_day(scope.start), _day(scope.end)]))
    cohort_rows = (first_month >= p0) & (first_month <= pn)
    per_customer_month = np.unique(c * 100_000 + _month(d))
    cm_c, cm_m = per_customer_month // 100_000, per_customer_month % 100_000
    order = np.searchsorted(cust, cm_c)
    since = cm_m - first_month[order]
    in_grid = cohort_rows[order] & (since <= COHORT_MONTHS) & (cm_m <= pn)
    retained = pd.Series(1, index=pd.MultiIndex.from_arrays([first_month[order][in_grid], since[in_grid]])
                         ).groupby(level=[0, 1]).sum()
    sizes = pd.Series(first_month[cohort_rows]).value_counts().sort_index()
    cells = []
    for cohort, size in sizes.items():
        month_text = str(np.datetime64(int(cohort), "M").astype("datetime64[D]"))
        for n in range(min(COHORT_MONTHS, int(pn - cohort)) + 1):
            cells.append([month_text, n, int(size), int(retained.get((cohort, n), 0))])
    out["cohorts"] = cells
    # lifetimes: first purchase to the last (churned as of A: observed) or to A (censored)
    observed = as_of - last > window
    lifetimes = pd.DataFrame({"customer_id": ids[cust], "observed": observed,
                              "duration": np.where(observed, last - first_day, as_of - first_day)})
    out["customers"] = [len(lifetimes), int((~observed).sum()), int(observed.sum())]
    km = SurvfuncRight(lifetimes["duration"].to_numpy(float), observed.astype(float)) if len(lifetimes) else None
    median = km.quantile(0.5) if km is not None else math.nan
    out["km_median"] = None if not np.isfinite(median) else float(median)
    out["km_curve"] = None if km is None else {"times": km.surv_times.tolist(), "survival": km.surv_prob.tolist()}
    out["won_back"] = {"monthly": now["won_back"].tolist(), "total": int(now["won_back"].sum()),
                       "comparison_monthly": None if before is None else before["won_back"].tolist()}
    return out, lifetimes


# --------------------------------------------------------------------------- the same from the view

def figures_of_view(view, lifetimes: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """The figures :func:`pandas_churn` computes, from a ``ChurnView`` and its customers' lifetimes (customer_id,
    duration, observed: from the query the view's survival curves count)."""
    def pooled(t) -> list:
        return [int(t[0]), int(t[1]), float(t[2])]

    def months(frame) -> dict:
        return {"active_start": [int(x) for x in frame["active_start"]], "churned": [int(x) for x in frame["churned"]]}

    out: dict = {"window": int(view.definition.window), "as_of": str(view.definition.as_of)}
    out["monthly"] = months(view.monthly)
    out["period_rate"] = pooled(view.period_rate)
    out["comparison_monthly"] = None if view.comparison_monthly is None else months(view.comparison_monthly)
    out["comparison_rate"] = None if view.comparison_rate is None else pooled(view.comparison_rate)
    groups = view.by_group.get("home_region")
    out["region_rates"] = {} if groups is None else {
        str(r["group"]): [int(r["churned"]), int(r["exposure"]), float(r["rate"]), int(r["compare_churned"]),
                          int(r["compare_exposure"]), float(r["compare_rate"])] for _, r in groups.iterrows()}
    cr = view.cohorts.customer_retention
    out["cohorts"] = [[str(pd.Timestamp(a).date()), int(b), int(n), int(k)] for a, b, n, k in
                      zip(cr["cohort"], cr["months_since"], cr["customers"], cr["retained"], strict=True)]
    out["customers"] = [int(view.n_customers), int(view.active), int(view.churned)]
    survival = view.survival.get("all")
    median = survival.curves[0].median.value if survival is not None else None
    out["km_median"] = None if median is None else float(median)
    out["km_curve"] = None if survival is None else {"times": survival.curves[0].times.astype(float).tolist(),
                                                     "survival": survival.curves[0].survival.astype(float).tolist()}
    out["won_back"] = {"monthly": [int(x) for x in view.monthly["won_back"]], "total": len(view.win_back),
                       "comparison_monthly": None if view.comparison_monthly is None
                       else [int(x) for x in view.comparison_monthly["won_back"]]}
    return out, lifetimes[["customer_id", "duration", "observed"]]


# --------------------------------------------------------------------------- comparing

def _differences(app, mine, path: str, out: list) -> None:
    if isinstance(app, dict) and isinstance(mine, dict):
        for k in sorted(set(app) | set(mine), key=str):
            _differences(app.get(k, "(missing)"), mine.get(k, "(missing)"), f"{path}.{k}", out)
    elif isinstance(app, list) and isinstance(mine, list) and len(app) == len(mine):
        for i, (a, b) in enumerate(zip(app, mine, strict=True)):
            _differences(a, b, f"{path}[{i}]", out)
    elif isinstance(app, float) or isinstance(mine, float):
        both = isinstance(app, float | int) and isinstance(mine, float | int)
        if not both or not ((math.isnan(app) and math.isnan(mine)) or math.isclose(app, mine, rel_tol=RTOL)):
            out.append({"where": path, "app": app, "pandas": mine})
    elif app != mine:
        out.append({"where": path, "app": app, "pandas": mine})


def compare(app: dict, app_lives: pd.DataFrame, mine: dict, my_lives: pd.DataFrame) -> dict:
    """Per figure: ``{"matches": bool}``, with the first differences (where, app, pandas) when not; counts exactly,
    rates within :data:`RTOL`. The lifetimes per customer by id (duration and observed flag)."""
    result = {}
    for name in app:
        found: list = []
        _differences(app[name], mine.get(name), name, found)
        result[name] = {"matches": not found} | ({"differences": found[:10], "n_differences": len(found)}
                                                 if found else {})
    joined = app_lives.merge(my_lives, on="customer_id", how="outer", suffixes=("_app", "_pandas"), indicator=True)
    wrong = joined[(joined["_merge"] != "both") | (joined["duration_app"] != joined["duration_pandas"])
                   | (joined["observed_app"] != joined["observed_pandas"])]
    shown = json.loads(wrong.head(10).to_json(orient="records", force_ascii=False))
    result["lifetimes"] = {"matches": wrong.empty, "customers": len(joined)} | (
        {"n_differences": len(wrong), "differences": shown} if len(wrong) else {})
    return result
