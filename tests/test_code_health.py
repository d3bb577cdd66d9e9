"""The package passes its linter, formatter and type checker (settings in pyproject.toml; the
versions are pinned in requirements.lock, since a new release finds new things), and keeps the
limits issue 20 set: no module over 400 lines, no function over 6 parameters (ruff's PLR0913).
Runs in CI as part of ./scripts/test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO

BIN = Path(sys.executable).parent
CHECKED = ["legalsite", "build.py"]


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)


def test_ruff_lint_is_clean():
    result = run(str(BIN / "ruff"), "check", "--no-cache", "--output-format", "concise", *CHECKED)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied():
    result = run(str(BIN / "ruff"), "format", "--no-cache", "--check", "--diff", *CHECKED)
    assert result.returncode == 0, "run `.venv/bin/ruff format legalsite build.py`\n" + result.stdout + result.stderr


def test_mypy_is_clean(tmp_path):
    """The files and settings are pyproject.toml's [tool.mypy]; a fresh cache, so nothing stale hides an error."""
    result = run(sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy-cache"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_is_over_400_lines():
    """A module a newcomer reads in one go: past 400 lines, split it where its concerns part."""
    lengths = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in (REPO / "legalsite").glob("*.py")}
    assert {name: n for name, n in lengths.items() if n > 400} == {}
