"""The CDNOW sample's per-customer summary, computed with pandas straight from the raw fixture file.

The standard summary of Fader, Hardie & Lee (2005), "Counting your customers the easy way: an
alternative to the Pareto/NBD model", Marketing Science 24(2), and of their note "RFM and CLV:
using iso-value curves for customer base analysis" (the spend data): purchases are grouped by day
(several records on one day are one purchase day, their values summed); the calibration period
ends on ``end`` inclusive. Published for ``end="1997-09-30"``: 2,357 customers, 946 repeaters,
Σx = 2,457.

This is an independent computation for the golden tests (it does not use the app's import path);
``tests/test_models_bgnbd.py`` and the lifetime-value tests share it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: The raw file: no header, columns aligned with spaces (see the README beside it).
CDNOW_SAMPLE = Path(__file__).parent / "fixtures" / "cdnow" / "CDNOW_sample.txt"

#: The last day of the data (the end of the published 39-week holdout period).
HOLDOUT_END = "1998-06-30"


def cdnow_purchase_days(path: Path = CDNOW_SAMPLE) -> pd.DataFrame:
    """The raw records grouped to one row per customer and purchase day.

    Returns
    -------
    pandas.DataFrame
        One row per customer per day: ``customer`` (sample id, 1–2357), ``date`` (datetime64),
        ``value`` (dollars spent that day, summed over the day's records).
    """
    raw = pd.read_csv(path, sep=r"\s+", header=None, names=["full_id", "customer", "date", "cds", "value"],
                      dtype={"full_id": str, "customer": "int64", "date": str, "cds": "int64", "value": "float64"})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw.groupby(["customer", "date"], as_index=False)["value"].sum()


def cdnow_summary(end: str = "1997-09-30", path: Path = CDNOW_SAMPLE) -> pd.DataFrame:
    """The per-customer calibration summary up to ``end`` and the holdout purchases after it.

    Parameters
    ----------
    end : str
        The last day of the calibration period (inclusive), ISO date.
    path : pathlib.Path
        The raw CDNOW file (the fixture by default).

    Returns
    -------
    pandas.DataFrame
        One row per customer whose first purchase is on or before ``end``, sorted by customer:
        ``customer`` (int), ``x`` (repeat purchase days in the calibration period, int),
        ``t_x`` (weeks from the first to the last purchase day in it), ``T`` (weeks from the first
        purchase day to ``end``), ``monetary`` (mean dollar value of the repeat purchase days in
        the calibration period, the first purchase excluded; NaN when ``x`` is 0) and
        ``holdout_purchases`` (purchase days after ``end`` up to 1998-06-30, int).
    """
    days = cdnow_purchase_days(path)
    end_day = pd.Timestamp(end)
    first = days.groupby("customer")["date"].min().rename("first")
    days = days.join(first, on="customer")
    calibration = days[days["date"] <= end_day]
    holdout = days[(days["date"] > end_day) & (days["date"] <= pd.Timestamp(HOLDOUT_END))]

    per_customer = calibration.groupby("customer").agg(first=("first", "first"), last=("date", "max"),
                                                      n_days=("date", "size"))
    repeat = calibration[calibration["date"] > calibration["first"]]
    summary = pd.DataFrame({
        "customer": per_customer.index.to_numpy(),
        "x": (per_customer["n_days"] - 1).to_numpy(),
        "t_x": ((per_customer["last"] - per_customer["first"]).dt.days / 7.0).to_numpy(),
        "T": ((end_day - per_customer["first"]).dt.days / 7.0).to_numpy(),
    })
    summary["monetary"] = summary["customer"].map(repeat.groupby("customer")["value"].mean())
    summary["holdout_purchases"] = (summary["customer"].map(holdout.groupby("customer").size())
                                    .fillna(0).astype("int64"))
    return summary.sort_values("customer", ignore_index=True)
