"""The funnel's stages: their keys and names, and how the stage names in a leads file are read onto them.

- **Stages** (:data:`STAGES`, in their one order): the pipeline stages ``potential`` 潜在客户, ``target`` 目标客户,
  ``proposal`` 报价 (from the leads) and the purchase stages ``first_purchase`` 首次购买, ``repeat_purchase`` 重复购买,
  ``loyal`` 忠诚客户 (from the linked customer's transactions). A **stage list** (the setting ``funnel_stages``,
  checked by :mod:`analytics.store.settings`) is some of them in that order; until one is saved, the list in use
  is the suggested one (:func:`suggested_stages`): every stage, but ``proposal`` only when a lead has one
  (:func:`analytics.metrics.funnel_leads_query.has_proposal`; without: :data:`DEFAULT_STAGES`).
- The **lifecycle funnel** (no leads file, :mod:`analytics.metrics.funnel_lifecycle`) has stages of its own:
  first purchase → repeat purchase → loyal → ``active`` 仍活跃 (:data:`LIFECYCLE_STAGES`).
- **Stage names in the data** map onto a stage key, onto ``lost`` (an outcome, not a stage) or onto ``ignore``
  (:func:`stage_key`): the saved mapping (the setting ``funnel_stage_map``) first, then :data:`SYNONYMS`; a name
  neither knows is **unmapped**: listed with its rows, counted nowhere until mapped (:func:`stage_mapping`).
  Names are compared as :func:`analytics.store.settings.stage_name_key` compares them (case, width, ``_``/``-``
  and spaces do not matter). Besides the design's synonyms, a stage's own key and its names in both languages map
  onto it (a leads file whose stages are written ``Target customers`` or ``target`` needs no mapping).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from analytics.store.settings import FUNNEL_STAGES, STAGE_MAP_TARGETS, default, stage_name_key


@dataclass(frozen=True)
class Stage:
    """A funnel stage: its ``key`` and its name in Chinese (``zh``) and English (``en``)."""

    key: str
    zh: str
    en: str

    def name(self, lang: str) -> str:
        """The stage's name in ``lang`` (``"zh"`` or ``"en"``)."""
        return self.zh if lang == "zh" else self.en


#: Every stage by key, the lifecycle funnel's ``active`` too.
BY_KEY: dict[str, Stage] = {k: Stage(k, zh, en) for k, (zh, en) in {
    "potential": ("潜在客户", "Potential customers"), "target": ("目标客户", "Target customers"),
    "proposal": ("报价", "Proposal"), "first_purchase": ("首次购买", "First purchase"),
    "repeat_purchase": ("重复购买", "Repeat purchase"), "loyal": ("忠诚客户", "Loyal customers"),
    "active": ("仍活跃", "Still active")}.items()}
#: Every stage of the leads funnel, in order (the keys: :data:`analytics.store.settings.FUNNEL_STAGES`).
STAGES: tuple[Stage, ...] = tuple(BY_KEY[k] for k in FUNNEL_STAGES)
#: The stages that come from the leads (the others from the linked customer's purchases).
PIPELINE_STAGES: tuple[str, ...] = ("potential", "target", "proposal")
#: The stage list without a saved one: every stage but ``proposal``.
DEFAULT_STAGES: tuple[str, ...] = tuple(default("funnel_stages"))
#: The lifecycle funnel's stages (from transactions alone).
LIFECYCLE_STAGES: tuple[str, ...] = ("first_purchase", "repeat_purchase", "loyal", "active")
#: A stage name's outcomes that are not stages.
LOST, IGNORE = "lost", "ignore"

#: Stage names in the data and what they mean (the design's list, docs/funnel-design.md).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "potential": ("线索", "潜在客户", "潜在", "新线索", "lead", "new", "prospect"),
    "target": ("意向", "目标客户", "有意向", "商机", "qualified", "opportunity", "MQL", "SQL"),
    "proposal": ("报价", "方案", "谈判", "proposal", "quote", "negotiation"),
    "first_purchase": ("成交", "赢单", "已成交", "签约", "won", "closed won", "customer"),
    LOST: ("流失", "输单", "丢单", "无效", "lost", "closed lost", "dead"),
}
_KNOWN: dict[str, str] = {
    **{stage_name_key(n): s.key for s in STAGES if s.key in STAGE_MAP_TARGETS for n in (s.key, s.zh, s.en)},
    **{stage_name_key(n): key for key, names in SYNONYMS.items() for n in names},
}


def suggested_stages(has_proposal: bool) -> tuple[str, ...]:
    """The stage list to suggest: :data:`DEFAULT_STAGES`, with ``proposal`` (after ``target``) when the leads carry
    a proposal stage (a ``proposal_date`` or a stage name mapped to ``proposal``)."""
    return FUNNEL_STAGES if has_proposal else DEFAULT_STAGES


def stage_key(name: str, saved: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """What the stage name ``name`` means, and why: ``(key, how)`` with ``key`` a stage key of
    :data:`analytics.store.settings.STAGE_MAP_TARGETS` (``lost``, ``ignore`` included) and ``how`` ``"saved"``
    (``saved``: the setting ``funnel_stage_map``, checked) or ``"synonym"``; ``(None, None)``: unmapped."""
    wanted = stage_name_key(name)
    for raw, key in (saved or {}).items():
        if stage_name_key(raw) == wanted:
            return key, "saved"
    known = _KNOWN.get(wanted)
    return (known, "synonym") if known else (None, None)


def stage_mapping(names: Iterable[str], saved: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Every distinct stage name of ``names`` (one per row of the leads: a name's rows are its leads) with its
    meaning (:func:`stage_key`).

    Returns
    -------
    pandas.DataFrame
        One row per distinct name (missing and blank names left out), most rows first, then by name: ``name``,
        ``key`` (None: unmapped), ``how`` (``"saved"``, ``"synonym"``, None) and ``rows``.
    """
    counts = pd.Series(list(names), dtype=object).dropna()
    counts = counts[counts.map(lambda n: bool(str(n).strip()))].astype(str).value_counts()
    rows = [(name, *stage_key(name, saved), int(n)) for name, n in counts.items()]
    frame = pd.DataFrame(rows, columns=["name", "key", "how", "rows"], dtype=object).astype({"rows": "int64"})
    return frame.sort_values(["rows", "name"], ascending=[False, True], ignore_index=True)


def unmapped(mapping: pd.DataFrame) -> pd.DataFrame:
    """The names of :func:`stage_mapping`'s frame that nothing maps (``name``, ``rows``), most rows first: shown on
    the page for the user to map, counted nowhere until then."""
    return mapping.loc[mapping["key"].isna(), ["name", "rows"]].reset_index(drop=True)
