"""What the import property tests generate, shared by ``test_import_properties_csv`` and
``test_import_properties_xlsx_parquet``: transaction rows (``Row``) and the Hypothesis
strategies that draw them, the header names, date formats and amount styles a person's tool
writes them with, and the tests' Hypothesis settings."""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from analytics.ingest.schema import TOTAL_WORDS

# Common Chinese characters (all in GB2312, so a GB18030 file of them reads as Chinese).
ZH = "华东南北西中部线上下门店直营电商天猫京东客户北京上海深圳广州杭州成都甲乙丙丁零售批发会员新老区渠道"
CANONICAL = ("customer_id", "order_date", "amount", "region", "channel", "transaction_id")
HEADERS = {
    "en": {"customer_id": "Customer ID", "order_date": "Order Date", "amount": "Amount",
           "region": "Region", "channel": "Channel", "transaction_id": "Order ID"},
    "zh": {"customer_id": "客户编号", "order_date": "订单日期", "amount": "实付金额",
           "region": "大区", "channel": "渠道", "transaction_id": "订单编号"},
}
DATE_FORMATS = {
    "iso": lambda d: d.isoformat(),
    "slash": lambda d: f"{d.year}/{d.month}/{d.day}",
    "chinese": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "compact": lambda d: d.strftime("%Y%m%d"),
}
# Every example imports into a new database file (~0.1 s per import): kept modest so the
# property tests run in about half a minute.
SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------- strategies

def _not_total(text: str) -> bool:
    return text.lower().rstrip(":：") not in TOTAL_WORDS


customer_ids = st.one_of(
    st.from_regex(r"0{1,3}[0-9]{1,6}", fullmatch=True),            # 00123: zeros must stay
    st.from_regex(r"[1-9][0-9]{0,8}", fullmatch=True),
    st.text(ZH + string.ascii_letters + string.digits + "-_", min_size=1, max_size=10).filter(_not_total),
)
TX_IDS = st.from_regex(r"(SO|订单|0)[0-9]{1,8}", fullmatch=True)
order_dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))
amounts = st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"),
                      places=2, allow_nan=False, allow_infinity=False)
# (thousands separators, currency prefix, sign written after the prefix)
amount_styles = st.tuples(st.booleans(), st.sampled_from(["", "¥", "￥"]), st.booleans())
TEXT_SPECIALS = ['"', '","', 'a"b', "x, y", "合计", "Total", "小计：", "华东, 上海"]


def _texts(multiline: bool) -> st.SearchStrategy[str | None]:
    alphabet = ZH + string.ascii_letters + string.digits + " ,\"'-&()#" + ("\n" if multiline else "")
    free = st.text(alphabet, min_size=1, max_size=12).map(lambda s: s.strip(" \n")).filter(bool)
    return st.one_of(st.none(), st.sampled_from(TEXT_SPECIALS), free)


# Built once: building a text strategy (its alphabet's intervals) cost more than drawing from it,
# and a row draws two.
_TEXTS = {multiline: _texts(multiline) for multiline in (False, True)}


def texts(multiline: bool) -> st.SearchStrategy[str | None]:
    """Region/channel text as stored: trimmed, never empty (an empty cell is None)."""
    return _TEXTS[multiline]


def format_amount(value: Decimal, style: tuple[bool, str, bool]) -> str:
    separators, prefix, sign_after_prefix = style
    sign = "-" if value < 0 else ""
    body = f"{abs(value):,.2f}" if separators else f"{abs(value):.2f}"
    return f"{prefix}{sign}{body}" if sign_after_prefix else f"{sign}{prefix}{body}"


@dataclass
class Row:
    customer_id: str
    order_date: date
    amount: Decimal
    region: str | None
    channel: str | None
    transaction_id: str | None


@st.composite
def row_lists(draw: st.DrawFn, multiline: bool, with_ids: bool, max_size: int = 25) -> list[Row]:
    n = draw(st.integers(min_value=1, max_value=max_size))
    tx_ids: list[str | None] = [None] * n
    if with_ids:
        tx_ids = draw(st.lists(TX_IDS, min_size=n, max_size=n, unique=True))
    text = texts(multiline)
    rows = [Row(draw(customer_ids), draw(order_dates), draw(amounts), draw(text), draw(text), tx_ids[i])
            for i in range(n)]
    if not with_ids:
        # Identical purchases in one file (without an id column) stay separate records.
        for i in draw(st.lists(st.integers(min_value=0, max_value=n - 1), max_size=3)):
            rows.insert(draw(st.integers(min_value=0, max_value=len(rows))), rows[i])
    return rows
