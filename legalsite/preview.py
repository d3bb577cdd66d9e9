"""``python build.py serve``: the live preview for legal.

Builds the site with drafts, serves it on 127.0.0.1, watches content,
templates, assets, settings (and the lock file, where the project has one),
rebuilds incrementally on every save, and tells open pages to reload.

Served from memory, not from a folder: the build already produces a map of
path -> bytes, so the preview swaps one reference after each rebuild. There
is nothing to write, no half-written file a browser could see, and nothing
to clean up on Ctrl-C; paths are looked up in that map, so a request can
never reach a file outside the site (``..`` is refused all the same).

Preview-only additions, made to responses at serve time and never part of a
build (tests check the production build has no trace of them):

- ``/__preview__/reload.js`` and a ``<script>`` tag for it before
  ``</head>``; the page's CSP ``<meta>`` allows ``'self'`` for scripts and
  connections (it says ``'none'`` when analytics is off), nothing more;
- ``/__preview__/events``: Server-Sent Events. A page connects with its path
  and the ETag it was served with; when a rebuild changes what that path
  serves, it gets one ``reload`` event and reloads, keeping its scroll
  position. Pages whose bytes did not change are left alone.
- an error page, for pages of a policy whose sources have errors (every page
  for a settings or template error), listing every ``path:line: message``;
  every other page keeps serving the last good build. The terminal prints
  the same list.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import html
import json
import re
import signal
import socket
import sys
import threading
import webbrowser
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from .incremental import IncrementalBuilder, Outcome
from .model import ContentError
from .pipeline import Project
from .settings import is_loopback_host
from .watch import Watcher

PREFIX = "/__preview__/"
SCRIPT_PATH = PREFIX + "reload.js"
EVENTS_PATH = PREFIX + "events"
STATUS_PATH = PREFIX + "status"
KEEPALIVE_SECONDS = 15.0

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}

RELOAD_JS = """\
// Live reload for the preview (served by build.py serve only; never part of the site).
(function () {
  "use strict";
  var etag = document.currentScript.getAttribute("data-etag");
  var key = "legalsite-preview-scroll:" + location.pathname;
  var saved = sessionStorage.getItem(key);
  if (saved !== null) {
    sessionStorage.removeItem(key);
    var position = JSON.parse(saved);
    var restore = function () { window.scrollTo(position[0], position[1]); };
    restore();
    window.addEventListener("load", restore);
  }
  var source = null;
  function reload() {
    sessionStorage.setItem(key, JSON.stringify([window.scrollX, window.scrollY]));
    location.reload();
  }
  function head(doc) {  // the head without what changes on every build
    var copy = doc.head.cloneNode(true);
    copy.querySelectorAll("title, script[data-etag]").forEach(function (el) { el.remove(); });
    return doc.documentElement.getAttribute("lang") + "\\n" + copy.innerHTML;
  }
  // Same head (stylesheet, CSP, meta): swap the body in place, which keeps the scroll position
  // and is faster than a reload; anything else: a real reload.
  function update() {
    fetch(location.href, {cache: "no-store"}).then(function (response) {
      if ((response.headers.get("Content-Type") || "").indexOf("text/html") !== 0) { throw new Error("not html"); }
      return response.text();
    }).then(function (text) {
      var next = new DOMParser().parseFromString(text, "text/html");
      var tag = next.querySelector("script[data-etag]");
      if (!tag || head(next) !== head(document)) { return reload(); }
      var x = window.scrollX, y = window.scrollY;
      document.title = next.title;
      document.body.replaceWith(document.adoptNode(next.body));
      window.scrollTo(x, y);
      etag = tag.getAttribute("data-etag");
      connect();
    }).catch(reload);
  }
  function connect() {
    if (source !== null) { return; }
    source = new EventSource("/__preview__/events?path=" + encodeURIComponent(location.pathname) +
                             "&etag=" + encodeURIComponent(etag));
    source.addEventListener("reload", function () {
      disconnect();
      update();
    });
  }
  function disconnect() {
    if (source !== null) { source.close(); source = null; }
  }
  // Hidden tabs let go of their connection (browsers allow few per host) and check again when shown.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { disconnect(); } else { connect(); }
  });
  if (!document.hidden) { connect(); }
})();
"""

_CSP_META = re.compile(rb'(<meta http-equiv="Content-Security-Policy" content=")([^"]*)(")', re.IGNORECASE)
_POLICY_PATH = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class PreviewError(Exception):
    """The preview cannot start (e.g. the port is taken); the message says what to do."""


def relax_csp(policy: str) -> str:
    """The page's CSP with ``'self'`` allowed for scripts and connections (the reload script)."""
    directives = []
    for directive in (d.strip() for d in policy.split(";")):
        if not directive:
            continue
        name, *values = directive.split()
        if name in ("script-src", "connect-src"):
            values = [v for v in values if v != "'none'"]
            if "'self'" not in values:
                values.insert(0, "'self'")
        directives.append(" ".join([name, *values]))
    return "; ".join(directives)


def inject(page: bytes, etag: str) -> bytes:
    """Add the reload script to an HTML page and let its CSP allow it."""
    match = _CSP_META.search(page)
    if match:
        policy = relax_csp(html.unescape(match.group(2).decode("utf-8")))
        page = page[:match.start(2)] + html.escape(policy).encode("utf-8") + page[match.end(2):]
    tag = f'<script src="{SCRIPT_PATH}" data-etag="{html.escape(etag)}" defer></script>\n'.encode()
    index = page.lower().find(b"</head>")
    return page + tag if index < 0 else page[:index] + tag + page[index:]


def etag_of(status: int, body: bytes) -> str:
    return hashlib.sha256(str(status).encode() + b"\0" + body).hexdigest()[:20]


def error_page(errors: tuple[ContentError, ...]) -> bytes:
    count = len(errors)
    items = "\n".join(
        f'<li><code><span class="where">{html.escape(e.path)}:{e.line}</span>: {html.escape(e.message)}</code></li>'
        for e in errors)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{count} problem{'s' if count != 1 else ''} · preview</title>
<style>
body {{ font: 1rem/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }}
h1 {{ color: #b00020; font-size: 1.5rem; }}
li {{ margin: .5rem 0; }}
code {{ white-space: pre-wrap; font-size: .95rem; }}
.where {{ font-weight: bold; }}
</style>
</head>
<body>
<main>
<h1 id="problems">This page cannot be built: {count} problem{'s' if count != 1 else ''}</h1>
<ol class="problems" aria-labelledby="problems">
{items}
</ol>
<p>Fix the file and save: this page reloads by itself. Pages that are not affected still show the last good build.</p>
</main>
</body>
</html>
""".encode("utf-8")


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str
    location: str = ""
    inject: bool = False

    @property
    def etag(self) -> str:
        return etag_of(self.status, self.body)


@dataclass
class State:
    """What the server serves right now; replaced as a whole under ``Preview.condition``."""

    files: dict[str, bytes] = field(default_factory=dict)  # the last good build
    errors: tuple[ContentError, ...] = ()
    error_scope: frozenset[str] | None = None  # policy folders ("privacy/") hit by errors; None = all
    generation: int = 0


class Preview:
    """The builder, the current state, and the waiting reload connections."""

    def __init__(self, project: Project, as_of: dt.date | None = None, out: TextIO | None = None,
                 err: TextIO | None = None):
        self.project = project
        self.builder = IncrementalBuilder(project, as_of=as_of, drafts=True, tracker=False)
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.condition = threading.Condition()
        self.state = State()
        self.stopping = False
        self._error_page: tuple[int, bytes] = (-1, b"")
        self._build_lock = threading.Lock()

    # -- building ---------------------------------------------------------

    def rebuild(self, changed: set[str] | None = None) -> Outcome:
        with self._build_lock:
            outcome = self.builder.build()
            with self.condition:
                old = self.state
                if outcome.ok:
                    new = State(files=outcome.files, generation=old.generation + 1)
                else:
                    new = State(files=old.files, errors=outcome.errors, error_scope=self._scope(outcome.errors),
                                generation=old.generation + 1)
                self.state = new
                self.condition.notify_all()
        self._report(old, new, outcome, changed)
        return outcome

    def _scope(self, errors: tuple[ContentError, ...]) -> frozenset[str] | None:
        content = self.project.display(self.project.content).rstrip("/") + "/"
        scope = set()
        for error in errors:
            parts = error.path[len(content):].split("/") if error.path.startswith(content) else []
            if len(parts) != 2 or not _POLICY_PATH.match(parts[0]):
                return None
            scope.add(parts[0] + "/")
        return frozenset(scope)

    def _report(self, old: State, new: State, outcome: Outcome, changed: set[str] | None) -> None:
        ms = f"{outcome.seconds * 1000:.0f} ms"
        if not outcome.ok:
            for error in outcome.errors:
                print(error, file=self.err)
            count = len(outcome.errors)
            print(f"{count} problem{'s' if count != 1 else ''} ({ms}): the browser shows "
                  f"{'them' if count != 1 else 'it'}; other pages show the last good build", file=self.err)
            self.err.flush()
            return
        files = [p for p in new.files if old.files.get(p) is not new.files[p] and old.files.get(p) != new.files[p]]
        removed = [p for p in old.files if p not in new.files]
        fixed = "fixed; " if old.errors else ""
        if old.generation == 0:
            print(f"built {len(new.files)} files in {ms}", file=self.out)
        else:
            shown = ", ".join((files + removed)[:3]) + (", …" if len(files) + len(removed) > 3 else "")
            print(f"{fixed}rebuilt in {ms}: {len(files)} changed, {len(removed)} removed"
                  f"{': ' + shown if shown else ''}", file=self.out)
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
            return Response(HTTPStatus.OK, state.files[key], _content_type(key), inject=key.endswith(".html"))
        if key in state.files or (key.endswith(".html") and self._broken(key, state)):
            return self._errors(state)
        if f"{key}/index.html" in state.files or self._broken(f"{key}/index.html", state):
            return Response(HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain; charset=utf-8", location=path + "/")
        return self._not_found(state)

    def _broken(self, key: str, state: State) -> bool:
        if not state.errors or not key.endswith(".html"):
            return False
        return state.error_scope is None or any(key.startswith(prefix) for prefix in state.error_scope)

    def _errors(self, state: State) -> Response:
        cached = self._error_page  # one read: request threads may replace it meanwhile
        if cached[0] != state.generation:
            cached = self._error_page = (state.generation, error_page(state.errors))
        return Response(HTTPStatus.INTERNAL_SERVER_ERROR, cached[1], CONTENT_TYPES[".html"], inject=True)

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
            self.condition.wait_for(lambda: self.stopping or self.state.generation != generation, timeout)
            return self.state, self.stopping

    def stop(self) -> None:
        with self.condition:
            self.stopping = True
            self.condition.notify_all()


def _content_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    return CONTENT_TYPES.get(suffix, "application/octet-stream")


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    server_version = "legalsite-preview"
    timeout = 60  # an idle connection does not hold a thread for ever

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass  # the terminal shows builds and problems, not every request

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.track(self.connection, False)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError, OSError):
            pass  # the browser went away; nothing to report

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._respond(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(head=True)

    def _respond(self, head: bool) -> None:
        preview = self.server.preview
        if not self._host_allowed():
            body = b"This preview answers only to its own address.\n"
            return self._send(Response(HTTPStatus.FORBIDDEN, body, CONTENT_TYPES[".txt"]), head)
        path = urlsplit(self.path).path
        if path == EVENTS_PATH and not head:
            return self._events()
        if path == SCRIPT_PATH:
            body = RELOAD_JS.encode("utf-8")
            return self._send(Response(HTTPStatus.OK, body, CONTENT_TYPES[".js"]), head)
        if path == STATUS_PATH:
            state = preview.state
            body = json.dumps({"generation": state.generation, "errors": [str(e) for e in state.errors]}).encode()
            return self._send(Response(HTTPStatus.OK, body, CONTENT_TYPES[".json"]), head)
        self._send(preview.lookup(self.path), head)

    def _host_allowed(self) -> bool:
        """On a loopback address, answer only requests addressed to it: a page on another
        site cannot then read the drafts through DNS rebinding."""
        bound = self.server.server_address[0]
        if not is_loopback_host(bound):
            return True  # --host chose to serve the network
        host = (self.headers.get("Host") or "").strip().lower()
        name = host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0]
        return name in ("localhost", "127.0.0.1", "::1") or is_loopback_host(name)

    def _send(self, response: Response, head: bool) -> None:
        etag = f'"{response.etag}"'
        if response.location:
            self.send_response(response.status)
            self.send_header("Location", response.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if response.status == HTTPStatus.OK and etag in _etags(self.headers.get("If-None-Match", "")):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            return
        body = inject(response.body, response.etag) if response.inject else response.body
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _events(self) -> None:
        preview = self.server.preview
        query = parse_qs(urlsplit(self.path).query)
        page = query.get("path", ["/"])[0]
        seen = query.get("etag", [""])[0]
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(b"retry: 250\n\n")
        self.wfile.flush()
        generation = -1
        while True:
            state, stopping = preview.wait(generation, KEEPALIVE_SECONDS)
            if stopping:
                return
            if state.generation == generation:
                self.wfile.write(b": keep-alive\n\n")
            else:
                generation = state.generation
                if preview.lookup(page, state).etag != seen:
                    self.wfile.write(f"event: reload\ndata: {generation}\n\n".encode())
                    self.wfile.flush()
                    return
            self.wfile.flush()


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for every request thread
    block_on_close = True

    def __init__(self, address: tuple[str, int], preview: Preview):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.preview = preview
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            (self._connections.add if alive else self._connections.discard)(connection)

    def close_connections(self) -> None:
        """Unblock request threads waiting on idle connections, so that server_close() returns at once."""
        with self._connections_lock:
            for connection in list(self._connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class PreviewServer:
    """The whole preview: bind, first build, serve, watch; ``stop()`` undoes all of it.

    Usable as a context manager (the tests start it on port 0 and read ``url``).
    """

    def __init__(self, project: Project, host: str = "127.0.0.1", port: int = 8000, as_of: dt.date | None = None,
                 out: TextIO | None = None, err: TextIO | None = None, debounce: float = 0.03,
                 on_rebuild: Callable[[Outcome], None] | None = None):
        self.project = project
        self.preview = Preview(project, as_of=as_of, out=out, err=err)
        self.host, self.port, self.debounce = host, port, debounce
        self.on_rebuild = on_rebuild
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._watcher: Watcher | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"

    def start(self) -> "PreviewServer":
        try:
            self._server = _Server((self.host, self.port), self.preview)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PreviewError(f"port {self.port} on {self.host} is already in use (another preview?): "
                                   f"stop the other server or pick another port, e.g. --port {self.port + 1}") from None
            if exc.errno == errno.EACCES:
                raise PreviewError(f"not allowed to use port {self.port}: pick a port above 1023, e.g. --port 8000") from None
            raise PreviewError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        try:
            self.preview.rebuild()
            watched = [self.project.content, self.project.templates]
            files = [self.project.settings] + [p for p in [getattr(self.project, "lock", None)] if p]
            self._watcher = Watcher(watched, files, self._changed, debounce=self.debounce)
            self._watcher.start()
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                            name="preview-http")
            self._thread.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _changed(self, paths: set[str]) -> None:
        outcome = self.preview.rebuild(paths)
        if self.on_rebuild:
            self.on_rebuild(outcome)

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
            self._server.close_connections()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "PreviewServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def serve(project: Project, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
          as_of: dt.date | None = None) -> int:
    """Run the preview until Ctrl-C; returns the exit status."""
    server = PreviewServer(project, host, port, as_of=as_of)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops as cleanly as Ctrl-C
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
        print(f"Preview (drafts included) at {server.url}  — edits show up on save; Ctrl-C to stop", flush=True)
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
