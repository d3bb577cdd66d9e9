"""Incremental rebuilds for the preview: the full build, with memoised pure steps.

:class:`IncrementalBuilder` runs the ordinary ``pipeline.render`` (so every
rule the production build checks, the preview checks too) inside a
:class:`~legalsite.memo.BuildMemo`. Only what a change affects is redone:

- an edited, added or renamed source file goes through front matter and
  Markdown; unchanged files reuse their parsed version;
- a page is re-rendered only when what it shows changed: an edit to the text
  of one version redoes its page, the two redlines it is part of and, if it is
  in force, the policy's page; an edit to its front matter also redoes the
  pages that list it (history, feeds, changelog, index, sitemap, its
  siblings' version pages); redlines whose two bodies are unchanged are reused;
- a template, asset or settings change changes the keys of every page, so
  everything is rebuilt (Markdown too when a placeholder setting changes).

Templates are recompiled only when their fingerprint changes; a source file
whose size, times and inode did not change is not read again. The result
equals a full build byte for byte; tests assert it.
"""

from __future__ import annotations

import datetime as dt
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import jinja2

from . import timeline
from .store import Store
from .model import ContentError, ContentErrors, Site
from .pipeline import Project, render
from .project import read_sources
from .render import Theme, load_theme


@dataclass(frozen=True)
class Outcome:
    """One rebuild: the files, or the errors that stopped it."""

    files: dict[str, bytes] | None  # None when the build failed
    errors: tuple[ContentError, ...]
    site: Site | None
    seconds: float
    parsed: int  # source files that went through Markdown
    pages_rendered: int  # pages rendered (not reused); versions.json is always rendered

    @property
    def ok(self) -> bool:
        return self.files is not None


class IncrementalBuilder:
    """Builds ``project`` again and again, reusing what did not change.

    ``tracker`` is False for the preview: it never includes the tracker,
    whatever site.toml configures (``pipeline.render(tracker=False)``).
    """

    def __init__(self, project: Project, as_of: dt.date | None = None, drafts: bool = True,
                 tracker: bool = False):
        self.project = project
        self.as_of = as_of
        self.drafts = drafts
        self.tracker = tracker
        self.store = Store(remember=True)
        self._theme: Theme | None = None
        self._known_sources: dict = {}  # see project.read_sources

    def build(self) -> Outcome:
        started = time.perf_counter()
        self.store.begin()
        try:
            theme = load_theme(self.project.templates)
            if self._theme is not None and theme.fingerprint == self._theme.fingerprint:
                theme = self._theme  # keeps Jinja's compiled templates
            sources = (read_sources(self.project.content, self.project.root, self._known_sources)
                       if self.project.content.is_dir() else None)
            result = render(self.project, timeline.build_day(self.as_of), self.drafts, theme=theme,
                            tracker=self.tracker, store=self.store, sources=sources)
        except ContentErrors as exc:
            return self._failed(tuple(exc.errors), started)
        except Exception as exc:  # a template or asset problem: report it like content errors
            return self._failed((self._describe(exc),), started)
        self._theme = theme
        self.store.prune()
        return Outcome(files=result.files, errors=(), site=result.site, seconds=time.perf_counter() - started,
                       parsed=self.store.misses["parse"], pages_rendered=self.store.misses["page"])

    def _failed(self, errors: tuple[ContentError, ...], started: float) -> Outcome:
        return Outcome(files=None, errors=errors, site=None, seconds=time.perf_counter() - started,
                       parsed=self.store.misses["parse"], pages_rendered=self.store.misses["page"])

    def _describe(self, exc: Exception) -> ContentError:
        """``path:line: message`` for an exception raised while loading templates or rendering."""
        templates = self.project.templates
        if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
            return ContentError(self.project.display(Path(exc.filename)), exc.lineno or 1,
                                f"template syntax error: {exc.message}")
        message = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, jinja2.TemplateNotFound):
            message = f"template not found: {exc.name}"
        for frame, line in reversed(list(traceback.walk_tb(exc.__traceback__))):
            filename = Path(frame.f_code.co_filename)
            if filename.is_absolute() and templates in filename.parents:
                return ContentError(self.project.display(filename), line, f"template error: {message}")
        return ContentError(self.project.display(templates), 1, f"the templates could not be rendered: {message}")
