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
import functools
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import notice_period, parallel, stamp, timeline, translations
from .audit import audit_files, audit_policy
from .compare import no_page, redline_pairs
from .content import parse_policies, placeholders
from .lock import Lock, read_lock, verify
from .model import ContentError, ContentErrors, Policy, Settings, Site, Translation
from .output import Staging, check_output_dir, listing, relist, write_site
from .project import Project, read_sources
from .render import load_theme, render_site
from .settings import is_placeholder
from .settings import load_settings as read_settings
from .store import Store
from .theme import missing_folders, template_error
from .unreadable import check_listable
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
    translations: tuple[Translation, ...] = ()  # issue 17, checked against the versions


@dataclass(frozen=True)
class Built:
    """What a build made. Outside the preview and a rebuild over the last output, ``site``
    comes without the versions' texts (Site.outline): they go once the pages are rendered."""

    site: Site
    files: dict[str, bytes]  # output path -> bytes to write
    seconds: float
    kept: dict[str, str]  # pages the output folder holds as they should be -> SHA-256
    keys: dict[str, str]  # page -> its store key (what it depends on)
    staged: Staging | None = None  # the files, already written beside the output folder
    later: Callable[[str], bytes | None] = no_page  # the preview's pages on request (_later)

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


def load_settings(project: Project, theme: bool = False) -> Settings:
    """Stage 1: site.toml, validated (defaults when it does not exist); raises ContentErrors,
    with each folder the build reads that is missing: content, and (``theme``: for pages)
    the templates and their assets."""
    found = "content folder not found: create it, or pass --content PATH"
    missing = (
        []
        if project.content.is_dir()
        else [ContentError(project.display(project.content), 1, found)]
    )
    if theme:
        missing += missing_folders(project.templates, project.display)
    if missing:
        raise ContentErrors(missing)
    return read_settings(project.settings, project.display(project.settings))


def load_policies(
    project: Project,
    settings: Settings,
    store: Store,
    sources: Mapping[str, bytes] | None = None,
    digests: Mapping[str, str] | None = None,
) -> Loaded:
    """Stage 2: every content file parsed and validated, and the lock read; raises ContentErrors.
    ``sources``: the content (project.read_sources, stamp.Inputs), else it is read here;
    ``digests``: their SHA-256, if known (content.parse_policies)."""
    if sources is None:
        sources = read_sources(project.content, project.root)
    prefix = project.display(project.content)
    names = placeholders(settings)
    lock = read_lock(project.lock, project.display(project.lock))
    # issue 17: translations are parsed beside the versions and checked against them
    found, errors = translations.parse_files(sources, prefix, names, store, digests)
    try:
        policies = parse_policies(sources, prefix, names, store, digests)
    except ContentErrors as failed:
        raise ContentErrors(failed.errors + errors) from None
    checked, wrong = translations.cross_check(found, policies, lock, settings)
    if errors or wrong:
        raise ContentErrors(errors + wrong)
    return Loaded(settings, policies, lock, checked)


def apply_lock(loaded: Loaded, request: Request) -> Site:
    """Stage 3: the rules of publication (the lock's hashes and corrections, the notice
    period), then the drafts rule; raises ContentErrors."""
    display = request.project.display(request.project.lock)
    policies, errors = verify(loaded.policies, loaded.lock, display)
    errors += notice_period.check_notice(
        policies, loaded.lock, request.today, loaded.settings.notice_days
    )
    errors += translations.verify_lock(loaded.translations, loaded.lock, display)  # issue 17
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
        translations=translations.published(loaded.translations, policies, request.drafts),
    )


def audit_site(
    site: Site, files: dict[str, bytes], store: Store, pages: dict[str, str], pool=None
) -> None:
    """Stage 5: the privacy audit of every output file (audit.py); raises ContentErrors.

    Each file is audited once (store.py), under its path and bytes, or, for a page, the
    audit policy's key and its own joined (``pages``: output path -> the page's store key,
    of its path and all it shows): a page's bytes are what the store holds under that key,
    so it stands for them unhashed (2,052 digests less per preview rebuild at 20 x 50). The
    files the store lacks are audited in audit.py's chunks, on ``pool`` when given."""

    def stored_map(audit_chunk, chunks, policies):
        out, todo = [], []
        for chunk, policy in zip(chunks, policies, strict=False):
            named = store.key("audit", policy)  # the policy once, not with every file
            keys = {
                path: named + pages[path]
                if path in pages
                else store.key("audit", named, path, data)
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
        for (index, missing, _policy, keys), findings in zip(todo, made, strict=False):
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
    sources: Mapping[str, bytes] | None = None,
    last: dict[str, tuple[str, str]] | None = None,
    stage: Path | None = None,
    digests: Mapping[str, str] | None = None,
) -> Built:
    """Stages 1-5: everything up to, not including, writing.

    ``request.jobs`` > 1 computes Markdown, redlines and the audit on that many
    processes first (parallel.py), into the store; neither changes a byte.
    ``sources``, ``digests``: the content and its SHA-256 (load_policies). ``last``: the pages the output folder
    holds, by store key and SHA-256 (stamp.py); one whose key is the same is left
    there, not rendered (render_site). ``stage``: a new output folder; the files
    are written beside it while the audit runs (output.Staging), removed if it
    fails, and the caller commits them."""
    started = time.perf_counter()
    project, staged = request.project, None
    settings = load_settings(project, theme=True)
    if sources is None:
        sources = read_sources(project.content, project.root)
    try:
        with _workers(request, store, len(sources), last) as pool:
            if pool is not None:
                prefix, names = project.display(project.content), placeholders(settings)
                parallel.warm_parse(pool, store, sources, prefix, names, request.jobs)
            site = apply_lock(load_policies(project, settings, store, sources, digests), request)
            sources = None  # the parsed site alone holds what is needed from here on (outline)
            if pool is not None:
                parallel.warm_redlines(pool, store, redline_pairs(site), request.jobs)
            with _template_errors(project):
                theme = load_theme(project.templates, store)
                output = render_site(site, theme, store, frozenset(), None, last)
            store.receive_all()
            # the texts go before the audit, but not in a rebuild (its audit: the pages that changed)
            if not store.remember and last is None:
                site = site.outline()
            staged = Staging(output.files, stage) if stage is not None else None
            audit_site(site, output.files, store, output.keys, pool)
    except BaseException:
        if staged is not None:
            staged.discard()  # nothing of a failed build stays beside the output folder
        raise
    seconds = time.perf_counter() - started
    later = functools.partial(_later, output.later, site, store, project)
    return Built(site, output.files, seconds, output.kept, output.keys, staged, later)


@contextlib.contextmanager
def _template_errors(project: Project):
    """A template's error as its file and line (ContentErrors), never a traceback."""
    try:
        yield
    except Exception as exc:
        error = template_error(exc, project.templates, project.display)
        if error is None:
            raise
        raise ContentErrors([error]) from None


def _later(make, site: Site, store: Store, project: Project, path: str) -> bytes | None:
    """Built.later: a page the preview makes only when asked for (render_site's ``later``),
    with what run does to every other page: template errors reported, the audit (stage 5);
    raises ContentErrors. None: the site has no such page."""
    with _template_errors(project):
        data = make(path)
    if data is not None:
        audit_site(site, {path: data}, store, {})
    return data


def _workers(request: Request, store: Store, files: int, last: dict | None):
    """The process pool of a cold build (parallel.py), or nothing: one process is enough for
    the preview (its store remembers), for a site too small to gain from more, and for a
    rebuild over the folder the last build left (``last``: the store holds nearly all
    results; starting the pool was a fifth of a one-edit rebuild)."""
    if request.jobs < 2 or store.remember or files < parallel.MIN_ITEMS or last is not None:
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
    if cache_dir is None:
        return publish(request, out_dir, None, None)
    with Store(cache_dir) as store:
        found = stamp.check(project, out_dir, request.today, drafts, store)
        return publish(request, out_dir, store, found)


def publish(
    request: Request, out_dir: Path, store: Store | None, found: stamp.Check | None
) -> Built:
    """Build and write ``out_dir``; ``found``: stamp.check of this build, in ``store``.

    With a store, the build leaves its stamp there (stamp.py), by which the next one can tell,
    without rendering, that it would change nothing (only when no input changed while this one
    ran), and leave in ``out_dir`` the pages that would be rendered the same."""
    project = request.project
    check_output_dir(out_dir, [project.root, project.content, project.templates])
    if found is None:  # before building, as writing lists it (stamp.check did list it)
        check_listable(out_dir, project.display)
    new_folder = not (out_dir.exists() or out_dir.is_symlink())
    stage = out_dir if new_folder else None  # written during the audit
    if store is None or found is None:
        result = run(request, store or Store(), stage=stage)
        _write(result, out_dir)
        return result
    used, last = found.inputs, found.last_pages()
    result = run(request, store, used, last, stage, used.sources)
    entries = found.files if last is not None else None  # the folder as listed by the check
    touched = _write(result, out_dir, entries)
    if stamp.rest_digest(project, request.today, request.drafts) != used.rest:
        return result  # something else changed meanwhile: the next build builds
    if entries is not None and touched is not None:
        files, listed_at = relist(entries, out_dir.absolute(), touched), found.listed_at
    else:
        listed_at = time.time_ns()
        files = listing(out_dir)
    pages = {
        path: (key, result.kept.get(path) or hashlib.sha256(result.files[path]).hexdigest())
        for path, key in result.keys.items()
    }
    summary, notes = result.contents(), tuple(warnings(result.site))
    stamp.record(
        store,
        out_dir,
        stamp.Stamp(
            used.rest, used.sources, used.identities, pages, files, listed_at, summary, notes
        ),
    )
    return result


def _write(result: Built, out_dir: Path, entries=None) -> frozenset[str] | None:
    """Publish ``result``; returns what write_site returns (None: the folder was replaced)."""
    if result.staged is not None:
        result.staged.commit()  # removes the staged site itself if it fails
        return None
    return write_site(result.files, out_dir, keep=frozenset(result.kept), entries=entries)


def warnings(site: Site) -> list[str]:
    """Things that are allowed but that someone should fix before publishing."""
    out = []
    if not site.settings.contact_email:
        out.append(
            f"{site.settings.source_path}: contact_email is not set: pages show a highlighted "
            "placeholder where the address belongs"
        )
    if is_placeholder(site.settings.base_url):
        out.append(
            f"{site.settings.source_path}: base_url is the placeholder {site.settings.base_url}: "
            "set the real address before publishing"
        )
    # translations' warnings (issue 17): stale and missing translations
    return out + notice_period.late_drafts(site) + translations.warnings(site)
