"""The satisfaction & loyalty page's loyalty section (:class:`~analytics.metrics.loyalty.Loyalty`): what customers
do rather than say — the repeat-purchase rate, the share loyal, purchase frequency and tenure with their change, their
trend beside the comparison period, the customers by purchase days, the share loyal by tenure and by region or tier;
each chart with its table and downloads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from analytics.metrics.loyalty import Loyalty
from ui.dates import fmt_date, fmt_month
from ui.figures import satisfaction as figures
from ui.figures import satisfaction_behaviour as behaviour
from ui.figures.common import CURRENT
from ui.formats import fmt_delta_points, fmt_int, fmt_number
from ui.i18n import t
from ui.satisfaction_sections import BREAK, CHART, few_mark, group_label, show_table, signed, tile

#: The tiles: each figure, how it prints, and its interval's columns.
TILES = (("repeat_rate", "share", "repeat_low", "repeat_high"), ("loyal_share", "share", "loyal_low", "loyal_high"),
         ("frequency", "days", "frequency_low", "frequency_high"))


def key_figures(lo: Loyalty, lang: str, compare_label: str | None) -> None:
    p, b = lo.period, lo.comparison
    cols = st.columns(4)
    for col, (name, kind, low, high) in zip(cols, TILES, strict=False):
        caption = t("satisfaction_kpi_customers_note", lang, n=fmt_int(p["customers"], lang)) + " · " + figures.ci(
            p[low], p[high], kind, lang)
        delta = None
        if b is not None and compare_label and b["customers"]:
            caption += BREAK + t("kpi_previous_value", lang, period=compare_label, value=figures.shown(kind, b[name],
                                                                                                       lang))
            delta = fmt_delta_points(p[name] - b[name], lang) if kind == "share" else signed(p[name] - b[name], lang)
            if name == "loyal_share":
                caption += " · " + t(f"satisfaction_moved_{lo.moved or 'same'}", lang)
        with col:
            tile(t(f"satisfaction_kpi_{name}", lang, n=fmt_int(lo.min_days, lang)), figures.shown(kind, p[name], lang),
                 caption, t(f"satisfaction_kpi_{name}_help", lang, n=fmt_int(lo.min_days, lang)), lang, delta,
                 lo.scope.compare)
    tenure = lo.tenure
    with cols[3]:
        tile(t("satisfaction_kpi_tenure", lang), t("satisfaction_days", lang, n=fmt_number(tenure.median, lang, 0)),
             t("satisfaction_kpi_tenure_note", lang, q1=fmt_number(tenure.q1, lang, 0),
               q3=fmt_number(tenure.q3, lang, 0), date=fmt_date(lo.as_of, lang)),
             t("satisfaction_kpi_tenure_help", lang), lang)


def trend_table(lo: Loyalty, lang: str) -> pd.DataFrame:
    m = lo.trend
    table = m.assign(month=[fmt_month(x, lang) for x in m["month"]],
                     partial=[t("satisfaction_partial", lang) if f else "" for f in m["partial"]]).rename(
        columns={"loyal": "loyal_n", "repeat": "repeat_n"})
    if lo.comparison_trend is not None:
        other = lo.comparison_trend.iloc[:len(m)].reset_index(drop=True)
        table = table.assign(compare_month=[fmt_month(x, lang) for x in other["month"]],
                             compare_repeat_rate=other["repeat_rate"], compare_loyal_share=other["loyal_share"])
    return table


def loyalty(lo: Loyalty, lang: str, compare_label: str | None) -> None:
    st.subheader(t("satisfaction_loyalty_title", lang))
    if lo.empty:
        st.info(t("satisfaction_loyalty_none", lang))
        return
    st.caption(t("satisfaction_loyalty_caption", lang, n=fmt_int(lo.min_days, lang),
                 month=fmt_month(lo.scope.end, lang)))
    if lo.period["partial"]:
        st.caption(t("satisfaction_loyalty_partial", lang))
    key_figures(lo, lang, compare_label)
    left, right = st.columns(2)
    for col, (name, low, high) in ((left, ("loyal_share", "loyal_low", "loyal_high")),
                                   (right, ("repeat_rate", "repeat_low", "repeat_high"))):
        with col:
            st.markdown(f"**{t(f'satisfaction_loyalty_trend_{name}', lang, n=fmt_int(lo.min_days, lang))}**")
            st.plotly_chart(figures.series_line(
                lo.trend, lo.comparison_trend, (name, low, high), "share", t(f"satisfaction_fig_{name}", lang), lang,
                lambda r: t("satisfaction_kpi_customers_note", lang, n=fmt_int(r["customers"], lang)),
                color=figures.LOYAL_COLOR if name == "loyal_share" else CURRENT, open_flag="partial"), config=CHART)
    st.caption(t("satisfaction_loyalty_trend_caption", lang))
    show_table(trend_table(lo, lang), t("satisfaction_loyalty_title", lang), "satisfaction_loyalty_trend", lang)
    frequency(lo, lang)
    tenure(lo, lang)
    groups(lo, lang)


def frequency(lo: Loyalty, lang: str) -> None:
    st.markdown(f"**{t('satisfaction_frequency_title', lang)}**")
    st.caption(t("satisfaction_frequency_caption", lang, n=fmt_int(lo.min_days, lang),
                 month=fmt_month(lo.scope.end, lang)))
    st.plotly_chart(behaviour.frequency_bars(lo.frequency, lang), config=CHART)
    f = lo.frequency
    last = len(f) - 1
    shown = f.assign(purchase_days=[fmt_int(d, lang) + ("+" if i == last else "") for i, d in
                                    enumerate(f["purchase_days"])],
                     loyal=[t("satisfaction_yes", lang) if v else "" for v in f["loyal"]]).rename(columns={
                         "loyal": "is_loyal", "share": "customer_share"})
    show_table(shown, t("satisfaction_frequency_title", lang), "satisfaction_frequency", lang)


def tenure(lo: Loyalty, lang: str) -> None:
    st.markdown(f"**{t('satisfaction_tenure_title', lang)}**")
    bands = lo.tenure.bands
    frame = bands.assign(label=[t("satisfaction_tenure_band", lang, low=int(a), high=int(b)) if b is not None else
                                t("satisfaction_tenure_band_open", lang, low=int(a))
                                for a, b in zip(bands["years_from"], bands["years_to"], strict=True)],
                         loyal_share_low=bands["loyal_low"], loyal_share_high=bands["loyal_high"],
                         loyal_share_n=bands["customers"], loyal_share_small=bands["small"])
    st.caption(t("satisfaction_tenure_caption", lang, n=fmt_int(lo.min_days, lang)))
    st.plotly_chart(figures.group_dots(frame, "loyal_share", lang, ranked=False, kind="share",
                                       color=figures.LOYAL_COLOR), config=CHART)
    show_table(frame.assign(band=frame["label"], small=few_mark(frame["small"], lang))[
        ["band", "customers", "loyal", "loyal_share", "loyal_low", "loyal_high", "small"]].rename(
            columns={"loyal": "loyal_n"}),
        t("satisfaction_tenure_title", lang), "satisfaction_tenure", lang)


def groups(lo: Loyalty, lang: str) -> None:
    """The share loyal per home region or tier against the comparison period, moves beyond sampling error marked,
    groups too few to rank faded and last."""
    st.markdown(f"**{t('satisfaction_loyalty_groups_title', lang)}**")
    frames = {"home_region": lo.by_region} | ({"tier": lo.by_tier} if lo.by_tier is not None else {})
    grouping = st.radio(t("satisfaction_group_by", lang), list(frames), key="satisfaction_loyalty_by",
                        horizontal=True, format_func=lambda g: t(f"satisfaction_group_{g}", lang))
    st.caption(t("satisfaction_loyalty_groups_caption", lang))
    g = frames[grouping]
    frame = g.assign(label=[group_label(grouping, v, lang) for v in g["group"]], loyal_share_low=g["loyal_low"],
                     loyal_share_high=g["loyal_high"], loyal_share_n=g["customers"], loyal_share_small=g["small"])
    st.plotly_chart(figures.group_dots(frame, "loyal_share", lang, ranked=grouping != "tier", kind="share",
                                       color=figures.LOYAL_COLOR, compare=t("satisfaction_fig_comparison", lang)),
                    config=CHART)
    shown = g.assign(group=frame["label"], small=few_mark(g["small"], lang),
                     moved=[t(f"satisfaction_fig_moved_{m}", lang) if m in ("up", "down") else "" for m in g["moved"]],
                     p_value=np.round(g["p_value"].to_numpy(dtype=float), 4)).rename(
        columns={"loyal": "loyal_n", "repeat": "repeat_n", "compare_loyal": "compare_loyal_n"})
    show_table(shown, f"{t('satisfaction_loyalty_groups_title', lang)} {t(f'satisfaction_group_{grouping}', lang)}",
               "satisfaction_loyalty_groups", lang)
