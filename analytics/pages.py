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
from datetime import date
from typing import Any

import duckdb

from analytics.access import IMPORT_ROLES, ROLES, Access
from analytics.errors import AccessDenied
from analytics.metrics import (
    churn_report,
    customer,
    data,
    funnel_view,
    overview,
    satisfaction_view,
    tiers_report,
    value_report,
)
from analytics.scope import Scope

#: What a page's address may be: lower-case letters, digits, ``-`` and ``_``.
_KEY = re.compile(r"^[a-z][a-z0-9_-]*$")
#: What an int or float option accepts: plain decimal numbers.
_INT = re.compile(r"^[+-]?[0-9]+$")
_FLOAT = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


@dataclass(frozen=True)
class Option:
    """A setting of one page beyond the global filters (the value page's horizon, the customer
    detail's customer): a keyword argument of the page's loader, a URL parameter of the page
    and a ``report`` option (``--horizon-months``), with the same name and the same checks.

    Parameters
    ----------
    name
        The loader's keyword and the URL parameter (``horizon_months``); ``report`` spells it
        ``--horizon-months``.
    kind
        ``"int"``, ``"float"``, ``"month"`` (a month, given as ``YYYY-MM``), ``"date"`` (a day,
        ``YYYY-MM-DD``) or ``"text"``.
    default
        Its value when not given; ``None``: the loader derives one (from the data or the
        metric settings) and says which it used.
    low, high
        Bounds of a number or a month (both included).
    help
        One line for ``report --help``.
    """

    name: str
    kind: str
    default: Any = None
    low: Any = None
    high: Any = None
    help: str = ""

    def parse(self, text: str) -> Any:
        """``text`` (from a URL or a command line) as the option's value.

        Raises
        ------
        ValueError
            Saying what the value must be.
        """
        text = str(text).strip()
        if self.kind == "text":
            if not text or len(text) > 200:
                raise ValueError(f"{self.name} must be 1 to 200 characters")
            return text
        if self.kind == "date":
            try:
                value = date.fromisoformat(text) if len(text) == 10 else None
            except ValueError:
                value = None
            if value is None:
                raise ValueError(f"{self.name} {text!r}: give a day as YYYY-MM-DD")
        elif self.kind == "month":
            try:
                value = date.fromisoformat(text + "-01" if len(text) == 7 else text).replace(day=1)
            except ValueError:
                raise ValueError(f"{self.name} {text!r}: give a month as YYYY-MM") from None
        else:
            # plain decimal text only: Python's int() and float() also take "nan", "inf", "1_000" and
            # non-ASCII digits, and NaN passes every bound check
            if not (_INT if self.kind == "int" else _FLOAT).match(text):
                whole = "whole " if self.kind == "int" else ""
                raise ValueError(f"{self.name} {text!r}: give a {whole}number")
            value = int(text) if self.kind == "int" else float(text)
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            low, high = ("…" if v is None else self.show(v) for v in (self.low, self.high))
            raise ValueError(f"{self.name} {text!r}: give a value from {low} to {high}")
        return value

    def show(self, value: Any) -> str:
        """``value`` as text :meth:`parse` reads back (a month as ``YYYY-MM``, a day as ``YYYY-MM-DD``)."""
        if isinstance(value, date):  # %Y: no 0 padding
            day = f"-{value.day:02d}" if self.kind == "date" else ""
            return f"{value.year:04d}-{value.month:02d}{day}"
        return str(value)


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
        Its view-model loader, ``load(con, scope, **options) -> view``: everything the page
        shows for a scope (``None`` for a page that is not scoped) and its options, in one
        read snapshot.
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
    options
        Its own settings (:class:`Option`), passed to ``load`` by keyword when given.
    compares
        Whether it shows the comparison period (the value page and the customer detail are as of
        the period's end: ``report`` then names no comparison).
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
    options: tuple[Option, ...] = ()
    compares: bool = True

    def __post_init__(self) -> None:
        if not _KEY.match(self.key):
            raise ValueError(f"page key {self.key!r}: use lower-case letters, digits, - and _ (it is a URL path)")
        if not self.roles or not self.roles <= set(ROLES):
            raise ValueError(f"page {self.key!r}: roles must be some of {', '.join(ROLES)}, not {sorted(self.roles)}")
        if not self.script.endswith(".py"):
            raise ValueError(f"page {self.key!r}: the script must be a .py file, not {self.script!r}")
        names = [o.name for o in self.options]
        if len(set(names)) != len(names) or any(not re.match(r"^[a-z][a-z0-9_]*$", n) for n in names):
            raise ValueError(f"page {self.key!r}: option names must be distinct lower_case words, not {names}")

    def option(self, name: str) -> Option:
        """The page's option ``name`` (``KeyError`` naming the page's options when it has none such)."""
        for option in self.options:
            if option.name == name:
                return option
        raise KeyError(f"the {self.key} page has no option {name!r}; its options are "
                       f"{', '.join(o.name for o in self.options) or 'none'}")

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
    Page("value", title="nav_value", icon=":material/diamond:", script="pages/value.py",
         roles=frozenset(ROLES), load=value_report.load, report=value_report.report, text=value_report.report_lines,
         label="Customer value", compares=False,
         options=(Option("horizon_months", "int", 12, 1, 60, "months of future value in the CLV"),
                  Option("discount_rate", "float", None, 0.0, 0.5,
                         "yearly discount rate, 0.10 for 10 percent (default: the metric setting)"),
                  Option("holdout_from", "month", None, date(1900, 1, 1), date(2100, 12, 1),
                         "first held-out month of the holdout check, YYYY-MM (default: the last quarter of the data)"),
                  Option("margin", "float", None, -1.0, 1.0,
                         "margin rate for every customer, 0.3 for 30 percent "
                         "(default: the data's cost, else the setting)"))),
    Page("churn", title="nav_churn", icon=":material/person_remove:", script="pages/churn.py",
         roles=frozenset(ROLES), load=churn_report.load, report=churn_report.report, text=churn_report.report_lines,
         label="Churn & retention",
         options=(Option("window_days", "int", None, 30, 730,
                         "inactivity window W in days: churned when the last purchase is more than W days before "
                         "(default: from the data's purchase gaps)"),
                  Option("as_of", "date", None, date(1900, 1, 1), date(2100, 12, 31),
                         "as-of day A, YYYY-MM-DD, in the period (default: its last day, or the data's end)"))),
    Page("satisfaction", title="nav_satisfaction", icon=":material/sentiment_satisfied:",
         script="pages/satisfaction.py", roles=frozenset(ROLES), load=satisfaction_view.load,
         report=satisfaction_view.report, text=satisfaction_view.report_lines, label="Satisfaction & loyalty",
         options=(Option("loyal_min", "int", None, low=satisfaction_view.LOYAL_RANGE[0],
                         high=satisfaction_view.LOYAL_RANGE[1],
                         help="loyal: at least N purchase days in the 12 months ending with the period's last "
                              f"month (default: {satisfaction_view.LOYAL_MIN})"),
                  Option("target_days", "int", None, *satisfaction_view.TARGET_RANGE,
                         help="a complaint's resolution target T in days "
                              f"(default: {satisfaction_view.TARGET_DAYS})"),
                  Option("retention_months", "int", None, *satisfaction_view.RETENTION_RANGE,
                         help="retained after a complaint: a purchase in the H months after its month "
                              f"(default: {satisfaction_view.RETENTION_MONTHS})"))),
    Page("tiers", title="nav_tiers", icon=":material/change_history:", script="pages/tiers.py",
         roles=frozenset(ROLES), load=tiers_report.load, report=tiers_report.report, text=tiers_report.report_lines,
         label="Customer tiers",
         options=(Option("by", "text", None, help="rank customers by revenue (default) or margin"),
                  Option("preset", "text", None, help="pyramid (platinum/gold/iron/lead, default) or key "
                                                      "(key/ordinary/small)"),
                  Option("cuts", "text", None, help="cumulative cut points, e.g. 0.01,0.05,0.2 (default: the "
                                                    "preset's; the pyramid's from the metric setting)"),
                  Option("names", "text", None, help="tier names best first, comma-separated (default: the "
                                                     "preset's)"))),
    Page("funnel", title="nav_funnel", icon=":material/filter_alt:", script="pages/funnel.py",
         roles=frozenset(ROLES), load=funnel_view.load, report=funnel_view.report, text=funnel_view.report_lines,
         label="Funnel",
         options=(Option("order", "text", None,
                         help="strict (default): a customer counts at a stage only after every stage before it; "
                              "any: at every stage they reached"),
                  Option("loyal_min", "int", None, *funnel_view.LOYAL_RANGE,
                         help="loyal: at least N purchase days in 12 months "
                              f"(default: {funnel_view.LOYAL_MIN})"),
                  Option("window_days", "int", None, *funnel_view.WINDOW_RANGE,
                         help="still active: a purchase within W days before the data's end "
                              "(default: the churn page's W; the lifecycle funnel only, not leads)"),
                  Option("stuck_days", "int", None, *funnel_view.STUCK_RANGE,
                         help="stuck: waiting at a stage more than N days (default: each step's 90th "
                              "percentile of its times)"),
                  Option("source", "text", None,
                         help="only the leads from these sources (the lifecycle funnel: the customers of these "
                              "acquisition channels); several separated by commas, e.g. 'Website,Referral' "
                              "(default: every source)"))),
    Page("customer", title="nav_customer", icon=":material/person_search:", script="pages/customer.py",
         roles=frozenset(ROLES), load=customer.customer_detail, report=customer.report, text=customer.report_lines,
         label="Customer detail", compares=False,
         options=(Option("customer", "text", None, help="a customer id (or the start of one, or part of a name)"),)),
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
