"""The gate (``analytics.scope``): the Scope value's rules, the default scope, both periods' months and rows."""

from __future__ import annotations

from datetime import date

import pytest
from overview_fixture import con_fixture  # noqa: F401 (the con fixture)
from overview_reference import Spec

from analytics import scope as gate
from analytics.scope import Scope

# ------------------------------------------------------------------ the default scope


def test_default_scope_is_the_last_twelve_months_with_data(con):
    assert gate.default_scope(con) == Scope(date(2023, 10, 1), date(2024, 9, 1), "previous")
    assert gate.default_scope(con, ("西南",)) == Scope(date(2024, 1, 1), date(2024, 7, 1), "previous",
                                                    allowed_regions=("西南",))
    assert gate.default_scope(con, ("东北",)) is None


def test_default_scope_of_an_empty_database_is_none(db):
    assert gate.default_scope(db) is None


# ------------------------------------------------------------------ Scope


def test_scope_snaps_days_to_whole_months():
    s = Scope(date(2024, 3, 15), date(2024, 5, 31))
    assert (s.start, s.end, s.end_exclusive, s.months) == (date(2024, 3, 1), date(2024, 5, 1), date(2024, 6, 1), 3)
    assert s == Scope(date(2024, 3, 1), date(2024, 5, 1))
    assert Scope(date(2024, 12, 9), date(2024, 12, 9)).end_exclusive == date(2025, 1, 1)


@pytest.mark.parametrize(("start", "end", "compare", "expected"), [
    (date(2024, 1, 1), date(2024, 2, 1), "previous", (date(2023, 11, 1), date(2023, 12, 1))),
    (date(2023, 11, 1), date(2024, 2, 1), "previous", (date(2023, 7, 1), date(2023, 10, 1))),
    (date(2024, 1, 1), date(2024, 12, 1), "previous", (date(2023, 1, 1), date(2023, 12, 1))),
    (date(2024, 3, 1), date(2024, 3, 1), "previous", (date(2024, 2, 1), date(2024, 2, 1))),
    (date(2023, 11, 1), date(2024, 2, 1), "last_year", (date(2022, 11, 1), date(2023, 2, 1))),
    (date(2024, 1, 1), date(2025, 6, 1), "last_year", (date(2023, 1, 1), date(2024, 6, 1))),
])
def test_comparison_periods_across_year_boundaries(start, end, compare, expected):
    s = Scope(start, end, compare, regions=("华北",), channels=("门店",), segments=("企业",), allowed_regions=("华北",))
    c = s.comparison()
    assert (c.start, c.end) == expected
    assert c.months == s.months
    assert c.compare == "none"
    assert (c.regions, c.channels, c.segments, c.allowed_regions) == (s.regions, s.channels, s.segments,
                                                                      s.allowed_regions)


def test_no_comparison():
    assert Scope(date(2024, 1, 1), date(2024, 2, 1), "none").comparison() is None


def test_invalid_comparison_is_refused():
    with pytest.raises(ValueError, match=r"comparison must be one of previous, last_year, none, not 'bogus'"):
        Scope(date(2024, 1, 1), date(2024, 2, 1), "bogus")


def test_reversed_period_is_refused():
    with pytest.raises(ValueError, match=r"the period ends \(2024-01\) before it starts \(2024-03\)"):
        Scope(date(2024, 3, 1), date(2024, 1, 31))


def test_filter_values_are_sets():
    a = Scope(date(2024, 1, 1), date(2024, 2, 1), regions=("华南", "华北", "华南"), allowed_regions=("b", "a"))
    b = Scope(date(2024, 1, 1), date(2024, 2, 1), regions=("华北", "华南"), allowed_regions=("a", "b"))
    assert a == b and a.cache_key() == b.cache_key()
    assert a.regions == ("华北", "华南")


def test_cache_key_differs_when_allowed_regions_differ():
    keys = {Scope(date(2024, 1, 1), date(2024, 2, 1), allowed_regions=allowed).cache_key()
            for allowed in (None, (), ("华北",), ("华北", "华南"))}
    assert len(keys) == 4


def test_cache_key_differs_with_every_field():
    base = Scope(date(2024, 1, 1), date(2024, 2, 1))
    variants = [base, Scope(date(2023, 12, 1), date(2024, 2, 1)), Scope(date(2024, 1, 1), date(2024, 3, 1)),
                Scope(date(2024, 1, 1), date(2024, 2, 1), "last_year"),
                Scope(date(2024, 1, 1), date(2024, 2, 1), regions=("华北",)),
                Scope(date(2024, 1, 1), date(2024, 2, 1), channels=("华北",)),
                Scope(date(2024, 1, 1), date(2024, 2, 1), segments=("华北",))]
    assert len({v.cache_key() for v in variants}) == len(variants)


@pytest.mark.parametrize(("regions", "allowed", "visible"), [
    ((), None, None),
    (("华北",), None, ("华北",)),
    ((), ("华北", "华南"), ("华北", "华南")),
    (("华南",), ("华北", "华南"), ("华南",)),
    (("华东", "华南"), ("华北", "华南"), ("华南",)),
    (("华东",), ("华北",), ()),
    ((), (), ()),
])
def test_visible_regions(regions, allowed, visible):
    assert Scope(date(2024, 1, 1), date(2024, 1, 1), regions=regions, allowed_regions=allowed
                 ).visible_regions() == visible


def test_a_scope_comes_back_from_its_cache_key():
    """The cached loaders receive the key and rebuild the scope from it: nothing is lost."""
    s = Scope(date(2024, 3, 9), date(2024, 5, 2), "last_year", regions=("华北", "华东"), channels=("online",),
              segments=("企业客户",), allowed_regions=("华东",))
    assert Scope.from_key(s.cache_key()) == s


# ------------------------------------------------------------------ both periods in one pass


@pytest.mark.parametrize(("start", "end", "compare", "spans"), [
    ("2024-03", "2024-08", "previous", [("2023-09", "2024-08")]),
    ("2024-03", "2024-08", "none", [("2024-03", "2024-08")]),
    ("2024-03", "2024-05", "last_year", [("2023-03", "2023-05"), ("2024-03", "2024-05")]),
    ("2024-01", "2024-12", "last_year", [("2023-01", "2024-12")]),  # touching: one span
    ("2023-03", "2024-08", "last_year", [("2022-03", "2024-08")]),  # overlapping: one span
])
def test_month_spans_cover_both_periods_once(start, end, compare, spans):
    scope = Spec(start, end, compare).scope()
    assert gate.month_spans(scope) == [(scope.start, scope.end)]
    assert gate.month_spans(scope, with_comparison=True) == [
        (date.fromisoformat(a + "-01"), date.fromisoformat(b + "-01")) for a, b in spans]


@pytest.mark.parametrize("spec", [
    Spec("2024-03", "2024-05", "last_year"),
    Spec("2024-03", "2024-05", "last_year", channels=("门店",), allowed=("华南", "西南")),
    Spec("2023-03", "2024-08", "last_year", regions=("华东",), segments=("企业",)),
], ids=["gap", "gap-channel-allowed", "overlap-region-segment"])
def test_rows_with_comparison_are_the_two_periods_rows(con, spec):
    """The gate's one-pass sources give exactly the union of the two periods' rows."""
    scope = spec.scope()
    comparison = scope.comparison()
    for source in (gate.sales, gate.customer_activity):
        both = source(scope, with_comparison=True)
        parts = [source(scope), source(comparison)]
        got = con.execute(f"select * from ({both.sql}) order by all", list(both.params)).fetchall()
        want = con.execute(f"select * from ({parts[0].sql} union {parts[1].sql}) order by all",
                           [*parts[0].params, *parts[1].params]).fetchall()
        assert got == want, source.__name__
