"""Which column of a file feeds which canonical column: the editor of a file's mapping,
saving it under a name, and the required columns to map by hand after a mapping error.

The columns of a file without a header row are named by position ("column 3", "第 3 列"),
each shown with its first few values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from analytics.errors import MappingError
from analytics.ingest.mapping import propose_mapping, save_mapping
from analytics.ingest.report import ImportReport
from analytics.ingest.schema import COLUMNS
from analytics.ingest.surveys import QUESTIONS
from ui import loaders
from ui.i18n import md_literal, t
from ui.importing.messages import column_label, header_label
from ui.importing.staged import Staged
from ui.importing.state import request, requested

_GRID = 3  # mapping selectboxes per row


def _on_mapping(entry: Staged, kind: str, canonical: str, widget: str) -> None:
    entry.map_column(kind, canonical, st.session_state[widget] or "")


def _mapping_grid(entry: Staged, kind: str, headers: list[str], current: dict[str, str],
                  columns: Sequence[Any], lang: str) -> None:
    """One selectbox per canonical column (file header or none), `_GRID` to a row; a column
    of a file without a header row is offered with its first few values."""
    options = ["", *headers]
    if entry.samples:
        st.caption(t("data_mapping_positional", lang))
    for start in range(0, len(columns), _GRID):
        cells = st.columns(_GRID)
        for cell, col in zip(cells, columns[start:start + _GRID], strict=False):
            key = entry.widget(f"map_{col.name}")
            label = column_label(col.name, lang) + (" *" if col.required else "")
            chosen = current.get(col.name, "")
            cell.selectbox(label, options, index=options.index(chosen) if chosen in options else 0,
                           format_func=lambda h: header_label(h, lang, entry.samples.get(h, ()))
                           if h else t("data_not_mapped", lang),
                           help=t("data_mapping_cell_help", lang, column=col.name), key=key,
                           on_change=_on_mapping, args=(entry, kind, col.name, key))


def mapping_editor(entry: Staged, report: ImportReport, lang: str) -> None:
    """The mapping in one line, and the editor (open once the analyst has changed something)."""
    pairs = [f"{column_label(c.name, lang)} ← {header_label(report.mapping[c.name], lang)}"
             for c in COLUMNS[report.kind] if c.name in report.mapping]
    st.caption(md_literal(t("data_mapping_summary", lang, pairs=" · ".join(pairs))))
    edited = bool(entry.overrides or entry.options["mapping_name"])
    with st.expander(t("data_mapping_title", lang), icon=":material/table_convert:", expanded=edited):
        st.caption(t("data_mapping_caption", lang))
        _mapping_grid(entry, report.kind, entry.prepared.raw.headers, report.mapping, COLUMNS[report.kind], lang)
        if report.unmapped_columns:
            unmapped = [header_label(h, lang) for h in report.unmapped_columns]
            st.caption(t("data_unmapped", lang, columns=("、" if lang == "zh" else ", ").join(unmapped)))
        row = st.columns([3, 1], vertical_alignment="bottom")
        name_key, flag = entry.widget("save_name"), f"data_save_mapping_{entry.slug}"
        row[0].text_input(t("data_save_mapping_label", lang), key=name_key,
                          placeholder=t("data_save_mapping_placeholder", lang), help=t("data_save_mapping_help", lang))
        row[1].button(t("data_save_mapping", lang), key=entry.widget("save_mapping"), width="stretch",
                      on_click=request, args=(flag,))
        if requested(flag):
            name = (st.session_state.get(name_key) or "").strip()
            try:
                save_mapping(loaders.connection().cursor(), name, entry.prepared.mapping)
            except MappingError:
                st.error(t("data_save_mapping_no_name", lang))
            else:  # drawn again, so the options above offer the new mapping
                entry.notice = t("data_save_mapping_done", lang, name=name)
                st.rerun()


def required_mapping(entry: Staged, lang: str) -> None:
    """After a mapping error: the required columns of the chosen kind (and a feedback file's question
    columns), to map by hand."""
    kind = entry.options["kind"]
    if kind is None:  # the error asked for the kind first
        return
    # a file without a header row has no names to match the other fields by
    st.markdown(t("data_map_required_positional" if entry.samples else "data_map_required", lang))
    # and a survey's question columns: one on a scale the import refuses may be unmapped here
    required = [c for c in COLUMNS[kind] if c.required or c.name in QUESTIONS]
    try:  # a mapping that was made, and failed on the data, is shown as it was
        current = propose_mapping(entry.headers or [], kind, dict(entry.overrides) or None).as_names()
    except MappingError:
        current = entry.overrides
    _mapping_grid(entry, kind, entry.headers or [], current, required, lang)
