"""The files on the Data page: a :class:`Staged` entry per uploaded or inbox file, kept in
``st.session_state``.

An entry holds where the file's bytes are, the options the analyst chose (kind, encoding,
sheet, header row or none, mapping, day/month order, zero-padding of ids) and the
:class:`~analytics.ingest.pipeline.PreparedImport` made for those options at the current
data version. The preview is made again when either changes (an import elsewhere changes
what is "already present"); the old one is closed. Nothing is written before the analyst
confirms.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from analytics.errors import CRMError, MappingError, UnexpectedError, in_one_line
from analytics.ingest import intake, pipeline
from analytics.ingest.readers import EXCEL_FORMATS, TEXT_FORMATS, RawTable, peek
from analytics.ingest.report import ImportReport
from analytics.paths import work_dir
from ui.downloads import download_name

#: Option names of :func:`analytics.ingest.pipeline.prepare` the page lets the analyst set.
OPTIONS: tuple[str, ...] = ("kind", "encoding", "sheet", "header_row", "mapping_name", "date_order", "amended",
                           "pad_ids")

_ENTRIES = "data_entries"


_LOG = logging.getLogger(__name__)


def describe(exc: BaseException, step: str) -> str:
    """An error no rule foresaw, logged with its traceback (for whoever fixes it), as its type
    and first line (``InvalidInputException: CSV Parser ...``)."""
    _LOG.error("unexpected error while %s a file", step, exc_info=exc)
    return in_one_line(exc)


def unexpected(exc: BaseException, step: str) -> UnexpectedError:
    """:func:`describe`'d in one sentence of the pipeline's: the step (``reading`` or
    ``writing``), the error, and that nothing was written (the pipeline writes in one
    transaction)."""
    return UnexpectedError(f"an unexpected error while {step} the file ({describe(exc, step)}); nothing was written")


@dataclass(eq=False)
class Staged:
    """A file on the page, on its way into the database.

    ``options`` are keyword arguments of :func:`analytics.ingest.pipeline.prepare` (a
    ``header_row`` of 0: the file has no header row); ``overrides`` the mapping choices made by
    hand (``{canonical: header}``, ``""`` unmaps). ``revision`` goes up with every choice, so the
    widgets showing the pipeline's proposal are drawn anew. ``samples`` holds a few values of
    each column of a file without a header row (``{"column 1": [...], ...}``), shown beside
    those names.
    """

    key: str
    label: str
    path: Path
    options: dict[str, Any] = field(default_factory=lambda: dict.fromkeys(OPTIONS) | {"amended": "keep"})
    overrides: dict[str, str] = field(default_factory=dict)
    prepared: pipeline.PreparedImport | None = None
    made_for: tuple | None = None
    error: CRMError | None = None
    headers: list[str] | None = None
    samples: dict[str, list[str]] = field(default_factory=dict)
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
    def headerless(self) -> bool:
        """The file, as last read, has no header row: its columns are named by position."""
        return bool(self.samples)

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

    def ensure(self, con: Any, version: int, progress: pipeline.Progress) -> None:
        """Prepare the file for the current options and data version, unless done already."""
        wanted = (tuple(self.options.items()), tuple(self.overrides.items()), version)
        if self.result is not None or self.made_for == wanted:
            return
        self.release()
        self.error, self.headers, self.samples = None, None, {}
        try:
            self.prepared = pipeline.prepare(con, self.path, mapping=dict(self.overrides) or None,
                                             progress=progress, **self.options)
        except MappingError as exc:
            self.error = exc
            try:  # the file's columns, to map by hand
                self._columns(peek(con, self.path, encoding=self.options["encoding"], sheet=self.options["sheet"],
                                   header_row=self.options["header_row"]))
            except Exception as again:  # as below
                self.error = again if isinstance(again, CRMError) else unexpected(again, "reading")
        except CRMError as exc:
            self.error = exc
        except Exception as exc:  # a failure no rule foresaw is this file's error, not the page's
            self.error = unexpected(exc, "reading")
        else:
            self._columns(self.prepared.raw)
            self._release = weakref.finalize(self, pipeline.PreparedImport.release, self.prepared.cursor,
                                             self.prepared.stage_db)
        self.made_for = wanted

    def _columns(self, raw: RawTable) -> None:
        """Keep the file's column names, and the samples of a file without a header row."""
        self.headers = list(raw.headers)
        self.samples = dict(zip(raw.headers, raw.samples, strict=False)) if raw.headerless else {}

    def commit(self, user: str, progress: pipeline.Progress) -> ImportReport:
        """Write the prepared file; keep the final report, let go of the preview and the upload."""
        assert self.prepared is not None
        try:
            self.result = pipeline.commit_import(self.prepared, imported_by=user, progress=progress)
        except CRMError:
            raise
        except Exception as exc:  # the commit's transaction rolled back: say so, the page stays up
            raise unexpected(exc, "writing") from exc
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



def entries() -> dict[str, Staged]:
    """The session's entries by key (``upload:<file id>`` or ``inbox:<file key>``)."""
    return st.session_state.setdefault(_ENTRIES, {})


def keep_only(prefix: str, keep: Sequence[Staged]) -> None:
    """Drop (and close) the entries under `prefix` that are not in `keep`."""
    staged, wanted = entries(), {e.key for e in keep}
    for key in [k for k in staged if k.startswith(prefix) and k not in wanted]:
        staged.pop(key).close()
