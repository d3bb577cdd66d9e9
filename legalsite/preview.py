"""``python build.py serve``: the live preview for legal.

The preview is the production build, run again on every save: the same stages
(pipeline.py), with drafts and without the tracker, through one in-memory store
(store.py) that keeps what the last build used. watchdog (watch.py) only says
that something changed; whatever did not change comes from the store under the
same content addresses, so an edit to one sentence re-renders one block, its
version page, two redlines and perhaps the page in force; compare pages (1,176 a policy at
50 versions) are made only when asked for (Built.later), as the build would. The site is served
from memory (the build's map of path -> bytes, swapped after each rebuild), so
no request can reach a file outside it; the reload script and the error page
are added at serve time (preview_http.py). Pages of a policy whose sources have
errors show every ``path:line: message`` (every page for a settings or template
error); other pages keep the last good build. The terminal prints the same.
"""

from __future__ import annotations

import datetime as dt
import re
import signal
import sys
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TextIO
from urllib.parse import unquote, urlsplit

from . import compare
from .content import _TRANSLATION_NAME  # issue 17
from .model import ContentError, ContentErrors
from .notice_period import late_drafts
from .pipeline import Project
from .preview_build import Builder, Outcome, describe_error
from .preview_http import CONTENT_TYPES, PreviewError, Response, Server, _content_type, error_page
from .watch import Watcher

__all__ = ["Builder", "Outcome", "Preview", "PreviewError", "PreviewServer", "State", "serve"]

_POLICY_PATH = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass
class State:
    """What the server serves right now; replaced as a whole under ``Preview.condition``."""

    files: dict[str, bytes] = field(default_factory=dict)  # the last good build
    errors: tuple[ContentError, ...] = ()
    error_scope: frozenset[str] | None = None  # policy folders hit by errors; None: all
    generation: int = 0
    later: Callable[[str], bytes | None] = compare.no_page  # the last good build's (Built.later)
    # what later() answered, path -> response, under the build lock: each page made (and its
    # errors printed) once per build, however many tabs, HEADs and reload connections ask
    made: dict[str, Response] = field(default_factory=dict)


class Preview:
    """The builder, the current state, and the waiting reload connections."""

    def __init__(
        self,
        project: Project,
        as_of: dt.date | None = None,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ):
        self.project = project
        self.builder = Builder(project, as_of=as_of)
        self.out = out or sys.stdout
        self._late: tuple[str, ...] = ()  # the late drafts last warned about
        self.err = err or sys.stderr
        self.condition = threading.Condition()
        self.state = State()
        self.stopping = False
        self._error_page: tuple[int, bytes] = (-1, b"")
        self._build_lock = threading.Lock()

    # -- building ---------------------------------------------------------

    def rebuild(self) -> Outcome:
        with self._build_lock:
            outcome = self.builder.build()
            with self.condition:
                old = self.state
                if outcome.files is not None:  # outcome.ok
                    new = State(outcome.files, generation=old.generation + 1, later=outcome.later)
                else:
                    new = State(
                        files=old.files,
                        errors=outcome.errors,
                        error_scope=self._scope(outcome.errors),
                        generation=old.generation + 1,
                        later=old.later,
                    )
                self.state = new
                self.condition.notify_all()
        self._report(old, new, outcome)
        return outcome

    def _scope(self, errors: tuple[ContentError, ...]) -> frozenset[str] | None:
        content = self.project.display(self.project.content).rstrip("/") + "/"
        scope = set()
        for error in errors:
            parts = error.path[len(content) :].split("/") if error.path.startswith(content) else []
            if len(parts) != 2 or not _POLICY_PATH.match(parts[0]):
                return None
            scope.add(parts[0] + "/")
            lang = _TRANSLATION_NAME.match(parts[1])  # issue 17: and its language's pages
            if lang:
                scope.add(f"{lang.group(2)}/{parts[0]}/")
        return frozenset(scope)

    def _report(self, old: State, new: State, outcome: Outcome) -> None:
        ms = f"{outcome.seconds * 1000:.0f} ms"
        if not outcome.ok:
            return self._problems(
                outcome.errors, f" ({ms})", "; other pages show the last good build"
            )
        files = [
            p
            for p in new.files
            if old.files.get(p) is not new.files[p] and old.files.get(p) != new.files[p]
        ]
        removed = [p for p in old.files if p not in new.files]
        fixed = "fixed; " if old.errors else ""
        late = tuple(late_drafts(outcome.site)) if outcome.site is not None else ()
        if late != self._late:  # a draft that can no longer get its notice: once per change
            for warning in late:
                print(f"warning: {warning}", file=self.err)
            self.err.flush()
            self._late = late
        if old.generation == 0:
            print(f"built {len(new.files)} files in {ms}", file=self.out)
        else:
            shown = ", ".join((files + removed)[:3]) + (
                ", …" if len(files) + len(removed) > 3 else ""
            )
            print(
                f"{fixed}rebuilt in {ms}: {len(files)} changed, {len(removed)} removed"
                f"{': ' + shown if shown else ''}",
                file=self.out,
            )
        self.out.flush()

    # -- serving ----------------------------------------------------------

    def lookup(self, raw_path: str, state: State | None = None) -> Response:
        """What ``raw_path`` (the request target) serves in ``state``."""
        state = state or self.state
        path = unquote(urlsplit(raw_path).path)
        if not path.startswith("/") or "\\" in path or "\0" in path:
            return self._not_found(state)
        parts = path.split("/")
        if any(part in (".", "..") for part in parts) or "" in parts[1:-1]:
            return self._not_found(state)
        key = path[1:]
        if key == "" or key.endswith("/"):
            key += "index.html"
        if key in state.files and not self._broken(key, state):
            return Response(
                HTTPStatus.OK, state.files[key], _content_type(key), inject=key.endswith(".html")
            )
        if key in state.files or (key.endswith(".html") and self._broken(key, state)):
            return self._errors(state)
        made = self._later(key, state)
        if made is not None:
            return made
        folder = f"{key}/index.html"
        if folder in state.files or self._broken(folder, state) or self._later(folder, state):
            return Response(
                HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain; charset=utf-8", location=path + "/"
            )
        return self._not_found(state)

    def _later(self, key: str, state: State) -> Response | None:
        """A page the build made only the means to make (Built.later: compare pages): made
        by the newest build, once (State.made), or its errors (printed once). Only a path of
        a compare page's shape, of a known policy, waits for the build lock (a 404 never
        does), and gives up when the server stops."""
        policy = key.split("/", 1)[0]
        if not compare.could_be(key) or f"{policy}/index.html" not in self.state.files:
            return None
        while not self._build_lock.acquire(timeout=0.1):  # one thing at a time uses the store
            if self.stopping:
                stopped = b"The preview is stopping.\n"
                return Response(HTTPStatus.SERVICE_UNAVAILABLE, stopped, CONTENT_TYPES[".txt"])
        try:
            if self.state.generation > state.generation:  # a rebuild ended while this waited
                state = self.state
            if key not in state.made:
                made = self._make(key, state)
                if made is None:
                    return None
                state.made[key] = made
            return state.made[key]
        finally:
            self._build_lock.release()

    def _make(self, key: str, state: State) -> Response | None:
        """``state``'s page at ``key`` (None: no such page), or its errors, printed here."""
        try:
            if (page := state.later(key)) is None:
                return None
            return Response(HTTPStatus.OK, page, _content_type(key), inject=True)
        except ContentErrors as exc:
            errors = tuple(exc.errors)
        except Exception as exc:  # as Builder.build reports it
            errors = (describe_error(self.project, exc),)
        self._problems(errors, f" on {key}", "")
        body = error_page(errors)
        return Response(HTTPStatus.INTERNAL_SERVER_ERROR, body, CONTENT_TYPES[".html"], inject=True)

    def _problems(self, errors: tuple[ContentError, ...], where: str, rest: str) -> None:
        for error in errors:
            print(error, file=self.err)
        many = len(errors) != 1
        shows = f"the browser shows {'them' if many else 'it'}{rest}"
        print(
            f"{len(errors)} problem{'s' if many else ''}{where}: {shows}", file=self.err, flush=True
        )

    def _broken(self, key: str, state: State) -> bool:
        if not state.errors or not key.endswith(".html"):
            return False
        return state.error_scope is None or any(
            key.startswith(prefix) for prefix in state.error_scope
        )

    def _errors(self, state: State) -> Response:
        cached = self._error_page  # one read: request threads may replace it meanwhile
        if cached[0] != state.generation:
            cached = self._error_page = (state.generation, error_page(state.errors))
        return Response(
            HTTPStatus.INTERNAL_SERVER_ERROR, cached[1], CONTENT_TYPES[".html"], inject=True
        )

    def _not_found(self, state: State) -> Response:
        if state.errors and state.error_scope is None:
            return self._errors(state)
        page = state.files.get("404.html")
        if page is None:
            return Response(HTTPStatus.NOT_FOUND, b"Not found\n", CONTENT_TYPES[".txt"])
        return Response(HTTPStatus.NOT_FOUND, page, CONTENT_TYPES[".html"], inject=True)

    def wait(self, generation: int, timeout: float) -> tuple[State, bool]:
        """Block until the state is newer than ``generation`` (or time out, or the server stops)."""
        with self.condition:
            self.condition.wait_for(
                lambda: self.stopping or self.state.generation != generation, timeout
            )
            return self.state, self.stopping

    def stop(self) -> None:
        with self.condition:
            self.stopping = True
            self.condition.notify_all()


class PreviewServer:
    """The whole preview: bind, first build, serve, watch; ``stop()`` undoes all of it
    within about a second, whatever the open connections do."""

    def __init__(
        self,
        project: Project,
        host: str = "127.0.0.1",
        port: int = 8000,
        as_of: dt.date | None = None,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ):
        self.project = project
        self.preview = Preview(project, as_of=as_of, out=out, err=err)
        self.host, self.port = host, port
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._watcher: Watcher | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the preview is not started"
        host, port = str(self._server.server_address[0]), self._server.server_address[1]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"

    def start(self) -> PreviewServer:
        self._server = Server.bind((self.host, self.port), self.preview)
        try:
            self.preview.rebuild()
            p, serve = self.project, self._server.serve_forever
            self._watcher = Watcher(
                [p.content, p.templates], [p.settings, p.lock], self.preview.rebuild
            )
            self._watcher.start()
            self._thread = threading.Thread(target=serve, args=(0.1,), name="preview-http")
            self._thread.start()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def bursts(self) -> int:
        return self._watcher.bursts if self._watcher else 0

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        self.preview.stop()
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join()
                self._thread = None
            self._server.close()
            self._server = None


def serve(
    project: Project,
    host: str = "127.0.0.1",
    port: int = 8000,
    open_browser: bool = False,
    as_of: dt.date | None = None,
) -> int:
    """Run the preview until Ctrl-C; returns the exit status."""
    server = PreviewServer(project, host, port, as_of=as_of)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill`: as Ctrl-C
    try:
        server.start()
    except PreviewError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        server.stop()
        print("stopped", file=sys.stderr)
        return 0
    try:
        ready = (
            f"Preview (drafts included) at {server.url}  — edits show up on save; Ctrl-C to stop"
        )
        print(ready, flush=True)
        if open_browser:
            webbrowser.open(server.url)
        stop = threading.Event()
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("stopped", flush=True)
    return 0
