-- Transactions priced over 20 times the usual price per unit of their product (a misplaced decimal point?).
-- The usual price is the median over the product's (else category's) rows, where there are
-- at least 20 of them; a large order of many units is not an outlier.
with priced as (
    select
        *,
        abs(amount) / coalesce(nullif(quantity, 0), 1) as unit_price,
        coalesce(product, category, '(all)') as item
    from transactions
    where amount <> 0
),

usual as (
    select item, approx_quantile(unit_price, 0.5) as usual_price, count(*) as sales
    from priced
    group by item
)

select p.import_id, p.line, p.customer_id, p.order_date, p.amount, p.quantity, p.item, u.usual_price
from priced p
join usual u using (item)
where u.sales >= 20 and p.unit_price > 20 * u.usual_price
order by p.unit_price / u.usual_price desc
