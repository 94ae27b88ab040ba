"""Validation of the staged rows: the row rules, their rejects and the report.

Every rule (:func:`_row_checks`) is a SQL condition over a staged row: a required cell
empty (but a survey answer's customer: :data:`~analytics.ingest.schema.EMPTY_WHEN`), a value
that did not parse (its text shown from ``_raw``), a date outside 1900-2100, a score outside
its scale, an unknown coded word. The staging pass flags a row
failing any rule (``_invalid``, :func:`invalid_expr`); :func:`validate_staged` then lists
every rule a row fails as a reject (line, column, value, reason), after settling what the
file's values leave open: the day/month order of dd/mm/yyyy dates (never silently) and the
scale of feedback scores given without one. It identifies the valid rows
(:mod:`analytics.ingest.identity`) and fills the :class:`ImportReport`.

A transactions file may lack a stored column it carries the makings of
(:func:`~analytics.ingest.layout.derived_columns`): the amount (unit price × quantity) or the cost (amount less profit).
The staging pass computes them, the rules here reject a line that cannot give its amount, and
the report says how they were made.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from analytics.ingest import leads
from analytics.ingest.attributes import note_conflicts
from analytics.ingest.identity import (
    compare_with_database,
    content_if_keyless,
    find_repeats,
    hash_expr,
    keyless,
    natural_key_columns,
    order_starts,
)
from analytics.ingest.layout import AMOUNT_PLACES, PIVOT, VALID, derived_columns, raw_text, staged_columns
from analytics.ingest.mapping import Mapping
from analytics.ingest.orders import check_policy
from analytics.ingest.readers import RawTable
from analytics.ingest.report import ImportReport, fill_counts
from analytics.ingest.schema import COLUMNS, EMPTY_WHEN, INSTEAD_OF, Column, identity_columns
from analytics.ingest.survey_scales import settle_scores
from analytics.ingest.surveys import explode, row_checks


def content_hash(mapping: Mapping) -> str:
    """The content hash of a staged row: its identity columns, derived ones included."""
    return hash_expr(identity_columns(mapping.kind), present=staged_columns(mapping))


def validate_staged(cur: duckdb.DuckDBPyConnection, raw: RawTable, mapping: Mapping, staged: str,
                    date_order: str | None, amended: str = "keep",
                    scale: str | None = None) -> tuple[ImportReport, str]:
    """Validate and identify the staged rows; report what the import would do.

    Writes the side tables of ``staged``: ``_bad`` (the invalid rows), ``_rejects``,
    ``_dups``, ``_orders``, ``_known`` and ``_amended`` (order lines), ``_db`` and the view
    ``_candidates`` (the rows to import, with their ``_key`` and ``_order_start``). A feedback
    file's lines are first made a row per answer (:func:`analytics.ingest.surveys.explode`):
    the side tables are then those of the new staged table.

    Parameters
    ----------
    cur
        The staging cursor.
    raw
        The file as read (its lines resolved).
    mapping
        The file's mapping.
    staged
        The staged table.
    date_order
        ``"dmy"``, ``"mdy"`` or None: see :func:`analytics.ingest.pipeline.prepare`.
    amended
        What to do with orders the database holds with other lines: ``"keep"`` or
        ``"replace"`` (:mod:`analytics.ingest.orders`).
    scale
        ``"csat"``, ``"nps"`` or None: the scale of scores given without one (see
        :mod:`analytics.ingest.survey_scales`).

    Returns
    -------
    tuple of (ImportReport, str)
        The validation report (status ``preview``), and the staged table the rows to import
        are in (``staged``, or a feedback file's row per answer).

    Raises
    ------
    MappingError
        A feedback file's recommend column on a scale NPS cannot be read from.
    """
    kind = mapping.kind
    cols = COLUMNS[kind]
    raw.settle()
    report = ImportReport(
        file=raw.path.name, kind=kind, file_format=raw.file_format, encoding=raw.encoding,
        content_hash=raw.content_hash, header_row=raw.header_row, sheet=raw.sheet,
        sheets=raw.sheets, delimiter=raw.delimiter, mapping=mapping.as_names(),
        unmapped_columns=mapping.unmapped, amended_policy=check_policy(amended),
    )
    _settle_day_month(cur, staged, mapping, date_order, report)
    if kind == "leads":  # the created dates and stages the file leaves to be made
        report.lead_shape = leads.shape(mapping)
        report.notes += leads.settle(cur, staged, mapping)
        cur.execute(f"update {staged} set _invalid = {invalid_expr(kind, mapping)} where _invalid")
    if kind == "feedback":  # each score column read on its scale, then a row per answer
        scales = settle_scores(cur, staged, mapping, report, scale)
        cur.execute(f"update {staged} set _invalid = {invalid_expr(kind, mapping)} where not _blank")
        staged = explode(cur, staged, mapping, scales)
    checks = _row_checks(kind, cols, mapping)
    ok = VALID
    view = f"{staged}_v"
    cur.execute(f"create temp table {staged}_bad as select * from {view} "
                "where not _blank and not _total and _invalid")
    cur.execute(f"create temp table {staged}_rejects "
                "(line bigint, column_name varchar, value varchar, reason varchar)")
    # Each check is a statement DuckDB binds (its macros expanded: 24 of them cost more than staging a
    # small file): run only when some row is invalid.
    if cur.execute(f"select exists (select 1 from {staged}_bad)").fetchall()[0][0]:
        for header, value, cond, reason in checks:
            cur.execute(f"insert into {staged}_rejects select _line, ?, cast({value} as varchar), {reason} "
                        f"from {staged}_bad where coalesce({cond}, false)", [header])
    if raw.malformed:  # one insert of them all (a file of ragged rows has tens of thousands)
        malformed = pa.table({"line": pa.array([m.line for m in raw.malformed], pa.int64()),
                              "value": pa.array([m.text[:500] for m in raw.malformed], pa.string()),
                              "reason": pa.array([m.reason for m in raw.malformed], pa.string())})
        cur.register(f"{staged}_malformed", malformed)
        try:
            cur.execute(f"insert into {staged}_rejects select line, null, value, reason from {staged}_malformed")
        finally:
            cur.unregister(f"{staged}_malformed")
    headers = cur.execute(f"select count(*) from {staged} where _header and not _blank").fetchall()[0][0]
    if headers:
        report.notes.append(f"{headers} lines repeat the header row (files joined together?); they are excluded")
    natural = bool(natural_key_columns(kind, mapping))
    orders = order_starts(cur, staged, ok, kind, mapping)
    # A natural key starts with the transaction id: when no id repeats, no key can.
    find_repeats(cur, staged, ok, mapping,
                 only_if=f"{staged}_orders" if natural and kind == "transactions" else None)
    # Join the small side tables only when they hold rows: each join costs a probe per row.
    repeats = cur.execute(f"select count(*) from {staged}_dups").fetchall()[0][0] > 0
    # Identity: the natural key (compared as it is: no row_key), else the content (+ its
    # occurrence among identical rows).
    content = content_if_keyless(kind, mapping, "s") if natural else "s._content"
    by_content = (f"case when d.n > 1 then md5_number(cast({content} as varchar) || '#' || d.n) "
                  f"else {content} end") if repeats else content
    key = f"case when {keyless(kind, mapping, 's')} then {by_content} end" if natural else by_content
    cur.execute(
        f"create temp view {staged}_candidates as select s.*, {orders} as _order_start, {key} as _key "
        f"from {view} s "
        + (f"left join {staged}_dups d using (_rid) " if repeats else "")
        + (f"left join {staged}_orders o using (transaction_id) " if orders != "true" else "")
        + f"where {ok}"
        # a repeated natural key is imported once (its first row); repeated content is not
        + (" and (d.n is null or d.n = 1 or d.mode = 'content')" if natural and repeats else "")
    )
    compare_with_database(cur, staged, mapping)
    _note_derived(cur, staged, mapping, ok, report)
    fill_counts(cur, staged, raw, mapping, ok, report)
    note_conflicts(cur, staged, mapping, ok, report)
    imported_before = cur.execute(
        "select import_id from imports where content_hash = ? and status = 'committed' "
        "and kind = ? order by import_id", [raw.content_hash, kind]).fetchall()
    report.already_imported_as = [r[0] for r in imported_before]
    if report.already_imported_as:
        ids = ", ".join(f"#{i}" for i in report.already_imported_as)
        report.notes.append(f"this exact file was imported before as {ids}")
    return report, staged


def _settle_day_month(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping,
                      date_order: str | None, report: ImportReport) -> None:
    """Settle the day/month order of dd/mm/yyyy-style values, never silently.

    Values like 25/12/2024 or 12/25/2024 decide a column's order; a column whose values
    all fit both orders needs ``date_order`` from the user (proposed: month first). Only
    the rows holding such values are touched.
    """
    dates = [c for c in COLUMNS[mapping.kind] if c.type == "date" and c.name in mapping.columns]
    # only a cell that failed to parse (``_raw``) can hold one: without any, the query below (its
    # macros bound for every date column) is not needed
    if not dates or not cur.execute(f"select exists (select 1 from {staged}_v where _raw is not null)"
                                    ).fetchall()[0][0]:
        return
    exprs = []
    for c in dates:
        r = raw_text(mapping, c.name)
        dm = f"{c.name} is null and {r} is not null and crm_is_dmy({r})"
        exprs.append(
            f"count(*) filter (where {dm}), "
            f"count(*) filter (where {dm} and crm_dmy_first({r}) > 12), "
            f"count(*) filter (where {dm} and crm_dmy_second({r}) > 12), "
            f"arg_min({r}, _rid) filter (where {dm}), "
            f"arg_min({r}, _rid) filter (where {dm} and crm_dmy_first({r}) > 12), "
            f"arg_min({r}, _rid) filter (where {dm} and crm_dmy_second({r}) > 12), "
            f"count(*) filter (where {dm} and crm_is_yy({r})), "
            f"arg_min({r}, _rid) filter (where {dm} and crm_is_yy({r}))"
        )
    row = cur.execute(f"select {', '.join(exprs)} from {staged}_v "
                      "where _raw is not null").fetchall()[0]
    readings: dict[str, str] = {}
    for i, c in enumerate(dates):
        n, first_big, second_big, example, first_example, second_example, yy, yy_example = row[8 * i: 8 * i + 8]
        if not n:
            continue
        header = mapping.header_of(c.name)
        if yy:
            report.notes.append(f"column {header}: {yy} dates have a two-digit year (e.g. {yy_example}); "
                                f"00–{PIVOT - 1} are read as 2000–20{PIVOT - 1} and {PIVOT}–99 as 19{PIVOT}–1999")
        if date_order:
            reading, why = date_order, "chosen"
        elif first_big and not second_big:
            reading, why = "dmy", f"values such as {first_example} only fit day/month/year"
        elif second_big and not first_big:
            reading, why = "mdy", f"values such as {second_example} only fit month/day/year"
        elif first_big and second_big:
            reading, why = "mdy", (f"values such as {first_example} fit only day/month/year and "
                                   f"values such as {second_example} only month/day/year")
            report.needs_confirmation.append(
                f"column {header}: its dates mix day/month and month/day orders; choose one "
                "order (values that do not fit it are rejected)")
        else:
            reading, why = "mdy", f"every value (e.g. {example}) fits both orders"
            report.needs_confirmation.append(
                f"column {header}: dates like {example} could be day/month/year or "
                "month/day/year; proposed month/day/year, confirm or choose")
        readings[c.name] = reading
        report.date_readings[header] = {"reading": reading, "why": why, "values": n}
    if len(set(readings.values())) > 1 and not date_order:
        report.needs_confirmation.append("date columns read in different orders; choose one order")
    if readings:
        # the rows holding day/month values: parse them, then hash their content again
        # (a natural key holds no date)
        natural = bool(natural_key_columns(mapping.kind, mapping))
        rekey = f"_content = {content_hash(mapping)}"
        for name, reading in readings.items():
            r = raw_text(mapping, name)
            cur.execute(f"update {staged} set {name} = crm_date_dmy({r}, ?) "
                        f"where {name} is null and {r} is not null and crm_is_dmy({r})", [reading])
        if not natural:
            # the keys of the rows whose dates were just read (the text stays; checks see the date)
            cur.execute(f"update {staged} set {rekey} where _raw is not null")
        # the day/month rows were invalid (unparsed dates) until now
        cur.execute(f"update {staged} set _invalid = {invalid_expr(mapping.kind, mapping)} where _invalid")


def _note_derived(cur: duckdb.DuckDBPyConnection, staged: str, mapping: Mapping, ok: str,
                  report: ImportReport) -> None:
    """Say how a derived amount or cost was made; and when every profit a cost is derived
    from lies between -1 and 1 while the amounts do not, that they may be margin rates (0.25
    for 25 %), which give a wrong cost: the rows are imported as the file says, the report
    says so before the commit."""
    derived = derived_columns(mapping)
    if "amount" in derived:
        report.notes.append(
            f"the file has no amount column: each row's amount is its unit price ({mapping.header_of('unit_price')}) "
            f"× its quantity ({mapping.header_of('quantity')}); a negative quantity makes it a return")
    if "cost" not in derived:
        return
    profit = mapping.header_of("profit")
    report.notes.append(f"the file has no cost column: each row's cost is its amount less its profit ({profit}), "
                        "so its margin is the profit")
    most, largest, example = cur.execute(
        "select max(abs(profit)), max(abs(amount)), "
        "arg_max({'line': _line, 'profit': profit, 'amount': amount}, abs(amount)) "
        f"from {staged}_v where {ok} and profit is not null").fetchall()[0]
    if most is not None and most <= 1 < largest:
        shown = {k: format(v.normalize(), "f") for k, v in example.items() if k != "line"}
        report.notes.append(
            f"column {profit}: every profit is between -1 and 1 (line {example['line']}: {shown['profit']} on an "
            f"amount of {shown['amount']}); if these are margin rates, not amounts, the cost and margin derived "
            "from them are wrong: leave the column unmapped or give the profit as an amount")


def invalid_expr(kind: str, mapping: Mapping) -> str:
    """True for a row that fails any rule of :func:`_row_checks`."""
    checks = _row_checks(kind, COLUMNS[kind], mapping)
    return " or ".join(f"coalesce({cond}, false)" for _, _, cond, _ in checks) or "false"


def _out_of_range(date: str, raw: str) -> str:
    """The reason of a date outside 1900-2100, with the reading when the text says it otherwise."""
    return (f"'date out of range (1900-2100)' || case when cast({date} as varchar) <> crm_text({raw}) "
            f"then ': read as ' || cast({date} as varchar) else '' end")


def _row_checks(kind: str, cols: tuple[Column, ...],
                mapping: Mapping) -> list[tuple[str, str, str, str]]:
    """(column header, value shown, failing condition, reason) for every rule."""
    checks = []
    for c in cols:
        if c.name not in mapping.columns:
            continue
        header = mapping.header_of(c.name)
        typed = c.type not in ("id", "text")
        raw = raw_text(mapping, c.name) if typed else c.name
        if c.required and (kind, c.name) not in INSTEAD_OF:
            empty = f"{c.name} is null" + (f" and {raw} is null" if typed else "")
            if (kind, c.name) in EMPTY_WHEN:  # (an anonymous survey response)
                empty += f" and not coalesce({EMPTY_WHEN[kind, c.name]}, false)"
            checks.append((header, raw, empty, f"'{c.name} is empty'"))
        if c.type == "date":
            # the text as written, and what it was read as when that is a date out of range
            reading = f"crm_date_reading({raw})"
            checks.append((header, raw, f"{c.name} is null and {raw} is not null",
                           f"case when year({reading}) not between 1900 and 2100 then {_out_of_range(reading, raw)} "
                           f"when crm_is_dmy({raw}) then 'not a date in the chosen day/month order' "
                           "else 'not a date' end"))
            checks.append((header, raw, f"year({c.name}) not between 1900 and 2100", _out_of_range(c.name, raw)))
        elif c.type == "money":
            checks.append((header, raw, f"{c.name} is null and {raw} is not null",
                           f"case when crm_money_lossy({raw}) then '{c.name} has more decimal places than the "
                           f"{AMOUNT_PLACES} the store keeps' else 'not an amount' end"))
        elif typed:
            checks.append((header, raw, f"{c.name} is null and {raw} is not null", "'not a number'"))
    if kind == "feedback":
        checks += row_checks(mapping)
    if "amount" in derived_columns(mapping):
        price, quantity = mapping.header_of("unit_price"), mapping.header_of("quantity")
        why = "the amount is unit price × quantity"
        checks += [
            (quantity, "null", f"quantity is null and {raw_text(mapping, 'quantity')} is null",
             f"'quantity is empty: {why}'"),
            (price, "null", f"unit_price is null and {raw_text(mapping, 'unit_price')} is null",
             f"'unit price is empty: {why}'"),
            (price, "cast(unit_price as varchar) || ' × ' || cast(quantity as varchar)",
             "amount is null and unit_price is not null and quantity is not null",
             "'unit price × quantity is out of range'"),
        ]
    if kind == "leads":
        checks += leads.row_checks(mapping)
    return checks
