"""Who is using the app, and what they may see: the login gate.

- Without an identity provider configured (no ``[auth]`` section in Streamlit's secrets) the
  app runs as one local user with full access, and says so in the sidebar.
- With one, a visitor who has not logged in sees the login screen and nothing else. A
  logged-in user is looked up by e-mail in the server-side access file
  (:func:`analytics.access.default_access_path`); one who is not in it, or any user while
  the file cannot be read, sees a message and no data at all.

The frame (``app.py``) calls :func:`gate` before anything else; it stores the user's
:class:`~analytics.access.Access` for the run, where pages read it with :func:`current`.
Nothing a browser sends can set it: it lives under a session-state key no widget uses.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from analytics.access import Access, AccessFile, default_access_path, load_access
from analytics.errors import CRMError
from ui.i18n import md_literal, t

#: The local user when no login is configured: every region, every page, the settings.
LOCAL = Access(email="local", role="admin", regions=None)

_ACCESS_KEY = "_access"
_log = logging.getLogger(__name__)


def auth_configured() -> bool:
    """Whether an OpenID Connect provider is configured (``[auth]`` in the secrets)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return False


@st.cache_resource(show_spinner=False, max_entries=4)
def _access_file(path: str, mtime_ns: int) -> AccessFile:
    """The access file, parsed once per version of it (an edit takes effect on each user's
    next interaction)."""
    del mtime_ns  # part of the cache key only
    return load_access(Path(path))


def _load_access_file() -> AccessFile:
    path = default_access_path()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = -1
    return _access_file(str(path), mtime)


def _stop_with(title: str, body: str, lang: str, *, logout: bool) -> None:
    st.title(title)
    st.info(body, icon=":material/lock:")
    if logout:
        st.button(t("logout", lang), icon=":material/logout:", on_click=st.logout, key="logout_main")
    st.session_state[_ACCESS_KEY] = None
    st.stop()


def _refuse(email: str, lang: str) -> None:
    """The "no access" screen for ``email`` (a claim from the provider: shown as text)."""
    _stop_with(t("no_access_title", lang), t("no_access_body", lang, email=md_literal(email or "?")), lang,
               logout=True)


def gate(lang: str) -> Access:
    """Who may use this run: returns their access, or shows the login screen / a refusal
    and stops the run (nothing after it is drawn, no data is read)."""
    if not auth_configured():
        st.sidebar.caption(t("local_user_notice", lang))
        st.session_state[_ACCESS_KEY] = LOCAL
        return LOCAL
    if not st.user.get("is_logged_in", False):
        st.session_state[_ACCESS_KEY] = None
        st.title(t("login_title", lang))
        st.write(t("login_body", lang))
        st.button(t("login_button", lang), type="primary", icon=":material/login:", on_click=st.login,
                  key="login")
        st.stop()
    email = str(st.user.get("email") or "")
    if st.user.get("email_verified") is False:  # the provider says the address is not the user's
        _refuse(email, lang)
    try:
        access = _load_access_file().lookup(email)
    except CRMError as exc:
        # the server log gets the reason; the user is told to ask an administrator
        _log.error("access file refused, nobody is let in: %s", exc)
        _stop_with(t("access_file_broken_title", lang), t("access_file_broken_body", lang), lang, logout=True)
    if access is None:
        _refuse(email, lang)
    st.session_state[_ACCESS_KEY] = access
    side = st.sidebar
    regions = "、".join(access.regions) if lang == "zh" and access.regions else ", ".join(access.regions or ())
    side.caption(t("signed_in_as", lang, email=md_literal(access.email), role=t(f"role_{access.role}", lang),
                   regions=md_literal(regions) if regions else t("all_regions", lang)))
    side.button(t("logout", lang), icon=":material/logout:", on_click=st.logout, key="logout", width="stretch")
    return access


def current() -> Access | None:
    """The access :func:`gate` granted on this run (for the pages); None before it ran or
    when it refused."""
    return st.session_state.get(_ACCESS_KEY)


def user_name() -> str:
    """The name recorded with the user's imports and settings changes."""
    access = current()
    return access.email if access is not None else "local"
