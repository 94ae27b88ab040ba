"""The satisfaction & loyalty page's complaints section (:class:`~analytics.metrics.complaints.Complaints`): the key
figures (complaints per 1,000 active customers, resolved within the target, open, median days to resolve) with their
change, complaints per month beside the comparison period, by category, how long complaints stay open, the open
complaints (each opening the customer detail) and whether complaining customers keep buying; each chart with its
table and downloads."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from analytics.metrics.complaints import Complaints
from ui import customer_links
from ui.dates import fmt_date, fmt_month
from ui.figures import satisfaction as figures
from ui.figures import satisfaction_behaviour as behaviour
from ui.figures.common import CURRENT
from ui.formats import fmt_delta_points, fmt_int, fmt_number, fmt_pct
from ui.i18n import t
from ui.satisfaction_sections import BREAK, CHART, few_mark, named, show_table, signed, tile

#: The retention groups drawn (the complainers without a purchase in their month: in the table only).
DRAWN = ("complained", "within_target", "after_target", "open", "others")


def _moved(moved: str | None, lang: str) -> str:
    return t(f"satisfaction_moved_{moved or 'same'}", lang)


def key_figures(c: Complaints, lang: str, compare_label: str | None) -> None:
    p, b, compare = c.period, c.comparison, c.scope.compare
    before = (lambda text: BREAK + t("kpi_previous_value", lang, period=compare_label, value=text)) \
        if b is not None and compare_label else (lambda text: "")
    ttr = c.time_to_resolve
    cols = st.columns(4)
    with cols[0]:
        tile(t("satisfaction_kpi_per_1000", lang), figures.shown("per_1000", p["per_1000"], lang),
             t("satisfaction_kpi_per_1000_note", lang, n=fmt_int(p["complaints"], lang),
               active=fmt_int(p["active"], lang)) + " · " + figures.ci(p["per_1000_low"], p["per_1000_high"],
                                                                       "per_1000", lang)
             + (before(figures.shown("per_1000", b["per_1000"], lang)) + " · " + _moved(c.moved["per_1000"], lang)
                if b is not None else ""),
             t("satisfaction_kpi_per_1000_help", lang), lang,
             signed(p["per_1000"] - b["per_1000"], lang) if b is not None and p["active"] and b["active"] else None,
             compare, rise_is_bad=True)
    with cols[1]:
        tile(t("satisfaction_kpi_within", lang, days=fmt_int(c.target_days, lang)), fmt_pct(p["within_share"], lang),
             t("satisfaction_kpi_within_note", lang, n=fmt_int(p["due"], lang))
             + (" · " + figures.ci(p["within_low"], p["within_high"], "share", lang) if p["due"] else "")
             + (before(fmt_pct(b["within_share"], lang)) + " · " + _moved(c.moved["within_share"], lang)
                if b is not None else ""),
             t("satisfaction_kpi_within_help", lang), lang,
             fmt_delta_points(p["within_share"] - b["within_share"], lang) if b is not None and p["due"] and b["due"]
             else None, compare)
    with cols[2]:
        tile(t("satisfaction_kpi_open", lang), fmt_int(p["open"], lang),
             t("satisfaction_kpi_open_note", lang, date=fmt_date(c.as_of, lang),
               old=fmt_int(int(c.open_by_age["complaints"].iloc[2:].sum()), lang)),
             t("satisfaction_kpi_open_help", lang), lang)
    with cols[3]:
        median = ttr.median if ttr is not None else None
        tile(t("satisfaction_kpi_median_days", lang), "–" if median is None else fmt_number(median, lang, 1),
             "" if ttr is None else t("satisfaction_kpi_median_days_note", lang, resolved=fmt_int(ttr.resolved, lang),
                                      n=fmt_int(ttr.complaints, lang))
             + ("" if ttr.median_low is None else " · " + t("ci95", lang, low=fmt_number(ttr.median_low, lang, 1),
                                                           high=fmt_number(ttr.median_high or np.nan, lang, 1))),
             t("satisfaction_kpi_median_days_help", lang), lang)


def monthly_table(c: Complaints, lang: str) -> pd.DataFrame:
    m = c.monthly
    table = m.assign(month=[fmt_month(x, lang) for x in m["month"]],
                     provisional=[t("satisfaction_provisional", lang) if f else "" for f in m["provisional"]])
    if c.comparison_monthly is not None:
        other = c.comparison_monthly.iloc[:len(m)].reset_index(drop=True)
        table = table.assign(compare_month=[fmt_month(x, lang) for x in other["month"]],
                             compare_complaints=other["complaints"], compare_per_1000=other["per_1000"])
    return table


def complaints(c: Complaints, lang: str, compare_label: str | None,
               names: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """The complaints section; ``names`` adds the customers' names to rows of the open complaints (those shown, or
    all of them when a download asks)."""
    st.subheader(t("satisfaction_complaints_title", lang))
    if c.empty:
        st.info(t("satisfaction_complaints_none" if c.recorded else "satisfaction_complaints_unrecorded", lang))
        return
    st.caption(t("satisfaction_complaints_caption", lang, date=fmt_date(c.as_of, lang),
                 days=fmt_int(c.target_days, lang)))
    key_figures(c, lang, compare_label)
    st.markdown(f"**{t('satisfaction_complaints_monthly', lang)}**")
    st.plotly_chart(figures.series_line(
        c.monthly, c.comparison_monthly, ("per_1000", "per_1000_low", "per_1000_high"), "per_1000",
        t("satisfaction_fig_per_1000", lang), lang, open_flag="provisional",
        describe=lambda r: t("satisfaction_fig_complaints_of", lang, n=fmt_int(r["complaints"], lang),
                             active=fmt_int(r["active"], lang), open=fmt_int(r["open"], lang))), config=CHART)
    show_table(monthly_table(c, lang), t("satisfaction_complaints_monthly", lang), "satisfaction_complaints_monthly",
               lang)
    categories(c, lang)
    resolution(c, lang)
    open_list(c, lang, names)
    after(c, lang)


def categories(c: Complaints, lang: str) -> None:
    st.markdown(f"**{t('satisfaction_categories_title', lang)}**")
    frame = c.categories.assign(label=[t("satisfaction_no_category", lang) if g is None else str(g)
                                       for g in c.categories["category"]])
    st.caption(t("satisfaction_categories_caption", lang, days=fmt_int(c.target_days, lang)))
    st.plotly_chart(behaviour.category_bars(frame, lang), config=CHART)
    show_table(frame.assign(category=frame["label"], small=few_mark(frame["small"], lang)).drop(columns="label").rename(
        columns={"share": "complaint_share", "share_low": "complaint_share_low", "share_high": "complaint_share_high"}),
               t("satisfaction_categories_title", lang), "satisfaction_categories", lang)


def resolution(c: Complaints, lang: str) -> None:
    st.markdown(f"**{t('satisfaction_resolution_title', lang)}**")
    ttr = c.time_to_resolve
    if ttr is None:
        st.info(t("satisfaction_resolution_none", lang))
        return
    st.caption(t("satisfaction_resolution_caption", lang, days=fmt_int(c.target_days, lang),
                 date=fmt_date(c.as_of, lang), shown=fmt_int(behaviour.RESOLUTION_DAYS, lang)))
    labels = [t("satisfaction_band_open", lang) if b == "open" else t("satisfaction_band_days", lang, days=b)
              for b in c.resolution["band"]]
    ticks = [t("satisfaction_band_open", lang) if b == "open" else b for b in c.resolution["band"]]
    left, right = st.columns(2)
    with left:
        st.plotly_chart(behaviour.resolution_curve(ttr.curve, c.target_days, ttr.median, lang), config=CHART)
        show_table(ttr.curve, t("satisfaction_resolution_title", lang), "satisfaction_resolution", lang)
    with right:
        st.plotly_chart(behaviour.resolution_bands_bar(c.resolution, ticks, lang), config=CHART)
        show_table(c.resolution.assign(band=labels).rename(columns={"share": "complaint_share"}),
                   t("satisfaction_bands_title", lang), "satisfaction_resolution_bands", lang)


def open_list(c: Complaints, lang: str, names: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    st.markdown(f"**{t('satisfaction_open_title', lang)}**")
    listed = c.open_list
    if listed.empty:
        st.caption(t("satisfaction_open_none", lang, date=fmt_date(c.as_of, lang)))
        return
    ages = ", ".join(t("satisfaction_open_age", lang, band=b, n=fmt_int(n, lang))
                     for b, n in zip(c.open_by_age["band"], c.open_by_age["complaints"], strict=True))
    st.caption(t("satisfaction_open_caption", lang, n=fmt_int(len(listed), lang), date=fmt_date(c.as_of, lang),
                 ages=ages))

    def shown(rows: pd.DataFrame) -> pd.DataFrame:
        rows = names(rows)
        return named(rows.assign(feedback_date=[pd.Timestamp(d).date() for d in rows["feedback_date"]],
                                 category=[t("satisfaction_no_category", lang) if g is None else g
                                           for g in rows["category"]]), lang)[0]

    customer_links.customer_table(shown(listed.head(customer_links.SHOWN)), lang, "satisfaction_open_complaints",
                                  id_column=t("satisfaction_col_customer_id", lang),
                                  download_stem=t("satisfaction_open_title", lang),
                                  height=380 if len(listed) > 10 else "auto", whole=lambda: shown(listed))


def after(c: Complaints, lang: str) -> None:
    """Whether complaining customers keep buying, against customers buying as often who did not complain."""
    r = c.retention
    st.markdown(f"**{t('satisfaction_after_title', lang)}**")
    table = r.table.set_index("group", drop=False)
    if not r.months or not table.loc["complained", "customer_months"]:
        st.info(t("satisfaction_after_none", lang, months=fmt_int(r.horizon_months, lang)))
        return
    row = table.loc["complained"]
    verdict = "none_test" if not np.isfinite(row["p_value"]) else "beyond" if row["p_value"] < 0.05 else "within"
    st.markdown(t("satisfaction_after_sentence", lang, months=fmt_int(r.horizon_months, lang),
                  rate=fmt_pct(row["rate"], lang), expected=fmt_pct(row["expected"], lang),
                  difference=signed(100 * row["difference"], lang),
                  low=signed(100 * row["difference_low"], lang), high=signed(100 * row["difference_high"], lang))
                + " " + t(f"satisfaction_after_{verdict}", lang))
    st.caption(t("satisfaction_after_caption", lang, first=fmt_month(r.months[0], lang),
                 last=fmt_month(r.months[-1], lang), months=fmt_int(r.horizon_months, lang)))
    frame = table.loc[list(DRAWN)].reset_index(drop=True)
    drawn = frame.assign(label=[t(f"satisfaction_after_group_{g}", lang) for g in frame["group"]],
                         rate_low=frame["low"], rate_high=frame["high"], rate_n=frame["customer_months"],
                         rate_small=frame["small"] | (frame["customer_months"] == 0), compare_rate=frame["expected"])
    st.plotly_chart(figures.group_dots(drawn, "rate", lang, ranked=False, kind="share", color=CURRENT,
                                       compare=t("satisfaction_fig_expected", lang)), config=CHART)
    shown = r.table.assign(group=[t(f"satisfaction_after_group_{g}", lang) for g in r.table["group"]],
                           small=few_mark(r.table["small"], lang))
    show_table(shown.rename(columns={"low": "rate_low", "high": "rate_high"}), t("satisfaction_after_title", lang),
               "satisfaction_after", lang)
