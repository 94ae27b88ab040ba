"""Dates in 中文 ("zh") and English ("en"), through Babel's ``format_date`` with explicit
CLDR patterns (a skeleton such as ``yMMM`` gives "202511月" for zh_CN, so none is used).

Every formatter prints a missing date (None, NaT) as an en dash, ``–``.
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_date

from ui.formats import MISSING, babel_locale, is_missing
from ui.i18n import check_language

#: Babel date patterns: a day, a month, a month without its year, a year.
_DATE_PATTERNS = {
    "zh": {"date": "y年M月d日", "month": "y年M月", "month_short": "LLL", "year": "y年"},
    "en": {"date": "d MMM y", "month": "MMM y", "month_short": "LLL", "year": "y"},
}


def _date(d: date, kind: str, lang: str) -> str:
    return format_date(d, _DATE_PATTERNS[lang][kind], locale=babel_locale(lang))


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
    if is_missing(d):
        return MISSING
    return _date(d, "date", lang)


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
    if is_missing(d):
        return MISSING
    return _date(d, "month", lang)


def fmt_month_short(d: date | None, lang: str) -> str:
    """The month a day falls in, without its year: en ``"Jan"``, zh ``"1月"``.

    Parameters
    ----------
    d : datetime.date or None
        Any day of the month. None or NaT prints as ``"–"``.
    lang : str
        One of `LANGUAGES`.

    Returns
    -------
    str
        The locale's abbreviated month name (CLDR stand-alone form).
    """
    check_language(lang)
    if is_missing(d):
        return MISSING
    return _date(d, "month_short", lang)


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
    if lang == "zh":  # the year leads in Chinese, so it stays on the first month
        return f"{fmt_month(start, lang)}–{fmt_month_short(end, lang)}"
    return f"{fmt_month_short(start, lang)}–{fmt_month(end, lang)}"


def fmt_year(d: date | None, lang: str) -> str:
    """The year a day falls in: en ``"2024"``, zh ``"2024年"``. None or NaT prints as ``"–"``."""
    check_language(lang)
    if is_missing(d):
        return MISSING
    return _date(d, "year", lang)
