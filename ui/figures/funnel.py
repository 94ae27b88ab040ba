"""The funnel page's figures: the funnel as horizontal bars, each step's conversion per group, and the days from
one stage to the next.

Each builder is a pure function of a frame of :class:`~analytics.metrics.funnel_view.FunnelView` (stage names in
the language given by the page in ``names``; a group's name for people in a ``label`` column, drawn as text, never
markup) and the language; the numbers drawn are the frame's. Every figure reads on a 390-px phone: a row's name and
figures sit on the lines above its bar, which then has the figure's whole width, and no axis needs a wide label.
Without data: a note, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ui.figures.common import CURRENT, RED, layout
from ui.figures.satisfaction import GREY, HOVER, INK, escape, group_dots, rgba
from ui.formats import fmt_int, fmt_number, fmt_pct
from ui.i18n import t

#: A row's height (px): two lines of text above a bar.
ROW = 78
#: The bar's thickness, and where the lines above it start, in rows.
BAR, ABOVE = 0.4, 0.24


def empty(lang: str, height: int = 200) -> go.Figure:
    fig = go.Figure().add_annotation(text=t("funnel_fig_no_data", lang), showarrow=False, x=0.5, y=0.5,
                                     xref="paper", yref="paper", font={"size": 14, "color": GREY})
    return layout(fig.update_layout(xaxis_visible=False, yaxis_visible=False), height)


def _rows(fig: go.Figure, titles: list[str], notes: list[str]) -> go.Figure:
    """Row ``i``'s title (bold) and note (grey, smaller) on two lines above its bar (at ``y = i``), from the left
    edge; the rows top down."""
    for i, (title, note) in enumerate(zip(titles, notes, strict=True)):
        fig.add_annotation(text=f"<b>{title}</b><br><span style='font-size:12px;color:{GREY}'>{note}</span>",
                           x=0, xref="paper", xanchor="left", y=i - ABOVE, yanchor="bottom", showarrow=False,
                           align="left", font={"size": 13, "color": INK}, bgcolor="rgba(255,255,255,0.9)")
    n = len(titles)
    layout(fig, ROW * n + 24).update_layout(showlegend=False, hovermode="closest", bargap=0,
                                            margin={"l": 4, "r": 4, "t": 4, "b": 20})
    fig.update_yaxes(range=[n - 1 + BAR, -1 + BAR / 2], visible=False, fixedrange=True)
    return fig


def funnel_bars(counts: pd.DataFrame, names: Mapping[str, str], lang: str, leak_step: int | None = None) -> go.Figure:
    """The funnel: one bar per stage (``counts``: :func:`analytics.metrics.funnel.stage_counts`' frame), its length
    the members counted there and its number on it (or after it, when the bar is too short), the stage's name above
    with its % of the previous stage and % of the first; the step that leaks most (``leak_step``: the index of its
    second stage) said so in red. Hover: the step's conversion with its 95 % interval."""
    if counts is None or counts.empty or not int(counts["members"].iloc[0]):
        return empty(lang)
    members = counts["members"].to_numpy(dtype=np.int64)
    notes, hover = [], []
    for i, row in enumerate(counts.itertuples()):
        parts = [t("funnel_fig_pct_first", lang, pct=fmt_pct(row.pct_first, lang))]
        if i:
            parts.insert(0, t("funnel_fig_pct_previous", lang, pct=fmt_pct(row.pct_previous, lang)))
        if i == leak_step:
            parts.append(f"<span style='color:{RED}'>{t('funnel_fig_leak', lang)}</span>")
        notes.append(" · ".join(parts))
        line = f"{escape(names[row.stage])}: <b>{fmt_int(row.members, lang)}</b><br>{' · '.join(parts[:2])}"
        if i:
            line += "<br>" + t("funnel_fig_step", lang, pct=fmt_pct(row.conversion, lang)) + " " + t(
                "ci95", lang, low=fmt_pct(row.low, lang), high=fmt_pct(row.high, lang))
        hover.append(line)
    fig = go.Figure(go.Bar(
        x=members.tolist(), y=list(range(len(members))), orientation="h", width=BAR, marker_color=CURRENT,
        text=[fmt_int(m, lang) for m in members], textposition="auto", insidetextanchor="end",
        insidetextfont={"color": "white", "size": 14}, outsidetextfont={"color": INK, "size": 14},
        cliponaxis=False, customdata=hover, hovertemplate=HOVER))
    fig.update_xaxes(range=[0, float(members.max()) * 1.01], visible=False, fixedrange=True)
    return _rows(fig, [escape(names[s]) for s in counts["stage"]], notes)


def group_conversion_dots(frame: pd.DataFrame, lang: str, overall: float | None = None) -> go.Figure:
    """One step's conversion per group (``frame``: a step's rows of
    :func:`analytics.metrics.funnel.group_conversion`, in its order: ranked weakest first, the small groups last,
    with their names for people in ``label``) as a dot with its 95 % interval, the rate and n under the group's
    name; small groups faded and marked (:func:`ui.figures.satisfaction.group_dots`); the step's conversion over
    everyone (``overall``) a dotted line."""
    if frame is None or frame.empty or not (frame["start"] > 0).any():
        return empty(lang)
    dots = pd.DataFrame({"label": frame["label"], "rate": frame["rate"], "rate_low": frame["low"],
                         "rate_high": frame["high"], "rate_n": frame["start"], "rate_small": frame["small"]})
    fig = group_dots(dots, "rate", lang, ranked=False, kind="share", color=CURRENT)
    if overall is not None and np.isfinite(overall):
        fig.add_vline(x=overall, line={"color": GREY, "dash": "dot", "width": 1.5},
                      annotation={"text": t("funnel_fig_everyone", lang, pct=fmt_pct(overall, lang)),
                                  "font": {"size": 11, "color": GREY}, "yanchor": "bottom"},
                      annotation_position="top")
        fig.update_layout(margin={"t": 24})
    return fig


def stage_times_ranges(times: pd.DataFrame, names: Mapping[str, str], lang: str) -> go.Figure:
    """Days from each stage to the next (``times``: :attr:`~analytics.metrics.funnel_view.FunnelView.times`): the
    quartiles as a band, the median as a dot, the step's name above with the median, quartiles and n."""
    if times is None or times.empty or not (times["n"] > 0).any():
        return empty(lang)
    titles = [f"{escape(names[a])} → {escape(names[b])}" for a, b in zip(times["from_stage"], times["to_stage"],
                                                                          strict=True)]
    notes = [t("funnel_fig_times", lang, median=fmt_number(r.median, lang, 1), q1=fmt_number(r.q1, lang, 1),
               q3=fmt_number(r.q3, lang, 1), n=fmt_int(r.n, lang)) if r.n else t("funnel_fig_times_none", lang)
             for r in times.itertuples()]
    fig = go.Figure()
    y = list(range(len(times)))
    hover = [f"{title}<br>{note}" for title, note in zip(titles, notes, strict=True)]
    fig.add_bar(x=(times["q3"] - times["q1"]).to_numpy(dtype=float), base=times["q1"].to_numpy(dtype=float), y=y,
                orientation="h", width=BAR * 0.6, marker_color=rgba(CURRENT, 0.25), customdata=hover,
                hovertemplate=HOVER)
    fig.add_scatter(x=times["median"], y=y, mode="markers", marker={"size": 13, "color": CURRENT},
                    customdata=hover, hovertemplate=HOVER)
    _rows(fig, titles, notes)
    high = float(np.nanmax(times["q3"].to_numpy(dtype=float)))
    fig.update_xaxes(range=[0, high * 1.05 or 1], showgrid=True, gridcolor="#eef0f3", fixedrange=True,
                     ticksuffix=t("funnel_fig_days_suffix", lang), zeroline=False)
    return fig.update_layout(margin={"b": 28})
