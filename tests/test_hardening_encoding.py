"""Issue 10, text encodings: Korean and Japanese files are not read as GB18030 (#3), a GBK file
behind a UTF-8 BOM imports (#14), a workbook renamed ``.csv`` is read as a workbook (#20).

The hostile files are those of ``tests/hostile/encoding.py`` (the browser tour's)."""

from __future__ import annotations

import codecs
import string
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.errors import EncodingNotDetected, FileReadError
from analytics.ingest.encoding import check_declared, detect_encoding
from analytics.ingest.pipeline import import_file
from tests.hostile.encoding import (
    CHINESE_HEADER,
    CHINESE_ROWS,
    FILES,
    HEADER,
    JAPANESE_ROWS,
    KOREAN_ROWS,
    csv_text,
)
from tests.import_util import READERS, con_fixture, rows  # noqa: F401 (the fixture)
from ui.importing.messages import error_text, localize

HOSTILE = {name: data for _, name, data in FILES}


def hostile(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(HOSTILE[name])
    return path


def stored(con) -> list[tuple]:
    return rows(con, "select customer_id, region, channel from transactions order by line")


# --------------------------------------------------------------------------- #3 Korean, Japanese

@pytest.mark.parametrize("force_python", READERS)
@pytest.mark.parametrize(("name", "codec", "language"), [("korean_euc_kr.csv", "EUC-KR", "Korean"),
                                                          ("japanese_euc_jp.csv", "EUC-JP", "Japanese")])
def test_korean_and_japanese_files_are_refused_not_imported_as_mojibake(con, tmp_path, force_python, name,
                                                                        codec, language):
    path = hostile(tmp_path, name)
    with pytest.raises(EncodingNotDetected) as err:
        import_file(con, path, commit=True, force_python=force_python)
    message = str(err.value)
    # which encodings were considered, why each was refused, and how to name one
    assert "Considered: UTF-8 (byte 0x" in message and "is not UTF-8); GB18030/GBK (" in message
    assert f"it reads as {language} in {codec}" in message
    assert "--encoding" in message and "“Text encoding”" in message
    assert rows(con, "select count(*) from imports") == [(0,)]
    assert rows(con, "select count(*) from transactions") == [(0,)]
    for lang in ("zh", "en"):  # the app says it in the page's language, with the same facts
        text = error_text(err.value, lang)
        assert codec in text and name in text and text != message


BIG5_ROWS = [("T1", "C1", "2024-01-05", "10", "臺北", "門市", "陳大文"),
             ("T2", "C2", "2024-01-06", "20", "高雄", "網路", "林小美")]


@pytest.mark.parametrize(("codec", "records"), [("euc-kr", KOREAN_ROWS), ("euc_jp", JAPANESE_ROWS),
                                                 ("shift_jis", JAPANESE_ROWS), ("cp949", KOREAN_ROWS),
                                                 ("big5", BIG5_ROWS)])
@pytest.mark.parametrize("force_python", READERS)
def test_a_named_encoding_imports_the_text_exactly(con, tmp_path, force_python, codec, records):
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_text(HEADER, records).encode(codec))
    assert check_declared(path, codec) == codecs.lookup(codec).name
    report = import_file(con, path, commit=True, encoding=codec, force_python=force_python)
    assert (report.encoding, report.rows_imported) == (codecs.lookup(codec).name, len(records))
    assert stored(con) == [(r[1], r[4], r[5]) for r in records]
    assert rows(con, "select customer_id, customer_name from customer_summary order by customer_id") == [
        (r[1], r[6]) for r in records]


def _demo_transactions(tmp_path: Path) -> Path:
    from analytics.ingest import demo

    files = demo.write_files(demo.generate(size=1_500, seed=3), tmp_path / "demo")
    return next(f.path for f in files if f.kind == "transactions")


@pytest.mark.parametrize("shape", ["demo", "names", "traditional", "one_rare_cell", "yen"])
def test_real_gbk_exports_are_still_gb18030(tmp_path, shape):
    if shape == "demo":   # the demo data as written: GB18030, Chinese headers, products, names
        path = _demo_transactions(tmp_path)
    else:
        text = {"names": csv_text(CHINESE_HEADER, [*CHINESE_ROWS, ("SO4", "9", "2024-03-01", "1", "东北", "线上",
                                                                     "诸葛亮"), ("SO5", "8", "2024-03-02", "2",
                                                                     "华南", "批发", "王堃")]),
                "traditional": "客戶,地區,金額\n陳大文,臺北市,10\n黃小玲,香港九龍,20\n",
                "one_rare_cell": "customer_id,order_date,amount,region\n1,2024-01-05,1,丙\n",
                "yen": "客户编号,订单日期,实付金额\n001,2024-01-05,¥1.00\n"}[shape]
        path = tmp_path / "orders.csv"
        path.write_bytes(text.encode("gb18030"))
    assert detect_encoding(path) == "gb18030"


KOREAN_WORDS = ("서울 부산 대구 인천 광주 대전 울산 수원 경기도 강남구 해운대 김철수 이영희 박민수 최지훈 정수진 "  # noqa: SIM905
                "윤서연 장민호 고객 주문 금액 지역 매장 온라인 도매 상품 커피 마우스 의자 볼펜 스피커 가습기 "
                "충전기 노트북 화장품 주식회사 대리점 영업 담당자 합계 배송 완료 취소 반품 할인 회원 신규").split()
KOREAN_HEADER = "고객번호 주문일자 금액 지역 채널 상품명 담당자".split()  # noqa: SIM905
JAPANESE_WORDS = ("東京 大阪 名古屋 札幌 福岡 横浜 神戸 京都 北海道 愛知県 山田 鈴木 佐藤 田中 高橋 渡辺 太郎 "  # noqa: SIM905
                  "花子 一郎 美咲 顧客 注文 金額 地域 店舗 卸売 商品 株式会社 営業 担当 合計 配送 完了 返品 割引 "
                  "会員 電話 住所 コーヒー マウス スマホ ケース ボールペン オンライン セット").split()
JAPANESE_HEADER = "顧客コード 注文日 金額 地域 チャネル 商品名 担当者".split()  # noqa: SIM905
CHINESE_WORDS = ("华东 华南 华北 西南 西北 东北 北京 上海 广州 深圳 杭州 成都 武汉 南京 张伟 王芳 李娜 刘洋 陈静 "  # noqa: SIM905
                 "杨磊 赵敏 周杰 欧阳淼 诸葛亮 门店 线上 直营 批发 零售 会员 办公椅 打印纸 保温杯 签字笔 茶叶礼盒 "
                 "数据线 鼠标垫 螺蛳粉 有限公司 天猫 京东 备注 退货 已完成 省 市 区 路 号").split()
CHINESE_HEADERS = "订单编号 客户编号 订单日期 实付金额 大区 渠道 商品名称 客户名称".split()  # noqa: SIM905
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def exports(draw: st.DrawFn, header: list[str], words: list[str]) -> str:
    """A file as an office of that language writes it: its header row, then 1-8 rows of ids,
    amounts and 2-4 cells of words."""
    columns = draw(st.lists(st.sampled_from(header), min_size=3, max_size=len(header), unique=True))
    lines = [",".join(["id", *columns])]
    for i in range(draw(st.integers(1, 8))):
        cells = draw(st.lists(st.sampled_from(words), min_size=2, max_size=4))
        amount = draw(st.integers(0, 10**6))
        lines.append(",".join([f"R{i}", str(amount), *cells]))
    return "\n".join(lines) + "\n"


def _detected(path: Path) -> str | None:
    try:
        return detect_encoding(path)
    except EncodingNotDetected:
        return None


@PROPERTY
@given(data=st.data(), codec=st.sampled_from(["euc_kr", "euc_jp", "shift_jis"]))
def test_korean_and_japanese_text_is_never_detected_as_gb18030(tmp_path, data, codec):
    header, words = (KOREAN_HEADER, KOREAN_WORDS) if codec == "euc_kr" else (JAPANESE_HEADER, JAPANESE_WORDS)
    path = tmp_path / "export.csv"
    path.write_bytes(data.draw(exports(header, words)).encode(codec))
    assert _detected(path) is None


@PROPERTY
@given(text=exports(CHINESE_HEADERS, CHINESE_WORDS), latin=st.text(string.ascii_letters, max_size=5))
def test_common_chinese_text_is_always_detected_as_gb18030(tmp_path, text, latin):
    path = tmp_path / "export.csv"
    path.write_bytes((text + latin + "\n").encode("gb18030"))
    assert _detected(path) == "gb18030"


# --------------------------------------------------------------------------- #14 a BOM before GBK

@pytest.mark.parametrize("force_python", READERS)
@pytest.mark.parametrize("encoding", [None, "gbk", "gb18030", "GBK"])
def test_gbk_behind_a_utf8_bom_imports_detected_or_named(con, tmp_path, force_python, encoding):
    path = hostile(tmp_path, "gbk_with_utf8_bom.csv")
    report = import_file(con, path, commit=True, encoding=encoding, force_python=force_python)
    base = codecs.lookup(encoding or "gb18030").name
    assert (report.encoding, report.rows_imported, report.rows_rejected) == (base + "_after_bom", 3, 0)
    note = (f"the file starts with a UTF-8 byte-order mark but its text is "
            f"{'GBK' if base == 'gbk' else 'GB18030/GBK'}; the mark was skipped")
    assert note in report.notes
    assert localize(note, "zh") != note and localize(note, "en") != note
    assert stored(con) == [(r[1], r[4], r[5]) for r in CHINESE_ROWS]


def test_a_bom_before_korean_text_is_a_clear_message(con, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(codecs.BOM_UTF8 + csv_text(HEADER, KOREAN_ROWS).encode("euc_kr"))
    with pytest.raises(EncodingNotDetected, match=r"UTF-8 after its UTF-8 byte-order mark .* Korean in EUC-KR"):
        import_file(con, path, commit=True)
    report = import_file(con, path, commit=True, encoding="euc-kr")
    assert (report.encoding, stored(con)) == ("euc_kr_after_bom", [(r[1], r[4], r[5]) for r in KOREAN_ROWS])


# --------------------------------------------------------------------------- #20 not text at all

@pytest.mark.parametrize("name", ["workbook_renamed.csv", "workbook.txt", "workbook.tsv"])
def test_a_workbook_named_csv_is_read_as_a_workbook(con, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(HOSTILE["workbook_renamed.csv"])
    report = import_file(con, path, commit=True)
    suffix = Path(name).suffix
    assert f"the file's name says {suffix} but it is an Excel workbook (.xlsx); it was read as one" in report.notes
    assert (report.file_format, report.rows_imported) == ("xlsx", 3)
    assert stored(con) == [(r[1], r[4], r[5]) for r in CHINESE_ROWS]
    assert "Excel" in localize(report.notes[-1], "en") and "Excel" in localize(report.notes[-1], "zh")


def test_a_parquet_file_named_csv_is_read_as_parquet(con, tmp_path):
    path = tmp_path / "orders.csv"
    table = pa.table({"customer_id": ["C1", "C2"], "order_date": ["2024-01-05", "2024-01-06"],
                      "amount": ["10", "20"], "region": ["华东", "华北"]})
    pq.write_table(table, path)
    report = import_file(con, path, commit=True)
    assert report.file_format == "parquet" and report.rows_imported == 2
    assert "the file's name says .csv but it is a Parquet file; it was read as one" in report.notes


def test_an_old_xls_workbook_named_csv_says_so(con, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(FileReadError, match=r"orders\.csv: the file's name says \.csv but it is an old Excel "
                                            r"workbook \(\.xls\), which is not read; open it in Excel"):
        import_file(con, path, commit=True)
    with pytest.raises(FileReadError) as err:
        import_file(con, path)
    assert ".xls" in error_text(err.value, "zh") and error_text(err.value, "zh") != str(err.value)
