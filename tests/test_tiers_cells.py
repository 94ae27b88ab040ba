"""The customers of a migration cell (analytics/metrics/tiers_cells.py) against the tiers computed from the raw
rows with pandas and exact fractions (tests/tiers_fixture.py): every cell of the matrix, by revenue and by
margin, both presets, a region filter, a manager's regions (ranked among their own customers only), the order
of the list, and whether the data has a cost."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import tiers_fixture as tf

from analytics import scope as gate
from analytics.metrics import tiers_cells
from analytics.metrics.tiers import tier_view
from analytics.scope import Scope
from analytics.store import marts
from analytics.store.connection import connect
from analytics.tiering import TierSpec

KEY = (("key", "ordinary", "small"), (0.2, 0.5))


@pytest.fixture(scope="module")
def tiers_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    return tf.build(tmp_path_factory.mktemp("tiers_cells"))


@pytest.fixture(scope="module")
def summarized_db(tiers_db, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the database with the summaries built (margins then come from ``margin_month``)."""
    path = tmp_path_factory.mktemp("tiers_cells_summarized") / "crm.duckdb"
    shutil.copyfile(tiers_db[0], path)
    connection = connect(path)
    try:
        marts.summarize(connection)
        assert marts.summaries_ready(connection)
    finally:
        connection.close()
    return path


@pytest.fixture
def con(tiers_db):
    connection = connect(tiers_db[0])
    assert not marts.summaries_ready(connection)
    yield connection
    connection.close()


def scope_of(con, allowed: tuple[str, ...] | None = None, **filters) -> Scope:
    scope = gate.default_scope(con, allowed)
    assert (scope.start, scope.end_exclusive) == tf.PERIOD  # the fixture's default period
    return replace(scope, **filters)


def listed(frame: pd.DataFrame) -> list[tuple]:
    return [(c, float(b), float(a), float(d)) for c, b, a, d in frame[
        ["customer_id", "value_before", "value_after", "value_change"]].itertuples(index=False)]


CASES = {
    "pyramid-revenue": (tf.PYRAMID, "revenue", None, ()),
    "key-margin": (KEY, "margin", None, ()),
    "pyramid-region": (tf.PYRAMID, "revenue", None, ("华北",)),
    "key-manager": (KEY, "revenue", ("华东", "华南"), ()),
}


@pytest.mark.parametrize("summaries", [False, True], ids=["from-transactions", "from-margin-summary"])
@pytest.mark.parametrize("case", list(CASES))
def test_every_cell_lists_the_raw_rows_customers_with_their_values(request, tiers_db, case, summaries):
    _, tx, customers = tiers_db
    (names, cuts), measure, allowed, regions = CASES[case]
    con = connect(request.getfixturevalue("summarized_db") if summaries else tiers_db[0])
    request.addfinalizer(con.close)
    assert marts.summaries_ready(con) == summaries
    scope = scope_of(con, allowed, regions=regions)
    spec = TierSpec(names, cuts, measure)
    moves = tf.migration(tx, customers, names, cuts, measure, allowed, regions)
    assert set(moves["before"]) >= {"new", *names[:2]} and "lost" in set(moves["after"])
    for before in ("new", *names):
        for after in (*names, "lost"):
            got = tiers_cells.cell_customers(con, scope, spec, before, after)
            want = tf.cell(moves, before, after)
            assert list(got.columns) == list(tiers_cells.CELL_COLUMNS)
            assert listed(got) == listed(want), (before, after)
    # the same cells as the view's matrix
    matrix = tier_view(con, scope, spec).migration
    for row in matrix.itertuples(index=False):
        assert len(tiers_cells.cell_customers(con, scope, spec, row.before, row.after)) == row.customers


def test_a_cell_names_its_customers_and_keeps_to_the_filters(con, tiers_db):
    _, tx, customers = tiers_db
    scope = scope_of(con, ("华北",), segments=("个人",))
    moves = tf.migration(tx, customers, allowed=("华北",), regions=("华北",))
    people = customers.set_index("customer_id")
    personal = set(people.index[people["segment"] == "个人"])
    pair = moves[moves["customer_id"].isin(personal)].groupby(["before", "after"]).size().idxmax()
    got = tiers_cells.cell_customers(con, scope, TierSpec(), *pair)
    assert len(got) and set(got["customer_id"]) <= personal
    assert list(got["customer_name"]) == list(people.loc[got["customer_id"], "customer_name"])
    assert set(got["home_region"]) == {"华北"} and set(got["segment"]) == {"个人"}


def test_the_list_is_ordered_by_the_size_of_the_change(con, tiers_db):
    got = tiers_cells.cell_customers(con, scope_of(con), TierSpec(), "lead", "lost")
    size = (got["value_change"]).abs().tolist()
    assert len(got) > 3 and size == sorted(size, reverse=True)
    assert (got["value_after"] == 0).all() and (got["value_change"] == -got["value_before"]).all()


@pytest.mark.parametrize(("before", "after", "message"), [
    ("lost", "gold", "the before tier must be one of platinum, gold, iron, lead, new, not 'lost'"),
    ("gold", "new", "the after tier must be one of platinum, gold, iron, lead, lost, not 'new'"),
    ("gold", "silver", "not 'silver'"),
])
def test_a_cell_outside_the_tiers_is_refused(con, before, after, message):
    with pytest.raises(ValueError, match=message):
        tiers_cells.cell_customers(con, scope_of(con), TierSpec(), before, after)


def test_a_cell_needs_a_comparison_period(con):
    with pytest.raises(ValueError, match="needs a comparison period"):
        tiers_cells.cell_customers(con, scope_of(con, compare="none"), TierSpec(), "gold", "gold")


def test_whether_the_data_has_a_cost(con, tiers_db, tmp_path):
    assert tiers_cells.has_cost(con, scope_of(con))
    assert tiers_cells.has_cost(con, scope_of(con, regions=("华南",), segments=("政府",)))
    path, _, _ = tf.build(tmp_path, with_cost=False)
    bare = connect(path)
    try:
        assert not tiers_cells.has_cost(bare, scope_of(bare))
    finally:
        bare.close()


def test_the_queries_the_page_loader_runs(con, tiers_db):
    scope = scope_of(con)
    options = {"preset": "key", "by": "margin"}
    got = tiers_cells.QUERIES["cell"](con, scope, options, "key", "small")
    want = tiers_cells.cell_customers(con, scope, TierSpec(*KEY, "margin"), "key", "small")
    pd.testing.assert_frame_equal(got, want)
    assert tiers_cells.QUERIES["costs"](con, scope, options) is True
