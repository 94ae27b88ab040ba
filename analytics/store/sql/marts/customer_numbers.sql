-- One row per customer with a purchase or a return: a number (seq, 1, 2, ... in customer id order, so
-- ordering by it orders by id) and the customer's groups (home region, segment, acquisition channel),
-- for summaries keyed by an integer: grouping millions of rows by an integer costs a fraction of
-- grouping them by the text id.

with

customer_summary as (
    select * from customer_summary
),

final as (
    select
        customer_id,
        cast(row_number() over (order by customer_id) as integer) as seq,
        home_region,
        segment,
        acquisition_channel
    from customer_summary
    where first_order_date is not null or returns_amount > 0
)

select * from final
