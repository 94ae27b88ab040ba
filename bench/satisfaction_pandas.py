"""The satisfaction & loyalty page's figures with pandas/numpy/statsmodels straight from the raw rows
(``satisfaction_bench.py``'s baseline), the same figures taken from the page's view
(:func:`analytics.metrics.satisfaction_view.load`), and how the two compare.

The definitions are those of ``analytics/metrics/satisfaction.py`` and ``satisfaction_gap.py``, worked out here from
the transactions and the feedback rows (no derived table):

- a customer's **home region** is the customers file's region (its latest import) when given, else the region of
  most spend net of returns, ties to the greater name (``customer_summary.sql``; ``tiers_pandas.home_regions``);
  segment and acquisition channel are the customers file's. The filters keep customers by them;
- a **response** is a survey row with a score on the csat (1–5) or nps (0–10) scale, of a customer kept, dated up to
  the period's last day; CSAT = share of csat scores >= 4 (Wilson interval, statsmodels), mean csat score (t
  interval, scipy), NPS = 100 (share >= 9 − share <= 6) with the multinomial normal interval; per month; the
  period's and the comparison period's pool their months; trend and season of the monthly CSAT and NPS from the first
  month with a response to the period's end (statsmodels STL, period 12, robust, months without responses
  interpolated, from 24 months; else the response-weighted centred 3-month average); per home region and per tier
  (the period's pyramid by net revenue over every customer, ties by id: ``tiers_pandas._tiers``; no tier: "None");
  a group is too few with < 30 responses or an interval wider than 10 points (CSAT) or 20 points (NPS);
- **surveyed customers**: those kept with a csat response in the period, their score the mean of their latest day's;
  satisfied: score >= 4; loyal: >= N distinct purchase days (non-return rows) in the 12 months ending with the
  period's last month; quadrants with their net revenue in the period; the shares with Wilson intervals, the gap;
- **follow-ups**: csat responses of customers kept dated in (L − 730 days, L], L = the last purchase day of anyone
  less H = 180 days; retained: a purchase day d with date < d <= date + H; then a logistic regression of retained on
  the score (statsmodels ``Logit``) and the probability with its 95 % band at scores 1..5.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit
from statsmodels.stats.proportion import proportion_confint
from statsmodels.tsa.seasonal import STL
from tiers_pandas import UNITS, _tiers, _window, home_regions

Z = stats.norm.ppf(0.975)
#: A group's figures (the view's ``_rows`` columns), in this order.
FIELDS = ("csat_n", "csat", "csat_low", "csat_high", "mean", "mean_low", "mean_high", "nps_n", "promoters",
          "detractors", "nps", "nps_low", "nps_high")
GAP_FIELDS = ("n", "satisfied", "satisfied_low", "satisfied_high", "loyal", "loyal_low", "loyal_high", "gap")
QUADRANTS = ("satisfied_loyal", "satisfied_leaving", "dissatisfied_staying", "dissatisfied_leaving")
NAN = math.nan
#: Rates and amounts equal within 1e-9 relative, or 1e-12 absolute: a Wilson bound at zero successes is 0 in
#: statsmodels and 2.8e-17 in the app (rounding), which no relative tolerance accepts.
RTOL, ATOL = 1e-9, 1e-12


def _days(values) -> np.ndarray:
    return pd.to_datetime(pd.Series(values)).to_numpy().astype("datetime64[D]")


def _group(scores: np.ndarray, csat: np.ndarray) -> list:
    """One group's :data:`FIELDS` from its responses' ``scores`` (``csat``: a csat response, else nps)."""
    c, n = scores[csat], scores[~csat]
    k = int((c >= 4).sum())
    row = [len(c)]
    row += [k / len(c), *proportion_confint(k, len(c), alpha=0.05, method="wilson")] if len(c) else [NAN] * 3
    if len(c) > 1:
        row += [c.mean(), *stats.t.interval(0.95, len(c) - 1, loc=c.mean(), scale=c.std(ddof=1) / math.sqrt(len(c)))]
    else:
        row += [c.mean() if len(c) else NAN, NAN, NAN]
    promoters, detractors = int((n >= 9).sum()), int((n <= 6).sum())
    row += [len(n), promoters, detractors]
    if len(n):
        p, d = promoters / len(n), detractors / len(n)
        se = math.sqrt((p * (1 - p) + d * (1 - d) + 2 * p * d) / len(n))
        row += [100 * (p - d), max(-100.0, 100 * (p - d - Z * se)), min(100.0, 100 * (p - d + Z * se))]
    else:
        row += [NAN] * 3
    return [int(x) if isinstance(x, int | np.integer) else float(x) for x in row]


def _by(keys: np.ndarray, scores: np.ndarray, csat: np.ndarray, small: bool = False) -> dict:
    """Per value of ``keys`` (str; None as "None"): :func:`_group`'s figures, with the too-few flags when ``small``."""
    labels = np.array(["None" if k is None or k != k else str(k) for k in keys], dtype=object)
    out = {}
    for label in sorted(set(labels.tolist())):
        mine = labels == label
        row = dict(zip(FIELDS, _group(scores[mine], csat[mine]), strict=True))
        if small:
            row["csat_small"] = bool(row["csat_n"] < 30 or not row["csat_high"] - row["csat_low"] <= 0.10)
            row["nps_small"] = bool(row["nps_n"] < 30 or not row["nps_high"] - row["nps_low"] <= 20.0)
        out[label] = row
    return out


def _estimates(scores: np.ndarray, csat: np.ndarray) -> dict:
    r = dict(zip(FIELDS, _group(scores, csat), strict=True))
    return {"csat": [r["csat"], r["csat_low"], r["csat_high"], r["csat_n"]],
            "nps": [r["nps"], r["nps_low"], r["nps_high"], r["nps_n"]],
            "mean": [r["mean"], r["mean_low"], r["mean_high"], r["csat_n"]]}


def _monthly(month: np.ndarray, scores: np.ndarray, csat: np.ndarray, first: date, last: date) -> dict:
    """Per month from ``first`` to ``last`` (``YYYY-MM``): :data:`FIELDS` (zero counts, NaN figures without
    responses)."""
    out = {}
    for m in pd.period_range(first, last, freq="M"):
        mine = month == np.datetime64(str(m), "M")
        out[str(m)] = dict(zip(FIELDS, _group(scores[mine], csat[mine]), strict=True))
    return out


def _trend(values: np.ndarray, weights: np.ndarray) -> dict:
    """Trend and season of a monthly series (NaN: no response): STL from 24 months, else the weighted average."""
    known = np.isfinite(values)
    trend, season = np.full(len(values), NAN), np.full(len(values), NAN)
    if not known.any():
        return {"method": "moving_average", "trend": trend.tolist(), "season": season.tolist()}
    first, last = np.flatnonzero(known)[[0, -1]]
    inner = values[first:last + 1]
    if last - first + 1 >= 24:
        at = np.arange(len(inner))
        fit = STL(np.interp(at, at[np.isfinite(inner)], inner[np.isfinite(inner)]), period=12, robust=True).fit()
        trend[first:last + 1], season[first:last + 1] = fit.trend, fit.seasonal
        return {"method": "stl", "trend": trend.tolist(), "season": season.tolist()}
    w = np.where(known, weights, 0.0)
    padded_num = np.pad(np.where(known, values, 0.0) * w, 1)
    padded_den = np.pad(w, 1)
    num = padded_num[:-2] + padded_num[1:-1] + padded_num[2:]
    den = padded_den[:-2] + padded_den[1:-1] + padded_den[2:]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"method": "moving_average", "trend": np.where(den > 0, num / den, NAN).tolist(),
                "season": season.tolist()}


def _gap_row(satisfied: np.ndarray, loyal: np.ndarray) -> dict:
    n = len(satisfied)
    out = {"n": n}
    for name, flags in (("satisfied", satisfied), ("loyal", loyal)):
        k = int(flags.sum())
        out |= ({name: k / n, f"{name}_low": float(proportion_confint(k, n, method="wilson")[0]),
                 f"{name}_high": float(proportion_confint(k, n, method="wilson")[1])} if n
                else {name: NAN, f"{name}_low": NAN, f"{name}_high": NAN})
    out["gap"] = 100 * (out["satisfied"] - out["loyal"]) if n else NAN
    return out


def _customer_groups(ids: np.ndarray, home: np.ndarray, customers: pd.DataFrame) -> pd.DataFrame:
    """Per customer (code order): home region (the customers file's region when given), segment, acquisition
    channel (the customers file's latest import's)."""
    out = pd.DataFrame({"home_region": home, "segment": None, "acquisition_channel": None}, dtype=object)
    if len(customers):
        latest = customers.sort_values("import_id").groupby("customer_id").last()
        at = pd.Index(ids).get_indexer(latest.index)
        found = at >= 0
        for column in ("segment", "acquisition_channel"):
            out.loc[at[found], column] = latest[column].to_numpy(dtype=object)[found]
        given = found & latest["region"].notna().to_numpy()
        out.loc[at[given], "home_region"] = latest["region"].to_numpy(dtype=object)[given]
    return out


def pandas_satisfaction(tx: pd.DataFrame, fb: pd.DataFrame, customers: pd.DataFrame, scope, *, cuts, names,
                        loyal_min: int, loyal_months: int, horizon: int, fit_days: int) -> tuple[dict, pd.DataFrame]:
    """The page's figures (:func:`figures_of_view`'s) for ``scope`` from ``tx`` (customer_id, order_date, units:
    amount in 1/10,000, region, is_return: every transaction), ``fb`` (customer_id, feedback_date, score, scale,
    feedback_kind: every feedback row) and ``customers`` (customer_id, import_id, region, segment,
    acquisition_channel); and the follow-up responses (customer_id, feedback_date, score, retained) the fit used."""
    if scope.segments or scope.tiers or scope.channels:
        raise ValueError("the baseline handles the period and region filters only")
    day = _days(tx["order_date"])
    buy = ~tx["is_return"].to_numpy()
    units = tx["units"].to_numpy()
    cid, ids = pd.factorize(tx["customer_id"])
    ids = np.asarray(ids, dtype=object)
    n_ids = len(ids)
    id_order = np.empty(n_ids, dtype=np.int64)
    id_order[np.argsort(ids, kind="stable")] = np.arange(n_ids)
    groups = _customer_groups(ids, home_regions(cid, n_ids, tx["region"], units), customers)
    regions = scope.visible_regions()
    kept = groups["home_region"].isin(list(regions)).to_numpy() if regions else np.ones(n_ids, dtype=bool)

    # the tier filter's tiers of the period (every customer ranked; names by tier, None without a purchase in it)
    value, bought, _ = _window(cid, n_ids, day, units, buy, scope.start, scope.end_exclusive)
    tier = np.array([*names, None], dtype=object)[_tiers(value, bought, id_order, cuts)]

    # responses of the customers kept, up to the period's last day
    last_day = np.datetime64(scope.end_exclusive - timedelta(days=1), "D")
    fb_day = _days(fb["feedback_date"])
    who = pd.Index(ids).get_indexer(fb["customer_id"])
    rows = ((fb["feedback_kind"] == "survey").to_numpy() & fb["scale"].isin(["csat", "nps"]).to_numpy()
            & fb["score"].notna().to_numpy() & (who >= 0) & (fb_day <= last_day))
    rows &= kept[np.where(who >= 0, who, 0)]
    r_who, r_day = who[rows], fb_day[rows]
    r_score, r_csat = fb["score"].to_numpy(dtype=float)[rows], (fb["scale"] == "csat").to_numpy()[rows]
    r_month = r_day.astype("datetime64[M]")
    period = r_month >= np.datetime64(scope.start, "M")
    out: dict = {"period": _estimates(r_score[period], r_csat[period]),
                 "monthly": _monthly(r_month, r_score, r_csat, scope.start, scope.end)}
    comparison = scope.comparison()
    if comparison is not None:
        then = (r_month >= np.datetime64(comparison.start, "M")) & (r_month <= np.datetime64(comparison.end, "M"))
        out["comparison"] = _estimates(r_score[then], r_csat[then])
        out["comparison_monthly"] = _monthly(r_month, r_score, r_csat, comparison.start, comparison.end)
    if len(r_month):
        history = _monthly(r_month, r_score, r_csat, pd.Timestamp(r_month.min()).date(), scope.end)
        out["trends"] = {}
        for scale in ("csat", "nps"):
            values = np.array([h[scale] for h in history.values()], dtype=float)
            weights = np.array([h[f"{scale}_n"] for h in history.values()], dtype=float)
            out["trends"][scale] = {"months": list(history), "value": values.tolist()} | _trend(values, weights)
    out["by_group"] = {g: _by(groups[g].to_numpy(dtype=object)[r_who[period]], r_score[period], r_csat[period], True)
                       for g in ("home_region", "acquisition_channel", "segment")
                       if pd.notna(groups[g].to_numpy(dtype=object)[r_who[period]]).any()}
    out["by_group"]["tier"] = _by(tier[r_who[period]], r_score[period], r_csat[period], True)

    # the satisfaction-loyalty gap: surveyed customers, their latest day's mean score
    s = pd.DataFrame({"c": r_who, "day": r_day, "score": r_score})[period & r_csat]
    s = s[s["day"] == s.groupby("c")["day"].transform("max")].groupby("c")["score"].mean()
    c, score = s.index.to_numpy(), s.to_numpy()
    first_loyal = (pd.Timestamp(scope.end) - pd.DateOffset(months=loyal_months - 1)).date()
    in_year = buy & (day >= np.datetime64(first_loyal, "D")) & (day <= last_day)
    pairs = pd.DataFrame({"c": cid[in_year], "d": day[in_year]}).drop_duplicates()
    purchase_days = np.bincount(pairs["c"].to_numpy(), minlength=n_ids)[c]
    revenue_units = np.zeros(n_ids, dtype=np.int64)
    np.add.at(revenue_units, cid[(day >= np.datetime64(scope.start, "D")) & (day <= last_day)],
              units[(day >= np.datetime64(scope.start, "D")) & (day <= last_day)])
    satisfied, loyal = score >= 4, purchase_days >= loyal_min
    quadrant = np.where(satisfied, np.where(loyal, 0, 1), np.where(loyal, 2, 3))
    out["gap"] = {"overall": _gap_row(satisfied, loyal), "by_group": {}}
    for g, keys in (("home_region", groups["home_region"].to_numpy(dtype=object)[c]), ("tier", tier[c]),
                    ("segment", groups["segment"].to_numpy(dtype=object)[c])):
        labels = np.array(["None" if k is None or k != k else str(k) for k in keys], dtype=object)
        out["gap"]["by_group"][g] = {lab: _gap_row(satisfied[labels == lab], loyal[labels == lab])
                                     for lab in sorted(set(labels.tolist()))}
    out["quadrants"] = {q: {"customers": int((quadrant == k).sum()),
                            "share": float((quadrant == k).sum() / len(c)) if len(c) else NAN,
                            "revenue": int(revenue_units[c[quadrant == k]].sum()) / UNITS}
                        for k, q in enumerate(QUADRANTS)}

    # follow-ups: responses up to L = the last purchase day less H, and whether the customer bought within H days
    end = day[buy].max()
    last, first = end - np.timedelta64(horizon, "D"), end - np.timedelta64(horizon + fit_days, "D")
    f_rows = ((fb["feedback_kind"] == "survey").to_numpy() & (fb["scale"] == "csat").to_numpy()
              & fb["score"].notna().to_numpy() & (who >= 0) & (fb_day > first) & (fb_day <= last))
    f_rows &= kept[np.where(who >= 0, who, 0)]
    f = pd.DataFrame({"customer_id": ids[who[f_rows]], "c": who[f_rows], "feedback_date": fb_day[f_rows],
                      "score": fb["score"].to_numpy(dtype=float)[f_rows]})
    f = f.sort_values(["customer_id", "feedback_date", "score"], kind="stable").reset_index(drop=True)
    key = np.unique(cid[buy].astype(np.int64) * 2**20 + day[buy].astype(np.int64))  # (days since 1970 < 2**20)
    at = f["c"].to_numpy(np.int64) * 2**20 + f["feedback_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    f["retained"] = np.searchsorted(key, at + horizon, side="right") > np.searchsorted(key, at, side="right")
    out["follow_ups"] = {"responses": len(f), "retained": int(f["retained"].sum()),
                         "from": str(first + np.timedelta64(1, "D")), "to": str(last)}
    fit = sm.Logit(f["retained"].to_numpy(float), sm.add_constant(f["score"].to_numpy(float))).fit(disp=0)
    (a, b), cov = fit.params, np.asarray(fit.cov_params())
    at_scores = {}
    for k in range(1, 6):
        x = np.array([1.0, k])
        se = math.sqrt(x @ cov @ x)
        at_scores[str(k)] = [float(expit(a + b * k + z * se)) for z in (0.0, -Z, Z)]
    out["fit"] = {"intercept": float(a), "slope": float(b), "intercept_se": float(fit.bse[0]),
                  "slope_se": float(fit.bse[1]), "slope_p_value": float(fit.pvalues[1]), "at": at_scores}
    f["feedback_date"] = pd.to_datetime(f["feedback_date"]).dt.date
    return out, f[["customer_id", "feedback_date", "score", "retained"]]


# --------------------------------------------------------------------------- the same from the view

def _fields(row: dict, names=FIELDS) -> dict:
    return {k: (int(row[k]) if k.endswith("_n") or k in ("n", "promoters", "detractors")
                else bool(row[k]) if k.endswith("_small") else float(row[k])) for k in names if k in row}


def _table(frame: pd.DataFrame, key: str, names=FIELDS, small: bool = False) -> dict:
    extra = ("csat_small", "nps_small") if small else ()
    return {("None" if g is None or g != g else str(g)): _fields(r, (*names, *extra))
            for g, r in zip(frame[key], frame.to_dict("records"), strict=True)}


def figures_of_view(view, fits: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """The figures :func:`pandas_satisfaction` computes, from a ``SatisfactionView``; ``fits``: the view's follow-up
    responses (``satisfaction_gap.follow_ups``)."""
    s, g, curve = view.satisfaction, view.gap, view.gap.curve

    def est(e: dict) -> dict:
        return {k: [float(v.value), float(v.low), float(v.high), int(v.n)] for k, v in e.items()}

    def months(frame: pd.DataFrame) -> dict:
        return {str(m)[:7]: v for m, v in _table(frame, "month").items()}

    out: dict = {"period": est(s.period), "monthly": months(s.monthly)}
    if s.comparison is not None:
        out["comparison"] = est(s.comparison)
        out["comparison_monthly"] = months(s.comparison_monthly)
    if s.trends:
        out["trends"] = {k: {"months": [str(m)[:7] for m in d.frame["month"]], "value": d.frame["value"].tolist(),
                             "method": d.method, "trend": d.frame["trend"].astype(float).tolist(),
                             "season": d.frame["season"].astype(float).tolist()} for k, d in s.trends.items()}
    out["by_group"] = {k: _table(t, "group", small=True) for k, t in s.by_group.items()}
    out["gap"] = {"overall": _fields(g.overall.iloc[0].to_dict(), GAP_FIELDS),
                  "by_group": {k: _table(t, "group", GAP_FIELDS) for k, t in g.by_group.items()}}
    out["quadrants"] = {r["quadrant"]: {"customers": int(r["customers"]), "share": float(r["share"]),
                                        "revenue": float(r["revenue"])} for r in g.quadrants.to_dict("records")}
    out["follow_ups"] = {"responses": int(curve.n), "retained": int(curve.retained), "from": str(g.fit_from),
                         "to": str(g.fit_to)}
    out["fit"] = {"intercept": curve.intercept, "slope": curve.slope, "intercept_se": curve.intercept_se,
                  "slope_se": curve.slope_se, "slope_p_value": curve.slope_p_value,
                  "at": {str(k): [float(x) for x in curve.at(k)] for k in range(1, 6)}} if curve.problem is None \
        else {"problem": curve.problem}
    return out, fits[["customer_id", "feedback_date", "score", "retained"]]


def _flat(value, path: str, out: dict) -> dict:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(v, f"{path}.{k}", out)
    elif isinstance(value, list):
        out[f"{path}.len"] = len(value)
        for i, v in enumerate(value):
            _flat(v, f"{path}[{i}]", out)
    else:
        out[path] = value
    return out


def _same(a, b) -> bool:
    if isinstance(a, bool | str | None) or isinstance(b, bool | str | None) or (
            isinstance(a, int) and isinstance(b, int)):
        return a == b and type(a) is type(b)  # counts, flags and labels exactly
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL)


def compare(app: dict, mine: dict) -> dict:
    """Per figure (top-level key): ``{"matches": bool}``, with the first differences (where, app, pandas) when not;
    counts, flags and labels exactly, rates and amounts within :data:`RTOL` (:data:`ATOL` at zero)."""
    result = {}
    for name in sorted(set(app) | set(mine)):
        a, m = _flat(app.get(name, "(missing)"), name, {}), _flat(mine.get(name, "(missing)"), name, {})
        found = [{"where": k, "app": a.get(k, "(missing)"), "pandas": m.get(k, "(missing)")}
                 for k in sorted(set(a) | set(m)) if k not in a or k not in m or not _same(a[k], m[k])]
        result[name] = {"matches": not found} | ({"differences": found[:10], "n_differences": len(found)}
                                                 if found else {})
    return result


def compare_follow_ups(app: pd.DataFrame, mine: pd.DataFrame) -> dict:
    """The follow-up responses row by row (same order: customer, date, score): equal ids, dates, scores, flags."""
    same_length = len(app) == len(mine)
    wrong = np.ones(max(len(app), len(mine)), dtype=bool)
    if same_length:
        a, m = app.reset_index(drop=True), mine.reset_index(drop=True)
        wrong = ((a["customer_id"].to_numpy() != m["customer_id"].to_numpy())
                 | (pd.to_datetime(a["feedback_date"]).to_numpy() != pd.to_datetime(m["feedback_date"]).to_numpy())
                 | (a["score"].to_numpy(float) != m["score"].to_numpy(float))
                 | (a["retained"].to_numpy(bool) != m["retained"].to_numpy(bool)))
    out = {"matches": bool(same_length and not wrong.any()), "rows": [len(app), len(mine)]}
    if not out["matches"]:
        out["n_differences"] = int(wrong.sum())
        if same_length:
            out["differences"] = [{"app": app.iloc[i].astype(str).to_dict(),
                                   "pandas": mine.iloc[i].astype(str).to_dict()} for i in np.flatnonzero(wrong)[:5]]
    return out
