"""Metric settings stored in the database (table ``settings``): what later pages use to
define churn, tiers and value, the currency amounts are shown in, and the time zone an
import reads times with a time zone in.

Each setting has a default, a type and allowed bounds; :func:`save` checks a value and
raises ``ValueError`` with a message a person understands before writing anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from analytics.store.connection import bump_data_version, write_transaction


@dataclass(frozen=True)
class Setting:
    """One metric setting: its key, default and what values it accepts."""

    key: str
    default: Any
    kind: str  # "int", "float", "choice", "cuts"
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()


#: Every setting, in the order the data page shows them.
SETTINGS: tuple[Setting, ...] = (
    Setting("churn_window_days", 180, "int", 30, 730),
    Setting("tier_cuts", [0.01, 0.05, 0.20], "cuts"),
    Setting("discount_rate", 0.10, "float", 0.0, 0.5),
    # profit per unit of revenue, for lifetime value when the sales files have no cost or profit
    Setting("gross_margin", 0.30, "float", 0.0, 1.0),
    Setting("currency", "CNY", "choice", choices=("CNY", "USD", "EUR", "HKD", "JPY", "GBP", "TWD", "SGD")),
    # the zone a file's times with a time zone (Parquet TIMESTAMPTZ) are turned into dates in
    # (analytics/ingest/parquet.py), whatever the server's zone
    Setting("import_time_zone", "Asia/Shanghai", "choice",
            choices=("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "Asia/Seoul",
                     "UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles")),
)
_BY_KEY = {s.key: s for s in SETTINGS}


def check(key: str, value: Any) -> Any:
    """The value of setting ``key`` in its stored form; ``ValueError`` when it is not allowed."""
    if key not in _BY_KEY:
        raise ValueError(f"unknown setting {key!r}; known: {', '.join(_BY_KEY)}")
    s = _BY_KEY[key]
    if s.kind in ("int", "float"):
        try:
            number = int(value) if s.kind == "int" else float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key} must be a number, not {value!r}") from None
        if s.kind == "int" and float(value) != number:
            raise ValueError(f"{key} must be a whole number, not {value!r}")
        if not (s.low <= number <= s.high):
            raise ValueError(f"{key} must be between {s.low:g} and {s.high:g}, not {number:g}")
        return number
    if s.kind == "choice":
        if value not in s.choices:
            raise ValueError(f"{key} must be one of {', '.join(s.choices)}, not {value!r}")
        return value
    cuts = [float(v) for v in value]
    if len(cuts) != 3 or not all(a < b < 1 for a, b in zip([0.0, *cuts[:-1]], cuts, strict=True)):
        raise ValueError(f"{key} must be three increasing shares between 0 and 1 (e.g. 0.01, 0.05, 0.20), "
                         f"not {value!r}")
    return cuts


def default(key: str) -> Any:
    """The default value of setting ``key``."""
    return _BY_KEY[key].default


def load(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Every setting: the stored value, else the default."""
    stored = {k: json.loads(v) for k, v in con.cursor().execute("select key, value from settings").fetchall()}
    return {s.key: stored.get(s.key, s.default) for s in SETTINGS}


def save(con: duckdb.DuckDBPyConnection, values: dict[str, Any]) -> dict[str, Any]:
    """Check and store settings (all or none) and raise the data version (figures that use
    them change). Returns the stored values."""
    checked = {key: check(key, value) for key, value in values.items()}
    with write_transaction(con) as cur:
        for key, value in checked.items():
            cur.execute("insert or replace into settings (key, value) values (?, ?)", [key, json.dumps(value)])
        bump_data_version(cur)
    return checked
