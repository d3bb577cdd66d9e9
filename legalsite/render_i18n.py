"""The pages of translations (issue 17): ``/<lang>/<policy>/`` and ``/<lang>/<policy>/<date>/``,
each policy's history per language, and what the English pages and versions.json say of them.

A translation's status (translations.status) is on every page of it: a stale one carries a
banner in its language naming the version it translates and linking the authoritative English
version in force, and ``noindex``. The words come from the language's gettext catalogue
(i18n.py); a message the catalogue lacks stops the build. Nothing here runs when the site has
no translations: its pages are byte for byte what they were before (tests/test_golden_corpus.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from jinja2 import TemplateNotFound

from . import translations as tr
from .i18n import CATALOGUE, Catalogue, missing_messages, read_catalogue
from .model import ContentError, ContentErrors, Policy, Site, Status, Translation
from .redline import WORDS, redline
from .store import digest_of
from .versions_json import VERSIONS_SCHEMA

# The templates a translated page is made of: every message in them must be in the catalogue.
TEMPLATES = (
    "base.html",
    "translation.html",
    "translation-history.html",
    "language-switcher.html",
    "translation-feed.xml",
    "translation-changes.html",
    "toc.html",
)
SCHEMA_2 = VERSIONS_SCHEMA.with_name("versions-2.schema.json")
SCHEMA_2_PATH = "schemas/versions-2.schema.json"


@dataclass(frozen=True)
class Alternate:
    """A page in another language: ``<link rel="alternate" hreflang>`` and the switcher."""

    lang: str
    url: str  # absolute, for hreflang
    path: str  # site path, for links
    name: str  # the language's own name for itself (Babel), e.g. "Deutsch"


def digest(site: Site) -> tuple:
    """What every page's key adds when the site has translations (their alternates)."""
    if not site.translations:
        return ()
    return (digest_of(tuple((t.key, t.source_sha256, t.translates) for t in site.translations)),)


def language_name(lang: str) -> str:
    """The language's own name for itself, e.g. "Deutsch" for de."""
    from babel import Locale  # only a site with other languages loads Babel (i18n.py)

    return Locale.parse(lang, sep="-").display_name or lang


def front(site: Site, policy: Policy, lang: str) -> Translation | None:
    """The translation ``/<lang>/<policy>/`` shows: of the version in force if there is one,
    else the newest of an earlier version (stale: its banner says so); none for upcoming only."""
    shown = [
        t
        for t in site.translations
        if t.policy == policy.slug
        and t.lang == lang
        and tr.version_of(site, t)[2] is not Status.UPCOMING
    ]
    return max(shown, key=lambda t: t.effective) if shown else None


def alternates(r, path: str) -> tuple[Alternate, ...]:
    """The same page in every language it exists in, the site's own first ('' for a page
    with no translation)."""
    site: Site = r.site
    if not site.translations:
        return ()
    parts = path.split("/")
    policy = next((p for p in site.policies if p.slug == parts[0]), None)
    if policy is None or len(parts) not in (2, 3) or (len(parts) == 3 and parts[2]):
        return ()
    default = site.settings.language
    if len(parts) == 2:  # the policy's page
        langs = [lang for lang in site.settings.languages if front(site, policy, lang)]
        found = [(lang, f"{lang}/{policy.slug}/") for lang in langs]
    else:
        found = [
            (t.lang, f"{t.lang}/{path}")
            for t in site.translations
            if t.policy == policy.slug and t.effective.isoformat() == parts[1]
        ]
    if not found:
        return ()
    english = parts[0] + "/" + (parts[1] + "/" if len(parts) == 3 else "")
    return tuple(
        Alternate(lang, r.absolute(where), where, language_name(lang))
        for lang, where in [(default, english), *sorted(found)]
    )


def catalogues(r) -> dict[str, Catalogue]:
    """Each language's catalogue, checked against the templates; raises ContentErrors."""
    env = r.theme.env
    errors: list[ContentError] = []
    found = {}
    sources = {name: env.loader.get_source(env, name)[0] for name in TEMPLATES}
    langs = sorted({t.lang for t in r.site.translations})
    for lang in langs:
        name = CATALOGUE.format(lang=lang)
        try:
            data: bytes | None = env.loader.get_source(env, name)[0].encode("utf-8")
        except TemplateNotFound:
            data = None
        catalogue, problems = read_catalogue(lang, data, f"templates/{name}")
        errors += problems or missing_messages(env, sources, catalogue, WORDS)
        found[lang] = catalogue
    if errors:
        raise ContentErrors(errors)
    return found


def pages(r) -> dict[str, bytes | None]:
    """Every page of every translation, and each policy's history per language."""
    site: Site = r.site
    if not site.translations:
        return {}
    found = catalogues(r)
    out: dict[str, bytes | None] = {}
    for policy in site.policies:
        for lang in site.settings.languages:
            mine = sorted(
                (t for t in site.translations if t.policy == policy.slug and t.lang == lang),
                key=lambda t: t.effective,
            )
            if mine:
                out.update(_language_pages(r, policy, lang, mine, found[lang]))
    return out


def _language_pages(r, policy: Policy, lang: str, mine, catalogue) -> dict[str, bytes | None]:
    """One policy's pages in one language: each translation's page and its redline against
    the previous one (with the catalogue's words), the policy's page, history and feed."""
    site: Site = r.site
    entries = {e.version.key: e for e in r.entries[policy.slug]}
    listed = [(t, entries[t.version_key], tr.status(site, t)) for t in mine]
    shared = dict(
        lang=lang,
        catalogue=catalogue,
        policy=policy,
        current=next((e for e in entries.values() if e.status is Status.IN_FORCE), None),
        listed=listed,
        english_url=f"{policy.slug}/",
        changes={t.key: f"{lang}/{entry.url}changes/" for t, entry, _ in listed[1:]},
    )
    out: dict[str, bytes | None] = {}

    def emit(template: str, path: str, keys: tuple, context) -> None:
        """The page at ``path``, rendered with ``context()`` (made only if it is rendered)."""
        out[path if path.endswith(".xml") else path + "index.html"] = r._cached(
            path,
            (r.outline[policy.slug], *keys),
            lambda: r.page(template, path, canonical_url=r.absolute(path), **context(), **shared),
        )

    words = {word: catalogue.messages[word] for word in WORDS}
    for (old, old_entry, _), (t, entry, status) in zip(listed, listed[1:], strict=False):
        key = ("translation", digest_of(words), _sha(old.body_html), _sha(t.body_html))
        emit(
            "translation-changes.html",
            shared["changes"][t.key],
            (old.key, old.source_sha256, t.key, t.source_sha256),
            lambda: dict(
                t=t,
                entry=entry,
                previous_entry=old_entry,
                redline=r.store.get(
                    "redline", key, lambda: redline(old.body_html, t.body_html, None, words)
                ),
                noindex=status != tr.CURRENT or t.draft,
                alternates=(),
            ),
        )
    shown = front(site, policy, lang)
    pages = [(t, entry, status, f"{lang}/{entry.url}") for t, entry, status in listed]
    if shown is not None:  # the policy's page: the translation of the version it shows
        pages.append((shown, entries[shown.version_key], tr.status(site, shown), ""))
    for t, entry, status, path in pages:
        emit(
            "translation.html",
            path or f"{lang}/{policy.slug}/",
            (t.key, t.source_sha256),
            lambda: dict(
                t=t,
                entry=entry,
                status=status,
                own_url=f"{lang}/{entry.url}",
                noindex=status != tr.CURRENT or t.draft,
                alternates=alternates(r, entry.url if path else f"{t.policy}/"),
            ),
        )
    published = [t.effective for t in mine if t.effective <= site.today]
    emit(
        "translation-feed.xml",
        f"{lang}/{policy.slug}/feed.xml",
        (),
        lambda: dict(
            feed_id=r.absolute(f"{lang}/{policy.slug}/feed.xml"),
            self_url=r.absolute(f"{lang}/{policy.slug}/feed.xml"),
            alternate_url=r.absolute(f"{lang}/{policy.slug}/history/"),
            updated=max(published, default=site.today),
            tag_uri=r.tag_uri,
            absolute=r.absolute,
        ),
    )
    emit(
        "translation-history.html",
        f"{lang}/{policy.slug}/history/",
        (),
        lambda: dict(noindex=False, alternates=()),
    )
    return out


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sitemap(r) -> list[tuple[str, str]]:
    """The translated pages search engines may index: each current translation's
    ``/<lang>/<policy>/`` and the history of every language with one."""
    urls = []
    for t in r.site.translations:
        if not t.draft and tr.status(r.site, t) == tr.CURRENT:
            day = t.effective.isoformat()
            urls += [(f"{t.lang}/{t.policy}/", day), (f"{t.lang}/{t.policy}/history/", day)]
    return [(r.absolute(path), day) for path, day in sorted(urls)]


def versions_json(r, data: bytes, files: dict[str, bytes]) -> bytes:
    """versions.json of a site with translations: schema version 2, which adds the list of
    translations with their statuses (a site without any keeps version 1, unchanged)."""
    if not r.site.translations:
        return data
    document = json.loads(data)
    document["$schema"] = r.absolute(SCHEMA_2_PATH)
    document["schema_version"] = 2
    items = []
    for t in sorted(r.site.translations, key=lambda t: (t.policy, t.effective, t.lang)):
        entry = next(e for e in r.entries[t.policy] if e.version.key == t.version_key)
        path = f"{t.lang}/{entry.url}index.html"
        page = files.get(path)
        sha = hashlib.sha256(page).hexdigest() if page is not None else r.kept.get(path)
        items.append(
            {
                "policy": t.policy,
                "effective": t.effective.isoformat(),
                "lang": t.lang,
                "status": tr.status(r.site, t),
                "draft": t.draft,
                "title": t.title,
                "url": r.absolute(f"{t.lang}/{entry.url}"),
                "translates_sha256": t.translates,
                "source_sha256": t.source_sha256,
                "page_sha256": sha,
            }
        )
    document["translations"] = items
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
