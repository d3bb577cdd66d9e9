"""The preview server (legalsite/preview.py) over real HTTP on 127.0.0.1.

A server is started on an ephemeral port for a copy of the fixture site; the
tests edit files on disk and watch what the server answers, including the
Server-Sent Events stream that drives the reload script.
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import copy_lock_for_editing, FIXTURE, FIXTURE_DAY, REPO
from legalsite.cli import main
from legalsite.pipeline import Project, build
from legalsite.preview import Preview, PreviewError, PreviewServer
from legalsite.preview_http import inject, relax_csp

DAY = dt.date.fromisoformat(FIXTURE_DAY)
PREVIEW_MARKERS = [b"__preview__", b"reload.js", b"EventSource", b"data-etag", b"legalsite-preview"]


@pytest.fixture
def site(tmp_path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE / "content", root / "content")
    shutil.copy(FIXTURE / "site.toml", root / "site.toml")
    copy_lock_for_editing(root)
    shutil.copytree(REPO / "templates", root / "templates")
    return root


class Running:
    def __init__(self, server: PreviewServer, out: io.StringIO, err: io.StringIO):
        self.server, self.out, self.err = server, out, err
        parts = urlsplit(server.url)
        self.host, self.port = parts.hostname, parts.port

    @property
    def generation(self) -> int:
        return self.server.preview.state.generation

    def request(self, path: str, method: str = "GET", headers: dict | None = None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def wait_generation(self, after: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.generation <= after:
            assert time.monotonic() < deadline, "no rebuild happened"
            time.sleep(0.01)

    def wait_err(self, text: str, timeout: float = 10) -> None:
        """Until the terminal (stderr) shows ``text``: a rebuild reports after it is served."""
        deadline = time.monotonic() + timeout
        while text not in self.err.getvalue():
            assert time.monotonic() < deadline, f"{text!r} never printed"
            time.sleep(0.01)

    def events(self, path: str) -> "Events":
        status, headers, _ = self.request(path)
        return Events(self, path, headers["ETag"].strip('"'))


class Events:
    """One page's Server-Sent Events connection, read line by line."""

    def __init__(self, running: Running, path: str, etag: str):
        self.sock = socket.create_connection((running.host, running.port), timeout=10)
        self.sock.sendall(f"GET /__preview__/events?path={path}&etag={etag} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        self.file = self.sock.makefile("rb")
        assert self.file.readline().startswith(b"HTTP/1.0 200")
        while self.file.readline() not in (b"\r\n", b""):
            pass
        assert self.file.readline() == b"retry: 250\n"

    def next_event(self, timeout: float) -> str | None:
        """The next event's name, or None if none comes within ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            while True:
                line = self.file.readline()
                if not line:
                    return None
                if line.startswith(b"event: "):
                    return line[7:].strip().decode()
        except (TimeoutError, socket.timeout):
            return None

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def running(site):
    before = set(threading.enumerate())
    out, err = io.StringIO(), io.StringIO()
    server = PreviewServer(Project.at(site), port=0, as_of=DAY, out=out, err=err).start()
    try:
        yield Running(server, out, err)
    finally:
        server.stop()
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leftover, f"threads left after stop: {leftover}"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_pages_get_the_reload_script_and_a_csp_that_allows_only_it(running):
    status, headers, body = running.request("/privacy/2026-05-01/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script src="/__preview__/reload.js" data-etag="' in body
    assert b"script-src &#x27;self&#x27;; connect-src &#x27;self&#x27;" in body
    assert b"&#x27;none&#x27;; base-uri" not in body  # only script-src and connect-src changed
    status, headers, script = running.request("/__preview__/reload.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript") and b"EventSource" in script
    status, headers, css = running.request("/" + next(p for p in running.server.preview.state.files if p.endswith(".css")))
    assert status == 200 and headers["Content-Type"] == "text/css; charset=utf-8" and b"__preview__" not in css


def test_production_build_has_no_trace_of_the_preview(site, tmp_path):
    build(Project.at(site), tmp_path / "_site", DAY, drafts=True)
    files = [p for p in (tmp_path / "_site").rglob("*") if p.is_file()]
    assert files
    for path in files:
        for marker in PREVIEW_MARKERS:
            assert marker not in path.read_bytes(), f"{marker!r} in {path}"
    assert all(b"script-src &#39;none&#39;" in p.read_bytes() for p in files if p.suffix == ".html")


def test_relax_csp_and_inject_units():
    assert relax_csp("default-src 'none'; script-src 'none'; connect-src 'none'") == \
        "default-src 'none'; script-src 'self'; connect-src 'self'"
    assert relax_csp("script-src 'self' https://stats.example.com; connect-src https://stats.example.com") == \
        "script-src 'self' https://stats.example.com; connect-src 'self' https://stats.example.com"
    page = inject(b"<html><head><title>t</title></head><body></body></html>", "abc")
    assert page.index(b'data-etag="abc"') < page.index(b"</head>")


def test_head_and_conditional_get(running):
    status, get_headers, body = running.request("/privacy/")
    status_head, head_headers, head_body = running.request("/privacy/", method="HEAD")
    assert status_head == 200 and head_body == b""
    assert head_headers["Content-Length"] == str(len(body)) and head_headers["ETag"] == get_headers["ETag"]
    status, headers, body = running.request("/privacy/", headers={"If-None-Match": get_headers["ETag"]})
    assert status == 304 and body == b"" and headers["ETag"] == get_headers["ETag"]
    status, _, body = running.request("/privacy/", headers={"If-None-Match": '"other"'})
    assert status == 200 and body


def test_missing_paths_get_404_html_and_folders_redirect(running):
    status, headers, body = running.request("/no/such/page/")
    assert status == 404 and headers["Content-Type"].startswith("text/html")
    assert running.server.preview.state.files["404.html"].split(b"<body>")[1][:200] in body
    status, headers, _ = running.request("/privacy")
    assert status == 301 and headers["Location"] == "/privacy/"


@pytest.mark.parametrize("path", [
    "/../site.toml", "/%2e%2e/site.toml", "/privacy/..%2f..%2fsite.toml", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/privacy/../../site.toml", "//etc/passwd", "/privacy/%00", "/..\\site.toml", "/content/privacy/2026-01-01.md",
    "/templates/base.html", "/site.toml",
])
def test_no_path_traversal(running, path):
    status, _, body = running.request(path)
    assert status in (400, 404)
    assert b"contact_email" not in body and b"root:" not in body and b"effective:" not in body


@pytest.mark.parametrize("host,status", [
    ("evil.example", 403), ("evil.example:8000", 403), ("127.0.0.1.evil.example", 403),
    ("127.0.0.1", 200), ("localhost:8000", 200), ("[::1]:8000", 200),
])
def test_answers_only_requests_addressed_to_the_loopback(running, host, status):
    """DNS rebinding: a page on another site must not read the drafts through the preview."""
    got, _, body = running.request("/privacy/", headers={"Host": host})
    assert got == status
    if status == 403:
        assert b"Privacy" not in body


def test_edit_rebuilds_and_reloads_only_changed_pages(running, site):
    changed = running.events("/privacy/2026-08-01/")
    untouched = running.events("/terms/")
    generation = running.generation
    edit(site / "content" / "privacy" / "2026-08-01.md", "We collect your email", "We collect only your email")
    assert changed.next_event(10) == "reload"
    running.wait_generation(generation)
    assert untouched.next_event(0.5) is None, "a page whose bytes did not change must not reload"
    changed.close(), untouched.close()
    status, _, body = running.request("/privacy/2026-08-01/")
    assert status == 200 and b"We collect only your email" in body
    assert "rebuilt in" in running.out.getvalue()


COMPARE = "/privacy/compare/2026-01-01/2026-08-01/"


def test_a_compare_page_is_made_when_asked_for_and_reloads_after_an_edit(running, site, tmp_path):
    """The preview makes compare pages on request (compare.page_at): the page is the build's,
    with the reload script, and after an edit it shows the new text, never the old one."""
    status, headers, body = running.request(COMPARE)
    built = build(Project.at(site), tmp_path / "out", today=DAY, drafts=True)
    served = running.server.preview.lookup(COMPARE)  # what the server sends, before the reload script
    assert (served.status, served.body) == (200, built.files[COMPARE[1:] + "index.html"])
    assert status == 200 and b'<script src="/__preview__/reload.js"' in body
    status, headers, _ = running.request(COMPARE[:-1])
    assert (status, headers["Location"]) == (301, COMPARE)
    assert running.request("/privacy/compare/2026-08-01/2026-01-01/")[0] == 404  # newer first
    page = running.events(COMPARE)
    untouched = running.events("/privacy/compare/2026-01-01/2026-09-01/")  # does not show 2026-08-01
    edit(site / "content" / "privacy" / "2026-08-01.md", "We collect your email", "We collect only your email")
    assert page.next_event(10) == "reload"
    assert untouched.next_event(0.5) is None, "a compare page whose bytes did not change must not reload"
    page.close(), untouched.close()
    status, _, after = running.request(COMPARE)
    assert status == 200 and after != body and b"only" in after


def test_compare_pages_show_errors_in_content_and_on_request(running, site):
    """A content error in a policy shows on its compare pages too; a broken compare.html
    fails the rebuild on save (compare.check), though the rebuild makes no compare page:
    every page shows it and the terminal prints it, as for any template (and as check)."""
    source = site / "content" / "privacy" / "2026-08-01.md"
    good = source.read_text(encoding="utf-8")
    generation = running.generation
    source.write_text(good.replace("title: Privacy Policy", "titel: Privacy Policy"), encoding="utf-8")
    running.wait_generation(generation)
    status, _, body = running.request(COMPARE)
    assert status == 500 and b"content/privacy/2026-08-01.md:2</span>: unknown field" in body
    generation = running.generation
    source.write_text(good, encoding="utf-8")
    running.wait_generation(generation)
    assert running.request(COMPARE)[0] == 200

    for broken in ("{% if %}", "{{ no_such_thing.field }}"):
        generation = running.generation
        edit(site / "templates" / "compare.html", "{% block main %}", "{% block main %}" + broken)
        running.wait_generation(generation)
        running.wait_err("1 problem (")  # on save, before any request
        assert "templates/compare.html:7: " in running.err.getvalue()
        status, _, body = running.request("/terms/")
        assert status == 500 and b"templates/compare.html:7</span>: " in body
        assert b'<script src="/__preview__/reload.js"' in body
        assert running.request(COMPARE)[0] == 500
        generation = running.generation
        edit(site / "templates" / "compare.html", "{% block main %}" + broken, "{% block main %}")
        running.wait_generation(generation)
        assert running.request(COMPARE)[0] == 200
        running.err.seek(0), running.err.truncate()


def quiet_preview(site: Path) -> Preview:
    """A preview without its HTTP server and watcher, built once: lookup() is what a request
    gets (its terminal in ``.err``)."""
    preview = Preview(Project.at(site), as_of=DAY, out=io.StringIO(), err=io.StringIO())
    assert preview.rebuild().ok
    return preview


def test_a_page_made_on_request_is_made_and_reported_once_per_build(site):
    """A compare page asked for by a GET, a HEAD, its reload connection and its path without
    the slash is made once a build (State.made), its error printed once; after a rebuild
    that did not change it, an open page is a store hit (store.prune keeps what was asked)."""
    preview = quiet_preview(site)
    store, other = preview.builder.store, "/privacy/compare/2026-01-01/2026-09-01/"
    store.begin()  # counts from here
    assert preview.lookup(other).status == 200 and store.misses["page"] == 1
    assert preview.lookup(other).status == 200 and store.misses["page"] + store.hits["page"] == 1
    preview.rebuild()  # nothing changed
    hits = store.hits["page"]
    assert preview.lookup(other).status == 200 and (store.hits["page"] - hits, store.misses["page"]) == (1, 0)

    cdn = '{% block main %}<img src="https://cdn.example.net/x.png">'  # the audit finds it
    edit(site / "templates" / "compare.html", "{% block main %}", cdn)
    assert preview.rebuild().ok  # compare.check renders, the audit runs on request
    printed = f"1 problem on {COMPARE[1:]}index.html: the browser shows it"
    asked = store.hits["page"] + store.misses["page"]
    for path in (COMPARE, COMPARE, COMPARE[:-1], COMPARE):
        assert preview.lookup(path).status == (500 if path == COMPARE else 301)
    state = preview.state
    assert preview.lookup(COMPARE, state).status == 500  # the reload connection's
    assert preview.err.getvalue().count(printed) == 1
    assert store.hits["page"] + store.misses["page"] == asked + 1
    preview.rebuild()
    assert preview.lookup(COMPARE).status == 500 and preview.lookup(COMPARE).status == 500
    assert preview.err.getvalue().count(printed) == 2  # once a build


def test_a_request_that_waited_for_a_rebuild_gets_the_new_build(site):
    """A request that read the state just before a rebuild took the lock is answered from
    the build that is current once it holds the lock, never the build before."""
    preview = quiet_preview(site)
    old_state, old = preview.state, preview.lookup(COMPARE).body
    edit(site / "content" / "privacy" / "2026-08-01.md", "We collect your email", "We collect only your email")
    preview.rebuild()
    new = preview.lookup(COMPARE, old_state)
    assert new.status == 200 and new.body != old and new.body == preview.lookup(COMPARE).body


def test_only_compare_pages_wait_for_the_build_lock_and_they_stop_waiting_on_stop(site):
    """While a rebuild holds the lock, a 404, a favicon and any path that cannot be a compare
    page are answered at once; a compare page waits, and gets 503 once the server stops."""
    preview = quiet_preview(site)
    answers: dict[str, int] = {}
    paths = ["/nope/", "/favicon.ico", "/privacy/nope.html", "/cookies/compare/2026-01-01/2026-08-01/", COMPARE]
    threads = [threading.Thread(target=lambda p=p: answers.update({p: preview.lookup(p).status}), daemon=True)
               for p in paths]
    with preview._build_lock:  # as a rebuild holds it
        for thread in threads:
            thread.start()
        for thread in threads[:-1]:
            thread.join(2)
        assert answers == {path: 404 for path in paths[:-1]}
        assert threads[-1].is_alive()  # the compare page waits for the rebuild
        started = time.monotonic()
        preview.stop()
        threads[-1].join(2)
        assert answers[COMPARE] == 503 and time.monotonic() - started < 0.5


def test_template_edit_reloads_every_open_page(running, site):
    streams = [running.events(path) for path in ("/", "/privacy/", "/terms/2026-02-01/", "/changelog/")]
    edit(site / "templates" / "base.html", "<main id=\"main\"", "<!-- template edited -->\n<main id=\"main\"")
    assert [s.next_event(10) for s in streams] == ["reload"] * 4
    for stream in streams:
        stream.close()
    assert b"template edited" in running.request("/terms/")[2]


def test_errors_show_in_browser_and_terminal_then_recover(running, site):
    source = site / "content" / "privacy" / "2026-08-01.md"
    good = source.read_text(encoding="utf-8")
    _, _, terms_before = running.request("/terms/")
    page = running.events("/privacy/2026-08-01/")
    generation = running.generation
    source.write_text(good.replace("title: Privacy Policy", "titel: Privacy Policy"), encoding="utf-8")
    assert page.next_event(10) == "reload"
    running.wait_generation(generation)
    status, _, body = running.request("/privacy/2026-08-01/")
    assert status == 500
    assert b"content/privacy/2026-08-01.md:2</span>: unknown field &#x27;titel&#x27;" in body
    assert b'<script src="/__preview__/reload.js"' in body
    assert "content/privacy/2026-08-01.md:2: unknown field 'titel'" in running.err.getvalue()
    assert running.request("/terms/") == (200, running.request("/terms/")[1], terms_before)  # last good build
    assert running.request("/privacy/")[0] == 500  # the same policy's pages are affected
    status, _, status_json = running.request("/__preview__/status")
    assert b"2026-08-01.md:2" in status_json

    page = running.events("/privacy/2026-08-01/")
    generation = running.generation
    source.write_text(good, encoding="utf-8")
    assert page.next_event(10) == "reload"
    running.wait_generation(generation)
    status, _, body = running.request("/privacy/2026-08-01/")
    assert status == 200 and b"Privacy Policy" in body
    assert "fixed; rebuilt" in running.out.getvalue()


def test_settings_error_shows_on_every_page(running, site):
    generation = running.generation
    edit(site / "site.toml", "notice_days = 30", "notice_days = -3")
    running.wait_generation(generation)
    for path in ("/", "/terms/", "/no/such/page/"):
        status, _, body = running.request(path)
        assert status == 500 and b"site.toml:6</span>: notice_days -3" in body


def test_deleted_version_becomes_404_and_its_page_reloads(running, site):
    page = running.events("/privacy/2026-09-01/")
    (site / "content" / "privacy" / "2026-09-01.md").unlink()
    assert page.next_event(10) == "reload"
    assert running.request("/privacy/2026-09-01/")[0] == 404


def test_save_as_rename_and_bursts_rebuild_once(running, site):
    source = site / "content" / "privacy" / "2026-08-01.md"
    text = source.read_text(encoding="utf-8")
    running.server._watcher.debounce = 0.25  # wide enough that a loaded 2-core machine cannot split the burst
    bursts, generation = running.server.bursts, running.generation
    temporary = source.with_name(".2026-08-01.md.swp")  # what an editor writes first
    temporary.write_text(text.replace("We collect", "We gather"), encoding="utf-8")
    os.replace(temporary, source)
    for n in range(5):
        source.write_text(text.replace("We collect", f"We gather ({n})"), encoding="utf-8")
    running.wait_generation(generation)
    time.sleep(0.5)
    assert (running.server.bursts - bursts, running.generation - generation) == (1, 1)
    assert b"We gather (4)" in running.request("/privacy/2026-08-01/")[2]


def test_port_taken_gives_a_clear_message(site, capsys, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PreviewError, match=f"port {port} on 127.0.0.1 is already in use"):
            PreviewServer(Project.at(site), port=port).start()
        monkeypatch.chdir(site)
        assert main(["serve", "--port", str(port)]) == 1
        assert f"error: port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_cleanly(site, tmp_path, stop_signal):
    temp = tmp_path / "tmp"
    temp.mkdir()
    before = sorted(p.relative_to(site) for p in site.rglob("*"))
    env = dict(os.environ, TMPDIR=str(temp), PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, str(REPO / "build.py"), "serve", "--port", "0", "--as-of", FIXTURE_DAY],
                               cwd=site, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not any("http://127.0.0.1:" in line for line in lines):
            line = process.stdout.readline()
            assert line, f"server exited: {process.stderr.read()}"
            lines.append(line)
        url = urlsplit(lines[-1].split(" at ")[1].split()[0])
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("GET", "/privacy/")
        assert conn.getresponse().status == 200
        conn.close()
        events = socket.create_connection((url.hostname, url.port))  # an open reload stream
        events.sendall(b"GET /__preview__/events?path=/privacy/&etag=x HTTP/1.1\r\n\r\n")
        idle = socket.create_connection((url.hostname, url.port))  # a connection that never asks anything
        time.sleep(0.2)
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=10)
        events.close(), idle.close()
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err and "Traceback" not in out
    assert out.rstrip().endswith("stopped")
    assert sorted(p.relative_to(site) for p in site.rglob("*") if "__pycache__" not in p.parts) == before
    assert not list(temp.iterdir()), "temporary files left behind"


def test_the_terminal_warns_once_when_a_draft_can_no_longer_get_its_notice(running, site):
    draft = site / "content" / "privacy" / "2026-07-01.md"
    text = (site / "content" / "privacy" / "2026-09-01.md").read_text(encoding="utf-8")
    generation = running.generation
    draft.write_text(text.replace("effective: 2026-09-01", "effective: 2026-07-01"), encoding="utf-8")
    running.wait_generation(generation)
    warning = ("warning: content/privacy/2026-07-01.md:3: the draft privacy/2026-07-01 can no longer meet the notice "
               "period of 30 days: published today (2026-06-15) it would take effect 16 days after it is announced; "
               "choose 'effective: 2026-07-15' or later (rename the file to match)\n")
    assert running.err.getvalue().count(warning) == 1
    generation = running.generation
    draft.write_text(draft.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    running.wait_generation(generation)
    assert running.err.getvalue().count(warning) == 1, "said once, not on every save"
