"""Every mart and summary built from an export folder (:mod:`analytics.store.export`) into Parquet files:
``python -m analytics marts build --engine duckdb --input DIR --output DIR``.

The same SQL models, in the same order, as the embedded database builds them (:data:`analytics.store.marts.MARTS`,
then :data:`~analytics.store.marts.SUMMARIES`; a model whose name starts with ``_`` is a step, not written), read
from views over the export's files (each table's columns as the export's manifest lists them: the ``month`` folders
are the layout, not a column). Each model is written to ``OUTPUT/<model>.parquet``; ``OUTPUT/manifest.json`` says
which models built them (:func:`analytics.store.marts.models_version`), from which export (its data version), with
each model's rows and seconds. The output folder must be new or empty.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb

from analytics.store import marts
from analytics.store.export import MANIFEST, ExportError, quoted

#: The engines a build runs on.
ENGINES = ("duckdb",)


def read_export(folder: str | Path) -> dict:
    """The manifest of the export in ``folder``; ``ExportError`` when there is none."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ExportError(f"{folder} holds no export ({MANIFEST} is missing): write one with "
                          "python -m analytics export --parquet DIR")
    return json.loads(path.read_text(encoding="utf-8"))


def build_duckdb(source: str | Path, target: str | Path, *, threads: int | None = None) -> dict:
    """Build every model on DuckDB from the export in ``source`` into ``target`` (module docstring); returns the
    output's manifest."""
    source, target = Path(source), Path(target)
    export = read_export(source)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ExportError(f"{target} is {'a file' if not target.is_dir() else 'not empty'}: build into a new or "
                          "empty folder")
    target.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"threads": threads} if threads else {})
    try:
        for table, about in export["tables"].items():
            con.execute(f"create view {table} as select {', '.join(about['columns'])} from read_parquet("
                        f"{quoted(source / table)} || '/**/*.parquet', hive_partitioning = true, "
                        "union_by_name = true)")
        built = {}
        for name in marts.MARTS + marts.SUMMARIES:
            started = time.perf_counter()
            con.execute(f"create {'temp ' if name.startswith('_') else ''}table {name} as {marts.model_sql(name)}")
            if not name.startswith("_"):
                con.execute(f"copy {name} to {quoted(target / f'{name}.parquet')} (format parquet)")
                built[name] = {"rows": con.execute(f"select count(*) from {name}").fetchall()[0][0],
                               "seconds": round(time.perf_counter() - started, 3)}
    finally:
        con.close()
    manifest = {"engine": "duckdb", "models_version": marts.models_version(marts.MARTS + marts.SUMMARIES),
                "source_data_version": export.get("data_version"), "models": built}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest
