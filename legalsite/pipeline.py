"""The build as named stages: settings, content, theme, render, write.

Each stage is a plain function; :func:`build` runs them in order and is what
the command line, the tests and the preview server call. Only output.py
writes the site: in the last stage, or, for a new output folder, as a copy
beside it written while the audit runs and swapped in only once it passed
(``output.Staging``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from . import parallel, stamp, timeline
from .audit import audit_files, audit_policy
from .cache import DiskCache
from .content import load_policies, policy_of
from .lock import Lock, check_notice, read_lock, verify
from .memo import active_memo
from .model import ContentError, ContentErrors, Policy, Settings, Site
from .output import Staging, check_output_dir, in_place_safe, relist, write_site
from .project import Project, read_sources
from .render import Theme, load_theme, page_digest, redline_pairs, render_site, site_digest
from .settings import load_settings


def placeholders(site_settings) -> dict[str, str]:
    """The settings policy text may name as ``{{ name }}``."""
    return {"contact_email": site_settings.contact_email}


@dataclass(frozen=True)
class Loaded:
    """Settings, every version (drafts included) and the lock, before the lock is checked."""

    settings: Settings
    policies: tuple[Policy, ...]
    lock: Lock


def load_content(project: Project, sources: dict[str, bytes] | None = None, reuse: tuple[Policy, ...] = ()) -> Loaded:
    """Stages 1 and 2: settings and content, each file validated; raises ContentErrors.

    ``reuse``: policies already loaded from exactly the files now in their
    folders (pipeline.build); those files are not parsed again."""
    if not project.content.is_dir():
        raise ContentErrors([ContentError(project.display(project.content), 1,
                                          "content folder not found: create it, or pass --content PATH")])
    settings = load_settings(project.settings, project.display(project.settings))
    if sources is None:
        sources = read_sources(project.content, project.root)
    prefix = project.display(project.content)
    skipped = {p.slug for p in reuse}
    if skipped:
        sources = {path: raw for path, raw in sources.items() if policy_of(path, prefix) not in skipped}
    policies = load_policies(sources, prefix, placeholders(settings))
    if reuse:
        policies = tuple(sorted(policies + reuse, key=lambda p: p.slug))
    return Loaded(settings, policies, read_lock(project.lock, project.display(project.lock)))


def load_site(project: Project, today: dt.date, drafts: bool, sources: dict[str, bytes] | None = None,
              tracker: bool = True) -> Site:
    """Stages 1-3: content, then the rules of publication (lock, notice period)."""
    return _load_site(project, today, drafts, sources, tracker)[0]


def _load_site(project: Project, today: dt.date, drafts: bool, sources: dict[str, bytes] | None,
               tracker: bool, reuse: tuple[Policy, ...] = ()) -> tuple[Site, tuple[Policy, ...]]:
    """load_site, and the policies as loaded (before the lock's corrections and the drafts rule)."""
    loaded = load_content(project, sources, reuse)
    policies, errors = verify(loaded.policies, loaded.lock, project.display(project.lock))
    errors += check_notice(policies, loaded.lock, today, loaded.settings.notice_days)
    if errors:
        raise ContentErrors(errors)
    if not drafts:
        policies = tuple(
            dataclasses.replace(p, versions=tuple(v for v in p.versions if not v.draft))
            for p in policies if any(not v.draft for v in p.versions)
        )
    # The tracker loads only in production builds (and only when [analytics] is set).
    return Site(settings=loaded.settings, policies=policies, today=today, drafts=drafts,
                tracker=tracker and not drafts), loaded.policies


@dataclass(frozen=True)
class BuildResult:
    """What a render made. Outside the preview, ``site`` and ``loaded`` come without the
    versions' texts (outline_of): they are let go once the pages are rendered."""

    site: Site
    files: dict[str, bytes]
    seconds: float
    loaded: tuple[Policy, ...] = ()  # as loaded, drafts included, before the lock's corrections
    kept: dict[str, str] = dataclasses.field(default_factory=dict)  # files left as they were -> SHA-256
    common: str = ""  # render.site_digest of the site and theme
    keys: dict[str, tuple] = dataclasses.field(default_factory=dict)  # page -> what it depends on (render.page_digest)
    staged: Staging | None = None  # the files, already written beside the output folder (render's ``stage``)

    @property
    def pages(self) -> int:
        return sum(1 for path in [*self.files, *self.kept] if path.endswith(".html"))

    def contents(self) -> str:
        versions = sum(len(p.versions) for p in self.site.policies)
        return (f"{len(self.site.policies)} policies, {versions} versions, {self.pages} pages, "
                f"{len(self.files) + len(self.kept)} files")

    def summary(self, out_dir: Path | None) -> str:
        where = f" -> {out_dir}" if out_dir else " (nothing written)"
        return f"{self.contents()} in {self.seconds:.2f} s{where}"


def render(project: Project, today: dt.date, drafts: bool, theme: Theme | None = None,
           tracker: bool = True, jobs: int = 1, cache_dir: Path | None = None,
           sources: dict[str, bytes] | None = None, reuse: tuple[Policy, ...] = (),
           kept: dict[str, str] | None = None, common: str | None = None,
           last: dict[str, tuple[str, str]] | None = None, stage: Path | None = None) -> BuildResult:
    """Stages 1-4 and the privacy audit: everything up to, not including, publishing.

    ``tracker=False`` (the preview) renders without the tracker whatever
    site.toml says, like a drafts build: no tag, no analytics origin in the CSP.
    ``jobs`` > 1 computes Markdown and redlines on that many processes first
    (parallel.py); ``cache_dir`` keeps results of pure steps between builds
    (cache.py). Neither changes a byte of the output. ``sources``: the
    content already read (project.read_sources), else it is read here.
    ``reuse``, ``kept``, ``common`` and ``last``: a partial rebuild (see build);
    raises NotPartial when the site-wide digest is no longer ``common``.
    ``stage``: a new output folder; the files are written beside it while the
    audit runs (output.Staging), removed if it fails, and the caller commits them.
    """
    started = time.perf_counter()
    staged: Staging | None = None
    try:
        with contextlib.ExitStack() as stack:
            if cache_dir is not None:
                stack.enter_context(DiskCache(cache_dir).active())
            memo, pool = None, None
            remembering = active_memo() is not None  # the preview's memo keeps the texts anyway
            if jobs > 1 and not remembering and project.content.is_dir():
                settings = load_settings(project.settings, project.display(project.settings))
                sources = sources if sources is not None else read_sources(project.content, project.root)
                if len(sources) >= parallel.MIN_ITEMS:
                    pool = stack.enter_context(parallel.workers(jobs))
                    memo = stack.enter_context(parallel.Prefetched().active())
                    parallel.warm_parse(pool, memo, sources, project.display(project.content), placeholders(settings), jobs)
            site, loaded = _load_site(project, today, drafts, sources, tracker, reuse)
            sources = None  # the parsed site holds what is needed from here on
            theme = theme or load_theme(project.templates, _compiled_dir(cache_dir))
            digest = site_digest(site, theme)
            if common is not None and digest != common:
                raise NotPartial
            if pool is not None:
                parallel.warm_redlines(pool, memo, redline_pairs(site), jobs)
            skip = frozenset(p.slug for p in reuse)
            output = render_site(site, theme, skip, kept, last)
            files = output.files
            if pool is not None:
                memo.receive_all()
            if not remembering:  # the pages are made: let the texts go before the audit, when memory peaks
                site = dataclasses.replace(site, policies=outline_of(site.policies))
                loaded = outline_of(loaded)
            staged = Staging(files, stage) if stage is not None else None
            policy = audit_policy(site)
            findings = audit_files(files, policy, map=map if pool is None else pool.map)
            if pool is not None:
                pool.shutdown()
            if findings:
                raise ContentErrors(findings)
    except BaseException:
        if staged is not None:
            staged.discard()  # nothing of a failed build stays beside the output folder
        raise
    return BuildResult(site=site, files=files, seconds=time.perf_counter() - started, loaded=loaded,
                       kept={**(kept or {}), **output.kept}, common=digest, keys=output.keys, staged=staged)


def build(project: Project, out_dir: Path, today: dt.date | None = None, drafts: bool = False,
          jobs: int = 1, cache_dir: Path | None = None, found: stamp.Check | None = None) -> BuildResult:
    """The whole build; on any error nothing is written and ``out_dir`` is untouched.

    With a cache, the build leaves a stamp there (stamp.py) by which the next
    one can tell, without rendering, that it would change nothing; only when
    no input changed while this one ran. When only content files changed, the
    next build loads only the policies they belong to, renders only the pages
    whose key changed (render.py), and leaves every other page in ``out_dir``
    as it is.
    ``found``: stamp.check of this build, if the caller already made it.
    """
    check_output_dir(out_dir, [project.root, project.content, project.templates])
    day = timeline.build_day(today)
    stage = None if out_dir.exists() or out_dir.is_symlink() else out_dir  # a new site: written during the audit
    if cache_dir is None:
        result = render(project, day, drafts, jobs=jobs, stage=stage)
        _write(result, out_dir)
        return result
    found = found or stamp.check(project, out_dir, day, drafts, cache_dir)
    used = found.inputs  # the content is built from exactly the bytes the stamp describes
    result = _partial(project, out_dir, day, drafts, cache_dir, found)
    entries = found.files if result is not None else None  # a partial build: the folder is as listed
    if result is None:
        result = render(project, day, drafts, jobs=jobs, cache_dir=cache_dir, sources=used.take_raw(), stage=stage)
    touched = _write(result, out_dir, entries)
    if stamp.rest_digest(project, day, drafts) == used.rest:  # nothing else changed meanwhile
        pages = dict(result.kept)
        pages.update((path, hashlib.sha256(data).hexdigest()) for path, data in result.files.items())
        keys = {path: key for path, key in (found.stamp.keys if found.stamp else {}).items() if path in result.kept}
        keys.update((path, page_digest(key)) for path, key in result.keys.items())  # skipped policies' pages keep theirs
        outline = outline_of(result.loaded)
        after = relist(entries, out_dir.absolute(), touched) if entries is not None and touched is not None else None
        stamp.record(cache_dir, out_dir, used, pages, keys, result.common, outline, result.contents(),
                     warnings(result.site), after, found.listed_at)
    return result


def _compiled_dir(cache_dir: Path | None) -> Path | None:
    """Where Jinja keeps compiled templates (in the cache folder), if it can be made."""
    if cache_dir is None:
        return None
    try:
        (cache_dir / "templates").mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a cache that cannot be written only makes the build slower
    return cache_dir / "templates"


def outline_of(policies: tuple[Policy, ...]) -> tuple[Policy, ...]:
    """The policies without their versions' texts: what the site-wide pages and the next
    build's stamp need of them. Policies already in outline (a partial rebuild takes
    all but the edited one from the last stamp) are returned as they are."""
    def bare(version) -> bool:
        return not version.body_html and not version.headings

    return tuple(p if all(map(bare, p.versions)) else dataclasses.replace(
        p, versions=tuple(v if bare(v) else dataclasses.replace(v, body_html="", headings=()) for v in p.versions))
        for p in policies)


def _write(result: BuildResult, out_dir: Path, entries=None) -> frozenset[str] | None:
    """Publish ``result``; returns what write_site returns (None: the folder was replaced)."""
    if result.staged is not None:
        result.staged.commit()  # removes the staged site itself if it fails
        return None
    return write_site(result.files, out_dir, keep=frozenset(result.kept), entries=entries)


class NotPartial(Exception):
    """Something every page depends on changed: a partial rebuild cannot be done."""


def _partial(project: Project, out_dir: Path, day: dt.date, drafts: bool, cache_dir: Path,
             found: stamp.Check) -> BuildResult | None:
    """A rebuild of only the policies whose files changed since the last build, or None.

    It is possible when the last build's stamp shows that nothing but content
    files changed (not templates, settings, lock, day, code) and that the output
    folder is exactly as that build left it. The other policies are taken from
    the stamp's outline (their versions without texts: all that site-wide pages
    and the rules of publication need) and their pages stay on disk; a change to
    what every page depends on (a policy's title, the list of policies) raises
    NotPartial inside render and the build renders everything."""
    last, used = found.stamp, found.inputs
    if last is None or last.rest != used.rest or found.files != last.files or not in_place_safe(found.files, ()):
        return None
    prefix = project.display(project.content)
    changed = {path for path in used.sources.keys() | last.sources.keys() if used.sources.get(path) != last.sources.get(path)}
    touched = {policy_of(path, prefix) for path in changed}
    outline = stamp.read_outline(cache_dir, out_dir, last)
    if None in touched or outline is None:
        return None  # a misplaced file: the full build reports it
    reuse = tuple(p for p in outline if p.slug not in touched)
    reused = {p.slug for p in reuse}
    kept = {path: sha for path, sha in last.pages.items() if path.split("/", 1)[0] in reused}
    pages = {path: (key, last.pages[path]) for path, key in last.keys.items() if path in last.pages}
    sources = used.read([path for path in used.sources if policy_of(path, prefix) in touched])
    try:
        return render(project, day, drafts, jobs=1, cache_dir=cache_dir, sources=sources, reuse=reuse,
                      kept=kept, common=last.common, last=pages)
    except NotPartial:
        return None


def warnings(site: Site) -> list[str]:
    """Things that are allowed but that someone should fix before publishing."""
    out = []
    if not site.settings.contact_email:
        out.append(f"{site.settings.source_path}: contact_email is not set: pages show a highlighted placeholder where the address belongs")
    if site.settings.base_url.endswith(".example") or ".example/" in site.settings.base_url:
        out.append(f"{site.settings.source_path}: base_url is the placeholder {site.settings.base_url}: set the real address before publishing")
    return out
