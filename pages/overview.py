"""Overview: how are we doing, what changed, where — for the period and filters chosen."""

import streamlit as st

from analytics import pages
from ui import frame, loaders, overview_funnel, widgets
from ui.dates import fmt_date, fmt_period
from ui.figures import overview as figures
from ui.figures import tiers as tier_figures
from ui.formats import fmt_number, fmt_pct
from ui.i18n import t
from ui.tiers_settings import tier_labels

run = frame.enter("overview")
lang, scope = run.lang, run.scope

version = loaders.data_version()
currency = loaders.load_settings(version)["currency"]
# everything but the average-CLV tile at once; that tile (which may fit the value models for
# new filters or new data: seconds on a large customer base) fills its slot when ready
view = loaders.load_overview_fast(scope.cache_key(), version)
comparison = view.comparison
period = fmt_period(scope.start, scope.end, lang)
comparison_label = fmt_period(comparison.start, comparison.end, lang) if comparison else None

st.title(t("overview_title", lang, period=period))
caption = t("overview_caption_compare", lang, period=comparison_label) if comparison else t("compare_none", lang)
if view.data_through:
    caption += " · " + t("data_through", lang, date=fmt_date(view.data_through, lang))
st.caption(caption)

if view.kpis["orders"].value == 0 and view.kpis["active_customers"].value == 0:
    st.info(t("no_data_in_scope", lang))
    st.stop()

current = view.trend[view.trend["period"] == "current"]
sparks = {"revenue": current["revenue"].tolist(), "orders": current["orders"].tolist(),
          "active_customers": current["active_customers"].tolist()} if len(current) > 1 else {}
slots = widgets.kpi_tiles(view.kpis, lang, currency, comparison_label, sparks, per_row=4, compare=scope.compare,
                          pending=("avg_clv", "churn_rate"))
highlight_slot = st.empty()


def draw_highlights(items: list) -> None:
    """The highlights, in one slot (the churn tile's follow when it is ready)."""
    if items:
        with highlight_slot.container():
            st.subheader(t("highlights_title", lang))
            st.markdown("\n".join(f"- {widgets.highlight_text(h, lang, currency)}" for h in items))


draw_highlights(view.highlights)

left, right = st.columns([3, 2])
with left:
    st.subheader(t("trend_title", lang))
    st.plotly_chart(figures.revenue_trend_line(view.trend, lang, currency), config={"displayModeBar": False})
    trend_table = view.trend.assign(period=[t(f"trend_{p}", lang) for p in view.trend["period"]])
    widgets.table_with_downloads(
        trend_table.rename(columns={c: t(f"col_{c}", lang) for c in trend_table.columns}),
        t("trend_title", lang), lang, key="trend")
with right:
    st.subheader(t("region_title", lang))
    st.plotly_chart(figures.revenue_by_region_bar(view.by_region, lang, currency), config={"displayModeBar": False})
    region_table = view.by_region.assign(region=[r or t("unknown_region", lang) for r in view.by_region["region"]])
    widgets.table_with_downloads(
        region_table.rename(columns={c: t(f"col_{c}", lang) for c in region_table.columns}),
        t("region_title", lang), lang, key="region",
        column_config={t("col_change", lang): st.column_config.NumberColumn(format="percent"),
                       t("col_share", lang): st.column_config.NumberColumn(format="percent")})

pyramid_slot, funnel_slot = st.columns(2, gap="medium")  # side by side on a laptop, one under the other on a phone
with st.expander(t("definitions_title", lang)):
    st.markdown(t("definitions_body", lang))

# then the churn tile (a window over every customer's months), and last the average CLV, so every other figure
# is on screen while the lifetime values are computed
churn = loaders.load_overview_churn(scope.cache_key(), version)
widgets.churn_tile(slots["churn_rate"], churn, lang, currency, comparison_label, scope.compare)
draw_highlights(view.highlights + churn.highlights)
with pyramid_slot:  # the pyramid in miniature (a window over the period's customers), then the CLV tile
    st.subheader(t("overview_pyramid_title", lang))
    pyramid = loaders.load_overview_tiers(scope.cache_key(), version)
    if pyramid.customers:
        c = pyramid.concentration
        st.caption(t("overview_pyramid_caption", lang, top=fmt_pct(c.top_share, lang),
                     gini=fmt_number(c.gini, lang, 2)))
        st.plotly_chart(tier_figures.tier_pyramid(pyramid.table, tier_labels(pyramid.spec.names, lang), lang,
                                                  currency), config={"displayModeBar": False})
    else:
        st.caption(t("overview_pyramid_empty", lang))
    st.page_link(pages.get("tiers").script, label=t("overview_pyramid_link", lang), icon=":material/change_history:")
draw_highlights(view.highlights + churn.highlights + loaders.load_overview_tier_churn(scope.cache_key(), version))
with funnel_slot:  # the funnel in miniature: the funnel page's figures (nothing when nobody entered the funnel)
    overview_funnel.mini_funnel(loaders.load_overview_funnel(scope.cache_key(), version), scope, lang, comparison_label)
clv = loaders.load_average_clv(scope.cache_key(), version)
widgets.average_clv_tile(slots["avg_clv"], clv, lang, currency, comparison_label, scope.compare)
