-- Schema version 8: leads in three shapes, one table (issue 15; analytics/ingest/leads.py).
--
-- leads.stage_date is the day the lead reached its stage (a row of a stage-history log); NULL
-- when the file does not say. leads_held (schema version 5) gets it too, in the same place.
--
-- A lead row's natural key is now its lead id and stage, so a later export of a lead at a further
-- stage adds a row; and a later import's other version of a lead's stage replaces the stored one
-- (the latest import wins: analytics.ingest.schema.LATEST_WINS), where the stored row was kept and
-- the later version held aside. Rows stored before keep their identity (their identity columns do
-- not change) and are brought under the new rules:
--
-- 1. the claims on lead rows (schema version 4) are keyed by lead id and stage;
-- 2. a held version of a lead and stage no row holds (under the old key, the lead at another
--    stage: a conflict) comes in, the latest import's when there are several;
-- 3. for a lead and stage with a held version, the imports that brought the stored row (its own
--    and those that claim it) older than the latest held version step aside as held versions
--    too; the row passes to the earliest later claimant, or, without one, the latest held version
--    comes in. So every held version is older than the stored row's import and its claims, as undo
--    expects (analytics.ingest.claims), and the stored row is the latest import's.
--
-- A row that steps aside leaves its import's count (rows_inherited falls by one), a row that comes
-- in joins its import's (it rises by one): an import holds rows_imported + rows_inherited rows.

alter table leads add column stage_date date;
alter table leads_held add column stage_date date;

update import_claims set claim_key = md5_number(concat_ws(chr(31), 'key', l.lead_id, l.stage))
from leads l
where import_claims.kind = 'leads'
  and import_claims.claim_key = md5_number(concat_ws(chr(31), 'key', l.lead_id));

-- the latest held version of each lead and stage
create temp table _lead_latest as
select lead_id, stage, max(import_id) as latest from leads_held group by lead_id, stage;

-- 2: the held versions of a lead and stage no row holds
create temp table _lead_new as
select h.rowid as held_rid, h.import_id
from leads_held h join _lead_latest m on m.lead_id = h.lead_id and m.stage = h.stage and m.latest = h.import_id
where not exists (select 1 from leads l where l.lead_id = h.lead_id and l.stage = h.stage);

-- 3: the stored rows with a held version, and every import that brought each (its own, its claims)
create temp table _lead_bringers as
with live as (
    select l.rowid as rid, l.import_id as owner, m.latest,
           md5_number(concat_ws(chr(31), 'key', l.lead_id, l.stage)) as claim_key
    from leads l join _lead_latest m on m.lead_id = l.lead_id and m.stage = l.stage
)
select rid, claim_key, latest, owner as import_id, true as is_owner from live
union all
select v.rid, v.claim_key, v.latest, c.import_id, false
from live v join import_claims c on c.kind = 'leads' and c.claim_key = v.claim_key;

-- the bringers older than the latest held version step aside as held versions
create temp table _lead_aside as select * from _lead_bringers where import_id < latest;

insert into leads_held
select l.* replace (a.import_id as import_id) from leads l join _lead_aside a on l.rowid = a.rid;

delete from import_claims c using _lead_aside a
where c.kind = 'leads' and c.claim_key = a.claim_key and c.import_id = a.import_id and not a.is_owner;

update imports set rows_inherited = coalesce(rows_inherited, 0) - a.n
from (select import_id, count(*) as n from _lead_aside where is_owner group by import_id) a
where imports.import_id = a.import_id;

-- a stored row whose own import stepped aside passes to its earliest later claimant, if any
create temp table _lead_heirs as
select b.rid, any_value(b.claim_key) as claim_key, min(b.import_id) filter (where b.import_id > b.latest) as heir
from _lead_bringers b semi join (select rid from _lead_aside where is_owner) a using (rid)
group by b.rid;

update leads set import_id = h.heir from _lead_heirs h where leads.rowid = h.rid and h.heir is not null;

delete from import_claims c using _lead_heirs h
where c.kind = 'leads' and c.claim_key = h.claim_key and c.import_id = h.heir;

-- else the latest held version comes in, as do those of step 2
create temp table _lead_in as
select h.rowid as held_rid, h.import_id, x.rid
from _lead_heirs x join leads l on l.rowid = x.rid
join _lead_latest m on m.lead_id = l.lead_id and m.stage = l.stage
join leads_held h on h.lead_id = l.lead_id and h.stage = l.stage and h.import_id = m.latest
where x.heir is null
union all
select held_rid, import_id, null from _lead_new;

delete from leads where rowid in (select rid from _lead_in where rid is not null);

insert into leads select h.* from leads_held h where h.rowid in (select held_rid from _lead_in);

update imports set rows_inherited = coalesce(rows_inherited, 0) + b.n
from (select import_id, count(*) as n from (select heir as import_id from _lead_heirs where heir is not null
                                            union all select import_id from _lead_in) group by import_id) b
where imports.import_id = b.import_id;

delete from leads_held where rowid in (select held_rid from _lead_in);

drop table _lead_latest;
drop table _lead_new;
drop table _lead_bringers;
drop table _lead_aside;
drop table _lead_heirs;
drop table _lead_in;
