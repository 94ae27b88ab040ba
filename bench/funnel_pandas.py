"""The funnel benchmark's baseline: the leads funnel's figures with pandas/numpy straight from the stored leads rows
and the transactions (already in DataFrames), by the rules of docs/funnel-design.md: each lead's attributes (the
earliest created date; every other attribute from its latest row that gives one), its stage evidence (its rows and
its date columns), what each row means (the stage names mapped once each by
:func:`analytics.metrics.funnel_stages.stage_key`, the one call into ``analytics``: naming is not what is timed), the
cohort (created in the period by the as-of day; the region filter on the lead's region), the stages each lead reached
by the as-of day with their days (implied pipeline stages; first and second purchase from the linked customer's
purchase days, a won lead's close otherwise; loyal: N purchase days in the 12 months up to a month's end), then the
stage counts under strict order and each step per region. :func:`compare` checks them against the app's."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

PIPELINE = ("potential", "target", "proposal")
CHAIN = (*PIPELINE, "first_purchase")
COLUMN_KEYS = {"potential": "potential", "target": "target", "proposal": "proposal", "won": "first_purchase",
               "lost": "lost"}
ATTRIBUTES = ("customer_id", "region", "source", "sales_rep", "outcome", "qualified_date", "proposal_date",
              "closed_date")


def _days(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values).to_numpy("datetime64[D]")


def reach_table(leads: pd.DataFrame, tx: pd.DataFrame, *, stage_map: dict[str, str], created: tuple[date, date],
                as_of: date, region: str | None, min_days: int) -> pd.DataFrame:
    """One row per lead of the cohort (by ``lead_id``): ``region`` and per stage key ``k_reached``, ``k_day``."""
    from analytics.metrics.funnel_stages import stage_key

    cut = np.datetime64(as_of, "D")
    latest = leads.assign(sd=leads["stage_date"].fillna(pd.Timestamp("1899-12-31"))).sort_values(
        ["import_id", "sd", "line"], kind="stable")
    g = latest.groupby("lead_id", sort=True)
    attrs = g[list(ATTRIBUTES)].last()  # (last non-null: the latest row that gives one)
    attrs["created_date"] = g["created_date"].min()
    first, last = np.datetime64(created[0], "D"), np.datetime64(created[1], "D")
    made = _days(attrs["created_date"])
    keep = (made >= first) & (made <= last)
    if region is not None:
        keep &= (attrs["region"] == region).to_numpy()
    attrs = attrs[keep]
    ids = attrs.index

    rows = leads.loc[leads["lead_id"].isin(ids), ["lead_id", "stage", "stage_date"]].assign(from_column=False)
    a = attrs.reset_index()
    parts = [rows, a[["lead_id"]].assign(stage="potential", stage_date=a["created_date"], from_column=True)]
    for column, stage in (("qualified_date", "target"), ("proposal_date", "proposal")):
        has = a[a[column].notna()]
        parts.append(has[["lead_id"]].assign(stage=stage, stage_date=has[column], from_column=True))
    closed = a[a["closed_date"].notna() | a["outcome"].notna()]
    parts.append(closed[["lead_id"]].assign(stage=closed["outcome"].fillna("closed"), stage_date=closed["closed_date"],
                                            from_column=True))
    ev = pd.concat(parts, ignore_index=True)
    names = ev[["from_column", "stage"]].drop_duplicates()
    names["key"] = [COLUMN_KEYS[s] if c and s in COLUMN_KEYS else stage_key(s, stage_map)[0]
                    for c, s in zip(names["from_column"], names["stage"], strict=True)]
    ev = ev.merge(names, on=["from_column", "stage"], how="left")
    ev["day"] = _days(ev["stage_date"])
    ev["says"] = ev["from_column"] | np.isnat(ev["day"].to_numpy())
    per = ev[ev["key"].isin((*CHAIN, "lost"))].groupby(["lead_id", "key"]).agg(
        first=("day", "min"), says=("says", "any"))
    out = pd.DataFrame(index=ids)
    out["region"] = attrs["region"]
    furthest = np.full(len(ids), -1)
    found = {}
    for i, k in enumerate((*CHAIN, "lost")):
        part = per.xs(k, level="key") if k in per.index.get_level_values("key") else per.iloc[:0].droplevel("key")
        has = ids.isin(part.index)
        day = part["first"].reindex(ids).to_numpy("datetime64[D]")
        says = part["says"].reindex(ids).fillna(False).to_numpy(dtype=bool)
        reached = has & (np.isnat(day) | (day <= cut))
        found[k] = (reached, np.where(day <= cut, day, np.datetime64("NaT")))
        if k != "lost":
            furthest = np.where(reached & says, i, furthest)
    for i, k in enumerate(PIPELINE):
        reached, day = found[k]
        out[f"{k}_reached"], out[f"{k}_day"] = reached | (furthest > i), day
    out["lost"] = found["lost"][0]

    buys = tx.loc[~tx["is_return"].to_numpy(), ["customer_id", "order_date"]]
    buys = buys[buys["customer_id"].isin(attrs["customer_id"].dropna().unique())].drop_duplicates()
    buys = buys.assign(day=_days(buys["order_date"]))
    buys = buys[buys["day"] <= cut].sort_values(["customer_id", "day"])
    rank = buys.groupby("customer_id").cumcount()
    bought = buys[rank == 0].set_index("customer_id")["day"].reindex(attrs["customer_id"]).to_numpy("datetime64[D]")
    again = buys[rank == 1].set_index("customer_id")["day"].reindex(attrs["customer_id"]).to_numpy("datetime64[D]")
    won, close = found["first_purchase"]
    out["first_purchase_reached"] = ~np.isnat(bought) | won
    out["first_purchase_day"] = np.where(np.isnat(bought) & won, close, bought)
    out["repeat_purchase_reached"], out["repeat_purchase_day"] = ~np.isnat(again), again

    month = buys["day"].to_numpy().astype("datetime64[M]")
    monthly = pd.DataFrame({"customer_id": buys["customer_id"].to_numpy(), "month": month}).value_counts(
        sort=False).sort_index().reset_index(name="days")
    code = pd.factorize(monthly["customer_id"])[0]
    key = code.astype(np.int64) * 100_000 + monthly["month"].to_numpy().astype("datetime64[M]").astype(np.int64)
    cum = np.cumsum(monthly["days"].to_numpy())
    start = np.searchsorted(key, key - 11, side="left")
    year = cum - (cum[start] - monthly["days"].to_numpy()[start])
    hit = monthly[year >= min_days].groupby("customer_id")["month"].min()
    end = (hit.to_numpy().astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    loyal = pd.Series(np.minimum(end, cut), index=hit.index).reindex(attrs["customer_id"]).to_numpy("datetime64[D]")
    out["loyal_reached"], out["loyal_day"] = ~np.isnat(loyal), loyal
    return out


def figures(reach: pd.DataFrame, stages: tuple[str, ...]) -> dict:
    """Strict order: the leads at each stage, the lost leads, and per region each step's start and reached."""
    at = np.logical_and.accumulate(np.column_stack([reach[f"{k}_reached"].to_numpy() for k in stages]), axis=1)
    counts = [int(c) for c in at.sum(axis=0)]
    by_region = {}
    for name, part in pd.DataFrame(at, index=reach.index).groupby(reach["region"].to_numpy(), dropna=True):
        s = part.sum(axis=0).to_numpy()
        by_region[name] = [(int(s[i - 1]), int(s[i])) for i in range(1, len(stages))]
    return {"members": counts, "lost": int(reach["lost"].sum()), "by_region": dict(sorted(by_region.items()))}


def of_app(result) -> dict:
    """The same figures from :func:`analytics.metrics.funnel_leads.leads_funnel`'s result."""
    counts = [int(x) for x in result.funnel.counts["members"]]
    reach = result.reach
    compare = result.funnel.compare.get("region")
    by_region = {}
    if compare is not None:
        for name, part in compare[compare["group"].notna()].groupby("group", sort=True):
            by_region[name] = [(int(r.start), int(r.reached)) for r in part.itertuples()]
    return {"members": counts, "lost": int((reach["outcome"] == "lost").sum()), "by_region": by_region}


def compare(app: dict, mine: dict) -> dict:
    """Per figure: whether the app's equals the baseline's, with both when not."""
    return {k: {"matches": app[k] == mine[k]} | ({} if app[k] == mine[k] else {"app": app[k], "pandas": mine[k]})
            for k in mine}
