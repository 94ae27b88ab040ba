"""The churn & retention page's customer lists (at risk, won back) and a sales manager's scope, through
Streamlit's AppTest on the seeded database of tests/test_app_churn.py (its own copy per module).

Won back is checked against the returns found day by day in the raw rows; the at-risk list against
:func:`analytics.metrics.churn_risk.at_risk` (its model figures are tested in tests/test_churn_view_survival.py)
and, independently, against the raw rows: every listed customer is active as of the as-of day, with the days
since their last purchase.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from app_util import NORTH_MANAGER, open_app, page_text, spy_downloads
from streamlit.testing.v1 import AppTest
from test_app_churn import LAST, MID, PAGE, assert_figures, build, reference, run_churn

from analytics import scope as gate
from analytics.metrics import churn_risk
from analytics.store.connection import connect
from ui import customer_links
from ui.dates import fmt_date
from ui.formats import fmt_int, fmt_money, fmt_pct
from ui.i18n import t

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
ID = t("churn_col_customer_id", "en")
OTHERS = ("华东", "华南")


@pytest.fixture(scope="module")
def lists_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    return build(tmp_path_factory.mktemp("app_churn_lists"))


def expected_at_risk(path: Path, window: int, allowed: tuple[str, ...] | None = None) -> pd.DataFrame:
    con = connect(path)
    try:
        return churn_risk.at_risk(con, gate.default_scope(con, allowed), window).customers
    finally:
        con.close()


def listed(at: AppTest, column: str) -> pd.DataFrame:
    """The customer table with the column ``churn_col_<column>`` (at risk: p_alive; won back: returned)."""
    return next(df.value for df in at.dataframe if t(f"churn_col_{column}", "en") in df.value.columns)


def offered_list(offered: list[pd.DataFrame], column: str) -> pd.DataFrame:
    """The last download of the customer list with the column ``churn_col_<column>``."""
    return [df for df in offered if t(f"churn_col_{column}", "en") in df.columns][-1]


def returns(frame: pd.DataFrame) -> list[tuple]:
    """(customer, returned on, days away) of a won-back table, in order."""
    return [(c, pd.Timestamp(d).date(), int(a)) for c, d, a in zip(
        frame[ID], frame[t("churn_col_returned", "en")], frame[t("churn_col_days_away", "en")], strict=True)]


def expected_returns(ref: dict) -> list[tuple]:
    """The reference's returns, latest first (ties: by customer id), as the page lists them."""
    back = ref["won_back"].sort_values(["returned", "customer_id"], ascending=[False, True])
    return [(c, d, int(a)) for c, d, a in back.itertuples(index=False)]


# ----------------------------------------------------------------------------- the lists


def test_the_lists_show_the_expected_customers_and_their_downloads_hold_all(monkeypatch, lists_db):
    """With a table limit of 3 (ui.customer_links.SHOWN), each list shows its start and downloads all of it."""
    path, tx, _ = lists_db
    monkeypatch.setattr(customer_links, "SHOWN", 3)
    offered = spy_downloads(monkeypatch)
    at = run_churn(monkeypatch, path, "en")
    ref = reference(tx)
    risky = expected_at_risk(path, ref["window"])
    assert len(risky) > 3
    shown, whole = listed(at, "p_alive"), offered_list(offered, "p_alive")
    assert list(shown[ID]) == list(risky["customer_id"].head(3))
    assert list(whole[ID]) == list(risky["customer_id"])
    alive = whole[t("churn_col_p_alive", "en")]
    assert list(alive) == sorted(alive) and (alive < churn_risk.AT_RISK_P).all()
    # from the raw rows: active as of the as-of day, the days since their last purchase
    assert set(whole[ID]) <= ref["active_ids"]
    assert list(whole[t("churn_col_recency_days", "en")]) == [(LAST - ref["last"][c]).days for c in whole[ID]]
    assert t("churn_at_risk_caption", "en", date=fmt_date(LAST, "en"), window=fmt_int(ref["window"], "en"),
             threshold=fmt_pct(0.5, "en", 0),
             n=fmt_int(len(risky), "en"), clv=fmt_money(float(risky["clv"].sum()), "en", "CNY", compact=True)) \
        in [c.value for c in at.caption]
    # won back: every return after more than W days away in the period, latest first
    want = expected_returns(ref)
    assert len(want) > 3
    assert returns(listed(at, "returned")) == want[:3]
    assert returns(offered_list(offered, "returned")) == want


@pytest.mark.parametrize("key", ["churn_at_risk", "churn_win_back"])
def test_picking_a_row_opens_that_customer(monkeypatch, lists_db, key):
    path, _, _ = lists_db
    at = run_churn(monkeypatch, path, "en", region="华北")
    table = listed(at, "p_alive" if key == "churn_at_risk" else "returned")
    row = min(1, len(table) - 1)
    picked = table[ID].iloc[row]
    at.session_state[key] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert [x.value for x in at.title] == [t("nav_customer", "en")]
    assert at.query_params["customer"] == picked
    assert at.text_input(key="customer_search").value == picked
    assert at.query_params["lang"] == "en" and at.query_params["region"] == "华北"  # the filters stay


# ----------------------------------------------------------------------------- a manager's scope


@pytest.mark.parametrize("asked", [{}, {"region": "华东"}], ids=["own", "tampered-url"])
def test_a_sales_manager_sees_only_their_regions_customers(monkeypatch, lists_db, tmp_path, asked):
    path, tx, customers = lists_db
    access = tmp_path / "access.toml"
    access.write_text(NORTH_MANAGER, encoding="utf-8")
    offered = spy_downloads(monkeypatch)
    at = open_app(monkeypatch, path, page=PAGE, email="north@example.com", access=access, lang="en", **asked)
    ref = reference(tx, regions=("华北",))
    assert_figures(at, ref)
    text = page_text(at)
    assert not [r for r in OTHERS if r in text]
    assert offered and not [r for df in offered for r in OTHERS if r in df.to_csv()]
    north = set(customers.loc[customers["region"] == "华北", "customer_id"])
    risky = offered_list(offered, "p_alive")
    assert list(risky[ID]) == list(expected_at_risk(path, ref["window"], ("华北",))["customer_id"])
    assert len(risky) and set(risky[ID]) <= north & ref["active_ids"]
    assert returns(offered_list(offered, "returned")) == expected_returns(ref)
    ids = {i for df in at.dataframe if ID in df.value.columns for i in df.value[ID]}
    assert ids and ids <= north


# ----------------------------------------------------------------------------- the as-of day and the list


def test_the_at_risk_list_is_as_of_the_as_of_day(monkeypatch, lists_db):
    """With an as-of day inside a month, the list is as of the month end before it (the value models work to a
    month's end; the month end after it would see purchases after the as-of day): recency counted to that day,
    active then, nobody whose first purchase is after it, and the caption names the day."""
    path, tx, _ = lists_db
    offered = spy_downloads(monkeypatch)
    at = run_churn(monkeypatch, path, "en", as_of=MID.isoformat())
    month_end = MID.replace(day=1) - timedelta(days=1)
    ref = reference(tx, as_of=month_end)
    whole = offered_list(offered, "p_alive")
    assert len(whole)
    assert list(whole[t("churn_col_recency_days", "en")]) == [(month_end - ref["last"][c]).days for c in whole[ID]]
    assert set(whole[ID]) <= ref["active_ids"]
    assert any(fmt_date(month_end, "en") in c.value for c in at.caption)
