"""The command line's ``marts`` commands (:mod:`analytics.cli` hands them over; they read no database):
``python -m analytics marts build --engine duckdb|spark --input DIR --output DIR``, every mart and summary built from
an export folder (:mod:`analytics.store.export`) into Parquet files (:mod:`analytics.store.build`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from analytics.store.build import ENGINES, build


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``marts`` command's subcommands and options on ``parser``."""
    sub = parser.add_subparsers(dest="marts_command", required=True)
    build = sub.add_parser("build", help="build every mart and summary from an export folder into Parquet files")
    build.add_argument("--engine", choices=ENGINES, default="duckdb")
    build.add_argument("--input", type=Path, required=True, metavar="DIR", help="a folder written by export --parquet")
    build.add_argument("--output", type=Path, required=True, metavar="DIR", help="a new or empty folder")
    build.add_argument("--threads", type=int, default=None, help="DuckDB's worker threads (default: one per core)")
    build.add_argument("--master", default=None, help="Spark's master (default: $SPARK_MASTER, else local[*])")
    build.add_argument("--driver-memory", default=None,
                       help="Spark's driver memory (default: $SPARK_DRIVER_MEMORY, else 4g on a local master)")
    build.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Run a ``marts`` command; return the exit status (errors are the caller's to report)."""
    manifest = build(args.engine, args.input, args.output, threads=args.threads, master=args.master,
                     driver_memory=args.driver_memory)
    if args.json:
        print(json.dumps(manifest, ensure_ascii=False, indent=2))
    else:
        for name, about in manifest["models"].items():
            print(f"{name}: {about['rows']:,} rows in {about['seconds']:.2f} s")
        print(f"built on {manifest['engine']} into {args.output}")
    return 0
