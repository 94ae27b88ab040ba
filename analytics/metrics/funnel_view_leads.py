"""The funnel page's two producers' shared parts that are not the lifecycle funnel's alone: the leads funnel's
figures for the page (:func:`leads_parts`: :func:`analytics.metrics.funnel_leads.leads_funnel` with what the page
states about the leads: the stage list, the name → stage mapping, the unmapped names, the implied stages, the
cohort) and the ``source`` option (:func:`sources_of`).

The source filter: the leads funnel keeps the leads of the given sources (a lead's ``source``) in its cohort
query, after the gate, so every figure, the comparison period's counts, the mapping and the stage evidence are
those of the kept leads; the lifecycle funnel keeps the customers of those acquisition channels in its reach table
(:func:`only_sources`, :func:`restricted`) and counts the funnel again over them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from analytics.errors import OptionError
from analytics.metrics.funnel import Funnel, funnel, stage_counts
from analytics.metrics.funnel_leads import definitions, leads_funnel
from analytics.scope import Scope

#: Separates the sources of the ``source`` option's text.
SEPARATOR = ","


@dataclass(frozen=True)
class LeadsFacts:
    """What the page states about the leads funnel's cohort: ``mapping`` (each stage name of the cohort's rows:
    ``name``, ``key`` (None: unmapped), ``how`` (``"saved"``, ``"synonym"``, None), ``rows`` = its leads),
    ``unmapped`` (``name``, ``rows``: the names nothing maps, counted nowhere), ``evidence`` (per stage of the
    list: ``stage``, ``reached``, ``day_known``, ``implied``, ``by_close``), ``suggested`` (the stage list the
    settings suggest) and ``cohort`` (the leads created in the period, of the sources kept)."""

    mapping: pd.DataFrame
    unmapped: pd.DataFrame
    evidence: pd.DataFrame
    suggested: tuple[str, ...]
    cohort: int

    @property
    def implied(self) -> dict[str, int]:
        """Per stage with some: the leads that reached it only by a later stage (no row of their own)."""
        return {r.stage: int(r.implied) for r in self.evidence.itertuples() if r.implied}

    @property
    def unmapped_leads(self) -> int:
        """The rows (leads) at the stage names nothing maps."""
        return int(self.unmapped["rows"].sum()) if len(self.unmapped) else 0


def sources_of(text: str | None) -> tuple[str, ...]:
    """The ``source`` option's sources: the comma-separated names, each stripped, blanks dropped; ``OptionError``
    when nothing is left."""
    if text is None:
        return ()
    sources = tuple(dict.fromkeys(s.strip() for s in str(text).split(SEPARATOR) if s.strip()))
    if not sources:
        raise OptionError(f"source must name at least one source (several separated by {SEPARATOR!r})")
    return sources


def only_sources(reach: pd.DataFrame, sources: Sequence[str]) -> pd.DataFrame:
    """The rows of a reach table whose ``source`` is one of ``sources`` (all of them when none is given)."""
    if not sources:
        return reach
    return reach[reach["source"].isin(list(sources))].reset_index(drop=True)


def restricted(reach: pd.DataFrame, then: pd.DataFrame | None, stages: Sequence[str], as_of: date, *, order: str,
               groupings: Sequence[str], stuck_days: Mapping[str, float] | None, sources: Sequence[str],
               stuck_stages: Sequence[str] | None = None) -> tuple[Funnel, pd.DataFrame | None]:
    """The engine's figures of the members of ``reach`` from ``sources``, and the stage counts of those of the
    comparison period's reach table ``then`` (None: no comparison period)."""
    figures = funnel(only_sources(reach, sources), stages, as_of, order=order, groupings=groupings,
                     stuck_days=stuck_days, stuck_stages=stuck_stages)
    counts = None if then is None else stage_counts(only_sources(then, sources), tuple(stages), order)
    return figures, counts


def leads_parts(con: duckdb.DuckDBPyConnection, scope: Scope, *, order: str, loyal_min: int,
                stuck_days: int | None, sources: Sequence[str]
                ) -> tuple[Funnel, pd.DataFrame | None, date | None, date | None, int, LeadsFacts]:
    """The leads funnel of ``scope`` (:func:`analytics.metrics.funnel_leads.leads_funnel`, the saved stage list and
    map) for the page: its figures (kept to ``sources`` when given; the stuck leads with their ``customer_id``),
    the comparison period's counts, the comparison's as-of day, the data's end, N and the :class:`LeadsFacts`.
    ``stuck_days``: one threshold for every stage of the list but the last (None: each step's 90th percentile)."""
    stages = definitions(con, None, None)[0]
    thresholds = None if stuck_days is None else {k: float(stuck_days) for k in stages[:-1]}
    got = leads_funnel(con, scope, order=order, loyal_min=loyal_min, stuck_days=thresholds, stages=stages,
                       sources=sources)
    facts = LeadsFacts(mapping=got.now.mapping, unmapped=got.now.unmapped, evidence=got.now.evidence,
                       suggested=got.now.suggested, cohort=got.now.cohort)
    return (got.funnel, got.comparison, got.comparison_as_of, got.data_end, got.min_days, facts)
