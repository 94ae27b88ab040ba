"""The customer base the value models read (analytics.metrics.customer_base), from the derived
tables through the gate, against independent pandas computations on the raw files."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from cdnow_summary import CDNOW_SAMPLE, cdnow_summary

from analytics.ingest.pipeline import import_file
from analytics.metrics.customer_base import customer_base
from analytics.scope import Scope
from analytics.store.connection import connect

BY_POSITION = {"customer_id": "column 1", "order_date": "column 3", "quantity": "column 4", "amount": "column 5"}
COLUMNS = ["x", "t_x", "T", "monetary", "holdout_purchases"]


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    """The CDNOW sample imported through the app's own path: headerless, mapped by position."""
    con = connect(tmp_path_factory.mktemp("cdnow") / "crm.duckdb")
    assert import_file(con, CDNOW_SAMPLE, mapping=BY_POSITION, commit=True).rows_imported == 6919
    yield con
    con.close()


def _sorted(frame: pd.DataFrame) -> np.ndarray:
    return frame[COLUMNS].round(9).fillna(-1).sort_values(COLUMNS).to_numpy()


def test_fader_hardie_lee_2005_cdnow_summary_through_the_import_path(cdnow):
    """Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science
    24(2): the CDNOW sample's calibration period to 1997-09-30 has 2,357 customers, 946 repeat
    buyers and 2,457 repeat purchase days. Each customer's (x, t_x, T), mean repeat spend and
    holdout purchases to 1998-06-30 equal pandas' on the raw file."""
    base = customer_base(cdnow.cursor(), Scope(date(1997, 1, 1), date(1998, 6, 1)), date(1997, 10, 1))
    assert (len(base), int((base.x > 0).sum()), int(base.x.sum())) == (2357, 946, 2457)
    assert base["T"].max() == pytest.approx(272 / 7)  # first bought 1997-01-01, 272 days to 09-30
    reference = cdnow_summary("1997-09-30")
    assert np.array_equal(_sorted(base), _sorted(reference))
    assert int(base.holdout_purchases.sum()) == int(reference.holdout_purchases.sum())


def test_without_a_holdout_the_history_ends_with_the_period(cdnow):
    base = customer_base(cdnow.cursor(), Scope(date(1997, 1, 1), date(1997, 9, 1)), date(1997, 10, 1))
    assert (len(base), int(base.x.sum()), int(base.holdout_purchases.sum())) == (2357, 2457, 0)
    with pytest.raises(ValueError, match="after the period"):
        customer_base(cdnow.cursor(), Scope(date(1997, 1, 1), date(1997, 8, 1)), date(1997, 10, 1))


SALES = """customer_id,order_date,amount,region
A,2024-01-05,100,华东
A,2024-01-05,20,华东
A,2024-02-10,50,华东
A,2024-02-12,-10,华东
A,2024-04-01,70,华东
B,2024-01-20,30,华北
B,2024-03-03,40,华北
C,2024-03-30,5,华东
C,2024-05-02,9,华东
"""


@pytest.fixture
def sales(tmp_path):
    con = connect(tmp_path / "crm.duckdb")
    (tmp_path / "s.csv").write_text(SALES, encoding="utf-8")
    import_file(con, tmp_path / "s.csv", commit=True)
    yield con
    con.close()


def test_the_base_matches_a_hand_computation_and_the_gate_keeps_other_regions_out(sales):
    scope = Scope(date(2024, 1, 1), date(2024, 5, 1))
    base = customer_base(sales.cursor(), scope, date(2024, 4, 1)).set_index("customer_id")
    # A: days 01-05 (120), 02-10 (50), [02-12 a return]; 04-01 is in the holdout
    a = base.loc["A"]
    assert (a.purchase_days, a.x, a.recency_days) == (2, 1, (date(2024, 3, 31) - date(2024, 2, 10)).days)
    assert a.t_x == pytest.approx(36 / 7) and a["T"] == pytest.approx(86 / 7)
    assert a.monetary == pytest.approx(50.0)  # the repeat day only: the first day's 120 left out
    assert (a.revenue, a.gross_revenue, a.holdout_purchases, a.holdout_revenue) == (160.0, 170.0, 1, 70.0)
    assert base.loc["B"].x == 1 and np.isnan(base.loc["C"].monetary) and base.loc["C"].holdout_purchases == 1
    manager = Scope(date(2024, 1, 1), date(2024, 5, 1), allowed_regions=("华北",))
    assert customer_base(sales.cursor(), manager, date(2024, 4, 1)).customer_id.tolist() == ["B"]
    tampered = Scope(date(2024, 1, 1), date(2024, 5, 1), regions=("华东",), allowed_regions=("华北",))
    assert customer_base(sales.cursor(), tampered, date(2024, 4, 1)).empty


def test_fader_hardie_lee_2005_bgnbd_fit_on_the_imported_cdnow_base(cdnow):
    """Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science
    24(2), p. 281: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4 — fitted here on the
    customer base the app reads from its own tables after importing the raw file."""
    from analytics.models.bgnbd import expected_purchases, fit_bgnbd

    base = customer_base(cdnow.cursor(), Scope(date(1997, 1, 1), date(1998, 6, 1)), date(1997, 10, 1))
    fit = fit_bgnbd(base.x.to_numpy(), base.t_x.to_numpy(), base["T"].to_numpy())
    assert fit.converged
    assert fit.params == pytest.approx([0.243, 4.414, 0.793, 2.426], abs=0.01)
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.5)
    # the paper's example customer (x = 2, t_x = 30.43, T = 38.86): 1.226 purchases in 39 weeks
    assert expected_purchases(fit.params, 39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=0.005)


def test_fader_hardie_lee_2005_gamma_gamma_fit_on_the_imported_cdnow_base(cdnow):
    """Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base
    analysis", JMR 42(4): p = 6.25, q = 3.74, gamma = 15.44 on the 946 repeat buyers' mean repeat
    spend — here the mean spend the app derives from its own tables (the first day left out)."""
    from analytics.models.gamma_gamma import fit_gamma_gamma

    base = customer_base(cdnow.cursor(), Scope(date(1997, 1, 1), date(1998, 6, 1)), date(1997, 10, 1))
    fit = fit_gamma_gamma(base.x.to_numpy(), base.monetary.to_numpy())
    assert fit.converged and fit.n_customers == 946
    assert fit.params == pytest.approx([6.25, 3.74, 15.44], abs=0.05)
