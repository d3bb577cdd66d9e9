"""The package as a Python developer gets it: ``python -m build`` in the checkout makes an sdist
and a wheel (PyPA's build, not the site generator's build.py), the wheel carries every file the
generator reads, and, installed into a fresh virtual environment outside the repository, its
``legalsite`` command builds a site with analytics on.

Slow-ish (two isolated builds and a fresh environment, about 30-60 s): PyPA's build and pip fetch
setuptools and the runtime dependencies from pip's cache or PyPI.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import FIXTURE, REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
SITE_TOML = """\
[site]
name = "Example"
base_url = "https://legal.example.com"
language = "en"
contact_email = "privacy@example.com"

[analytics]
origin = "https://stats.example.com"
website_id = "6b9f1c2e-0000-4000-8000-000000000001"
script_path = "/s.js"
domains = ["legal.example.com"]
"""


def clean_env() -> dict[str, str]:
    """The environment without anything that would let the repository's code leak in."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def run(cmd: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=clean_env(), timeout=timeout)
    assert result.returncode == 0, f"{cmd}: exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def package_files() -> set[str]:
    """Every file of the package in the checkout (what the wheel must carry)."""
    return {p.relative_to(REPO).as_posix() for p in (REPO / "legalsite").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """``python -m build`` run in a copy of the checkout's root (build.py included), as a developer runs it."""
    root = tmp_path_factory.mktemp("checkout")
    for name in ("pyproject.toml", "README.md", "build.py"):
        shutil.copy2(REPO / name, root / name)
    shutil.copytree(REPO / "legalsite", root / "legalsite", ignore=shutil.ignore_patterns("__pycache__"))
    run([sys.executable, "-m", "build", "--outdir", str(root / "dist")], cwd=root)
    return root / "dist"


def test_python_m_build_makes_an_sdist_and_a_wheel(dist):
    assert sorted(p.name for p in dist.iterdir()) == [f"legalsite-{VERSION}-py3-none-any.whl",
                                                      f"legalsite-{VERSION}.tar.gz"]


def test_the_wheel_carries_every_package_file_and_no_build_module(dist):
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = zf.read(f"legalsite-{VERSION}.dist-info/entry_points.txt").decode()
        metadata = zf.read(f"legalsite-{VERSION}.dist-info/METADATA").decode()
    assert package_files() <= names, sorted(package_files() - names)
    assert "legalsite/umami-before-send.js" in names and "legalsite/versions-1.schema.json" in names
    assert not [n for n in names if n.startswith("build")]  # build.py is the checkout's script only
    assert "legalsite = legalsite.cli:entry" in entry_points
    requires = {canonical(Requirement(line.split(":", 1)[1]).name) for line in metadata.splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line}
    assert requires == declared()


def declared() -> set[str]:
    return {canonical(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_import_of_the_package_is_a_declared_dependency():
    """No library used only because another one happens to pull it in (yaml came with frontmatter)."""
    modules = set()
    for path in (REPO / "legalsite").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = sorted(m for m in modules if m not in sys.stdlib_module_names and m != "legalsite")
    distributions = importlib.metadata.packages_distributions()
    unknown = [m for m in third_party if m not in distributions]
    assert not unknown, f"imports with no installed distribution: {unknown}"
    used = {canonical(d) for m in third_party for d in distributions[m]}
    assert used == declared(), f"imported but not declared: {sorted(used - declared())}; declared but not imported: {sorted(declared() - used)}"


def test_the_sdist_carries_every_package_file(dist):
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    assert package_files() <= names, sorted(package_files() - names)


def test_the_installed_wheel_builds_a_site_with_analytics(dist, tmp_path):
    """A fresh virtual environment outside the repository; the site's own templates and content."""
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        cwd=tmp_path)
    where = run([str(venv / "bin" / "python"), "-c", "import legalsite; print(legalsite.__file__)"], cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # not the checkout's package

    site = tmp_path / "project"
    shutil.copytree(REPO / "templates", site / "templates")
    shutil.copytree(FIXTURE / "content" / "terms", site / "content" / "terms")
    (site / "site.toml").write_text(SITE_TOML)
    built = run([str(venv / "bin" / "legalsite"), "build", "--as-of", "2026-06-15", "--out", "out"], cwd=site)
    assert "warning" not in built.stderr.lower(), built.stderr

    out = site / "out"
    assert (out / "assets" / "umami-before-send.js").read_bytes() == (REPO / "legalsite" / "umami-before-send.js").read_bytes()
    page = (out / "terms" / "index.html").read_text()
    assert 'src="https://stats.example.com/s.js"' in page and 'data-before-send="umamiBeforeSend"' in page
    versions = json.loads((out / "versions.json").read_text())
    assert versions["policies"][0]["slug"] == "terms"
    assert versions["generator"] == {"name": "legalsite", "version": VERSION}


def test_the_package_version_is_the_pyproject_version():
    import legalsite

    assert legalsite.__version__ == VERSION
    assert importlib.metadata.version("legalsite") == VERSION  # the installed metadata is current


# ---------------------------------------------------------------- requirements.lock

LOCK = REPO / "requirements.lock"


def locked() -> dict[str, tuple[str, list[str], str]]:
    """name -> (version, hashes, marker) for each entry of requirements.lock whose marker applies here."""
    entries: dict[str, tuple[str, list[str], str]] = {}
    for block in re.split(r"\n(?=[a-z0-9])", LOCK.read_text()):
        if not re.match(r"[a-z0-9]", block):
            continue
        requirement = Requirement(block.split(" \\", 1)[0].split("\n", 1)[0])
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        (version,) = [s.version for s in requirement.specifier if s.operator == "=="]
        entries[canonical(requirement.name)] = (version, re.findall(r"--hash=sha256:([0-9a-f]{64})", block),
                                                 str(requirement.marker or ""))
    return entries


def test_the_lock_pins_every_declared_requirement_with_hashes():
    """Every dependency and every extra's requirement is locked at a version it allows, with hashes."""
    entries = locked()
    declared_requirements = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        declared_requirements += [Requirement(r) for r in extra if not r.startswith("legalsite[")]
    for requirement in declared_requirements:
        name = canonical(requirement.name)
        assert name in entries, f"{name} is not in requirements.lock: run ./scripts/lock"
        assert requirement.specifier.contains(entries[name][0], prereleases=True), \
            f"requirements.lock has {name}=={entries[name][0]}, pyproject.toml wants {requirement}: run ./scripts/lock"
    assert all(hashes for _, hashes, _ in entries.values())
    assert "legalsite" not in entries


def test_the_environment_is_the_lock():
    """What the tests run with is what the lock says (./scripts/test installs it before pytest)."""
    differ = {name: (version, importlib.metadata.version(name)) for name, (version, _, _) in locked().items()
              if importlib.metadata.version(name) != version}
    assert not differ, f"installed versions differ from requirements.lock (locked, installed): {differ}"
