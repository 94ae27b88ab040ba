"""The shape of the code: imports flow one way, modules fit in a head, one place per job.

Imports go pages → ui → analytics; inside ``analytics``, metrics → scope → store, the
import pipeline (ingest) writes through the store, and the models stand alone. Read from
the source with ``ast`` (imports inside functions count too), so a wrong import fails here
before anyone has to notice it in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The product's code, which the import rules are about.
SOURCES = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").rglob("*.py"),
                  *(ROOT / "analytics").rglob("*.py")])
#: Every module of the project, which the size rule is about: the tests and benchmarks too.
ALL_MODULES = sorted([*SOURCES, *(ROOT / "tests").glob("*.py"), *(ROOT / "bench").glob("*.py")])
#: No module over this many lines: split by what the parts do.
MAX_LINES = 400

#: For each part of ``analytics``, the parts of ``analytics`` it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "paths": set(),
    "models": {"errors"},
    "store": {"errors", "paths"},
    "tiering": {"errors"},
    "scope": {"errors", "tiering"},
    "access": {"errors", "paths"},
    "ingest": {"errors", "paths", "store"},
    "metrics": {"errors", "scope", "store", "models", "tiering"},
    "pages": {"errors", "access", "scope", "metrics"},
    "report": {"errors", "access", "scope", "store", "pages"},
    "cli": {"errors", "paths", "access", "scope", "tiering", "store", "ingest", "metrics", "pages", "report",
            "cli_marts", "cli_text"},
    "cli_marts": {"errors", "store"},
    "cli_text": set(),
    "__main__": {"cli"},
    "__init__": set(),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute (``from x import y`` counts as ``x`` and ``x.y``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def part_of_analytics(name: str) -> str | None:
    """``"store"`` for ``analytics.store.marts``; ``None`` outside ``analytics`` and for the
    package itself (``from analytics import scope`` is an import of ``analytics.scope``)."""
    parts = name.split(".")
    if parts[0] != "analytics" or len(parts) == 1:
        return None
    return parts[1]


def test_the_sources_are_found():
    names = {module_name(p) for p in SOURCES}
    assert {"app", "pages.overview", "ui.frame", "analytics.pages", "analytics.store.connection",
            "analytics.ingest.pipeline", "analytics.metrics.overview", "analytics.models.proportions"} <= names


@pytest.mark.parametrize("path", ALL_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_400_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by what its parts do"


@pytest.mark.parametrize("path", [p for p in SOURCES if p.is_relative_to(ROOT / "analytics")],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_analytics_imports_flow_one_way(path):
    """No Streamlit, Plotly, ui or page script in ``analytics``; each part only the parts below it."""
    own = part_of_analytics(module_name(path)) or "__init__"
    wrong = []
    for name in sorted(imported(path)):
        top = name.split(".")[0]
        if top in ("streamlit", "plotly", "ui", "pages", "app"):
            wrong.append(name)
        part = part_of_analytics(name)
        if part is not None and part != own and part not in ALLOWED[own]:
            wrong.append(name)
    assert wrong == [], f"analytics.{own} may import only {sorted(ALLOWED[own])} of analytics"


@pytest.mark.parametrize("path", [p for p in SOURCES if p.is_relative_to(ROOT / "ui")],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_ui_never_imports_a_page_script_or_the_frame(path):
    assert not [n for n in imported(path) if n.split(".")[0] in ("pages", "app")]


@pytest.mark.parametrize("path", [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_read_the_data_only_through_ui(path):
    """A page script (and the frame) arranges what ``ui`` loads: no query, no connection, no
    cache of its own (the registry and formatting aside, nothing of ``analytics``)."""
    reaching = [n for n in imported(path) if part_of_analytics(n) not in (None, "pages")]
    assert reaching == []
    assert "duckdb" not in {n.split(".")[0] for n in imported(path)}


def test_every_download_goes_through_one_function():
    """Downloads are formula-safe and every one is seen by the access tests because they all
    go through ``ui.widgets.download_buttons``."""
    callers = [p.relative_to(ROOT).as_posix() for p in SOURCES if "download_button(" in p.read_text(encoding="utf-8")]
    assert callers == ["ui/widgets.py"]


def test_only_the_loaders_cache():
    """``ui/loaders.py`` is the one cache site: every cached loader there keys on the data
    version, so an import refreshes every open session (the login gate's parsed access file
    is the one other cached resource)."""
    callers = sorted(p.relative_to(ROOT).as_posix() for p in SOURCES
                     if "st.cache_data" in p.read_text(encoding="utf-8"))
    assert callers == ["ui/loaders.py"]
