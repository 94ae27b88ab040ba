-- One row per customer and month with a purchase, for the churn summaries built after an import
-- (a temporary step): the customer's groups (home region, segment, acquisition channel), the month's
-- first and last purchase day, the last purchase day of the customer's previous month with a purchase
-- and the first of their next one (days since 1970-01-01; NULL where there is none), the month's
-- purchase days and revenue (net of returns, exact decimals), and the customer's first purchase day. The customers
-- are numbered by customer_numbers.seq (a window partitioned by an integer costs a fraction of one partitioned by the
-- text id).

with

customer_month as (
    select * from customer_month
),

customers as (
    select * from customer_numbers
),

months as (
    select
        c.seq,
        m.month,
        cast(m.first_day - date '1970-01-01' as integer) as first_day,
        cast(m.last_day - date '1970-01-01' as integer) as last_day,
        m.purchase_days,
        m.revenue
    from customer_month m
    join customers c using (customer_id)
    where m.purchase_days > 0
),

final as (
    select
        seq,
        month,
        first_day,
        last_day,
        lag(last_day) over w as previous_last,
        lead(first_day) over w as next_first,
        first_value(first_day) over w as customer_first,
        purchase_days,
        revenue
    from months
    window w as (partition by seq order by month)
)

select f.*, c.customer_id, c.home_region, c.segment, c.acquisition_channel
from final f
join customers c using (seq)
