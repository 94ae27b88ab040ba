-- One row per customer group (home region, segment, acquisition channel), inactivity window W (30, 60,
-- ..., 720 days) and month: the churn page's monthly flows, so the page reads a few thousand rows
-- instead of every customer's months.
-- churn_events: customers who became churned in the month (the day W + 1 after a purchase with no
-- purchase by then; a purchase on that very day wins them back), at any day, even after the data's
-- end; churned: of them, those whose day is on or before the data's last purchase day (what is known);
-- won_back: customers who bought in the month after being churned (their purchase before more than W
-- days earlier), won_back_revenue: their revenue that month (net of returns); new_customers: first
-- purchases in the month (the same for every W).
-- Customers active on the day before a month starts are then: first purchases before the month, less
-- churn events before it, plus returns before it (a running sum over the months).
-- Rows come from _churn_rows; gaps are folded in 30-day buckets (W is a multiple of 30, so a gap is
-- longer than W exactly when its bucket (gap - 1) // 30 is at least W / 30).

with

rows as (
    select * from _churn_rows
),

data_end as (
    select max(last_day) as last_day from rows
),

windows as (
    select cast(k * 30 as integer) as window_days, cast(k as integer) as k
    from (select unnest(generate_series(1, 24)) as k)
),

lapses as (
    -- per group and purchase day: the rows (a customer's month) with it as the month's last purchase day,
    -- by the bucket of the gap to the customer's next purchase (24: more than 720 days, or none)
    select
        home_region, segment, acquisition_channel, last_day,
        least(coalesce((next_first - last_day - 1) // 30, 24), 24) as bucket,
        count(*) as customers
    from rows
    group by all
),

returns as (
    select
        home_region, segment, acquisition_channel, first_day,
        least((first_day - previous_last - 1) // 30, 24) as bucket,
        count(*) as customers,
        sum(revenue) as revenue
    from rows
    where first_day - previous_last > 30
    group by all
),

churns as (
    select
        l.home_region, l.segment, l.acquisition_channel, w.window_days,
        cast(date_trunc('month', date '1970-01-01' + (l.last_day + w.window_days + 1)) as date) as month,
        -- (counts as bigint: DuckDB sums integers into a 128-bit integer, which Parquet and Spark lack)
        cast(sum(l.customers) as bigint) as churn_events,
        cast(sum(l.customers) filter (where l.last_day + w.window_days + 1 <= d.last_day) as bigint) as churned
    from lapses l
    join windows w on l.bucket >= w.k
    cross join data_end d
    group by all
),

backs as (
    select
        r.home_region, r.segment, r.acquisition_channel, w.window_days,
        cast(date_trunc('month', date '1970-01-01' + r.first_day) as date) as month,
        cast(sum(r.customers) as bigint) as won_back,
        sum(r.revenue) as won_back_revenue
    from returns r
    join windows w on r.bucket >= w.k
    group by all
),

firsts as (
    select
        home_region, segment, acquisition_channel,
        cast(date_trunc('month', date '1970-01-01' + first_day) as date) as month,
        count(*) as new_customers
    from rows
    where previous_last is null
    group by all
),

final as (
    select
        home_region, segment, acquisition_channel, window_days, month,
        coalesce(c.churn_events, 0) as churn_events,
        coalesce(c.churned, 0) as churned,
        coalesce(b.won_back, 0) as won_back,
        cast(coalesce(b.won_back_revenue, 0) as double) as won_back_revenue,
        coalesce(f.new_customers, 0) as new_customers
    from churns c
    full outer join backs b using (home_region, segment, acquisition_channel, window_days, month)
    full outer join (select * from firsts cross join windows) f
        using (home_region, segment, acquisition_channel, window_days, month)
)

select * from final
