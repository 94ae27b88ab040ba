-- One row per customer and calendar month with a row of a known cost: margin = amount - cost over
-- those rows (a sales file with a profit and no cost has cost = amount - profit), costed_revenue = their
-- amount; for the tiers page's pyramid by margin over any window of months (customer_month has no
-- margin: two more sums there would cost the import 0.5-0.9 s at 10M rows).

with

transactions as (
    select * from transactions
),

final as (
    select
        customer_id,
        cast(date_trunc('month', order_date) as date) as month,
        sum(amount - cost) as margin,
        sum(amount) as costed_revenue
    from transactions
    where cost is not null
    group by all
)

select * from final
