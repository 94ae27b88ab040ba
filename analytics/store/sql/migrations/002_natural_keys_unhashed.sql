-- Schema version 2: a row with a natural key is identified by its key columns themselves
-- (transaction id [+ product], customer id, feedback id, lead id), compared directly, so
-- it needs no hash: new such rows store row_key NULL. row_key stays the identity of a row
-- without one (md5 of its content and its occurrence among identical rows of its file).
-- Rows stored before keep their md5 row_key, which is no longer read for them: nothing
-- is rewritten.

alter table transactions alter column row_key drop not null;
alter table customers alter column row_key drop not null;
alter table feedback alter column row_key drop not null;
alter table leads alter column row_key drop not null;
