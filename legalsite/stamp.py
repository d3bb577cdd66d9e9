"""A build with nothing to do does nothing: the stamp of the last build.

After a successful build, the command line records in the cache folder a
digest of everything the build read (sources, settings, lock, templates, the
tracker hook, the build day, the drafts flag, the generator's code and
libraries: store.CODE_DIGEST) and the identity of every file it left in the
output folder: size, modification and change times, inode. The next build with
the same inputs, whose output folder still holds exactly those files, has
nothing to write and says so at once, before loading Markdown or Jinja.

Anything else builds: one byte of input, a file added to, removed from or
rewritten in the output folder (every write or rename of a file changes its
change time, which no tool can set back), a missing or unreadable stamp. The
check reads every input byte but those of content files that still have the
size, times and inode they had when the last build read them, long enough
after their last change (as git's index does: project.SourceFile.trusted),
and reads again only the output folders whose times changed (output.listing).

The stamp also keeps each content file's digest, each output file's SHA-256,
the digest of what each page was rendered from (render.py's page keys), and
(beside it, as a pickle whose digest it holds) the policies the build loaded
without their texts. When only content files changed, pipeline.publish uses
them to rebuild only the policies those files belong to, and of those only
the pages whose key changed.
"""

from __future__ import annotations

import hashlib
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path

from .model import ContentError, ContentErrors
from .output import listing, write_file
from .project import Project, SourceFile, list_sources, read_tree
from .security import HOOK_SOURCE
from .store import CODE_DIGEST

_FORMAT = "legalsite-build-stamp-7"


@dataclass(frozen=True)
class Inputs:
    """What a build reads: the content file by file, the rest as one digest."""

    rest: str  # code, day, drafts, paths, settings, lock, tracker hook, templates
    sources: dict[str, str]  # content path -> SHA-256 of its bytes
    identities: dict[str, tuple[int, int, int, int]] = field(
        default_factory=dict, compare=False
    )  # trusted ones
    raw: dict[str, bytes] = field(
        default_factory=dict, repr=False, compare=False
    )  # the bytes read so far
    found: dict[str, SourceFile] = field(default_factory=dict, repr=False, compare=False)

    def read(self, paths) -> dict[str, bytes]:
        """The bytes of these content files, for the build: as the check read them, or
        read now if the check could trust its last digest. A file changed since the
        check gets the digest of the bytes read now, so that the stamp describes
        exactly the bytes built, and is not trusted next time. One removed or made
        unreadable since the check (a checkout during the build) is a content error:
        nothing is written, and the next build sees what is there then."""
        out = {}
        for path in paths:
            data = self.raw.get(path)
            if data is None:
                try:
                    data = self.found[path].read()
                except OSError as exc:
                    raise ContentErrors(
                        [
                            ContentError(
                                path,
                                1,
                                f"the file changed while the site was built "
                                f"({exc.strerror}): run the build again",
                            )
                        ]
                    ) from None
                digest = hashlib.sha256(data).hexdigest()
                if digest != self.sources[path]:
                    self.sources[path] = digest
                    self.identities.pop(path, None)
            out[path] = data
        return out

    def take_raw(self) -> dict[str, bytes]:
        """Every content file's bytes, handed over to the build (which lets go of them once parsed)."""
        raw = self.read(list(self.sources))
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
    identities: dict[
        str, tuple[int, int, int, int]
    ]  # content path -> size, times, inode when it had its digest
    files: tuple[tuple[str, int, int, int, int], ...]  # path, size, mtime_ns, ctime_ns, inode
    listed_at: (
        int  # time.time_ns() just before the output folder was listed (output.listing's since)
    )
    summary: str  # what the build printed
    warnings: tuple[str, ...]


def _file(digest, name: str, path: Path) -> None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = None
    marker = b"-" if data is None else b"+%d:" % len(data)
    digest.update(name.encode() + b"\0" + marker + (data or b""))


def inputs(project: Project, today, drafts: bool, last: Stamp | None = None) -> Inputs:
    """Digests of everything a build of ``project`` reads, and of how it was asked to build.

    A content file whose size, times and inode are those the ``last`` build
    trusted (project.SourceFile.trusted) keeps the digest it had then and is not
    read: on a large site, reading and hashing every file was half of this check."""
    found = list_sources(project.content, project.root) if project.content.is_dir() else {}
    known = last.identities if last is not None else {}
    sources, identities, raw = {}, {}, {}
    for path, source in found.items():
        if last is not None and known.get(path) == source.identity and path in last.sources:
            sources[path] = last.sources[path]
            identities[path] = source.identity
            continue
        data = raw[path] = source.read()
        sources[path] = hashlib.sha256(data).hexdigest()
        if source.trusted(data):
            identities[path] = source.identity
    return Inputs(
        rest=rest_digest(project, today, drafts),
        sources=sources,
        identities=identities,
        raw=raw,
        found=found,
    )


def rest_digest(project: Project, today, drafts: bool) -> str:
    """The digest of all a build reads but the content (small: checked again after a build)."""
    digest = hashlib.sha256(f"{_FORMAT}\0{CODE_DIGEST}\0{today.isoformat()}\0{drafts}\0".encode())
    digest.update(f"{project.root}\0{project.content}\0{project.templates}\0".encode())
    _file(digest, str(project.settings), project.settings)
    _file(digest, str(project.lock), project.lock)
    _file(digest, "hook", HOOK_SOURCE)
    templates = (
        read_tree(project.templates) if project.templates.is_dir() else {}
    )  # as load_theme reads them
    digest.update(f"templates\0{len(templates)}\0".encode())
    for name, data in templates.items():
        digest.update(name.encode() + b"\0%d:" % len(data) + data)
    return digest.hexdigest()


# What reading a stamp or outline that is damaged, or of another version, can raise.
_UNREADABLE = (
    OSError,
    pickle.UnpicklingError,
    EOFError,
    AttributeError,
    ImportError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
)


def _stamp_path(cache_dir: Path, out_dir: Path, suffix: str = ".stamp") -> Path:
    name = hashlib.sha256(str(out_dir.absolute()).encode()).hexdigest()[:24]
    return cache_dir / "stamps" / f"{name}{suffix}"


def read(cache_dir: Path, out_dir: Path) -> Stamp | None:
    """The stamp of the last build into ``out_dir``, or None if there is none that this
    version can read. A pickle of plain values: written and read in less than half
    the time JSON took (it is read before every build and names each output file
    several times)."""
    try:
        data = pickle.loads(_stamp_path(cache_dir, out_dir).read_bytes())
        if data.pop("format") != _FORMAT:
            return None
        return Stamp(**data)
    except _UNREADABLE:
        return None


def read_outline(cache_dir: Path, out_dir: Path, stamp: Stamp):
    """The policies ``stamp``'s build loaded, without their texts (see record), or None."""
    try:
        data = _stamp_path(cache_dir, out_dir, ".pickle").read_bytes()
        return pickle.loads(data) if hashlib.sha256(data).hexdigest() == stamp.outline else None
    except _UNREADABLE:
        return None


@dataclass(frozen=True)
class Check:
    """What the command line found before building: the last stamp, the inputs now,
    the output folder now (pipeline.publish uses them rather than reading again)."""

    stamp: Stamp | None
    inputs: Inputs
    files: tuple[tuple[str, int, int, int, int], ...] | None  # None: no output folder
    listed_at: int  # time.time_ns() just before the output folder was listed

    @property
    def up_to_date(self) -> bool:
        return (
            self.stamp is not None
            and self.files == self.stamp.files
            and self.inputs.rest == self.stamp.rest
            and self.inputs.sources == self.stamp.sources
        )


def check(project: Project, out_dir: Path, today, drafts: bool, cache_dir: Path) -> Check:
    last = read(cache_dir, out_dir)
    now = inputs(project, today, drafts, last)
    taken = time.time_ns()
    files = (
        listing(out_dir, (last.files, last.listed_at) if last else None)
        if out_dir.is_dir()
        else None
    )
    return Check(last, now, files, taken)


@dataclass(frozen=True)
class Left:
    """What a build left in the output folder, as its stamp records it (pipeline._left)."""

    pages: dict[str, str]  # output path -> SHA-256 of the bytes written
    keys: dict[str, str]  # output path -> digest of what the page was rendered from (render.py)
    common: str  # render.site_digest: what every page depends on
    outline: tuple  # the policies the build loaded, without their texts
    summary: str  # what the build printed
    warnings: tuple[str, ...]


def record(
    cache_dir: Path,
    out_dir: Path,
    used: Inputs,
    left: Left,
    files: tuple[tuple[str, int, int, int, int], ...] | None = None,
    listed_at: int = 0,
) -> None:
    """Remember a build that just wrote ``out_dir`` from ``used``: the stamp, and the
    policies it loaded without their texts (``left.outline``), from which the next build
    can take the policies whose files did not change (pipeline.publish). ``files``:
    listing(out_dir) as the build left it, if the caller knows it (output.relist), and
    ``listed_at``, the time before the listing it was made from was taken."""
    if files is None:
        listed_at = time.time_ns()
        files = listing(out_dir)
    pickled = pickle.dumps(left.outline, protocol=pickle.HIGHEST_PROTOCOL)
    write_file(_stamp_path(cache_dir, out_dir, ".pickle"), pickled)
    data = {
        "format": _FORMAT,
        "rest": used.rest,
        "sources": used.sources,
        "pages": left.pages,
        "keys": left.keys,
        "common": left.common,
        "outline": hashlib.sha256(pickled).hexdigest(),
        "summary": left.summary,
        "identities": used.identities,
        "warnings": left.warnings,
        "files": files,
        "listed_at": listed_at,
    }
    write_file(
        _stamp_path(cache_dir, out_dir), pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    )
