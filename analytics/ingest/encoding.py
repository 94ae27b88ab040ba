"""A file's bytes: its fingerprint (sha256 and line count), its text encoding, and what its
first bytes say it is.

UTF-8, UTF-8 with BOM, UTF-16 with BOM and GB18030 (a superset of GBK, what Chinese Excel
writes) are recognised (:func:`detect_encoding`), GB18030 only when the text reads as Chinese
(:func:`chinese_verdict`: Korean EUC-KR and Japanese EUC-JP bytes decode as GB18030 too), and
also after a UTF-8 BOM that a tool prepended to GBK text (the codec ``gb18030_after_bom``:
every ``<codec>_after_bom`` of :mod:`.bom_codecs` skips such a mark). Anything else must be named by the user
(:func:`check_declared`). Before DuckDB's CSV reader, which checks every byte itself, a
quicker look at the file's start does (:func:`quick_encoding`). A workbook or Parquet file
whose name says ``.csv`` is recognised by its signature (:func:`true_format`).

Hashing and line counting of big files run beside DuckDB's scan
(:func:`fingerprint_later`): both release the GIL.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import hashlib
import math
import re
import unicodedata
import zipfile
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from analytics.errors import EncodingNotDetected, FileReadError
from analytics.ingest.bom_codecs import AFTER_BOM

CHUNK = 16 * 1024 * 1024  # bytes read at a time
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16",
    "gb18030": "GB18030/GBK",
    "gb18030" + AFTER_BOM: "GB18030/GBK after a UTF-8 BOM",
    "gbk": "GBK",
    "gbk" + AFTER_BOM: "GBK after a UTF-8 BOM",
    "big5": "Big5",
    "euc_kr": "EUC-KR",
    "euc_jp": "EUC-JP",
    "shift_jis": "Shift-JIS",
    "iso8859-1": "Latin-1",
    "latin-1": "Latin-1",
}
#: The note of a file read after a UTF-8 BOM that its encoding does not use.
NOTE_BOM = "the file starts with a UTF-8 byte-order mark but its text is {encoding}; the mark was skipped"



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


# --------------------------------------------------------------------------- is it Chinese?

#: Encodings never guessed (they must be named), whose bytes can pass for GB18030.
ALTERNATIVES = {"euc_kr": "Korean", "euc_jp": "Japanese"}
# Symbols business files use that GB2312 lacks (GB18030 has them): ¥ above all.
_COMMON_SYMBOLS = frozenset("¥€£©®™°±×÷·–—‘’“”…•￥")
# How much more likely the other reading must be before GB18030 is refused: a Chinese
# product's files are Chinese unless the text says otherwise (e^3 = 20 to 1).
_MARGIN = 3.0
# Ranks of a language's characters, by how often they occur, and the share of the different
# characters of a typical file that fall in each band (the remainder: all other characters).
_ZH_BANDS = ((300, 0.30), (1000, 0.32), (2000, 0.24), (3000, 0.10))
_KJ_BANDS = ((100, 0.30), (300, 0.30), (1000, 0.30))
# How many other characters each script has, that share the remainder.
_OTHERS = {"gb18030": 6763, "euc_kr": 2350, "euc_jp": 6355}


@functools.cache
def _ranked() -> dict[str, dict[str, int]]:
    """Each language's common characters (``cjk_common.txt``) and their rank, 0 the most common."""
    ranked = {}
    for line in (Path(__file__).with_name("cjk_common.txt")).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            language, chars = line.split(" ", 1)
            ranked[language] = {ch: i for i, ch in enumerate(chars)}
    return ranked


@functools.cache
def _common_chinese() -> frozenset[str]:
    """Characters ordinary Chinese text is made of: GB2312 (the 6,763 hanzi of mainland
    text), Big5 level 1 (5,401 common traditional hanzi), CJK and full-width punctuation, and
    the symbols of :data:`_COMMON_SYMBOLS`."""
    chars: set[str] = set(_COMMON_SYMBOLS)
    for codec, leads, trails in (("gb2312", range(0xA1, 0xF8), range(0xA1, 0xFF)),
                                 ("big5", range(0xA4, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)])):
        for lead in leads:
            for trail in trails:
                with contextlib.suppress(UnicodeDecodeError):
                    chars.add(bytes((lead, trail)).decode(codec))
    return frozenset(chars)


def _log_share(ch: str, language: str) -> float:
    """log P(a file of ``language`` holds ``ch``), from the character's band of rank."""
    rank = _ranked()[{"gb18030": "zh", "euc_kr": "ko", "euc_jp": "ja"}[language]].get(ch)
    bands = _ZH_BANDS if language == "gb18030" else _KJ_BANDS
    low = 0
    for high, share in bands:
        if rank is not None and rank < high:
            return math.log(share / (high - low))
        low = high
    return math.log((1 - sum(share for _, share in bands)) / _OTHERS[language])


def _letters(text: str) -> str:
    """The kana, hanzi and Hangul of ``text`` (no punctuation, no full-width forms): what
    tells the languages apart."""
    return "".join(ch for ch in text if ch >= "\u3040" and unicodedata.category(ch)[0] == "L"
                   and not "\uff00" <= ch <= "\uffef")


def _readings(path: Path, codecs_: tuple[str, ...]) -> dict[str, Counter[str]]:
    """The non-ASCII characters of ``path`` read in each codec that decodes all of it, counted."""
    decoders = {c: codecs.getincrementaldecoder(c)(errors="strict") for c in codecs_}
    counts: dict[str, Counter[str]] = {c: Counter() for c in codecs_}
    with path.open("rb") as fh:
        while decoders:
            chunk = fh.read(CHUNK)
            for codec, decoder in list(decoders.items()):
                try:
                    text = decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError:
                    del decoders[codec], counts[codec]
                    continue
                counts[codec].update(_NOT_ASCII.sub("", text))
            if not chunk:
                break
    return counts


_NOT_ASCII = re.compile(r"[\x00-\x7f]+")


def chinese_verdict(path: Path, codec: str = "gb18030") -> str | None:
    """Why ``path``, which decodes as ``codec`` (GB18030), is not Chinese text; None when it is.

    Byte ranges cannot tell: Korean EUC-KR and Japanese EUC-JP use the same double-byte range
    as GB2312, and their Hangul and kanji decode as common Chinese characters (서울 → 措备,
    東京 → 澎叠). Two looks at the characters can:

    1. Ordinary Chinese text is made of :func:`_common_chinese` characters and Latin letters
       (at least 90 % of its non-ASCII characters); Shift-JIS, Big5 or Latin-1 bytes read as
       GB18030 are mostly rare characters.
    2. Each of the file's different letters is weighed by how common it is in Chinese and, for
       every encoding of :data:`ALTERNATIVES` that decodes the whole file, in that language
       (bands of rank in ``cjk_common.txt``): when the other language explains the letters
       e^3 times better, the file is not read as Chinese. Japanese kana count as such in both.
       A handful of letters can be both (서울 is also two ordinary hanzi): a file is refused
       only on clear evidence, so a file with very few non-ASCII letters can still pass.
    """
    suffix = AFTER_BOM if codec.endswith(AFTER_BOM) else ""  # the others skip the BOM too
    readings = {name.removesuffix(suffix): counts
                for name, counts in _readings(path, (codec, *(other + suffix for other in ALTERNATIVES))).items()}
    counts = readings.pop(codec.removesuffix(suffix))
    total = sum(counts.values())
    rare = {ch: n for ch, n in counts.items()
            if ch not in _common_chinese() and not "\u00c0" <= ch <= "\u024f"}  # Latin letters with marks
    if total and sum(rare.values()) / total > 0.1:
        sample = "".join(sorted(rare, key=rare.__getitem__, reverse=True)[:8])
        return (f"the text would not be Chinese: {sum(rare.values())} of its {total} non-ASCII characters "
                f"are rare or not Chinese, e.g. {sample}")
    letters = _letters("".join(counts))
    chinese = sum(_log_share(ch, "gb18030") for ch in letters)
    for other, language in ALTERNATIVES.items():
        if other not in readings:
            continue
        theirs = _letters("".join(readings[other]))
        if sum(_log_share(ch, other) for ch in theirs) - chinese > _MARGIN:
            common = sum(1 for ch in letters if _ranked()["zh"].get(ch, 3000) < 1000)
            zh_sample = "".join(sorted(letters, key=lambda ch: -counts[ch])[:8])
            their_sample = "".join(sorted(theirs, key=lambda ch: -readings[other][ch])[:8])
            return (f"the text would be uncommon Chinese: only {common} of its {len(letters)} different "
                    f"characters are among the 1,000 most common, e.g. {zh_sample}; "
                    f"it reads as {language} in {ENCODING_LABELS[other]}, e.g. {their_sample}")
    return None


_OTHERS_NAMED = "EUC-KR, EUC-JP, Shift-JIS, Big5, Latin-1 and others"


def detect_encoding(path: Path) -> str:
    """The codec of a text file: ``utf-8``, ``utf-8-sig``, ``utf-16``, ``gb18030`` or
    ``gb18030_after_bom`` (GB18030 text after a UTF-8 BOM that a tool prepended).

    Raises
    ------
    EncodingNotDetected
        When the file is none of them: the message names each encoding considered and why it
        was refused, and how to name the file's encoding.
    """
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    bom = head.startswith(codecs.BOM_UTF8)
    where = _decode_error(path, "utf-8-sig" if bom else "utf-8")
    if where is None:
        return "utf-8-sig" if bom else "utf-8"
    gb = "gb18030" + AFTER_BOM if bom else "gb18030"
    gb_where = _decode_error(path, gb)
    if gb_where is None:
        why = chinese_verdict(path, gb)
        if why is None:
            return gb
    else:
        why = "byte 0x{2:02X} on line {0}, column {1} is not GB18030".format(*gb_where)
    line, col, byte = where
    marked = " after its UTF-8 byte-order mark" if bom else ""
    raise EncodingNotDetected(
        f"{path.name}: cannot tell the text encoding. Considered: UTF-8{marked} (byte 0x{byte:02X} on line "
        f"{line}, column {col} is not UTF-8); GB18030/GBK ({why}). {_OTHERS_NAMED} are not guessed: "
        "name the file's encoding with --encoding on the command line or under “Text encoding” in the app.",
        line=line, column=col,
    )


def check_declared(path: Path, codec: str) -> str:
    """The codec named by the user, in Python's spelling, once the whole file decodes with it.

    A file that starts with a UTF-8 BOM but is named another encoding (a tool prepended the
    mark to GBK text) is read in that encoding after the mark: ``<codec>_after_bom``.

    Raises
    ------
    EncodingNotDetected
        For an unknown codec, or where the file stops being valid in it.
    """
    try:
        codec = codecs.lookup(codec).name
    except LookupError as exc:
        raise EncodingNotDetected(f"unknown encoding {codec!r}") from exc
    with path.open("rb") as fh:
        head = fh.read(len(codecs.BOM_UTF8))
    if head == codecs.BOM_UTF8 and not codec.startswith("utf") and not codec.endswith(AFTER_BOM):
        codec += AFTER_BOM  # (GB18030 too: its own code for U+FEFF is another)
    where = _decode_error(path, codec)
    if where is not None:
        line, col, byte = where
        raise EncodingNotDetected(
            f"{path.name} is not valid {codec}: line {line}, column {col} (byte 0x{byte:02X})",
            line=line, column=col,
        )
    return codec


def bom_note(codec: str) -> str | None:
    """The report's note for a codec that skipped a UTF-8 BOM (None for any other)."""
    if not codec.endswith(AFTER_BOM):
        return None
    base = codec.removesuffix(AFTER_BOM)
    return NOTE_BOM.format(encoding=ENCODING_LABELS.get(base, base))


def quick_encoding(path: Path) -> str:
    """The codec, cheaply: BOMs are certain; a file whose first megabyte is UTF-8 is taken
    as UTF-8 (DuckDB's reader checks every byte and reports a bad line, and the pipeline
    then reads the file again with :func:`detect_encoding`); anything else gets the full
    detection."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return detect_encoding(path)
    try:
        codecs.getincrementaldecoder("utf-8-sig")(errors="strict").decode(head, final=False)
    except UnicodeDecodeError:
        return detect_encoding(path)
    return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"


# --------------------------------------------------------------------------- what is it really?

#: The formats a file's first bytes can prove: (signature, format, what it is for people).
_SIGNATURES = ((b"PK\x03\x04", "xlsx", "an Excel workbook (.xlsx)"),
               (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls", "an old Excel workbook (.xls)"),
               (b"PAR1", "parquet", "a Parquet file"))
#: The note of a file read as what its bytes say rather than its name.
NOTE_FORMAT = "the file's name says {suffix} but it is {what}; it was read as one"


def true_format(path: Path, fmt: str) -> tuple[str, str | None]:
    """The format of a file named as text (``csv``/``tsv``) whose bytes say otherwise, and the
    report's note: an Excel workbook or Parquet file renamed ``.csv`` is read as what it is.

    Returns
    -------
    tuple of (str, str or None)
        The format to read it as and the note; ``(fmt, None)`` for a file that is what its
        name says (or a zip file that is no workbook: read as text, and refused as such).

    Raises
    ------
    FileReadError
        For an old ``.xls`` workbook, which is not read (save it as ``.xlsx``).
    """
    with path.open("rb") as fh:
        head = fh.read(8)
    for signature, real, what in _SIGNATURES:
        if not head.startswith(signature):
            continue
        if real == "xls":
            raise FileReadError(f"{path.name}: the file's name says {path.suffix} but it is {what}, which is "
                                "not read; open it in Excel and save it as .xlsx (or CSV)")
        if real == "xlsx":
            try:
                with zipfile.ZipFile(path) as zf:
                    if "xl/workbook.xml" not in zf.namelist():
                        return fmt, None
            except zipfile.BadZipFile:
                return fmt, None
        return real, NOTE_FORMAT.format(suffix=path.suffix, what=what)
    return fmt, None
