"""The Data page's Streamlit side: files through the import pipeline, the import history
with undo, the data-quality checks and the metric settings.

A file on the page is a :class:`Staged` entry kept in ``st.session_state``: where its bytes
are, the options the analyst chose (kind, encoding, sheet, header row, mapping, day/month
order) and the :class:`~analytics.ingest.pipeline.PreparedImport` made for those options at the
current data version. The preview is made again when either changes (an import elsewhere
changes what is "already present"); the old one is closed. Nothing is written before the
analyst confirms.

The pipeline speaks English (its reports and errors are also the command line's);
:func:`localize` puts its known sentences into the page's language and leaves any other
text as it is.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from analytics.errors import CRMError, EncodingNotDetected, FileReadError, MappingError
from analytics.ingest import demo, intake
from analytics.ingest import pipeline as importer
from analytics.ingest.mapping import save_mapping, saved_mappings
from analytics.ingest.pipeline import DATE_ORDERS, ImportReport, PreparedImport
from analytics.ingest.readers import ENCODING_LABELS, EXCEL_FORMATS, TEXT_FORMATS
from analytics.ingest.schema import COLUMNS, KINDS
from analytics.paths import work_dir
from analytics.store import audits, settings
from ui import loaders, session
from ui.downloads import download_name
from ui.formats import fmt_date, fmt_int, fmt_pct
from ui.i18n import md_literal, t
from ui.widgets import download_buttons

#: Encodings offered when a text file's own cannot be told (or the detected one is wrong).
ENCODINGS: tuple[str, ...] = ("utf-8", "gb18030", "utf-16", "big5", "latin-1")
#: Option names of :func:`analytics.ingest.pipeline.prepare` the page lets the analyst set.
OPTIONS: tuple[str, ...] = ("kind", "encoding", "sheet", "header_row", "mapping_name", "date_order")

_ENTRIES = "data_entries"
_FLASH = "data_flash"
_UNDO_PENDING = "data_undo_pending"
_GRID = 3  # mapping selectboxes per row
_DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}

Progress = Callable[[str, float], None]


# --------------------------------------------------------------------------- messages

def _maybe(key: str, lang: str, **values: object) -> str | None:
    """The message `key`, or None when the catalogue has none (an optional translation)."""
    try:
        return t(key, lang, **values)
    except KeyError:
        return None


def column_label(name: str, lang: str) -> str:
    """A canonical column's (or a check's sample column's) name for people; the name itself when unknown."""
    return _maybe(f"data_col_{name}", lang) or name


def kind_label(kind: str, lang: str) -> str:
    """The name of a kind of file: ``transactions`` → "交易明细" / "Transactions"."""
    return _maybe(f"data_kind_{kind}", lang) or kind


# The pipeline's sentences (analytics.ingest.pipeline, analytics.ingest.mapping, analytics.ingest.readers) and the
# message each becomes. Named groups fill the message's placeholders (see _FORMATS).
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), key) for p, key in (
    # reasons a row or cell is rejected, and why a row is excluded
    (r"(?P<column>\w+) is empty", "data_reason_empty"),
    (r"not a date in the chosen day/month order", "data_reason_not_date_order"),
    (r"not a date", "data_reason_not_date"),
    (r"date out of range \(1900-2100\)", "data_reason_date_range"),
    (r"not a number", "data_reason_not_number"),
    (r"not an amount", "data_reason_not_amount"),
    (r"score is empty \(required for a survey\)", "data_reason_score_empty"),
    (r"score (?P<score>\S+) is outside the CSAT scale 1-5", "data_reason_csat_range"),
    (r"score (?P<score>\S+) is outside the NPS scale 0-10", "data_reason_nps_range"),
    (r"unknown scale \(use CSAT or NPS\)", "data_reason_unknown_scale"),
    (r"unknown feedback kind \(use survey or complaint\)", "data_reason_unknown_feedback_kind"),
    (r"unknown outcome \(use won or lost, or leave empty\)", "data_reason_unknown_outcome"),
    (r"expected (?P<expected>\d+) cells, found (?P<found>\d+)", "data_reason_cells"),
    (r"blank line", "data_excluded_blank_line"),
    (r"blank row", "data_excluded_blank_row"),
    (r"total row", "data_excluded_total_row"),
    # where the other row of a conflict is
    (r"line (?P<line>\d+) of this file", "data_other_in_file"),
    (r"import #(?P<import_id>\d+), line (?P<line>\d+)", "data_other_in_db"),
    # why a date column was read day-first or month-first
    (r"chosen", "data_why_chosen"),
    (r"values such as (?P<example>.+) only fit day/month/year", "data_why_dmy"),
    (r"values such as (?P<example>.+) only fit month/day/year", "data_why_mdy"),
    (r"values such as (?P<first>.+) fit only day/month/year and values such as (?P<second>.+) "
     r"only month/day/year", "data_why_mixed"),
    (r"every value \(e\.g\. (?P<example>.+)\) fits both orders", "data_why_both"),
    # decisions the report asks for
    (r"column (?P<header>.+): its dates mix day/month and month/day orders; choose one order "
     r"\(values that do not fit it are rejected\)", "data_confirm_mixed"),
    (r"column (?P<header>.+): dates like (?P<example>.+) could be day/month/year or month/day/year; "
     r"proposed month/day/year, confirm or choose", "data_confirm_ambiguous"),
    (r"date columns read in different orders; choose one order", "data_confirm_orders_differ"),
    # notes
    (r"(?P<n>\d+) rows repeat an earlier row with the same key exactly; each is imported once",
     "data_note_duplicates"),
    (r"(?P<n>\d+) rows without an id repeat an earlier row of this file exactly; each is kept as a "
     r"separate record", "data_note_identical"),
    (r"(?P<n>\d+) rows have a negative amount and are kept as returns", "data_note_returns"),
    (r"(?P<n>\d+) rows have an amount of zero", "data_note_zero"),
    (r"(?P<n>\d+) rows share a key with another row but differ in values; they are not imported "
     r"\(listed under conflicts\)", "data_note_conflicts"),
    (r"if rows with one transaction id are lines of one order, map the product column too: .*",
     "data_note_map_product"),
    (r"this exact file was imported before as (?P<ids>#\d+(?:, #\d+)*)", "data_note_imported_before"),
    (r"(?P<n>\d+) scores have no scale; read as CSAT 1–5 \(scores range from (?P<low>\S+) to (?P<high>\S+)\)",
     "data_note_scale_csat"),
    (r"(?P<n>\d+) scores have no scale; read as NPS 0–10 \(scores range from (?P<low>\S+) to (?P<high>\S+)\)",
     "data_note_scale_nps"),
    (r"nothing new: every valid row is already in the database", "data_note_nothing_new"),
    (r"the data-quality checks could not run \((?P<error>.*)\); run them again with .*", "data_note_checks_failed"),
    # errors
    (r"(?P<file>.+): the file is empty", "data_error_empty_file"),
    (r"the file has no rows", "data_error_no_rows"),
    (r"(?P<file>.+): unsupported file type (?P<ext>\S+); use CSV, TSV, Excel \.xlsx or Parquet",
     "data_error_file_type"),
    (r"(?P<file>.+): old Excel \.xls files are not read; open it in Excel and save it as \.xlsx \(or CSV\)",
     "data_error_xls"),
    (r"cannot tell what kind of file this is from its columns \((?P<columns>.*)\); choose the kind .*",
     "data_error_kind_unknown"),
    (r"a (?P<kind>\w+) file needs the column\(s\) (?P<missing>.+), which were not found among (?P<columns>.*); "
     r"map them explicitly", "data_error_missing_columns"),
    (r"(?P<file>.+): cannot tell the text encoding\. It is not UTF-8 \(line (?P<line>\d+), column (?P<column>\d+): "
     r"byte (?P<byte>0x[0-9A-F]{2})\) and does not read as Chinese GBK/GB18030\. .*", "data_error_encoding"),
    (r"(?P<file>.+) is not valid (?P<encoding>\S+): line (?P<line>\d+), column (?P<column>\d+) "
     r"\(byte (?P<byte>0x[0-9A-F]{2})\)", "data_error_encoding_declared"),
))


def _list_of_columns(text: str, lang: str) -> str:
    names = [column_label(n.strip(), lang) for n in text.split(",")]
    return ("、" if lang == "zh" else ", ").join(names)


# How a named group's text is shown; any other group is shown as it is.
_FORMATS: dict[str, Callable[[str, str], str]] = {
    **dict.fromkeys(("n", "line", "expected", "found", "import_id"), lambda v, lang: fmt_int(int(v), lang)),
    "column": column_label,
    "kind": kind_label,
    "missing": _list_of_columns,
}


def _translated(text: str, lang: str) -> str | None:
    for pattern, key in _PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            values = {name: _FORMATS.get(name, lambda v, _lang: v)(value, lang)
                      for name, value in match.groupdict().items()}
            return t(key, lang, **values)
    return None


def localize(text: str | None, lang: str) -> str:
    """A sentence of the import pipeline in the page's language.

    Parameters
    ----------
    text : str or None
        A reject reason, note, decision asked for, or error message as the pipeline wrote it.
    lang : str
        One of ``ui.i18n.LANGUAGES``.

    Returns
    -------
    str
        The message for a known sentence, numbers formatted and column names translated; any
        other text unchanged (empty for None).
    """
    if not text:
        return ""
    return _translated(text, lang) or text


def error_text(exc: CRMError, lang: str) -> str:
    """What went wrong and what to do next, for an error the pipeline raised."""
    known = _translated(str(exc), lang)
    if known is not None:
        return known
    if isinstance(exc, EncodingNotDetected):
        key = "data_error_encoding_other"
    elif isinstance(exc, FileReadError):
        key = "data_error_read"
    elif isinstance(exc, MappingError):
        key = "data_error_mapping"
    else:
        key = "data_error_other"
    return t(key, lang, detail=str(exc))


def _stage_label(stage: str, lang: str) -> str:
    return _maybe("data_stage_" + re.sub(r"\W+", "_", stage), lang) or t("data_stage_working", lang)


def _progress_into(slot: Any, lang: str) -> Progress:
    """A ``progress(stage, fraction)`` callback that draws a progress bar into `slot`."""
    def progress(stage: str, fraction: float) -> None:
        slot.progress(min(max(fraction, 0.0), 1.0), text=_stage_label(stage, lang))
    return progress


def _md(text: str) -> str:
    """`text` shown literally in Markdown (a file name is not markup)."""
    return md_literal(text)


def _request(flag: str, value: Any = True) -> None:
    """A button's ``on_click``: remember what was asked for in the session.

    The page acts on it while it runs (:func:`_requested`), where a progress bar can show.
    A button's own True lasts one run only and is lost when the run restarts (the page
    reruns once through ``app.py`` when it was started without it, see ``ui.frame``).
    """
    st.session_state[flag] = value


def _requested(flag: str) -> Any:
    """What was asked for under `flag` (None if nothing), forgotten once read."""
    return st.session_state.pop(flag, None)


def _flash(kind: str, text: str) -> None:
    """Show `text` on the next run (after ``st.rerun``)."""
    st.session_state[_FLASH] = (kind, text)


def show_flash() -> None:
    """Show and forget the message left by the previous run."""
    flash = st.session_state.pop(_FLASH, None)
    if flash is not None:
        kind, text = flash
        (st.success if kind == "success" else st.info)(text)


# --------------------------------------------------------------------------- staged files

@dataclass(eq=False)
class Staged:
    """A file on the page, on its way into the database.

    ``options`` are keyword arguments of :func:`analytics.ingest.pipeline.prepare`; ``overrides``
    the mapping choices made by hand (``{canonical: header}``, ``""`` unmaps). ``revision``
    goes up with every choice, so the widgets showing the pipeline's proposal are drawn anew.
    """

    key: str
    label: str
    path: Path
    options: dict[str, Any] = field(default_factory=lambda: dict.fromkeys(OPTIONS))
    overrides: dict[str, str] = field(default_factory=dict)
    prepared: PreparedImport | None = None
    made_for: tuple | None = None
    error: CRMError | None = None
    headers: list[str] | None = None
    result: ImportReport | None = None
    revision: int = 0
    folder: Path | None = None  # the private folder of an upload, removed with the entry
    lang: str | None = None  # the language its widgets were drawn in
    notice: str | None = None  # a success to show on the next run

    def __post_init__(self) -> None:
        self.slug = hashlib.sha1(self.key.encode("utf-8")).hexdigest()[:10]
        self._release: weakref.finalize | None = None
        # a session that ends (or a file dropped without close) still frees its folder
        self._remove_folder = (weakref.finalize(self, shutil.rmtree, str(self.folder), True)
                               if self.folder is not None else None)

    @classmethod
    def from_upload(cls, upload: UploadedFile) -> Staged:
        """Save an uploaded file in a new private folder under a safe name and stage it.

        The name keeps letters (Chinese too), digits, ``-``, ``_`` and ``.`` of the file's
        own name without any folder part; the folder is made by ``tempfile`` (mode 0700)
        in ``data/.work/``, where the app's connection may read.
        """
        base = upload.name.replace("\\", "/").rsplit("/", 1)[-1]
        stem, dot, ext = base.rpartition(".")
        ext = ext.lower() if dot and ext.isascii() and ext.isalnum() else "bin"
        folder = Path(tempfile.mkdtemp(prefix="crm-upload-", dir=work_dir()))
        path = folder / download_name(stem or "upload", ext)
        path.write_bytes(upload.getvalue())
        return cls(key=f"upload:{upload.file_id}", label=path.name, path=path, folder=folder)

    @classmethod
    def from_inbox(cls, found: intake.InboxFile) -> Staged:
        """Stage a file of the inbox, read where it is."""
        return cls(key=f"inbox:{found.key}", label=found.name, path=found.path)

    def widget(self, name: str) -> str:
        """The key of this entry's widget `name` for its current revision."""
        return f"data_{self.slug}_{self.revision}_{name}"

    @property
    def is_text(self) -> bool:
        """CSV, TSV or text: the encoding can be chosen."""
        return self.path.suffix.lower() in TEXT_FORMATS

    @property
    def has_header_row(self) -> bool:
        """Text or Excel: the header row can be chosen (Parquet has named columns)."""
        return self.is_text or self.path.suffix.lower() in EXCEL_FORMATS

    def speak(self, lang: str) -> None:
        """Draw the widgets anew when the language changes: a selectbox sends back the label it
        showed, which the new language's options no longer hold."""
        if lang != self.lang:
            self.lang = lang
            self.revision += 1

    def choose(self, name: str, value: Any) -> None:
        """Set option `name`; a new kind or saved mapping starts the mapping afresh."""
        self.options[name] = value
        if name in ("kind", "mapping_name"):
            self.overrides.clear()
        self.revision += 1

    def map_column(self, kind: str, canonical: str, header: str) -> None:
        """Feed `canonical` from `header` (``""``: from no column); the kind stays as it is."""
        self.options["kind"] = kind
        if header:
            for other in [c for c, h in self.overrides.items() if h == header]:
                del self.overrides[other]
        self.overrides.pop(canonical, None)
        self.overrides[canonical] = header  # last, so it wins over the proposal
        self.revision += 1

    def ensure(self, con: Any, version: int, progress: Progress) -> None:
        """Prepare the file for the current options and data version, unless done already."""
        wanted = (tuple(self.options.items()), tuple(self.overrides.items()), version)
        if self.result is not None or self.made_for == wanted:
            return
        self.release()
        self.error, self.headers = None, None
        try:
            self.prepared = importer.prepare(con, self.path, mapping=dict(self.overrides) or None,
                                             progress=progress, **self.options)
        except MappingError as exc:
            self.error = exc
            self.headers = intake.file_headers(con, self.path, encoding=self.options["encoding"],
                                               sheet=self.options["sheet"], header_row=self.options["header_row"])
        except CRMError as exc:
            self.error = exc
        else:
            self._release = weakref.finalize(self, PreparedImport.release, self.prepared.cursor,
                                             self.prepared.stage_db)
        self.made_for = wanted

    def commit(self, user: str, progress: Progress) -> ImportReport:
        """Write the prepared file; keep the final report, let go of the preview and the upload."""
        assert self.prepared is not None
        self.result = importer.commit_import(self.prepared, imported_by=user, progress=progress)
        self.close()
        return self.result

    def release(self) -> None:
        """Close the preview (its staging tables and cursor)."""
        if self._release is not None:
            self._release()
        self._release, self.prepared = None, None

    def close(self) -> None:
        """Close the preview and remove an upload's private copy."""
        self.release()
        if self._remove_folder is not None:
            self._remove_folder()


def _entries() -> dict[str, Staged]:
    return st.session_state.setdefault(_ENTRIES, {})


def _keep_only(prefix: str, keep: Sequence[Staged]) -> None:
    """Drop (and close) the entries under `prefix` that are not in `keep`."""
    entries, wanted = _entries(), {e.key for e in keep}
    for key in [k for k in entries if k.startswith(prefix) and k not in wanted]:
        entries.pop(key).close()


def upload_limit_mib() -> int:
    """The upload size limit: ``server.maxUploadSize`` (MiB, as Streamlit counts it)."""
    return int(st.get_option("server.maxUploadSize"))


def too_large(files: Sequence[UploadedFile] | None) -> list[UploadedFile]:
    """Uploads over the size limit. The browser refuses them before they are sent; this is
    the server's own check, should one arrive anyway."""
    return [f for f in files or [] if f.size > upload_limit_mib() * 1024 * 1024]


def sync_uploads(files: Sequence[UploadedFile] | None) -> list[Staged]:
    """The entries of the files in the uploader: new ones staged, removed ones closed (a
    file over the size limit is never staged)."""
    entries = _entries()
    staged = []
    oversized = {f.file_id for f in too_large(files)}
    for upload in files or []:
        if upload.file_id in oversized:
            continue
        key = f"upload:{upload.file_id}"
        if key not in entries:
            entries[key] = Staged.from_upload(upload)
        staged.append(entries[key])
    _keep_only("upload:", staged)
    return staged


# --------------------------------------------------------------------------- one file

def _on_option(entry: Staged, name: str, widget: str) -> None:
    entry.choose(name, st.session_state[widget])


def _on_mapping(entry: Staged, kind: str, canonical: str, widget: str) -> None:
    entry.map_column(kind, canonical, st.session_state[widget] or "")


def _options_row(entry: Staged, report: ImportReport | None, lang: str) -> None:
    """Kind, encoding or sheet, header row and saved mapping: the choices that re-read the file."""
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
    if entry.has_header_row:
        key = entry.widget("header_row")
        value = report.header_row if report else entry.options["header_row"]
        cols[2].number_input(t("data_header_row_label", lang), min_value=1, value=value, step=1,
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


def _mapping_grid(entry: Staged, kind: str, headers: list[str], current: dict[str, str],
                  columns: Sequence[Any], lang: str) -> None:
    """One selectbox per canonical column (file header or none), `_GRID` to a row."""
    options = ["", *headers]
    for start in range(0, len(columns), _GRID):
        cells = st.columns(_GRID)
        for cell, col in zip(cells, columns[start:start + _GRID], strict=False):
            key = entry.widget(f"map_{col.name}")
            label = column_label(col.name, lang) + (" *" if col.required else "")
            chosen = current.get(col.name, "")
            cell.selectbox(label, options, index=options.index(chosen) if chosen in options else 0,
                           format_func=lambda h: h or t("data_not_mapped", lang),
                           help=t("data_mapping_cell_help", lang, column=col.name), key=key,
                           on_change=_on_mapping, args=(entry, kind, col.name, key))


def _mapping_editor(entry: Staged, report: ImportReport, lang: str) -> None:
    """The mapping in one line, and the editor (open once the analyst has changed something)."""
    pairs = [f"{column_label(c.name, lang)} ← {report.mapping[c.name]}" for c in COLUMNS[report.kind]
             if c.name in report.mapping]
    st.caption(_md(t("data_mapping_summary", lang, pairs=" · ".join(pairs))))
    edited = bool(entry.overrides or entry.options["mapping_name"])
    with st.expander(t("data_mapping_title", lang), icon=":material/table_convert:", expanded=edited):
        st.caption(t("data_mapping_caption", lang))
        _mapping_grid(entry, report.kind, entry.prepared.raw.headers, report.mapping, COLUMNS[report.kind], lang)
        if report.unmapped_columns:
            st.caption(t("data_unmapped", lang, columns="、".join(report.unmapped_columns) if lang == "zh"
                         else ", ".join(report.unmapped_columns)))
        row = st.columns([3, 1], vertical_alignment="bottom")
        name_key, flag = entry.widget("save_name"), f"data_save_mapping_{entry.slug}"
        row[0].text_input(t("data_save_mapping_label", lang), key=name_key,
                          placeholder=t("data_save_mapping_placeholder", lang), help=t("data_save_mapping_help", lang))
        row[1].button(t("data_save_mapping", lang), key=entry.widget("save_mapping"), width="stretch",
                      on_click=_request, args=(flag,))
        if _requested(flag):
            name = (st.session_state.get(name_key) or "").strip()
            try:
                save_mapping(loaders.connection().cursor(), name, entry.prepared.mapping)
            except MappingError:
                st.error(t("data_save_mapping_no_name", lang))
            else:  # drawn again, so the options above offer the new mapping
                entry.notice = t("data_save_mapping_done", lang, name=name)
                st.rerun()


def _required_mapping(entry: Staged, lang: str) -> None:
    """After a mapping error: the required columns of the chosen kind, to map by hand."""
    kind = entry.options["kind"]
    if kind is None:  # the error asked for the kind first
        return
    st.markdown(t("data_map_required", lang))
    required = [c for c in COLUMNS[kind] if c.required]
    _mapping_grid(entry, kind, entry.headers or [], entry.overrides, required, lang)


def _facts(report: ImportReport, lang: str) -> str:
    parts = [t("data_fact_format", lang, format=report.file_format.upper())]
    if report.encoding:
        parts.append(t("data_fact_encoding", lang, encoding=ENCODING_LABELS.get(report.encoding, report.encoding)))
    if report.delimiter:
        named = _DELIMITERS.get(report.delimiter)
        parts.append(t("data_fact_delimiter", lang,
                       delimiter=t(f"data_delimiter_{named}", lang) if named else report.delimiter))
    if report.sheet:
        parts.append(t("data_fact_sheet", lang, sheet=_md(report.sheet)))
    if report.header_row:
        parts.append(t("data_fact_header_row", lang, row=fmt_int(report.header_row, lang)))
    parts.append(t("data_fact_columns", lang, n=fmt_int(len(report.mapping) + len(report.unmapped_columns), lang)))
    return " · ".join(parts)


def _date_order(entry: Staged, report: ImportReport, lang: str) -> None:
    """The day/month order, when the dates leave it open (or it was chosen)."""
    if not report.needs_confirmation and entry.options["date_order"] is None:
        return
    for item in report.needs_confirmation:
        st.warning(_md(localize(item, lang)), icon=":material/calendar_month:")
    key = entry.widget("date_order")
    chosen = entry.options["date_order"]
    st.radio(t("data_date_order_label", lang), DATE_ORDERS, index=DATE_ORDERS.index(chosen) if chosen else None,
             format_func=lambda o: t(f"data_date_order_{o}", lang), horizontal=True,
             help=t("data_date_order_help", lang), key=key, on_change=_on_option, args=(entry, "date_order", key))


#: The report's counts in the order shown, four to a row.
COUNTS: tuple[str, ...] = ("rows_read", "rows_valid", "rows_rejected", "rows_excluded",
                           "rows_already_present", "rows_duplicate", "rows_conflicting", "rows_to_import")


def _counts(report: ImportReport, lang: str) -> None:
    """The report's counts as tiles, four to a row (they wrap on a phone)."""
    for start in range(0, len(COUNTS), 4):
        with st.container(horizontal=True, gap="small"):
            for name in COUNTS[start:start + 4]:
                st.metric(t(f"data_{name}", lang), fmt_int(getattr(report, name), lang),
                          help=t(f"data_{name}_help", lang), border=True, width="stretch")


def _notes(report: ImportReport, lang: str) -> None:
    # an order still to be confirmed is asked for above, not stated here
    lines = [t("data_date_reading", lang, column=column, reading=t(f"data_date_order_{r['reading']}", lang),
               why=localize(r["why"], lang))
             for column, r in report.date_readings.items() if not report.needs_confirmation]
    lines += [localize(note, lang) for note in report.notes]
    if lines:
        st.info("\n".join(f"- {_md(line)}" for line in lines), icon=":material/info:")


def _table(rows: list[dict[str, Any]], names: dict[str, Callable[[Any], Any]], lang: str) -> pd.DataFrame:
    """`rows` as a table of the columns in `names` (each shown through its function), headed in `lang`."""
    return pd.DataFrame({t(f"data_table_{name}", lang): [show(r.get(name)) for r in rows]
                         for name, show in names.items()})


def _plain(value: Any) -> Any:
    return value


def _tables(entry: Staged, report: ImportReport, lang: str) -> None:
    """Rejected rows, conflicts and excluded rows, each with its line numbers."""
    stem = Path(report.file).stem
    if report.rejects:
        st.markdown(f"**{t('data_rejects_title', lang, n=fmt_int(report.rejects_total, lang))}**")
        rejects = _table(report.rejects, {"line": _plain, "column": lambda c: c or t("data_whole_line", lang),
                                          "value": lambda v: v or "", "reason": lambda r: localize(r, lang)}, lang)
        st.dataframe(rejects, hide_index=True, width="stretch", height=min(38 + 35 * len(rejects), 400))
        if report.rejects_total > len(report.rejects):
            st.caption(t("data_rejects_more", lang, shown=fmt_int(len(report.rejects), lang),
                         total=fmt_int(report.rejects_total, lang)))
        download_buttons(rejects, f"{stem}_{t('data_rejects_stem', lang)}", lang, entry.widget("rejects"))
    if report.conflicts:
        st.markdown(f"**{t('data_conflicts_title', lang, n=fmt_int(report.rows_conflicting, lang))}**")
        conflicts = _table(report.conflicts, {"line": _plain, "key": _plain,
                                              "other": lambda o: localize(o, lang)}, lang)
        st.dataframe(conflicts, hide_index=True, width="stretch", height=min(38 + 35 * len(conflicts), 400))
        st.caption(t("data_conflicts_caption", lang))
    if report.excluded:
        with st.expander(t("data_excluded_title", lang, n=fmt_int(report.rows_excluded, lang))):
            excluded = _table(report.excluded, {"line": _plain, "reason": lambda r: localize(r, lang)}, lang)
            st.dataframe(excluded, hide_index=True, width="stretch")


def _confirm(entry: Staged, report: ImportReport, lang: str) -> None:
    blocked = bool(report.needs_confirmation)
    flag = f"data_commit_{entry.slug}"
    row = st.columns([1, 2], vertical_alignment="center")
    row[0].button(t("data_confirm", lang, n=fmt_int(report.rows_to_import, lang)), type="primary",
                  icon=":material/database_upload:", disabled=blocked, key=entry.widget("confirm"), width="stretch",
                  on_click=_request, args=(flag,))
    row[1].caption(t("data_confirm_blocked" if blocked else "data_nothing_written_yet", lang))
    if not _requested(flag) or blocked:
        return
    bar = st.progress(0.0, text=_stage_label("writing rows", lang))
    try:
        entry.commit(session.user_name(), _progress_into(bar, lang))
    except CRMError as exc:
        bar.empty()
        st.error(_md(error_text(exc, lang)))
        return
    st.rerun()


def _result(report: ImportReport, lang: str) -> None:
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
    findings = {name: n for name, n in report.checks.items() if n}
    if findings:
        listed = ", ".join(f"{check_title(name, lang)} ({fmt_int(n, lang)})" for name, n in findings.items())
        st.warning(t("data_result_checks", lang, checks=listed), icon=":material/rule:")
    notes = [localize(n, lang) for n in report.notes if not n.startswith("nothing new")]
    if notes:
        st.caption(" · ".join(notes))


def file_panel(entry: Staged, version: int, lang: str) -> None:
    """One file: its preview, choices and validation report, and the confirm button; or,
    once committed, what the import did."""
    with st.container(border=True):
        st.markdown(f"##### :material/description: {_md(entry.label)}")
        if entry.notice is not None:
            st.success(entry.notice, icon=":material/check:")
            entry.notice = None
        if entry.result is not None:
            _result(entry.result, lang)
            return
        entry.speak(lang)
        slot = st.empty()
        entry.ensure(loaders.connection(), version, _progress_into(slot, lang))
        slot.empty()
        report = entry.prepared.report if entry.prepared is not None else None
        _options_row(entry, report, lang)
        if report is None:
            st.error(_md(error_text(entry.error, lang)), icon=":material/error:")
            if entry.headers is not None:
                _required_mapping(entry, lang)
            return
        st.caption(_facts(report, lang))
        _mapping_editor(entry, report, lang)
        _date_order(entry, report, lang)
        _counts(report, lang)
        _notes(report, lang)
        _tables(entry, report, lang)
        _confirm(entry, report, lang)


# --------------------------------------------------------------------------- sections

def upload_section(lang: str) -> None:
    """The file uploader and a panel per uploaded file."""
    files = st.file_uploader(t("data_upload_label", lang), type=list(intake.UPLOAD_TYPES), accept_multiple_files=True,
                             key="data_upload", help=t("data_upload_help", lang))
    for upload in too_large(files):
        st.error(t("data_upload_too_large", lang, file=_md(upload.name), size=_megabytes(upload.size),
                   limit=fmt_int(upload_limit_mib(), lang), folder=_md(str(intake.INBOX_DIR))),
                 icon=":material/error:")
    version = loaders.data_version()
    for entry in sync_uploads(files):
        file_panel(entry, version, lang)


def _megabytes(n_bytes: int) -> str:
    """A file size in MB as Streamlit counts its upload limit (MiB), so sizes and the limit compare."""
    mb = n_bytes / 1024 / 1024
    return f"{mb:,.1f}" if mb >= 0.1 else "<0.1"


def inbox_section(lang: str) -> None:
    """Files waiting in the inbox folder, one at a time through the same panel as an upload."""
    st.caption(t("data_inbox_caption", lang, folder=str(intake.INBOX_DIR),
                 limit=fmt_int(upload_limit_mib(), lang)))
    found = {f.name: f for f in intake.list_inbox(intake.INBOX_DIR)}
    if not found:
        _keep_only("inbox:", [])
        st.info(t("data_inbox_empty", lang), icon=":material/inbox:")
        return
    names, entries = list(found), _entries()
    shown = [e.label for key, e in entries.items() if key.startswith("inbox:") and e.label in found]
    row = st.columns([3, 1], vertical_alignment="bottom")
    # keyed by language: the options' labels change with it (see Staged.speak)
    name = row[0].selectbox(t("data_inbox_choose", lang), names, index=names.index(shown[0]) if shown else None,
                            format_func=lambda n: t("data_inbox_file", lang, name=n, mb=_megabytes(found[n].size),
                                                    modified=fmt_date(found[n].modified, lang)),
                            placeholder=t("data_inbox_placeholder", lang), key=f"data_inbox_choice_{lang}")
    row[1].button(t("data_inbox_refresh", lang), icon=":material/refresh:", key="data_inbox_refresh", width="stretch")
    if name is None:
        _keep_only("inbox:", [])
        return
    chosen = found[name]
    key = f"inbox:{chosen.key}"
    if key not in entries:
        entries[key] = Staged.from_inbox(chosen)
    entry = entries[key]
    _keep_only("inbox:", [entry])
    file_panel(entry, loaders.data_version(), lang)


def empty_state(lang: str) -> None:
    """An empty database: say so and offer the demo data (uploading works as always)."""
    if loaders.has_data():
        return
    with st.container(border=True):
        st.markdown(f"**{t('data_empty_title', lang)}**")
        st.write(t("data_empty_body", lang))
        st.button(t("load_demo", lang), type="primary", icon=":material/rocket_launch:", key="data_load_demo",
                  on_click=_request, args=("data_demo_requested",))
        if not _requested("data_demo_requested"):
            return
        bar = st.progress(0.0, text=t("loading_demo", lang))
        files = len(demo.FILE_NAMES)
        done = 0

        def progress(stage: str, fraction: float) -> None:
            nonlocal done
            bar.progress(min((done + fraction) / files, 1.0),
                         text=t("data_demo_progress", lang, file=fmt_int(min(done + 1, files), lang),
                                files=fmt_int(files, lang), stage=_stage_label(stage, lang)))
            if stage == "done":
                done += 1

        reports = demo.load_demo(loaders.connection(), progress=progress)
        _flash("success", t("data_demo_loaded", lang, rows=fmt_int(sum(r.rows_imported for r in reports), lang),
                            files=fmt_int(len(reports), lang)))
        st.rerun()


# --------------------------------------------------------------------------- history

#: The ledger's columns shown, in order.
HISTORY_COLUMNS: tuple[str, ...] = ("import_id", "imported_at", "file_name", "kind", "status", "rows_read",
                                    "rows_imported", "rows_rejected", "rows_already_present", "imported_by",
                                    "undone_at", "undone_by")


def _status(row: dict[str, Any], lang: str) -> str:
    if row["status"] == "committed" and not row["rows_imported"]:
        return t("data_status_nothing_new", lang)
    return _maybe(f"data_status_{row['status']}", lang) or row["status"]


def history_table(rows: list[dict[str, Any]], lang: str) -> pd.DataFrame:
    """The import ledger as shown and downloaded: one row per import, newest first."""
    shown = {
        **{name: (lambda r, n=name: r[n]) for name in HISTORY_COLUMNS},
        "kind": lambda r: kind_label(r["kind"], lang),
        "status": lambda r: _status(r, lang),
    }
    return pd.DataFrame({t(f"data_hist_{name}", lang): [shown[name](r) for r in rows] for name in HISTORY_COLUMNS})


def history_section(lang: str) -> None:
    """The import ledger, its downloads, and undo with a confirm step."""
    con = loaders.connection()
    rows = importer.import_history(con)
    if not rows:
        st.info(t("data_history_empty", lang), icon=":material/history:")
        return
    table = history_table(rows, lang)
    moment = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")
    count = st.column_config.NumberColumn(format="localized")
    config = {t(f"data_hist_{name}", lang): count for name in HISTORY_COLUMNS if name.startswith("rows_")}
    config |= {t("data_hist_imported_at", lang): moment, t("data_hist_undone_at", lang): moment,
               t("data_hist_import_id", lang): st.column_config.NumberColumn(format="#%d")}
    undone = [t("data_hist_undone_at", lang), t("data_hist_undone_by", lang)]
    shown = table if any(r["status"] == "undone" for r in rows) else table.drop(columns=undone)
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)
    download_buttons(table, t("data_history_stem", lang), lang, "data_history")
    committed = {r["import_id"]: r for r in rows if r["status"] == "committed"}
    if not committed:
        return
    st.markdown(f"**{t('data_undo_title', lang)}**")
    row = st.columns([3, 1], vertical_alignment="bottom")
    choice = row[0].selectbox(
        t("data_undo_choose", lang), list(committed), key=f"data_undo_choice_{lang}",
        format_func=lambda i: t("data_undo_option", lang, id=fmt_int(i, lang), file=committed[i]["file_name"],
                                kind=kind_label(committed[i]["kind"], lang),
                                n=fmt_int(committed[i]["rows_imported"], lang)))
    row[1].button(t("data_undo", lang), icon=":material/undo:", key="data_undo_button", width="stretch",
                  on_click=_request, args=(_UNDO_PENDING, choice))
    pending = st.session_state.get(_UNDO_PENDING)
    if pending not in committed:
        return
    target = committed[pending]
    st.warning(t("data_undo_confirm_text", lang, id=fmt_int(pending, lang), file=target["file_name"],
                 n=fmt_int(target["rows_imported"], lang), kind=kind_label(target["kind"], lang)),
               icon=":material/warning:")
    yes, no = st.columns(2)
    yes.button(t("data_undo_yes", lang), type="primary", key="data_undo_yes", width="stretch",
               on_click=_request, args=("data_undo_go",))
    no.button(t("data_undo_cancel", lang), key="data_undo_cancel", width="stretch",
              on_click=_request, args=(_UNDO_PENDING, None))
    if not _requested("data_undo_go"):
        return
    st.session_state.pop(_UNDO_PENDING, None)
    try:
        removed = importer.undo_import(con, pending, undone_by=session.user_name())
    except CRMError as exc:
        st.error(_md(error_text(exc, lang)))
        return
    _flash("success", t("data_undo_done", lang, id=fmt_int(pending, lang), n=fmt_int(removed, lang)))
    st.rerun()


# --------------------------------------------------------------------------- checks

def check_title(name: str, lang: str) -> str:
    """A data-quality check's name for people (its file name when the catalogue has none)."""
    return _maybe(f"data_check_{name}", lang) or name


def checks_section(lang: str) -> None:
    """Every data-quality check: passed or how many rows it found, and the first of them."""
    with st.spinner(t("data_checks_running", lang)):
        results = audits.run_checks(loaders.connection())
    passed = sum(r.passed for r in results)
    st.caption(t("data_checks_summary", lang, passed=fmt_int(passed, lang), total=fmt_int(len(results), lang)))
    for r in sorted(results, key=lambda r: r.passed):  # findings first
        state = t("data_check_passed", lang) if r.passed else t("data_check_found", lang, n=fmt_int(r.count, lang))
        with st.expander(f"{check_title(r.name, lang)} — {state}",
                         icon=":material/check_circle:" if r.passed else ":material/warning:"):
            st.caption(_maybe(f"data_check_{r.name}_help", lang) or r.description)
            if r.passed:
                continue
            sample = r.sample.rename(columns=lambda c: column_label(c, lang))
            st.dataframe(sample, hide_index=True, width="stretch")
            if r.count > len(r.sample):
                st.caption(t("data_check_sample", lang, shown=fmt_int(len(r.sample), lang),
                             total=fmt_int(r.count, lang)))


# --------------------------------------------------------------------------- settings

def _setting_error(setting: settings.Setting, lang: str) -> str:
    """Why a value of `setting` was refused, with the values it takes."""
    name = t(f"data_setting_{setting.key}", lang)
    if setting.key == "churn_window_days":
        return t("data_setting_error_days", lang, setting=name, low=fmt_int(setting.low, lang),
                 high=fmt_int(setting.high, lang))
    if setting.kind in ("int", "float"):
        return t("data_setting_error_range", lang, setting=name, low=fmt_pct(setting.low, lang, 0),
                 high=fmt_pct(setting.high, lang, 0))
    if setting.kind == "choice":
        return t("data_setting_error_choice", lang, setting=name, choices=", ".join(setting.choices))
    return t("data_setting_error_cuts", lang)


def settings_section(lang: str, editable: bool = True) -> None:
    """The metric settings: a form, checked before anything is stored. Shown read-only
    (every field disabled, nothing stored) unless ``editable`` (the admin role)."""
    con = loaders.connection()
    current = settings.load(con)
    by_key = {s.key: s for s in settings.SETTINGS}
    st.caption(t("data_settings_caption", lang))
    if not editable:
        st.info(t("data_settings_admin_only", lang), icon=":material/lock:")
    off = not editable
    with st.form("data_settings_form"):
        first = st.columns(3)
        with first[0]:
            churn = st.number_input(t("data_setting_churn_window_days", lang), value=int(current["churn_window_days"]),
                                    step=1, help=t("data_setting_churn_window_days_help", lang), key="data_set_churn",
                                    disabled=off)
            st.caption(t("data_setting_churn_window_days_use", lang))
        with first[1]:
            discount = st.number_input(t("data_setting_discount_rate", lang),
                                       value=round(current["discount_rate"] * 100, 4), step=0.5, format="%.1f",
                                       help=t("data_setting_discount_rate_help", lang), key="data_set_discount",
                                       disabled=off)
            st.caption(t("data_setting_discount_rate_use", lang))
        with first[2]:
            currencies = by_key["currency"].choices
            currency = st.selectbox(t("data_setting_currency", lang), currencies,
                                    index=currencies.index(current["currency"]) if current["currency"] in currencies
                                    else 0, key="data_set_currency", disabled=off)
            st.caption(t("data_setting_currency_use", lang))
        st.markdown(t("data_setting_tier_cuts", lang))
        cuts = [cell.number_input(t(f"data_setting_tier_{tier}", lang), value=round(cut * 100, 4), step=0.5,
                                  format="%.2f", key=f"data_set_tier_{tier}", disabled=off)
                for cell, tier, cut in zip(st.columns(3), ("platinum", "gold", "iron"), current["tier_cuts"],
                                           strict=True)]
        st.caption(t("data_setting_tier_cuts_use", lang))
        st.form_submit_button(t("data_settings_save", lang), type="primary", icon=":material/save:",
                              on_click=_request, args=("data_settings_submitted",), disabled=off)
    if off:
        return
    if not _requested("data_settings_submitted"):
        return
    entered = {"churn_window_days": churn, "tier_cuts": [round(c / 100, 6) for c in cuts],
               "discount_rate": round(discount / 100, 6), "currency": currency}
    values = {key: value for key, value in entered.items() if value != current[key]}
    if not values:
        st.info(t("data_settings_unchanged", lang), icon=":material/info:")
        return
    refused = []
    for key, value in values.items():
        try:
            settings.check(key, value)
        except ValueError:
            refused.append(by_key[key])
    if refused:
        for setting in refused:
            st.error(_setting_error(setting, lang), icon=":material/error:")
        st.caption(t("data_settings_not_saved", lang))
        return
    settings.save(con, values)
    st.success(t("data_settings_saved", lang), icon=":material/check:")
