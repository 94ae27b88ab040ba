"""Which tables a SQL model reads, from its text: the relations it names after ``from``, ``join`` (and a
``from`` list's commas), ``pivot`` and ``unpivot``, less the names its common table expressions define
where they are in scope.

A CTE's name is in scope after its definition, in the rest of its ``with`` list and its query (and the
subqueries in them), but not in its own body (unless ``with recursive``): so the dbt-style import CTE
``customer_month as (select * from customer_month)`` reads the table ``customer_month``, and a later
``from customer_month`` reads the CTE. A name followed by ``(`` is a table function (``range(1, 25)``),
a quoted string a file, neither a table. ``from`` inside a parenthesis that holds no query
(``extract(year from d)``, ``substring(s from 2)``) names nothing. A qualified name (``main.leads``)
counts by its last part.

Tokens are read with string literals, quoted identifiers and comments taken whole, so a ``from`` in a
comment or a string names nothing.
"""

from __future__ import annotations

import functools
import re

_TOKEN = re.compile(
    r"""(?P<skip>\s+|--[^\n]*|/\*.*?\*/)
       |(?P<string>'(?:[^']|'')*'|\$\$.*?\$\$)
       |(?P<quoted>"(?:[^"]|"")*")
       |(?P<word>[^\W\d]\w*)
       |(?P<number>\d[\w.]*)
       |(?P<other>.)""", re.VERBOSE | re.DOTALL)

#: Words after which a relation is named.
_RELATION = frozenset({"from", "join", "pivot", "unpivot", "pivot_longer", "pivot_wider"})
#: Words that end a ``from`` list (after them a comma separates no relations).
_CLAUSE = frozenset({"select", "where", "group", "having", "qualify", "window", "order", "limit", "offset",
                     "union", "except", "intersect", "values", "returning", "into"})
#: First words of a parenthesis that holds a query (its ``from`` names relations).
_QUERY = frozenset({"select", "with", "from", "values", "table", "pivot", "unpivot", "("})


def _tokens(sql: str) -> list[tuple[str, str]]:
    """``(kind, text)``: kind ``word`` (lower case), ``name`` (a quoted identifier, unquoted), ``string``,
    ``number`` or ``other`` (one character)."""
    out = []
    for match in _TOKEN.finditer(sql):
        kind, text = match.lastgroup, match.group()
        if kind == "skip":
            continue
        if kind == "word":
            text = text.lower()
        elif kind == "quoted":
            kind, text = "name", text[1:-1].replace('""', '"').lower()
        out.append((kind, text))
    return out


class _Reader:
    """One pass over the tokens, collecting the relations named outside any CTE's scope."""

    def __init__(self, sql: str) -> None:
        self.tokens = [*_tokens(sql), ("end", "")]
        self.at = 0
        self.tables: set[str] = set()

    def peek(self, ahead: int = 0) -> tuple[str, str]:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.at += 1
        return token

    def level(self, scope: frozenset[str], query: bool) -> None:
        """Read up to the ``)`` closing this level (or the end), with ``scope`` the CTE names visible."""
        expect = in_from = pivot = False  # a relation comes next; in a from list; after (un)pivot
        brackets = 0  # inside [...] or {...}, where commas separate values
        while True:
            kind, text = self.take()
            if kind == "end" or (kind, text) == ("other", ")"):
                return
            if (kind, text) == ("other", "("):
                self.level(scope, self.peek()[1] in _QUERY and self.peek()[0] in ("word", "other"))
                expect = False
            elif not query:
                continue
            elif (kind, text) == ("word", "with"):
                scope = self.ctes(scope)
            elif kind == "word" and text in _RELATION:
                expect = in_from = True
                pivot = text not in ("from", "join")
            elif kind == "word" and text == "lateral":
                continue
            elif kind == "word" and (text in _CLAUSE or (text == "on" and pivot)):
                expect = in_from = False  # (the columns after (un)pivot's on are no relations; a join's
                # on or using condition may be followed by more of the from list)
            elif kind == "other" and text in "[{]}":
                brackets += 1 if text in "[{" else -1
                expect = False
            elif (kind, text) == ("other", ","):
                expect = in_from and brackets == 0
            elif expect and kind in ("word", "name"):
                while self.peek() == ("other", ".") and self.peek(1)[0] in ("word", "name"):
                    self.at += 1
                    text = self.take()[1]
                if self.peek() != ("other", "(") and text not in scope:
                    self.tables.add(text)
                expect = False
            else:
                expect = False

    def ctes(self, scope: frozenset[str]) -> frozenset[str]:
        """Read a ``with`` list (after ``with``); return ``scope`` with its names."""
        recursive = self.peek() == ("word", "recursive")
        self.at += recursive
        while True:
            name = self.take()[1]
            if self.peek() == ("other", "("):  # its column names
                self.at += 1
                self.level(scope, query=False)
            while self.peek() != ("other", "("):  # as [not materialized]
                if self.take()[0] == "end":
                    return scope
            self.at += 1
            self.level(scope | {name} if recursive else scope, query=True)
            scope = scope | {name}
            if self.peek() != ("other", ","):
                return scope
            self.at += 1


@functools.lru_cache(maxsize=256)
def relations(sql: str) -> frozenset[str]:
    """The tables (and views) that the query ``sql`` reads, by name in lower case; see the module's
    docstring for how they are told from CTEs, table functions and files."""
    reader = _Reader(sql)
    reader.level(frozenset(), query=True)
    return frozenset(reader.tables)
