"""Leads files in three shapes, one table: a row per lead and stage it reached.

A CRM gives its leads in one of three shapes, told apart by the file's columns (:func:`shape`):

- ``stage_history`` (a): one row per lead per stage reached, with the day it reached it (a stage
  date column: ``阶段日期``, ``进入阶段日期``, ``变更日期``, ``stage date``, ``date reached``), as a
  CRM's stage-change log gives them; each row is stored.
- ``stage_dates`` (b): one row per lead with a date column per stage (qualified, proposal and closed
  dates, an outcome won/lost); stored as it comes, its stage the lead's current one.
- ``current_stage`` (c): one row per lead with only its current stage (and outcome), as most CRM
  exports are; stored as it comes.

A row is a lead and a stage (the natural key, :data:`~analytics.ingest.schema.NATURAL_KEYS`):
importing a file again adds nothing, a later export of a lead at a further stage adds a row, and a
row of a stored lead and stage with other values (another rep, a corrected date) replaces the
stored one (:data:`~analytics.ingest.schema.LATEST_WINS`; undoing the import puts it back).

Two stored columns are made when a file does not give them (:func:`settle`):

- **the created date**: a row without one takes its lead's created date from the file's other rows
  of that lead (the earliest given), else the lead's earliest stage date in the file (a stage-change
  log often leaves it out: the lead was created when it entered its first stage). A row whose lead
  has neither is rejected with its line.
- **the stage**, in a file of stage dates without a stage column: the furthest its dates and outcome
  reach, named by the funnel's stage keys: ``won`` / ``lost`` (the outcome), ``closed`` (a closed
  date without an outcome), ``proposal`` (a proposal date), ``target`` (a qualified date), else
  ``potential``.
"""

from __future__ import annotations

import duckdb

from analytics.ingest.layout import raw_text
from analytics.ingest.mapping import Mapping

#: The shapes of a leads file (:func:`shape`).
SHAPES: tuple[str, ...] = ("stage_history", "stage_dates", "current_stage")
#: The date columns of a file of one row per lead with a date per stage (shape ``stage_dates``), and
#: the stage key the furthest of them gives a lead when the file has no stage column.
STAGE_DATES: dict[str, str] = {"closed_date": "closed", "proposal_date": "proposal", "qualified_date": "target"}
#: A created date that cannot be made: the reason a row is rejected with.
NO_CREATED_DATE = "created_date is empty and its lead has no stage date in this file"


def shape(mapping: Mapping) -> str | None:
    """The shape of a leads file, from its columns: ``stage_history`` with a stage date column,
    else ``stage_dates`` with a qualified, proposal or closed date column, else ``current_stage``;
    None for a file of another kind."""
    if mapping.kind != "leads":
        return None
    if "stage_date" in mapping.columns:
        return "stage_history"
    if any(c in mapping.columns for c in STAGE_DATES):
        return "stage_dates"
    return "current_stage"


def staged_extras(mapping: Mapping) -> list[str]:
    """The staged columns of a leads file that :func:`settle` makes: its created date and stage,
    NULL until then, when the file has no such column."""
    if mapping.kind != "leads":
        return []
    return ([] if "created_date" in mapping.columns else ["cast(null as date) as created_date"]) + (
        [] if "stage" in mapping.columns else ["cast(null as varchar) as stage"])


def row_checks(mapping: Mapping) -> list[tuple[str, str, str, str]]:
    """The leads rules (column header, value shown, failing condition, reason): a created date (given,
    or made by :func:`settle`), a stage when the file has a stage column, a known outcome word."""
    checks = []
    history = "stage_date" in mapping.columns
    if "created_date" in mapping.columns:
        raw = raw_text(mapping, "created_date")
        # (a row without a lead id has no lead to take a created date from: its id is rejected)
        empty = f"created_date is null and {raw} is null" + (" and lead_id is not null" if history else "")
        checks.append((mapping.header_of("created_date"), raw, empty,
                       f"'{NO_CREATED_DATE}'" if history else "'created_date is empty'"))
    else:  # a stage-history log without created dates: the lead's earliest stage date, when it has one
        checks.append((mapping.header_of("stage_date"), "null", "created_date is null and lead_id is not null",
                       f"'{NO_CREATED_DATE}'"))
    if "stage" in mapping.columns:
        checks.append((mapping.header_of("stage"), "null", "stage is null", "'stage is empty'"))
    if "outcome" in mapping.columns:
        checks.append((mapping.header_of("outcome"), "raw_outcome", "raw_outcome is not null",
                       "'unknown outcome (use won or lost, or leave empty)'"))
    return checks


def settle(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping) -> list[str]:
    """Make the created dates and stages a staged leads file does not give (see the module), and say
    how it was read; the row rules are to be computed again afterwards.

    Parameters
    ----------
    cur
        The staging cursor.
    staged
        The staged table, its ids folded and its dates read (day/month order settled).
    mapping
        The file's mapping.

    Returns
    -------
    list of str
        The notes: the file's shape, and how each made column was made.
    """
    notes = [_shape_note(mapping)]
    rows = "not _blank and not _total"
    if "stage" not in mapping.columns:
        arms = " ".join(f"when {name} is not null then '{key}'" for name, key in STAGE_DATES.items()
                        if name in mapping.columns)
        cur.execute(f"update {staged} set stage = case when outcome = 'won' then 'won' when outcome = 'lost' "
                    f"then 'lost' {arms} else 'potential' end where {rows}")
        dated = ", ".join(mapping.header_of(n) for n in (*reversed(STAGE_DATES), "outcome") if n in mapping.columns)
        notes.append(f"the file has no stage column: each lead's stage is the furthest its columns {dated} reach "
                     "(won or lost by its outcome, closed for a closed date without one, proposal, target, "
                     "else potential)")
    given = "created_date" in mapping.columns
    history = "stage_date" in mapping.columns
    empty = "created_date is null" + (f" and {raw_text(mapping, 'created_date')} is null" if given else "")
    day = "coalesce(min(created_date), min(stage_date))" if history else "min(created_date)"
    filled = cur.execute(
        f"update {staged} set created_date = f.day from (select lead_id, {day} as day from {staged} "
        f"where {rows} and lead_id is not null group by lead_id) f "
        f"where {staged}.lead_id = f.lead_id and f.day is not null and {empty}").fetchall()[0][0]
    if not given:
        notes.append("the file has no created date column: each lead was created on its earliest stage date in "
                     f"this file ({mapping.header_of('stage_date')})")
    elif filled:
        notes.append(f"column {mapping.header_of('created_date')}: {filled} rows have no created date; each takes its "
                     "lead's created date from another row of this file"
                     + (f", else its earliest stage date ({mapping.header_of('stage_date')})" if history else ""))
    return notes


def _shape_note(mapping: Mapping) -> str:
    found = shape(mapping)
    if found == "stage_history":
        return (f"leads in one row per lead per stage reached: column {mapping.header_of('stage_date')} gives the "
                "day each stage was reached; each row is stored")
    if found == "stage_dates":
        dated = ", ".join(mapping.header_of(n) for n in reversed(STAGE_DATES) if n in mapping.columns)
        return (f"leads in one row per lead with a date per stage ({dated}): each row is stored with the lead's "
                "current stage")
    return ("leads in one row per lead with its current stage: each row is stored; the stages before it are "
            "reached on days the file does not say")
