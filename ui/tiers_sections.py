"""The customer tiers page's sections, each drawing one part of a :class:`~analytics.metrics.tiers.TierView` with
its chart and the table behind it (CSV and Excel downloads): the pyramid, concentration, the tier mix, migration
(with the customers of a picked cell, each opening the customer detail), churn and lifetime value by tier.

``labels`` is the tiers' names as people read them (:func:`ui.tiers_settings.tier_labels`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import streamlit as st

from analytics.metrics.churn_tiers import TierChurn
from analytics.metrics.tiers import LOST, MOVES, NEW, TierClv, TierView
from ui import customer_links, widgets
from ui.dates import fmt_date, fmt_period
from ui.figures import tiers as figures
from ui.figures.common import rises_red
from ui.formats import fmt_int, fmt_money, fmt_number, fmt_pct
from ui.i18n import md_literal, t

CHART = {"displayModeBar": False}
#: The columns shown as percentages and as money (messages ``tiers_col_<column>``).
SHARES = frozenset({"customer_share", "value_share", "customers_share", "share", "low", "high", "rate",
                    "compare_rate", "churned_share"})
MONEY = frozenset({"value", "average", "lowest", "highest", "value_before", "value_after", "value_change", "total",
                   "average_clv"})
#: The migration matrix's widgets: the table (a cell picked in it) and the from / to choices.
MATRIX, FROM, TO, SEEN = "tiers_matrix", "tiers_from", "tiers_to", "tiers_matrix_seen"


def table(frame: pd.DataFrame, lang: str, currency: str) -> tuple[pd.DataFrame, dict]:
    """``frame`` with its columns named for people (``tiers_col_<column>``) and their number formats."""
    return widgets.named_columns(frame, "tiers_col_", lang, currency, SHARES, MONEY)


def show_table(frame: pd.DataFrame, title: str, key: str, lang: str, currency: str) -> None:
    """A chart's table (columns named, numbers formatted) in an expander, with its downloads."""
    shown, config = table(frame, lang, currency)
    widgets.table_with_downloads(shown, title, lang, key=key, column_config=config)


def group_label(grouping: str, value: object, lang: str) -> str:
    """A group of the tier mix for people: its value, or what a missing one means."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return t(f"tiers_no_{grouping}", lang)
    return str(value)


def _signed(x: float, lang: str, currency: str) -> str:
    return ("+" if x > 0 else "") + fmt_money(x, lang, currency, compact=True)


def pyramid(view: TierView, labels: Mapping[str, str], lang: str, currency: str) -> None:
    st.subheader(t("tiers_pyramid_title", lang))
    st.caption(t("tiers_pyramid_caption", lang, measure=t(f"tiers_measure_{view.spec.measure}", lang)))
    st.plotly_chart(figures.tier_pyramid(view.table, labels, lang, currency), config=CHART)
    rows = view.table.assign(tier=[labels[n] for n in view.table["name"]]).drop(columns="name")
    show_table(rows, t("tiers_pyramid_title", lang), "tiers_table", lang, currency)


def concentration(view: TierView, lang: str, currency: str) -> None:
    st.subheader(t("tiers_concentration_title", lang))
    c = view.concentration
    if not np.isfinite(c.top_share):
        st.info(t("tiers_concentration_none", lang))
        return
    left, right = st.columns(2)
    with left, st.container(border=True, height="stretch"):
        st.metric(t("tiers_top_share", lang), fmt_pct(c.top_share, lang), help=t("tiers_top_share_help", lang))
        st.caption(t("tiers_top_share_note", lang, n=fmt_int(int(np.floor(0.2 * c.customers)), lang),
                     total=fmt_int(c.customers, lang)))
    with right, st.container(border=True, height="stretch"):
        st.metric(t("tiers_gini", lang), fmt_number(c.gini, lang, 3), help=t("tiers_gini_help", lang))
        st.caption(t("tiers_gini_note", lang))
    verdict = "above" if c.top_share > 0.8 else "near" if c.top_share >= 0.75 else "below"
    st.markdown(t(f"tiers_verdict_{verdict}", lang, share=fmt_pct(c.top_share, lang)))
    if c.negative:
        st.caption(t("tiers_negative_note", lang, n=fmt_int(c.negative, lang)))
    st.plotly_chart(figures.concentration_lorenz(c, lang), config=CHART)
    show_table(c.lorenz, t("tiers_lorenz_title", lang), "tiers_lorenz", lang, currency)


def mix(view: TierView, labels: Mapping[str, str], lang: str, currency: str) -> None:
    st.subheader(t("tiers_mix_title", lang))
    if not view.mix:
        st.info(t("tiers_mix_none", lang))
        return
    grouping = st.radio(t("tiers_mix_by", lang), list(view.mix), key="tiers_mix_by", horizontal=True,
                        format_func=lambda g: t(f"tiers_group_{g}", lang))
    st.caption(t("tiers_mix_caption", lang))
    frame = view.mix[grouping]
    groups = {g: group_label(grouping, g, lang) for g in frame["group"].drop_duplicates()}
    st.plotly_chart(figures.tier_mix_bar(frame, labels, groups, lang), config=CHART)
    rows = frame.assign(group=[groups[g] for g in frame["group"]], tier=[labels[n] for n in frame["name"]])
    show_table(rows[["group", "tier", "customers", "share"]],
               f"{t('tiers_mix_title', lang)} {t(f'tiers_group_{grouping}', lang)}", "tiers_mix", lang, currency)


def moves(view: TierView, lang: str, currency: str) -> None:
    """The moves from the comparison period in tiles: customers, and the value they won or lost."""
    colour = "inverse" if rises_red(lang) else "normal"
    for col, row in zip(st.columns(len(MOVES)), view.moves.itertuples(index=False), strict=True):
        with col, st.container(border=True, height="stretch"):
            st.metric(t(f"tiers_move_{row.move}", lang), fmt_int(row.customers, lang),
                      delta=_signed(row.value_change, lang, currency) if row.customers else None,
                      delta_color=colour, delta_description=t("tiers_move_delta", lang),
                      help=t(f"tiers_move_{row.move}_help", lang))
    summary = view.moves.assign(move=[t(f"tiers_move_{m}", lang) for m in view.moves["move"]])
    show_table(summary, t("tiers_moves_title", lang), "tiers_moves", lang, currency)


def _matrix(view: TierView, labels: Mapping[str, str], lang: str) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """The transition matrix for people: one row per tier before (new last), one column per tier after (lost
    last), customers in the cells; the rows' names, and each column's tier by its label."""
    names = view.spec.names
    before, after = [*names, NEW], [*names, LOST]
    counts = view.migration.pivot_table(index="before", columns="after", values="customers", aggfunc="sum")
    counts = counts.reindex(index=before, columns=after).fillna(0).astype(int)
    shown = counts.rename(columns=labels)
    shown.insert(0, t("tiers_col_from_to", lang), [labels[b] for b in before])
    return shown.reset_index(drop=True), before, {labels[a]: a for a in after}


def migration(view: TierView, labels: Mapping[str, str], lang: str, currency: str,
              cell: Callable[[str, str], pd.DataFrame]) -> None:
    """The migration section; ``cell(before, after)`` gives the customers of a cell (:mod:`ui.loaders`)."""
    st.subheader(t("tiers_migration_title", lang))
    if view.migration is None or view.comparison is None:
        st.info(t("tiers_migration_none", lang))
        return
    st.caption(t("tiers_migration_caption", lang, before=fmt_period(view.comparison.start, view.comparison.end, lang),
                 after=fmt_period(view.scope.start, view.scope.end, lang)))
    moves(view, lang, currency)
    st.plotly_chart(figures.migration_sankey(view.migration, view.spec.names, labels, lang, currency), config=CHART)
    st.caption(t("tiers_sankey_note", lang))
    flows = view.migration.assign(before=[labels[b] for b in view.migration["before"]],
                                  after=[labels[a] for a in view.migration["after"]])
    show_table(flows, t("tiers_migration_title", lang), "tiers_migration", lang, currency)

    st.markdown(f"**{t('tiers_matrix_title', lang)}**")
    st.caption(t("tiers_matrix_caption", lang))
    shown, rows, columns = _matrix(view, labels, lang)
    event = st.dataframe(shown, key=MATRIX, hide_index=True, width="stretch", on_select="rerun",
                         selection_mode="single-cell")
    picked = event.selection.cells if event is not None and hasattr(event, "selection") else []
    if picked:
        row, column = picked[0]
        if column in columns and st.session_state.get(SEEN) != (row, column):
            # a newly picked cell sets the choices below (which stay the user's to change)
            st.session_state[SEEN] = (row, column)
            st.session_state[FROM], st.session_state[TO] = rows[row], columns[column]
    c1, c2 = st.columns(2)
    before = c1.selectbox(t("tiers_from", lang), rows, index=None, key=FROM, format_func=lambda n: labels[n],
                          placeholder=t("tiers_choose", lang))
    after = c2.selectbox(t("tiers_to", lang), list(columns.values()), index=None, key=TO,
                         format_func=lambda n: labels[n], placeholder=t("tiers_choose", lang))
    if before is None or after is None:
        st.caption(t("tiers_cell_hint", lang))
        return
    cell_customers(cell(before, after), labels[before], labels[after], lang, currency)


def cell_customers(frame: pd.DataFrame, before: str, after: str, lang: str, currency: str) -> None:
    """The customers of a cell: the table (picking a row opens the customer's detail) and its downloads."""
    words = {"before": md_literal(before), "after": md_literal(after)}
    if frame.empty:
        st.info(t("tiers_cell_empty", lang, **words))
        return
    st.caption(t("tiers_cell_caption", lang, n=fmt_int(len(frame), lang),
                 change=_signed(float(frame["value_change"].sum()), lang, currency), **words))

    def shown(rows: pd.DataFrame) -> pd.DataFrame:
        return table(rows.assign(home_region=[group_label("home_region", r, lang) for r in rows["home_region"]],
                                 segment=[group_label("segment", s, lang) for s in rows["segment"]]), lang, currency)[0]

    config = table(frame, lang, currency)[1]
    customer_links.customer_table(shown(frame.head(customer_links.SHOWN)), lang, "tiers_cell_customers",
                                  id_column=t("tiers_col_customer_id", lang), column_config=config,
                                  download_stem=t("tiers_cell_title", lang, before=before, after=after),
                                  height=380 if len(frame) > 10 else "auto", whole=lambda: shown(frame))


def churned(result: TierChurn | None, labels: Mapping[str, str], lang: str, currency: str) -> None:
    """Churn per tier: the churn page's monthly rate over each tier's customers against the comparison period's
    tiers, and the share churned as of the churn page's as-of day."""
    st.subheader(t("tiers_churned_title", lang))
    if result is None or not (result.rates["exposure"] > 0).any():
        st.info(t("tiers_churn_none", lang))
        return
    st.caption(t("tiers_churned_caption", lang, window=fmt_int(result.window, lang)))
    st.plotly_chart(figures.churn_dots(result.rates, labels, lang), config=CHART)
    st.caption(t("tiers_churn_as_of", lang, date=fmt_date(result.as_of, lang), window=fmt_int(result.window, lang)))
    r, c = result.rates, result.churned
    rows = pd.DataFrame({
        "tier": [labels[n] for n in r["group"]], "churned": r["churned"], "exposure": r["exposure"],
        "rate": r["rate"], "low": r["low"], "high": r["high"], "compare_rate": r["compare_rate"],
        "moved": [t(f"tiers_moved_{m}", lang) if m in ("up", "down") else "" for m in r["moved"]],
        "customers": c["customers"], "churned_now": c["churned"], "churned_share": c["share"]})
    show_table(rows, t("tiers_churned_title", lang), "tiers_churned", lang, currency)


def clv(result: TierClv, labels: Mapping[str, str], lang: str, currency: str) -> None:
    """Lifetime value by tier (the value page's CLV of each tier's customers), or why the models gave none."""
    st.subheader(t("tiers_clv_title", lang))
    if result.table is None:
        st.info(t("tiers_clv_none", lang))
        return
    st.caption(t("tiers_clv_caption", lang, months=fmt_int(result.horizon_months, lang)))
    st.plotly_chart(figures.clv_bar(result.table, labels, lang, currency), config=CHART)
    rows = result.table.assign(tier=[labels[n] for n in result.table["name"]]).drop(columns="name")
    show_table(rows.rename(columns={"average": "average_clv"}), t("tiers_clv_title", lang), "tiers_clv", lang,
               currency)
