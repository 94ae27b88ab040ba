"""The overview's figures: the revenue trend and revenue by region (Plotly), and the funnel in miniature (a few
lines of HTML: bars that read on a 390-px phone without a chart's weight)."""

from __future__ import annotations

import html
from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from ui.dates import fmt_month
from ui.figures.common import COMPARISON, CURRENT, change_colors, layout, money_ticks, month_ticks
from ui.formats import fmt_int, fmt_money, fmt_pct
from ui.i18n import t


def revenue_trend_line(trend: pd.DataFrame, lang: str, currency: str = "CNY") -> go.Figure:
    """Monthly revenue of the period as a line, the comparison period dashed beneath it,
    aligned by position in the period (month 1 with month 1); hover shows both months."""
    fig = go.Figure()
    current = trend[trend["period"] == "current"]
    labels = month_ticks(list(current["month"]), lang)
    by_position = dict(zip(current["position"], labels, strict=True))
    for period, color, dash in (("comparison", COMPARISON, "dash"), ("current", CURRENT, "solid")):
        part = trend[trend["period"] == period]
        if part.empty:
            continue
        months = [fmt_month(m, lang) for m in part["month"]]
        fig.add_scatter(
            x=[by_position[p] for p in part["position"]], y=part["revenue"],
            name=t(f"trend_{period}", lang), mode="lines+markers",
            line={"color": color, "width": 3 if period == "current" else 2, "dash": dash},
            customdata=[[m, fmt_money(v, lang, currency, compact=True)] for m, v in zip(months, part["revenue"],
                                                                                         strict=True)],
            hovertemplate="%{customdata[0]}: %{customdata[1]}<extra></extra>",
        )
    values, labels = money_ticks(float(trend["revenue"].max()) if len(trend) else 0.0, lang, currency)
    fig.update_yaxes(tickvals=values, ticktext=labels, range=[0, values[-1] * 1.02])
    fig.update_xaxes(tickangle=0, type="category")
    return layout(fig, 320)


def revenue_by_region_bar(by_region: pd.DataFrame, lang: str, currency: str = "CNY") -> go.Figure:
    """Revenue per region as horizontal bars (largest on top), labelled with the amount and,
    when there is a comparison, the change."""
    df = by_region.sort_values("revenue", ascending=True)
    # Plotly reads a few HTML tags in labels (<a href>, <b>, <br>): a name from the data is text
    names = [html.escape(r, quote=False) if r else t("unknown_region", lang) for r in df["region"]]
    has_change = df["change"].notna().any()
    text = []
    for value, change in zip(df["revenue"], df["change"], strict=True):
        label = fmt_money(value, lang, currency, compact=True)
        if has_change and pd.notna(change):
            label += f"  ({'+' if change > 0 else ''}{fmt_pct(change, lang)})"
        text.append(label)
    up, down = change_colors(lang)
    colors = [CURRENT if not has_change or pd.isna(c) else (up if c >= 0 else down) for c in df["change"]]
    fig = go.Figure(go.Bar(
        x=df["revenue"], y=names, orientation="h", marker_color=colors, text=text, textposition="auto",
        hovertemplate="%{y}: %{text}<extra></extra>",
    ))
    values, labels = money_ticks(float(df["revenue"].max()) if len(df) else 0.0, lang, currency, count=4)
    fig.update_xaxes(tickvals=values, ticktext=labels, showgrid=True, gridcolor="#eef0f3")
    return layout(fig, max(220, 44 * len(df) + 40))


def funnel_mini_bars(stages: pd.DataFrame, names: Mapping[str, str], lang: str) -> str:
    """The funnel in miniature as HTML (for ``st.html``): one row per stage of ``stages`` (columns ``stage``,
    ``members``, ``pct_previous``, ``pct_first``: :data:`analytics.metrics.overview_funnel.COLUMNS`), its name and
    count on a line, its % of the first stage after the count (not on the first), a bar as long as that share
    beneath; % of the previous stage in the row's tooltip. Names (``names``: by stage key) are text, never markup.
    The bar has the brand colour on a grey track that shows on a light and a dark background alike."""
    rows = []
    for i, row in enumerate(stages.itertuples()):
        name = html.escape(names[row.stage], quote=True)
        share = 0.0 if pd.isna(row.pct_first) else max(0.0, min(1.0, float(row.pct_first)))
        first = html.escape(t("funnel_fig_pct_first", lang, pct=fmt_pct(row.pct_first, lang)))
        previous = html.escape(t("funnel_fig_pct_previous", lang, pct=fmt_pct(row.pct_previous, lang)), quote=True)
        note = "" if i == 0 else f" <span style='opacity:.7;font-size:.85em'>· {first}</span>"
        tip = name if i == 0 else f"{name}: {previous}"
        rows.append(
            f"<div role='listitem' title='{tip}' style='margin:0 0 .6rem'>"
            "<div style='display:flex;justify-content:space-between;align-items:baseline;gap:.5rem;"
            "flex-wrap:wrap;line-height:1.35'>"
            f"<span>{name}</span><span style='white-space:nowrap'><b>{fmt_int(row.members, lang)}</b>{note}</span>"
            "</div>"
            "<div style='height:.6rem;margin-top:.2rem;border-radius:.3rem;background:rgba(128,128,128,.18)'>"
            f"<div style='height:100%;width:{100 * share:.2f}%;border-radius:.3rem;background:{CURRENT}'></div>"
            "</div></div>")
    label = html.escape(t("overview_funnel_bars_label", lang), quote=True)
    return f"<div role='list' aria-label='{label}' style='margin:.25rem 0 .5rem'>{''.join(rows)}</div>"
