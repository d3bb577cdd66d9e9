"""Render a loaded site to an in-memory map of output path -> bytes.

Nothing here touches the disk except Jinja reading templates (theme.py) and
versions.json's schema. The result is deterministic: the same site and
theme always give the same bytes, because nothing depends on the clock (the
build day is part of the Site), on dict order of the file system, or on
the environment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from . import compare, reading, render_i18n, security, timeline
from .model import Policy, Site, Status, Version
from .redline import Redline, redline
from .security import content_security_policy
from .store import Store, digest_of
from .theme import Theme, load_theme  # noqa: F401  (load_theme: render's callers load it from here)
from .versions_json import VERSIONS_SCHEMA, VERSIONS_SCHEMA_PATH, versions_json


@dataclass(frozen=True)
class Entry:
    """A version as the templates see it: with its status and URLs."""

    version: Version
    status: Status
    url: str  # site path of the permanent page, e.g. privacy/2026-04-01/
    changes_url: str  # site path of the redline, "" for the first version

    @property
    def policy(self) -> str:
        return self.version.policy


class _Renderer:
    """Holds what every page needs so the page functions stay short."""

    def __init__(
        self, site: Site, theme: Theme, store: Store, last: dict[str, tuple[str, str]] | None = None
    ):
        self.site = site
        self.theme = theme
        self.store = store
        self.csp = content_security_policy(site)
        self.tracker = security.tracker(site)
        self.base_path = urlsplit(site.settings.base_url).path.rstrip("/") + "/"
        self.entries: dict[str, tuple[Entry, ...]] = {
            p.slug: self._entries(p) for p in site.policies
        }
        # What pages depend on, as short digests (see _cached): everything site-wide...
        self.common = site_digest(site, theme)
        # ... and each policy's versions without their texts: what a page shows of its siblings.
        self.outline = {
            p.slug: store.get(
                "outline",
                (self.common, p.slug) + tuple(_identity(v) for v in p.versions),
                lambda: digest_of(p.slug, tuple(_without_text(v) for v in p.versions)),
            )
            for p in site.policies
        }
        self.outlines = digest_of(tuple(self.outline.values()))
        self.keys: dict[str, str] = {}  # page URL path -> its store key (_cached)
        self.page_keys: dict[str, str] = {}  # output path -> that key
        # output path -> (digest, SHA-256) of the page the output folder holds
        self.last = last or {}
        self.kept: dict[str, str] = {}  # output path -> SHA-256 of each page left as it is

    def _entries(self, policy: Policy) -> tuple[Entry, ...]:
        out = []
        statuses = timeline.statuses(policy, self.site.today)
        for index, (version, status) in enumerate(zip(policy.versions, statuses, strict=False)):
            url = f"{policy.slug}/{version.slug}/"
            out.append(Entry(version, status, url, f"{url}changes/" if index else ""))
        return tuple(out)

    def tag_uri(self, version: Version) -> str:
        """A feed entry id that never changes once published (RFC 4151 tag URI)."""
        host = urlsplit(self.site.settings.base_url).hostname
        return f"tag:{host},{version.effective.year}:{version.key}"

    def absolute(self, path: str) -> str:
        return self.site.settings.base_url + "/" + path

    def page(self, template: str, path: str, **context) -> bytes:
        """Render ``template`` for the page at site path ``path`` (``""`` = home)."""
        context.setdefault("lang", self.site.settings.language)  # issue 17: render_i18n.py
        context.setdefault("catalogue", None)
        context.setdefault("alternates", render_i18n.alternates(self, path))
        depth = path.count("/")
        root = self.base_path if path.endswith(".html") else ("../" * depth or "./")
        html = self.theme.env.get_template(template).render(
            site=self.site,
            settings=self.site.settings,
            root=root,
            path=path,
            stylesheet=self.theme.stylesheet,
            csp=self.csp,
            tracker=self.tracker,
            policies=self.site.policies,
            entries=self.entries,
            **context,
        )
        return html.encode("utf-8")

    def _cached(self, path: str, depends: tuple, compute) -> bytes | None:
        """The page at ``path``, rendered or from the store under a key of what it depends on:
        ``self.common`` plus ``depends``: outlines (a policy's versions without their texts) and
        version identities (_identity). An edit to one text re-renders only the pages that show
        it: its version page, two redlines, perhaps the page in force. None: the output folder
        holds the page as this key renders it (``self.last``, the last build's stamp); it is
        left there, in ``self.kept``. Pages are in the store's memory only: the output folder
        is their disk."""
        key = self.keys[path] = self.store.key("page", self.common, path, *depends)
        output = path + "index.html" if path == "" or path.endswith("/") else path
        self.page_keys[output] = key
        last = self.last.get(output)
        if last is not None and last[0] == key:
            self.kept[output] = last[1]
            return None
        return self.store.fetch("page", key, compute)

    def policy_pages(self, policy: Policy) -> dict[str, bytes | None]:
        """A policy's version pages, page in force, history and feed."""
        out: dict[str, bytes | None] = {}
        entries = self.entries[policy.slug]
        outline = self.outline[policy.slug]
        canonical = timeline.canonical_version(policy, self.site.today)
        coming = [e for e in entries if e.status is Status.UPCOMING]
        current = next((e for e in entries if e.status is Status.IN_FORCE), None)
        words = {"lang": self.site.settings.language, "settings": self.site.settings}
        listing = reading.version_list(self.theme.env, entries, words)
        shared = dict(policy=policy, current=current, coming=coming, version_list=listing)
        for entry in entries:
            out[entry.url + "index.html"] = self._cached(
                entry.url,
                (outline, _identity(entry.version)),
                lambda: self.page(
                    "version.html",
                    entry.url,
                    entry=entry,
                    **shared,
                    canonical_url=self.absolute(f"{policy.slug}/")
                    if entry.version is canonical
                    else self.absolute(entry.url),
                    noindex=entry.status is Status.SUPERSEDED or entry.version.draft,
                ),
            )
        entry = next(e for e in entries if e.version is canonical)
        out[f"{policy.slug}/index.html"] = self._cached(
            f"{policy.slug}/",
            (outline, _identity(canonical)),
            lambda: self.page(
                "version.html",
                f"{policy.slug}/",
                entry=entry,
                **shared,
                canonical_url=self.absolute(f"{policy.slug}/"),
                noindex=entry.version.draft,
            ),
        )
        out[f"{policy.slug}/history/index.html"] = self._cached(
            f"{policy.slug}/history/",
            (outline,),
            lambda: self.page(
                "history.html",
                f"{policy.slug}/history/",
                policy=policy,
                current=current,
                canonical_url=self.absolute(f"{policy.slug}/history/"),
                noindex=False,
            ),
        )
        out[f"{policy.slug}/feed.xml"] = self._cached(
            f"{policy.slug}/feed.xml",
            (outline,),
            lambda: self.feed(
                f"{policy.slug}/feed.xml",
                f"{policy.slug}/history/",
                f"{policy.title} changes",
                list(entries),
            ),
        )
        return out

    def changes_pages(self, policy: Policy) -> dict[str, bytes | None]:
        """The redline pages (render_site asks for them last: their redlines may still be computing)."""
        out: dict[str, bytes | None] = {}
        entries = self.entries[policy.slug]
        current = next((e for e in entries if e.status is Status.IN_FORCE), None)
        pieces: dict = {}  # parsed pieces of this policy's bodies, which its redlines share (redline.py)
        for previous, entry in zip(entries, entries[1:], strict=False):
            out[entry.changes_url + "index.html"] = self._cached(
                entry.changes_url,
                self.changes_depends(policy, previous.version, entry.version),
                lambda: self.page(
                    "changes.html",
                    entry.changes_url,
                    policy=policy,
                    entry=entry,
                    previous=previous,
                    current=current,
                    redline=self.redline_between(previous.version, entry.version, pieces),
                    canonical_url=self.absolute(entry.changes_url),
                    noindex=entry.version.draft,
                ),
            )
        return out

    def kept_apart(self, policy: Policy) -> dict[str, bytes | None]:
        """The preview (a store that remembers): a policy's pages, redline pages included, as
        one entry too, under all they depend on (its outline, its versions' identities), with
        their keys: an unchanged policy is one lookup, not 102 keys and lookups at 50 versions
        (10 ms of a reload at 20 x 50). Its pages stay in the store, found one by one later."""
        ids = tuple(map(_identity, policy.versions))
        key = self.store.key("policy", self.common, self.outline[policy.slug], ids)

        def compute() -> tuple[dict[str, bytes | None], dict[str, str]]:
            made = {**self.policy_pages(policy), **self.changes_pages(policy)}
            return made, {path: self.page_keys[path] for path in made}

        made, keys = self.store.fetch("policy", key, compute)
        self.page_keys.update(keys)
        self.keys.update((path.removesuffix("index.html"), key) for path, key in keys.items())
        return made

    def redline_between(self, old: Version, new: Version, pieces: dict) -> Redline:
        """The redline of ``old`` against ``new``, through the store (``pieces``: parsed parts
        of one policy's bodies, shared by its redlines; redline.py)."""
        return self.store.get(
            "redline",
            redline_key(old, new),
            lambda: redline(old.body_html, new.body_html, pieces),
        )

    def changes_depends(self, policy: Policy, old: Version, new: Version) -> tuple:
        return (self.outline[policy.slug], _identity(old), _identity(new))

    def feed(self, path: str, alternate: str, title: str, entries: list[Entry]) -> bytes:
        """An Atom feed, newest first; ``updated`` is the latest effective or correction day."""
        entries = sorted(entries, key=lambda e: (e.version.effective, e.policy), reverse=True)
        updated = max((self.updated(e.version) for e in entries), default=self.site.today)
        return self.page(
            "feed.xml",
            path,
            title=title,
            entries_=entries,
            feed_id=self.absolute(path),
            self_url=self.absolute(path),
            alternate_url=self.absolute(alternate),
            updated=updated,
            updated_of=self.updated,
            tag_uri=self.tag_uri,
            absolute=self.absolute,
        )

    @staticmethod
    def updated(version: Version):
        return max([version.effective] + [c.date for c in version.corrections])

    def everything(self) -> list[Entry]:
        """Every version of every policy, newest first."""
        return sorted(
            (e for entries in self.entries.values() for e in entries),
            key=lambda e: (e.version.effective, e.policy),
            reverse=True,
        )

    def site_pages(self) -> dict[str, bytes | None]:
        pages = {
            "feed.xml": lambda: self.feed(
                "feed.xml",
                "changelog/",
                f"{self.site.settings.name} policy changes",
                self.everything(),
            ),
            "index.html": lambda: self.page(
                "index.html", "", canonical_url=self.absolute(""), noindex=False
            ),
            "changelog/index.html": lambda: self.page(
                "changelog.html",
                "changelog/",
                changes=self.everything(),
                canonical_url=self.absolute("changelog/"),
                noindex=False,
            ),
            "404.html": lambda: self.page("404.html", "404.html", canonical_url="", noindex=True),
            "sitemap.xml": lambda: self.page(
                "sitemap.xml", "sitemap.xml", urls=self.sitemap_urls()
            ),
            "robots.txt": lambda: self.page(
                "robots.txt", "robots.txt", sitemap=self.absolute("sitemap.xml")
            ),
        }
        return {
            path: self._cached(path, (self.outlines,), compute) for path, compute in pages.items()
        }

    def sitemap_urls(self) -> list[tuple[str, str]]:
        """Indexable pages with their last change: not superseded, not drafts."""
        urls = [("", ""), ("changelog/", "")]
        for policy in self.site.policies:
            canonical = timeline.canonical_version(policy, self.site.today)
            urls.append((f"{policy.slug}/", canonical.effective.isoformat()))
            urls.append((f"{policy.slug}/history/", policy.versions[-1].effective.isoformat()))
            for entry in self.entries[policy.slug]:
                if entry.status is Status.UPCOMING and not entry.version.draft:
                    urls.append((entry.url, entry.version.effective.isoformat()))
                shown = entry.status is not Status.SUPERSEDED and not entry.version.draft
                if entry.changes_url and shown:
                    urls.append((entry.changes_url, entry.version.effective.isoformat()))
        own = [(self.absolute(path), lastmod) for path, lastmod in urls]
        return own + render_i18n.sitemap(self)  # issue 17: current translations (none without)


def redline_key(old: Version, new: Version) -> tuple[str, str]:
    """What a redline depends on: the two bodies, by their SHA-256 (made once, at parsing)."""
    return (old.body_sha256, new.body_sha256)


def site_digest(site: Site, theme: Theme) -> str:
    """What every page depends on: the theme, settings, day, flags and the list of policies."""
    index = tuple((p.slug, p.title) for p in site.policies)
    return digest_of(
        "pages",
        theme.fingerprint,
        site.settings,
        site.today,
        site.drafts,
        site.tracker,
        index,
        *render_i18n.digest(site),  # issue 17: nothing without translations
    )


_TEXT_FIELDS = ("body_html", "headings", "source_sha256", "body_sha256")
_OUTLINE_FIELDS = tuple(f.name for f in dataclasses.fields(Version) if f.name not in _TEXT_FIELDS)


def _without_text(version: Version) -> tuple:
    """What other pages show of a version: all but its text (body, headings, source hash),
    as a tuple of the other fields' values (twice as fast to make as a copy of the Version)."""
    return tuple(getattr(version, name) for name in _OUTLINE_FIELDS)


def _identity(version: Version) -> tuple[str, str, tuple]:
    """A version, by what determines it: its file and bytes (parsed with the settings,
    which are in every key), and its corrections from the lock."""
    return (version.source_path, version.source_sha256, version.corrections)


@dataclass(frozen=True)
class SiteOutput:
    """What render_site made: ``files``, output path -> bytes to write; ``kept``, output path
    -> SHA-256 of the pages the output folder already holds as they should be; ``keys``,
    output path -> the page's store key, what it depends on (the next build's ``last``)."""

    files: dict[str, bytes]
    kept: dict[str, str]
    keys: dict[str, str]
    later: Callable[[str], bytes | None]  # a page made only when asked for (compare.page_at)


def render_site(
    site: Site,
    theme: Theme,
    store: Store,
    skip: frozenset[str] = frozenset(),
    known: dict[str, str] | None = None,
    last: dict[str, tuple[str, str]] | None = None,
) -> SiteOutput:
    """Every output file of the site to write, keyed by its path under the output directory.
    ``skip``: policies whose pages the output folder already holds as this site would render
    them; ``known``: the SHA-256 of their pages, for versions.json. ``last``: the digest and
    SHA-256 of each page the output folder holds as the last build wrote it; a page whose
    digest is the same is not rendered again."""
    renderer = _Renderer(site, theme, store, last)
    out: dict[str, bytes | None] = dict(theme.assets)
    rendered = [policy for policy in site.policies if policy.slug not in skip]
    for policy in rendered:
        out.update(renderer.kept_apart(policy) if store.remember else renderer.policy_pages(policy))
    for policy in () if store.remember else rendered:  # kept_apart has made them
        out.update(renderer.changes_pages(policy))
    for policy in rendered:  # issue 15: compare any two versions
        out.update(compare.pages(renderer, policy))
    out.update(renderer.site_pages())
    out.update(render_i18n.pages(renderer))  # issue 17: translations' pages (none without)
    files = security.finish({path: data for path, data in out.items() if data is not None}, site)
    files["versions.json"] = versions_json(renderer, files, {**(known or {}), **renderer.kept})
    files[VERSIONS_SCHEMA_PATH] = VERSIONS_SCHEMA.read_bytes()
    if site.translations:  # issue 17: versions.json's schema version 2 lists them
        files["versions.json"] = render_i18n.versions_json(renderer, files["versions.json"], files)
        files[render_i18n.SCHEMA_2_PATH] = render_i18n.SCHEMA_2.read_bytes()
    later = compare.later(renderer)
    return SiteOutput(dict(sorted(files.items())), renderer.kept, renderer.page_keys, later)
