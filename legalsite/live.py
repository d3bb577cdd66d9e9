"""What the live site already announced: its ``/versions.json``, read before publishing.

versions.lock records the day each version was first published: the day ``build.py lock`` ran.
That is only true if the site went live with it that day: locked on 1 December and first
deployed on 6 December, a version gives readers five days less notice than the lock claims. So
the publish step asks the live site which versions it already lists (the index it serves,
versions_json.py, read by live_index.py over http(s) only: a local build says what would be
shown, not what was) and refuses a locked version it does not list yet unless the lock says it
is first published today (:func:`check`); ``build.py lock --live`` records such a version again
as of today (:func:`relocked`), which may then ask for a later effective date.

A site that has never been published has no index. That is never taken as "nothing announced"
by itself (a wrong address or a broken deploy looks the same): it must be a choice recorded in
the lock for the day it happens (``lock --first-publication``, ``Lock.first_publication``). A
live site that cannot be read stops publication with a message, never a traceback
(live_index.py), unless the lock records, for that day and with a reason, that its days are
taken as they are (``lock --trust-lock``).

The day is read once per run (timeline.wall_clock) and the clock again at the end
(:func:`last_call`): a check that ends on another day, or near midnight, is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from .live_index import LiveError, LiveIndex, read_index
from .lock import Entry, Lock
from .model import ContentError, Policy, Settings, Version
from .notice_period import short_notice
from .settings import is_placeholder
from .translations import is_translation_key
from .wording import counted

# After this (UTC), a run that first publishes a version is refused: its deploy could reach
# readers after midnight, a day later than the lock records (the deploy job takes minutes).
LAST_CALL = dt.time(23, 45)
# ``lock --live`` warns from this time: CI runs its tests (about 20 minutes) before the check.
PUSH_BY = dt.time(23, 0)


@dataclass(frozen=True)
class LiveSite:
    """The live site as ``lock --live`` sees it."""

    index: LiveIndex
    announced: frozenset[str]  # the versions the live site lists (none: first publication)
    fix: str  # the command that records versions again today, for messages
    today: dt.date  # the day it was read: what it lists is what readers have seen by then
    trusted: str = ""  # unreadable today: why versions.lock's days are taken as they are
    unread: str = ""  # then: why it could not be read


def open_site(
    source: str,
    settings: Settings,
    lock: Lock,
    today: dt.date,
    first_publication: bool,
    trust: str = "",
) -> LiveSite:
    """``lock --live [source]``: the live site's index (``source``, else base_url's), read and
    judged; a LiveError if it cannot be read, or has none without a recorded first publication
    (or has one when ``first_publication`` says the site goes live today). A site that cannot
    be read, or has no index, on a day the lock records ``trust_lock`` (or ``trust``, the
    reason ``lock --trust-lock`` is about to record) counts as listing every version the lock
    records as first published before today: their recorded days are taken as they are."""
    fix = "python build.py lock --live" + (f" {source}" if source else "")
    if not source:
        if is_placeholder(settings.base_url):
            raise LiveError(
                f"{settings.source_path}: base_url is the placeholder {settings.base_url}, so the "
                "live site cannot be asked what it already announced: set the site's real "
                "address there, or give its index with --live URL"
            )
        source = default_source(settings.base_url)
    trusted = trust or (
        lock.trust_lock.reason if lock.trust_lock and lock.trust_lock.day == today else ""
    )
    try:
        index = read_index(source)
        if not first_publication:
            listed = announced(index, lock, today, fix)
    except LiveError as exc:
        if not trusted or first_publication:
            raise
        before = frozenset(
            k for k, e in lock.entries.items() if not e.published or e.published < today
        )
        return LiveSite(
            LiveIndex(source, None, absent="unreadable"), before, fix, today, trusted, str(exc)
        )
    if index.versions is not None and (first_publication or trust):
        raise LiveError(
            f"{source}: the site is already published there "
            f"({counted(len(index.versions), 'version')}, "
            f"as of {index.as_of}): drop --{'first-publication' if first_publication else 'trust-lock'}"
        )
    return LiveSite(index, frozenset() if first_publication else listed, fix, today)


def default_source(base_url: str) -> str:
    """The live index of the site at ``base_url`` (site.toml)."""
    return base_url.rstrip("/") + "/versions.json"


def announced(index: LiveIndex, lock: Lock, today: dt.date, fix: str) -> frozenset[str]:
    """What the live site announced, or, with no index there, nothing, when the lock records
    that the site is first published today (``lock --first-publication``); else a LiveError."""
    if index.versions is not None:
        return index.versions
    if lock.first_publication == today:
        return frozenset()
    recorded = (
        f"versions.lock records the site's first publication on "
        f"{lock.first_publication.isoformat()}, not today ({today.isoformat()}); "
        if lock.first_publication
        else ""
    )
    raise LiveError(
        f"{index.source}: there is no versions.json there ({index.absent}), so the live site "
        f"cannot say what it already announced. {recorded}If the site is published there for the "
        f"first time today, record that choice: {fix} --first-publication (then commit "
        "versions.lock); otherwise give the live site's index: set base_url in site.toml or pass "
        "--live URL"
    )


def check(
    policies: tuple[Policy, ...],
    lock: Lock,
    site: LiveSite,
    notice_days: int,
    lines: dict[str, int],
    display: str,
) -> list[ContentError]:
    """Every locked version the live site does not list is published for the first time by
    this build: the lock must record it as first published today (or later), else readers
    get less notice than it claims. ``lines``: each lock entry's line in ``display``."""
    today, fix = site.today, site.fix
    versions = {v.key: v for p in policies for v in p.versions}
    firsts = {p.versions[0].key for p in policies if p.versions}  # they replace nothing
    where = _where(site.index)
    errors = []
    for key, entry in unlisted(lock, site.announced):
        if key not in versions:  # never reached readers: no withdrawal, only a stale entry
            slug, _, day = key.partition("/")
            errors.append(
                ContentError(
                    display,
                    lines.get(key, 1),
                    f"{key} is in {display} but content/{slug}/{day}.md is gone and the live site "
                    f"does not list it ({where}): it was never published, so it can go; take it "
                    f"out: {fix}; commit and push",
                )
            )
            continue
        if entry.published is None or entry.published >= today:
            continue
        late = (today - entry.published).days
        message = (
            f"{key} is recorded as first published on {entry.published.isoformat()}, but the "
            f"live site does not list it yet ({where}): published today ({today.isoformat()}), "
            f"it would give readers {counted(late, 'day')} less notice than "
            f"{display} claims. Record it again today: {fix}"
        )
        note, then = (
            (
                f" (it records {today.isoformat()}; the first version of a policy needs no notice)",
                "",
            )
            if key in firsts
            else _then(versions[key], entry, today, notice_days)
        )
        message += f"{note}; commit and push{then}"
        errors.append(ContentError(display, lines.get(key, 1), message))
    return errors


def withdrawn(
    policies: tuple[Policy, ...], lock: Lock, site: LiveSite, display: str
) -> list[ContentError]:
    """A version the live site lists must not vanish from content/ and the lock together
    (``lock --live`` and ``lock --check --live`` alike)."""
    published = {v.key for p in policies for v in p.versions if not v.draft}
    return [
        ContentError(
            display,
            1,
            f"{key} is on the live site ({_where(site.index)}) but neither published in content/ "
            f"nor in {display}: a published version cannot be withdrawn; restore its file and its "
            "entry from git",
        )
        for key in sorted(site.announced - set(lock.entries) - published)
    ]


def _then(version: Version, entry: Entry, today: dt.date, notice_days: int) -> tuple[str, str]:
    """What recording ``version`` again today means for its effective date: a note for the
    fix, and, when the date no longer meets the notice period, what ``lock --live`` will then
    say (notice_period.short_notice: one wording for both)."""
    records = f"it records {today.isoformat()}"
    if version.non_material or entry.non_material:
        return f" ({records}; not material, so no notice period applies)", ""
    ahead = (version.effective - today).days
    if ahead >= notice_days:
        return (
            f" ({records}; {version.effective.isoformat()} is then {counted(ahead, 'day')} ahead, "
            f"enough for the notice period of {counted(notice_days, 'day')})"
        ), ""
    return "", ". Recorded again, " + short_notice(version, today, notice_days, False, False, True)


def unlisted(lock: Lock, live: frozenset[str]) -> list[tuple[str, Entry]]:
    """The locked versions the live site does not list, which this build publishes for the
    first time: announced here (not imported), not translations (the live site does not list
    those; they follow their version)."""
    return [
        (key, entry)
        for key, entry in sorted(lock.entries.items())
        if entry.published is not None and not is_translation_key(key) and key not in live
    ]


def gone(lock: Lock, live: frozenset[str], present: set[str]) -> frozenset[str]:
    """The locked versions that never reached the live site and whose file is no longer in
    content/ (``present``): nothing was withdrawn from readers, the entry is only stale."""
    return frozenset(key for key, _ in unlisted(lock, live) if key not in present)


def relocked(
    lock: Lock, live: frozenset[str], today: dt.date, present: set[str]
) -> tuple[Lock, dict[str, dt.date]]:
    """``lock --live``: the lock without the versions the live site does not list yet that it
    records as first published before today, or whose file is gone (and without their
    translations), for ``lock`` to record again as of today; returns it and the day recorded
    for each version taken out."""
    stale: dict[str, dt.date] = {
        key: entry.published
        for key, entry in unlisted(lock, live)
        if entry.published is not None and (entry.published < today or key not in present)
    }
    kept = {
        key: entry
        for key, entry in lock.entries.items()
        if key not in stale and key.rpartition(".")[0] not in stale
    }
    return dataclasses.replace(lock, entries=kept), stale


def first_published(lock: Lock, live: frozenset[str]) -> list[str]:
    """The locked versions this run publishes for the first time: those the live site lacks."""
    return [key for key, _ in unlisted(lock, live)]


def last_call(keys: list[str], now: dt.datetime, today: dt.date, fix: str) -> str | None:
    """Why publishing ``keys`` for the first time is refused, if it is: ``now`` (UTC, read at
    the end of the check) is no longer ``today``, the day the check started and judged the lock
    against, or is too close to midnight for the deploy to land on it."""
    if not keys:
        return None
    them = "it" if len(keys) == 1 else "them"
    again = f"record {them} again ({fix}), commit and push"
    if now.date() != today:
        return (
            f"it is {now:%Y-%m-%d %H:%M} UTC, no longer {today.isoformat()}, the day this check "
            f"started: the deploy that publishes {', '.join(keys)} for the first time reaches "
            f"readers on {now.date().isoformat()} at the earliest, later than versions.lock "
            f"records; {again}"
        )
    if now.time() < LAST_CALL:
        return None
    return (
        f"it is {now:%H:%M} UTC: the deploy that publishes {', '.join(keys)} for the first time "
        "may reach readers after midnight, a day later than versions.lock records "
        f"({today.isoformat()}); after 00:00 UTC, {again}"
    )


def push_soon(keys: list[str], now: dt.datetime) -> str | None:
    """``lock --live`` at ``now`` (UTC), locking ``keys`` to be first published today: a warning
    when CI may not reach its check before :data:`LAST_CALL`."""
    if not keys or now.time() < PUSH_BY:
        return None
    return (
        f"it is {now:%H:%M} UTC: CI runs its tests (about 20 minutes) before it checks the lock, and "
        f"from {LAST_CALL:%H:%M} UTC it refuses to publish {', '.join(keys)} for the first time "
        f"today; push now, or run 'python build.py lock --live' again after 00:00 UTC"
    )


def summary(lock: Lock, site: LiveSite, today: dt.date) -> str:
    """``lock --check --live``: what the live site lists and what this build first publishes."""
    listed = sum(1 for key in lock.entries if key in site.announced)
    first = (
        f"{counted(len(first_published(lock, site.announced)), 'version')} first published today"
    )
    if site.trusted:
        return (
            f"the live site cannot be read ({site.index.source}); versions.lock takes the days it "
            f"records as they are today ({today.isoformat()}): {site.trusted}; {first}"
        )
    if site.index.versions is None:
        return (
            f"first publication of the site today ({today.isoformat()}), as versions.lock "
            f"records; {first}"
        )
    return f"the live site lists {listed} of them ({_where(site.index)}); {first} ({today.isoformat()})"


def _where(index: LiveIndex) -> str:
    if index.versions is None or index.as_of is None:
        return f"{index.source}: no index"
    return f"{index.source}, as of {index.as_of.isoformat()}"
