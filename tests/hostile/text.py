"""Hostile CSV files of issue 10 (findings 1, 13, 15, 16, 18 and 20): the structure of a text file.

Each builder returns the bytes of a ``.csv`` file an analyst could upload as a sales file
(transactions); :data:`FILES` lists them for the browser tour, and the regression tests in
``tests/test_hardening_text.py`` import the same builders.
"""

from __future__ import annotations

HEADER = ["订单编号", "客户编号", "订单日期", "实付金额", "商品名称"]


def _row(i: int, product: str = "茶叶") -> list[str]:
    return [f"SO{i}", f"C{i}", f"2024-01-{i % 28 + 1:02d}", f"{i}0", product]


def _text(rows: list[list[str]], end: str = "\n") -> str:
    return "".join(",".join(r) + end for r in rows)


def unclosed_quote() -> bytes:
    """1: line 3 ends with an opening quote (``…,"A``) that nothing closes; lines 4-5 are rows."""
    lines = [",".join(HEADER), ",".join(_row(1)), ",".join(_row(2)[:4]) + ',"A', ",".join(_row(3)),
             ",".join(_row(4))]
    return ("\n".join(lines) + "\n").encode("utf-8")


def mixed_line_endings() -> bytes:
    """13: LF and CRLF lines in one file (DuckDB's reader stops on it): rows on lines 2-5."""
    return (",".join(HEADER) + "\n" + "".join(",".join(_row(i)) + ("\r\n" if i % 2 else "\n")
                                               for i in range(1, 5))).encode("utf-8")


def cr_cr_lf() -> bytes:
    """13: every line ends CR CR LF (a CRLF text written again in text mode on Windows): each
    line is followed by an empty one, as Excel and text editors show it; rows on lines 3, 5, 7."""
    return _text([HEADER, *(_row(i) for i in range(1, 4))], "\r\r\n").encode("utf-8")


BIG_CELL = 140 * 1024  # characters: over the csv module's default field limit (128 KiB)


def big_cell() -> bytes:
    """15: a product name of 140 KiB on line 2, among the top lines the header is searched in."""
    return _text([HEADER, _row(1, "长" * BIG_CELL), _row(2)]).encode("utf-8")


def header_line_break() -> bytes:
    """16: the header cell 订单日期 holds a line break (Alt+Enter in Excel), quoted: the header
    spans lines 1-2, rows on lines 3-4."""
    return ('订单编号,客户编号,"订单\n日期",实付金额,商品名称\n' + _text([_row(1), _row(2)])).encode("utf-8")


def blank_lines(n: int = 200_000) -> bytes:
    """18: ``n`` blank lines between two rows (lines 2 and ``n`` + 3)."""
    return (",".join(HEADER) + "\n" + ",".join(_row(1)) + "\n" + "\n" * n + ",".join(_row(2)) + "\n").encode()


def ragged_rows(n: int = 20_000) -> bytes:
    """18: ``2 n`` rows, every other one with a sixth cell (a reject): lines 2 .. 2 n + 1."""
    rows = [_row(i) + (["多余"] if i % 2 else []) for i in range(2 * n)]
    return _text([HEADER, *rows]).encode("utf-8")


def header_far_down(notes: int = 80) -> bytes:
    """20: ``notes`` lines of export notes above the header (line ``notes`` + 1), rows below."""
    top = "".join(f"导出说明第{i}行\n" for i in range(1, notes + 1))
    return (top + _text([HEADER, _row(1), _row(2)])).encode("utf-8")


FILES: list[tuple[int, str, bytes]] = [
    (1, "unclosed_quote.csv", unclosed_quote()),
    (13, "mixed_line_endings.csv", mixed_line_endings()),
    (13, "cr_cr_lf.csv", cr_cr_lf()),
    (15, "big_cell.csv", big_cell()),
    (16, "header_line_break.csv", header_line_break()),
    (18, "blank_lines.csv", blank_lines()),
    (18, "ragged_rows.csv", ragged_rows(2_000)),
    (20, "header_far_down.csv", header_far_down()),
]
