"""``versions.lock``: published text can never change silently.

The lock records the SHA-256 of every version once it is published (in force,
or announced as upcoming), and the day an upcoming version was announced, so
the notice period can be checked against it. A build in which a locked
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
from dataclasses import dataclass
from pathlib import Path

from .model import ContentError, ContentErrors, Correction, Policy, Translation, Version

LOCK_FORMAT = 1


@dataclass(frozen=True)
class LockedCorrection:
    date: dt.date
    note: str
    sha256: str


@dataclass(frozen=True)
class Entry:
    sha256: str  # the text as first published
    announced: dt.date | None = None  # the day it was locked while still upcoming
    corrections: tuple[LockedCorrection, ...] = ()

    @property
    def current_sha256(self) -> str:
        return self.corrections[-1].sha256 if self.corrections else self.sha256


@dataclass(frozen=True)
class Lock:
    entries: dict[str, Entry]  # "<policy>/<date>" -> entry

    def to_json(self) -> str:
        versions: dict[str, dict] = {}
        data = {"format": LOCK_FORMAT, "versions": versions}
        for key in sorted(self.entries):
            entry = self.entries[key]
            item: dict = {"sha256": entry.sha256}
            if entry.announced:
                item["announced"] = entry.announced.isoformat()
            if entry.corrections:
                item["corrections"] = [
                    {"date": c.date.isoformat(), "note": c.note, "sha256": c.sha256}
                    for c in entry.corrections
                ]
            versions[key] = item
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


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
        or data.get("format") != LOCK_FORMAT
        or not isinstance(data.get("versions"), dict)
    ):
        raise fail(1, f"not a versions.lock of format {LOCK_FORMAT}: restore it from git")
    entries = {}
    try:
        for key, item in data["versions"].items():
            entries[key] = Entry(
                sha256=str(item["sha256"]),
                announced=dt.date.fromisoformat(item["announced"])
                if item.get("announced")
                else None,
                corrections=tuple(
                    LockedCorrection(
                        dt.date.fromisoformat(c["date"]), str(c["note"]), str(c["sha256"])
                    )
                    for c in item.get("corrections", [])
                ),
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise fail(1, f"entry {key!r} is malformed ({exc}): restore the file from git") from None
    return Lock(entries)


def read_lock(path: Path, display: str) -> Lock:
    if not path.exists():
        return Lock({})
    return parse_lock(path.read_text(encoding="utf-8"), display)


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


def check_notice(
    policies: tuple[Policy, ...], lock: Lock, today: dt.date, notice_days: int
) -> list[ContentError]:
    """A published version must be announced ``notice_days`` before it takes effect.

    The announcement day is the one recorded in the lock; a version not yet
    locked is being announced by this build, so its day is ``today``. Versions
    locked when already in force (before the lock existed) have no
    announcement day and are not checked.
    """
    errors = []
    for policy in policies:
        for version in policy.versions[1:]:  # the first version of a policy replaces nothing
            if version.draft or version.notice_waived:
                continue
            entry = lock.entries.get(version.key)
            if entry is not None:
                announced = entry.announced
            else:
                announced = today if version.effective >= today else None
            if announced is None:
                continue
            notice = (version.effective - announced).days
            if notice < notice_days:
                errors.append(
                    ContentError(
                        version.source_path,
                        version.effective_line,
                        (
                            f"{version.key} takes effect {notice} day{'s' if notice != 1 else ''} "
                            "after it is announced "
                            f"on {announced.isoformat()}, less than the notice period of {notice_days} days: choose "
                            "'effective: "
                            f"{(announced + dt.timedelta(days=notice_days)).isoformat()}' or later, or say why "
                            "with 'notice_waived: <reason>'"
                        ),
                    )
                )
    return errors


def updated(policies: tuple[Policy, ...], lock: Lock, today: dt.date) -> Lock:
    """The lock with every published (non-draft) version added; existing entries kept."""
    entries = dict(lock.entries)
    for policy in policies:
        for version in policy.versions:
            if version.draft or version.key in entries:
                continue
            announced = today if version.effective > today else None
            entries[version.key] = Entry(sha256=version.source_sha256, announced=announced)
    return Lock(entries)


def corrected(lock: Lock, version: Version | Translation, note: str, today: dt.date) -> Lock:
    """Record that ``version``'s locked text was corrected today."""
    entry = lock.entries[version.key]
    correction = LockedCorrection(date=today, note=note, sha256=version.source_sha256)
    entries = dict(lock.entries)
    entries[version.key] = dataclasses.replace(entry, corrections=entry.corrections + (correction,))
    return Lock(entries)
