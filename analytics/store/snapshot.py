"""One consistent view of the database for everything a page reads.

DuckDB commits a transaction at once: one statement, or several inside one read
transaction, never sees part of an import (its rows without its ledger entry and data
version, or the other way round); ``bench/reader_visibility.py`` checks it. Two statements
in autocommit mode are two snapshots, and a commit can fall between them: a reader that
read the ledger and then the rows saw rows the ledger did not list yet (issue 10, #7). So
everything a page shows is read in one :class:`Snapshot`: the app's loader pins each page's
loader to one (:func:`ui.loaders.load_view`), and the snapshot holds the data version it
reads, so the figures and the version they belong to come from the same state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


class Snapshot:
    """One cursor in one read transaction, handed to the query functions in place of the
    connection (they ask it for a cursor per query): every query of a page then reads the
    same committed state, so an import committed while the page computes never gives it
    half old, half new figures."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._cur = con.cursor()
        self._cur.execute("begin transaction")
        self._version: int | None = None

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """The snapshot's cursor (the same one every time)."""
        return self._cur

    def execute(self, sql: str, parameters: object = None) -> duckdb.DuckDBPyConnection:
        """Run a query in the snapshot (as ``con.execute`` would on a connection)."""
        return self._cur.execute(sql, parameters)

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
