-- Transactions over 100 times the median amount (a misplaced decimal point?).
with limits as (
    select median(abs(amount)) as typical from transactions where amount <> 0
)
select t.import_id, t.line, t.customer_id, t.order_date, t.amount
from transactions t, limits
where abs(t.amount) > 100 * limits.typical
order by abs(t.amount) desc
