"""Every mart and summary built from an export folder (:mod:`analytics.store.export`) into Parquet files:
``python -m analytics marts build --engine duckdb|spark --input DIR --output DIR``.

The same SQL models, in the same order, as the embedded database builds them (:data:`analytics.store.marts.MARTS`,
then :data:`~analytics.store.marts.SUMMARIES`; a model whose name starts with ``_`` is a step, not written), read
from the export's tables (each table's columns as the export's manifest lists them: the ``month`` folders are the
layout, not a column). On DuckDB the SQL runs as written; on Spark it is translated by SQLGlot
(:mod:`analytics.store.build_spark`), never kept twice.

The output folder (it must be new or empty):

- ``<model>/``: one folder per model, its rows in ``*.parquet`` files (one on DuckDB, one per task on Spark);
- ``_meta/``: the export's own ``_meta`` (settings and imports, what the app shows beside the marts), copied;
- ``manifest.json``: the engine, which models built them (:func:`analytics.store.marts.models_version`), from which
  export (its folder and data version), with each model's rows and seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import duckdb

from analytics.store import marts
from analytics.store.export import MANIFEST, ExportError, quoted

#: The engines a build runs on.
ENGINES = ("duckdb", "spark")
#: The export's folder of small tables that are not the marts' input (settings, imports), carried to the output.
META = "_meta"


def read_export(folder: str | Path) -> dict:
    """The manifest of the export in ``folder``; ``ExportError`` when there is none."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ExportError(f"{folder} holds no export ({MANIFEST} is missing): write one with "
                          "python -m analytics export --parquet DIR")
    return json.loads(path.read_text(encoding="utf-8"))


def models() -> list[str]:
    """Every model in build order, steps (``_``) included."""
    return marts.MARTS + marts.SUMMARIES


def written() -> list[str]:
    """The models a build writes (not the ``_`` steps), in build order."""
    return [m for m in models() if not m.startswith("_")]


def model_files(folder: str | Path, name: str) -> str:
    """The glob of model ``name``'s Parquet files in a build's output ``folder``."""
    return str(Path(folder) / name / "*.parquet")


def export_files(folder: str | Path, table: str) -> str:
    """The glob of every Parquet file of ``table`` in an export ``folder`` (its month folders included)."""
    return str(Path(folder) / table / "**" / "*.parquet")


def register_export(con: duckdb.DuckDBPyConnection, source: str | Path, export: dict) -> None:
    """Each table of the export in ``source`` (manifest ``export``) as a view of ``con`` with its columns."""
    for table, about in export["tables"].items():
        con.execute(f"create or replace view {table} as select {', '.join(about['columns'])} from read_parquet("
                    f"{quoted(Path(export_files(source, table)))}, hive_partitioning = true, union_by_name = true)")


def prepare(source: str | Path, target: str | Path) -> tuple[Path, Path, dict]:
    """Check both folders before anything is written: (source, target, the export's manifest). The target is made
    (empty) and the export's ``_meta`` copied into it."""
    source, target = Path(source), Path(target)
    export = read_export(source)
    for table in export["tables"]:
        if not any((source / table).rglob("*.parquet")):
            raise ExportError(f"the export in {source} lacks the table {table} (no Parquet file under "
                              f"{source / table}): export again with python -m analytics export --parquet DIR")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ExportError(f"{target} is {'a file' if not target.is_dir() else 'not empty'}: build into a new or "
                          "empty folder")
    target.mkdir(parents=True, exist_ok=True)
    if (source / META).is_dir():
        shutil.copytree(source / META, target / META)
    return source, target, export


def finish(target: Path, source: Path, export: dict, engine: str, built: dict, **about) -> dict:
    """Write and return the output's manifest (module docstring)."""
    manifest = {"engine": engine, **about, "models_version": marts.models_version(models()),
                "input": str(source.resolve()), "source_data_version": export.get("data_version"),
                "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "models": built}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def build_duckdb(source: str | Path, target: str | Path, *, threads: int | None = None) -> dict:
    """Build every model on DuckDB from the export in ``source`` into ``target`` (module docstring); returns the
    output's manifest."""
    source, target, export = prepare(source, target)
    con = duckdb.connect(config={"threads": threads} if threads else {})
    try:
        register_export(con, source, export)
        built = {}
        for name in models():
            started = time.perf_counter()
            con.execute(f"create {'temp ' if name.startswith('_') else ''}table {name} as {marts.model_sql(name)}")
            if not name.startswith("_"):
                (target / name).mkdir()
                con.execute(f"copy {name} to {quoted(target / name / 'part-0.parquet')} (format parquet)")
                built[name] = {"rows": con.execute(f"select count(*) from {name}").fetchall()[0][0],
                               "seconds": round(time.perf_counter() - started, 3)}
    finally:
        con.close()
    return finish(target, source, export, "duckdb", built, duckdb=duckdb.__version__)


def build(engine: str, source: str | Path, target: str | Path, *, threads: int | None = None,
          master: str | None = None, driver_memory: str | None = None) -> dict:
    """Build on ``engine`` (one of :data:`ENGINES`); returns the output's manifest. A build that fails leaves the
    output folder as it found it (new or empty)."""
    if engine not in ENGINES:
        raise ExportError(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}")
    target = Path(target)
    existed = target.exists()
    try:
        if engine == "duckdb":
            return build_duckdb(source, target, threads=threads)
        from analytics.store import build_spark

        return build_spark.build_spark(source, target, master=master, driver_memory=driver_memory)
    except BaseException:
        if target.is_dir() and not (target / MANIFEST).exists():  # (prepare() found it new or empty)
            if existed:
                for path in target.iterdir():
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
            else:
                shutil.rmtree(target)
        raise
