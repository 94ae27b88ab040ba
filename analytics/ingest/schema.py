"""The canonical schema: the four kinds of input file and their columns.

Every imported file is mapped onto one of these kinds. A column's ``type`` says
how its text is parsed during staging (see ``analytics/ingest/staging.py``):

``id``      text, trimmed; ``00123`` stays ``00123``; Excel's ``123.0`` becomes ``123``
``text``    text, trimmed; empty becomes NULL
``date``    ``2024-01-05``, ``2024/1/5``, ``2024年1月5日``, ``20240105``, with or
            without a time, Excel serial numbers; ``01/02/2024`` needs a day/month order
``money``   ``1,234.50``, ``¥1234``, ``￥1,234``, ``$12``, ``12元``, ``(12.00)``; negative kept
``number``  a plain decimal number
``integer`` a whole number

Text keys are normalised at import (:func:`fold_key`, applied after staging by
:func:`analytics.ingest.lookalike.normalize_text`): the ``id`` columns and the coded and
dimension ``text`` columns (region, channel, category, sales rep, segment, province, city,
source, stage, scale, kind, outcome) are folded with Unicode NFKC, character by character
(full-width ``ＡＢ１２３`` is ``AB123``, a non-breaking or ideographic space inside is a space),
zero-width characters and BOMs are removed wherever they are, and the ends are trimmed; so
``00123`` + NBSP, ``\\u200b00123`` and ``００１２３`` are one customer and ``华东`` + NBSP is
``华东``. Free text (:data:`FREE_TEXT`: product and customer names, comments) is not folded (a
product name may hold full-width letters of its own, ``ＸＬ码``); only invisible spaces and
zero-width characters at its ends are trimmed (:func:`trim_text`). The report says how many
values each column had changed, with an example.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

KINDS: tuple[str, ...] = ("transactions", "customers", "feedback", "leads")


@dataclass(frozen=True)
class Column:
    """One canonical column of a kind.

    ``stored`` is False for a column a file may carry that is not kept on the kind's rows:
    a transactions file's customer attributes (they fill the customer dimension) and its
    profit and unit price (they give the stored cost and amount).
    """

    name: str
    type: str
    required: bool = False
    synonyms: tuple[str, ...] = ()
    stored: bool = True


def _c(name: str, type_: str, *synonyms: str, required: bool = False, stored: bool = True) -> Column:
    return Column(name, type_, required, (name, *synonyms), stored)


_CUSTOMER_ID = (
    "customer id", "customer", "customer no", "customer number", "client id", "cust id",
    "member id", "buyer id", "user id", "客户编号", "客户id", "客户代码", "客户号", "会员编号",
    "会员id", "会员号", "用户id", "用户编号", "买家id", "客户",
)
_REGION = ("region", "area", "territory", "地区", "区域", "大区", "销售区域", "所属区域", "片区")
_CHANNEL = ("channel", "sales channel", "渠道", "销售渠道", "来源渠道")
_CUSTOMER_NAME = ("name", "customer name", "client name", "客户名称", "客户姓名", "姓名", "名称", "公司名称")
_PROVINCE = ("province", "state", "省份", "省", "所在省份", "省/自治区")
_CITY = ("city", "城市", "市", "所在城市")
_SALES_REP = (
    "sales rep", "salesperson", "sales person", "rep", "owner", "account manager",
    "销售代表", "业务员", "销售员", "客户经理", "负责人", "销售",
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    "transactions": (
        _c("customer_id", "id", *_CUSTOMER_ID, required=True),
        _c("order_date", "date", "date", "order date", "invoice date", "purchase date",
           "transaction date", "orderdate", "invoicedate", "日期", "订单日期", "下单时间", "下单日期",
           "交易日期", "交易时间", "购买日期", "成交日期", "销售日期", "付款时间", required=True),
        _c("amount", "money", "amount", "revenue", "sales", "value", "total", "price total",
           "order amount", "sales amount", "金额", "销售额", "实付金额", "订单金额", "交易金额",
           "成交金额", "销售金额", "实收金额", "付款金额", required=True),
        _c("transaction_id", "id", "transaction id", "order id", "order no", "order number",
           "invoice", "invoice no", "invoiceno", "receipt no", "订单编号", "订单号", "交易编号",
           "流水号", "单号", "发票号"),
        _c("quantity", "number", "qty", "quantity", "units", "数量", "件数", "销量"),
        _c("cost", "money", "cost", "cogs", "cost amount", "成本", "成本金额", "进货成本"),
        _c("region", "text", *_REGION),
        _c("channel", "text", *_CHANNEL),
        _c("product", "text", "product", "item", "sku", "stock code", "stockcode", "product name",
           "商品", "商品名称", "产品", "产品名称", "品名", "货品"),
        _c("category", "text", "category", "product category", "品类", "类别", "商品类别",
           "产品类别", "分类"),
        _c("sales_rep", "text", *_SALES_REP),
        _c("line_id", "id", "row id", "line", "line id", "line no", "line number", "order line",
           "行号", "明细号", "明细编号", "订单行号", "序号"),
        # the customer's attributes, carried on every line of many sales exports
        _c("customer_name", "text", *_CUSTOMER_NAME[1:], stored=False),
        _c("segment", "text", "segment", "customer segment", "细分", "客户类型", "客户分类", "客户群",
           stored=False),
        _c("province", "text", *_PROVINCE, stored=False),
        _c("city", "text", *_CITY, stored=False),
        # what the stored cost and amount are derived from when a file has no such column
        _c("profit", "money", "profit", "margin", "gross profit", "gross margin", "利润", "毛利", "毛利润",
           stored=False),
        _c("unit_price", "money", "unit price", "unitprice", "price", "单价", "销售单价", "成交单价",
           stored=False),
    ),
    "customers": (
        _c("customer_id", "id", *_CUSTOMER_ID, required=True),
        _c("customer_name", "text", *_CUSTOMER_NAME),
        _c("region", "text", *_REGION),
        _c("province", "text", *_PROVINCE),
        _c("city", "text", *_CITY),
        _c("segment", "text", "segment", "customer segment", "type", "customer type",
           "客户类型", "客户分类", "细分", "客户群", "行业"),
        _c("acquired_date", "date", "acquired date", "acquisition date", "signup date",
           "join date", "created", "registration date", "注册日期", "注册时间", "获客日期",
           "开户日期", "入会日期", "建档日期"),
        _c("acquisition_channel", "text", "acquisition channel", "source", "获客渠道", "来源"),
        _c("acquisition_cost", "money", "acquisition cost", "cac", "获客成本"),
    ),
    "feedback": (
        _c("customer_id", "id", *_CUSTOMER_ID, required=True),
        _c("feedback_date", "date", "date", "survey date", "response date", "feedback date",
           "日期", "反馈日期", "调查日期", "评价日期", "投诉日期", "提交时间", "提交答卷时间",
           "填写时间", "答题时间", required=True),
        # a score whose scale the row's scale column says (or the scores' range: CSAT or NPS)
        _c("score", "number", "score", "rating", "评分", "得分", "分数", "打分", "评分值", "分值",
           required=True),
        # the two questions a survey row often asks, each read on its own scale
        # (analytics/ingest/survey_scales.py) and stored as a row of its own
        _c("csat_score", "number", "csat", "csat score", "satisfaction", "satisfaction score",
           "overall satisfaction", "满意度", "满意度评分", "满意度得分", "满意程度", "总体满意度",
           "整体满意度", stored=False),
        _c("nps_score", "number", "nps", "nps score", "recommend", "likelihood to recommend",
           "recommendation", "推荐意愿", "推荐度", "推荐可能性", "推荐指数", "推荐意向", "净推荐值",
           stored=False),
        _c("feedback_id", "id", "feedback id", "response id", "survey id", "ticket id",
           "反馈编号", "工单号", "问卷编号", "答卷编号", "投诉编号"),
        _c("scale", "text", "scale", "score type", "survey type", "量表", "评分类型", "问卷类型"),
        _c("feedback_kind", "text", "kind", "feedback type", "feedback kind", "反馈类型",
           "类型"),
        _c("category", "text", "category", "complaint category", "topic", "reason", "类别",
           "投诉类别", "问题类别", "原因"),
        _c("resolved_date", "date", "resolved date", "closed date", "resolution date",
           "解决日期", "处理完成日期", "结案日期"),
        _c("comment", "text", "comment", "comments", "text", "verbatim", "备注", "评价内容",
           "意见", "内容", "留言", "投诉内容", "反馈内容", "问题描述"),
    ),
    "leads": (
        _c("lead_id", "id", "lead id", "lead", "opportunity id", "prospect id", "record id", "线索编号",
           "线索id", "商机编号", "潜客编号", required=True),
        # a stage-history log may leave it out: a lead's created date is then its earliest stage date
        # (analytics/ingest/leads.py)
        _c("created_date", "date", "created date", "created", "create date", "lead date",
           "创建日期", "创建时间", "录入日期", "线索日期", required=True),
        # a file of a date column per stage may leave it out: the stage its dates reach
        _c("stage", "text", "stage", "status", "lead stage", "lead status", "lifecycle stage",
           "阶段", "状态", "销售阶段", "线索阶段", "线索状态", "当前阶段", "变更后阶段", required=True),
        # the day the lead reached its stage (a row of a stage-history log)
        _c("stage_date", "date", "stage date", "date reached", "stage reached", "reached at",
           "date entered stage", "stage entered", "entered stage", "stage changed", "changed at",
           "stage change date", "阶段日期", "进入阶段日期", "进入阶段时间", "阶段变更日期", "阶段变更时间",
           "变更日期", "变更时间"),
        _c("customer_id", "id", *_CUSTOMER_ID, "converted account id", "converted account",
           "account id", "转化客户编号", "成交客户编号"),
        _c("region", "text", *_REGION),
        _c("source", "text", "source", "lead source", "original source", "来源", "线索来源", "渠道",
           "channel"),
        _c("sales_rep", "text", *_SALES_REP, "lead owner", "contact owner", "所有人", "线索负责人"),
        _c("qualified_date", "date", "qualified date", "target date", "确认日期",
           "意向日期", "转化为目标日期"),
        _c("proposal_date", "date", "proposal date", "quote date", "报价日期", "方案日期"),
        _c("closed_date", "date", "closed date", "close date", "won date", "成交日期",
           "关闭日期", "结束日期"),
        _c("outcome", "text", "outcome", "result", "won lost", "结果", "赢单输单"),
    ),
}

# Columns that identify one row of a kind (the natural key) when the file has them.
# Without them, a row is identified by its content (see analytics/ingest/identity.py). A
# transaction id is an order number: a line is identified by it and its line id, or, in a
# file without line ids, by its content and its occurrence among identical lines of the order.
# A feedback row is its response's id and its scale: one response's CSAT and NPS answers are two
# rows (the scale is always staged: given, inferred or the question's; see natural_key_columns).
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "transactions": ("transaction_id", "line_id"),
    "customers": ("customer_id",),
    "feedback": ("feedback_id", "scale"),
    # a lead and a stage it reached: a later export of a lead at a further stage adds a row
    "leads": ("lead_id", "stage"),
}

#: Kinds whose stored row of a key is replaced by a later import's other version of it (a CRM
#: export holds its records as they are now: a lead's stage amended, with another rep, replaces
#: the stored one), where the other kinds keep the stored row and hold the later version aside.
#: Either way undoing an import leaves what importing the committed imports alone would store
#: (analytics/ingest/claims.py).
LATEST_WINS: frozenset[str] = frozenset({"leads"})

# The columns a row's content is hashed over (its identity when it has no natural key, and a
# line's content within its order), as they were in schema version 1: a column added since
# is left out, so rows stored before keep their identity (their row_key) across releases.
IDENTITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "transactions": ("customer_id", "order_date", "amount", "transaction_id", "quantity", "cost", "region",
                     "channel", "product", "category", "sales_rep"),
    "customers": ("customer_id", "customer_name", "region", "segment", "acquired_date", "acquisition_channel",
                  "acquisition_cost"),
    "feedback": ("customer_id", "feedback_date", "score", "feedback_id", "scale", "feedback_kind", "category",
                 "resolved_date", "comment"),
    "leads": ("lead_id", "created_date", "stage", "customer_id", "region", "source", "sales_rep",
              "qualified_date", "proposal_date", "closed_date", "outcome"),
}

#: Columns added since schema version 1 that also tell apart two rows of one file with the same
#: natural key (an exact repeat is imported once, a differing one is a conflict); they are not in
#: IDENTITY_COLUMNS, which must not change, and are compared with the database as every stored
#: column is. Two stage-history rows of one lead and stage on different days differ.
REPEAT_COLUMNS: dict[str, tuple[str, ...]] = {
    "leads": ("stage_date",),
}

# Words that mark an Excel-style total row (合计 / 小计 / 总计 / Total), read after removing
# spaces of any kind, separators, a colon and a unit in brackets (``合　计``, ``总计（元）``,
# ``Total:``), with one of TOTAL_PREFIXES before them or not (``本页合计``, ``Grand total``).
TOTAL_WORDS: tuple[str, ...] = ("合计", "小计", "总计", "总和", "total", "subtotal", "grand total", "sum")
TOTAL_PREFIXES: tuple[str, ...] = ("本页", "本月", "本日", "本周", "本期", "本年", "本表", "当页", "当日", "当月",
                                   "全部", "累计", "总", "page", "grand", "sub")

#: Text columns kept as written but for invisible characters at their ends: names and comments.
FREE_TEXT: frozenset[str] = frozenset({"product", "customer_name", "comment"})

# Characters a key drops wherever they are: zero-width spaces and joiners, word joiner, BOM.
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u180e"
_ZERO_WIDTH_RE = re.compile(f"[{_ZERO_WIDTH}]")
_END_SPACE = re.compile(f"^[\\s{_ZERO_WIDTH}]+|[\\s{_ZERO_WIDTH}]+$")


def is_key_text(col: Column) -> bool:
    """Whether ``col``'s text is a key or a coded/dimension value, folded by :func:`fold_key`
    (else free text, :func:`trim_text`)."""
    return col.type == "id" or (col.type == "text" and col.name not in FREE_TEXT)


def fold_key(text: str) -> str | None:
    """A key as it is compared and stored: each character NFKC-normalised (a non-ASCII space
    becomes a space), zero-width characters removed, spaces trimmed at the ends; None when
    nothing is left.

    Character by character, so a value changes exactly when it holds a character of
    :func:`lookalike_class` (the only values the import looks at); ASCII text is left as it is.
    """
    folded = "".join(unicodedata.normalize("NFKC", ch) for ch in _ZERO_WIDTH_RE.sub("", text))
    return folded.strip() or None


def trim_text(text: str) -> str | None:
    """Free text without Unicode spaces and zero-width characters at its ends; None when empty."""
    return _END_SPACE.sub("", text) or None


@functools.cache
def lookalike_class() -> str:
    """A regular-expression class (RE2) of the characters :func:`fold_key` changes: those NFKC
    maps to others, non-ASCII spaces and zero-width characters (no ASCII character is one)."""
    codes = [cp for cp in range(0x80, 0x30000) if not 0xD800 <= cp <= 0xDFFF
             and (unicodedata.normalize("NFKC", chr(cp)) != chr(cp) or chr(cp).isspace())]
    codes = sorted(set(codes) | {ord(c) for c in _ZERO_WIDTH})
    ranges: list[list[int]] = []
    for cp in codes:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "[" + "".join(f"\\x{{{a:X}}}" + (f"-\\x{{{b:X}}}" if b > a else "") for a, b in ranges) + "]"


def column(kind: str, name: str) -> Column:
    """Return the canonical column ``name`` of ``kind``.

    Raises
    ------
    KeyError
        If the kind has no such column.
    """
    for col in COLUMNS[kind]:
        if col.name == name:
            return col
    raise KeyError(f"{kind} has no column {name!r}")


#: A required column a file may lack when it has the columns it is derived from:
#: a transactions file with a unit price and a quantity has its amount (price × quantity).
DERIVED_FROM: dict[tuple[str, str], tuple[str, ...]] = {
    ("transactions", "amount"): ("unit_price", "quantity"),
}

#: A required column a file may lack when it has any one of these: a survey file may give its
#: scores as the answers to the satisfaction and recommend questions, and a complaint export
#: has no score at all (its rows are complaints: a category, a resolved date, or a kind column).
INSTEAD_OF: dict[tuple[str, str], tuple[str, ...]] = {
    ("feedback", "score"): ("csat_score", "nps_score", "category", "resolved_date", "feedback_kind"),
    # a stage-history log's lead was created on its earliest stage date when no created date is given
    ("leads", "created_date"): ("stage_date",),
    # a lead's stage is the furthest its stage dates or outcome reach (analytics/ingest/leads.py)
    ("leads", "stage"): ("qualified_date", "proposal_date", "closed_date", "outcome"),
}

#: A required column a row may leave empty when the condition (SQL on the staged row) holds; the file must still
#: have the column. A survey answer without a customer id is an anonymous response, stored with no customer (many
#: survey tools export anonymous responses); a complaint without a customer is rejected as before.
EMPTY_WHEN: dict[tuple[str, str], str] = {
    ("feedback", "customer_id"): "feedback_kind = 'survey'",
}

#: Stored columns no file column feeds: a survey score as answered (``original_score``) and the
#: scale it was asked on (``original_scale``: ``1-5``, ``0-10``, ``1-7``, ``0-100``, ...), beside
#: the score on its canonical scale (analytics/ingest/survey_scales.py).
COMPUTED: dict[str, tuple[Column, ...]] = {
    "feedback": (Column("original_score", "number"), Column("original_scale", "text")),
}


def missing_required(kind: str, mapped: set[str] | dict[str, object]) -> list[str]:
    """The required columns of ``kind`` that ``mapped`` (the canonical columns a file has)
    neither has nor can derive (:data:`DERIVED_FROM`) nor do without (:data:`INSTEAD_OF`)."""
    return [r for r in required_columns(kind)
            if r not in mapped and not all(c in mapped for c in DERIVED_FROM.get((kind, r), ("-",)))
            and not any(c in mapped for c in INSTEAD_OF.get((kind, r), ()))]


def stored_columns(kind: str) -> tuple[Column, ...]:
    """The columns kept on a row of ``kind`` (in the table of that name), the computed ones last."""
    return tuple(c for c in COLUMNS[kind] if c.stored) + COMPUTED.get(kind, ())


def identity_columns(kind: str) -> tuple[Column, ...]:
    """The columns a row's content is hashed over (:data:`IDENTITY_COLUMNS`), in that order."""
    return tuple(column(kind, name) for name in IDENTITY_COLUMNS[kind])


def repeat_columns(kind: str) -> tuple[Column, ...]:
    """The columns that tell two rows of a file with one natural key apart: the identity columns
    and :data:`REPEAT_COLUMNS`."""
    return identity_columns(kind) + tuple(column(kind, name) for name in REPEAT_COLUMNS.get(kind, ()))


def required_columns(kind: str) -> tuple[str, ...]:
    """Names of the columns a file of ``kind`` must have."""
    return tuple(c.name for c in COLUMNS[kind] if c.required)


_UNIT_SUFFIX = re.compile(r"[\(（\[【].*?[\)）\]】]")
_SEPARATORS = re.compile(r"[\s_\-./:：·]+")


def normalize_header(header: str) -> str:
    """Fold a header for synonym matching.

    Full-width characters become half-width, case and separators are dropped and a
    unit in brackets is removed: ``"实付金额（元）"`` -> ``"实付金额"``,
    ``"Customer_ID"`` -> ``"customerid"``.
    """
    text = unicodedata.normalize("NFKC", str(header)).strip().lower()
    text = _UNIT_SUFFIX.sub("", text)
    return _SEPARATORS.sub("", text)
