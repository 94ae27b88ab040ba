"""One consistent view of the database for everything a page reads."""

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

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """The snapshot's cursor (the same one every time)."""
        return self._cur

    def close(self) -> None:
        """End the read transaction (nothing to keep: it only read)."""
        try:
            self._cur.execute("rollback")
        finally:
            self._cur.close()


@contextmanager
def snapshot(con: duckdb.DuckDBPyConnection) -> Iterator[Snapshot]:
    """A :class:`Snapshot` of ``con`` for the ``with`` block, closed after it."""
    view = Snapshot(con)
    try:
        yield view
    finally:
        view.close()
