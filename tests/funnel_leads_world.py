"""A small world for the leads funnel's tests (tests/test_funnel_leads*.py): the three leads fixtures
(tests/fixtures/leads/: a stage-change log, a workbook of stage dates, a Salesforce export), a workbook in the demo's
leads shape (its Chinese headers, a stage column beside the stage dates), a later stage-change log that skips
stages and takes a fixture lead further, and a hand-made sales file whose customers are some leads' linked
customers. Each file is imported through the real pipeline and read again independently (leads_reading's readers,
pandas); nothing here is a test."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from funnel_leads_reference import Purchases, attributes, stored
from leads_reading import LEADS, current_stage, stage_dates, stage_log

from analytics.ingest.pipeline import import_file
from analytics.store.connection import connect

#: The demo's leads headers (analytics/ingest/demo/files.py writes its workbook with these).
DEMO_HEADERS = ["线索编号", "创建日期", "阶段", "客户编号", "大区", "线索来源", "销售代表", "意向日期", "报价日期",
                "关闭日期", "结果"]
#: A won lead bought after its close; lost; open at each stage; no region; won without a customer; created before
#: the period and converting inside it; a customer who bought before the lead; a close after the comparison's A_c.
DEMO = """XS000001,2024-01-04,成交,C001,华东,官网表单,周杰,2024-01-06,2024-01-12,2024-01-25,won
XS000002,2024-01-10,流失,,华北,搜索广告,吴磊,2024-01-15,,2024-02-10,lost
XS000003,2024-02-02,报价,,华南,展会,郑爽,2024-02-05,2024-02-14,,
XS000004,2024-02-20,意向,,,电话营销,周杰,2024-02-25,,,
XS000005,2024-03-01,线索,,华东,官网表单,周杰,,,,
XS000006,2024-03-03,成交,,华北,老客户推荐,吴磊,2024-03-04,2024-03-10,2024-03-30,won
XS000007,2023-12-20,成交,C002,华东,展会,周杰,2023-12-22,2024-01-03,2024-01-15,won
XS000008,2024-01-20,成交,C003,华东,社交媒体,郑爽,2024-01-22,2024-01-29,2024-02-05,won
XS000009,2023-11-15,报价,,华南,展会,郑爽,2023-11-20,2024-04-15,,
XS000010,2024-01-08,成交,C004,华南,搜索广告,郑爽,2024-01-09,2024-01-16,2024-05-20,won"""
DEMO_ROWS = [tuple(v or None for v in line.split(",")) for line in DEMO.splitlines()]
#: A later stage-change log (no created date column): L9001 skips 意向, L9002 goes from 线索 to 赢单, L9003 has no
#: region, and XS2403008 (at 意向 in the fixture log) reaches 报价 with another rep.
LOG = """线索编号,阶段,阶段日期,负责人,大区,线索来源,客户编号
XS2403008,报价,2024-04-03,王芳,华北,转介绍,
L9001,线索,2024-03-05,张伟,华东,官网,
L9001,报价,2024-03-12,张伟,华东,官网,
L9001,赢单,2024-03-26,张伟,华东,官网,000777
L9002,线索,2024-03-06,李强,华北,展会,
L9002,赢单,2024-03-20,李强,华北,展会,
L9003,线索,2024-03-07,赵敏,,官网,
L9003,意向,2024-03-09,赵敏,,官网,
"""
SALES = """customer_id,order_date,amount,region,segment
000512,2024-04-05,100,华东,企业
000512,2024-04-20,50,华东,企业
000512,2024-05-02,50,华东,企业
000533,2024-03-30,80,华南,企业
000533,2024-04-15,-20,华南,企业
000601,2024-02-03,10,华东,个人
000601,2024-02-03,15,华东,个人
000601,2024-03-10,30,华东,个人
0015g00000QmX1aAAF,2024-01-20,300,East,企业
0015g00000QmX1aAAF,2024-06-15,200,East,企业
C001,2024-02-01,60,华东,个人
C001,2024-02-15,60,华东,个人
C001,2024-04-01,60,华东,个人
C002,2024-01-20,40,华东,企业
C002,2024-01-25,40,华东,企业
C003,2023-11-05,70,华东,个人
C003,2024-02-10,70,华东,个人
C004,2024-05-25,90,华南,企业
000777,2024-04-10,20,华东,企业
C900,2024-06-30,10,华北,个人
"""
#: A stage map for the Salesforce statuses; ``Qualified`` (a synonym of target) is overridden, ``Unqualified`` is
#: left unmapped.
SALESFORCE_MAP = {"Open - Not Contacted": "potential", "Working - Contacted": "target", "Qualified": "proposal",
                  "Closed - Converted": "first_purchase", "Closed - Not Converted": "lost"}


def day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def demo_rows() -> list[tuple]:
    """The demo-shaped workbook read with pandas (leads_reading.STORED's columns, with the line)."""
    frame = pd.read_excel(WORLD_FILES["demo"], dtype=object)
    out = []
    for line, r in enumerate(frame.itertuples(index=False), start=2):
        v = [None if pd.isna(x) else x for x in r]
        dates = [x.date() if isinstance(x, datetime) else x for x in v]
        out.append((line, v[0], v[2], None, dates[1], v[3], v[4], v[5], v[6], dates[7], dates[8], dates[9], v[10]))
    return out


def log_rows() -> list[tuple]:
    """The later log read with pandas: each lead created on its earliest stage date in the file."""
    frame = pd.read_csv(WORLD_FILES["log"], dtype=str, keep_default_na=False)
    frame["line"] = frame.index + 2
    created = frame.groupby("线索编号")["阶段日期"].min()
    return [(r.line, r.线索编号, r.阶段, day(r.阶段日期), day(created[r.线索编号]), r.客户编号 or None, r.大区 or None,
             r.线索来源, r.负责人, None, None, None, None) for r in frame.itertuples()]


#: Where the world's written files are (filled by :func:`build`).
WORLD_FILES: dict[str, Path] = {}


@dataclass
class World:
    """The imported database's path and the independent reading: every stored leads row, the leads' attributes,
    the purchases, and each customer's segment."""

    path: Path
    rows: pd.DataFrame
    attrs: pd.DataFrame
    buys: Purchases
    segments: dict[str, str]
    #: The reference's stage evidence per stage map (``test_funnel_leads.expected``): read once, the world being
    #: read-only.
    evidence: dict[tuple, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    def open(self):
        return connect(self.path)


def build(folder: Path) -> World:
    """Write the world's files in ``folder``, import them (the sales file, then the leads files in order) and read
    them again independently."""
    WORLD_FILES["demo"] = folder / "demo_leads.xlsx"
    pd.DataFrame(DEMO_ROWS, columns=DEMO_HEADERS).assign(**{
        h: lambda f, h=h: pd.to_datetime(f[h]) for h in ("创建日期", "意向日期", "报价日期", "关闭日期")}).to_excel(
        WORLD_FILES["demo"], sheet_name="销售线索", index=False)
    WORLD_FILES["log"] = folder / "later_log.csv"
    WORLD_FILES["log"].write_text(LOG, encoding="utf-8")
    WORLD_FILES["sales"] = folder / "sales.csv"
    WORLD_FILES["sales"].write_text(SALES, encoding="utf-8")
    con = connect(folder / "crm.duckdb")
    try:
        report = import_file(con, WORLD_FILES["sales"], commit=True)
        assert (report.kind, report.rows_rejected) == ("transactions", 0)
        for path in (LEADS / "stage_log_gbk.csv", LEADS / "stage_dates.xlsx", LEADS / "salesforce_leads.csv",
                     WORLD_FILES["demo"], WORLD_FILES["log"]):
            report = import_file(con, path, commit=True)
            assert report.kind == "leads" and report.status == "committed", path
    finally:
        con.close()
    readings = [stage_log(), stage_dates(), current_stage(), demo_rows(), log_rows()]
    rows = stored([(i, *r) for i, reading in enumerate(readings, start=1) for r in reading])
    sales = pd.read_csv(WORLD_FILES["sales"], dtype={"customer_id": str})
    sales["order_date"] = pd.to_datetime(sales["order_date"]).dt.date
    return World(path=folder / "crm.duckdb", rows=rows, attrs=attributes(rows), buys=Purchases.of(sales),
                 segments=sales.groupby("customer_id")["segment"].last().to_dict())
