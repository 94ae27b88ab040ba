"""The staged table's layout, shared by staging, the row rules and row identity.

The staged table holds the file's mapped columns (typed), the stored columns a transactions
file derives (:func:`derived_columns`: the amount from unit price × quantity, the cost from
amount less profit) and, always, the columns of coded words (:data:`CODED`: brought to
canonical words, each with ``raw_<column>``, the text of an unknown word). The text of the
typed cells that failed to parse is kept in one list column,
``_raw`` (built by :func:`failed_texts`, read by :func:`raw_text`), so rejects can show it
and the day/month order can be settled afterwards.
"""

from __future__ import annotations

from analytics.ingest.mapping import Mapping
from analytics.ingest.schema import COLUMNS, DERIVED_FROM, Column

_KIND_WORDS = {
    "complaint": ("complaint", "投诉", "客诉"),
    "survey": ("survey", "调查", "问卷", "评价", "回访", "调研"),
}
_SCALE_WORDS = {
    "csat": ("csat", "满意度", "1-5", "5分", "五分制"),
    "nps": ("nps", "推荐", "推荐度", "净推荐值", "0-10", "10分", "十分制"),
}
_OUTCOME_WORDS = {
    "won": ("won", "win", "赢单", "成交", "成功", "签约"),
    "lost": ("lost", "lose", "输单", "流失", "失败", "丢单"),
}


# Columns holding coded words, brought to canonical ones. They are staged even when the file
# lacks them (a feedback row's kind follows from its score, its scale may be inferred from
# the file's scores), each with raw_<column>, the text of an unknown word.
CODED: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("feedback", "scale"): _SCALE_WORDS,
    ("feedback", "feedback_kind"): _KIND_WORDS,
    ("leads", "outcome"): _OUTCOME_WORDS,
}


def trimmed_later(kind: str, col: Column) -> bool:
    """Whether ``col``'s text is trimmed after staging, per distinct value, by the look-alike pass
    (:func:`analytics.ingest.lookalike.normalize_text`) rather than on every row while staging:
    optional text that is not a coded word (region, product, segment, ...). Ids, coded words and
    required text are trimmed while staging, as the row rules and coded words read them there.
    (Finding where a cell ends decodes its last character, about 0.5 s of a 10M-row import.)"""
    return col.type == "text" and not col.required and (kind, col.name) not in CODED


#: The condition of a valid staged row: not blank, not a total row (nor a repeated header
#: line: ``_total`` is set for both, ``_header`` says which), no rule failed.
VALID = "(not _blank and not _total and not _invalid)"

#: Decimal places an amount keeps (``decimal(18, 4)`` in analytics/store/sql/migrations): an
#: amount written finer is rejected, never rounded.
AMOUNT_PLACES = 4

#: A two-digit year below PIVOT is 20yy, from it 19yy (POSIX's pivot: 00-68, 69-99).
PIVOT = 69


#: The stored columns a transactions file may lack when it has these (amount first: the cost
#: may be derived from a derived amount), and the SQL of each over the staged row. The amount
#: is exact within decimal(38, 10) whatever the factors (a quantity of 10^12 or more is NULL);
#: a product too large for an amount is NULL (the line is rejected), a cost too large unknown.
_DERIVED: dict[str, tuple[tuple[str, ...], str]] = {
    "amount": (DERIVED_FROM[("transactions", "amount")],
               "try_cast(cast(unit_price as decimal(38, 4)) * try_cast(quantity as decimal(18, 6)) "
               "as decimal(18, 4))"),
    "cost": (("profit",), "try_cast({amount} - profit as decimal(18, 4))"),
}


def derived_columns(mapping: Mapping) -> dict[str, str]:
    """The stored columns the file lacks and the staging pass derives, each with its SQL.

    ``amount``: unit price × quantity, for a file with both and no amount (a negative quantity
    gives a return); ``cost``: the amount less the profit, for a file with a profit and no cost
    (so a customer's margin, revenue − cost, is the file's profit).
    """
    if mapping.kind != "transactions":
        return {}
    derived: dict[str, str] = {}
    for name, (sources, formula) in _DERIVED.items():
        if name not in mapping.columns and all(s in mapping.columns for s in sources):
            derived[name] = formula.format(amount=derived.get("amount", "amount"))
    return derived


#: Stored columns a kind's staged rows always hold, mapped or not: a feedback row's score (its
#: question's answer, or none) and the score as answered (:mod:`analytics.ingest.surveys`); a
#: lead's created date and stage, which a file may leave to be made (:mod:`analytics.ingest.leads`).
ALWAYS_STAGED: dict[str, frozenset[str]] = {
    "feedback": frozenset({"score", "original_score", "original_scale"}),
    "leads": frozenset({"created_date", "stage"}),
}


def staged_columns(mapping: Mapping) -> frozenset[str]:
    """The canonical columns the staged table holds: the mapped ones, the coded ones, those a
    kind always stages (:data:`ALWAYS_STAGED`), and the stored columns derived from others
    (:func:`derived_columns`), which are hashed, compared and stored as a file's own would be."""
    return (frozenset(mapping.columns) | {name for kind, name in CODED if kind == mapping.kind}
            | ALWAYS_STAGED.get(mapping.kind, frozenset()) | frozenset(derived_columns(mapping)))


# Characters trimmed from both ends of every cell: ASCII white space and the full-width
# space (U+3000) that Chinese input methods type.
#: The characters staging trims from the ends of ids and text (a SQL literal in :data:`TRIM`).
TRIM_CHARS = " \t\r\n\u3000"
TRIM = "'" + TRIM_CHARS + "'"


def failed_texts(failed: list[tuple[str, str]]) -> str:
    """One list column with the text of the typed cells that did not parse (NULL, and so
    16 bytes, for the rows where all parsed: one column keeps staging narrow).

    ``failed`` holds (column, the expression of its text) for each mapped typed column, in
    the order of the schema's columns: the order :func:`raw_text` counts in.
    """
    any_failed = " or ".join(f"({name} is null and {t} is not null)" for name, t in failed)
    items = ", ".join(f"case when {name} is null and trim({t}, {TRIM}) <> '' then {t} end"
                      for name, t in failed)
    return f"case when {any_failed} then [{items}] end"


def raw_text(mapping: Mapping, name: str) -> str:
    """The expression for the unparsed text of typed column ``name`` (see failed_texts)."""
    typed = [c.name for c in COLUMNS[mapping.kind]
             if c.name in mapping.columns and c.type not in ("id", "text")]
    return f"_raw[{typed.index(name) + 1}]"
