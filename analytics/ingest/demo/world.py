"""The fixed world the demo simulation draws from, and the parameters of its customer model.

Regions with their sales reps and cities, customer segments, sales and acquisition
channels, products and categories, the lead funnel, complaint categories, the parts
of names and comments, and the numbers that drive the model. Arrays named after a
tuple (``REGION_WEIGHTS``, ``ACQ_SHARE``, ...) are indexed like that tuple; rows of
``*_SHARE`` tables are distributions per segment or per acquisition channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ----------------------------------------------------------------------- regions and people

REGIONS: tuple[str, ...] = ("华东", "华北", "华南", "华中", "西南", "西北", "东北")
REGION_WEIGHTS = np.array([0.30, 0.17, 0.18, 0.12, 0.11, 0.06, 0.06])

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

#: Cities of each region (in customer names: 杭州鼎盛贸易有限公司).
CITIES: dict[str, tuple[str, ...]] = {
    "华东": ("上海", "杭州", "南京", "苏州", "宁波", "合肥", "济南", "青岛", "福州", "厦门"),
    "华北": ("北京", "天津", "石家庄", "太原", "呼和浩特", "唐山"),
    "华南": ("广州", "深圳", "东莞", "佛山", "南宁", "海口"),
    "华中": ("武汉", "长沙", "郑州", "南昌", "洛阳"),
    "西南": ("成都", "重庆", "昆明", "贵阳", "绵阳"),
    "西北": ("西安", "兰州", "乌鲁木齐", "银川", "西宁"),
    "东北": ("沈阳", "大连", "长春", "哈尔滨"),
}


@dataclass(frozen=True, eq=False)
class PerRegion:
    """Names grouped by region, laid end to end in ``REGIONS`` order.

    Attributes
    ----------
    names : numpy.ndarray
        All names; region ``r`` owns ``names[start[r]:start[r] + count[r]]``.
    count, start : numpy.ndarray
        Number of names and index of the first name of each region.
    """

    names: np.ndarray
    count: np.ndarray
    start: np.ndarray

    @classmethod
    def of(cls, table: dict[str, tuple[str, ...]]) -> PerRegion:
        """Lay out ``table`` (names keyed by region) region by region."""
        count = np.array([len(table[region]) for region in REGIONS])
        return cls(
            names=np.array([name for region in REGIONS for name in table[region]]),
            count=count,
            start=np.concatenate([[0], np.cumsum(count)[:-1]]),
        )


REPS = PerRegion.of(SALES_REPS)
CITY_NAMES = PerRegion.of(CITIES)

SURNAMES = np.array(list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛"
))
GIVEN = np.array(list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建国文红梅波斌宇浩凯健俊帆欣怡晨雪琳婷佳子涵轩睿博"
))
BRANDS = np.array([
    "恒瑞", "鼎盛", "华信", "宏达", "嘉禾", "永泰", "瑞丰", "金源", "中联", "天成", "海纳", "博远",
    "启航", "众合", "润达", "鑫隆", "新锐", "汇通", "凯旋", "佳诚", "东方", "明德", "锦程", "志远",
])
INDUSTRIES = np.array([
    "贸易", "科技", "实业", "商贸", "电子", "餐饮管理", "物业管理", "酒店管理", "文化传媒",
    "建筑工程", "医药", "教育咨询", "物流", "食品", "家居用品",
])
SHOP_KINDS = np.array(["便利店", "超市", "五金店", "百货商行", "数码店", "服装店", "生活馆"])
SHOP_WORDS = np.array(["好邻居", "惠民", "万家", "乐购", "福满", "兴旺", "诚信", "悦家", "百佳"])

# ----------------------------------------------------------------------- segments and channels

#: Customer segments; corporate customers buy more often and in larger quantities.
SEGMENTS: tuple[str, ...] = ("个人客户", "个体商户", "企业客户")

#: Sales channels of an order.
CHANNELS: tuple[str, ...] = ("天猫", "京东", "官网商城", "线下门店", "微信小程序", "电话销售")

#: How customers were acquired (also the sources of sales leads).
ACQ_CHANNELS: tuple[str, ...] = (
    "电商平台", "社交媒体", "搜索广告", "老客户推荐", "线下门店", "官网表单", "展会", "电话营销",
)
ACQ_SHARE = np.array([  # per segment
    [0.34, 0.20, 0.12, 0.13, 0.17, 0.04, 0.00, 0.00],
    [0.24, 0.14, 0.14, 0.18, 0.16, 0.06, 0.04, 0.04],
    [0.06, 0.06, 0.18, 0.20, 0.04, 0.22, 0.12, 0.12],
])
ACQ_COST = np.array([60.0, 95.0, 130.0, 40.0, 35.0, 150.0, 1800.0, 900.0])
ACQ_SAT = np.array([0.0, -0.15, -0.05, 0.35, 0.10, 0.05, 0.10, -0.10])
ACQ_ONETIME = np.array([0.10, 0.45, 0.20, -0.50, -0.10, 0.00, -0.20, 0.15])
ACQ_RATE = np.array([1.00, 0.80, 0.90, 1.25, 1.10, 1.00, 1.10, 0.90])
#: Order channel preferred by a customer (columns: ``CHANNELS``), given how it was acquired.
PREF_CHANNEL = np.array([
    [0.46, 0.38, 0.04, 0.02, 0.10, 0.00],
    [0.30, 0.12, 0.08, 0.02, 0.48, 0.00],
    [0.30, 0.30, 0.30, 0.02, 0.08, 0.00],
    [0.20, 0.18, 0.14, 0.22, 0.24, 0.02],
    [0.04, 0.04, 0.04, 0.80, 0.08, 0.00],
    [0.10, 0.15, 0.45, 0.05, 0.05, 0.20],
    [0.05, 0.15, 0.25, 0.10, 0.05, 0.40],
    [0.03, 0.10, 0.17, 0.05, 0.05, 0.60],
])

# ----------------------------------------------------------------------- products

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
CAT_SHARE = np.array([  # order share of categories per segment
    [0.12, 0.14, 0.20, 0.17, 0.24, 0.13],
    [0.14, 0.16, 0.18, 0.12, 0.26, 0.14],
    [0.20, 0.25, 0.12, 0.08, 0.20, 0.15],
])
CAT_MARGIN = np.array([0.25, 0.23, 0.40, 0.41, 0.30, 0.34])
CAT_RETURN = np.array([0.025, 0.030, 0.080, 0.020, 0.010, 0.030])
#: Customers who mostly buy consumables come back more often than appliance buyers.
CAT_RATE = np.array([0.55, 0.65, 1.0, 1.2, 1.6, 0.9])

PROD_CAT = np.array([CATEGORIES.index(p[0]) for p in PRODUCTS])
PROD_NAME = np.array([p[1] for p in PRODUCTS])
PROD_PRICE = np.array([p[2] for p in PRODUCTS])
PROD_POP = np.array([p[3] for p in PRODUCTS])

# ----------------------------------------------------------------------- leads and feedback

#: Lead stages in funnel order; a lead ends in 成交 (won) or 流失 (lost).
LEAD_STAGES: tuple[str, ...] = ("线索", "意向", "报价", "成交", "流失")
LEAD_SOURCES: tuple[str, ...] = (
    "官网表单", "搜索广告", "电话营销", "展会", "社交媒体", "老客户推荐",
)
LEAD_SOURCE_SHARE = np.array([0.25, 0.20, 0.18, 0.12, 0.13, 0.12])
LEAD_SOURCE_LIFT = np.array([1.05, 0.90, 0.70, 1.15, 0.75, 1.50])

#: The last category, 退换货, is the one of complaints after a return.
COMPLAINT_CATEGORIES: tuple[str, ...] = ("物流配送", "产品质量", "售后服务", "价格", "退换货")
#: Shares of the other categories.
COMPLAINT_SHARE = np.array([0.36, 0.28, 0.20, 0.16])

#: Comments per CSAT score (1 to 5), per NPS band (detractor, passive, promoter) and per
#: complaint category.
CSAT_COMMENTS: tuple[tuple[str, ...], ...] = (
    ("非常失望", "质量太差了", "客服一直不回复"),
    ("不太满意", "包装破损", "和描述有差距"),
    ("一般", "还行吧", "物流有点慢"),
    ("挺好的", "发货快", "性价比不错"),
    ("非常满意", "质量很好会回购", "服务热情周到"),
)
NPS_COMMENTS: tuple[tuple[str, ...], ...] = (
    ("不会推荐", "体验很差"),
    ("一般般", "看情况"),
    ("已经推荐给朋友", "值得信赖"),
)
COMPLAINT_COMMENTS: tuple[tuple[str, ...], ...] = (
    ("快递延误一周", "外包装破损", "配送员态度差"),
    ("收到的商品有划痕", "使用三天出现故障", "与描述不符"),
    ("客服推诿", "维修迟迟不上门", "电话一直打不通"),
    ("刚买就降价", "优惠券无法使用", "价格与宣传不一致"),
    ("退款迟迟不到账", "退货被拒", "换货流程太复杂"),
)

# ----------------------------------------------------------------------- model parameters

# Segment parameters: 个人客户, 个体商户, 企业客户.
SEG_SHARE = np.array([0.80, 0.11, 0.09])
SEG_RATE = np.array([0.048, 0.063, 0.078])  # mean repeat orders per day while alive
SEG_RATE_SHAPE = np.array([2.5, 2.5, 2.5])  # Gamma shape of the purchase rate
SEG_ONETIME = np.array([-0.45, -0.90, -1.40])  # logit of leaving after the first order
SEG_LIFE = np.array([480.0, 620.0, 820.0])  # mean lifetime in days at average satisfaction
SEG_QTY = np.array([0.05, 0.24, 0.42])  # mean extra units per order line
SEG_LINE_STOP = np.array([0.70, 0.50, 0.33])  # chance an order ends after each line (geometric)
SEG_CURVE = np.array([0, 1, 2])  # 0 consumer, 1 mixed, 2 business calendar

GROWTH = 0.33  # yearly log-growth of customer acquisition
LEGACY_SHARE = 0.22  # customers acquired before the window and still buying at its start
LEGACY_YEARS = 2
LEGACY_SAT = 0.3
QTY_SHAPE = 1.5
PRIMARY_CAT = 0.5  # share of a customer's orders in their favourite category
ADDON_SAME_CAT = 0.35  # share of an order's further lines in its main product's category
ADDON_CHEAP = 2.2  # further lines favour cheap products: popularity × (price / 300) ** -ADDON_CHEAP
#: Orders with each product once, with a second line of one product at another price, and
#: with one line entered twice.
TWICE_SHARE = np.array([0.95, 0.03, 0.02])
SAT_LIFE = 0.55  # log-lifetime per unit of satisfaction
LIFE_SHAPE = 1.5  # Gamma shape of the lifetime (1 would be exponential, as in Pareto/NBD)
SAT_ONETIME = 0.85  # logit of leaving after the first order per unit of satisfaction
