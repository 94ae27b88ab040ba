-- One row per customer any leads row links (leads.customer_id) who has a purchase: the first and
-- second purchase days (customer_month: the first month's first_day; its second_day, else the next
-- month's first_day, the second lowest first_day: every later month's first_day comes after the
-- first month's days). Apart from lead_stages so that an import of transactions rebuilds these few
-- rows, not the leads' evidence; the leads funnel joins them to a lead's linked customer. The loyal
-- day depends on the loyalty threshold N and is read at query time (analytics/metrics/funnel_leads.py).

with

leads as (
    select * from leads
),

customer_month as (
    select * from customer_month
),

final as (
    select
        customer_id,
        min(first_day) as first_purchase_day,
        least(arg_min_null(second_day, month), min(first_day, 2)[2]) as second_purchase_day
    from customer_month
    where purchase_days > 0 and customer_id in (select customer_id from leads)
    group by customer_id
)

select * from final
