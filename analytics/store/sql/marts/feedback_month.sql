-- One row per customer per calendar month with a survey score (CSAT 1-5 or NPS 0-10, as the
-- import stored them: missing answers are never stored), and one per month with anonymous
-- responses (scores without a customer: customer_id NULL): the counts the satisfaction page and
-- the overview's tiles add up. CSAT: responses (csat_n), satisfied (4-5), the scores' sum and
-- sum of squares; NPS: responses (nps_n), promoters (9-10), detractors (0-6). last_csat_day is
-- the month's last day with a CSAT score and last_csat_score the mean of that day's CSAT scores
-- (a customer's latest score in a period of whole months: the satisfaction-loyalty gap's); both
-- NULL on the anonymous rows (the gap is about customers).

with

scores as (
    select
        customer_id,
        feedback_date,
        cast(date_trunc('month', feedback_date) as date) as month,
        scale,
        score
    from feedback
    where feedback_kind = 'survey' and scale in ('csat', 'nps') and score is not null
),

last_days as (
    select customer_id, month, max(feedback_date) as last_csat_day
    from scores
    where scale = 'csat' and customer_id is not null
    group by customer_id, month
),

final as (
    select
        s.customer_id,
        s.month,
        count(*) filter (where s.scale = 'csat') as csat_n,
        count(*) filter (where s.scale = 'csat' and s.score >= 4) as satisfied,
        coalesce(sum(s.score) filter (where s.scale = 'csat'), 0) as csat_total,
        coalesce(sum(s.score * s.score) filter (where s.scale = 'csat'), 0) as csat_squares,
        count(*) filter (where s.scale = 'nps') as nps_n,
        count(*) filter (where s.scale = 'nps' and s.score >= 9) as promoters,
        count(*) filter (where s.scale = 'nps' and s.score < 7) as detractors,
        l.last_csat_day,
        avg(s.score) filter (where s.scale = 'csat' and s.feedback_date = l.last_csat_day) as last_csat_score
    from scores s
    left join last_days l using (customer_id, month)
    group by s.customer_id, s.month, l.last_csat_day
)

select * from final
order by customer_id nulls last, month
