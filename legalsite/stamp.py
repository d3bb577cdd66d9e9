"""A build with nothing to do does nothing: the record of the last build, kept in the store.

After a successful build, the command line puts into the store (store.py, kind
``stamp``, under the output folder's path) a digest of everything the build
read (sources, settings, lock, templates, the tracker hook, the build day, the
drafts flag; the generator's code and libraries are in every store key), the
identity of every file it left in the output folder (size, modification and
change times, inode) and each page's store key and SHA-256. The next build
with the same inputs, whose output folder still holds exactly those files, has
nothing to write and says so at once, before loading Markdown or Jinja.

Anything else builds, the whole site in memory (pipeline.run), with the same
store: unchanged sources come out of it parsed, and a page whose store key is
the one recorded for the page the output folder holds is left there as it is
(render.render_site's ``last``), so one edit renders a few pages. The check
reads every input byte but those of content files that still have the size,
times and inode they had when the last build read them, long enough after
their last change (as git's index does: project.SourceFile.trusted), and reads
again only the output folders whose times changed (output.listing).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from . import unreadable
from .output import in_place_safe, listing
from .project import HOOK_SOURCE, Project, SourceFile, list_sources, read_tree
from .store import Store

# The records here are NamedTuples and a plain class, not dataclasses, and the model is
# imported only to report an error: the no-op build imports this module and not those
# (dataclasses, with inspect, and the model's classes were 15-20 ms of its 0.12 s).


class Inputs(Mapping):
    """What a build reads: the content file by file, the rest as one digest.

    A mapping of content path -> bytes, as the build reads it: a file is read when
    the build asks for it, which it does only when the store lacks its parse
    (content.parse_policies keys the parse by ``sources``, the digests)."""

    __slots__ = ("rest", "sources", "identities", "raw", "found")

    def __init__(
        self,
        rest: str,  # code, day, drafts, paths, settings, lock, tracker hook, templates
        sources: dict[str, str],  # content path -> SHA-256 of its bytes
        identities: dict[str, tuple[int, int, int, int]],  # the trusted ones'
        raw: dict[str, bytes],  # read by the check, not yet asked for
        found: dict[str, SourceFile],
    ):
        self.rest, self.sources, self.identities = rest, sources, identities
        self.raw, self.found = raw, found

    def __getitem__(self, path: str) -> bytes:
        """The bytes of a content file, as the check read them or read now. A file removed,
        made unreadable or changed since the check (a checkout during the build) is a content
        error: nothing is written, and the next build sees what is there then."""
        data = self.raw.pop(path, None)
        if data is not None:
            return data
        try:
            data = self.found[path].read()
            problem = "" if hashlib.sha256(data).hexdigest() == self.sources[path] else "edited"
        except FileNotFoundError as exc:
            problem = exc.strerror or str(exc)
        except OSError as exc:  # no read access, say: as project.read_sources reports it
            raise unreadable.errors([(path, exc)], unreadable.SOURCE) from None
        if problem:
            from .model import ContentError, ContentErrors  # see the imports above

            message = f"the file changed while the site was built ({problem}): run the build again"
            raise ContentErrors([ContentError(path, 1, message)])
        assert data is not None  # read above, or the read raised
        return data

    def __iter__(self):
        return iter(self.sources)

    def __len__(self) -> int:
        return len(self.sources)


class Stamp(NamedTuple):
    """What the last build into an output folder read and left there."""

    rest: str  # Inputs.rest of the build
    sources: dict[str, str]  # content path -> SHA-256
    identities: dict[str, tuple[int, int, int, int]]  # content path -> its identity then
    pages: dict[str, tuple[str, str]]  # output path -> (page store key, SHA-256 written)
    files: tuple[tuple[str, int, int, int, int], ...]  # output.listing after the build
    listed_at: int  # time.time_ns() just before the listing it was made from was taken
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


def remembered(project: Project, store: Store) -> Inputs:
    """The content by digest, for the preview: a file that had settled and still has the
    size, times and inode it had when last read keeps the digest it had then (kind
    ``source``, in the store's memory under the file's path and identity); the others are
    read. The build reads a file again only if the store lacks its parse."""
    found = list_sources(project.content, project.root) if project.content.is_dir() else {}
    digests: dict[str, str] = {}
    raw: dict[str, bytes] = {}
    for path, source in found.items():
        key = store.key("source", path, source.identity)
        known, digest = store.lookup("source", key) if source.settled else (False, None)
        if not known:
            try:
                data = raw[path] = source.read()
            except FileNotFoundError:
                continue  # removed meanwhile: the watcher calls for another build
            except OSError:
                digests[path] = ""  # the build reads it again and reports it (Inputs)
                continue
            digest = hashlib.sha256(data).hexdigest()
            if source.trusted(data):
                store.put("source", key, digest)
        digests[path] = str(digest)
    return Inputs("", digests, {}, raw, {path: found[path] for path in digests})


def rest_digest(project: Project, today, drafts: bool) -> str:
    """The digest of all a build reads but the content (small: checked again after a build)."""
    digest = hashlib.sha256(f"{today.isoformat()}\0{drafts}\0".encode())
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


def read(store: Store, out_dir: Path) -> Stamp | None:
    """The stamp of the last build into ``out_dir``, or None (none, or unreadable: a miss)."""
    found, value = store.lookup("stamp", store.key("stamp", str(out_dir.absolute())))
    return value if found and isinstance(value, Stamp) else None


class Check(NamedTuple):
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

    def last_pages(self) -> dict[str, tuple[str, str]] | None:
        """The pages the output folder holds as the last build wrote them (render_site's
        ``last``): only if it is exactly as that build left it, with nothing in the way."""
        if (
            self.stamp is None
            or self.files != self.stamp.files
            or not in_place_safe(self.files, ())
        ):
            return None
        return self.stamp.pages


def check(project: Project, out_dir: Path, today, drafts: bool, store: Store) -> Check | None:
    """What the last build into ``out_dir`` left and what is there now; None if an input or
    the output folder cannot be read (a folder as site.toml, no read access): the build
    itself then reports it as ``path:line`` (the only place this check is made)."""
    try:
        return _check(project, out_dir, today, drafts, store)
    except (OSError, ValueError):
        return None
    except Exception as exc:
        from .model import ContentErrors  # here only: a no-op loads no model

        if isinstance(exc, ContentErrors):  # a content folder it cannot list (list_sources)
            return None
        raise


def _check(project: Project, out_dir: Path, today, drafts: bool, store: Store) -> Check:
    last = read(store, out_dir)
    now = inputs(project, today, drafts, last)
    taken = time.time_ns()
    files = (
        listing(out_dir, (last.files, last.listed_at) if last else None)
        if out_dir.is_dir()
        else None
    )
    return Check(last, now, files, taken)


def record(store: Store, out_dir: Path, stamp: Stamp) -> None:
    """Remember the build that just wrote ``out_dir`` (committed with the store)."""
    store.put("stamp", store.key("stamp", str(out_dir.absolute())), stamp)
