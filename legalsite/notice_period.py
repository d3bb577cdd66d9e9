"""The notice period: a published version is announced ``notice_days`` before it takes effect.

The rule reads the day each version was first published from ``versions.lock`` (lock.py)
and says, as one ``file:line`` message, what is wrong and the ways to fix it. ``build``,
``check``, ``lock`` and ``lock --live`` all apply it, so a version is refused with the same
words whichever command meets it first.
"""

from __future__ import annotations

import datetime as dt

from .lock import Lock, announced_earlier
from .model import ContentError, Policy, Site, Version
from .wording import counted


def check_notice(
    policies: tuple[Policy, ...],
    lock: Lock,
    today: dt.date,
    notice_days: int,
    relocking: frozenset[str] = frozenset(),
) -> list[ContentError]:
    """A published version must be announced ``notice_days`` before it takes effect.

    The announcement day is the one recorded in the lock (``published``); a version not
    yet locked is being announced by this build, so its day is ``today``, whether its
    date is ahead or already past (a backdated version gets no notice at all). The only
    ways past the rule are recorded in the lock with a reason: ``non_material`` (from
    the front matter; a version not yet locked may use it, and ``lock`` records it) and
    ``imported`` (``lock --import``, for versions published before this site).
    ``relocking``: versions ``lock --live`` records again today (live.relocked).
    """
    errors = []
    for policy in policies:
        for version in policy.versions[1:]:  # the first version of a policy replaces nothing
            if version.draft:
                continue
            entry = lock.entries.get(version.key)
            if entry is not None and entry.exemption:
                continue
            if entry is None and version.non_material:
                continue
            announced = entry.published if entry is not None and entry.published else today
            days = notice_days
            if entry is not None and entry.notice_days is not None:
                days = entry.notice_days  # the period it was announced under
            if (version.effective - announced).days < days:
                importable = announced_earlier(lock, version) is None
                message = short_notice(
                    version,
                    announced,
                    days,
                    entry is not None,
                    importable,
                    version.key in relocking,
                )
                errors.append(ContentError(version.source_path, version.effective_line, message))
    return errors


def short_notice(
    version: Version,
    announced: dt.date,
    notice_days: int,
    locked: bool,
    importable: bool,
    relocked: bool = False,
) -> str:
    """What is wrong with ``version``'s notice and the ways to fix it (one message)."""
    notice = (version.effective - announced).days
    earliest = (announced + dt.timedelta(days=notice_days)).isoformat()
    if locked:
        why = "first published, versions.lock"
    elif relocked:
        why = "today: the live site does not list it yet, so it is recorded again"
    else:
        why = "the day of this build: it is not in versions.lock yet"
    when = f"announced on {announced.isoformat()} ({why})"
    gap = f"takes effect on {version.effective.isoformat()}, {days_from(notice)} it is {when}"
    if locked:  # published: its file and date cannot change, only a hand-edited lock did this
        return (
            f"{version.key} {gap}, less than the notice period of {notice_days} days: "
            "versions.lock was edited by hand; restore it from git (the day a version was first "
            "published is recorded by 'python build.py lock' and never changes)"
        )
    fixes = f"choose 'effective: {earliest}' or later"
    if not locked:
        fixes += "; if readers lose nothing by the change, say why with 'non_material: <reason>'"
        if version.effective <= announced and importable:
            fixes += (
                "; if it was published before this site existed, record that: "
                f'python build.py lock --import {version.key} --note "where and when it was published"'
            )
    return f"{version.key} {gap}, less than the notice period of {notice_days} days: {fixes}"


def days_from(notice: int) -> str:
    """``3 days after``, ``1 day before``: a version's date against its announcement."""
    n = abs(notice)
    return f"{counted(n, 'day')} {'after' if notice >= 0 else 'before'}"


def late_drafts(site: Site) -> list[str]:
    """Drafts (``check --drafts``, the preview) that, published today, would take effect
    before the notice period ends: they would fail the build once 'draft: true' goes."""
    days = site.settings.notice_days
    earliest = site.today + dt.timedelta(days=days)
    return [
        f"{v.source_path}:{v.effective_line}: the draft {v.key} can no longer meet the notice "
        f"period of {days} days: published today ({site.today.isoformat()}) it would take effect "
        f"{days_from((v.effective - site.today).days)} it is announced; choose "
        f"'effective: {earliest.isoformat()}' or later (rename the file to match)"
        for p in site.policies
        for v in p.versions[1:]
        if v.draft and not v.non_material and v.effective < earliest
    ]
