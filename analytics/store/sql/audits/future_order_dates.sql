-- Transactions dated after today (a typo in the year, or a wrong day/month order).
select import_id, line, customer_id, order_date, amount
from transactions
where order_date > current_date
order by import_id, line
