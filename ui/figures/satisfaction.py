"""The satisfaction & loyalty page's figures, first part: what the others share (the palette, formats, axes), a
monthly figure with its band beside the comparison period, the responses per month, the trend (and season), and a
figure per group with its interval. The gap, the quadrants and the retention curve: :mod:`ui.figures.satisfaction_gap`;
complaints and behavioural loyalty: :mod:`ui.figures.satisfaction_behaviour`.

Each builder is a pure function of a :class:`~analytics.metrics.satisfaction_view.SatisfactionView` frame (groups
with their names for people in a ``label`` column, made by the page: a name from the data is drawn as text, never
markup) and the language; the numbers drawn are the frame's. Shares are percentages, NPS is in points (−100 to
100). Each reads on a 390-px phone: at most six labelled months, the legend on top, a group's figure under its name
rather than beside its dot, hover everywhere. Groups too few to trust are faded, marked and listed after the others,
unranked. Without data: a note, never an error.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.dates import fmt_month
from ui.figures.common import COMPARISON, CURRENT, change_colors, layout, month_ticks
from ui.formats import fmt_int, fmt_number, fmt_pct
from ui.i18n import t

#: The recommend score's colour (CSAT is the period's blue) and loyalty's (beside satisfaction in the gap).
NPS_COLOR, LOYAL_COLOR = "#0f8b8d", "#e07b00"
MAX_MONTH_LABELS, _MONTH_STEPS = 6, (1, 2, 3, 6, 12, 24, 60)
INK, GREY, HOVER = "#1d2733", "#5b6775", "%{customdata}<extra></extra>"


def escape(text: str) -> str:
    return html.escape(str(text), quote=False)


def rgba(color: str, alpha: float) -> str:
    return "rgba({}, {}, {}, {})".format(*(int(color[i:i + 2], 16) for i in (1, 3, 5)), alpha)


def empty(lang: str, height: int = 220) -> go.Figure:
    fig = go.Figure().add_annotation(text=t("satisfaction_fig_no_data", lang), showarrow=False, x=0.5, y=0.5,
                                     xref="paper", yref="paper", font={"size": 14, "color": GREY})
    return layout(fig.update_layout(xaxis_visible=False, yaxis_visible=False), height)


def shown(kind: str, value: float, lang: str) -> str:
    """A figure as printed by its kind: ``"nps"`` in points, ``"mean"`` and ``"days"`` with up to two and one
    decimals, ``"per_1000"`` with one; any other (CSAT, a share, a probability) as a percentage."""
    if kind in ("nps", "per_1000", "days"):
        return fmt_number(value, lang, 1)
    if kind == "mean":
        return fmt_number(value, lang, 2)
    return fmt_pct(value, lang)


def ci(low: float, high: float, kind: str, lang: str) -> str:
    return t("ci95", lang, low=shown(kind, low, lang), high=shown(kind, high, lang))


#: Each kind's axis: its unit (the ticks' steps are multiples of it) and bounds (None: open).
_AXES = {"nps": (100.0, (-100.0, 100.0)), "per_1000": (100.0, (0.0, None)), "days": (100.0, (0.0, None))}


def value_axis(fig: go.Figure, values: np.ndarray, kind: str, lang: str, axis: str = "y", **where) -> None:
    """Round ticks (at most six) over ``values`` (NaN ignored) of a kind (:func:`shown`): shares within 0–100 %, NPS
    within −100–100, rates and days from 0."""
    scale, bounds = _AXES.get(kind, (1.0, (0.0, 1.0)))
    known = np.asarray(values, dtype=float)
    known = known[np.isfinite(known)]
    low, high = (float(known.min()), float(known.max())) if known.size else (bounds[0], bounds[1] or scale)
    steps = [s * scale * 10.0 ** k for k in range(-3, 2) for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5)]
    step = next((s for s in sorted(set(steps)) if (high - low) / s <= 5), scale)
    first = max(math.floor(low / step) * step, bounds[0])
    last = math.ceil(high / step) * step
    last = min(last, bounds[1]) if bounds[1] is not None else last
    last = last if last > first else first + step
    ticks = [round(first + i * step, 9) for i in range(round((last - first) / step) + 1)]
    unit = step * (100 if scale == 1.0 else 1)  # a tick's step as printed (points of a percentage, or itself)
    digits = 0 if abs(unit - round(unit)) < 1e-9 else 1
    text = [fmt_pct(v, lang, digits) if scale == 1.0 else fmt_number(v, lang, digits) for v in ticks]
    pad = 0.03 * (last - first)
    (fig.update_yaxes if axis == "y" else fig.update_xaxes)(tickvals=ticks, ticktext=text,
                                                            range=[first - pad, last + pad], **where)


def month_axis(fig: go.Figure, months: Sequence[date], lang: str) -> None:
    """A date axis of ``months`` labelled every 1, 2, 3, 6 ... months (so each January), in the language."""
    step = next((s for s in _MONTH_STEPS if math.ceil(len(months) / s) <= MAX_MONTH_LABELS), _MONTH_STEPS[-1])
    kept = [m for m in months if (m.year * 12 + m.month - 1) % step == 0] or list(months[:1])
    fig.update_xaxes(tickvals=[pd.Timestamp(m) for m in kept], ticktext=month_ticks(kept, lang), tickangle=0)


def months_of(frame: pd.DataFrame) -> list[date]:
    return [pd.Timestamp(m).date() for m in frame["month"]]


def series_line(frame: pd.DataFrame, comparison: pd.DataFrame | None, columns: tuple[str, str, str], kind: str,
                name: str, lang: str, describe: Callable[[pd.Series], str], *, color: str = CURRENT,
                open_flag: str | None = None) -> go.Figure:
    """A monthly figure (``columns``: value, low, high of ``frame``, one row per ``month``) with its 95 % interval as
    a band (months without a figure left open), its hover adding ``describe(row)``; the comparison period's months
    (or None) a grey dashed line at the same positions, its hover naming its own months. Months flagged in
    ``open_flag`` (provisional, partial) are drawn hollow, off the line."""
    value_col = columns[0]
    if frame is None or frame.empty or not np.isfinite(frame[value_col].to_numpy(dtype=float)).any():
        return empty(lang)
    months = months_of(frame)
    x = [pd.Timestamp(m) for m in months]
    value, low, high = (frame[c].to_numpy(dtype=float) for c in columns)
    flagged = frame[open_flag].to_numpy(dtype=bool) if open_flag else np.zeros(len(frame), dtype=bool)
    fig = go.Figure()
    common = {"x": x, "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip", "legendgroup": "band"}
    fig.add_scatter(y=np.where(flagged, np.nan, high), showlegend=False, **common)
    fig.add_scatter(y=np.where(flagged, np.nan, low), fill="tonexty", fillcolor=rgba(color, 0.16),
                    name=t("satisfaction_fig_band", lang), **common)
    drawn = [value, low, high]
    if comparison is not None and not comparison.empty and np.isfinite(comparison[value_col].to_numpy(float)).any():
        other = comparison.iloc[:len(x)]
        past = other[value_col].to_numpy(dtype=float)
        drawn.append(past)
        hover = [f"{fmt_month(pd.Timestamp(r.month).date(), lang)}: <b>{shown(kind, v, lang)}</b><br>{describe(r)}"
                 for (_, r), v in zip(other.iterrows(), past, strict=True)]
        fig.add_scatter(x=x[:len(other)], y=past, mode="lines+markers", name=t("satisfaction_fig_comparison", lang),
                        line={"color": COMPARISON, "width": 2, "dash": "dash"}, marker={"size": 5},
                        customdata=hover, hovertemplate=HOVER)
    hover = [f"{fmt_month(m, lang)}: <b>{shown(kind, v, lang)}</b><br>{ci(lo, hi, kind, lang)}<br>{describe(r)}"
             + (f"<br>{t(f'satisfaction_fig_{open_flag}', lang)}" if f else "")
             for m, v, lo, hi, (_, r), f in zip(months, value, low, high, frame.iterrows(), flagged, strict=True)]
    fig.add_scatter(x=x, y=np.where(flagged, np.nan, value), mode="lines+markers", name=name,
                    line={"color": color, "width": 2.5}, marker={"size": 6}, customdata=hover, hovertemplate=HOVER)
    if flagged.any():
        keep = np.flatnonzero(flagged)
        fig.add_scatter(x=[x[i] for i in keep], y=value[keep], mode="markers", customdata=[hover[i] for i in keep],
                        name=t(f"satisfaction_fig_{open_flag}", lang), hovertemplate=HOVER,
                        marker={"symbol": "circle-open", "size": 10, "color": color, "line": {"width": 2}})
    layout(fig, 300).update_layout(hovermode="closest")
    value_axis(fig, np.concatenate(drawn), kind, lang)
    month_axis(fig, months, lang)
    return fig


def monthly_line(monthly: pd.DataFrame, comparison: pd.DataFrame | None, measure: str, lang: str) -> go.Figure:
    """CSAT (``measure`` "csat") or NPS ("nps") per month of the period with its 95 % interval as a band and its
    responses in the hover, beside the comparison period's months (:func:`series_line`). ``monthly``: the view's
    monthly frame."""
    if monthly is None or monthly.empty or not (monthly[f"{measure}_n"] > 0).any():
        return empty(lang)
    return series_line(monthly, comparison, (measure, f"{measure}_low", f"{measure}_high"), measure,
                       t(f"satisfaction_fig_{measure}", lang), lang,
                       lambda r: t("sample_size", lang, n=fmt_int(r[f"{measure}_n"], lang)))


def responses_bar(monthly: pd.DataFrame, lang: str) -> go.Figure:
    """The responses per month: satisfaction (1–5) and recommend (0–10) scores side by side."""
    if monthly is None or monthly.empty or not (monthly[["csat_n", "nps_n"]].to_numpy().sum()):
        return empty(lang)
    months = months_of(monthly)
    fig = go.Figure()
    for column, color in (("csat_n", CURRENT), ("nps_n", NPS_COLOR)):
        name = t(f"satisfaction_fig_{column}", lang)
        hover = [f"{fmt_month(m, lang)} · {name}: <b>{fmt_int(n, lang)}</b>" for m, n in zip(
            months, monthly[column], strict=True)]
        fig.add_bar(x=[pd.Timestamp(m) for m in months], y=monthly[column], name=name, marker_color=color,
                    customdata=hover, hovertemplate=HOVER)
    layout(fig, 240).update_layout(barmode="group", bargap=0.25, hovermode="closest")
    month_axis(fig, months, lang)
    return fig


def trend_lines(frame: pd.DataFrame, method: str, measure: str, lang: str) -> go.Figure:
    """A monthly series split (:class:`~analytics.models.scores.Decomposition`'s frame): the months' values as grey
    dots (months filled in for STL hollow) and the trend as a line; under it, with STL, the seasonal part as bars."""
    if frame is None or frame.empty or not np.isfinite(frame["trend"].to_numpy(dtype=float)).any():
        return empty(lang)
    months = months_of(frame)
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
                    marker={"size": 6, "color": COMPARISON}, customdata=hover, hovertemplate=HOVER, row=1, col=1)
    fig.add_scatter(x=x, y=trend, mode="lines", name=t("satisfaction_fig_trend", lang),
                    line={"color": CURRENT if measure == "csat" else NPS_COLOR, "width": 3}, customdata=hover,
                    hovertemplate=HOVER, row=1, col=1)
    if filled.any():
        fig.add_scatter(x=[x[i] for i in np.flatnonzero(filled)], y=trend[filled], mode="markers",
                        name=t("satisfaction_fig_filled", lang), hoverinfo="skip", row=1, col=1,
                        marker={"symbol": "circle-open", "size": 9, "color": GREY, "line": {"width": 2}})
    value_axis(fig, np.r_[value, trend], measure, lang, row=1, col=1)
    if stl:
        fig.add_bar(x=x, y=season, name=t("satisfaction_fig_season", lang), marker_color=rgba(GREY, 0.6),
                    customdata=[f"{fmt_month(m, lang)} · {t('satisfaction_fig_season', lang)}: "
                                f"<b>{('+' if s > 0 else '') + shown(measure, s, lang)}</b>"
                                for m, s in zip(months, season, strict=True)], hovertemplate=HOVER, row=2, col=1)
        top = float(np.nanmax(np.abs(season))) if np.isfinite(season).any() else 0.01
        fig.update_yaxes(tickvals=[-top, 0, top], ticktext=[shown(measure, -top, lang), "0",
                                                            "+" + shown(measure, top, lang)], row=2, col=1)
    layout(fig, 400 if stl else 280).update_layout(hovermode="closest", margin={"t": 36 if stl else 8})
    month_axis(fig, months, lang)
    return fig


def ordered(frame: pd.DataFrame, value: str, small: str, ranked: bool) -> pd.DataFrame:
    """The groups to draw: the trusted ones first (highest ``value`` on top when ``ranked``), then those too few to
    trust in their own order, unranked."""
    trusted, few = frame[~frame[small].astype(bool)], frame[frame[small].astype(bool)]
    if ranked:
        trusted = trusted.sort_values(value, ascending=False, kind="stable")
    return pd.concat([trusted, few])


def group_ticks(names: list[str], notes: list[str]) -> list[str]:
    return [f"{n}<br><span style='font-size:11px;color:{GREY}'>{note}</span>" for n, note in zip(names, notes,
                                                                                                strict=True)]


def group_dots(frame: pd.DataFrame, measure: str, lang: str, ranked: bool = True, *, kind: str | None = None,
               color: str | None = None, compare: str | None = None) -> go.Figure:
    """A figure per group (``frame``: one row per group, its name for people in ``label``; ``measure`` its figure
    with ``<measure>_low``, ``_high``, ``_n`` and ``_small``) as a dot with its 95 % interval; the figure and n under
    the group's name; groups too few to trust faded, marked and listed last, unranked (``ranked`` False: the
    frame's order, as the tiers). With ``compare`` (its name in the legend), ``compare_<measure>`` as a grey
    diamond; with a ``moved`` column, ▲ / ▼ before a figure that moved beyond sampling error. ``kind``: how the
    figure prints (:func:`shown`; default ``measure``)."""
    kind = kind or measure
    rows = frame[frame[f"{measure}_n"] > 0]
    if rows.empty:
        return empty(lang)
    rows = ordered(rows, measure, f"{measure}_small", ranked)
    value, low, high = (rows[c].to_numpy(dtype=float) for c in (measure, f"{measure}_low", f"{measure}_high"))
    small = rows[f"{measure}_small"].to_numpy(dtype=bool)
    names = [escape(g) for g in rows["label"]]
    moved = list(rows["moved"]) if "moved" in rows else [None] * len(rows)
    rise, fall = change_colors(lang)
    arrows = {"up": f"<span style='color:{rise}'>▲</span> ", "down": f"<span style='color:{fall}'>▼</span> "}
    few = t("satisfaction_fig_too_few", lang)
    notes = [arrows.get(m, "") + f"{shown(kind, v, lang)} · n = {fmt_int(n, lang)}" + (f" · {few}" if s else "")
             for v, n, s, m in zip(value, rows[f"{measure}_n"], small, moved, strict=True)]
    color = color or (CURRENT if measure == "csat" else NPS_COLOR)
    past = rows[f"compare_{measure}"].to_numpy(dtype=float) if compare else np.full(len(rows), np.nan)
    hover = [f"{n}: <b>{shown(kind, v, lang)}</b><br>{ci(lo, hi, kind, lang)}<br>"
             + t("sample_size", lang, n=fmt_int(k, lang))
             + (f"<br>{compare}: {shown(kind, p, lang)}" if np.isfinite(p) else "")
             + (f"<br>{t(f'satisfaction_fig_moved_{m}', lang)}" if m in arrows else "")
             + (f"<br>{t('satisfaction_fig_too_few_note', lang)}" if s else "")
             for n, v, lo, hi, k, p, m, s in zip(names, value, low, high, rows[f"{measure}_n"], past, moved, small,
                                                 strict=True)]
    fig = go.Figure(go.Scatter(
        x=value, y=names, mode="markers", name=t("satisfaction_fig_this_period", lang), customdata=hover,
        hovertemplate=HOVER, marker={"size": 11, "color": [rgba(color, 0.3 if s else 1.0) for s in small]},
        error_x={"type": "data", "symmetric": False, "array": np.maximum(high - value, 0), "width": 4,
                 "arrayminus": np.maximum(value - low, 0), "color": rgba(INK, 0.5), "thickness": 1.5}))
    if np.isfinite(past).any():
        fig.add_scatter(x=past, y=names, mode="markers", name=compare, customdata=hover, hovertemplate=HOVER,
                        marker={"symbol": "diamond", "size": 9, "color": COMPARISON, "line": {"width": 1,
                                                                                               "color": "white"}})
    layout(fig, 46 * len(names) + 60).update_layout(hovermode="closest", showlegend=bool(np.isfinite(past).any()))
    value_axis(fig, np.r_[low, high, past], kind, lang, axis="x", showgrid=True, gridcolor="#eef0f3")
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=names, autorange="reversed",
                     tickvals=names, ticktext=group_ticks(names, notes), showgrid=False)
    return fig
