"""The figure builders' labels and colours (ui.figures)."""

from datetime import date

import pandas as pd

from ui.figures import common
from ui.figures import overview as figures


def test_month_ticks_print_the_year_on_the_first_month_and_each_january():
    months = [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    assert common.month_ticks(months, "en") == ["Nov<br>2025", "Dec", "Jan<br>2026", "Feb"]
    assert common.month_ticks(months, "zh") == ["11月<br>2025年", "12月", "1月<br>2026年", "2月"]


def test_rises_are_red_in_chinese_and_green_in_english():
    assert common.change_colors("zh") == (common.RED, common.GREEN)
    assert common.change_colors("en") == (common.GREEN, common.RED)
    by_region = pd.DataFrame({"region": ["A", "B", "C"], "revenue": [120.0, 80.0, 50.0],
                              "previous_revenue": [100.0, 100.0, None], "change": [0.2, -0.2, None]})
    for lang in ("zh", "en"):
        up, down = common.change_colors(lang)
        bar = figures.revenue_by_region_bar(by_region, lang).data[0]
        # bars are drawn smallest first: C (no comparison), B (fell), A (rose)
        assert list(bar.marker.color) == [common.CURRENT, down, up]


def test_the_trend_axis_uses_the_short_labels_in_month_order():
    trend = pd.DataFrame({"period": ["current"] * 3 + ["comparison"] * 3,
                          "month": [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1),
                                    date(2025, 9, 1), date(2025, 10, 1), date(2025, 11, 1)],
                          "position": [1, 2, 3] * 2, "revenue": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    fig = figures.revenue_trend_line(trend, "en")
    assert [list(s.x) for s in fig.data] == [["Dec<br>2025", "Jan<br>2026", "Feb"]] * 2
    assert [list(s.y) for s in fig.data] == [[4.0, 5.0, 6.0], [1.0, 2.0, 3.0]]


def test_region_names_are_text_in_the_chart_not_html():
    by_region = pd.DataFrame({"region": ['<a href="javascript:alert(1)">x</a>', "华东"], "revenue": [1.0, 2.0],
                              "previous_revenue": [None, None], "change": [None, None]})
    bar = figures.revenue_by_region_bar(by_region, "en").data[0]
    assert list(bar.y) == ['&lt;a href="javascript:alert(1)"&gt;x&lt;/a&gt;', "华东"]


def test_money_ticks_below_a_thousand_print_whole_amounts_in_the_currency():
    assert common.money_ticks(900, "en", "CNY") == ([0, 200, 400, 600, 800, 1000], ["0", "¥200", "¥400", "¥600", "¥800",
                                                                                       "¥1K"])
    assert common.money_ticks(9, "zh", "USD")[1] == ["0", "$2", "$4", "$6", "$8", "$10"]
    assert common.money_ticks(3e6, "zh", "CNY")[1] == ["0", "¥100万", "¥200万", "¥300万"]
