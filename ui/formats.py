"""Number, money and percent formatting in 中文 ("zh") and English ("en") (dates: :mod:`ui.dates`).

Every formatter prints a missing value (None, NaN, pd.NA, NaT) as an en dash, ``–``, and
never prints a sign on a value that rounds to zero.

The formatting goes through Babel (CLDR data), locale ``zh_CN`` for zh and ``en`` for en:
numbers through ``babel.numbers.format_decimal`` and ``format_percent`` with explicit
patterns, and the compact units (万/亿/万亿; K/M/B/T) read from the locale's short compact decimal formats.

Rounding is half-even on the exact binary value of the float given, as Python's own
``format`` does (``0.12345`` → ``"12.35%"``): Babel is handed ``Decimal(float(x))``, not the
float's shortest repr, in a decimal context wide enough to hold any float exactly.

The currency symbols are product data, not formatting: the product prints ¥ for CNY in both
languages (its users are Chinese companies), and no single CLDR locale gives the symbols
chosen (en has CN¥ for CNY and ¥ for JPY; zh_CN has US$ for USD), so `_SYMBOLS` lists them.
"""

from __future__ import annotations

import decimal
import re
from functools import cache

import pandas as pd
from babel import Locale
from babel.numbers import format_decimal, format_percent

from ui.i18n import check_language

MISSING = "–"

#: The product's symbol per ISO 4217 code (see the module docstring); other codes print as
#: the code and a space.
_SYMBOLS = {
    "CNY": "¥",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "HKD": "HK$",
    "JPY": "JP¥",
    "TWD": "NT$",
    "SGD": "S$",
}
_LOCALES = {"zh": "zh_CN", "en": "en"}
#: Holds any float's decimal expansion exactly (at most 767 significant digits), so Babel's
#: normalisation and quantisation round once, half-even, whatever the thread's context is.
_EXACT = decimal.Context(prec=800, rounding=decimal.ROUND_HALF_EVEN)
_NONZERO_DIGIT = re.compile(r"[1-9]")


def is_missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))


@cache
def babel_locale(lang: str) -> Locale:
    return Locale.parse(_LOCALES[lang])


def _sign(x: float, shown: str, *, plus: bool = False) -> str:
    """The sign to print before `shown`, the rounded absolute value of `x`; none when it shows as zero."""
    if not _NONZERO_DIGIT.search(shown):
        return ""
    if x < 0:
        return "-"
    return "+" if plus else ""


def _number_pattern(decimals: int, *, optional: bool = False) -> str:
    """``"#,##0"`` with `decimals` fraction digits, shown always (``0``) or only when not zero (``#``)."""
    return "#,##0" + ("." + ("#" if optional else "0") * decimals if decimals else "")


def _decimal(a: float, decimals: int, lang: str, *, optional: bool = False) -> str:
    """`a` (not negative) grouped by thousands, rounded to `decimals` by Babel."""
    with decimal.localcontext(_EXACT):
        return format_decimal(decimal.Decimal(float(a)), _number_pattern(decimals, optional=optional),
                              locale=babel_locale(lang))


def _percent(a: float, decimals: int, lang: str) -> str:
    """The fraction `a` (not negative) as a percentage, rounded to `decimals` by Babel.

    The percentage is computed as ``a * 100`` in floating point, as it always was, and Babel
    gets that float's exact value (scaled back by 10**-2 without rounding): Babel's own
    exact ×100 of ``a`` would round some values differently (0.0015 → "0.2%", not "0.1%").
    """
    with decimal.localcontext(_EXACT):
        value = decimal.Decimal(float(a) * 100).scaleb(-2)
        return format_percent(value, _number_pattern(decimals) + "%", locale=babel_locale(lang))


def fmt_int(n: float | None, lang: str) -> str:
    """A count with thousands separators, e.g. ``"1,234,567"`` (both languages).

    Parameters
    ----------
    n : float or None
        The number; rounded to a whole number. None or NaN prints as ``"–"``.
    lang : str
        One of `LANGUAGES`.

    Returns
    -------
    str
        The formatted count.
    """
    check_language(lang)
    if is_missing(n):
        return MISSING
    shown = _decimal(abs(n), 0, lang)
    return _sign(n, shown) + shown


@cache
def _compact_units(lang: str) -> tuple[tuple[int, str], ...]:
    """(size, unit) pairs, smallest first, from the locale's CLDR short compact decimal formats.

    CLDR gives a pattern per magnitude, e.g. ``{"10000": "0万", "100000": "00万", ...}``;
    a unit's size is the magnitude divided by 10**(number of zeros - 1) (``"00万"`` at
    100,000 is 万 = 10,000). Magnitudes printed without a unit (zh ``"0"`` at 1,000) are
    skipped.
    """
    units: dict[int, str] = {}
    for magnitude, pattern in babel_locale(lang).compact_decimal_formats["short"]["other"].items():
        text = pattern.pattern
        unit = text.replace("0", "").replace("'", "").strip()
        if unit:
            units.setdefault(int(magnitude) // 10 ** (text.count("0") - 1), unit)
    return tuple(sorted(units.items()))


def _sig3_decimals(scaled: float) -> int:
    """Decimals that show `scaled` (at least 1) to 3 significant digits without rounding away whole digits."""
    return 2 if scaled < 10 else 1 if scaled < 100 else 0


def _compact_number(a: float, lang: str) -> str | None:
    """`a` (not negative) in the largest unit not above it, or None below the smallest unit.

    3 significant digits, but whole digits are never rounded away ("1,235万", not "1,230万");
    trailing decimal zeros are dropped ("1亿", not "1.00亿"). A value that rounds up to the
    next unit shows in it (99,999,999 → "1亿").
    """
    units = _compact_units(lang)
    if a < units[0][0]:
        return None
    index = max(i for i, (size, _) in enumerate(units) if a >= size)
    size = units[index][0]
    if index + 1 < len(units) and round(a / size, _sig3_decimals(a / size)) * size >= units[index + 1][0]:
        index += 1
    size, unit = units[index]
    scaled = a / size
    return _decimal(scaled, _sig3_decimals(scaled), lang, optional=True) + unit


def currency_symbol(currency: str) -> str:
    """The symbol amounts in ``currency`` are printed with (``"¥"``; ``"CHF "`` for a code
    without one)."""
    code = currency.upper()
    return _SYMBOLS.get(code, f"{code} ")


def fmt_money(x: float | None, lang: str, currency: str = "CNY", compact: bool = False) -> str:
    """An amount of money with its currency symbol.

    Parameters
    ----------
    x : float or None
        The amount. None or NaN prints as ``"–"``.
    lang : str
        One of `LANGUAGES`.
    currency : str
        ISO 4217 code. CNY ¥, USD $, EUR €, GBP £, HKD HK$, JPY JP¥, TWD NT$ and SGD S$ print
        their symbol; any other code prints as the code and a space (``"CHF 12.50"``).
    compact : bool
        For KPI tiles: 3 significant digits in 万/亿/万亿 for zh (``"¥45.6万"``, ``"¥1.23亿"``;
        below 10,000 as not compact) and K/M/B/T for en (``"¥45.6K"``, ``"¥1.23M"``; below 1,000
        as not compact).

    Returns
    -------
    str
        Not compact: whole units from 1,000 up (``"¥1,234,568"``), 2 decimals below
        (``"¥12.50"``); a negative amount as ``"-¥1,234"``.
    """
    check_language(lang)
    if is_missing(x):
        return MISSING
    symbol = currency_symbol(currency)
    a = abs(x)
    shown = _compact_number(a, lang) if compact else None
    if shown is None:
        shown = _decimal(a, 0 if round(a, 2) >= 1000 else 2, lang)
    return _sign(x, shown) + symbol + shown


def fmt_pct(p: float | None, lang: str, digits: int = 1) -> str:
    """A fraction as a percentage: 0.123 → ``"12.3%"`` (both languages).

    Parameters
    ----------
    p : float or None
        The fraction (1.0 is 100%). None or NaN prints as ``"–"``.
    lang : str
        One of `LANGUAGES`.
    digits : int
        Decimals after the percentage's point.

    Returns
    -------
    str
        The formatted percentage; negative as ``"-4.0%"``.
    """
    check_language(lang)
    if is_missing(p):
        return MISSING
    shown = _percent(abs(p), digits, lang)
    return _sign(p, shown) + shown


def fmt_delta_pct(p: float | None, lang: str) -> str:
    """A relative change, always signed: 0.123 → ``"+12.3%"``, -0.04 → ``"-4.0%"``.

    Parameters
    ----------
    p : float or None
        The change as a fraction of the comparison value. None or NaN (no comparison data,
        or a comparison value of zero) prints as ``"–"``.
    lang : str
        One of `LANGUAGES`.

    Returns
    -------
    str
        The signed percentage to 1 decimal; a change that rounds to zero as ``"0.0%"``.
    """
    check_language(lang)
    if is_missing(p):
        return MISSING
    shown = _percent(abs(p), 1, lang)
    return _sign(p, shown, plus=True) + shown


def fmt_delta_points(d: float | None, lang: str) -> str:
    """A change of a rate in percentage points: en ``"+2.1 pts"``, zh ``"+2.1个百分点"``.

    Parameters
    ----------
    d : float or None
        The difference of two rates given as fractions (0.123 - 0.102 = 0.021 → 2.1 points).
        None or NaN prints as ``"–"``.
    lang : str
        One of `LANGUAGES`.

    Returns
    -------
    str
        The signed number of points to 1 decimal; a change that rounds to zero unsigned.
    """
    check_language(lang)
    if is_missing(d):
        return MISSING
    shown = _decimal(abs(d) * 100, 1, lang)
    unit = "个百分点" if lang == "zh" else " pts"
    return _sign(d, shown, plus=True) + shown + unit


def fmt_number(x: float | None, lang: str, decimals: int = 2) -> str:
    """A number grouped by thousands with at most ``decimals`` decimals, trailing zeros
    dropped: ``2.5``, ``250``, ``1,250`` (axis labels). None or NaN prints as ``"–"``."""
    check_language(lang)
    if is_missing(x):
        return MISSING
    shown = _decimal(abs(x), decimals, lang, optional=True)
    return _sign(x, shown) + shown
