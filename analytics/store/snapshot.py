"""One consistent view of the database for everything a page reads.

DuckDB commits a transaction at once: one statement, or several inside one read
transaction, never sees part of an import (its rows without its ledger entry and data
version, or the other way round); ``bench/reader_visibility.py`` checks it. Two statements
in autocommit mode are two snapshots, and a commit can fall between them: a reader that
read the ledger and then the rows saw rows the ledger did not list yet (issue 10, #7). So
everything a page shows is read in one :class:`Snapshot`: the app's loader pins each page's
loader to one (:func:`ui.loaders.load_view`), and the snapshot holds the data version it
reads, so the figures and the version they belong to come from the same state.

A snapshot also computes once a subquery that every query of a page would run again (the tier
filter's ranking, :mod:`analytics.scope`): a query marks it ``/*once*/(select ...)/*end once*/``
(:data:`ONCE`); the first time, the snapshot stores its rows in a temporary table of its own
cursor (created in its read transaction), and every query with the same subquery text and
parameters reads that table instead. The rows cannot differ (one snapshot reads one state); the
table is the cursor's (another session's snapshot never sees it) and goes with the transaction's
rollback. On a bare connection the mark is a comment and the subquery runs where it stands: the
same rows, each time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

#: How a query marks a subquery a snapshot computes once (its text between the two, with its own ``?``
#: parameters; no mark inside another).
ONCE = ("/*once*/(", ")/*end once*/")


class Snapshot:
    """One cursor in one read transaction, handed to the query functions in place of the
    connection (they ask it for a cursor per query): every query of a page then reads the
    same committed state, so an import committed while the page computes never gives it
    half old, half new figures. Subqueries marked :data:`ONCE` run once in it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._cur = con.cursor()
        self._cur.execute("begin transaction")
        self._version: int | None = None
        self._tables: dict[tuple[str, str], str] = {}  # (subquery, its parameters' repr) -> temporary table

    def cursor(self) -> Snapshot:
        """The snapshot itself (every query of it runs through :meth:`execute` on its one cursor)."""
        return self

    def execute(self, sql: str, parameters: Any = None) -> duckdb.DuckDBPyConnection:
        """Run a query in the snapshot (as ``con.execute`` would on a connection), its :data:`ONCE`
        subqueries read from the tables made of them (made here the first time)."""
        if ONCE[0] in sql and (parameters is None or isinstance(parameters, list | tuple)):
            sql, parameters = self._reuse(sql, list(parameters or []))
        return self._cur.execute(sql, parameters)

    def __getattr__(self, name: str) -> Any:
        """Anything else a cursor has (``fetchall`` after :meth:`execute`, ...), from the snapshot's cursor."""
        if name == "_cur":  # (not set yet: no cursor to ask)
            raise AttributeError(name)
        return getattr(self._cur, name)

    def _reuse(self, sql: str, params: list) -> tuple[str, list]:
        """``sql`` and ``params`` with each marked subquery replaced by its table. As given when the
        marks or the ``?`` do not add up (a mark in a mark, more ``?`` than parameters): that query then
        runs its subqueries itself."""
        marks = placeholders(sql)
        if len(marks) != len(params):
            return sql, params
        text, kept, at = [], [], 0
        while (start := sql.find(ONCE[0], at)) >= 0:
            inner_at = start + len(ONCE[0])
            end = sql.find(ONCE[1], inner_at)
            if end < 0 or ONCE[0] in sql[inner_at:end]:
                return sql, params
            inner = [i for i, m in enumerate(marks) if inner_at <= m < end]
            kept += [params[i] for i, m in enumerate(marks) if at <= m < start]
            table = self._table(sql[inner_at:end], [params[i] for i in inner])
            text += [sql[at:start], f"(select * from temp.{table})"]
            at = end + len(ONCE[1])
        kept += [params[i] for i, m in enumerate(marks) if m >= at]
        return "".join(text) + sql[at:], kept

    def _table(self, sql: str, params: list) -> str:
        """The temporary table of the rows of ``sql`` with ``params``, made on first use."""
        key = (sql, repr(params))
        if key not in self._tables:
            name = f"snapshot_once_{len(self._tables) + 1}"
            self._cur.execute(f"create temp table {name} as {sql}", params)
            self._tables[key] = name
        return self._tables[key]

    @property
    def data_version(self) -> int:
        """The data version of the state this snapshot reads."""
        if self._version is None:
            self._version = int(self._cur.execute(
                "select value from meta where key = 'data_version'").fetchall()[0][0])
        return self._version

    def close(self) -> None:
        """End the read transaction (nothing to keep: it only read)."""
        try:
            self._cur.execute("rollback")
        finally:
            self._cur.close()


def placeholders(sql: str) -> list[int]:
    """Where ``sql``'s ``?`` parameters are: outside quoted text and comments."""
    found, i, n = [], 0, len(sql)
    closing = {"'": "'", '"': '"', "--": "\n", "/*": "*/"}
    while i < n:
        two = sql[i:i + 2]
        opener = two if two in closing else sql[i] if sql[i] in closing else None
        if opener is None:
            if sql[i] == "?":
                found.append(i)
            i += 1
            continue
        end = sql.find(closing[opener], i + len(opener))
        i = n if end < 0 else end + len(closing[opener])
    return found


@contextmanager
def snapshot(con: duckdb.DuckDBPyConnection | Snapshot) -> Iterator[Snapshot]:
    """A :class:`Snapshot` of ``con`` for the ``with`` block, closed after it. Given a
    snapshot, the block reads in it (so loaders that take one snapshot each can be pinned
    to one snapshot together)."""
    if isinstance(con, Snapshot):
        yield con
        return
    view = Snapshot(con)
    try:
        yield view
    finally:
        view.close()
