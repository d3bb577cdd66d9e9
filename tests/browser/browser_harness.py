"""Servers and a real Chromium for the privacy promises (issue 5 §4).

- The built site is served by a real Caddy on 127.0.0.1 with the build's own
  Caddy snippet (so the security headers are the ones the build writes).
- A recording analytics origin on a second loopback port serves Umami's REAL
  tracker script (public/script.js of the Umami the suite builds from source,
  tests/umami/real/) and records every request it receives, answering /api/send
  like Umami (CORS, JSON, no cookie), so each page's beacon can be inspected on the
  wire. What the real server stores is proven in tests/umami/test_real_browser.py.
- Chromium (Debian's, driven by Playwright) starts with background networking
  off and every host name resolving to nothing; every request a page makes is
  routed through the test: requests to the two loopback origins go through,
  anything else is recorded against the page that made it and aborted, so no
  test traffic ever leaves loopback.

:func:`visit` loads pages one at a time and returns, per page, what a privacy
reviewer would look at; :func:`problems` turns that into readable findings.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-default-apps", "--disable-extensions",
    "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--no-pings",
    "--metrics-recording-only", "--disable-breakpad", "--disable-features=OptimizationHints,Translate,MediaRouter",
    # No name resolves, so even a bug here cannot send a DNS query off this machine.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
WEBSITE_ID = "6b9f1c2e-0000-4000-8000-00000000abcd"
QUERY_AND_FRAGMENT = "?utm_source=newsletter&email=someone%40example.com#section-2"
ALLOWED_PAYLOAD_KEYS = {"website", "hostname", "url", "referrer"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


# ---------------------------------------------------------------- analytics stand-in

@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body or b"null")


class AnalyticsStandIn:
    """A loopback recording origin: serves `tracker` (Umami's real script) at script_path,
    takes /api/send and records it."""

    def __init__(self, port: int, tracker: bytes, script_path: str = "/s.js"):
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.script_path = script_path
        self.received: list[Received] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _record(self, body: bytes = b"") -> None:
                parts = urlsplit(self.path)
                with outer.lock:
                    outer.received.append(Received(self.command, parts.path, parts.query,
                                                   {k.lower(): v for k, v in self.headers.items()}, body))

            def _cors(self) -> None:
                origin = self.headers.get("Origin")
                if origin:
                    self.send_header("Access-Control-Allow-Origin", origin)
                    self.send_header("Vary", "Origin")

            def do_GET(self):  # noqa: N802
                self._record()
                if urlsplit(self.path).path == outer.script_path:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/javascript")
                    self.send_header("Content-Length", str(len(tracker)))
                    self.end_headers()
                    self.wfile.write(tracker)
                else:
                    self.send_error(404)

            def do_OPTIONS(self):  # noqa: N802  (CORS preflight for the JSON POST)
                self._record()
                self.send_response(204)
                self._cors()
                self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
                self.send_header("Access-Control-Allow-Headers", "Content-Type, x-umami-cache")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._record(body)
                answer = b'{"cache":"stand-in-token"}' if urlsplit(self.path).path == "/api/send" else b"{}"
                self.send_response(200 if urlsplit(self.path).path == "/api/send" else 404)
                self._cors()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def since(self, start: int) -> list[Received]:
        with self.lock:
            return list(self.received[start:])


# ---------------------------------------------------------------- Caddy

class CaddySite:
    """A real Caddy serving ``site_dir`` on loopback with the build's header snippet."""

    def __init__(self, site_dir: Path, port: int):
        self.site_dir = site_dir
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.home = Path(tempfile.mkdtemp(prefix="caddy-"))
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        caddyfile = self.home / "Caddyfile"
        caddyfile.write_text(
            "{\n\tadmin off\n\tauto_https off\n}\n"
            f"http://127.0.0.1:{self.port} {{\n\troot * {self.site_dir}\n"
            f"\timport {self.site_dir}/_caddy/security-headers.caddy\n\tfile_server\n}}\n")
        env = {"HOME": str(self.home), "XDG_DATA_HOME": str(self.home / "data"),
               "XDG_CONFIG_HOME": str(self.home / "config"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        self.log = open(self.home / "caddy.log", "wb")
        self.proc = subprocess.Popen(["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_for_port(self.port)
        except RuntimeError:
            log = (self.home / "caddy.log").read_text()
            self.__exit__()
            raise RuntimeError("caddy did not start:\n" + log) from None
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.home, ignore_errors=True)


def page_paths(site_dir: Path) -> list[str]:
    """Every HTML page of a built site, as the URL path a visitor uses."""
    out = []
    for path in sorted(site_dir.rglob("*.html")):
        relative = path.relative_to(site_dir).as_posix()
        out.append("/" + (relative[: -len("index.html")] if relative.endswith("index.html") else relative))
    return out


# ---------------------------------------------------------------- the browser

def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def launch_with_do_not_track(playwright, profile: Path):
    """Chromium with the browser's own "Send a Do Not Track request" setting on."""
    (profile / "Default").mkdir(parents=True, exist_ok=True)
    (profile / "Default" / "Preferences").write_text(json.dumps({"enable_do_not_track": True}))
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


INIT_SCRIPT = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline') + (e.sample ? ' (' + e.sample + ')' : ''));
}, true);
"""

STATE_SCRIPT = """async () => {
  const idb = indexedDB.databases ? (await indexedDB.databases()).map(d => d.name) : [];
  const caches_ = self.caches ? await caches.keys() : [];
  const workers = navigator.serviceWorker ? (await navigator.serviceWorker.getRegistrations()).length : 0;
  return {
    cookie: document.cookie,
    local: Object.keys(localStorage),
    session: Object.keys(sessionStorage),
    indexeddb: idb,
    caches: caches_,
    workers: workers,
    csp: window.__csp || [],
    umami: typeof window.umami,
    dnt: navigator.doNotTrack,
    main: document.querySelector('main') ? document.querySelector('main').innerText : '',
  };
}"""


@dataclass
class PageVisit:
    path: str
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    blocked: list[str] = field(default_factory=list)  # of those, the ones to other origins
    received: list[Received] = field(default_factory=list)  # what the analytics origin got
    state: dict = field(default_factory=dict)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    axe: list[dict] = field(default_factory=list)
    main_text: str = ""
    status: int = 0


@dataclass
class Pass:
    visits: list[PageVisit]
    jar: list[dict]  # the browser context's cookie jar after the last page


def visit(context, site_origin: str, paths: list[str], analytics: AnalyticsStandIn | None,
          expect_beacon: bool, axe: bool = False, suffix: str = QUERY_AND_FRAGMENT) -> Pass:
    """Visit ``paths`` one after another in ``context``; record everything per page."""
    allowed = {site_origin} | ({analytics.origin} if analytics else set())
    current: list[PageVisit] = []

    def route(route_, request):
        url = request.url
        visit_ = current[-1] if current else None
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        if visit_ is not None:
            visit_.requests.append(url)
        if origin in allowed:
            route_.continue_()
        else:
            if visit_ is not None:
                visit_.blocked.append(url)
            route_.abort("blockedbyclient")

    context.route("**/*", route)
    context.add_init_script(INIT_SCRIPT)
    page = context.new_page()
    page.on("console", lambda m: current[-1].console.append(f"{m.type}: {m.text}") if current else None)
    page.on("pageerror", lambda e: current[-1].errors.append(str(e)) if current else None)
    visits = []
    for path in paths:
        record = PageVisit(path)
        current.append(record)
        start = analytics.count() if analytics else 0
        response = page.goto(site_origin + path + suffix, wait_until="load")
        record.status = response.status if response else 0
        if expect_beacon and analytics:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not any(r.method == "POST" for r in analytics.since(start)):
                page.wait_for_timeout(20)  # lets Playwright run the route handlers meanwhile
        # A little longer for anything late: the tracker sends at load, so a pageview
        # that should not happen has been requested (and routed) by then.
        if analytics:
            page.wait_for_timeout(150)
        record.state = page.evaluate(STATE_SCRIPT)
        record.main_text = record.state.pop("main")
        if axe:
            record.axe = run_axe(page)
        if analytics:
            record.received = analytics.since(start)
        visits.append(record)
    jar = context.cookies()
    page.close()
    return Pass(visits, jar)


def run_axe(page) -> list[dict]:
    results = []
    page.add_script_tag(path=str(AXE))
    # Every rule in the light scheme; in the dark one, the rules that depend on colour.
    for scheme, options in (("light", "{resultTypes: ['violations']}"),
                            ("dark", "{resultTypes: ['violations'], runOnly: ['color-contrast', 'link-in-text-block']}")):
        page.emulate_media(color_scheme=scheme)
        found = page.evaluate(f"async () => (await axe.run(document, {options})).violations"
                              ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))")
        results += [{**v, "scheme": scheme} for v in found]
    page.emulate_media(color_scheme="light")
    return results


def problems(run: Pass, site_origin: str, analytics: AnalyticsStandIn | None, *, tracker: bool, dnt: bool) -> list[str]:
    """Every broken promise in a pass, as 'path: what'."""
    out = []
    for v in run.visits:
        p = v.path
        if v.status != 200:
            out.append(f"{p}: HTTP {v.status}")
        for url in v.blocked:
            out.append(f"{p}: request to another origin: {url}")
        analytics_requests = [u for u in v.requests if analytics and u.startswith(analytics.origin)]
        if not tracker and analytics_requests:
            out.append(f"{p}: contacted the analytics origin without the tracker: {analytics_requests}")
        state = v.state
        if state.get("cookie"):
            out.append(f"{p}: document.cookie = {state['cookie']!r}")
        for store in ("local", "session", "indexeddb", "caches"):
            if state.get(store):
                out.append(f"{p}: {store} storage is not empty: {state[store]}")
        if state.get("workers"):
            out.append(f"{p}: a service worker is registered")
        for violation in state.get("csp", []):
            out.append(f"{p}: CSP violation: {violation}")
        for line in v.console:
            if "Content Security Policy" in line or "Permissions-Policy" in line or "Permissions policy" in line:
                out.append(f"{p}: console: {line}")
        for error in v.errors:
            out.append(f"{p}: script error: {error}")
        for violation in v.axe:
            out.append(f"{p}: axe ({violation['scheme']}): {violation['id']} ({violation['impact']}): {violation['help']} at {violation['nodes']}")
        if analytics is None:
            continue
        sends = [r for r in v.received if r.method == "POST"]
        attempted = [u for u in v.requests if u.startswith(analytics.origin) and not u.startswith(analytics.origin + analytics.script_path)]
        for r in v.received:
            if "cookie" in r.headers:
                out.append(f"{p}: the analytics origin received a cookie")
            if r.method == "GET" and r.query:
                out.append(f"{p}: tracker script requested with a query string: {r.query}")
        if not tracker or dnt:
            if sends or attempted:
                out.append(f"{p}: {max(len(sends), len(attempted))} pageview(s) sent although {'Do-Not-Track is on' if tracker else 'the tracker is off'}")
            if tracker and dnt:
                if not any(r.method == "GET" and r.path == analytics.script_path for r in v.received) or state.get("umami") != "object":
                    out.append(f"{p}: the tracker did not load, so the Do-Not-Track check proves nothing")
                if state.get("dnt") != "1":
                    out.append(f"{p}: the browser's Do-Not-Track is not on (navigator.doNotTrack = {state.get('dnt')!r})")
            continue
        if len(sends) != 1:
            out.append(f"{p}: expected exactly one pageview at the analytics origin, got {len(sends)}")
            continue
        send = sends[0]
        if send.path != "/api/send" or send.query:
            out.append(f"{p}: pageview sent to {send.path}?{send.query}")
        body = send.json or {}
        payload = body.get("payload", {})
        url = payload.get("url", "")
        if body.get("type") != "event" or "name" in payload:
            out.append(f"{p}: sent something other than a pageview: {body}")
        if "?" in url or "#" in url:
            out.append(f"{p}: pageview URL carries a query string or fragment: {url}")
        if url not in (p, site_origin + p):  # the hook sends the path only
            out.append(f"{p}: pageview URL {url!r} is not the page's address {p!r}")
        if set(payload) - ALLOWED_PAYLOAD_KEYS:
            out.append(f"{p}: pageview carries more than the policy allows: {sorted(set(payload) - ALLOWED_PAYLOAD_KEYS)}")
        if payload.get("website") != WEBSITE_ID:
            out.append(f"{p}: pageview for website {payload.get('website')!r}")
        if send.headers.get("origin") != site_origin:
            out.append(f"{p}: pageview's Origin header is {send.headers.get('origin')!r}")
        if "referer" in send.headers:
            out.append(f"{p}: pageview request carries a Referer header: {send.headers['referer']}")
    for cookie in run.jar:
        out.append(f"cookie jar: {cookie['name']} for {cookie['domain']}")
    return out
