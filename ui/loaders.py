"""The Streamlit side of the data: the process's one connection and the cached loaders.

This is the only place that caches. Every loader takes the scope's cache key and the data
version as arguments (never reads them inside), so an import refreshes every open session
on its next interaction, and two users with different scopes never share a result.

With ``CRM_MARTS=DIR`` the connection serves that folder of built marts, read-only
(:mod:`analytics.store.served`; :func:`served` says what is served): the Data page then offers no
import, undo, demo data or settings change, and a figure that needs the fact tables of an export
that is gone says so (:func:`load_view`).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

import streamlit as st

from analytics import pages
from analytics import scope as gate
from analytics.ingest import intake
from analytics.metrics import (
    churn_drivers,
    churn_risk,
    churn_tiers,
    churn_view,
    overview,
    overview_churn,
    overview_funnel,
    overview_value,
    satisfaction_view,
    tiers,
    tiers_cells,
    tiers_report,
)
from analytics.paths import DATA_DIR, work_dir
from analytics.scope import Scope
from analytics.store import connection as db
from analytics.store import marts, served, settings
from analytics.store.snapshot import snapshot
from ui.i18n import md_literal, t

CACHE_TTL = 3600
CACHE_ENTRIES = 256


def connection() -> db.duckdb.DuckDBPyConnection:
    """The app's connection to the CRM database (the app is its only writer while it runs).

    Use ``connection().cursor()`` per query: a bare connection shared by the session
    threads fails. It may read files only in the data folder (``data/``: the inbox and the
    demo files), the folder uploads are saved in (``data/.work/``) and the database's own
    folder (:func:`analytics.store.connection.confine`). With ``$CRM_MARTS`` set, that folder of built marts
    instead, read-only (:func:`analytics.store.served.open_marts`: it may read only the marts and their export); a
    folder that cannot be served (not a build, other models) stops every page with the reason.
    """
    try:
        return _connection()
    except served.ServedError as exc:
        from ui.filters import current_language  # (ui.filters reads the data through this module)

        st.error(t("served_refused", current_language(), variable=served.ENV, why=md_literal(str(exc))),
                 icon=":material/folder_off:")
        st.stop()
        raise  # (not reached: st.stop ends the run)


@st.cache_resource(show_spinner=False)
def _connection() -> db.duckdb.DuckDBPyConnection:
    """:func:`connection`'s one connection per process."""
    folder = served.folder_from_env()
    if folder is not None:
        return served.open_marts(folder)
    return db.connect(db.default_db_path(), confine_to=(DATA_DIR, work_dir(), intake.INBOX_DIR))


def serving() -> served.Served | None:
    """What the app serves when it serves built marts (``$CRM_MARTS``); None on the embedded database."""
    return served.about(connection())


def data_version() -> int:
    """The database's current data version (read on every run: it is one tiny query). When the summaries
    do not summarise the data as it is (an import, an undo, the demo data, a new release), their build
    starts in the background (:func:`summarize_in_background`)."""
    con = connection()
    summarize_in_background(con)
    return db.data_version(con)


_builder: dict[str, Any] = {"thread": None, "failed": None}
_log = logging.getLogger(__name__)


def summarize_in_background(con: db.duckdb.DuckDBPyConnection) -> threading.Thread | None:
    """Start building the summaries (:func:`analytics.store.marts.summarize`) in a thread of their own when they
    are stale and no build is running (the pages read the marts meanwhile, a little slower); return the thread
    started. A build that failed is not tried again for the same data."""
    running = _builder["thread"]
    if (running is not None and running.is_alive()) or marts.summaries_ready(con):
        return None
    generation = con.cursor().execute(
        "select coalesce(max(value), 0) from meta where key = 'marts_generation'").fetchall()[0][0]
    if _builder["failed"] == generation:
        return None

    def build() -> None:
        try:
            marts.summarize(con)
        except Exception:  # the pages go on from the marts; the log says why
            _builder["failed"] = generation
            _log.exception("building the summaries failed; the pages compute from the marts meanwhile")

    thread = threading.Thread(target=build, name="crm-summaries", daemon=True)
    _builder["thread"] = thread
    thread.start()
    return thread


def has_data() -> bool:
    """Whether any transactions have been imported. Always True for served marts: nothing is imported here, so no
    page offers the demo data or an import (marts without sales show "no data in scope", as for a user who may see
    none)."""
    con = connection()
    if served.about(con) is not None:
        return True
    return con.cursor().execute("select exists (select 1 from transactions)").fetchall()[0][0]


def says_export_gone(load: Callable[..., Any]) -> Callable[..., Any]:
    """``load`` (a cached loader), except that on served marts whose export folder is gone, a figure that needs the
    fact tables (the customer detail; a channel or tier filter on some figures) says so and stops the run
    (:func:`export_gone`) instead of failing with the database's error (:func:`analytics.store.served.explain`)."""

    @functools.wraps(load)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return load(*args, **kwargs)
        except db.duckdb.Error as exc:
            gone = served.explain(exc)
            if gone is None:
                raise
            export_gone(gone)
            raise  # (not reached: export_gone stops the run)

    return guarded


def export_gone(gone: served.ExportGone) -> None:
    """Say that what the page shows needs the export of the served marts, which is gone; stop the run."""
    from ui.filters import current_language  # (ui.filters reads the data through this module)

    lang = current_language()
    about = served.about(connection())
    st.error(t("served_export_gone", lang, folder=md_literal(about.export if about else "?"),
               marts=md_literal(about.folder if about else "?")), icon=":material/folder_off:")
    _log.warning("served marts: %s", gone)
    st.stop()


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_view(page: str, scope_key: tuple | None, version: int, options: tuple = ()) -> Any:
    """Page ``page``'s view model (its registered loader, :attr:`analytics.pages.Page.load`)
    for a scope (its :meth:`~analytics.scope.Scope.cache_key`; ``None`` for a page without
    filters) at a data version, with the page's options given (``(name, value)`` pairs)."""
    del version  # part of the cache key only
    # every query of the page's loader reads one snapshot: an import committed meanwhile is
    # either wholly in its figures or not at all (analytics.store.snapshot)
    with snapshot(connection()) as view:
        return pages.get(page).load(view, Scope.from_key(scope_key) if scope_key is not None else None,
                                    **dict(options))


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_overview_fast(scope_key: tuple, version: int) -> Any:
    """The overview without its average-CLV and churn tiles and its funnel (:func:`analytics.metrics.overview.overview`
    with ``with_average_clv=False, with_churn=False, with_funnel=False``): what the page draws at once."""
    del version
    with snapshot(connection()) as view:
        return overview.overview(view, Scope.from_key(scope_key), with_average_clv=False, with_churn=False,
                                 with_funnel=False)


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_overview_churn(scope_key: tuple, version: int) -> Any:
    """The overview's churn tile and highlights (:func:`analytics.metrics.overview_churn.churn_tile`), drawn
    after the rest (a window over every customer's months)."""
    del version
    with snapshot(connection()) as view:
        return overview_churn.churn_tile(view, Scope.from_key(scope_key))


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_overview_tier_churn(scope_key: tuple, version: int) -> Any:
    """The overview's tier highlights (:func:`analytics.metrics.overview_churn.tier_highlights`), after the pyramid."""
    del version
    with snapshot(connection()) as view:
        return overview_churn.tier_highlights(view, Scope.from_key(scope_key))


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_overview_funnel(scope_key: tuple, version: int) -> Any:
    """The overview's funnel in miniature (:func:`analytics.metrics.overview_funnel.of_view`, None when nobody
    entered it) of the funnel page's view at its default definitions: :func:`load_view`'s entry for the funnel page
    without options, so the two pages share one computation (whichever opens first makes it)."""
    return overview_funnel.of_view(load_view("funnel", scope_key, version, ()))


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_average_clv(scope_key: tuple, version: int) -> Any:
    """The overview's average-CLV tile (:func:`analytics.metrics.overview_value.average_clv`),
    drawn after the rest: a new scope fits the value models first (seconds on a large base)."""
    del version
    with snapshot(connection()) as view:
        return overview_value.average_clv(view, Scope.from_key(scope_key))


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_filter_values(allowed: tuple[str, ...] | None, version: int) -> dict[str, list[str]]:
    """The values the filters offer to a user who may see ``allowed`` regions."""
    del version
    return gate.filter_values(connection().cursor(), allowed)


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_data_months(allowed: tuple[str, ...] | None, version: int) -> tuple | None:
    """The first and last month with sales the user may see."""
    del version
    return gate.data_months(connection().cursor(), allowed)


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_settings(version: int) -> dict:
    """The metric settings (saving them raises the data version)."""
    del version
    return settings.load(connection())


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_churn_fast(scope_key: tuple, version: int, options: tuple = ()) -> Any:
    """The churn page without its Cox model and at-risk lists (:func:`analytics.metrics.churn_view.churn_view` with
    ``with_at_risk=False, with_drivers=False``): what the page draws at once."""
    del version
    with snapshot(connection()) as view:
        return churn_view.churn_view(view, Scope.from_key(scope_key), with_at_risk=False, with_drivers=False,
                                     **dict(options))


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_churn_drivers(scope_key: tuple, version: int, window: int, as_of: Any) -> tuple:
    """The churn page's Cox model (:func:`analytics.metrics.churn_drivers.drivers`: fit, problem, customers
    sampled, population), drawn after the rest (a model fitted on up to 20,000 customers)."""
    del version
    with snapshot(connection()) as view:
        return churn_drivers.drivers(view, Scope.from_key(scope_key), window, as_of)


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_churn_tiers(scope_key: tuple, version: int, window: int, as_of: Any) -> Any:
    """The churn page's split by tier (:func:`analytics.metrics.churn_tiers.tier_split`, the tier filter's tiers),
    loaded when the page shows it (it ranks the customers)."""
    del version
    with snapshot(connection()) as view:
        return churn_tiers.tier_split(view, Scope.from_key(scope_key), window, as_of)


def customer_names(scope_key: tuple, frame: Any) -> Any:
    """``frame`` (a ``customer_id`` column) with the names of its customers in scope (not cached: a page asks
    for the few rows it shows, or a download for a whole list)."""
    with snapshot(connection()) as view:
        return churn_view.with_names(view, Scope.from_key(scope_key), frame)


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_churn_at_risk(scope_key: tuple, version: int, window: int, as_of: Any = None) -> Any:
    """The churn page's at-risk lists (:func:`analytics.metrics.churn_risk.at_risk`), drawn after the rest: a new
    scope fits the value models first (seconds on a large base)."""
    del version
    with snapshot(connection()) as view:
        return churn_risk.at_risk(view, Scope.from_key(scope_key), window, as_of=as_of)


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_tiers_fast(scope_key: tuple, version: int, options: tuple = ()) -> Any:
    """The tiers page without its CLV per tier (:func:`analytics.metrics.tiers_report.load` with
    ``with_clv=False``): what the page draws at once."""
    del version
    with snapshot(connection()) as view:
        return tiers_report.load(view, Scope.from_key(scope_key), with_clv=False, **dict(options))


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_tiers_clv(scope_key: tuple, version: int, options: tuple = ()) -> Any:
    """The tiers page's CLV per tier (:func:`analytics.metrics.tiers.clv_by_tier`), drawn after the rest: a new
    scope fits the value models first (seconds on a large base)."""
    del version
    with snapshot(connection()) as view:
        spec = tiers_report.spec_of(view, **dict(options))
        return tiers.clv_by_tier(view, Scope.from_key(scope_key), spec)


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_tiers_churn(scope_key: tuple, version: int, options: tuple = ()) -> Any:
    """The tiers page's churn per tier (:func:`analytics.metrics.churn_tiers.tier_churn`: the churn page's rate over
    each tier's customers), drawn after the rest."""
    del version
    with snapshot(connection()) as view:
        spec = tiers_report.spec_of(view, **dict(options))
        return churn_tiers.tier_churn(view, Scope.from_key(scope_key), spec)


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_overview_tiers(scope_key: tuple, version: int) -> Any:
    """The overview's pyramid in miniature (:func:`analytics.metrics.tiers.pyramid`, the metric setting's tiers by
    revenue), drawn after the tiles."""
    del version
    with snapshot(connection()) as view:
        return tiers.pyramid(view, Scope.from_key(scope_key), tiers_report.spec_of(view))


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_tiers_query(name: str, scope_key: tuple, version: int, options: tuple = (), args: tuple = ()) -> Any:
    """One of the tiers page's queries beyond its view model (:data:`analytics.metrics.tiers_cells.QUERIES`) for the
    page's ``options``: ``"cell"`` with ``args`` (before, after), the customers of that cell of the migration
    matrix; ``"costs"``, whether the user's customers have a known cost (ranking by margin needs one)."""
    del version
    with snapshot(connection()) as view:
        return tiers_cells.QUERIES[name](view, Scope.from_key(scope_key), dict(options), *args)


@says_export_gone
@st.cache_data(ttl=CACHE_TTL, max_entries=CACHE_ENTRIES, show_spinner=False)
def load_satisfaction_quadrant(scope_key: tuple, version: int, options: tuple, quadrant: str) -> Any:
    """The surveyed customers of one quadrant of the satisfaction page
    (:func:`analytics.metrics.satisfaction_view.quadrant_customers`) at the page's loyalty threshold (its
    ``options``; the view itself is :func:`load_view`'s), loaded when a quadrant is picked."""
    del version
    with snapshot(connection()) as view:
        loyal_min = satisfaction_view.loyal_min_of(dict(options).get("loyal_min"))
        return satisfaction_view.quadrant_customers(view, Scope.from_key(scope_key), quadrant, loyal_min)
