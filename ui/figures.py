"""Plotly figure builders: pure functions from a DataFrame (and the language) to a Figure.

Names follow ``<metric>_<chart>``. Labels and numbers are formatted for the language; the
figures carry no data the table next to them does not show.
"""

from __future__ import annotations

import html
import math

import pandas as pd
import plotly.graph_objects as go

from ui.i18n import currency_symbol, fmt_money, fmt_month, fmt_pct, t

#: One calm palette for every page: the period in the brand blue, the comparison in grey.
CURRENT = "#1f5fae"
COMPARISON = "#9aa5b1"
GREEN = "#1a7f4b"
RED = "#c0392b"
_FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, Helvetica, Arial, sans-serif"


def rises_red(lang: str) -> bool:
    """Whether a rise is shown in red: for Chinese readers, as on every Chinese market
    screen (and a fall in green); English readers see the other way round."""
    return lang == "zh"


def change_colors(lang: str) -> tuple[str, str]:
    """(rise, fall) colours in the language's convention (:func:`rises_red`)."""
    return (RED, GREEN) if rises_red(lang) else (GREEN, RED)


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        height=height, margin={"l": 8, "r": 8, "t": 8, "b": 8}, font={"family": _FONT, "size": 13},
        plot_bgcolor="white", paper_bgcolor="white", hovermode="x unified",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
    )
    fig.update_xaxes(showgrid=False, linecolor="#d0d5db")
    fig.update_yaxes(gridcolor="#eef0f3", zeroline=False)
    return fig


def money_ticks(high: float, lang: str, currency: str, count: int = 5) -> tuple[list[float], list[str]]:
    """Round tick values from 0 to at least ``high`` and their labels in the language's
    units (万/亿 in Chinese, K/M in English), for a money axis."""
    if not high or high <= 0 or math.isnan(high):
        return [0.0], ["0"]
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    values = [i * step for i in range(math.ceil(high / step) + 1)]
    def label(v: float) -> str:
        if v == 0:
            return "0"
        if v < 1000:
            return f"{currency_symbol(currency)}{v:g}"
        return fmt_money(v, lang, currency, compact=True)

    return values, [label(v) for v in values]


def month_ticks(months: list, lang: str) -> list[str]:
    """Short month labels for a time axis: the year only on the first month and on each
    January, on a second line (``"Nov<br>2025"``, ``"Dec"``, ``"Jan<br>2026"``; zh
    ``"11月<br>2025年"``), so twelve or more months fit a phone without slanting."""
    out = []
    for i, m in enumerate(months):
        name = f"{m.month}月" if lang == "zh" else fmt_month(m, lang).split(" ")[0]
        if i == 0 or m.month == 1:
            name += f"<br>{m.year}年" if lang == "zh" else f"<br>{m.year}"
        out.append(name)
    return out


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
    return _layout(fig, 320)


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
    return _layout(fig, max(220, 44 * len(df) + 40))
