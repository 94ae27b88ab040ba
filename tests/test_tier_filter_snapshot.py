"""The tier filter's ranking once per page snapshot: the gate (analytics.scope) marks the tier members as a subquery
and the page's snapshot (analytics.store.snapshot) runs it once into a temporary table of its own.

DuckDB's own query log counts the rankings (analytics.tiering.ranked_sql's window) a page runs: one per snapshot
and tier key, where each query ran its own before (and still does on a bare connection). Through a snapshot the gate
reads the same rows as through a bare connection, the same customers as an independent pandas ranking
(tests/test_tier_filter.py's), with several tier keys in one snapshot kept apart. The marks themselves on a tiny
table: parameters before, inside and after them, a quoted or commented ``?``, a mark in a mark, another snapshot's
table, an import committed between two snapshots, a read-only database.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest
from test_churn_view import load
from test_tier_filter import (
    CUSTOMERS,
    CUTS,
    PERIOD,
    SALES,
    expected_tiers,
    gate_customers,
    kept,
    overview_figures,
    random_sales,
    scope,
)

from analytics import scope as gate
from analytics.metrics import overview as ov
from analytics.metrics import tiers_report
from analytics.metrics.churn_view import churn_view
from analytics.scope import TIER_CUTS, TIER_NAMES, Scope
from analytics.store import marts, settings
from analytics.store.snapshot import ONCE, Snapshot, placeholders, snapshot

#: What only the tier ranking's SQL has: its window, ranking every customer by value.
RANKING = "row_number() over (order by value desc"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """tests/test_tier_filter.py's hand-made fixture with its cut points as the metric setting (the tiers page's)
    and the summaries built (tests/test_tier_filter.py's pages read without them)."""
    con = load(tmp_path_factory.mktemp("tier_filter_snapshot"), SALES, CUSTOMERS)
    settings.save(con, {"tier_cuts": list(CUTS)})
    assert marts.summarize(con) is not None
    yield con
    con.close()


def fresh_log(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB's query log on (for every cursor of ``con``'s database), emptied."""
    con.execute("call enable_logging('QueryLog')")
    con.execute("call truncate_duckdb_logs()")


def rankings(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The queries run since :func:`fresh_log` that ranked the customers."""
    logged = con.execute("select message from duckdb_logs where type = 'QueryLog'").fetchall()
    return [m for (m,) in logged if RANKING in m]


def rows(con, r: gate.Rows) -> list[tuple]:
    return sorted(con.execute(r.sql, list(r.params)).fetchall(), key=repr)


# ------------------------------------------------------------------ once per snapshot


def test_the_gate_marks_the_tier_members_as_the_snapshot_reads_them():
    """The gate spells the snapshot's mark (it may not import the store): one marked subquery per tier test, whose
    ``?`` are counted as the snapshot counts them; none without a tier filter."""
    tiered = gate.customers(scope(("gold",)))
    assert tiered.sql.count(ONCE[0]) == tiered.sql.count(ONCE[1]) == 1
    assert len(placeholders(tiered.sql)) == len(tiered.params)
    activity = gate.customer_activity(scope(("gold",), channels=("门店",)), with_comparison=True)
    assert activity.sql.count(ONCE[0]) == 1 and len(placeholders(activity.sql)) == len(activity.params)
    assert ONCE[0] not in gate.customers(scope()).sql + gate.sales(scope()).sql


def test_a_pages_queries_rank_once_per_snapshot_and_tier_key(db):
    """The tiers page, the overview (with its churn tile) and the churn page with platinum + gold in one snapshot: one
    ranking, the making of the snapshot's table; another tier key adds one, the same key again none, a new
    snapshot ranks again. On a bare connection every query still ranks itself (each snapshot query did before)."""
    s = scope(("platinum", "gold"))
    fresh_log(db)
    with snapshot(db) as view:
        tiers = tiers_report.load(view, s, with_clv=False)
        overview = ov.overview(view, s, with_average_clv=False)
        churn = churn_view(view, s, window_days=90, with_at_risk=False, with_drivers=False)
        ran = rankings(db)
        assert len(ran) == 1 and ran[0].startswith("create temp table snapshot_once_")
        gate_customers(view, scope(("iron",)))
        gate_customers(view, scope(("platinum", "gold")))
        assert len(rankings(db)) == 2
    with snapshot(db) as view:
        gate_customers(view, s)
    assert len(rankings(db)) == 3
    fresh_log(db)
    bare = tiers_report.load(db, s, with_clv=False)
    assert len(rankings(db)) >= 4  # the figures' queries, each with its own ranking
    pd.testing.assert_frame_equal(bare.table, tiers.table)
    assert tiers.table["customers"].tolist() == [1, 2, 0, 0]  # A01; A02, A03 (tests/test_tier_filter.py)
    expected = overview_figures(("platinum", "gold"), s)
    assert (overview.kpis["revenue"].value, overview.kpis["active_customers"].value) == (
        expected["revenue_now"], expected["active_now"])
    assert churn.n_customers == 3


def test_overview_ranks_once_though_it_opens_its_own_snapshot(db):
    """``overview.overview`` reads in a snapshot of its own on a bare connection (as ``report overview`` calls it):
    one ranking for its sales, customers and data-through queries."""
    fresh_log(db)
    ov.overview(db, scope(("gold",)), with_average_clv=False, with_churn=False)
    assert len(rankings(db)) == 1


# ------------------------------------------------------------------ the same rows


SCOPES = [scope(names, cuts, **kw) for names in (("platinum",), ("gold", "lead"), ("iron",), TIER_NAMES)
          for cuts in (CUTS, TIER_CUTS)
          for kw in ({}, {"allowed_regions": ("华北",)}, {"regions": ("华东",), "segments": ("企业",)},
                     {"channels": ("天猫",)})]


def test_every_gate_function_reads_the_same_rows_through_one_snapshot(db):
    """Thirty-two tiered scopes in one snapshot, interleaved: each gate function's rows equal the bare connection's,
    the customers equal the pandas ranking's; the snapshot ranks once per tier key (cut points, tiers, allowed
    regions)."""
    fresh_log(db)
    with snapshot(db) as view:
        for s in SCOPES:
            want = kept(expected_tiers(SALES, CUSTOMERS, *PERIOD, s.tier_cuts, s.allowed_regions), s.tiers)
            assert gate_customers(view, Scope(*PERIOD, tiers=s.tiers, tier_cuts=s.tier_cuts,
                                              allowed_regions=s.allowed_regions)) == want
            for r in (gate.customers(s), gate.summary_rows(s, "customer_numbers"),
                      gate.sales(s, with_comparison=True), gate.customer_activity(s, with_comparison=True),
                      gate.transactions(s), gate.customer_history(s), gate.customer_records(s, "transactions", "A02"),
                      *(gate.customer_feedback(s, date(2024, 6, 30), f) for f in gate.FEEDBACK_TABLES)):
                assert rows(view, r) == rows(db, r), (s, r.sql[:60])
        keys = {(s.tiers, s.tier_cuts, s.allowed_regions) for s in SCOPES}
        made = [m for m in rankings(db) if m.startswith("create temp table")]  # (the others: the bare connection's)
        assert len(made) == len(keys) == 16


@pytest.mark.parametrize("allowed", [None, ("华北",), ("华东", "华南")])
def test_the_random_pyramid_through_one_snapshot_equals_pandas(tmp_path, allowed):
    """tests/test_tier_filter.py's random fixture (many ties, cut points exactly on ranks), both windows and every
    tier in one snapshot."""
    sales = random_sales()
    con = load(tmp_path, sales)
    try:
        with snapshot(con) as view:
            for last in (date(2024, 6, 1), date(2024, 12, 1)):
                tiers = expected_tiers(sales, pd.DataFrame(columns=["customer_id", "region"]), date(2024, 1, 1),
                                       last, TIER_CUTS, allowed)
                for name in TIER_NAMES:
                    s = Scope(date(2024, 1, 1), last, tiers=(name,), allowed_regions=allowed)
                    assert gate_customers(view, s) == kept(tiers, (name,)), (last, name)
    finally:
        con.close()


# ------------------------------------------------------------------ the marks


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table t as select range as i, 'k' || range as k from range(10)")
    yield con
    con.close()


MARKED = ("select ? as a, count(*) as n, ? as b from t where i >= ? -- a '?' and a ? in a comment\n"
          f"and k in {ONCE[0]}select k from t where i < ? and k <> '?'{ONCE[1]} "
          f"and i in {ONCE[0]}select i from t where i < ?{ONCE[1]}")


def test_placeholders_skip_quoted_text_and_comments():
    sql = "select '?', \"?\", ? /* ? */ -- ?\n, 'it''s ?', ?"
    assert placeholders(sql) == [sql.index("? /*"), len(sql) - 1]


def test_marked_subqueries_run_once_with_their_own_parameters(tiny):
    """Parameters before, inside, between and after the marks go where they belong; the same text and parameters
    again reuse the table, other parameters make another."""
    fresh_log(tiny)
    with snapshot(tiny) as view:
        for params, n in ((["x", "y", 1, 5, 3], 2), (["x", "y", 0, 5, 3], 3), (["x", "y", 0, 9, 3], 3)):
            assert view.execute(MARKED, params).fetchall() == [("x", n, "y")] == tiny.execute(MARKED, params).fetchall()
        made = [m for (m,) in tiny.execute("select message from duckdb_logs where type = 'QueryLog'").fetchall()
                if m.startswith("create temp table")]
        assert len(made) == 3  # k < 5, i < 3; then k < 9


def test_a_mark_in_a_mark_or_named_parameters_run_as_written(tiny):
    nested = f"select count(*) from t where i in {ONCE[0]}select i from t where i in {ONCE[0]}select ?{ONCE[1] * 2}"
    named = f"select count(*) from t where i in {ONCE[0]}select i from t where i < $n{ONCE[1]}"
    with snapshot(tiny) as view:
        assert view.execute(nested, [4]).fetchall() == [(1,)]
        assert view.execute(named, {"n": 4}).fetchall() == [(4,)]
        assert view.cursor() is view and view.execute("select 1").fetchall() == [(1,)]


def test_the_table_is_the_snapshots_own_and_reads_its_state(tiny):
    """Two snapshots of one connection (two sessions): each its own table of its own state (an import committed
    between them is in the second only), neither sees the other's, and it goes with the snapshot."""
    count = f"select count(*) from {ONCE[0]}select i from t where i >= ?{ONCE[1]}"
    first = Snapshot(tiny)
    assert first.execute(count, [0]).fetchall() == [(10,)]
    tiny.execute("insert into t values (10, 'k10')")
    second = Snapshot(tiny)
    assert second.execute(count, [0]).fetchall() == [(11,)]
    assert first.execute(count, [0]).fetchall() == [(10,)]  # reused, of the first state
    assert first.execute("select count(*) from t").fetchall() == [(10,)]
    second.close()
    with pytest.raises(duckdb.CatalogException):
        Snapshot(tiny).execute("select * from snapshot_once_1")
    first.close()


def test_a_read_only_database_takes_the_tables(tiny, tmp_path):
    tiny.close()
    con = duckdb.connect(str(tmp_path / "tiny.duckdb"), read_only=True)
    try:
        with snapshot(con) as view:
            for _ in range(2):
                assert view.execute(MARKED, ["x", "y", 1, 5, 3]).fetchall() == [("x", 2, "y")]
    finally:
        con.close()
