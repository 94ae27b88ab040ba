"""The sentences and tile texts the overview prints (ui.widgets), written out by hand."""

from __future__ import annotations

import pytest

from analytics.metrics.highlights import Highlight
from analytics.metrics.kpis import Kpi
from ui import widgets


@pytest.mark.parametrize(("highlight", "lang", "text"), [
    (Highlight("revenue_change", {"change": 0.275, "value": 8_970_000, "previous": 7_040_000}), "en",
     "Revenue rose 27.5% to ¥8.97M (from ¥7.04M)."),
    (Highlight("revenue_change", {"change": -0.12, "value": 88_000, "previous": 100_000}), "zh",
     "销售额下降12.0%，降至¥8.8万（此前¥10万）。"),
    (Highlight("region_up", {"region": "华东", "delta": 889_000, "change": 0.394}), "zh",
     "华东增长最多：销售额增加¥88.9万（+39.4%）。"),
    (Highlight("region_down", {"region": "东北", "delta": -74_400, "change": -0.232}), "en",
     "东北 lost most: ¥74.4K less revenue (-23.2%)."),
    (Highlight("region_up", {"region": "**x** <b>", "delta": 1_000, "change": 0.5}), "en",
     r"\*\*x\*\* \<b\> grew most: ¥1K more revenue (+50.0%)."),
    (Highlight("new_customers_change", {"change": -0.25, "value": 3, "previous": 4}), "en",
     "New customers down 25.0%: 3 against 4."),
    (Highlight("repeat_rate_change", {"change": 0.1, "value": 0.6, "previous": 0.5, "significant": True}), "en",
     "Repeat purchase rate up 10.0 pts to 60.0% (from 50.0%)."),
    (Highlight("repeat_rate_change", {"change": -0.002, "value": 0.700, "previous": 0.702, "significant": False}),
     "zh", "复购率下降0.2个百分点，降至70.0%（此前70.2%）。该变化在抽样误差范围内，可能只是偶然波动。"),
    (Highlight("repeat_rate_change", {"change": -0.002, "value": 0.700, "previous": 0.702, "significant": False}),
     "en", "Repeat purchase rate down 0.2 pts to 70.0% (from 70.2%). Within sampling error: the change may be chance."),
])
def test_highlight_sentences(highlight, lang, text):
    assert widgets.highlight_text(highlight, lang, "CNY") == text


def test_kpi_texts():
    rate = Kpi("repeat_rate", 0.4, 0.25, 0.15, n=5, ci=(0.1176, 0.7693), previous_n=4)
    assert widgets.kpi_value("repeat_rate", 0.4, "en", "CNY") == "40.0%"
    assert widgets.kpi_delta(rate, "en") == "+15.0 pts"
    assert widgets.kpi_value("revenue", 2370, "zh", "CNY") == "¥2,370"
    assert widgets.kpi_value("orders", 12_929, "en", "CNY") == "12,929"
    assert widgets.kpi_delta(Kpi("orders", 8, 5, 0.6), "zh") == "+60.0%"
    assert widgets.kpi_delta(Kpi("orders", 8, None, None), "zh") is None
    help_text = widgets.kpi_help(rate, "en", "CNY", "Sep 2023–Feb 2024")
    assert "25.0%" in help_text and "n = 5" in help_text and "11.8%" in help_text and "76.9%" in help_text
