"""The demo data as the files a Chinese company would export, and their import.

:func:`write_files` writes each kind in a different but ordinary format (encodings,
header languages, CSV and Excel); :func:`load_demo` imports those files through the
same pipeline a user's files take.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analytics.ingest.demo.simulation import DemoData, generate
from analytics.paths import DATA_DIR

if TYPE_CHECKING:
    import duckdb

#: Where :func:`load_demo` writes the files unless told otherwise.
DEFAULT_FOLDER: Path = DATA_DIR / "demo"

#: File name of each kind in the demo folder.
FILE_NAMES: dict[str, str] = {
    "customers": "demo_customers.csv",
    "transactions": "demo_transactions.csv",
    "feedback": "demo_feedback.csv",
    "leads": "demo_leads.xlsx",
}

_TRANSACTION_HEADERS: dict[str, str] = {
    "transaction_id": "订单编号",
    "customer_id": "客户编号",
    "order_date": "订单日期",
    "amount": "实付金额",
    "quantity": "数量",
    "cost": "成本",
    "region": "大区",
    "channel": "渠道",
    "product": "商品名称",
    "category": "品类",
    "sales_rep": "销售代表",
}
_FEEDBACK_HEADERS: dict[str, str] = {
    "feedback_id": "反馈编号",
    "customer_id": "客户编号",
    "feedback_date": "反馈日期",
    "score": "评分",
    "scale": "量表",
    "feedback_kind": "反馈类型",
    "category": "类别",
    "resolved_date": "解决日期",
    "comment": "备注",
}
_LEAD_HEADERS: dict[str, str] = {
    "lead_id": "线索编号",
    "created_date": "创建日期",
    "stage": "阶段",
    "customer_id": "客户编号",
    "region": "大区",
    "source": "线索来源",
    "sales_rep": "销售代表",
    "qualified_date": "意向日期",
    "proposal_date": "报价日期",
    "closed_date": "关闭日期",
    "outcome": "结果",
}


@dataclass(frozen=True)
class DemoFile:
    """One written demo file and the kind of data it holds."""

    path: Path
    kind: str


def _date_text(values: pd.Series) -> np.ndarray:
    """Dates as ``2024-01-05`` text; missing dates become empty strings."""
    days = values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    text = np.datetime_as_string(days, unit="D").astype(object)
    text[np.isnat(days)] = ""
    return text


def _export_frame(
    frame: pd.DataFrame, headers: dict[str, str], dates: Sequence[str]
) -> pd.DataFrame:
    """Canonical columns renamed to the file's headers, dates as text."""
    out = frame[list(headers)].copy()
    for name in dates:
        out[name] = _date_text(out[name])
    return out.rename(columns=headers)


def write_files(data: DemoData, folder: Path) -> list[DemoFile]:
    """Write the demo data as a Chinese company would export it.

    * transactions: CSV in GB18030 (what Chinese Excel writes) with Chinese headers;
    * customers: UTF-8 CSV with English headers, ids keep their leading zeros;
    * feedback: UTF-8 CSV with a byte order mark and Chinese headers;
    * leads: an Excel workbook with Chinese headers and real Excel dates.

    Parameters
    ----------
    data : DemoData
        What :func:`generate` returned.
    folder : pathlib.Path
        Target folder, created when missing; existing demo files are replaced.

    Returns
    -------
    list[DemoFile]
        The files in import order: customers, transactions, feedback, leads.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / name for kind, name in FILE_NAMES.items()}

    customers = data.customers.copy()
    customers["acquired_date"] = _date_text(customers["acquired_date"])
    customers.to_csv(paths["customers"], index=False, encoding="utf-8", float_format="%.2f",
                     lineterminator="\n")

    transactions = _export_frame(data.transactions, _TRANSACTION_HEADERS, ["order_date"])
    transactions.to_csv(paths["transactions"], index=False, encoding="gb18030",
                        float_format="%.2f", lineterminator="\r\n")

    feedback = _export_frame(data.feedback, _FEEDBACK_HEADERS,
                             ["feedback_date", "resolved_date"])
    feedback[_FEEDBACK_HEADERS["score"]] = data.feedback["score"].round().astype("Int64")
    feedback.to_csv(paths["feedback"], index=False, encoding="utf-8-sig", lineterminator="\r\n")

    leads = data.leads[list(_LEAD_HEADERS)].rename(columns=_LEAD_HEADERS)
    with pd.ExcelWriter(paths["leads"], engine="xlsxwriter", date_format="yyyy-mm-dd",
                        datetime_format="yyyy-mm-dd") as writer:
        leads.to_excel(writer, sheet_name="销售线索", index=False)
        # created on the data's last day, not now: the same data gives the same bytes
        writer.book.set_properties({"created": data.transactions["order_date"].max().to_pydatetime()})
        sheet = writer.sheets["销售线索"]
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, len(_LEAD_HEADERS) - 1, 12)

    return [DemoFile(paths[kind], kind) for kind in ("customers", "transactions", "feedback",
                                                      "leads")]


def load_demo(
    con: duckdb.DuckDBPyConnection,
    size: int = 20_000,
    seed: int = 7,
    folder: Path | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> list[Any]:
    """Generate the demo data, write its files and import them through the real pipeline.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open, migrated CRM database.
    size : int
        Number of customers.
    seed : int
        Random seed.
    folder : pathlib.Path, optional
        Where the files go; default :data:`DEFAULT_FOLDER` (``data/demo/`` under the
        project root).
    progress : callable, optional
        ``progress(stage, fraction)``, passed to each import.

    Returns
    -------
    list[analytics.ingest.report.ImportReport]
        One report per file (customers, transactions, feedback, leads), each with
        ``rows_read``, ``rows_rejected`` and ``rows_imported``.
    """
    from analytics.ingest.pipeline import import_file

    files = write_files(generate(size=size, seed=seed), folder or DEFAULT_FOLDER)
    return [
        import_file(con, f.path, kind=f.kind, commit=True, imported_by="demo", progress=progress)
        for f in files
    ]
