"""The import pipeline's sentences, and the names it uses, in the page's language.

The pipeline speaks English (its reports and errors are also the command line's);
:func:`localize` puts its known sentences into the page's language and leaves any other
text as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from analytics.errors import CRMError, EncodingNotDetected, FileReadError, MappingError
from ui.formats import fmt_int
from ui.i18n import t


def maybe_text(key: str, lang: str, **values: object) -> str | None:
    """The message `key`, or None when the catalogue has none (an optional translation)."""
    try:
        return t(key, lang, **values)
    except KeyError:
        return None


def column_label(name: str, lang: str) -> str:
    """A canonical column's (or a check's sample column's) name for people; the name itself when unknown."""
    return maybe_text(f"data_col_{name}", lang) or name


_POSITIONAL = re.compile(r"column (\d+)")  # a column of a file without a header row


def header_label(header: str, lang: str, samples: Sequence[str] = ()) -> str:
    """A file column's name for people: ``column 3`` (of a file without a header row) as
    "第 3 列" / "column 3", followed by a few of its values when given
    ("column 3 (19970101, 19970118, …)"); any other name as it is."""
    position = _POSITIONAL.fullmatch(header)
    name = t("data_column_position", lang, n=fmt_int(int(position.group(1)), lang)) if position else header
    if not samples:
        return name
    return t("data_column_samples", lang, column=name, values=("、" if lang == "zh" else ", ").join(samples))


def _file_columns(text: str, lang: str) -> str:
    """A list of a file's column names; those of a file without a header row (``column 1,
    column 2, ...``) in the page's language."""
    names = text.split(", ")
    if not all(_POSITIONAL.fullmatch(name) for name in names):
        return text
    return ("、" if lang == "zh" else ", ").join(header_label(name, lang) for name in names)


def kind_label(kind: str, lang: str) -> str:
    """The name of a kind of file: ``transactions`` → "交易明细" / "Transactions"."""
    return maybe_text(f"data_kind_{kind}", lang) or kind


def check_title(name: str, lang: str) -> str:
    """A data-quality check's name for people (its file name when the catalogue has none)."""
    return maybe_text(f"data_check_{name}", lang) or name


def stage_label(stage: str, lang: str) -> str:
    """What the pipeline is doing (a ``progress`` callback's stage), for a progress bar."""
    return maybe_text("data_stage_" + re.sub(r"\W+", "_", stage), lang) or t("data_stage_working", lang)


# The pipeline's sentences (analytics.ingest.pipeline, analytics.ingest.mapping, analytics.ingest.readers) and the
# message each becomes. Named groups fill the message's placeholders (see _FORMATS).
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), key) for p, key in (
    # a failure no rule foresaw (ui.importing.staged.unexpected)
    (r"an unexpected error while reading the file \((?P<error>.+)\); nothing was written",
     "data_error_unexpected_read"),
    (r"an unexpected error while writing the file \((?P<error>.+)\); nothing was written",
     "data_error_unexpected_write"),
    # reasons a row or cell is rejected, and why a row is excluded
    (r"(?P<column>\w+) is empty", "data_reason_empty"),
    (r"not a date in the chosen day/month order", "data_reason_not_date_order"),
    (r"not a date", "data_reason_not_date"),
    (r"date out of range \(1900-2100\)", "data_reason_date_range"),
    (r"not a number", "data_reason_not_number"),
    (r"not an amount", "data_reason_not_amount"),
    (r"score is empty \(required for a survey\)", "data_reason_score_empty"),
    (r"score (?P<score>\S+) is outside the CSAT scale 1-5", "data_reason_csat_range"),
    (r"score (?P<score>\S+) is outside the NPS scale 0-10", "data_reason_nps_range"),
    (r"unknown scale \(use CSAT or NPS\)", "data_reason_unknown_scale"),
    (r"unknown feedback kind \(use survey or complaint\)", "data_reason_unknown_feedback_kind"),
    (r"unknown outcome \(use won or lost, or leave empty\)", "data_reason_unknown_outcome"),
    (r"expected (?P<expected>\d+) cells, found (?P<found>\d+)", "data_reason_cells"),
    (r"the quote opened in column (?P<n>\d+) \((?P<header>.+)\) is not closed; the lines below it are read as rows",
     "text_reason_unclosed_quote_named"),
    (r"the quote opened in column (?P<n>\d+) is not closed; the lines below it are read as rows",
     "text_reason_unclosed_quote"),
    (r"the line is longer than (?P<limit>[\d,]+) bytes", "text_reason_long_line"),
    (r"date out of range \(1900-2100\): read as (?P<reading>\S+)", "data_reason_date_range_read"),
    (r"(?P<column>\w+) has more decimal places than the 4 the store keeps", "data_reason_places"),
    (r"repeated header", "data_excluded_repeated_header"),
    (r"blank line", "data_excluded_blank_line"),
    (r"blank row", "data_excluded_blank_row"),
    (r"total row", "data_excluded_total_row"),
    # where the other row of a conflict is
    (r"line (?P<line>\d+) of this file", "data_other_in_file"),
    (r"import #(?P<import_id>\d+), line (?P<line>\d+)", "data_other_in_db"),
    # why a date column was read day-first or month-first
    (r"chosen", "data_why_chosen"),
    (r"values such as (?P<example>.+) only fit day/month/year", "data_why_dmy"),
    (r"values such as (?P<example>.+) only fit month/day/year", "data_why_mdy"),
    (r"values such as (?P<first>.+) fit only day/month/year and values such as (?P<second>.+) "
     r"only month/day/year", "data_why_mixed"),
    (r"every value \(e\.g\. (?P<example>.+)\) fits both orders", "data_why_both"),
    # decisions the report asks for
    (r"column (?P<header>.+): its dates mix day/month and month/day orders; choose one order "
     r"\(values that do not fit it are rejected\)", "data_confirm_mixed"),
    (r"column (?P<header>.+): dates like (?P<example>.+) could be day/month/year or month/day/year; "
     r"proposed month/day/year, confirm or choose", "data_confirm_ambiguous"),
    (r"date columns read in different orders; choose one order", "data_confirm_orders_differ"),
    # notes
    (r"(?P<n>\d+) rows repeat an earlier row with the same key exactly; each is imported once",
     "data_note_duplicates"),
    (r"(?P<n>\d+) rows without an id repeat an earlier row of this file exactly; each is kept as a "
     r"separate record", "data_note_identical"),
    (r"(?P<n>\d+) rows have a negative amount and are kept as returns", "data_note_returns"),
    (r"(?P<n>\d+) rows have an amount of zero", "data_note_zero"),
    (r"(?P<n>\d+) rows share a key with another row but differ in values; they are not imported "
     r"\(listed under conflicts\)", "data_note_conflicts"),
    (r"(?P<n>\d+) orders are in the database with other lines; the stored orders are kept and their "
     r"(?P<lines>\d+) lines in this file are not imported \(listed under amended orders; choose to replace them "
     r"to import this file's version\)", "data_note_amended_kept"),
    (r"(?P<n>\d+) orders are in the database with other lines; they are replaced by this file's version: "
     r"(?P<lines>\d+) lines imported, (?P<replaced>\d+) stored lines replaced \(undoing the import puts them "
     r"back\)", "data_note_amended_replaced"),
    (r"(?P<n>\d+) orders continue orders already in the database \(their other lines came in an earlier "
     r"file\): (?P<lines>\d+) new lines are added to them, and each is still one order", "store_note_orders_continued"),
    (r"(?P<n>\d+) rows without an order number are amended rows \(a stored purchase, the same customer, date and "
     r"product, with other figures; lines (?P<at>[\d, .]+)\): the stored rows are kept and these are not "
     r"imported \(choose to replace them to import this file's version\)", "store_note_amended_rows_kept"),
    (r"(?P<n>\d+) rows without an order number are amended rows \(a stored purchase, the same customer, date and "
     r"product, with other figures; lines (?P<at>[\d, .]+)\): they replace the stored rows \(undoing the "
     r"import puts them back\)", "store_note_amended_rows_replaced"),
    (r"this exact file was imported before as (?P<ids>#\d+(?:, #\d+)*)", "data_note_imported_before"),
    (r"(?P<n>\d+) scores have no scale; read as CSAT 1–5 \(scores range from (?P<low>\S+) to (?P<high>\S+)\)",
     "data_note_scale_csat"),
    (r"(?P<n>\d+) scores have no scale; read as NPS 0–10 \(scores range from (?P<low>\S+) to (?P<high>\S+)\)",
     "data_note_scale_nps"),
    (r"nothing new: every valid row is already in the database", "data_note_nothing_new"),
    # leads in three shapes (analytics.ingest.leads) and their rows that replace stored ones (ingest.report)
    (r"leads in one row per lead per stage reached: column (?P<header>.+) gives the day each stage was reached; "
     r"each row is stored", "leads_note_shape_history"),
    (r"leads in one row per lead with a date per stage \((?P<dated>.+)\): each row is stored with the lead's "
     r"current stage", "leads_note_shape_dates"),
    (r"leads in one row per lead with its current stage: each row is stored; the stages before it are reached on "
     r"days the file does not say", "leads_note_shape_current"),
    (r"the file has no stage column: each lead's stage is the furthest its columns (?P<dated>.+) reach \(won or lost "
     r"by its outcome, closed for a closed date without one, proposal, target, else potential\)",
     "leads_note_stage_derived"),
    (r"the file has no created date column: each lead was created on its earliest stage date in this file "
     r"\((?P<header>.+)\)", "leads_note_created_from_stages"),
    (r"column (?P<header>.+): (?P<n>\d+) rows have no created date; each takes its lead's created date from another "
     r"row of this file, else its earliest stage date \((?P<stage>.+)\)", "leads_note_created_filled_stages"),
    (r"column (?P<header>.+): (?P<n>\d+) rows have no created date; each takes its lead's created date from another "
     r"row of this file", "leads_note_created_filled"),
    (r"(?P<n>\d+) rows amend rows stored by earlier imports \(the same key with other values; lines "
     r"(?P<at>[\d, .]+)\): they replace the stored rows \(undoing the import puts them back\)", "leads_note_amended"),
    (r"created_date is empty and its lead has no stage date in this file", "leads_reason_no_created_date"),
    # values (analytics.ingest.staging, validate, parquet): scales, look-alike keys, header lines, years, zones
    (r"column (?P<header>.+): scores (?P<span>1–5|0–10) in (?P<fit>\d+) of (?P<n>\d+) rows; "
     r"read as (?P<label>CSAT 1–5|NPS 0–10)", "data_note_scale_evidence"),
    (r"column (?P<header>.+): scores (?P<span>1–5|0–10) in (?P<fit>\d+) of (?P<n>\d+) rows; (?P<out>\d+) outside: "
     r"rejected; read as (?P<label>CSAT 1–5|NPS 0–10)", "data_note_scale_evidence_rejected"),
    (r"column (?P<header>.+): scores (?P<span>1–5|0–10) in (?P<fit>\d+) of (?P<n>\d+) rows; "
     r"read as (?P<label>CSAT 1–5|NPS 0–10), as chosen", "data_note_scale_chosen"),
    (r"column (?P<header>.+): scores (?P<span>1–5|0–10) in (?P<fit>\d+) of (?P<n>\d+) rows; (?P<out>\d+) outside: "
     r"rejected; read as (?P<label>CSAT 1–5|NPS 0–10), as chosen", "data_note_scale_chosen_rejected"),
    (r"column (?P<header>.+): the scores fit no one scale \(1–5 in (?P<fit_csat>\d+) of (?P<n>\d+) rows, 0–10 in "
     r"(?P<fit_nps>\d+) of \d+\); proposed (?P<label>CSAT 1–5|NPS 0–10), confirm or choose the scale \(scores "
     r"outside it are rejected\)", "data_confirm_scale"),
    (r"column (?P<header>.+): (?P<n>\d+) values written with look-alike characters were normalised "
     r"\(e\.g\. '(?P<old>.*)' → '(?P<new>.*)'\)", "data_note_normalised"),
    (r"(?P<n>\d+) lines repeat the header row \(files joined together\?\); they are excluded",
     "data_note_repeated_header"),
    (r"column (?P<header>.+): (?P<n>\d+) dates have a two-digit year \(e\.g\. (?P<example>.+)\); 00–68 are read "
     r"as 2000–2068 and 69–99 as 1969–1999", "data_note_two_digit_year"),
    (r"column (?P<header>.+): times with a time zone are read as dates in (?P<zone>\S+) \(the import time zone "
     r"setting\)", "data_note_time_zone"),
    (r"the first line is data, not column names: the columns are named column 1, column 2, \.\.\. by position",
     "data_note_headerless"),
    (r"no header row, as chosen: the columns are named column 1, column 2, \.\.\. by position", "data_note_no_header"),
    (r"the columns are separated by runs of spaces \(spaces at the start and end of a line are ignored\)",
     "data_note_spaces"),
    (r"the data-quality checks could not run \((?P<error>.*)\); run them again with .*", "data_note_checks_failed"),
    # errors
    (r"(?P<file>.+): the file is empty", "data_error_empty_file"),
    (r"(?P<file>.+): header row (?P<n>\d+) is outside the file \(it has (?P<lines>\d+) lines\)",
     "text_error_header_outside"),
    (r"the file has no rows", "data_error_no_rows"),
    (r"(?P<file>.+): unsupported file type (?P<ext>\S+); use CSV, TSV, Excel \.xlsx or Parquet",
     "data_error_file_type"),
    (r"(?P<file>.+): old Excel \.xls files are not read; open it in Excel and save it as \.xlsx \(or CSV\)",
     "data_error_xls"),
    (r"cannot tell what kind of file this is from its columns \((?P<columns>.*)\); choose the kind .*",
     "data_error_kind_unknown"),
    (r"a (?P<kind>\w+) file needs the column\(s\) (?P<missing>.+), which were not found among (?P<columns>.*); "
     r"map them explicitly", "data_error_missing_columns"),
    (r"(?P<file>.+) is not valid (?P<encoding>\S+): line (?P<line>\d+), column (?P<column>\d+) "
     r"\(byte (?P<byte>0x[0-9A-F]{2})\)", "data_error_encoding_declared"),
    # encodings considered and why each was refused, a BOM skipped, a workbook named .csv (ingest.encoding)
    *((r"(?P<file>.+): cannot tell the text encoding\. Considered: UTF-8(?P<bom> after its UTF-8 byte-order mark)? "
       r"\(byte (?P<byte>0x[0-9A-F]{2}) on line (?P<line>\d+), column (?P<column>\d+) is not UTF-8\); GB18030/GBK \("
       + why + r"\)\. .+ are not guessed: name the file's encoding with --encoding on the command line or under "
       r"“Text encoding” in the app\.", key) for why, key in (
        (r"byte (?P<gb_byte>0x[0-9A-F]{2}) on line (?P<gb_line>\d+), column (?P<gb_column>\d+) is not GB18030",
         "encoding_error_not_gb18030"),
        (r"the text would not be Chinese: (?P<n>\d+) of its (?P<total>\d+) non-ASCII characters are rare or not "
         r"Chinese, e\.g\. (?P<sample>.+)", "encoding_error_not_chinese"),
        *((r"the text would be uncommon Chinese: only (?P<n>\d+) of its (?P<total>\d+) different characters are "
           r"among the 1,000 most common, e\.g\. (?P<sample>.+); it reads as " + language + r" in (?P<codec>\S+), "
           r"e\.g\. (?P<theirs>.+)", f"encoding_error_reads_as_{language.lower()}")
          for language in ("Korean", "Japanese")))),
    (r"the file starts with a UTF-8 byte-order mark but its text is (?P<encoding>.+); the mark was skipped",
     "encoding_note_bom_skipped"),
    (r"the file's name says (?P<suffix>\.\w+) but it is an Excel workbook \(\.xlsx\); it was read as one",
     "encoding_note_workbook_renamed"),
    (r"the file's name says (?P<suffix>\.\w+) but it is a Parquet file; it was read as one",
     "encoding_note_parquet_renamed"),
    (r"(?P<file>.+): the file's name says (?P<suffix>\.\w+) but it is an old Excel workbook \(\.xls\), which is "
     r"not read; open it in Excel and save it as \.xlsx \(or CSV\)", "encoding_error_xls_renamed"),
    # amounts and costs derived from unit price × quantity and profit; customer attributes of sales files
    (r"quantity is empty: the amount is unit price × quantity", "data_reason_no_quantity"),
    (r"unit price is empty: the amount is unit price × quantity", "data_reason_no_unit_price"),
    (r"unit price × quantity is out of range", "data_reason_amount_range"),
    (r"the file has no amount column: each row's amount is its unit price \((?P<unit_price>.+)\) × its quantity "
     r"\((?P<quantity>.+)\); a negative quantity makes it a return", "data_note_amount_derived"),
    (r"the file has no cost column: each row's cost is its amount less its profit \((?P<profit>.+)\), so its "
     r"margin is the profit", "data_note_cost_derived"),
    (r"column (?P<header>.+): every profit is between -1 and 1 \(line (?P<line>\d+): (?P<profit>\S+) on an amount "
     r"of (?P<amount>\S+)\); if these are margin rates, not amounts, .*", "data_note_profit_rates"),
    (r"(?P<n>\d+) customers? ha(?:s|ve) more than one name, segment, province or city in this file or against earlier "
     r"imports .*", "data_note_attribute_conflicts"),
    # Excel workbooks (analytics.ingest.excel) and ids that lost their leading zeros (analytics.ingest.padding)
    (r"(?P<n>\d+) numbers were read as their cells show them, zero-padded by their number format "
     r"\(e\.g\. (?P<example>.+)\)", "data_note_excel_padded_format"),
    (r"merged cells filled with the value of their top-left cell: (?P<n>\d+) cells in (?P<ranges>\d+) ranges "
     r"\((?P<listed>.+)\)", "data_note_excel_merged"),
    (r"(?P<n>\d+) cells are formulas without a saved value \(e\.g\. (?P<cells>.+?)\) and read as empty: the program "
     r"that wrote the workbook does not calculate formulas; open it in Excel or WPS, save it and import it again",
     "data_note_excel_formulas"),
    (r"(?P<field>\w+(?: \w+)?) is a formula without a saved value \(cell (?P<cell>[A-Z]+[0-9]+)\): the program "
     r"that wrote the workbook does not calculate formulas; open it in Excel or WPS, save it and import it again",
     "data_reason_excel_formula"),
    (r"other sheets, not imported: (?P<sheets>.+); choose the sheet to import another one",
     "data_note_excel_other_sheets"),
    (r"the sheet imported, '(?P<sheet>.+)', is hidden in the workbook", "data_note_excel_hidden_chosen"),
    (r"(?P<file>.+) has no sheet with cells \(only charts\)", "data_error_excel_charts_only"),
    (r"(?P<file>.+): sheet '(?P<sheet>.+)' is a chart, not a table of cells", "data_error_excel_chart"),
    (r"column (?P<header>.+): (?P<n>\d+) ids match ids in the database only when zero-padded to (?P<width>\d+) "
     r"digits \(e\.g\. (?P<examples>.+)\); pad this file's shorter ids to (?P=width) digits, or keep them as "
     r"written \(then they are new ids\)", "data_confirm_excel_pad"),
    (r"column (?P<header>.+): (?P<padded>\d+) ids zero-padded to (?P<width>\d+) digits, as chosen \((?P<n>\d+) of "
     r"them match ids in the database, e\.g\. (?P<examples>.+)\)", "data_note_excel_padded"),
    (r"column (?P<header>.+): kept as written, as chosen \((?P<n>\d+) ids would match ids in the database if "
     r"zero-padded to (?P<width>\d+) digits, e\.g\. (?P<examples>.+)\)", "data_note_excel_kept"),
))


_SHEET = re.compile(r"'(?P<name>.*?)'(?= \(|, '|$)(?: \((?P<said>[^()]*)\))?(?:, |$)")
_SHEET_WORDS = {"hidden": "data_excel_sheet_hidden", "very hidden": "data_excel_sheet_very_hidden",
                "a table of known columns": "data_excel_sheet_table"}


def _sheet_list(text: str, lang: str) -> str:
    """A workbook's sheets as the Excel reader lists them (``'Q2' (hidden; a table of known
    columns), 'Notes'``) in the page's language; the text as it is when it is not such a list."""
    items, end = [], 0
    for match in _SHEET.finditer(text):
        if match.start() != end:
            return text
        end = match.end()
        said = [t(_SHEET_WORDS[w], lang) if w in _SHEET_WORDS else w for w in (match["said"] or "").split("; ") if w]
        items.append(t("data_excel_sheet_item_said", lang, name=match["name"], said=("，" if lang == "zh" else "; ")
                       .join(said)) if said else t("data_excel_sheet_item", lang, name=match["name"]))
    if not items or end != len(text):
        return text
    return ("、" if lang == "zh" else ", ").join(items)


def _list_of_columns(text: str, lang: str) -> str:
    names = [column_label(n.strip(), lang) for n in text.split(",")]
    return ("、" if lang == "zh" else ", ").join(names)


# How a named group's text is shown; any other group is shown as it is.
_FORMATS: dict[str, Callable[[str, str], str]] = {
    **dict.fromkeys(("n", "line", "expected", "found", "import_id", "lines", "replaced", "padded", "fit", "out",
                     "fit_csat", "fit_nps"),
                    lambda v, lang: fmt_int(int(v), lang)),
    "field": lambda v, lang: column_label(v.replace(" ", "_"), lang),
    "sheets": _sheet_list,
    "column": column_label,
    "bom": lambda v, lang: ("" if lang == "zh" else " ") + t("encoding_after_bom", lang) if v else "",
    "total": lambda v, lang: fmt_int(int(v), lang),
    "kind": kind_label,
    "missing": _list_of_columns,
    "columns": _file_columns,
    "dated": lambda v, lang: ("、" if lang == "zh" else ", ").join(v.split(", ")),  # a leads file's date columns
}


def _translated(text: str, lang: str) -> str | None:
    for pattern, key in _PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            values = {name: _FORMATS.get(name, lambda v, _lang: v)(value, lang)
                      for name, value in match.groupdict().items()}
            return t(key, lang, **values)
    return None


def localize(text: str | None, lang: str) -> str:
    """A sentence of the import pipeline in the page's language.

    Parameters
    ----------
    text : str or None
        A reject reason, note, decision asked for, or error message as the pipeline wrote it.
    lang : str
        One of ``ui.i18n.LANGUAGES``.

    Returns
    -------
    str
        The message for a known sentence, numbers formatted and column names translated; any
        other text unchanged (empty for None).
    """
    if not text:
        return ""
    return _translated(text, lang) or text


def error_text(exc: CRMError, lang: str) -> str:
    """What went wrong and what to do next, for an error the pipeline raised."""
    known = _translated(str(exc), lang)
    if known is not None:
        return known
    if isinstance(exc, EncodingNotDetected):
        key = "data_error_encoding_other"
    elif isinstance(exc, FileReadError):
        key = "data_error_read"
    elif isinstance(exc, MappingError):
        key = "data_error_mapping"
    else:
        key = "data_error_other"
    return t(key, lang, detail=str(exc))
