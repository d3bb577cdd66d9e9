"""The data model: what the loader produces and the renderer consumes.

Everything is a frozen dataclass so that a loaded site can be shared between
stages (and, later, processes) without anyone mutating it behind another's back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import NamedTuple


@dataclass(frozen=True, order=True)
class ContentError:
    """One problem in one file, reported as ``path:line: message``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class ContentErrors(Exception):
    """Raised when loading finds errors; carries all of them, sorted."""

    def __init__(self, errors: list[ContentError]):
        self.errors = sorted(set(errors))
        super().__init__("\n".join(str(e) for e in self.errors))


class Status(StrEnum):
    """Where a version stands on the build's day."""

    UPCOMING = "upcoming"
    IN_FORCE = "in force"
    SUPERSEDED = "superseded"


class Heading(NamedTuple):
    """A heading of a version's body, for the table of contents. A named tuple, not a
    dataclass: an incremental build unpickles 30,000 of them from the store, and tuples of
    plain values cost the garbage collector less (1,000 versions of 30 headings: 0.081 s
    against 0.091 s, median of 7 alternating runs, load average 8)."""

    level: int
    id: str
    text: str


@dataclass(frozen=True)
class Correction:
    """A recorded change to a locked version's text (see legalsite/lock.py)."""

    date: dt.date
    note: str


@dataclass(frozen=True)
class Version:
    """One Markdown file: one version of one policy."""

    policy: str
    effective: dt.date
    title: str
    summary: str
    draft: bool
    month_only: bool  # the source gives only a month (see README: "Dates")
    retitled: bool
    source_path: str  # relative to the project root, for messages
    source_sha256: str
    body_html: str
    headings: tuple[Heading, ...]
    non_material: str = ""  # why the change is not material: no notice period (lock.py)
    effective_line: int = 1  # line of 'effective:' in the source, for messages
    corrections: tuple[Correction, ...] = ()
    body_sha256: str = ""  # of body_html: what a redline of it depends on (render.redline_key)

    @property
    def key(self) -> str:
        """``<policy>/<date>``: how the lock, feeds and messages name a version."""
        return f"{self.policy}/{self.effective.isoformat()}"

    @property
    def slug(self) -> str:
        return self.effective.isoformat()


@dataclass(frozen=True)
class Translation:
    """``content/<policy>/<date>.<lang>.md``: a translation of one version (translations.py).
    ``translates``: the SHA-256 of the source text it was made from (a hash the lock knows)."""

    policy: str
    effective: dt.date  # of the version it translates (its file name)
    lang: str
    title: str
    summary: str
    translates: str
    draft: bool
    source_path: str
    source_sha256: str
    body_html: str
    headings: tuple[Heading, ...]
    translates_line: int = 1

    @property
    def key(self) -> str:
        """``<policy>/<date>.<lang>``: how the lock and messages name a translation."""
        return f"{self.policy}/{self.effective.isoformat()}.{self.lang}"

    @property
    def version_key(self) -> str:
        return f"{self.policy}/{self.effective.isoformat()}"


@dataclass(frozen=True)
class Policy:
    """A policy and its versions, oldest first."""

    slug: str
    versions: tuple[Version, ...]

    @property
    def title(self) -> str:
        return self.versions[-1].title


@dataclass(frozen=True)
class Analytics:
    """Where the self-hosted Umami lives; empty origin means analytics is off."""

    origin: str = ""
    website_id: str = ""
    script_path: str = "/script.js"
    domains: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.origin)


@dataclass(frozen=True)
class Settings:
    """Site settings from ``site.toml``, with built-in defaults."""

    name: str = "1vy"
    base_url: str = "https://legal.1vy.example"
    language: str = "en"
    languages: tuple[str, ...] = ()  # issue 17: the languages of translations (BCP 47 tags)
    contact_email: str = ""
    notice_days: int = 30
    compare_any_two: bool = True  # a page per pair of versions (compare.py); issue 15
    analytics: Analytics = field(default_factory=Analytics)
    source_path: str = "site.toml"


@dataclass(frozen=True)
class Site:
    """Everything a build needs: settings, policies and the day it is built for."""

    settings: Settings
    policies: tuple[Policy, ...]
    today: dt.date
    drafts: bool = False
    tracker: bool = True  # load the analytics tracker (when configured); preview and drafts: False
    translations: tuple[Translation, ...] = ()  # issue 17 (translations.py)

    def outline(self) -> Site:
        """The site without its versions' texts: what the site-wide pages and the next
        build's stamp need of it (a one-shot build lets the texts go before its audit)."""
        policies = tuple(
            replace(p, versions=tuple(replace(v, body_html="", headings=()) for v in p.versions))
            for p in self.policies
        )
        return replace(self, policies=policies)
