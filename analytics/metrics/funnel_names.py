"""The stage names of the imported leads, for the stage map on the Data page's Settings tab: each name with its leads
and what it means now (:func:`stage_names`), and the map a table of choices makes (:func:`entered_map`).

A name is a stage as a leads file wrote it: a ``lead_stages`` row not made from a date column, or a closed date
without an outcome (``closed``, read as the name ``closed``, as :mod:`analytics.metrics.funnel_leads` reads it).
Its meaning is :func:`analytics.metrics.funnel_stages.stage_key`'s: the saved map (the setting
``funnel_stage_map``), else the built-in names, else unmapped. Every lead counts, whoever may see it: the stage map
is one definition for the whole company.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.metrics import funnel_leads
from analytics.metrics.funnel_stages import stage_key
from analytics.store.settings import stage_name_key

#: The distinct stage names of the leads with their leads (a lead has one row per name, but a file's stage
#: ``closed`` and a closed date without an outcome are two rows of one name: count leads, not rows).
_NAMES_SQL = """
select stage as name, count(distinct lead_id) as leads
from lead_stages
where (not from_column or stage = 'closed') and trim(stage) <> ''
group by stage
"""


@dataclass(frozen=True)
class StageNames:
    """The funnel's definitions as the Settings tab shows them.

    ``stages``: the stage list in use (the saved one, else the one the funnel page uses without it); ``saved``: the
    saved stage map (checked); ``names``: one row per stage name, the unmapped ones first (what there is to map),
    then most leads first, then by name — ``name``, ``leads`` (its leads, every import; 0: a saved name no lead has
    now), ``key`` (what it means now: a key of :data:`~analytics.store.settings.STAGE_MAP_TARGETS`, None:
    unmapped), ``how`` (``"saved"``, ``"synonym"``, None) and ``builtin`` (what the built-in names alone make of
    it, None: nothing).
    """

    stages: tuple[str, ...]
    saved: dict[str, str]
    names: pd.DataFrame


def stage_names(con: duckdb.DuckDBPyConnection) -> StageNames:
    """Every stage name of the imported leads and every saved name no lead has any more, with their meaning.

    Returns
    -------
    StageNames
        See the class; ``names`` is empty when no lead is stored and nothing is saved.
    """
    stages, saved = funnel_leads.definitions(con, None, None)
    found = {str(n): int(k) for n, k in con.cursor().execute(_NAMES_SQL).fetchall()}
    present = {stage_name_key(n) for n in found}
    gone = {n: 0 for n in saved if stage_name_key(n) not in present}
    rows = [(name, leads, *stage_key(name, saved), stage_key(name)[0]) for name, leads in (found | gone).items()]
    frame = pd.DataFrame(rows, columns=["name", "leads", "key", "how", "builtin"], dtype=object)
    frame = frame.astype({"leads": "int64"}).assign(mapped=frame["key"].notna())
    frame = frame.sort_values(["mapped", "leads", "name"], ascending=[True, False, True], ignore_index=True)
    return StageNames(stages=stages, saved=saved, names=frame.drop(columns="mapped"))


def entered_map(names: pd.DataFrame, chosen: Sequence[str | None]) -> dict[str, str]:
    """The stage map the Settings tab's table makes: row ``i`` of ``names`` (:class:`StageNames`' frame) mapped to
    ``chosen[i]`` (a key of :data:`~analytics.store.settings.STAGE_MAP_TARGETS`; None or blank: no entry, so the
    built-in names apply again, or nothing). Only explicit entries go in: a name already saved, or one chosen to
    mean other than the built-in names make of it. Not checked (:func:`analytics.store.settings.check` does that).
    """
    out: dict[str, str] = {}
    for row, choice in zip(names.itertuples(index=False), chosen, strict=True):
        if not isinstance(choice, str) or not choice:
            continue
        if row.how == "saved" or choice != row.builtin:
            out[row.name] = choice
    return out


def clashes(stage_map: Mapping[str, str]) -> list[tuple[str, ...]]:
    """The names of ``stage_map`` that are one name as :func:`~analytics.store.settings.stage_name_key` compares
    them but map to different stages (each group in the map's order): what the setting refuses, for saying which."""
    groups: dict[str, list[str]] = {}
    for name in stage_map:
        groups.setdefault(stage_name_key(name), []).append(name)
    return [tuple(g) for g in groups.values() if len({stage_map[n] for n in g}) > 1]

