"""Funnel: how far the customers who entered in the period got, stage by stage — which funnel and its definitions
on show and adjustable, the funnel with both percentages and intervals, the comparison period, each step by group,
the biggest leak in a sentence, the days between stages and the customers stuck at a stage."""

import streamlit as st

from ui import frame, loaders, page_options
from ui import funnel_sections as sections
from ui.dates import fmt_date, fmt_period
from ui.formats import fmt_int
from ui.i18n import t

run, values, refused, version, stored = frame.enter_with_options("funnel")
lang, scope, page = run.lang, run.scope, run.page

# ---------------------------------------------------------------- 1. title; 2. which funnel, its definitions
st.title(t("nav_funnel", lang))
caption = st.container()
options = sections.settings(page, lang, values, refused)
with st.spinner(t("funnel_loading", lang)):
    view = loaders.load_view("funnel", scope.cache_key(), version, page_options.cache_key(options))
sections.definition(view, lang)
period = fmt_period(scope.start, scope.end, lang)
if view.empty:
    caption.caption(sections.kt("funnel_caption_empty", view, lang, period=period))
    st.info(sections.kt("funnel_nothing", view, lang))
    st.stop()
caption.caption(sections.kt("funnel_caption", view, lang, n=fmt_int(view.members, lang), period=period,
                  as_of=fmt_date(view.funnel.as_of, lang)))
if view.tiny:
    st.warning(sections.kt("funnel_tiny", view, lang, n=fmt_int(view.members, lang),
                           min=fmt_int(sections.SMALL_START, lang)), icon=":material/warning:")
comparison = scope.comparison()
compare_label = fmt_period(comparison.start, comparison.end, lang) if comparison else None

# ---------------------------------------------------------------- 3. key figures and the biggest leak
sections.tiles(view, lang, compare_label)
leak = sections.leak_sentence(view, lang)
if leak:
    st.warning(leak, icon=":material/water_drop:")

# ---------------------------------------------------------------- 4. the funnel; 5. by group; 6. times; 7. stuck
sections.stages(view, lang, compare_label)
sections.groups(view, lang)
sections.times(view, lang)
sections.stuck(view, lang, lambda rows: loaders.customer_names(scope.cache_key(), rows))
sections.definitions(view, lang)
