-- One row per customer group (home region, segment, acquisition channel), cohort (the month of the
-- customers' first purchase) and month from it on: the cohort's customers with a purchase day in the
-- month (retained; every customer has one in their cohort's month) and their revenue in it (net of
-- returns; a month of returns only counts), for the churn page's cohort matrices.

with

customer_month as (
    select * from customer_month
),

cohorts as (
    select
        customer_id, home_region, segment, acquisition_channel,
        cast(date_trunc('month', first_order_date) as date) as cohort
    from customer_summary
    where first_order_date is not null
),

final as (
    select
        c.home_region, c.segment, c.acquisition_channel, c.cohort, m.month,
        count(*) filter (where m.purchase_days > 0) as retained,
        sum(m.revenue) as revenue
    from customer_month m
    join cohorts c using (customer_id)
    where m.month >= c.cohort
    group by all
)

select * from final
