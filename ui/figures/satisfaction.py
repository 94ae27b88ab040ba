"""The satisfaction & loyalty page's figures: CSAT or NPS per month beside the comparison period, the responses per
month, the trend (and season), CSAT or NPS per group, satisfied beside loyal per group (the gap), the four quadrants
and the retention curve.

Each builder is a pure function of a :class:`~analytics.metrics.satisfaction_view.SatisfactionView` frame, the
groups' labels where it has groups (made by the page: a name from the data is drawn as text, never markup) and the
language; the numbers drawn are the frame's. CSAT and shares are percentages, NPS is in points (−100 to 100). Each
reads on a 390-px phone: at most six labelled months, the legend on top, a group's figure under its name rather
than beside its dot, hover everywhere. Groups too few to trust are faded, marked and listed after the others,
unranked. Without data: a note, never an error.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.dates import fmt_month
from ui.figures.common import COMPARISON, CURRENT, layout, month_ticks
from ui.formats import fmt_int, fmt_money, fmt_number, fmt_pct
from ui.i18n import t

#: The recommend score's colour (CSAT is the period's blue) and loyalty's (beside satisfaction in the gap).
NPS_COLOR, LOYAL_COLOR = "#0f8b8d", "#e07b00"
#: Each quadrant's place (column: not loyal 0 / loyal 1; row: dissatisfied 0 / satisfied 1) and fill; "satisfied
#: but leaving", the course's point, in the warm colour.
QUADRANT_CELLS = {"satisfied_loyal": (1, 1, "#d8e6f5"), "satisfied_leaving": (0, 1, "#fde3c0"),
                  "dissatisfied_staying": (1, 0, "#e6e9ed"), "dissatisfied_leaving": (0, 0, "#f6d5d1")}
MAX_MONTH_LABELS, _MONTH_STEPS = 6, (1, 2, 3, 6, 12, 24, 60)
_INK, _GREY, _HOVER = "#1d2733", "#5b6775", "%{customdata}<extra></extra>"


def _escape(text: str) -> str:
    return html.escape(str(text), quote=False)


def _rgba(color: str, alpha: float) -> str:
    return "rgba({}, {}, {}, {})".format(*(int(color[i:i + 2], 16) for i in (1, 3, 5)), alpha)


def _empty(lang: str, height: int = 220) -> go.Figure:
    fig = go.Figure().add_annotation(text=t("satisfaction_fig_no_data", lang), showarrow=False, x=0.5, y=0.5,
                                     xref="paper", yref="paper", font={"size": 14, "color": _GREY})
    return layout(fig.update_layout(xaxis_visible=False, yaxis_visible=False), height)


def shown(measure: str, value: float, lang: str) -> str:
    """A CSAT, share or probability as a percentage, an NPS in points, a mean score with two decimals."""
    if measure == "nps":
        return fmt_number(value, lang, 1)
    if measure == "mean":
        return fmt_number(value, lang, 2)
    return fmt_pct(value, lang)


def _ci(low: float, high: float, measure: str, lang: str) -> str:
    return t("ci95", lang, low=shown(measure, low, lang), high=shown(measure, high, lang))


def _value_axis(fig: go.Figure, values: np.ndarray, measure: str, lang: str, axis: str = "y", **where) -> None:
    """Round ticks (at most six) over ``values`` (NaN ignored): CSAT within 0–100 %, NPS within −100–100."""
    scale, bounds = (1.0, (0.0, 1.0)) if measure != "nps" else (100.0, (-100.0, 100.0))
    known = values[np.isfinite(values)]
    low, high = (float(known.min()), float(known.max())) if known.size else bounds
    step = next((s * scale for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5) if (high - low) / (s * scale) <= 5),
                scale)
    first, last = max(math.floor(low / step) * step, bounds[0]), min(math.ceil(high / step) * step, bounds[1])
    last = last if last > first else first + step
    ticks = [round(first + i * step, 6) for i in range(round((last - first) / step) + 1)]
    text = [fmt_pct(v, lang, 0) if measure != "nps" else fmt_number(v, lang, 0) for v in ticks]
    pad = 0.03 * (last - first)
    (fig.update_yaxes if axis == "y" else fig.update_xaxes)(tickvals=ticks, ticktext=text,
                                                            range=[first - pad, last + pad], **where)


def _month_axis(fig: go.Figure, months: Sequence[date], lang: str) -> None:
    """A date axis of ``months`` labelled every 1, 2, 3, 6 ... months (so each January), in the language."""
    step = next((s for s in _MONTH_STEPS if math.ceil(len(months) / s) <= MAX_MONTH_LABELS), _MONTH_STEPS[-1])
    kept = [m for m in months if (m.year * 12 + m.month - 1) % step == 0] or list(months[:1])
    fig.update_xaxes(tickvals=[pd.Timestamp(m) for m in kept], ticktext=month_ticks(kept, lang), tickangle=0)


def _months(frame: pd.DataFrame) -> list[date]:
    return [pd.Timestamp(m).date() for m in frame["month"]]


def monthly_line(monthly: pd.DataFrame, comparison: pd.DataFrame | None, measure: str, lang: str) -> go.Figure:
    """CSAT (``measure`` "csat") or NPS ("nps") per month of the period with its 95 % interval as a band (months
    without responses left open); the comparison period's months (or None) a grey dashed line at the same
    positions, its hover naming its own months. ``monthly``: the view's monthly frame."""
    if monthly is None or monthly.empty or not (monthly[f"{measure}_n"] > 0).any():
        return _empty(lang)
    months = _months(monthly)
    x = [pd.Timestamp(m) for m in months]
    value, low, high = (monthly[c].to_numpy(dtype=float) for c in (measure, f"{measure}_low", f"{measure}_high"))
    name = t(f"satisfaction_fig_{measure}", lang)
    fig = go.Figure()
    common = {"x": x, "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip", "legendgroup": "band"}
    fig.add_scatter(y=high, showlegend=False, **common)
    fig.add_scatter(y=low, fill="tonexty", fillcolor=_rgba(CURRENT, 0.16), name=t("satisfaction_fig_band", lang),
                    **common)
    drawn = [value, low, high]
    if comparison is not None and not comparison.empty and (comparison[f"{measure}_n"] > 0).any():
        other = comparison.iloc[:len(x)]
        past = other[measure].to_numpy(dtype=float)
        drawn.append(past)
        hover = [f"{fmt_month(pd.Timestamp(m).date(), lang)}: <b>{shown(measure, v, lang)}</b><br>"
                 + t("sample_size", lang, n=fmt_int(n, lang)) for m, v, n in zip(other["month"], past,
                                                                                 other[f"{measure}_n"], strict=True)]
        fig.add_scatter(x=x[:len(other)], y=past, mode="lines+markers", name=t("satisfaction_fig_comparison", lang),
                        line={"color": COMPARISON, "width": 2, "dash": "dash"}, marker={"size": 5},
                        customdata=hover, hovertemplate=_HOVER)
    hover = [f"{fmt_month(m, lang)}: <b>{shown(measure, v, lang)}</b><br>{_ci(lo, hi, measure, lang)}<br>"
             + t("sample_size", lang, n=fmt_int(n, lang))
             for m, v, lo, hi, n in zip(months, value, low, high, monthly[f"{measure}_n"], strict=True)]
    fig.add_scatter(x=x, y=value, mode="lines+markers", name=name, line={"color": CURRENT, "width": 2.5},
                    marker={"size": 6}, customdata=hover, hovertemplate=_HOVER)
    layout(fig, 300).update_layout(hovermode="closest")
    _value_axis(fig, np.concatenate(drawn), measure, lang)
    _month_axis(fig, months, lang)
    return fig


def responses_bar(monthly: pd.DataFrame, lang: str) -> go.Figure:
    """The responses per month: satisfaction (1–5) and recommend (0–10) scores side by side."""
    if monthly is None or monthly.empty or not (monthly[["csat_n", "nps_n"]].to_numpy().sum()):
        return _empty(lang)
    months = _months(monthly)
    fig = go.Figure()
    for column, color in (("csat_n", CURRENT), ("nps_n", NPS_COLOR)):
        name = t(f"satisfaction_fig_{column}", lang)
        hover = [f"{fmt_month(m, lang)} · {name}: <b>{fmt_int(n, lang)}</b>" for m, n in zip(
            months, monthly[column], strict=True)]
        fig.add_bar(x=[pd.Timestamp(m) for m in months], y=monthly[column], name=name, marker_color=color,
                    customdata=hover, hovertemplate=_HOVER)
    layout(fig, 240).update_layout(barmode="group", bargap=0.25, hovermode="closest")
    _month_axis(fig, months, lang)
    return fig


def trend_lines(frame: pd.DataFrame, method: str, measure: str, lang: str) -> go.Figure:
    """A monthly series split (:class:`~analytics.models.scores.Decomposition`'s frame): the months' values as grey
    dots (months filled in for STL hollow) and the trend as a line; under it, with STL, the seasonal part as bars."""
    if frame is None or frame.empty or not np.isfinite(frame["trend"].to_numpy(dtype=float)).any():
        return _empty(lang)
    months = _months(frame)
    x = [pd.Timestamp(m) for m in months]
    value, trend, season = (frame[c].to_numpy(dtype=float) for c in ("value", "trend", "season"))
    stl = method == "stl"
    fig = make_subplots(rows=2 if stl else 1, cols=1, shared_xaxes=True, vertical_spacing=0.16, row_heights=[
        0.65, 0.35] if stl else None, subplot_titles=("", t("satisfaction_fig_season_title", lang)) if stl else None)
    fig.update_annotations(font_size=12, x=0, xanchor="left", yshift=2)
    hover = [f"{fmt_month(m, lang)}: {shown(measure, v, lang)}<br>{t('satisfaction_fig_trend', lang)}: "
             f"<b>{shown(measure, r, lang)}</b>" for m, v, r in zip(months, value, trend, strict=True)]
    filled = frame["filled"].to_numpy(dtype=bool)
    fig.add_scatter(x=x, y=np.where(filled, np.nan, value), mode="markers", name=t("satisfaction_fig_months", lang),
                    marker={"size": 6, "color": COMPARISON}, customdata=hover, hovertemplate=_HOVER, row=1, col=1)
    fig.add_scatter(x=x, y=trend, mode="lines", name=t("satisfaction_fig_trend", lang),
                    line={"color": CURRENT if measure == "csat" else NPS_COLOR, "width": 3}, customdata=hover,
                    hovertemplate=_HOVER, row=1, col=1)
    if filled.any():
        fig.add_scatter(x=[x[i] for i in np.flatnonzero(filled)], y=trend[filled], mode="markers",
                        name=t("satisfaction_fig_filled", lang), hoverinfo="skip", row=1, col=1,
                        marker={"symbol": "circle-open", "size": 9, "color": _GREY, "line": {"width": 2}})
    _value_axis(fig, np.r_[value, trend], measure, lang, row=1, col=1)
    if stl:
        fig.add_bar(x=x, y=season, name=t("satisfaction_fig_season", lang), marker_color=_rgba(_GREY, 0.6),
                    customdata=[f"{fmt_month(m, lang)} · {t('satisfaction_fig_season', lang)}: "
                                f"<b>{('+' if s > 0 else '') + shown(measure, s, lang)}</b>"
                                for m, s in zip(months, season, strict=True)], hovertemplate=_HOVER, row=2, col=1)
        top = float(np.nanmax(np.abs(season))) if np.isfinite(season).any() else 0.01
        fig.update_yaxes(tickvals=[-top, 0, top], ticktext=[shown(measure, -top, lang), "0",
                                                            "+" + shown(measure, top, lang)], row=2, col=1)
    layout(fig, 400 if stl else 280).update_layout(hovermode="closest", margin={"t": 36 if stl else 8})
    _month_axis(fig, months, lang)
    return fig


def _ordered(frame: pd.DataFrame, value: str, small: str, ranked: bool) -> pd.DataFrame:
    """The groups to draw: the trusted ones first (highest ``value`` on top when ``ranked``), then those too few to
    trust in their own order, unranked."""
    trusted, few = frame[~frame[small]], frame[frame[small]]
    if ranked:
        trusted = trusted.sort_values(value, ascending=False, kind="stable")
    return pd.concat([trusted, few])


def _group_ticks(names: list[str], notes: list[str]) -> list[str]:
    return [f"{n}<br><span style='font-size:11px;color:{_GREY}'>{note}</span>" for n, note in zip(names, notes,
                                                                                                 strict=True)]


def group_dots(frame: pd.DataFrame, measure: str, lang: str, ranked: bool = True) -> go.Figure:
    """CSAT or NPS (``measure``) of each group with responses (``frame``: a grouping's table, with each group's name
    for people in ``label``) as a dot with its 95 % interval; the figure and n under the group's name; groups too
    few to trust faded, marked and listed last, unranked (``ranked`` False: the frame's order, as the tiers)."""
    rows = frame[frame[f"{measure}_n"] > 0]
    if rows.empty:
        return _empty(lang)
    rows = _ordered(rows, measure, f"{measure}_small", ranked)
    value, low, high = (rows[c].to_numpy(dtype=float) for c in (measure, f"{measure}_low", f"{measure}_high"))
    small = rows[f"{measure}_small"].to_numpy(dtype=bool)
    names = [_escape(g) for g in rows["label"]]
    few = t("satisfaction_fig_too_few", lang)
    notes = [f"{shown(measure, v, lang)} · n = {fmt_int(n, lang)}" + (f" · {few}" if s else "")
             for v, n, s in zip(value, rows[f"{measure}_n"], small, strict=True)]
    color = CURRENT if measure == "csat" else NPS_COLOR
    hover = [f"{n}: <b>{shown(measure, v, lang)}</b><br>{_ci(lo, hi, measure, lang)}<br>"
             + t("sample_size", lang, n=fmt_int(k, lang)) + (f"<br>{t('satisfaction_fig_too_few_note', lang)}"
                                                               if s else "")
             for n, v, lo, hi, k, s in zip(names, value, low, high, rows[f"{measure}_n"], small, strict=True)]
    fig = go.Figure(go.Scatter(
        x=value, y=names, mode="markers", name=t(f"satisfaction_fig_{measure}", lang), customdata=hover,
        hovertemplate=_HOVER, marker={"size": 11, "color": [_rgba(color, 0.3 if s else 1.0) for s in small]},
        error_x={"type": "data", "symmetric": False, "array": np.maximum(high - value, 0), "width": 4,
                 "arrayminus": np.maximum(value - low, 0), "color": _rgba(_INK, 0.5), "thickness": 1.5}))
    layout(fig, 46 * len(names) + 60).update_layout(hovermode="closest", showlegend=False)
    _value_axis(fig, np.r_[low, high], measure, lang, axis="x", showgrid=True, gridcolor="#eef0f3")
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=names, autorange="reversed",
                     tickvals=names, ticktext=_group_ticks(names, notes), showgrid=False)
    return fig


def gap_dumbbell(frame: pd.DataFrame, lang: str, min_n: int, ranked: bool = True) -> go.Figure:
    """Per group of surveyed customers (``frame``: a grouping's gap table, each group's name in ``label``), the share
    satisfied (blue) and the share loyal (warm) as dots on their 95 % intervals (pale bars), joined by a line; above
    each, across the chart, the group's name, "78 % satisfied, 56 % loyal" and the gap in points. Groups under
    ``min_n`` customers faded, marked and listed last, unranked; the others by the size of their gap, the widest on
    top (``ranked`` False: the frame's order, as the tiers)."""
    rows = frame[frame["n"] > 0].assign(small=lambda f: f["n"] < min_n, size=lambda f: f["gap"].abs())
    if rows.empty:
        return _empty(lang)
    rows = _ordered(rows, "size", "small", ranked)
    names = [_escape(g) for g in rows["label"]]
    small = rows["small"].to_numpy(dtype=bool)
    few = t("satisfaction_fig_too_few", lang)
    fig = go.Figure()
    for i, row in enumerate(rows.itertuples(index=False)):
        alpha = 0.4 if small[i] else 1.0
        words = t("satisfaction_fig_gap_words", lang, satisfied=fmt_pct(row.satisfied, lang, 0),
                  loyal=fmt_pct(row.loyal, lang, 0), gap=gap_points(row.gap, lang))
        fig.add_annotation(x=0, xref="paper", y=i - 0.05, xanchor="left", yanchor="bottom", showarrow=False,
                           align="left", font={"size": 11, "color": _rgba(_INK, alpha)}, name=str(i),
                           text=f"<b>{names[i]}</b> (n = {fmt_int(row.n, lang)}) · {words}"
                           + (f" · {few}" if small[i] else ""))
        fig.add_scatter(x=[row.satisfied, row.loyal], y=[i + 0.25] * 2, mode="lines", hoverinfo="skip",
                        line={"color": _rgba(_GREY, 0.6 * alpha), "width": 2}, showlegend=False)
        for share, color in (("satisfied", CURRENT), ("loyal", LOYAL_COLOR)):
            fig.add_scatter(x=[getattr(row, f"{share}_low"), getattr(row, f"{share}_high")], y=[i + 0.25] * 2,
                            mode="lines", line={"color": _rgba(color, 0.25 * alpha), "width": 9},
                            hoverinfo="skip", showlegend=False)
    for share, color in (("satisfied", CURRENT), ("loyal", LOYAL_COLOR)):
        value, low, high = (rows[c].to_numpy(dtype=float) for c in (share, f"{share}_low", f"{share}_high"))
        label = t(f"satisfaction_fig_{share}", lang)
        hover = [f"{n} · {label}: <b>{fmt_pct(v, lang)}</b><br>{_ci(lo, hi, 'share', lang)}<br>"
                 + t("satisfaction_fig_surveyed_n", lang, n=fmt_int(k, lang))
                 for n, v, lo, hi, k in zip(names, value, low, high, rows["n"], strict=True)]
        fig.add_scatter(x=value, y=np.arange(len(rows)) + 0.25, mode="markers", name=label, customdata=hover,
                        hovertemplate=_HOVER,
                        marker={"size": 12, "color": [_rgba(color, 0.4 if s else 1.0) for s in small]})
    layout(fig, 58 * len(names) + 60).update_layout(hovermode="closest")
    _value_axis(fig, np.r_[rows["satisfied_low"], rows["loyal_low"], rows["satisfied_high"], rows["loyal_high"]],
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
        return _empty(lang, 300)
    total = float(quadrants["revenue"].sum())
    fig = go.Figure()
    x, y, hover = [], [], []
    for row in quadrants.itertuples(index=False):
        column, level, fill = QUADRANT_CELLS[row.quadrant]
        fig.add_shape(type="rect", x0=column + 0.02, x1=column + 0.98, y0=level + 0.02, y1=level + 0.98,
                      fillcolor=fill, line={"width": 0}, layer="below")
        words = [f"<b>{_escape(names[row.quadrant])}</b>",
                 t("satisfaction_fig_quadrant_customers", lang, n=fmt_int(row.customers, lang),
                   share=fmt_pct(row.share, lang)),
                 t("satisfaction_fig_quadrant_revenue", lang, revenue=fmt_money(row.revenue, lang, currency,
                                                                                compact=True),
                   share=fmt_pct(row.revenue / total if total else np.nan, lang))]
        fig.add_annotation(x=column + 0.5, y=level + 0.5, text="<br>".join(words), showarrow=False, align="center",
                           font={"size": 12, "color": _INK}, name=row.quadrant)
        x.append(column + 0.5)
        y.append(level + 0.5)
        hover.append("<br>".join(words))
    fig.add_scatter(x=x, y=y, mode="markers", marker={"size": 60, "opacity": 0}, customdata=hover,
                    hovertemplate=_HOVER, showlegend=False)
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
        return _empty(lang)
    score, p, low, high = (curve[c].to_numpy(dtype=float) for c in ("score", "probability", "low", "high"))
    fig = go.Figure()
    common = {"x": score, "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip"}
    fig.add_scatter(y=high, showlegend=False, **common)
    fig.add_scatter(y=low, fill="tonexty", fillcolor=_rgba(CURRENT, 0.16), name=t("satisfaction_fig_band", lang),
                    **common)
    hover = [t("satisfaction_fig_curve_hover", lang, score=fmt_number(s, lang, 1), p=fmt_pct(v, lang))
             + f"<br>{_ci(lo, hi, 'share', lang)}" for s, v, lo, hi in zip(score, p, low, high, strict=True)]
    fig.add_scatter(x=score, y=p, mode="lines", name=t("satisfaction_fig_curve", lang), customdata=hover,
                    hovertemplate=_HOVER, line={"color": CURRENT, "width": 3})
    whole = np.isclose(score, np.round(score))
    ends = {1.0: "bottom right", 5.0: "bottom left"}
    fig.add_scatter(x=score[whole], y=p[whole], mode="markers+text", text=[fmt_pct(v, lang, 0) for v in p[whole]],
                    textposition=[ends.get(float(x), "bottom center") for x in score[whole]],
                    textfont={"size": 11, "color": _INK}, showlegend=False,
                    marker={"size": 8, "color": CURRENT}, customdata=[hover[i] for i in np.flatnonzero(whole)],
                    hovertemplate=_HOVER)
    fig.update_xaxes(tickvals=[1, 2, 3, 4, 5], range=[0.8, 5.2], title={
        "text": t("satisfaction_fig_curve_x", lang), "font": {"size": 12}})
    layout(fig, 320).update_layout(hovermode="closest")
    _value_axis(fig, np.r_[low, high], "share", lang)
    return fig
