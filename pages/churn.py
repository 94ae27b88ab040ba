"""Churn & retention: who leaves, when, why, and who comes back — churn with its definition on show and
adjustable, cohorts, survival curves, what goes with leaving sooner, the customers at risk and those won back."""

from dataclasses import replace
from datetime import timedelta

import streamlit as st

from ui import churn_sections as sections
from ui import frame, loaders, page_options, widgets
from ui.dates import fmt_date
from ui.figures import churn as figures
from ui.figures.value import group_name
from ui.formats import fmt_int, fmt_money, fmt_pct
from ui.i18n import t

CHART = {"displayModeBar": False}

run, values, refused, version, stored = frame.enter_with_options("churn")
lang, scope, page = run.lang, run.scope, run.page
currency = stored["currency"]
last_day = scope.end_exclusive - timedelta(days=1)
if values.get("as_of") is not None and not scope.start <= values["as_of"] <= last_day:
    refused.append("as_of")  # a link's day outside the chosen period
    del values["as_of"]


# ---------------------------------------------------------------- 1. title; 2. the definition, adjustable
st.title(t("nav_churn", lang))
caption = st.container()
page_options.warn_refused(refused, lang, "churn")
page_options.seed("churn_window_days", values.get("window_days"))
page_options.seed("churn_as_of", values.get("as_of"))
if st.session_state["churn_as_of"] is not None and not scope.start <= st.session_state["churn_as_of"] <= last_day:
    st.session_state["churn_as_of"] = None  # the period changed under it
window_option = page.option("window_days")
with st.expander(t("churn_settings_title", lang), expanded=bool(values or refused)):
    c1, c2 = st.columns(2)
    window_in = c1.number_input(t("churn_setting_window_days", lang), min_value=window_option.low,
                                max_value=window_option.high, value=None, step=30, key="churn_window_days",
                                placeholder=t("churn_window_placeholder", lang),
                                help=t("churn_setting_window_days_help", lang))
    as_of_in = c2.date_input(t("churn_setting_as_of", lang), value=None, min_value=scope.start, max_value=last_day,
                             key="churn_as_of", help=t("churn_setting_as_of_help", lang))
chosen = {"window_days": None if window_in is None else int(window_in), "as_of": as_of_in}
for name, value in chosen.items():
    page_options.put(page, name, value)
options = {k: v for k, v in chosen.items() if v is not None}
with st.spinner(t("churn_loading", lang)):
    view = loaders.load_churn_fast(scope.cache_key(), version, page_options.cache_key(options))
d = view.definition
if view.empty:
    caption.caption(t("churn_caption_empty", lang))
    st.info(t("churn_no_customers", lang))
    st.stop()
caption.caption(t("churn_caption", lang, window=fmt_int(d.window, lang), date=fmt_date(d.as_of, lang),
                  customers=fmt_int(view.n_customers, lang)))
rule = t(f"churn_window_source_{d.window_source}", lang, window=fmt_int(d.default_window, lang),
         share=fmt_pct(d.gap_share, lang, 0))
st.info(t("churn_definition", lang, window=fmt_int(d.window, lang), date=fmt_date(d.as_of, lang)) + " " + rule,
        icon=":material/rule:")

# ---------------------------------------------------------------- 3. key figures
churned_rate, compare_rate = view.period_rate, view.comparison_rate
months = view.monthly
won = int(months["won_back"].sum())
tiles = [("churn_kpi_rate", fmt_pct(churned_rate[2], lang) if churned_rate[1] else "–",
          sections.rate_note(churned_rate, compare_rate, lang)),
         ("churn_kpi_active", fmt_int(view.active, lang),
          t("churn_kpi_active_note", lang, churned=fmt_int(view.churned, lang), n=fmt_int(view.n_customers, lang))),
         ("churn_kpi_won_back", fmt_int(won, lang),
          t("churn_kpi_won_back_note", lang, revenue=fmt_money(float(months["won_back_revenue"].sum()), lang, currency,
                                                               compact=True))),
         ("churn_kpi_new", fmt_int(int(months["new_customers"].sum()), lang), t("churn_kpi_new_note", lang))]
for i in range(0, len(tiles), 2):
    for col, (key, shown, note) in zip(st.columns(2), tiles[i:i + 2], strict=True):
        with col, st.container(border=True, height="stretch"):
            st.metric(t(key, lang), shown, help=t(f"{key}_help", lang))
            st.caption(note)

# ---------------------------------------------------------------- 4. churn by month; the window's effect
st.subheader(t("churn_monthly_title", lang))
st.caption(t("churn_monthly_caption", lang))
st.plotly_chart(figures.churn_rate_line(months, view.comparison_monthly, lang), config=CHART)
if months["provisional"].any():
    st.caption(t("churn_provisional_note", lang))
widgets.table_with_downloads(sections.monthly_table(months, lang), t("churn_monthly_title", lang), lang,
                             key="churn_monthly", column_config=sections.percent_config(
                                 lang, "churn_rate", "churn_low", "churn_high"))
st.subheader(t("churn_window_title", lang))
st.caption(t("churn_window_caption", lang, window=fmt_int(d.window, lang)))
st.plotly_chart(figures.window_sensitivity_line(view.sensitivity, lang), config=CHART)

# ---------------------------------------------------------------- 5. by group (tiers: ranked when asked for)
st.subheader(t("churn_groups_title", lang))
grouping = st.radio(t("churn_group_by", lang), [*view.by_group, "tier"], key="churn_group_by", horizontal=True,
                    format_func=lambda g: t(f"churn_group_{g}", lang))
st.caption(t("churn_groups_caption", lang))
if grouping == "tier":
    st.caption(t("churn_tier_note", lang))
    split = sections.tier_split(view, version, lang)
frame_g = split.rates if grouping == "tier" else view.by_group[grouping]
st.plotly_chart(figures.group_churn_bar(frame_g, grouping, lang), config=CHART)
shown = frame_g.assign(group=[group_name(grouping, g, lang) for g in frame_g["group"]],
                       moved=[t(f"churn_moved_{m}", lang) if m in ("up", "down") else "" for m in frame_g["moved"]],
                       small=[t("churn_small", lang) if s else "" for s in frame_g["small"]])
widgets.table_with_downloads(
    sections.named(shown, lang),
    f"{t('churn_groups_title', lang)} {t(f'churn_group_{grouping}', lang)}", lang, key="churn_groups",
    column_config=sections.percent_config(lang, "rate", "low", "high", "compare_rate", "compare_low",
                                          "compare_high"))

sections.cohorts(view, lang)
sections.survival(view, lang, version)
with st.spinner(t("churn_drivers_loading", lang)):
    cox, cox_problem, cox_customers, cox_population = loaders.load_churn_drivers(view.scope.cache_key(), version,
                                                                                 d.window, d.as_of)
sections.drivers(replace(view, cox=cox, cox_problem=cox_problem, cox_customers=cox_customers,
                         cox_population=cox_population), lang)

# ---------------------------------------------------------------- 9. at risk; 10. won back (the value models: last)
risk_slot, back_slot = st.container(), st.container()
with st.expander(t("churn_definitions_title", lang)):
    st.markdown(t("churn_definitions_body", lang))
with risk_slot, st.spinner(t("churn_at_risk_loading", lang)):
    risk = loaders.load_churn_at_risk(view.scope.cache_key(), version, d.window, d.as_of)
with risk_slot:
    sections.at_risk(risk, lang, currency)
with back_slot:
    sections.win_back(view, risk, lang, currency, lambda rows: loaders.customer_names(view.scope.cache_key(), rows))
