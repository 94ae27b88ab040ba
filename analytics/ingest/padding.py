"""Ids that lost their leading zeros: a file's ids that match stored ids only when zero-padded.

A spreadsheet that took ``000424`` for a number keeps ``424``: imported as written, every such
row is a new customer (or order), and revenue counts twice. :func:`find_padding` looks, per id
column of the file (customer ids, order numbers), for ids made of digits that the database does
not hold as written but holds zero-padded to the width of its own ids (``424`` → ``000424``).
What is found is a decision for the analyst (:func:`tell_padding`): pad the column's shorter ids
to that width (``pad_ids=True``, :func:`apply_padding`) or keep them as written
(``pad_ids=False``); until then the import waits, so nothing is doubled silently.

The queries here are built from fixed column and table names; the file's values are data.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from analytics.ingest.mapping import Mapping
from analytics.ingest.report import ImportReport
from analytics.ingest.validate import content_hash

#: The stored columns an id column of a file is compared with.
ID_SOURCES: dict[str, tuple[str, ...]] = {
    "customer_id": ("transactions", "customers", "feedback", "leads"),
    "transaction_id": ("transactions",),
}
EXAMPLES = 3  # ids shown as examples

DECISION = ("column {header}: {matching} ids match ids in the database only when zero-padded to {width} digits "
            "(e.g. {examples}); pad this file's shorter ids to {width} digits, or keep them as written "
            "(then they are new ids)")
NOTE_PADDED = ("column {header}: {padded} ids zero-padded to {width} digits, as chosen ({matching} of them match "
               "ids in the database, e.g. {examples})")
NOTE_KEPT = ("column {header}: kept as written, as chosen ({matching} ids would match ids in the database if "
             "zero-padded to {width} digits, e.g. {examples})")
#: What to give :func:`analytics.ingest.pipeline.prepare` (and the command line) to decide.
HINT = "choose whether to pad the ids: pad_ids=True or pad_ids=False (on the command line --pad-ids or --keep-ids)"

_DIGITS = "regexp_full_match({col}, '[0-9]+')"


@dataclass(frozen=True)
class Padding:
    """An id column whose ``matching`` ids (digits only) match stored ids only when zero-padded to
    ``width``; ``padded`` of its ids are shorter than that (what padding changes);
    ``examples`` pairs a few of the matching ids with their padded form."""

    column: str
    header: str
    width: int
    matching: int
    padded: int
    examples: tuple[tuple[str, str], ...]

    def as_dict(self, applied: bool | None) -> dict[str, object]:
        """The finding as the report lists it; ``applied``: padded (True), kept (False), undecided (None)."""
        return {"column": self.column, "header": self.header, "width": self.width, "matching": self.matching,
                "padded": self.padded, "examples": [list(e) for e in self.examples], "applied": applied}

    def said(self, template: str) -> str:
        examples = ", ".join(f"{short} → {long}" for short, long in self.examples)
        return template.format(header=self.header, width=self.width, matching=self.matching, padded=self.padded,
                               examples=examples)


def is_decision(text: str) -> bool:
    """Whether a decision the report asks for (``needs_confirmation``) is one of padding."""
    return "ids match ids in the database only when zero-padded" in text


def find_padding(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping) -> list[Padding]:
    """The id columns of a staged file whose ids match stored ids only when zero-padded.

    For each of the file's id columns in :data:`ID_SOURCES`: the widths of the stored ids made
    of digits that start with 0 (none: nothing more to look for; about 0.2 s over 10M stored
    rows); whether the file has digit-only ids shorter than such a width (none: done); then
    those of them whose padded form is stored while they are not stored as written. The width
    matching most ids wins.

    Parameters
    ----------
    cur
        The staging cursor.
    staged
        The staged table (its id columns hold the trimmed text of the file's cells).
    mapping
        The file's mapping.

    Returns
    -------
    list of Padding
        One per id column with such ids, in :data:`ID_SOURCES` order.
    """
    found = []
    for column, tables in ID_SOURCES.items():
        if column not in mapping.columns:
            continue
        padded_ids = f"starts_with({column}, '0') and {_DIGITS.format(col=column)}"
        stored = " union all ".join(f"select {column} as id from {t} where {padded_ids}" for t in tables)
        widths = sorted({w for (w,) in cur.execute(" union ".join(
            f"select distinct length({column}) from {t} where {padded_ids}" for t in tables)).fetchall()})
        short = f"length({column}) < ? and {_DIGITS.format(col=column)}"  # digit-only ids shorter than a width
        if not widths or not cur.execute(f"select exists (select 1 from {staged} where {short})",
                                         [max(widths)]).fetchall()[0][0]:
            continue
        written = " union all ".join(f"select {column} as id from {t}" for t in tables)
        best = cur.execute(
            f"with ids as (select distinct {column} as id from {staged} where {short}), "
            f"widths as (select unnest(?::integer[]) as width), "
            f"padded as (select i.id, w.width, lpad(i.id, w.width, '0') as long from ids i join widths w "
            f"on length(i.id) < w.width), "
            f"matched as (select p.* from padded p semi join ({stored}) s on s.id = p.long "
            f"anti join ({written}) s on s.id = p.id) "
            f"select width, count(*) as matching, "
            f"list([id, long] order by length(id), id)[1:{EXAMPLES}] as examples "
            f"from matched group by width order by matching desc, width limit 1",
            [max(widths), widths]).fetchall()
        if not best:
            continue
        width, matching, examples = best[0]
        padded = cur.execute(f"select count(distinct {column}) from {staged} where {short}", [width]).fetchall()[0][0]
        found.append(Padding(column, mapping.header_of(column), int(width), int(matching), int(padded),
                             tuple((a, b) for a, b in examples)))
    return found


def apply_padding(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping, found: list[Padding]) -> None:
    """Pad the shorter digit-only ids of each column in ``found`` with zeros to its width, in the
    staged table, and hash the content of its rows again where rows are keyed by content."""
    for p in found:
        cur.execute(f"update {staged} set {p.column} = lpad({p.column}, ?::integer, '0') "
                    f"where length({p.column}) < ? and {_DIGITS.format(col=p.column)}", [p.width, p.width])
    names = {d[0] for d in cur.execute(f"select * from {staged} limit 0").description}
    if found and "_content" in names:
        cur.execute(f"update {staged} set _content = {content_hash(mapping)}")


def tell_padding(report: ImportReport, found: list[Padding], pad_ids: bool | None) -> None:
    """Put what was found in ``report``: listed in ``id_padding``; a decision asked for while
    ``pad_ids`` is None (the import waits for it), else a note of what was done."""
    for p in found:
        report.id_padding.append(p.as_dict(pad_ids))
        if pad_ids is None:
            report.needs_confirmation.append(p.said(DECISION))
        else:
            report.notes.append(p.said(NOTE_PADDED if pad_ids else NOTE_KEPT))
