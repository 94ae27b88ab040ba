"""The lifecycle funnel on a real public file, imported through the app's own path: the CDNOW sample (no header,
columns by position; Fader, Hardie & Lee 2005; its customers all first bought in 1997's first quarter, the data
ends on 1998-06-30). Every member's days and the funnel's counts, in both periods and both orders, equal the
definitions read here from the raw file with pandas (tests/test_funnel_lifecycle.py's reading), with and without
the summaries built after the import; so does ``customer_month.second_day``."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from cdnow_summary import CDNOW_SAMPLE
from test_customer_base import BY_POSITION
from test_funnel_lifecycle import counts, reference, window_of

from analytics.ingest.pipeline import import_file
from analytics.metrics import funnel_lifecycle as fl
from analytics.scope import Scope
from analytics.store import marts
from analytics.store.connection import connect

#: February and March 1997 against December 1996 and January 1997 (the comparison's cohort: January's first
#: buyers, counted as of 1998-05-02: a day in the middle of a month, the data going on after it).
SCOPE = Scope(date(1997, 2, 1), date(1997, 3, 1))


def raw_rows() -> pd.DataFrame:
    """The raw file read with pandas: customer (the first column, as the import maps it), day, amount."""
    raw = pd.read_csv(CDNOW_SAMPLE, sep=r"\s+", header=None, names=["customer_id", "seq", "date", "cds", "amount"],
                      dtype={"customer_id": str, "date": str})
    return pd.DataFrame({"customer_id": raw["customer_id"], "day": pd.to_datetime(raw["date"], format="%Y%m%d"),
                         "amount": raw["amount"]})


@pytest.fixture(scope="module", params=["months", "summaries"])
def cdnow(request, tmp_path_factory):
    rows = raw_rows()
    con = connect(tmp_path_factory.mktemp("cdnow_funnel") / "crm.duckdb")
    assert import_file(con, CDNOW_SAMPLE, mapping=BY_POSITION, commit=True).rows_imported == len(rows)
    if request.param == "summaries":
        assert marts.summarize(con)
    buys = rows[rows["amount"] >= 0]
    days = {c: np.array(sorted(set(g)), dtype="datetime64[D]") for c, g in buys.groupby("customer_id")["day"]}
    yield con, rows, days
    con.close()


@pytest.mark.parametrize("order", ["strict", "any"])
def test_the_lifecycle_funnel_equals_the_raw_file(cdnow, order):
    con, rows, days = cdnow
    got = fl.lifecycle_funnel(con, SCOPE, order=order)
    as_of = rows.loc[rows["amount"] >= 0, "day"].max().date()
    assert got.data_end == got.funnel.as_of == as_of == date(1998, 6, 30)
    everyone = set(days)
    w = window_of(days, everyone, SCOPE.end_exclusive - timedelta(days=1))
    assert (got.window_days, got.window_source) == (w, "data")
    ref = reference(days, everyone, SCOPE.start, SCOPE.end_exclusive - timedelta(days=1), as_of, w, 3)
    assert got.reach["member_id"].tolist() == ref["member_id"].tolist() and len(ref) > 1000
    for key, column in (("first_purchase", "first"), ("repeat_purchase", "second"), ("loyal", "loyal")):
        assert got.reach[f"{key}_day"].astype(str).tolist() == ref[column].astype(str).tolist(), key
    assert got.reach["active_reached"].tolist() == ref["active"].tolist()
    assert got.funnel.counts["members"].tolist() == counts(ref)[order]
    assert (np.diff(got.funnel.counts["members"]) < 0).all()
    back = date(1997, 1, 31) + (as_of - date(1997, 3, 31))
    assert got.comparison_as_of == back == date(1998, 5, 2)
    then = reference(days, everyone, date(1996, 12, 1), date(1997, 1, 31), back, w, 3)
    assert got.comparison["members"].tolist() == counts(then)[order] and len(then) > 500
    assert got.overall_change == pytest.approx(counts(ref)[order][-1] / len(ref) - counts(then)[order][-1] / len(then))


def test_customer_month_second_day_equals_the_raw_file(cdnow):
    con, rows, _ = cdnow
    buys = rows[rows["amount"] >= 0].assign(month=lambda r: r["day"].dt.to_period("M").dt.to_timestamp())
    want = buys.groupby(["customer_id", "month"])["day"].agg(lambda d: sorted(set(d))[1] if d.nunique() > 1 else None)
    got = con.execute("select customer_id, month, second_day from customer_month order by customer_id, month").df()
    got = got.set_index(["customer_id", pd.to_datetime(got["month"])])["second_day"]
    assert [None if pd.isna(v) else pd.Timestamp(v) for v in got.reindex(want.index)] == \
        [None if pd.isna(v) else pd.Timestamp(v) for v in want]
    assert want.notna().sum() > 50
