-- Value parsers used by staging: text in, typed value (or NULL when unreadable) out.
-- Defined once per database instance (analytics.ingest.staging.define_macros).
-- tests/test_parsing.py covers each accepted and refused form.

-- Text: trimmed of ASCII and full-width (U+3000) spaces; empty becomes NULL.
create or replace temp macro crm_text(s) as
    nullif(trim(s, ' ' || chr(9) || chr(10) || chr(13) || chr(12288)), '');

-- Amounts: '1,234.50', '¥1234', '￥1,234', '$12', '12元', 'RMB 12', '(12.00)' = -12, '−12'.
-- A comma is accepted only as a thousands separator: '12,5' is refused, never read as 125.
create or replace temp macro crm_money_clean(t) as
    replace(regexp_replace(t, '[¥￥$元\s]|RMB|CNY', '', 'gi'), chr(8722), '-');
create or replace temp macro crm_money_signed(t) as
    case when t like '(%)' then '-' || substr(t, 2, length(t) - 2) else t end;
create or replace temp macro crm_money_digits(t) as
    case when regexp_full_match(t, '[-+]?\d{1,3}(,\d{3})+(\.\d+)?') then replace(t, ',', '') else t end;
create or replace temp macro crm_decimal(t) as
    coalesce(try_cast(t as decimal(18, 4)), try_cast(try_cast(t as double) as decimal(18, 4)));
create or replace temp macro crm_money(s) as
    coalesce(
        try_cast(crm_text(s) as decimal(18, 4)),
        crm_decimal(crm_money_digits(crm_money_signed(crm_money_clean(crm_text(s))))));

-- Plain numbers (quantities, scores).
create or replace temp macro crm_number(s) as cast(crm_money(s) as double);

-- Dates. Unambiguous forms first: ISO and Chinese forms with or without a time, English
-- month names, yyyymmdd, Excel serial numbers (1954..2119).
create or replace temp macro crm_date_formats(t) as
    cast(try_strptime(t, [
        '%Y-%m-%d', '%Y/%m/%d', '%Y.%m.%d', '%Y年%m月%d日',
        '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y/%m/%d %H:%M:%S', '%Y/%m/%d %H:%M',
        '%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S.%f', '%Y年%m月%d日 %H:%M:%S', '%Y年%m月%d日 %H:%M',
        '%d-%b-%Y', '%d %b %Y', '%d %B %Y', '%b %d, %Y', '%B %d, %Y', '%b %d %Y'
    ]) as date);
create or replace temp macro crm_date_serial(t) as
    case when regexp_full_match(t, '\d{5}(\.\d+)?')
              and try_cast(t as double) between 20000 and 80000
         then date '1899-12-30' + cast(floor(try_cast(t as double)) as integer) end;
create or replace temp macro crm_date_compact(t) as
    case when regexp_full_match(t, '\d{8}') then cast(try_strptime(t, '%Y%m%d') as date) end;
-- Separators folded to '-': '2024/1/5 8:26', '2024.1.5', '2024年1月5日 下午3点'.
create or replace temp macro crm_date_norm(t) as
    replace(regexp_replace(t, '[年月/.]', '-', 'g'), '日', '');
create or replace temp macro crm_date_prefix(n) as
    cast(try_strptime(regexp_extract(n, '^(\d{4}-\d{1,2}-\d{1,2})(?:[ T]\S.*)?$', 1), '%Y-%m-%d') as date);
-- dd/mm/yyyy or mm/dd/yyyy: read only with a day/month order ('dmy' or 'mdy').
create or replace temp macro crm_dm_part(n, i) as
    regexp_extract(n, '^(\d{1,2})-(\d{1,2})-(\d{4})(?:[ T]\S.*)?$', i);
create or replace temp macro crm_date_dm(n, date_order) as
    cast(case
        when date_order = 'dmy' then try_strptime(crm_dm_part(n, 3) || '-' || crm_dm_part(n, 2) || '-' || crm_dm_part(n, 1), '%Y-%m-%d')
        when date_order = 'mdy' then try_strptime(crm_dm_part(n, 3) || '-' || crm_dm_part(n, 1) || '-' || crm_dm_part(n, 2), '%Y-%m-%d')
    end as date);
create or replace temp macro crm_date(s, date_order) as
    coalesce(
        crm_date_formats(crm_text(s)),
        crm_date_serial(crm_text(s)),
        crm_date_compact(crm_text(s)),
        crm_date_prefix(crm_date_norm(crm_text(s))),
        crm_date_dm(crm_date_norm(crm_text(s)), date_order));
-- Whether a value has the day/month form, and whether its first or second part exceeds 12.
create or replace temp macro crm_is_dm(s) as crm_dm_part(crm_date_norm(crm_text(s)), 3) <> '';
create or replace temp macro crm_dm_first(s) as try_cast(crm_dm_part(crm_date_norm(crm_text(s)), 1) as integer);
create or replace temp macro crm_dm_second(s) as try_cast(crm_dm_part(crm_date_norm(crm_text(s)), 2) as integer);
