"""Customer detail: one customer as of the end of the selected period, found by id or name."""

import streamlit as st

from ui import frame, loaders, page_options
from ui.customer_links import customer_table
from ui.i18n import t

run = frame.enter("customer")
lang, scope = run.lang, run.scope
page_options.tidy(run.page)
values, refused = page_options.read(run.page)

st.title(t("nav_customer", lang))
query = st.text_input(t("customer_search", lang), value=values.get("customer") or "",
                      help=t("customer_search_help", lang)).strip()
if query != (values.get("customer") or ""):
    page_options.put(run.page, "customer", query or None)
    values = {"customer": query} if query else {}
if not values.get("customer"):
    st.info(t("customer_intro", lang))
    st.stop()

version = loaders.data_version()
view = loaders.load_view("customer", scope.cache_key(), version, page_options.cache_key(values))
if view.customer_id is None:
    if view.matches.empty:
        st.info(t("customer_not_found", lang, query=view.query))
    else:
        customer_table(view.matches, lang, key="customer_matches")
    st.stop()
st.subheader(f"{view.profile.get('customer_name') or ''} ({view.customer_id})")
