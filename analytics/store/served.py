"""Serving the pages from a folder of built marts (``CRM_MARTS=DIR``, ``python -m analytics --marts DIR``), read-only.

A folder written by ``python -m analytics marts build`` (:mod:`analytics.store.build`, on DuckDB or on Spark) is
opened as an in-memory DuckDB database (:func:`open_marts`) that looks to the pages as the embedded database does:

- every mart and summary a view over its Parquet files, its columns cast to the types the embedded database gives
  them where the files' differ (Spark writes ``INT`` for ``BIGINT`` or ``DECIMAL(28,2)`` for ``DECIMAL(38,2)``; the
  pages never see it); a model's folder without files (no rows) a view without rows;
- the canonical tables (``transactions``, ``customers``, ...: the few gate functions that read the facts) views over
  the export the manifest names as its ``input``; when that folder is gone (or holds another data version: exported
  again since), each is a view that fails, when read,
  with :data:`GONE` in its message (:func:`explain` turns that into :class:`ExportGone`), never with rows that
  are not there;
- ``settings`` and ``imports`` from the build's ``_meta/`` (the export's), ``meta`` with the data version the
  export was taken at and the summaries marked built (the app never builds them), and ``served_marts``: what is
  served (:func:`about`).

Imports, undo, the demo data and saving settings happen where the data lives (the embedded database): export, build
the marts, serve them again. Here :func:`refuse_writes` refuses them. The connection may read only the marts folder
and the export folder (:func:`analytics.store.connection.confine`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb

from analytics.errors import CRMError
from analytics.paths import DATA_DIR
from analytics.store import marts
from analytics.store.build import export_files, model_files, models, written
from analytics.store.connection import confine, connect
from analytics.store.export import LEFT_OUT, MANIFEST, META, META_TABLES, TABLES, quoted

#: The environment variable that makes the app (and the command line) serve a marts folder.
ENV = "CRM_MARTS"
#: The mark in the error a fact table's view raises when the export folder is gone (:func:`explain`).
GONE = "[export gone]"
#: The table that says what is served (:func:`about`).
ABOUT_TABLE = "served_marts"


class ServedError(CRMError):
    """A folder that cannot be served: not a marts build, or built by other models."""


class ReadOnly(CRMError):
    """A write (an import, an undo, the demo data, a settings change) asked of served marts."""


class ExportGone(CRMError):
    """A figure that needs the fact tables, served from marts whose export folder is gone."""


@dataclass(frozen=True)
class Served:
    """What a served connection serves: the marts ``folder``, the ``engine`` that built them and when
    (``built_at``, ISO text in UTC), the data version of the export they were built from, and that export's
    folder (``export``) and whether it is still there (``has_export``)."""

    folder: str
    engine: str
    built_at: str
    source_data_version: int | None
    export: str
    has_export: bool


def folder_from_env() -> Path | None:
    """The marts folder ``$CRM_MARTS`` names (None when it is not set or empty)."""
    value = os.environ.get(ENV, "").strip()
    return Path(value) if value else None


def read_build(folder: str | Path) -> dict:
    """The manifest of the marts build in ``folder``, checked: ``ServedError`` for a folder that is not a build or
    was built by other models than this release's."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ServedError(f"{folder} is not a marts build ({MANIFEST} is missing): build one with python -m analytics "
                          "marts build --input EXPORT --output DIR, then serve DIR")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if "models" not in manifest or "input" not in manifest:
        raise ServedError(f"{folder} is not a marts build ({MANIFEST} is an export's, not a build's): build the marts "
                          "from it with python -m analytics marts build --input EXPORT --output DIR")
    if manifest.get("models_version") != marts.models_version(models()):
        raise ServedError(f"the marts in {folder} were built by other models than this release's: rebuild the marts "
                          "with this release (python -m analytics marts build)")
    return manifest


@cache
def _types() -> dict[str, list[tuple[str, str]]]:
    """Each table's columns and their types in an embedded database of this release (marts and summaries built on
    no rows): what the served views give the pages (the canonical tables without what an export leaves out)."""
    con = connect(":memory:")
    try:
        marts.summarize(con)
        names = [*TABLES, *META_TABLES, *written()]
        return {name: [(r[0], r[1]) for r in con.execute(f"describe {name}").fetchall() if r[0] not in LEFT_OUT]
                for name in names}
    finally:
        con.close()


def _columns(con: duckdb.DuckDBPyConnection, source: str, name: str, where: Path, again: str) -> str:
    """The select list that reads ``source`` (a ``read_parquet``) as table ``name`` of this release: each column
    by name, cast where the files' type differs; ``ServedError`` (saying to ``again``) when one is missing."""
    found = {r[0]: r[1] for r in con.execute(f"describe select * from {source}").fetchall()}
    missing = [c for c, _ in _types()[name] if c not in found]
    if missing:
        raise ServedError(f"{name} in {where} lacks the columns {', '.join(missing)}: {again} with this release")
    return ", ".join(c if found[c] == kind else f"cast({c} as {kind}) as {c}" for c, kind in _types()[name])


def _gone_view(name: str, export: Path, why: str) -> str:
    """A view with ``name``'s columns that fails, when read, saying the export is gone (``why``: how)."""
    said = (f"{GONE} {name} is read from the export the marts were built from, {export}, and {why}: this figure needs "
            "it (the marts alone do not hold it); put the export back there or build the marts from a new one"
            ).replace("'", "''")
    columns = ", ".join(f"cast(error('{said}') as {kind}) as {c}" for c, kind in _types()[name])
    return f"select {columns} from range(1) where error('{said}') is null"


def _export_state(export: Path, manifest: dict) -> tuple[dict, str | None]:
    """The export's tables (its manifest's ``tables``) and why it cannot be read (None when it can): the folder is
    gone, or holds an export of another data version than the marts were built from (exported again since)."""
    path = export / MANIFEST
    if not path.is_file():
        return {}, "that folder is gone"
    listed = json.loads(path.read_text(encoding="utf-8"))
    if listed.get("data_version") != manifest.get("source_data_version"):
        return {}, (f"that folder now holds data version {listed.get('data_version')}, not "
                    f"{manifest.get('source_data_version')} as the marts")
    return listed.get("tables", {}), None


def open_marts(folder: str | Path) -> duckdb.DuckDBPyConnection:
    """The marts in ``folder`` as a read-only CRM database (module docstring).

    Raises
    ------
    ServedError
        ``folder`` is not a marts build, was built by other models, or lacks a model or a column.
    """
    folder = Path(folder).resolve()
    manifest = read_build(folder)
    export = Path(manifest["input"])
    listed, unreadable = _export_state(export, manifest)
    has_export = unreadable is None
    con = connect(":memory:")
    try:
        marts.summarize(con)  # (the meta rows that say the summaries are built for these marts)
        for name in written():
            if not (folder / name).is_dir():
                raise ServedError(f"{folder} lacks the model {name}: rebuild the marts with this release")
            con.execute(f"drop table {name}")
            if not any((folder / name).glob("*.parquet")):  # (an engine may write no file for no rows)
                columns = ", ".join(f"cast(null as {kind}) as {c}" for c, kind in _types()[name])
                con.execute(f"create view {name} as select {columns} where false")
                continue
            source = f"read_parquet({quoted(Path(model_files(folder, name)))})"
            select = _columns(con, source, name, folder, "rebuild the marts (python -m analytics marts build)")
            con.execute(f"create view {name} as select {select} from {source}")
        for table in TABLES:
            con.execute(f"drop table {table}")
            if table in listed and (export / table).is_dir():
                source = (f"read_parquet({quoted(Path(export_files(export, table)))}, hive_partitioning = true, "
                          "union_by_name = true)")
                select = _columns(con, source, table, export, "export again (python -m analytics export --parquet) "
                                  "and rebuild the marts")
                con.execute(f"create view {table} as select {select} from {source}")
            else:
                con.execute(f"create view {table} as "
                            f"{_gone_view(table, export, unreadable or f'its folder {table} is gone')}")
        for table in META_TABLES:
            file = folder / META / f"{table}.parquet"
            if file.is_file():
                names = ", ".join(c for c, _ in _types()[table])
                con.execute(f"insert into {table} ({names}) select {names} from read_parquet({quoted(file)})")
        con.execute("update meta set value = ? where key = 'data_version'", [manifest.get("source_data_version") or 0])
        con.execute(f"create table {ABOUT_TABLE} as select ? as folder, ? as engine, ? as built_at, "
                    "cast(? as bigint) as source_data_version, ? as export, ? as has_export",
                    [str(folder), manifest["engine"], manifest.get("built_at", ""),
                     manifest.get("source_data_version"), str(export), has_export])
        # large sorts spill beside the app's own database (not into the working folder, DuckDB's default here)
        con.execute("set temp_directory = ?", [str(DATA_DIR / ".duckdb_tmp")])
        confine(con, [folder, *([export] if has_export else [])])
    except BaseException:
        con.close()
        raise
    return con


def about(con: duckdb.DuckDBPyConnection) -> Served | None:
    """What ``con`` serves (:class:`Served`); None for the embedded database."""
    cur = con.cursor()
    there = cur.execute("select count(*) from information_schema.tables where table_name = ?",
                        [ABOUT_TABLE]).fetchall()[0][0]
    if not there:
        return None
    row = cur.execute(f"select folder, engine, built_at, source_data_version, export, has_export "
                      f"from {ABOUT_TABLE}").fetchall()[0]
    return Served(*row)


def refuse_writes(con: duckdb.DuckDBPyConnection, what: str) -> None:
    """``ReadOnly`` when ``con`` serves built marts: ``what`` (e.g. "saving the settings") happens where the data
    lives."""
    served = about(con)
    if served is not None:
        raise ReadOnly(read_only_message(served.folder, what))


def read_only_message(folder: str | Path, what: str) -> str:
    """Why ``what`` is refused while the marts in ``folder`` are served."""
    return (f"{what} is not possible here: the marts in {folder} are served read-only; import into the database the "
            "data lives in, export it (python -m analytics export --parquet DIR), build the marts (python -m analytics "
            "marts build) and serve the new folder")


def explain(exc: BaseException) -> ExportGone | None:
    """The :class:`ExportGone` a DuckDB error stands for (a fact table's view whose export folder is gone), else
    None."""
    text = str(exc)
    if not isinstance(exc, duckdb.Error) or GONE not in text:
        return None
    return ExportGone(text[text.index(GONE) + len(GONE):].strip())
