-- One row per customer and month in which they came back: their first purchase day of the month is
-- more than 30 days (the shortest inactivity window) after their purchase before. returned: that day;
-- days_away: the days since the purchase before; revenue: the month's (net of returns); with the
-- customer's groups. For any window W of 30 days or more, the customers won back are the rows with
-- days_away > W (the churn page's win-back list).

with

rows as (
    select * from _churn_rows
),

final as (
    select
        customer_id, home_region, segment, acquisition_channel,
        date '1970-01-01' + first_day as returned,
        first_day - previous_last as days_away,
        cast(revenue as double) as revenue
    from rows
    where first_day - previous_last > 30
)

select * from final order by returned
