"""Survey answers written as words or marks: satisfaction labels, stars and numbers with a unit.

Survey tools often export the label a customer ticked rather than its number. The rule:

- a satisfaction label (:data:`SATISFACTION_LABELS`, compared trimmed and case-insensitively) is the CSAT
  1–5 score it names: ``非常满意`` 5, ``满意`` and ``比较满意`` 4, ``一般``, ``中立``, ``还行`` and ``普通`` 3,
  ``不满意`` and ``比较不满意`` 2, ``非常不满意`` 1; ``Very satisfied`` 5, ``Satisfied`` 4, ``Neutral`` and
  ``Neither satisfied nor dissatisfied`` 3, ``Dissatisfied`` 2, ``Very dissatisfied`` 1. Stars are a 1–5
  rating too: ``★★★★☆`` is 4 (the filled stars), and so are ``4星``, ``四星`` and ``4 stars``. A label or
  stars is stored on CSAT 1–5 as it is, whatever scale the column's numbers are on (its ``original_scale``
  is ``1-5``);
- a number with its unit (``5分``, ``4 分``, ``9分``) is that number, read on the column's scale as any;
- the recommend question (``nps_score``) is answered on 0–10, so only numbers and ``9分`` are read there: a
  label, stars or a recommend word (:data:`RECOMMEND_WORDS`: ``非常愿意``, ``Very likely``, ...) has no place
  on 0–10, and the file is refused (:class:`~analytics.errors.MappingError`, naming the file, column, a
  line and its value), as a recommend question asked on 1–5 is. In the one ``score`` column, a label or
  stars on a row whose scale is NPS is rejected with its line;
- any other text (``很好吧``) is no score: its line is rejected (``not a number``) with the column and the
  value, as before. Missing-value words (``N/A``, ``无``, ...) stay missing answers.

The answers read from text are counted per column (``labels`` in the column's ``score_scales`` entry, and a
note). Parsing is SQL over the staged rows (the macros of :data:`_MACROS`), done only on the cells the
number parser left unread (their text is in ``_raw``).
"""

from __future__ import annotations

import duckdb

from analytics.errors import MappingError
from analytics.ingest.layout import TRIM, raw_text
from analytics.ingest.mapping import Mapping
from analytics.ingest.report import ImportReport
from analytics.ingest.surveys import LABELLED, score_columns

#: Satisfaction labels, lower-case, and the CSAT 1–5 score each names.
SATISFACTION_LABELS: dict[str, int] = {
    "非常满意": 5, "满意": 4, "比较满意": 4, "一般": 3, "中立": 3, "还行": 3, "普通": 3, "比较不满意": 2,
    "不满意": 2, "非常不满意": 1,
    "very satisfied": 5, "satisfied": 4, "neutral": 3, "neither satisfied nor dissatisfied": 3, "dissatisfied": 2,
    "very dissatisfied": 1,
}
#: Words answering the recommend question (lower-case): no place on NPS's 0–10, so refused there.
RECOMMEND_WORDS: tuple[str, ...] = (
    "非常愿意", "很愿意", "愿意", "比较愿意", "不太愿意", "比较不愿意", "不愿意", "非常不愿意", "很不愿意", "肯定会",
    "可能会", "会", "不确定", "可能不会", "不会", "肯定不会", "会推荐", "不会推荐", "推荐", "不推荐",
    "extremely likely", "very likely", "likely", "somewhat likely", "neither likely nor unlikely",
    "somewhat unlikely", "unlikely", "very unlikely", "extremely unlikely", "not likely", "not at all likely")


def _literal(word: str) -> str:
    return "'" + word.replace("'", "''") + "'"


# Fixed words of this module, no file text. crm_rating: the 1-5 a label or stars give; crm_points: the
# number of '5分'; crm_recommend_word: a recommend word.
_MACROS = f"""
create or replace temp macro crm_answer(s) as lower(trim(s, {TRIM}));
create or replace temp macro crm_rating(s) as coalesce(
    case crm_answer(s) {' '.join(f'when {_literal(w)} then {n}' for w, n in SATISFACTION_LABELS.items())} end,
    case when regexp_full_match(crm_answer(s), '★{{1,5}}☆{{0,4}}') and length(crm_answer(s)) <= 5
         then length(replace(crm_answer(s), '☆', '')) end,
    try_cast(regexp_extract(translate(crm_answer(s), '一二三四五', '12345'), '^([1-5])\\s*(?:颗星|星|stars?)$', 1)
             as integer));
create or replace temp macro crm_points(s) as
    try_cast(regexp_extract(crm_answer(s), '^(\\d{{1,3}}(?:\\.\\d+)?)\\s*分$', 1) as double);
create or replace temp macro crm_recommend_word(s) as
    contains({_literal('|' + '|'.join(RECOMMEND_WORDS) + '|')}, '|' || crm_answer(s) || '|');
"""


def read_labels(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping, report: ImportReport) -> dict[str, int]:
    """Read the score cells of a staged feedback file written as labels, stars or ``5分`` (see the module):
    set their score (and ``l_<column>`` for a label or stars), and note per column what was read.

    Returns
    -------
    dict
        Per column header, the answers read from text (labels, stars and numbers with a unit).

    Raises
    ------
    MappingError
        The recommend column holds a label, stars or a recommend word.
    """
    cur.execute(_MACROS)
    read: dict[str, int] = {}
    for name in score_columns(mapping):
        header, raw = mapping.header_of(name), raw_text(mapping, name)
        unread = f"{name} is null and {raw} is not null"
        if name not in LABELLED:
            _refuse_words(cur, staged, report.file, header, name, raw)
        rating = f"crm_rating({raw})" if name in LABELLED else "cast(null as integer)"
        flag = f", l_{name} = {rating} is not null" if name in LABELLED else ""
        cur.execute(f"update {staged} set {name} = coalesce({rating}, crm_points({raw})){flag} "
                    f"where {unread} and coalesce({rating}, crm_points({raw})) is not null")
        labels = f"coalesce(l_{name}, false)" if name in LABELLED else "false"
        rated, points, left, example = cur.execute(
            f"select count(*) filter (where {labels}), count(*) filter (where {name} is not null and {raw} is not null "
            f"and not {labels}), count(*) filter (where {unread}), "
            f"arg_min({{'line': _line, 'value': trim({raw}, {TRIM})}}, _rid) filter (where {unread}) "
            f"from {staged}_v where not _blank and not _total").fetchall()[0]
        read[header] = rated + points
        if rated + points:
            report.notes.append(_note(header, rated, points, left, example))
    return read


def _note(header: str, rated: int, points: int, left: int, example: dict | None) -> str:
    said = []
    if rated:
        given = "a label" if rated == 1 else "labels"
        said.append(f"{_answers(rated)} given as {given} or stars, read as CSAT 1–5 (非常满意/Very satisfied = 5 … "
                    "非常不满意/Very dissatisfied = 1; ★★★★☆ = 4)")
    if points:
        said.append(f"{_answers(points)} given as a number with its unit, read as the number (9分 = 9)")
    if left and example:
        said.append(f"{_answers(left)} neither a number nor a known label: rejected (line {example['line']}: "
                    f"{example['value']}{', …' if left > 1 else ''})")
    return f"column {header}: {'; '.join(said)}"


def _answers(n: int) -> str:
    return "1 answer" if n == 1 else f"{n} answers"


def _refuse_words(cur: duckdb.DuckDBPyConnection, staged: str, file: str, header: str, name: str, raw: str) -> None:
    """Refuse the recommend column when it holds a label, stars or a recommend word (see the module)."""
    word = f"{name} is null and {raw} is not null and (crm_rating({raw}) is not null or crm_recommend_word({raw}))"
    n, answers, example = cur.execute(
        f"select count(*) filter (where {word}), count(*) filter (where {name} is not null or {raw} is not null), "
        f"arg_min({{'line': _line, 'value': trim({raw}, {TRIM})}}, _rid) filter (where {word}) "
        f"from {staged}_v where not _blank and not _total").fetchall()[0]
    if not n:
        return
    raise MappingError(
        f"{file}: column {header} (likelihood to recommend) holds answers as words or stars ({n} of {answers}, e.g. "
        f"line {example['line']}: {example['value']}): NPS is measured on 0–10, and words or stars have no place on "
        "it. Give the answers as numbers 0–10 (9 or 9分); if the column asks about satisfaction, map it as "
        "csat_score; or leave it unmapped (--map nps_score=) to import the other columns")
