"""Metric settings: defaults, checks with clear messages, all-or-nothing saves."""

from __future__ import annotations

import pytest

from analytics.store import settings
from analytics.store.connection import connect, data_version

#: The funnel's settings by default (their checks: tests/test_settings_funnel.py).
FUNNEL_DEFAULTS = {"funnel_stages": ["potential", "target", "first_purchase", "repeat_purchase", "loyal"],
                   "funnel_stage_map": {}}


@pytest.fixture
def con():
    c = connect(":memory:")
    yield c
    c.close()


def test_defaults_then_saved_values_and_the_data_version(con):
    assert settings.load(con) == {"churn_window_days": 180, "tier_cuts": [0.01, 0.05, 0.20],
                                  "discount_rate": 0.10, "gross_margin": 0.30, "currency": "CNY",
                                  "import_time_zone": "Asia/Shanghai", **FUNNEL_DEFAULTS}
    before = data_version(con)
    settings.save(con, {"churn_window_days": "90", "tier_cuts": [0.02, 0.1, 0.3], "currency": "USD"})
    assert settings.load(con) == {"churn_window_days": 90, "tier_cuts": [0.02, 0.1, 0.3],
                                  "discount_rate": 0.10, "gross_margin": 0.30, "currency": "USD",
                                  "import_time_zone": "Asia/Shanghai", **FUNNEL_DEFAULTS}
    assert data_version(con) == before + 1


@pytest.mark.parametrize(("key", "value", "message"), [
    ("churn_window_days", 10, "between 30 and 730"),
    ("churn_window_days", 90.5, "whole number"),
    ("churn_window_days", "soon", "must be a number"),
    ("discount_rate", 0.9, "between 0 and 0.5"),
    ("gross_margin", 1.2, "between 0 and 1"),
    ("currency", "XYZ", "must be one of"),
    ("tier_cuts", [0, 0.05, 0.2], "three increasing shares"),
    ("tier_cuts", [0.05, 0.01, 0.2], "three increasing shares"),
    ("tier_cuts", [0.01, 0.05, 1.0], "three increasing shares"),
    ("tier_cuts", [0.1, 0.2], "three increasing shares"),
    ("no_such_setting", 1, "unknown setting"),
])
def test_bad_values_are_refused_and_nothing_is_stored(con, key, value, message):
    with pytest.raises(ValueError, match=message):
        settings.save(con, {"currency": "EUR", key: value})
    assert settings.load(con)["currency"] == "CNY"  # all or nothing
