-- Converted leads whose customer id has no transactions and is not in the customers file.
select l.import_id, l.line, l.lead_id, l.customer_id
from leads l
where l.customer_id is not null
  and not exists (select 1 from customer_summary s where s.customer_id = l.customer_id)
order by l.import_id, l.line
