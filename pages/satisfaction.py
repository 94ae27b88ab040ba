"""Satisfaction & loyalty: how satisfied customers say they are (CSAT, NPS and the mean score, per month with their
trend and season, per group), how loyal they are by what they do, and the gap between the two — satisfied beside
loyal per group, the four quadrants with their customers, and how the chance of buying again rises with the score."""

import streamlit as st

from ui import frame, loaders, page_options
from ui import satisfaction_gap_sections as gap_sections
from ui import satisfaction_sections as sections
from ui.dates import fmt_period
from ui.formats import fmt_int
from ui.i18n import t

run, values, refused, version, stored = frame.enter_with_options("satisfaction")
lang, scope, page = run.lang, run.scope, run.page
currency = stored["currency"]

# ---------------------------------------------------------------- 1. title; 2. the definitions, loyalty adjustable
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
    st.info(t("satisfaction_no_responses", lang))
    st.stop()
s = view.satisfaction
caption.caption(t("satisfaction_caption", lang, csat=fmt_int(s.period["csat"].n, lang),
                  nps=fmt_int(s.period["nps"].n, lang), period=period,
                  surveyed=fmt_int(int(view.gap.overall["n"].iloc[0]), lang)))
comparison = scope.comparison()

# ---------------------------------------------------------------- 3. key figures; 4. by month; 5. trend; 6. by group
sections.tiles(view, lang, fmt_period(comparison.start, comparison.end, lang) if comparison else None)
sections.monthly(view, lang)
sections.trend(view, lang)
sections.groups(view, lang)

# ---------------------------------------------------------------- 7. the gap; 8. the quadrants; 9. the curve
gap_sections.gap(view, lang)
gap_sections.quadrants(view, lang, currency, lambda quadrant: loaders.load_satisfaction_quadrant(
    scope.cache_key(), version, query, quadrant))
gap_sections.retention(view, lang)

# ---------------------------------------------------------------- 10. complaints; 11. loyalty (behaviour)
# (their analytics, analytics/metrics/complaints.py and loyalty.py, are not written yet: their sections go here,
# drawn from view.complaints and view.loyalty)

sections.definitions(view, lang)
