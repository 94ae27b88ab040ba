"""A page's own options (:attr:`analytics.pages.Page.options`) in the address, next to the filters.

An option's URL parameter is its name (``?horizon_months=24``, ``?customer=000123``): a link
shows what the page shows, as the filters do (:mod:`ui.filters`). A value the option refuses
(``?horizon_months=abc``, a tampered or stale link) is left out, and the page says which; an
option at its default is left out of the address. Another page's options are dropped from the
address when a page is entered, so a link never carries settings its page does not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import streamlit as st

from analytics import pages
from analytics.pages import Page
from ui.i18n import md_literal, t

#: The address parameter that opens a page on one of its tabs (``?tab=settings``: a link to the Data page's Settings
#: tab); the page reads it once (:func:`take_tab`).
TAB = "tab"


def tidy(page: Page) -> None:
    """Drop from the address the options of other pages that ``page`` does not have."""
    own = {o.name for o in page.options}
    for other in pages.PAGES:
        for option in other.options:
            if option.name not in own and option.name in st.query_params:
                del st.query_params[option.name]


def read(page: Page) -> tuple[dict[str, Any], list[str]]:
    """The options the address gives ``page`` (parsed), and the names of those it gave with a value the
    option refuses (left out: the loader uses their defaults)."""
    values, refused = {}, []
    for option in page.options:
        text = st.query_params.get(option.name)
        if text is None:
            continue
        try:
            values[option.name] = option.parse(text)
        except ValueError:
            refused.append(option.name)
    return values, refused


def warn_refused(refused: Iterable[str], lang: str, prefix: str) -> None:
    """Say, for each option the address gave with a value it refuses, that it was ignored (messages
    ``<prefix>_option_refused`` and ``<prefix>_setting_<name>``), showing the value as the link had it."""
    for name in refused:
        st.warning(t(f"{prefix}_option_refused", lang, name=t(f"{prefix}_setting_{name}", lang),
                     value=md_literal(str(st.query_params.get(name, "")))), icon=":material/link_off:")


def seed(key: str, value: Any) -> None:
    """Give widget ``key`` its first value (from the address) before it is drawn."""
    if key not in st.session_state:
        st.session_state[key] = value


def put(page: Page, name: str, value: Any) -> None:
    """Make the address hold option ``name`` at ``value`` (left out at its default or None)."""
    option = page.option(name)
    text = None if value is None or value == option.default else option.show(value)
    if text is None:
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != text:
        st.query_params[name] = text


def cache_key(values: dict[str, Any]) -> tuple:
    """``values`` as the hashable ``options`` argument of :func:`ui.loaders.load_view`."""
    return tuple(sorted(values.items()))


def carried() -> dict[str, list[str]]:
    """The address's parameters a link to another page keeps: the language and the filters (every
    parameter that is not some page's option), each with all its values."""
    names = {o.name for p in pages.PAGES for o in p.options}
    return {k: st.query_params.get_all(k) for k in st.query_params if k not in names}


def page_url(key: str, **options: Any) -> str:
    """A relative link to page ``key`` with ``options`` and the current language and filters (the
    address's parameters that are not some page's options), e.g. a customer's detail:
    ``page_url("customer", customer="000123")``."""
    target = pages.get(key)
    query = [(k, v) for k, values in carried().items() for v in values]
    query += [(name, target.option(name).show(value)) for name, value in options.items() if value is not None]
    return f"/{quote(key)}" + (f"?{urlencode(query)}" if query else "")


def page_urls(key: str, name: str, values: Iterable[Any]) -> list[str]:
    """:func:`page_url` of page ``key`` for each of ``values`` of its option ``name`` (a table's link column),
    the address read once: the same links, a hundredth of the time on a long table."""
    option = pages.get(key).option(name)
    carried_query = urlencode([(k, v) for k, vals in carried().items() for v in vals])
    prefix = f"/{quote(key)}?" + (f"{carried_query}&" if carried_query else "")
    return [prefix + urlencode([(name, option.show(value))]) for value in values]


def take_tab(key: str, tabs: Mapping[str, str]) -> None:
    """Open the tab the address names (:data:`TAB`; ``tabs``: its names and the tabs' labels) in the tabs widget
    ``key``, before it is drawn, and drop the parameter: a link opens the tab once, and the user's clicks rule
    after that."""
    name = st.query_params.get(TAB)
    if name is None:
        return
    if name in tabs:
        st.session_state[key] = tabs[name]
    del st.query_params[TAB]
