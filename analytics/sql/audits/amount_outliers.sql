-- Transactions over 100 times the median amount (a misplaced decimal point?).
with limits as (
    -- approx_quantile: a t-digest estimate, plenty for a factor of 100, and cheap at scale
    select approx_quantile(abs(amount), 0.5) as typical from transactions where amount <> 0
)
select t.import_id, t.line, t.customer_id, t.order_date, t.amount
from transactions t, limits
where abs(t.amount) > 100 * limits.typical
order by abs(t.amount) desc
