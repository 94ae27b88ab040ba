"""The page registry: every page of the app, named once.

Everything that must know the pages reads :data:`PAGES`, so a page registered here is
covered by all of them at once:

- the navigation and the role check (``app.py``, ``ui/frame.py``): a user sees and opens
  only the pages their role is in :attr:`Page.roles` for;
- ``python -m analytics report <page>`` (:mod:`analytics.report`), computed by
  :attr:`Page.load`, the same function the page's cached loader calls
  (``ui.loaders.load_view``);
- the tests: the access matrix (every role × every page × URL tampering × downloads,
  ``tests/test_access_app.py``) and the browser smoke test (every page, both languages,
  laptop and phone, ``tests/test_browser.py``).

Adding a page is: a metrics module (``analytics/metrics/<page>.py``: the view model, its
loader and its report), a page script (``pages/<page>.py``), its figures
(``ui/figures/<page>.py``), its messages, one entry here, and its own tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import duckdb

from analytics.access import IMPORT_ROLES, ROLES, Access
from analytics.errors import AccessDenied
from analytics.metrics import data, overview
from analytics.scope import Scope

#: What a page's address may be: lower-case letters, digits, ``-`` and ``_``.
_KEY = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class Page:
    """One page of the app.

    Parameters
    ----------
    key
        The page's name everywhere: its URL path (``/overview``), its ``report`` name and
        its name in access checks.
    title
        The message key of its title in the navigation (``ui/locales``).
    icon
        Its navigation icon (``:material/...:``).
    script
        Its page script, relative to the project root (``pages/<key>.py``).
    roles
        The roles that may open it (:data:`analytics.access.ROLES`).
    load
        Its view-model loader, ``load(con, scope) -> view``: everything the page shows for a
        scope (``None`` for a page that is not scoped), in one read snapshot.
    report
        ``report(view) -> dict``: the view as JSON-ready data (``report <page> --json``).
    text
        ``text(report) -> list[str]``: that report as lines for a terminal.
    label
        Its name in English for the command line ("Overview").
    scoped
        Whether the global filters (period, comparison, regions, channels, segments) apply:
        the page gets a scope, the empty-database message, and the filters in the sidebar.
    default
        The page opened at ``/`` (exactly one; every role may open it).
    """

    key: str
    title: str
    icon: str
    script: str
    roles: frozenset[str]
    load: Callable[[duckdb.DuckDBPyConnection, Scope | None], Any]
    report: Callable[[Any], dict[str, Any]]
    text: Callable[[dict[str, Any]], list[str]]
    label: str
    scoped: bool = True
    default: bool = False

    def __post_init__(self) -> None:
        if not _KEY.match(self.key):
            raise ValueError(f"page key {self.key!r}: use lower-case letters, digits, - and _ (it is a URL path)")
        if not self.roles or not self.roles <= set(ROLES):
            raise ValueError(f"page {self.key!r}: roles must be some of {', '.join(ROLES)}, not {sorted(self.roles)}")
        if not self.script.endswith(".py"):
            raise ValueError(f"page {self.key!r}: the script must be a .py file, not {self.script!r}")

    def allows(self, access: Access | str) -> bool:
        """Whether a user (their :class:`~analytics.access.Access`, or a role) may open the page."""
        role = access.role if isinstance(access, Access) else access
        return role in self.roles

    def require(self, access: Access) -> None:
        """Raise :class:`~analytics.errors.AccessDenied` unless ``access`` may open the page."""
        if not self.allows(access):
            raise AccessDenied(f"{access.email} ({access.role}) may not open the {self.key} page: "
                               f"it needs the role {' or '.join(sorted(self.roles))}")


#: Every page, in navigation order.
PAGES: tuple[Page, ...] = (
    Page("overview", title="nav_overview", icon=":material/dashboard:", script="pages/overview.py",
         roles=frozenset(ROLES), load=overview.overview, report=overview.report, text=overview.report_lines,
         label="Overview", default=True),
    Page("data", title="nav_data", icon=":material/upload_file:", script="pages/data.py",
         roles=IMPORT_ROLES, load=data.data_status, report=data.report, text=data.report_lines,
         label="Data", scoped=False),
)


def check(pages: Iterable[Page]) -> tuple[Page, ...]:
    """``pages`` as a registry, checked: unique keys and scripts, every page open to admins
    (the role of the local user when no login is configured, who must see every page),
    exactly one default page, which every role may open (it is where every user lands).

    Raises
    ------
    ValueError
        Saying which page breaks which rule.
    """
    pages = tuple(pages)
    for attribute in ("key", "script"):
        seen = [getattr(p, attribute) for p in pages]
        twice = sorted({v for v in seen if seen.count(v) > 1})
        if twice:
            raise ValueError(f"two pages have the {attribute} {', '.join(twice)}")
    closed = [p.key for p in pages if not p.allows("admin")]
    if closed:
        raise ValueError(f"every page must be open to admins (the local user), not {', '.join(closed)}")
    defaults = [p.key for p in pages if p.default]
    if len(defaults) != 1:
        raise ValueError(f"exactly one page must be the default, not {defaults or 'none'}")
    landing = next(p for p in pages if p.default)
    if landing.roles != set(ROLES):
        raise ValueError(f"the default page {landing.key!r} must be open to every role (everyone lands there)")
    return pages


check(PAGES)


def get(key: str) -> Page:
    """The registered page ``key``.

    Raises
    ------
    KeyError
        No such page (the message lists the pages).
    """
    for page in PAGES:
        if page.key == key:
            return page
    raise KeyError(f"no page {key!r}; the pages are {', '.join(all_keys())}")


def all_keys() -> tuple[str, ...]:
    """The registered pages' keys, in navigation order."""
    return tuple(p.key for p in PAGES)


def default() -> Page:
    """The page opened at ``/``."""
    return next(p for p in PAGES if p.default)


def for_user(access: Access) -> list[Page]:
    """The pages ``access`` may open, in navigation order."""
    return [p for p in PAGES if p.allows(access)]
