"""Survey files as they come: two questions a row, missing-value codes, one stored row per answer.

A survey row often asks two questions: how satisfied the customer is (``满意度``, ``CSAT``:
:data:`QUESTIONS` ``csat_score``) and how likely they are to recommend (``推荐意愿``, ``NPS``:
``nps_score``). Each question's column is read on its own scale
(:mod:`analytics.ingest.survey_scales`), and each answer is stored as a row of its own
(:func:`explode`): a response gives one ``csat`` and one ``nps`` row with the same feedback id,
customer, date and comment. A file may instead give one ``score`` column whose scale each row
names (a scale column) or the scores' range settles (CSAT 1–5 or NPS 0–10).

An answer may be missing: a blank cell, a word (:data:`MISSING_WORDS`: ``N/A``, ``无``, ``-``,
``不适用``, ...) or a number no scale of ours reaches (:data:`MISSING_NUMBERS`: ``-99``, and
``99`` or ``999`` above the scale's top). A missing answer is no score: it is counted per column
in the report (``missing_scores``, with example lines), never stored and never averaged. A survey
row without any score is rejected (``no score: every answer is missing (N/A)``); a complaint has no
score and imports as it is.

A survey row may have no customer id (an anonymous response, as many survey tools export them): its answers are
stored with ``customer_id`` NULL and counted in the report (``anonymous_responses``, :func:`anonymous_to_write`);
they are keyed like any other answer (feedback id and scale, else their content), so a second import adds nothing.
A complaint needs a customer (:data:`analytics.ingest.schema.EMPTY_WHEN`).

An answer may be written as a label (``满意``, ``Very satisfied``), stars (``★★★★☆``) or a number with its
unit (``5分``): :mod:`analytics.ingest.survey_labels` reads them (a label or stars is a CSAT 1–5 answer,
refused on the recommend question).

The staged rows of a feedback file are one per line of the file (staging, validation and
rejects see lines); :func:`explode` then makes one row per answer for identity and the commit,
and :func:`line_counts` counts the report's rows as lines again.
"""

from __future__ import annotations

import duckdb

from analytics.ingest.identity import hash_expr
from analytics.ingest.layout import TRIM, VALID, raw_text, staged_columns
from analytics.ingest.mapping import Mapping
from analytics.ingest.schema import identity_columns

#: The question columns and the scale their answers are stored on.
QUESTIONS: dict[str, str] = {"csat_score": "csat", "nps_score": "nps"}
#: Every column that may hold a feedback row's score: the row's own scale, then the questions.
SCORES: tuple[str, ...] = ("score", *QUESTIONS)
#: Cell texts that mark a missing answer (compared lower-cased and trimmed).
MISSING_WORDS: tuple[str, ...] = ("n/a", "na", "#n/a", "n.a.", "null", "none", "-", "--", "—", "无", "不适用",
                                  "未作答", "未回答", "拒答")
#: Numbers that mark a missing answer: the negative ones always, the others above a scale's top.
MISSING_NUMBERS: tuple[int, ...] = (-99, -999, 99, 999)
#: The columns whose answers may be satisfaction labels or stars (:mod:`analytics.ingest.survey_labels`),
#: each with a flag ``l_<column>`` set on the rows read from one.
LABELLED: tuple[str, ...] = ("score", "csat_score")
#: How a line's answers are numbered among its rows (``_rid = line's _rid * 4 + number``).
_PART = {"score": 1, "csat_score": 2, "nps_score": 3}


def score_columns(mapping: Mapping) -> list[str]:
    """The columns of :data:`SCORES` the file has."""
    return [n for n in SCORES if n in mapping.columns] if mapping.kind == "feedback" else []


def question_columns(mapping: Mapping) -> list[str]:
    """The question columns (:data:`QUESTIONS`) the file has."""
    return [n for n in QUESTIONS if n in mapping.columns] if mapping.kind == "feedback" else []


def bounds(name: str) -> tuple[str, str]:
    """The staged columns holding the scale a question column is read on (lowest, highest)."""
    return f"lo_{name}", f"hi_{name}"


def _is_missing(cell: str) -> str:
    """SQL: the cell's trimmed text is a missing-value word (a list test without IN, as staging
    wants: an IN list may become a join, and a join may reorder the rows)."""
    joined = "|".join(w.replace("'", "''") for w in MISSING_WORDS)
    return f"contains('|{joined}|', '|' || lower(trim({cell}, {TRIM})) || '|')"


def answer_text(cell: str) -> str:
    """SQL: a score cell's text for parsing: NULL when empty or a missing-value word."""
    return f"case when {_is_missing(cell)} then null else nullif({cell}, '') end"


def missing_word(cell: str) -> str:
    """SQL: the missing-value word a score cell holds, as written (trimmed); else NULL."""
    return f"case when {_is_missing(cell)} then trim({cell}, {TRIM}) end"


def staged_extras(mapping: Mapping) -> list[str]:
    """The staged columns a feedback file adds: each score column's missing-value code
    (``m_<column>``), the flag of an answer read from a label or stars (``l_<column>``, set once
    read), each question column's scale (:func:`bounds`, set once it is read), and a NULL
    ``score`` for a file whose scores are all questions' (or that has none)."""
    if mapping.kind != "feedback":
        return []
    extras = [f"m_{n}" for n in score_columns(mapping)]
    extras += [f"cast(null as boolean) as l_{n}" for n in score_columns(mapping) if n in LABELLED]
    extras += [f"cast(null as double) as {b}" for n in question_columns(mapping) for b in bounds(n)]
    return extras + ([] if "score" in mapping.columns else ["cast(null as double) as score"])


def kind_expr(mapping: Mapping, given: str) -> str:
    """SQL: a feedback row's kind. ``given`` is the kind column's arm (``when <text> then
    <word>``; empty without one). Without a kind, a row with an answer (a score, or a missing
    code: the question was asked) is a survey, one with a complaint's columns (a category, a
    resolved date) a complaint, and any other row a survey without an answer (rejected) in a file
    with score columns, a complaint in a file without."""
    scores = score_columns(mapping)
    if not scores:
        return f"case {given}else 'complaint' end" if given else "'complaint'"
    answered = " or ".join(f"t_{n} is not null or m_{n} is not null" for n in scores)
    signs = " or ".join(f"trim(cast(t_{n} as varchar)) <> ''" for n in ("category", "resolved_date")
                        if n in mapping.columns)
    complaint = f"when {signs} then 'complaint' " if signs else ""
    return f"case {given}when {answered} then 'survey' {complaint}else 'survey' end"


def _range_reason(name: str) -> str:
    lo, hi = bounds(name)
    span = f"cast({lo} as integer) || '-' || cast({hi} as integer)"
    standard, label, word = ((1, 5), "CSAT", "satisfaction") if QUESTIONS[name] == "csat" else ((0, 10), "NPS",
                                                                                                  "recommend")
    return (f"'score ' || cast({name} as varchar) || ' is outside the ' || case when {lo} = {standard[0]} "
            f"and {hi} = {standard[1]} then '{label} scale ' || {span} else '{word} scale ' || {span} "
            "|| ' of this column' end")


def row_checks(mapping: Mapping) -> list[tuple[str, str, str, str]]:
    """The feedback rules (column header, value shown, failing condition, reason): a survey row
    needs a score (a missing-value code is none); a complaint row holds one score at most; a
    score lies on its scale (the row's, or its question column's once read), and a label or stars
    (a 1-5 answer) on no NPS row; scale and kind words are known ones."""
    checks = []
    scores = score_columns(mapping)
    shown = " / ".join(mapping.header_of(n) for n in scores)
    codes = f"concat_ws(', ', {', '.join(f'm_{n}' for n in scores)})"
    if scores:
        empty = " and ".join(f"{n} is null and {raw_text(mapping, n)} is null" for n in scores)
        checks.append((shown, f"nullif({codes}, '')", f"feedback_kind = 'survey' and {empty}",
                       f"case when {codes} <> '' then 'no score: every answer is missing (' || {codes} || ')' "
                       "else 'score is empty (required for a survey)' end"))
    elif "feedback_kind" in mapping.columns:
        checks.append((mapping.header_of("feedback_kind"), "null", "feedback_kind = 'survey'",
                       "'score is empty (required for a survey)'"))
    if len(scores) > 1:
        given = " + ".join(f"cast({n} is not null as integer)" for n in scores)
        values = " || ', ' || ".join(f"coalesce(cast({n} as varchar), '')" for n in scores)
        checks.append((shown, values, f"feedback_kind = 'complaint' and {given} > 1",
                       f"'a complaint row holds one score, this one ' || ({given}) || ': give it the kind survey, "
                       "or leave all but one empty'"))
    if "score" in mapping.columns:
        checks.append((mapping.header_of("score"), "score",
                       "(scale = 'csat' and (score < 1 or score > 5)) "
                       "or (scale = 'nps' and (score < 0 or score > 10))",
                       "'score ' || cast(score as varchar) || ' is outside the ' || "
                       "case scale when 'csat' then 'CSAT scale 1-5' else 'NPS scale 0-10' end"))
        checks.append((mapping.header_of("score"), raw_text(mapping, "score"), "l_score and scale = 'nps'",
                       "'a satisfaction label or stars (1-5) on an NPS row: NPS is answered with a number 0-10'"))
    for name in question_columns(mapping):
        lo, hi = bounds(name)
        checks.append((mapping.header_of(name), name, f"{name} < {lo} or {name} > {hi}", _range_reason(name)))
    if "scale" in mapping.columns:
        checks.append((mapping.header_of("scale"), "raw_scale", "raw_scale is not null",
                       "'unknown scale (use CSAT or NPS)'"))
    if "feedback_kind" in mapping.columns:
        checks.append((mapping.header_of("feedback_kind"), "raw_feedback_kind", "raw_feedback_kind is not null",
                       "'unknown feedback kind (use survey or complaint)'"))
    return checks


def conversion(name: str, lo: float, hi: float) -> str:
    """SQL: a question column's answer on its canonical scale. Satisfaction on ``lo``–``hi``
    maps linearly onto 1–5 (``1 + 4·(s − lo)/(hi − lo)``); recommend on 0–100 is divided by 10;
    CSAT 1–5 and NPS 0–10 stay as they are."""
    if (QUESTIONS[name], lo, hi) in (("csat", 1, 5), ("nps", 0, 10)):
        return name
    if QUESTIONS[name] == "nps":
        return f"{name} / 10.0"
    return f"1 + 4 * ({name} - {lo!r}) / {float(hi - lo)!r}"


def scale_text(lo: float, hi: float) -> str:
    """A scale as stored in ``original_scale``: ``1-7``, ``0-100``."""
    return f"{lo:g}-{hi:g}"


def explode(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping,
            scales: dict[str, tuple[float, float]]) -> str:
    """One staged row per answer: the valid lines of ``staged`` give a row per score they hold
    (the row's own, then CSAT, then NPS) or, without one, a row of their own (a complaint); the
    other lines (blank, total, rejected) stay one row each, as they were. Returns the new staged
    table (with its view ``<table>_v``), whose rows carry ``_row``, their line's ``_rid``.

    Parameters
    ----------
    cur
        The staging cursor.
    staged
        The staged table, one row per line, validated (its ``_invalid`` final).
    mapping
        The file's mapping.
    scales
        Each question column's scale (lowest, highest), as read
        (:func:`analytics.ingest.survey_scales.settle_scores`).
    """
    view, scores = f"{staged}_v", score_columns(mapping)
    whole = "v._rid as _row, cast(null as double) as original_score, cast(null as varchar) as original_scale"
    parts = [f"select v.* replace (v._rid * 4 as _rid), {whole} from {view} v where not {VALID}"]
    for name in scores:
        if name == "score":
            value, scale = "v.score", "v.scale"
            original = "case v.scale when 'csat' then '1-5' when 'nps' then '0-10' end"
        else:
            lo, hi = scales[name]
            value, scale, original = f"({conversion(name, lo, hi)})", f"'{QUESTIONS[name]}'", f"'{scale_text(lo, hi)}'"
            if name in LABELLED and (lo, hi) != (1, 5):  # a label or stars is a 1-5 answer, stored as it is
                value, original = (f"case when v.l_{name} then v.{name} else {value} end",
                                   f"case when v.l_{name} then '1-5' else {original} end")
        parts.append(f"select v.* replace (v._rid * 4 + {_PART[name]} as _rid, {value} as score, {scale} as scale), "
                     f"v._rid as _row, v.{name} as original_score, {original} as original_scale "
                     f"from {view} v where {VALID} and v.{name} is not null")
    unscored = " and ".join(f"v.{n} is null" for n in scores) or "true"
    parts.append(f"select v.* replace (v._rid * 4 as _rid), {whole} from {view} v where {VALID} and {unscored}")
    rows = " union all by name ".join(f"({p})" for p in parts)
    has_content = "_content" in {r[0] for r in cur.execute(f"describe {staged}").fetchall()}
    content = f" replace ({hash_expr(identity_columns('feedback'), present=staged_columns(mapping))} as _content)" \
        if has_content else ""
    table = f"{staged}_q"
    cur.execute(f"create temp table {table} as select *{content} from ({rows}) order by _rid")
    cur.execute(f"create temp view {table}_v as select * from {table}")
    return table


def line_counts(cur: duckdb.DuckDBPyConnection, staged: str) -> dict[str, int]:
    """The report's counts of an exploded feedback file (:func:`explode`) as lines of the file: a
    line is to import when one of its answers is new, else conflicting when one conflicts with
    another row (of the file or the database), else already present, else a duplicate; and how
    many lines repeat an earlier line without an id. Needs ``<staged>_dups`` and ``_db``."""
    row = cur.execute(
        f"with answers as (select s._row, case when d.mode = 'natural' and d.n > 1 and d.h = d.first_h then 3 "
        f"when d.mode = 'natural' and d.n > 1 or b.status = 'conflict_db' then 1 "
        f"when b.status = 'present' then 2 else 0 end as status, "
        f"coalesce(d.mode = 'content' and d.n > 1, false) as repeated "
        f"from {staged}_v s left join {staged}_dups d using (_rid) left join {staged}_db b using (_rid) "
        f"where {VALID}), lines as (select _row, min(status) as status, bool_or(repeated) as repeated "
        f"from answers group by _row) "
        "select count(*), count(*) filter (where status = 0), count(*) filter (where status = 1), "
        "count(*) filter (where status = 2), count(*) filter (where status = 3), count(*) filter (where repeated) "
        "from lines").fetchall()[0]
    return dict(zip(("valid", "new", "conflicting", "present", "duplicate", "repeated"), map(int, row), strict=True))


def scores_to_write(cur: duckdb.DuckDBPyConnection, staged: str) -> dict[str, int]:
    """The rows an exploded feedback file would write, per scale (``csat``, ``nps``; ``none`` for
    rows without a score): its candidates the database does not hold."""
    found = cur.execute(f"select coalesce(c.scale, 'none'), count(*) from {staged}_candidates c "
                        f"anti join {staged}_db b using (_rid) group by all order by 1").fetchall()
    return {scale: int(n) for scale, n in found}


def anonymous_to_write(cur: duckdb.DuckDBPyConnection, staged: str) -> tuple[int, int]:
    """The anonymous responses an exploded feedback file would write: its survey lines without a customer id with an
    answer the database does not hold, and those answers (rows)."""
    lines, answers = cur.execute(
        f"select count(distinct c._row), count(*) from {staged}_candidates c anti join {staged}_db b using (_rid) "
        "where c.customer_id is null and c.feedback_kind = 'survey'").fetchall()[0]
    return int(lines), int(answers)
