"""The leads funnel computed from the raw files with pandas, by the rules of docs/funnel-design.md and the README
(no call into ``analytics``): each lead's stored rows (one reading per file, import order), its attributes, its
stage evidence, the stages it reached with their days, and from those every figure of the page (stage counts with
both percentages, Wilson intervals from statsmodels, each step per group with the small groups and the ranks,
stage times, stuck leads). For tests/test_funnel_leads*.py; nothing here is a test."""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

#: Every stored leads row, as the tests read them: the import's number, then leads_reading.STORED's columns.
ROW = ("import_no", "line", "lead_id", "stage", "stage_date", "created_date", "customer_id", "region", "source",
       "sales_rep", "qualified_date", "proposal_date", "closed_date", "outcome")
PIPELINE = ("potential", "target", "proposal")
CHAIN = (*PIPELINE, "first_purchase")
ALL = (*CHAIN, "repeat_purchase", "loyal")
GROUPS = ("region", "source", "sales_rep")
#: The design's stage names (docs/funnel-design.md, "Stages"), and each stage's key and names in both languages.
NAMES = {
    "potential": ("线索", "潜在客户", "潜在", "新线索", "lead", "new", "prospect", "potential", "Potential customers"),
    "target": ("意向", "目标客户", "有意向", "商机", "qualified", "opportunity", "MQL", "SQL", "target",
               "Target customers"),
    "proposal": ("报价", "方案", "谈判", "proposal", "quote", "negotiation", "Proposal"),
    "first_purchase": ("成交", "赢单", "已成交", "签约", "won", "closed won", "customer", "first_purchase", "首次购买",
                       "First purchase"),
    "lost": ("流失", "输单", "丢单", "无效", "lost", "closed lost", "dead"),
}


def fold(name: str) -> str:
    """A stage name as names are compared: NFKC, any case, ``_``/``-`` as spaces, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().replace("_", " ").replace("-", " ").split())


#: Each stage's names folded (once).
FOLDED = {key: {fold(n) for n in names} for key, names in NAMES.items()}


def meaning(name: str, saved: dict[str, str]) -> tuple[str | None, str | None]:
    """A stage name's key and how: the saved map first, then the design's names; (None, None): unmapped."""
    for raw, key in saved.items():
        if fold(raw) == fold(name):
            return key, "saved"
    for key, names in FOLDED.items():
        if fold(name) in names:
            return key, "synonym"
    return None, None


def column_meaning(stage: str, saved: dict[str, str]) -> str | None:
    """A date column's row: its key (won: first purchase), except ``closed``, read as the name."""
    fixed = {"potential": "potential", "target": "target", "proposal": "proposal", "won": "first_purchase",
             "lost": "lost"}
    return fixed[stage] if stage in fixed else meaning(stage, saved)[0]


def stored(rows: list[tuple]) -> pd.DataFrame:
    """The rows the leads table holds after the imports: a later import's row of a lead and stage replaces the
    stored one."""
    frame = pd.DataFrame(rows, columns=list(ROW), dtype=object).sort_values(["import_no", "line"])
    return frame.drop_duplicates(["lead_id", "stage"], keep="last").reset_index(drop=True)


def attributes(rows: pd.DataFrame) -> pd.DataFrame:
    """Per lead: the earliest created date; every other attribute from the latest row (import, stage date, line)
    that gives one."""
    order = rows.assign(when=rows["stage_date"].map(lambda d: d or date(1900, 1, 1)))
    order = order.sort_values(["import_no", "when", "line"])
    out = {}
    for lead, part in order.groupby("lead_id", sort=True):
        values = {"created_date": min(part["created_date"])}
        for column in ("customer_id", "region", "source", "sales_rep", "outcome", "qualified_date",
                       "proposal_date", "closed_date"):
            given = [v for v in part[column] if v is not None and v == v and v != ""]
            values[column] = given[-1] if given else None
        out[lead] = values
    frame = pd.DataFrame.from_dict(out, orient="index").astype(object)
    return frame.where(frame.notna(), None)


def evidence(rows: pd.DataFrame, attrs: pd.DataFrame, saved: dict[str, str]) -> pd.DataFrame:
    """Every lead's stage evidence: its stored rows' stages (``from_column`` False) and its date columns' (True),
    each with its day and meaning (``key``) and whether it is a stage-change log's row (``log``)."""
    out = [(r.lead_id, r.stage, False, r.stage_date) for r in rows.itertuples()]
    for lead, a in attrs.iterrows():
        out.append((lead, "potential", True, a["created_date"]))
        out += [(lead, key, True, a[c]) for c, key in (("qualified_date", "target"), ("proposal_date", "proposal"))
                if a[c] is not None]
        if a["closed_date"] is not None or a["outcome"] is not None:
            out.append((lead, a["outcome"] or "closed", True, a["closed_date"]))
    frame = pd.DataFrame(out, columns=["lead_id", "stage", "from_column", "stage_date"])
    frame["key"] = [column_meaning(s, saved) if c else meaning(s, saved)[0]
                    for s, c in zip(frame["stage"], frame["from_column"], strict=True)]
    frame["log"] = ~frame["from_column"] & frame["stage_date"].notna()
    return frame


@dataclass
class Purchases:
    """Each customer's purchase days (returns excluded), sorted."""

    days: dict[str, list[date]] = field(default_factory=dict)

    @classmethod
    def of(cls, sales: pd.DataFrame) -> Purchases:
        bought = sales[sales["amount"] >= 0]  # (a zero amount is a purchase; a negative one a return)
        return cls({c: sorted(set(g)) for c, g in bought.groupby("customer_id")["order_date"]})

    def loyal_day(self, customer: str, as_of: date, n: int) -> date | None:
        """The end of the first month whose 12 months (it and the 11 before) hold ``n`` purchase days up to
        ``as_of`` (or ``as_of`` when earlier), read month by month."""
        days = [d for d in self.days.get(customer, []) if d <= as_of]
        if not days:
            return None
        month = days[0].year * 12 + days[0].month - 1  # (months counted from year 0)
        while date(month // 12, month % 12 + 1, 1) <= as_of:
            after = month + 1
            end = min(date(after // 12, after % 12 + 1, 1) - timedelta(days=1), as_of)
            since = date((month - 11) // 12, (month - 11) % 12 + 1, 1)
            if bisect_right(days, end) - bisect_left(days, since) >= n:
                return end
            month = after
        return None


def lead_reach(ev: pd.DataFrame, attrs: pd.DataFrame, buys: Purchases, as_of: date, n: int) -> pd.DataFrame:
    """Per lead of ``attrs``: the stages reached by ``as_of`` and their days (None: unknown), the implied pipeline
    stages, ``by_close`` and ``lost``; columns ``k_reached``, ``k_day``, ``k_implied``."""
    records = []
    mine: dict[tuple, list[tuple]] = {}  # (lead, key) → its evidence's (day, log), read once for every lead
    for lead, key, day, log in zip(ev["lead_id"], ev["key"], ev["stage_date"], ev["log"], strict=True):
        mine.setdefault((lead, key), []).append((day, bool(log)))
    for lead, a in attrs.iterrows():
        rec = {"member_id": lead, "entered": a["created_date"], **{g: a[g] for g in GROUPS}}
        at = -1
        for k in (*CHAIN, "lost"):
            rows = mine.get((lead, k), [])
            known = [d for d, _ in rows if d is not None]
            reached = len(rows) > 0 and (not known or min(known) <= as_of)
            rec[f"{k}_own"], rec[f"{k}_day"] = reached, min(known) if reached and known else None
            if k != "lost" and reached and any(not log for _, log in rows):
                at = CHAIN.index(k)
        for i, k in enumerate(PIPELINE):
            rec[f"{k}_implied"] = not rec[f"{k}_own"] and at > i
            rec[f"{k}_reached"] = rec[f"{k}_own"] or rec[f"{k}_implied"]
        days = [d for d in buys.days.get(a["customer_id"], []) if d <= as_of] if a["customer_id"] else []
        rec["by_close"] = not days and rec["first_purchase_own"]
        rec["first_purchase_reached"] = bool(days) or rec["first_purchase_own"]
        rec["first_purchase_day"] = days[0] if days else rec["first_purchase_day"]
        rec["repeat_purchase_reached"] = len(days) > 1
        rec["repeat_purchase_day"] = days[1] if len(days) > 1 else None
        loyal = buys.loyal_day(a["customer_id"], as_of, n) if a["customer_id"] else None
        rec["loyal_reached"], rec["loyal_day"] = loyal is not None, loyal
        rec["lost"] = rec["lost_own"]
        records.append(rec)
    frame = pd.DataFrame(records)
    for g in GROUPS:
        frame[g] = pd.Series([v if isinstance(v, str) else None for v in frame[g]], dtype=object) if len(frame) \
            else frame[g]
    return frame


def cohort(reach: pd.DataFrame, first: date, last: date) -> pd.DataFrame:
    return reach[(reach["entered"] >= first) & (reach["entered"] <= last)].reset_index(drop=True)


def at_stages(ref: pd.DataFrame, stages: tuple[str, ...], order: str) -> pd.DataFrame:
    flags = pd.DataFrame({k: ref[f"{k}_reached"].astype(bool) for k in stages}, index=ref.index)
    return flags.cummin(axis=1) if order == "strict" else flags


def wilson(k: int, n: int) -> tuple[float, float]:
    return tuple(float(x) for x in proportion_confint(k, n, alpha=0.05, method="wilson")) if n else (np.nan, np.nan)


def stage_rows(ref: pd.DataFrame, stages: tuple[str, ...], order: str) -> list[tuple]:
    """Per stage: members, % of previous, % of first, continued, conversion, low, high."""
    at, out = at_stages(ref, stages, order), []
    for i, k in enumerate(stages):
        members = int(at[k].sum())
        first = int(at[stages[0]].sum())
        if not i:
            out.append((k, members, np.nan, members / first if first else np.nan, 0, np.nan, np.nan, np.nan))
            continue
        before = int(at[stages[i - 1]].sum())
        went = int((at[stages[i - 1]] & at[k]).sum())
        out.append((k, members, members / before if before else np.nan, members / first if first else np.nan, went,
                    went / before if before else np.nan, *wilson(went, before)))
    return out


def group_rows(ref: pd.DataFrame, stages: tuple[str, ...], order: str, by: str) -> list[tuple]:
    """Per step: the groups not small, weakest first (ties by name), then the small ones by name (None last):
    (group, step, start, reached, rate, low, high, small, rank)."""
    at = at_stages(ref, stages, order)[list(stages)].to_numpy(dtype=bool)
    names = sorted({g for g in ref[by] if g is not None})
    labels = names + ([None] if ref[by].isna().any() else [])
    masks = [(ref[by].isna() if g is None else ref[by] == g).to_numpy(dtype=bool) for g in labels]
    out = []
    for i in range(1, len(stages)):
        rows = []
        for place, (g, mine) in enumerate(zip(labels, masks, strict=True)):
            start = int(at[mine, i - 1].sum())
            went = int((at[mine, i - 1] & at[mine, i]).sum())
            low, high = wilson(went, start)
            small = start < 30 or high - low > 0.20
            rows.append([g, i, start, went, went / start if start else np.nan, low, high, small, place])
        ranked = sorted((r for r in rows if not r[7]), key=lambda r: (r[4], r[8]))
        out += [(*r[:8], float(rank)) for rank, r in enumerate(ranked, 1)]
        out += [(*r[:8], np.nan) for r in sorted((r for r in rows if r[7]), key=lambda r: r[8])]
    return out


def gaps(ref: pd.DataFrame, before: str, after: str) -> pd.Series:
    both = ref[ref[f"{before}_day"].notna() & ref[f"{after}_day"].notna()]
    return pd.Series([(b - a).days for a, b in zip(both[f"{before}_day"], both[f"{after}_day"], strict=True)],
                     dtype=float)


def times(ref: pd.DataFrame, stages: tuple[str, ...]) -> list[tuple]:
    """Per step: n, median, q1, q3 of the days (both days known, not backwards), and the backwards ones."""
    out = []
    for before, after in pairwise(stages):
        d = gaps(ref, before, after)
        ok = d[d >= 0].to_numpy()
        q = np.percentile(ok, [50, 25, 75]) if len(ok) else [np.nan] * 3
        out.append((before, after, len(ok), *map(float, q), int((d < 0).sum())))
    return out


def stuck(ref: pd.DataFrame, stages: tuple[str, ...], as_of: date, given: dict | None = None) -> list[tuple]:
    """The leads not lost whose furthest stage reached (any order) is not the last, reached on a known day more
    than the step's threshold (given, else the 90th percentile of the step's days) before ``as_of``."""
    out = []
    for i, (k, following) in enumerate(pairwise(stages)):
        d = gaps(ref, k, following)
        limit = (given or {}).get(k, np.percentile(d[d >= 0], 90) if (d >= 0).any() else np.nan)
        for r in ref.itertuples():
            furthest = max((j for j, s in enumerate(stages) if getattr(r, f"{s}_reached")), default=-1)
            day = getattr(r, f"{k}_day")
            if furthest == i and not r.lost and day is not None and (as_of - day).days > limit:
                out.append((r.member_id, k, (as_of - day).days))
    return sorted(out, key=lambda t: (-t[2], t[0]))
