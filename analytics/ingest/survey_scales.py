"""The scale of each survey score column, and the rule that brings it to the canonical scale.

Scores are stored on two scales: CSAT 1–5 (satisfied: 4–5) and NPS 0–10 (promoters 9–10,
detractors 0–6). A file's score column is read so:

- ``score``, a score whose row names its scale (a scale column) or whose values settle it
  (:func:`_infer_scale`): CSAT 1–5 when all but a few (:data:`STRAY_SHARE`) lie in 1–5, NPS
  0–10 when most lie outside 1–5 and all but a few in 0–10; otherwise the analyst chooses
  (``scale=``), and the scores outside the scale are rejected.
- a question column (``csat_score``: satisfaction; ``nps_score``: likelihood to recommend) is
  read on the scale its header states (``满意度（1-7分）``, ``推荐意愿(0-10)``, ``百分制``,
  ``10分制``) or else on the smallest of 1–5, 1–7, 1–10 (0–10 when a 0 is among the answers, and
  always for recommend), 0–100 that holds all but a few of its values (those few are
  rejected, each with its line); a recommend column is read as 1–5 or 1–7 from its values only
  with :data:`MIN_EVIDENCE` answers or more (fewer are read 0–10, and the note says so). Then:

  * satisfaction on a scale lo–hi other than 1–5 maps linearly onto 1–5,
    ``s' = 1 + 4·(s − lo)/(hi − lo)``: both ends stay ends, and "satisfied" (4 or more on 1–5)
    is the top quarter of the range: 6–7 of 7, 8–10 of 10, 75 or more of 100, the usual
    top-box readings of those scales;
  * recommend on 0–100 maps to 0–10 by ``s / 10`` (promoters are 90–100);
  * recommend on any other scale (1–5, 1–7, 1–10, 0–5, ...) is refused
    (:class:`~analytics.errors.MappingError`, naming the file, column and a line): NPS is
    defined on 0–10, and no rule turns a 1–5 answer into one without inventing promoters.

  The score as answered and its scale are stored too (``original_score``, ``original_scale``).

Before a column is read, its answers written as labels, stars or ``5分`` are read
(:func:`~analytics.ingest.survey_labels.read_labels`), and the numbers that mark a missing answer are set aside
(:data:`~analytics.ingest.surveys.MISSING_NUMBERS`: ``-99`` and ``-999`` always, ``999`` on every
scale of ours, ``99`` unless the column reads 0–100); with the missing words they are counted per
column in the report (``missing_scores``, :func:`_tell_missing`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

import duckdb

from analytics.errors import MappingError
from analytics.ingest.layout import raw_text
from analytics.ingest.mapping import Mapping
from analytics.ingest.report import ImportReport
from analytics.ingest.survey_labels import read_labels
from analytics.ingest.surveys import MISSING_NUMBERS, QUESTIONS, bounds, question_columns, score_columns

#: Say in ``needs_confirmation`` that the scale of scores is open (the pipeline's hint goes with it).
SCALE_DECISION = "choose the scale"
SCALE_HINT = "give the score scale: csat or nps"
#: The share of scores outside a scale that are still a few strays (rejected, the scale kept).
STRAY_SHARE = 0.02
#: The answers it takes to read a recommend column as asked on 1–5 or 1–7 from its values alone
#: (fewer, all low, are read as the NPS they are meant to be, and the note says so): ten
#: answers of a real 0–10 NPS all 5 or less are rarer than one in a million.
MIN_EVIDENCE = 10
_SCALES = {"csat": ("CSAT 1–5", "1–5", 1, 5), "nps": ("NPS 0–10", "0–10", 0, 10)}
#: The scales a question column is read on, smallest first (None: 0 or 1, see the module).
_STANDARD: tuple[tuple[int | None, int], ...] = ((1, 5), (1, 7), (None, 10), (0, 100))
_RANGE = re.compile(r"(\d{1,3})\s*(?:-|–|—|~|～|至|到)\s*(\d{1,3})")
_POINTS = re.compile(r"(\d{1,3}|五|七|十|百)\s*分制")
_NUMERALS = {"五": 5, "七": 7, "十": 10, "百": 100}
_WHAT = {"csat": "satisfaction", "nps": "recommend"}


def stated_scale(header: str) -> tuple[int | None, int] | None:
    """The scale a header states: ``满意度（1-7分）`` → (1, 7), ``推荐意愿(0~10)`` → (0, 10),
    ``满意度（百分制）`` → (0, 100), ``满意度(10分制)`` → (None, 10) (its lowest from the answers);
    None when it states none (or an impossible one)."""
    text = unicodedata.normalize("NFKC", header)
    found = _RANGE.search(text)
    if found and int(found.group(1)) < int(found.group(2)):
        return int(found.group(1)), int(found.group(2))
    points = _POINTS.search(text)
    if points:
        top = _NUMERALS.get(points.group(1)) or int(points.group(1))
        return (0, 100) if top == 100 else (None, top) if top > 1 else None
    return None


def _mark_missing(cur: duckdb.DuckDBPyConnection, staged: str, name: str, top: float) -> None:
    """Set the numbers of :data:`MISSING_NUMBERS` outside 0–``top`` aside as missing codes."""
    codes = " or ".join(f"{name} = {v}" for v in MISSING_NUMBERS if v < 0 or v > top)
    cur.execute(f"update {staged} set m_{name} = cast(cast({name} as bigint) as varchar), {name} = null "
                f"where {codes}")


def settle_scores(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping, report: ImportReport,
                  chosen: str | None = None) -> dict[str, tuple[float, float]]:
    """Read each score column of a staged feedback file on its scale (see the module), its labels
    first, set its missing codes aside, and say what was read in ``report`` (``score_scales``, with
    the answers read from ``labels``; ``missing_scores``, notes). The row rules are to be computed
    again afterwards.

    Returns
    -------
    dict
        Each question column's scale (lowest, highest).

    Raises
    ------
    MappingError
        A recommend column on a scale NPS cannot be read from, or holding labels.
    """
    labels = read_labels(cur, staged, mapping, report)
    if "score" in mapping.columns:
        _mark_missing(cur, staged, "score", top=10)
        _infer_scale(cur, staged, mapping, report, chosen)
    scales = {name: _read_question(cur, staged, mapping, name, report) for name in question_columns(mapping)}
    _tell_missing(cur, staged, mapping, report)
    for entry in report.score_scales:
        entry["labels"] = labels.get(entry["column"], 0)
    scores = score_columns(mapping)
    if len(scores) > 1:
        asked = ", ".join(f"{mapping.header_of(n)}: {QUESTIONS[n].upper() if n in QUESTIONS else 'its scale'}"
                          for n in scores)
        report.notes.append(f"each row answers {len(scores)} questions ({asked}); each answer is stored as a row of "
                            "its own, with the row's feedback id, customer, date and comment")
    return scales


def _read_question(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping, name: str,
                   report: ImportReport) -> tuple[float, float]:
    """The scale of question column ``name``: stated in its header, else read from its values."""
    header, question = mapping.header_of(name), QUESTIONS[name]
    _mark_missing(cur, staged, name, top=100)  # 99 waits for the scale
    spans = ((1, 5), (1, 7), (1, 10), (0, 10), (0, 100))
    outside = [f"count(*) filter (where {name} <> 99 and ({name} < {lo} or {name} > {hi}))" for lo, hi in spans]
    n, zeros, *out, example = cur.execute(
        f"select count(*) filter (where {name} <> 99), count(*) filter (where {name} = 0), {', '.join(outside)}, "
        f"arg_min({{'line': _line, 'value': {name}}}, _rid) filter (where {name} <> 99) "
        f"from {staged}_v where {name} is not null and not _blank and not _total").fetchall()[0]
    counts = dict(zip(spans, out, strict=True))
    low = 0 if zeros or question == "nps" else 1
    stated = stated_scale(header)
    if stated is not None:
        lo, hi = (low if stated[0] is None else stated[0]), stated[1]
    elif not n:  # nothing to read a scale from: the canonical one
        lo, hi = _SCALES[question][2:]
    else:
        candidates = [(low if lo is None else lo, hi) for lo, hi in _STANDARD]
        if question == "nps" and n < MIN_EVIDENCE:  # too few to tell a short scale from a low NPS
            candidates = [c for c in candidates if c[0] == 0]
        lo, hi = next((c for c in candidates if counts[c] <= STRAY_SHARE * n), candidates[-1])
    if question == "nps" and (lo, hi) not in ((0, 10), (0, 100)):
        _refuse(report.file, header, lo, hi, stated is not None, n, counts.get((lo, hi), 0), example)
    if hi < 99:
        _mark_missing(cur, staged, name, top=hi)
    lo_col, hi_col = bounds(name)
    cur.execute(f"update {staged} set {lo_col} = ?, {hi_col} = ?", [lo, hi])
    read, bad = cur.execute(
        f"select count(*) filter (where {name} is not null), count(*) filter (where {name} < ? or {name} > ?) "
        f"from {staged}_v where not _blank and not _total", [lo, hi]).fetchall()[0]
    report.score_scales.append(_describe(header, question, lo, hi, stated is not None, read, bad))
    unsure = question == "nps" and stated is None and 0 < n < MIN_EVIDENCE and counts[(1, 7)] == 0
    report.notes.append(_note(header, question, lo, hi, stated is not None, read, bad) + (
        f" (too few answers to tell from a 1–5 or 1–7 scale; if it was asked so, say it in the header: {header}(1-5))"
        if unsure else ""))
    return lo, hi


def _rule(question: str, lo: float, hi: float) -> str:
    if (question, lo, hi) in (("csat", 1, 5), ("nps", 0, 10)):
        return "as answered"
    return "s' = s / 10" if question == "nps" else f"s' = 1 + 4·(s − {lo:g})/{hi - lo:g}"


def _describe(header: str, question: str, lo: float, hi: float, stated: bool, read: int, bad: int) -> dict[str, Any]:
    return {"column": header, "question": question, "scale": f"{lo:g}-{hi:g}", "stated": stated,
            "scores": read, "outside": bad, "stored_as": _SCALES[question][0], "rule": _rule(question, lo, hi)}


def _note(header: str, question: str, lo: float, hi: float, stated: bool, read: int, bad: int) -> str:
    label = _SCALES[question][0]
    canonical = (question, lo, hi) in (("csat", 1, 5), ("nps", 0, 10))
    what = label.split()[0] if canonical else _WHAT[question]
    said = (f"column {header}: {what} scores {lo:g}–{hi:g} in {read - bad} of {read} rows"
            + (f"; {bad} outside: rejected" if bad else "") + (" (as its header says)" if stated else ""))
    if canonical:
        return said
    if question == "nps":
        return said + f"; stored as {label} by s' = s / 10, so promoters (9–10) are 90–100 here"
    top = math.ceil(lo + 0.75 * (hi - lo))
    return (said + f"; stored as {label} by s' = 1 + 4·(s − {lo:g})/{hi - lo:g}, so satisfied (4–5) "
            f"is {top:g}–{hi:g} here")


def _refuse(file: str, header: str, lo: float, hi: float, stated: bool, n: int, outside: int,
            example: dict[str, Any] | None) -> None:
    if stated:
        evidence = "as its header says"
    else:
        evidence = f"{n - outside} of {n} answers between {lo:g} and {hi:g}"
        if example:
            evidence += f", e.g. line {example['line']}: {example['value']:g}"
    raise MappingError(
        f"{file}: column {header} (likelihood to recommend) holds scores on a {lo:g}–{hi:g} scale ({evidence}): NPS is "
        f"measured on 0–10, and a {lo:g}–{hi:g} answer cannot be turned into it. If the question was asked on 0–10, "
        f"say so in the header ({header}(0-10)); if it asks about satisfaction, map it as csat_score; or leave it "
        "unmapped (--map nps_score=) to import the other columns")


def _tell_missing(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping, report: ImportReport) -> None:
    """Count each score column's missing answers (codes, and blanks on survey rows) with their
    first lines, in ``report.missing_scores`` and a note per column."""
    for name in score_columns(mapping):
        blank = f"{name} is null and {raw_text(mapping, name)} is null and feedback_kind = 'survey'"
        found = cur.execute(
            f"select coalesce(m_{name}, 'blank'), count(*), list(_line order by _line)[1:5] from {staged}_v "
            f"where not _blank and not _total and (m_{name} is not null or ({blank})) "
            f"group by 1 order by min(_line)").fetchall()
        if not found:
            continue
        total = sum(int(n) for _, n, _ in found)
        lines = sorted({line for *_, first in found for line in first})[:5]
        header = mapping.header_of(name)
        report.missing_scores.append({"column": header, "missing": total,
                                      "codes": {code: int(n) for code, n, _ in found}, "lines": lines})
        codes = ", ".join(f"{code} ({n})" for code, n, _ in found)
        said = "1 answer is" if total == 1 else f"{total} answers are"
        report.notes.append(f"column {header}: {said} missing ({codes}; line{'s' if len(lines) > 1 else ''} "
                            f"{', '.join(map(str, lines))}{', …' if total > len(lines) else ''}): not scores, "
                            "not stored")


def _infer_scale(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping,
                 report: ImportReport, chosen: str | None = None) -> None:
    """The scale of the scores given without one, decided for the column with its evidence.

    CSAT (1-5) when at most :data:`STRAY_SHARE` of the scores fall outside 1-5: those few are
    rejected (each with its line), never a reason to read every other score as NPS. NPS (0-10)
    when at least half fall outside 1-5 and at most a few outside 0-10. Scores that fit neither
    reading so plainly (or a ``chosen`` scale, which is used as given) are read on the scale
    proposed (most outside 1-5: NPS, else CSAT), and the report asks the analyst to confirm it
    (``needs_confirmation``); the note gives the evidence: ``scores 1–5 in 998 of 1000 rows; 2
    outside: rejected``.
    """
    where = "scale is null and raw_scale is null and score is not null and not _blank and not _total"
    n, out_csat, out_nps = cur.execute(
        f"select count(*), count(*) filter (where score < 1 or score > 5), "
        f"count(*) filter (where score < 0 or score > 10) from {staged} where {where}").fetchall()[0]
    if not n:
        return
    outside = {"csat": out_csat, "nps": out_nps}
    header = mapping.header_of("score")
    if chosen is not None:
        scale, how = chosen, ", as chosen"
    elif out_csat <= STRAY_SHARE * n:
        scale, how = "csat", ""
    elif out_nps <= STRAY_SHARE * n and out_csat >= 0.5 * n:
        scale, how = "nps", ""
    else:
        scale, how = ("nps" if out_csat >= 0.5 * n else "csat"), None
        report.needs_confirmation.append(
            f"column {header}: the scores fit no one scale (1–5 in {n - out_csat} of {n} rows, 0–10 in "
            f"{n - out_nps} of {n}); proposed {_SCALES[scale][0]}, confirm or {SCALE_DECISION} "
            "(scores outside it are rejected)")
    cur.execute(f"update {staged} set scale = ? where scale is null and raw_scale is null "
                "and score is not null", [scale])
    label, span, lo, hi = _SCALES[scale]
    report.score_scales.append(_describe(header, scale, lo, hi, False, n, outside[scale]))
    if how is None:
        return  # the decision asked for says what the scores are
    out = outside[scale]
    report.notes.append(f"column {header}: scores {span} in {n - out} of {n} rows"
                        + (f"; {out} outside: rejected" if out else "") + f"; read as {label}{how}")
