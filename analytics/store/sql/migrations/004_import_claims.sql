-- Schema version 4: the rows an import brought that the database held already.
--
-- import_claims: one row per row of an import's file that was already stored with the same
-- content (status 'present'), so not written again: the import that holds it keeps it, and
-- this import has a claim on it. Undoing the holder hands each claimed row to the earliest
-- committed import that claims it, so undo never removes a row another committed import
-- also brought. claim_key is the row's identity as analytics/ingest/claims.py computes
-- it on both sides: its natural key, its order line (order, line content, occurrence), or
-- its content key (row_key).
-- imports.rows_inherited: rows handed to an import when another import was undone; an
-- import holds rows_imported + rows_inherited rows (live or replaced) while it is committed.

create table import_claims (
    import_id integer not null,
    kind      varchar not null,
    claim_key uhugeint not null
);

alter table imports add column rows_inherited bigint default 0;
