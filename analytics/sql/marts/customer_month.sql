-- One row per customer per calendar month with a purchase or a return.
-- month: the first day of the month; orders and purchase_days count purchases only;
-- revenue is net of returns. is_first_month marks the month of the first purchase.

with

customer_day as (
    select * from customer_day
),

customer_summary as (
    select customer_id, first_order_date from customer_summary
),

days as (
    select
        customer_id,
        order_date,
        sum(orders) as orders,
        sum(revenue) as revenue,
        sum(returns_amount) as returns_amount
    from customer_day
    group by customer_id, order_date
),

monthly as (
    select
        customer_id,
        cast(date_trunc('month', order_date) as date) as month,
        sum(orders) as orders,
        count(*) filter (where orders > 0) as purchase_days,
        sum(revenue) as revenue,
        sum(returns_amount) as returns_amount
    from days
    group by customer_id, month
),

final as (
    select
        m.*,
        coalesce(m.month = cast(date_trunc('month', s.first_order_date) as date), false) as is_first_month
    from monthly m
    left join customer_summary s using (customer_id)
)

select * from final
