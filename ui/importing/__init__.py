"""The Data page's Streamlit side: files through the import pipeline, the import history
with undo, the data-quality checks and the metric settings.

- :mod:`~ui.importing.messages`: the pipeline's sentences and names in the page's language;
- :mod:`~ui.importing.state`: requests made by buttons, and a message kept across a rerun;
- :mod:`~ui.importing.staged`: a file on the page (:class:`Staged`) and the session's files;
- :mod:`~ui.importing.panel`: one file's choices, validation report and confirm, with
  :mod:`~ui.importing.mapping` (the column mapping editor) and :mod:`~ui.importing.report`
  (the report's facts, counts, notes and tables; what an import did);
- :mod:`~ui.importing.sources`: the uploader, the inbox folder and the demo data;
- :mod:`~ui.importing.history`, :mod:`~ui.importing.checks`, :mod:`~ui.importing.metric_settings`:
  the other tabs; :mod:`~ui.importing.read_only`: the page while the app serves built marts.
"""

from ui.importing.checks import checks_section
from ui.importing.history import history_section
from ui.importing.messages import localize
from ui.importing.metric_settings import settings_section
from ui.importing.read_only import served_notice
from ui.importing.sources import empty_state, inbox_section, upload_section
from ui.importing.staged import Staged
from ui.importing.state import show_flash

__all__ = ["Staged", "checks_section", "empty_state", "history_section", "inbox_section", "localize",
           "served_notice", "settings_section", "show_flash", "upload_section"]
