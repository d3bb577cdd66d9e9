"""The preview's builds (``build.py serve``, preview.py): the whole pipeline, with drafts
and never the tracker, through one store that remembers what the last good build used, so
that a rebuild after one edit redoes only what the edit touched. A build's problem, content
or template, is an Outcome's errors (``path:line: message``), never a traceback.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import timeline
from .compare import no_page
from .model import ContentError, ContentErrors, Site
from .pipeline import Project, Request, run
from .stamp import remembered
from .store import Store
from .theme import template_error


@dataclass(frozen=True)
class Outcome:
    """One rebuild: the files, or the errors that stopped it."""

    files: dict[str, bytes] | None  # None when the build failed
    errors: tuple[ContentError, ...]
    site: Site | None
    seconds: float
    parsed: int  # source files that went through Markdown
    pages_rendered: int  # pages rendered (not taken from the store)
    later: Callable[[str], bytes | None] = no_page  # pages made on request (Built.later)

    @property
    def ok(self) -> bool:
        return self.files is not None


class Builder:
    """The preview's builds: the whole pipeline (drafts, never the tracker, whatever
    site.toml says) through one store that keeps, in memory, what the last good build used."""

    def __init__(self, project: Project, as_of: dt.date | None = None):
        self.project = project
        self.as_of = as_of
        self.store = Store(remember=True)

    def build(self) -> Outcome:
        started = time.perf_counter()
        self.store.begin()
        files, site = None, None
        later: Callable[[str], bytes | None] = no_page
        errors: tuple[ContentError, ...] = ()
        try:
            request = Request(self.project, timeline.build_day(self.as_of), True, tracker=False)
            sources = remembered(self.project, self.store)
            result = run(request, self.store, sources, digests=sources.sources)
            files, site, later = result.files, result.site, result.later
            self.store.prune()
        except ContentErrors as exc:
            errors = tuple(exc.errors)
        except Exception as exc:  # a template or asset problem: report it like content errors
            errors = (describe_error(self.project, exc),)
        return Outcome(
            files=files,
            errors=errors,
            site=site,
            seconds=time.perf_counter() - started,
            parsed=self.store.misses["parse"],
            pages_rendered=self.store.misses["page"],
            later=later,
        )


def describe_error(project: Project, exc: Exception) -> ContentError:
    """``path:line: message`` for an exception that is not a content error: a template's
    (theme.template_error, as build and check report it) or anything else, which the
    preview shows rather than stopping."""
    templates, display = project.templates, project.display
    return template_error(exc, templates, display) or ContentError(
        display(templates),
        1,
        f"the templates could not be rendered: {type(exc).__name__}: {exc}",
    )
