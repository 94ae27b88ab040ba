-- One row per customer, attribute (customer_name, segment, province, city) and value that the
-- sales files give (customer_attributes: what each live import's lines said about their customers).
-- lines: the lines that gave the value, over every import; last_import_id: the latest import
-- that gave it. rank orders a customer's values of one attribute: the value on most lines
-- first, ties going to the value of the latest import, then to the first in text order;
-- customer_summary shows rank 1 where the customers file is silent.

with

customer_attributes as (
    select * from customer_attributes
),

said as (
    -- the SQL-standard unpivot clause (DuckDB and Spark SQL both read it; NULL values give no row)
    select * from customer_attributes
    unpivot (value for attribute in (customer_name, segment, province, city))
),

per_value as (
    select
        customer_id,
        attribute,
        value,
        cast(sum(lines) as bigint) as lines,
        max(import_id) as last_import_id
    from said
    group by customer_id, attribute, value
),

final as (
    select
        *,
        row_number() over (
            partition by customer_id, attribute order by lines desc, last_import_id desc, value
        ) as rank
    from per_value
)

select * from final
