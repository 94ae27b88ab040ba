"""Customer value: who are our valuable customers, who is quietly slipping away, what is the
customer base worth — RFM segments, the purchase and spend models, lifetime value with its
interval, and how well the models predicted a held-out stretch of the data."""

import pandas as pd
import streamlit as st

from ui import customer_links, frame, loaders, page_options, widgets
from ui.dates import fmt_date, fmt_month
from ui.figures import value as figures
from ui.formats import currency_symbol, fmt_int, fmt_money, fmt_number, fmt_pct
from ui.i18n import md_literal, t

CHART = {"displayModeBar": False}
#: Customers listed by CLV and by value at risk.
TOP = 100
#: The columns of each customer list, most telling first (a phone shows the first few).
# (after the id, the list's own figure: on a phone the id, the figure and the start of the name show)
SEGMENT_COLUMNS = ("customer_id", "revenue", "customer_name", "home_region", "recency_days", "frequency", "monetary",
                   "r", "f", "m", "clv", "p_alive", "segment")
TOP_COLUMNS = ("customer_id", "clv", "customer_name", "clv_low", "clv_high", "p_alive", "expected_purchases",
               "historical_value", "future_value", "home_region", "segment", "rfm_segment", "recency_days", "frequency",
               "monetary", "revenue")
RISK_COLUMNS = ("customer_id", "value_at_risk", "customer_name", "p_alive", "recency_days", "frequency",
                "future_value", "clv", "home_region", "segment", "rfm_segment", "monetary", "revenue")
MONEY = frozenset({"revenue", "monetary", "historical_value", "future_value", "clv", "clv_low", "clv_high",
                   "value_at_risk", "future", "future_low", "future_high", "clv_per_customer"})
SHARES = frozenset({"p_alive", "customer_share", "revenue_share"})

run, values, refused, version, stored = frame.enter_with_options("value")
lang, scope, page = run.lang, run.scope, run.page
currency = stored["currency"]


def table(df: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """``df`` with translated column names, segment names and missing regions named, and its column config."""
    shown = df.copy()
    for grouping in ("home_region", "segment", "rfm_segment"):
        if grouping in shown:
            shown[grouping] = [figures.group_name(grouping, v, lang) for v in shown[grouping]]
    config = {}
    for column in shown.columns:
        if column in MONEY:
            config[t(f"value_col_{column}", lang)] = st.column_config.NumberColumn(
                format=f"{currency_symbol(currency)}%,.0f")
        elif column in SHARES:
            config[t(f"value_col_{column}", lang)] = st.column_config.NumberColumn(format="percent")
        elif column == "expected_purchases":
            config[t(f"value_col_{column}", lang)] = st.column_config.NumberColumn(format="%.2f")
    return shown.rename(columns={c: t(f"value_col_{c}", lang) for c in shown.columns}), config


def customers_table(df: pd.DataFrame, columns: tuple[str, ...], key: str, stem: str,
                    whole: pd.DataFrame | None = None) -> None:
    """A customer list (``columns`` of ``df``, those it has) that opens the customer detail, with its downloads
    (of ``whole`` when ``df`` is the start of a longer list)."""
    picked = [c for c in columns if c in df]
    shown, config = table(df[picked])
    customer_links.customer_table(shown, lang, key, id_column=t("value_col_customer_id", lang), column_config=config,
                                  download_stem=stem, height=380,
                                  whole=None if whole is None else lambda: table(whole[picked])[0])


# ---------------------------------------------------------------- 1. title; 2. settings
st.title(t("nav_value", lang))
caption = st.container()
page_options.warn_refused(refused, lang, "value")

# the holdout may start 3 months after the first month with data (the models need a history before it)
span = loaders.load_data_months(run.access.allowed_regions, version)
earliest = pd.Timestamp(span[0] if span else scope.start) + pd.DateOffset(months=3)
months = [None, *(m.date() for m in pd.date_range(earliest, pd.Timestamp(scope.end), freq="MS"))]
if values.get("holdout_from") is not None and values["holdout_from"] not in months:
    months.insert(1, values["holdout_from"])  # the link's month, outside the data: the check says why
horizon_option = page.option("horizon_months")
page_options.seed("value_horizon_months", values.get("horizon_months", horizon_option.default))
page_options.seed("value_discount_rate", round(100 * values.get("discount_rate", stored["discount_rate"]), 4))
page_options.seed("value_holdout_from", values.get("holdout_from"))
page_options.seed("value_margin", None if values.get("margin") is None else round(100 * values["margin"], 4))
if st.session_state["value_holdout_from"] not in months:
    st.session_state["value_holdout_from"] = None

with st.expander(t("value_settings_title", lang), expanded=bool(values or refused)):
    c1, c2, c3, c4 = st.columns(4)
    horizon = c1.number_input(t("value_setting_horizon_months", lang), min_value=horizon_option.low,
                              max_value=horizon_option.high, step=1, key="value_horizon_months",
                              help=t("value_setting_horizon_months_help", lang))
    discount = c2.number_input(t("value_setting_discount_rate", lang), min_value=0.0, max_value=50.0, step=0.5,
                               format="%.1f", key="value_discount_rate",
                               help=t("value_setting_discount_rate_help", lang,
                                      rate=fmt_pct(stored["discount_rate"], lang)))
    holdout = c3.selectbox(t("value_setting_holdout_from", lang), months, key="value_holdout_from",
                           format_func=lambda m: t("value_holdout_auto", lang) if m is None else fmt_month(m, lang),
                           help=t("value_setting_holdout_from_help", lang))
    margin = c4.number_input(t("value_setting_margin", lang), min_value=-100.0, max_value=100.0, value=None,
                             step=1.0, format="%.1f", key="value_margin",
                             placeholder=t("value_setting_margin_placeholder", lang),
                             help=t("value_setting_margin_help", lang))

rate = round(discount / 100, 6)
chosen = {"horizon_months": int(horizon), "discount_rate": None if rate == stored["discount_rate"] else rate,
          "holdout_from": holdout, "margin": None if margin is None else round(margin / 100, 6)}
for name, value in chosen.items():
    page_options.put(page, name, value)
options = {k: v for k, v in chosen.items() if v is not None and v != page.option(k).default}
# a spinner only when it takes a while (st.spinner shows after a delay): a cached rerun never sees it
with st.spinner(t("value_loading", lang)):
    view = loaders.load_view("value", scope.cache_key(), version, page_options.cache_key(options))
fits = view.fits

margin_text = t(f"value_caption_margin_{view.margin_source}", lang, margin=fmt_pct(view.margin, lang))
caption_text = t("value_caption", lang, date=fmt_date(view.as_of, lang), customers=fmt_int(view.n_customers, lang),
                 repeaters=fmt_int(fits.n_repeaters, lang), horizon=fmt_int(view.horizon_months, lang),
                 discount=fmt_pct(view.discount_rate, lang), margin=margin_text)
if view.acquisition_customers:
    caption_text += " · " + t("value_caption_acquisition", lang, n=fmt_int(view.acquisition_customers, lang))
caption.caption(caption_text)
if view.n_customers == 0:
    st.info(t("value_no_customers", lang))
    st.stop()

# ---------------------------------------------------------------- 3. key figures
st.subheader(t("value_key_title", lang))
customers = view.customers
if view.total is None:
    st.warning(t(f"value_problem_{fits.problem}", lang), icon=":material/warning:")
    if fits.detail:
        st.caption(t("value_problem_detail", lang, detail=md_literal(fits.detail)))
else:
    n = view.n_customers

    def money(x: float) -> str:
        return fmt_money(x, lang, currency, compact=True)

    def interval(low: float, high: float, compact: bool = True) -> str:
        """The 90 % interval; in full when its ends would print alike in short form (a narrow interval)."""
        short = compact and money(low) != money(high)
        return t("value_interval", lang, low=fmt_money(low, lang, currency, compact=short),
                 high=fmt_money(high, lang, currency, compact=short))

    total, future = view.total, view.total_future
    tiles = [("value_kpi_clv_total", {}, money(total.point), interval(total.low, total.high)),
             ("value_kpi_future", {"months": fmt_int(view.horizon_months, lang)}, money(future.point),
              interval(future.low, future.high)),
             ("value_kpi_clv_avg", {}, fmt_money(total.point / n, lang, currency),
              interval(total.low / n, total.high / n, compact=False)),
             ("value_kpi_customers", {}, fmt_int(n, lang),
              t("value_repeaters", lang, n=fmt_int(fits.n_repeaters, lang)))]
    for i in range(0, len(tiles), 2):
        for col, (key, words, shown, note) in zip(st.columns(2), tiles[i:i + 2], strict=True):
            with col, st.container(border=True, height="stretch"):
                st.metric(t(key, lang, **words), shown, help=t(f"{key}_help", lang))
                st.caption(note)
    st.caption(t("value_interval_note", lang))

# ---------------------------------------------------------------- 4. RFM
st.subheader(t("value_rfm_title", lang))
st.caption(t("value_rfm_rule", lang))
left, right = st.columns(2)
with left:
    st.markdown(f"**{t('value_rfm_shares_title', lang)}**")
    st.plotly_chart(figures.segment_share_bar(view.segments, lang), config=CHART)
with right:
    st.markdown(f"**{t('value_rfm_map_title', lang)}**")
    st.plotly_chart(figures.segment_map_heatmap(view.grid, lang), config=CHART)
segment_table, segment_config = table(view.segments[["rfm_segment", "customers", "customer_share", "revenue",
                                                     "revenue_share", "recency_days", "frequency", "monetary"]])
widgets.table_with_downloads(segment_table, t("value_rfm_table", lang), lang, key="value_segments",
                             column_config=segment_config)
present = [s for s, k in zip(view.segments["rfm_segment"], view.segments["customers"], strict=True) if k > 0]
counts = dict(zip(view.segments["rfm_segment"], view.segments["customers"], strict=True))
if st.session_state.get("value_rfm_segment") not in present:
    st.session_state["value_rfm_segment"] = present[0]
picked = st.selectbox(t("value_rfm_pick", lang), present, key="value_rfm_segment",
                      format_func=lambda s: t("value_rfm_pick_option", lang, name=figures.segment_name(s, lang),
                                              n=fmt_int(counts[s], lang)))
members = customers[customers["rfm_segment"] == picked]
members = members.sort_values(["clv" if "clv" in members else "revenue", "customer_id"], ascending=[False, True])
if len(members) > customer_links.SHOWN:
    st.caption(t("value_rfm_shown_clv" if "clv" in members else "value_rfm_shown_revenue", lang,
                 shown=fmt_int(customer_links.SHOWN, lang), n=fmt_int(len(members), lang)))
customers_table(members.head(customer_links.SHOWN), SEGMENT_COLUMNS, "value_segment_customers",
                f"{t('value_col_rfm_segment', lang)} {figures.segment_name(picked, lang)}", whole=members)

# ---------------------------------------------------------------- 5. models
st.subheader(t("value_models_title", lang))
st.caption(t("value_models_caption", lang))


def model_block(title: str, fit, names: tuple[str, ...]) -> None:
    st.markdown(f"**{title}**")
    rows = pd.DataFrame({t("value_col_parameter", lang): [{"alpha": "α", "gamma": "γ"}.get(p, p) for p in names],
                         t("value_col_estimate", lang): [fmt_number(getattr(fit, p), lang, 4) for p in names],
                         t("value_col_std_error", lang): [fmt_number(fit.std_errors[p], lang, 4) for p in names]})
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(t("value_model_fit", lang, ll=fmt_number(fit.log_likelihood, lang, 1),
                 n=fmt_int(fit.n_customers, lang),
                 status=t("value_converged" if fit.converged else "value_not_converged", lang)))


if fits.bgnbd is None and fits.gamma_gamma is None:
    st.info(t("value_models_none", lang))
else:
    left, right = st.columns(2)
    with left:
        if fits.bgnbd is not None:
            model_block(t("value_bgnbd_title", lang), fits.bgnbd, ("r", "alpha", "a", "b"))
    with right:
        if fits.gamma_gamma is not None:
            model_block(t("value_gg_title", lang), fits.gamma_gamma, ("p", "q", "gamma"))
check = fits.spend_check
if check is None:
    st.caption(t("value_spend_check_none", lang))
else:
    words = t("value_spend_check", lang, n=fmt_int(check.n, lang), r=fmt_number(check.pearson, lang, 2),
              low=fmt_number(check.pearson_ci[0], lang, 2), high=fmt_number(check.pearson_ci[1], lang, 2),
              rho=fmt_number(check.spearman, lang, 2))
    words += ("" if lang == "zh" else " ") + t(f"value_spend_verdict_{check.verdict}", lang)
    (st.warning if check.verdict == "material" else st.info)(words)

# ---------------------------------------------------------------- 6. CLV by group
if view.by_group:
    st.subheader(t("value_groups_title", lang))
    grouping = st.radio(t("value_group_by", lang), list(view.by_group), key="value_group_by", horizontal=True,
                        format_func=lambda g: t(f"value_group_{g}", lang))
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('value_groups_bar_title', lang)}**")
        st.plotly_chart(figures.clv_by_group_bar(view.by_group[grouping], grouping, lang, currency), config=CHART)
    with right:
        st.markdown(f"**{t('value_groups_box_title', lang)}**")
        st.plotly_chart(figures.clv_distribution_box(customers, grouping, lang, currency), config=CHART)
        st.caption(t("value_groups_box_note", lang))
    group_frame = view.by_group[grouping].rename(columns={"group": grouping})
    group_table, group_config = table(group_frame)
    widgets.table_with_downloads(group_table.rename(columns={t(f"value_col_{grouping}", lang):
                                                             t("value_col_group", lang)}),
                                 f"{t('value_groups_table', lang)} {t(f'value_group_{grouping}', lang)}", lang,
                                 key="value_groups", column_config=group_config)

# ---------------------------------------------------------------- 7. trust
st.subheader(t("value_holdout_title", lang))
holdout_view = view.holdout
if holdout_view is None:
    st.info(t(f"value_holdout_problem_{view.holdout_problem}", lang))
else:
    st.caption(t("value_holdout_caption", lang, start=fmt_month(holdout_view.cutoff, lang),
                 end=fmt_date(holdout_view.end, lang), months=fmt_int(holdout_view.months, lang)))
    left, right = st.columns([1, 2])
    with left, st.container(border=True):
        st.metric(t("value_holdout_error", lang), fmt_pct(holdout_view.error, lang),
                  help=t("value_holdout_error_help", lang))
        st.caption(t("value_holdout_totals", lang, predicted=fmt_int(holdout_view.predicted, lang),
                     actual=fmt_int(holdout_view.actual, lang)))
    with right:
        st.markdown(f"**{t('value_holdout_chart_title', lang)}**")
        st.plotly_chart(figures.holdout_bars(holdout_view.table, lang), config=CHART)
    check_table = holdout_view.table.assign(
        frequency=[figures.frequency_label(int(f), lang) for f in holdout_view.table["frequency"]])
    check_table = check_table.rename(columns={"frequency": "calibration_frequency"})
    widgets.table_with_downloads(check_table.rename(columns={c: t(f"value_col_{c}", lang) for c in check_table}),
                                 t("value_holdout_table", lang), lang, key="value_holdout")

# ---------------------------------------------------------------- 8. customer lists
st.subheader(t("value_top_title", lang))
if "clv" not in customers:
    st.info(t("value_lists_no_models", lang))
else:
    top = view.top_by_clv(TOP)
    st.caption(t("value_top_caption", lang, n=fmt_int(len(top), lang)))
    customers_table(top, TOP_COLUMNS, "value_top", t("value_top_title", lang))
    st.subheader(t("value_at_risk_title", lang))
    risky = view.at_risk(TOP)
    st.caption(t("value_at_risk_caption", lang, days=fmt_int(view.active_days, lang), n=fmt_int(len(risky), lang)))
    if risky.empty:
        st.info(t("value_at_risk_none", lang))
    else:
        customers_table(risky, RISK_COLUMNS, "value_at_risk", t("value_at_risk_title", lang))

# ---------------------------------------------------------------- 9. definitions
with st.expander(t("value_definitions_title", lang)):
    st.markdown(t("value_definitions_body", lang))
