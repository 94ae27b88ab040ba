"""What every page script does first: stay inside the frame (``app.py``), let in only the
roles the page registry names, and say so when there is nothing to show.

Because the page scripts live in ``pages/``, Streamlit 1.67 starts a fresh server in its
old folder-based navigation: a shared link such as ``/overview``, opened as the server's
first request, would run the page script alone, without the frame's language, filters
and login gate. ``st.navigation`` in ``app.py`` switches that mode off for the process; a
page that finds it still on switches it off and reruns, so the frame runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from analytics import pages
from analytics.access import Access
from analytics.ingest import demo
from analytics.pages import Page
from analytics.scope import Scope
from ui import filters, loaders, page_options, session
from ui.i18n import t

#: The page that imports data (where the empty database sends those who may import).
IMPORT_PAGE = "data"


@dataclass(frozen=True)
class PageRun:
    """What a page script works with on this run: its registry entry, the language, the
    user's access and, for a page the filters apply to, the scope the sidebar selected."""

    page: Page
    lang: str
    access: Access
    scope: Scope | None


def require_frame() -> None:
    """Rerun through ``app.py`` if the page was started by the folder-based navigation."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def enter(key: str) -> PageRun:
    """Call first in every page script (``key``: its registry key).

    Stops the run, with a message, when the user may not open the page (the navigation
    does not offer it, but a script must refuse on its own too), and for a page the
    filters apply to, when the database is empty (with the demo data offered to those who
    may import) or holds no sales the user may see.
    """
    require_frame()
    page = pages.get(key)
    lang = filters.current_language()
    access = session.current()
    if access is None or not page.allows(access):
        st.error(t("page_not_allowed", lang))
        st.stop()
    scope = None
    if page.scoped:
        if not loaders.has_data():
            _empty_database(lang, access)
        scope = filters.current_scope()
        if scope is None:
            st.title(t(page.title, lang))
            st.info(t("no_data_in_scope", lang))
            st.stop()
    return PageRun(page, lang, access, scope)


def enter_with_options(key: str) -> tuple[PageRun, dict, list[str], int, dict]:
    """:func:`enter`, then what a page with options (:attr:`analytics.pages.Page.options`) starts from: the options
    its address gives (tidied, read: the values and the names refused), the data version and the metric settings."""
    run = enter(key)
    page_options.tidy(run.page)
    values, refused = page_options.read(run.page)
    version = loaders.data_version()
    return run, values, refused, version, loaders.load_settings(version)


def _load_demo(lang: str) -> None:
    # a callback: it runs before the page, so the click is never lost to a rerun
    with st.spinner(t("loading_demo", lang)):
        demo.load_demo(loaders.connection())


def _empty_database(lang: str, access: Access) -> None:
    """An empty database: those who may import are offered the demo data and the import
    page; the others are told to ask an analyst. Stops the run."""
    st.title(t("empty_db_title", lang))
    importing = pages.get(IMPORT_PAGE)
    if not importing.allows(access):
        st.info(t("empty_db_ask_analyst", lang))
        st.stop()
    st.info(t("empty_db_body", lang))
    c1, c2 = st.columns(2)
    c1.button(t("load_demo", lang), type="primary", icon=":material/rocket_launch:", width="stretch",
              on_click=_load_demo, args=(lang,))
    c2.page_link(importing.script, label=t("go_to_data", lang), icon=importing.icon)
    st.stop()
