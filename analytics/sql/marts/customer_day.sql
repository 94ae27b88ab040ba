-- One row per customer per day per region per channel with a purchase or a return.
-- orders: distinct transaction ids with a purchase (a row without an id is an order of
-- its own); revenue is net of returns, gross_revenue purchases only, returns_amount the
-- returned value as a positive number; margin = revenue - cost where cost is known.
-- Built in two steps (order, then day) because DISTINCT aggregates are slow at scale.

with

transactions as (
    select * from transactions
),

orders as (
    select
        customer_id,
        order_date,
        region,
        channel,
        coalesce(transaction_id, cast(row_key as varchar)) as order_key,
        bool_or(not is_return) as has_purchase,
        sum(amount) as revenue,
        coalesce(sum(amount) filter (where not is_return), 0) as gross_revenue,
        coalesce(-sum(amount) filter (where is_return), 0) as returns_amount,
        sum(amount - cost) as margin
    from transactions
    group by all
),

final as (
    select
        customer_id,
        order_date,
        region,
        channel,
        count(*) filter (where has_purchase) as orders,
        sum(revenue) as revenue,
        sum(gross_revenue) as gross_revenue,
        sum(returns_amount) as returns_amount,
        sum(margin) as margin
    from orders
    group by all
)

select * from final
