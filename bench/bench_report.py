"""The benchmark's report: the targets, the markdown table, PASS/FAIL of each target, the
line printed after each run and the report printed at the end."""

from __future__ import annotations

from typing import Any

TARGET_RATIO = 1 / 3
TARGET_PEAK_MB = 1536.0  # 1.5 GiB
TARGET_PEAK_ROWS = 10_000_000


def _shape(size: dict[str, Any]) -> str:
    """The shape of a size's file (results before the shapes were all ``transactions``)."""
    return str(size.get("shape", "transactions"))


def _fmt_rate(rate: float) -> str:
    return f"{rate / 1e6:.2f} M/s" if rate >= 1e6 else f"{rate / 1e3:.0f} k/s"


def _cells(m: dict[str, Any] | None) -> list[str]:
    """seconds, rows/s, peak MB, CPU s of one measurement."""
    if m is None:
        return ["—"] * 4
    if "error" in m:
        what = "OOM" if "OutOfMemory" in m["error"] else "error"
        return [f"**failed ({what})** after {m['seconds_until_failure']:.0f}s", "—",
                f"{m['peak_rss_mb']:.0f}", "—"]
    return [f"{m['seconds']:.2f}", _fmt_rate(m["rows_per_second"]), f"{m['peak_rss_mb']:.0f}",
            f"{m['cpu_seconds']:.1f}"]


def markdown_table(sizes: list[dict[str, Any]]) -> str:
    """The results as a markdown table (medians)."""
    head = ("| shape | rows | CSV MB | bare read s | bare rows/s | bare peak MB | bare CPU s "
            "| pipeline s | pipeline rows/s | pipeline peak MB | pipeline CPU s | ratio | CPU ratio |")
    lines = [head, "|---|" + "---:|" * 12]
    for s in sizes:
        ratio = f"{s['ratio']:.3f}" if s.get("ratio") is not None else "—"
        cpu_ratio = f"{s['cpu_ratio']:.3f}" if s.get("cpu_ratio") is not None else "—"
        lines.append(f"| {_shape(s)} | {s['rows']:,} | {s['csv_mb']:.0f} | " + " | ".join(_cells(s["baseline"]))
                     + " | "
                     + " | ".join(_cells(s["pipeline"])) + f" | {ratio} | {cpu_ratio} |")
    for s in sizes:
        r = s.get("reimport")
        if r and "error" in r:
            lines.append(f"\nRe-import of the {s['rows']:,}-row {_shape(s)} file: FAILED ({r['error'][:120]})")
        elif r:
            lines.append(f"\nRe-import of the {s['rows']:,}-row {_shape(s)} file (dedup path, "
                         f"adds {r['rows_imported']} rows): {r['seconds']:.2f} s, {_fmt_rate(r['rows_per_second'])}, "
                         f"peak {r['peak_rss_mb']:.0f} MB, CPU {r['cpu_seconds']:.1f} s")
    return "\n".join(lines)


def evaluate_targets(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """PASS/FAIL of each target at each size (the memory target is stated at 10M rows)."""
    verdicts = []
    for s in sizes:
        ratio = s.get("ratio")
        verdicts.append({
            "target": f"pipeline throughput >= 1/3 of the bare read at {s['rows']:,} rows ({_shape(s)})",
            "rows": s["rows"], "shape": _shape(s), "value": round(ratio, 3) if ratio is not None else "pipeline failed",
            "pass": ratio is not None and ratio >= TARGET_RATIO})
    big = [s for s in sizes if s["rows"] >= TARGET_PEAK_ROWS]
    mem_sizes = big or [max((s for s in sizes if _shape(s) == shape), key=lambda s: s["rows"])
                        for shape in dict.fromkeys(_shape(s) for s in sizes)]
    for s in mem_sizes:
        p = s["pipeline"]
        peak = p.get("peak_rss_mb")
        note = "" if s["rows"] >= TARGET_PEAK_ROWS else " (the target is stated at 10M rows)"
        verdicts.append({
            "target": f"pipeline peak RSS < 1536 MB at {s['rows']:,} rows ({_shape(s)}){note}", "rows": s["rows"],
            "shape": _shape(s),
            "value": (round(peak, 1) if "error" not in p else f"import failed: {p['error'][:80]}"),
            "pass": "error" not in p and peak is not None and peak < TARGET_PEAK_MB})
    return verdicts


def _print_run(mode: str, i: int, repeat: int, r: dict[str, Any]) -> None:
    if "error" in r:
        print(f"  {mode:9s} run {i}/{repeat}: FAILED after {r['wall_seconds']:.1f}s, "
              f"peak {r['peak_rss_mb']:.0f} MB: {r['error'][:200]}", flush=True)
    else:
        print(f"  {mode:9s} run {i}/{repeat}: {r['seconds']:7.2f}s  cpu {r['cpu_seconds']:6.1f}s  "
              f"peak {r['peak_rss_mb']:6.0f} MB (polled {r['polled_peak_rss_mb']:.0f})  "
              f"rows added {r.get('rows_imported', 0):,}", flush=True)


def print_report(results: dict[str, Any]) -> None:
    """Table, targets and (when profiled) the slowest steps, on stdout."""
    m = results["machine"]
    print(f"\n# Import benchmark — {m['date']}")
    print(f"{m['cores_logical']} cores ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}, "
          f"DuckDB {m['duckdb']}, memory_limit {results['memory_limit']}"
          + (f", settings {results['settings']}" if results["settings"] else "")
          + f", {results['statistic']} of {results['repeat']}")
    c = results["code"]
    print(f"code: commit {c['commit']} + uncommitted changes to {len(c['modified'])} files in analytics/; "
          f"measured {c['measured']} (sha256 {c['measured_sha256']})\n")
    print(markdown_table(results["sizes"]))
    print()
    for v in results["verdicts"]:
        print(f"{'PASS' if v['pass'] else 'FAIL'}  {v['target']}: {v['value']}")
    prof = results.get("profile")
    if prof and "error" in prof and "import" not in prof:
        print(f"\nProfile run failed: {prof['error']}")
    for part in ("import", "reimport"):
        p = (prof or {}).get(part)
        if not p:
            continue
        print(f"\nProfile ({part}, {prof['rows']:,} rows, {_shape(prof)}): {p['seconds']:.1f}s, "
              f"SQL {p['sql_seconds']:.1f}s, "
              f"outside SQL {p['other_seconds']:.1f}s" + (f"; FAILED: {p['error']}" if p["error"] else "")
              + "; slowest statements:")
        for s in p["statements"][:8]:
            print(f"  {s['seconds']:7.2f}s (CPU {s['cpu_seconds']:6.2f}s)  peak {s['peak_rss_mb']:5.0f} MB  "
                  f"{s['sql'][:80]}")
        for f in p["python_functions"][:3]:
            print(f"  {f['self_seconds']:7.2f}s  (Python) {f['function']}")

