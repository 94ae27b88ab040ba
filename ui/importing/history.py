"""The Import history tab: the import ledger, its downloads, and undo with a confirm step."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analytics.errors import CRMError
from analytics.ingest import pipeline
from analytics.ingest.claims import undo_preview
from analytics.store.ledger import import_history
from ui import loaders, session
from ui.formats import fmt_int
from ui.i18n import md_literal, t
from ui.importing.messages import error_text, kind_label, maybe_text
from ui.importing.state import flash, request, requested
from ui.widgets import download_buttons

_UNDO_PENDING = "data_undo_pending"

#: The ledger's columns shown, in order.
HISTORY_COLUMNS: tuple[str, ...] = ("import_id", "imported_at", "file_name", "kind", "status", "rows_read",
                                    "rows_imported", "rows_rejected", "rows_already_present", "imported_by",
                                    "undone_at", "undone_by")


def _status(row: dict[str, Any], lang: str) -> str:
    if row["status"] == "committed" and not row["rows_imported"]:
        return t("data_status_nothing_new", lang)
    return maybe_text(f"data_status_{row['status']}", lang) or row["status"]


def history_table(rows: list[dict[str, Any]], lang: str) -> pd.DataFrame:
    """The import ledger as shown and downloaded: one row per import, newest first."""
    shown = {
        **{name: (lambda r, n=name: r[n]) for name in HISTORY_COLUMNS},
        "kind": lambda r: kind_label(r["kind"], lang),
        "status": lambda r: _status(r, lang),
    }
    return pd.DataFrame({t(f"data_hist_{name}", lang): [shown[name](r) for r in rows] for name in HISTORY_COLUMNS})


def history_section(lang: str, can_undo: bool = True) -> None:
    """The import ledger, its downloads, and (``can_undo``: not while the app serves built marts) undo with a
    confirm step."""
    con = loaders.connection()
    rows = import_history(con)
    if not rows:
        st.info(t("data_history_empty", lang), icon=":material/history:")
        return
    table = history_table(rows, lang)
    moment = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")
    count = st.column_config.NumberColumn(format="localized")
    config = {t(f"data_hist_{name}", lang): count for name in HISTORY_COLUMNS if name.startswith("rows_")}
    config |= {t("data_hist_imported_at", lang): moment, t("data_hist_undone_at", lang): moment,
               t("data_hist_import_id", lang): st.column_config.NumberColumn(format="#%d")}
    undone = [t("data_hist_undone_at", lang), t("data_hist_undone_by", lang)]
    shown = table if any(r["status"] == "undone" for r in rows) else table.drop(columns=undone)
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)
    download_buttons(table, t("data_history_stem", lang), lang, "data_history")
    committed = {r["import_id"]: r for r in rows if r["status"] == "committed"}
    if not committed or not can_undo:
        return
    st.markdown(f"**{t('data_undo_title', lang)}**")
    row = st.columns([3, 1], vertical_alignment="bottom")
    choice = row[0].selectbox(
        t("data_undo_choose", lang), list(committed), key=f"data_undo_choice_{lang}",
        format_func=lambda i: t("data_undo_option", lang, id=fmt_int(i, lang), file=committed[i]["file_name"],
                                kind=kind_label(committed[i]["kind"], lang),
                                n=fmt_int(committed[i]["rows_imported"], lang)))
    row[1].button(t("data_undo", lang), icon=":material/undo:", key="data_undo_button", width="stretch",
                  on_click=request, args=(_UNDO_PENDING, choice))
    pending = st.session_state.get(_UNDO_PENDING)
    if pending not in committed:
        return
    target = committed[pending]
    # a file's name is text, never markup (a name like "[x](http://…) **b** $x$.csv")
    effect = undo_preview(con, pending)  # rows other imports also brought stay (analytics.ingest.claims)
    st.warning(t("data_undo_confirm_text", lang, id=fmt_int(pending, lang), file=md_literal(target["file_name"]),
                 n=fmt_int(effect.removed, lang), kind=kind_label(target["kind"], lang)),
               icon=":material/warning:")
    if effect.kept or effect.brought_back:
        st.caption(t("store_undo_effect", lang, kept=fmt_int(effect.kept, lang),
                     back=fmt_int(effect.brought_back, lang)))
    yes, no = st.columns(2)
    yes.button(t("data_undo_yes", lang), type="primary", key="data_undo_yes", width="stretch",
               on_click=request, args=("data_undo_go",))
    no.button(t("data_undo_cancel", lang), key="data_undo_cancel", width="stretch",
              on_click=request, args=(_UNDO_PENDING, None))
    if not requested("data_undo_go"):
        return
    st.session_state.pop(_UNDO_PENDING, None)
    try:
        removed = pipeline.undo_import(con, pending, undone_by=session.user_name())
    except CRMError as exc:
        st.error(md_literal(error_text(exc, lang)))
        return
    flash("success", t("data_undo_done", lang, id=fmt_int(pending, lang), n=fmt_int(removed, lang)))
    st.rerun()
