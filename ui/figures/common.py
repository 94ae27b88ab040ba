"""What every page's figures share: the palette, the colour of a rise, the layout, axis ticks.

Figure builders are pure functions from a view model's table (and the language) to a
Plotly Figure, named ``<metric>_<chart>``, one module per page (``ui/figures/<page>.py``).
Labels and numbers are formatted for the language; a figure carries no data the table
next to it does not show.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from ui.dates import fmt_month_short, fmt_year
from ui.formats import currency_symbol, fmt_money, fmt_number

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


def layout(fig: go.Figure, height: int) -> go.Figure:
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
            return currency_symbol(currency) + fmt_number(v, lang)
        return fmt_money(v, lang, currency, compact=True)

    return values, [label(v) for v in values]


def month_ticks(months: list, lang: str) -> list[str]:
    """Short month labels for a time axis: the year only on the first month and on each
    January, on a second line (``"Nov<br>2025"``, ``"Dec"``, ``"Jan<br>2026"``; zh
    ``"11月<br>2025年"``), so twelve or more months fit a phone without slanting."""
    out = []
    for i, m in enumerate(months):
        name = fmt_month_short(m, lang)
        if i == 0 or m.month == 1:
            name += "<br>" + fmt_year(m, lang)
        out.append(name)
    return out
