"""The Checks tab: every data-quality check, passed or the rows it found."""

from __future__ import annotations

import duckdb
import streamlit as st

from analytics.store import audits
from ui import loaders
from ui.formats import fmt_int
from ui.i18n import t
from ui.importing.messages import check_title, column_label, maybe_text


@loaders.says_export_gone
def checked(con: duckdb.DuckDBPyConnection) -> list[audits.CheckResult]:
    """Every check's result (served marts whose export is gone: the checks read the fact tables, so the page says
    the export is gone)."""
    return audits.run_checks(con)


def checks_section(lang: str) -> None:
    """Every data-quality check: passed or how many rows it found, and the first of them."""
    with st.spinner(t("data_checks_running", lang)):
        results = checked(loaders.connection())
    passed = sum(r.passed for r in results)
    st.caption(t("data_checks_summary", lang, passed=fmt_int(passed, lang), total=fmt_int(len(results), lang)))
    for r in sorted(results, key=lambda r: r.passed):  # findings first
        state = t("data_check_passed", lang) if r.passed else t("data_check_found", lang, n=fmt_int(r.count, lang))
        with st.expander(f"{check_title(r.name, lang)} — {state}",
                         icon=":material/check_circle:" if r.passed else ":material/warning:"):
            st.caption(maybe_text(f"data_check_{r.name}_help", lang) or r.description)
            if r.passed:
                continue
            sample = r.sample.rename(columns=lambda c: column_label(c, lang))
            st.dataframe(sample, hide_index=True, width="stretch")
            if r.count > len(r.sample):
                st.caption(t("data_check_sample", lang, shown=fmt_int(len(r.sample), lang),
                             total=fmt_int(r.count, lang)))
