"""The frame: page config, navigation, language, the global filters and the empty state.

Run with ``streamlit run app.py``. Pages are plain scripts in ``pages/``; they read the
scope the sidebar selected (``ui.filters.current_scope()``) and load their figures through
``ui.data``.
"""

from pathlib import Path

import streamlit as st

from ui import filters, loaders, session
from ui.i18n import t

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="CRM", page_icon=":material/insights:", layout="wide")
st.logo(str(HERE / "ui" / "assets" / "logo.svg"), icon_image=str(HERE / "ui" / "assets" / "icon.svg"), size="large")

lang = filters.language()
access = session.gate(lang)  # the login screen or a refusal stops the run here
allowed = access.allowed_regions

overview_page = st.Page(HERE / "pages" / "overview.py", title=t("nav_overview", lang), icon=":material/dashboard:",
                        url_path="overview", default=True)
data_page = st.Page(HERE / "pages" / "data.py", title=t("nav_data", lang), icon=":material/upload_file:",
                    url_path="data")
page = st.navigation([overview_page] + ([data_page] if access.may_open("data") else []))

if page.url_path != data_page.url_path and loaders.has_data():
    filters.sidebar(lang, allowed)
page.run()
