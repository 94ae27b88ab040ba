"""``python -m analytics report value``: golden figures on the CDNOW sample imported through the app's
own import path (headerless, mapped by position, the mapping saved), the options' checks, the text
and JSON forms.

References: Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2), 275-284 (BG/NBD: r = 0.243, alpha = 4.414, a = 0.793,
b = 2.426, LL = -9582.4 on the 2,357 customers' 39-week calibration period to 1997-09-30); Fader,
Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base analysis", Journal of
Marketing Research 42(4), 415-430 (Gamma-Gamma: p = 6.25, q = 3.74, gamma = 15.44 on the 946 repeat
buyers' mean spend).
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cdnow_summary import CDNOW_SAMPLE, cdnow_summary

from analytics.cli import main
from analytics.ingest.pipeline import import_file
from analytics.models.bgnbd import expected_purchases
from analytics.store.connection import connect

ROOT = Path(__file__).resolve().parent.parent
BY_POSITION = {"customer_id": "column 1", "order_date": "column 3", "quantity": "column 4", "amount": "column 5"}
CALIBRATION = ("--from", "1997-01", "--to", "1997-09")
#: The fields every scoped report starts with (analytics.report) and the value page's own (value_report.report).
KEYS = {"page", "user", "period", "comparison", "filters", "allowed_regions", "options", "as_of", "settings",
        "customers", "repeat_customers", "acquisition_cost_customers", "rfm", "models", "clv", "holdout",
        "top_customers", "at_risk"}


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    """The CDNOW sample imported as a user would: the headerless file mapped by position, the mapping
    saved, then a second import of the same file by the saved mapping (which adds nothing)."""
    path = tmp_path_factory.mktemp("cdnow") / "crm.duckdb"
    con = connect(path)
    try:
        first = import_file(con, CDNOW_SAMPLE, mapping=BY_POSITION, save_as="cdnow", commit=True)
        again = import_file(con, CDNOW_SAMPLE, mapping_name="cdnow", commit=True)
    finally:
        con.close()
    assert (first.rows_imported, first.rows_rejected) == (6919, 0)
    assert (again.rows_imported, again.rows_rejected) == (0, 0)
    return str(path)


def run(db: str, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--db", db, "report", "value", *args])
    return code, out.getvalue()


def report(db: str, *args: str) -> dict:
    code, out = run(db, *args, "--json")
    assert code == 0
    return json.loads(out)


@pytest.fixture(scope="module")
def calibration(db) -> dict:
    return report(db, *CALIBRATION)


def test_fader_hardie_lee_2005_bgnbd_parameters_in_the_value_report(calibration):
    """Marketing Science 24(2), p. 281: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4."""
    assert (calibration["customers"], calibration["repeat_customers"]) == (2357, 946)
    assert calibration["as_of"] == "1997-09-30"
    fit = calibration["models"]["bgnbd"]
    assert calibration["models"]["problem"] is None and fit["converged"]
    assert [fit[k] for k in ("r", "alpha", "a", "b")] == pytest.approx([0.243, 4.414, 0.793, 2.426], abs=0.01)
    assert fit["log_likelihood"] == pytest.approx(-9582.4, abs=0.5)
    assert all(0 < fit["std_errors"][k] < fit[k] for k in ("r", "alpha", "a", "b"))


def test_fader_hardie_lee_2005_rfm_and_clv_gamma_gamma_parameters_in_the_value_report(calibration):
    """JMR 42(4): p = 6.25, q = 3.74, gamma = 15.44 on the 946 repeat buyers."""
    fit = calibration["models"]["gamma_gamma"]
    assert fit["converged"] and fit["n_customers"] == 946
    assert [fit[k] for k in ("p", "q", "gamma")] == pytest.approx([6.25, 3.74, 15.44], abs=0.05)
    # the population mean spend per purchase day, p * gamma / (q - 1)
    assert fit["mean_spend"] == pytest.approx(fit["p"] * fit["gamma"] / (fit["q"] - 1))


def test_fader_hardie_lee_2005_holdout_purchases_by_calibration_frequency(db):
    """Marketing Science 24(2), Figure 3: the 39-week holdout (1997-10-01 to 1998-06-30) against the model
    calibrated to 1997-09-30, by repeat purchases in the calibration period (0, 1, ..., 7+). The actual
    column is counted here from the raw file (tests/cdnow_summary.py), the prediction is eq. 10 at the
    report's parameters on that summary."""
    data = report(db, "--from", "1997-01", "--to", "1998-06", "--holdout-from", "1997-10")
    h = data["holdout"]
    assert (h["problem"], h["from"], h["to"], h["months"]) == (None, "1997-10-01", "1998-06-30", 9)
    assert data["settings"]["holdout_from"] == "1997-10-01" and data["options"]["holdout_from"] == "1997-10-01"
    fit = h["bgnbd"]
    params = [fit[k] for k in ("r", "alpha", "a", "b")]
    assert params == pytest.approx([0.243, 4.414, 0.793, 2.426], abs=0.01)  # the paper's calibration period
    summary = cdnow_summary("1997-09-30")
    group = np.minimum(summary["x"], 7)
    actual = summary["holdout_purchases"].groupby(group).sum()
    each = expected_purchases(params, 39.0, summary["x"], summary["t_x"], summary["T"])  # 273 days
    predicted = pd.Series(each).groupby(group).sum()
    table = pd.DataFrame(h["by_frequency"]).set_index("frequency")
    assert table.index.tolist() == list(range(8))
    assert table["customers"].tolist() == group.value_counts().sort_index().tolist()
    assert table["actual_total"].tolist() == actual.tolist()
    assert table["predicted_total"].to_numpy() == pytest.approx(predicted.to_numpy(), rel=1e-6)
    assert h["actual"] == actual.sum() and h["predicted"] == pytest.approx(predicted.sum(), rel=1e-6)
    assert h["error"] == pytest.approx((predicted - actual).abs().sum() / actual.sum(), rel=1e-6)


def test_the_json_report_has_the_documented_keys_through_the_real_entry_point(db):
    done = subprocess.run([sys.executable, "-m", "analytics", "--db", db, "report", "value", *CALIBRATION, "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == KEYS and data["page"] == "value"
    assert data["period"] == {"start": "1997-01", "end": "1997-09", "months": 9}
    assert data["options"] == {"horizon_months": 12, "discount_rate": None, "holdout_from": None, "margin": None}
    assert data["settings"] | {"holdout_from": None} == {
        "horizon_months": 12, "discount_rate": 0.1, "margin_source": "setting", "margin": 0.3, "level": 0.9,
        "holdout_from": None}
    assert data["settings"]["holdout_from"] == "1997-08-01"  # 9 months: a quarter is 2.25, 2 held out
    segments = data["rfm"]["segments"]
    assert sum(s["customers"] for s in segments) == 2357 and len(segments) == 11
    assert sum(sum(row) for row in data["rfm"]["grid"].values()) == 2357
    clv = data["clv"]
    assert clv["total"]["low"] < clv["total"]["point"] < clv["total"]["high"]
    assert set(clv["by"]) == {"home_region", "segment", "rfm_segment"}
    assert sum(g["clv"] for g in clv["by"]["rfm_segment"]) == pytest.approx(clv["total"]["point"])
    top = data["top_customers"]
    assert len(top) == 20 and [c["clv"] for c in top] == sorted((c["clv"] for c in top), reverse=True)
    assert all(c["clv_low"] <= c["clv"] <= c["clv_high"] for c in top)
    risk = data["at_risk"]
    assert all(c["recency_days"] <= 180 for c in risk)
    assert [c["value_at_risk"] for c in risk] == sorted((c["value_at_risk"] for c in risk), reverse=True)


def test_options_change_the_figures(db, calibration):
    longer = report(db, *CALIBRATION, "--horizon-months", "24", "--discount-rate", "0.05", "--margin", "0.4")
    assert longer["options"] == {"horizon_months": 24, "discount_rate": 0.05, "holdout_from": None, "margin": 0.4}
    assert longer["settings"] == {"horizon_months": 24, "discount_rate": 0.05, "margin_source": "option",
                                  "margin": 0.4, "level": 0.9, "holdout_from": "1997-08-01"}
    # the same fit; a longer horizon at a lower discount rate and a higher margin: more future value
    assert longer["models"]["bgnbd"] == calibration["models"]["bgnbd"]
    assert longer["clv"]["future"]["point"] > calibration["clv"]["future"]["point"] * 0.4 / 0.3 * 1.2


def test_the_text_report(db, calibration):
    code, out = run(db, *CALIBRATION)
    assert code == 0
    lines = out.splitlines()
    # as of the period's end: the value page shows no comparison period, and its report names none
    assert lines[0] == "Customer value 1997-01 to 1997-09"
    assert calibration["comparison"] is None and calibration["period"]["end"] == "1997-09"
    assert "as of 1997-09-30: 2,357 customers, 946 repeat buyers" in lines
    assert "horizon 12 months, discount 10.0% a year, margin 30.0% (setting)" in lines
    assert any(line.startswith("bgnbd: r = 0.2426 (se ") and line.endswith("converged") for line in lines)
    assert any(line.startswith("gamma_gamma: p = 6.25 (se ") for line in lines)
    assert any(line.startswith("CLV total ") and "(90% interval " in line for line in lines)
    assert any(line.startswith("holdout 1997-08-01 to 1997-09-30: predicted ") for line in lines)
    assert sum(line.startswith("  champions ") for line in lines) == 1
    check = calibration["models"]["frequency_spend_check"]
    assert (f"frequency-spend correlation r = {check['pearson']:.3f}, Spearman {check['spearman']:.3f} "
            f"({check['verdict']}: the larger of the two)") in lines
    assert round(check["pearson"], 2) == 0.11  # Fader & Hardie 2013 note on Gamma-Gamma: r = 0.11 on CDNOW


@pytest.mark.parametrize(("args", "message"), [
    (("--horizon-months", "abc"), "horizon_months 'abc': give a whole number"),
    (("--horizon-months", "0"), "horizon_months '0': give a value from 1 to 60"),
    (("--horizon-months", "61"), "give a value from 1 to 60"),
    (("--discount-rate", "nan"), "discount_rate 'nan': give a number"),
    (("--discount-rate", "0.6"), "give a value from 0.0 to 0.5"),
    (("--margin", "1.5"), "give a value from -1.0 to 1.0"),
    (("--holdout-from", "1997-13"), "holdout_from '1997-13': give a month as YYYY-MM"),
])
def test_a_bad_option_exits_2_with_a_message(db, capsys, args, message):
    assert main(["--db", db, "report", "value", *CALIBRATION, *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and message in err


def test_a_value_option_on_another_page_exits_2(db, capsys):
    assert main(["--db", db, "report", "overview", *CALIBRATION, "--margin", "0.3"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "--margin: the overview page has no such option" in err
