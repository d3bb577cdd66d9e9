"""The preview's HTTP side: the request handler, the server, and what is added at serve time.

Preview-only additions, made to responses at serve time and never part of a
build (tests check the production build has no trace of them):

- ``/__preview__/reload.js`` and a ``<script>`` tag for it before
  ``</head>``; the page's CSP ``<meta>`` allows ``'self'`` for scripts and
  connections (it says ``'none'`` when analytics is off), nothing more;
- ``/__preview__/events``: Server-Sent Events. A page connects with its path
  and the ETag it was served with; when a rebuild changes what that path
  serves, it gets one ``reload`` event and reloads, keeping its scroll
  position. Pages whose bytes did not change are left alone.
- an error page listing every ``path:line: message``.

Stopping is prompt whatever the clients do: every accepted connection is
known to the server from the moment it is accepted (not from when its thread
starts), so :meth:`Server.close` unblocks every request thread,
idle or streaming, and no thread outlives ``stop`` by more than a second.
"""

from __future__ import annotations

import errno
import hashlib
import html
import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .model import ContentError
from .settings import is_loopback_host

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

_CSP_META = re.compile(
    rb'(<meta http-equiv="Content-Security-Policy" content=")([^"]*)(")', re.IGNORECASE
)


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
        page = page[: match.start(2)] + html.escape(policy).encode("utf-8") + page[match.end(2) :]
    tag = f'<script src="{SCRIPT_PATH}" data-etag="{html.escape(etag)}" defer></script>\n'.encode()
    index = page.lower().find(b"</head>")
    return page + tag if index < 0 else page[:index] + tag + page[index:]


def etag_of(status: int, body: bytes) -> str:
    return hashlib.sha256(str(status).encode() + b"\0" + body).hexdigest()[:20]


def error_page(errors: tuple[ContentError, ...]) -> bytes:
    count = len(errors)
    items = "\n".join(
        f'<li><code><span class="where">{html.escape(e.path)}:{e.line}</span>: {html.escape(e.message)}</code></li>'
        for e in errors
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{count} problem{"s" if count != 1 else ""} · preview</title>
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
<h1 id="problems">This page cannot be built: {count} problem{"s" if count != 1 else ""}</h1>
<ol class="problems" aria-labelledby="problems">
{items}
</ol>
<p>Fix the file and save: this page reloads by itself. Pages that are not affected still show the last good build.</p>
</main>
</body>
</html>
""".encode()


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


def _content_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    return CONTENT_TYPES.get(suffix, "application/octet-stream")


class _Handler(BaseHTTPRequestHandler):
    server: Server
    server_version = "legalsite-preview"
    timeout = 60  # an idle connection does not hold a thread for ever

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass  # the terminal shows builds and problems, not every request

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass

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
            body = json.dumps(
                {"generation": state.generation, "errors": [str(e) for e in state.errors]}
            ).encode()
            return self._send(Response(HTTPStatus.OK, body, CONTENT_TYPES[".json"]), head)
        self._send(preview.lookup(self.path), head)

    def _host_allowed(self) -> bool:
        """On a loopback address, answer only requests addressed to it: a page on another
        site cannot then read the drafts through DNS rebinding."""
        bound = self.server.server_address[0]
        if not isinstance(bound, str) or not is_loopback_host(bound):
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
        if response.status == HTTPStatus.OK and etag in _etags(
            self.headers.get("If-None-Match", "")
        ):
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


class PreviewError(Exception):
    """The preview cannot start (e.g. the port is taken); the message says what to do."""


class Server(ThreadingHTTPServer):
    """The HTTP server of one preview (``preview``: what it serves, preview.Preview)."""

    daemon_threads = True  # joined by close() with a deadline, never waited on for ever

    @classmethod
    def bind(cls, address: tuple[str, int], preview) -> Server:
        """The server listening on ``address``, or PreviewError saying what to do."""
        try:
            return cls(address, preview)
        except OSError as exc:
            host, port = address
            if exc.errno == errno.EADDRINUSE:
                raise PreviewError(
                    f"port {port} on {host} is already in use (another preview?): "
                    f"stop the other server or pick another port, e.g. --port {port + 1}"
                ) from None
            if exc.errno == errno.EACCES:
                raise PreviewError(
                    f"not allowed to use port {port}: pick a port above 1023, e.g. --port 8000"
                ) from None
            raise PreviewError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    def __init__(self, address: tuple[str, int], preview):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.preview = preview
        self._connections: set[socket.socket] = set()
        self._requests: list[threading.Thread] = []
        self._closing = False
        self._lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address) -> None:
        """Known before its thread starts, so that close() can always unblock it."""
        with self._lock:
            if self._closing:
                self.shutdown_request(request)
                return
            self._connections.add(request)
            thread = threading.Thread(
                target=self.process_request_thread,
                args=(request, client_address),
                name="preview-request",
                daemon=True,
            )
            self._requests = [t for t in self._requests if t.is_alive()] + [thread]
        thread.start()

    def shutdown_request(self, request) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close(self, deadline: float = 1.0) -> None:
        """Close every connection (idle, streaming or mid-request), the listening socket, and
        wait up to ``deadline`` seconds for the request threads to end."""
        with self._lock:
            self._closing = True
            connections, threads = list(self._connections), list(self._requests)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()
        end = time.monotonic() + deadline
        for thread in threads:
            thread.join(max(0.0, end - time.monotonic()))
