"""Translations of policy versions (issue 17), which can never silently go stale.

``content/<policy>/<date>.<lang>.md`` translates ``content/<policy>/<date>.md``;
its front matter names the exact English text it was made from,
``translates: sha256:<hex>``, the SHA-256 the lock records for published text
(``Version.source_sha256``). The English text is authoritative. A translation
is *current* when it translates the exact text of the version in force; any
other (the English text was corrected since, recorded in the lock; or a newer
version is in force) is *stale*, and every page of it says so (render_i18n.py).

Stages, as for the English sources: :func:`parse_files` (each file alone, kept
in the store like a version's parse), :func:`cross_check` (against the versions,
the lock and the site's languages), :func:`verify_lock` (a published
translation's text is locked like any published text); :func:`status` and
:func:`warnings` for pages and ``check``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Mapping

from . import timeline
from .content import (
    _TRANSLATION_NAME,
    StoredSections,
    render_checked,
    settings_key,
    source_parts,
)
from .front_matter import read_source, unknown_fields
from .lock import Entry, Lock
from .markup import make_markdown
from .model import ContentError, Policy, Settings, Site, Status, Translation, Version
from .store import Store
from .wording import counted

FIELDS = ("title", "summary", "translates", "draft")
_HASH = re.compile(r"^sha256:([0-9a-f]{64})$")
CURRENT, UPCOMING, STALE = "current", "upcoming", "stale"


def parse_files(
    sources: Mapping[str, bytes],
    content_prefix: str,
    placeholders: dict[str, str],
    store: Store,
    digests: Mapping[str, str] | None = None,
) -> tuple[list[Translation], list[ContentError]]:
    """Every translation file among ``sources``, parsed alone (no cross-checks yet)."""
    found: list[Translation] = []
    errors: list[ContentError] = []
    md = None
    settings = settings_key(placeholders)
    # <date>.<lang>.md: two dots in the name (a cheap test of every source, before the rest)
    for path in sorted(p for p in sources if p.rpartition("/")[2].count(".") == 2):
        parts = source_parts(path, content_prefix)
        if len(parts) != 2 or not _TRANSLATION_NAME.match(parts[1]):
            continue
        if md is None:
            md = make_markdown(placeholders)
            sections = StoredSections(store, placeholders)
        digest = digests[path] if digests else hashlib.sha256(sources[path]).hexdigest()
        translation, problems = store.get(
            "parse",
            ("translation", path, digest, settings),
            lambda: _parse(path, parts[0], sources[path], md, sections),
        )
        errors.extend(problems)
        if translation is not None:
            found.append(translation)
    return found, errors


def _parse(path, policy, raw, md, sections) -> tuple[Translation | None, tuple[ContentError, ...]]:
    errors: list[ContentError] = []

    def err(line: int, message: str) -> None:
        errors.append(ContentError(path, line, message))

    day, lang = _TRANSLATION_NAME.match(path.rsplit("/", 1)[-1]).groups()  # type: ignore[union-attr]
    try:
        effective = dt.date.fromisoformat(day)
    except ValueError:
        err(1, f"file name '{day}.{lang}.md' must be the date of the version it translates")
        return None, tuple(errors)
    missing = (
        "missing front matter: start with '---', then title, summary and translates, then '---'"
    )
    found = read_source(path, raw, err, missing)
    if found is None:
        return None, tuple(errors)
    meta, lines, body, first = found
    unknown_fields(meta, lines, FIELDS, f"a translation has {', '.join(FIELDS)}", err)
    title, summary = meta.get("title"), meta.get("summary") or ""
    if not isinstance(title, str) or not title.strip():
        err(
            lines.get("title", 1),
            "title must be the translated title, e.g. 'title: Datenschutzerklärung'",
        )
    if not isinstance(summary, str):
        err(lines["summary"], "summary must be text: the translated summary of the version")
        summary = ""
    draft = meta.get("draft", False)
    if not isinstance(draft, bool):
        err(lines["draft"], f"draft must be true or false, not {draft!r}")
        draft = False
    translates = meta.get("translates")
    match = _HASH.match(translates) if isinstance(translates, str) else None
    if match is None:
        err(
            lines.get("translates", 1),
            "translates must name the English text translated, 'translates: sha256:<64 hex digits>' "
            f"(python build.py new {policy} --lang {lang} --effective {day} fills it in)",
        )
    if not body.strip():
        err(first, "the translated text is empty: write it below the closing '---'")
        return None, tuple(errors)
    rendered = render_checked(md, body, first, sections, err)
    if errors or match is None or not isinstance(title, str):
        return None, tuple(errors)
    return (
        Translation(
            policy=policy,
            effective=effective,
            lang=lang,
            title=title.strip(),
            summary=summary.strip(),
            translates=match.group(1),
            draft=draft,
            source_path=path,
            source_sha256=hashlib.sha256(raw).hexdigest(),
            body_html=rendered.html,
            headings=rendered.headings,
            translates_line=lines["translates"],
        ),
        (),
    )


def known_texts(version: Version, lock: Lock) -> tuple[str, ...]:
    """Every text a version has had: its source now and what the lock recorded."""
    entry = lock.entries.get(version.key)
    recorded = (entry.sha256, *(c.sha256 for c in entry.corrections)) if entry else ()
    return (version.source_sha256, *recorded)


def cross_check(
    found: list[Translation], policies: tuple[Policy, ...], lock: Lock, settings: Settings
) -> tuple[tuple[Translation, ...], list[ContentError]]:
    """Each translation against the site: a listed language, a version of that date, a
    ``translates`` hash that is a text of that version."""
    if not found:  # most sites: no index of 1,000 versions' texts for nothing
        return (), []
    versions = {v.key: v for p in policies for v in p.versions}
    texts = {text: key for key, v in versions.items() for text in known_texts(v, lock)}
    checked = [(t, _mismatch(t, versions, texts, lock, settings)) for t in found]
    good = tuple(t for t, problem in checked if problem is None)
    return good, [ContentError(t.source_path, *problem) for t, problem in checked if problem]


def _mismatch(t: Translation, versions, texts, lock: Lock, settings) -> tuple[int, str] | None:
    """The line and message of what does not fit the site in ``t``, or None."""
    if t.lang not in settings.languages:
        listed = ", ".join(settings.languages) or "none"
        return 1, (
            f"language '{t.lang}' is not one of the site's languages ({listed}): add it to "
            f"[site] languages in {settings.source_path}, or rename the file"
        )
    version = versions.get(t.version_key)
    if version is None:
        return 1, (
            f"there is no version {t.version_key} to translate: a translation is named "
            f"after the date of its English version, content/{t.policy}/<date>.{t.lang}.md"
        )
    if t.translates not in known_texts(version, lock):
        other = texts.get(t.translates)
        why = (
            f"it is the text of {other}: rename the file to {other.partition('/')[2]}.{t.lang}.md"
            if other
            else "it matches no text of any version"
        )
        return t.translates_line, (
            f"translates sha256:{t.translates[:12]}… is not a text of {t.version_key} ({why}); "
            f"the text now is sha256:{version.source_sha256}"
        )
    if bool(version.summary) != bool(t.summary):
        return 1, (
            f"summary: {t.version_key} has a summary: translate it as 'summary: …'"
            if version.summary
            else f"summary: {t.version_key} has no summary: remove it"
        )
    return None


def verify_lock(
    translations: tuple[Translation, ...], lock: Lock, lock_display: str
) -> list[ContentError]:
    """A locked translation's file must be there and unchanged (or corrected in the lock)."""
    errors = []
    present = {t.key: t for t in translations}
    for key, entry in sorted(lock.entries.items()):
        if not is_translation_key(key):
            continue
        t = present.get(key)
        if t is None:
            slug, _, name = key.partition("/")
            errors.append(
                ContentError(
                    lock_display,
                    1,
                    f"{key} is published but content/{slug}/{name}.md is missing: restore the file "
                    "from git (a published translation cannot be withdrawn silently)",
                )
            )
        elif t.source_sha256 != entry.current_sha256:
            errors.append(
                ContentError(
                    t.source_path,
                    1,
                    f"the published text of {key} changed after it was locked in {lock_display}: "
                    f'record it: python build.py lock --correct {key} --note "what changed and why"',
                )
            )
    return errors


def is_translation_key(key: str) -> bool:
    """``privacy/2026-04-01.de`` (a translation) rather than ``privacy/2026-04-01``."""
    return "." in key.rpartition("/")[2]


def lock_updated(translations: tuple[Translation, ...], lock: Lock, today: dt.date) -> Lock:
    """The lock with every published translation added (not a draft, of a version the lock
    holds: a translation of an English draft waits for it); entries kept."""
    entries = dict(lock.entries)
    for t in translations:
        if not t.draft and t.key not in entries and t.version_key in entries:
            entries[t.key] = Entry(sha256=t.source_sha256, published=today)
    return dataclasses.replace(lock, entries=entries)


def published(
    site_translations: tuple[Translation, ...], policies: tuple[Policy, ...], drafts: bool
):
    """The translations a build shows: those of versions it shows; no drafts unless ``drafts``."""
    shown = {v.key for p in policies for v in p.versions}
    return tuple(t for t in site_translations if t.version_key in shown and (drafts or not t.draft))


def version_of(site: Site, t: Translation) -> tuple[Policy, Version, Status]:
    policy = next(p for p in site.policies if p.slug == t.policy)
    for version, state in zip(policy.versions, timeline.statuses(policy, site.today), strict=True):
        if version.key == t.version_key:
            return policy, version, state
    raise KeyError(t.version_key)


def status(site: Site, t: Translation) -> str:
    """``current`` (the exact text of the version in force), ``upcoming`` (the exact text
    of an upcoming version) or ``stale`` (an earlier text, or a superseded version)."""
    _, version, state = version_of(site, t)
    if t.translates != version.source_sha256 or state is Status.SUPERSEDED:
        return STALE
    return CURRENT if state is Status.IN_FORCE else UPCOMING


def warnings(site: Site) -> list[str]:
    """What ``check`` and ``build`` print: for each policy and language, a translation of
    the version in force that is stale or missing, and an upcoming version without one."""
    out = []
    by = {(t.policy, t.lang, t.effective): t for t in site.translations}
    for policy in site.policies:
        now = timeline.in_force(policy, site.today)
        for lang in site.settings.languages:
            if now is not None:
                t = by.get((policy.slug, lang, now.effective))
                older = [
                    x
                    for (p, la, day), x in sorted(by.items())
                    if p == policy.slug and la == lang and day < now.effective
                ]
                start = f"python build.py new {policy.slug} --lang {lang} --effective {now.slug}"
                if t is not None and t.translates != now.source_sha256:
                    last = now.corrections[-1] if now.corrections else None
                    fixed = f" (corrected on {last.date.isoformat()}: {last.note})" if last else ""
                    out.append(
                        f"{t.source_path}: stale: translates an earlier text of {now.key}{fixed}: "
                        f"update the translation and set 'translates: sha256:{now.source_sha256}'"
                    )
                elif t is None and older:
                    out.append(
                        f"{older[-1].source_path}: stale: translates {older[-1].version_key}, but "
                        f"{now.key} is in force since {now.slug}: translate it ({start})"
                    )
                elif t is None:
                    out.append(
                        f"{now.source_path.rpartition('/')[0]}: missing: no {lang} translation "
                        f"of {now.key} (in force): {start}"
                    )
            for version in timeline.upcoming(policy, site.today):
                t = by.get((policy.slug, lang, version.effective))
                if version.draft or (t is not None and t.translates == version.source_sha256):
                    continue
                days = (version.effective - site.today).days
                what = (
                    f"its {lang} translation is of an earlier text"
                    if t
                    else f"has no {lang} translation"
                )
                out.append(
                    f"{version.source_path}: {version.key} takes effect in {counted(days, 'day')} "
                    f"and {what}: python build.py new {policy.slug} --lang {lang} --effective {version.slug}"
                )
    return out
