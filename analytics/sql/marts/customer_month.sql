-- One row per customer per calendar month with a purchase or a return.
-- month: the first day of the month; orders and purchase_days count purchases only;
-- revenue is net of returns. is_first_month marks the month of the first purchase.

with

transactions as (
    select * from transactions
),

customer_summary as (
    select customer_id, first_order_date from customer_summary
),

monthly as (
    select
        customer_id,
        cast(date_trunc('month', order_date) as date) as month,
        count(distinct coalesce(transaction_id, cast(row_key as varchar)))
            filter (where not is_return) as orders,
        count(distinct order_date) filter (where not is_return) as purchase_days,
        sum(amount) as revenue,
        coalesce(-sum(amount) filter (where is_return), 0) as returns_amount
    from transactions
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
