"""Where the project's files live: the project root, the data folder and its parts.

Only folders are named here; who reads and writes them is said where it happens
(:mod:`analytics.store.connection`, :mod:`analytics.ingest.intake`, :mod:`analytics.access`).
"""

from __future__ import annotations

from pathlib import Path

#: The checkout: ``app.py``, ``analytics/``, ``data/``, ...
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The database file, the inbox and the demo files (git-ignored contents).
DATA_DIR = PROJECT_ROOT / "data"
#: Files on their way in (uploads, transcoded copies of non-UTF-8 text files); private.
WORK_DIR = DATA_DIR / ".work"


def work_dir() -> Path:
    """The folder files on their way in are kept in (``data/.work/``, mode 0700), created
    when missing: the app's connection may read only there and in the data folders."""
    WORK_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    return WORK_DIR
