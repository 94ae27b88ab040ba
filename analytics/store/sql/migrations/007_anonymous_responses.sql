-- Schema version 7: anonymous survey responses.
--
-- A survey answer without a customer id (many survey tools export anonymous responses) is stored
-- with customer_id NULL; a complaint still needs a customer (the import rejects one without).
-- Such a row's identity is its feedback id and scale when the file has ids, else its content
-- (customer_id NULL hashed as every empty column is), as for any other feedback row, so
-- importing the same file again adds nothing. The held versions (feedback_held, schema version
-- 5) may hold such a row too.

alter table feedback alter column customer_id drop not null;
alter table feedback_held alter column customer_id drop not null;
