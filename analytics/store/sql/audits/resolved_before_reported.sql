-- Complaints resolved before the date they were made.
select import_id, line, customer_id, feedback_date, resolved_date
from feedback
where resolved_date < feedback_date
order by import_id, line
