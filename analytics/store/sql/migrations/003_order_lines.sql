-- Schema version 3: order lines, amended orders, customer attributes from sales files.
--
-- transactions.line_id: the file's own line id (Row ID, 行号, ...), when it has one.
-- transactions_replaced: the stored lines of an order that a later import replaced with its
-- own version of the order (replaced_by); undoing that import puts them back as they were.
-- customer_attributes: what a transactions file says about its customers (name, segment,
-- province, city): one row per import, customer and combination of values, with the number
-- of lines that said it. The customer dimension reads it where the customers file is silent.
-- customers.province, customers.city: where the customer is.
-- imports: how an import treated orders the database held with other lines (keep the stored
-- order, or replace it), how many such orders there were and how many stored lines it replaced.

alter table transactions add column line_id varchar;

create table transactions_replaced as
select *, cast(null as integer) as replaced_by from transactions limit 0;

create table customer_attributes (
    import_id     integer not null,
    customer_id   varchar not null,
    customer_name varchar,
    segment       varchar,
    province      varchar,
    city          varchar,
    lines         bigint not null
);

alter table customers add column province varchar;
alter table customers add column city varchar;

alter table imports add column amended_policy varchar;
alter table imports add column orders_amended bigint default 0;
alter table imports add column rows_replaced bigint default 0;
