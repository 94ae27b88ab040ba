-- Transactions of customers missing from the customers file (only when one was imported).
select t.import_id, t.line, t.customer_id, t.order_date, t.amount
from transactions t
where exists (select 1 from customers)
  and not exists (select 1 from customers c where c.customer_id = t.customer_id)
order by t.import_id, t.line
