"""The overview tests' hand-made fixture, written as CSV files and imported through the real pipeline.

The fixture is written as CSV files and imported through the real pipeline
(``import_file``), so the marts are the ones the app reads; ``overview_reference``
computes the expected figures from its raw rows.

What the fixture exercises (the period is Mar–Aug 2024 unless a test says otherwise):

- order T10 has two lines (products A and B): one order;
- returns: R1 (C1, 华东) and R5 (C5, whose only activity in the period is a return, so C5
  is not active there but the return still lowers revenue);
- C2's home region is 华东 (customers file) but one of C2's rows is in 华北;
- C3 and C9 have no customers-file row: home region = the region of most spend (C3: 华南
  500 against 华北 80), no segment;
- C1, C3 and C9 bought before the period (not new); C2 and C4 are new;
- C1 (3 orders) and C2 (2 orders) repeat, C3, C4 and C9 have one order;
- a row without a transaction id (an order of its own) and a row without a region;
- May 2024 has no sales at all (the trend shows zeros);
- the previous period (Sep 2023–Feb 2024, across the year boundary) and last year
  (Mar–Aug 2023) have sales; 西南 is tiny before (10 of 1,010) so it is no highlight;
- a row after the period (Sep 2024) that ``data_through`` must not report;
- C6 is in the customers file only (never bought).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analytics.ingest.pipeline import import_file
from analytics.store.connection import connect

TX_COLUMNS = ["transaction_id", "customer_id", "order_date", "amount", "quantity", "region", "channel", "product"]
TRANSACTIONS = [
    # last year (Mar–Aug 2023)
    ("L1", "C3", "2023-05-12", 80, 1, "华北", "天猫", "A"),
    ("L2", "C7", "2023-06-10", 120, 1, "华东", "天猫", "B"),
    ("L4", "C1", "2023-07-01", 90, 1, "华东", "门店", "A"),
    ("L3", "C7", "2023-08-30", 60, 1, "华东", "门店", "A"),
    # the previous period (Sep 2023–Feb 2024)
    ("P1", "C1", "2023-10-05", 200, 1, "华东", "天猫", "A"),
    ("P2", "C8", "2023-11-11", 150, 1, "华北", "天猫", "B"),
    ("P3", "C5", "2023-12-01", 400, 2, "华南", "门店", "A"),
    ("P5", "C9", "2024-01-05", 10, 1, "西南", "门店", "A"),
    ("P4", "C5", "2024-01-15", 250, 1, "华南", "天猫", "B"),
    # the period (Mar–Aug 2024); nothing in May
    ("T10", "C1", "2024-03-10", 120, 1, "华东", "天猫", "A"),
    ("T10", "C1", "2024-03-10", 80, 2, "华东", "天猫", "B"),
    ("R5", "C5", "2024-03-05", -40, -1, "华南", "门店", "A"),
    ("T20", "C2", "2024-04-15", 300, 3, "华北", "门店", "A"),
    ("T21", "C2", "2024-04-20", 100, 1, "华东", "天猫", "B"),
    ("T11", "C1", "2024-06-02", 90, 1, "华东", "门店", "B"),
    ("R1", "C1", "2024-06-20", -50, -1, "华东", "天猫", "A"),
    ("T30", "C3", "2024-07-01", 500, 5, "华南", "天猫", "A"),
    ("T90", "C9", "2024-07-20", 1000, 4, "西南", "门店", "B"),
    (None, "C4", "2024-08-09", 200, 1, "华北", "门店", "A"),
    ("T12", "C1", "2024-08-20", 70, 1, None, "天猫", "B"),
    # after the period
    ("T40", "C4", "2024-09-03", 60, 1, "华北", "天猫", "A"),
]
CUST_COLUMNS = ["customer_id", "region", "segment"]
CUSTOMERS = [
    ("C1", "华东", "企业"),
    ("C2", "华东", "个人"),
    ("C4", "华北", "个人"),
    ("C5", "华南", "企业"),
    ("C6", "华北", "企业"),
    ("C8", "华北", "个人"),
]


def write_fixture(folder: Path) -> tuple[Path, Path]:
    """The fixture as the two CSV files a user would import."""
    tx_path, cust_path = folder / "transactions.csv", folder / "customers.csv"
    pd.DataFrame(TRANSACTIONS, columns=TX_COLUMNS).to_csv(tx_path, index=False)
    pd.DataFrame(CUSTOMERS, columns=CUST_COLUMNS).to_csv(cust_path, index=False)
    return tx_path, cust_path


def load_fixture(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    tx_path, cust_path = write_fixture(folder)
    customers = import_file(con, cust_path, commit=True, kind="customers")
    transactions = import_file(con, tx_path, commit=True, kind="transactions")
    assert (customers.rows_imported, customers.rows_rejected) == (len(CUSTOMERS), 0)
    assert (transactions.rows_imported, transactions.rows_rejected) == (len(TRANSACTIONS), 0)


@pytest.fixture(scope="module", name="con")
def con_fixture(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("overview")
    con = connect(folder / "t.duckdb")
    load_fixture(con, folder)
    yield con
    con.close()
