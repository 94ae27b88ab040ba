-- One row per customer: who they are, when they first and last bought, how much.
-- Customers come from the customers file and from transactions (either alone is enough).
-- home_region: the customers file's region when given, else the region of most spend
-- (ties broken by region name, so the choice is stable).
-- customer_name, segment, province, city: the customers file's (its latest import giving one)
-- when it gives one, else what the sales files' lines say (customer_attribute_values). Where
-- they disagree, the value on most lines, ties going to the value of the latest import, then
-- to the first in text order; the import report and the check customer_attribute_conflicts
-- list such customers with every value seen.
-- orders: transactions started (a row without an id is an order of its own);
-- purchase_days: days with a purchase; revenue is net of returns, gross_revenue counts
-- purchases only, returns_amount is positive; margin = revenue - cost where cost is known
-- (a sales file with a profit and no cost has cost = amount - profit: the margin is its profit),
-- costed_revenue = the amount of those rows (margin / costed_revenue: the customer's margin rate).
-- first_day_revenue: what the customer spent on their first purchase day (the spend models of
-- the value page average the repeat purchases only, as Fader, Hardie & Lee 2005 do).
-- The dates, orders and sums roll up customer_month; the one scan of the transactions here is
-- for what it does not have (spend per region, margins), plus the rows of the first purchase day
-- of customers whose first month has several purchase days (the others': that month's purchases).

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
        arg_max(customer_name, import_id) filter (where customer_name is not null) as customer_name,
        arg_max(region, import_id) filter (where region is not null) as region,
        arg_max(segment, import_id) filter (where segment is not null) as segment,
        arg_max(province, import_id) filter (where province is not null) as province,
        arg_max(city, import_id) filter (where city is not null) as city,
        arg_max(acquired_date, import_id) filter (where acquired_date is not null) as acquired_date,
        arg_max(acquisition_channel, import_id) filter (where acquisition_channel is not null) as acquisition_channel,
        arg_max(acquisition_cost, import_id) filter (where acquisition_cost is not null) as acquisition_cost
    from customers
    group by customer_id
),

sales_attributes as (
    -- what the sales files say, for where the customers file is silent (max: the one rank-1 value)
    select
        customer_id,
        max(value) filter (where attribute = 'customer_name') as customer_name,
        max(value) filter (where attribute = 'segment') as segment,
        max(value) filter (where attribute = 'province') as province,
        max(value) filter (where attribute = 'city') as city
    from customer_attribute_values
    where rank = 1
    group by customer_id
),

by_region as (
    -- the one scan of the transactions: what customer_month does not have, spend per region (for the
    -- home region) and the margin sums
    select
        customer_id,
        region,
        sum(amount) as revenue,
        sum(amount - cost) as margin,
        sum(amount) filter (where cost is not null) as costed_revenue
    from transactions
    group by customer_id, region
),

regions as (
    select
        customer_id,
        sum(margin) as margin,
        sum(costed_revenue) as costed_revenue,
        arg_max(region, struct_pack(spend := revenue, region := region))
            filter (where region is not null) as spend_region
    from by_region
    group by customer_id
),

months as (
    select
        customer_id,
        min(first_day) as first_order_date,
        max(last_day) as last_order_date,
        -- (counts as bigint: DuckDB sums integers into a 128-bit integer, which Parquet and Spark lack)
        cast(sum(orders) as bigint) as orders,
        cast(sum(purchase_days) as bigint) as purchase_days,
        sum(revenue) as revenue,
        sum(revenue + returns_amount) as gross_revenue,
        sum(returns_amount) as returns_amount,
        arg_min(struct_pack(days := purchase_days, first_day := first_day, gross := revenue + returns_amount), month)
            filter (where first_day is not null) as first_month
    from customer_month
    group by customer_id
),

purchases as (
    select m.*, r.margin, r.costed_revenue, r.spend_region
    from months m
    join regions r using (customer_id)
),

first_day as (
    -- the first purchase day's spend: the first month's purchases when it has one purchase day (most
    -- customers), else from the rows of that day
    select t.customer_id, sum(t.amount) as first_day_revenue
    from transactions t
    join (select customer_id, first_month.first_day as day from months where first_month.days > 1) s
        on s.customer_id = t.customer_id and s.day = t.order_date
    where not t.is_return
    group by t.customer_id
    union all
    select customer_id, first_month.gross
    from months
    where first_month.days = 1
),

final as (
    select
        coalesce(p.customer_id, c.customer_id) as customer_id,
        coalesce(c.customer_name, a.customer_name) as customer_name,
        coalesce(c.region, p.spend_region) as home_region,
        coalesce(c.segment, a.segment) as segment,
        coalesce(c.province, a.province) as province,
        coalesce(c.city, a.city) as city,
        c.acquired_date,
        c.acquisition_channel,
        c.acquisition_cost,
        p.first_order_date,
        p.last_order_date,
        coalesce(p.orders, 0) as orders,
        coalesce(p.purchase_days, 0) as purchase_days,
        f.first_day_revenue,
        coalesce(p.revenue, 0) as revenue,
        coalesce(p.gross_revenue, 0) as gross_revenue,
        coalesce(p.returns_amount, 0) as returns_amount,
        p.margin,
        p.costed_revenue,
        c.customer_id is not null as is_in_customers_file
    from purchases p
    full outer join customers c on c.customer_id = p.customer_id
    left join sales_attributes a on a.customer_id = coalesce(p.customer_id, c.customer_id)
    left join first_day f on f.customer_id = p.customer_id
)

select * from final
