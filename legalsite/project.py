"""Where a project's files are, and reading its sources.

Kept free of the heavy libraries (Markdown, Jinja, YAML), and of dataclasses (whose import
of ``inspect`` was 8-10 ms of the no-op's 0.12 s: its records are NamedTuples), so that a build
with nothing to do (stamp.py) can answer before loading them.
"""

from __future__ import annotations

import os
import re
import stat
import time
from pathlib import Path
from typing import NamedTuple

from . import unreadable

_IGNORED = re.compile(r"^\.|~$|\.swp$|\.swx$|\.tmp$|^#.*#$|^4913$")  # editor and OS leftovers


# The before-send hook of the analytics deployment (package data, so an installed wheel has it),
# served from the site itself (security.py), an input of every build (stamp.py).
HOOK_SOURCE = Path(__file__).resolve().with_name("umami-before-send.js")


class Project(NamedTuple):
    """Where things are. Paths in messages are shown relative to ``root``."""

    root: Path
    content: Path
    templates: Path
    settings: Path
    lock: Path

    @classmethod
    def at(
        cls,
        root: Path,
        content: Path | None = None,
        templates: Path | None = None,
        settings: Path | None = None,
        lock: Path | None = None,
    ) -> Project:
        """Defaults: content/, templates/ and site.toml in ``root``; versions.lock beside content/."""
        root = root.absolute()
        content = (content or root / "content").absolute()
        return cls(
            root=root,
            content=content,
            templates=(templates or root / "templates").absolute(),
            settings=(settings or root / "site.toml").absolute(),
            lock=(lock or content.parent / "versions.lock").absolute(),
        )

    def display(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


def is_ignored(name: str) -> bool:
    """Editor swap files, backups and hidden files are not content."""
    return bool(_IGNORED.search(name))


def _raise(exc: OSError) -> None:
    """os.walk's ``onerror``: a folder that cannot be listed is an error, not skipped."""
    raise exc


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too, links followed, each folder once),
    keyed by its POSIX path relative to ``folder``, sorted: the templates and assets,
    as the theme and the build stamp read them."""
    found: dict[str, bytes] = {}
    seen: set[str] = set()
    for directory, folders, files in os.walk(folder, followlinks=True, onerror=_raise):
        real = os.path.realpath(directory)
        if real in seen:  # a link back up the tree
            folders[:] = []
            continue
        seen.add(real)
        folders.sort()
        for name in files:
            full = os.path.join(directory, name)
            if os.path.isfile(full):
                with open(full, "rb") as handle:
                    found[os.path.relpath(full, folder).replace(os.sep, "/")] = handle.read()
    return dict(sorted(found.items()))


class SourceFile(NamedTuple):
    """A content file as found, before it is read."""

    path: str  # the file system path
    identity: tuple[int, int, int, int]  # size, modification and change times, inode
    settled: bool  # see settled(): had it when it was looked at

    def read(self) -> bytes:
        with open(self.path, "rb") as handle:
            return handle.read()

    def trusted(self, data: bytes) -> bool:
        """Whether the next look at this file may take ``data``, just read from it, as
        its content when the file's identity is still the same, without reading it:
        only if it had settled when looked at (settled, as in git's index). ``data``
        of another length than the file's was changed while read."""
        return self.settled and len(data) == self.identity[0]


def list_sources(content_dir: Path, root: Path) -> dict[str, SourceFile]:
    """Every non-ignored file under ``content_dir``, keyed by POSIX path relative to
    ``root``, sorted; each looked at (one stat), none read.

    ``os.scandir`` rather than ``Path.rglob`` or ``os.walk``: the no-op build looks at
    all sources, and this is several times faster on a 1,000-file site. Like ``rglob``,
    it does not descend into symlinked folders; a folder it cannot list is an error
    (ContentErrors, with every such folder), not skipped: its versions would vanish.
    """
    found: dict[str, SourceFile] = {}
    failed: list[tuple[str, OSError]] = []  # folders it cannot list: an error, never skipped
    root_prefix = os.path.join(str(root), "")
    now = time.time_ns()
    pending = [str(content_dir)]
    while pending:
        folder = pending.pop()
        try:
            listed = os.scandir(folder)
        except FileNotFoundError:
            continue  # removed meanwhile
        except OSError as exc:
            key = folder[len(root_prefix) :] if folder.startswith(root_prefix) else folder
            failed.append((key.replace(os.sep, "/"), exc))
            continue
        with listed:
            for item in listed:
                if is_ignored(item.name):
                    continue
                try:
                    if item.is_dir():
                        if not item.is_symlink():
                            pending.append(item.path)
                        continue
                    info = item.stat()
                except OSError:
                    continue  # a broken link or a loop of links (as os.path.isfile), or removed meanwhile
                if not stat.S_ISREG(info.st_mode):
                    continue
                full = item.path
                key = full[len(root_prefix) :] if full.startswith(root_prefix) else full
                found[key.replace(os.sep, "/")] = SourceFile(
                    full,
                    (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino),
                    settled(info.st_mtime_ns, info.st_ctime_ns, now),
                )
    if failed:
        raise unreadable.errors(sorted(failed), unreadable.SOURCE, folder=True)
    return dict(sorted(found.items()))


def read_sources(content_dir: Path, root: Path) -> dict[str, bytes]:
    """Every non-ignored file under ``content_dir`` (list_sources), read; raises ContentErrors
    naming every one that cannot be read."""
    found: dict[str, bytes] = {}
    failed: list[tuple[str, OSError]] = []
    for key, source in list_sources(content_dir, root).items():
        try:
            found[key] = source.read()
        except OSError as exc:
            failed.append((key, exc))
    if failed:
        raise unreadable.errors(failed, unreadable.SOURCE)
    return found


_SETTLED_NS = 1_000_000_000


def settled(mtime_ns: int, ctime_ns: int, at_ns: int) -> bool:
    """Whether a file or folder with these times, looked at ``at_ns``, had settled: any
    later change will show in its times. A change always sets the change time, which no
    tool can set back, but two changes within one tick of the file system's clock can
    leave the same times; a second covers that tick (git's "racy" rule)."""
    return at_ns - max(mtime_ns, ctime_ns) > _SETTLED_NS
