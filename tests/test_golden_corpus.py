"""Byte-identical output on the shipped content and a 1,000-version generated corpus.

The generator's internals may change (issue 20 redesigns them); its output must not. Each build
runs through the command line, as CI and a user run it, with a cold and then a warm cache, and the
SHA-256 of every output file is compared with a manifest recorded from main before the redesign.
A difference that is intended is recorded with ``UPDATE_GOLDEN=1`` and listed in the CHANGELOG.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO))
from benchmarks.corpus import AS_OF, write_corpus  # noqa: E402

GOLDEN = REPO / "tests" / "golden"
SHIPPED_DAY = "2026-12-06"


def manifest(root: Path) -> str:
    """One line per output file, sorted by path: "<sha256>  <path>"."""
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(root).as_posix()}"
             for p in sorted(root.rglob("*")) if p.is_file()]
    return "\n".join(lines) + "\n"


def build(cwd: Path, out: Path, cache: Path, as_of: str, content: Path, settings: Path, lock: Path | None = None) -> None:
    cmd = [sys.executable, str(REPO / "build.py"), "build", "--content", str(content), "--settings", str(settings),
           "--templates", str(REPO / "templates"), "--out", str(out), "--cache", str(cache), "--as-of", as_of]
    if lock is not None:
        cmd += ["--lock", str(lock)]
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def compare(name: str, out: Path) -> None:
    golden = GOLDEN / f"{name}.sha256"
    got = manifest(out)
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(got)
    want = golden.read_text()
    if got != want:
        got_lines, want_lines = set(got.splitlines()), set(want.splitlines())
        differ = sorted({line.split("  ", 1)[1] for line in got_lines ^ want_lines})
        pytest.fail(f"{name}: {len(differ)} output files differ from {golden.name}, e.g. {differ[:5]}; "
                    "regenerate with UPDATE_GOLDEN=1 only if intended (and say why in the CHANGELOG)")


def test_shipped_content_output_unchanged(tmp_path):
    cache = tmp_path / "cache"
    for run in ("cold", "warm"):
        out = tmp_path / f"site-{run}"
        build(REPO, out, cache, SHIPPED_DAY, REPO / "content", REPO / "site.toml", REPO / "versions.lock")
        compare("shipped", out)


def test_a_library_that_renders_differently_fails_the_shipped_golden(tmp_path, monkeypatch):
    """A Markdown release whose output differs by one character (simulated: Python-Markdown's
    convert patched at start-up through sitecustomize, in a build with a fresh cache) no longer
    matches the manifest: the golden manifests are what the locked libraries render (README,
    "Dependencies and the lock"). A real upgrade also changes the store's key (store.CODE_DIGEST
    names the installed distributions), so a warm cache cannot hide it either."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        "import markdown\n"
        "_convert = markdown.Markdown.convert\n"
        "markdown.Markdown.convert = lambda self, text: _convert(self, text).replace('</p>', ' </p>', 1)\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(shim))
    out = tmp_path / "site"
    build(REPO, out, tmp_path / "cache", SHIPPED_DAY, REPO / "content", REPO / "site.toml", REPO / "versions.lock")
    golden = set((GOLDEN / "shipped.sha256").read_text().splitlines())
    differ = sorted(line.split("  ", 1)[1] for line in set(manifest(out).splitlines()) - golden)
    assert "privacy/2026-04-01/index.html" in differ and "versions.json" in differ, differ


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    write_corpus(root, 20, 50)
    return root


def test_thousand_version_corpus_output_unchanged(corpus, tmp_path):
    cache = tmp_path / "cache"
    for run in ("cold", "warm"):
        out = tmp_path / f"site-{run}"
        build(corpus, out, cache, AS_OF.isoformat(), corpus / "content", corpus / "site.toml")
        compare("corpus-20x50", out)
