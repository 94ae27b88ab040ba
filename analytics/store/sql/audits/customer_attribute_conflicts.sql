-- Customers whose sales files give two or more values for their name, segment, province or city (where the customers file gives none).
-- shown: the value the customer summary shows (the value on most lines, ties going to the
-- latest import; see customer_summary.sql); values_seen: every value with the number of lines
-- that gave it, in that order.
with given as (
    unpivot (select customer_id, customer_name, segment, province, city from customers)
    on customer_name, segment, province, city
    into name attribute value value
)
select
    v.customer_id,
    v.attribute,
    any_value(v.value) filter (where v.rank = 1) as shown,
    string_agg(v.value || ': ' || v.lines, ' · ' order by v.rank) as values_seen
from customer_attribute_values v
anti join given g using (customer_id, attribute)
group by v.customer_id, v.attribute
having count(*) > 1
order by v.customer_id, v.attribute
