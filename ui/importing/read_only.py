"""The Data page while the app serves built marts (``CRM_MARTS``, :mod:`analytics.store.served`): one sentence
on what is served and where imports happen instead."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from analytics.store.served import Served
from ui.formats import fmt_int
from ui.i18n import md_literal, t

#: The engines' names as people write them.
ENGINES = {"duckdb": "DuckDB", "spark": "Spark"}


def built_text(built_at: str) -> str:
    """A build's time (ISO text from its manifest) as ``2026-12-07 16:16 UTC``; as given when it is not ISO."""
    try:
        moment = datetime.fromisoformat(built_at)
    except ValueError:
        return built_at
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname() or ''}".strip()


def served_notice(served: Served, lang: str) -> None:
    """What is served (engine, build time, source data version, folder), and that importing, undo and saving
    settings happen where the data lives: export, build the marts, serve them."""
    version = (fmt_int(served.source_data_version, lang) if served.source_data_version is not None
               else t("served_unknown_version", lang))
    st.info(t("served_data_read_only", lang, engine=ENGINES.get(served.engine, served.engine),
              built=built_text(served.built_at), version=version, folder=md_literal(served.folder)),
            icon=":material/lock:")
