"""Data (analysts): bring files in, check what the pipeline found, confirm; the import
history with undo, the data-quality checks and the metric settings. Serving built marts
(``CRM_MARTS``), the page says so in one sentence and shows the history, the checks and the
settings read-only: imports happen where the data lives."""

import streamlit as st

from ui import frame, importing, loaders, page_options
from ui.i18n import t

run = frame.enter("data")
lang, access = run.lang, run.access
serving = loaders.serving()

st.title(t("data_title", lang))
if serving is None:
    st.caption(t("data_caption", lang))
    importing.show_flash()
    importing.empty_state(lang)
else:
    importing.served_notice(serving, lang)

page_options.take_tab("data_tab", {"settings": t("data_tab_settings", lang)})  # (the funnel page links there)
names = ["history", "checks", "settings"] if serving else ["import", "history", "checks", "settings"]
tabs = dict(zip(names, st.tabs([t(f"data_tab_{name}", lang) for name in names], key="data_tab", on_change="rerun"),
                strict=True))

# The import tab is drawn on every run, so files stay in the uploader while another tab is
# open; the others are drawn only when open (the checks scan the data).
if "import" in tabs:
    with tabs["import"]:
        st.subheader(t("data_upload_title", lang))
        importing.upload_section(lang)
        st.subheader(t("data_inbox_title", lang))
        importing.inbox_section(lang)
if tabs["history"].open:
    with tabs["history"]:
        importing.history_section(lang, can_undo=serving is None)
if tabs["checks"].open:
    with tabs["checks"]:
        importing.checks_section(lang)
if tabs["settings"].open:
    with tabs["settings"]:
        importing.settings_section(lang, editable=access.can_change_settings and serving is None,
                                   served=serving is not None)
