-- Transactions priced over 20 times the usual price per unit of their product (a misplaced decimal point?).
-- The usual price is the median of the product's (else category's) price per unit in a fixed
-- sample of about 100,000 rows (every row of a smaller table; else the rows whose hash of import
-- and line falls in the first 100,000/rows of the hash range), where the sample holds 20 or more
-- of them; a large order of many units is not an outlier. (A sample keeps the check one scan of
-- the table at any size; a hash sample is read on every core, a reservoir sample on one.)
with priced as not materialized (
    select
        *,
        abs(amount) / coalesce(nullif(quantity, 0), 1) as unit_price,
        coalesce(product, category, '(all)') as item
    from transactions
    where amount <> 0
),

sample as (
    select * from priced
    where (select count(*) from transactions) <= 100000
        or hash(import_id, line) < 100000 * (18446744073709551615 // (select count(*) from transactions))
),

usual as (
    select item, quantile_cont(unit_price, 0.5) as usual_price, count(*) as sales
    from sample
    group by item
)

select p.import_id, p.line, p.customer_id, p.order_date, p.amount, p.quantity, p.item, u.usual_price
from priced p
join usual u using (item)
where u.sales >= 20 and p.unit_price > 20 * u.usual_price
order by p.unit_price / u.usual_price desc
