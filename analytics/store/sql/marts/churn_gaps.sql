-- One row per customer group (home region, segment, acquisition channel), month and 30-day bucket:
-- the gaps between consecutive purchase days of a customer that end in the month (its later day in
-- it), counted by bucket (gap - 1) // 30 (0: at most 30 days; 24: more than 720 days), for the churn
-- page's default inactivity window as of any month's end. Gaps inside a month (its purchase days
-- less one) are all in bucket 0.

with

rows as (
    select * from _churn_rows
),

between_months as (
    select
        home_region, segment, acquisition_channel,
        cast(date_trunc('month', date '1970-01-01' + next_first) as date) as month,
        least((greatest(next_first - last_day, 1) - 1) // 30, 24) as bucket,
        count(*) as gaps
    from rows
    where next_first is not null
    group by all
),

within_months as (
    select home_region, segment, acquisition_channel, month, 0 as bucket, sum(purchase_days - 1) as gaps
    from rows
    where purchase_days > 1
    group by all
),

final as (
    select home_region, segment, acquisition_channel, month, bucket, cast(sum(gaps) as bigint) as gaps
    from (select * from between_months union all select * from within_months)
    group by all
)

select * from final
