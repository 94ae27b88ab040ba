"""Satisfaction & loyalty: how satisfied customers say they are (CSAT, NPS and the mean score, per month with their
trend and season, per group), the gap between satisfied and loyal (per group, the four quadrants with their
customers, how the chance of buying again rises with the score), complaints and how they are handled, and what
customers do: repeat purchases, the share loyal, frequency and tenure."""

import streamlit as st

from ui import frame, loaders, page_options
from ui import satisfaction_complaints_sections as complaints
from ui import satisfaction_gap_sections as gap_sections
from ui import satisfaction_loyalty_sections as loyalty
from ui import satisfaction_sections as sections
from ui.dates import fmt_period
from ui.formats import fmt_int
from ui.i18n import t

run, values, refused, version, stored = frame.enter_with_options("satisfaction")
lang, scope, page = run.lang, run.scope, run.page
currency = stored["currency"]

# ---------------------------------------------------------------- 1. title; 2. the definitions, adjustable
st.title(t("nav_satisfaction", lang))
caption = st.container()
options = sections.settings(page, lang, values, refused)
query = page_options.cache_key(options)
with st.spinner(t("satisfaction_loading", lang)):
    view = loaders.load_view("satisfaction", scope.cache_key(), version, query)
st.info(sections.definition(view, lang), icon=":material/rule:")
if scope.channels:
    st.caption(t("satisfaction_channel_ignored", lang))
period = fmt_period(scope.start, scope.end, lang)
if view.empty:
    caption.caption(t("satisfaction_caption_empty", lang, period=period))
    st.info(t("satisfaction_nothing", lang))
    st.stop()
comparison = scope.comparison()
compare_label = fmt_period(comparison.start, comparison.end, lang) if comparison else None

# ---------------------------------------------------------------- 3-6. surveys: key figures, by month, trend, groups
# ---------------------------------------------------------------- 7-9. the gap, the quadrants, the retention curve
if view.no_responses:
    caption.caption(t("satisfaction_caption_no_responses", lang, period=period))
    st.info(t("satisfaction_no_responses", lang))
else:
    s = view.satisfaction
    caption.caption(t("satisfaction_caption", lang, csat=fmt_int(s.period["csat"].n, lang),
                      nps=fmt_int(s.period["nps"].n, lang), period=period,
                      surveyed=fmt_int(int(view.gap.overall["n"].iloc[0]), lang)))
    sections.tiles(view, lang, compare_label)
    sections.monthly(view, lang)
    sections.trend(view, lang)
    sections.groups(view, lang)
    gap_sections.gap(view, lang)
    gap_sections.quadrants(view, lang, currency, lambda quadrant: loaders.load_satisfaction_quadrant(
        scope.cache_key(), version, query, quadrant))
    gap_sections.retention(view, lang)

# ---------------------------------------------------------------- 10. complaints; 11. loyalty (behaviour)
complaints.complaints(view.complaints, lang, compare_label, lambda rows: loaders.customer_names(scope.cache_key(),
                                                                                                  rows))
loyalty.loyalty(view.loyalty, lang, compare_label)
sections.definitions(view, lang)
