"""The customer detail's figure and tables: monthly purchase history, latest transactions, feedback.

The builders are pure: the view model's frames (:class:`analytics.metrics.customer.CustomerView`)
and the language in, a Plotly figure or a display table (translated column names and values) out.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.metrics.customer import MATCHES_SHOWN
from ui.dates import fmt_month
from ui.figures.common import COMPARISON, CURRENT, layout, money_ticks, month_ticks
from ui.formats import fmt_int, fmt_money, fmt_number
from ui.i18n import t

#: Labelled months on the time axis at most (a 390-px phone fits about six).
MAX_MONTH_LABELS = 6
_LABEL_STEPS = (1, 2, 3, 6, 12, 24, 60)


def matches_caption(matches: pd.DataFrame, query: str, lang: str) -> str:
    """What the search's table lists: every match, or (at :data:`MATCHES_SHOWN`) those with the most revenue."""
    key = "customer_matches_first" if len(matches) >= MATCHES_SHOWN else "customer_matches"
    return t(key, lang, query=query, count=fmt_int(len(matches), lang))


def month_series(months: pd.DataFrame, last_month: date) -> pd.DataFrame:
    """The customer's months from their first month with activity to ``last_month`` (the period's last),
    months without activity as zeros: ``month, orders, purchase_days, revenue, returns_amount``."""
    columns = ["orders", "purchase_days", "revenue", "returns_amount"]
    if months.empty:
        return pd.DataFrame(columns=["month", *columns])
    first = pd.Timestamp(months["month"].min())
    span = pd.date_range(first, pd.Timestamp(last_month), freq="MS")
    frame = months.assign(month=pd.to_datetime(months["month"])).set_index("month")[columns]
    frame = frame.reindex(span, fill_value=0).rename_axis("month").reset_index()
    frame["month"] = frame["month"].dt.date
    return frame


def _labelled(months: list[date]) -> list[int]:
    """Positions and labels of the months the axis names: every ``step`` months (on a calendar
    boundary: January, July, ...), no more than :data:`MAX_MONTH_LABELS`."""
    step = next((s for s in _LABEL_STEPS if math.ceil(len(months) / s) <= MAX_MONTH_LABELS), _LABEL_STEPS[-1])
    return [i for i, m in enumerate(months) if (m.year * 12 + m.month - 1) % step == 0]


def purchase_history_bars(months: pd.DataFrame, last_month: date, lang: str, currency: str = "CNY") -> go.Figure:
    """Revenue per month (net of returns, top) and purchase days per month (bottom) as bars sharing
    one month axis, from the customer's first month to the period's last; hover names the month."""
    series = month_series(months, last_month)
    names = [fmt_month(m, lang) for m in series["month"]]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12, row_heights=[0.62, 0.38],
                        subplot_titles=(t("customer_chart_revenue", lang), t("customer_chart_days", lang)))
    money = [fmt_money(v, lang, currency) for v in series["revenue"]]
    fig.add_bar(x=names, y=series["revenue"], marker_color=CURRENT, name=t("customer_chart_revenue", lang),
                customdata=money, hovertemplate="%{x}: %{customdata}<extra></extra>", row=1, col=1)
    days = [fmt_int(v, lang) for v in series["purchase_days"]]
    fig.add_bar(x=names, y=series["purchase_days"], marker_color=COMPARISON, name=t("customer_chart_days", lang),
                customdata=days, hovertemplate="%{x}: %{customdata}<extra></extra>", row=2, col=1)
    high = float(series["revenue"].max()) if len(series) else 0.0
    values, labels = money_ticks(high, lang, currency, count=3)
    low = min(0.0, float(series["revenue"].min())) if len(series) else 0.0
    fig.update_yaxes(tickvals=values, ticktext=labels, range=[low * 1.05, max(values[-1], 1.0) * 1.02], row=1, col=1)
    top_days = int(series["purchase_days"].max()) if len(series) else 0
    fig.update_yaxes(rangemode="tozero", dtick=max(1, math.ceil(top_days / 3)), tickformat="d", row=2, col=1)
    positions = _labelled(list(series["month"]))
    ticks = month_ticks([series["month"].iloc[i] for i in positions], lang)
    fig.update_xaxes(type="category", tickangle=0, tickvals=[names[i] for i in positions], ticktext=ticks)
    layout(fig, 380)
    # the panel titles sit above their panels, clear of the top tick label
    fig.update_layout(showlegend=False, bargap=0.15, hovermode="closest", margin={"t": 30})
    fig.update_annotations(font_size=13, x=0, xanchor="left", yshift=6)
    return fig


def months_table(months: pd.DataFrame, last_month: date, lang: str) -> pd.DataFrame:
    """The chart's data as a table (every month, newest first) with translated column names."""
    series = month_series(months, last_month).sort_values("month", ascending=False, ignore_index=True)
    series["month"] = [fmt_month(m, lang) for m in series["month"]]
    return series.rename(columns={"month": t("col_month", lang), "orders": t("col_orders", lang),
                                  "purchase_days": t("customer_col_purchase_days", lang),
                                  "revenue": t("col_revenue", lang),
                                  "returns_amount": t("customer_col_returns", lang)})


TRANSACTION_COLUMNS = ("order_date", "transaction_id", "amount", "quantity", "product", "category", "region",
                       "channel", "sales_rep", "is_return")


def transactions_table(transactions: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The latest transactions with translated column names (a return says so in words)."""
    frame = transactions.loc[:, list(TRANSACTION_COLUMNS)].copy()
    frame["order_date"] = pd.to_datetime(frame["order_date"]).dt.date
    frame["amount"] = frame["amount"].astype(float)
    frame["is_return"] = [t("customer_return" if r else "customer_purchase", lang) for r in frame["is_return"]]
    return frame.rename(columns={c: t(f"customer_col_{c}", lang) for c in TRANSACTION_COLUMNS})


FEEDBACK_COLUMNS = ("feedback_date", "feedback_kind", "score", "scale", "category", "resolved_date",
                    "resolution_days", "comment")


def feedback_table(feedback: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Surveys and complaints, newest first, with translated column names and kinds; a complaint's
    resolution time in days (empty while it is open)."""
    frame = feedback.loc[:, list(FEEDBACK_COLUMNS)].copy()
    for column in ("feedback_date", "resolved_date"):
        frame[column] = [None if pd.isna(d) else pd.Timestamp(d).date() for d in frame[column]]
    frame["feedback_kind"] = [t(f"customer_kind_{k}", lang) if k in ("survey", "complaint") else k
                              for k in frame["feedback_kind"]]
    frame["scale"] = [t(f"customer_scale_{s}", lang) if s in ("csat", "nps") else s for s in frame["scale"]]
    frame["resolution_days"] = frame["resolution_days"].astype("Int64")
    return frame.rename(columns={c: t(f"customer_col_{c}", lang) for c in FEEDBACK_COLUMNS})


def feedback_summary(feedback: pd.DataFrame) -> dict[str, float | int | None]:
    """Counts for the feedback section: surveys, complaints, complaints still open, and the median
    resolution time in days of the resolved complaints (None without one)."""
    complaints = feedback[feedback["feedback_kind"] == "complaint"]
    days = complaints["resolution_days"].dropna()
    return {"surveys": int((feedback["feedback_kind"] == "survey").sum()), "complaints": len(complaints),
            "open": int(complaints["resolved_date"].isna().sum()),
            "median_days": float(days.median()) if len(days) else None}


def blank_missing(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``frame`` for the screen: a missing value is an empty cell (not "None"): a column with missing
    values is shown as text, numbers formatted, dates ISO (the downloads keep the values)."""
    shown = frame.copy()
    for column in shown.columns:
        missing = shown[column].isna()
        if not missing.any():
            continue
        if pd.api.types.is_numeric_dtype(shown[column]):
            shown[column] = ["" if m else fmt_number(v, lang) for v, m in zip(shown[column], missing, strict=True)]
        else:
            shown[column] = ["" if m else str(v) for v, m in zip(shown[column], missing, strict=True)]
    return shown
