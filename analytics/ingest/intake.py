"""Files on their way in: the inbox folder, listed safely.

The inbox (``data/inbox/``) takes files too big for the browser's upload limit; the app
lists them and imports them in place through the same pipeline as an upload. Only regular
files directly in the folder, with a name that does not start with a dot or ``~$`` (Excel's
lock files) and one of the :data:`UPLOAD_TYPES` extensions, are listed; a symbolic link
is listed only when it points at such a file inside the folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from analytics.paths import DATA_DIR

#: File extensions the app takes, by upload or from the inbox (no dot, lower case).
UPLOAD_TYPES: tuple[str, ...] = ("csv", "tsv", "txt", "xlsx", "parquet")

#: The folder the app imports large files from.
INBOX_DIR: Path = DATA_DIR / "inbox"

_HIDDEN_PREFIXES = (".", "~$")


@dataclass(frozen=True)
class InboxFile:
    """One file waiting in the inbox."""

    name: str
    path: Path
    size: int  # bytes
    modified: datetime

    @property
    def key(self) -> str:
        """Identifies this version of the file: a file replaced under the same name gets a new key."""
        return f"{self.name}:{self.size}:{self.modified.timestamp():.6f}"


def _inbox_file(folder: Path, entry: Path) -> InboxFile | None:
    """``entry`` as an inbox file, or None when it must not be listed."""
    if entry.name.startswith(_HIDDEN_PREFIXES) or entry.suffix.lower().lstrip(".") not in UPLOAD_TYPES:
        return None
    try:
        target = entry.resolve(strict=True)
    except (OSError, RuntimeError):  # a dangling or looping link
        return None
    if target.parent != folder or not target.is_file():
        return None
    stat = target.stat()
    return InboxFile(entry.name, target, stat.st_size, datetime.fromtimestamp(stat.st_mtime))


def list_inbox(folder: Path = INBOX_DIR) -> list[InboxFile]:
    """The files waiting in the inbox, newest first.

    Parameters
    ----------
    folder : pathlib.Path
        The inbox; default ``data/inbox/``. A missing folder is an empty inbox.

    Returns
    -------
    list[InboxFile]
        Regular files directly in `folder` (no subfolders, no hidden or lock files) with an
        extension in :data:`UPLOAD_TYPES`; a link only when it resolves to such a file in
        `folder` itself. Each with its name, resolved path, size in bytes and modification time.
    """
    try:
        root = folder.resolve(strict=True)
    except (OSError, RuntimeError):
        return []
    if not root.is_dir():
        return []
    found = [f for entry in root.iterdir() if (f := _inbox_file(root, entry)) is not None]
    return sorted(found, key=lambda f: (-f.modified.timestamp(), f.name))
