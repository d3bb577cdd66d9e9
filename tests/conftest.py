"""Shared helpers: small project trees in tmp_path and the CLI run in-process."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from legalsite.cli import main

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "site"
FIXTURE_DAY = "2026-06-15"


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``files`` (relative path -> text, dedented, or bytes) under ``root``."""
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(textwrap.dedent(data).lstrip("\n"), encoding="utf-8")
    return root


def copy_lock_for_editing(root: Path) -> None:
    """The fixture's versions.lock with only what the notice rule needs (privacy/2026-05-01,
    imported): the first versions and the upcoming privacy/2026-08-01 stay unlocked, so
    tests may edit them as legal edits a version before it is published."""
    import json

    data = json.loads((FIXTURE / "versions.lock").read_text(encoding="utf-8"))
    data["versions"] = {k: v for k, v in data["versions"].items() if k == "privacy/2026-05-01"}
    (root / "versions.lock").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder using the repository's templates; returns a writer."""
    (tmp_path / "templates").symlink_to(REPO / "templates")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)

    def make(files: dict[str, str | bytes]) -> Path:
        return write_tree(tmp_path, files)

    return make


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    """An editable copy of the fixture site (content, site.toml, versions.lock) with the
    repository's templates, as the working directory (a test module may define its own)."""
    shutil.copytree(FIXTURE / "content", tmp_path / "content")
    for name in ("site.toml", "versions.lock"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return tmp_path


@pytest.fixture
def cli(capsys):
    """Run the command line in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


class WallClock:
    """The real UTC time as a test sets it (timeline.wall_clock; ``lock`` records its day). Each
    reading moves it on by ``step``, so a test can make a command run across midnight."""

    def __init__(self) -> None:
        import datetime as dt

        self.now = dt.datetime.fromisoformat(f"{FIXTURE_DAY}T12:00+00:00")
        self.step = dt.timedelta(0)

    def set(self, day: str, time: str = "12:00", step: float = 0) -> str:
        import datetime as dt

        self.now = dt.datetime.fromisoformat(f"{day}T{time}+00:00")
        self.step = dt.timedelta(seconds=step)
        return day

    def __call__(self):
        now = self.now
        self.now += self.step
        return now


@pytest.fixture
def wall_clock(monkeypatch):
    """The real time as the fixture's day (2026-06-15, 12:00 UTC) unless a test sets another, for
    tests that lock in that world: ``lock`` refuses a day before the real one."""
    from legalsite import timeline

    clock = WallClock()
    monkeypatch.setattr(timeline, "wall_clock", clock)
    return clock
