"""Page building blocks: KPI tiles, a chart's table with its downloads, highlight sentences.

Formatting of what the analytics layer computed; no queries here.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from analytics.metrics import value_fit
from analytics.metrics.highlights import Highlight
from analytics.metrics.kpis import Kpi
from analytics.metrics.overview import LOWER_IS_BETTER, POINTS, RATES, clv_kpi
from analytics.metrics.overview_churn import ChurnTile, churn_kpi
from analytics.metrics.overview_value import AverageClv
from ui.dates import fmt_date
from ui.downloads import download_name, to_csv_bytes, to_xlsx_bytes
from ui.figures.common import rises_red
from ui.formats import currency_symbol, fmt_delta_pct, fmt_delta_points, fmt_int, fmt_money, fmt_number, fmt_pct
from ui.i18n import md_literal, t

#: The media type of an Excel download.
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: How each KPI's value is printed: money, compact in the language's units (a per-customer amount in full).
_MONEY = frozenset({"revenue", "aov", "avg_clv"})
_MONEY_IN_FULL = frozenset({"avg_clv"})
#: Between a tile caption's sample size and its interval: a line break (a narrow tile breaks "a–b" apart).
CAPTION_BREAK = "  \n"


def kpi_value(kpi_name: str, value: float | None, lang: str, currency: str) -> str:
    """A KPI's value as the tile prints it."""
    if kpi_name in _MONEY:
        return fmt_money(value, lang, currency, compact=kpi_name not in _MONEY_IN_FULL)
    if kpi_name in RATES:
        return fmt_pct(value, lang)
    if kpi_name in POINTS:  # (NPS: points from -100 to 100)
        return fmt_signed(value, lang)
    return fmt_int(value, lang)


def fmt_signed(x: float | None, lang: str) -> str:
    """A score in points with its sign and one decimal (NPS: ``+34.4``, ``-5``, ``0``)."""
    if x is None or x != x or abs(x) < 0.05:
        return fmt_number(0.0 if x == x and x is not None else x, lang, 1)
    return ("+" if x > 0 else "") + fmt_number(x, lang, 1)


def ci_text(kpi: Kpi, lang: str) -> str:
    """A tile's 95 % interval: of a share in percent, of NPS in points."""
    shown = (lambda v: fmt_signed(v, lang)) if kpi.name in POINTS else (lambda v: fmt_pct(v, lang))
    return t("ci95", lang, low=shown(kpi.ci[0]), high=shown(kpi.ci[1]))


def kpi_delta(kpi: Kpi, lang: str) -> str | None:
    """The change a tile shows (percent for amounts and counts, points for rates)."""
    if kpi.change is None:
        return None
    if kpi.name in POINTS:  # (a change of points: as a rate's, in points)
        return fmt_delta_points(kpi.change / 100, lang)
    return fmt_delta_points(kpi.change, lang) if kpi.name in RATES else fmt_delta_pct(kpi.change, lang)


def kpi_help(kpi: Kpi, lang: str, currency: str, comparison_label: str | None, note: str | None = None) -> str:
    """The tile's tooltip: definition, ``note`` (more about this tile), comparison value, n, and
    for rates the 95 % CI."""
    parts = [t(f"kpi_{kpi.name}_help", lang)] + ([note] if note else [])
    if comparison_label and kpi.previous is not None:
        parts.append(t("kpi_previous_value", lang, period=comparison_label,
                       value=kpi_value(kpi.name, kpi.previous, lang, currency)))
    if kpi.n is not None:
        parts.append(t("sample_size", lang, n=fmt_int(kpi.n, lang)))
    if kpi.ci is not None:
        parts.append(ci_text(kpi, lang))
    return "  \n".join(parts)


def average_clv_note(clv: AverageClv, lang: str, currency: str, comparison_label: str | None) -> tuple[str, str]:
    """The average-CLV tile's tooltip lines (as of when, the settings, and its interval or why
    there is no figure; the comparison period's reason when it has none) and its caption
    (n and the interval, or "no estimate")."""
    now, before = clv.current, clv.comparison
    level = fmt_pct(clv.level, lang, digits=0)
    settings = t("kpi_avg_clv_settings", lang, date=fmt_date(now.as_of, lang),
                 months=fmt_int(clv.horizon_months, lang), rate=fmt_pct(clv.discount_rate, lang))
    n = t("sample_size", lang, n=fmt_int(now.n, lang))
    if now.problem is not None:  # no figure, so no change either: the comparison's own reason does not matter
        why = t("kpi_avg_clv_no_estimate_because", lang, reason=problem_text(now.problem, now.n, lang))
        return "  \n".join([why, settings]), n + " · " + t("kpi_avg_clv_no_estimate", lang)
    interval = t("kpi_avg_clv_interval", lang, level=level, low=fmt_money(now.low, lang, currency),
                 high=fmt_money(now.high, lang, currency))
    lines = [settings, interval]
    if before is not None and before.problem is not None and comparison_label:
        lines.append(t("kpi_avg_clv_previous_problem", lang, period=comparison_label,
                       reason=problem_text(before.problem, before.n, lang)))
    return "  \n".join(lines), n + CAPTION_BREAK + interval


def problem_text(problem: str, n: int, lang: str) -> str:
    """Why the value models give no figure (a :data:`analytics.metrics.value_fit.PROBLEMS` code), and what to do."""
    return t(f"kpi_avg_clv_problem_{problem}", lang, n=fmt_int(n, lang),
             customers=fmt_int(value_fit.MIN_CUSTOMERS, lang), repeaters=fmt_int(value_fit.MIN_REPEATERS, lang),
             weeks=fmt_int(value_fit.MIN_WEEKS, lang))


def kpi_tiles(kpis: dict[str, Kpi], lang: str, currency: str, comparison_label: str | None,
              sparks: dict[str, list[float]] | None = None, per_row: int = 3, compare: str | None = None,
              notes: dict[str, tuple[str, str]] | None = None, pending: tuple[str, ...] = ()) -> dict:
    """The KPI tiles in rows of ``per_row`` (they stack on a phone); ``sparks`` gives a
    KPI's monthly values for a small trend line. Under the change, a short word for the
    comparison (``compare``: previous / last_year); the period itself is in the tooltip.
    ``notes``: per KPI, more tooltip text and a caption under the tile (:func:`average_clv_note`).
    Rises are red and falls green in Chinese (:func:`ui.figures.common.rises_red`).

    ``pending``: KPIs not in ``kpis`` yet, whose tiles follow the others (their figures take longer):
    each gets a slot saying it is being computed; the slots are returned by name, for
    :func:`kpi_tile` to fill."""
    items: list[Kpi | str] = [*kpis.values(), *pending]
    sparks, notes = sparks or {}, notes or {}
    slots = {}
    for i in range(0, len(items), per_row):
        cols = st.columns(per_row)
        for col, kpi in zip(cols, items[i:i + per_row], strict=False):
            if isinstance(kpi, str):  # a pending tile: its label and a word, in a slot filled later
                slot = col.empty()
                # one element, so the tile that replaces it (a metric and more) leaves nothing of it behind
                slot.container(border=True, height="stretch").caption(
                    t(f"kpi_{kpi}", lang) + "  \n" + t("kpi_computing", lang))
                slots[kpi] = slot
                continue
            with col:
                kpi_tile(kpi, lang, currency, comparison_label, sparks.get(kpi.name), compare,
                         notes.get(kpi.name, (None, None)))
    return slots


def kpi_tile(kpi: Kpi, lang: str, currency: str, comparison_label: str | None, spark: list[float] | None = None,
             compare: str | None = None, note: tuple[str | None, str | None] = (None, None), slot=None) -> None:
    """One KPI tile (see :func:`kpi_tiles`), drawn where it is called (in a column), or in the ``slot``
    :func:`kpi_tiles` left for it."""
    # the tile is the bordered container, so a rate's sample size and interval sit inside it
    with (slot or st).container(border=True, height="stretch"):
        delta = kpi_delta(kpi, lang)
        help_note, caption = note
        unchanged = delta is not None and not any(c in "123456789" for c in delta)
        st.metric(
            t(f"kpi_{kpi.name}", lang), kpi_value(kpi.name, kpi.value, lang, currency),
            delta=delta, help=kpi_help(kpi, lang, currency, comparison_label, help_note),
            delta_description=t(f"vs_short_{compare}", lang)
            if compare in ("previous", "last_year") and kpi.change is not None else None,
            # a change that rounds to nothing is neither a rise nor a fall: grey, no arrow; a rise of churn is red
            # in both languages (bad news in English; a rise in Chinese)
            delta_color="off" if unchanged else "inverse" if rises_red(lang) or kpi.name in LOWER_IS_BETTER
            else "normal",
            delta_arrow="off" if unchanged else "auto",
            chart_data=spark, chart_type="area" if spark else "line",
        )
        if caption:
            st.caption(caption)
        elif kpi.n is not None and kpi.ci is not None:
            st.caption(t("sample_size", lang, n=fmt_int(kpi.n, lang)) + CAPTION_BREAK + ci_text(kpi, lang))


def average_clv_tile(slot, clv: AverageClv, lang: str, currency: str, comparison_label: str | None,
                     compare: str | None) -> None:
    """Fill the slot :func:`kpi_tiles` left for the average-CLV tile (``pending=("avg_clv",)``)."""
    kpi_tile(clv_kpi(clv), lang, currency, comparison_label, compare=compare,
             note=average_clv_note(clv, lang, currency, comparison_label), slot=slot)


def churn_tile(slot, tile: ChurnTile, lang: str, currency: str, comparison_label: str | None,
               compare: str | None) -> None:
    """Fill the slot :func:`kpi_tiles` left for the churn tile (``pending=("churn_rate",)``): the rate with its
    customer-months and interval, the window it used in the tooltip."""
    kpi = churn_kpi(tile)
    note = t("kpi_churn_rate_window", lang, window=fmt_int(tile.window, lang))
    caption = None if kpi.value is None else (
        t("kpi_churn_rate_months", lang, n=fmt_int(kpi.n, lang)) + CAPTION_BREAK
        + t("ci95", lang, low=fmt_pct(kpi.ci[0], lang), high=fmt_pct(kpi.ci[1], lang)))
    kpi_tile(kpi, lang, currency, comparison_label, compare=compare, note=(note, caption), slot=slot)


def download_buttons(df: pd.DataFrame | Callable[[], pd.DataFrame], stem: str, lang: str, key: str) -> None:
    """CSV and Excel download buttons, side by side, for a table shown on the page
    (formula-safe: :mod:`ui.downloads`); the file names start with ``stem``. The files are written
    when a button is clicked, not on every run (an Excel file of 100,000 customers takes seconds);
    ``df`` may be a function that makes the table then."""
    def table() -> pd.DataFrame:
        return df() if callable(df) else df

    row = st.container(horizontal=True)
    row.download_button(t("download_csv", lang), lambda: to_csv_bytes(table()), file_name=download_name(stem, "csv"),
                        mime="text/csv", key=f"{key}_csv", on_click="ignore", icon=":material/download:")
    row.download_button(t("download_excel", lang), lambda: to_xlsx_bytes(table(), stem),
                        file_name=download_name(stem, "xlsx"), mime=XLSX_MIME, key=f"{key}_xlsx", on_click="ignore",
                        icon=":material/download:")


def named_columns(frame: pd.DataFrame, prefix: str, lang: str, currency: str, shares: frozenset[str],
                  money: frozenset[str]) -> tuple[pd.DataFrame, dict]:
    """``frame`` with its columns named for people (messages ``<prefix><column>``) and their number formats: the
    ``shares`` as percentages, the ``money`` in the currency, whole units."""
    config = {}
    for column in frame.columns:
        if column in shares:
            config[t(f"{prefix}{column}", lang)] = st.column_config.NumberColumn(format="percent")
        elif column in money:
            config[t(f"{prefix}{column}", lang)] = st.column_config.NumberColumn(
                format=f"{currency_symbol(currency)}%,.0f")
    return frame.rename(columns={c: t(f"{prefix}{c}", lang) for c in frame.columns}), config


def table_with_downloads(df: pd.DataFrame, stem: str, lang: str, key: str,
                         column_config: dict | None = None) -> None:
    """A chart's table in an expander, with CSV and Excel downloads (formula-safe)."""
    with st.expander(t("show_table", lang)):
        st.dataframe(df, hide_index=True, width="stretch", column_config=column_config)
        download_buttons(df, stem, lang, key)


def highlight_text(h: Highlight, lang: str, currency: str) -> str:
    """One highlight as a sentence in the language (a fall is worded as a fall, with an
    unsigned size: "fell 12.0%", never "fell -12.0%")."""
    v = h.values
    values: dict[str, str] = {}
    if h.kind in ("churn_region_up", "churn_region_down"):
        return t(f"highlight_{h.kind}", lang, region=md_literal(v["region"]), value=fmt_pct(v["value"], lang),
                 previous=fmt_pct(v["previous"], lang))
    if h.kind in ("churn_tier_up", "churn_tier_down"):  # (the tier filter's pyramid: its names in the language)
        return t(f"highlight_{h.kind}", lang, tier=t(f"tiers_name_{v['tier']}", lang),
                 value=fmt_pct(v["value"], lang), previous=fmt_pct(v["previous"], lang))
    if h.kind in ("region_up", "region_down"):
        values["region"] = md_literal(v["region"])  # data, not markup
        values["delta"] = fmt_money(abs(v["delta"]), lang, currency, compact=True)
        values["change"] = fmt_delta_pct(v["change"], lang)
        return t(f"highlight_{h.kind}", lang, **values)
    direction = "up" if v["change"] >= 0 else "down"
    rate = h.kind in ("repeat_rate_change", "churn_change")  # a rate's change, in points, maybe within noise
    if rate:
        values["change"] = fmt_delta_points(abs(v["change"]), lang).lstrip("+")
        shown = fmt_pct
    else:
        values["change"] = fmt_pct(abs(v["change"]), lang)
        shown = fmt_int
        if h.kind == "revenue_change":
            def shown(x: float, lang: str) -> str:
                return fmt_money(x, lang, currency, compact=True)
    values["value"] = shown(v["value"], lang)
    values["previous"] = shown(v["previous"], lang)
    sentence = t(f"highlight_{h.kind}_{direction}", lang, **values)
    if rate and not v.get("significant", True):
        sentence += ("" if lang == "zh" else " ") + t("highlight_within_noise", lang)
    return sentence
