"""The overview's figures: the revenue trend and revenue by region."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from ui.dates import fmt_month
from ui.figures.common import COMPARISON, CURRENT, change_colors, layout, money_ticks, month_ticks
from ui.formats import fmt_money, fmt_pct
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
