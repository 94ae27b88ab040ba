"""The overview's funnel in miniature: the stage counts as small bars, the overall conversion with its interval and
its change from the comparison period (said to be within sampling error when it is), and the link to the funnel
page. Drawn from a :class:`~analytics.metrics.overview_funnel.MiniFunnel` (the funnel page's figures); nothing at
all (no heading, no box) without one."""

from __future__ import annotations

import streamlit as st

from analytics import pages
from analytics.metrics.overview_funnel import MiniFunnel
from analytics.scope import Scope
from ui.dates import fmt_date, fmt_period
from ui.figures import overview as figures
from ui.figures.common import rises_red
from ui.formats import fmt_delta_points, fmt_int, fmt_pct
from ui.funnel_sections import stage_name
from ui.i18n import md_literal, t


def change_text(mini: MiniFunnel, lang: str, compare_label: str) -> str:
    """The change from the comparison period as a sentence (Markdown): in points, coloured as the language reads a
    rise or a fall when it is beyond sampling error, plain and said to be within it otherwise; or that the comparison
    period's cohort is empty."""
    if mini.change is None:
        return t("overview_funnel_change_none", lang, period=compare_label)
    change = fmt_delta_points(mini.change, lang)
    if not mini.within_noise and mini.change:
        color = "red" if (mini.change > 0) == rises_red(lang) else "green"
        change = f":{color}[**{md_literal(change)}**]"
    key = "overview_funnel_change_noise" if mini.within_noise else "overview_funnel_change"
    return t(key, lang, change=change, period=compare_label, before=fmt_pct(mini.comparison_overall[0], lang),
             n=fmt_int(mini.comparison_members, lang))


def mini_funnel(mini: MiniFunnel | None, scope: Scope, lang: str, compare_label: str | None) -> None:
    """Draw the funnel in miniature where the caller's container is (nothing when ``mini`` is None)."""
    if mini is None:
        return
    names = {k: stage_name(k, lang) for k in mini.stages["stage"]}
    st.subheader(t("overview_funnel_title", lang))
    st.caption(t(f"overview_funnel_caption_{mini.kind}", lang, n=fmt_int(mini.members, lang),
                 period=fmt_period(scope.start, scope.end, lang), as_of=fmt_date(mini.as_of, lang)))
    st.html(figures.funnel_mini_bars(mini.stages, names, lang))
    value, low, high = mini.overall
    st.markdown(t("overview_funnel_overall", lang, value=fmt_pct(value, lang), k=fmt_int(mini.reached, lang),
                  n=fmt_int(mini.members, lang), stage=md_literal(names[mini.stages["stage"].iloc[-1]]),
                  ci=t("ci95", lang, low=fmt_pct(low, lang), high=fmt_pct(high, lang))))
    if mini.comparison_overall is not None and compare_label:
        st.markdown(change_text(mini, lang, compare_label))
    if scope.channels:
        st.caption(t("overview_funnel_channel_ignored", lang))
    st.page_link(pages.get("funnel").script, label=t("overview_funnel_link", lang), icon=":material/filter_alt:")
