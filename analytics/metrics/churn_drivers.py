"""What goes with leaving sooner: the churn page's Cox model of customer lifetime.

The model (shown on the page):

- **who**: at most :data:`COX_SAMPLE` customers of the scope with a purchase by the as-of day, picked by a hash of
  their id (DuckDB's ``hash``: the same customers every time; all of them when fewer);
- **lifetime**: as on the page (first to last purchase when churned: observed; first purchase to the as-of day
  when active: censored), in days, plus one (a one-time buyer's lifetime of 0 days ends at 1, so that what they
  said on their first day comes before it);
- **covariates that do not change**: home region, segment, acquisition channel (categorical), and the first
  purchase day's spend in log2 (its hazard ratio is per doubling);
- **covariates that change with what the customer said** (feedback, counted from half a day after the day it
  was given, as stretches of the customer's life: Andersen & Gill's counting-process form): complaints made so
  far, whether a complaint is open (made and not yet resolved), and the latest satisfaction score (1-5) in
  bands, "not surveyed" until the first. Counting feedback only from when it was given keeps customers who
  stayed longer (and so had more time to complain or be surveyed) from making feedback look protective;
  feedback after a customer's last purchase comes after their lifetime and does not enter.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from analytics.metrics import churn_summary
from analytics.models.bgnbd import FitError
from analytics.models.cox import CoxFit, fit_cox
from analytics.scope import Scope, customer_feedback, customers

#: The customers the Cox model is fitted on, at most.
COX_SAMPLE = 20_000
#: The satisfaction bands (a 1-5 score).
CSAT_BANDS = ((1, 2, "1-2"), (3, 3, "3"), (4, 5, "4-5"))
#: Feedback given on day d counts from d + this (days after the first purchase).
_LAG = 0.5


def band(score: object) -> str | None:
    """A 1-5 satisfaction score's band (:data:`CSAT_BANDS`); None when missing or out of range."""
    if score is None or pd.isna(score):
        return None
    for low, high, name in CSAT_BANDS:
        if low <= float(score) <= high:
            return name
    return None


def _stretches(lives: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """The counting-process rows: per customer of ``lives`` (customer_id, start day, stop, observed), stretches
    (entry, stop] split where their feedback changes (``feedback``: customer_id, at (days after the first
    purchase the change counts from), complaint (1 at a complaint), resolved (1 at its resolution: the complaint
    is no longer open), csat (a score at a survey)), each with the covariates as they stood during it."""
    rows = []
    said = {k: g.sort_values("at") for k, g in feedback.groupby("customer_id", sort=False)} if len(feedback) else {}
    for cid, stop, observed in zip(lives["customer_id"], lives["stop"], lives["observed"], strict=True):
        events = said.get(cid)
        complaints = opened = 0
        latest = None
        entry = 0.0
        if events is not None:
            for at, complaint, resolved, csat in zip(events["at"], events["complaint"], events["resolved"],
                                                     events["csat"], strict=True):
                if at >= stop:
                    break
                if at > entry:
                    rows.append((cid, entry, at, False, complaints, opened > 0, latest))
                    entry = at
                complaints += int(complaint)
                opened += int(complaint) - int(resolved)
                latest = band(csat) if not pd.isna(csat) else latest
        rows.append((cid, entry, float(stop), bool(observed), complaints, opened > 0, latest))
    return pd.DataFrame(rows, columns=["customer_id", "entry", "stop", "observed", "complaints", "open_complaint",
                                       "satisfaction"])


def drivers(con: duckdb.DuckDBPyConnection, scope: Scope, window: int, as_of: date, *,
            size: int | None = None) -> tuple[CoxFit | None, str | None, int, int]:
    """The Cox model of the module docstring for the customers in scope with a purchase by ``as_of`` and the window
    ``window``: (fit, problem, customers sampled, population). ``problem``: ``"too_few"`` or ``"failed: <why>"``
    when there is no fit."""
    spans = churn_summary.spans(con, scope, as_of, churn_summary.data_end(con))
    who = customers(scope)
    picked = con.execute(
        f"with s as ({spans.sql}), p as (select customer_id, first_day, last_day, count(*) over () as population "
        "from s order by hash(customer_id), customer_id limit ?) "
        "select p.customer_id, p.first_day, p.population, ? - p.last_day > ? as observed, "
        "case when ? - p.last_day > ? then p.last_day - p.first_day else ? - p.first_day end as duration, "
        "c.home_region, c.segment, c.acquisition_channel, c.first_day_revenue "
        f"from p join ({who.sql}) c using (customer_id) order by p.customer_id",
        [*spans.params, size or COX_SAMPLE, as_of, window, as_of, window, as_of, *who.params]).df()
    population = int(picked["population"].iloc[0]) if len(picked) else 0
    if population == 0:
        return None, "too_few", 0, 0
    ids = picked["customer_id"].tolist()
    attributes = picked.set_index("customer_id")
    firsts = [pd.Timestamp(d).date() for d in picked["first_day"]]
    complaints, scores = (customer_feedback(scope, as_of, t) for t in ("complaints", "survey_followups"))
    said = con.execute(
        "select f.customer_id, datediff('day', p.first, f.feedback_date) as day, f.complaint, "
        # a resolution after the as-of day is not known yet
        "case when f.resolved_date <= ? then datediff('day', p.first, f.resolved_date) end as resolved_day, f.csat "
        f"from (select customer_id, feedback_date, true as complaint, resolved_date, null::double as csat "
        f"from ({complaints.sql}) union all select customer_id, feedback_date, false, null, score from ({scores.sql})) "
        "f join (select unnest(?) as customer_id, unnest(?) as first) p on p.customer_id = f.customer_id",
        [as_of, *complaints.params, *scores.params, ids, firsts]).df()
    columns = ["customer_id", "at", "complaint", "resolved", "csat"]
    resolutions = said[said["complaint"] & said["resolved_day"].notna()]
    changes = pd.concat([
        pd.DataFrame({"customer_id": said["customer_id"], "at": np.maximum(said["day"] + _LAG, 0.0),
                      "complaint": said["complaint"].astype(int), "resolved": 0, "csat": said["csat"]}),
        pd.DataFrame({"customer_id": resolutions["customer_id"],
                      "at": np.maximum(resolutions["resolved_day"].astype(float) + _LAG, 0.0),
                      "complaint": 0, "resolved": 1, "csat": np.nan}),
    ], ignore_index=True) if len(said) else pd.DataFrame(columns=columns)
    lives = pd.DataFrame({"customer_id": ids, "stop": picked["duration"].to_numpy(dtype=float) + 1.0,
                          "observed": picked["observed"].to_numpy(dtype=bool)})
    rows = _stretches(lives, changes.sort_values(["customer_id", "at", "resolved"], kind="stable"))
    fixed = attributes.reindex(rows["customer_id"])
    spend = fixed["first_day_revenue"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        first_value = np.where(spend > 0, np.log2(spend), np.nan)
    covariates = pd.DataFrame({
        "home_region": fixed["home_region"].to_numpy(dtype=object), "segment": fixed["segment"].to_numpy(dtype=object),
        "acquisition_channel": fixed["acquisition_channel"].to_numpy(dtype=object), "first_order_value": first_value,
        "complaints": rows["complaints"].to_numpy(dtype=float),
        "unresolved_complaint": np.where(rows["open_complaint"].to_numpy(dtype=bool), "yes", "no"),
        "satisfaction": rows["satisfaction"].to_numpy(dtype=object)})
    try:
        fit = fit_cox(rows["stop"].to_numpy(), rows["observed"].to_numpy(), covariates, entry=rows["entry"].to_numpy(),
                      subjects=rows["customer_id"].to_numpy(dtype=object))
    except FitError as error:
        return None, f"failed: {error}", len(picked), population
    return fit, None, len(picked), population
