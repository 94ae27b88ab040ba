"""Mapping a file's columns onto the canonical columns of a kind.

The proposal comes from header synonyms in English and Chinese (``analytics.ingest.schema``);
an explicit mapping (``{canonical: file header}``, a header also given by its position: ``3``
or ``column 3``) overrides it column by column, and a mapping can be saved under a name and
reused for the next file from the same source.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

import duckdb

from analytics.errors import MappingError
from analytics.ingest.schema import (
    COLUMNS,
    INSTEAD_OF,
    KINDS,
    missing_required,
    normalize_header,
    required_columns,
)
from analytics.store.connection import WRITE_LOCK


@dataclass(frozen=True)
class Mapping:
    """Which file column (by position) feeds each canonical column of ``kind``."""

    kind: str
    columns: dict[str, int]          # canonical name -> index into the file's headers
    headers: tuple[str, ...]

    def header_of(self, canonical: str) -> str:
        """The file header that feeds ``canonical``."""
        return self.headers[self.columns[canonical]]

    def as_names(self) -> dict[str, str]:
        """``{canonical: file header}``, the form saved and shown."""
        return {name: self.headers[i] for name, i in self.columns.items()}

    @property
    def unmapped(self) -> list[str]:
        """File headers that feed no canonical column."""
        used = set(self.columns.values())
        return [h for i, h in enumerate(self.headers) if i not in used]


def _candidates(kind: str, headers: list[str]) -> dict[str, int]:
    """Synonym matches: each canonical column to the best header, each header used once."""
    folded = [normalize_header(h) for h in headers]
    pairs = []
    for col in COLUMNS[kind]:
        synonyms = [normalize_header(s) for s in col.synonyms]
        for idx, name in enumerate(folded):
            if name in synonyms:
                pairs.append((synonyms.index(name), not col.required, idx, col.name))
    chosen: dict[str, int] = {}
    used: set[int] = set()
    for _rank, _optional, idx, name in sorted(pairs):
        if name not in chosen and idx not in used:
            chosen[name] = idx
            used.add(idx)
    return chosen


def detect_kind(headers: list[str]) -> str | None:
    """The kind whose required columns all match and which matches the most columns."""
    best, best_score = None, -1
    for kind in KINDS:
        found = _candidates(kind, headers)
        if missing_required(kind, found):
            continue
        # required matches weigh most (a score a complaint export does without, less); among
        # equals, the more specific kind wins
        score = 10 * len(required_columns(kind)) - 5 * len(done_without(kind, found)) + len(found)
        if score > best_score:
            best, best_score = kind, score
    return best


def done_without(kind: str, mapped: dict[str, int]) -> list[str]:
    """The required columns of ``kind`` a file does without (:data:`~analytics.ingest.schema.INSTEAD_OF`)."""
    return [r for r in required_columns(kind) if r not in mapped and (kind, r) in INSTEAD_OF]


def _questions_by_scale_column(kind: str, columns: dict[str, int]) -> None:
    """A feedback file with a scale column and one question column (``满意度`` beside ``量表``):
    its scores are of the scale each row names, so the column is the score column (a survey
    export in one row per answer names its score column as it likes)."""
    questions = [q for q in ("csat_score", "nps_score") if q in columns]
    if kind == "feedback" and "scale" in columns and "score" not in columns and len(questions) == 1:
        columns["score"] = columns.pop(questions[0])


def propose_mapping(headers: list[str], kind: str | None = None,
                    explicit: dict[str, str] | None = None) -> Mapping:
    """The mapping for a file with these headers.

    Parameters
    ----------
    headers
        The file's column names, in order.
    kind
        The kind of file; default detected from the headers.
    explicit
        ``{canonical: header}`` choices that override the synonyms; an empty header
        (``""`` or None) unmaps that canonical column. A header may also be a 1-based
        position, ``3`` or ``column 3`` (see :func:`column_index`): how the columns of a
        file without a header row are named.

    Raises
    ------
    MappingError
        Unknown kind, unknown canonical or header names, or required columns missing.
    """
    if kind is None:
        kind = detect_kind(headers) if not explicit else _kind_for_explicit(headers, explicit)
        if kind is None:
            raise MappingError(
                "cannot tell what kind of file this is from its columns "
                f"({', '.join(headers)}); choose the kind (transactions, customers, feedback, "
                "leads) and map the required columns"
            )
    if kind not in KINDS:
        raise MappingError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    columns = _candidates(kind, headers)
    _questions_by_scale_column(kind, columns)
    for canonical, header in (explicit or {}).items():
        names = [c.name for c in COLUMNS[kind]]
        if canonical not in names:
            raise MappingError(f"{kind} has no column {canonical!r}; its columns are {', '.join(names)}")
        if header in (None, ""):
            columns.pop(canonical, None)
            continue
        idx = column_index(headers, header)
        if idx is None:
            raise MappingError(f"the file has no column {header!r} (for {canonical}); "
                               f"its columns are {', '.join(headers)}")
        for other, j in list(columns.items()):
            if j == idx and other != canonical:
                del columns[other]
        columns[canonical] = idx
    missing = missing_required(kind, columns)
    if missing:
        raise MappingError(
            f"a {kind} file needs the column(s) {', '.join(missing)}, which were not found "
            f"among {', '.join(headers)}; map them explicitly"
        )
    return Mapping(kind=kind, columns=columns, headers=tuple(headers))


_POSITION = re.compile(r"(?:column\s*)?(\d+)", re.IGNORECASE)


def column_index(headers: list[str], header: str) -> int | None:
    """The 0-based position of the file column that ``header`` names, None if none.

    ``header`` is one of ``headers``, else a 1-based position written ``3`` or ``column 3``
    (as the columns of a file without a header row are named: ``column 1``, ``column 2``, ...).
    """
    if header in headers:
        return headers.index(header)
    position = _POSITION.fullmatch(header.strip())
    if position and 1 <= int(position.group(1)) <= len(headers):
        return int(position.group(1)) - 1
    return None


def _kind_for_explicit(headers: list[str], explicit: dict[str, str]) -> str | None:
    detected = detect_kind(headers)
    if detected is not None:
        return detected
    for kind in KINDS:
        names = {c.name for c in COLUMNS[kind]}
        if set(explicit) <= names and not missing_required(kind, set(explicit) | set(_candidates(kind, headers))):
            return kind
    return None


def save_mapping(con: duckdb.DuckDBPyConnection, name: str, mapping: Mapping) -> None:
    """Save ``mapping`` under ``name`` (replacing an earlier one of that name).

    ``con`` may be a cursor inside a transaction: the mapping is then saved with it.
    """
    if not name.strip():
        raise MappingError("a saved mapping needs a name")
    with WRITE_LOCK:
        con.execute(
            "insert or replace into saved_mappings values (?, ?, ?, ?)",
            [name.strip(), mapping.kind, json.dumps(mapping.as_names(), ensure_ascii=False),
             datetime.now()],
        )


def load_mapping(con: duckdb.DuckDBPyConnection, name: str) -> tuple[str, dict[str, str]]:
    """The (kind, ``{canonical: header}``) saved under ``name``.

    Raises
    ------
    MappingError
        If there is no mapping of that name.
    """
    rows = con.cursor().execute(
        "select kind, mapping from saved_mappings where name = ?", [name]
    ).fetchall()
    if not rows:
        saved = [r[0] for r in con.cursor().execute(
            "select name from saved_mappings order by name").fetchall()]
        raise MappingError(f"no saved mapping called {name!r}"
                           + (f"; saved: {', '.join(saved)}" if saved else ""))
    return rows[0][0], json.loads(rows[0][1])


def saved_mappings(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, dict[str, str]]]:
    """Every saved mapping as (name, kind, ``{canonical: header}``)."""
    rows = con.cursor().execute(
        "select name, kind, mapping from saved_mappings order by name").fetchall()
    return [(n, k, json.loads(m)) for n, k, m in rows]
