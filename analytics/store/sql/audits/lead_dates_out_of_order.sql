-- Leads whose stage dates go backwards (qualified before created, closed before proposal, a stage reached before the lead was created, ...).
select import_id, line, lead_id, stage, created_date, stage_date, qualified_date, proposal_date, closed_date
from leads
where qualified_date < created_date
   or proposal_date < coalesce(qualified_date, created_date)
   or closed_date < coalesce(proposal_date, qualified_date, created_date)
   or stage_date < created_date
order by import_id, line
