"""The churn summaries built after an import (analytics.store.marts.SUMMARIES, read by
analytics.metrics.churn_summary): the churn page's every figure from them equals the same figure counted from every
customer's purchase months (analytics.metrics.churn, itself checked day by day against the raw rows in
tests/test_churn_view.py), over scopes, filters, a manager's regions, windows and as-of days; when they answer and
when they do not; and that they go stale with the data and are built again."""

from __future__ import annotations

import threading
from dataclasses import fields
from datetime import date, timedelta
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from test_churn_view import PERIOD, load, random_rows

from analytics.metrics import churn, churn_summary
from analytics.metrics.churn_view import ChurnView, churn_view
from analytics.metrics.overview_churn import churn_tile
from analytics.scope import Scope
from analytics.store import marts
from analytics.store.connection import data_version
from analytics.store.snapshot import snapshot

LAST_YEAR = Scope(date(2023, 1, 1), date(2023, 12, 1), compare="last_year")
END = date(2025, 2, 17)  # the last day of the rows kept
LATE = Scope(date(2024, 7, 1), date(2025, 6, 1))  # past the data's end: A is the last purchase day, mid-month


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    sales, customers = random_rows()
    sales = sales[sales["day"] <= END]  # the data ends mid-month
    con = load(tmp_path_factory.mktemp("churn_summary"), sales, customers)
    assert marts.summarize(con) and marts.summaries_ready(con)
    yield con
    con.close()


def both(con, scope: Scope, **options) -> tuple[ChurnView, ChurnView]:
    """The view from the summaries (checked to have been read) and from the purchase months."""
    read = []
    real = churn_summary.load

    def spy(*args, **kwargs):
        got = real(*args, **kwargs)
        read.append(got is not None)
        return got

    with mock.patch.object(churn_summary, "load", spy):
        summarised = churn_view(con, scope, with_at_risk=False, **options)
    assert read == [True], "the summaries did not answer"
    with mock.patch.object(churn_summary, "load", return_value=None):
        counted = churn_view(con, scope, with_at_risk=False, **options)
    return summarised, counted


def assert_same(a: ChurnView, b: ChurnView) -> None:
    """Every field of two views equal (amounts to 1e-9 relative: sums in another order)."""
    for f in fields(ChurnView):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "cohorts":
            for part in ("sizes", "customer_retention", "revenue_retention", "milestones"):
                pd.testing.assert_frame_equal(getattr(x, part), getattr(y, part), rtol=1e-9, check_dtype=False)
            assert x.data_end == y.data_end
        elif f.name == "survival":
            assert x.keys() == y.keys()
            for key in x:
                s, t = x[key].log_rank, y[key].log_rank
                assert (s is None) == (t is None)
                if s is not None:
                    assert (s.groups, s.df) == (t.groups, t.df) and s.statistic == pytest.approx(t.statistic)
                for c, d in zip(x[key].curves, y[key].curves, strict=True):
                    assert (c.group, c.n, c.n_events) == (d.group, d.n, d.n_events)
                    for part in ("times", "survival", "low", "high", "at_risk", "events"):
                        np.testing.assert_allclose(getattr(c, part), getattr(d, part), rtol=1e-12)
                    assert c.median == d.median and c.survival_at_horizon == d.survival_at_horizon
        elif f.name == "by_group":
            assert x.keys() == y.keys()
            for key in x:
                pd.testing.assert_frame_equal(x[key], y[key], rtol=1e-9)
        elif isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, rtol=1e-9, check_dtype=False)
        elif f.name == "cox":
            assert (x is None) == (y is None)
            if x is not None:
                assert [(t.column, t.level) for t in x.terms] == [(t.column, t.level) for t in y.terms]
                np.testing.assert_allclose([t.hazard_ratio for t in x.terms], [t.hazard_ratio for t in y.terms],
                                           rtol=1e-9)
        elif isinstance(x, tuple):
            np.testing.assert_allclose(np.array(x, dtype=float), np.array(y, dtype=float), rtol=1e-12)
        else:
            assert x == y, f.name


@pytest.mark.parametrize("scope", [
    PERIOD,
    Scope(PERIOD.start, PERIOD.end, regions=("华北",)),
    Scope(PERIOD.start, PERIOD.end, segments=("企业",)),
    Scope(PERIOD.start, PERIOD.end, allowed_regions=("华南", "华北"), regions=("华北", "华东")),
    Scope(PERIOD.start, PERIOD.end, compare="none"),
    LAST_YEAR,
    LATE,
    Scope(date(2022, 6, 1), date(2022, 9, 1)),
], ids=["period", "region", "segment", "manager", "no-comparison", "last-year", "past-the-end", "first-months"])
def test_every_figure_equals_the_count_from_the_purchase_months(con, scope):
    summarised, counted = both(con, scope, with_drivers=True)
    assert summarised.n_customers > 0 and summarised.monthly["churned"].sum() > 0
    assert_same(summarised, counted)


@pytest.mark.parametrize("window", [30, 60, 150, 360, 720])
@pytest.mark.parametrize("as_of", [None, date(2024, 6, 30), date(2024, 1, 31)], ids=["end", "june", "january"])
def test_every_window_and_month_end_as_of_day(con, window, as_of):
    assert_same(*both(con, PERIOD, window_days=window, as_of=as_of, with_drivers=False))


def test_the_summaries_answer_as_of_the_datas_end_or_a_months_last_day_only(con):
    end = churn_summary.data_end(con)
    assert end == END
    assert churn_summary.load(con, LATE).as_of == end
    assert churn_summary.load(con, PERIOD, date(2024, 8, 31)).as_of == date(2024, 8, 31)
    assert churn_summary.load(con, PERIOD, date(2024, 8, 15)) is None  # mid-month before the end
    assert churn_summary.load(con, PERIOD, window_days=45) is None  # a window they do not hold
    assert churn_summary.load(con, PERIOD, window_days=750) is None
    after = Scope(date(2025, 1, 1), date(2025, 6, 1))
    assert churn_summary.load(con, after, end + timedelta(days=3)) is None  # after the data's end
    assert churn_summary.load(con, after).as_of == end
    # what they do not answer the page still shows, from the purchase months
    view = churn_view(con, PERIOD, window_days=45, as_of=date(2024, 8, 15), with_at_risk=False, with_drivers=False)
    assert view.definition.window == 45 and view.monthly["provisional"].iloc[-1]


def test_the_overview_tile_reads_them_and_gives_the_same_figures(con):
    with mock.patch.object(churn, "purchase_months", side_effect=AssertionError("not from the summaries")):
        tile = churn_tile(con, PERIOD)
    with mock.patch.object(churn_summary, "load", return_value=None):
        counted = churn_tile(con, PERIOD)
    assert (tile.window, tile.current, tile.comparison, tile.p_value) == (counted.window, counted.current,
                                                                          counted.comparison, counted.p_value)
    assert tile.highlights == counted.highlights


def test_they_go_stale_with_an_import_or_an_undo_and_are_built_again(tmp_path):
    sales, customers = random_rows(seed=3, n=60)
    con = load(tmp_path, sales, customers)
    assert not marts.summaries_ready(con)  # an import leaves them to be built
    assert churn_summary.load(con, PERIOD) is None
    before = churn_view(con, PERIOD, with_at_risk=False, with_drivers=False)
    assert marts.summarize(con) and marts.summaries_ready(con) and not marts.summarize(con)  # once
    version = data_version(con)
    assert data_version(con) == version  # building them is no change to the data
    assert_same(churn_view(con, PERIOD, with_at_risk=False, with_drivers=False), before)
    more = sales.head(5).assign(transaction_id=[f"X{i}" for i in range(5)], day=date(2025, 2, 27))
    more.rename(columns={"day": "order_date"}).to_csv(tmp_path / "more.csv", index=False)
    from analytics.ingest.pipeline import import_file, undo_import

    report = import_file(con, tmp_path / "more.csv", kind="transactions", commit=True)
    assert report.rows_imported == 5 and not marts.summaries_ready(con)
    assert marts.summarize(con)
    undo_import(con, report.import_id)
    assert not marts.summaries_ready(con) and marts.summarize(con)
    assert_same(churn_view(con, PERIOD, with_at_risk=False, with_drivers=False), before)
    # a release with other summary models builds them again
    real = marts.model_sql
    with mock.patch.object(marts, "model_sql", lambda name: real(name) + ("\n-- changed" if name == "churn_month"
                                                                           else "")):
        assert not marts.summaries_ready(con)
    con.close()


def test_a_page_reading_while_they_are_built_sees_them_before_or_after_never_half(tmp_path):
    sales, customers = random_rows(seed=5, n=80)
    con = load(tmp_path, sales, customers)
    with snapshot(con) as old:
        assert not marts.summaries_ready(old)
        built = threading.Thread(target=marts.summarize, args=(con,))
        built.start()
        built.join()
        assert not marts.summaries_ready(old)  # the snapshot still reads the state before the build
        assert churn_summary.load(old, PERIOD) is None
    assert marts.summaries_ready(con)
    # a page reading built summaries while an import and the next build commit keeps reading the old ones, which
    # still summarise the data it sees
    with snapshot(con) as old:
        before = old.execute("select sum(churned), count(*) from churn_month").fetchall()
        more = sales.head(3).assign(transaction_id=["Y1", "Y2", "Y3"], day=date(2025, 2, 27))
        more.rename(columns={"day": "order_date"}).to_csv(tmp_path / "more.csv", index=False)
        from analytics.ingest.pipeline import import_file

        assert import_file(con, tmp_path / "more.csv", kind="transactions", commit=True).rows_imported == 3
        assert marts.summarize(con)
        assert old.execute("select sum(churned), count(*) from churn_month").fetchall() == before
        assert marts.summaries_ready(old)
    assert marts.summaries_ready(con)
    con.close()


def test_the_command_line_builds_them_after_an_import_and_an_undo(tmp_path, capsys):
    from analytics.cli import main

    sales, _ = random_rows(seed=8, n=40)
    sales.rename(columns={"day": "order_date"}).to_csv(tmp_path / "sales.csv", index=False)
    db = str(tmp_path / "crm.duckdb")
    assert main(["--db", db, "import", str(tmp_path / "sales.csv"), "--kind", "transactions", "--commit",
                 "--json"]) == 0
    out = capsys.readouterr()
    assert '"status": "committed"' in out.out and "summaries" not in out.out  # the JSON is left as it was
    assert main(["--db", db, "undo", "1"]) == 0
    assert "churn summaries built" in capsys.readouterr().err
    from analytics.store.connection import connect

    con = connect(db, read_only=True)
    assert marts.summaries_ready(con) and con.execute("select count(*) from churn_month").fetchall() == [(0,)]
    con.close()


def test_the_app_builds_them_in_the_background_once_and_not_again_after_a_failure(tmp_path, caplog):
    from ui import loaders

    sales, customers = random_rows(seed=9, n=40)
    con = load(tmp_path, sales, customers)
    with mock.patch.object(marts, "summarize", side_effect=RuntimeError("no memory")):
        failed = loaders.summarize_in_background(con)
        failed.join()
    assert "building the summaries failed" in caplog.text and not marts.summaries_ready(con)
    assert loaders.summarize_in_background(con) is None  # not again for the same data
    loaders._builder["failed"] = None  # (as after a new import)
    thread = loaders.summarize_in_background(con)
    thread.join()
    assert marts.summaries_ready(con) and loaders.summarize_in_background(con) is None
    con.close()
