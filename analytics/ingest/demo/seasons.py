"""The days of the demo: the three-year window, day numbers and the Chinese retail calendar.

The simulation counts days from the first day of the window (day 0); ``NA`` marks a
missing date. The calendar gives the daily order intensity of consumers and of
businesses (春节, 618, 双11, 双12, 国庆 and the week) and the promotion prices.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

#: Gregorian date of the first day of the lunar new year (春节).
SPRING_FESTIVAL: dict[int, dt.date] = {
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
}

#: Day number of a missing date.
NA = -(10**6)


def window(end: dt.date) -> tuple[dt.date, int]:
    """The three-year window ending at ``end``.

    Parameters
    ----------
    end : datetime.date
        Last day of the window.

    Returns
    -------
    tuple[datetime.date, int]
        The first day of the window and its number of days.
    """
    start = (pd.Timestamp(end) - pd.DateOffset(years=3) + pd.Timedelta(days=1)).date()
    return start, (end - start).days + 1


def to_dates(start: dt.date, day: np.ndarray) -> np.ndarray:
    """Turn day numbers into dates.

    Parameters
    ----------
    start : datetime.date
        The date of day 0.
    day : numpy.ndarray
        Day numbers; ``NA`` marks a missing date.

    Returns
    -------
    numpy.ndarray
        ``datetime64[ns]`` values, ``NaT`` where ``day`` is ``NA``.
    """
    missing = day == NA
    out = (np.datetime64(start, "D") + np.where(missing, 0, day)).astype("datetime64[ns]")
    out[missing] = np.datetime64("NaT")
    return out


def _festival_offsets(start: dt.date) -> list[int]:
    """Day numbers of every 春节 in ``SPRING_FESTIVAL`` (negative before ``start``)."""
    return [(pd.Timestamp(festival) - pd.Timestamp(start)).days for festival in SPRING_FESTIVAL.values()]


def intensity(start: dt.date, n_days: int) -> np.ndarray:
    """Daily order intensity for the consumer, mixed and business calendars.

    Parameters
    ----------
    start : datetime.date
        First day.
    n_days : int
        Number of days.

    Returns
    -------
    numpy.ndarray
        Shape ``(3, n_days)``; each row has mean 1.
    """
    days = pd.date_range(start, periods=n_days, freq="D")
    month = days.month.to_numpy()
    dom = days.day.to_numpy()
    dow = days.day_of_week.to_numpy()
    day_no = (days - pd.Timestamp(start)).days.to_numpy()

    consumer = np.array([0.96, 0.95, 0.95, 0.97, 1.01, 1.07, 1.09])[dow]
    consumer = consumer * np.array(
        [1.00, 0.96, 0.95, 0.96, 1.00, 1.04, 0.92, 0.93, 0.98, 0.97, 1.00, 1.06]
    )[month - 1]
    business = np.array([1.13, 1.14, 1.14, 1.12, 1.07, 0.45, 0.35])[dow]
    business = business * np.array(
        [1.05, 0.90, 1.02, 1.00, 0.98, 1.04, 0.95, 0.95, 1.02, 0.96, 1.05, 1.12]
    )[month - 1]

    def days_of(m: int, d0: int, d1: int) -> np.ndarray:
        return (month == m) & (dom >= d0) & (dom <= d1)

    # 双11: the pre-sale lull, the first payment wave on 1 Nov, the peak, the hangover.
    consumer[days_of(10, 20, 31)] *= 0.88
    consumer[days_of(11, 1, 3)] *= 2.2
    consumer[days_of(11, 4, 9)] *= 1.45
    consumer[days_of(11, 10, 10)] *= 2.2
    consumer[days_of(11, 11, 11)] *= 10.0
    consumer[days_of(11, 12, 13)] *= 1.35
    consumer[days_of(11, 14, 22)] *= 0.82
    business[days_of(11, 1, 10)] *= 1.35
    business[days_of(11, 11, 11)] *= 2.5
    # 618 and 双12.
    consumer[days_of(5, 31, 31) | days_of(6, 1, 1)] *= 1.6
    consumer[days_of(6, 2, 17)] *= 1.22
    consumer[days_of(6, 18, 18)] *= 3.8
    consumer[days_of(6, 19, 21)] *= 0.9
    business[days_of(6, 1, 18)] *= 1.08
    consumer[days_of(12, 12, 12)] *= 1.8
    # 国庆 golden week: people travel, offices close.
    consumer[days_of(10, 1, 7)] *= 0.88
    business[days_of(10, 1, 7)] *= 0.25
    # 春节: New Year shopping run-up, couriers stop before the holiday, the festival week.
    for offset in _festival_offsets(start):
        rel = day_no - offset
        consumer[(rel >= -25) & (rel <= -8)] *= 1.3
        consumer[(rel >= -7) & (rel <= -2)] *= 0.8
        consumer[(rel >= -1) & (rel <= 6)] *= 0.35
        consumer[(rel >= 7) & (rel <= 14)] *= 0.75
        business[(rel >= -25) & (rel <= -8)] *= 1.2
        business[(rel >= -7) & (rel <= -2)] *= 0.7
        business[(rel >= -1) & (rel <= 6)] *= 0.08
        business[(rel >= 7) & (rel <= 14)] *= 0.6
    curves = np.vstack([consumer, 0.5 * consumer + 0.5 * business, business])
    return curves / curves.mean(axis=1, keepdims=True)


def new_year_shopping(start: dt.date, n_days: int) -> np.ndarray:
    """Which days belong to a 春节 shopping run-up (25 to 8 days before the festival).

    Parameters
    ----------
    start : datetime.date
        First day.
    n_days : int
        Number of days.

    Returns
    -------
    numpy.ndarray
        Boolean, shape ``(n_days,)``.
    """
    festive = np.zeros(n_days, bool)
    for offset in _festival_offsets(start):
        festive[max(0, offset - 25):max(0, offset - 7)] = True
    return festive


def promotion_prices(start: dt.date, n_days: int) -> np.ndarray:
    """Price factor of each day: the 双11, 618 and 双12 discounts, 1 on other days.

    Parameters
    ----------
    start : datetime.date
        First day.
    n_days : int
        Number of days.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_days,)``.
    """
    dates = pd.date_range(start, periods=n_days, freq="D")
    promo = np.ones(n_days)
    promo[(dates.month == 11) & (dates.day <= 10)] = 0.93
    promo[(dates.month == 11) & (dates.day == 11)] = 0.85
    promo[(dates.month == 6) & (dates.day <= 18)] = 0.93
    promo[(dates.month == 6) & (dates.day == 18)] = 0.88
    promo[(dates.month == 12) & (dates.day == 12)] = 0.92
    return promo
