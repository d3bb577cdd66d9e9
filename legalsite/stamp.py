"""A build with nothing to do does nothing: the stamp of the last build.

After a successful build, the command line records in the cache folder a
digest of everything the build read (sources, settings, lock, templates, the
tracker hook, the build day, the drafts flag, the generator's code and
libraries: cache.CODE_DIGEST) and the identity of every file it left in the
output folder: size, modification and change times, inode. The next build with
the same inputs, whose output folder still holds exactly those files, has
nothing to write and says so at once, before loading Markdown or Jinja.

Anything else builds as usual: one byte of input, a file added to, removed
from or rewritten in the output folder (every write or rename of a file
changes its change time, which no tool can set back), a missing or unreadable
stamp. The check reads every input byte; it trusts nothing but the digest.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .cache import CODE_DIGEST
from .output import write_file
from .project import Project, read_sources
from .security import HOOK_SOURCE

_FORMAT = "legalsite-build-stamp-1"


@dataclass(frozen=True)
class Stamp:
    inputs: str  # inputs_digest() of the build
    files: tuple[tuple[str, int, int, int, int], ...]  # path, size, mtime_ns, ctime_ns, inode
    summary: str  # what the build printed
    warnings: tuple[str, ...]


def _file(digest, name: str, path: Path) -> None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = None
    marker = b"-" if data is None else b"+%d:" % len(data)
    digest.update(name.encode() + b"\0" + marker + (data or b""))


def inputs_digest(project: Project, today, drafts: bool) -> str:
    """SHA-256 of everything a build of ``project`` reads, and of how it was asked to build."""
    digest = hashlib.sha256(f"{_FORMAT}\0{CODE_DIGEST}\0{today.isoformat()}\0{drafts}\0".encode())
    digest.update(f"{project.root}\0{project.content}\0{project.templates}\0".encode())
    _file(digest, str(project.settings), project.settings)
    _file(digest, str(project.lock), project.lock)
    _file(digest, "hook", HOOK_SOURCE)
    templates = _every_file(project.templates)  # all of them: load_theme copies any asset
    content = read_sources(project.content, project.root) if project.content.is_dir() else {}
    for label, files in (("templates", templates), ("content", content)):
        digest.update(f"{label}\0{len(files)}\0".encode())
        for name, data in files.items():
            digest.update(name.encode() + b"\0%d:" % len(data) + data)
    return digest.hexdigest()


def _every_file(folder: Path) -> dict[str, bytes]:
    found = {}
    for directory, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    found[os.path.relpath(path, folder)] = handle.read()
    return found


def output_files(out_dir: Path) -> tuple[tuple[str, int, int, int, int], ...]:
    """Every entry under ``out_dir`` (files, links, folders) with what identifies its state."""
    found = []
    pending = [("", str(out_dir))]
    while pending:
        prefix, folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                info = entry.stat(follow_symlinks=False)
                is_folder = entry.is_dir(follow_symlinks=False)
                found.append((prefix + entry.name, -1 if is_folder else info.st_size,
                              info.st_mtime_ns, info.st_ctime_ns, info.st_ino))
                if is_folder:
                    pending.append((prefix + entry.name + "/", entry.path))
    return tuple(sorted(found))


def _stamp_path(cache_dir: Path, out_dir: Path) -> Path:
    name = hashlib.sha256(str(out_dir.absolute()).encode()).hexdigest()[:24]
    return cache_dir / "stamps" / f"{name}.json"


def read(cache_dir: Path, out_dir: Path) -> Stamp | None:
    try:
        data = json.loads(_stamp_path(cache_dir, out_dir).read_text(encoding="utf-8"))
        if data["format"] != _FORMAT:
            return None
        return Stamp(inputs=data["inputs"], files=tuple(tuple(f) for f in data["files"]),
                     summary=data["summary"], warnings=tuple(data["warnings"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def up_to_date(project: Project, out_dir: Path, today, drafts: bool, cache_dir: Path) -> Stamp | None:
    """The last build's stamp when building again would change nothing, else None."""
    stamp = read(cache_dir, out_dir)
    if stamp is None or not out_dir.is_dir():
        return None
    if output_files(out_dir) != stamp.files or inputs_digest(project, today, drafts) != stamp.inputs:
        return None
    return stamp


def record(cache_dir: Path, out_dir: Path, inputs: str, summary: str, warnings: list[str]) -> None:
    """Remember a build that just wrote ``out_dir`` from inputs with digest ``inputs``."""
    data = {"format": _FORMAT, "inputs": inputs, "summary": summary, "warnings": list(warnings),
            "files": [list(f) for f in output_files(out_dir)]}
    write_file(_stamp_path(cache_dir, out_dir), (json.dumps(data) + "\n").encode("utf-8"))
