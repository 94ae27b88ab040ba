"""The customer value page's figures: RFM segment shares, the R x F segment map, lifetime value by
group with its 90 % interval, the spread of CLV per customer, and the holdout check.

Each builder is a pure function of a :class:`~analytics.metrics.value.ValueView` frame, the
language and the currency; the numbers drawn are the frame's (the box plot's quantiles are computed
here, from the customers' CLV, and drawn as given).
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.metrics import rfm
from analytics.metrics.value import TOP_FREQUENCY
from ui.figures.common import COMPARISON, CURRENT, layout, money_ticks
from ui.formats import fmt_int, fmt_money, fmt_number, fmt_pct
from ui.i18n import t

#: The quantiles the CLV box shows: whiskers at the 5th and 95th percentile, the box from the 25th to the 75th.
BOX_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_ACTUAL = "#e07b00"
_HEAT = [[0.0, "#f4f7fb"], [1.0, "#7ea6d8"]]


def segment_name(key: str, lang: str) -> str:
    """An RFM segment's name in the language (message ``rfm_segment_<key>``)."""
    return t(f"rfm_segment_{key}", lang)


def group_name(grouping: str, value: object, lang: str) -> str:
    """A group's label for people: an RFM segment translated, a missing region or segment named
    as such, any other value (from the data) as its text."""
    missing = value is None or (isinstance(value, float) and np.isnan(value)) or value == ""
    if grouping == "tier":  # the tier filter's tiers (the pyramid's names), or none in the period
        return t("churn_no_tier", lang) if missing else t(f"tiers_name_{value}", lang)
    if missing:
        return t("unknown_region" if grouping == "home_region" else "value_no_segment", lang)
    if grouping == "rfm_segment":
        return segment_name(str(value), lang)
    return str(value)


def _wrapped(name: str) -> str:
    """A segment name on up to two lines (a 390-px phone gives a map cell about 60 px): English at a
    space, Chinese before its last two characters (``流失风险<br>客户``)."""
    if not name.isascii():
        return name[:-2] + "<br>" + name[-2:] if len(name) > 4 else name
    words = name.split(" ")
    if len(words) < 2 or len(name) <= 10:
        return name
    half = (len(words) + 1) // 2
    return " ".join(words[:half]) + "<br>" + " ".join(words[half:])


def segment_share_bar(segments: pd.DataFrame, lang: str) -> go.Figure:
    """Each RFM segment's share of customers and share of revenue, side by side (best segment on top)."""
    df = segments.iloc[::-1]
    names = [segment_name(k, lang) for k in df["rfm_segment"]]
    fig = go.Figure()
    for column, color in (("customer_share", COMPARISON), ("revenue_share", CURRENT)):
        fig.add_bar(x=df[column], y=names, orientation="h", name=t(f"value_col_{column}", lang), marker_color=color,
                    text=[fmt_pct(v, lang) for v in df[column]], textposition="outside", cliponaxis=False,
                    hovertemplate="%{y}: %{text}<extra>" + t(f"value_col_{column}", lang) + "</extra>")
    high = float(np.nanmax(df[["customer_share", "revenue_share"]].to_numpy())) if len(df) else 0.0
    ticks = [i / 10 for i in range(int(np.ceil(max(high, 0.01) * 10)) + 1)]
    fig.update_xaxes(tickvals=ticks, ticktext=[fmt_pct(v, lang, 0) for v in ticks], range=[0, ticks[-1] * 1.18],
                     showgrid=True, gridcolor="#eef0f3")
    fig.update_layout(barmode="group", bargap=0.25, hovermode="closest")
    return layout(fig, 36 * len(df) + 90)


def segment_map_heatmap(grid: pd.DataFrame, lang: str) -> go.Figure:
    """The R x F grid: customers per recency score (rows, 5 on top) and frequency score (columns 1-5),
    each cell labelled with its count and its segment's name (:data:`analytics.metrics.rfm.SEGMENT_GRID`)."""
    rows, columns = [int(r) for r in grid.index], [int(f) for f in grid.columns]
    counts = grid.to_numpy(dtype=float)
    where = f"{t('value_axis_r', lang)} %{{customdata[0]}} · {t('value_axis_f', lang)} %{{customdata[1]}}"
    labels = [[f"<b>{fmt_int(counts[i, j], lang)}</b><br>{_wrapped(segment_name(rfm.SEGMENT_GRID[r][f - 1], lang))}"
               for j, f in enumerate(columns)] for i, r in enumerate(rows)]
    fig = go.Figure(go.Heatmap(
        z=counts, x=[f"F{f}" for f in columns], y=[f"R{r}" for r in rows], text=labels, texttemplate="%{text}",
        customdata=[[[r, f] for f in columns] for r in rows],
        textfont={"size": 10, "color": "#1d2733"}, colorscale=_HEAT, showscale=False, xgap=2, ygap=2,
        hovertemplate=where + "<br>%{text}<extra></extra>",
    ))
    # the axes say R1..R5 and F1..F5; the chart's title says what the letters are
    fig.update_xaxes(side="bottom", type="category")
    fig.update_yaxes(type="category", autorange="reversed", gridcolor="white")
    fig.update_layout(hovermode="closest")
    return layout(fig, 400)


def clv_by_group_bar(frame: pd.DataFrame, grouping: str, lang: str, currency: str = "CNY") -> go.Figure:
    """Lifetime value per group (``value_view(...).by_group[grouping]``) as horizontal bars, largest on
    top, with the 90 % interval as error bars."""
    df = frame.sort_values("clv", ascending=True)
    names = [html.escape(group_name(grouping, g, lang), quote=False) for g in df["group"]]
    clv, low, high = (df[c].to_numpy(dtype=float) for c in ("clv", "clv_low", "clv_high"))
    text = [fmt_money(v, lang, currency, compact=True) for v in clv]
    hover = [t("value_interval", lang, low=fmt_money(lo, lang, currency, compact=True),
               high=fmt_money(hi, lang, currency, compact=True)) for lo, hi in zip(low, high, strict=True)]
    fig = go.Figure(go.Bar(
        x=clv, y=names, orientation="h", marker_color=CURRENT, text=text, textposition="inside",
        insidetextanchor="start", customdata=hover,
        error_x={"type": "data", "symmetric": False, "array": np.maximum(high - clv, 0),
                 "arrayminus": np.maximum(clv - low, 0), "color": "#1d2733", "thickness": 1.5, "width": 4},
        hovertemplate="%{y}: %{text}<br>%{customdata}<extra></extra>",
    ))
    values, labels = money_ticks(float(np.nanmax(high)) if len(df) else 0.0, lang, currency, count=4)
    fig.update_xaxes(tickvals=values, ticktext=labels, showgrid=True, gridcolor="#eef0f3",
                     range=[min(0.0, float(np.nanmin(low)) if len(df) else 0.0), values[-1] * 1.02])
    fig.update_layout(hovermode="closest")
    return layout(fig, max(200, 40 * len(df) + 50))


def clv_quantiles(customers: pd.DataFrame, grouping: str) -> pd.DataFrame:
    """Per group: customers and the CLV quantiles :data:`BOX_QUANTILES` (``q05 .. q95``), largest median first."""
    groups = customers[grouping].fillna("")
    table = customers.groupby(groups)["clv"].quantile(list(BOX_QUANTILES)).unstack()
    table.columns = [f"q{round(q * 100):02d}" for q in BOX_QUANTILES]
    table.insert(0, "customers", customers.groupby(groups).size())
    table = table.rename_axis("group").reset_index()
    table["group"] = table["group"].replace("", None)
    return table.sort_values(["q50", "customers"], ascending=False, ignore_index=True)


def clv_distribution_box(customers: pd.DataFrame, grouping: str, lang: str, currency: str = "CNY") -> go.Figure:
    """The spread of CLV per customer in each group: a box from the 25th to the 75th percentile with
    the median, whiskers from the 5th to the 95th (:func:`clv_quantiles`; highest median on top)."""
    q = clv_quantiles(customers, grouping).iloc[::-1]
    names = [html.escape(group_name(grouping, g, lang), quote=False) for g in q["group"]]
    hover = [" · ".join(f"{label} {fmt_money(row[c], lang, currency, compact=True)}"
                        for label, c in (("P5", "q05"), ("P25", "q25"), (t("value_median", lang), "q50"),
                                         ("P75", "q75"), ("P95", "q95")))
             for _, row in q.iterrows()]
    fig = go.Figure(go.Box(
        y=names, q1=q["q25"], median=q["q50"], q3=q["q75"], lowerfence=q["q05"], upperfence=q["q95"],
        orientation="h", marker_color=CURRENT, fillcolor="rgba(31, 95, 174, 0.25)", line={"width": 1.5},
        hoverinfo="skip", name="",
    ))
    fig.add_scatter(x=q["q50"], y=names, mode="markers", marker={"size": 1, "opacity": 0}, customdata=hover,
                    hovertemplate="%{y}<br>%{customdata}<extra></extra>", showlegend=False)
    high = float(q["q95"].max()) if len(q) else 0.0
    values, labels = money_ticks(high, lang, currency, count=4)
    fig.update_xaxes(tickvals=values, ticktext=labels, showgrid=True, gridcolor="#eef0f3",
                     range=[min(0.0, float(q["q05"].min()) if len(q) else 0.0), values[-1] * 1.02])
    fig.update_layout(showlegend=False, hovermode="closest")
    return layout(fig, max(200, 40 * len(q) + 50))


def frequency_label(frequency: int, lang: str) -> str:
    """A calibration-frequency group's label: ``0`` .. ``6``, and ``7+`` for the top group."""
    del lang  # the same in both languages
    return f"{frequency}+" if frequency >= TOP_FREQUENCY else str(frequency)


def holdout_bars(table: pd.DataFrame, lang: str) -> go.Figure:
    """The holdout check (``value_view(...).holdout.table``): mean purchase days per customer in the
    holdout, actual (bars) and predicted (line), by repeat purchase days before it (0 .. 7+)."""
    x = [frequency_label(int(f), lang) for f in table["frequency"]]
    counts = [t("value_n_customers", lang, n=fmt_int(n, lang)) for n in table["customers"]]
    fig = go.Figure()
    fig.add_bar(x=x, y=table["actual"], name=t("value_holdout_actual", lang), marker_color=_ACTUAL,
                customdata=counts, text=[fmt_number(v, lang, 2) for v in table["actual"]],
                hovertemplate="%{x}: %{text} (%{customdata})<extra>" + t("value_holdout_actual", lang) + "</extra>")
    fig.add_scatter(x=x, y=table["predicted"], name=t("value_holdout_predicted", lang), mode="lines+markers",
                    line={"color": CURRENT, "width": 3}, marker={"size": 8},
                    text=[fmt_number(v, lang, 2) for v in table["predicted"]],
                    hovertemplate="%{x}: %{text}<extra>" + t("value_holdout_predicted", lang) + "</extra>")
    fig.update_traces(textposition="none", selector={"type": "bar"})
    fig.update_xaxes(title_text=t("value_axis_calibration_frequency", lang), type="category", tickangle=0)
    fig.update_yaxes(title_text=t("value_axis_holdout_purchases", lang), rangemode="tozero")
    return layout(fig, 340)
