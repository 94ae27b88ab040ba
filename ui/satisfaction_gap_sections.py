"""The satisfaction & loyalty page's sections on what connects the two (satisfaction is not loyalty): satisfied
beside loyal per group with the gap in points, the four quadrants with their customers (a picked quadrant lists
them, each opening the customer detail) and the retention curve (how the chance of buying again rises with the
score), each with the table behind it and its downloads."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from analytics.metrics import satisfaction as metrics
from analytics.metrics.satisfaction_view import SatisfactionView
from analytics.models import retention_logit
from ui import customer_links, widgets
from ui.dates import fmt_date
from ui.figures import satisfaction_gap as figures
from ui.formats import fmt_int, fmt_money, fmt_number, fmt_pct
from ui.i18n import md_literal, t
from ui.satisfaction_sections import CHART, few_mark, group_label, labelled, named, show_table

#: The quadrant table (a row picked in it), the quadrant chosen, and the row last seen picked.
TABLE, QUADRANT, SEEN = "satisfaction_quadrants", "satisfaction_quadrant", "satisfaction_quadrants_seen"
#: A gap this small (in points) is said as none.
SAME = 0.05


def gap_words(satisfied: float, loyal: float, lang: str) -> str:
    """ "78 % satisfied, 56 % loyal"."""
    return t("satisfaction_gap_words", lang, satisfied=fmt_pct(satisfied, lang), loyal=fmt_pct(loyal, lang))


def gap(view: SatisfactionView, lang: str) -> None:
    """The surveyed customers satisfied and loyal, overall in words and per group side by side with intervals and
    the gap in points; groups of fewer than :data:`metrics.MIN_RESPONSES` surveyed customers faded, not ranked."""
    st.subheader(t("satisfaction_gap_title", lang))
    overall = view.gap.overall.iloc[0]
    if not overall["n"]:
        st.info(t("satisfaction_gap_none", lang))
        return
    points = float(overall["gap"])
    kind = "same" if abs(points) < SAME else "above" if points > 0 else "below"
    st.markdown(t("satisfaction_gap_overall", lang, n=fmt_int(int(overall["n"]), lang),
                  words=gap_words(overall["satisfied"], overall["loyal"], lang))
                + " " + t(f"satisfaction_gap_{kind}", lang, gap=fmt_number(abs(points), lang, 1)))
    st.caption(t("satisfaction_gap_caption", lang, n=fmt_int(view.loyal_min, lang),
                 min=fmt_int(metrics.MIN_RESPONSES, lang)))
    by_group = view.gap.by_group
    grouping = st.radio(t("satisfaction_group_by", lang), list(by_group), key="satisfaction_gap_by",
                        horizontal=True, format_func=lambda g: t(f"satisfaction_group_{g}", lang))
    frame = labelled(by_group[grouping], grouping, lang)
    st.plotly_chart(figures.gap_dumbbell(frame, lang, metrics.MIN_RESPONSES, ranked=grouping != "tier"),
                    config=CHART)
    table = frame.assign(group=frame["label"],
                         words=[gap_words(s, lo, lang) if n else "" for s, lo, n in zip(
                             frame["satisfied"], frame["loyal"], frame["n"], strict=True)],
                         small=few_mark(frame["n"] < metrics.MIN_RESPONSES, lang)).drop(columns="label")
    show_table(table, f"{t('satisfaction_gap_title', lang)} {t(f'satisfaction_group_{grouping}', lang)}",
               "satisfaction_gap", lang)


def quadrant_names(lang: str) -> dict[str, str]:
    return {q: t(f"satisfaction_quadrant_{q}", lang) for q in figures.QUADRANT_CELLS}


def quadrants(view: SatisfactionView, lang: str, currency: str, customers: Callable[[str], pd.DataFrame]) -> None:
    """The 2 × 2 of the surveyed customers with counts and revenue; a quadrant picked in its table (or chosen
    below it) lists its customers: ``customers(quadrant)`` (:mod:`ui.loaders`)."""
    st.subheader(t("satisfaction_quadrants_title", lang))
    q = view.gap.quadrants
    if not q["customers"].sum():
        st.info(t("satisfaction_gap_none", lang))
        return
    st.caption(t("satisfaction_quadrants_caption", lang, n=fmt_int(view.loyal_min, lang)))
    names = quadrant_names(lang)
    st.plotly_chart(figures.quadrant_grid(q, names, lang, currency), config=CHART)
    total = float(q["revenue"].sum())
    table = q.assign(quadrant=[names[k] for k in q["quadrant"]],
                     revenue_share=q["revenue"] / total if total else np.nan)
    shown, config = named(table, lang, currency)
    st.caption(t("satisfaction_quadrants_pick", lang))
    event = st.dataframe(shown, key=TABLE, hide_index=True, width="stretch", on_select="rerun",
                         selection_mode="single-row", column_config=config)
    widgets.download_buttons(shown, t("satisfaction_quadrants_title", lang), lang, key="satisfaction_quadrants")
    keys = list(q["quadrant"])
    picked = event.selection.rows if event is not None and hasattr(event, "selection") else []
    if picked and st.session_state.get(SEEN) != picked[0]:
        # a newly picked row sets the choice below (which stays the user's to change)
        st.session_state[SEEN] = picked[0]
        st.session_state[QUADRANT] = keys[picked[0]]
    chosen = st.selectbox(t("satisfaction_quadrant_choose", lang), keys, index=None, key=QUADRANT,
                          format_func=lambda k: names[k], placeholder=t("satisfaction_quadrant_placeholder", lang))
    if chosen is not None:
        quadrant_customers(customers(chosen), names[chosen], lang, currency)


def quadrant_customers(frame: pd.DataFrame, name: str, lang: str, currency: str) -> None:
    """A quadrant's customers, highest revenue first (picking a row opens the customer's detail), and downloads of
    all of them."""
    if frame.empty:
        st.info(t("satisfaction_quadrant_empty", lang, quadrant=md_literal(name)))
        return
    st.caption(t("satisfaction_quadrant_customers", lang, n=fmt_int(len(frame), lang), quadrant=md_literal(name),
                 revenue=fmt_money(float(frame["revenue"].sum()), lang, currency, compact=True)))

    def shown(rows: pd.DataFrame) -> pd.DataFrame:
        return named(rows.assign(**{g: [group_label(g, v, lang) for v in rows[g]]
                                    for g in ("home_region", "segment", "tier")}), lang, currency)[0]

    customer_links.customer_table(shown(frame.head(customer_links.SHOWN)), lang, "satisfaction_quadrant_customers",
                                  id_column=t("satisfaction_col_customer_id", lang),
                                  column_config=named(frame, lang, currency)[1],
                                  download_stem=t("satisfaction_quadrant_download", lang, quadrant=name),
                                  height=380 if len(frame) > 10 else "auto", whole=lambda: shown(frame))


def _p(p: float, lang: str) -> str:
    return "< 0.001" if p < 0.001 else fmt_number(p, lang, 3)


def retention(view: SatisfactionView, lang: str) -> None:
    """The chance of buying again within the horizon by satisfaction score, with its band, said in words from 3 to
    5 stars; the responses it was fitted on (or why there is no curve)."""
    st.subheader(t("satisfaction_curve_title", lang))
    g, c = view.gap, view.gap.curve
    used = t("satisfaction_curve_used", lang, n=fmt_int(c.n, lang), retained=fmt_int(c.retained, lang),
             horizon=fmt_int(g.horizon_days, lang), first=fmt_date(g.fit_from, lang) if g.fit_from else "–",
             last=fmt_date(g.fit_to, lang) if g.fit_to else "–")
    if c.problem is not None:
        code = c.problem.split(":")[0]
        st.info(t(f"satisfaction_curve_problem_{code}", lang, min=fmt_int(retention_logit.MIN_RESPONSES, lang),
                  each=fmt_int(retention_logit.MIN_EACH, lang)) + " " + used)
        return
    three, five = c.at(3), c.at(5)
    direction = "rises" if five[0] > three[0] else "falls"
    st.markdown(t(f"satisfaction_curve_{direction}", lang, horizon=fmt_int(g.horizon_days, lang),
                  low=fmt_pct(three[0], lang), high=fmt_pct(five[0], lang),
                  low_ci=t("ci95", lang, low=fmt_pct(three[1], lang), high=fmt_pct(three[2], lang)),
                  high_ci=t("ci95", lang, low=fmt_pct(five[1], lang), high=fmt_pct(five[2], lang)))
                + ("" if c.slope_p_value < 0.05 else " " + t("satisfaction_curve_unclear", lang)))
    st.caption(used + " " + t("satisfaction_curve_model", lang, slope=fmt_number(c.slope, lang, 3),
                              se=fmt_number(c.slope_se, lang, 3), p=_p(c.slope_p_value, lang)))
    st.plotly_chart(figures.retention_curve(c.curve, lang), config=CHART)
    show_table(c.curve.rename(columns={"score": "curve_score"}), t("satisfaction_curve_title", lang),
               "satisfaction_curve", lang)
