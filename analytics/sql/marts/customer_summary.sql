-- One row per customer: who they are, when they first and last bought, how much.
-- Customers come from the customers file and from transactions (either alone is enough).
-- home_region: the customers file's region when given, else the region of most spend
-- (ties broken by region name, so the choice is stable).
-- orders: distinct transaction ids (a row without one counts as one order);
-- purchase_days: distinct days with a purchase; revenue is net of returns.

with

transactions as (
    select * from transactions
),

customers as (
    select
        customer_id,
        any_value(customer_name order by import_id desc) as customer_name,
        any_value(region order by import_id desc) as region,
        any_value(segment order by import_id desc) as segment,
        any_value(acquired_date order by import_id desc) as acquired_date,
        any_value(acquisition_channel order by import_id desc) as acquisition_channel,
        any_value(acquisition_cost order by import_id desc) as acquisition_cost
    from customers
    group by customer_id
),

purchases as (
    select
        customer_id,
        min(order_date) filter (where not is_return) as first_order_date,
        max(order_date) filter (where not is_return) as last_order_date,
        count(distinct coalesce(transaction_id, cast(row_key as varchar)))
            filter (where not is_return) as orders,
        count(distinct order_date) filter (where not is_return) as purchase_days,
        sum(amount) as revenue,
        sum(amount) filter (where not is_return) as gross_revenue,
        coalesce(-sum(amount) filter (where is_return), 0) as returns_amount,
        sum(amount - cost) as margin
    from transactions
    group by customer_id
),

region_spend as (
    select customer_id, region, sum(amount) as spend
    from transactions
    where region is not null
    group by customer_id, region
),

spend_region as (
    select customer_id, arg_max(region, struct_pack(spend := spend, region := region)) as region
    from region_spend
    group by customer_id
),

final as (
    select
        coalesce(p.customer_id, c.customer_id) as customer_id,
        c.customer_name,
        coalesce(c.region, s.region) as home_region,
        c.segment,
        c.acquired_date,
        c.acquisition_channel,
        c.acquisition_cost,
        p.first_order_date,
        p.last_order_date,
        coalesce(p.orders, 0) as orders,
        coalesce(p.purchase_days, 0) as purchase_days,
        coalesce(p.revenue, 0) as revenue,
        coalesce(p.gross_revenue, 0) as gross_revenue,
        coalesce(p.returns_amount, 0) as returns_amount,
        p.margin,
        c.customer_id is not null as is_in_customers_file
    from purchases p
    full outer join customers c on c.customer_id = p.customer_id
    left join spend_region s on s.customer_id = coalesce(p.customer_id, c.customer_id)
)

select * from final
