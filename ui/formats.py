"""Number, money, percent and date formatting in 中文 ("zh") and English ("en").

Every formatter prints a missing value (None, NaN, NaT) as an en dash, ``–``, and never
prints a sign on a value that rounds to zero.
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from ui.i18n import check_language

MISSING = "–"

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
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
# compact units, smallest first: Chinese groups digits by 万 (10^4), English by thousands
_COMPACT_UNITS = {
    "zh": ((1e4, "万"), (1e8, "亿"), (1e12, "万亿")),
    "en": ((1e3, "K"), (1e6, "M"), (1e9, "B"), (1e12, "T")),
}
_NONZERO_DIGIT = re.compile(r"[1-9]")


def _is_missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))


def _sign(x: float, shown: str, *, plus: bool = False) -> str:
    """The sign to print before `shown`, the rounded absolute value of `x`; none when it shows as zero."""
    if not _NONZERO_DIGIT.search(shown):
        return ""
    if x < 0:
        return "-"
    return "+" if plus else ""


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
    if _is_missing(n):
        return MISSING
    shown = f"{abs(n):,.0f}"
    return _sign(n, shown) + shown


def _sig3_decimals(scaled: float) -> int:
    """Decimals that show `scaled` (at least 1) to 3 significant digits without rounding away whole digits."""
    return 2 if scaled < 10 else 1 if scaled < 100 else 0


def _compact_number(a: float, lang: str) -> str | None:
    """`a` (not negative) in the largest unit not above it, or None below the smallest unit.

    3 significant digits, but whole digits are never rounded away ("1,235万", not "1,230万");
    trailing decimal zeros are dropped ("1亿", not "1.00亿"). A value that rounds up to the
    next unit shows in it (99,999,999 → "1亿").
    """
    units = _COMPACT_UNITS[lang]
    if a < units[0][0]:
        return None
    index = max(i for i, (size, _) in enumerate(units) if a >= size)
    size = units[index][0]
    if index + 1 < len(units) and round(a / size, _sig3_decimals(a / size)) * size >= units[index + 1][0]:
        index += 1
    size, suffix = units[index]
    scaled = a / size
    shown = f"{scaled:,.{_sig3_decimals(scaled)}f}"
    if "." in shown:
        shown = shown.rstrip("0").rstrip(".")
    return shown + suffix


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
    if _is_missing(x):
        return MISSING
    symbol = currency_symbol(currency)
    a = abs(x)
    shown = _compact_number(a, lang) if compact else None
    if shown is None:
        shown = f"{a:,.0f}" if round(a, 2) >= 1000 else f"{a:,.2f}"
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
    if _is_missing(p):
        return MISSING
    shown = f"{abs(p) * 100:,.{digits}f}%"
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
    if _is_missing(p):
        return MISSING
    shown = f"{abs(p) * 100:,.1f}%"
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
    if _is_missing(d):
        return MISSING
    shown = f"{abs(d) * 100:,.1f}"
    unit = "个百分点" if lang == "zh" else " pts"
    return _sign(d, shown, plus=True) + shown + unit


def fmt_date(d: date | None, lang: str) -> str:
    """A day: en ``"5 Jan 2024"``, zh ``"2024年1月5日"``.

    Parameters
    ----------
    d : datetime.date or None
        The day; a datetime or pandas Timestamp prints its date. None or NaT prints as ``"–"``.
    lang : str
        One of `LANGUAGES`.

    Returns
    -------
    str
        The formatted date.
    """
    check_language(lang)
    if _is_missing(d):
        return MISSING
    if lang == "zh":
        return f"{d.year}年{d.month}月{d.day}日"
    return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}"


def fmt_month(d: date | None, lang: str) -> str:
    """The month a day falls in: en ``"Jan 2024"``, zh ``"2024年1月"``.

    Parameters
    ----------
    d : datetime.date or None
        Any day of the month. None or NaT prints as ``"–"``.
    lang : str
        One of `LANGUAGES`.

    Returns
    -------
    str
        The formatted month.
    """
    check_language(lang)
    if _is_missing(d):
        return MISSING
    if lang == "zh":
        return f"{d.year}年{d.month}月"
    return f"{_MONTHS_EN[d.month - 1]} {d.year}"


def fmt_period(start: date, end: date, lang: str) -> str:
    """A range of whole months, the shared year printed once.

    Parameters
    ----------
    start, end : datetime.date
        Any day of the first and of the last month (both included).
    lang : str
        One of `LANGUAGES`.

    Returns
    -------
    str
        en ``"Jan–Dec 2024"`` or ``"Nov 2023–Feb 2024"``; zh ``"2024年1月–12月"`` or
        ``"2023年11月–2024年2月"``; a single month as `fmt_month` prints it.

    Raises
    ------
    ValueError
        When `end` falls in a month before `start`'s.
    """
    check_language(lang)
    if (end.year, end.month) < (start.year, start.month):
        raise ValueError(f"period ends ({end:%Y-%m}) before it starts ({start:%Y-%m})")
    if (end.year, end.month) == (start.year, start.month):
        return fmt_month(start, lang)
    if start.year != end.year:
        return f"{fmt_month(start, lang)}–{fmt_month(end, lang)}"
    if lang == "zh":
        return f"{start.year}年{start.month}月–{end.month}月"
    return f"{_MONTHS_EN[start.month - 1]}–{_MONTHS_EN[end.month - 1]} {end.year}"
