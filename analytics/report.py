"""``python -m analytics report <page>``: a page's figures as JSON-ready data, computed by
the same function as the page (its registered loader, :attr:`analytics.pages.Page.load`),
for scripts, scheduled reports and tests.

Every report starts with the same fields: ``page``, ``user`` (``{"email", "role"}``, or
``None`` for the local user with full access) and, for a page the filters apply to,
``period``, ``comparison`` (None without one, and for a page that shows none:
:attr:`analytics.pages.Page.compares`), ``filters`` (with a tier filter, also the tiers' cut points
``tier_cuts``) and ``allowed_regions``; the page's own figures follow (:attr:`analytics.pages.Page.report`).

The command's arguments (:func:`add_arguments`) and the scope they ask for (:func:`report_scope`) are
here too; :mod:`analytics.cli` opens the database and prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from analytics import pages
from analytics.access import Access
from analytics.scope import COMPARISONS, TIER_NAMES, Scope, default_period
from analytics.store.snapshot import snapshot

#: The months a report may name: those of the dates an import accepts (1900-2100).
FIRST_MONTH, LAST_MONTH = date(1900, 1, 1), date(2100, 12, 1)


def parse_month(text: str, option: str) -> date:
    """A month given as ``YYYY-MM`` or as a date ``YYYY-MM-DD`` (which stands for its month)."""
    try:
        month = date.fromisoformat(text + "-01" if len(text) == 7 else text).replace(day=1)
    except ValueError:
        raise ValueError(f"{option} {text!r}: give a month as YYYY-MM (or a date YYYY-MM-DD)") from None
    if not FIRST_MONTH <= month <= LAST_MONTH:
        raise ValueError(f"{option} {text!r}: give a month from {FIRST_MONTH:%Y-%m} to {LAST_MONTH:%Y-%m} "
                         "(the dates an import accepts)")
    return month


def add_arguments(report: argparse.ArgumentParser) -> None:
    """The ``report`` command's arguments: the page, the period and the global filters, the user, every page's
    own options (each named once, with the pages that have it) and ``--json``."""
    report.add_argument("page", choices=pages.all_keys())
    report.add_argument("--from", dest="start", metavar="MONTH",
                        help="first month, YYYY-MM (a date stands for its month); default: 12 months before --to")
    report.add_argument("--to", dest="end", metavar="MONTH", help="last month, YYYY-MM; default: the latest with data")
    report.add_argument("--compare", choices=COMPARISONS, default="previous")
    report.add_argument("--region", action="append", default=[], help="a region (repeatable)")
    report.add_argument("--channel", action="append", default=[], help="a channel (repeatable)")
    report.add_argument("--segment", action="append", default=[], help="a customer segment (repeatable)")
    report.add_argument("--tier", action="append", default=[], choices=TIER_NAMES,
                        help="a customer tier (repeatable): the customer pyramid over the period, by revenue, with "
                             "the metric setting's cut points, ranking every customer the user may see")
    report.add_argument("--user", metavar="EMAIL",
                        help="report as this user of the access file: their regions and role (default: the local "
                             "user, full access)")
    report.add_argument("--access-file", type=Path, metavar="PATH",
                        help="with --user: the access file (default: $CRM_ACCESS_FILE, else access.toml)")
    options: dict[str, pages.Option] = {}
    for page in pages.PAGES:
        for option in page.options:
            options.setdefault(option.name, option)
    for name, option in options.items():
        owners = [p.key for p in pages.PAGES if any(o.name == name for o in p.options)]
        report.add_argument("--" + name.replace("_", "-"), dest=f"option_{name}", metavar=option.kind.upper(),
                            help=f"{option.help} ({', '.join(owners)} page)")
    report.add_argument("--json", action="store_true")


#: The arguments of the period and the global filters (:func:`add_arguments`) by their names in the namespace.
FILTER_OPTIONS = {"start": "--from", "end": "--to", "region": "--region", "channel": "--channel",
                  "segment": "--segment", "tier": "--tier"}


def report_scope(args: argparse.Namespace, span: tuple[date, date], allowed: tuple[str, ...] | None,
                 tier_cuts: tuple[float, ...]) -> Scope:
    """The scope the arguments ask for: ``--from``/``--to`` (default: the 12 months up to the last of ``span``,
    the months with data), the filters, the user's ``allowed`` regions and the tiers' ``tier_cuts`` (the metric
    setting). ``ValueError`` with a message for the command line."""
    end = parse_month(args.end, "--to") if args.end else span[1]
    start = parse_month(args.start, "--from") if args.start else default_period(span[0], end)[0]
    return Scope(start=start, end=end, compare=args.compare, regions=tuple(args.region), channels=tuple(args.channel),
                 segments=tuple(args.segment), allowed_regions=allowed, tiers=tuple(args.tier), tier_cuts=tier_cuts)


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dicts, lists, str, int, float, bool and None.

    Tables become lists of row dicts, dataclasses dicts of their fields, dates ISO text
    (``2024-01-05``; a moment with a time of day as ``2024-01-05 14:03:00``), NaN None, numpy
    and Decimal numbers int or float.
    """
    if isinstance(value, pd.DataFrame):
        return [plain(r) for r in value.to_dict(orient="records")]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is pd.NaT:
        return None
    if isinstance(value, datetime) and value.time() != time(0):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()[:10]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is not None and not isinstance(value, bool | int | float | str):
        return float(value)
    return value


def run_report(con: duckdb.DuckDBPyConnection, key: str, scope: Scope | None = None,
               user: Access | None = None, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The figures of page ``key`` for ``scope``, as its page computes them.

    Parameters
    ----------
    con
        The CRM database.
    key
        A registered page (:func:`analytics.pages.all_keys`).
    scope
        The period, filters and allowed regions; required for a scoped page, ignored
        otherwise.
    user
        Who the report is for (``None``: the local user with full access); their regions
        must already be ``scope.allowed_regions``.
    options
        The page's own options (:attr:`analytics.pages.Page.options`) by name, as values;
        those not given take their defaults.

    Returns
    -------
    dict
        JSON-ready: the common fields (see the module docstring), then the page's own.

    Raises
    ------
    AccessDenied
        ``user``'s role may not open the page.
    ValueError
        ``scope.allowed_regions`` is not ``user``'s regions, or a scoped page has no scope.
    """
    page = pages.get(key)
    if user is not None:
        page.require(user)
    options = dict(options or {})
    for name in options:
        page.option(name)  # KeyError for an option the page does not have
    head: dict[str, Any] = {"page": key, "user": {"email": user.email, "role": user.role} if user else None}
    if page.scoped:
        if scope is None:
            raise ValueError(f"the {key} page needs a scope (a period and filters)")
        if user is not None and replace(scope, allowed_regions=user.allowed_regions) != scope:
            raise ValueError(f"the scope's regions {scope.allowed_regions} are not {user.email}'s "
                             f"({user.allowed_regions})")
    with snapshot(con) as state:  # (one state for the whole view, as a page reads it; the tier filter ranks once)
        view = page.load(state, scope if page.scoped else None, **options)
    if page.scoped:
        # the months the view shows (a page may end its period early: the churn page at its as-of day)
        shown = getattr(view, "scope", None)
        shown = shown if isinstance(shown, Scope) else scope
        comparison = shown.comparison() if page.compares else None
        head |= {
            "period": {"start": f"{shown.start:%Y-%m}", "end": f"{shown.end:%Y-%m}", "months": shown.months},
            "comparison": ({"kind": shown.compare, "start": f"{comparison.start:%Y-%m}",
                            "end": f"{comparison.end:%Y-%m}"} if comparison else None),
            "filters": {"regions": list(scope.regions), "channels": list(scope.channels),
                        "segments": list(scope.segments), "tiers": list(scope.tiers)}
            | ({"tier_cuts": list(scope.tier_cuts)} if scope.tiers else {}),
            "allowed_regions": list(scope.allowed_regions) if scope.allowed_regions is not None else None,
        }
    if page.options:
        head["options"] = {o.name: options.get(o.name, o.default) for o in page.options}
    return plain(head | page.report(view))


def report_text(report: dict[str, Any]) -> str:
    """A report (:func:`run_report`) as plain text for a terminal."""
    page = pages.get(report["page"])
    lines = [page.label]
    if page.scoped:
        p, c = report["period"], report["comparison"]
        lines[0] += (f" {p['start']} to {p['end']}"
                     + (f", compared with {c['start']} to {c['end']} ({c['kind']})" if c
                        else ", no comparison" if page.compares else ""))
    if report["user"]:
        lines.append(f"for {report['user']['email']} ({report['user']['role']})"
                     + (f", regions {', '.join(report['allowed_regions'])}"
                        if report.get("allowed_regions") is not None else ""))
    filters = {k: v for k, v in report.get("filters", {}).items() if v}
    if filters:
        lines.append("filters: " + "; ".join(f"{k} = {', '.join(map(str, v))}" for k, v in filters.items()))
    return "\n".join(lines + page.text(report))
