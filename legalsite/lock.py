"""``versions.lock``: published text can never change silently.

The lock records the SHA-256 of every version once it is published, and the day
it was first published (locked), so that the notice period is counted from it,
or why the notice period does not apply to it (non-material, or imported from
before this site). A build in which a locked
version's source differs from the lock fails. The only ways out are a new
version, or a correction recorded with ``build.py lock --correct``, which keeps
the original hash and shows "Corrected on <date>: <note>" to readers.

The file is JSON (sorted, indented) so that a reviewer sees each change as a
small diff and the build reads it with the standard library.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .model import ContentError, ContentErrors, Correction, Policy, Translation, Version
from .unreadable import read_file

LOCK_FORMAT = 2
IMPORTED_FROM_FORMAT_1 = (
    "in force when first locked, before versions.lock recorded announcements (format 1)"
)


@dataclass(frozen=True)
class LockedCorrection:
    date: dt.date
    note: str
    sha256: str


@dataclass(frozen=True)
class Entry:
    """A published version. ``published``: the day it is first published, from which the notice
    runs: recorded by ``lock``, and again by ``lock --live`` while the live site does not list
    it; CI's ``lock --check --live`` refuses to deploy a version the live site lacks unless
    this is today (live.py).
    The only exemptions from the notice period, each with its reason: ``non_material``
    (from the version's front matter) and ``imported`` (published before this site)."""

    sha256: str  # the text as first published
    published: dt.date | None = None  # None only for an imported version
    corrections: tuple[LockedCorrection, ...] = ()
    non_material: str = ""
    imported: str = ""
    # the notice period when it was locked: a later change of site.toml's notice_days does not
    # make an announced version late (None: locked before this was recorded; today's value)
    notice_days: int | None = None

    @property
    def current_sha256(self) -> str:
        return self.corrections[-1].sha256 if self.corrections else self.sha256

    @property
    def exemption(self) -> str:
        """Why the notice period does not apply, as recorded; empty when it does."""
        if self.non_material:
            return f"not material: {self.non_material}"
        if self.imported:
            return f"imported: {self.imported}"
        return ""


@dataclass(frozen=True)
class TrustLock:
    day: dt.date
    reason: str


@dataclass(frozen=True)
class Lock:
    entries: dict[str, Entry]  # "<policy>/<date>" -> entry
    # the day the site was first published, with no live index before it: recorded by
    # ``lock --first-publication`` as the choice it is, and valid on that day only (live.py)
    first_publication: dt.date | None = None
    # the day the live site could not be read and why its recorded days were taken as they
    # are (``lock --trust-lock REASON``): valid on that day only, and only while it stays
    # unreadable (live.py)
    trust_lock: TrustLock | None = None

    def to_json(self) -> str:
        versions: dict[str, dict] = {}
        data: dict = {"format": LOCK_FORMAT, "versions": versions}
        if self.first_publication:
            data["first_publication"] = self.first_publication.isoformat()
        if self.trust_lock:
            data["trust_lock"] = {
                "day": self.trust_lock.day.isoformat(),
                "reason": self.trust_lock.reason,
            }
        for key in sorted(self.entries):
            entry = self.entries[key]
            item: dict = {"sha256": entry.sha256}
            if entry.published:
                item["published"] = entry.published.isoformat()
            if entry.non_material:
                item["non_material"] = entry.non_material
            if entry.imported:
                item["imported"] = entry.imported
            if entry.notice_days is not None:
                item["notice_days"] = entry.notice_days
            if entry.corrections:
                item["corrections"] = [
                    {"date": c.date.isoformat(), "note": c.note, "sha256": c.sha256}
                    for c in entry.corrections
                ]
            versions[key] = item
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _entry(item: dict, lock_format: int) -> Entry:
    """One entry; a format-1 entry (``announced`` when locked while upcoming, nothing when
    locked in force) is read as format 2: announced -> published, nothing -> imported."""
    corrections = tuple(
        LockedCorrection(dt.date.fromisoformat(c["date"]), str(c["note"]), str(c["sha256"]))
        for c in item.get("corrections", [])
    )
    if lock_format == 1:
        announced = item.get("announced")
        return Entry(
            sha256=str(item["sha256"]),
            published=dt.date.fromisoformat(announced) if announced else None,
            corrections=corrections,
            imported="" if announced else IMPORTED_FROM_FORMAT_1,
        )
    published = item.get("published")
    entry = Entry(
        sha256=str(item["sha256"]),
        published=dt.date.fromisoformat(published) if published else None,
        corrections=corrections,
        non_material=str(item.get("non_material", "")).strip(),
        imported=str(item.get("imported", "")).strip(),
        notice_days=int(item["notice_days"]) if "notice_days" in item else None,
    )
    if entry.published is None and not entry.imported:
        raise ValueError("it has neither 'published' nor 'imported'")
    return entry


def parse_lock(text: str, display: str) -> Lock:
    """Read the lock; a malformed file is a content error (it guards publication)."""

    def fail(line: int, message: str) -> ContentErrors:
        return ContentErrors([ContentError(display, line, message)])

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(
            exc.lineno,
            f"not valid JSON ({exc.msg}): restore it from git, or run 'python build.py lock'",
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("format") not in (1, LOCK_FORMAT)
        or not isinstance(data.get("versions"), dict)
    ):
        raise fail(1, f"not a versions.lock of format {LOCK_FORMAT}: restore it from git")
    entries = {}
    key = ""
    try:
        for key, item in data["versions"].items():
            entries[key] = _entry(item, data["format"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise fail(1, f"entry {key!r} is malformed ({exc}): restore the file from git") from None
    first = data.get("first_publication")
    try:
        first_publication = dt.date.fromisoformat(first) if first is not None else None
    except (TypeError, ValueError):
        raise fail(
            entry_lines(text).get("first_publication", 1),
            f"first_publication {first!r} is not a date: restore the file from git",
        ) from None
    trust = data.get("trust_lock")
    try:
        trust_lock = (
            TrustLock(dt.date.fromisoformat(trust["day"]), str(trust["reason"]).strip())
            if trust is not None
            else None
        )
        if trust_lock is not None and not trust_lock.reason:
            raise ValueError("no reason")
    except (TypeError, ValueError, KeyError):
        raise fail(
            entry_lines(text).get("trust_lock", 1),
            f"trust_lock {trust!r} is not a day and a reason: restore the file from git",
        ) from None
    return Lock(entries, first_publication, trust_lock)


_KEY_LINE = re.compile(r'^\s*"([^"]+)":')


def entry_lines(text: str) -> dict[str, int]:
    """The line of each key of the lock's JSON (its entries, ``first_publication``), so that a
    message can point at it; the first one wins (an entry's own fields come after it)."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = _KEY_LINE.match(line)
        if match:
            lines.setdefault(match[1], number)
    return lines


def read_lock(path: Path, display: str) -> Lock:
    raw = read_file(path, display, "pass --lock FILE")
    return Lock({}) if raw is None else parse_lock(raw.decode("utf-8"), display)


def verify(
    policies: tuple[Policy, ...], lock: Lock, lock_display: str
) -> tuple[tuple[Policy, ...], list[ContentError]]:
    """Check every locked version against its source; attach recorded corrections."""
    errors: list[ContentError] = []
    present = {v.key: v for p in policies for v in p.versions}
    for key, entry in sorted(lock.entries.items()):
        if "." in key.rpartition("/")[2]:
            continue  # issue 17: a translation (translations.verify_lock)
        version = present.get(key)
        if version is None:
            slug, _, day = key.partition("/")
            errors.append(
                ContentError(
                    lock_display,
                    1,
                    f"{key} is published but content/{slug}/{day}.md is missing: "
                    "restore the file from git (a published version cannot be withdrawn silently)",
                )
            )
        elif version.source_sha256 != entry.current_sha256:
            errors.append(
                ContentError(
                    version.source_path,
                    1,
                    (
                        f"the published text of {key} changed after it was locked in {lock_display}: "
                        f"undo the edit and publish it as a new version (python build.py new {version.policy}), "
                        f"or record a correction: python build.py lock --correct {key} --note "
                        '"what was corrected and why"'
                    ),
                )
            )
    result = []
    for policy in policies:
        versions = []
        for version in policy.versions:
            locked = lock.entries.get(version.key)
            if locked and locked.corrections:
                version = dataclasses.replace(
                    version,
                    corrections=tuple(Correction(c.date, c.note) for c in locked.corrections),
                )
            versions.append(version)
        result.append(dataclasses.replace(policy, versions=tuple(versions)))
    return tuple(result), errors


def announced_earlier(lock: Lock, version: Version) -> str | None:
    """An older version of ``version``'s policy that this site announced (locked with a
    ``published`` day, not imported), if any: then the site existed for this policy before
    ``version``, which cannot claim to predate it (``lock --import``)."""
    slug, day = version.key.split("/", 1)
    return next(
        (
            key
            for key, entry in sorted(lock.entries.items())
            if key.split("/", 1)[0] == slug
            and key.split("/", 1)[1] < day
            and entry.published is not None
            and not entry.imported
        ),
        None,
    )


def updated(policies: tuple[Policy, ...], lock: Lock, today: dt.date, notice_days: int) -> Lock:
    """The lock with every published (non-draft) version added, first published ``today``
    (with its front matter's ``non_material`` reason); existing entries kept."""
    entries = dict(lock.entries)
    for policy in policies:
        for version in policy.versions:
            if version.draft or version.key in entries:
                continue
            entries[version.key] = Entry(
                sha256=version.source_sha256,
                published=today,
                non_material=version.non_material,
                notice_days=notice_days,
            )
    return dataclasses.replace(lock, entries=entries)


def imported(lock: Lock, version: Version, note: str, today: dt.date) -> Lock:
    """Record ``version`` as published before this site (``lock --import``): it was in
    force on or before ``today``, so no notice could be given on this site."""
    if version.draft or version.effective > today:
        raise ValueError(
            f"{version.key} takes effect on {version.effective.isoformat()}, after "
            f"{today.isoformat()}: only a version already in force can predate the site; "
            "announce it instead (python build.py lock)"
            if not version.draft
            else f"{version.key} is a draft: only a published version can be imported"
        )
    earlier = announced_earlier(lock, version)
    if earlier is not None:
        raise ValueError(
            f"{version.key} cannot predate this site: {earlier}, an older version of the same "
            f"policy, was announced here on {lock.entries[earlier].published}; announce "
            f"{version.key} with the notice period (python build.py lock), or mark it "
            "'non_material: <reason>' if readers lose nothing by the change"
        )
    entries = dict(lock.entries)
    entries[version.key] = Entry(sha256=version.source_sha256, imported=note)
    return dataclasses.replace(lock, entries=entries)


def corrected(lock: Lock, version: Version | Translation, note: str, today: dt.date) -> Lock:
    """Record that ``version``'s locked text was corrected today."""
    entry = lock.entries[version.key]
    correction = LockedCorrection(date=today, note=note, sha256=version.source_sha256)
    entries = dict(lock.entries)
    entries[version.key] = dataclasses.replace(entry, corrections=entry.corrections + (correction,))
    return dataclasses.replace(lock, entries=entries)
