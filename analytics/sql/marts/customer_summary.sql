-- One row per customer: who they are, when they first and last bought, how much.
-- Customers come from the customers file and from transactions (either alone is enough).
-- home_region: the customers file's region when given, else the region of most spend
-- (ties broken by region name, so the choice is stable).
-- orders: distinct transaction ids (a row without one counts as one order);
-- purchase_days: distinct days with a purchase; revenue is net of returns.

with

customer_day as (
    select * from customer_day
),

customers as (
    select
        customer_id,
        arg_max(customer_name, import_id) as customer_name,
        arg_max(region, import_id) as region,
        arg_max(segment, import_id) as segment,
        arg_max(acquired_date, import_id) as acquired_date,
        arg_max(acquisition_channel, import_id) as acquisition_channel,
        arg_max(acquisition_cost, import_id) as acquisition_cost
    from customers
    group by customer_id
),

days as (
    select
        customer_id,
        order_date,
        sum(orders) as orders,
        sum(revenue) as revenue,
        sum(gross_revenue) as gross_revenue,
        sum(returns_amount) as returns_amount,
        sum(margin) as margin
    from customer_day
    group by customer_id, order_date
),

purchases as (
    select
        customer_id,
        min(order_date) filter (where orders > 0) as first_order_date,
        max(order_date) filter (where orders > 0) as last_order_date,
        sum(orders) as orders,
        count(*) filter (where orders > 0) as purchase_days,
        sum(revenue) as revenue,
        sum(gross_revenue) as gross_revenue,
        sum(returns_amount) as returns_amount,
        sum(margin) as margin
    from days
    group by customer_id
),

region_spend as (
    select customer_id, region, sum(revenue) as spend
    from customer_day
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
