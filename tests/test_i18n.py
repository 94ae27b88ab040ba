"""Message catalogues and number, money, percent and date formatting (ui/i18n.py), language by language."""

from __future__ import annotations

import json
import math
import re
import string
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ui.formats import fmt_date, fmt_delta_pct, fmt_delta_points, fmt_int, fmt_money, fmt_month, fmt_pct, fmt_period
from ui.i18n import LANGUAGES, detect_language, language_label, t

LOCALES = Path(__file__).resolve().parents[1] / "ui" / "locales"


def _catalogue(lang: str) -> dict[str, str]:
    """The main catalogue and every page's part, read independently of ui.i18n."""
    merged: dict[str, str] = {}
    for path in [LOCALES / f"{lang}.json", *sorted(LOCALES.glob(f"*.{lang}.json"))]:
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def test_page_catalogues_come_in_pairs():
    """Every per-page catalogue exists in both languages."""
    stems = {lang: {p.name[: -len(f".{lang}.json")] for p in LOCALES.glob(f"*.{lang}.json")} for lang in ("zh", "en")}
    assert stems["zh"] == stems["en"]


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


# --- catalogues ---------------------------------------------------------------------------


def test_catalogues_hold_the_same_keys():
    zh, en = _catalogue("zh"), _catalogue("en")
    assert sorted(set(zh) - set(en)) == [], "keys only in zh.json"
    assert sorted(set(en) - set(zh)) == [], "keys only in en.json"


def test_catalogues_hold_the_same_placeholders_per_key():
    zh, en = _catalogue("zh"), _catalogue("en")
    differing = {key: (_placeholders(zh[key]), _placeholders(en[key]))
                 for key in zh.keys() & en.keys() if _placeholders(zh[key]) != _placeholders(en[key])}
    assert differing == {}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_are_named(lang):
    # "{}" or "{0}" would need positional values, which t() does not pass
    for key, text in _catalogue(lang).items():
        assert all(name.isidentifier() for name in _placeholders(text)), key


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_formats(lang):
    for key, text in _catalogue(lang).items():
        values = {name: f"<{name}>" for name in _placeholders(text)}
        message = t(key, lang, **values)
        assert message.strip(), key
        assert "{" not in message and "}" not in message, key
        assert all(f"<{name}>" in message for name in values), key


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_message_is_empty_or_padded(lang):
    for key, text in _catalogue(lang).items():
        assert text and text == text.strip(), key


def test_chinese_messages_are_translated():
    # a zh message equal to the en one is left untranslated, unless it holds no words ("{n}%")
    zh, en = _catalogue("zh"), _catalogue("en")
    untranslated = [key for key, text in zh.items()
                    if text == en[key] and any(char.isalpha() for char in re.sub(r"\{\w+\}", "", text))]
    assert untranslated == []


def test_messages():
    assert t("app_title", "en") == "CRM analytics"
    assert t("app_title", "zh") == "客户关系分析"
    assert t("all_values", "en") == "All"
    assert t("all_values", "zh") == "全部"
    assert t("overview_title", "en", period="Jan 2024") == "Overview · Jan 2024"
    assert t("overview_title", "zh", period="2024年1月") == "总览 · 2024年1月"
    assert t("sample_size", "en", n="1,234") == "n = 1,234"
    assert t("ci95", "en", low="1.2%", high="3.4%") == "95% CI 1.2%–3.4%"
    assert t("ci95", "zh", low="1.2%", high="3.4%") == "95%置信区间 1.2%–3.4%"
    assert t("local_user_notice", "en") == "Running as a single local user with full access (no login configured)."


def test_unknown_key_raises():
    with pytest.raises(KeyError, match="no_such_key"):
        t("no_such_key", "en")


def test_missing_placeholder_value_raises():
    with pytest.raises(KeyError, match="period"):
        t("overview_title", "zh")


def test_unknown_language_raises():
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        t("app_title", "fr")
    with pytest.raises(ValueError, match="unknown language 'zh-CN'"):
        fmt_int(1, "zh-CN")


def test_language_labels():
    assert LANGUAGES == ("zh", "en")
    assert [language_label(lang) for lang in LANGUAGES] == ["中文", "English"]


# --- language detection ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("zh-CN", "zh"),
        ("zh-TW", "zh"),
        ("zh-Hant-TW", "zh"),
        ("zh-Hans", "zh"),
        ("zh_CN", "zh"),
        ("ZH-cn", "zh"),
        ("zh", "zh"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US", "en"),
        ("en", "en"),
        ("en-US,zh-CN;q=0.5", "en"),
        ("fr-FR", "en"),
        ("ja-JP", "en"),
        ("zha", "en"),  # Zhuang, not Chinese
        (None, "zh"),
        ("", "zh"),
        ("  ", "zh"),
    ],
)
def test_detect_language(locale, expected):
    assert detect_language(locale) == expected


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
