"""What one run of the Data page leaves for the next: requests made by buttons, and a
message to show after ``st.rerun``."""

from __future__ import annotations

from typing import Any

import streamlit as st

_FLASH = "data_flash"


def request(flag: str, value: Any = True) -> None:
    """A button's ``on_click``: remember what was asked for in the session.

    The page acts on it while it runs (:func:`requested`), where a progress bar can show.
    A button's own True lasts one run only and is lost when the run restarts (the page
    reruns once through ``app.py`` when it was started without it, see ``ui.frame``).
    """
    st.session_state[flag] = value


def requested(flag: str) -> Any:
    """What was asked for under `flag` (None if nothing), forgotten once read."""
    return st.session_state.pop(flag, None)


def flash(kind: str, text: str) -> None:
    """Show `text` on the next run (after ``st.rerun``)."""
    st.session_state[_FLASH] = (kind, text)


def show_flash() -> None:
    """Show and forget the message left by the previous run."""
    message = st.session_state.pop(_FLASH, None)
    if message is not None:
        kind, text = message
        (st.success if kind == "success" else st.info)(text)
