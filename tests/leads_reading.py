"""The leads fixtures (``tests/fixtures/leads/``, see its README) read independently of the import: pandas for
the CSV files, openpyxl for the workbook. Each reader gives the rows the import must store, as
``(line, lead_id, stage, stage_date, created_date, customer_id, region, source, sales_rep, qualified_date,
proposal_date, closed_date, outcome)``: the columns of :data:`STORED`, in that order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd

LEADS = Path(__file__).resolve().parent / "fixtures" / "leads"
STORED = ("line, lead_id, stage, stage_date, created_date, customer_id, region, source, sales_rep, qualified_date, "
          "proposal_date, closed_date, outcome")


def day(text: str) -> dt.date | None:
    """A date cell's day as a person reads it (``2024-03-01 09:12`` is 1 March 2024)."""
    return dt.date.fromisoformat(text[:10]) if text else None


def stage_log() -> list[tuple]:
    """Fixture (a) read with pandas: one row per lead and stage reached; a row without a created date takes its
    lead's from another row, else the lead's earliest stage date; rows without a lead id or stage are left out."""
    frame = pd.read_csv(LEADS / "stage_log_gbk.csv", encoding="gbk", dtype=str, keep_default_na=False)
    frame["line"] = frame.index + 2
    frame["stage_day"] = frame["进入阶段时间"].map(day)
    frame["created_day"] = frame["创建时间"].map(day)
    per_lead = frame[frame["线索编号"] != ""].groupby("线索编号")
    created = per_lead["created_day"].min().fillna(per_lead["stage_day"].min())
    valid = frame[(frame["线索编号"] != "") & (frame["销售阶段"] != "")]
    return [(r.line, r.线索编号, r.销售阶段, r.stage_day, r.created_day or created[r.线索编号], r.客户编号 or None,
             r.所属区域, r.线索来源, r.负责人, None, None, None, None) for r in valid.itertuples()]


def stage_dates() -> list[tuple]:
    """Fixture (b) read with openpyxl: the rows between the header (under a title row) and the 合计 row, each
    lead's stage the furthest its dates and outcome reach (the file has no stage column)."""
    book = openpyxl.load_workbook(LEADS / "stage_dates.xlsx", read_only=True)
    cells = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    top = next(i for i, r in enumerate(cells) if r[0] == "线索编号")
    header = list(cells[top])
    found = []
    for n, values in enumerate(cells[top + 1:], start=top + 2):
        if values[0] == "合计":
            break
        r = dict(zip(header, values, strict=True))
        dates = {k: r[h].date() if r[h] else None for k, h in (("created", "创建日期"), ("qualified", "确认日期"),
                                                               ("proposal", "报价日期"), ("closed", "成交日期"))}
        outcome = {"赢单": "won", "输单": "lost", None: None}[r["赢单/输单"]]
        stage = outcome or ("closed" if dates["closed"] else "proposal" if dates["proposal"]
                            else "target" if dates["qualified"] else "potential")
        found.append((n, r["线索编号"], stage, None, dates["created"], r["客户编号"], r["所属区域"], r["线索来源"],
                      r["负责人"], dates["qualified"], dates["proposal"], dates["closed"], outcome))
    return found


def current_stage() -> list[tuple]:
    """Fixture (c) read with pandas: month/day/year dates, rows without a lead id left out."""
    frame = pd.read_csv(LEADS / "salesforce_leads.csv", dtype=str, keep_default_na=False)
    frame["line"] = frame.index + 2
    frame["created"] = pd.to_datetime(frame["Created Date"], format="%m/%d/%Y").dt.date
    return [(r["line"], r["Lead ID"], r["Lead Status"], None, r["created"], r["Converted Account ID"] or None,
             r["Region"], r["Lead Source"], r["Owner"], None, None, None, None)
            for r in frame[frame["Lead ID"] != ""].to_dict("records")]
