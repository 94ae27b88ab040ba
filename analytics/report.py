"""``python -m analytics report <page>``: a page's figures as JSON-ready data, computed by
the same functions as the page (for scripts, scheduled reports and tests)."""

from __future__ import annotations

import math
from dataclasses import asdict, replace
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from analytics.access import Access
from analytics.metrics import overview
from analytics.scope import Scope

#: The pages ``report`` can print.
PAGES: tuple[str, ...] = ("overview",)


def parse_month(text: str, option: str) -> date:
    """A month given as ``YYYY-MM`` or as a date ``YYYY-MM-DD`` (which stands for its month)."""
    try:
        if len(text) == 7:
            return date.fromisoformat(text + "-01")
        return date.fromisoformat(text).replace(day=1)
    except ValueError:
        raise ValueError(f"{option} {text!r}: give a month as YYYY-MM (or a date YYYY-MM-DD)") from None


def _plain(value: Any) -> Any:
    """JSON-ready: dates as ISO text, NaN as None, numpy and Decimal numbers as float/int."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, pd.Timestamp | date):
        return value.isoformat()[:10]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is not None and not isinstance(value, bool | int | float | str):
        return float(value)
    return value


def _frame(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [_plain(r) for r in df.to_dict(orient="records")]


def overview_report(con: duckdb.DuckDBPyConnection, scope: Scope, user: Access | None = None) -> dict[str, Any]:
    """The overview page's figures for ``scope`` (see :class:`analytics.metrics.overview.Overview`).

    ``user`` is who the report is for (``"user": {"email", "role"}``; ``None`` for the
    local user with full access); their regions must already be ``scope.allowed_regions``.

    Raises
    ------
    ValueError
        ``scope.allowed_regions`` is not ``user``'s regions.
    """
    if user is not None and replace(scope, allowed_regions=user.allowed_regions) != scope:
        raise ValueError(f"the scope's regions {scope.allowed_regions} are not {user.email}'s "
                         f"({user.allowed_regions})")
    view = overview.overview(con, scope)
    comparison = view.comparison
    return {
        "page": "overview",
        "user": {"email": user.email, "role": user.role} if user else None,
        "period": {"start": f"{scope.start:%Y-%m}", "end": f"{scope.end:%Y-%m}", "months": scope.months},
        "comparison": ({"kind": scope.compare, "start": f"{comparison.start:%Y-%m}", "end": f"{comparison.end:%Y-%m}"}
                       if comparison else None),
        "filters": {"regions": list(scope.regions), "channels": list(scope.channels),
                    "segments": list(scope.segments)},
        "allowed_regions": list(scope.allowed_regions) if scope.allowed_regions is not None else None,
        "data_through": _plain(view.data_through),
        "kpis": {name: _plain(asdict(k)) for name, k in view.kpis.items()},
        "trend": _frame(view.trend),
        "by_region": _frame(view.by_region),
        "highlights": [{"kind": h.kind, **_plain(h.values)} for h in view.highlights],
    }


def overview_text(report: dict[str, Any]) -> str:
    """The overview report as plain text for a terminal."""
    p, c = report["period"], report["comparison"]
    lines = [f"Overview {p['start']} to {p['end']}"
             + (f", compared with {c['start']} to {c['end']} ({c['kind']})" if c else ", no comparison")]
    if report["user"]:
        lines.append(f"for {report['user']['email']} ({report['user']['role']})"
                     + (f", regions {', '.join(report['allowed_regions'])}"
                        if report["allowed_regions"] is not None else ""))
    filters = {k: v for k, v in report["filters"].items() if v}
    if filters:
        lines.append("filters: " + "; ".join(f"{k} = {', '.join(v)}" for k, v in filters.items()))
    if report["data_through"]:
        lines.append(f"data through {report['data_through']}")
    lines.append("")
    for name, k in report["kpis"].items():
        if k["value"] is None:
            value = "–"
        elif name in overview.RATES:
            value = f"{k['value']:.1%}"
        else:
            value = f"{k['value']:,}" if isinstance(k["value"], int) else f"{k['value']:,.2f}"
        change = ""
        if k["change"] is not None:
            change = (f"  {k['change'] * 100:+.1f} pts" if name in overview.RATES else f"  {k['change']:+.1%}")
        extra = f"  (n = {k['n']:,}, 95% CI {k['ci'][0]:.1%}–{k['ci'][1]:.1%})" if k.get("ci") else ""
        lines.append(f"  {name:<18}{value:>18}{change}{extra}")
    lines.append("")
    lines.append("revenue by region:")
    for r in report["by_region"]:
        change = f"  {r['change']:+.1%}" if r["change"] is not None else ""
        lines.append(f"  {r['region'] or '(none)':<10}{r['revenue']:>18,.2f}{change}")
    if report["highlights"]:
        lines.append("")
        lines.append("highlights:")
        for h in report["highlights"]:
            lines.append("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in h.items()))
    return "\n".join(lines)
