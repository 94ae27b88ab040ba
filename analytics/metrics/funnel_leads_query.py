"""The leads funnel's queries (:mod:`analytics.metrics.funnel_leads` has the rules and the figures): what each stage
name of the ``lead_stages`` mart means (:func:`keyed`), the stage list and map in use (:func:`definitions`), the
cohort's rows (:func:`cohort_rows`) and the one query that reads, per lead of a cohort, every stage reached or not
(:func:`reach_sql`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import duckdb

from analytics.metrics.funnel_stages import LOST, PIPELINE_STAGES, stage_key, suggested_stages
from analytics.scope import Scope, leads, month_start, months_until
from analytics.store import settings

#: The group columns the leads funnel is compared by.
GROUPINGS: tuple[str, ...] = ("region", "source", "sales_rep")
#: What a row made from a date column means (``closed`` aside: it means what the name ``closed`` maps to).
COLUMN_KEYS: dict[str, str] = {"potential": "potential", "target": "target", "proposal": "proposal",
                               "won": "first_purchase", "lost": LOST}
#: The stages a lead's current stage implies the earlier ones of, in order.
CHAIN: tuple[str, ...] = (*PIPELINE_STAGES, "first_purchase")
COLUMNS = "lead_id, stage, from_column, stage_date, created_date, customer_id, region, source, sales_rep"


def definitions(con: duckdb.DuckDBPyConnection, stages: Sequence[str] | None,
                stage_map: Mapping[str, str] | None) -> tuple[tuple[str, ...], dict[str, str]]:
    """The stage list and stage map in use: those given, else the settings ``funnel_stages`` and
    ``funnel_stage_map``; a stage list never saved is the suggested one (:func:`has_proposal`: with ``proposal``
    when any lead has one); ``ValueError`` (the settings' messages) for a list or map that is not one."""
    saved = settings.stored_values(con) if stages is None or stage_map is None else {}
    stage_map = settings.check("funnel_stage_map", dict(saved.get("funnel_stage_map", {}) if stage_map is None
                                                        else stage_map))
    if stages is None:
        stages = saved["funnel_stages"] if "funnel_stages" in saved else suggested_stages(has_proposal(con, stage_map))
    return tuple(settings.check("funnel_stages", list(stages))), stage_map


def has_proposal(con: duckdb.DuckDBPyConnection, stage_map: Mapping[str, str]) -> bool:
    """Whether any lead (anyone's) has a row that means ``proposal``: a proposal date, or a stage name mapped or
    read so (the stage list is a definition of the whole company's funnel, the same for every user and scope)."""
    if con.execute("select exists (select 1 from lead_stages where from_column and stage = 'proposal')"
                   ).fetchall()[0][0]:
        return True
    names = con.execute("select distinct stage from lead_stages where not from_column").fetchall()
    return any(key == "proposal" for _, _, key in keyed([(False, n, 0) for (n,) in names], stage_map))


def keyed(names: Sequence[tuple[bool, str, int]], stage_map: Mapping[str, str]) -> list[tuple[bool, str, str]]:
    """What each distinct (``from_column``, ``stage``, rows) of ``lead_stages`` means (:mod:`analytics.metrics.
    funnel_leads`): with a
    stage key, ``lost``, ``ignore`` or None (unmapped); one look-up per distinct name, never per row."""
    return [(column, name, COLUMN_KEYS[name] if column and name in COLUMN_KEYS else stage_key(name, stage_map)[0])
            for column, name, _ in names]


def named_leads(con: duckdb.DuckDBPyConnection, cohort: tuple[str, list],
                 names: Sequence[tuple[bool, str, int]]) -> dict[str, int]:
    """Per stage name of the file in ``cohort``'s rows (a row of ``lead_stages`` not made from a date column, or made
    from one but not a key: ``closed``), its leads, from ``names`` (``from_column``, ``stage``, rows). A lead has one
    row per (``from_column``, ``stage``), so a name's rows are its leads, but for a name both ways (a file's stage
    ``closed`` and a closed date without an outcome): those are counted again, exactly."""
    named: dict[str, int] = {}
    twice = set()
    for column, name, rows in names:
        if not column or name not in COLUMN_KEYS:
            twice |= {name} & named.keys()
            named[name] = named.get(name, 0) + rows
    if twice:
        named |= dict(con.execute(f"select stage, count(distinct lead_id) from ({cohort[0]}) c where "
                                  "list_contains(?, stage) group by stage", [*cohort[1], sorted(twice)]).fetchall())
    return named


def reach_sql(cohort: tuple[str, list], names: Sequence[tuple[bool, str, str | None]],
               values: Mapping[str, list] | None, as_of: tuple[date, bool], min_days: int) -> tuple[str, list]:
    """The query (and its parameters) of one row per lead of ``cohort`` (a query of ``lead_stages`` rows), in no
    particular order, every stage of :data:`~analytics.store.settings.FUNNEL_STAGES` reached or not by the day
    ``as_of[0]`` (``as_of[1]``: the data goes on after it in its month), by :mod:`analytics.metrics.funnel_leads`'s
    rules;
    ``names``: the distinct (``from_column``, ``stage``) with their key; ``values``: the values of each of
    :data:`GROUPINGS` (None: no group column); ``min_days``: N.

    Columns: ``lead_id``, ``created_date``, ``customer_id``, :data:`GROUPINGS` (each its value's place in its list,
    from 1; NULL: none), ``lost``; per stage k ``k_reached`` and ``k_day`` (NULL when not known or not reached); per
    pipeline stage ``k_implied`` (reached only by a later stage); ``by_close`` (first purchase by the lead's close,
    not a purchase of its customer)."""
    keys = (*CHAIN, LOST)
    bit = "case m.key " + " ".join(f"when '{k}' then {1 << i}" for i, k in enumerate(keys)) + " else 0 end"
    firsts = ", ".join(f"min(stage_date) filter (where bit = {1 << i}) as {k}_first" for i, k in enumerate(keys))
    later = ", ".join(f"k.{k}_first" for k in keys[1:])
    raw = {k: f"(has & {1 << i} <> 0 and ({k}_first is null or {k}_first <= as_of))" for i, k in enumerate(keys)}
    reach = ", ".join(f"{raw[k]} as {k}_raw, case when {k}_first <= as_of then {k}_first end as {k}_d" for k in keys)
    says = ", ".join(f"case when {raw[k]} and says & {1 << i} <> 0 then {i} else -1 end" for i, k in enumerate(CHAIN))
    pipeline = ", ".join(f"{k}_raw or furthest > {i} as {k}_reached, {k}_d as {k}_day, "
                         f"not {k}_raw and furthest > {i} as {k}_implied" for i, k in enumerate(PIPELINE_STAGES))
    codes = "".join(f"list_position(?, {g}) as {g}, " for g in GROUPINGS) if values is not None else ""
    attributes = ", ".join(f"a.{c}" for c in ("lead_id", "created_date", "customer_id", *GROUPINGS))
    month, recount = month_start(as_of[0]), as_of[1]
    # (a row's key as one bit, so that which keys a lead has, and which it has from rows other than a log's, are
    # two aggregates; a lead's attributes, on each of its rows, read from its one row of the created date (the
    # mart's ``potential`` row from a column: every lead has exactly one, with the created date, a known day),
    # not aggregated: strings cost; that row means potential on that day whatever the map, so only the other
    # rows, a third fewer, are keyed and aggregated. The loyal day: the first month whose 12 months hold N purchase
    # days, as :func:`analytics.metrics.funnel_lifecycle.loyal_days` reads it: the month of the customer's first
    # high of N or more (``lead_purchases.highs``, from every month), when before the as-of day's month; in that
    # month when its days up to the as-of day still hold N (counted again when the data goes on after it: the
    # customers whose first such high is in that month); read only for the customers who can be loyal: N purchase
    # days by the as-of day need a second purchase by then, or with N = 1 a first)
    edge, edge_params = "", []
    if recount:
        months = months_until(*as_of)
        edge = (f", edge as (select m.customer_id, sum(m.purchase_days) as days from ({months.sql}) m semi join "
                "(select customer_id from candidates, cut where month = at_month) c using (customer_id), cut "
                "where m.month >= at_month - interval 11 month and m.purchase_days > 0 group by m.customer_id)")
        edge_params = list(months.params)
    loyal = ("candidates as (select distinct r.customer_id, (list_filter(p.highs, lambda h: h.days >= r.n)[1]).month "
             "as month from reached r join lead_purchases p on p.customer_id = r.customer_id "
             f"where r.again is not null or r.n = 1 and r.bought is not null){edge}, "
             "loyal as (select c.customer_id, c.month from candidates c "
             f"{'left join edge e using (customer_id) ' if recount else ''}, cut "
             f"where c.month < at_month or c.month = at_month{' and e.days >= n' if recount else ''})")
    sql = ("with cut as (select ?::date as as_of, ?::integer as n, ?::date as at_month), "
           f"rows as (select r.lead_id, r.stage_date, {bit} as bit, "
           "not r.from_column and r.stage_date is not null as log "
           f"from ({cohort[0]}) r left join (select unnest(?::boolean[]) as from_column, "
           "unnest(?::varchar[]) as stage, unnest(?::varchar[]) as key) m using (from_column, stage) "
           "where not (r.from_column and r.stage = 'potential')), "
           "keyed as (select lead_id, bit_or(bit) as has, bit_or(case when log then 0 else bit end) as says, "
           f"{firsts} from rows group by lead_id), "
           f"lead as (select {attributes}, p.first_purchase_day, p.second_purchase_day, "
           "coalesce(k.has, 0) | 1 as has, coalesce(k.says, 0) | 1 as says, "
           f"least(a.created_date, k.potential_first) as potential_first, {later} "
           f"from ({cohort[0]}) a left join keyed k using (lead_id) "
           "left join lead_purchases p on p.customer_id = a.customer_id "
           "where a.from_column and a.stage = 'potential'), "
           "reached as (select *, case when first_purchase_day <= as_of then first_purchase_day end as bought, "
           f"case when second_purchase_day <= as_of then second_purchase_day end as again, {reach}, "
           f"greatest({says}) as furthest from lead, cut), "
           f"{loyal} "
           f"select lead_id, created_date, customer_id, {codes}lost_raw as lost, {pipeline}, "
           "bought is not null or first_purchase_raw as first_purchase_reached, "
           "coalesce(bought, first_purchase_d) as first_purchase_day, "
           "bought is null and first_purchase_raw as by_close, "
           "again is not null as repeat_purchase_reached, again as repeat_purchase_day, "
           "l.month is not null as loyal_reached, "
           "case when l.month is not null then least(last_day(l.month), as_of) end as loyal_day "
           "from reached left join loyal l using (customer_id)")
    params = [as_of[0], min_days, month, *cohort[1], [c for c, _, _ in names], [n for _, n, _ in names],
              [k for _, _, k in names], *cohort[1], *edge_params, *(values.values() if values is not None else ())]
    return sql, params


def cohort_rows(scope: Scope, created: tuple[date, date], sources: Sequence[str]) -> tuple[str, list]:
    """The ``lead_stages`` rows of the leads in ``scope`` created from ``created[0]`` to ``created[1]`` (both
    included), of ``sources`` only when given."""
    who = leads(scope)
    only = " and list_contains(?, source)" if sources else ""
    return (f"select {COLUMNS} from ({who.sql}) w where created_date >= ? and created_date <= ?{only}",
            [*who.params, *created, *([list(sources)] if sources else [])])
