"""``build.py notice <policy>``: the notice legal sends before a new version takes effect.

Readers must hear of a change before it applies (the notice period, site.toml
``notice_days``). This prints the message to send, by email or in the product,
from what the site publishes: the policy's title, the day the upcoming version
takes effect, its summary in legal's own words, and the addresses of the new
version and of its redline on the published site. It adds no wording about the
change itself: the summary is the only description, so the notice can never say
more, or other, than the version's author wrote.

Plain text (an email body, with a ``Subject:`` line) or Markdown (``--format
markdown``, for a help centre or an in-app message).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from dataclasses import dataclass

from . import timeline
from .model import Policy, Site, Version
from .wording import counted


class NoticeError(Exception):
    """No notice can be made as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Notice:
    """What a notice says, with absolute URLs of the published pages."""

    site_name: str
    version: Version
    version_url: str
    changes_url: str  # "" for the first version of a policy
    current: Version | None  # the version in force until then
    current_url: str


def find(site: Site, slug: str, days, error: type[Exception]) -> tuple[Policy, dict]:
    """``slug``'s policy and its versions by day, each of ``days`` (None: not asked for) among
    them; else ``error`` saying what there is (also for diffcmd.py)."""
    policy = next((p for p in site.policies if p.slug == slug), None)
    if policy is None:
        known = ", ".join(p.slug for p in site.policies) or "none"
        raise error(f"no policy '{slug}' in content/: known policies are {known}")
    by_date = {v.effective: v for v in policy.versions}
    for day in days:
        if day is not None and day not in by_date:
            dates = ", ".join(d.isoformat() for d in by_date)
            raise error(f"{slug} has no version of {day.isoformat()}: its versions are {dates}")
    return policy, by_date


def pick(site: Site, slug: str, day: dt.date | None) -> Notice:
    """The notice for ``slug``'s version of ``day``, else its next upcoming one."""
    policy, by_date = find(site, slug, [day], NoticeError)
    upcoming = timeline.upcoming(policy, site.today)
    if day is not None:
        version = by_date[day]
        if version not in upcoming:
            raise NoticeError(
                f"{version.key} is already in force or superseded on {site.today.isoformat()}: "
                "a notice announces a version before it takes effect"
            )
    elif upcoming:
        version = upcoming[0]
    else:
        raise NoticeError(
            f"{slug} has no upcoming version on {site.today.isoformat()}: start one with "
            f"'python build.py new {slug} --effective YYYY-MM-DD' (drafts need --drafts)"
        )
    return _notice(site, policy, version)


def _notice(site: Site, policy: Policy, version: Version) -> Notice:
    url = f"{site.settings.base_url}/{policy.slug}/"
    return Notice(
        site_name=site.settings.name,
        version=version,
        version_url=f"{url}{version.slug}/",
        changes_url=f"{url}{version.slug}/changes/" if policy.versions.index(version) else "",
        current=timeline.in_force(policy, site.today),
        current_url=url,
    )


def as_text(notice: Notice, markdown: bool = False) -> str:
    """The notice as an email body with a ``Subject:`` line or, ``markdown``, as Markdown:
    the same sentences, only the markup differs."""
    escape = _md if markdown else str
    day = timeline.human_date(notice.version)
    name = escape(f"{notice.site_name} {notice.version.title}")
    verb = "changes" if notice.changes_url else "takes effect"
    summary = escape(notice.version.summary)
    since = timeline.human_date(notice.current) if notice.current is not None else ""
    if markdown:
        draft, head = f"> {_DRAFT}", f"## Changes to the {name} on {day}"
        lead, what = f"The {name} {verb} on **{day}**.", f"**What changes:** {summary}"
        links = [f"- [Read the new version]({notice.version_url})"]
        links += [f"- [See every change]({notice.changes_url})"] if notice.changes_url else []
        until = [f"Until then, the [version in force since {since}]({notice.current_url}) applies."]
    else:
        draft, head = _DRAFT, f"Subject: Changes to the {name} on {day}"
        lead, what = f"The {name} {verb} on {day}.", f"What changes: {summary}"
        links = [f"Read the new version: {notice.version_url}"]
        links += [f"See every change:     {notice.changes_url}"] if notice.changes_url else []
        until = [f"Until then, the version in force since {since} applies:", notice.current_url]
    lines = [draft, ""] if notice.version.draft else []
    lines += [head, "", lead, "", *([what, ""] if summary else []), *links]
    lines += ["", *until] if since else []
    return "\n".join(lines) + "\n"


_DRAFT = "DRAFT: this version is not published yet; its links work once it is."
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>])")


def _md(text: str) -> str:
    """Plain text as Markdown shows it: characters Markdown would read as markup escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def notice_days_left(notice: Notice, today: dt.date, notice_days: int) -> str:
    """A warning when the version takes effect sooner than the notice period allows."""
    left = (notice.version.effective - today).days
    if left >= notice_days:
        return ""
    return (
        f"{notice.version.key} takes effect in {counted(left, 'day')}, less than "
        f"the notice period of {notice_days} days (site.toml notice_days)"
    )


def run(args: argparse.Namespace, project) -> int:
    """``build.py notice``: print the notice; 1 with a one-line error when there is none."""
    from .pipeline import load_site  # the loader only when the command runs

    today = timeline.build_day(args.as_of)
    site = load_site(project, today, drafts=args.drafts)
    try:
        notice = pick(site, args.policy, args.version)
    except NoticeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    warning = notice_days_left(notice, today, site.settings.notice_days)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    print(as_text(notice, markdown=args.format == "markdown"), end="")
    return 0
