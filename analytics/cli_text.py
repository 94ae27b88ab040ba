"""The command line's text for a person: an import's validation report (``python -m analytics import FILE``)."""

from __future__ import annotations

from typing import Any


def _lines(n: int) -> str:
    return f"{n:,} line" + ("" if n == 1 else "s")


def show_import_report(report: dict[str, Any]) -> None:
    """An import's validation report (:meth:`analytics.ingest.report.ImportReport.to_dict`) as text for a terminal."""
    shape = f" ({report['lead_shape'].replace('_', ' ')})" if report.get("lead_shape") else ""
    print(f"{report['file']}: {report['kind']}{shape}, {report['file_format']}, "
          f"encoding {report['encoding'] or '—'}"
          + (f", sheet {report['sheet']}" if report["sheet"] else "")
          + (f", header on line {report['header_row']}" if report["header_row"] else ""))
    print("mapping: " + ", ".join(f"{k} ← {v}" for k, v in report["mapping"].items()))
    if report["unmapped_columns"]:
        print("not used: " + ", ".join(report["unmapped_columns"]))
    for label, key in (("read", "rows_read"), ("valid", "rows_valid"), ("rejected", "rows_rejected"),
                       ("excluded (blank, totals)", "rows_excluded"),
                       ("duplicates in file", "rows_duplicate"), ("conflicts", "rows_conflicting"),
                       ("already in database", "rows_already_present"),
                       ("in amended orders, kept", "rows_amended"),
                       ("to import", "rows_to_import"), ("imported", "rows_imported")):
        print(f"  {label:>26}: {report[key]:,}")
    if report["orders"]:
        print(f"  {'orders':>26}: {report['orders']:,}")
    if report.get("orders_continued"):
        print(f"  {'continuing stored orders':>26}: {report['orders_continued']:,}")
    for a in report.get("amended_keys", [])[:50]:  # a leads file's rows that replace stored ones
        print(f"  amended: line {a['line']} (key {a['key']}) replaces {a['replaces']} (changed: "
              f"{', '.join(a['changed'])}; undo puts it back)")
    for a in report.get("amended_rows", [])[:50]:
        print(f"  amended row, line {a['line']}: customer {a['customer_id']}, {a['order_date']}, "
              f"product {a['product']}: amount {a['amount']} in the file, {a['stored']} stored "
              f"(import #{a['import_id']})")
    if report["orders_amended"]:
        what = ("replaced by this file's version" if report["amended_policy"] == "replace"
                else "kept as stored (--amended replace imports this file's version)")
        print(f"{report['orders_amended']:,} amended orders (in the database with other lines), {what}:")
        for a in report["amended"][:50]:
            print(f"  order {a['order']} (line {a['line']}): {a['lines_in_file']} lines in the file, "
                  f"{a['lines_stored']} stored (import #{a['import_id']}); {a['only_in_file']} only in the file, "
                  f"{a['only_stored']} only stored")
        if report["rows_replaced"]:
            print(f"  {report['rows_replaced']:,} stored lines replaced (undo puts them back)")
    for col, reading in report["date_readings"].items():
        print(f"dates in {col}: read as {reading['reading']} ({reading['why']})")
    for item in report["needs_confirmation"]:
        print(f"NEEDS A DECISION: {item}")
    if any(p["applied"] is None for p in report["id_padding"]):
        print("  (--pad-ids pads them, --keep-ids keeps them as written)")
    for note in report["notes"]:
        print(f"note: {note}")
    if report["rejects"]:
        n = report["rejects_total"]
        print(f"rejected ({n:,} problem{'' if n == 1 else 's'}):")
        for r in report["rejects"][:50]:
            print(f"  line {r['line']}, {r['column'] or '(whole line)'}: {r['value']!r}: {r['reason']}")
        if report["rejects_total"] > 50:
            print(f"  ... {report['rejects_total'] - 50:,} more (use --json for up to 1000)")
    for c in report["conflicts"][:50]:
        print(f"  conflict: line {c['line']} (key {c['key']}) differs from {c['other']}")
    for c in report["attribute_conflicts"][:50]:
        values = "; ".join(f"{v['value']!r} ({_lines(v['lines_in_file'])} in the file, {v['lines_stored']:,} stored)"
                           for v in c["values"])
        print(f"  customer {c['customer_id']} (line {c['line']}) has {len(c['values'])} {c['attribute']} values: "
              f"{values}")
    if report["status"] == "preview":
        print("nothing written (preview); add --commit to import")
    else:
        print(f"import #{report['import_id']}: {report['status']}, data version {report['data_version']}")
        failing = {k: v for k, v in report["checks"].items() if v}
        if failing:
            print("data-quality checks with findings: "
                  + ", ".join(f"{k} ({v})" for k, v in failing.items()))
