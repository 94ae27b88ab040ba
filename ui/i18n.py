"""Messages in 中文 ("zh") and English ("en"), and the language a browser asks for.

The messages live in ``ui/locales/<lang>.json``, flat ``{"key": "text"}`` catalogues with
``{name}`` placeholders; both catalogues hold the same keys. Numbers, money and dates are
formatted by :mod:`ui.formats`.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

LANGUAGES = ("zh", "en")

_LOCALES_DIR = Path(__file__).parent / "locales"
_LABELS = {"zh": "中文", "en": "English"}
def check_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")


@cache
def _catalogue(lang: str) -> dict[str, str]:
    """``<lang>.json`` merged with the per-page ``<page>.<lang>.json`` files; a key may be
    defined once only."""
    check_language(lang)
    merged: dict[str, str] = {}
    for path in sorted(_LOCALES_DIR.glob(f"*{lang}.json")):
        if path.name != f"{lang}.json" and not path.name.endswith(f".{lang}.json"):
            continue
        part = json.loads(path.read_text(encoding="utf-8"))
        twice = sorted(set(part) & set(merged))
        if twice:
            raise ValueError(f"{path.name} defines keys already defined: {', '.join(twice)}")
        merged.update(part)
    return merged


def t(key: str, lang: str, **values: object) -> str:
    """Look up a message and fill in its placeholders.

    Parameters
    ----------
    key : str
        The message key, e.g. ``"kpi_revenue"``.
    lang : str
        One of `LANGUAGES`.
    **values
        One value per ``{name}`` placeholder in the message; already formatted text is best
        (use the ``fmt_*`` functions).

    Returns
    -------
    str
        The message in that language.

    Raises
    ------
    KeyError
        When the catalogue has no such key, or a placeholder has no value.
    ValueError
        When `lang` is not one of `LANGUAGES`.
    """
    messages = _catalogue(lang)
    if key not in messages:
        raise KeyError(f"no message {key!r} in the {lang!r} catalogue")
    return messages[key].format(**values)


def language_label(lang: str) -> str:
    """The language's name in that language, for a language picker: "中文" or "English"."""
    check_language(lang)
    return _LABELS[lang]


def detect_language(locale: str | None) -> str:
    """Pick the interface language from a browser locale.

    Parameters
    ----------
    locale : str or None
        A BCP 47 locale such as ``"zh-CN"``, ``"zh-Hant-TW"`` or ``"en-US"`` (an underscore
        as separator or an Accept-Language list also works: the first entry decides).

    Returns
    -------
    str
        ``"zh"`` for any Chinese locale, and also when the browser gives none (most users are
        Chinese companies); ``"en"`` for every other language.
    """
    if locale is None or not locale.strip():
        return "zh"
    primary = re.split(r"[-_,;]", locale.strip(), maxsplit=1)[0]
    return "zh" if primary.lower() == "zh" else "en"


def md_literal(text: str) -> str:
    """``text`` shown literally inside Markdown: every character Markdown or HTML could
    take as markup is escaped, so a customer or region named ``**x**`` or
    ``<img src=x onerror=alert(1)>`` prints as those characters (data is never markup)."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~$:&])", r"\\\1", text)
