"""The funnel's two settings on the Settings tab, inside its form: the stage list (which of the six stages the funnel
page shows, in their one order) and the stage map (every stage name of the imported leads, and every saved name, with
what it counts as: a table whose "counts as" column is chosen), and why a value of either was refused."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import streamlit as st

from analytics.metrics.funnel_names import StageNames, clashes, entered_map
from analytics.metrics.funnel_stages import BY_KEY
from analytics.store.settings import FUNNEL_STAGES, MIN_FUNNEL_STAGES, STAGE_MAP_TARGETS
from ui.formats import fmt_int
from ui.funnel_leads_sections import sep, stage_label
from ui.i18n import md_literal, t

#: The widget keys: the stage list and the start of the stage map table's (:func:`map_key`).
STAGES_KEY, MAP_KEY = "data_set_funnel_stages", "data_set_stage_map"


def stage_fields(names: StageNames, lang: str, off: bool) -> tuple[list[str], dict[str, str]]:
    """The stage list and the stage map as entered (drawn in the caller's form; ``off``: disabled). The list in
    :data:`~analytics.store.settings.FUNNEL_STAGES`' order; the map made by
    :func:`analytics.metrics.funnel_names.entered_map` (the saved map when no name is there to show)."""
    chosen = st.pills(t("data_setting_funnel_stages", lang), FUNNEL_STAGES, selection_mode="multi",
                      default=list(names.stages), format_func=lambda k: BY_KEY[k].name(lang), key=STAGES_KEY,
                      disabled=off)
    stages = sorted(chosen or [], key=FUNNEL_STAGES.index)
    st.caption(t("data_setting_funnel_stages_use", lang, n=fmt_int(MIN_FUNNEL_STAGES, lang)))
    st.markdown(f"**{t('data_setting_funnel_stage_map', lang)}**")
    frame = names.names
    if frame.empty:
        st.caption(t("data_stage_map_empty", lang))
        return stages, dict(names.saved)
    st.caption(t("data_setting_funnel_stage_map_use", lang))
    # what to choose beside the name (on a phone the table scrolls sideways under the pinned name)
    table = pd.DataFrame({"name": frame["name"], "key": frame["key"], "leads": frame["leads"],
                          "how": [t(f"funnel_mapping_how_{h}" if isinstance(h, str) else "funnel_mapping_how_none",
                                    lang) for h in frame["how"]]})
    config = {
        "name": st.column_config.TextColumn(t("funnel_mapping_col_name", lang), disabled=True, width="medium",
                                            pinned=True),
        "leads": st.column_config.NumberColumn(t("funnel_mapping_col_rows", lang), disabled=True, format="%d",
                                               width="small"),
        "key": st.column_config.SelectboxColumn(t("funnel_mapping_col_key", lang), options=STAGE_MAP_TARGETS,
                                                format_func=lambda k: stage_label(k, lang),
                                                help=t("data_stage_map_key_help", lang), width="medium"),
        "how": st.column_config.TextColumn(t("funnel_mapping_col_how", lang), disabled=True),
    }
    edited = st.data_editor(table, key=map_key(names), hide_index=True, width="stretch", column_config=config,
                            num_rows="fixed", disabled=True if off else ["name", "leads", "how"],
                            placeholder=t("funnel_mapping_how_none", lang))
    return stages, entered_map(frame, list(edited["key"]))


def map_key(names: StageNames) -> str:
    """The stage map table's widget key: :data:`MAP_KEY` and a digest of its rows and the saved map. The table keeps
    an edit by row number, in the browser too, so once its rows change (a save moves a name among the mapped ones,
    an import brings new names) a table under the same key would show and send an edit on the row that took its
    place: a new key starts a new table."""
    rows = json.dumps([names.names["name"].tolist(), sorted(names.saved.items())], ensure_ascii=False)
    return f"{MAP_KEY}_{hashlib.sha256(rows.encode()).hexdigest()[:12]}"


def stage_error(key: str, value: object, lang: str) -> str:
    """Why the stage list or the stage map ``value`` was refused, naming the setting."""
    name = t(f"data_setting_{key}", lang)
    if key == "funnel_stages":
        return t("data_setting_error_stages", lang, setting=name, n=fmt_int(MIN_FUNNEL_STAGES, lang))
    groups = clashes(value) if isinstance(value, dict) else []
    if groups:
        return t("data_setting_error_stage_map_clash", lang, setting=name, names="; ".join(
            sep(lang).join(f"'{md_literal(n)}' → {stage_label(value[n], lang)}" for n in g) for g in groups))
    return t("data_setting_error_stage_map", lang, setting=name,
             choices=sep(lang).join(stage_label(k, lang) for k in STAGE_MAP_TARGETS))
