"""Hostile files of issue 10 about values (findings 6, 8, 9, 11, 17 and 20): a stray score, times
with a time zone, look-alike ids and regions, spaced total rows, two-digit years, a repeated
header line, an amount finer than the store keeps and one written with underscores.

:data:`FILES` lists them for the browser tour; ``tests/test_hardening_values.py`` imports the
same files. Each is a sales file (transactions) unless its name says feedback or customers.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb


def _csv(text: str) -> bytes:
    return text.encode("utf-8")


def stray_score() -> bytes:
    """99 CSAT scores 1-5 and one 55 (a typo for 5): a CSAT file with one reject."""
    rows = "".join(f"C{i},2024-01-05,{1 + i % 5}\n" for i in range(99))
    return _csv("客户编号,反馈日期,评分\n" + rows + "C99,2024-01-06,55\n")


def mixed_scores() -> bytes:
    """16 scores 1-5 and 4 scores 6-10: no one scale fits; the analyst chooses."""
    scores = [1 + i % 5 for i in range(16)] + [6, 7, 9, 10]
    return _csv("客户编号,反馈日期,评分\n" + "".join(f"C{i},2024-01-05,{s}\n" for i, s in enumerate(scores)))


def tz_parquet() -> bytes:
    """Order times with a time zone (TIMESTAMPTZ): 2024-01-31 17:30 UTC is 1 February in Shanghai."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tz.parquet"
        con = duckdb.connect()
        try:
            con.execute(
                "copy (select * from (values ('C1', timestamptz '2024-01-31 17:30:00+00', 10.5), "
                "('C2', timestamptz '2024-01-31 01:00:00+00', 20.0)) v(客户编号, 订单日期, 实付金额)) "
                f"to '{path}' (format parquet)")
        finally:
            con.close()
        return path.read_bytes()


def lookalike_keys() -> bytes:
    """One customer written five ways (NBSP, zero-width space, BOM, full-width digits) and 华东
    with invisible spaces; a product name with full-width letters of its own."""
    rows = [
        ("00123\u00a0", "2024-01-01", "华东\u00a0", "ＸＬ码 T恤"),
        ("\u200b00123", "2024-01-02", "华东\u3000", "ＸＬ码 T恤"),
        ("ＡＢ１２３", "2024-01-03", "华东", "ＸＬ码 T恤"),
        ("\ufeff00123", "2024-01-04", "华东\u2002", "ＸＬ码 T恤"),
        ("00\u200b123", "2024-01-05", "\u3000华东\u00a0", "ＸＬ码 T恤"),
        ("AB123", "2024-01-06", "华东", "ＸＬ码 T恤"),
        ("00123", "2024-01-07", "华东", "ＸＬ码 T恤\u00a0"),
    ]
    return _csv("客户编号,订单日期,实付金额,大区,商品\n" + "".join(f"{c},{d},10,{r},{p}\n" for c, d, r, p in rows))


def spaced_totals() -> bytes:
    """Total rows written with spaces, a prefix, a unit or a colon; and a customer named 合计公司."""
    totals = ["合\u3000计,,30", "合 计,,30", "本页合计,,30", "小  计,,30", "总计（元）,,30", "Total:,,30",
              "Grand total,,30", ",合 计,30", "TOTAL (CNY),,30", "Sub-total,,30"]
    return _csv("客户编号,订单日期,实付金额\nC1,2024-01-05,10\n合计公司,2024-01-05,20\n" + "\n".join(totals) + "\n")


def two_digit_years() -> bytes:
    """Dates with two-digit years, day first (25/12/24 says so); 31/02/24 is no date."""
    return _csv("客户编号,订单日期,实付金额\nC1,01/02/24,10\nC2,25/12/24,20\nC3,04/03/99,5\nC4,31/02/24,1\n")


def repeated_header() -> bytes:
    """A customers file joined from three exports: the header line appears again (once padded)."""
    return _csv("客户编号,客户名称,大区\nC1,甲公司,华东\nC2,乙公司,华北\n客户编号,客户名称,大区\nC3,丙公司,华南\n"
                " 客户编号 , 客户名称 ,大区\n")


def precision_and_underscores() -> bytes:
    """0.00001 and 12.34567 (finer than the store's 4 decimals), 1_000 and 1_0 (underscores), and a
    float's noise (19.990000000000002) that is 19.99."""
    return _csv("客户编号,订单日期,实付金额,数量\nC1,2024-01-05,10.5,1\nC2,2024-01-05,0.00001,1\n"
                "C3,2024-01-05,1_000,1\nC4,2024-01-05,12.34567,1\nC5,2024-01-05,10,1_0\n"
                "C6,2024-01-06,19.990000000000002,0.00001\n")


FILES: list[tuple[int, str, bytes]] = [
    (6, "feedback_stray_score.csv", stray_score()),
    (6, "feedback_mixed_scores.csv", mixed_scores()),
    (8, "orders_timestamptz.parquet", tz_parquet()),
    (9, "lookalike_ids_regions.csv", lookalike_keys()),
    (11, "spaced_totals.csv", spaced_totals()),
    (17, "two_digit_years.csv", two_digit_years()),
    (20, "customers_repeated_header.csv", repeated_header()),
    (20, "amount_precision_underscores.csv", precision_and_underscores()),
]
