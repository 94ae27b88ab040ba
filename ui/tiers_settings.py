"""The customer tiers page's settings: the preset, revenue or margin, the tier names and the cut points, kept in
the address as the page's options (:mod:`ui.page_options`: ``?preset=key&by=margin&cuts=0.1,0.5&names=A,B,C``),
and the tiers' names as people read them.

A link's values are checked together before any widget gets them (a preset that does not exist, margin where the
data has no cost, names that are not two or more different ones, cut points that are not increasing shares, one
per tier but the last): what is refused is left out, and the page says which. What the user types is checked the
same way: the page then says what is wrong and shows the preset's tiers until it is right. An option at its
default (the preset's names and cut points, the pyramid, revenue) is left out of the address.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from analytics.metrics.tiers import LOST, NEW
from analytics.pages import Page
from analytics.tiering import DEFAULT_PRESET, MEASURES, PRESETS, TierSpec
from ui import page_options
from ui.formats import fmt_pct
from ui.i18n import md_literal, t

#: The widgets' keys (the cut points: ``tiers_cut_0``, ``tiers_cut_1``, ...).
PRESET, BY, NAMES = "tiers_preset", "tiers_by", "tiers_names"
#: The page's options, in the order the address lists them.
OPTIONS = ("preset", "by", "names", "cuts")


def cut_key(i: int) -> str:
    return f"tiers_cut_{i}"


def split_names(text: str) -> tuple[str, ...]:
    """Tier names from text separated by commas (``,`` or ``，``), each stripped."""
    return tuple(n.strip() for n in str(text).replace("，", ",").split(","))


def names_ok(names: Sequence[str]) -> bool:
    """Two or more names, none empty, all different, none of the migration's "new" and "lost"."""
    return len(names) >= 2 and all(names) and len(set(names)) == len(names) and not {NEW, LOST} & set(names)


def parse_cuts(text: str) -> tuple[float, ...] | None:
    """Cut points (shares) from text separated by commas; ``None`` when one is not a number."""
    try:
        return tuple(float(c) for c in str(text).replace("，", ",").split(","))
    except ValueError:
        return None


def cuts_ok(names: Sequence[str], cuts: Sequence[float] | None) -> bool:
    """Whether ``cuts`` are the cut points of tiers ``names``: one fewer, increasing shares between 0 and 1."""
    if cuts is None:
        return False
    try:
        TierSpec(tuple(names), tuple(cuts))
    except ValueError:
        return False
    return True


def cuts_text(cuts: Sequence[float]) -> str:
    """Cut points as the option's text (``0.01,0.05,0.2``)."""
    return ",".join(f"{c:.6g}" for c in cuts)


def default_cuts(preset: str, stored: Sequence[float]) -> tuple[float, ...]:
    """A preset's cut points: the metric setting ``tier_cuts`` (``stored``) for the pyramid, else the preset's."""
    return tuple(float(c) for c in stored) if preset == DEFAULT_PRESET else PRESETS[preset][1]


def percent(share: float) -> float:
    return round(100 * share, 4)


def cut_pct(share: float, lang: str) -> str:
    """A cut point as a percentage with as many decimals (up to 2) as it has: 1 %, 12.5 %, 0.25 %."""
    digits = next((d for d in (0, 1) if abs(round(100 * share, d) - 100 * share) < 1e-9), 2)
    return fmt_pct(share, lang, digits)


def read_link(values: dict[str, Any], refused: list[str], costs: bool) -> dict[str, Any]:
    """The link's options (``values``, parsed text) checked together: ``preset``, ``by``, ``names`` (a tuple) and
    ``cuts`` (a tuple of shares) as far as they are valid; the names of the others are added to ``refused``. Margin
    is refused when the data has no cost (``costs`` False); names of another count than the preset's tiers stand
    only with cut points for them."""
    preset, by = values.get("preset", DEFAULT_PRESET), values.get("by")
    names = split_names(values["names"]) if "names" in values else None
    cuts = parse_cuts(values["cuts"]) if "cuts" in values else None
    named = names is not None and names_ok(names)
    tiers = names if named else PRESETS.get(preset, PRESETS[DEFAULT_PRESET])[0]
    checked = {"preset": (preset, preset in PRESETS),
               "by": (by, by in MEASURES and (by == "revenue" or costs)),
               "names": (names, named),
               "cuts": (cuts, cuts_ok(tiers, cuts))}
    link: dict[str, Any] = {}
    for name in OPTIONS:
        if name in values:
            value, fine = checked[name]
            if fine:
                link[name] = value
            else:
                refused.append(name)
    preset_names = PRESETS[link.get("preset", DEFAULT_PRESET)][0]
    if "names" in link and "cuts" not in link and len(link["names"]) != len(preset_names):
        refused.append("names")
        del link["names"]
    return link


def _preset_changed(stored: tuple[float, ...]) -> None:
    """A new preset: its own names and cut points in the widgets."""
    st.session_state[NAMES] = ""
    for i, c in enumerate(default_cuts(st.session_state[PRESET], stored)):
        st.session_state[cut_key(i)] = percent(c)


def tier_labels(names: Sequence[str], lang: str) -> dict[str, str]:
    """Each tier's name as people read it, and the migration's "new" and "lost": a preset's names in the
    language (the pyramid's 铂金/黄金/铁/铅), names the user gave as given."""
    custom = tuple(names) not in [n for n, _ in PRESETS.values()]
    labels = {n: n if custom else t(f"tiers_name_{n}", lang) for n in names}
    return labels | {NEW: t("tiers_new", lang), LOST: t("tiers_lost", lang)}


def settings(page: Page, lang: str, values: dict[str, Any], refused: list[str], stored: Sequence[float],
             costs: bool) -> dict[str, str]:
    """Draw the settings (in an expander, open when the link set something), warn about what the link or the
    user gave that is refused, put the choice in the address, and return the options for the loaders (those not
    at their default)."""
    stored = tuple(float(c) for c in stored)
    link = read_link(values, refused, costs)
    page_options.warn_refused(refused, lang, "tiers")
    preset0 = link.get("preset", DEFAULT_PRESET)
    page_options.seed(PRESET, preset0)
    page_options.seed(BY, link.get("by", "revenue"))
    page_options.seed(NAMES, ", ".join(link["names"]) if "names" in link else "")
    for i, c in enumerate(link.get("cuts", default_cuts(preset0, stored))):
        page_options.seed(cut_key(i), percent(c))
    if not costs:
        st.session_state[BY] = "revenue"
    with st.expander(t("tiers_settings_title", lang), expanded=bool(values or refused)):
        c1, c2 = st.columns(2)
        preset = c1.radio(t("tiers_setting_preset", lang), list(PRESETS), key=PRESET, horizontal=True,
                          format_func=lambda p: t(f"tiers_preset_{p}", lang), on_change=_preset_changed,
                          args=(stored,), help=t("tiers_setting_preset_help", lang))
        by = c2.radio(t("tiers_setting_by", lang), MEASURES, key=BY, horizontal=True, disabled=not costs,
                      format_func=lambda m: t(f"tiers_by_{m}", lang), help=t("tiers_setting_by_help", lang))
        if not costs:
            c2.caption(t("tiers_margin_unavailable", lang))
        preset_names = PRESETS[preset][0]
        typed = st.text_input(t("tiers_setting_names", lang), key=NAMES, max_chars=200,
                              placeholder=", ".join(t(f"tiers_name_{n}", lang) for n in preset_names),
                              help=t("tiers_setting_names_help", lang))
        names = split_names(typed) if typed.strip() else None
        problems = []
        if names is not None and not names_ok(names):
            problems.append(t("tiers_names_invalid", lang))
            names = None
        tiers = names or preset_names
        labels = tier_labels(tiers, lang)
        columns = st.columns(len(tiers) - 1)
        for i in range(len(columns)):
            page_options.seed(cut_key(i), None)
        typed_cuts = [col.number_input(t("tiers_setting_cut", lang, tier=labels[tiers[i]]), min_value=0.0,
                                       max_value=100.0, value=None, step=1.0, format="%.2f", key=cut_key(i),
                                       help=t("tiers_setting_cuts_help", lang)) for i, col in enumerate(columns)]
    defaults = default_cuts(preset, stored)
    cuts = None if None in typed_cuts else tuple(round(v / 100, 6) for v in typed_cuts)
    if not cuts_ok(tiers, cuts):
        problems.append(t("tiers_cuts_invalid", lang, tiers=len(tiers), cuts=len(tiers) - 1))
        cuts = None
    if cuts is None and len(tiers) != len(defaults) + 1:
        names = None  # names for another number of tiers need their cut points
    for problem in problems:
        st.warning(problem + " " + t("tiers_showing_preset", lang), icon=":material/warning:")
    same = cuts is None or (len(cuts) == len(defaults) and all(abs(a - b) < 1e-9 for a, b in zip(cuts, defaults,
                                                                                                  strict=True)))
    chosen = {"preset": None if preset == DEFAULT_PRESET else preset, "by": None if by == "revenue" else by,
              "names": None if names is None or names == preset_names else ",".join(names),
              "cuts": None if same else cuts_text(cuts)}
    for name in OPTIONS:
        page_options.put(page, name, chosen[name])
    return {k: v for k, v in chosen.items() if v is not None}


def definition(names: Sequence[str], cuts: Sequence[float], measure: str, lang: str) -> str:
    """The tier rule in words, with the tiers in use (their names shown as text, not markup)."""
    labels = tier_labels(names, lang)
    parts = [t("tiers_definition_tier", lang, tier=md_literal(labels[n]), cut=cut_pct(c, lang))
             for n, c in zip(names, cuts, strict=False)]
    parts.append(t("tiers_definition_rest", lang, tier=md_literal(labels[names[-1]])))
    return t("tiers_definition", lang, measure=t(f"tiers_measure_{measure}", lang),
             tiers=("、" if lang == "zh" else ", ").join(parts))
