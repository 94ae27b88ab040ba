-- One row per customer and month with a purchase (from _churn_rows), slim and ordered by the month's last purchase
-- day: the customer's number (customer_numbers.seq), the month's last purchase day, the first purchase day of their
-- next month with one (-1: none) and their first purchase day (days since 1970-01-01). Churn per customer tier
-- (analytics/metrics/churn_tiers.py) folds these rows by each customer's tier of a period, which no summary per
-- customer group can hold (tiers depend on the period).

with

rows as (
    select * from _churn_rows
),

final as (
    select
        seq,
        last_day,
        coalesce(next_first, -1) as next_first,
        customer_first
    from rows
)

select * from final order by last_day
