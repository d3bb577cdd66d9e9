"""A build with nothing to do does nothing: the stamp of the last build.

After a successful build, the command line records in the cache folder a
digest of everything the build read (sources, settings, lock, templates, the
tracker hook, the build day, the drafts flag, the generator's code and
libraries: cache.CODE_DIGEST) and the identity of every file it left in the
output folder: size, modification and change times, inode. The next build with
the same inputs, whose output folder still holds exactly those files, has
nothing to write and says so at once, before loading Markdown or Jinja.

Anything else builds: one byte of input, a file added to, removed from or
rewritten in the output folder (every write or rename of a file changes its
change time, which no tool can set back), a missing or unreadable stamp. The
check reads every input byte; it trusts nothing but the digests.

The stamp also keeps each content file's digest, each output file's SHA-256,
the digest of what each page was rendered from (render.py's page keys), and
(beside it, as a pickle whose digest it holds) the policies the build loaded
without their texts. When only content files changed, pipeline.build uses
them to rebuild only the policies those files belong to, and of those only
the pages whose key changed.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from .cache import CODE_DIGEST
from .output import listing, write_file
from .project import Project, read_sources, read_tree
from .security import HOOK_SOURCE

_FORMAT = "legalsite-build-stamp-4"


@dataclass(frozen=True)
class Inputs:
    """What a build reads: the content file by file, the rest as one digest."""

    rest: str  # code, day, drafts, paths, settings, lock, tracker hook, templates
    sources: dict[str, str]  # content path -> SHA-256 of its bytes
    raw: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)  # the bytes: the build uses these

    def take_raw(self) -> dict[str, bytes]:
        """The bytes, handed over to the build (which lets go of them once parsed)."""
        raw = dict(self.raw)
        self.raw.clear()
        return raw


@dataclass(frozen=True)
class Stamp:
    rest: str  # Inputs of the build
    sources: dict[str, str]
    pages: dict[str, str]  # output path -> SHA-256 of the bytes written
    keys: dict[str, str]  # output path -> digest of what the page was rendered from (render.py)
    common: str  # render.site_digest: what every page depends on
    outline: str  # SHA-256 of the pickle beside the stamp (record)
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


def inputs(project: Project, today, drafts: bool) -> Inputs:
    """Digests of everything a build of ``project`` reads, and of how it was asked to build."""
    content = read_sources(project.content, project.root) if project.content.is_dir() else {}
    return Inputs(rest=rest_digest(project, today, drafts),
                  sources={name: hashlib.sha256(data).hexdigest() for name, data in content.items()}, raw=content)


def rest_digest(project: Project, today, drafts: bool) -> str:
    """The digest of all a build reads but the content (small: checked again after a build)."""
    digest = hashlib.sha256(f"{_FORMAT}\0{CODE_DIGEST}\0{today.isoformat()}\0{drafts}\0".encode())
    digest.update(f"{project.root}\0{project.content}\0{project.templates}\0".encode())
    _file(digest, str(project.settings), project.settings)
    _file(digest, str(project.lock), project.lock)
    _file(digest, "hook", HOOK_SOURCE)
    templates = read_tree(project.templates) if project.templates.is_dir() else {}  # as load_theme reads them
    digest.update(f"templates\0{len(templates)}\0".encode())
    for name, data in templates.items():
        digest.update(name.encode() + b"\0%d:" % len(data) + data)
    return digest.hexdigest()


def _stamp_path(cache_dir: Path, out_dir: Path, suffix: str = ".json") -> Path:
    name = hashlib.sha256(str(out_dir.absolute()).encode()).hexdigest()[:24]
    return cache_dir / "stamps" / f"{name}{suffix}"


def read(cache_dir: Path, out_dir: Path) -> Stamp | None:
    try:
        data = json.loads(_stamp_path(cache_dir, out_dir).read_text(encoding="utf-8"))
        if data.pop("format") != _FORMAT:
            return None
        data["files"] = tuple(tuple(f) for f in data["files"])
        data["warnings"] = tuple(data["warnings"])
        return Stamp(**data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_outline(cache_dir: Path, out_dir: Path, stamp: Stamp):
    """The policies ``stamp``'s build loaded, without their texts (see record), or None."""
    try:
        data = _stamp_path(cache_dir, out_dir, ".pickle").read_bytes()
        return pickle.loads(data) if hashlib.sha256(data).hexdigest() == stamp.outline else None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class Check:
    """What the command line found before building: the last stamp, the inputs now,
    the output folder now (pipeline.build uses them rather than reading again)."""

    stamp: Stamp | None
    inputs: Inputs
    files: tuple[tuple[str, int, int, int, int], ...] | None  # None: no output folder

    @property
    def up_to_date(self) -> bool:
        return (self.stamp is not None and self.files == self.stamp.files
                and self.inputs.rest == self.stamp.rest and self.inputs.sources == self.stamp.sources)


def check(project: Project, out_dir: Path, today, drafts: bool, cache_dir: Path) -> Check:
    return Check(read(cache_dir, out_dir), inputs(project, today, drafts),
                 listing(out_dir) if out_dir.is_dir() else None)


def record(cache_dir: Path, out_dir: Path, used: Inputs, pages: dict[str, str], keys: dict[str, str],
           common: str, outline, summary: str, warnings: list[str],
           files: tuple[tuple[str, int, int, int, int], ...] | None = None) -> None:
    """Remember a build that just wrote ``out_dir`` from ``used``: the stamp, and the
    policies it loaded without their texts (``outline``), from which the next build
    can take the policies whose files did not change (pipeline.build). ``files``:
    listing(out_dir) as the build left it, if the caller knows it (output.relist)."""
    pickled = pickle.dumps(outline, protocol=pickle.HIGHEST_PROTOCOL)
    write_file(_stamp_path(cache_dir, out_dir, ".pickle"), pickled)
    data = {"format": _FORMAT, "rest": used.rest, "sources": used.sources, "pages": pages, "keys": keys,
            "common": common, "outline": hashlib.sha256(pickled).hexdigest(), "summary": summary,
            "warnings": list(warnings),
            "files": [list(f) for f in (listing(out_dir) if files is None else files)]}
    write_file(_stamp_path(cache_dir, out_dir), (json.dumps(data) + "\n").encode("utf-8"))
