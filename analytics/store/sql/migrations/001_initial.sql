-- Schema version 1: the four input kinds, the import ledger, rejected rows,
-- saved column mappings, metric settings and the data version counter.
-- Every fact row carries the import that brought it (import_id) and its identity row_key:
-- 128 bits of md5 over its natural key, or over its content and its occurrence among
-- identical rows of its file when the file had no natural key.

create sequence import_id_seq start 1;

create table imports (
    import_id            integer primary key,
    kind                 varchar not null,
    file_name            varchar not null,
    content_hash         varchar not null,
    file_format          varchar,
    encoding             varchar,
    sheet                varchar,
    header_row           integer,
    mapping              json,
    imported_by          varchar not null,
    imported_at          timestamp not null,
    rows_read            bigint not null default 0,
    rows_valid           bigint not null default 0,
    rows_rejected        bigint not null default 0,
    rows_excluded        bigint not null default 0,
    rows_duplicate       bigint not null default 0,
    rows_already_present bigint not null default 0,
    rows_conflicting     bigint not null default 0,
    rows_imported        bigint not null default 0,
    status               varchar not null,   -- committed | undone
    error                varchar,
    undone_at            timestamp,
    undone_by            varchar
);

create table import_rejects (
    import_id   integer not null,
    line        bigint,
    column_name varchar,
    value       varchar,
    reason      varchar not null
);

create table transactions (
    row_key        uhugeint not null,
    import_id      integer not null,
    line           bigint,
    transaction_id varchar,
    customer_id    varchar not null,
    order_date     date not null,
    amount         decimal(18, 4) not null,
    quantity       double,
    cost           decimal(18, 4),
    region         varchar,
    channel        varchar,
    product        varchar,
    category       varchar,
    sales_rep      varchar,
    is_return      boolean not null,
    is_order_start boolean not null   -- the first line of its transaction id in its file
);

create table customers (
    row_key             uhugeint not null,
    import_id           integer not null,
    line                bigint,
    customer_id         varchar not null,
    customer_name       varchar,
    region              varchar,
    segment             varchar,
    acquired_date       date,
    acquisition_channel varchar,
    acquisition_cost    decimal(18, 4)
);

create table feedback (
    row_key       uhugeint not null,
    import_id     integer not null,
    line          bigint,
    feedback_id   varchar,
    customer_id   varchar not null,
    feedback_date date not null,
    score         double,
    scale         varchar,     -- csat (1-5) | nps (0-10)
    feedback_kind varchar not null,  -- survey | complaint
    category      varchar,
    resolved_date date,
    comment       varchar
);

create table leads (
    row_key        uhugeint not null,
    import_id      integer not null,
    line           bigint,
    lead_id        varchar not null,
    created_date   date not null,
    stage          varchar not null,
    customer_id    varchar,
    region         varchar,
    source         varchar,
    sales_rep      varchar,
    qualified_date date,
    proposal_date  date,
    closed_date    date,
    outcome        varchar
);

create table saved_mappings (
    name     varchar primary key,
    kind     varchar not null,
    mapping  json not null,
    saved_at timestamp not null
);

create table settings (
    key   varchar primary key,
    value json not null
);

create table meta (
    key   varchar primary key,
    value bigint not null
);

insert into meta values ('data_version', 0);
