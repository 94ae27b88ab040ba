"""Number, money, percent and date formatting (ui/formats.py, through Babel), language by language."""

from __future__ import annotations

import decimal
import math
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from ui import formats
from ui.dates import fmt_date, fmt_month, fmt_month_short, fmt_period, fmt_year
from ui.formats import currency_symbol, fmt_delta_pct, fmt_delta_points, fmt_int, fmt_money, fmt_number, fmt_pct
from ui.i18n import LANGUAGES

# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1234, "1,234"),
        (1234567, "1,234,567"),
        (-1234567, "-1,234,567"),
        (1234.6, "1,235"),
        (-0.4, "0"),
        (np.int64(10000), "10,000"),
        (None, "–"),
        (math.nan, "–"),
        (pd.NA, "–"),
    ],
)
def test_fmt_int(lang, n, expected):
    assert fmt_int(n, lang) == expected


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (1234567.8, "¥1,234,568"),
        (1000, "¥1,000"),
        (999.994, "¥999.99"),
        (999.996, "¥1,000"),
        (12.5, "¥12.50"),
        (0, "¥0.00"),
        (-0.001, "¥0.00"),
        (-1234, "-¥1,234"),
        (-12.5, "-¥12.50"),
        (None, "–"),
        (math.nan, "–"),
    ],
)
def test_fmt_money(lang, x, expected):
    assert fmt_money(x, lang) == expected


@pytest.mark.parametrize(
    ("currency", "expected"),
    [
        ("CNY", "¥1,234"),
        ("USD", "$1,234"),
        ("usd", "$1,234"),
        ("EUR", "€1,234"),
        ("GBP", "£1,234"),
        ("HKD", "HK$1,234"),
        ("JPY", "JP¥1,234"),
        ("CHF", "CHF 1,234"),
    ],
)
def test_fmt_money_currency_symbols(currency, expected):
    assert fmt_money(1234, "en", currency) == expected
    assert fmt_money(-1234, "zh", currency) == "-" + expected


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0, "¥0.00"),
        (12.5, "¥12.50"),
        (9_999, "¥9,999"),
        (10_000, "¥1万"),
        (12_345, "¥1.23万"),
        (45_600, "¥4.56万"),
        (456_000, "¥45.6万"),
        (456_789, "¥45.7万"),
        (999_999, "¥100万"),
        (12_345_678, "¥1,235万"),
        (99_499_999, "¥9,950万"),
        (99_999_999, "¥1亿"),
        (100_000_000, "¥1亿"),
        (123_000_000, "¥1.23亿"),
        (123_456_789_012, "¥1,235亿"),
        (1.5e12, "¥1.5万亿"),
        (-456_000, "-¥45.6万"),
        (-9_999, "-¥9,999"),
        (None, "–"),
        (math.nan, "–"),
    ],
)
def test_fmt_money_compact_zh(x, expected):
    assert fmt_money(x, "zh", compact=True) == expected


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0, "¥0.00"),
        (999, "¥999.00"),
        (999.996, "¥1,000"),  # below 1,000, so not compact
        (1_000, "¥1K"),
        (1_234, "¥1.23K"),
        (45_600, "¥45.6K"),
        (999_499, "¥999K"),
        (999_999, "¥1M"),
        (1_000_000, "¥1M"),
        (1_234_567, "¥1.23M"),
        (2.5e9, "¥2.5B"),
        (3e12, "¥3T"),
        (-45_600, "-¥45.6K"),
        (None, "–"),
    ],
)
def test_fmt_money_compact_en(x, expected):
    assert fmt_money(x, "en", compact=True) == expected


def test_fmt_money_compact_other_currency():
    assert fmt_money(45_600, "en", "USD", compact=True) == "$45.6K"
    assert fmt_money(45_600, "zh", "CHF", compact=True) == "CHF 4.56万"


# --- percentages ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    ("p", "digits", "expected"),
    [
        (0.123, 1, "12.3%"),
        (0.123, 0, "12%"),
        (0.12345, 2, "12.35%"),
        (0, 1, "0.0%"),
        (1, 1, "100.0%"),
        (12.5, 1, "1,250.0%"),
        (-0.04, 1, "-4.0%"),
        (-0.0001, 1, "0.0%"),
        (None, 1, "–"),
        (math.nan, 1, "–"),
    ],
)
def test_fmt_pct(lang, p, digits, expected):
    assert fmt_pct(p, lang, digits) == expected


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.123, "+12.3%"),
        (-0.04, "-4.0%"),
        (0, "0.0%"),
        (0.0004, "0.0%"),
        (-0.0004, "0.0%"),
        (2, "+200.0%"),
        (None, "–"),
        (math.nan, "–"),
    ],
)
def test_fmt_delta_pct(lang, p, expected):
    assert fmt_delta_pct(p, lang) == expected


@pytest.mark.parametrize(
    ("d", "en", "zh"),
    [
        (0.021, "+2.1 pts", "+2.1个百分点"),
        (0.123 - 0.102, "+2.1 pts", "+2.1个百分点"),
        (-0.005, "-0.5 pts", "-0.5个百分点"),
        (0, "0.0 pts", "0.0个百分点"),
        (None, "–", "–"),
        (math.nan, "–", "–"),
    ],
)
def test_fmt_delta_points(d, en, zh):
    assert fmt_delta_points(d, "en") == en
    assert fmt_delta_points(d, "zh") == zh


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "en", "zh"),
    [
        (date(2024, 1, 5), "5 Jan 2024", "2024年1月5日"),
        (date(2023, 12, 31), "31 Dec 2023", "2023年12月31日"),
        (datetime(2024, 2, 29, 23, 59), "29 Feb 2024", "2024年2月29日"),
        (pd.Timestamp("2024-09-10"), "10 Sep 2024", "2024年9月10日"),
        (None, "–", "–"),
        (pd.NaT, "–", "–"),
    ],
)
def test_fmt_date(d, en, zh):
    assert fmt_date(d, "en") == en
    assert fmt_date(d, "zh") == zh


@pytest.mark.parametrize(
    ("d", "en", "zh"),
    [
        (date(2024, 1, 5), "Jan 2024", "2024年1月"),
        (date(2024, 11, 30), "Nov 2024", "2024年11月"),
        (pd.Timestamp("2025-06-01"), "Jun 2025", "2025年6月"),
        (None, "–", "–"),
        (pd.NaT, "–", "–"),
    ],
)
def test_fmt_month(d, en, zh):
    assert fmt_month(d, "en") == en
    assert fmt_month(d, "zh") == zh


@pytest.mark.parametrize(
    ("start", "end", "en", "zh"),
    [
        (date(2024, 1, 1), date(2024, 12, 31), "Jan–Dec 2024", "2024年1月–12月"),
        (date(2023, 11, 1), date(2024, 2, 29), "Nov 2023–Feb 2024", "2023年11月–2024年2月"),
        (date(2024, 3, 1), date(2024, 3, 31), "Mar 2024", "2024年3月"),
        (date(2024, 3, 15), date(2024, 3, 15), "Mar 2024", "2024年3月"),
        (date(2024, 1, 31), date(2024, 2, 1), "Jan–Feb 2024", "2024年1月–2月"),
        (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-06-30"), "Jan–Jun 2024", "2024年1月–6月"),
    ],
)
def test_fmt_period(start, end, en, zh):
    assert fmt_period(start, end, "en") == en
    assert fmt_period(start, end, "zh") == zh


def test_fmt_period_rejects_an_end_before_the_start():
    with pytest.raises(ValueError, match=r"period ends \(2023-12\) before it starts \(2024-01\)"):
        fmt_period(date(2024, 1, 1), date(2023, 12, 31), "en")


def test_formatting_ignores_the_threads_decimal_context():
    # nothing below depends on the thread's decimal context
    with decimal.localcontext(decimal.Context(prec=3, rounding=decimal.ROUND_UP)):
        assert fmt_money(1234567.8, "en") == "¥1,234,568"
        assert fmt_money(12_345_678, "zh", compact=True) == "¥1,235万"
        assert fmt_pct(0.12345, "en", 2) == "12.35%"
        assert fmt_int(2.5, "en") == "2"


# --- what is read from Babel -------------------------------------------------------------------


def test_compact_units_come_from_cldr():
    assert formats._compact_units("zh") == ((1e4, "万"), (1e8, "亿"), (1e12, "万亿"))
    assert formats._compact_units("en") == ((1e3, "K"), (1e6, "M"), (1e9, "B"), (1e12, "T"))


@pytest.mark.parametrize("month", range(1, 13))
def test_fmt_month_short(month):
    en = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")[month - 1]
    assert fmt_month_short(date(2024, month, 28), "en") == en
    assert fmt_month_short(date(2024, month, 1), "zh") == f"{month}月"
    assert fmt_month(date(2024, month, 1), "en") == f"{en} 2024"
    assert fmt_month(date(2024, month, 1), "zh") == f"2024年{month}月"
    assert fmt_date(date(2024, month, 9), "en") == f"9 {en} 2024"
    assert fmt_date(date(2024, month, 9), "zh") == f"2024年{month}月9日"


@pytest.mark.parametrize("d", [None, pd.NaT])
def test_fmt_month_short_missing(d):
    assert fmt_month_short(d, "en") == fmt_month_short(d, "zh") == "–"


def test_fmt_period_every_pair_of_months_in_a_year():
    en = [fmt_month_short(date(2024, m, 1), "en") for m in range(1, 13)]
    for first in range(1, 12):
        for last in range(first + 1, 13):
            start, end = date(2024, first, 1), date(2024, last, 1)
            assert fmt_period(start, end, "en") == f"{en[first - 1]}–{en[last - 1]} 2024"
            assert fmt_period(start, end, "zh") == f"2024年{first}月–{last}月"


def test_currency_symbols_are_the_products():
    assert {code: currency_symbol(code) for code in ("CNY", "USD", "EUR", "GBP", "HKD", "JPY", "TWD", "SGD")} == {
        "CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "HKD": "HK$", "JPY": "JP¥", "TWD": "NT$", "SGD": "S$"}
    assert currency_symbol("chf") == "CHF "
    assert fmt_money(12.5, "zh", "TWD") == "NT$12.50"
    assert fmt_money(-12.5, "en", "SGD") == "-S$12.50"


# --- rounding, compared with Python's own (the exact binary value, half-even) ---------------------

# values at and next to decimal ties, whose binary value falls on either side of the tie
_NEAR_TIES = [k + f for k in (0, 1, 2, 10, 999, 1234, 99_999) for f in (0.005, 0.015, 0.125, 0.135, 0.5, 0.994, 0.995)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rounding_of_counts_and_money_is_pythons(lang):
    for x in [*_NEAR_TIES, 0.5, 1.5, 2.5, 1e30, 2**53 + 1.0]:
        for v in (x, -x):
            assert fmt_int(v, lang) == ("-" if f"{x:.0f}" != "0" and v < 0 else "") + f"{x:,.0f}", v
            shown = f"{x:,.0f}" if round(x, 2) >= 1000 else f"{x:,.2f}"
            assert fmt_money(v, lang) == ("-" if v < 0 else "") + "¥" + shown, v


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("digits", [0, 1, 2])
def test_rounding_of_percentages_is_pythons(lang, digits):
    # every fraction in steps of 1e-5 (0.0015 * 100 is 0.15 in floating point, just below the tie)
    for n in range(0, 20_001):
        p = n / 100_000
        assert fmt_pct(p, lang, digits) == f"{p * 100:,.{digits}f}%", p
    assert fmt_pct(0.0015, lang) == "0.1%"
    assert fmt_pct(0.0025, lang) == "0.2%"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rounding_of_changes_is_pythons(lang):
    unit = "个百分点" if lang == "zh" else " pts"
    for n in range(-2_000, 2_001):
        d = n / 100_000
        shown = f"{abs(d) * 100:,.1f}"
        sign = "" if shown == "0.0" else "-" if d < 0 else "+"
        assert fmt_delta_pct(d, lang) == f"{sign}{shown}%", d
        assert fmt_delta_points(d, lang) == f"{sign}{shown}{unit}", d


@pytest.mark.parametrize(
    ("x", "zh", "en"),
    [
        (99_949, "¥9.99万", "¥99.9K"),
        (99_950, "¥9.99万", "¥100K"),  # 9.995 is just below the tie in binary; 99.95 rounds up to 100.0
        (99_951, "¥10万", "¥100K"),
        (999_949, "¥100万", "¥1M"),
        (9_995_000, "¥1,000万", "¥9.99M"),  # 999.5 rounds half-even to 1,000万, below 1亿
        (99_995_000, "¥1亿", "¥100M"),
        (999_499_999, "¥9.99亿", "¥999M"),
        (999_500_000, "¥9.99亿", "¥1B"),
        (9_999_999_999_999, "¥10万亿", "¥10T"),
        (1.23456e15, "¥1,235万亿", "¥1,235T"),  # the largest unit goes on without a bigger one
    ],
)
def test_compact_money_near_unit_boundaries(x, zh, en):
    assert fmt_money(x, "zh", compact=True) == zh
    assert fmt_money(x, "en", compact=True) == en


def test_compact_money_is_pythons_rounding_of_the_scaled_value():
    for size, unit in formats._compact_units("en"):
        for scaled in (1.005, 1.015, 2.675, 9.995, 10.05, 10.15, 99.95, 123.5, 124.5, 999.4):
            decimals = 2 if scaled < 10 else 1 if scaled < 100 else 0
            a = scaled * size
            shown = f"{a / size:,.{decimals}f}"
            shown = shown.rstrip("0").rstrip(".") if "." in shown else shown
            if float(shown.replace(",", "")) * size >= 1000 * size and size < 1e12:
                continue  # shows in the next unit
            assert fmt_money(a, "en", compact=True) == f"¥{shown}{unit}", a


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("x", "expected"), [(0, "0"), (2.5, "2.5"), (250, "250"), (1250, "1,250"), (0.125, "0.12"),
                                             (-2.5, "-2.5"), (-0.001, "0"), (None, "–"), (math.nan, "–")])
def test_fmt_number(lang, x, expected):
    assert fmt_number(x, lang) == expected


@pytest.mark.parametrize(("d", "en", "zh"), [(date(2024, 1, 5), "2024", "2024年"),
                                             (date(1999, 12, 31), "1999", "1999年"), (None, "–", "–")])
def test_fmt_year(d, en, zh):
    assert fmt_year(d, "en") == en
    assert fmt_year(d, "zh") == zh
