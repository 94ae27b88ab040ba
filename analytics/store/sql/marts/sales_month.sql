-- One row per calendar month, row region, row channel and customer segment: the sales the
-- overview filters and sums (a few thousand rows at any size).
-- region and channel are the transaction row's; segment is the customer's (customer_summary:
-- the customers file's, else the sales files'), NULL when unknown. orders: transactions
-- started, returns excluded; gross_revenue counts purchases only; revenue is net of returns;
-- returns_amount is positive.

with

transactions as (
    select * from transactions
),

segments as (
    -- only customers that have a segment: with no segment known the join has nothing to do
    select customer_id, segment from customer_summary where segment is not null
),

final as (
    select
        cast(date_trunc('month', t.order_date) as date) as month,
        t.region,
        t.channel,
        s.segment,
        count(*) filter (where t.is_order_start and not t.is_return) as orders,
        coalesce(sum(t.amount) filter (where not t.is_return), 0) as gross_revenue,
        sum(t.amount) as revenue,
        coalesce(-sum(t.amount) filter (where t.is_return), 0) as returns_amount,
        count(*) as lines
    from transactions t
    left join segments s on s.customer_id = t.customer_id
    group by all
)

select * from final
