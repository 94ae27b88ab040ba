"""The customer tiers page's figures: the pyramid, the Lorenz curve, the tier mix of each group, the migration
Sankey, the share churned per tier and the lifetime value per tier.

Each builder is a pure function of a :class:`~analytics.metrics.tiers.TierView` frame, the tiers' labels (a
tier's name as people read it: ``labels[name]``, "new" and "lost" included; made by the page, so a custom name
is drawn as given, as text, never as markup) and the language; the numbers drawn are the frame's. Tiers are
coloured from dark (the best, on top) to light, the same in every figure. Each reads on a 390-px phone: labels
beside the pyramid, bars stacked horizontally with the group names on the left, percent axes of round ticks.
Without data: a note, never an error.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.metrics.tiers import LOST, NEW, Concentration
from ui.figures.common import CURRENT, change_colors, layout, money_ticks
from ui.formats import fmt_int, fmt_money, fmt_pct
from ui.i18n import t

#: The best tier's colour and the last tier's; the tiers between are spread evenly from one to the other.
DARK, LIGHT = (15, 61, 115), (185, 205, 232)
#: The colour of the customers who came ("new") and went ("lost") in the migration.
OUTSIDE = "#9aa5b1"
_INK, _GREY = "#1d2733", "#5b6775"
#: The pyramid's labels start here, right of its base (half-width 1), and the x axis ends at ``_RIGHT``.
_LABEL_X, _RIGHT = 1.08, 3.2
#: The mix chart writes a share inside its segment from this share up (a narrower one: hover only).
MIN_TEXT_SHARE = 0.07


def _escape(text: str) -> str:
    return html.escape(str(text), quote=False)


def tier_colors(n: int) -> list[str]:
    """``n`` colours, the best tier's (dark) first, the last tier's (light) last."""
    steps = [k / (n - 1) if n > 1 else 0.0 for k in range(n)]
    return ["#{:02x}{:02x}{:02x}".format(*(round(d + (lt - d) * s) for d, lt in zip(DARK, LIGHT, strict=True)))
            for s in steps]


def _text_color(color: str) -> str:
    """White on a dark colour, ink on a light one."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 150 else _INK


def _rgba(color: str, alpha: float) -> str:
    return "rgba({}, {}, {}, {})".format(*(int(color[i:i + 2], 16) for i in (1, 3, 5)), alpha)


def _empty(lang: str) -> go.Figure:
    fig = go.Figure().add_annotation(text=t("tiers_fig_no_data", lang), showarrow=False, x=0.5, y=0.5, xref="paper",
                                     yref="paper", font={"size": 14, "color": _GREY})
    return layout(fig.update_layout(xaxis_visible=False, yaxis_visible=False), 220)


def _pct_ticks(top: float, lang: str) -> tuple[list[float], list[str]]:
    """Round percent ticks from 0 to at least ``top`` (a fraction), at most six."""
    top = top if np.isfinite(top) and top > 0 else 0.1
    step = next((s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25) if top / s <= 5), 0.5)
    ticks = [round(i * step, 4) for i in range(math.ceil(top / step - 1e-9) + 1)]
    return ticks, [fmt_pct(v, lang, 0) for v in ticks]


def tier_pyramid(table: pd.DataFrame, labels: Mapping[str, str], lang: str, currency: str) -> go.Figure:
    """The pyramid: one layer per tier of equal height, the best on top (a triangle's tip), each labelled beside
    it with its customers (and their share) and its value (and its share of the value); the hover adds the
    average, lowest and highest value. ``table``: the view's tier table."""
    if table.empty or not table["customers"].sum():
        return _empty(lang)
    n = len(table)
    colors = tier_colors(n)
    fig = go.Figure()
    for k, row in enumerate(table.itertuples(index=False)):
        label = _escape(labels[row.name])
        top, bottom, y0, y1 = k / n, (k + 1) / n, n - k - 1, n - k
        customers = t("tiers_fig_customers", lang, n=fmt_int(row.customers, lang), share=fmt_pct(row.customer_share,
                                                                                                 lang))
        value = t("tiers_fig_value", lang, value=fmt_money(row.value, lang, currency, compact=True),
                  share=fmt_pct(row.value_share, lang))
        spread = t("tiers_fig_spread", lang, average=fmt_money(row.average, lang, currency),
                   low=fmt_money(row.lowest, lang, currency), high=fmt_money(row.highest, lang, currency))
        fig.add_scatter(x=[-bottom, bottom, top, -top, -bottom], y=[y0, y0, y1, y1, y0], fill="toself", mode="lines",
                        fillcolor=colors[k], line={"color": "white", "width": 2}, hoveron="fills", hoverinfo="text",
                        text="<br>".join((f"<b>{label}</b>", customers, value, spread)), name=label, showlegend=False)
        middle = (y0 + y1) / 2
        edge = (top + bottom) / 2
        fig.add_shape(type="line", x0=edge + 0.03, x1=_LABEL_X - 0.03, y0=middle, y1=middle,
                      line={"color": "#c3cad2", "width": 1, "dash": "dot"})
        fig.add_annotation(x=_LABEL_X, y=middle, xanchor="left", yanchor="middle", showarrow=False, align="left",
                           text=f"<b>{label}</b><br>{customers}<br>{value}", font={"size": 12, "color": _INK},
                           name=row.name)
    fig.update_xaxes(visible=False, range=[-1.04, _RIGHT], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.05, n + 0.05], fixedrange=True)
    fig.update_layout(hovermode="closest")
    return layout(fig, 64 * n + 24)


def concentration_lorenz(c: Concentration, lang: str) -> go.Figure:
    """The Lorenz curve (the cumulative share of value held by the largest customers, against the cumulative share
    of customers), the diagonal of equal shares, and the top-20 % share marked on the curve."""
    if not c.customers or not np.isfinite(c.top_share):
        return _empty(lang)
    x, y = (c.lorenz[col].to_numpy(dtype=float) for col in ("customers_share", "value_share"))
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name=t("tiers_fig_equal", lang), hoverinfo="skip",
                    line={"color": "#9aa5b1", "width": 1.5, "dash": "dash"})
    hover = [t("tiers_fig_lorenz_hover", lang, customers=fmt_pct(a, lang), value=fmt_pct(b, lang)) for a, b in zip(
        x, y, strict=True)]
    fig.add_scatter(x=x, y=y, mode="lines", name=t("tiers_fig_lorenz", lang), fill="tonexty",
                    fillcolor=_rgba(CURRENT, 0.12), line={"color": CURRENT, "width": 3}, customdata=hover,
                    hovertemplate="%{customdata}<extra></extra>")
    top = math.floor(0.2 * c.customers) / c.customers
    mark = t("tiers_fig_top_share", lang, share=fmt_pct(c.top_share, lang))
    fig.add_scatter(x=[top], y=[c.top_share], mode="markers", name=mark, showlegend=False,
                    marker={"size": 11, "color": CURRENT, "line": {"color": "white", "width": 2}},
                    customdata=[mark], hovertemplate="%{customdata}<extra></extra>")
    fig.add_annotation(x=top, y=c.top_share, xanchor="left", yanchor="top", xshift=8, yshift=-4, showarrow=False,
                       text=f"<b>{mark}</b>", font={"size": 13, "color": _INK}, bgcolor=_rgba("#ffffff", 0.85),
                       name="top_share")
    ticks, text = _pct_ticks(1.0, lang)
    fig.update_xaxes(tickvals=ticks, ticktext=text, range=[0, 1.005], showgrid=True, gridcolor="#eef0f3",
                     title={"text": t("tiers_fig_lorenz_x", lang), "font": {"size": 12}})
    fig.update_yaxes(tickvals=ticks, ticktext=text, range=[0, 1.02],
                     title={"text": t("tiers_fig_lorenz_y", lang), "font": {"size": 12}})
    fig.update_layout(hovermode="closest")
    return layout(fig, 360).update_layout(margin_r=24)  # room for the last tick's label (100 %)


def tier_mix_bar(mix: pd.DataFrame, labels: Mapping[str, str], groups: Mapping[object, str],
                 lang: str) -> go.Figure:
    """Each group's customers split by tier, as 100 % bars (one a group, the tiers best first from the left,
    the group's size beside its name); ``groups[value]``: a group's label. ``mix``: one grouping's frame."""
    if mix.empty or not mix["customers"].sum():
        return _empty(lang)
    order = list(dict.fromkeys(mix["group"]))
    names = list(dict.fromkeys(mix["name"]))
    sizes = mix.groupby("group", dropna=False, sort=False)["customers"].sum()
    rows = [f"{_escape(groups[g])} ({fmt_int(sizes[g], lang)})" for g in order]
    colors = tier_colors(len(names))
    fig = go.Figure()
    for k, name in enumerate(names):
        part = mix[mix["name"] == name].set_index("group", drop=False).reindex(order)
        share = part["share"].to_numpy(dtype=float)
        label = _escape(labels[name])
        hover = [f"{row} · {label}: {fmt_int(n, lang)} ({fmt_pct(s, lang)})" for row, n, s in zip(
            rows, part["customers"], share, strict=True)]
        fig.add_bar(x=share, y=rows, orientation="h", name=label, marker={"color": colors[k], "line": {"width": 0}},
                    text=[fmt_pct(s, lang, 0) if s >= MIN_TEXT_SHARE else "" for s in share],
                    textposition="inside", insidetextanchor="middle", textfont={"color": _text_color(colors[k])},
                    customdata=hover, hovertemplate="%{customdata}<extra></extra>")
    ticks, text = _pct_ticks(1.0, lang)
    fig.update_xaxes(tickvals=ticks, ticktext=text, range=[0, 1], showgrid=True, gridcolor="#eef0f3")
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=rows)
    fig.update_layout(barmode="stack", bargap=0.3, hovermode="closest", legend={"traceorder": "normal"})
    return layout(fig, 32 * len(rows) + 110)


def _move(before: str, after: str, names: tuple[str, ...]) -> str:
    if before == NEW:
        return NEW
    if after == LOST:
        return LOST
    was, now = names.index(before), names.index(after)
    return "upgrade" if now < was else "downgrade" if now > was else "same"


def migration_sankey(matrix: pd.DataFrame, names: tuple[str, ...], labels: Mapping[str, str], lang: str,
                     currency: str) -> go.Figure:
    """Customers from their tier in the comparison period (left, new customers last) to their tier in the period
    (right, lost customers last); a flow's width is its customers, its colour the move (up or new: the rise
    colour, down or lost: the fall colour, the same tier: grey). ``matrix``: the view's migration matrix."""
    if matrix is None or matrix.empty:
        return _empty(lang)
    rise, fall = change_colors(lang)
    colors = dict(zip(names, tier_colors(len(names)), strict=True)) | {NEW: OUTSIDE, LOST: OUTSIDE}
    flow = {"upgrade": rise, NEW: rise, "downgrade": fall, LOST: fall, "same": "#9aa5b1"}
    left = matrix.groupby("before")["customers"].sum()
    right = matrix.groupby("after")["customers"].sum()
    nodes = [("before", n) for n in (*names, NEW) if n in left.index]
    nodes += [("after", n) for n in (*names, LOST) if n in right.index]
    where = {node: i for i, node in enumerate(nodes)}
    total = float(matrix["customers"].sum())
    x, y = [], []
    for side, totals in (("before", left), ("after", right)):
        done = 0.0
        for s, name in nodes:
            if s == side:
                x.append(0.001 if side == "before" else 0.999)
                y.append(min(max((done + totals[name] / 2) / total, 0.001), 0.999))
                done += totals[name]
    node_text = [f"{_escape(labels[n])} {fmt_int((left if s == 'before' else right)[n], lang)}" for s, n in nodes]
    link_hover = [t("tiers_fig_flow", lang, before=_escape(labels[r.before]), after=_escape(labels[r.after]),
                    n=fmt_int(r.customers, lang), change=("+" if r.value_change > 0 else "")
                    + fmt_money(r.value_change, lang, currency, compact=True)) for r in matrix.itertuples(index=False)]
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": node_text, "color": [colors[n] for _, n in nodes], "x": x, "y": y, "pad": 14,
              "thickness": 14, "line": {"width": 0}, "hovertemplate": "%{label}<extra></extra>"},
        link={"source": [where[("before", b)] for b in matrix["before"]],
              "target": [where[("after", a)] for a in matrix["after"]],
              "value": matrix["customers"].to_numpy(dtype=float),
              "color": [_rgba(flow[_move(b, a, names)], 0.45) for b, a in zip(matrix["before"], matrix["after"],
                                                                            strict=True)],
              "customdata": link_hover, "hovertemplate": "%{customdata}<extra></extra>"},
        textfont={"size": 12, "color": _INK}))
    fig.update_layout(hovermode="closest")
    return layout(fig, max(320, 40 * len(names) + 200))


def churn_dots(rates: pd.DataFrame, labels: Mapping[str, str], lang: str) -> go.Figure:
    """The churn page's monthly churn rate of each tier (``rates``: :class:`~analytics.metrics.churn_tiers.TierChurn`'s,
    ``group`` the tier's name): a dot with its 95 % interval as whiskers, the best tier on the left, the rate written
    beside it; the comparison period's tiers' rate a grey diamond. Tiers without customer-months are left out."""
    shown = rates[rates["exposure"] > 0]
    if shown.empty:
        return _empty(lang)
    rate, low, high, past = (shown[c].to_numpy(dtype=float) for c in ("rate", "low", "high", "compare_rate"))
    names = [_escape(labels[n]) for n in shown["group"]]
    hover = [t("tiers_fig_churn", lang, tier=name, rate=fmt_pct(r, lang), low=fmt_pct(lo, lang),
               high=fmt_pct(hi, lang), churned=fmt_int(c, lang), exposure=fmt_int(e, lang))
             + ("" if not np.isfinite(p) else "<br>" + t("tiers_fig_churn_before", lang, rate=fmt_pct(p, lang)))
             for name, r, lo, hi, c, e, p in zip(names, rate, low, high, shown["churned"], shown["exposure"], past,
                                                 strict=True)]
    # each tier at x = i: this period's dot a little right of it, the comparison's diamond a little left
    at = np.arange(len(names), dtype=float)
    compare = np.isfinite(past).any()
    shift = 0.12 if compare else 0.0
    fig = go.Figure()
    fig.add_scatter(x=at + shift, y=rate, mode="markers+text", name=t("tiers_fig_churn_name", lang),
                    marker={"size": 12, "color": CURRENT}, text=[fmt_pct(r, lang) for r in rate],
                    textposition="middle right", textfont={"size": 12, "color": _INK},
                    error_y={"type": "data", "array": high - rate, "arrayminus": rate - low, "width": 8,
                             "thickness": 2, "color": _rgba(CURRENT, 0.7)},
                    customdata=hover, hovertemplate="%{customdata}<extra></extra>")
    if compare:
        fig.add_scatter(x=at - shift, y=past, mode="markers", name=t("tiers_fig_churn_before_name", lang),
                        marker={"symbol": "diamond", "size": 10, "color": OUTSIDE, "line": {"width": 1,
                                                                                            "color": "white"}},
                        customdata=hover, hovertemplate="%{customdata}<extra></extra>")
    ticks, text = _pct_ticks(float(np.nanmax(np.r_[high, past[np.isfinite(past)], 0.01])), lang)
    fig.update_yaxes(tickvals=ticks, ticktext=text, range=[0, ticks[-1] * 1.04])
    # room on the right of the last dot for its rate
    fig.update_xaxes(tickvals=at, ticktext=names, tickangle=0, range=[-0.5, len(names) - 0.5 + 0.4],
                     showgrid=False, zeroline=False)
    fig.update_layout(hovermode="closest", showlegend=bool(compare), legend={"orientation": "h", "y": -0.18})
    return layout(fig, 320)


def clv_bar(table: pd.DataFrame, labels: Mapping[str, str], lang: str, currency: str) -> go.Figure:
    """The average lifetime value of each tier's customers (bars, the best tier on top), the tier's total beside
    it. ``table``: the CLV per tier (:class:`~analytics.metrics.tiers.TierClv`)."""
    shown = table[table["with_clv"] > 0]
    if shown.empty:
        return _empty(lang)
    names = [_escape(labels[n]) for n in shown["name"]]
    average, total = shown["average"].to_numpy(dtype=float), shown["total"].to_numpy(dtype=float)
    colors = tier_colors(len(table))
    text = [t("tiers_fig_clv", lang, average=fmt_money(a, lang, currency, compact=True),
              total=fmt_money(s, lang, currency, compact=True)) for a, s in zip(average, total, strict=True)]
    fig = go.Figure(go.Bar(x=average, y=names, orientation="h", text=text, textposition="outside", cliponaxis=False,
                           marker={"color": [colors[k] for k in shown["tier"]]}, customdata=text,
                           hovertemplate="%{y}: %{customdata}<extra></extra>"))
    ticks, ticktext = money_ticks(float(np.nanmax(average)) * 1.9, lang, currency, count=4)
    fig.update_xaxes(tickvals=ticks, ticktext=ticktext, range=[0, ticks[-1]], showgrid=True, gridcolor="#eef0f3")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(hovermode="closest", showlegend=False)
    return layout(fig, 52 * len(names) + 70)
