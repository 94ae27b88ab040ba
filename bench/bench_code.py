"""The code measured: a snapshot of ``analytics/`` in ``bench/work/code_<hash>/`` (other
people edit the package while the benchmark runs), the hash of the package's code in a
folder (snapshot or working tree), and the commit and uncommitted changes of the working tree."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench_common import PROJECT_ROOT, WORK_DIR


def _git_state() -> dict[str, Any]:
    """The commit and the uncommitted changes of the code measured (other people edit it)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                                  timeout=30).stdout.rstrip("\n")
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "modified": [ln[3:] for ln in git("status", "--porcelain", "analytics").splitlines()],
            "working_tree_sha256": code_hash(PROJECT_ROOT)}


def code_hash(root: Path) -> str:
    """A short hash of the pipeline's code under ``root`` (``analytics/**/*.py`` and ``*.sql``)."""
    digest = hashlib.sha256()
    for path in sorted((root / "analytics").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".sql"):
            with contextlib.suppress(OSError):
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def snapshot_code() -> Path:
    """Copy ``analytics/`` to ``bench/work/code_<hash>/`` so that every run measures the same code.

    (The package is edited while the benchmark runs; a change half-way would mix versions.)
    """
    staging = WORK_DIR / "code_partial"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(PROJECT_ROOT / "analytics", staging / "analytics",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    target = WORK_DIR / f"code_{code_hash(staging)}"
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target

