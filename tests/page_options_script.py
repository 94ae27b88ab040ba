"""A tiny script for tests/test_page_options.py: ui.page_options on a registered page, driven by the
session state the test sets (``page``, ``put``: (name, value) pairs, ``link``: (page, options), ``links``:
customer ids for a link column) and the address; what it read and built is written as one JSON text element."""

import json

import streamlit as st

from analytics import pages
from ui import page_options

page = pages.get(st.session_state.get("page", "value"))
page_options.tidy(page)
values, refused = page_options.read(page)
for name, value in st.session_state.get("put", ()):
    page_options.put(page, name, value)
target, options = st.session_state.get("link", ("customer", {}))
st.text(json.dumps({"values": {name: page.option(name).show(value) for name, value in values.items()},
                    "types": {name: type(value).__name__ for name, value in values.items()},
                    "refused": refused, "cache_key": repr(page_options.cache_key(values)),
                    "url": page_options.page_url(target, **options),
                    "urls": page_options.page_urls("customer", "customer", st.session_state.get("links", [])),
                    "one_by_one": [page_options.page_url("customer", customer=c)
                                   for c in st.session_state.get("links", [])]}, ensure_ascii=False))
