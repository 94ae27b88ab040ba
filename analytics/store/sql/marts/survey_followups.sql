-- One row per CSAT survey score (its day and score as stored), with
-- next_month_day: the first purchase day of the earliest of the customer's months that have a
-- purchase after the score's day (customer_month; NULL: no purchase after it in the data). A
-- score is followed by a purchase within h days (h of 31 days or more) exactly when
-- next_month_day <= feedback_date + h: a later month's first purchase day is the first purchase
-- after the score in that month, and a month holding the score's day and a later purchase is
-- within any such h. The retention curve of the satisfaction page is fitted on these rows; the
-- churn page's drivers read each customer's scores from them. Customers' scores only: an
-- anonymous response (no customer) has no purchase to follow it.

with

scores as (
    select customer_id, feedback_date, score
    from feedback
    where feedback_kind = 'survey' and scale = 'csat' and score is not null and customer_id is not null
),

later as (
    select s.customer_id, s.feedback_date, min(m.first_day) as next_month_day
    from (select distinct customer_id, feedback_date from scores) s
    join customer_month m
        on m.customer_id = s.customer_id and m.purchase_days > 0 and m.last_day > s.feedback_date
    group by s.customer_id, s.feedback_date
),

final as (
    select s.customer_id, s.feedback_date, s.score, l.next_month_day
    from scores s
    left join later l using (customer_id, feedback_date)
)

select * from final
order by customer_id, feedback_date, score
