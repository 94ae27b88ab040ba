"""A file's bytes: its fingerprint (sha256 and line count) and its text encoding.

UTF-8, UTF-8 with BOM, UTF-16 with BOM and GB18030 (a superset of GBK, what Chinese Excel
writes) are recognised (:func:`detect_encoding`); anything else must be named by the user
(:func:`check_declared`). Before DuckDB's CSV reader, which checks every byte itself, a
quicker look at the file's start does (:func:`quick_encoding`).

Hashing and line counting of big files run beside DuckDB's scan
(:func:`fingerprint_later`): both release the GIL.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from analytics.errors import EncodingNotDetected

CHUNK = 16 * 1024 * 1024  # bytes read at a time
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16",
    "gb18030": "GB18030/GBK",
}

_BACKGROUND = ThreadPoolExecutor(max_workers=2, thread_name_prefix="crm-file")


def sha256(path: Path) -> str:
    """The sha256 of a file's bytes, in hex."""
    return fingerprint(path)[0]


def fingerprint(path: Path) -> tuple[str, int]:
    """(sha256, physical line count) of a file in one read; a last line without a line
    break counts."""
    digest, lines, last = hashlib.sha256(), 0, b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return digest.hexdigest(), lines + (last != b"\n")


def fingerprint_later(path: Path) -> Future[tuple[str, int]]:
    """:func:`fingerprint` computed on a background thread."""
    return _BACKGROUND.submit(fingerprint, path)


def _decode_error(path: Path, codec: str) -> tuple[int, int, int] | None:
    """Where ``path`` stops being valid ``codec``: (line, column, byte) or None."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    offset, lines, line_start = 0, 1, 0
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            final = not chunk
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                # exc.start is relative to the buffered input: earlier undecoded bytes
                # (at most a few) come first, so this position is close enough to point at.
                bad = max(exc.start - (len(exc.object) - len(chunk)), 0)
                head = chunk[:bad]
                line = lines + head.count(b"\n")
                nl = head.rfind(b"\n")
                col = bad - nl if nl >= 0 else offset + bad - line_start + 1
                return line, col, chunk[bad] if bad < len(chunk) else 0
            if final:
                return None
            lines += chunk.count(b"\n")
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                line_start = offset + nl + 1
            offset += len(chunk)


def _looks_chinese(path: Path, codec: str) -> bool:
    """Whether text decoded as ``codec`` reads like Chinese rather than mojibake.

    Real Chinese business text is almost all common characters (GB2312), with the Latin
    letters of Western names (ä, ö, ß, ...) beside them; bytes of another encoding decoded
    as GB18030 land mostly on rare characters.
    """
    counts: dict[str, int] = {}
    with path.open("r", encoding=codec, newline="") as fh:
        while text := fh.read(CHUNK // 4):
            for ch in re.findall(r"[^\x00-\x7f]", text):
                counts[ch] = counts.get(ch, 0) + 1
    total = sum(counts.values())
    if total == 0:
        return True
    common = 0
    for ch, n in counts.items():
        if ch in _COMMON_SYMBOLS or "\u00c0" <= ch <= "\u024f":  # symbols; Latin letters with marks
            common += n
            continue
        try:
            ch.encode("gb2312")
            common += n
        except UnicodeEncodeError:
            pass
    return common / total >= 0.9


# Symbols business files use that GB2312 lacks (GB18030 has them): ¥ above all.
_COMMON_SYMBOLS = frozenset("¥€£©®™°±×÷·–—‘’“”…•￥")


def detect_encoding(path: Path) -> str:
    """The codec of a text file: ``utf-8``, ``utf-8-sig``, ``utf-16`` or ``gb18030``.

    Raises
    ------
    EncodingNotDetected
        When the file is none of them (the message says where UTF-8 fails).
    """
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    where = _decode_error(path, "utf-8")
    if where is None:
        return "utf-8"
    if _decode_error(path, "gb18030") is None and _looks_chinese(path, "gb18030"):
        return "gb18030"
    line, col, byte = where
    raise EncodingNotDetected(
        f"{path.name}: cannot tell the text encoding. It is not UTF-8 (line {line}, "
        f"column {col}: byte 0x{byte:02X}) and does not read as Chinese GBK/GB18030. "
        "Say which encoding it uses (for example latin-1 or big5) and import it again.",
        line=line, column=col,
    )


def check_declared(path: Path, codec: str) -> str:
    """The codec named by the user, in Python's spelling, once the whole file decodes with it.

    Raises
    ------
    EncodingNotDetected
        For an unknown codec, or where the file stops being valid in it.
    """
    try:
        codec = codecs.lookup(codec).name
    except LookupError as exc:
        raise EncodingNotDetected(f"unknown encoding {codec!r}") from exc
    where = _decode_error(path, codec)
    if where is not None:
        line, col, byte = where
        raise EncodingNotDetected(
            f"{path.name} is not valid {codec}: line {line}, column {col} (byte 0x{byte:02X})",
            line=line, column=col,
        )
    return codec


def quick_encoding(path: Path) -> str:
    """The codec, cheaply: BOMs are certain; a file whose first megabyte is UTF-8 is taken
    as UTF-8 (DuckDB's reader checks every byte and reports a bad line, and the pipeline
    then reads the file again with :func:`detect_encoding`); anything else gets the full
    detection."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return detect_encoding(path)
    try:
        codecs.getincrementaldecoder("utf-8")(errors="strict").decode(head, final=False)
    except UnicodeDecodeError:
        return detect_encoding(path)
    return "utf-8"
