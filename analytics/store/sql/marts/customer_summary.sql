-- One row per customer: who they are, when they first and last bought, how much.
-- Customers come from the customers file and from transactions (either alone is enough).
-- home_region: the customers file's region when given, else the region of most spend
-- (ties broken by region name, so the choice is stable).
-- orders: transactions started (a row without an id is an order of its own);
-- purchase_days: days with a purchase; revenue is net of returns, gross_revenue counts
-- purchases only, returns_amount is positive; margin = revenue - cost where cost is known.

with

transactions as (
    select * from transactions
),

customer_month as (
    select * from customer_month
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

by_region as (
    -- one scan of the transactions; a customer's rows per region roll up below
    select
        customer_id,
        region,
        min(order_date) filter (where not is_return) as first_order_date,
        max(order_date) filter (where not is_return) as last_order_date,
        count(*) filter (where is_order_start and not is_return) as orders,
        sum(amount) as revenue,
        coalesce(sum(amount) filter (where not is_return), 0) as gross_revenue,
        coalesce(-sum(amount) filter (where is_return), 0) as returns_amount,
        sum(amount - cost) as margin
    from transactions
    group by customer_id, region
),

purchases as (
    select
        customer_id,
        min(first_order_date) as first_order_date,
        max(last_order_date) as last_order_date,
        sum(orders) as orders,
        sum(revenue) as revenue,
        sum(gross_revenue) as gross_revenue,
        sum(returns_amount) as returns_amount,
        sum(margin) as margin,
        arg_max(region, struct_pack(spend := revenue, region := region))
            filter (where region is not null) as spend_region
    from by_region
    group by customer_id
),

purchase_days as (
    select customer_id, sum(purchase_days) as purchase_days
    from customer_month
    group by customer_id
),

final as (
    select
        coalesce(p.customer_id, c.customer_id) as customer_id,
        c.customer_name,
        coalesce(c.region, p.spend_region) as home_region,
        c.segment,
        c.acquired_date,
        c.acquisition_channel,
        c.acquisition_cost,
        p.first_order_date,
        p.last_order_date,
        coalesce(p.orders, 0) as orders,
        coalesce(d.purchase_days, 0) as purchase_days,
        coalesce(p.revenue, 0) as revenue,
        coalesce(p.gross_revenue, 0) as gross_revenue,
        coalesce(p.returns_amount, 0) as returns_amount,
        p.margin,
        c.customer_id is not null as is_in_customers_file
    from purchases p
    full outer join customers c on c.customer_id = p.customer_id
    left join purchase_days d on d.customer_id = coalesce(p.customer_id, c.customer_id)
)

select * from final
