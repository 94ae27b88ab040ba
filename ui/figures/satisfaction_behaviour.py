"""The satisfaction & loyalty page's figures on what customers do: complaints by category, how long complaints stay
open (the Kaplan–Meier curve of days to resolve against the target) and the customers by purchase days in the year
(who counts as loyal). The monthly figures and the groups use :func:`ui.figures.satisfaction.series_line` and
:func:`~ui.figures.satisfaction.group_dots`. Pure functions of the view's frames and the language."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ui.figures.common import COMPARISON, CURRENT, layout
from ui.figures.satisfaction import GREY, HOVER, INK, LOYAL_COLOR, ci, empty, escape, group_ticks, rgba, value_axis
from ui.formats import fmt_int, fmt_number, fmt_pct
from ui.i18n import t

#: The days-to-resolve axis ends here unless the target is later (the curve's long tail is in its table).
RESOLUTION_DAYS = 90


def category_bars(categories: pd.DataFrame, lang: str) -> go.Figure:
    """The period's complaints per category (``categories``: the view's table with each category's name in
    ``label``; the most first) as bars with their share; under the name the share resolved within target and those
    still open; the comparison period's complaints a grey diamond; a category whose within-target share is too
    few to trust marked and its bar faded."""
    rows = categories[(categories["complaints"] > 0) | (categories["compare_complaints"] > 0)]
    if rows.empty:
        return empty(lang)
    names = [escape(c) for c in rows["label"]]
    small = rows["small"].to_numpy(dtype=bool)
    few = t("satisfaction_fig_too_few", lang)
    notes = [t("satisfaction_fig_category_note", lang, within=fmt_pct(w, lang), open=fmt_int(o, lang))
             + (f" · {few}" if s else "") for w, o, s in zip(rows["within_share"], rows["open"], small, strict=True)]
    hover = [f"{n}: <b>{fmt_int(k, lang)}</b> ({fmt_pct(sh, lang)})<br>"
             + t("satisfaction_fig_category_within", lang, within=fmt_pct(w, lang), due=fmt_int(d, lang))
             + f" · {ci(lo, hi, 'share', lang)}<br>"
             + t("satisfaction_fig_category_before", lang, n=fmt_int(b, lang))
             for n, k, sh, w, d, lo, hi, b in zip(names, rows["complaints"], rows["share"], rows["within_share"],
                                                  rows["due"], rows["within_low"], rows["within_high"],
                                                  rows["compare_complaints"], strict=True)]
    fig = go.Figure(go.Bar(
        x=rows["complaints"], y=names, orientation="h", name=t("satisfaction_fig_this_period", lang),
        marker={"color": [rgba(CURRENT, 0.35 if s else 1.0) for s in small]}, customdata=hover,
        hovertemplate=HOVER, text=[f"{fmt_int(k, lang)} ({fmt_pct(sh, lang, 0)})" for k, sh in zip(
            rows["complaints"], rows["share"], strict=True)], textposition="outside", cliponaxis=False,
        textfont={"size": 11, "color": INK}))
    fig.add_scatter(x=rows["compare_complaints"], y=names, mode="markers", name=t("satisfaction_fig_comparison", lang),
                    customdata=hover, hovertemplate=HOVER,
                    marker={"symbol": "diamond", "size": 9, "color": COMPARISON,
                            "line": {"width": 1, "color": "white"}})
    top = float(max(rows["complaints"].max(), rows["compare_complaints"].max()))
    layout(fig, 48 * len(names) + 70).update_layout(hovermode="closest", bargap=0.35)
    fig.update_xaxes(range=[0, top * 1.6 or 1], showgrid=True, gridcolor="#eef0f3")  # (room for the counts)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=names, autorange="reversed",
                     tickvals=names, ticktext=group_ticks(names, notes), showgrid=False)
    return fig


def resolution_curve(curve: pd.DataFrame | None, target: int, median: float | None, lang: str) -> go.Figure:
    """The share of the period's complaints still open after each day (``curve``: the Kaplan–Meier frame of
    :class:`~analytics.metrics.complaints.TimeToResolve`, open complaints censored) as a step line with its 95 %
    band, the target T as a dotted line and the median (when the curve reaches it) marked; the first
    :data:`RESOLUTION_DAYS` days (or up to T), the rest in the table."""
    if curve is None or curve.empty:
        return empty(lang)
    days = np.r_[0.0, curve["days"].to_numpy(dtype=float)]
    share, low, high = (np.r_[1.0, curve[c].to_numpy(dtype=float)] for c in ("share_open", "low", "high"))
    fig = go.Figure()
    common = {"x": days, "mode": "lines", "line": {"width": 0, "shape": "hv"}, "hoverinfo": "skip"}
    fig.add_scatter(y=high, showlegend=False, **common)
    fig.add_scatter(y=low, fill="tonexty", fillcolor=rgba(CURRENT, 0.16), name=t("satisfaction_fig_band", lang),
                    **common)
    hover = [t("satisfaction_fig_still_open", lang, days=fmt_int(d, lang), share=fmt_pct(s, lang))
             + f"<br>{ci(lo, hi, 'share', lang)}" for d, s, lo, hi in zip(days, share, low, high, strict=True)]
    fig.add_scatter(x=days, y=share, mode="lines", line={"color": CURRENT, "width": 2.5, "shape": "hv"},
                    name=t("satisfaction_fig_open_share", lang), customdata=hover, hovertemplate=HOVER)
    fig.add_vline(x=target, line={"color": INK, "width": 1.5, "dash": "dot"})
    fig.add_annotation(x=target, y=1, yref="y domain", xanchor="left", yanchor="top", xshift=4, showarrow=False,
                       text=t("satisfaction_fig_target", lang, days=fmt_int(target, lang)), font={"size": 12},
                       bgcolor=rgba("#ffffff", 0.8), name="target")
    if median is not None and np.isfinite(median):
        fig.add_scatter(x=[median], y=[0.5], mode="markers", name=t("satisfaction_fig_median", lang, days=fmt_number(
            median, lang, 1)), marker={"size": 10, "color": LOYAL_COLOR, "line": {"width": 1, "color": "white"}},
                        hoverinfo="name")
    end = max(min(days[-1], RESOLUTION_DAYS), target + 2)
    fig.update_xaxes(range=[0, end], title={"text": t("satisfaction_fig_days_axis", lang), "font": {"size": 12}})
    layout(fig, 300).update_layout(hovermode="closest")
    value_axis(fig, np.array([0.0, 1.0]), "share", lang)
    return fig


def resolution_bands_bar(bands: pd.DataFrame, labels: list[str], lang: str) -> go.Figure:
    """The period's complaints by days to resolve (``bands``: the view's table, ``labels`` each band's name for
    people), those still open last and grey, each bar's share written on it."""
    if bands is None or not bands["complaints"].sum():
        return empty(lang)
    still = (bands["band"] == "open").to_numpy()
    hover = [f"{b}: <b>{fmt_int(n, lang)}</b> ({fmt_pct(s, lang)})" for b, n, s in zip(
        labels, bands["complaints"], bands["share"], strict=True)]
    fig = go.Figure(go.Bar(x=labels, y=bands["complaints"], marker_color=[GREY if o else CURRENT for o in still],
                           customdata=hover, hovertemplate=HOVER, text=[fmt_pct(s, lang, 0) for s in bands["share"]],
                           textposition="outside", cliponaxis=False, textfont={"size": 11, "color": INK}))
    fig.update_xaxes(type="category", tickangle=0, title={"text": t("satisfaction_fig_bands_axis", lang),
                                                          "font": {"size": 12}})
    fig.update_yaxes(range=[0, float(bands["complaints"].max()) * 1.18])
    return layout(fig, 300).update_layout(hovermode="closest", showlegend=False, bargap=0.25)


def frequency_bars(frequency: pd.DataFrame, lang: str) -> go.Figure:
    """The customers of the period's last month by purchase days in its year (``frequency``: the view's
    distribution, the last bin meaning that many or more), the bins that make a customer loyal in the warm
    colour, each bar's share of the customers written on it."""
    if frequency is None or not frequency["customers"].sum():
        return empty(lang)
    last = len(frequency) - 1
    labels = [fmt_int(d, lang) + ("+" if i == last else "") for i, d in enumerate(frequency["purchase_days"])]
    loyal = frequency["loyal"].to_numpy(dtype=bool)
    hover = [t("satisfaction_fig_frequency_hover", lang, days=label, n=fmt_int(n, lang), share=fmt_pct(s, lang))
             for label, n, s in zip(labels, frequency["customers"], frequency["share"], strict=True)]
    fig = go.Figure()
    for flag, color, name in ((False, GREY, t("satisfaction_fig_not_loyal", lang)),
                              (True, LOYAL_COLOR, t("satisfaction_fig_loyal", lang))):
        part = np.flatnonzero(loyal == flag)
        fig.add_bar(x=[labels[i] for i in part], y=frequency["customers"].to_numpy()[part], name=name,
                    marker_color=rgba(color, 0.85), customdata=[hover[i] for i in part], hovertemplate=HOVER,
                    text=[fmt_pct(frequency["share"].iloc[i], lang, 0) for i in part], textposition="outside",
                    cliponaxis=False, textfont={"size": 10, "color": INK})
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=labels, tickangle=0,
                     title={"text": t("satisfaction_fig_frequency_axis", lang), "font": {"size": 12}})
    fig.update_yaxes(range=[0, float(frequency["customers"].max()) * 1.18])
    return layout(fig, 280).update_layout(hovermode="closest", bargap=0.2, barmode="overlay")
