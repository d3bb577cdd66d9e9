"""An input that cannot be read is a `path:1: message` with the fix in every command that reads
it (legalsite/unreadable.py): exit 1, nothing written, the previous site untouched, never a Python
traceback (issue 20t).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURE, FIXTURE_DAY, REPO
from legalsite.pipeline import Project
from legalsite.preview import Builder

NOTHING_WRITTEN = "1 problem found; nothing was written. Fix them and run the command again."


@pytest.fixture
def site(tmp_path, monkeypatch):
    shutil.copytree(FIXTURE / "content", tmp_path / "content")
    for name in ("site.toml", "versions.lock"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return tmp_path


def published(site: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in (site / "_site").rglob("*") if p.is_file()}


# Every command that reads the content, the settings and the lock, as the user types it.
READERS = [
    ("build", "--as-of", FIXTURE_DAY),
    ("build", "--as-of", FIXTURE_DAY, "--no-cache"),
    ("build", "--as-of", FIXTURE_DAY, "--out", "fresh"),
    ("check", "--as-of", FIXTURE_DAY),
    ("lock", "--check"),
    ("notice", "privacy", "--as-of", FIXTURE_DAY),
    ("diff", "privacy", "--text", "--as-of", FIXTURE_DAY),
]


def assert_reported(site: Path, cli, message: str) -> None:
    """Each command and the preview say ``message``; the published site stays as it was."""
    before = published(site)
    for args in READERS:
        assert cli(*args) == (1, "", f"{message}\n{NOTHING_WRITTEN}\n"), args
    assert published(site) == before
    assert not (site / "fresh").exists()
    outcome = Builder(Project.at(site), as_of=dt.date.fromisoformat(FIXTURE_DAY)).build()
    assert [str(e) for e in outcome.errors] == [message]


@pytest.mark.parametrize("name, other", [("site.toml", "--settings"), ("versions.lock", "--lock")])
def test_site_toml_or_versions_lock_replaced_by_a_folder(site, cli, name, other):
    assert cli("build", "--as-of", FIXTURE_DAY)[0] == 0
    (site / name).unlink()
    (site / name).mkdir()
    assert_reported(site, cli, (
        f"{name}:1: is a folder, not a file: move the folder away and put the file back, or pass {other} FILE"))
