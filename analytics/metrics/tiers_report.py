"""The customer tiers page's loader and report (``python -m analytics report tiers``): the same view model as the
page (:func:`analytics.metrics.tiers.tier_view`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analytics.errors import OptionError
from analytics.metrics.churn_tiers import tier_churn
from analytics.metrics.tiers import TierView, clv_by_tier, tier_view
from analytics.scope import Scope
from analytics.store import settings
from analytics.tiering import DEFAULT_PRESET, MEASURES, PRESETS, TierSpec


def spec_of(con: duckdb.DuckDBPyConnection, *, by: str | None = None, preset: str | None = None,
            cuts: str | None = None, names: str | None = None) -> TierSpec:
    """The tiers the options ask for: ``by`` revenue (default) or margin; ``preset`` pyramid (default) or key;
    ``cuts`` (comma-separated cumulative shares; default: the preset's, and for the pyramid the metric setting
    ``tier_cuts``); ``names`` (comma-separated, best first; default: the preset's).

    Raises
    ------
    OptionError
        Saying which option is wrong and what it must be.
    """
    measure = by or "revenue"
    if measure not in MEASURES:
        raise OptionError(f"by must be {' or '.join(MEASURES)}, not {by!r}")
    chosen = preset or DEFAULT_PRESET
    if chosen not in PRESETS:
        raise OptionError(f"preset must be one of {', '.join(PRESETS)}, not {preset!r}")
    default_names, default_cuts = PRESETS[chosen]
    if cuts is not None:
        try:
            shares = tuple(float(c) for c in str(cuts).replace("，", ",").split(",") if c.strip())
        except ValueError:
            raise OptionError(f"cuts must be shares separated by commas (e.g. 0.01,0.05,0.2), not {cuts!r}") from None
    elif chosen == DEFAULT_PRESET:
        shares = tuple(settings.load(con)["tier_cuts"])
    else:
        shares = default_cuts
    tier_names = tuple(n.strip() for n in str(names).replace("，", ",").split(",")) if names else default_names
    if names is None and len(shares) + 1 != len(tier_names):
        raise OptionError(f"the {chosen} preset has {len(tier_names)} tiers, so {len(tier_names) - 1} cut points, "
                          f"not {len(shares)}; give names too for another number of tiers")
    try:
        return TierSpec(tier_names, shares, measure)
    except ValueError as error:
        raise OptionError(str(error)) from None


def load(con: duckdb.DuckDBPyConnection, scope: Scope, *, by: str | None = None, preset: str | None = None,
         cuts: str | None = None, names: str | None = None, with_clv: bool = True) -> TierView:
    """The registry's loader (:attr:`analytics.pages.Page.load`): the whole view, with the CLV and the churn rate
    per tier unless ``with_clv`` is False (the page draws the rest first and loads those after it)."""
    spec = spec_of(con, by=by, preset=preset, cuts=cuts, names=names)
    view = tier_view(con, scope, spec)
    if not with_clv or view.empty:
        return view
    return replace(view, clv=clv_by_tier(con, scope, spec), churn=tier_churn(con, scope, spec))


def _number(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


def report(view: TierView) -> dict[str, Any]:
    """The tiers page's figures: the definition, the tier table, concentration (top-20 % share, Gini, Lorenz
    points), the mix by region, acquisition channel and segment, the migration matrix with its value changes and
    the summary of moves, and the share churned by the period's end per tier."""
    c = view.concentration
    return {
        "definition": {"measure": view.spec.measure, "tiers": list(view.spec.names), "cuts": list(view.spec.cuts),
                       "ranked": view.ranked, "customers": view.customers, "without_cost": view.no_cost},
        "tiers": view.table,
        "concentration": {"customers": c.customers, "negative": c.negative, "total": c.total,
                          "top_20_share": _number(c.top_share), "gini": _number(c.gini), "lorenz": c.lorenz},
        "mix": view.mix,
        "migration": None if view.migration is None else {
            "from": None if view.comparison is None else [view.comparison.start, view.comparison.end],
            "matrix": view.migration, "moves": view.moves},
        "churn_by_tier": None if view.churn is None else {
            "window_days": view.churn.window, "as_of": view.churn.as_of, "rates": view.churn.rates,
            "churned_as_of": view.churn.churned},
        "clv_by_tier": None if view.clv is None else {"problem": view.clv.problem,
                                                      "horizon_months": view.clv.horizon_months,
                                                      "tiers": view.clv.table},
    }


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.1%}"


def report_lines(data: dict[str, Any]) -> list[str]:
    """The tiers report (:func:`report`, made plain) as lines for a terminal."""
    d = data["definition"]
    lines = [f"{d['customers']:,} customers by {d['measure']} ({d['ranked']:,} ranked), tiers "
             + ", ".join(f"{n} to {c:.0%}" for n, c in zip(d["tiers"], [*d["cuts"], 1.0], strict=True)), "",
             "tier          customers   share      value  value share"]
    for row in pd.DataFrame(data["tiers"]).itertuples():
        lines.append(f"{row.name:<12}{row.customers:>11,}  {_pct(row.customer_share):>6}{row.value:>11,.0f}"
                     f"  {_pct(row.value_share):>11}")
    c = data["concentration"]
    lines += ["", f"top 20 % of customers hold {_pct(c['top_20_share'])} of the value; Gini "
                  + ("–" if c["gini"] is None else f"{c['gini']:.3f}")
              + (f" ({c['negative']:,} negative values counted as 0)" if c["negative"] else "")]
    m = data["migration"]
    if m is not None:
        lines += ["", "moves from the comparison period:"]
        for row in pd.DataFrame(m["moves"]).itertuples():
            lines.append(f"  {row.move:<10}{row.customers:>9,} customers, value change {row.value_change:>+14,.0f}")
    churn = data["churn_by_tier"]
    if churn is not None:
        lines += ["", f"monthly churn rate per tier (W = {churn['window_days']} days; comparison period's tiers):"]
        for row in pd.DataFrame(churn["rates"]).itertuples():
            lines.append(f"  {row.group:<12}{_pct(row.rate):>7} ({_pct(row.low)} to {_pct(row.high)}), "
                         f"was {_pct(row.compare_rate)}" + (f", {row.moved}" if row.moved in ("up", "down") else ""))
    clv = data["clv_by_tier"]
    if clv is not None and clv["tiers"] is not None:
        lines += ["", f"lifetime value ({clv['horizon_months']} months) per tier:"]
        for row in pd.DataFrame(clv["tiers"]).itertuples():
            lines.append(f"  {row.name:<12} average {row.average:>12,.0f}, total {row.total:>14,.0f}")
    elif clv is not None:
        lines += ["", f"lifetime value per tier: not available ({clv['problem']})"]
    return lines
