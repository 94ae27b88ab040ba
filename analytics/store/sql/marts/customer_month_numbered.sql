-- customer_month keyed by the customer's number (customer_numbers.seq) and ordered by month: one row
-- per customer and month with a purchase or a return, with revenue (net of returns, the exact decimal:
-- sums in any order give the same total, so ties by customer number fall the same way), purchase
-- days and the last purchase day (NULL in a month of returns only). For the tiers page: a period's
-- value per customer is one scan of its months grouped by an integer.

with

customer_month as (
    select * from customer_month
),

customer_numbers as (
    select * from customer_numbers
),

final as (
    select
        n.seq,
        m.month,
        m.revenue,
        m.purchase_days,
        m.last_day
    from customer_month m
    join customer_numbers n using (customer_id)
)

select * from final order by month, seq
