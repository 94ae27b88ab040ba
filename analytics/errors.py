"""The exceptions ``analytics`` raises: each message says what is wrong and what to do."""

from __future__ import annotations


class CRMError(Exception):
    """Base of every error a person is meant to read."""


class FileReadError(CRMError):
    """The file cannot be read: missing, unsupported, damaged, empty."""


class EncodingNotDetected(FileReadError):
    """The text encoding is none of those recognised; the user must name it."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line = line
        self.column = column


class MappingError(CRMError):
    """The file's columns cannot be mapped onto the kind: required ones missing, unknown names."""


class ConfirmationRequired(CRMError):
    """The import needs a decision first (an ambiguous day/month order)."""


class ImportNotFound(CRMError):
    """No import with that id, or it cannot be undone in its state."""
