"""Who is using the app and which regions they may see.

Without an identity provider configured the app runs as one local user with full access,
and says so in the sidebar.
"""

from __future__ import annotations

import streamlit as st

from ui.i18n import t


def allowed_regions(lang: str) -> tuple[str, ...] | None:
    """The regions the current user may see; ``None`` means every region."""
    st.sidebar.caption(t("local_user_notice", lang))
    return None


def user_name() -> str:
    """The name recorded with the user's imports and settings changes."""
    return "local"
