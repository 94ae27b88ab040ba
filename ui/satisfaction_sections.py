"""The satisfaction & loyalty page's first sections, each drawing one part of a
:class:`~analytics.metrics.satisfaction_view.SatisfactionView` with its chart and the table behind it (CSV and Excel
downloads): the loyalty setting (in the address: ``?loyal_min=4``), the definitions in use, the key figures, CSAT
and NPS per month, their trend and season, and CSAT and NPS per group; and what the page's tables share (columns
named for people, a group's name). The gap, the quadrants and the retention curve: :mod:`ui.satisfaction_gap_sections`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analytics.metrics import satisfaction as metrics
from analytics.metrics import satisfaction_gap as gap_metrics
from analytics.metrics.satisfaction_view import LOYAL_MIN, RETENTION_MONTHS, TARGET_DAYS, SatisfactionView
from analytics.models import retention_logit, scores
from analytics.pages import Page
from ui import page_options, widgets
from ui.dates import fmt_month
from ui.figures import satisfaction as figures
from ui.figures.common import rises_red
from ui.formats import fmt_delta_points, fmt_int, fmt_number, fmt_pct, is_missing
from ui.i18n import t

CHART = {"displayModeBar": False}
#: The loyalty threshold's widget (its value is the address's ``loyal_min``).
LOYAL = "satisfaction_loyal_min"
#: The columns shown as percentages, and as money (messages ``satisfaction_col_<column>``).
SHARES = frozenset({"csat", "csat_low", "csat_high", "compare_csat", "satisfied", "satisfied_low", "satisfied_high",
                    "loyal", "loyal_low", "loyal_high", "share", "revenue_share", "probability", "low", "high",
                    "complaint_share", "complaint_share_low", "complaint_share_high", "customer_share", "share_open",
                    "within_share", "within_low", "within_high", "rate", "rate_low", "rate_high", "expected",
                    "expected_low", "expected_high", "difference", "difference_low", "difference_high", "repeat_rate",
                    "repeat_low", "repeat_high", "loyal_share", "compare_repeat_rate", "compare_loyal_share",
                    "compare_loyal_low", "compare_loyal_high"})
MONEY = frozenset({"revenue"})
#: Between a tile caption's lines.
BREAK = "  \n"


def named(frame: pd.DataFrame, lang: str, currency: str = "CNY") -> tuple[pd.DataFrame, dict]:
    """``frame`` with its columns named for people (``satisfaction_col_<column>``) and their number formats."""
    return widgets.named_columns(frame, "satisfaction_col_", lang, currency, SHARES, MONEY)


def show_table(frame: pd.DataFrame, title: str, key: str, lang: str, currency: str = "CNY") -> None:
    """A chart's table (columns named, numbers formatted) in an expander, with its downloads."""
    shown, config = named(frame, lang, currency)
    widgets.table_with_downloads(shown, title, lang, key=key, column_config=config)


def group_label(grouping: str, value: object, lang: str) -> str:
    """A group for people: a tier's name in the language, a value from the data as it is, or what a missing one
    means (no purchase in the period, for a tier)."""
    if is_missing(value) or value == "":
        return t(f"satisfaction_no_{grouping}", lang)
    if grouping == "tier":
        return t(f"tiers_name_{value}", lang)
    return str(value)


def labelled(frame: pd.DataFrame, grouping: str, lang: str) -> pd.DataFrame:
    """``frame`` (a ``group`` column) with each group's name for people in ``label``."""
    return frame.assign(label=[group_label(grouping, g, lang) for g in frame["group"]])


def few_mark(flags: pd.Series, lang: str) -> list[str]:
    return [t("satisfaction_too_few", lang) if f else "" for f in flags]


# ---------------------------------------------------------------------------------------------- the setting


#: The settings' widgets: each option's key, and its default.
SETTINGS = {"loyal_min": (LOYAL, LOYAL_MIN), "target_days": ("satisfaction_target_days", TARGET_DAYS),
            "retention_months": ("satisfaction_retention_months", RETENTION_MONTHS)}


def settings(page: Page, lang: str, values: dict[str, Any], refused: list[str]) -> dict[str, int]:
    """The loyalty threshold, the complaints' resolution target and the months after a complaint, in an expander
    (open when the link set one or gave a value it refuses, which is said), kept in the address; the options for the
    loader (those not at their default)."""
    page_options.warn_refused(refused, lang, "satisfaction")
    chosen = {}
    with st.expander(t("satisfaction_settings_title", lang), expanded=bool(values or refused)):
        for col, (name, (key, default)) in zip(st.columns(len(SETTINGS)), SETTINGS.items(), strict=True):
            page_options.seed(key, values.get(name, default))
            option = page.option(name)
            value = col.number_input(t(f"satisfaction_setting_{name}", lang), min_value=option.low,
                                     max_value=option.high, step=1, key=key,
                                     help=t(f"satisfaction_setting_{name}_help", lang, default=default))
            chosen[name] = None if value is None or int(value) == default else int(value)
            page_options.put(page, name, chosen[name])
    return {k: v for k, v in chosen.items() if v is not None}


def definition(view: SatisfactionView, lang: str) -> str:
    """The definitions in use, in one paragraph (the loyalty threshold and its months as set)."""
    first = fmt_month(pd.Timestamp(view.scope.end) - pd.DateOffset(months=gap_metrics.LOYAL_MONTHS - 1), lang)
    return t("satisfaction_definition", lang, n=fmt_int(view.loyal_min, lang), first=first,
             last=fmt_month(view.scope.end, lang))


# ---------------------------------------------------------------------------------------------- key figures


def _delta(measure: str, now: scores.Estimate, before: scores.Estimate | None, lang: str) -> str | None:
    """The change from the comparison period: points for CSAT and NPS, the score's own unit for the mean."""
    if before is None or not now.n or not before.n:
        return None
    change = now.value - before.value
    if measure == "csat":
        return fmt_delta_points(change, lang)
    if measure == "nps":
        return fmt_delta_points(change / 100, lang)
    return signed(change, lang, 2)


def signed(x: float, lang: str, decimals: int = 1) -> str:
    """A change as a signed number ("+0.04", "-1.2"; unsigned when it rounds to nothing)."""
    return ("+" if round(x, decimals) > 0 else "") + fmt_number(x, lang, decimals)


def tile(label: str, value: str, caption: str, help_text: str, lang: str, delta: str | None = None,
         compare: str | None = None, rise_is_bad: bool = False) -> None:
    """A key figure in a bordered tile: its value, its change from the comparison period (a rise red in Chinese, as
    Chinese readers expect, and in English red when a rise is bad news: ``rise_is_bad``), a caption under it."""
    with st.container(border=True, height="stretch"):
        unchanged = delta is not None and not any(c in "123456789" for c in delta)
        st.metric(label, value, delta=delta, help=help_text,
                  delta_description=t(f"vs_short_{compare}", lang) if delta and compare != "none" else None,
                  delta_color="off" if unchanged else "inverse" if rises_red(lang) or rise_is_bad else "normal",
                  delta_arrow="off" if unchanged else "auto")
        st.caption(caption)


def tiles(view: SatisfactionView, lang: str, compare_label: str | None) -> None:
    """CSAT, NPS and the mean score, each with n, its interval and the comparison period's value (and the change);
    the share loyal among the surveyed customers with its interval; under them, how many of the responses are
    anonymous (in the totals, in no group), when some are."""
    s, compare = view.satisfaction, view.scope.compare
    columns = st.columns(4)
    for col, measure in zip(columns, ("csat", "nps", "mean"), strict=False):
        now = s.period[measure]
        before = s.comparison[measure] if s.comparison is not None else None
        lines = [t("sample_size", lang, n=fmt_int(now.n, lang))]
        if np.isfinite(now.low):
            lines[0] += " · " + t("ci95", lang, low=figures.shown(measure, now.low, lang),
                                  high=figures.shown(measure, now.high, lang))
        if before is not None and compare_label:
            lines.append(t("kpi_previous_value", lang, period=compare_label,
                           value=figures.shown(measure, before.value, lang) if before.n else "–"))
        with col:
            tile(t(f"satisfaction_kpi_{measure}", lang), figures.shown(measure, now.value, lang) if now.n else "–",
                  BREAK.join(lines), t(f"satisfaction_kpi_{measure}_help", lang), lang,
                  _delta(measure, now, before, lang), compare)
    overall = view.gap.overall.iloc[0]
    caption = t("satisfaction_kpi_loyal_note", lang, n=fmt_int(int(overall["n"]), lang))
    if overall["n"]:
        caption += " · " + t("ci95", lang, low=fmt_pct(overall["loyal_low"], lang),
                             high=fmt_pct(overall["loyal_high"], lang))
    with columns[3]:
        tile(t("satisfaction_kpi_loyal", lang), fmt_pct(overall["loyal"], lang), caption + BREAK + t(
            "satisfaction_kpi_loyal_rule", lang, n=fmt_int(view.loyal_min, lang)),
              t("satisfaction_kpi_loyal_help", lang), lang)
    if s.anonymous_responses:
        st.caption(t("satisfaction_anonymous", lang, n=fmt_int(s.anonymous_responses, lang),
                     csat=fmt_int(s.anonymous["csat"], lang), nps=fmt_int(s.anonymous["nps"], lang)))


# ---------------------------------------------------------------------------------------------- by month


def monthly_table(view: SatisfactionView, lang: str) -> pd.DataFrame:
    """The months of the period with CSAT, the mean and NPS, and the comparison period's month at the same place."""
    m = view.satisfaction.monthly
    table = m.assign(month=[fmt_month(pd.Timestamp(x).date(), lang) for x in m["month"]])
    before = view.satisfaction.comparison_monthly
    if before is not None:
        other = before.iloc[:len(m)].reset_index(drop=True)
        table = table.assign(compare_month=[fmt_month(pd.Timestamp(x).date(), lang) for x in other["month"]],
                             compare_csat_n=other["csat_n"], compare_csat=other["csat"],
                             compare_nps_n=other["nps_n"], compare_nps=other["nps"])
    return table


def monthly(view: SatisfactionView, lang: str) -> None:
    st.subheader(t("satisfaction_monthly_title", lang))
    s = view.satisfaction
    st.caption(t("satisfaction_monthly_caption", lang))
    left, right = st.columns(2)
    for col, measure in ((left, "csat"), (right, "nps")):
        with col:
            st.markdown(f"**{t(f'satisfaction_monthly_{measure}', lang)}**")
            st.plotly_chart(figures.monthly_line(s.monthly, s.comparison_monthly, measure, lang), config=CHART)
    st.markdown(f"**{t('satisfaction_responses_title', lang)}**")
    st.plotly_chart(figures.responses_bar(s.monthly, lang), config=CHART)
    show_table(monthly_table(view, lang), t("satisfaction_monthly_title", lang), "satisfaction_monthly", lang)


def trend(view: SatisfactionView, lang: str) -> None:
    """The trend (and with STL the season) of monthly CSAT or NPS over every month up to the period's end."""
    st.subheader(t("satisfaction_trend_title", lang))
    measure = st.radio(t("satisfaction_trend_of", lang), ("csat", "nps"), key="satisfaction_trend_of",
                       horizontal=True, format_func=lambda m: t(f"satisfaction_fig_{m}", lang))
    d = view.satisfaction.trends.get(measure)
    known = d.frame[np.isfinite(d.frame["value"].to_numpy(dtype=float))] if d is not None else None
    if known is None or known.empty:
        st.info(t("satisfaction_trend_none", lang))
        return
    first, last = (pd.Timestamp(known["month"].iloc[i]).date() for i in (0, -1))
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    st.caption(t(f"satisfaction_trend_caption_{d.method}", lang, months=fmt_int(months, lang),
                 first=fmt_month(first, lang), last=fmt_month(last, lang), stl=fmt_int(scores.STL_MONTHS, lang)))
    st.plotly_chart(figures.trend_lines(d.frame, d.method, measure, lang), config=CHART)
    frame = d.frame.assign(month=[fmt_month(pd.Timestamp(x).date(), lang) for x in d.frame["month"]],
                           filled=[t("satisfaction_filled", lang) if f else "" for f in d.frame["filled"]])
    columns = ["month", "value", "trend", "season", "filled"] if d.method == "stl" else ["month", "value", "trend"]
    shown = frame[columns].rename(columns={c: f"{measure}_{c}" for c in ("value", "trend", "season")})
    show_table(shown, t("satisfaction_trend_title", lang), "satisfaction_trend", lang)


# ---------------------------------------------------------------------------------------------- by group


def groups(view: SatisfactionView, lang: str) -> None:
    """CSAT and NPS per group of the chosen grouping, groups too few to trust faded and marked, not ranked."""
    st.subheader(t("satisfaction_groups_title", lang))
    by_group = view.satisfaction.by_group
    grouping = st.radio(t("satisfaction_group_by", lang), list(by_group), key="satisfaction_group_by",
                        horizontal=True, format_func=lambda g: t(f"satisfaction_group_{g}", lang))
    st.caption(t("satisfaction_groups_caption", lang, min=fmt_int(metrics.MIN_RESPONSES, lang),
                 csat=fmt_number(100 * metrics.WIDE_CSAT, lang, 0), nps=fmt_number(metrics.WIDE_NPS, lang, 0)))
    frame = labelled(by_group[grouping], grouping, lang)
    left, right = st.columns(2)
    for col, measure in ((left, "csat"), (right, "nps")):
        with col:
            st.markdown(f"**{t(f'satisfaction_fig_{measure}', lang)}**")
            st.plotly_chart(figures.group_dots(frame, measure, lang, ranked=grouping != "tier"), config=CHART)
    table = frame.assign(group=frame["label"], csat_small=few_mark(frame["csat_small"], lang),
                         nps_small=few_mark(frame["nps_small"], lang)).drop(columns="label")
    show_table(table, f"{t('satisfaction_groups_title', lang)} {t(f'satisfaction_group_{grouping}', lang)}",
               "satisfaction_groups", lang)


# ---------------------------------------------------------------------------------------------- definitions


def definitions(view: SatisfactionView, lang: str) -> None:
    """Every definition the page uses, in an expander."""
    with st.expander(t("satisfaction_definitions_title", lang)):
        st.markdown(t("satisfaction_definitions_body", lang, min=fmt_int(metrics.MIN_RESPONSES, lang),
                      csat=fmt_number(100 * metrics.WIDE_CSAT, lang, 0), nps=fmt_number(metrics.WIDE_NPS, lang, 0),
                      stl=fmt_int(scores.STL_MONTHS, lang), n=fmt_int(view.loyal_min, lang),
                      months=fmt_int(gap_metrics.LOYAL_MONTHS, lang), horizon=fmt_int(view.gap.horizon_days, lang),
                      fit=fmt_int(gap_metrics.FIT_DAYS, lang), fit_min=fmt_int(retention_logit.MIN_RESPONSES, lang),
                      each=fmt_int(retention_logit.MIN_EACH, lang)))
        c = view.complaints
        st.markdown(t("satisfaction_definitions_complaints", lang, days=fmt_int(c.target_days, lang),
                      months=fmt_int(c.retention.horizon_months, lang)))
        st.markdown(t("satisfaction_definitions_loyalty", lang, n=fmt_int(view.loyal_min, lang)))
