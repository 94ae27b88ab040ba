"""Who may see what: roles, the regions of each user, and the access file that lists them.

The access file is a TOML file on the server (``access.toml`` next to ``app.py``, or
``$CRM_ACCESS_FILE``), one table per user::

    [users."li.wei@example.com"]
    role = "sales_manager"
    regions = ["华东", "华北"]

    [users."cfo@example.com"]
    role = "executive"

Roles:

- ``executive``: every region, the analysis pages;
- ``sales_manager``: only the regions listed for them, the analysis pages;
- ``analyst``: every region, the analysis pages and the Data page (import, history and
  undo, checks);
- ``admin``: what an analyst has, and changing the metric settings.

A user's regions reach the data only as :attr:`Access.allowed_regions`, which becomes
:attr:`analytics.scope.Scope.allowed_regions`, the one gate every metric reads through.
A file with any mistake is refused as a whole (:class:`~analytics.errors.AccessFileError`),
never used in part.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics.errors import AccessDenied, AccessFileError
from analytics.paths import PROJECT_ROOT

#: The roles, from the narrowest view of the data to the widest powers.
ROLES: tuple[str, ...] = ("executive", "sales_manager", "analyst", "admin")
#: Roles that see every region (no ``regions`` in the file).
ALL_REGION_ROLES: frozenset[str] = frozenset({"executive", "analyst", "admin"})
#: Roles that may import, undo imports and run the checks (the Data page).
IMPORT_ROLES: frozenset[str] = frozenset({"analyst", "admin"})
#: Roles that may change the metric settings.
SETTINGS_ROLES: frozenset[str] = frozenset({"admin"})
#: The keys a user's table may have.
USER_KEYS: tuple[str, ...] = ("role", "regions")
#: The environment variable that names the access file.
ACCESS_FILE_VARIABLE = "CRM_ACCESS_FILE"
#: The example to copy, in the project root.
EXAMPLE_FILE = "access.example.toml"


def email_key(email: str | None) -> str:
    """The form emails are compared in: stripped and lower-case (``""`` for ``None``)."""
    return (email or "").strip().lower()


@dataclass(frozen=True)
class Access:
    """One user's access: their role and, for a sales manager, their regions.

    Parameters
    ----------
    email
        The user's email as written in the access file (surrounding spaces removed);
        compare with :func:`email_key`.
    role
        One of :data:`ROLES`.
    regions
        For a ``sales_manager``, the regions they may see (at least one; values of the
        region column as imported, e.g. ``"华东"``); ``None`` for every other role.

    Raises
    ------
    ValueError
        An empty email, an unknown role, a sales manager without regions, regions for a
        role that sees every region, or a region that is not a non-empty string.
    """

    email: str
    role: str
    regions: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", self.email.strip())
        if not self.email:
            raise ValueError("the email is empty")
        if self.role not in ROLES:
            raise ValueError(f"role {self.role!r} is not one of {', '.join(ROLES)}")
        if self.role in ALL_REGION_ROLES:
            if self.regions is not None:
                raise ValueError(f"role {self.role!r} sees every region: remove 'regions' "
                                 f"(only a sales_manager has a list of regions)")
            return
        if self.regions is not None and not isinstance(self.regions, tuple | list):
            raise ValueError(f'regions must be a list of region names, e.g. regions = ["华东"], not {self.regions!r}')
        if not self.regions:
            raise ValueError("a sales_manager needs 'regions', a non-empty list of the regions they may see, "
                             'e.g. regions = ["华东"]')
        bad = [r for r in self.regions if not isinstance(r, str) or not r.strip()]
        if bad:
            raise ValueError(f"regions must be non-empty strings, not {', '.join(repr(r) for r in bad)}")
        object.__setattr__(self, "regions", tuple(dict.fromkeys(r.strip() for r in self.regions)))

    @property
    def allowed_regions(self) -> tuple[str, ...] | None:
        """The regions this user may see, for :attr:`analytics.scope.Scope.allowed_regions`:
        ``None`` (every region) for an executive, analyst or admin; the listed regions for
        a sales manager."""
        return self.regions

    @property
    def can_import(self) -> bool:
        """Whether the user may import files, undo imports and run the checks."""
        return self.role in IMPORT_ROLES

    @property
    def can_change_settings(self) -> bool:
        """Whether the user may change the metric settings."""
        return self.role in SETTINGS_ROLES


@dataclass(frozen=True)
class AccessFile:
    """The users of an access file.

    Parameters
    ----------
    path
        The file the users were read from (for messages).
    users
        One :class:`Access` per user.

    Raises
    ------
    ValueError
        Two users whose emails differ only in case or surrounding spaces.
    """

    path: Path
    users: tuple[Access, ...]
    _by_email: dict[str, Access] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_email: dict[str, Access] = {}
        for user in self.users:
            other = by_email.setdefault(email_key(user.email), user)
            if other is not user:
                raise ValueError(f"{other.email!r} and {user.email!r} are the same user (emails are compared "
                                 f"ignoring case): list them once")
        object.__setattr__(self, "_by_email", by_email)

    def lookup(self, email: str | None) -> Access | None:
        """The access of the user with this email (ignoring case and surrounding spaces);
        ``None`` when they are not in the file or no email is given."""
        key = email_key(email)
        return self._by_email.get(key) if key else None


def authorize(access_file: AccessFile, email: str | None) -> Access:
    """The access of the user with ``email`` (which pages their role may open is the page
    registry's to say: :meth:`analytics.pages.Page.require`).

    Raises
    ------
    AccessDenied
        The user is not in the access file.
    """
    access = access_file.lookup(email)
    if access is None:
        raise AccessDenied(f"{(email or '').strip() or 'a user without an email'} has no access: "
                           f"not in the access file {access_file.path}")
    return access


def default_access_path() -> Path:
    """The access file: ``$CRM_ACCESS_FILE`` when set, else ``access.toml`` in the project
    root (next to ``app.py``)."""
    env = os.environ.get(ACCESS_FILE_VARIABLE)
    return Path(env) if env else PROJECT_ROOT / "access.toml"


def load_access(path: str | os.PathLike[str]) -> AccessFile:
    """Read and check an access file.

    Parameters
    ----------
    path
        The TOML file; see the module docstring and ``access.example.toml`` for the format.

    Returns
    -------
    AccessFile
        Every user of the file.

    Raises
    ------
    AccessFileError
        The file is missing or unreadable, is not valid TOML (the message and
        :attr:`~analytics.errors.AccessFileError.line`/``column`` give the place), has a
        key other than ``users``, or a user's entry is wrong (the message names the user):
        an unknown role, a sales manager without regions, regions for another role,
        regions that are not a list of non-empty strings, a key other than ``role`` and
        ``regions``, or an email listed twice in different case. Nothing is returned in part.
    """
    path = Path(path)
    data = _read_toml(path)
    unknown = [k for k in data if k != "users"]
    if unknown:
        raise AccessFileError(f"{path}: unknown top-level key {_names(unknown)}; the file has only tables "
                              f'[users."EMAIL"] (see {EXAMPLE_FILE})', path=str(path))
    users = data.get("users", {})
    if not isinstance(users, dict):
        raise AccessFileError(f'{path}: "users" must be tables [users."EMAIL"], not a {type(users).__name__}',
                              path=str(path))
    accesses = []
    for email, entry in users.items():
        try:
            accesses.append(_user(email, entry))
        except ValueError as exc:
            raise AccessFileError(f"{path}: user {email!r}: {exc}", path=str(path), email=email) from None
    try:
        return AccessFile(path=path, users=tuple(accesses))
    except ValueError as exc:
        raise AccessFileError(f"{path}: {exc}", path=str(path)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    """The parsed file, or an :class:`AccessFileError` saying why it cannot be read."""
    try:
        # utf-8-sig: Notepad and some editors save UTF-8 with a byte order mark
        return tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        raise AccessFileError(f"no access file at {path}: copy {EXAMPLE_FILE} (next to app.py) to {path} and list "
                              f"the users, or set {ACCESS_FILE_VARIABLE} to the file", path=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        line, column = _place(exc)
        raise AccessFileError(f"{path}: not valid TOML: {exc}", path=str(path), line=line, column=column) from None
    except UnicodeDecodeError as exc:
        raise AccessFileError(f"{path}: not UTF-8 text (byte {exc.start + 1}); save it as UTF-8",
                              path=str(path)) from None
    except OSError as exc:
        raise AccessFileError(f"{path}: cannot be read: {exc.strerror or exc}", path=str(path)) from None


def _place(exc: tomllib.TOMLDecodeError) -> tuple[int | None, int | None]:
    """The 1-based line and column of a TOML syntax error, when tomllib gives them
    (as attributes from Python 3.14, in the message before)."""
    line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    if line is None and (found := re.search(r"at line (\d+), column (\d+)", str(exc))):
        line, column = int(found[1]), int(found[2])
    return line, column


def _user(email: str, entry: Any) -> Access:
    """One user's table as an :class:`Access`; ``ValueError`` says what is wrong with it."""
    if not isinstance(entry, Mapping):
        raise ValueError(f'write the user as a table, [users."{email}"] with role = "..."')
    unknown = [k for k in entry if k not in USER_KEYS]
    if unknown:
        raise ValueError(f"unknown key {_names(unknown)}; a user has only {' and '.join(USER_KEYS)}")
    if "role" not in entry:
        raise ValueError(f"no role; give one of {', '.join(ROLES)}")
    return Access(email=email, role=entry["role"], regions=entry.get("regions"))


def _names(keys: Iterable[str]) -> str:
    """Keys for a message: ``'a'`` or ``'a', 'b'``."""
    return ", ".join(repr(k) for k in keys)
