-- Schema version 6: survey scores as answered, and one row per answer of a response.
--
-- feedback.score stays on its canonical scale (CSAT 1-5, NPS 0-10), possibly fractional when
-- the question was asked on another scale (analytics/ingest/survey_scales.py converts it);
-- original_score is the score as answered and original_scale the scale it was asked on
-- ('1-5', '0-10', '1-7', '1-10', '0-100', ...). Both are NULL for a row without a score (a
-- complaint). Rows stored before were all asked on their canonical scale: they say so.
-- The held versions (feedback_held, schema version 5) get the same columns, in the same order.
--
-- A feedback row's natural key is now its response's id and its scale, so one response's CSAT
-- and NPS answers are two rows. The claims on survey rows (import_claims, schema version 4)
-- are keyed so too; a claim on a row without a scale (a complaint) keeps its key.

alter table feedback add column original_score double;
alter table feedback add column original_scale varchar;
alter table feedback_held add column original_score double;
alter table feedback_held add column original_scale varchar;

update feedback set original_score = score,
    original_scale = case scale when 'csat' then '1-5' when 'nps' then '0-10' end
where score is not null;
update feedback_held set original_score = score,
    original_scale = case scale when 'csat' then '1-5' when 'nps' then '0-10' end
where score is not null;

update import_claims set claim_key = md5_number(concat_ws(chr(31), 'key', f.feedback_id, f.scale))
from feedback f
where import_claims.kind = 'feedback' and f.feedback_id is not null and f.scale is not null
  and import_claims.claim_key = md5_number(concat_ws(chr(31), 'key', f.feedback_id));
