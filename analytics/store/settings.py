"""Metric settings stored in the database (table ``settings``): what later pages use to
define churn, tiers and value, the currency amounts are shown in, the time zone an
import reads times with a time zone in, and the funnel's stages and how the leads' stage
names map onto them.

Each setting has a default, a type and allowed bounds; :func:`save` checks a value and
raises ``ValueError`` with a message a person understands before writing anything.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import duckdb

from analytics.store import served
from analytics.store.connection import bump_data_version, write_transaction


@dataclass(frozen=True)
class Setting:
    """One metric setting: its key, default and what values it accepts."""

    key: str
    default: Any
    kind: str  # "int", "float", "choice", "cuts", "stages", "stage_map"
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()


#: The funnel's stage keys in their one order (the pipeline stages, then the purchase stages; their names:
#: analytics/metrics/funnel_stages.py). A stage list is some of them, in this order.
FUNNEL_STAGES: tuple[str, ...] = ("potential", "target", "proposal", "first_purchase", "repeat_purchase", "loyal")
#: What a stage name in the leads may be mapped onto: a pipeline stage, a won lead's first purchase, ``lost`` (an
#: outcome, not a stage) or ``ignore``. Repeat purchase and loyal come from the customers' purchases.
STAGE_MAP_TARGETS: tuple[str, ...] = ("potential", "target", "proposal", "first_purchase", "lost", "ignore")
#: Stages a funnel needs at least (one step between two stages).
MIN_FUNNEL_STAGES = 2

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
    # the funnel page's stage list (keys, in FUNNEL_STAGES' order) and the leads' stage names mapped onto them
    Setting("funnel_stages", ["potential", "target", "first_purchase", "repeat_purchase", "loyal"], "stages",
            choices=FUNNEL_STAGES),
    Setting("funnel_stage_map", {}, "stage_map", choices=STAGE_MAP_TARGETS),
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
    if s.kind == "stages":
        return _check_stages(key, value)
    if s.kind == "stage_map":
        return _check_stage_map(key, value)
    cuts = [float(v) for v in value]
    if len(cuts) != 3 or not all(a < b < 1 for a, b in zip([0.0, *cuts[:-1]], cuts, strict=True)):
        raise ValueError(f"{key} must be three increasing shares between 0 and 1 (e.g. 0.01, 0.05, 0.20), "
                         f"not {value!r}")
    return cuts


def stage_name_key(name: str) -> str:
    """How stage names compare: Unicode-normalised (NFKC: full-width letters as half-width), case-folded, ``_`` and
    ``-`` read as spaces, runs of spaces as one, trimmed (``" Closed_Won"`` and ``"closed won"`` are one name)."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().replace("_", " ").replace("-", " ").split())


def _check_stages(key: str, value: Any) -> list[str]:
    """A stage list: some of :data:`FUNNEL_STAGES`, each once, in their order, at least :data:`MIN_FUNNEL_STAGES`."""
    known = " → ".join(FUNNEL_STAGES)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of stage keys (of {known}), not {value!r}")
    stages = list(value)
    unknown = [v for v in stages if v not in FUNNEL_STAGES]
    if unknown:
        raise ValueError(f"{key}: unknown stage {', '.join(map(repr, unknown))}; the stages are {known}")
    twice = sorted({v for v in stages if stages.count(v) > 1}, key=FUNNEL_STAGES.index)
    if twice:
        raise ValueError(f"{key} lists {', '.join(map(repr, twice))} more than once")
    if len(stages) < MIN_FUNNEL_STAGES:
        raise ValueError(f"{key} needs at least {MIN_FUNNEL_STAGES} stages (a funnel is steps between stages), "
                         f"not {len(stages)}")
    for before, after in pairwise(stages):
        if FUNNEL_STAGES.index(after) < FUNNEL_STAGES.index(before):
            raise ValueError(f"{key} must keep the stages' order {known}: {after!r} cannot come after {before!r}")
    return stages


def _check_stage_map(key: str, value: Any) -> dict[str, str]:
    """A stage map: non-empty stage names (trimmed) onto :data:`STAGE_MAP_TARGETS`, no name twice (as
    :func:`stage_name_key` compares names) with different targets."""
    if not isinstance(value, dict):
        raise ValueError(f"{key} must map stage names to stages (such as {{'报价': 'proposal'}}), "
                         f"not {value!r}")
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for name, target in value.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{key} has a stage name that is empty or not text: {name!r}")
        if target in ("repeat_purchase", "loyal"):
            raise ValueError(f"{key} maps {name!r} to {target!r}: repeat purchase and loyal come from the customers' "
                             f"purchases, not from a lead's stage; map it to one of {', '.join(STAGE_MAP_TARGETS)}")
        if target not in STAGE_MAP_TARGETS:
            raise ValueError(f"{key} maps {name!r} to {target!r}: a stage name maps to one of "
                             f"{', '.join(STAGE_MAP_TARGETS)}")
        same = seen.setdefault(stage_name_key(name), name.strip())
        if same != name.strip() and out[same] != target:
            raise ValueError(f"{key} maps {same!r} and {name.strip()!r} (the same name) to different stages: "
                             f"{out[same]!r} and {target!r}")
        out.setdefault(same, target)
    return out


def default(key: str) -> Any:
    """The default value of setting ``key``."""
    return _BY_KEY[key].default


def load(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Every setting: the stored value, else the default."""
    stored = stored_values(con)
    return {s.key: stored.get(s.key, s.default) for s in SETTINGS}


def stored_values(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The settings someone saved (a setting never saved is absent: its default applies)."""
    return {k: json.loads(v) for k, v in con.cursor().execute("select key, value from settings").fetchall()}


def save(con: duckdb.DuckDBPyConnection, values: dict[str, Any]) -> dict[str, Any]:
    """Check and store settings (all or none) and raise the data version (figures that use
    them change). Returns the stored values. Served marts (:mod:`analytics.store.served`) refuse
    (``ReadOnly``): their settings are changed where the data lives."""
    served.refuse_writes(con, "saving the settings")
    checked = {key: check(key, value) for key, value in values.items()}
    with write_transaction(con) as cur:
        for key, value in checked.items():
            cur.execute("insert or replace into settings (key, value) values (?, ?)", [key, json.dumps(value)])
        bump_data_version(cur)
    return checked
