"""The funnel page's sections, each drawing one part of a :class:`~analytics.metrics.funnel_view.FunnelView`: the
settings (the order switch, N, W and the stuck threshold, kept in the address: ``?order=any&loyal_min=4``), which
funnel and its definitions, the key figures and the biggest leak in a sentence, the funnel with its table, each
step per group, the days between stages and the stuck customers (downloadable, each opening the customer detail).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analytics.metrics.funnel import ORDERS, SMALL_START, STUCK_PERCENTILE, WIDE
from analytics.metrics.funnel_stages import BY_KEY
from analytics.metrics.funnel_view import LOYAL_MIN, ORDER, FunnelView
from analytics.pages import Page
from ui import customer_links, page_options, widgets
from ui import funnel_leads_sections as leads_sections
from ui.dates import fmt_date, fmt_period
from ui.figures import funnel as figures
from ui.formats import fmt_delta_pct, fmt_delta_points, fmt_int, fmt_number, fmt_pct, is_missing
from ui.i18n import md_literal, t
from ui.satisfaction_sections import BREAK, tile

CHART = {"displayModeBar": False}
#: The order switch's widget (its value is the address's ``order``).
ORDER_KEY = "funnel_order"
#: The settings' number widgets: each option's key, its default shown (None: derived, the box left empty), its step.
NUMBERS = {"loyal_min": ("funnel_loyal_min", LOYAL_MIN, 1), "window_days": ("funnel_window_days", None, 30),
           "stuck_days": ("funnel_stuck_days", None, 10)}
#: The source option's widget (comma-separated sources; the address's ``source``).
SOURCE_KEY = "funnel_source"
#: The columns shown as percentages (messages ``funnel_col_<column>``).
SHARES = frozenset({"pct_previous", "pct_first", "conversion", "low", "high", "compare_pct_first", "rate"})


def kt(key: str, view: FunnelView, lang: str, **values: object) -> str:
    """The message ``key`` for the view's funnel: ``<key>_leads`` for the leads funnel (it counts leads, not
    customers), else ``key``."""
    return t(f"{key}_leads" if view.kind == "leads" else key, lang, **values)


def group_title(view: FunnelView, grouping: str, lang: str) -> str:
    """A grouping's name for the view's funnel (a lead's region and source are not a customer's)."""
    return kt(f"funnel_group_{grouping}", view, lang)


def stage_name(key: str, lang: str) -> str:
    return BY_KEY[key].name(lang)


def names(view: FunnelView, lang: str) -> dict[str, str]:
    """Every stage's name in the language, by key."""
    return {k: stage_name(k, lang) for k in view.stages}


def step_name(before: str, after: str, lang: str) -> str:
    return f"{stage_name(before, lang)} → {stage_name(after, lang)}"


def group_label(grouping: str, value: object, lang: str) -> str:
    """A group for people: its value from the data as it is, or what a missing one means."""
    return t(f"funnel_no_{grouping}", lang) if is_missing(value) or value == "" else str(value)


def show_table(frame: pd.DataFrame, title: str, key: str, lang: str) -> None:
    """A chart's table (columns named for people, shares as percentages) in an expander, with its downloads."""
    shown, config = widgets.named_columns(frame, "funnel_col_", lang, "CNY", SHARES, frozenset())
    widgets.table_with_downloads(shown, title, lang, key=key, column_config=config)


# ---------------------------------------------------------------------------------------------- the settings


def settings(page: Page, lang: str, values: dict[str, Any], refused: list[str]) -> dict[str, Any]:
    """The order switch (stated under it), then N, W and the stuck threshold in an expander (open when the link set
    one or gave a value it refuses, which is said), all kept in the address; the options for the loader (those not
    at their default)."""
    if values.get("order", ORDER) not in ORDERS:
        refused.append("order")  # (a text option: any text parses; only strict and any are orders)
        del values["order"]
    page_options.warn_refused(refused, lang, "funnel")
    page_options.seed(ORDER_KEY, values.get("order", ORDER))
    order = st.radio(t("funnel_setting_order", lang), ORDERS, key=ORDER_KEY, horizontal=True,
                     format_func=lambda o: t(f"funnel_order_{o}", lang), help=t("funnel_setting_order_help", lang))
    st.caption(t(f"funnel_order_{order}_rule", lang))
    chosen: dict[str, Any] = {"order": None if order == ORDER else order}
    page_options.put(page, "order", chosen["order"])
    others = (set(values) | set(refused)) - {"order"}
    with st.expander(t("funnel_settings_title", lang), expanded=bool(others)):
        for col, (name, (key, default, step)) in zip(st.columns(len(NUMBERS)), NUMBERS.items(), strict=True):
            page_options.seed(key, values.get(name, default))
            option = page.option(name)
            shown = fmt_int(default, lang)
            value = col.number_input(t(f"funnel_setting_{name}", lang), min_value=option.low, max_value=option.high,
                                     value=None, step=step, key=key,
                                     help=t(f"funnel_setting_{name}_help", lang, default=shown),
                                     placeholder=t(f"funnel_setting_{name}_empty", lang, default=shown))
            chosen[name] = None if value is None or int(value) == default else int(value)
            page_options.put(page, name, chosen[name])
        page_options.seed(SOURCE_KEY, values.get("source", ""))
        text = st.text_input(t("funnel_setting_source", lang), key=SOURCE_KEY,
                             help=t("funnel_setting_source_help", lang),
                             placeholder=t("funnel_setting_source_empty", lang))
        chosen["source"] = text.strip() or None
        page_options.put(page, "source", chosen["source"])
    return {k: v for k, v in chosen.items() if v is not None}


def definition(view: FunnelView, lang: str) -> None:
    """Which funnel and why, and its definitions in use (cohort, as-of day, stages with N and W, where W comes
    from)."""
    f, scope = view.funnel, view.scope
    if view.kind == "leads":
        st.info(leads_sections.definition(view, lang), icon=":material/rule:")
        leads_sections.mapping(view, lang)
        return
    text = t(f"funnel_which_{view.kind}_{view.why}", lang) + "  \n" + t(
        f"funnel_definition_{view.kind}", lang, period=fmt_period(scope.start, scope.end, lang),
        as_of=fmt_date(f.as_of, lang), n=fmt_int(view.loyal_min, lang), w=fmt_int(view.window_days, lang))
    if view.sources:
        text += " " + t("funnel_channels_kept", lang, sources=leads_sections.sep(lang).join(
            md_literal(s) for s in view.sources))
    st.info(text + " " + t(f"funnel_window_{view.window_source}", lang, w=fmt_int(view.window_days, lang)),
            icon=":material/rule:")
    if scope.channels:
        st.caption(t("funnel_channel_ignored", lang))


# ---------------------------------------------------------------------------------------------- key figures


def _members_delta(view: FunnelView, lang: str) -> str | None:
    if view.comparison is None or not int(view.comparison["members"].iloc[0]):
        return None
    before = int(view.comparison["members"].iloc[0])
    return fmt_delta_pct((view.members - before) / before, lang)


def tiles(view: FunnelView, lang: str, compare_label: str | None) -> None:
    """The cohort, the overall conversion (with its interval) and the biggest leak; the cohort and the conversion
    beside the comparison period's, with the change."""
    compare, last = view.scope.compare, stage_name(view.stages[-1], lang)
    before, change = view.comparison_overall, view.overall_change
    c1, c2, c3 = st.columns(3)
    lines = [t("funnel_kpi_members_note", lang, stage=stage_name(view.stages[0], lang))]
    if view.comparison is not None and compare_label:
        lines.append(t("kpi_previous_value", lang, period=compare_label,
                       value=fmt_int(int(view.comparison["members"].iloc[0]), lang)))
    with c1:
        tile(t("funnel_kpi_members", lang), fmt_int(view.members, lang), BREAK.join(lines),
             kt("funnel_kpi_members_help", view, lang), lang, _members_delta(view, lang), compare)
    value, low, high = view.overall
    lines = [t("funnel_kpi_overall_note", lang, k=fmt_int(int(view.funnel.counts["members"].iloc[-1]), lang),
               n=fmt_int(view.members, lang), stage=last) + " · " + t("ci95", lang, low=fmt_pct(low, lang),
                                                                       high=fmt_pct(high, lang))]
    if before is not None and compare_label:
        lines.append(t("kpi_previous_value", lang, period=compare_label, value=fmt_pct(before[0], lang)))
    with c2:
        tile(t("funnel_kpi_overall", lang), fmt_pct(value, lang), BREAK.join(lines),
             t("funnel_kpi_overall_help", lang, stage=last), lang,
             None if change is None or np.isnan(change) else fmt_delta_points(change, lang), compare)
    leak = view.funnel.leak
    with c3:
        tile(t("funnel_kpi_leak", lang), fmt_pct(leak.lost_share, lang) if leak else "–",
             t("funnel_kpi_leak_note", lang, step=step_name(leak.from_stage, leak.to_stage, lang),
               lost=fmt_int(leak.lost, lang), start=fmt_int(leak.start, lang)) if leak else "",
             kt("funnel_kpi_leak_help", view, lang), lang)


def leak_sentence(view: FunnelView, lang: str) -> str | None:
    """The biggest leak in a sentence ("首次购买 → 重复购买 流失 48.4%，华南 最严重（54.2%）"), or None."""
    leak = view.funnel.leak
    if leak is None:
        return None
    parts = {"before": stage_name(leak.from_stage, lang), "after": stage_name(leak.to_stage, lang),
             "lost": fmt_pct(leak.lost_share, lang)}
    if leak.region is None:
        return kt("funnel_leak_no_region", view, lang, **parts)
    return t("funnel_leak", lang, region=md_literal(leak.region), region_lost=fmt_pct(leak.region_lost_share, lang),
             **parts)


# ---------------------------------------------------------------------------------------------- the funnel


def stage_table(view: FunnelView, lang: str) -> pd.DataFrame:
    """Each stage's members, both percentages, the step's conversion with its interval, and the comparison
    period's members and % of the first."""
    c = view.funnel.counts
    table = c.assign(stage=[stage_name(k, lang) for k in c["stage"]])[
        ["stage", "members", "pct_previous", "pct_first", "continued", "conversion", "low", "high"]]
    if view.comparison is not None:
        table = table.assign(compare_members=view.comparison["members"].to_numpy(),
                             compare_pct_first=view.comparison["pct_first"].to_numpy())
    if view.kind == "leads":  # (it counts leads, not customers)
        table = table.rename(columns={"members": "leads", "compare_members": "compare_leads"})
    return table


def stages(view: FunnelView, lang: str, compare_label: str | None) -> None:
    st.subheader(t("funnel_stages_title", lang))
    st.caption(kt("funnel_stages_caption", view, lang, order=t(f"funnel_order_{view.order}", lang)))
    leak = view.funnel.leak
    st.plotly_chart(figures.funnel_bars(view.funnel.counts, names(view, lang), lang, leak.step if leak else None),
                    config=CHART)
    if view.comparison is not None and compare_label:
        before = view.comparison_overall
        st.caption(kt("funnel_comparison_note", view, lang, period=compare_label,
                     n=fmt_int(int(view.comparison["members"].iloc[0]), lang),
                     as_of=fmt_date(view.comparison_as_of, lang), overall=fmt_pct(before[0], lang),
                     change=fmt_delta_points(view.overall_change, lang)))
    show_table(stage_table(view, lang), t("funnel_stages_title", lang), "funnel_stages", lang)


# ---------------------------------------------------------------------------------------------- by group


def groups(view: FunnelView, lang: str) -> None:
    """One step's conversion per group of the chosen grouping, weakest first, small groups marked and not ranked;
    the table has every step."""
    st.subheader(t("funnel_groups_title", lang))
    compare = view.funnel.compare
    c1, c2 = st.columns(2)
    grouping = c1.radio(t("funnel_group_by", lang), list(compare), key="funnel_group_by", horizontal=True,
                        format_func=lambda g: group_title(view, g, lang))
    steps = list(range(1, len(view.stages)))
    leak = view.funnel.leak
    step = c2.selectbox(t("funnel_step", lang), steps, index=(leak.step - 1) if leak else 0, key="funnel_step",
                        format_func=lambda i: step_name(view.stages[i - 1], view.stages[i], lang))
    st.caption(kt("funnel_groups_caption", view, lang, min=fmt_int(SMALL_START, lang),
                  wide=fmt_number(100 * WIDE, lang, 0)))
    frame = compare[grouping].assign(label=lambda f: [group_label(grouping, g, lang) for g in f["group"]])
    overall = float(view.funnel.counts["conversion"].iloc[step])
    st.plotly_chart(figures.group_conversion_dots(frame[frame["step"] == step], lang, overall), config=CHART)
    table = frame.assign(step=[step_name(a, b, lang) for a, b in zip(frame["from_stage"], frame["to_stage"],
                                                                       strict=True)],
                         group=frame["label"], small=[t("funnel_too_few", lang) if s else "" for s in frame["small"]])
    show_table(table[["step", "group", "start", "reached", "rate", "low", "high", "small", "rank"]],
               f"{t('funnel_groups_title', lang)} {group_title(view, grouping, lang)}", "funnel_groups", lang)


# ---------------------------------------------------------------------------------------------- stage times


def times(view: FunnelView, lang: str) -> None:
    st.subheader(t("funnel_times_title", lang))
    frame = view.times
    st.caption(kt("funnel_times_caption", view, lang))
    if frame.empty or not frame["n"].any():
        st.info(kt("funnel_times_none", view, lang))
        return
    st.plotly_chart(figures.stage_times_ranges(frame, names(view, lang), lang), config=CHART)
    table = frame.assign(from_stage=[stage_name(k, lang) for k in frame["from_stage"]],
                         to_stage=[stage_name(k, lang) for k in frame["to_stage"]])
    show_table(table, t("funnel_times_title", lang), "funnel_times", lang)


# ---------------------------------------------------------------------------------------------- stuck


def threshold_text(view: FunnelView, lang: str) -> str:
    """Each stage's stuck threshold and where it comes from, in one line."""
    parts = []
    for row in view.thresholds.itertuples():
        how = t(f"funnel_threshold_{row.how}", lang, pct=fmt_int(STUCK_PERCENTILE, lang)) if row.how else \
            t("funnel_threshold_none", lang)
        days = fmt_number(row.threshold, lang, 1)
        parts.append(t("funnel_threshold", lang, stage=stage_name(row.stage, lang), days=days, how=how))
    return ("；" if lang == "zh" else "; ").join(parts)  # (as the language punctuates a list)


def _dates(column: pd.Series) -> list:
    return [None if pd.isna(d) else pd.Timestamp(d).date() for d in column]


def stuck(view: FunnelView, lang: str, with_names: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """The stuck customers, longest waiting first (each opening the customer detail), with their thresholds; all
    of them in the downloads. ``with_names``: the frame with the customers' names (a loader). The leads funnel's:
    :func:`ui.funnel_leads_sections.stuck`."""
    if view.kind == "leads":
        leads_sections.stuck(view, lang, group_label, t("funnel_stuck_caption_leads", lang,
                                                         thresholds=threshold_text(view, lang)))
        return
    st.subheader(t("funnel_stuck_title", lang))
    st.caption(t(f"funnel_stuck_caption_{view.kind}", lang, thresholds=threshold_text(view, lang)))
    frame = view.funnel.stuck
    if frame.empty:
        st.info(t(f"funnel_stuck_none_{view.kind}", lang, w=fmt_int(view.window_days, lang)))
        return
    groups = [g for g in view.funnel.compare if g in frame.columns]
    rows = frame.rename(columns={"member_id": "customer_id"}).assign(
        stage=[stage_name(k, lang) for k in frame["stage"]], next_stage=[stage_name(k, lang) for k in
                                                                         frame["next_stage"]],
        day=_dates(frame["day"]), entered=_dates(frame["entered"]),
        **{g: [group_label(g, v, lang) for v in frame[g]] for g in groups})
    flags = [c for c in ("active",) if c in frame.columns]  # (the lifecycle funnel's: still active or lapsed)
    rows = with_names(rows)[["customer_id", "customer_name", "stage", "next_stage", "day", "days_in_stage",
                             "threshold", "entered", *flags, *groups]]
    st.caption(t("funnel_stuck_count", lang, n=fmt_int(len(rows), lang)))
    shown, config = widgets.named_columns(rows, "funnel_col_", lang, "CNY", SHARES, frozenset())
    customer_links.customer_table(shown.head(customer_links.SHOWN), lang, "funnel_stuck",
                                  id_column=t("funnel_col_customer_id", lang), column_config=config,
                                  download_stem=t("funnel_stuck_download", lang),
                                  height=380 if len(rows) > 10 else "auto", whole=lambda: shown)


def definitions(view: FunnelView, lang: str) -> None:
    """Every definition the page uses, in an expander."""
    with st.expander(t("funnel_definitions_title", lang)):
        st.markdown(t(f"funnel_definitions_{view.kind}", lang, n=fmt_int(view.loyal_min, lang),
                      w=fmt_int(view.window_days, lang) if view.window_days else "–", min=fmt_int(SMALL_START, lang),
                      wide=fmt_number(100 * WIDE, lang, 0), pct=fmt_int(STUCK_PERCENTILE, lang)))
