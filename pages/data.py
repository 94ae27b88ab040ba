"""Data (analysts): bring files in, check what the pipeline found, confirm; the import
history with undo, the data-quality checks and the metric settings."""

import streamlit as st

from ui import frame, importing, page_options
from ui.i18n import t

run = frame.enter("data")
lang, access = run.lang, run.access

st.title(t("data_title", lang))
st.caption(t("data_caption", lang))
importing.show_flash()
importing.empty_state(lang)

page_options.take_tab("data_tab", {"settings": t("data_tab_settings", lang)})  # (the funnel page links there)
upload_tab, history_tab, checks_tab, settings_tab = st.tabs(
    [t("data_tab_import", lang), t("data_tab_history", lang), t("data_tab_checks", lang),
     t("data_tab_settings", lang)],
    key="data_tab", on_change="rerun")

# The import tab is drawn on every run, so files stay in the uploader while another tab is
# open; the others are drawn only when open (the checks scan the data).
with upload_tab:
    st.subheader(t("data_upload_title", lang))
    importing.upload_section(lang)
    st.subheader(t("data_inbox_title", lang))
    importing.inbox_section(lang)
if history_tab.open:
    with history_tab:
        importing.history_section(lang)
if checks_tab.open:
    with checks_tab:
        importing.checks_section(lang)
if settings_tab.open:
    with settings_tab:
        importing.settings_section(lang, editable=access.can_change_settings)
