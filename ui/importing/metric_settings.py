"""The Settings tab: the metric settings as a form (the funnel's stage list and stage map too:
:mod:`ui.importing.stage_settings`), checked before anything is stored, and read-only for
everyone but admins."""

from __future__ import annotations

import streamlit as st

from analytics.metrics.funnel_names import stage_names
from analytics.store import settings
from ui import loaders
from ui.formats import fmt_int, fmt_pct
from ui.i18n import t
from ui.importing.stage_settings import stage_error, stage_fields
from ui.importing.state import request, requested

#: Set by a save, for the next run (drawn with the stored values) to say so.
_SAVED = "data_settings_saved"


def _setting_error(setting: settings.Setting, value: object, lang: str) -> str:
    """Why ``value`` of `setting` was refused, with the values it takes."""
    if setting.kind in ("stages", "stage_map"):
        return stage_error(setting.key, value, lang)
    name = t(f"data_setting_{setting.key}", lang)
    if setting.key == "churn_window_days":
        return t("data_setting_error_days", lang, setting=name, low=fmt_int(setting.low, lang),
                 high=fmt_int(setting.high, lang))
    if setting.kind in ("int", "float"):
        return t("data_setting_error_range", lang, setting=name, low=fmt_pct(setting.low, lang, 0),
                 high=fmt_pct(setting.high, lang, 0))
    if setting.kind == "choice":
        return t("data_setting_error_choice", lang, setting=name, choices=", ".join(setting.choices))
    return t("data_setting_error_cuts", lang)


def _percent_input(key: str, current: dict, lang: str, widget_key: str, step: float, off: bool) -> float:
    """A share setting entered in percent, with its help and what it is used for below it."""
    value = st.number_input(t(f"data_setting_{key}", lang), value=round(current[key] * 100, 4), step=step,
                            format="%.1f", help=t(f"data_setting_{key}_help", lang), key=widget_key, disabled=off)
    st.caption(t(f"data_setting_{key}_use", lang))
    return value


def _choice_input(setting: settings.Setting, current: dict, lang: str, widget_key: str, off: bool,
                  help_text: bool = False) -> str:
    """A choice setting as a select box (the stored value chosen, else the first choice), with what it is used
    for below it; ``help_text``: its help message too."""
    choices, key = setting.choices, setting.key
    value = st.selectbox(t(f"data_setting_{key}", lang), choices,
                         index=choices.index(current[key]) if current[key] in choices else 0,
                         help=t(f"data_setting_{key}_help", lang) if help_text else None, key=widget_key,
                         disabled=off)
    st.caption(t(f"data_setting_{key}_use", lang))
    return value


def settings_section(lang: str, editable: bool = True, served: bool = False) -> None:
    """The metric settings: a form, checked before anything is stored. Shown read-only
    (every field disabled, nothing stored) unless ``editable`` (the admin role, on the embedded database);
    ``served``: the app serves built marts, whose settings are changed where the data lives."""
    con = loaders.connection()
    names = stage_names(con)
    # the funnel's definitions as the funnel page uses them (a stage list never saved: the one it suggests)
    current = settings.load(con) | {"funnel_stages": list(names.stages), "funnel_stage_map": names.saved}
    by_key = {s.key: s for s in settings.SETTINGS}
    st.caption(t("data_settings_caption", lang))
    if served:
        st.info(t("served_settings_read_only", lang), icon=":material/lock:")
    elif not editable:
        st.info(t("data_settings_admin_only", lang), icon=":material/lock:")
    off = not editable
    with st.form("data_settings_form"):
        first = st.columns(3)
        with first[0]:
            churn = st.number_input(t("data_setting_churn_window_days", lang), value=int(current["churn_window_days"]),
                                    step=1, help=t("data_setting_churn_window_days_help", lang), key="data_set_churn",
                                    disabled=off)
            st.caption(t("data_setting_churn_window_days_use", lang))
        with first[1]:
            discount = _percent_input("discount_rate", current, lang, "data_set_discount", 0.5, off)
        with first[2]:
            currency = _choice_input(by_key["currency"], current, lang, "data_set_currency", off)
        st.markdown(t("data_setting_tier_cuts", lang))
        cuts = [cell.number_input(t(f"data_setting_tier_{tier}", lang), value=round(cut * 100, 4), step=0.5,
                                  format="%.2f", key=f"data_set_tier_{tier}", disabled=off)
                for cell, tier, cut in zip(st.columns(3), ("platinum", "gold", "iron"), current["tier_cuts"],
                                           strict=True)]
        st.caption(t("data_setting_tier_cuts_use", lang))
        second = st.columns(2)
        with second[0]:
            margin = _percent_input("gross_margin", current, lang, "data_set_margin", 1.0, off)
        with second[1]:
            zone = _choice_input(by_key["import_time_zone"], current, lang, "data_set_import_zone", off,
                                 help_text=True)
        st.divider()
        stages, stage_map = stage_fields(names, lang, off)
        st.form_submit_button(t("data_settings_save", lang), type="primary", icon=":material/save:",
                              on_click=request, args=("data_settings_submitted",), disabled=off)
    if off:
        return
    if requested(_SAVED):
        st.success(t("data_settings_saved", lang), icon=":material/check:")
    if not requested("data_settings_submitted"):
        return
    entered = {"churn_window_days": churn, "tier_cuts": [round(c / 100, 6) for c in cuts],
               "discount_rate": round(discount / 100, 6), "gross_margin": round(margin / 100, 6), "currency": currency,
               "import_time_zone": zone, "funnel_stages": stages, "funnel_stage_map": stage_map}
    values = {key: value for key, value in entered.items() if value != current[key]}
    if not values:
        st.info(t("data_settings_unchanged", lang), icon=":material/info:")
        return
    refused = []
    for key, value in values.items():
        try:
            settings.check(key, value)
        except ValueError:
            refused.append(key)
    if refused:
        for key in refused:
            st.error(_setting_error(by_key[key], values[key], lang), icon=":material/error:")
        st.caption(t("data_settings_not_saved", lang))
        return
    settings.save(con, values)
    # drawn again with what is stored (the stage map's rows move and say "saved": a new table, ``map_key``)
    request(_SAVED)
    st.rerun()
