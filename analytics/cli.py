"""``python -m analytics``: the import pipeline and the data checks from a shell.

Every command takes ``--json`` for scripts; errors go to stderr with a non-zero exit
status (1: the data or file is wrong, 2: the command line is wrong, 3: the database is
busy in another process). While another process (the running app) holds the database, the
commands that only read (``imports``, ``check``, ``report``) read a copy of it instead.
``report --user EMAIL`` reports as that user of the access file (:mod:`analytics.access`):
their regions only, and only pages their role may open.

``--marts DIR`` (or ``$CRM_MARTS`` when neither ``--db`` nor ``--marts`` is given) reads a folder of built marts
instead of a database (:mod:`analytics.store.served`): the commands that only read (``imports``, ``check``,
``report``) run on it; the others are refused (:data:`SERVED_COMMANDS`).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from analytics import cli_marts, pages
from analytics.access import authorize, default_access_path, load_access
from analytics.cli_text import show_import_report
from analytics.errors import CRMError, OptionError, in_one_line
from analytics.ingest.claims import undo_preview
from analytics.ingest.orders import AMENDED_POLICIES
from analytics.ingest.pipeline import DATE_ORDERS, SCALES, Progress, import_file, undo_import
from analytics.ingest.schema import KINDS
from analytics.report import FILTER_OPTIONS, report_scope, report_text, run_report
from analytics.report import add_arguments as add_report_arguments
from analytics.scope import data_months
from analytics.store import audits, marts, served, settings
from analytics.store.connection import DatabaseBusy, connect, copy_for_reading, data_version, default_db_path
from analytics.store.export import export_parquet
from analytics.store.ledger import import_history


def _source_arguments(parser: argparse.ArgumentParser, default: Any) -> None:
    """``--db`` or ``--marts``: before the command (``python -m analytics --marts DIR report churn``) or after it
    (``report churn --marts DIR``), as people write it. After it they are ``SUPPRESS``ed when not given, so that
    they do not undo what was given before; one given before and the other after is refused in :func:`main`."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--db", type=Path, default=default,
                        help="database file (default: $CRM_DB, else data/crm.duckdb)")
    source.add_argument("--marts", type=Path, default=default, metavar="DIR",
                        help="read a folder of built marts (python -m analytics marts build) instead of a database, "
                             f"read-only (default: ${served.ENV} when --db is not given)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analytics",
        description="CRM analytics: import files into the database, undo imports, check data.")
    _source_arguments(parser, default=None)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate the demo data set and import it")
    demo.add_argument("--size", type=int, default=20_000, help="number of customers (default 20000)")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--json", action="store_true")

    imp = sub.add_parser("import", help="validate a file and, with --commit, import it")
    imp.add_argument("file", type=Path)
    imp.add_argument("--kind", choices=KINDS)
    imp.add_argument("--encoding", help="text encoding, when it is not detected (e.g. latin-1)")
    imp.add_argument("--sheet", help="Excel sheet name or 1-based number")
    imp.add_argument("--header-row", type=int, help="1-based line of the column names")
    imp.add_argument("--no-header", dest="header_row", action="store_const", const=0,
                     help="the first line is data: the columns are 'column 1', 'column 2', ... and map by "
                          "position (--map customer_id=1); detected when the first line holds values, not names")
    imp.add_argument("--mapping", help="use a saved column mapping")
    imp.add_argument("--map", action="append", default=[], metavar="COLUMN=HEADER",
                     help="map a canonical column to a file header (repeatable)")
    imp.add_argument("--save-mapping", metavar="NAME", help="save the mapping used under NAME")
    imp.add_argument("--date-order", choices=DATE_ORDERS,
                     help="read dates like 01/02/2024 as day/month/year or month/day/year")
    imp.add_argument("--scale", choices=SCALES,
                     help="a feedback file's scores given without a scale: CSAT 1-5 or NPS 0-10 (asked for when the "
                          "scores fit no one scale)")
    imp.add_argument("--amended", choices=AMENDED_POLICIES, default="keep",
                     help="an order the database holds with other lines: keep the stored one (default) or "
                          "replace it with this file's (undoing the import puts it back)")
    padding = imp.add_mutually_exclusive_group()
    padding.add_argument("--pad-ids", dest="pad_ids", action="store_const", const=True, default=None,
                         help="ids that match stored ids only when zero-padded (424 for 000424, as a spreadsheet "
                              "shows a number): pad them to the stored width")
    padding.add_argument("--keep-ids", dest="pad_ids", action="store_const", const=False,
                         help="such ids: keep them as written (they are new ids)")
    imp.add_argument("--commit", action="store_true", help="write the valid new rows")
    imp.add_argument("--user", default=None, help="who imports (recorded in the ledger)")
    imp.add_argument("--json", action="store_true")

    imports = sub.add_parser("imports", help="list the import ledger")
    imports.add_argument("--json", action="store_true")

    undo = sub.add_parser("undo", help="remove the rows one import added")
    undo.add_argument("import_id", type=int)
    undo.add_argument("--user", default=None)
    undo.add_argument("--json", action="store_true")

    check = sub.add_parser("check", help="run the data-quality checks (exit 1 if any fails)")
    check.add_argument("--json", action="store_true")

    add_report_arguments(sub.add_parser("report", help="print a page's figures (computed as the page computes them)"))

    export = sub.add_parser("export", help="write the canonical tables as Parquet (for the marts built elsewhere)")
    export.add_argument("--parquet", type=Path, required=True, metavar="DIR", help="a new or empty folder")
    export.add_argument("--json", action="store_true")
    cli_marts.add_arguments(sub.add_parser("marts", help="build the marts from an export folder (no database)"))
    for name, command in sub.choices.items():  # (marts build reads an export folder, never a database)
        if name != "marts":
            _source_arguments(command, default=argparse.SUPPRESS)
    return parser


def _who(user: str | None) -> str:
    return user or f"cli:{getpass.getuser()}"


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _progress(enabled: bool) -> Progress | None:
    if not enabled:
        return None

    def show(stage: str, fraction: float) -> None:
        print(f"  {fraction:4.0%} {stage}", file=sys.stderr, flush=True)

    return show


def _parse_map(items: Sequence[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        column, sep, header = item.partition("=")
        if not sep or not column.strip():
            raise CRMError(f"--map wants COLUMN=HEADER, got {item!r}")
        mapping[column.strip()] = header.strip()
    return mapping


#: The commands that only read: they run on a copy while another process holds the database.
READING_COMMANDS = frozenset({"imports", "check", "report", "export"})
#: The commands that run on served marts (``--marts``, ``$CRM_MARTS``); the others write or read the database the
#: data lives in, and are refused there.
SERVED_COMMANDS = frozenset({"imports", "check", "report"})
#: What a refused command is, in the refusal.
_DOING = {"import": "importing a file", "demo": "loading the demo data", "undo": "undoing an import",
          "export": "exporting the canonical tables"}


def _served_folder(args: argparse.Namespace) -> Path | None:
    """The marts folder the command reads: ``--marts``, else ``$CRM_MARTS`` unless ``--db`` is given."""
    return args.marts or (served.folder_from_env() if args.db is None else None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.db is not None and args.marts is not None:  # (one before the command, the other after it)
        parser.error("argument --marts: not allowed with argument --db")
    if getattr(args, "access_file", None) and not args.user:
        parser.error("--access-file is used only with --user")
    path = args.db or default_db_path()
    try:
        if args.command == "marts":  # (reads an export folder, no database)
            return cli_marts.run(args)
        folder = _served_folder(args)
        if folder is not None and args.command not in SERVED_COMMANDS:
            raise served.ReadOnly(served.read_only_message(folder, _DOING[args.command]))
        with contextlib.ExitStack() as stack:
            try:
                if folder is not None:
                    con = served.open_marts(folder)
                    stack.callback(con.close)
                    return _run(args, con)
                con = connect(path)
            except DatabaseBusy as exc:
                if args.command not in READING_COMMANDS:
                    print(f"error: {exc}", file=sys.stderr)
                    return 3
                # the running app holds the file: these commands only read, so read a copy
                con = stack.enter_context(copy_for_reading(path))
                print(f"note: the database is open in another process (the running app?); read from a copy "
                      f"taken at {datetime.now():%H:%M:%S}", file=sys.stderr)
            else:
                stack.callback(con.close)
            status = _run(args, con)
            if args.command in CHANGING_COMMANDS:
                _summarize(con, args)
            return status
    except DatabaseBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except (CRMError, duckdb.Error) as exc:
        exc = served.explain(exc) or exc  # (a figure that needs the export of served marts whose export is gone)
        if not isinstance(exc, CRMError):
            return _unexpected(args, exc)
        if getattr(args, "json", False):
            _print_json({"error": str(exc), "kind": type(exc).__name__})
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # what no rule foresaw: one sentence, not a traceback (CRM_DEBUG=1 shows it)
        return _unexpected(args, exc)


def _unexpected(args: argparse.Namespace, exc: Exception) -> int:
    """What no rule foresaw: one sentence, not a traceback (``CRM_DEBUG=1`` raises it again)."""
    if os.environ.get("CRM_DEBUG"):
        raise exc
    said = f"an unexpected error ({in_one_line(exc)}); nothing was written"
    if getattr(args, "json", False):
        _print_json({"error": said, "kind": "UnexpectedError"})
    print(f"error: {said}. Set CRM_DEBUG=1 to see where it happened, and please report it with the file",
          file=sys.stderr)
    return 1


#: The commands that may change the data: the summaries are built after them (:func:`_summarize`).
CHANGING_COMMANDS = ("import", "demo", "undo")


def _summarize(con: Any, args: argparse.Namespace) -> None:
    """After the command's output, build the summaries its change left stale (:mod:`analytics.store.marts`)."""
    sys.stdout.flush()
    try:
        seconds = marts.summarize(con)
    except duckdb.Error as exc:
        print(f"note: the churn summaries could not be built ({in_one_line(exc)}); the pages compute from the "
              "marts meanwhile, and the app builds them when it next opens the database", file=sys.stderr)
    else:
        if seconds is not None and not getattr(args, "json", False):
            print(f"churn summaries built in {seconds:.1f} s", file=sys.stderr)


def _run(args: argparse.Namespace, con: Any) -> int:
    if args.command == "import":
        report = import_file(
            con, args.file, kind=args.kind, encoding=args.encoding, sheet=args.sheet,
            header_row=args.header_row, mapping_name=args.mapping, mapping=_parse_map(args.map),
            date_order=args.date_order, amended=args.amended, pad_ids=args.pad_ids, scale=args.scale,
            commit=args.commit, imported_by=_who(args.user),
            save_as=args.save_mapping, progress=_progress(not args.json and sys.stderr.isatty()),
        ).to_dict()
        _print_json(report) if args.json else show_import_report(report)
        return 0
    if args.command == "demo":
        from analytics.ingest.demo import load_demo

        reports = [r.to_dict() for r in load_demo(con, size=args.size, seed=args.seed)]
        if args.json:
            _print_json(reports)
        else:
            for r in reports:
                print(f"{r['file']}: {r['kind']}, {r['rows_imported']:,} rows imported, "
                      f"{r['rows_rejected']:,} rejected")
            print(f"data version {data_version(con)}")
        return 0 if all(r["rows_rejected"] == 0 for r in reports) else 1
    if args.command == "imports":
        rows = import_history(con)
        if args.json:
            _print_json(rows)
        else:
            for r in rows:
                print(f"#{r['import_id']:<4} {r['imported_at']:%Y-%m-%d %H:%M} {r['status']:<9} "
                      f"{r['kind']:<12} {r['rows_imported']:>10,} new {r['rows_rejected']:>8,} rejected  "
                      f"{r['file_name']}  ({r['imported_by']})")
        return 0
    if args.command == "undo":
        effect = undo_preview(con, args.import_id) if _committed(con, args.import_id) else None
        removed = undo_import(con, args.import_id, undone_by=_who(args.user))
        kept, back = (effect.kept, effect.brought_back) if effect else (0, 0)
        if args.json:
            _print_json({"import_id": args.import_id, "rows_removed": removed, "rows_kept": kept,
                         "rows_brought_back": back, "data_version": data_version(con)})
        else:
            print(f"import #{args.import_id} undone: {removed:,} rows removed"
                  + (f"; {kept:,} rows kept (other imports brought them too)" if kept else "")
                  + (f"; {back:,} rows of other versions put in their place" if back else ""))
        return 0
    if args.command == "check":
        results = audits.run_checks(con)
        if args.json:
            _print_json([{"name": r.name, "description": r.description, "rows": r.count,
                          "sample": json.loads(r.sample.to_json(orient="records", date_format="iso"))}
                         for r in results])
        else:
            for r in results:
                print(f"{'ok  ' if r.passed else 'FAIL'} {r.name}: {r.description}"
                      + ("" if r.passed else f" — {r.count:,} rows"))
        return 0 if all(r.passed for r in results) else 1
    if args.command == "report":
        return _report(args, con)
    if args.command == "export":
        manifest = export_parquet(con, args.parquet)
        if args.json:
            _print_json(manifest)
        else:
            for table, about in manifest["tables"].items():
                print(f"{table}: {about['rows']:,} rows" + (" (by month)" if about["partitioned_by"] else ""))
            print(f"written to {args.parquet} (data version {manifest['data_version']})")
        return 0
    raise AssertionError(args.command)


def _committed(con: Any, import_id: int) -> bool:
    return con.cursor().execute("select count(*) from imports where import_id = ? and status = 'committed'",
                                [import_id]).fetchall()[0][0] == 1


def _report(args: argparse.Namespace, con: Any) -> int:
    """``report``: the user's access first (an error before any figure), then the period
    and filters within the regions they may see, as the page computes them."""
    page = pages.get(args.page)
    user = authorize(load_access(args.access_file or default_access_path()), args.user) if args.user else None
    if user is not None:
        page.require(user)
    own = {o.name for o in page.options}
    others = [f"--{k[7:].replace('_', '-')}" for k, v in vars(args).items()
              if k.startswith("option_") and v is not None and k[7:] not in own]
    if others:
        print(f"error: {', '.join(others)}: the {page.key} page has no such option", file=sys.stderr)
        return 2
    try:
        options = {o.name: o.parse(getattr(args, f"option_{o.name}")) for o in page.options
                   if getattr(args, f"option_{o.name}") is not None}
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not page.scoped:
        given = [option for name, option in FILTER_OPTIONS.items() if getattr(args, name)]
        if given:
            print(f"error: {', '.join(given)}: the {page.key} page has no period or filters", file=sys.stderr)
            return 2
        report = run_report(con, page.key, None, user, options)
        _print_json(report) if args.json else print(report_text(report))
        return 0
    allowed = user.allowed_regions if user else None
    span = data_months(con.cursor(), allowed)
    if span is None:
        where = f" in the regions {user.email} may see ({', '.join(allowed)})" if allowed is not None else ""
        print(f"error: there are no transactions{where} to report on; import some first", file=sys.stderr)
        return 1
    try:
        scope = report_scope(args, span, allowed, tuple(settings.load(con)["tier_cuts"]))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        report = run_report(con, page.key, scope, user, options)
    except OptionError as exc:  # an option that does not fit the period (the churn page's as-of day)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_json(report) if args.json else print(report_text(report))
    return 0
