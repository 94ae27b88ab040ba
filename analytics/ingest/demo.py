"""Deterministic, realistic demo data for a Chinese company's CRM.

The generator simulates a mid-sized Chinese retailer that sells household
appliances, electronics, clothing, cosmetics, food and home goods to
individuals, small shops and companies through online platforms, its own shop,
stores and a telephone sales team. Nothing in the output is pasted in: the
dashboard figures emerge from a small customer model.

* Customers are acquired over the three years of the window with growth and
  seasonality; about a fifth were acquired in the two years before the window and
  are still buying at its start, so the data does not begin from an empty base.
* Each customer has a latent satisfaction, a purchase rate (Gamma distributed,
  as in Pareto/NBD and BG/NBD), a lifetime (Gamma distributed around a mean
  that grows with satisfaction) and a chance to never come back after the first
  purchase (BG/NBD style, more likely when dissatisfied).
* Repeat orders form a non-homogeneous Poisson process whose intensity follows
  the Chinese retail calendar (春节, 618, 双11, 双12, 国庆 and the week), sampled
  exactly by inverting the cumulative intensity.
* Order value comes from the product's list price, a customer-specific
  quantity level (Gamma heterogeneity, as in the gamma-gamma spend model),
  promotions and the channel.
* Returns, surveys (CSAT and NPS) and complaints are drawn per order, with
  probabilities that depend on satisfaction.
* Leads pass through 线索 → 意向 → 报价 → 成交/流失 with conversion depending on
  source and sales rep; won leads become (mostly corporate) customers.

Everything is drawn from ``numpy.random.default_rng`` streams derived from the
seed, so the same ``(size, seed, end)`` always gives identical frames.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "DEFAULT_FOLDER",
    "FILE_NAMES",
    "LEAD_STAGES",
    "PRODUCTS",
    "REGIONS",
    "SALES_REPS",
    "SEGMENTS",
    "SPRING_FESTIVAL",
    "DemoData",
    "DemoFile",
    "generate",
    "load_demo",
    "write_files",
]

DEFAULT_FOLDER: Path = Path(__file__).resolve().parent.parent / "data" / "demo"

# --------------------------------------------------------------------------- calendar

#: Gregorian date of the first day of the lunar new year (春节).
SPRING_FESTIVAL: dict[int, dt.date] = {
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
}

# ----------------------------------------------------------------------------- master data

REGIONS: tuple[str, ...] = ("华东", "华北", "华南", "华中", "西南", "西北", "东北")
_REGION_WEIGHTS = np.array([0.30, 0.17, 0.18, 0.12, 0.11, 0.06, 0.06])

#: Sales reps, each tied to one region (more reps where there are more customers).
SALES_REPS: dict[str, tuple[str, ...]] = {
    "华东": ("王建国", "李晓燕", "张伟", "陈静", "刘洋", "杨帆", "赵敏", "黄磊", "周婷", "吴昊"),
    "华北": ("徐明", "孙丽", "马超", "朱红梅", "胡军", "郭晓东", "何晶"),
    "华南": ("林志强", "高翔", "罗雪", "梁家豪", "郑丹", "谢文杰", "宋佳"),
    "华中": ("唐亮", "韩梅", "冯涛", "邓欣", "曹阳"),
    "西南": ("彭伟", "曾琳", "萧然", "田野", "董文"),
    "西北": ("袁博", "潘静", "蒋勇"),
    "东北": ("蔡明亮", "贾丽娜", "丁浩"),
}
_REP_NAMES = np.array([name for region in REGIONS for name in SALES_REPS[region]])
_REP_COUNT = np.array([len(SALES_REPS[region]) for region in REGIONS])
_REP_START = np.concatenate([[0], np.cumsum(_REP_COUNT)[:-1]])

_CITIES: dict[str, tuple[str, ...]] = {
    "华东": ("上海", "杭州", "南京", "苏州", "宁波", "合肥", "济南", "青岛", "福州", "厦门"),
    "华北": ("北京", "天津", "石家庄", "太原", "呼和浩特", "唐山"),
    "华南": ("广州", "深圳", "东莞", "佛山", "南宁", "海口"),
    "华中": ("武汉", "长沙", "郑州", "南昌", "洛阳"),
    "西南": ("成都", "重庆", "昆明", "贵阳", "绵阳"),
    "西北": ("西安", "兰州", "乌鲁木齐", "银川", "西宁"),
    "东北": ("沈阳", "大连", "长春", "哈尔滨"),
}

#: Customer segments; corporate customers buy more often and in larger quantities.
SEGMENTS: tuple[str, ...] = ("个人客户", "个体商户", "企业客户")

#: Sales channels of an order.
CHANNELS: tuple[str, ...] = ("天猫", "京东", "官网商城", "线下门店", "微信小程序", "电话销售")

#: How customers were acquired (also the sources of sales leads).
_ACQ_CHANNELS: tuple[str, ...] = (
    "电商平台", "社交媒体", "搜索广告", "老客户推荐", "线下门店", "官网表单", "展会", "电话营销",
)
_ACQ_SHARE = np.array([  # per segment
    [0.34, 0.20, 0.12, 0.13, 0.17, 0.04, 0.00, 0.00],
    [0.24, 0.14, 0.14, 0.18, 0.16, 0.06, 0.04, 0.04],
    [0.06, 0.06, 0.18, 0.20, 0.04, 0.22, 0.12, 0.12],
])
_ACQ_COST = np.array([60.0, 95.0, 130.0, 40.0, 35.0, 150.0, 1800.0, 900.0])
_ACQ_SAT = np.array([0.0, -0.15, -0.05, 0.35, 0.10, 0.05, 0.10, -0.10])
_ACQ_ONETIME = np.array([0.10, 0.45, 0.20, -0.50, -0.10, 0.00, -0.20, 0.15])
_ACQ_RATE = np.array([1.00, 0.80, 0.90, 1.25, 1.10, 1.00, 1.10, 0.90])
# Order channel preferred by a customer, given how it was acquired.
_PREF_CHANNEL = np.array([
    [0.46, 0.38, 0.04, 0.02, 0.10, 0.00],
    [0.30, 0.12, 0.08, 0.02, 0.48, 0.00],
    [0.30, 0.30, 0.30, 0.02, 0.08, 0.00],
    [0.20, 0.18, 0.14, 0.22, 0.24, 0.02],
    [0.04, 0.04, 0.04, 0.80, 0.08, 0.00],
    [0.10, 0.15, 0.45, 0.05, 0.05, 0.20],
    [0.05, 0.15, 0.25, 0.10, 0.05, 0.40],
    [0.03, 0.10, 0.17, 0.05, 0.05, 0.60],
])

#: Product categories and their products: ``(category, product, list price, popularity)``.
PRODUCTS: tuple[tuple[str, str, float, float], ...] = (
    ("家电", "变频空调", 3299.0, 0.7),
    ("家电", "对开门冰箱", 4599.0, 0.4),
    ("家电", "滚筒洗衣机", 2799.0, 0.6),
    ("家电", "智能电饭煲", 399.0, 1.8),
    ("家电", "空气净化器", 1299.0, 0.8),
    ("家电", "扫地机器人", 1999.0, 0.8),
    ("家电", "电热水壶", 129.0, 2.0),
    ("数码", "智能手机", 3199.0, 1.1),
    ("数码", "平板电脑", 2599.0, 0.6),
    ("数码", "蓝牙耳机", 349.0, 2.0),
    ("数码", "智能手表", 1299.0, 0.9),
    ("数码", "笔记本电脑", 5499.0, 0.4),
    ("数码", "移动电源", 129.0, 2.0),
    ("服装", "羽绒服", 899.0, 0.9),
    ("服装", "羊毛衫", 459.0, 0.8),
    ("服装", "运动鞋", 599.0, 1.3),
    ("服装", "牛仔裤", 299.0, 1.2),
    ("服装", "纯棉T恤", 99.0, 2.0),
    ("服装", "商务衬衫", 239.0, 1.0),
    ("美妆", "精华液", 560.0, 1.2),
    ("美妆", "保湿面霜", 380.0, 1.0),
    ("美妆", "口红", 260.0, 1.4),
    ("美妆", "面膜套装", 199.0, 1.6),
    ("美妆", "防晒霜", 159.0, 1.3),
    ("食品", "坚果礼盒", 168.0, 1.6),
    ("食品", "茶叶礼盒", 398.0, 0.9),
    ("食品", "纯牛奶整箱", 69.0, 2.0),
    ("食品", "五常大米10kg", 99.0, 1.3),
    ("食品", "橄榄油礼盒", 229.0, 0.8),
    ("食品", "咖啡豆", 118.0, 1.0),
    ("家居", "床上四件套", 399.0, 1.3),
    ("家居", "乳胶枕", 299.0, 1.1),
    ("家居", "实木收纳柜", 899.0, 0.6),
    ("家居", "陶瓷餐具套装", 259.0, 0.9),
    ("家居", "纯棉毛巾", 59.0, 1.8),
)
CATEGORIES: tuple[str, ...] = ("家电", "数码", "服装", "美妆", "食品", "家居")
_CAT_SHARE = np.array([  # order share of categories per segment
    [0.12, 0.14, 0.20, 0.17, 0.24, 0.13],
    [0.14, 0.16, 0.18, 0.12, 0.26, 0.14],
    [0.20, 0.25, 0.12, 0.08, 0.20, 0.15],
])
_CAT_MARGIN = np.array([0.25, 0.23, 0.40, 0.41, 0.30, 0.34])
_CAT_RETURN = np.array([0.025, 0.030, 0.080, 0.020, 0.010, 0.030])
# Customers who mostly buy consumables come back more often than appliance buyers.
_CAT_RATE = np.array([0.55, 0.65, 1.0, 1.2, 1.6, 0.9])

_PROD_CAT = np.array([CATEGORIES.index(p[0]) for p in PRODUCTS])
_PROD_NAME = np.array([p[1] for p in PRODUCTS])
_PROD_PRICE = np.array([p[2] for p in PRODUCTS])
_PROD_POP = np.array([p[3] for p in PRODUCTS])

#: Lead stages in funnel order; a lead ends in 成交 (won) or 流失 (lost).
LEAD_STAGES: tuple[str, ...] = ("线索", "意向", "报价", "成交", "流失")
_LEAD_SOURCES: tuple[str, ...] = (
    "官网表单", "搜索广告", "电话营销", "展会", "社交媒体", "老客户推荐",
)
_LEAD_SOURCE_SHARE = np.array([0.25, 0.20, 0.18, 0.12, 0.13, 0.12])
_LEAD_SOURCE_LIFT = np.array([1.05, 0.90, 0.70, 1.15, 0.75, 1.50])

_COMPLAINT_CATEGORIES: tuple[str, ...] = ("物流配送", "产品质量", "售后服务", "价格", "退换货")
_COMPLAINT_SHARE = np.array([0.36, 0.28, 0.20, 0.16])

# Segment parameters: 个人客户, 个体商户, 企业客户.
_SEG_SHARE = np.array([0.80, 0.11, 0.09])
_SEG_RATE = np.array([0.048, 0.063, 0.078])  # mean repeat orders per day while alive
_SEG_RATE_SHAPE = np.array([2.5, 2.5, 2.5])  # Gamma shape of the purchase rate
_SEG_ONETIME = np.array([-0.45, -0.90, -1.40])  # logit of leaving after the first order
_SEG_LIFE = np.array([480.0, 620.0, 820.0])  # mean lifetime in days at average satisfaction
_SEG_QTY = np.array([0.20, 0.80, 1.50])  # mean extra units per order line
_SEG_CURVE = np.array([0, 1, 2])  # 0 consumer, 1 mixed, 2 business calendar

_GROWTH = 0.33  # yearly log-growth of customer acquisition
_LEGACY_SHARE = 0.22  # customers acquired before the window and still buying at its start
_LEGACY_YEARS = 2
_LEGACY_SAT = 0.3
_QTY_SHAPE = 1.5
_PRIMARY_CAT = 0.5  # share of a customer's orders in their favourite category
_SAT_LIFE = 0.55  # log-lifetime per unit of satisfaction
_LIFE_SHAPE = 1.5  # Gamma shape of the lifetime (1 would be exponential, as in Pareto/NBD)
_SAT_ONETIME = 0.85  # logit of leaving after the first order per unit of satisfaction

_SURNAMES = np.array(list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛"
))
_GIVEN = np.array(list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建国文红梅波斌宇浩凯健俊帆欣怡晨雪琳婷佳子涵轩睿博"
))
_BRANDS = np.array([
    "恒瑞", "鼎盛", "华信", "宏达", "嘉禾", "永泰", "瑞丰", "金源", "中联", "天成", "海纳", "博远",
    "启航", "众合", "润达", "鑫隆", "新锐", "汇通", "凯旋", "佳诚", "东方", "明德", "锦程", "志远",
])
_INDUSTRIES = np.array([
    "贸易", "科技", "实业", "商贸", "电子", "餐饮管理", "物业管理", "酒店管理", "文化传媒",
    "建筑工程", "医药", "教育咨询", "物流", "食品", "家居用品",
])
_SHOP_KINDS = np.array(["便利店", "超市", "五金店", "百货商行", "数码店", "服装店", "生活馆"])
_SHOP_WORDS = np.array(["好邻居", "惠民", "万家", "乐购", "福满", "兴旺", "诚信", "悦家", "百佳"])

_CSAT_COMMENTS: tuple[tuple[str, ...], ...] = (
    ("非常失望", "质量太差了", "客服一直不回复"),
    ("不太满意", "包装破损", "和描述有差距"),
    ("一般", "还行吧", "物流有点慢"),
    ("挺好的", "发货快", "性价比不错"),
    ("非常满意", "质量很好会回购", "服务热情周到"),
)
_NPS_COMMENTS: tuple[tuple[str, ...], ...] = (
    ("不会推荐", "体验很差"),
    ("一般般", "看情况"),
    ("已经推荐给朋友", "值得信赖"),
)
_COMPLAINT_COMMENTS: tuple[tuple[str, ...], ...] = (
    ("快递延误一周", "外包装破损", "配送员态度差"),
    ("收到的商品有划痕", "使用三天出现故障", "与描述不符"),
    ("客服推诿", "维修迟迟不上门", "电话一直打不通"),
    ("刚买就降价", "优惠券无法使用", "价格与宣传不一致"),
    ("退款迟迟不到账", "退货被拒", "换货流程太复杂"),
)

_NA = -(10**6)  # day number of a missing date

# --------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class DemoData:
    """The four generated tables, with the canonical columns of ``analytics.ingest.schema``.

    Attributes
    ----------
    transactions, customers, feedback, leads : pandas.DataFrame
        One frame per kind. Dates are ``datetime64`` (missing dates are ``NaT``),
        ids are strings, money is rounded to cents.
    """

    transactions: pd.DataFrame
    customers: pd.DataFrame
    feedback: pd.DataFrame
    leads: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        """Return the frames keyed by kind, in ``analytics.ingest.schema.KINDS`` order."""
        return {
            "transactions": self.transactions,
            "customers": self.customers,
            "feedback": self.feedback,
            "leads": self.leads,
        }


@dataclass(frozen=True)
class DemoFile:
    """One written demo file and the kind of data it holds."""

    path: Path
    kind: str


# --------------------------------------------------------------------------- helpers


def _window(end: dt.date) -> tuple[dt.date, int]:
    """Return the first day of the three-year window ending at ``end`` and its length."""
    start = (pd.Timestamp(end) - pd.DateOffset(years=3) + pd.Timedelta(days=1)).date()
    return start, (end - start).days + 1


def _calendar(start: dt.date, n_days: int) -> np.ndarray:
    """Daily order intensity for the consumer, mixed and business calendars.

    Parameters
    ----------
    start : datetime.date
        First day.
    n_days : int
        Number of days.

    Returns
    -------
    numpy.ndarray
        Shape ``(3, n_days)``; each row has mean 1.
    """
    days = pd.date_range(start, periods=n_days, freq="D")
    month = days.month.to_numpy()
    dom = days.day.to_numpy()
    dow = days.day_of_week.to_numpy()
    day_no = (days - pd.Timestamp(start)).days.to_numpy()

    consumer = np.array([0.96, 0.95, 0.95, 0.97, 1.01, 1.07, 1.09])[dow]
    consumer = consumer * np.array(
        [1.00, 0.96, 0.95, 0.96, 1.00, 1.04, 0.92, 0.93, 0.98, 0.97, 1.00, 1.06]
    )[month - 1]
    business = np.array([1.13, 1.14, 1.14, 1.12, 1.07, 0.45, 0.35])[dow]
    business = business * np.array(
        [1.05, 0.90, 1.02, 1.00, 0.98, 1.04, 0.95, 0.95, 1.02, 0.96, 1.05, 1.12]
    )[month - 1]

    def window(m: int, d0: int, d1: int) -> np.ndarray:
        return (month == m) & (dom >= d0) & (dom <= d1)

    # 双11: the pre-sale lull, the first payment wave on 1 Nov, the peak, the hangover.
    consumer[window(10, 20, 31)] *= 0.88
    consumer[window(11, 1, 3)] *= 2.2
    consumer[window(11, 4, 9)] *= 1.45
    consumer[window(11, 10, 10)] *= 2.2
    consumer[window(11, 11, 11)] *= 10.0
    consumer[window(11, 12, 13)] *= 1.35
    consumer[window(11, 14, 22)] *= 0.82
    business[window(11, 1, 10)] *= 1.35
    business[window(11, 11, 11)] *= 2.5
    # 618 and 双12.
    consumer[window(5, 31, 31) | window(6, 1, 1)] *= 1.6
    consumer[window(6, 2, 17)] *= 1.22
    consumer[window(6, 18, 18)] *= 3.8
    consumer[window(6, 19, 21)] *= 0.9
    business[window(6, 1, 18)] *= 1.08
    consumer[window(12, 12, 12)] *= 1.8
    # 国庆 golden week: people travel, offices close.
    consumer[window(10, 1, 7)] *= 0.88
    business[window(10, 1, 7)] *= 0.25
    # 春节: New Year shopping run-up, couriers stop before the holiday, the festival week.
    for festival in SPRING_FESTIVAL.values():
        offset = (pd.Timestamp(festival) - pd.Timestamp(start)).days
        rel = day_no - offset
        consumer[(rel >= -25) & (rel <= -8)] *= 1.3
        consumer[(rel >= -7) & (rel <= -2)] *= 0.8
        consumer[(rel >= -1) & (rel <= 6)] *= 0.35
        consumer[(rel >= 7) & (rel <= 14)] *= 0.75
        business[(rel >= -25) & (rel <= -8)] *= 1.2
        business[(rel >= -7) & (rel <= -2)] *= 0.7
        business[(rel >= -1) & (rel <= 6)] *= 0.08
        business[(rel >= 7) & (rel <= 14)] *= 0.6
    curves = np.vstack([consumer, 0.5 * consumer + 0.5 * business, business])
    return curves / curves.mean(axis=1, keepdims=True)


def _choice_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw one column index per element of ``rows`` from the row-wise distributions ``probs``."""
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(len(probs))[:, None]).ravel()
    u = rows + rng.random(len(rows))
    return np.searchsorted(flat, u, side="right") - rows * probs.shape[1]


def _sample_days(rng: np.random.Generator, weights: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Draw one day per element of ``groups`` with probability ``weights[group, day]``."""
    return _choice_rows(rng, weights, groups)


def _rep_for(rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
    """Pick a sales rep of each element's region (index into ``_REP_NAMES``)."""
    return _REP_START[region] + (rng.random(len(region)) * _REP_COUNT[region]).astype(np.int64)


def _pick(rng: np.random.Generator, options: np.ndarray, n: int) -> np.ndarray:
    """Draw ``n`` elements of ``options`` uniformly, with replacement."""
    return options[rng.integers(0, len(options), n)]


def _to_dates(start: dt.date, day: np.ndarray) -> np.ndarray:
    """Day numbers since ``start`` to ``datetime64[ns]``; ``_NA`` becomes ``NaT``."""
    missing = day == _NA
    out = (np.datetime64(start, "D") + np.where(missing, 0, day)).astype("datetime64[ns]")
    out[missing] = np.datetime64("NaT")
    return out


def _names(rng: np.random.Generator, segment: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Chinese person names for individuals, shop names and company names for businesses."""
    n = len(segment)
    given = _pick(rng, _GIVEN, n)
    two = rng.random(n) < 0.7
    given = np.where(two, np.char.add(given, _pick(rng, _GIVEN, n)), given)
    person = np.char.add(_pick(rng, _SURNAMES, n), given)
    city_count = np.array([len(_CITIES[r]) for r in REGIONS])
    all_cities = np.array([c for r in REGIONS for c in _CITIES[r]])
    city_start = np.concatenate([[0], np.cumsum(city_count)[:-1]])
    city = all_cities[city_start[region] + (rng.random(n) * city_count[region]).astype(np.int64)]
    company = np.char.add(
        np.char.add(np.char.add(city, _pick(rng, _BRANDS, n)), _pick(rng, _INDUSTRIES, n)),
        "有限公司",
    )
    shop = np.char.add(np.char.add(city, _pick(rng, _SHOP_WORDS, n)), _pick(rng, _SHOP_KINDS, n))
    return np.where(segment == 0, person, np.where(segment == 1, shop, company))


def _comments(
    rng: np.random.Generator, table: Sequence[Sequence[str]], band: np.ndarray, share: float
) -> np.ndarray:
    """Pick a comment from ``table[band]`` for a ``share`` of rows; the others stay empty."""
    width = max(len(row) for row in table)
    grid = np.array([[row[i % len(row)] for i in range(width)] for row in table], dtype=object)
    out = grid[band, rng.integers(0, width, len(band))]
    out[rng.random(len(band)) >= share] = None
    return out


# --------------------------------------------------------------------------- generation


def _leads(
    rng: np.random.Generator, n: int, n_days: int, growth: np.ndarray, business: np.ndarray
) -> dict[str, np.ndarray]:
    """Simulate the sales funnel. Day ``_NA`` marks a missing date."""
    created = _sample_days(rng, (business * growth)[None, :], np.zeros(n, np.int64))
    region = _choice_rows(rng, _REGION_WEIGHTS[None, :], np.zeros(n, np.int64))
    rep = _rep_for(rng, region)
    source = _choice_rows(rng, _LEAD_SOURCE_SHARE[None, :], np.zeros(n, np.int64))
    skill = np.exp(rng.normal(0.0, 0.22, len(_REP_NAMES)))[rep]
    lift = _LEAD_SOURCE_LIFT[source]
    p_qualify = np.clip(0.34 * lift * skill, 0.02, 0.95)
    p_propose = np.clip(0.64 * np.sqrt(lift * skill), 0.02, 0.95)
    p_win = np.clip(0.46 * np.sqrt(lift) * skill, 0.02, 0.95)
    u = rng.random((3, n))
    qualified = u[0] < p_qualify
    proposed = qualified & (u[1] < p_propose)
    won = proposed & (u[2] < p_win)

    def delay(base: int, scale: float) -> np.ndarray:
        return base + np.round(rng.gamma(2.0, scale, n)).astype(np.int64)

    d_qualified = created + delay(1, 3.0)
    d_proposal = d_qualified + delay(2, 5.0)
    d_closed = d_proposal + delay(3, 8.0)
    # A lost lead is closed some time after the last stage it reached.
    last = np.where(proposed, d_proposal, np.where(qualified, d_qualified, created))
    d_lost = last + delay(4, 9.0)
    d_closed = np.where(won, d_closed, d_lost)

    end_day = n_days - 1
    has_qualified = qualified & (d_qualified <= end_day)
    has_proposal = proposed & (d_proposal <= end_day)
    closed = d_closed <= end_day
    stage = np.where(
        closed,
        np.where(won, 3, 4),
        np.where(has_proposal, 2, np.where(has_qualified, 1, 0)),
    )
    return {
        "created": created,
        "qualified": np.where(has_qualified, d_qualified, _NA),
        "proposal": np.where(has_proposal, d_proposal, _NA),
        "closed": np.where(closed, d_closed, _NA),
        "stage": stage,
        "region": region,
        "rep": rep,
        "source": source,
    }


def generate(size: int = 20_000, seed: int = 7, end: dt.date = dt.date(2026, 10, 31)) -> DemoData:
    """Generate three years of CRM data for ``size`` customers, ending at ``end``.

    Parameters
    ----------
    size : int
        Number of customers (about 16 transactions, 1 feedback row and 0.3 leads
        per customer are generated).
    seed : int
        Random seed; the same ``(size, seed, end)`` gives identical frames.
    end : datetime.date
        Last day of the data; the window starts three years earlier.

    Returns
    -------
    DemoData
        Transactions, customers, feedback and leads with the canonical columns.

    Raises
    ------
    ValueError
        If ``size`` is smaller than 1.
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    streams = [np.random.default_rng([seed, size, k]) for k in range(5)]
    start, n_days = _window(end)
    curves = _calendar(start, n_days)
    growth = np.exp(_GROWTH * np.arange(n_days) / 365.25)

    lead = _leads(streams[0], max(1, round(size * 0.3)), n_days, growth, curves[2])
    won_idx = np.flatnonzero(lead["stage"] == 3)
    if len(won_idx) > size:  # only for tiny sizes: more deals than customers
        lead["stage"][won_idx[size:]] = 4
        won_idx = won_idx[:size]
    cust = _customers(streams[1], size, lead, won_idx, curves, growth)
    orders = _orders(streams[2], cust, curves, start)
    return DemoData(
        transactions=_transaction_frame(streams[2], start, cust, orders),
        customers=_customer_frame(start, cust),
        feedback=_feedback(streams[3], start, n_days - 1, cust, orders),
        leads=_lead_frame(streams[4], start, lead, won_idx, cust["ids"]),
    )


def _customers(
    rng: np.random.Generator,
    size: int,
    lead: dict[str, np.ndarray],
    won_idx: np.ndarray,
    curves: np.ndarray,
    growth: np.ndarray,
) -> dict[str, np.ndarray]:
    """Draw the customers and their latent traits.

    The first ``len(won_idx)`` customers are won leads, then customers acquired in the
    window, then "legacy" customers acquired in the two years before it and still
    buying at its start. Day numbers count from the window start.
    """
    n_days = curves.shape[1]
    end_day = n_days - 1
    n_won = len(won_idx)
    n_legacy = round((size - n_won) * _LEGACY_SHARE)
    n_new = size - n_won - n_legacy
    n_other = n_new + n_legacy
    seg_other = _choice_rows(rng, _SEG_SHARE[None, :], np.zeros(n_other, np.int64))
    seg_won = np.where(rng.random(n_won) < 0.85, 2, 1)
    segment = np.concatenate([seg_won, seg_other])
    legacy = np.zeros(size, bool)
    legacy[n_won + n_new:] = True
    region = np.concatenate([
        lead["region"][won_idx],
        _choice_rows(rng, _REGION_WEIGHTS[None, :], np.zeros(n_other, np.int64)),
    ])
    rep = np.concatenate([lead["rep"][won_idx], _rep_for(rng, region[n_won:])])
    source_as_channel = np.array([_ACQ_CHANNELS.index(s) for s in _LEAD_SOURCES])
    acq_channel = np.concatenate([
        source_as_channel[lead["source"][won_idx]],
        _choice_rows(rng, _ACQ_SHARE, seg_other),
    ])
    history = _LEGACY_YEARS * 365
    legacy_weight = np.exp(_GROWTH * np.arange(-history, 0) / 365.25)[None, :]
    acquired = np.concatenate([
        lead["closed"][won_idx],
        _sample_days(rng, curves ** 0.7 * growth, _SEG_CURVE[seg_other[:n_new]]),
        _sample_days(rng, legacy_weight, np.zeros(n_legacy, np.int64)) - history,
    ])
    # Most buy on the day they register; some take a few days. Legacy customers'
    # first purchase lies before the window.
    first = acquired + np.where(rng.random(size) < 0.7, 0, rng.geometric(0.15, size))
    first = np.where(legacy, -1, np.minimum(first, end_day))

    rep_service = rng.normal(0.0, 0.25, len(_REP_NAMES))[rep]
    sat = rng.normal(0.0, 1.0, size) + _ACQ_SAT[acq_channel] + rep_service
    sat += np.where(legacy, _LEGACY_SAT, 0.0)  # survivors are the more satisfied ones
    onetime_logit = _SEG_ONETIME[segment] + _ACQ_ONETIME[acq_channel] - _SAT_ONETIME * sat
    onetime = ~legacy & (rng.random(size) < 1.0 / (1.0 + np.exp(-onetime_logit)))
    life_mean = _SEG_LIFE[segment] * np.exp(_SAT_LIFE * sat)
    lifetime = np.where(onetime, 0.0, rng.gamma(_LIFE_SHAPE, life_mean / _LIFE_SHAPE))
    shape = _SEG_RATE_SHAPE[segment]
    primary_cat = _choice_rows(rng, _CAT_SHARE, segment)
    mean_rate = _SEG_RATE[segment] * _ACQ_RATE[acq_channel] * _CAT_RATE[primary_cat]
    rate = rng.gamma(shape, mean_rate / shape)
    qty_level = rng.gamma(_QTY_SHAPE, _SEG_QTY[segment] / _QTY_SHAPE)
    pref_channel = _choice_rows(rng, _PREF_CHANNEL, acq_channel)
    pref_channel = np.where((segment == 2) & (rng.random(size) < 0.5), 5, pref_channel)
    names = _names(rng, segment, region)
    acq_cost = np.round(
        _ACQ_COST[acq_channel] * np.array([1.0, 1.6, 2.8])[segment]
        * np.exp(rng.normal(0.0, 0.35, size)),
        2,
    )
    # Customer ids in order of acquisition; ``order[k]`` is the customer with id k + 1.
    order = np.lexsort((rng.random(size), acquired))
    rank = np.empty(size, np.int64)
    rank[order] = np.arange(size)
    width = max(6, len(str(size)))
    ids = np.char.zfill((rank + 1).astype(str), width)
    return {
        "segment": segment, "legacy": legacy, "region": region, "rep": rep,
        "acq_channel": acq_channel, "acquired": acquired, "first": first, "sat": sat,
        "lifetime": lifetime, "rate": rate, "qty_level": qty_level,
        "primary_cat": primary_cat, "pref_channel": pref_channel, "names": names,
        "acq_cost": acq_cost, "order": order, "ids": ids,
    }


def _orders(
    rng: np.random.Generator, c: dict[str, np.ndarray], curves: np.ndarray, start: dt.date
) -> dict[str, np.ndarray]:
    """Draw every order (one product line each) and which of them are returned."""
    size = len(c["segment"])
    n_days = curves.shape[1]
    end_day = n_days - 1
    legacy, first, segment = c["legacy"], c["first"], c["segment"]

    # Repeat orders: a Poisson process with the customer's rate on the segment's
    # calendar while the customer is alive, sampled by inverting the cumulative
    # intensity (all segments' curves laid end to end).
    cum = np.cumsum(curves, axis=1)
    flat = (cum + np.concatenate([[0.0], np.cumsum(cum[:, -1])[:-1]])[:, None]).ravel()
    curve = _SEG_CURVE[segment]
    last_alive = np.minimum(first + np.floor(c["lifetime"]).astype(np.int64), end_day)
    lo = np.where(legacy, flat[curve * n_days] - curves[curve, 0], flat[curve * n_days + first])
    hi = np.where(last_alive < 0, lo, flat[curve * n_days + np.maximum(last_alive, 0)])
    repeats = rng.poisson(c["rate"] * np.maximum(hi - lo, 0.0))
    newcomers = np.flatnonzero(~legacy)
    cust = np.concatenate([newcomers, np.repeat(np.arange(size), repeats)])
    u = np.repeat(lo, repeats) + rng.random(int(repeats.sum())) * np.repeat(hi - lo, repeats)
    repeat_day = np.searchsorted(flat, u, side="left") - np.repeat(curve, repeats) * n_days
    day = np.concatenate([first[newcomers], np.clip(repeat_day, 0, end_day)])
    n_orders = len(cust)

    # Product: mostly the customer's favourite category; the 春节 run-up favours food gifts.
    loyal_cat = rng.random(n_orders) < _PRIMARY_CAT
    cat = np.where(loyal_cat, c["primary_cat"][cust], _choice_rows(rng, _CAT_SHARE, segment[cust]))
    festive = np.zeros(n_days, bool)
    for festival in SPRING_FESTIVAL.values():
        offset = (pd.Timestamp(festival) - pd.Timestamp(start)).days
        festive[max(0, offset - 25):max(0, offset - 7)] = True
    cat = np.where(festive[day] & (rng.random(n_orders) < 0.15), CATEGORIES.index("食品"), cat)
    pop = np.zeros((len(CATEGORIES), len(PRODUCTS)))
    pop[_PROD_CAT, np.arange(len(PRODUCTS))] = _PROD_POP
    product = _choice_rows(rng, pop, cat)
    price = _PROD_PRICE[product]
    cheap = np.clip((300.0 / price) ** 0.35, 0.35, 1.8)  # more units of cheap products
    quantity = 1 + rng.poisson(c["qty_level"][cust] * cheap)
    channel = np.where(
        rng.random(n_orders) < 0.8,
        c["pref_channel"][cust],
        _choice_rows(rng, _PREF_CHANNEL, np.full(n_orders, 2, np.int64)),
    )

    # Price paid: list price, promotions, the channel and a little noise.
    dates = pd.date_range(start, periods=n_days, freq="D")
    promo = np.ones(n_days)
    promo[(dates.month == 11) & (dates.day <= 10)] = 0.93
    promo[(dates.month == 11) & (dates.day == 11)] = 0.85
    promo[(dates.month == 6) & (dates.day <= 18)] = 0.93
    promo[(dates.month == 6) & (dates.day == 18)] = 0.88
    promo[(dates.month == 12) & (dates.day == 12)] = 0.92
    discount = promo[day] * np.where(rng.random(n_orders) < 0.2, 0.95, 1.0)
    discount *= np.array([1.0, 1.0, 0.98, 1.02, 0.99, 0.95])[channel]
    unit = price * discount * np.exp(rng.normal(0.0, 0.03, n_orders))
    amount = np.round(unit * quantity, 2)
    margin = np.clip(
        _CAT_MARGIN[cat] + rng.normal(0.0, 0.025, n_orders) - 0.6 * (1.0 - promo[day]),
        0.20, 0.45,
    )
    cost = np.round(amount * (1.0 - margin), 2)

    # Returns: a refund of the order a few days later, likelier from unhappy customers.
    returned = rng.random(n_orders) < _CAT_RETURN[cat] * np.exp(-0.35 * c["sat"][cust])
    return_day = day + 1 + rng.poisson(5.0, n_orders)
    returned &= return_day <= end_day
    return {
        "cust": cust, "day": day, "cat": cat, "product": product, "quantity": quantity,
        "channel": channel, "amount": amount, "cost": cost, "returned": returned,
        "return_day": return_day,
    }


def _transaction_frame(
    rng: np.random.Generator,
    start: dt.date,
    c: dict[str, np.ndarray],
    o: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Orders and returns as transaction rows with ids like ``SO2024010500012``."""
    n_orders = len(o["cust"])
    r = np.flatnonzero(o["returned"])
    all_cust = np.concatenate([o["cust"], o["cust"][r]])
    all_day = np.concatenate([o["day"], o["return_day"][r]])
    is_return = np.concatenate([np.zeros(n_orders, bool), np.ones(len(r), bool)])
    sort = np.lexsort((rng.random(len(all_cust)), all_day))
    sorted_day = all_day[sort]
    serial = np.arange(len(sort)) - np.searchsorted(sorted_day, sorted_day, side="left") + 1
    digits = max(5, len(str(int(serial.max()))))
    stamp = np.datetime_as_string(np.datetime64(start, "D") + sorted_day, unit="D")
    stamp = np.char.replace(stamp, "-", "")
    prefix = np.where(is_return[sort], "RT", "SO")
    tid = np.char.add(np.char.add(prefix, stamp), np.char.zfill(serial.astype(str), digits))
    row = np.concatenate([np.arange(n_orders), r])[sort]
    sign = np.where(is_return[sort], -1.0, 1.0)
    who = all_cust[sort]
    return pd.DataFrame({
        "customer_id": c["ids"][who],
        "order_date": _to_dates(start, sorted_day),
        "amount": sign * o["amount"][row],
        "transaction_id": tid,
        "quantity": o["quantity"][row].astype(np.int64),
        "cost": sign * o["cost"][row],
        "region": np.array(REGIONS)[c["region"][who]],
        "channel": np.array(CHANNELS)[o["channel"][row]],
        "product": _PROD_NAME[o["product"][row]],
        "category": np.array(CATEGORIES)[o["cat"][row]],
        "sales_rep": _REP_NAMES[c["rep"][who]],
    })


def _customer_frame(start: dt.date, c: dict[str, np.ndarray]) -> pd.DataFrame:
    """The customer master data, in id order."""
    order = c["order"]
    return pd.DataFrame({
        "customer_id": c["ids"][order],
        "customer_name": c["names"][order],
        "region": np.array(REGIONS)[c["region"][order]],
        "segment": np.array(SEGMENTS)[c["segment"][order]],
        "acquired_date": _to_dates(start, c["acquired"][order]),
        "acquisition_channel": np.array(_ACQ_CHANNELS)[c["acq_channel"][order]],
        "acquisition_cost": c["acq_cost"][order],
    })


def _lead_frame(
    rng: np.random.Generator,
    start: dt.date,
    lead: dict[str, np.ndarray],
    won_idx: np.ndarray,
    ids: np.ndarray,
) -> pd.DataFrame:
    """The leads in order of creation; won leads point at the customers they became."""
    n_leads = len(lead["created"])
    customer = np.full(n_leads, None, dtype=object)
    customer[won_idx] = ids[np.arange(len(won_idx))]
    order = np.lexsort((rng.random(n_leads), lead["created"]))
    outcome = np.array([None, None, None, "won", "lost"], dtype=object)[lead["stage"]]
    return pd.DataFrame({
        "lead_id": np.char.add("XS", np.char.zfill(np.arange(1, n_leads + 1).astype(str), 6)),
        "created_date": _to_dates(start, lead["created"][order]),
        "stage": np.array(LEAD_STAGES)[lead["stage"][order]],
        "customer_id": pd.array(customer[order], dtype="str"),
        "region": np.array(REGIONS)[lead["region"][order]],
        "source": np.array(_LEAD_SOURCES)[lead["source"][order]],
        "sales_rep": _REP_NAMES[lead["rep"][order]],
        "qualified_date": _to_dates(start, lead["qualified"][order]),
        "proposal_date": _to_dates(start, lead["proposal"][order]),
        "closed_date": _to_dates(start, lead["closed"][order]),
        "outcome": pd.array(outcome[order], dtype="str"),
    })


def _feedback(
    rng: np.random.Generator,
    start: dt.date,
    end_day: int,
    c: dict[str, np.ndarray],
    o: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Surveys after a sample of orders and complaints, both driven by satisfaction."""
    ids, sat, cust, day, returned = c["ids"], c["sat"], o["cust"], o["day"], o["returned"]
    n_orders = len(cust)
    # Surveys: about one order in twenty gets a questionnaire a few days later.
    surveyed = np.flatnonzero(rng.random(n_orders) < 0.05)
    s_day = day[surveyed] + 1 + rng.poisson(2.0, len(surveyed))
    keep = s_day <= end_day
    surveyed, s_day = surveyed[keep], s_day[keep]
    n_s = len(surveyed)
    experience = sat[cust[surveyed]] + rng.normal(0.0, 0.9, n_s) - 1.3 * returned[surveyed]
    is_csat = rng.random(n_s) < 0.7
    csat = np.searchsorted(np.array([-1.9, -1.3, -0.5, 0.65]), experience) + 1
    nps = np.searchsorted(np.array([-2.6, -2.2, -1.9, -1.6, -1.3, -1.0, -0.55, 0.0, 0.55, 1.2]),
                          experience)
    score = np.where(is_csat, csat, nps).astype(float)
    csat_band = csat - 1
    nps_band = np.where(nps <= 6, 0, np.where(nps <= 8, 1, 2))
    s_comment = np.where(
        is_csat,
        _comments(rng, _CSAT_COMMENTS, csat_band, 0.35),
        _comments(rng, _NPS_COMMENTS, nps_band, 0.3),
    )

    # Complaints: rare, much more likely from dissatisfied customers and after returns.
    p_complaint = 0.009 * np.exp(-0.9 * sat[cust]) + 0.15 * returned
    complained = np.flatnonzero(rng.random(n_orders) < p_complaint)
    c_day = day[complained] + 1 + rng.poisson(3.0, len(complained))
    keep = c_day <= end_day
    complained, c_day = complained[keep], c_day[keep]
    n_c = len(complained)
    c_cat = np.where(
        returned[complained],
        4,
        _choice_rows(rng, _COMPLAINT_SHARE[None, :], np.zeros(n_c, np.int64)),
    )
    resolve = c_day + np.minimum(np.round(rng.gamma(1.4, 4.0, n_c)), 30).astype(np.int64)
    resolved = (rng.random(n_c) >= 0.04) & (resolve <= end_day)
    c_comment = _comments(rng, _COMPLAINT_COMMENTS, c_cat, 0.8)

    f_day = np.concatenate([s_day, c_day])
    sort = np.lexsort((rng.random(len(f_day)), f_day))
    kind = np.concatenate([np.full(n_s, "survey"), np.full(n_c, "complaint")])
    scale = np.concatenate([np.where(is_csat, "CSAT", "NPS"), np.full(n_c, None)]).astype(object)
    category = np.concatenate([np.full(n_s, None), np.array(_COMPLAINT_CATEGORIES)[c_cat]])
    resolved_day = np.concatenate([np.full(n_s, _NA), np.where(resolved, resolve, _NA)])
    f_cust = np.concatenate([cust[surveyed], cust[complained]])
    return pd.DataFrame({
        "customer_id": ids[f_cust[sort]],
        "feedback_date": _to_dates(start, f_day[sort]),
        "score": np.concatenate([score, np.full(n_c, np.nan)])[sort],
        "feedback_id": np.char.add("FB", np.char.zfill(np.arange(1, len(sort) + 1).astype(str), 7)),
        "scale": pd.array(scale[sort], dtype="str"),
        "feedback_kind": kind[sort],
        "category": pd.array(category.astype(object)[sort], dtype="str"),
        "resolved_date": _to_dates(start, resolved_day[sort]),
        "comment": pd.array(np.concatenate([s_comment, c_comment]).astype(object)[sort],
                            dtype="str"),
    })


# --------------------------------------------------------------------------- files

#: File name of each kind in the demo folder.
FILE_NAMES: dict[str, str] = {
    "customers": "demo_customers.csv",
    "transactions": "demo_transactions.csv",
    "feedback": "demo_feedback.csv",
    "leads": "demo_leads.xlsx",
}

_TRANSACTION_HEADERS: dict[str, str] = {
    "transaction_id": "订单编号",
    "customer_id": "客户编号",
    "order_date": "订单日期",
    "amount": "实付金额",
    "quantity": "数量",
    "cost": "成本",
    "region": "大区",
    "channel": "渠道",
    "product": "商品名称",
    "category": "品类",
    "sales_rep": "销售代表",
}
_FEEDBACK_HEADERS: dict[str, str] = {
    "feedback_id": "反馈编号",
    "customer_id": "客户编号",
    "feedback_date": "反馈日期",
    "score": "评分",
    "scale": "量表",
    "feedback_kind": "反馈类型",
    "category": "类别",
    "resolved_date": "解决日期",
    "comment": "备注",
}
_LEAD_HEADERS: dict[str, str] = {
    "lead_id": "线索编号",
    "created_date": "创建日期",
    "stage": "阶段",
    "customer_id": "客户编号",
    "region": "大区",
    "source": "线索来源",
    "sales_rep": "销售代表",
    "qualified_date": "意向日期",
    "proposal_date": "报价日期",
    "closed_date": "关闭日期",
    "outcome": "结果",
}


def _date_text(values: pd.Series) -> np.ndarray:
    """Dates as ``2024-01-05`` text; missing dates become empty strings."""
    days = values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    text = np.datetime_as_string(days, unit="D").astype(object)
    text[np.isnat(days)] = ""
    return text


def _export_frame(
    frame: pd.DataFrame, headers: dict[str, str], dates: Sequence[str]
) -> pd.DataFrame:
    """Canonical columns renamed to the file's headers, dates as text."""
    out = frame[list(headers)].copy()
    for name in dates:
        out[name] = _date_text(out[name])
    return out.rename(columns=headers)


def write_files(data: DemoData, folder: Path) -> list[DemoFile]:
    """Write the demo data as a Chinese company would export it.

    * transactions: CSV in GB18030 (what Chinese Excel writes) with Chinese headers;
    * customers: UTF-8 CSV with English headers, ids keep their leading zeros;
    * feedback: UTF-8 CSV with a byte order mark and Chinese headers;
    * leads: an Excel workbook with Chinese headers and real Excel dates.

    Parameters
    ----------
    data : DemoData
        What :func:`generate` returned.
    folder : pathlib.Path
        Target folder, created when missing; existing demo files are replaced.

    Returns
    -------
    list[DemoFile]
        The files in import order: customers, transactions, feedback, leads.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / name for kind, name in FILE_NAMES.items()}

    customers = data.customers.copy()
    customers["acquired_date"] = _date_text(customers["acquired_date"])
    customers.to_csv(paths["customers"], index=False, encoding="utf-8", float_format="%.2f",
                     lineterminator="\n")

    transactions = _export_frame(data.transactions, _TRANSACTION_HEADERS, ["order_date"])
    transactions.to_csv(paths["transactions"], index=False, encoding="gb18030",
                        float_format="%.2f", lineterminator="\r\n")

    feedback = _export_frame(data.feedback, _FEEDBACK_HEADERS,
                             ["feedback_date", "resolved_date"])
    feedback[_FEEDBACK_HEADERS["score"]] = data.feedback["score"].round().astype("Int64")
    feedback.to_csv(paths["feedback"], index=False, encoding="utf-8-sig", lineterminator="\r\n")

    leads = data.leads[list(_LEAD_HEADERS)].rename(columns=_LEAD_HEADERS)
    with pd.ExcelWriter(paths["leads"], engine="xlsxwriter", date_format="yyyy-mm-dd",
                        datetime_format="yyyy-mm-dd") as writer:
        leads.to_excel(writer, sheet_name="销售线索", index=False)
        sheet = writer.sheets["销售线索"]
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, len(_LEAD_HEADERS) - 1, 12)

    return [DemoFile(paths[kind], kind) for kind in ("customers", "transactions", "feedback",
                                                      "leads")]


# --------------------------------------------------------------------------- loading


def load_demo(
    con: duckdb.DuckDBPyConnection,
    size: int = 20_000,
    seed: int = 7,
    folder: Path | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> list[Any]:
    """Generate the demo data, write its files and import them through the real pipeline.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open, migrated CRM database.
    size : int
        Number of customers.
    seed : int
        Random seed.
    folder : pathlib.Path, optional
        Where the files go; default ``data/demo/`` under the project root.
    progress : callable, optional
        ``progress(stage, fraction)``, passed to each import.

    Returns
    -------
    list[analytics.ingest.pipeline.ImportReport]
        One report per file (customers, transactions, feedback, leads), each with
        ``rows_read``, ``rows_rejected`` and ``rows_imported``.
    """
    from analytics.ingest.pipeline import import_file

    files = write_files(generate(size=size, seed=seed), folder or DEFAULT_FOLDER)
    return [
        import_file(con, f.path, kind=f.kind, commit=True, imported_by="demo", progress=progress)
        for f in files
    ]
