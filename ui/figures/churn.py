"""The churn & retention page's figures: pure functions of a view model's frame (or a model's result) and the
language, drawing the frame's numbers. Each reads on a 390-px phone as on a laptop: level ticks, at most six
labelled months, the legend on top, cell text only on small grids, hover everywhere. Provisional figures (a
window or month not over in the data) are drawn apart: hollow markers off the line, hatched bars, grey cells
with an asterisk. More churn is bad in any convention: a rise (or a hazard ratio above 1) is red and a fall
green in both languages, unlike :func:`ui.figures.common.change_colors`. Without data: a note, never an error.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import date
from functools import partial

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.models.cox import CoxFit, CoxTerm, hazard_words
from analytics.models.survival import SurvivalCurve
from ui.dates import fmt_month
from ui.figures.common import COMPARISON, CURRENT, GREEN, RED, layout, money_ticks, month_ticks
from ui.figures.value import group_name
from ui.formats import fmt_int, fmt_money, fmt_number, fmt_pct
from ui.i18n import t

#: Survival curves' colours, the period's blue first; more groups than colours reuse them in turn.
PALETTE = (CURRENT, "#e07b00", "#0f8b8d", "#7b4ea3", "#8c564b", "#d1477a", "#7a8a00", COMPARISON)
#: The cohort grid writes values in its cells up to this many columns (a cell of 30 px or more on a phone).
MAX_TEXT_COLUMNS = 8
#: Labelled months on a month axis at most (a 390-px phone fits about six), every 1, 2, 3, 6 ... months.
MAX_MONTH_LABELS, _MONTH_STEPS = 6, (1, 2, 3, 6, 12, 24, 60)
_GREY, _WARM, _INK = "#8a949e", "#e07b00", "#1d2733"
#: Retention's colours, spread over the low shares most cells have (provisional cells: greys).
_BLUES, _GREYS = [[0, "#f4f7fb"], [0.25, "#a9c3e6"], [0.5, "#6b9ad3"], [1, CURRENT]], [[0, "#f4f5f6"], [1, _GREY]]
_HOVER = "%{customdata}<extra></extra>"
_escape = partial(html.escape, quote=False)  # a label from the data is text, not markup (<a>, <b>, <br>)


def _rgba(color: str, alpha: float) -> str:
    return "rgba({}, {}, {}, {})".format(*(int(color[i:i + 2], 16) for i in (1, 3, 5)), alpha)


def _lines(*parts: str | None) -> str:
    return "<br>".join(p for p in parts if p)


def _ci(low: float, high: float, lang: str, show=fmt_pct) -> str:
    return t("ci95", lang, low=show(low, lang), high=show(high, lang))


def _empty(lang: str) -> go.Figure:
    fig = go.Figure().add_annotation(text=t("churn_fig_no_data", lang), showarrow=False, x=0.5, y=0.5, xref="paper",
                                     yref="paper", font={"size": 14, "color": "#5b6775"})
    return layout(fig.update_layout(xaxis_visible=False, yaxis_visible=False), 220)


def _columns(frame: pd.DataFrame, *names: str) -> list[np.ndarray]:
    return [frame[name].to_numpy(dtype=float) for name in names]


def _month_axis(fig: go.Figure, months: Sequence[date], names: list[str], lang: str) -> None:
    """A category axis of ``names`` (a month each) labelled every 1, 2, 3, 6 ... months, so each January."""
    step = next((s for s in _MONTH_STEPS if math.ceil(len(months) / s) <= MAX_MONTH_LABELS), _MONTH_STEPS[-1])
    shown = [i for i, m in enumerate(months) if (m.year * 12 + m.month - 1) % step == 0] or [0]
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=names, tickangle=0,
                     tickvals=[names[i] for i in shown], ticktext=month_ticks([months[i] for i in shown], lang))


def _pct_axis(fig: go.Figure, top: float, lang: str, axis: str = "y", **where: object) -> None:
    """A percent ``axis`` ("x" or "y") from 0 to at least ``top`` (a fraction), at most six round ticks."""
    top = top if np.isfinite(top) and top > 0 else 0.1
    step = next((s for s in (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5) if top / s <= 5), 1.0)
    ticks = [round(i * step, 4) for i in range(math.ceil(top / step - 1e-9) + 1)]
    (fig.update_yaxes if axis == "y" else fig.update_xaxes)(
        tickvals=ticks, ticktext=[fmt_pct(v, lang, 1 if step < 0.01 else 0) for v in ticks],
        range=[0, ticks[-1] * 1.04], **where)


def _band(fig: go.Figure, x: list, low: np.ndarray, high: np.ndarray, color: str, name: str,
          shape: str = "linear", legend: bool = True, **where: int) -> None:
    """An interval as a filled band: its upper edge, then its lower edge filled up to it (no hover)."""
    common = {"x": x, "mode": "lines", "line": {"width": 0, "shape": shape}, "hoverinfo": "skip", "legendgroup": name}
    fig.add_scatter(y=high, showlegend=False, **common, **where)
    fig.add_scatter(y=low, fill="tonexty", fillcolor=_rgba(color, 0.18), name=name, showlegend=legend, **common,
                    **where)


def _mark(fig: go.Figure, x: float, text: str) -> None:
    """A dotted vertical line at ``x`` (across every panel), labelled inside the top panel's top."""
    fig.add_vline(x=x, line={"color": _INK, "width": 1.5, "dash": "dot"})
    fig.add_annotation(x=x, y=1, xref="x", yref="y domain", xanchor="left", yanchor="top", xshift=3,
                       showarrow=False, text=text, font={"size": 12}, bgcolor=_rgba("#ffffff", 0.8), name="mark")


def _series(fig: go.Figure, x: list, y: np.ndarray, provisional: np.ndarray, hover: list[str], name: str, color: str,
            lang: str, *, dash: str = "solid", legend: bool = True, error: tuple = (), **where: str) -> None:
    """A line through the complete points, the provisional ones as hollow markers off it (a month still
    filling never reads as a drop); ``error``: (low, high) drawn as error bars on the line's points."""
    bars = ({"error_y": {"type": "data", "array": np.where(provisional, np.nan, error[1] - y), "width": 0,
                         "arrayminus": np.where(provisional, np.nan, y - error[0]), "color": _rgba(color, 0.6)}}
            if error else {})
    fig.add_scatter(x=x, y=np.where(provisional, np.nan, y), name=name, mode="lines+markers", legendgroup=name,
                    line={"color": color, "width": 2.5, "dash": dash}, marker={"size": 6}, customdata=hover,
                    hovertemplate=_HOVER, **bars, **where)
    if (keep := np.flatnonzero(provisional)).size:
        fig.add_scatter(x=[x[i] for i in keep], y=y[keep], mode="markers", name=t("churn_fig_provisional", lang),
                        legendgroup="provisional", showlegend=legend, customdata=[hover[i] for i in keep],
                        hovertemplate=_HOVER, marker={"symbol": "circle-open", "size": 10, "color": color,
                                                      "line": {"width": 2}}, **where)


def _rate_hover(frame: pd.DataFrame, lang: str) -> list[str]:
    return [_lines(f"{fmt_month(r.month, lang)}: <b>{fmt_pct(r.churn_rate, lang)}</b>",
                   _ci(r.churn_low, r.churn_high, lang), t("churn_fig_churned_of", lang, churned=fmt_int(
                       r.churned, lang), active=fmt_int(r.active_start, lang)),
                   r.provisional and t("churn_fig_provisional_rate", lang)) for r in frame.itertuples(index=False)]


def churn_rate_line(monthly: pd.DataFrame, comparison: pd.DataFrame | None, lang: str) -> go.Figure:
    """Churn per month (``monthly_churn``'s frame), its 95 % interval a band, provisional months hollow off the
    line; the comparison's frame (or None) a grey dashed line at the same positions, hover naming its months."""
    if monthly is None or monthly.empty:
        return _empty(lang)
    months, names = list(monthly["month"]), [fmt_month(m, lang) for m in monthly["month"]]
    rate, low, high = _columns(monthly, "churn_rate", "churn_low", "churn_high")
    provisional = monthly["provisional"].to_numpy(dtype=bool)
    fig, past = go.Figure(), np.array([])
    _band(fig, names, *(np.where(provisional, np.nan, a) for a in (low, high)), CURRENT, t("churn_fig_band", lang))
    if comparison is not None and not comparison.empty:
        other = comparison.iloc[:len(months)]
        past = other["churn_rate"].to_numpy(dtype=float)
        _series(fig, names[:len(other)], past, other["provisional"].to_numpy(dtype=bool), _rate_hover(other, lang),
                t("churn_fig_comparison", lang), COMPARISON, lang, dash="dash", legend=False)
    _series(fig, names, rate, provisional, _rate_hover(monthly, lang), t("churn_fig_this_period", lang), CURRENT,
            lang)
    _pct_axis(layout(fig, 320), np.nanmax(np.r_[high, rate, past, 0]), lang)
    _month_axis(fig, months, names, lang)
    return fig


def window_sensitivity_line(sensitivity: pd.DataFrame, lang: str) -> go.Figure:
    """By inactivity window (x, days): the churn rate per customer-month with its band (top) and the share of
    customers churned as of the last day (bottom); the window in use marked by a dotted line and its label."""
    if sensitivity is None or sensitivity.empty:
        return _empty(lang)
    df = sensitivity.sort_values("window")
    days = df["window"].astype(int).tolist()
    rate, low, high, share = _columns(df, "rate", "low", "high", "churned_share")
    titles = (t("churn_fig_rate_per_month", lang), t("churn_fig_churned_share", lang))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.14, subplot_titles=titles)
    fig.update_annotations(font_size=13, x=0, xanchor="left", yshift=4)
    _band(fig, days, low, high, CURRENT, t("churn_fig_band", lang), row=1, col=1)
    for y, color, row in ((rate, CURRENT, 1), (share, _WARM, 2)):
        hover = [_lines(f"{t('churn_fig_window_days', lang, days=fmt_int(d, lang))}: <b>{fmt_pct(v, lang)}</b>",
                        *((_ci(lo, hi, lang), t("churn_fig_churned_exposure", lang, churned=fmt_int(c, lang),
                                                exposure=fmt_int(e, lang))) if row == 1 else ()))
                 for d, v, lo, hi, c, e in zip(days, y, low, high, df["churned"], df["exposure"], strict=True)]
        fig.add_scatter(x=days, y=y, name=titles[row - 1], mode="lines+markers", line={"color": color, "width": 2.5},
                        marker={"size": 6}, customdata=hover, hovertemplate=_HOVER, row=row, col=1)
        _pct_axis(fig, np.nanmax(np.r_[high if row == 1 else share, 0]), lang, row=row, col=1)
    layout(fig, 420).update_layout(hovermode="closest", showlegend=False, margin={"t": 30},
                                   xaxis2_title_text=t("churn_fig_window_axis", lang))
    fig.update_xaxes(tick0=0, dtick=90 if max(days) > 180 else 30, tickangle=0, range=[0, max(days) * 1.04])
    chosen = df.loc[df["chosen"].astype(bool), "window"]
    if len(chosen):
        _mark(fig, int(chosen.iloc[0]), t("churn_fig_window_chosen", lang, days=fmt_int(chosen.iloc[0], lang)))
    return fig


def group_churn_bar(frame: pd.DataFrame, grouping: str, lang: str) -> go.Figure:
    """Churn per group, highest on top, with its interval; the comparison grey; too few faded; moves ▲ red / ▼ green."""
    if frame is None or frame.empty:
        return _empty(lang)
    df = frame.sort_values("rate", ascending=True, na_position="first")
    names = [_escape(group_name(grouping, g, lang)) for g in df["group"]]
    rate, low, high, past = _columns(df, "rate", "low", "high", "compare_rate")
    small, moved = df["small"].to_numpy(dtype=bool), [m if m in ("up", "down") else None for m in df["moved"]]
    color, arrow, few = ({"up": RED, "down": GREEN, None: CURRENT}, {"up": "▲ ", "down": "▼ ", None: ""},
                         f" · {t('churn_fig_few_customers', lang)}")
    ticks = [f"{n}<br><span style='font-size:11px'><span style='color:{color[m]}'>{arrow[m]}</span>"
             f"{fmt_pct(r, lang)}{few if s else ''}</span>"
             for n, m, r, s in zip(names, moved, rate, small, strict=True)]
    hover = [_lines(f"{n}: <b>{fmt_pct(r, lang)}</b>", _ci(lo, hi, lang),
                    t("churn_fig_churned_exposure", lang, churned=fmt_int(c, lang), exposure=fmt_int(e, lang)),
                    t("churn_fig_comparison_rate", lang, rate=fmt_pct(p, lang)) if np.isfinite(p) else None,
                    t(f"churn_fig_moved_{m}", lang) if m else None, s and t("churn_fig_small_note", lang))
             for n, r, lo, hi, c, e, p, m, s in zip(names, rate, low, high, df["churned"], df["exposure"], past,
                                                     moved, small, strict=True)]
    fig = go.Figure(go.Bar(  # (the legend's swatch is the period's blue: plotly takes the first bar's colour)
        x=rate, y=names, orientation="h", name=t("churn_fig_this_period", lang), customdata=hover, showlegend=False,
        marker_color=[_rgba(color[m], 0.35 if s else 1.0) for m, s in zip(moved, small, strict=True)],
        hovertemplate=_HOVER, error_x={"type": "data", "symmetric": False, "array": np.maximum(high - rate, 0),
                                       "arrayminus": np.maximum(rate - low, 0), "color": _INK, "width": 3}))
    fig.add_bar(x=[None], y=[None], orientation="h", name=t("churn_fig_this_period", lang), marker_color=CURRENT)
    if np.isfinite(past).any():
        fig.add_scatter(x=past, y=names, mode="markers", name=t("churn_fig_comparison", lang), customdata=hover,
                        hovertemplate=_HOVER, marker={"symbol": "diamond", "size": 10, "color": COMPARISON,
                                                      "line": {"width": 1, "color": "white"}})
    layout(fig, max(220, 52 * len(df) + 70)).update_layout(hovermode="closest", bargap=0.35, showlegend=True)
    _pct_axis(fig, np.nanmax(np.r_[high, past, 0]), lang, axis="x", showgrid=True, gridcolor="#eef0f3")
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=names, tickvals=names, ticktext=ticks)
    return fig


def cohort_heatmap(cells: pd.DataFrame, sizes: pd.DataFrame, value: str, lang: str) -> go.Figure:
    """Retention grid: a row per cohort with its size (``sizes``), oldest on top; a column per month since the first.
    ``value``: ``"share"`` (customer_retention) or ``"retention"`` (revenue_retention: the colour clipped to
    0-100 %, the text the real value). Provisional cells grey with an asterisk; text up to MAX_TEXT_COLUMNS."""
    if cells is None or cells.empty:
        return _empty(lang)
    df = cells.assign(cohort=pd.to_datetime(cells["cohort"]).dt.date)
    cohorts = sorted(df["cohort"].unique())
    sized = dict(zip(pd.to_datetime(sizes["cohort"]).dt.date, sizes["customers"], strict=True))
    rows = [t("churn_fig_with_n", lang, name=fmt_month(c, lang), n=fmt_int(sized.get(c), lang)) for c in cohorts]
    columns = list(range(int(df["months_since"].max()) + 1))
    shape, show, index = (len(rows), len(columns)), len(columns) <= MAX_TEXT_COLUMNS, {c: i for i, c in
                                                                                       enumerate(cohorts)}
    real, provisional = np.full(shape, np.nan), np.zeros(shape, dtype=bool)
    text, hover = np.full(shape, "", dtype=object), np.full(shape, "", dtype=object)
    for row in df.to_dict("records"):
        i, j = index[row["cohort"]], int(row["months_since"])
        real[i, j], provisional[i, j] = row[value], bool(row["provisional"])
        text[i, j] = fmt_pct(row[value], lang, 0) + ("*" if provisional[i, j] else "") if show else ""
        words = ([t("churn_fig_cell_customers", lang, n=j, share=fmt_pct(row[value], lang), retained=fmt_int(
            row["retained"], lang), customers=fmt_int(row["customers"], lang)), _ci(row["low"], row["high"], lang)]
                 if value == "share" else [t("churn_fig_cell_revenue", lang, n=j, share=fmt_pct(row[value], lang))])
        hover[i, j] = _lines(f"<b>{rows[i]}</b>", *words, provisional[i, j] and t("churn_fig_provisional_cell", lang))
    color, key = np.clip(real, 0, 1), [fmt_pct(v, lang, 0) for v in (0, 0.5, 1)]
    fig = go.Figure()
    for part, scale, name in ((~provisional, _BLUES, t("churn_fig_retained", lang)),
                              (provisional, _GREYS, t("churn_fig_provisional", lang))):
        fig.add_heatmap(z=np.where(part, color, np.nan), x=columns, y=rows, zmin=0, zmax=1, colorscale=scale,
                        text=np.where(part, text, ""), texttemplate="%{text}", textfont={"size": 10},
                        customdata=np.where(part, hover, ""), hovertemplate=_HOVER, hoverongaps=False, xgap=1,
                        ygap=1, name=name, showscale=scale is _BLUES,
                        colorbar={"orientation": "h", "x": 0, "xanchor": "left", "y": 1.01, "yanchor": "bottom",
                                  "len": 0.45, "thickness": 10, "tickvals": [0, 0.5, 1], "ticktext": key})
    if provisional.any():  # the grey cells' key, right of the colour bar
        fig.add_scatter(x=[None], y=[None], mode="markers", name=t("churn_fig_provisional", lang) + " *",
                        marker={"symbol": "square", "size": 12, "color": _GREY}, hoverinfo="skip")
    layout(fig, max(240, 22 * len(rows) + 130)).update_layout(
        hovermode="closest", showlegend=bool(provisional.any()), legend={"x": 1, "xanchor": "right"})
    fig.update_xaxes(title={"text": t("churn_fig_months_since", lang), "standoff": 6}, tickangle=0, zeroline=False,
                     dtick=1 if len(columns) <= 12 else None, automargin=True)
    fig.update_yaxes(type="category", autorange="reversed", tickfont={"size": 11}, showgrid=False)
    return fig


def milestone_lines(milestones: pd.DataFrame, lang: str) -> go.Figure:
    """Customer retention at months 1, 3, 6 and 12 across cohorts (x: the cohort's month; is each new cohort
    better?), a line per milestone with its 95 % interval as error bars; provisional points hollow, off it."""
    if milestones is None or milestones.empty:
        return _empty(lang)
    df = milestones.assign(cohort=pd.to_datetime(milestones["cohort"]).dt.date)
    months = sorted(df["cohort"].unique())
    names = [fmt_month(m, lang) for m in months]
    fig = go.Figure()
    for k, (n, part) in enumerate(df.groupby("months_since", sort=True)):
        part = part.set_index("cohort").reindex(months)
        share, low, high = _columns(part, "share", "low", "high")
        provisional = part["provisional"].fillna(False).to_numpy(dtype=bool)
        label = t("churn_fig_month_n", lang, n=int(n))
        hover = [_lines(f"{name} · {label}: <b>{fmt_pct(s, lang)}</b>", _ci(lo, hi, lang),
                        t("churn_fig_retained_of", lang, retained=fmt_int(r, lang), customers=fmt_int(c, lang)),
                        p and t("churn_fig_provisional_cell", lang))
                 for name, s, lo, hi, r, c, p in zip(names, share, low, high, part["retained"], part["customers"],
                                                     provisional, strict=True)]
        _series(fig, names, share, provisional, hover, label, PALETTE[k % len(PALETTE)], lang, legend=k == 0,
                error=(low, high))
    _pct_axis(layout(fig, 340).update_layout(hovermode="closest"), np.nanmax(np.r_[df["high"], 0]), lang)
    _month_axis(fig, months, names, lang)
    return fig


def survival_curves(curves: Sequence[SurvivalCurve], lang: str, names: Mapping | None = None) -> go.Figure:
    """Kaplan–Meier steps from 100 % at day 0 with their bands, n in the legend, a dotted line at the horizon.
    ``names``: a display name per group label (``None``: the missing group, or all customers if alone)."""
    curves = [c for c in curves or () if c.n > 0]
    if not curves:
        return _empty(lang)
    fig, names, horizon = go.Figure(), names or {}, curves[0].horizon
    last = max([float(c.times[-1]) for c in curves if len(c.times)] + [horizon])
    missing = t("churn_fig_all_customers" if len(curves) == 1 else "churn_fig_group_missing", lang)
    for k, c in enumerate(curves):
        name = missing if c.group is None and None not in names else _escape(names.get(c.group, c.group))
        label, color = t("churn_fig_with_n", lang, name=name, n=fmt_int(c.n, lang)), PALETTE[k % len(PALETTE)]
        x, y, low, high = (np.r_[v, a] for v, a in ((0, c.times), (1, c.survival), (1, c.low), (1, c.high)))
        _band(fig, x, low, high, color, label, shape="hv", legend=False)
        hover = [_lines(label, t("churn_fig_survival_at", lang, day=fmt_int(d, lang), share=fmt_pct(s, lang)),
                        _ci(lo, hi, lang)) for d, s, lo, hi in zip(x, y, low, high, strict=True)]
        fig.add_scatter(x=x, y=y, mode="lines", name=label, legendgroup=label, customdata=hover, hovertemplate=_HOVER,
                        line={"color": color, "width": 2.5, "shape": "hv"})
    ticks = [0]  # 0, 90, 180, 365, 730, ... days, none closer than an eighth of the axis
    for d in (90, 180, *range(365, int(last) + 365, 365)):
        ticks += [d] if d <= last * 1.02 and d - ticks[-1] >= last / 8 else []
    labels = ["0", *(t("churn_fig_years_short", lang, n=d // 365) if d % 365 == 0
                     else t("churn_fig_days_short", lang, n=d) for d in ticks[1:])]
    layout(fig, 360).update_layout(hovermode="closest", showlegend=True)
    fig.update_xaxes(tickvals=ticks, ticktext=labels, range=[0, last * 1.02], tickangle=0,
                     title_text=t("churn_fig_days_axis", lang))
    fig.update_yaxes(tickvals=[0, 0.25, 0.5, 0.75, 1], ticktext=[fmt_pct(v, lang, 0) for v in (0, .25, .5, .75, 1)],
                     range=[0, 1.03])
    _mark(fig, horizon, t("churn_fig_days", lang, n=fmt_int(horizon, lang)))
    return fig


def _term_label(term: CoxTerm, names: Mapping, lang: str) -> str:
    if (term.column, term.level) in names:
        return _escape(names[(term.column, term.level)])
    column = _escape(names.get(term.column, term.column))
    if term.numeric:
        return t("churn_fig_per_unit", lang, column=column)
    level, reference = (t("churn_fig_missing_level", lang) if v is None else _escape(v)
                        for v in (term.level, term.reference))
    return f"{column}<br>" + t("churn_fig_level_vs", lang, level=level, reference=reference)


def hazard_ratio_forest(fit: CoxFit | None, lang: str, names: Mapping | None = None) -> go.Figure:
    """Hazard ratios with their 95 % intervals on a log axis, a line at 1, a row per term (``names``: a label per
    ``(column, level)`` or column): red if the interval is above 1 (leave faster), green below, grey if it holds 1."""
    if fit is None or not fit.terms:
        return _empty(lang)
    rows = [_term_label(term, names or {}, lang) for term in fit.terms]
    fig, directions = go.Figure(), [hazard_words(term).direction for term in fit.terms]
    for direction, color in (("faster", RED), ("slower", GREEN), ("unclear", COMPARISON)):
        terms = [(i, row, term) for i, (row, term, d) in enumerate(zip(rows, fit.terms, directions, strict=True))
                 if d == direction]
        if not terms:
            continue
        ratio, low, high = (np.array([getattr(term, a) for *_, term in terms]) for a in ("hazard_ratio", "low", "high"))
        hover = [_lines(f"<b>{row.replace('<br>', ': ')}</b>", t("churn_fig_hazard_ratio", lang,
                        ratio=fmt_number(term.hazard_ratio, lang)), _ci(term.low, term.high, lang, fmt_number),
                        t("churn_fig_p_value", lang, p=fmt_number(term.p_value, lang, 3)), t(
                        "churn_fig_customers_left", lang, customers=fmt_int(term.customers, lang),
                        events=fmt_int(term.events, lang))) for _, row, term in terms]
        fig.add_scatter(x=ratio, y=[i for i, *_ in terms], mode="markers", name=t(f"churn_fig_{direction}", lang),
                        marker={"size": 10, "color": color}, customdata=hover, hovertemplate=_HOVER,
                        error_x={"type": "data", "symmetric": False, "array": high - ratio, "arrayminus": ratio - low,
                                 "color": color, "thickness": 2, "width": 0})
    for i, row in enumerate(rows):  # each name above its row, across the width (as axis labels: most of a phone)
        fig.add_annotation(x=0, xref="paper", y=i, yref="y", yshift=15, xanchor="left", showarrow=False,
                           text=row.replace("<br>", " · "), font={"size": 11, "color": _INK})
    fig.add_vline(x=1, line={"color": _INK, "width": 1})
    edges = [v for term in fit.terms for v in (term.low, term.high) if np.isfinite(v) and v > 0] + [1.0]
    lo, hi = min(edges) / 1.15, max(edges) * 1.15
    ticks = [v for v in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if lo <= v <= hi]
    layout(fig, max(220, 46 * len(rows) + 100)).update_layout(hovermode="closest", showlegend=True)
    fig.update_xaxes(type="log", range=[math.log10(lo), math.log10(hi)], tickvals=ticks, showgrid=True,
                     ticktext=[fmt_number(v, lang) + "×" for v in ticks], gridcolor="#eef0f3",
                     title_text=t("churn_fig_hazard_axis", lang))
    fig.update_yaxes(range=[len(rows) - 0.5, -0.8], showticklabels=False, showgrid=False, zeroline=False)
    return fig


def win_back_bars(monthly: pd.DataFrame, lang: str, currency: str = "CNY") -> go.Figure:
    """Customers won back per month (bars, left axis) and their revenue that month (orange line, right axis
    with orange ticks); provisional months hatched and off the line. Hover gives both."""
    if monthly is None or monthly.empty:
        return _empty(lang)
    months, names = list(monthly["month"]), [fmt_month(m, lang) for m in monthly["month"]]
    provisional = monthly["provisional"].to_numpy(dtype=bool)
    count, revenue = _columns(monthly, "won_back", "won_back_revenue")
    hover = [_lines(f"{n}: <b>{t('churn_fig_won_back_n', lang, n=fmt_int(c, lang))}</b>",
                    p and t("churn_fig_provisional_cell", lang))
             for n, c, p in zip(names, count, provisional, strict=True)]
    fig = go.Figure()
    fig.add_bar(x=names, y=count, name=t("churn_fig_won_back", lang), customdata=hover, hovertemplate=_HOVER,
                marker={"color": [_rgba(CURRENT, 0.45) if p else CURRENT for p in provisional],
                        "pattern": {"shape": ["/" if p else "" for p in provisional]}})
    money = [t("churn_fig_won_back_revenue_is", lang, revenue=fmt_money(r, lang, currency)) for r in revenue]
    _series(fig, names, revenue, provisional, money, t("churn_fig_won_back_revenue", lang), _WARM, lang, yaxis="y2")
    values, labels = money_ticks(float(np.nanmax(np.r_[revenue, 0])), lang, currency, count=4)
    layout(fig, 340).update_layout(bargap=0.3, yaxis2={
        "overlaying": "y", "side": "right", "tickvals": values, "ticktext": labels, "range": [0, values[-1] * 1.05],
        "showgrid": False, "tickfont": {"color": _WARM}})
    fig.update_yaxes(range=[0, np.nanmax(np.r_[count, 1]) * 1.05], tickformat=",d", selector={"side": None})
    _month_axis(fig, months, names, lang)
    return fig


def days_away_histogram(days_away: Sequence[float] | np.ndarray | pd.Series, lang: str) -> go.Figure:
    """How long the customers won back had been away (days from their last purchase before churning to their
    return): a histogram in 30-day bins (90-day ones when the days span over three years), the median marked."""
    days = np.asarray(days_away, dtype=float)[np.isfinite(np.asarray(days_away, dtype=float))]
    if not len(days):
        return _empty(lang)
    size, fig = 30 if days.max() - days.min() <= 3 * 365 else 90, go.Figure()
    fig.add_trace(go.Histogram(
        x=days, xbins={"start": math.floor(days.min() / size) * size, "end": days.max() + size, "size": size},
        marker_color=CURRENT, name=t("churn_fig_customers", lang),
        hovertemplate=t("churn_fig_bin", lang, days="%{x}", customers="%{y}") + "<extra></extra>"))
    layout(fig, 300).update_layout(hovermode="closest", bargap=0.05)
    fig.update_xaxes(title_text=t("churn_fig_days_away_axis", lang), tickangle=0)
    fig.update_yaxes(title_text=t("churn_fig_customers", lang), rangemode="tozero")
    _mark(fig, float(np.median(days)), t("churn_fig_median_days", lang, days=fmt_int(np.median(days), lang)))
    return fig
