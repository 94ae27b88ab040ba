"""CSV and Excel downloads that a spreadsheet cannot run as formulas.

In a CSV file, a cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is read as a formula by Excel, LibreOffice and Google Sheets when the file is opened
("CSV injection", OWASP): such text gets a leading apostrophe, so it shows as the text it is.
An ``.xlsx`` file says of each cell whether it is text or a formula: its text cells are written
as text, exactly as they are (``+1`` stays ``+1``, never ``'+1``), and never as formulas.
"""

from __future__ import annotations

import io
import re
import unicodedata

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SHEET_NAME_MAX = 31
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_FILE_NAME_MAX = 100
_COLUMN_WIDTH_MIN = 8
_COLUMN_WIDTH_MAX = 60
_WIDTH_SAMPLE_ROWS = 1000


def _neutral(value: object) -> object:
    """`value` with an apostrophe before it when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralize(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` in which no text cell or column name starts a formula.

    Parameters
    ----------
    df : pandas.DataFrame
        Any table.

    Returns
    -------
    pandas.DataFrame
        Same shape, dtypes and index; text starting with ``=``, ``+``, ``-``, ``@``, a tab or
        a carriage return in object, string and categorical columns and in the column names
        gets a leading ``'``. Numbers (a negative one too), dates and missing values are left
        as they are. A categorical column in which two categories would become the same text
        (``"=a"`` and ``"'=a"``) becomes a text column.
    """
    out = df.rename(columns=_neutral)
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype | pd.CategoricalDtype):
            out.isetitem(position, column.map(_neutral, na_action="ignore"))
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """The table as a CSV file for download.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; its index is not written.

    Returns
    -------
    bytes
        The `neutralize`-d table as comma-separated values, UTF-8 with a byte order mark (so
        Excel reads Chinese text correctly) and CRLF line ends (RFC 4180).
    """
    return neutralize(df).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def _sheet_name(name: str) -> str:
    """`name` made a valid Excel sheet name: no ``[]:*?/\\``, no apostrophe at either end, 1 to 31 characters."""
    cleaned = _SHEET_NAME_BAD.sub("_", name)[:_SHEET_NAME_MAX].strip("'")
    if not cleaned:
        return "data"
    # Excel reserves "History" for its change tracking
    return cleaned + "_" if cleaned.lower() == "history" else cleaned


def _display_width(text: str) -> int:
    """Columns `text` takes in a spreadsheet: Chinese, Japanese and Korean characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _column_width(name: object, values: pd.Series) -> int:
    """A column width that fits the name and the longest of the first values, within 8 to 60."""
    sample = values.head(_WIDTH_SAMPLE_ROWS).dropna().astype(str)
    longest = max((_display_width(text) for text in sample), default=0)
    padded = max(_display_width(str(name)), longest) + 2
    return min(max(padded, _COLUMN_WIDTH_MIN), _COLUMN_WIDTH_MAX)


def to_xlsx_bytes(df: pd.DataFrame, sheet_name: str = "data") -> bytes:
    """The table as an Excel workbook for download.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; its index is not written.
    sheet_name : str
        Name of the one sheet; characters Excel forbids become ``_`` and it is cut to 31
        characters.

    Returns
    -------
    bytes
        An .xlsx file of the table, text kept as it is (no apostrophe: an xlsx text cell is
        never a formula), written by xlsxwriter with text never turned into formulas or links,
        the header row frozen and each column as wide as its content (8 to 60 characters).
    """
    name = _sheet_name(sheet_name)
    buffer = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        df.to_excel(writer, sheet_name=name, index=False)
        worksheet = writer.sheets[name]
        worksheet.freeze_panes(1, 0)
        for position, column_name in enumerate(df.columns):
            worksheet.set_column(position, position, _column_width(column_name, df.iloc[:, position]))
    return buffer.getvalue()


def download_name(stem: str, ext: str) -> str:
    """A file name that is safe to offer for download.

    Parameters
    ----------
    stem : str
        The name before the extension, e.g. ``"客户 2024/01"``. Letters of any script (Chinese
        too), digits, ``-``, ``_`` and ``.`` are kept; anything else (path separators, spaces,
        control and shell characters) becomes ``_``, runs of ``_`` become one, and dots and
        underscores at either end go. Cut to 100 characters; ``"download"`` when nothing is left.
    ext : str
        The extension, e.g. ``"csv"`` or ``".xlsx"``; letters and digits only.

    Returns
    -------
    str
        ``"<stem>.<ext>"``, e.g. ``"客户_2024_01.csv"``.

    Raises
    ------
    ValueError
        When `ext` is empty or holds anything but letters and digits.
    """
    extension = ext.removeprefix(".").lower()
    if not (extension.isascii() and extension.isalnum()):
        raise ValueError(f"file extension must be letters and digits, got {ext!r}")
    kept = "".join(char if char.isalnum() or char in "-_." else "_" for char in stem)
    cleaned = re.sub(r"_+", "_", kept)[:_FILE_NAME_MAX].strip("._")
    return f"{cleaned or 'download'}.{extension}"
