-- One row per complaint: the day it was made, the day it was resolved
-- (NULL: open, or resolved on a day not given) and its category as imported (NULL: none).
-- Customers' complaints only (the import rejects a complaint without a customer).

select customer_id, feedback_date, resolved_date, category
from feedback
where feedback_kind = 'complaint' and customer_id is not null
order by customer_id, feedback_date
