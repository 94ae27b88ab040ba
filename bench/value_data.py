"""The value benchmark's data: N customers buying by a known BG/NBD process with Gamma-Gamma
spend (:data:`TRUE`), written as a customers file and a sales file and imported through the real
pipeline (``analytics.ingest.pipeline.import_file``) into ``bench/work/value_<N>.duckdb``.

The process (Fader, Hardie & Lee 2005): each customer's first purchase falls uniformly in
2022-01-01 .. 2024-12-31; purchases then come at rate λ ~ Gamma(r, α) per week, and after each
repeat purchase the customer leaves with probability p ~ Beta(a, b). A purchase's spend is
Gamma(p, ν) with ν ~ Gamma(q, γ) per customer. A fifth of the purchases are two transactions on
the day, 2 % of the transactions are followed by a return (all or half, up to 20 days later), the
cost is 55–85 % of the amount by product, and 95 % of a customer's transactions carry their home
region. 1M customers give about 6.1M transactions on 4.9M purchase days. The same N always gives
the same files (seeded).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench_common import WORK_DIR

#: The simulated process: BG/NBD (r, alpha in weeks, a, b) and Gamma-Gamma (p, q, gamma in yuan).
TRUE = {"r": 0.75, "alpha": 6.0, "a": 0.8, "b": 3.2, "p": 6.0, "q": 3.5, "gamma": 150.0}
DAYS = 1096  # 2022-01-01 .. 2024-12-31
SEED = 20261206


def simulate(n: int):
    """N customers' transactions (and the customers file) from the :data:`TRUE` process."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED + n)
    rate = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], n) / 7  # purchases per day
    drop = rng.beta(TRUE["a"], TRUE["b"], n)
    birth = rng.uniform(0, DAYS, n)
    who, when = [np.arange(n)], [birth]
    idx, t = np.arange(n), birth
    while len(idx):  # next purchase, then dropout with probability p (BG/NBD: after each repeat purchase)
        t = t + rng.exponential(1 / rate[idx])
        idx, t = idx[t < DAYS], t[t < DAYS]
        who.append(idx)
        when.append(t)
        stay = rng.random(len(idx)) >= drop[idx]
        idx, t = idx[stay], t[stay]
    cust, day = np.concatenate(who), np.floor(np.concatenate(when)).astype(np.int64)
    nu = rng.gamma(TRUE["q"], 1 / TRUE["gamma"], n)
    spend = rng.gamma(TRUE["p"], 1 / nu[cust])  # a purchase's spend, yuan
    split = rng.random(len(cust)) < 0.2  # a fifth of the purchases are two transactions on the day
    share = np.where(split, rng.uniform(0.2, 0.8, len(cust)), 1.0)
    cust = np.concatenate([cust, cust[split]])
    day = np.concatenate([day, day[split]])
    amount = np.maximum(np.round(np.concatenate([spend * share, (spend * (1 - share))[split]]) * 100), 1)
    ret = rng.random(len(cust)) < 0.02  # returns: part or all of a purchase, up to 20 days later
    back = np.minimum(day[ret] + rng.integers(0, 21, ret.sum()), DAYS - 1)
    back_amount = -np.maximum(np.round(amount[ret] * rng.choice([1.0, 0.5], ret.sum())), 1)
    m = len(cust) + int(ret.sum())
    tx = pd.DataFrame({"cust": np.concatenate([cust, cust[ret]]), "day": np.concatenate([day, back]),
                       "cents": np.concatenate([amount, back_amount]).astype(np.int64),
                       "prod": rng.integers(0, 60, m), "chan": rng.integers(0, 7, m), "rep": rng.integers(0, 24, m)})
    region = rng.choice(7, n, p=[0.26, 0.18, 0.2, 0.12, 0.1, 0.06, 0.08])
    tx["region"] = np.where(rng.random(m) < 0.95, region[tx["cust"]], rng.integers(0, 7, m))
    tx = tx.sort_values(["day", "cust"], kind="stable", ignore_index=True)
    customers = pd.DataFrame({"cust": np.arange(n), "region": region, "born": np.floor(birth).astype(np.int64),
                              "segment": rng.choice(3, n, p=[0.7, 0.25, 0.05]),
                              "cac": np.round(rng.gamma(2.0, 40.0, n) * 100).astype(np.int64)})
    return customers, tx


def write_files(n: int) -> tuple[Path, Path, dict]:
    """The customers and sales CSVs of N customers (made by :func:`simulate` when missing)."""
    import duckdb
    from bench_data import CHANNELS, PRODUCTS, REGIONS, SALES_REPS, _sql_list

    cfile, tfile = WORK_DIR / f"value_customers_{n}.csv", WORK_DIR / f"value_transactions_{n}.csv"
    if cfile.exists() and tfile.exists():
        return cfile, tfile, {"reused": True}
    t0 = time.perf_counter()
    customers, tx = simulate(n)
    sim = time.perf_counter() - t0
    width = len(str(n))
    cid = f"'C' || lpad(cast(cust as varchar), {width}, '0')"
    day = "strftime(date '2022-01-01' + cast({} as integer), '%Y-%m-%d')"
    nouns, cats = _sql_list(tuple(p for p, _ in PRODUCTS)), _sql_list(tuple(c for _, c in PRODUCTS))
    con = duckdb.connect()
    con.register("customers", customers)
    con.register("tx", tx)
    con.execute(f"""copy (select {cid} as customer_id, '客户' || cast(cust as varchar) as customer_name,
        {_sql_list(REGIONS)}[region + 1] as region, ['个人', '企业', 'VIP'][segment + 1] as segment,
        {day.format('born')} as acquired_date, printf('%.2f', cac / 100.0) as acquisition_cost
        from customers order by cust) to '{cfile}' (header)""")
    con.execute(f"""copy (select 'T' || lpad(cast(row_number() over () as varchar), 9, '0') as transaction_id,
        {cid} as customer_id, {day.format('day')} as order_date, printf('%.2f', cents / 100.0) as amount,
        printf('%.2f', cents * (0.55 + 0.05 * (prod % 7)) / 100.0) as cost, 1 as quantity,
        {_sql_list(REGIONS)}[region + 1] as region, {_sql_list(CHANNELS)}[chan + 1] as channel,
        {nouns}[prod % 12 + 1] || ' ' || chr(65 + cast(prod // 12 as integer)) || '型' as product,
        {cats}[prod % 12 + 1] as category, {_sql_list(SALES_REPS)}[rep + 1] as sales_rep
        from tx) to '{tfile}' (header)""")
    con.close()
    return cfile, tfile, {"simulate_seconds": sim, "write_seconds": time.perf_counter() - t0 - sim,
                          "transactions": len(tx), "returns": int((tx["cents"] < 0).sum())}


def build(n: int) -> dict:
    """``bench/work/value_<N>.duckdb`` imported through the pipeline (in a worker)."""
    from analytics.ingest.pipeline import import_file
    from analytics.store.connection import connect

    db, info = WORK_DIR / f"value_{n}.duckdb", WORK_DIR / f"value_{n}.json"
    if db.exists() and info.exists():
        connect(db).close()  # applies this release's newer migrations, if any
        return json.loads(info.read_text()) | {"reused": True}
    cfile, tfile, made = write_files(n)
    con = connect(db)
    out = {"files": made, "imports": []}
    for path, kind in ((cfile, "customers"), (tfile, "transactions")):
        t0 = time.perf_counter()
        report = import_file(con, path, commit=True, kind=kind, imported_by="bench")
        out["imports"].append({"kind": kind, "seconds": time.perf_counter() - t0, "rows": report.rows_imported,
                               "rejected": report.rows_rejected})
    out["counts"] = dict(zip(("transactions", "customers", "purchase_days"), con.execute(
        "select (select count(*) from transactions), count(*), sum(purchase_days) from customer_summary"
        " where purchase_days > 0").fetchone(), strict=True))
    con.close()
    info.write_text(json.dumps(out, default=str))
    return out
