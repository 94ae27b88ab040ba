-- Schema version 5: the versions of rows an import brought with other values than the stored
-- ones, which it did not write: a row whose natural key the database held with other values
-- (a conflict), the lines of an amended order it kept as stored. Each is that import's
-- version (import_id): when undoing the import that holds the key or the order leaves it with
-- no row, the earliest committed import's version takes its place, as if the undone import
-- had never been (analytics.ingest.claims).

create table transactions_held as select * from transactions limit 0;
create table customers_held as select * from customers limit 0;
create table feedback_held as select * from feedback limit 0;
create table leads_held as select * from leads limit 0;
