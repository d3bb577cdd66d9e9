"""An input that cannot be read, or an output folder that cannot be listed, is a `path:1: message`
with the fix in every command that reads it (legalsite/unreadable.py): exit 1, nothing written,
the previous site untouched, never a Python traceback (issue 20t).

The suite runs as root, whom file permissions do not stop. ``denied`` therefore takes from the
test's thread, for its duration, the two capabilities that let root pass them (CAP_DAC_OVERRIDE,
CAP_DAC_READ_SEARCH): the kernel then refuses root the file of mode 000 as it refuses anyone
(threads and processes the build starts inherit that). It checks the refusal is real first.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os
from pathlib import Path

import pytest

from conftest import FIXTURE_DAY
from legalsite.pipeline import Project
from legalsite.preview import Builder

NOTHING_WRITTEN = "1 problem found; nothing was written. Fix them and run the command again."
_DAC = (1 << 1) | (1 << 2)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH (linux/capability.h)


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _effective(change) -> int:
    """Set this thread's effective capabilities (the low 32) to ``change(them)``; returns them before."""
    libc = ctypes.CDLL(None, use_errno=True)
    header, data = _Header(0x20080522, 0), (_Data * 2)()  # _LINUX_CAPABILITY_VERSION_3
    assert libc.capget(ctypes.byref(header), data) == 0, os.strerror(ctypes.get_errno())
    before = data[0].effective
    data[0].effective = change(before)
    assert libc.capset(ctypes.byref(header), data) == 0, os.strerror(ctypes.get_errno())
    return before


@pytest.fixture
def denied():
    """``denied(path)``: ``path`` (a file or folder) made unreadable, really, for the test."""
    paths: list[tuple[Path, int]] = []
    saved: list[int] = []

    def deny(path: Path) -> None:
        paths.append((path, path.stat().st_mode))
        path.chmod(0)
        if os.geteuid() == 0 and not saved:
            saved.append(_effective(lambda caps: caps & ~_DAC))
        with pytest.raises(PermissionError):
            os.listdir(path) if path.is_dir() else path.read_bytes()

    yield deny
    if saved:
        _effective(lambda caps: saved[0])
    for path, mode in paths:
        path.chmod(mode)


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


def test_a_source_that_cannot_be_read(site, cli, denied):
    assert cli("build", "--as-of", FIXTURE_DAY)[0] == 0  # and its stamp, for the no-op path
    denied(site / "content/privacy/2026-05-01.md")
    assert_reported(site, cli, (
        "content/privacy/2026-05-01.md:1: cannot be read: Permission denied: make it readable "
        "(chmod a+r content/privacy/2026-05-01.md), or move it out of the content folder"))


@pytest.mark.parametrize("name, other", [("site.toml", "--settings"), ("versions.lock", "--lock")])
def test_site_toml_or_versions_lock_replaced_by_a_folder(site, cli, name, other):
    assert cli("build", "--as-of", FIXTURE_DAY)[0] == 0
    (site / name).unlink()
    (site / name).mkdir()
    assert_reported(site, cli, (
        f"{name}:1: is a folder, not a file: move the folder away and put the file back, or pass {other} FILE"))


@pytest.mark.parametrize("folder", ["_site", "_site/privacy"])
@pytest.mark.parametrize("cache", [(), ("--no-cache",), ("--cache", "other-cache")])
def test_an_output_folder_that_cannot_be_listed(site, cli, denied, folder, cache):
    """Also the no-op path: nothing changed since the last build into _site, but it cannot be
    listed (stamp.check, one guarded place), so the build checks and reports it."""
    assert cli("build", "--as-of", FIXTURE_DAY)[0] == 0
    before = published(site)
    denied(site / folder)
    assert cli("build", "--as-of", FIXTURE_DAY, *cache) == (1, "", (
        f"{folder}:1: cannot be read: Permission denied: make it readable (chmod -R u+rwX {folder}), "
        f"or pass another --out\n{NOTHING_WRITTEN}\n"))
    assert cli("check", "--as-of", FIXTURE_DAY)[0] == 0  # it writes nothing: no output folder
    (site / folder).chmod(0o755)
    assert published(site) == before
    assert sorted(p.name for p in site.iterdir() if p.name.startswith("._site")) == []


@pytest.mark.parametrize("name", ["templates/history.html", "templates/assets/site.css", "templates/assets"])
def test_a_template_or_asset_that_cannot_be_read(site, cli, denied, name):
    """Found in the final review: a traceback from build and check, and a message naming no file
    in the preview. The commands that make no page (lock, notice, diff --text) need no template."""
    assert cli("build", "--as-of", FIXTURE_DAY)[0] == 0
    before = published(site)
    denied(site / name)
    mode = "-R u+rwX" if name == "templates/assets" else "a+r"
    message = (f"{name}:1: cannot be read: Permission denied: make it readable (chmod {mode} {name}), "
               "or move it out of the templates folder")
    for args in READERS[:4]:
        assert cli(*args) == (1, "", f"{message}\n{NOTHING_WRITTEN}\n"), args
    assert published(site) == before
    outcome = Builder(Project.at(site), as_of=dt.date.fromisoformat(FIXTURE_DAY)).build()
    assert [str(e) for e in outcome.errors] == [message]


def test_a_content_folder_that_cannot_be_listed(site, cli, denied):
    """Found in the final review: it was skipped without a word (a locked version in it was
    reported "missing: restore it from git", an unlocked draft vanished)."""
    assert cli("build", "--as-of", FIXTURE_DAY)[0] == 0  # and its stamp, for the no-op path
    denied(site / "content/privacy")
    assert_reported(site, cli, (
        "content/privacy:1: cannot be read: Permission denied: make it readable "
        "(chmod -R u+rwX content/privacy), or move it out of the content folder"))
