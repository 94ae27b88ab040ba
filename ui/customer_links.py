"""Customer tables that open the customer detail: every page's list of customers goes through
:func:`customer_table`, so a click on a row (or the row's link) opens that customer, with the
page's language and filters kept. The detail itself is the ``customer`` page of the registry
(``pages/customer.py``), behind the same gate as every page.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from analytics import pages
from ui import page_options
from ui.i18n import t
from ui.widgets import download_buttons

#: The registry key of the customer detail page.
DETAIL_PAGE = "customer"
#: The most customers a table shows on a page (a long list shows its start; its downloads hold all of it).
SHOWN = 1000


def open_customer(customer_id: str) -> None:
    """Switch to the customer detail of ``customer_id`` (the language and filters stay in the address)."""
    query = {k: v if len(v) > 1 else v[0] for k, v in page_options.carried().items()}
    st.switch_page(pages.get(DETAIL_PAGE).script, query_params=query | {"customer": str(customer_id)})


def customer_table(frame: pd.DataFrame, lang: str, key: str, *, id_column: str = "customer_id",
                   column_config: dict | None = None, download_stem: str | None = None,
                   height: int | str = "auto", whole: Callable[[], pd.DataFrame] | None = None) -> None:
    """``frame`` (one row per customer, ``id_column`` holding their id) as a table in which picking a
    row opens that customer's detail; a link column (``detail``) opens it too, in a new tab.
    With ``download_stem``, CSV and Excel downloads of ``frame`` (without the link) follow, or of
    ``whole()`` when the table shows part of a longer list (made when a download is clicked)."""
    shown = frame.copy()
    link = t("col_customer_detail", lang)
    shown.insert(0, link, page_options.page_urls(DETAIL_PAGE, "customer", (str(c) for c in frame[id_column])))
    config = {link: st.column_config.LinkColumn(link, display_text=t("open_customer", lang), width="small")}
    event = st.dataframe(shown, key=key, hide_index=True, width="stretch", height=height,
                         column_config=config | (column_config or {}), on_select="rerun",
                         selection_mode="single-row")
    rows = event.selection.rows if event is not None and hasattr(event, "selection") else []
    if download_stem:
        download_buttons(frame if whole is None else whole, download_stem, lang, key=f"{key}_download")
    if rows:
        open_customer(str(frame.iloc[rows[0]][id_column]))
