"""The funnel page's sections that only the leads funnel has: which funnel and its definitions (the stage list, the
cohort of leads created in the period, the sources kept), the stage names' mapping in an expander (each name, the
stage it means and how it was mapped, its leads) with the names nothing maps as a warning and the implied stages,
and the stuck leads with their rep (a link to the customer only where a lead has one), downloadable."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from analytics import pages
from analytics.metrics.funnel_stages import BY_KEY
from analytics.metrics.funnel_view import FunnelView
from ui import customer_links, page_options, session, widgets
from ui.dates import fmt_date, fmt_period
from ui.formats import fmt_int, is_missing
from ui.i18n import md_literal, t

#: The page where the stage names are mapped (on its Settings tab).
DATA_PAGE = "data"
#: The stuck leads' columns, in order (messages ``funnel_col_<column>``).
STUCK_COLUMNS = ("lead_id", "stage", "next_stage", "day", "days_in_stage", "threshold", "created", "sales_rep",
                 "lead_region", "lead_source")


def stage_label(key: str | None, lang: str) -> str:
    """What a stage key (or ``lost``, ``ignore``; None: unmapped) is called in ``lang``."""
    if key is None or is_missing(key):
        return t("funnel_mapping_unmapped", lang)
    return BY_KEY[key].name(lang) if key in BY_KEY else t(f"funnel_mapping_{key}", lang)


def sep(lang: str) -> str:
    """A list's separator as the language punctuates it."""
    return "、" if lang == "zh" else ", "


def definition(view: FunnelView, lang: str) -> str:
    """Which funnel (the leads) and its definitions: the cohort, the as-of day, the stage list, the sources."""
    scope, stages = view.scope, sep(lang).join(stage_label(k, lang) for k in view.stages)
    text = t("funnel_which_leads_leads", lang) + "  \n" + t(
        "funnel_definition_leads", lang, period=fmt_period(scope.start, scope.end, lang),
        as_of=fmt_date(view.funnel.as_of, lang), stages=stages, n=fmt_int(view.loyal_min, lang))
    if view.sources:
        text += " " + t("funnel_sources_kept", lang, sources=sep(lang).join(md_literal(s) for s in view.sources))
    return text


def mapping(view: FunnelView, lang: str) -> None:
    """The names nothing maps as a warning ("N leads at stages nothing maps: 'xxx' (n)"), the implied stages in a
    caption, and every stage name's meaning in an expander."""
    facts = view.leads
    if facts is None:
        return
    if len(facts.unmapped):
        names = sep(lang).join(t("funnel_unmapped_name", lang, name=md_literal(str(r.name)), n=fmt_int(r.rows, lang))
                               for r in facts.unmapped.itertuples())
        st.warning(t("funnel_unmapped", lang, n=fmt_int(facts.unmapped_leads, lang), names=names),
                   icon=":material/help:")
        where_to_map(lang)
    if facts.implied:
        stages = sep(lang).join(t("funnel_implied_stage", lang, stage=stage_label(k, lang), n=fmt_int(n, lang))
                                for k, n in facts.implied.items())
        st.caption(t("funnel_implied", lang, stages=stages))
    with st.expander(t("funnel_mapping_title", lang, n=fmt_int(len(facts.mapping), lang))):
        st.caption(t("funnel_mapping_caption", lang))
        frame = facts.mapping.assign(key=[stage_label(k, lang) for k in facts.mapping["key"]],
                                     how=[t(f"funnel_mapping_how_{h}" if isinstance(h, str) else
                                            "funnel_mapping_how_none", lang) for h in facts.mapping["how"]])
        shown = frame[["name", "key", "how", "rows"]].rename(columns=lambda c: t(f"funnel_mapping_col_{c}", lang))
        st.dataframe(shown, hide_index=True, width="stretch")
        widgets.download_buttons(shown, t("funnel_mapping_download", lang), lang, key="funnel_mapping_download")


def where_to_map(lang: str) -> None:
    """Where the unmapped names are mapped: for an admin, a link to the Data page's Settings tab (the page opens on
    it: :func:`ui.page_options.take_tab`); for anyone else, that an admin can map them there."""
    access = session.current()
    where = {"page": t(pages.get(DATA_PAGE).title, lang), "tab": t("data_tab_settings", lang)}
    if access is not None and access.can_change_settings:
        st.page_link(pages.get(DATA_PAGE).script, label=t("funnel_unmapped_map_link", lang, **where),
                     icon=":material/tune:", query_params=page_options.carried() | {page_options.TAB: "settings"})
    else:
        st.caption(t("funnel_unmapped_ask_admin", lang, **where))


def stuck_rows(view: FunnelView, lang: str, label: Callable[[str, object, str], str]) -> pd.DataFrame:
    """The stuck leads as the page lists them (names in the language, missing groups said), longest waiting first,
    with ``customer_id`` (None: no customer)."""
    frame = view.funnel.stuck
    days = [None if pd.isna(d) else pd.Timestamp(d).date() for d in frame["day"]]
    created = [None if pd.isna(d) else pd.Timestamp(d).date() for d in frame["entered"]]
    return pd.DataFrame({
        "lead_id": frame["member_id"].astype(str), "stage": [stage_label(k, lang) for k in frame["stage"]],
        "next_stage": [stage_label(k, lang) for k in frame["next_stage"]], "day": days,
        "days_in_stage": frame["days_in_stage"], "threshold": frame["threshold"], "created": created,
        "sales_rep": [label("sales_rep", v, lang) for v in frame["sales_rep"]],
        "lead_region": [label("region", v, lang) for v in frame["region"]],
        "lead_source": [label("source", v, lang) for v in frame["source"]],
        "customer_id": frame["customer_id"].to_numpy(dtype=object)})


def stuck(view: FunnelView, lang: str, label: Callable[[str, object, str], str], caption: str) -> None:
    """The stuck leads with their rep, longest waiting first; a column opening the lead's customer only when a lead
    has one; all of them in the downloads."""
    st.subheader(t("funnel_stuck_title_leads", lang))
    st.caption(caption)
    if view.funnel.stuck.empty:
        st.info(t("funnel_stuck_none_leads", lang))
        return
    rows = stuck_rows(view, lang, label)
    linked = rows["customer_id"].notna().any()
    columns = [STUCK_COLUMNS[0], *(("customer_id",) if linked else ()), *STUCK_COLUMNS[1:]]
    shown, config = widgets.named_columns(rows[columns], "funnel_col_", lang, "CNY", frozenset(), frozenset())
    st.caption(t("funnel_stuck_count_leads", lang, n=fmt_int(len(rows), lang)))
    table = shown.head(customer_links.SHOWN).copy()
    if linked:
        link = t("col_customer_detail", lang)
        urls = page_options.page_urls(customer_links.DETAIL_PAGE, "customer",
                                      (str(c) for c in rows["customer_id"].head(len(table)).fillna("")))
        table.insert(1, link, [u if c is not None and not is_missing(c) else None  # (beside the lead id)
                               for u, c in zip(urls, rows["customer_id"].head(len(table)), strict=True)])
        config[link] = st.column_config.LinkColumn(link, display_text=t("open_customer", lang), width="small")
    st.dataframe(table, key="funnel_stuck", hide_index=True, width="stretch", column_config=config,
                 height=380 if len(rows) > 10 else "auto", placeholder="–")  # (a lead without a customer: not "None")
    widgets.download_buttons(shown, t("funnel_stuck_download_leads", lang), lang, key="funnel_stuck_download")
