"""Two builds of the marts (``OUTPUT/<model>/*.parquet``, :mod:`analytics.store.build`) compared model by model, as
the parity suite needs them (tests/test_spark_parity.py) and bench/marts_spark_bench.py reports them:

- the same column names in the same order, and the same type *family* per column (integer, decimal, float, text,
  date, timestamp, boolean, and lists and structs of those): engines differ in widths (Spark sums a DECIMAL(18,2)
  into DECIMAL(28,2), DuckDB into DECIMAL(38,2)), which no page reads;
- the same rows, order aside: exact for text, integers, decimals, dates and booleans (keys, counts and amounts),
  doubles within 1e-9 relative (rates summed in another order), structs and lists compared inside.

Both are read by DuckDB, so a value is compared as the app would read it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from pathlib import Path

import duckdb

from analytics.store.build import model_files

REL_TOL = 1e-9

_FAMILIES = ((r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$", "integer"),
             (r"^DECIMAL\(\d+,\s*\d+\)$", "decimal"), (r"^(FLOAT|DOUBLE)$", "float"), (r"^VARCHAR$", "text"),
             (r"^DATE$", "date"), (r"^TIMESTAMP.*$", "timestamp"), (r"^BOOLEAN$", "boolean"))


def family(kind: str) -> str:
    """A DuckDB type's family (module docstring), lists and structs by their members' families."""
    kind = kind.strip()
    if kind.endswith("[]"):
        return f"list of {family(kind[:-2])}"
    if kind.upper().startswith("STRUCT("):
        fields, depth, start = [], 0, 7
        inner = kind[7:-1]
        start = 0
        for i, ch in enumerate(inner + ","):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if ch == "," and depth == 0:
                name, _, member = inner[start:i].strip().partition(" ")
                fields.append(f"{name.strip(chr(34))} {family(member)}")
                start = i + 1
        return "struct(" + ", ".join(fields) + ")"
    for pattern, name in _FAMILIES:
        if re.match(pattern, kind, re.IGNORECASE):
            return name
    return kind


def norm(value):
    """A value as comparable Python: structs as sorted pairs, lists as tagged tuples, 5.00 as 5."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), norm(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("<list>", tuple(norm(v) for v in value))
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return value.normalize() if value == value.to_integral_value() else value
    return value


def sort_key(row):
    """Rows sorted by this key line up when they are equal (doubles rounded for the key only)."""
    def key(v):
        if v is None:
            return (0, "")
        if isinstance(v, bool):
            return (2, repr(v))
        if isinstance(v, float):
            return (1, f"{v:.6e}" if math.isfinite(v) else str(v))
        if isinstance(v, (int, Decimal)):
            return (1, f"{float(v):.6e}")
        return (2, repr(v))
    return tuple(key(v) for v in row)


def same(a, b) -> bool:
    """Equal values (module docstring)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (str, tuple)) or isinstance(b, (str, tuple)):
            return False
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return fa == fb or abs(fa - fb) <= REL_TOL * max(abs(fa), abs(fb))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _rounded(column: str, kind: str) -> str:
    """A double column rounded to 12 significant digits (what two engines' sums in another order still share)."""
    name = '"' + column.replace('"', '""') + '"'
    if family(kind) != "float":
        return name
    return (f"case when {name} = 0 or not isfinite({name}) then {name} else round({name}, 11 - cast(floor(log10("
            f"abs({name}))) as integer)) end as {name}")


def model_differences(reader: duckdb.DuckDBPyConnection, left: Path, right: Path, name: str) -> list[str]:
    """What differs between model ``name`` in the builds ``left`` and ``right`` (empty: the same).

    The rows are matched in DuckDB (``except all``, doubles rounded to 12 significant digits), so millions of rows
    compare in seconds; the few rows left on either side (a double next to a rounding edge) are then compared one by
    one within 1e-9 relative."""
    files = {side: f"read_parquet('{model_files(folder, name)}')" for side, folder in (("a", left), ("b", right))}
    a, b = (reader.sql(f"select * from {files[side]}") for side in "ab")
    if a.columns != b.columns:
        return [f"{name}: columns {a.columns} against {b.columns}"]
    kinds = [(c, family(str(x)), family(str(y))) for c, x, y in zip(a.columns, a.types, b.types, strict=True)]
    problems = [f"{name}.{c}: type {x} against {y}" for c, x, y in kinds if x != y]
    count_a, count_b = (reader.sql(f"select count(*) from {files[side]}").fetchall()[0][0] for side in "ab")
    if count_a != count_b:
        return [*problems, f"{name}: {count_a:,} rows against {count_b:,}"]
    listed = ", ".join(_rounded(c, str(t)) for c, t in zip(a.columns, a.types, strict=True))
    only = {side: reader.sql(f"select {listed} from {files[side]} except all select {listed} from "
                             f"{files['b' if side == 'a' else 'a']}") for side in "ab"}
    left_over = {side: only[side].limit(100_001).fetchall() for side in "ab"}
    rows_a, rows_b = (sorted((tuple(norm(v) for v in r) for r in left_over[s]), key=sort_key) for s in "ab")
    if len(rows_a) > 100_000 or len(rows_a) != len(rows_b):
        return [*problems, f"{name}: {max(len(rows_a), len(rows_b)):,}+ of {count_a:,} rows differ, e.g. "
                           f"{(rows_a or rows_b)[0]!r}"]
    differing = [(x, y) for x, y in zip(rows_a, rows_b, strict=True) if not same(x, y)]
    if differing:
        problems.append(f"{name}: {len(differing):,} of {count_a:,} rows differ, e.g. {differing[0][0]!r} "
                        f"against {differing[0][1]!r}")
    return problems


def differences(left: Path, right: Path, models: list[str]) -> dict[str, list[str]]:
    """:func:`model_differences` for every model in ``models`` (only those that differ)."""
    reader = duckdb.connect()
    try:
        found = {name: model_differences(reader, left, right, name) for name in models}
    finally:
        reader.close()
    return {name: problems for name, problems in found.items() if problems}
