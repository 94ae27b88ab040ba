"""Hostile files of issue 10's text-encoding findings (#3, #14, #20), for the browser tour and
for tests/test_hardening_encoding.py: (finding, file name, bytes), all transactions files.

Built with plain Python (openpyxl for the workbook renamed ``.csv``).
"""

from __future__ import annotations

import codecs
import io

import openpyxl

HEADER = "order_id,customer_id,order_date,amount,region,channel,customer_name\n"
# Korean and Japanese exports: regions, channels and names as a Seoul or Tokyo office writes them.
KOREAN_ROWS = [("K1", "C1", "2024-01-05", "15000", "서울", "온라인", "김철수"),
               ("K2", "C2", "2024-01-06", "23000", "부산", "매장", "이영희"),
               ("K3", "C3", "2024-01-07", "8000", "대구", "온라인", "박민수"),
               ("K4", "C4", "2024-01-08", "120000", "인천", "도매", "최지훈"),
               ("K5", "C5", "2024-01-09", "4500", "광주", "매장", "정수진")]
JAPANESE_ROWS = [("J1", "C1", "2024-01-05", "15000", "東京都", "オンライン", "山田太郎"),
                 ("J2", "C2", "2024-01-06", "23000", "大阪府", "店舗", "鈴木花子"),
                 ("J3", "C3", "2024-01-07", "8000", "愛知県", "オンライン", "佐藤健"),
                 ("J4", "C4", "2024-01-08", "120000", "北海道", "卸売", "田中一郎"),
                 ("J5", "C5", "2024-01-09", "4500", "福岡県", "店舗", "高橋美咲")]
CHINESE_HEADER = "订单编号,客户编号,订单日期,实付金额,大区,渠道,客户名称\n"
CHINESE_ROWS = [("SO1", "00123", "2024-01-05", "100.50", "华东", "天猫", "张伟"),
                ("SO2", "00124", "2024-01-06", "200", "华北", "京东", "欧阳淼"),
                ("SO3", "00125", "2024-02-01", "50", "西南", "门店", "司马喆")]


def csv_text(header: str, rows: list[tuple[str, ...]]) -> str:
    return header + "".join(",".join(row) + "\n" for row in rows)


def workbook_bytes() -> bytes:
    """An .xlsx workbook of the Chinese rows (what a colleague renames to .csv)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "销售明细"  # as a Chinese workbook names it (openpyxl's default "Sheet" reads as English)
    sheet.append(CHINESE_HEADER.strip().split(","))
    for row in CHINESE_ROWS:
        sheet.append([*row[:3], float(row[3]), *row[4:]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


FILES: list[tuple[int, str, bytes]] = [
    (3, "korean_euc_kr.csv", csv_text(HEADER, KOREAN_ROWS).encode("euc_kr")),
    (3, "japanese_euc_jp.csv", csv_text(HEADER, JAPANESE_ROWS).encode("euc_jp")),
    (14, "gbk_with_utf8_bom.csv", codecs.BOM_UTF8 + csv_text(CHINESE_HEADER, CHINESE_ROWS).encode("gbk")),
    (20, "workbook_renamed.csv", workbook_bytes()),
]
