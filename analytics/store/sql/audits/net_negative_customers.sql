-- Customers whose returns exceed their purchases (returns of purchases not in the data?).
select customer_id, gross_revenue, returns_amount, revenue
from customer_summary
where revenue < 0
order by revenue
