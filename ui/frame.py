"""Keep every page inside the frame (``app.py``).

Because the page scripts live in ``pages/``, Streamlit 1.67 starts a fresh server in its
old folder-based navigation: a shared link such as ``/overview``, opened as the server's
first request, would run the page script alone, without the frame's language, filters
and (later) login gate. ``st.navigation`` in ``app.py`` switches that mode off for the
process; a page that finds it still on switches it off and reruns, so the frame runs.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def require_frame() -> None:
    """Call first in every page script: rerun through ``app.py`` if the page was started
    by the folder-based navigation."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
