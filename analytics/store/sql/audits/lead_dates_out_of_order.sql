-- Leads whose stage dates go backwards (qualified before created, closed before proposal, ...).
select import_id, line, lead_id, created_date, qualified_date, proposal_date, closed_date
from leads
where qualified_date < created_date
   or proposal_date < coalesce(qualified_date, created_date)
   or closed_date < coalesce(proposal_date, qualified_date, created_date)
order by import_id, line
