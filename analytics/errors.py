"""The exceptions ``analytics`` raises: each message says what is wrong and what to do."""

from __future__ import annotations


class CRMError(Exception):
    """Base of every error a person is meant to read."""


class OptionError(CRMError, ValueError):
    """A page option that does not fit the rest (an as-of day outside the chosen period)."""


class FileReadError(CRMError):
    """The file cannot be read: missing, unsupported, damaged, empty."""


class EncodingNotDetected(FileReadError):
    """The text encoding is none of those recognised; the user must name it."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line = line
        self.column = column


class UnexpectedError(CRMError):
    """Something failed that no rule foresaw (a bug, or a reader's own error): said with its
    type and first line (:func:`in_one_line`), and nothing written."""


def in_one_line(exc: BaseException) -> str:
    """An exception as its type and the first line of its message, at most 300 characters of it
    (``InvalidInputException: CSV Parser ...``): what a person is told of an unforeseen error."""
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{type(exc).__name__}: {first}"


class MappingError(CRMError):
    """The file's columns cannot be mapped onto the kind: required ones missing, unknown names."""


class ConfirmationRequired(CRMError):
    """The import needs a decision first (an ambiguous day/month order)."""


class ImportNotFound(CRMError):
    """No import with that id, or it cannot be undone in its state."""


class AccessFileError(CRMError):
    """The access file (who may see what) is missing or wrong; nothing of it is used.

    ``path`` is the file, ``email`` the user whose entry is wrong (``None`` for the file as
    a whole), ``line`` and ``column`` the place of a TOML syntax error (1-based, when known).
    """

    def __init__(self, message: str, *, path: str | None = None, email: str | None = None,
                 line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.path = path
        self.email = email
        self.line = line
        self.column = column


class AccessDenied(CRMError):
    """The user is not in the access file, or their role may not open the page."""
