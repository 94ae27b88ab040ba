"""Where files come from: the uploader (with its size limit), the server's inbox folder,
and the demo data offered while the database is empty."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from analytics.ingest import demo, intake
from ui import loaders
from ui.dates import fmt_date
from ui.formats import fmt_int
from ui.i18n import md_literal, t
from ui.importing.messages import stage_label
from ui.importing.panel import file_panel
from ui.importing.staged import Staged, entries, keep_only
from ui.importing.state import flash, request, requested


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
    known = entries()
    staged = []
    oversized = {f.file_id for f in too_large(files)}
    for upload in files or []:
        if upload.file_id in oversized:
            continue
        key = f"upload:{upload.file_id}"
        if key not in known:
            known[key] = Staged.from_upload(upload)
        staged.append(known[key])
    keep_only("upload:", staged)
    return staged


def _megabytes(n_bytes: int) -> str:
    """A file size in MB as Streamlit counts its upload limit (MiB), so sizes and the limit compare."""
    mb = n_bytes / 1024 / 1024
    return f"{mb:,.1f}" if mb >= 0.1 else "<0.1"


def upload_section(lang: str) -> None:
    """The file uploader and a panel per uploaded file."""
    files = st.file_uploader(t("data_upload_label", lang), type=list(intake.UPLOAD_TYPES), accept_multiple_files=True,
                             key="data_upload", help=t("data_upload_help", lang))
    for upload in too_large(files):
        st.error(t("data_upload_too_large", lang, file=md_literal(upload.name), size=_megabytes(upload.size),
                   limit=fmt_int(upload_limit_mib(), lang), folder=md_literal(str(intake.INBOX_DIR))),
                 icon=":material/error:")
    version = loaders.data_version()
    for entry in sync_uploads(files):
        file_panel(entry, version, lang)


def inbox_section(lang: str) -> None:
    """Files waiting in the inbox folder, one at a time through the same panel as an upload."""
    st.caption(t("data_inbox_caption", lang, folder=str(intake.INBOX_DIR),
                 limit=fmt_int(upload_limit_mib(), lang)))
    found = {f.name: f for f in intake.list_inbox(intake.INBOX_DIR)}
    if not found:
        keep_only("inbox:", [])
        st.info(t("data_inbox_empty", lang), icon=":material/inbox:")
        return
    names, known = list(found), entries()
    shown = [e.label for key, e in known.items() if key.startswith("inbox:") and e.label in found]
    row = st.columns([3, 1], vertical_alignment="bottom")
    # keyed by language: the options' labels change with it (see Staged.speak)
    name = row[0].selectbox(t("data_inbox_choose", lang), names, index=names.index(shown[0]) if shown else None,
                            format_func=lambda n: t("data_inbox_file", lang, name=n, mb=_megabytes(found[n].size),
                                                    modified=fmt_date(found[n].modified, lang)),
                            placeholder=t("data_inbox_placeholder", lang), key=f"data_inbox_choice_{lang}")
    row[1].button(t("data_inbox_refresh", lang), icon=":material/refresh:", key="data_inbox_refresh", width="stretch")
    if name is None:
        keep_only("inbox:", [])
        return
    chosen = found[name]
    key = f"inbox:{chosen.key}"
    if key not in known:
        known[key] = Staged.from_inbox(chosen)
    entry = known[key]
    keep_only("inbox:", [entry])
    file_panel(entry, loaders.data_version(), lang)


def empty_state(lang: str) -> None:
    """An empty database: say so and offer the demo data (uploading works as always)."""
    if loaders.has_data():
        return
    with st.container(border=True):
        st.markdown(f"**{t('data_empty_title', lang)}**")
        st.write(t("data_empty_body", lang))
        st.button(t("load_demo", lang), type="primary", icon=":material/rocket_launch:", key="data_load_demo",
                  on_click=request, args=("data_demo_requested",))
        if not requested("data_demo_requested"):
            return
        bar = st.progress(0.0, text=t("loading_demo", lang))
        files = len(demo.FILE_NAMES)
        done = 0

        def progress(stage: str, fraction: float) -> None:
            nonlocal done
            bar.progress(min((done + fraction) / files, 1.0),
                         text=t("data_demo_progress", lang, file=fmt_int(min(done + 1, files), lang),
                                files=fmt_int(files, lang), stage=stage_label(stage, lang)))
            if stage == "done":
                done += 1

        reports = demo.load_demo(loaders.connection(), progress=progress)
        flash("success", t("data_demo_loaded", lang, rows=fmt_int(sum(r.rows_imported for r in reports), lang),
                           files=fmt_int(len(reports), lang)))
        st.rerun()
