"""Codecs ``<codec>_after_bom``: ``<codec>`` text after a UTF-8 byte-order mark that a tool
prepended (GBK behind a BOM is the common case), the mark skipped.

Importing this module registers them with :mod:`codecs`, so every reader (Python's, the
encoding checks) can name ``gb18030_after_bom``; errors are placed counting from the file's
first byte.
"""

from __future__ import annotations

import codecs

AFTER_BOM = "_after_bom"  # suffix of a codec that skips a leading UTF-8 BOM


class _SkipBom(codecs.IncrementalDecoder):
    """A decoder of ``base`` text that drops a leading UTF-8 BOM."""

    base = "gb18030"

    def __init__(self, errors: str = "strict") -> None:
        super().__init__(errors)
        self._inner = codecs.getincrementaldecoder(self.base)(errors)
        self._head: bytes | None = b""  # bytes held until the BOM is known; None once it is

    def decode(self, input: bytes, final: bool = False) -> str:
        if self._head is not None:
            head = self._head + bytes(input)
            if not final and len(head) < len(codecs.BOM_UTF8) and codecs.BOM_UTF8.startswith(head):
                self._head = head
                return ""
            self._head = None
            skipped = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
            try:
                return self._inner.decode(head[skipped:], final)
            except UnicodeDecodeError as exc:  # where, counted from the file's first byte
                raise UnicodeDecodeError(exc.encoding, head, exc.start + skipped, exc.end + skipped,
                                         exc.reason) from None
        return self._inner.decode(input, final)

    def reset(self) -> None:
        self._inner.reset()
        self._head = b""

    def getstate(self) -> tuple[bytes, int]:
        if self._head is not None:
            return self._head, 1
        pending, flag = self._inner.getstate()
        return pending, flag << 1

    def setstate(self, state: tuple[bytes, int]) -> None:
        pending, flag = state
        if flag & 1:
            self._head = pending
            self._inner.reset()
        else:
            self._head = None
            self._inner.setstate((pending, flag >> 1))


def _after_bom(name: str) -> codecs.CodecInfo | None:
    """Codec search: ``<codec>_after_bom``, ``<codec>`` text after a UTF-8 BOM (skipped)."""
    name = name.replace("-", "_")
    if not name.endswith(AFTER_BOM):
        return None
    try:
        base = codecs.lookup(name.removesuffix(AFTER_BOM))
    except LookupError:
        return None
    decoder = type("SkipBom", (_SkipBom,), {"base": base.name})

    def decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
        return decoder(errors).decode(data, final=True), len(data)

    return codecs.CodecInfo(base.encode, decode, name=base.name + AFTER_BOM,
                            incrementalencoder=base.incrementalencoder, incrementaldecoder=decoder)


codecs.register(_after_bom)
