-- One row per customer any leads row links (leads.customer_id) who has a purchase: the first and
-- second purchase days (customer_month: the first month's first_day; its second_day, else the next
-- month's first_day, the second lowest first_day: every later month's first_day comes after the
-- first month's days), and the months the customer's purchase days in 12 months first reached a new
-- high (highs: a list of {month, days} in month order: the month, and the purchase days in it and
-- the 11 before). The loyal day for any N is then read from it at query time: the first high of N
-- or more (analytics/metrics/funnel_leads_query.py). Apart from lead_stages so that an import of
-- transactions rebuilds these few rows, not the leads' evidence.

with

leads as (
    select * from leads
),

customer_month as (
    select * from customer_month
),

months as (
    select customer_id, month, first_day, second_day, purchase_days
    from customer_month
    where purchase_days > 0 and customer_id in (select customer_id from leads)
),

yearly as (
    -- the purchase days in the month and the 11 before (months as numbers: a range of 11)
    select
        customer_id,
        month,
        sum(purchase_days) over (
            partition by customer_id order by year(month) * 12 + month(month)
            range between 11 preceding and current row
        ) as year_days
    from months
),

records as (
    select
        customer_id,
        month,
        year_days,
        max(year_days) over (
            partition by customer_id order by month rows between unbounded preceding and 1 preceding
        ) as before
    from yearly
),

highs as (
    select
        customer_id,
        list_sort(list({'month': month, 'days': cast(year_days as integer)})) as highs
    from records
    where before is null or year_days > before
    group by customer_id
),

numbered as (
    -- n: the month's place among the customer's months with a purchase (first_day rises with the month)
    select customer_id, first_day, second_day, row_number() over (partition by customer_id order by first_day) as n
    from months
),

purchases as (
    select
        customer_id,
        min(first_day) as first_purchase_day,
        least(max(second_day) filter (where n = 1), max(first_day) filter (where n = 2)) as second_purchase_day
    from numbered
    group by customer_id
),

final as (
    select p.customer_id, p.first_purchase_day, p.second_purchase_day, h.highs
    from purchases p
    join highs h using (customer_id)
)

select * from final
