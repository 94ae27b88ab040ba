"""The panel of one file on the Data page: the choices that re-read it, its validation
report, and the confirm button; or, once committed, what the import did."""

from __future__ import annotations

from typing import Any

import streamlit as st

from analytics.errors import CRMError
from analytics.ingest.mapping import saved_mappings
from analytics.ingest.orders import AMENDED_POLICIES
from analytics.ingest.padding import is_decision as is_padding_decision
from analytics.ingest.pipeline import DATE_ORDERS, SCALES, Progress
from analytics.ingest.readers import ENCODING_LABELS
from analytics.ingest.report import ImportReport
from analytics.ingest.schema import KINDS
from analytics.ingest.survey_scales import SCALE_DECISION
from ui import loaders, session
from ui.formats import fmt_int
from ui.i18n import md_literal, t
from ui.importing.mapping import mapping_editor, required_mapping
from ui.importing.messages import error_text, kind_label, localize, stage_label
from ui.importing.report import amended_rows_table, amended_table, count_tiles, facts, import_result, notes, row_tables
from ui.importing.staged import Staged, describe
from ui.importing.state import request, requested

#: Encodings offered when a text file's own cannot be told (or the detected one is wrong).
ENCODINGS: tuple[str, ...] = ("utf-8", "gb18030", "utf-16", "big5", "euc_kr", "euc_jp", "shift_jis", "latin-1")
#: Ids that match stored ids only when zero-padded: pad them (True) or keep them as written (False).
PAD_CHOICES: tuple[bool, ...] = (True, False)


def _progress_into(slot: Any, lang: str) -> Progress:
    """A ``progress(stage, fraction)`` callback that draws a progress bar into `slot`."""
    def progress(stage: str, fraction: float) -> None:
        slot.progress(min(max(fraction, 0.0), 1.0), text=stage_label(stage, lang))
    return progress


def _on_option(entry: Staged, name: str, widget: str) -> None:
    entry.choose(name, st.session_state[widget])


def _on_no_header(entry: Staged, widget: str) -> None:
    """"The first line is data" ticked: no header row. Unticked: the header row found
    automatically again, or line 1 when that found none (the box was ticked by the detection)."""
    if st.session_state[widget]:
        entry.choose("header_row", 0)
    else:
        entry.choose("header_row", None if entry.options["header_row"] == 0 else 1)


def _options_row(entry: Staged, report: ImportReport | None, lang: str) -> None:
    """Kind, encoding or sheet, header row (or none) and saved mapping: the choices that re-read
    the file."""
    cols = st.columns(4)
    kind = report.kind if report else entry.options["kind"]
    key = entry.widget("kind")
    cols[0].selectbox(t("data_kind_label", lang), KINDS, index=KINDS.index(kind) if kind else None,
                      format_func=lambda k: kind_label(k, lang), placeholder=t("data_kind_choose", lang),
                      help=t("data_kind_help", lang), key=key, on_change=_on_option, args=(entry, "kind", key))
    if entry.is_text:
        detected = ENCODING_LABELS.get(report.encoding, report.encoding) if report and report.encoding else None
        automatic = t("data_encoding_auto", lang, detected=detected) if detected else t("data_encoding_detect", lang)
        choices = [None, *ENCODINGS]
        key = entry.widget("encoding")
        cols[1].selectbox(t("data_encoding_label", lang), choices, index=choices.index(entry.options["encoding"]),
                          format_func=lambda e: automatic if e is None else ENCODING_LABELS.get(e, e),
                          help=t("data_encoding_help", lang), key=key,
                          on_change=_on_option, args=(entry, "encoding", key))
    elif report is not None and len(report.sheets) > 1:
        key = entry.widget("sheet")
        cols[1].selectbox(t("data_sheet_label", lang), report.sheets, index=report.sheets.index(report.sheet),
                          help=t("data_sheet_help", lang), key=key, on_change=_on_option, args=(entry, "sheet", key))
    no_header = entry.has_header_row and (entry.options["header_row"] == 0 or entry.headerless)
    if entry.has_header_row:
        key = entry.widget("header_row")
        value = report.header_row if report else entry.options["header_row"] or None
        cols[2].number_input(t("data_header_row_label", lang), min_value=1, value=value, step=1, disabled=no_header,
                             placeholder=t("data_header_row_auto", lang), help=t("data_header_row_help", lang),
                             key=key, on_change=_on_option, args=(entry, "header_row", key))
    saved = saved_mappings(loaders.connection())
    if saved:
        names = [None, *(name for name, _, _ in saved)]
        kinds = {name: k for name, k, _ in saved}
        key = entry.widget("mapping_name")
        cols[3].selectbox(t("data_saved_mapping_label", lang), names, index=names.index(entry.options["mapping_name"]),
                          format_func=lambda n: t("data_saved_mapping_none", lang) if n is None
                          else f"{n} ({kind_label(kinds[n], lang)})",
                          help=t("data_saved_mapping_help", lang), key=key,
                          on_change=_on_option, args=(entry, "mapping_name", key))
    if entry.has_header_row:  # a row of its own: the label is too long for a column on a laptop
        key = entry.widget("no_header")
        st.checkbox(t("data_no_header_label", lang), value=no_header, help=t("data_no_header_help", lang), key=key,
                    on_change=_on_no_header, args=(entry, key))


def _date_order(entry: Staged, report: ImportReport, lang: str) -> None:
    """The day/month order, when the dates leave it open (or it was chosen)."""
    dates = [item for item in report.needs_confirmation
             if not is_padding_decision(item) and not _is_scale_decision(item)]
    if not dates and entry.options["date_order"] is None:
        return
    for item in dates:
        st.warning(md_literal(localize(item, lang)), icon=":material/calendar_month:")
    key = entry.widget("date_order")
    chosen = entry.options["date_order"]
    st.radio(t("data_date_order_label", lang), DATE_ORDERS, index=DATE_ORDERS.index(chosen) if chosen else None,
             format_func=lambda o: t(f"data_date_order_{o}", lang), horizontal=True,
             help=t("data_date_order_help", lang), key=key, on_change=_on_option, args=(entry, "date_order", key))


def _is_scale_decision(item: str) -> bool:
    return SCALE_DECISION in item


def _scale(entry: Staged, report: ImportReport, lang: str) -> None:
    """The scale of feedback scores given without one, when the scores fit no one scale (or it
    was chosen): the evidence, and CSAT 1–5 or NPS 0–10 (the import waits for the choice)."""
    items = [item for item in report.needs_confirmation if _is_scale_decision(item)]
    chosen = entry.options.get("scale")
    if not items and chosen is None:
        return
    for item in items:
        st.warning(md_literal(localize(item, lang)), icon=":material/star_half:")
    key = entry.widget("scale")
    st.radio(t("data_scale_label", lang), SCALES, index=SCALES.index(chosen) if chosen else None,
             format_func=lambda s: t(f"data_scale_{s}", lang), horizontal=True, help=t("data_scale_help", lang),
             key=key, on_change=_on_option, args=(entry, "scale", key))


def _pad_ids(entry: Staged, report: ImportReport, lang: str) -> None:
    """Ids that match stored ids only when zero-padded (a spreadsheet dropped their zeros): what
    was found, and whether to pad them or keep them as written (the import waits for the choice)."""
    if not report.id_padding and entry.options["pad_ids"] is None:
        return
    for item in report.needs_confirmation:
        if is_padding_decision(item):
            st.warning(md_literal(localize(item, lang)), icon=":material/format_list_numbered:")
    key = entry.widget("pad_ids")
    chosen = entry.options["pad_ids"]
    st.radio(t("data_pad_ids_label", lang), PAD_CHOICES, index=None if chosen is None else PAD_CHOICES.index(chosen),
             format_func=lambda pad: t("data_pad_ids_pad" if pad else "data_pad_ids_keep", lang), horizontal=True,
             help=t("data_pad_ids_help", lang), key=key, on_change=_on_option, args=(entry, "pad_ids", key))


def _amended(entry: Staged, report: ImportReport, lang: str) -> None:
    """Orders the database holds with other lines: what differs, and whether the import keeps
    the stored orders (the default) or replaces them with this file's (undo puts them back)."""
    rows = len(report.amended_rows)
    if not report.orders_amended and not rows:
        return
    if report.orders_amended:
        st.warning(t("data_amended_text", lang, n=fmt_int(report.orders_amended, lang)),
                   icon=":material/published_with_changes:")
    if rows:  # sales rows without order numbers that amend stored purchases (analytics.ingest.purchases)
        total = report.rows_replaced if report.amended_policy == "replace" else report.rows_amended
        st.warning(t("data_amended_rows_text", lang, n=fmt_int(max(total, rows), lang)),
                   icon=":material/published_with_changes:")
    key = entry.widget("amended")
    words = "data_amended" if report.orders_amended else "data_amended_rows"  # orders, or rows only
    st.radio(t(f"{words}_label", lang), AMENDED_POLICIES, index=AMENDED_POLICIES.index(entry.options["amended"]),
             format_func=lambda p: t(f"{words}_{p}", lang), horizontal=True, help=t(f"{words}_help", lang),
             key=key, on_change=_on_option, args=(entry, "amended", key))
    if report.orders_amended:
        amended_table(report, entry.widget("amended_table"), lang)
    if rows:
        amended_rows_table(report, entry.widget("amended_rows_table"), lang)


def _confirm(entry: Staged, report: ImportReport, lang: str) -> None:
    """The confirm button (disabled while a decision is open); writes the file when clicked."""
    blocked = bool(report.needs_confirmation)
    flag = f"data_commit_{entry.slug}"
    row = st.columns([1, 2], vertical_alignment="center")
    row[0].button(t("data_confirm", lang, n=fmt_int(report.rows_to_import, lang)), type="primary",
                  icon=":material/database_upload:", disabled=blocked, key=entry.widget("confirm"), width="stretch",
                  on_click=request, args=(flag,))
    waiting = ("data_confirm_blocked_pad" if all(is_padding_decision(i) for i in report.needs_confirmation)
               else "data_confirm_blocked_scale" if all(_is_scale_decision(i) for i in report.needs_confirmation)
               else "data_confirm_blocked")
    row[1].caption(t(waiting if blocked else "data_nothing_written_yet", lang))
    if not requested(flag) or blocked:
        return
    bar = st.progress(0.0, text=stage_label("writing rows", lang))
    try:
        entry.commit(session.user_name(), _progress_into(bar, lang))
    except CRMError as exc:
        bar.empty()
        st.error(md_literal(error_text(exc, lang)))
        return
    st.rerun()


def file_panel(entry: Staged, version: int, lang: str) -> None:
    """One file: its preview, choices and validation report, and the confirm button; or,
    once committed, what the import did.

    Parameters
    ----------
    entry : Staged
        The file, with the options chosen for it.
    version : int
        The data version (``ui.loaders.data_version``) the preview must be made at.
    lang : str
        One of ``ui.i18n.LANGUAGES``.
    """
    with st.container(border=True):
        st.markdown(f"##### :material/description: {md_literal(entry.label)}")
        try:
            _panel_body(entry, version, lang)
        except Exception as exc:  # one file's unforeseen failure must not take the page (its other files and
            # tabs) down; Streamlit's rerun and stop are BaseExceptions and pass through
            entry.release()
            st.error(md_literal(t("data_error_unexpected_panel", lang, error=describe(exc, "showing"))),
                     icon=":material/error:")


def _panel_body(entry: Staged, version: int, lang: str) -> None:
    """The inside of :func:`file_panel`."""
    if entry.notice is not None:
        st.success(entry.notice, icon=":material/check:")
        entry.notice = None
    if entry.result is not None:
        import_result(entry.result, lang)
        return
    entry.speak(lang)
    slot = st.empty()
    entry.ensure(loaders.connection(), version, _progress_into(slot, lang))
    slot.empty()
    report = entry.prepared.report if entry.prepared is not None else None
    _options_row(entry, report, lang)
    if report is None:
        st.error(md_literal(error_text(entry.error, lang)), icon=":material/error:")
        if entry.headers is not None:
            required_mapping(entry, lang)
        return
    st.caption(facts(report, lang))
    mapping_editor(entry, report, lang)
    _date_order(entry, report, lang)
    _pad_ids(entry, report, lang)
    _scale(entry, report, lang)
    _amended(entry, report, lang)
    count_tiles(report, lang)
    notes(report, lang)
    row_tables(report, entry.widget("rejects"), lang)
    _confirm(entry, report, lang)
