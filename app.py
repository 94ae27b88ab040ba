"""The frame: page config, login, navigation from the page registry, language, the global
filters and the empty state.

Run with ``streamlit run app.py``. Pages are plain scripts in ``pages/``, one per entry of
the page registry (:mod:`analytics.pages`); each starts with ``ui.frame.enter(<key>)``,
which hands it the language, the user and the scope the sidebar selected.
"""

from pathlib import Path

import streamlit as st

from analytics import pages
from ui import filters, loaders, session
from ui.i18n import t

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="CRM", page_icon=":material/insights:", layout="wide")
st.logo(str(HERE / "ui" / "assets" / "logo.svg"), icon_image=str(HERE / "ui" / "assets" / "icon.svg"), size="large")

lang = filters.language()
access = session.gate(lang)  # the login screen or a refusal stops the run here

# Every page the user's role may open, at its own address (/overview, /data, ...); the
# address / is a hidden landing page that moves on to the default page, link and all.
entries = {p.key: st.Page(HERE / p.script, title=t(p.title, lang), icon=p.icon, url_path=p.key)
           for p in pages.for_user(access)}


def _landing() -> None:
    """Never drawn: the frame moves on to the default page before any page runs."""


landing = st.Page(_landing, title=t(pages.default().title, lang), default=True, visibility="hidden")
page = st.navigation([landing, *entries.values()])
if page is landing:
    st.switch_page(entries[pages.default().key], query_params=filters.url_state())

if loaders.has_data():
    filters.sidebar(lang, access.allowed_regions, applies=pages.get(page.url_path).scoped)
page.run()
