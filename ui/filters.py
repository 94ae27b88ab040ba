"""The global filters in the sidebar, kept in the address so a view can be shared.

The widget keys are public URL parameters (treat them as API): ``lang`` (zh, en), ``from``,
``to`` (months, ``YYYY-MM``), ``compare`` (previous, last_year, none), ``region``, ``channel``,
``segment`` and ``tier`` (repeated for several values, e.g. ``?region=华东&region=华北``; ``tier``:
platinum, gold, iron, lead, the customer pyramid over the period by revenue, with the metric
setting's cut points).

The frame owns the address: a widget takes its first value of the session from it (a
value that is not an option is ignored), and after the widgets are drawn the address is
set to what they hold (:func:`_put_in_address`; a filter at its default is left out, the
language never). Streamlit's ``bind="query-params"`` is not used: it writes a widget's
label, not its code (a link would change with its language), and across page switches it
was seen to drop a bound parameter from the address while the widget kept its value
(``from``, 2 of about 30 switches), so the link would no longer show what the page shows.

The language is always in the address (a link opens in the language it was made in, not
the colleague's browser's), and the filters are drawn on every page (greyed out where they
do not apply, as on the Data page), so the address keeps them while the user moves
between pages.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from analytics.scope import COMPARISONS, TIER_NAMES, Scope, add_months, default_period
from ui import loaders
from ui.formats import fmt_pct
from ui.i18n import LANGUAGES, detect_language, language_label, t

_SCOPE_KEY = "_scope"


def _put_in_address(key: str, value: str | list[str] | None) -> None:
    """Make the address say ``key=value`` (every item of a list; ``None`` or an empty list:
    no ``key``), writing only when it says something else: a write sends the whole address."""
    wanted = [] if value is None else [value] if isinstance(value, str) else list(value)
    if st.query_params.get_all(key) == wanted:
        return
    if wanted:
        st.query_params[key] = wanted if len(wanted) > 1 else wanted[0]
    else:
        del st.query_params[key]


def _seed(key: str, options: list[str], default: str | list[str]) -> None:
    """Give the widget ``key`` its value before it is drawn: on the session's first run the
    address's (what of it is an option), later its own while it is still an option; else
    ``default``. A list ``default`` makes it a several-values widget."""
    several = isinstance(default, list)
    if key in st.session_state:
        kept = st.session_state[key]
    else:
        kept = st.query_params.get_all(key) if several else st.query_params.get(key)
    if several:
        st.session_state[key] = list(dict.fromkeys(v for v in (kept or []) if v in options))
    else:
        st.session_state[key] = kept if kept in options else default


def _url_choice(widget, label: str, options: tuple[str, ...], default: str, key: str, *, always: bool = False,
                **kwargs) -> str:
    """A single-choice widget whose value (an option code, not its label) lives in the URL
    as ``?key=code``; a code that is not an option is ignored. The default value is left
    out of the URL, unless ``always``.

    The last valid choice is also kept under ``_<key>_chosen``: a segmented control can be
    clicked empty, and on a page switch it has been seen to return None for a run although
    a choice was made; the last choice stands then (so the language does not flip back)."""
    chosen = f"_{key}_chosen"
    if key not in st.session_state:
        asked = st.query_params.get(key)
        st.session_state[key] = asked if asked in options else st.session_state.get(chosen, default)

    def url(value: str) -> None:
        _put_in_address(key, value if value != default or always else None)

    def changed() -> None:
        if st.session_state.get(key) not in options:  # clicked empty: keep the last choice selected
            st.session_state[key] = st.session_state.get(chosen, default)
        url(st.session_state[key])

    value = widget(label, options, key=key, on_change=changed, **kwargs)
    if value not in options:
        value = st.session_state.get(chosen, default)
    st.session_state[chosen] = value
    url(value)
    return value


def language() -> str:
    """The language selector (``?lang=zh|en``); the default follows the browser's locale."""
    default = detect_language(getattr(st.context, "locale", None))
    return _url_choice(st.sidebar.segmented_control, "Language / 语言", LANGUAGES, default, "lang", always=True,
                       format_func=language_label, width="stretch")


def current_language() -> str:
    """The language chosen on this run (for the pages)."""
    chosen = st.session_state.get("_lang_chosen")
    return chosen if chosen in LANGUAGES else detect_language(getattr(st.context, "locale", None))


def _month_text(d: date) -> str:
    return f"{d:%Y-%m}"


def _months(first: date, last: date) -> list[str]:
    out, m = [], first
    while m <= last:
        out.append(_month_text(m))
        m = add_months(m, 1)
    return out


def _tier_help(cuts: tuple[float, ...], lang: str) -> str:
    """How the tier filter ranks, with the cut points as percentages (whole ones without decimals)."""
    digits = 0 if all(abs(c * 100 - round(c * 100)) < 1e-9 for c in cuts) else 1
    return t("filter_tier_help", lang, **{n: fmt_pct(c, lang, digits) for n, c in zip(TIER_NAMES, cuts, strict=False)})


def url_state() -> dict[str, list[str]]:
    """The address's query parameters (the language and the filters), every value of each,
    to carry over when the frame moves from ``/`` to the default page."""
    return {key: st.query_params.get_all(key) for key in st.query_params}


def sidebar(lang: str, allowed: tuple[str, ...] | None, applies: bool = True) -> Scope | None:
    """Draw the filters and return the scope they select; ``None`` when the user may see
    no sales at all (an empty database, or none in their regions).

    ``applies=False`` (a page the filters do not apply to) draws them greyed out, with a
    word saying so: they keep their values, in the session and in the address, for the
    next page that uses them."""
    version = loaders.data_version()
    span = loaders.load_data_months(allowed, version)
    if span is None:
        st.session_state[_SCOPE_KEY] = None
        return None
    first, last = span
    months = _months(first, last)
    default_start = _month_text(default_period(first, last)[0])
    values = loaders.load_filter_values(allowed, version)
    side = st.sidebar
    side.header(t("filter_header", lang))
    off = not applies
    if off:
        side.caption(t("filters_not_on_this_page", lang))

    c1, c2 = side.columns(2)
    _seed("from", months, default_start)
    _seed("to", months, months[-1])
    start = c1.selectbox(t("filter_from", lang), months, key="from", disabled=off) or default_start
    end = c2.selectbox(t("filter_to", lang), months, key="to", disabled=off) or months[-1]
    _put_in_address("from", start if start != default_start else None)
    _put_in_address("to", end if end != months[-1] else None)
    if end < start:
        side.warning(t("period_reversed", lang))
        start, end = end, start
    compare = _url_choice(side.selectbox, t("filter_compare", lang), COMPARISONS, COMPARISONS[0], "compare",
                          format_func=lambda c: t(f"compare_{c}", lang), disabled=off)
    all_label = t("all_values", lang)
    chosen: dict[str, list[str]] = {}
    for key in ("region", "channel", "segment"):
        if key == "segment" and not values[key]:  # no segments imported: no segment filter
            chosen[key] = []
            continue
        _seed(key, values[key], [])
        chosen[key] = side.multiselect(t(f"filter_{key}", lang), values[key], key=key, placeholder=all_label,
                                       disabled=off)
        _put_in_address(key, chosen[key])
    cuts = tuple(loaders.load_settings(version)["tier_cuts"])
    _seed("tier", list(TIER_NAMES), [])
    tiers = side.multiselect(t("filter_tier", lang), TIER_NAMES, key="tier", placeholder=all_label, disabled=off,
                             format_func=lambda name: t(f"filter_tier_{name}", lang), help=_tier_help(cuts, lang))
    _put_in_address("tier", tiers)
    regions, channels, segments = chosen["region"], chosen["channel"], chosen["segment"]
    scope = Scope(start=date.fromisoformat(start + "-01"), end=date.fromisoformat(end + "-01"),
                  compare=compare, regions=tuple(regions), channels=tuple(channels),
                  segments=tuple(segments), allowed_regions=allowed, tiers=tuple(tiers), tier_cuts=cuts)
    st.session_state[_SCOPE_KEY] = scope
    return scope


def current_scope() -> Scope | None:
    """The scope the sidebar selected on this run (for the pages)."""
    return st.session_state.get(_SCOPE_KEY)
