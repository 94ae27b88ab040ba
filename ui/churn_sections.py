"""The churn & retention page's later sections (cohorts, survival, drivers, at risk, won back) and the helpers its
tables share: each section draws one part of a :class:`~analytics.metrics.churn_view.ChurnView`."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from analytics.metrics.churn_risk import AtRisk, with_flags
from analytics.metrics.churn_tiers import TierSplit
from analytics.metrics.churn_view import ChurnView
from analytics.models.cox import CoxTerm, hazard_words
from analytics.models.proportions import two_proportion_p_value
from ui import customer_links, loaders, widgets
from ui.dates import fmt_date, fmt_month
from ui.figures import churn as figures
from ui.figures.value import group_name
from ui.formats import currency_symbol, fmt_int, fmt_money, fmt_number, fmt_pct
from ui.i18n import t

CHART = {"displayModeBar": False}
#: The Cox model's columns (analytics.metrics.churn_view._drivers) that are a customer grouping.
GROUPED = ("home_region", "segment", "acquisition_channel")


def percent_config(lang: str, *columns: str) -> dict:
    """Column config showing ``columns`` (named ``churn_col_<column>``) as percentages."""
    return {t(f"churn_col_{c}", lang): st.column_config.NumberColumn(format="percent") for c in columns}


def money_config(lang: str, currency: str, *columns: str) -> dict:
    return {t(f"churn_col_{c}", lang): st.column_config.NumberColumn(format=f"{currency_symbol(currency)}%,.0f")
            for c in columns}


def rate_note(rate: tuple, compare: tuple | None, lang: str) -> str:
    """The churn tile's note: the interval and customer-months, and the comparison period's rate with whether
    the change is beyond sampling error."""
    churned, exposure, _, low, high = rate
    if not exposure:
        return t("churn_kpi_rate_none", lang)
    note = t("churn_kpi_rate_note", lang, low=fmt_pct(low, lang), high=fmt_pct(high, lang),
             churned=fmt_int(churned, lang), exposure=fmt_int(exposure, lang))
    if compare is not None and compare[1]:
        p = two_proportion_p_value(churned, exposure, compare[0], compare[1])
        moved = "same" if p is None or p >= 0.05 else ("up" if rate[2] > compare[2] else "down")
        note += " · " + t(f"churn_kpi_rate_compare_{moved}", lang, rate=fmt_pct(compare[2], lang))
    return note


def named(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``frame`` with its columns named for people (messages ``churn_col_<column>``)."""
    return frame.rename(columns={c: t(f"churn_col_{c}", lang) for c in frame.columns})


def monthly_table(months: pd.DataFrame, lang: str) -> pd.DataFrame:
    shown = months.assign(month=[fmt_month(m, lang) for m in months["month"]],
                          provisional=[t("churn_provisional", lang) if p else "" for p in months["provisional"]])
    return named(shown, lang)


def cohorts(view: ChurnView, lang: str) -> None:
    st.subheader(t("churn_cohorts_title", lang))
    c = view.cohorts
    if c.empty:
        st.info(t("churn_cohorts_none", lang))
        return
    st.caption(t("churn_cohorts_caption", lang))
    kind = st.radio(t("churn_cohorts_show", lang), ("share", "retention"), key="churn_cohort_kind", horizontal=True,
                    format_func=lambda k: t(f"churn_cohorts_{k}", lang))
    cells = c.customer_retention if kind == "share" else c.revenue_retention
    st.plotly_chart(figures.cohort_heatmap(cells, c.sizes, kind, lang), config=CHART)
    if cells["provisional"].any():
        st.caption(t("churn_cohorts_provisional", lang))
    st.markdown(f"**{t('churn_milestones_title', lang)}**")
    st.plotly_chart(figures.milestone_lines(c.milestones, lang), config=CHART)
    table = cells.assign(cohort=[fmt_month(m, lang) for m in cells["cohort"]],
                         month=[fmt_month(m, lang) for m in cells["month"]],
                         provisional=[t("churn_provisional", lang) if p else "" for p in cells["provisional"]])
    widgets.table_with_downloads(named(table, lang),
                                 t(f"churn_cohorts_{kind}", lang), lang, key="churn_cohort_cells",
                                 column_config=percent_config(lang, "share", "low", "high", "retention"))


def tier_split(view: ChurnView, version: int, lang: str) -> TierSplit:
    """The page's split by tier (loaded once asked for: it ranks the customers)."""
    with st.spinner(t("churn_tiers_loading", lang)):
        return loaders.load_churn_tiers(view.scope.cache_key(), version, view.definition.window,
                                        view.definition.as_of)


def survival(view: ChurnView, lang: str, version: int) -> None:
    st.subheader(t("churn_survival_title", lang))
    st.caption(t("churn_survival_caption", lang, window=fmt_int(view.definition.window, lang)))
    if not view.survival:
        st.info(t("churn_survival_none", lang))
        return
    keys = [*view.survival, "tier"]
    grouping = st.radio(t("churn_group_by", lang), keys, key="churn_survival_by", horizontal=True,
                        format_func=lambda g: t(f"churn_group_{g}", lang))
    if grouping == "tier":
        st.caption(t("churn_tier_survival_note", lang))
        chosen = tier_split(view, version, lang).survival
        if chosen is None:
            st.info(t("churn_survival_none", lang))
            return
    else:
        chosen = view.survival[grouping]
    names = {c.group: (t("churn_everyone", lang) if grouping == "all" else group_name(grouping, c.group, lang))
             for c in chosen.curves}
    st.plotly_chart(figures.survival_curves(chosen.curves, lang, names), config=CHART)
    rows = []
    for curve in chosen.curves:
        m, s = curve.median, curve.survival_at_horizon
        rows.append({"group": names[curve.group], "customers": curve.n, "churned": curve.n_events,
                     "median_days": m.value, "median_low": m.low, "median_high": m.high,
                     "survival_365": s.value, "survival_low": s.low, "survival_high": s.high})
    table = pd.DataFrame(rows)
    widgets.table_with_downloads(named(table, lang),
                                 t("churn_survival_title", lang), lang, key="churn_survival",
                                 column_config=percent_config(lang, "survival_365", "survival_low", "survival_high"))
    st.caption(t("churn_median_note", lang))
    test = chosen.log_rank
    if test is not None:
        verdict = "differ" if test.p_value < 0.05 else "same"
        st.markdown(t(f"churn_log_rank_{verdict}", lang, chi=fmt_number(test.statistic, lang, 1),
                      df=fmt_int(test.df, lang), p=_p(test.p_value, lang)))


def _p(p: float, lang: str) -> str:
    return "< 0.001" if p < 0.001 else fmt_number(p, lang, 3)


def _level(column: str, value: str | None, lang: str) -> str:
    """A level of a categorical covariate of the Cox model in words (a group's name, or the level's message)."""
    if column in GROUPED:
        return group_name(column, value, lang)
    return t(f"churn_cox_level_{column}_{value or 'none'}", lang)


def _who(term: CoxTerm, lang: str) -> tuple[str, str]:
    """(who, against whom) of a term in words."""
    if term.numeric:
        return t(f"churn_cox_per_{term.column}", lang), ""
    return (t("churn_cox_who", lang, column=t(f"churn_cox_{term.column}", lang),
              level=_level(term.column, term.level, lang)),
            t("churn_cox_against", lang, level=_level(term.column, term.reference, lang)))


def short_label(term: CoxTerm, lang: str) -> str:
    """A term in a few words ("Region 东北 vs 华东", "Each complaint"), for the chart and the list of unclear ones."""
    if term.numeric:
        return t(f"churn_cox_short_{term.column}", lang)
    return t("churn_cox_short", lang, column=t(f"churn_cox_{term.column}", lang),
             level=_level(term.column, term.level, lang), reference=_level(term.column, term.reference, lang))


def drivers(view: ChurnView, lang: str) -> None:
    st.subheader(t("churn_drivers_title", lang))
    fit = view.cox
    if fit is None:
        st.info(t("churn_drivers_none", lang))
        return
    st.caption(t("churn_drivers_caption", lang, n=fmt_int(fit.n, lang), events=fmt_int(fit.events, lang),
                 population=fmt_int(view.cox_population, lang)))
    st.plotly_chart(figures.hazard_ratio_forest(fit, lang, {(k.column, k.level): short_label(k, lang)
                                                            for k in fit.terms}), config=CHART)
    lines, unclear = [], []
    for term in sorted(fit.terms, key=lambda x: x.p_value):
        words = hazard_words(term)
        who, against = _who(term, lang)
        if words.direction == "unclear":  # named together in one line: a list of "no difference" says little
            unclear.append(short_label(term, lang))
            continue
        # a slower leaving is said as a factor (1 / ratio): its interval too
        low, high = (1 / words.high, 1 / words.low) if words.direction == "slower" else (words.low, words.high)
        lines.append("- " + t(f"churn_cox_words_{words.direction}", lang, who=who, against=against,
                              factor=fmt_number(words.factor, lang, 2), low=fmt_number(low, lang, 2),
                              high=fmt_number(high, lang, 2)))
    if unclear:
        lines.append("- " + t("churn_cox_unclear_list", lang, terms=("、" if lang == "zh" else ", ").join(unclear)))
    st.markdown("\n".join(lines))
    st.caption(t("churn_drivers_caution", lang))
    for gone in fit.left_out:
        # a level is named for the notes about one level (the others are about the whole column)
        level = _level(gone.column, gone.level, lang) if gone.reason in ("rare_level", "same_customers") else ""
        st.caption(t(f"churn_left_out_{gone.reason}", lang, column=t(f"churn_cox_{gone.column}", lang), level=level,
                     events=fmt_int(gone.events, lang)))
    ph = fit.proportional_hazards
    if ph is not None:
        (st.caption if ph.holds else st.warning)(t("churn_ph_holds" if ph.holds else "churn_ph_fails", lang,
                                                   p=_p(ph.p_value, lang)))


def at_risk(risk: AtRisk, lang: str, currency: str) -> None:
    st.subheader(t("churn_at_risk_title", lang))
    if risk.problem:
        st.info(t("churn_at_risk_no_model", lang))
        return
    listed = risk.customers
    st.caption(t("churn_at_risk_caption", lang, date=fmt_date(risk.as_of, lang), window=fmt_int(risk.window, lang),
                 threshold=fmt_pct(risk.threshold, lang, 0), n=fmt_int(len(listed), lang),
                 clv=fmt_money(float(listed["clv"].sum()) if len(listed) else 0.0, lang, currency, compact=True)))
    if listed.empty:
        st.info(t("churn_at_risk_none", lang))
        return
    c1, c2 = st.columns(2)
    regions = sorted({r for r in listed["home_region"].dropna()})
    picked = c1.multiselect(t("churn_at_risk_regions", lang), regions, key="churn_at_risk_regions",
                            placeholder=t("all_values", lang))
    floor = c2.number_input(t("churn_at_risk_min_clv", lang), min_value=0.0, value=0.0, step=100.0,
                            key="churn_at_risk_min_clv")
    chosen = listed[(listed["clv"] >= floor) & (listed["home_region"].isin(picked) if picked else True)]
    st.caption(t("churn_at_risk_chosen", lang, n=fmt_int(len(chosen), lang),
                 clv=fmt_money(float(chosen["clv"].sum()), lang, currency, compact=True)))
    shown = chosen.assign(home_region=[group_name("home_region", v, lang) for v in chosen["home_region"]])
    renamed = named(shown, lang)
    customer_links.customer_table(renamed.head(customer_links.SHOWN), lang, "churn_at_risk",
                                  id_column=t("churn_col_customer_id", lang),
                                  download_stem=t("churn_at_risk_title", lang),
                                  column_config=percent_config(lang, "p_alive") | money_config(
                                      lang, currency, "clv", "monetary", "revenue"),
                                  height=380 if len(renamed) > 10 else "auto", whole=lambda: renamed)


def win_back(view: ChurnView, risk: AtRisk | None, lang: str, currency: str,
             names: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """The win-back section; ``names`` adds the customers' names to rows of the list (those shown, or the whole
    list when a download asks for it)."""
    st.subheader(t("churn_win_back_title", lang))
    back = with_flags(view.win_back, risk)
    if back.empty:
        st.info(t("churn_win_back_none", lang, window=fmt_int(view.definition.window, lang)))
        return
    days = back["days_away"]
    known = risk is not None and risk.before is not None
    note = t("churn_win_back_caption", lang, n=fmt_int(len(back), lang),
             revenue=fmt_money(float(back["revenue"].sum()), lang, currency, compact=True),
             median=fmt_int(int(days.median()), lang), q1=fmt_int(int(days.quantile(0.25)), lang),
             q3=fmt_int(int(days.quantile(0.75)), lang))
    note += " " + (t("churn_win_back_were_at_risk", lang, n=fmt_int(int(back["was_at_risk"].sum()), lang))
                   if known else t("churn_win_back_risk_unknown", lang))
    st.caption(note)
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('churn_win_back_monthly', lang)}**")
        st.plotly_chart(figures.win_back_bars(view.monthly, lang, currency), config=CHART)
    with right:
        st.markdown(f"**{t('churn_win_back_days', lang)}**")
        st.plotly_chart(figures.days_away_histogram(days, lang), config=CHART)

    def shown(rows: pd.DataFrame) -> pd.DataFrame:
        rows = names(rows)
        return named(rows.assign(returned=[d.date() for d in pd.to_datetime(rows["returned"])],
                                 home_region=[group_name("home_region", v, lang) for v in rows["home_region"]],
                                 was_at_risk=[t(f"churn_was_at_risk_{v}", lang) if v is not None else "–"
                                              for v in rows["was_at_risk"]]), lang)

    customer_links.customer_table(shown(back.head(customer_links.SHOWN)), lang, "churn_win_back",
                                  id_column=t("churn_col_customer_id", lang),
                                  download_stem=t("churn_win_back_title", lang),
                                  column_config=money_config(lang, currency, "revenue"),
                                  height=380 if len(back) > 10 else "auto", whole=lambda: shown(back))
