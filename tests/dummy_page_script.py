"""The dummy page's script (``tests/dummy_page.py``): a table of its view and its downloads."""

import streamlit as st

from ui import frame, loaders, widgets
from ui.i18n import t

run = frame.enter("dummy")
st.title(t("app_title", run.lang))
view = loaders.load_view("dummy", run.scope.cache_key(), loaders.data_version())
widgets.table_with_downloads(view, "dummy", run.lang, key="dummy")
