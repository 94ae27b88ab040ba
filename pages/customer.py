"""Customer detail: one customer as of the end of the selected period, found by id, the start of an
id or part of a name (``?customer=...`` in the address, so any customer table links here).

Everything comes through the gate (:func:`analytics.metrics.customer.customer_detail`): a customer
the user may not see is "not found", in the same words as one that does not exist.
"""

from datetime import timedelta

import streamlit as st

from ui import frame, loaders, page_options, widgets
from ui.customer_links import customer_table
from ui.dates import fmt_date
from ui.figures import customer as figures
from ui.formats import fmt_int, fmt_money, fmt_number, fmt_pct, is_missing
from ui.i18n import md_literal, t

#: The search box's key, and the address value it last took over (a link or a table row changes the
#: address, and the box follows it; typing changes the box, and the address follows it).
SEARCH, SEEN = "customer_search", "_customer_search_url"

run = frame.enter("customer")
lang, scope = run.lang, run.scope
page_options.tidy(run.page)
values, refused = page_options.read(run.page)

st.title(t("nav_customer", lang))
if refused:
    st.warning(t("customer_refused", lang))
from_url = values.get("customer") or ""
if SEARCH not in st.session_state or st.session_state.get(SEEN) != from_url:
    st.session_state[SEARCH] = from_url
    st.session_state[SEEN] = from_url
query = (st.text_input(t("customer_search", lang), key=SEARCH, max_chars=200, type="search",
                       placeholder=t("customer_search_placeholder", lang),
                       help=t("customer_search_help", lang)) or "").strip()
if query != from_url:
    page_options.put(run.page, "customer", query or None)
    st.session_state[SEEN] = query
if not query:
    st.info(t("customer_intro", lang))
    st.stop()

version = loaders.data_version()
currency = loaders.load_settings(version)["currency"]
view = loaders.load_view("customer", scope.cache_key(), version, page_options.cache_key({"customer": query}))

if view.customer_id is None:
    if view.matches.empty:
        # the same words whether the id does not exist or is outside the user's regions
        st.info(t("customer_not_found", lang, query=md_literal(query)))
        st.stop()
    st.caption(figures.matches_caption(view.matches, md_literal(query), lang))
    matches = view.matches.rename(columns={"customer_id": t("customer_col_id", lang),
                                           "customer_name": t("customer_col_name", lang),
                                           "home_region": t("customer_col_home_region", lang),
                                           "revenue": t("customer_col_revenue", lang)})
    customer_table(matches, lang, key="customer_matches", id_column=t("customer_col_id", lang),
                   download_stem=t("customer_download_matches", lang),
                   column_config={t("customer_col_revenue", lang): st.column_config.NumberColumn(format="localized")})
    st.stop()


def money(x: float | None) -> str:
    return fmt_money(x, lang, currency)


def present(row: dict | None, name: str) -> bool:
    return row is not None and name in row and not is_missing(row[name])


profile, value, as_of = view.profile, view.value, scope.end_exclusive - timedelta(days=1)
cid = md_literal(str(view.customer_id))

# who they are
st.header(md_literal(str(profile["customer_name"])) if present(profile, "customer_name") else cid)
who = [t("customer_id_line", lang, id=cid)]
if present(profile, "home_region"):
    who.append(t("customer_region_line", lang, region=md_literal(str(profile["home_region"]))))
if present(profile, "segment"):
    who.append(t("customer_segment_line", lang, segment=md_literal(str(profile["segment"]))))
place = " ".join(md_literal(str(profile[c])) for c in ("province", "city") if present(profile, c))
st.caption(" · ".join(who + ([place] if place else [])))
acquired = []
if present(profile, "acquired_date"):
    acquired.append(t("customer_acquired_line", lang, date=fmt_date(profile["acquired_date"], lang)))
if present(profile, "acquisition_channel"):
    acquired.append(t("customer_acquired_channel", lang, channel=md_literal(str(profile["acquisition_channel"]))))
if present(profile, "acquisition_cost"):
    acquired.append(t("customer_acquisition_cost", lang, cost=money(profile["acquisition_cost"])))
if acquired:
    st.caption(" · ".join(acquired))
st.caption(t("customer_as_of", lang, date=fmt_date(as_of, lang)))

# what they bought up to the period's end
st.subheader(t("customer_purchases_title", lang))
if not profile["purchase_days"] and not profile["orders"]:
    st.info(t("customer_no_purchases", lang, date=fmt_date(as_of, lang)))
else:
    c1, c2, c3 = st.columns(3)
    c1.metric(t("customer_revenue", lang), money(profile["revenue"]), border=True)
    c2.metric(t("customer_orders", lang), fmt_int(profile["orders"], lang), border=True)
    c3.metric(t("customer_purchase_days", lang), fmt_int(profile["purchase_days"], lang), border=True)
    st.caption(t("customer_dates_line", lang, first=fmt_date(profile["first_order_date"], lang),
                 last=fmt_date(profile["last_order_date"], lang)))

# RFM and the models' outlook
if value is not None:
    st.subheader(t("customer_value_title", lang))
    if view.models_problem:
        st.warning(t("customer_models_problem", lang, reason=t(f"customer_problem_{view.models_problem}", lang)))
    c1, c2, c3 = st.columns(3)
    scores = " · ".join(f"{k.upper()}{fmt_int(value[k], lang)}" for k in ("r", "f", "m"))
    c1.metric(t("customer_rfm", lang), scores, delta=t(f"rfm_segment_{value['rfm_segment']}", lang),
              delta_color="off", delta_arrow="off", border=True)
    if present(value, "p_alive"):
        c2.metric(t("customer_p_alive", lang), fmt_pct(value["p_alive"], lang), border=True,
                  help=t("customer_p_alive_help", lang))
        c3.metric(t("customer_expected", lang, months=fmt_int(view.horizon_months, lang)),
                  fmt_number(value["expected_purchases"], lang), border=True, help=t("customer_expected_help", lang))
    st.caption(t("customer_rfm_line", lang, recency=fmt_int(value["recency_days"], lang),
                 frequency=fmt_int(value["frequency"], lang), monetary=money(value["monetary"])))
    c1, c2, c3 = st.columns(3)
    if present(value, "clv"):
        c1.metric(t("customer_clv", lang), money(value["clv"]), border=True,
                  delta=t("customer_clv_interval", lang, low=money(value["clv_low"]), high=money(value["clv_high"])),
                  delta_color="off", delta_arrow="off",
                  help=t("customer_clv_help", lang, months=fmt_int(view.horizon_months, lang)))
    c2.metric(t("customer_historical", lang), money(value["historical_value"]), border=True,
              help=t("customer_historical_help", lang))
    if present(value, "value_at_risk"):
        c3.metric(t("customer_at_risk", lang), money(value["value_at_risk"]), border=True,
                  help=t("customer_at_risk_help", lang))

# their months and latest transactions
if view.months is not None and len(view.months):
    st.subheader(t("customer_history_title", lang))
    st.plotly_chart(figures.purchase_history_bars(view.months, scope.end, lang, currency),
                    config={"displayModeBar": False})
    widgets.table_with_downloads(figures.months_table(view.months, scope.end, lang),
                                 t("customer_download_months", lang, id=view.customer_id), lang, key="customer_months")
if view.transactions is not None and len(view.transactions):
    st.subheader(t("customer_transactions_title", lang))
    st.caption(t("customer_transactions_caption", lang, shown=fmt_int(len(view.transactions), lang),
                 count=fmt_int(view.transaction_count, lang), date=fmt_date(as_of, lang)))
    listed = figures.transactions_table(view.transactions, lang)
    st.dataframe(figures.blank_missing(listed, lang), hide_index=True, width="stretch", height=320, column_config={
        t("customer_col_amount", lang): st.column_config.NumberColumn(format="localized")})
    widgets.download_buttons(listed, t("customer_download_transactions", lang, id=view.customer_id), lang,
                             key="customer_transactions")

# what they told us
if view.feedback is not None:
    st.subheader(t("customer_feedback_title", lang))
    summary = figures.feedback_summary(view.feedback)
    st.caption(t("customer_feedback_caption", lang, surveys=fmt_int(summary["surveys"], lang),
                 complaints=fmt_int(summary["complaints"], lang), open=fmt_int(summary["open"], lang),
                 days=fmt_number(summary["median_days"], lang, decimals=1)))
    notes = figures.feedback_table(view.feedback, lang)
    st.dataframe(figures.blank_missing(notes, lang), hide_index=True, width="stretch")
    widgets.download_buttons(notes, t("customer_download_feedback", lang, id=view.customer_id), lang,
                             key="customer_feedback")
