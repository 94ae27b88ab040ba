-- Transactions whose amount is over 20 times the 99.9th percentile (a misplaced decimal point?).
with limits as (
    select quantile_cont(abs(amount), 0.999) as p999 from transactions
)
select t.import_id, t.line, t.customer_id, t.order_date, t.amount
from transactions t, limits
where abs(t.amount) > 20 * limits.p999 and limits.p999 > 0
order by abs(t.amount) desc
