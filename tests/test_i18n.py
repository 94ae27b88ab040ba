"""Message catalogues (ui/i18n.py) and language detection, language by language; the number, money,
percent and date formatting (ui/formats.py) is tested in test_formats.py."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from ui.formats import fmt_int
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
