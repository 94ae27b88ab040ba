"""A file's validation report as the page shows it (facts, counts, notes, the rejected,
conflicting and excluded rows), and what a committed import did."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from analytics.ingest.padding import is_decision as is_padding_decision
from analytics.ingest.readers import ENCODING_LABELS
from analytics.ingest.report import ImportReport
from ui.formats import fmt_int
from ui.i18n import md_literal, t
from ui.importing.messages import check_title, column_label, kind_label, localize
from ui.widgets import download_buttons

#: The report's counts in the order shown, four to a row.
COUNTS: tuple[str, ...] = ("rows_read", "rows_valid", "rows_rejected", "rows_excluded",
                           "rows_already_present", "rows_duplicate", "rows_conflicting", "rows_to_import")

_DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe", "spaces": "spaces"}


def facts(report: ImportReport, lang: str) -> str:
    """How the file was read, in one line: format, encoding, delimiter, sheet, header row, columns."""
    parts = [t("data_fact_format", lang, format=report.file_format.upper())]
    if report.encoding:
        parts.append(t("data_fact_encoding", lang, encoding=ENCODING_LABELS.get(report.encoding, report.encoding)))
    if report.delimiter:
        named = _DELIMITERS.get(report.delimiter)
        parts.append(t("data_fact_delimiter", lang,
                       delimiter=t(f"data_delimiter_{named}", lang) if named else report.delimiter))
    if report.sheet:
        parts.append(t("data_fact_sheet", lang, sheet=md_literal(report.sheet)))
    if report.header_row:
        parts.append(t("data_fact_header_row", lang, row=fmt_int(report.header_row, lang)))
    parts.append(t("data_fact_columns", lang, n=fmt_int(len(report.mapping) + len(report.unmapped_columns), lang)))
    return " · ".join(parts)


def count_tiles(report: ImportReport, lang: str) -> None:
    """The report's counts as tiles, four to a row (they wrap on a phone); an order-line file's
    orders, and what happens to its amended orders, on a row of their own."""
    rows = [COUNTS[start:start + 4] for start in range(0, len(COUNTS), 4)]
    if report.orders:
        rows.append(("orders",) if not report.orders_amended else
                     ("orders", "orders_amended", "rows_replaced" if report.amended_policy == "replace"
                      else "rows_amended"))
    for names in rows:
        with st.container(horizontal=True, gap="small"):
            for name in names:
                st.metric(t(f"data_{name}", lang), fmt_int(getattr(report, name), lang),
                          help=t(f"data_{name}_help", lang), border=True, width="stretch")


def amended_table(report: ImportReport, download_key: str, lang: str) -> None:
    """The amended orders: each order's number, where it starts in the file, its lines in the
    file and stored, and how many only one side has; with downloads keyed `download_key`."""
    table = _table(report.amended, {"order": _plain, "line": _plain, "lines_in_file": _plain,
                                    "lines_stored": _plain, "only_in_file": _plain, "only_stored": _plain,
                                    "import_id": lambda i: f"#{i}"}, lang)
    st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 300))
    if report.orders_amended > len(report.amended):
        st.caption(t("data_amended_more", lang, shown=fmt_int(len(report.amended), lang),
                     total=fmt_int(report.orders_amended, lang)))
    download_buttons(table, f"{Path(report.file).stem}_{t('data_amended_stem', lang)}", lang, download_key)


def amended_rows_table(report: ImportReport, download_key: str, lang: str) -> None:
    """The sales rows without order numbers that amend stored purchases: each row's line,
    customer, date, product, amount in the file and stored, and the import that stored it;
    with downloads keyed `download_key`."""
    table = _table(report.amended_rows, {"line": _plain, "customer_id": _plain, "order_date": _plain,
                                         "product": _plain, "amount": _plain, "stored": _plain,
                                         "import_id": lambda i: f"#{i}"}, lang)
    st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 300))
    download_buttons(table, f"{Path(report.file).stem}_{t('data_amended_rows_stem', lang)}", lang, download_key)


def notes(report: ImportReport, lang: str) -> None:
    """How each date column was read, and the pipeline's notes, as one list."""
    # an order still to be confirmed is asked for above, not stated here
    asked = [item for item in report.needs_confirmation if not is_padding_decision(item)]
    lines = [t("data_date_reading", lang, column=column, reading=t(f"data_date_order_{r['reading']}", lang),
               why=localize(r["why"], lang))
             for column, r in report.date_readings.items() if not asked]
    lines += [localize(note, lang) for note in report.notes]
    if lines:
        st.info("\n".join(f"- {md_literal(line)}" for line in lines), icon=":material/info:")


def _table(rows: list[dict[str, Any]], names: dict[str, Callable[[Any], Any]], lang: str) -> pd.DataFrame:
    """`rows` as a table of the columns in `names` (each shown through its function), headed in `lang`."""
    return pd.DataFrame({t(f"data_table_{name}", lang): [show(r.get(name)) for r in rows]
                         for name, show in names.items()})


def _plain(value: Any) -> Any:
    return value


def row_tables(report: ImportReport, download_key: str, lang: str) -> None:
    """Rejected rows (with downloads keyed `download_key`), conflicts and excluded rows, each
    with its line numbers."""
    stem = Path(report.file).stem
    if report.rejects:
        st.markdown(f"**{t('data_rejects_title', lang, n=fmt_int(report.rejects_total, lang))}**")
        rejects = _table(report.rejects, {"line": _plain, "column": lambda c: c or t("data_whole_line", lang),
                                          "value": lambda v: v or "", "reason": lambda r: localize(r, lang)}, lang)
        st.dataframe(rejects, hide_index=True, width="stretch", height=min(38 + 35 * len(rejects), 400))
        if report.rejects_total > len(report.rejects):
            st.caption(t("data_rejects_more", lang, shown=fmt_int(len(report.rejects), lang),
                         total=fmt_int(report.rejects_total, lang)))
        download_buttons(rejects, f"{stem}_{t('data_rejects_stem', lang)}", lang, download_key)
    if report.conflicts:
        st.markdown(f"**{t('data_conflicts_title', lang, n=fmt_int(report.rows_conflicting, lang))}**")
        conflicts = _table(report.conflicts, {"line": _plain, "key": _plain,
                                              "other": lambda o: localize(o, lang)}, lang)
        st.dataframe(conflicts, hide_index=True, width="stretch", height=min(38 + 35 * len(conflicts), 400))
        st.caption(t("data_conflicts_caption", lang))
    if report.amended_keys:  # rows of a later export that replace stored ones (leads)
        st.markdown(f"**{t('leads_amended_title', lang, n=fmt_int(report.rows_replaced, lang))}**")
        amended = _table(report.amended_keys, {
            "line": _plain, "key": _plain,
            "changed": lambda names: ("、" if lang == "zh" else ", ").join(column_label(n, lang) for n in names),
            "replaces": lambda o: localize(o, lang)}, lang)
        st.dataframe(amended, hide_index=True, width="stretch", height=min(38 + 35 * len(amended), 300))
        st.caption(t("leads_amended_caption", lang))
    if report.attribute_conflicts:
        n = fmt_int(len(report.attribute_conflicts), lang)
        st.markdown(f"**{t('data_attribute_conflicts_title', lang, n=n)}**")
        said = _table(report.attribute_conflicts, {
            "customer_id": _plain, "attribute": lambda a: column_label(a, lang), "line": _plain,
            "values": lambda vs: ("、" if lang == "zh" else "; ").join(
                t("data_attribute_value", lang, value=v["value"], in_file=fmt_int(v["lines_in_file"], lang),
                  stored=fmt_int(v["lines_stored"], lang)) for v in vs)}, lang)
        st.dataframe(said, hide_index=True, width="stretch", height=min(38 + 35 * len(said), 300))
    if report.excluded:
        with st.expander(t("data_excluded_title", lang, n=fmt_int(report.rows_excluded, lang))):
            excluded = _table(report.excluded, {"line": _plain, "reason": lambda r: localize(r, lang)}, lang)
            st.dataframe(excluded, hide_index=True, width="stretch")


def import_result(report: ImportReport, lang: str) -> None:
    """What a committed import did."""
    if report.status == "nothing new":
        st.info(t("data_result_nothing_new", lang, id=fmt_int(report.import_id, lang),
                  present=fmt_int(report.rows_already_present, lang)), icon=":material/check:")
    else:
        st.success(t("data_result_imported", lang, id=fmt_int(report.import_id, lang),
                     n=fmt_int(report.rows_imported, lang), kind=kind_label(report.kind, lang),
                     present=fmt_int(report.rows_already_present, lang)), icon=":material/task_alt:")
    if report.rows_rejected:
        st.caption(t("data_result_rejected", lang, n=fmt_int(report.rows_rejected, lang)))
    if report.rows_replaced:
        st.caption(t("data_result_replaced", lang, orders=fmt_int(report.orders_amended, lang),
                     n=fmt_int(report.rows_replaced, lang)) if report.orders_amended
                   else t("leads_result_replaced", lang, n=fmt_int(report.rows_replaced, lang)))
    findings = {name: n for name, n in report.checks.items() if n}
    if findings:
        listed = ", ".join(f"{check_title(name, lang)} ({fmt_int(n, lang)})" for name, n in findings.items())
        st.warning(t("data_result_checks", lang, checks=listed), icon=":material/rule:")
    said = [localize(n, lang) for n in report.notes if not n.startswith("nothing new")]
    if said:
        st.caption(" · ".join(said))
