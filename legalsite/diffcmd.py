"""``build.py diff``: legal's redline of any two versions, drafts included.

The same redline as the published ``changes/`` pages, either as one
self-contained HTML file (stylesheet inlined, so it can be mailed or opened
from disk) or as text for the terminal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from . import timeline
from .model import Policy, Site, Version
from .notice import find
from .redline import Redline, redline
from .render import Theme


class DiffError(Exception):
    """The versions asked for do not exist."""


@dataclass(frozen=True)
class Diff:
    policy: Policy
    old: Version
    new: Version
    redline: Redline


def pick(site: Site, slug: str, old: dt.date | None, new: dt.date | None) -> Diff:
    """Default: the newest version (a draft, say) against the one in force."""
    policy, by_date = find(site, slug, (old, new), DiffError)
    newer = by_date[new] if new else policy.versions[-1]
    if old:
        older: Version | None = by_date[old]
    else:
        current = timeline.in_force(policy, site.today)
        older = (
            current
            if current is not None and current is not newer
            else timeline.previous(policy, newer)
        )
    if older is None:
        raise DiffError(
            f"{slug} has only one version before {newer.effective.isoformat()}: nothing to compare it with"
        )
    return Diff(policy, older, newer, redline(older.body_html, newer.body_html))


def standalone_html(diff: Diff, site: Site, theme: Theme) -> bytes:
    css = dict(theme.assets)[theme.stylesheet].decode("utf-8")
    html = theme.env.get_template("diff-standalone.html").render(
        diff=diff, settings=site.settings, css=css, today=site.today
    )
    return html.encode("utf-8")
