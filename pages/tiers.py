"""Customer tiers: the customer pyramid (platinum / gold / iron / lead, or key / ordinary / small customers) by
revenue or margin, how concentrated the value is (is our 80/20 really 80/20?), the tier mix of each region, channel
and segment, how customers moved between tiers since the comparison period, and churn and lifetime value by tier."""

import streamlit as st

from ui import frame, loaders, page_options
from ui import tiers_sections as sections
from ui import tiers_settings as settings
from ui.dates import fmt_period
from ui.formats import fmt_int
from ui.i18n import t

run, values, refused, version, stored = frame.enter_with_options("tiers")
lang, scope, page = run.lang, run.scope, run.page
currency = stored["currency"]

# ---------------------------------------------------------------- 1. title; 2. the definition, adjustable
st.title(t("nav_tiers", lang))
caption = st.container()
definition = st.container()
costs = loaders.load_tiers_query("costs", scope.cache_key(), version)
options = settings.settings(page, lang, values, refused, stored["tier_cuts"], costs)
with st.spinner(t("tiers_loading", lang)):
    view = loaders.load_tiers_fast(scope.cache_key(), version, page_options.cache_key(options))
spec = view.spec
definition.info(settings.definition(spec.names, spec.cuts, spec.measure, lang), icon=":material/rule:")
if scope.channels:
    definition.caption(t("tiers_channel_ignored", lang))
period = fmt_period(scope.start, scope.end, lang)
if view.empty:
    caption.caption(t("tiers_caption_empty", lang, period=period))
    st.info(t("tiers_no_customers", lang))
    st.stop()
caption.caption(t("tiers_caption", lang, customers=fmt_int(view.customers, lang), period=period,
                  ranked=fmt_int(view.ranked, lang), measure=t(f"tiers_measure_{spec.measure}", lang)))
if view.no_cost:
    definition.caption(t("tiers_no_cost_note", lang, n=fmt_int(view.no_cost, lang)))
labels = settings.tier_labels(spec.names, lang)

# ---------------------------------------------------------------- 3. the pyramid; 4. concentration; 5. mix
sections.pyramid(view, labels, lang, currency)
sections.concentration(view, lang, currency)
sections.mix(view, labels, lang, currency)

# ---------------------------------------------------------------- 6. migration; 7. churn and value by tier
query = page_options.cache_key(options)
sections.migration(view, labels, lang, currency, lambda before, after: loaders.load_tiers_query(
    "cell", scope.cache_key(), version, query, (before, after)))
with st.spinner(t("tiers_churn_loading", lang)):
    churn = loaders.load_tiers_churn(scope.cache_key(), version, query)
sections.churned(churn, labels, lang, currency)
with st.spinner(t("tiers_clv_loading", lang)):
    clv = loaders.load_tiers_clv(scope.cache_key(), version, query)
sections.clv(clv, labels, lang, currency)
with st.expander(t("tiers_definitions_title", lang)):
    st.markdown(t("tiers_definitions_body", lang))
