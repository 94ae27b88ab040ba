"""The benchmark's data, made by DuckDB's ``COPY`` from ``hash(...)`` (so a size always gives
the same file) in a worker subprocess when it is missing, in two shapes of N rows:

* ``transactions`` (``bench/work/transactions_<N>.csv``): one row per transaction, ids
  ``T000000001``, ... in rising order;
* ``lines`` (``bench/work/order_lines_<N>.csv``): an order-line export, 1–5 lines per order
  (3 on average) under one order number, the order numbers in no order (``SO`` and nine
  digits, scattered by a multiplicative permutation), customer, date, region, channel and
  sales rep per order, product, quantity and amount per line; about 1 % of the lines repeat
  the line before them exactly (the same product twice at the same price) and with 60
  products some orders hold one product twice at different prices. No line id: lines are
  identified by their content and occurrence within their order, the heaviest path.

Both have the same ten columns, so the two shapes differ only in their rows."""

from __future__ import annotations

from pathlib import Path

from bench_common import WORK_DIR, Job
from bench_runner import run_worker

REGIONS = ("华东", "华北", "华南", "华中", "西南", "西北", "东北")
CHANNELS = ("线上商城", "天猫旗舰店", "京东自营", "线下门店", "经销商", "电话销售", "微信小程序")
# (product noun, category); each noun comes in five models, so 60 products.
PRODUCTS = (
    ("空气净化器", "家电"), ("电饭煲", "家电"), ("扫地机器人", "家电"),
    ("蓝牙耳机", "数码"), ("平板电脑", "数码"), ("智能手表", "数码"),
    ("羽绒服", "服装"), ("运动鞋", "服装"),
    ("有机大米", "食品"), ("坚果礼盒", "食品"),
    ("面霜", "美妆"), ("乳胶枕", "家居"),
)
SALES_REPS = (
    "张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴婷", "徐明", "孙丽",
    "马超", "朱琳", "胡斌", "郭颖", "何勇", "林晓", "高峰", "罗丹", "郑凯", "梁爽", "宋涛", "谢芳",
)


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


#: The file shapes (``--shape``) and the stem of their file names.
SHAPES = {"transactions": "transactions", "lines": "order_lines"}


def _columns(transaction_id: str, amount: str, width: int) -> str:
    """The select list of both shapes: the id and amount expressions given, the other
    columns from ``cust``, ``day``, ``qty``, ``chan``, ``prod`` and ``rep``."""
    nouns = _sql_list(tuple(p for p, _ in PRODUCTS))
    cats = _sql_list(tuple(c for _, c in PRODUCTS))
    return f"""{transaction_id} as transaction_id,
            'C' || lpad(cast(cust as varchar), {width}, '0') as customer_id,
            strftime(date '2022-01-01' + cast(day as integer), '%Y-%m-%d') as order_date,
            printf('%.2f', {amount}) as amount,
            qty as quantity,
            {_sql_list(REGIONS)}[cust % {len(REGIONS)} + 1] as region,
            {_sql_list(CHANNELS)}[chan + 1] as channel,
            {nouns}[prod % {len(PRODUCTS)} + 1] || ' ' || chr(65 + cast(prod // {len(PRODUCTS)} as integer))
                || '型' as product,
            {cats}[prod % {len(PRODUCTS)} + 1] as category,
            {_sql_list(SALES_REPS)}[rep + 1] as sales_rep"""


def csv_path(rows: int, shape: str = "transactions") -> Path:
    """Where the generated file of ``rows`` rows of ``shape`` lives."""
    return WORK_DIR / f"{SHAPES[shape]}_{rows}.csv"


def generate_query(rows: int, shape: str = "transactions") -> str:
    """The query of a table of ``rows`` rows of ``shape``.

    Values derive from ``hash(i, ...)``, so a size always gives the same file.
    """
    if shape == "lines":
        return lines_query(rows)
    customers = max(rows // 15, 1)
    width = max(7, len(str(customers)))
    return f"""
        with base as (
            select i,
                   cast(hash(i, 'cust') % {customers} + 1 as bigint) as cust,
                   cast(hash(i, 'date') % 1096 as bigint) as day,
                   cast(hash(i, 'prod') % 60 as bigint) as prod,
                   cast(hash(i, 'qty') % 100 as bigint) as q,
                   cast(hash(i, 'disc') % 21 as bigint) as disc,
                   cast(hash(i, 'ret') % 100 as bigint) as ret,
                   cast(hash(i, 'chan') % {len(CHANNELS)} as bigint) as chan,
                   cast(hash(i, 'rep') % {len(SALES_REPS)} as bigint) as rep
            from range({rows}) t(i)
        ),
        priced as (
            select *,
                   case when q < 60 then 1 when q < 85 then 2 when q < 95 then 3 else 1 + q % 10 end
                       as qty,
                   (19.9 + (hash(prod, 'price') % 2000) * 1.5) * (100 - disc) / 100.0 as unit_price
            from base
        )
        select
            {_columns("'T' || lpad(cast(i + 1 as varchar), 9, '0')",
                      "(case when ret < 3 then -1 else 1 end) * qty * unit_price", width)}
        from priced
        order by i
    """


def lines_query(rows: int) -> str:
    """The query of an order-line export of ``rows`` lines (see the module's docstring)."""
    orders = rows // 3 + rows // 100 + 10  # enough orders for ``rows`` lines (then cut to ``rows``)
    customers = max(orders // 5, 1)
    width = max(7, len(str(customers)))
    return f"""
        with orders as (
            select o,
                   1 + cast(hash(o, 'lines') % 5 as bigint) as n_lines,
                   cast(hash(o, 'cust') % {customers} + 1 as bigint) as cust,
                   cast(hash(o, 'date') % 1096 as bigint) as day,
                   cast(hash(o, 'chan') % {len(CHANNELS)} as bigint) as chan,
                   cast(hash(o, 'rep') % {len(SALES_REPS)} as bigint) as rep
            from range({orders}) t(o)
        ),
        lines as (
            select o.*, l,
                   -- about 1 % of the lines repeat the line before them exactly
                   case when l > 0 and hash(o, l, 'twin') % 100 = 0 then l - 1 else l end as k
            from orders o, range(o.n_lines) r(l)
            order by o, l
            limit {rows}
        ),
        priced as (
            select *,
                   cast(hash(o, k, 'prod') % 60 as bigint) as prod,
                   cast(hash(o, k, 'qty') % 100 as bigint) as q,
                   cast(hash(o, k, 'disc') % 21 as bigint) as disc,
                   cast(hash(o, k, 'ret') % 100 as bigint) as ret
            from lines
        ),
        amounts as (
            select *,
                   (case when ret < 3 then -1 else 1 end)
                   * (case when q < 60 then 1 when q < 85 then 2 when q < 95 then 3 else 1 + q % 10 end)
                       as qty,
                   (19.9 + (hash(prod, 'price') % 2000) * 1.5) * (100 - disc) / 100.0 as unit_price
            from priced
        )
        select
            {_columns("'SO' || lpad(cast((o * 618033989 + 12345) % 1000000000 as varchar), 9, '0')",
                      "qty * unit_price", width)}
        from amounts
        order by o, l
    """


def ensure_csv(rows: int, memory_limit: str, shape: str = "transactions") -> tuple[Path, float | None]:
    """The CSV of ``rows`` rows of ``shape``, generated (in a subprocess) when missing.

    Returns (path, seconds taken, or None when an existing file was reused).
    """
    path = csv_path(rows, shape)
    if path.is_file():
        return path, None
    result = run_worker(Job("generate", path, WORK_DIR / "unused.duckdb", memory_limit, rows=rows,
                            shape=shape))
    if "error" in result:
        raise RuntimeError(f"could not generate {path.name}: {result['error']}")
    return path, result["seconds"]
