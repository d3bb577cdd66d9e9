"""The build as named stages, each a function over frozen data:

    load_settings -> load_policies -> apply_lock -> render_site -> audit_site -> Built(files)

then one writer (output.py). :func:`run` is that sequence; ``build``, ``check``,
``diff``, ``audit`` (commands.py) and ``serve`` (preview.py) call it or its
first stages. Settings and templates are loaded once per build. Everything a
stage reuses comes from the one store it is given (store.py).

Only output.py writes the site: in :func:`publish`, or, for a new output
folder, as a copy beside it written while the audit runs and swapped in only
once it passed (``output.Staging``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import parallel, stamp, timeline
from .audit import audit_files, audit_policy
from .content import parse_policies, placeholders, policy_of
from .lock import Lock, check_notice, read_lock, verify
from .model import ContentError, ContentErrors, Policy, Settings, Site
from .output import Staging, check_output_dir, in_place_safe, relist, write_site
from .project import Project, read_sources
from .render import load_theme, redline_pairs, render_site, site_digest
from .settings import load_settings as read_settings
from .store import Store
from .wording import counted  # issue 15: "1 policy", not "1 policies"


@dataclass(frozen=True)
class Request:
    """What to build: the project, the day, drafts or not, the tracker or not (never in the
    preview, whatever site.toml says), on how many processes."""

    project: Project
    today: dt.date
    drafts: bool = False
    tracker: bool = True
    jobs: int = 1


@dataclass(frozen=True)
class Loaded:
    """Settings, every version (drafts included) and the lock, before the lock is checked."""

    settings: Settings
    policies: tuple[Policy, ...]
    lock: Lock


@dataclass(frozen=True)
class Partial:
    """A rebuild of only some policies (see publish): the others are taken as the last build
    left them, their versions without texts (``reuse``) and their pages on disk (``kept``)."""

    reuse: tuple[Policy, ...]
    kept: dict[str, str]  # output path -> SHA-256 of the pages left as they are
    common: str  # render.site_digest of the last build: anything else renders everything
    last: dict[
        str, tuple[str, str]
    ]  # output path -> (page key digest, SHA-256) of the folder's pages


@dataclass(frozen=True)
class Built:
    """What a build made. Outside the preview, ``site`` and ``loaded`` come without the
    versions' texts (outline_of): they are let go once the pages are rendered."""

    site: Site
    files: dict[str, bytes]
    seconds: float
    loaded: tuple[Policy, ...] = ()  # as loaded, drafts included, before the lock's corrections
    kept: dict[str, str] = field(default_factory=dict)  # files left as they were -> SHA-256
    common: str = ""  # render.site_digest of the site and theme
    keys: dict[str, str] = field(default_factory=dict)  # page -> its store key (what it depends on)
    staged: Staging | None = None  # the files, already written beside the output folder

    @property
    def pages(self) -> int:
        return sum(1 for path in [*self.files, *self.kept] if path.endswith(".html"))

    def contents(self) -> str:
        versions = sum(len(p.versions) for p in self.site.policies)
        return (
            f"{counted(len(self.site.policies), 'policy', 'policies')}, "
            f"{counted(versions, 'version')}, {counted(self.pages, 'page')}, "
            f"{counted(len(self.files) + len(self.kept), 'file')}"
        )

    def summary(self, out_dir: Path | None) -> str:
        where = f" -> {out_dir}" if out_dir else " (nothing written)"
        return f"{self.contents()} in {self.seconds:.2f} s{where}"


# -- the stages ------------------------------------------------------------------------


def load_settings(project: Project) -> Settings:
    """Stage 1: site.toml, validated (defaults when it does not exist); raises ContentErrors."""
    if not project.content.is_dir():
        raise ContentErrors(
            [
                ContentError(
                    project.display(project.content),
                    1,
                    "content folder not found: create it, or pass --content PATH",
                )
            ]
        )
    return read_settings(project.settings, project.display(project.settings))


def load_policies(
    project: Project,
    settings: Settings,
    store: Store,
    sources: dict[str, bytes] | None = None,
    reuse: tuple[Policy, ...] = (),
) -> Loaded:
    """Stage 2: every content file parsed and validated, and the lock read; raises ContentErrors.

    ``sources``: the content already read (project.read_sources), else it is read here.
    ``reuse``: policies already loaded from exactly the files now in their folders
    (a Partial rebuild); their files are not parsed again."""
    if sources is None:
        sources = read_sources(project.content, project.root)
    prefix = project.display(project.content)
    skipped = {p.slug for p in reuse}
    if skipped:
        sources = {
            path: raw for path, raw in sources.items() if policy_of(path, prefix) not in skipped
        }
    policies = parse_policies(sources, prefix, placeholders(settings), store)
    if reuse:
        policies = tuple(sorted(policies + reuse, key=lambda p: p.slug))
    return Loaded(settings, policies, read_lock(project.lock, project.display(project.lock)))


def apply_lock(loaded: Loaded, request: Request) -> Site:
    """Stage 3: the rules of publication (the lock's hashes and corrections, the notice
    period), then the drafts rule; raises ContentErrors."""
    display = request.project.display(request.project.lock)
    policies, errors = verify(loaded.policies, loaded.lock, display)
    errors += check_notice(policies, loaded.lock, request.today, loaded.settings.notice_days)
    if errors:
        raise ContentErrors(errors)
    if not request.drafts:
        policies = tuple(
            dataclasses.replace(p, versions=tuple(v for v in p.versions if not v.draft))
            for p in policies
            if any(not v.draft for v in p.versions)
        )
    # The tracker loads only in production builds (and only when [analytics] is set).
    return Site(
        settings=loaded.settings,
        policies=policies,
        today=request.today,
        drafts=request.drafts,
        tracker=request.tracker and not request.drafts,
    )


def audit_site(
    site: Site, files: dict[str, bytes], store: Store, pages: dict[str, str], pool=None
) -> None:
    """Stage 5: the privacy audit of every output file (audit.py); raises ContentErrors.

    Each file is audited once (store.py), under its path and bytes, or, for a page,
    its key (``pages``: output path -> the page's store key): a page's bytes are what
    the store holds under that key, so the key stands for them without hashing
    them again. The files the store lacks are audited in audit.py's chunks, on
    ``pool`` when given."""

    def stored_map(audit_chunk, chunks, policies):
        out, todo = [], []
        for chunk, policy in zip(chunks, policies):
            keys = {
                path: store.key("audit", policy, path, pages.get(path) or data)
                for path, data in chunk
            }
            found = {path: store.lookup("audit", key) for path, key in keys.items()}
            out.append([f for found_, findings in found.values() if found_ for f in findings])
            missing = [(path, data) for path, data in chunk if not found[path][0]]
            if missing:
                todo.append((len(out) - 1, missing, policy, keys))
        made = (pool.map if pool is not None else map)(
            audit_chunk, [t[1] for t in todo], [t[2] for t in todo]
        )
        for (index, missing, _policy, keys), findings in zip(todo, made):
            for path, _data in missing:
                store.put("audit", keys[path], [f for f in findings if f.path == path])
            out[index] += findings
        return out

    findings = audit_files(files, audit_policy(site), map=stored_map)
    if findings:
        raise ContentErrors(findings)


def load_site(project: Project, today: dt.date, drafts: bool, store: Store | None = None) -> Site:
    """Stages 1-3 (``diff``): the site as it would be published on ``today``."""
    store = store if store is not None else Store()
    request = Request(project, today, drafts)
    return apply_lock(load_policies(project, load_settings(project), store), request)


def run(
    request: Request,
    store: Store,
    sources: dict[str, bytes] | None = None,
    partial: Partial | None = None,
    stage: Path | None = None,
) -> Built:
    """Stages 1-5: everything up to, not including, writing.

    ``request.jobs`` > 1 computes Markdown, redlines and the audit on that many
    processes first (parallel.py), into the store; neither changes a byte.
    ``sources``: the content already read. ``partial``: see Partial; raises
    NotPartial when what every page depends on changed. ``stage``: a new output
    folder; the files are written beside it while the audit runs (output.Staging),
    removed if it fails, and the caller commits them."""
    started = time.perf_counter()
    project, staged = request.project, None
    settings = load_settings(project)
    if sources is None:
        sources = read_sources(project.content, project.root)
    try:
        with _workers(request, store, len(sources)) as pool:
            if pool is not None:
                parallel.warm_parse(
                    pool,
                    store,
                    sources,
                    project.display(project.content),
                    placeholders(settings),
                    request.jobs,
                )
            loaded = load_policies(
                project, settings, store, sources, partial.reuse if partial else ()
            )
            sources = None  # the parsed site holds what is needed from here on
            site = apply_lock(loaded, request)
            theme = load_theme(project.templates, store)
            common = site_digest(site, theme)
            if partial is not None and common != partial.common:
                raise NotPartial
            if pool is not None:
                parallel.warm_redlines(pool, store, redline_pairs(site), request.jobs)
            skip = frozenset(p.slug for p in partial.reuse) if partial else frozenset()
            output = render_site(
                site,
                theme,
                store,
                skip,
                partial.kept if partial else None,
                partial.last if partial else None,
            )
            store.receive_all()
            loaded = loaded.policies
            if (
                not store.remember
            ):  # the pages are made: let the texts go before the audit, when memory peaks
                site = dataclasses.replace(site, policies=outline_of(site.policies))
                loaded = outline_of(loaded)
            staged = Staging(output.files, stage) if stage is not None else None
            audit_site(site, output.files, store, output.keys, pool)
    except BaseException:
        if staged is not None:
            staged.discard()  # nothing of a failed build stays beside the output folder
        raise
    return Built(
        site=site,
        files=output.files,
        seconds=time.perf_counter() - started,
        loaded=loaded,
        kept={**(partial.kept if partial else {}), **output.kept},
        common=common,
        keys=output.keys,
        staged=staged,
    )


def _workers(request: Request, store: Store, files: int):
    """The process pool of a cold build (parallel.py), or nothing: one process is enough for
    the preview (its store remembers) and for a site too small to gain from more."""
    if request.jobs < 2 or store.remember or files < parallel.MIN_ITEMS:
        return contextlib.nullcontext()
    return parallel.workers(request.jobs)


def render(
    project: Project,
    today: dt.date,
    drafts: bool,
    tracker: bool = True,
    jobs: int = 1,
    store: Store | None = None,
) -> Built:
    """Stages 1-5 with a fresh store in memory, if none is given (``check``, the tests)."""
    return run(
        Request(project, today, drafts, tracker, jobs), store if store is not None else Store()
    )


# -- the writer -----------------------------------------------------------------------


def build(
    project: Project,
    out_dir: Path,
    today: dt.date | None = None,
    drafts: bool = False,
    jobs: int = 1,
    cache_dir: Path | None = None,
) -> Built:
    """The whole build, written; on any error nothing is written and ``out_dir`` is untouched."""
    request = Request(project, timeline.build_day(today), drafts, jobs=jobs)
    found = (
        None
        if cache_dir is None
        else stamp.check(project, out_dir, request.today, drafts, cache_dir)
    )
    return publish(request, out_dir, cache_dir, found)


def publish(
    request: Request, out_dir: Path, cache_dir: Path | None, found: stamp.Check | None
) -> Built:
    """Build and write ``out_dir``; ``found``: stamp.check of this build (with a store in ``cache_dir``).

    With a store, the build leaves a stamp there (stamp.py) by which the next one
    can tell, without rendering, that it would change nothing; only when no input
    changed while this one ran. When only content files changed, the next build
    loads only the policies they belong to, renders only the pages whose key
    changed (render.py), and leaves every other page in ``out_dir`` as it is."""
    project = request.project
    check_output_dir(out_dir, [project.root, project.content, project.templates])
    stage = (
        None if out_dir.exists() or out_dir.is_symlink() else out_dir
    )  # a new site: written during the audit
    if cache_dir is None:
        result = run(request, Store(), stage=stage)
        _write(result, out_dir)
        return result
    used = found.inputs  # the content is built from exactly the bytes the stamp describes
    with Store(cache_dir) as store:
        result = _partial(request, out_dir, store, found)
        entries = (
            found.files if result is not None else None
        )  # a partial build: the folder is as listed
        if result is None:
            result = run(request, store, used.take_raw(), stage=stage)
    touched = _write(result, out_dir, entries)
    if (
        stamp.rest_digest(project, request.today, request.drafts) == used.rest
    ):  # nothing else changed meanwhile
        after = (
            relist(entries, out_dir.absolute(), touched)
            if entries is not None and touched is not None
            else None
        )
        stamp.record(cache_dir, out_dir, used, _left(result, found), after, found.listed_at)
    return result


def _left(result: Built, found: stamp.Check) -> stamp.Left:
    """What the stamp records of a build that was just written."""
    pages = dict(result.kept)
    pages.update((path, hashlib.sha256(data).hexdigest()) for path, data in result.files.items())
    keys = {
        path: key
        for path, key in (found.stamp.keys if found.stamp else {}).items()
        if path in result.kept
    }
    keys.update(result.keys)  # skipped policies' pages keep theirs
    return stamp.Left(
        pages,
        keys,
        result.common,
        outline_of(result.loaded),
        result.contents(),
        tuple(warnings(result.site)),
    )


def outline_of(policies: tuple[Policy, ...]) -> tuple[Policy, ...]:
    """The policies without their versions' texts: what the site-wide pages and the next
    build's stamp need of them. Policies already in outline (a partial rebuild takes
    all but the edited one from the last stamp) are returned as they are."""

    def bare(version) -> bool:
        return not version.body_html and not version.headings

    return tuple(
        p
        if all(map(bare, p.versions))
        else dataclasses.replace(
            p,
            versions=tuple(
                v if bare(v) else dataclasses.replace(v, body_html="", headings=())
                for v in p.versions
            ),
        )
        for p in policies
    )


def _write(result: Built, out_dir: Path, entries=None) -> frozenset[str] | None:
    """Publish ``result``; returns what write_site returns (None: the folder was replaced)."""
    if result.staged is not None:
        result.staged.commit()  # removes the staged site itself if it fails
        return None
    return write_site(result.files, out_dir, keep=frozenset(result.kept), entries=entries)


class NotPartial(Exception):
    """Something every page depends on changed: a partial rebuild cannot be done."""


def _partial(request: Request, out_dir: Path, store: Store, found: stamp.Check) -> Built | None:
    """A rebuild of only the policies whose files changed since the last build, or None.

    It is possible when the last build's stamp shows that nothing but content
    files changed (not templates, settings, lock, day, code) and that the output
    folder is exactly as that build left it. The other policies are taken from
    the stamp's outline (their versions without texts: all that site-wide pages
    and the rules of publication need) and their pages stay on disk; a change to
    what every page depends on (a policy's title, the list of policies) raises
    NotPartial inside run and the build renders everything."""
    last, used = found.stamp, found.inputs
    if (
        last is None
        or last.rest != used.rest
        or found.files != last.files
        or not in_place_safe(found.files, ())
    ):
        return None
    prefix = request.project.display(request.project.content)
    changed = {
        path
        for path in used.sources.keys() | last.sources.keys()
        if used.sources.get(path) != last.sources.get(path)
    }
    touched = {policy_of(path, prefix) for path in changed}
    outline = stamp.read_outline(store.folder, out_dir, last)
    if None in touched or outline is None:
        return None  # a misplaced file: the full build reports it
    reuse = tuple(p for p in outline if p.slug not in touched)
    reused = {p.slug for p in reuse}
    kept = {path: sha for path, sha in last.pages.items() if path.split("/", 1)[0] in reused}
    pages = {path: (key, last.pages[path]) for path, key in last.keys.items() if path in last.pages}
    sources = used.read([path for path in used.sources if policy_of(path, prefix) in touched])
    try:
        return run(
            dataclasses.replace(request, jobs=1),
            store,
            sources,
            Partial(reuse, kept, last.common, pages),
        )
    except NotPartial:
        return None


def warnings(site: Site) -> list[str]:
    """Things that are allowed but that someone should fix before publishing."""
    out = []
    if not site.settings.contact_email:
        out.append(
            f"{site.settings.source_path}: contact_email is not set: pages show a highlighted placeholder where the address belongs"
        )
    if site.settings.base_url.endswith(".example") or ".example/" in site.settings.base_url:
        out.append(
            f"{site.settings.source_path}: base_url is the placeholder {site.settings.base_url}: set the real address before publishing"
        )
    return out
