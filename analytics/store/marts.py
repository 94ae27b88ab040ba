"""Derived tables the pages read: the marts, rebuilt inside every import's and undo's transaction,
and the summaries, built from them after it commits.

Each is one SQL model in ``analytics/store/sql/marts/`` (its first comment states the grain),
built in the order of :data:`MARTS` or :data:`SUMMARIES` (later ones may read earlier ones). A
model whose name starts with ``_`` is a temporary step, dropped once the others are built. The
database records which models built its tables (``meta.marts_version``, :func:`models_version`), so a
release that changes a model rebuilds them when it first opens the database.

**What an import rebuilds**: what each model reads comes from its SQL (:func:`inputs`: the tables
and models it names after ``from`` and ``join``, :mod:`analytics.store.lineage`), so an import or
undo rebuilds only the marts that read a table it wrote, directly or through another mart
(:func:`rebuild` with ``changed``, :func:`downstream`): a leads file rebuilds the leads' marts,
not the customers' months; the others hold the same rows already.

**Summaries** (:data:`SUMMARIES`: the churn page's counts, the tiers page's margins and numbered months,
the customers' purchase months for churn per tier) cost seconds
at 10M rows, more than an import can spare, so they are built after the import commits
(:func:`summarize`: the command line does it at once, the app in the background), each build
stamped with the marts' generation it summarises (``meta.marts_generation`` goes up with every
rebuild that changes what a summary reads: not with an import of feedback or leads, which no
summary reads). Until a build for the current generation has committed
(:func:`summaries_ready`), pages compute the same figures from the marts.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from pathlib import Path

import duckdb

from analytics.store.lineage import relations
from analytics.store.migrations import behind

MARTS_DIR = Path(__file__).resolve().parent / "sql" / "marts"

#: Build order; the table name is the file name.
MARTS: tuple[str, ...] = ("customer_month", "customer_attribute_values", "customer_summary", "sales_month",
                          "feedback_month", "survey_followups", "complaints", "lead_stages", "lead_purchases")
#: The summaries built after an import commits, in build order (:func:`summarize`).
SUMMARIES: tuple[str, ...] = ("customer_numbers", "_churn_rows", "churn_month", "churn_gaps", "churn_returns",
                              "churn_rows", "cohort_month", "margin_month", "customer_month_numbered")


def model_sql(name: str) -> str:
    """The SQL of the derived table ``name`` (``store/sql/marts/<name>.sql``)."""
    return (MARTS_DIR / f"{name}.sql").read_text(encoding="utf-8")


def models_version(models: tuple[str, ...] = MARTS) -> int:
    """A fingerprint of the models (their names, order and SQL): 60 bits of a SHA-256."""
    digest = hashlib.sha256()
    for name in models:
        digest.update(f"{name}\0{model_sql(name)}\0".encode())
    return int(digest.hexdigest()[:15], 16)


def _build(cur: duckdb.DuckDBPyConnection, models: tuple[str, ...]) -> None:
    for name in models:
        temp = "temp " if name.startswith("_") else ""
        cur.execute(f"create or replace {temp}table {name} as {model_sql(name)}")
    for name in models:
        if name.startswith("_"):
            cur.execute(f"drop table {name}")


def _meta(cur: duckdb.DuckDBPyConnection, key: str) -> int | None:
    rows = cur.execute("select value from meta where key = ?", [key]).fetchall()
    return int(rows[0][0]) if rows else None


def inputs(name: str) -> frozenset[str]:
    """The tables and models the model ``name`` reads, from its SQL (:func:`analytics.store.lineage.relations`)."""
    return relations(model_sql(name))


def downstream(changed: Iterable[str]) -> tuple[str, ...]:
    """The models (marts, then summaries, in build order) that read a table of ``changed``, directly or
    through other models: those whose rows a change to those tables can change."""
    dirty, found = set(changed), []
    for name in MARTS + SUMMARIES:  # build order: a model's inputs come before it
        if inputs(name) & dirty:
            dirty.add(name)
            found.append(name)
    return tuple(found)


def rebuild(cur: duckdb.DuckDBPyConnection, changed: Iterable[str] | None = None) -> tuple[str, ...]:
    """Rebuild the marts (inside the caller's transaction) and return their names.

    Parameters
    ----------
    cur
        A cursor in the caller's write transaction.
    changed
        The tables an import or undo wrote: only the marts that read them (:func:`downstream`) are
        rebuilt, the others hold the same rows already. None (or marts missing or built by other
        models: :func:`models_version`): every mart.

    Returns
    -------
    tuple of str
        The marts rebuilt, in build order.

    Notes
    -----
    The summaries go stale (:func:`summaries_ready`, until :func:`summarize` runs) only when one of
    them reads what changed, directly or through a mart (every time for a full rebuild):
    ``meta.marts_generation`` goes up then and only then.
    """
    if changed is not None and _built(cur):
        stale = downstream(changed)
        rebuilt = tuple(m for m in MARTS if m in stale)
        summaries_stale = any(s in stale for s in SUMMARIES)
    else:
        rebuilt, summaries_stale = MARTS, True
        cur.execute("insert or replace into meta values ('marts_version', ?)", [models_version()])
    _build(cur, rebuilt)
    if summaries_stale:
        cur.execute("insert or replace into meta values ('marts_generation', ?)",
                    [(_meta(cur, "marts_generation") or 0) + 1])
    return rebuilt


def _built(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether every mart is there, built by the current models."""
    have = {r[0] for r in cur.execute(
        "select table_name from information_schema.tables where table_schema = 'main'").fetchall()}
    return {m for m in MARTS if not m.startswith("_")} <= have and _meta(cur, "marts_version") == models_version()


def summaries_ready(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the summaries summarise the marts as they are (``con``: a connection or a page's snapshot,
    read in its transaction): built for the current generation by the current models."""
    return _ready(con.cursor())


def _ready(cur: duckdb.DuckDBPyConnection) -> bool:
    built = _meta(cur, "summaries_generation")
    return built is not None and built == (_meta(cur, "marts_generation") or 0) \
        and _meta(cur, "summaries_version") == models_version(SUMMARIES)


def summarize(con: duckdb.DuckDBPyConnection) -> float | None:
    """Build the summaries when they are stale (:func:`summaries_ready`), in one write transaction that
    holds the write lock: an import waits for it, and readers see the old summaries (or none) until it
    commits. Returns the seconds the build took, None when there was nothing to build."""
    from analytics.store.connection import write_transaction  # (connection imports this module)

    if behind(con) or summaries_ready(con):
        return None
    started = time.perf_counter()
    with write_transaction(con) as cur:
        if _ready(cur):  # another thread built them while this one waited for the lock
            return None
        generation = _meta(cur, "marts_generation") or 0  # (none: marts built before generations)
        _build(cur, SUMMARIES)
        cur.execute("insert or replace into meta values ('summaries_generation', ?)", [generation])
        cur.execute("insert or replace into meta values ('summaries_version', ?)", [models_version(SUMMARIES)])
    return time.perf_counter() - started


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """Build the derived tables if a database has none yet (a new or upgraded file), or if
    other models built them (an earlier release: :func:`models_version`).

    A database at an older schema version is left as it is: the models read this release's
    tables, which it has once migrated (:func:`analytics.store.connection.connect` migrates first).
    """
    if behind(con):
        return
    cur = con.cursor()
    if not _built(cur):
        cur.execute("begin transaction")
        try:
            rebuild(cur)
            cur.execute("commit")
        except BaseException:
            cur.execute("rollback")
            raise
