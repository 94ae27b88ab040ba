"""The satisfaction & loyalty page's figures on what connects satisfaction and loyalty: satisfied beside loyal per
group (the gap), the four quadrants of the surveyed customers, and the chance of buying again by satisfaction score
(the retention curve). Pure functions of the view's frames and the language, as :mod:`ui.figures.satisfaction`'s
(whose helpers they share)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ui.figures.common import CURRENT, layout
from ui.figures.satisfaction import GREY, HOVER, INK, LOYAL_COLOR, ci, empty, escape, ordered, rgba, value_axis
from ui.formats import fmt_int, fmt_money, fmt_number, fmt_pct
from ui.i18n import t

#: Each quadrant's place (column: not loyal 0 / loyal 1; row: dissatisfied 0 / satisfied 1) and fill; "satisfied
#: but leaving", the course's point, in the warm colour.
QUADRANT_CELLS = {"satisfied_loyal": (1, 1, "#d8e6f5"), "satisfied_leaving": (0, 1, "#fde3c0"),
                  "dissatisfied_staying": (1, 0, "#e6e9ed"), "dissatisfied_leaving": (0, 0, "#f6d5d1")}


def gap_dumbbell(frame: pd.DataFrame, lang: str, min_n: int, ranked: bool = True) -> go.Figure:
    """Per group of surveyed customers (``frame``: a grouping's gap table, each group's name in ``label``), the share
    satisfied (blue) and the share loyal (warm) as dots on their 95 % intervals (pale bars), joined by a line; above
    each, across the chart, the group's name, "78 % satisfied, 56 % loyal" and the gap in points. Groups under
    ``min_n`` customers faded, marked and listed last, unranked; the others by the size of their gap, the widest on
    top (``ranked`` False: the frame's order, as the tiers)."""
    rows = frame[frame["n"] > 0].assign(small=lambda f: f["n"] < min_n, size=lambda f: f["gap"].abs())
    if rows.empty:
        return empty(lang)
    rows = ordered(rows, "size", "small", ranked)
    names = [escape(g) for g in rows["label"]]
    small = rows["small"].to_numpy(dtype=bool)
    few = t("satisfaction_fig_too_few", lang)
    fig = go.Figure()
    for i, row in enumerate(rows.itertuples(index=False)):
        alpha = 0.4 if small[i] else 1.0
        words = t("satisfaction_fig_gap_words", lang, satisfied=fmt_pct(row.satisfied, lang, 0),
                  loyal=fmt_pct(row.loyal, lang, 0), gap=gap_points(row.gap, lang))
        fig.add_annotation(x=0, xref="paper", y=i - 0.05, xanchor="left", yanchor="bottom", showarrow=False,
                           align="left", font={"size": 11, "color": rgba(INK, alpha)}, name=str(i),
                           text=f"<b>{names[i]}</b> (n = {fmt_int(row.n, lang)}) · {words}"
                           + (f" · {few}" if small[i] else ""))
        fig.add_scatter(x=[row.satisfied, row.loyal], y=[i + 0.25] * 2, mode="lines", hoverinfo="skip",
                        line={"color": rgba(GREY, 0.6 * alpha), "width": 2}, showlegend=False)
        for share, color in (("satisfied", CURRENT), ("loyal", LOYAL_COLOR)):
            fig.add_scatter(x=[getattr(row, f"{share}_low"), getattr(row, f"{share}_high")], y=[i + 0.25] * 2,
                            mode="lines", line={"color": rgba(color, 0.25 * alpha), "width": 9},
                            hoverinfo="skip", showlegend=False)
    for share, color in (("satisfied", CURRENT), ("loyal", LOYAL_COLOR)):
        value, low, high = (rows[c].to_numpy(dtype=float) for c in (share, f"{share}_low", f"{share}_high"))
        label = t(f"satisfaction_fig_{share}", lang)
        hover = [f"{n} · {label}: <b>{fmt_pct(v, lang)}</b><br>{ci(lo, hi, 'share', lang)}<br>"
                 + t("satisfaction_fig_surveyed_n", lang, n=fmt_int(k, lang))
                 for n, v, lo, hi, k in zip(names, value, low, high, rows["n"], strict=True)]
        fig.add_scatter(x=value, y=np.arange(len(rows)) + 0.25, mode="markers", name=label, customdata=hover,
                        hovertemplate=HOVER,
                        marker={"size": 12, "color": [rgba(color, 0.4 if s else 1.0) for s in small]})
    layout(fig, 58 * len(names) + 60).update_layout(hovermode="closest")
    value_axis(fig, np.r_[rows["satisfied_low"], rows["loyal_low"], rows["satisfied_high"], rows["loyal_high"]],
                "share", lang, axis="x", showgrid=True, gridcolor="#eef0f3")
    fig.update_yaxes(visible=False, range=[len(rows) - 0.4, -0.7], fixedrange=True)
    return fig


def gap_points(gap: float, lang: str) -> str:
    """The gap (satisfied − loyal, in points) signed: "+22.0 pts", "−16.7 pts"."""
    return fmt_number(gap, lang, 1) if not np.isfinite(gap) else t(
        "satisfaction_points", lang, n=("+" if round(gap, 1) > 0 else "") + fmt_number(gap, lang, 1))


def quadrant_grid(quadrants: pd.DataFrame, names: Mapping[str, str], lang: str, currency: str) -> go.Figure:
    """The four quadrants of the surveyed customers as a 2 × 2 grid (satisfied on top, loyal on the right), each
    cell with its name (``names[quadrant]``), customers, their share and their net revenue in the period."""
    if quadrants is None or not quadrants["customers"].sum():
        return empty(lang, 300)
    total = float(quadrants["revenue"].sum())
    fig = go.Figure()
    x, y, hover = [], [], []
    for row in quadrants.itertuples(index=False):
        column, level, fill = QUADRANT_CELLS[row.quadrant]
        fig.add_shape(type="rect", x0=column + 0.02, x1=column + 0.98, y0=level + 0.02, y1=level + 0.98,
                      fillcolor=fill, line={"width": 0}, layer="below")
        words = [f"<b>{escape(names[row.quadrant])}</b>",
                 t("satisfaction_fig_quadrant_customers", lang, n=fmt_int(row.customers, lang),
                   share=fmt_pct(row.share, lang)),
                 t("satisfaction_fig_quadrant_revenue", lang, revenue=fmt_money(row.revenue, lang, currency,
                                                                                compact=True),
                   share=fmt_pct(row.revenue / total if total else np.nan, lang))]
        fig.add_annotation(x=column + 0.5, y=level + 0.5, text="<br>".join(words), showarrow=False, align="center",
                           font={"size": 12, "color": INK}, name=row.quadrant)
        x.append(column + 0.5)
        y.append(level + 0.5)
        hover.append("<br>".join(words))
    fig.add_scatter(x=x, y=y, mode="markers", marker={"size": 60, "opacity": 0}, customdata=hover,
                    hovertemplate=HOVER, showlegend=False)
    fig.update_xaxes(range=[0, 2], tickvals=[0.5, 1.5], ticktext=[t("satisfaction_fig_not_loyal", lang),
                                                                  t("satisfaction_fig_loyal_axis", lang)],
                     showgrid=False, zeroline=False, fixedrange=True, side="top", linecolor="white")
    fig.update_yaxes(range=[0, 2], tickvals=[0.5, 1.5], ticktext=[t("satisfaction_fig_dissatisfied", lang),
                                                                  t("satisfaction_fig_satisfied_axis", lang)],
                     showgrid=False, zeroline=False, fixedrange=True, tickangle=0 if lang == "zh" else -90)
    return layout(fig, 320).update_layout(hovermode="closest", margin={"t": 28})


def retention_curve(curve: pd.DataFrame, lang: str) -> go.Figure:
    """The chance of buying again within the horizon by satisfaction score (``curve``: the fitted
    :class:`~analytics.models.retention_logit.RetentionCurve`'s frame) with its 95 % band; the whole-star scores
    marked and written."""
    if curve is None or curve.empty:
        return empty(lang)
    score, p, low, high = (curve[c].to_numpy(dtype=float) for c in ("score", "probability", "low", "high"))
    fig = go.Figure()
    common = {"x": score, "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip"}
    fig.add_scatter(y=high, showlegend=False, **common)
    fig.add_scatter(y=low, fill="tonexty", fillcolor=rgba(CURRENT, 0.16), name=t("satisfaction_fig_band", lang),
                    **common)
    hover = [t("satisfaction_fig_curve_hover", lang, score=fmt_number(s, lang, 1), p=fmt_pct(v, lang))
             + f"<br>{ci(lo, hi, 'share', lang)}" for s, v, lo, hi in zip(score, p, low, high, strict=True)]
    fig.add_scatter(x=score, y=p, mode="lines", name=t("satisfaction_fig_curve", lang), customdata=hover,
                    hovertemplate=HOVER, line={"color": CURRENT, "width": 3})
    whole = np.isclose(score, np.round(score))
    ends = {1.0: "bottom right", 5.0: "bottom left"}
    fig.add_scatter(x=score[whole], y=p[whole], mode="markers+text", text=[fmt_pct(v, lang, 0) for v in p[whole]],
                    textposition=[ends.get(float(x), "bottom center") for x in score[whole]],
                    textfont={"size": 11, "color": INK}, showlegend=False,
                    marker={"size": 8, "color": CURRENT}, customdata=[hover[i] for i in np.flatnonzero(whole)],
                    hovertemplate=HOVER)
    fig.update_xaxes(tickvals=[1, 2, 3, 4, 5], range=[0.8, 5.2], title={
        "text": t("satisfaction_fig_curve_x", lang), "font": {"size": 12}})
    layout(fig, 320).update_layout(hovermode="closest")
    value_axis(fig, np.r_[low, high], "share", lang)
    return fig
