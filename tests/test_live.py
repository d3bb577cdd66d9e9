"""Notice counted from the first publication: `lock --live` asks the live site what it announced.

The live site is a real HTTP server on loopback (http.server in a thread) serving a folder that
the tests "deploy" to by building the site into it, or one fixed answer (a status, a body, or raw
bytes that are not the HTTP a client expects).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from legalsite import live, live_index, settings, translations
from legalsite.lock import Lock

V1 = "---\ntitle: Privacy Policy\neffective: 2026-01-01\n---\n\n## 1. Logs\n\nWe may keep logs for 90 days.\n"


def upcoming(effective: str, extra: str = "") -> str:
    return f"---\ntitle: Privacy Policy\neffective: {effective}\nsummary: Changed.\n{extra}---\n\nText.\n"


@pytest.fixture
def clock(wall_clock):
    """The real UTC time as a test sets it (conftest.WallClock; ``lock`` records its day)."""
    return wall_clock


class Server:
    """A real HTTP server on 127.0.0.1 serving ``root`` (the deployed site), or one answer."""

    def __init__(self, root: Path, status: int | None = None, body: bytes = b"", raw=None, headers=()):
        root.mkdir(exist_ok=True)
        handler = type("Handler", (http.server.SimpleHTTPRequestHandler,), {
            "log_message": lambda *a: None,
            "__init__": lambda h, *a, **k: http.server.SimpleHTTPRequestHandler.__init__(
                h, *a, directory=str(root), **k)})
        if status is not None:
            def do_GET(h):  # noqa: N802 (http.server's name)
                h.send_response(status)
                for name, value in headers:
                    h.send_header(name, value)
                h.send_header("Content-Length", str(len(body)))
                h.end_headers()
                h.wfile.write(body)
            handler.do_GET = do_GET
        elif raw is not None:  # bytes as they are, or a function writing to the socket
            def do_GET(h):  # noqa: N802
                h.close_connection = True
                try:
                    raw(h.wfile) if callable(raw) else h.wfile.write(raw)
                except OSError:
                    pass  # the client gave up
            handler.do_GET = do_GET
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(root: Path, status: int | None = None, body: bytes = b"", raw=None, headers=()) -> Server:
        servers.append(Server(root, status, body, raw, headers))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def site(project, serve, tmp_path):
    """A project whose site.toml points base_url at a live site on loopback, deployed to
    tmp_path/live (empty: never published)."""
    server = serve(tmp_path / "live")
    project({"site.toml": f'[site]\nname = "Example"\nbase_url = "{server.url}"\n'
                          'contact_email = "privacy@example.com"\n',
             "content/privacy/2026-01-01.md": V1})
    return server


def deploy(cli, tmp_path: Path, day: str) -> None:
    """What the publish workflow does on ``day``: build, then replace the live site with it."""
    assert cli("build", "--as-of", day, "--no-cache")[0] == 0
    shutil.rmtree(tmp_path / "live")
    shutil.copytree(tmp_path / "_site", tmp_path / "live")


def lock_json(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "versions.lock").read_text())


def live_then_locked(cli, clock, tmp_path: Path, day: str, effective: str = "2026-08-01") -> None:
    """The site first published on 2026-06-01; then ``effective`` written and locked on ``day``,
    not deployed."""
    clock.set("2026-06-01")
    assert cli("lock", "--first-publication")[0] == 0
    deploy(cli, tmp_path, "2026-06-01")
    clock.set(day)
    (tmp_path / f"content/privacy/{effective}.md").write_text(upcoming(effective))
    assert cli("lock")[0] == 0


def test_a_version_locked_days_before_it_went_live_is_refused_until_locked_again(site, cli, clock, tmp_path):
    """The gap of issue 15: locked on 15 June, published on 20 June, the lock claimed five more
    days of notice than readers got. CI's `lock --check --live` now refuses it."""
    url = site.url + "/versions.json"
    clock.set("2026-06-01")
    assert cli("lock", "--first-publication")[0] == 0
    deploy(cli, tmp_path, "2026-06-01")

    clock.set("2026-06-15")  # legal locks a new version, but it is not pushed that day
    (tmp_path / "content/privacy/2026-08-01.md").write_text(upcoming("2026-08-01"))
    assert cli("lock") == (0, "locked privacy/2026-08-01\nversions.lock: 2 versions locked; commit it\n", "")
    assert lock_json(tmp_path)["first_publication"] == "2026-06-01", "every lock keeps the site's first day"
    line = (tmp_path / "versions.lock").read_text().splitlines().index('    "privacy/2026-08-01": {') + 1

    clock.set("2026-06-20")  # CI, before publishing, five days later
    code, out, err = cli("lock", "--check", "--live")
    assert (code, out) == (1, "")
    assert err == (
        f"versions.lock:{line}: privacy/2026-08-01 is recorded as first published on 2026-06-15, but the live "
        f"site does not list it yet ({url}, as of 2026-06-01): published today (2026-06-20), it would give "
        "readers 5 days less notice than versions.lock claims. Record it again today: python build.py lock "
        "--live (it records 2026-06-20; 2026-08-01 is then 42 days ahead, enough for the notice period of 30 "
        "days); commit and push\n"
        "1 problem found; nothing was written. Fix them and run the command again.\n")
    assert cli("lock", "--check")[0] == 0, "without --live the lock alone cannot know"

    assert cli("lock", "--live") == (0, (
        "locked privacy/2026-08-01 again: the live site does not list it yet, so it is first published today, "
        "2026-06-20 (was 2026-06-15)\nversions.lock: 2 versions locked; commit it\n"), "")
    assert lock_json(tmp_path)["versions"]["privacy/2026-08-01"]["published"] == "2026-06-20"
    assert cli("lock", "--check", "--live") == (0, (
        f"versions.lock is up to date (2 versions locked); the live site lists 1 of them ({url}, as of "
        "2026-06-01); 1 version first published today (2026-06-20)\n"), "")
    deploy(cli, tmp_path, "2026-06-20")

    clock.set("2026-06-21")  # the next day's build: it is live now, its day stays
    assert cli("lock", "--check", "--live") == (0, (
        f"versions.lock is up to date (2 versions locked); the live site lists 2 of them ({url}, as of "
        "2026-06-20); 0 versions first published today (2026-06-21)\n"), "")
    assert cli("lock", "--live")[1].endswith("versions.lock: 2 versions locked; commit it\n")
    assert lock_json(tmp_path)["versions"]["privacy/2026-08-01"]["published"] == "2026-06-20"
    (tmp_path / "content/privacy/2026-09-01.md").write_text(upcoming("2026-09-01"))
    assert cli("lock", "--check", "--live") == (1, "", (
        "versions.lock is out of date: not yet locked: privacy/2026-09-01. Run 'python build.py lock --live' and "
        "commit the file.\n"))


def test_no_first_publication_just_before_midnight_utc(site, cli, clock, tmp_path):
    """The deploy follows the check by minutes: after 23:45 UTC it may land on the next day,
    one day later than the lock records. Versions already live are not concerned."""
    clock.set("2026-06-01")
    assert cli("lock", "--first-publication")[0] == 0
    deploy(cli, tmp_path, "2026-06-01")
    (tmp_path / "content/privacy/2026-08-01.md").write_text(upcoming("2026-08-01"))
    assert cli("lock")[0] == 0
    clock.set("2026-06-01", "23:44")
    assert cli("lock", "--check", "--live")[0] == 0
    clock.set("2026-06-01", "23:45")
    assert cli("lock", "--check", "--live") == (1, "", (
        "error: it is 23:45 UTC: the deploy that publishes privacy/2026-08-01 for the first time may reach "
        "readers after midnight, a day later than versions.lock records (2026-06-01); after 00:00 UTC, record it "
        "again (python build.py lock --live), commit and push\n"))
    deploy(cli, tmp_path, "2026-06-01")
    assert cli("lock", "--check", "--live")[0] == 0, "nothing is first published: nothing can be late"


def test_locking_late_in_the_day_warns_that_ci_may_refuse(site, cli, clock, tmp_path):
    live_then_locked(cli, clock, tmp_path, "2026-06-15")
    clock.set("2026-06-20", "22:59")
    assert cli("lock", "--live")[2] == ""
    clock.set("2026-06-21", "23:00")
    assert cli("lock", "--live") == (0, (
        "locked privacy/2026-08-01 again: the live site does not list it yet, so it is first published today, "
        "2026-06-21 (was 2026-06-20)\nversions.lock: 2 versions locked; commit it\n"), (
        "warning: it is 23:00 UTC: CI runs its tests (about 20 minutes) before it checks the lock, and from 23:45 "
        "UTC it refuses to publish privacy/2026-08-01 for the first time today; push now, or run 'python build.py "
        "lock --live' again after 00:00 UTC\n"))
    deploy(cli, tmp_path, "2026-06-21")
    assert cli("lock", "--live")[2] == "", "nothing to publish for the first time: nothing to hurry"


def test_a_check_that_runs_across_midnight_is_refused(site, cli, clock, tmp_path):
    """Started at 23:59:59 and finished at 00:00:05: the lock was judged against the day
    before, but the deploy lands on the new day. The clock is read once at the start (one day
    for the whole run) and again at the end."""
    live_then_locked(cli, clock, tmp_path, "2026-06-02")
    clock.set("2026-06-02", "23:59:59", step=6)  # each reading of the clock: 6 s later
    assert cli("lock", "--check", "--live") == (1, "", (
        "error: it is 2026-06-03 00:00 UTC, no longer 2026-06-02, the day this check started: the deploy that "
        "publishes privacy/2026-08-01 for the first time reaches readers on 2026-06-03 at the earliest, later than "
        "versions.lock records; record it again (python build.py lock --live), commit and push\n"))
    clock.set("2026-06-03", "00:00:05", step=6)
    assert cli("lock", "--live")[1].startswith("locked privacy/2026-08-01 again:")
    assert cli("lock", "--check", "--live")[0] == 0


def test_locked_again_too_late_the_version_must_move_to_a_later_day(site, cli, clock, tmp_path):
    live_then_locked(cli, clock, tmp_path, "2026-06-15")

    clock.set("2026-07-10")  # published only now: 22 days before it takes effect
    url = site.url + "/versions.json"
    code, _, err = cli("lock", "--check", "--live", url)
    assert code == 1
    assert err.splitlines()[0].endswith(
        f"readers 25 days less notice than versions.lock claims. Record it again today: python build.py lock "
        f"--live {url}; commit and push. Recorded again, privacy/2026-08-01 takes effect on 2026-08-01, 22 days "
        "after it is announced on 2026-07-10 (today: the live site does not list it yet, so it is recorded again), "
        "less than the notice period of 30 days: choose 'effective: 2026-08-09' or later; if readers lose nothing by "
        "the change, say why with 'non_material: <reason>'")
    before = (tmp_path / "versions.lock").read_text()
    code, out, err = cli("lock", "--live")
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        "content/privacy/2026-08-01.md:3: privacy/2026-08-01 takes effect on 2026-08-01, 22 days after it is "
        "announced on 2026-07-10 (today: the live site does not list it yet, so it is recorded again), less than "
        "the notice period of 30 days: choose 'effective: 2026-08-09' or later; if readers lose nothing by the "
        "change, say why with 'non_material: <reason>'")
    assert (tmp_path / "versions.lock").read_text() == before, "nothing is written"

    (tmp_path / "content/privacy/2026-08-01.md").unlink()  # legal moves it to the earliest day
    (tmp_path / "content/privacy/2026-08-09.md").write_text(upcoming("2026-08-09"))
    assert cli("lock", "--check")[0] == 1, "a locked version cannot disappear without --live"
    assert cli("lock", "--live") == (0, (
        "locked privacy/2026-08-09\n"
        "unlocked privacy/2026-08-01: it never reached the live site and is no longer published in content/\n"
        "versions.lock: 2 versions locked; commit it\n"), "")
    assert sorted(lock_json(tmp_path)["versions"]) == ["privacy/2026-01-01", "privacy/2026-08-09"]
    assert cli("lock", "--check", "--live", url)[0] == 0


def test_a_version_on_the_live_site_cannot_be_withdrawn(site, cli, clock, tmp_path):
    clock.set("2026-06-01")
    (tmp_path / "content/privacy/2026-08-01.md").write_text(upcoming("2026-08-01"))
    assert cli("lock", "--first-publication")[0] == 0
    deploy(cli, tmp_path, "2026-06-01")
    clock.set("2026-06-02")
    (tmp_path / "content/privacy/2026-08-01.md").unlink()
    lock = lock_json(tmp_path)
    del lock["versions"]["privacy/2026-08-01"]
    (tmp_path / "versions.lock").write_text(json.dumps(lock, indent=2))
    code, _, err = cli("lock", "--check", "--live")
    assert (code, err.splitlines()[0]) == (1, (
        f"versions.lock:1: privacy/2026-08-01 is on the live site ({site.url}/versions.json, as of "
        "2026-06-01) but neither published in content/ nor in versions.lock: a published version cannot be withdrawn; "
        "restore its file and its entry from git"))
    before = (tmp_path / "versions.lock").read_text()
    assert cli("lock", "--live")[0:2] == (1, ""), "locking against the live site says so too"
    assert (tmp_path / "versions.lock").read_text() == before


@pytest.mark.parametrize("path,text,then", [
    ("terms/2026-06-02.md", "---\ntitle: Terms\neffective: 2026-06-02\n---\n\nText.\n",
     "the first version of a policy needs no notice"),
    ("privacy/2026-06-02.md", upcoming("2026-06-02", "non_material: A typo.\n"),
     "not material, so no notice period applies")])
def test_recording_again_says_when_no_notice_applies(site, cli, clock, tmp_path, path, text, then):
    clock.set("2026-06-01")
    assert cli("lock", "--first-publication")[0] == 0
    deploy(cli, tmp_path, "2026-06-01")
    (tmp_path / "content" / path).parent.mkdir(exist_ok=True)
    (tmp_path / "content" / path).write_text(text)
    assert cli("lock")[0] == 0
    clock.set("2026-06-03")
    code, _, err = cli("lock", "--check", "--live")
    assert code == 1 and err.splitlines()[0].endswith(
        f"Record it again today: python build.py lock --live (it records 2026-06-03; {then}); commit and push")
    assert cli("lock", "--live")[0] == 0
    assert cli("lock", "--check", "--live")[0] == 0


def test_the_first_publication_is_a_choice_recorded_for_its_day(site, cli, clock, tmp_path):
    url = site.url + "/versions.json"
    clock.set("2026-06-01")
    assert cli("lock") == (0, "locked privacy/2026-01-01\nversions.lock: 1 version locked; commit it\n", "")
    no_index = (f"error: {url}: there is no versions.json there (HTTP 404 File not found), so the live site "
                "cannot say what it already announced. {}If the site is published there for the first time today, "
                "record that choice: python build.py lock --live --first-publication (then commit versions.lock); "
                "otherwise give the live site's index: set base_url in site.toml or pass --live URL\n")
    assert cli("lock", "--check", "--live") == (1, "", no_index.format(""))
    assert cli("lock", "--live") == (1, "", no_index.format(""))
    assert cli("lock", "--check", "--first-publication") == (
        1, "", "error: --first-publication records a choice in versions.lock: run it without --check\n")

    clock.set("2026-06-03")
    assert cli("lock", "--first-publication") == (0, (
        "locked privacy/2026-01-01 again: the live site does not list it yet, so it is first published today, "
        "2026-06-03 (was 2026-06-01)\nversions.lock: recorded the site's first publication today, 2026-06-03\n"
        "versions.lock: 1 version locked; commit it\n"), "")
    data = lock_json(tmp_path)
    assert data["first_publication"] == "2026-06-03"
    assert data["versions"]["privacy/2026-01-01"]["published"] == "2026-06-03"
    assert cli("lock", "--check", "--live") == (0, (
        "versions.lock is up to date (1 version locked); first publication of the site today (2026-06-03), as "
        "versions.lock records; 1 version first published today\n"), "")

    clock.set("2026-06-04")  # the deploy did not happen: the recorded choice was for yesterday
    assert cli("lock", "--check", "--live") == (1, "", no_index.format(
        "versions.lock records the site's first publication on 2026-06-03, not today (2026-06-04); "))

    clock.set("2026-06-03")
    deploy(cli, tmp_path, "2026-06-03")
    clock.set("2026-06-04")
    assert cli("lock", "--check", "--live")[0] == 0
    assert cli("lock", "--first-publication") == (1, "", (
        f"error: {url}: the site is already published there (1 version, as of 2026-06-03): drop "
        "--first-publication\n"))
    assert lock_json(tmp_path)["first_publication"] == "2026-06-03", "kept: when the site was first published"


def test_a_live_site_that_cannot_be_read_stops_publication(site, cli, clock, tmp_path, serve):
    clock.set("2026-06-01")
    assert cli("lock", "--first-publication")[0] == 0
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there
    retry = "run the command again when it answers; nothing was published"
    assert cli("lock", "--check", "--live", f"http://127.0.0.1:{port}/versions.json") == (1, "", (
        f"error: http://127.0.0.1:{port}/versions.json: cannot reach the live site (Connection refused); {retry}\n"))
    broken = serve(tmp_path / "broken", status=503)
    assert cli("lock", "--check", "--live", broken.url + "/versions.json") == (1, "", (
        f"error: {broken.url}/versions.json: the live site answered HTTP 503 Service Unavailable, so it cannot "
        f"say what it already announced; {retry}\n"))
    wrong = serve(tmp_path / "wrong", status=200, body=b"<!doctype html><title>Pages</title>")
    assert cli("lock", "--check", "--live", wrong.url + "/versions.json") == (1, "", (
        f"error: {wrong.url}/versions.json: not the versions.json of a site built by legalsite (Expecting value: "
        "line 1 column 1 (char 0)): give the address of the site's index (base_url in site.toml, or --live "
        "URL)\n"))
    other = serve(tmp_path / "other", status=200, body=b'{"schema_version": 1, "policies": [{"slug": "x"}]}')
    assert cli("lock", "--check", "--live", other.url)[2] == (
        f"error: {other.url}: not the versions.json of a site built by legalsite (versions): give the address of "
        "the site's index (base_url in site.toml, or --live URL)\n")


def test_an_index_too_large_is_refused(tmp_path, serve):
    server = serve(tmp_path / "big", status=200, body=b" " * 11 + b"{}")
    with pytest.raises(live.LiveError) as raised:
        live.read_index(server.url, limit=10)
    assert str(raised.value) == (
        f"{server.url}: more than 10 bytes, too large for the versions.json of a legal site: give the address of "
        "the site's index (base_url in site.toml, or --live URL)")


def test_a_live_site_that_does_not_answer_times_out():
    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/versions.json"
        with pytest.raises(live.LiveError) as raised:
            live.read_index(url, timeout=0.2)
    assert str(raised.value) == (
        f"{url}: the live site did not answer within 0.2 s; run the command again when it answers; nothing was "
        "published")


def test_live_needs_the_real_address_and_the_real_day(project, cli, clock, tmp_path):
    project({"content/privacy/2026-01-01.md": V1})  # no site.toml: the placeholder base_url
    clock.set("2026-06-01")
    assert cli("lock", "--check", "--live") == (1, "", (
        "error: site.toml: base_url is the placeholder https://legal.1vy.example, so the live site cannot be asked "
        "what it already announced: set the site's real address there, or give its index with --live URL\n"))
    assert cli("lock", "--check", "--live", "http://127.0.0.1:9/versions.json", "--as-of", "2026-06-02") == (1, "", (
        "error: --live checks what the live site shows today (2026-06-01), so it cannot run as of 2026-06-02: drop "
        "--as-of and unset SOURCE_DATE_EPOCH\n"))
    assert cli("lock", "--live", "--correct", "privacy/2026-01-01", "--note", "x") == (
        1, "", "error: --live and --first-publication go with lock or lock --check only\n")


def test_a_malformed_first_publication_is_reported_at_its_line(project, cli, clock):
    project({"content/privacy/2026-01-01.md": V1,
             "versions.lock": '{\n  "first_publication": "June",\n  "format": 2,\n  "versions": {}\n}\n'})
    assert cli("check", "--as-of", "2026-06-01") == (1, "", (
        "versions.lock:2: first_publication 'June' is not a date: restore the file from git\n"
        "1 problem found; nothing was written. Fix them and run the command again.\n"))


@pytest.mark.parametrize("url,placeholder", [("https://legal.1vy.example", True), ("https://example/x", True),
                                             ("https://host.example:8443/legal/", True),
                                             ("https://legal.example.com", False), ("http://127.0.0.1:8000", False)])
def test_placeholder_addresses(url, placeholder):
    assert settings.is_placeholder(url) is placeholder


RETRY = "run the command again when it answers; nothing was published"


def drip(wfile) -> None:
    """A valid answer, one byte every 0.1 s: each wait is short, the whole never ends in time."""
    wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n")
    for _ in range(40):
        wfile.write(b" ")
        wfile.flush()
        time.sleep(0.1)


@pytest.mark.parametrize("raw,error", [
    (b"SSH-2.0-OpenSSH_9.2\r\n", "not valid HTTP (BadStatusLine)"),
    (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", "not valid HTTP (LineTooLong)"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "not valid HTTP (IncompleteRead)"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}", "not valid HTTP (IncompleteRead)"),
])
def test_a_garbled_answer_is_one_error_line(site, cli, clock, tmp_path, serve, raw, error):
    clock.set("2026-06-01")
    assert cli("lock", "--first-publication")[0] == 0
    server = serve(tmp_path / "garbled", raw=raw)
    assert cli("lock", "--check", "--live", server.url + "/versions.json") == (1, "", (
        f"error: {server.url}/versions.json: the live site's answer is {error}; {RETRY}\n"))


def test_an_index_nested_too_deeply_is_one_error_line(site, cli, clock, tmp_path, serve):
    clock.set("2026-06-01")
    assert cli("lock", "--first-publication")[0] == 0
    server = serve(tmp_path / "deep", status=200, body=b"[" * 200_000)
    assert cli("lock", "--check", "--live", server.url) == (1, "", (
        f"error: {server.url}: not the versions.json of a site built by legalsite (nested too deeply): give the "
        "address of the site's index (base_url in site.toml, or --live URL)\n"))


ASK = "give the address of the live site's index (base_url in site.toml, or --live URL), http:// or https://"


@pytest.mark.parametrize("address,error", [
    ("http://127.0.0.1:abc/", "not a valid address (Port could not be cast to integer value as 'abc')"),
    ("http://[::1/versions.json", "not a valid address (Invalid IPv6 URL)"),
    ("_site", "not the address of a live site"),
    ("_site/versions.json", "not the address of a live site"),
    ("file:///tmp/versions.json", "not the address of a live site"),
    ("http:///versions.json", "not the address of a live site"),
])
def test_live_takes_the_address_of_a_live_site_only(site, cli, clock, address, error):
    """A local build (`--live _site`) says what would be shown, not what readers were shown:
    a version locked weeks ago and never deployed passed against it."""
    clock.set("2026-06-01")
    assert cli("lock", "--first-publication")[0] == 0
    assert cli("build", "--no-cache")[0] == 0
    tail = "; a local file or build cannot say what readers were shown" if "live site" in error else ""
    assert cli("lock", "--check", "--live", address) == (1, "", f"error: {address}: {error}: {ASK}{tail}\n")


def test_a_redirect_is_followed_only_without_a_downgrade(site, cli, clock, tmp_path, serve):
    clock.set("2026-06-01")
    assert cli("lock", "--first-publication")[0] == 0
    deploy(cli, tmp_path, "2026-06-01")
    moved = serve(tmp_path / "moved", status=301, headers=[("Location", site.url + "/versions.json")])
    assert cli("lock", "--check", "--live", moved.url + "/old.json")[0] == 0, "http to http is followed"
    ftp = serve(tmp_path / "ftp", status=302, headers=[("Location", "ftp://127.0.0.1/versions.json")])
    assert cli("lock", "--check", "--live", ftp.url + "/versions.json") == (1, "", (
        f"error: {ftp.url}/versions.json: the live site redirects to ftp://127.0.0.1/versions.json; only a "
        "redirect to http or https is followed (a downgrade would let anyone on the network answer for the site): "
        f"{ASK}\n"))
    request = urllib.request.Request("https://legal.example.com/versions.json")
    with pytest.raises(live.LiveError) as raised:  # from https, only to https (no TLS server here)
        live_index.NoDowngrade().redirect_request(request, None, 302, "Found", {}, "http://legal.example.com/v.json")
    assert str(raised.value) == (
        "https://legal.example.com/versions.json: the live site redirects to http://legal.example.com/v.json; "
        "only a redirect to https is followed (a downgrade would let anyone on the network answer for the site): "
        f"{ASK}")
    upgrade = live_index.NoDowngrade().redirect_request(request, None, 302, "Found", {}, "https://legal.example.com/v")
    assert upgrade.full_url == "https://legal.example.com/v"


def test_the_whole_answer_must_arrive_in_time(tmp_path, serve):
    """The timeout bounds the whole exchange, not each wait: one byte every 0.1 s held the
    publish step for as long as the site kept sending."""
    server = serve(tmp_path / "slow", raw=drip)
    started = time.monotonic()
    with pytest.raises(live.LiveError) as raised:
        live.read_index(server.url, timeout=0.5)
    assert str(raised.value) == f"{server.url}: the live site did not answer within 0.5 s; {RETRY}"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("day", ["2026-06-15", "2026-06-20"])
def test_a_version_that_never_went_live_may_go_with_its_file(site, cli, clock, tmp_path, day):
    """Locked, never deployed, then dropped by legal: nothing was withdrawn from readers. One
    message, with one fix (it said both "restore the file" and "record it again"), on the day
    it was locked as on a later one."""
    url = site.url + "/versions.json"
    live_then_locked(cli, clock, tmp_path, "2026-06-15")
    line = (tmp_path / "versions.lock").read_text().splitlines().index('    "privacy/2026-08-01": {') + 1
    (tmp_path / "content/privacy/2026-08-01.md").unlink()
    clock.set(day)
    assert cli("lock", "--check", "--live") == (1, "", (
        f"versions.lock:{line}: privacy/2026-08-01 is in versions.lock but content/privacy/2026-08-01.md is gone and "
        f"the live site does not list it ({url}, as of 2026-06-01): it was never published, so it can go; take it "
        "out: python build.py lock --live; commit and push\n"
        "1 problem found; nothing was written. Fix them and run the command again.\n"))
    assert cli("lock", "--live") == (0, (
        "unlocked privacy/2026-08-01: it never reached the live site and is no longer published in content/\n"
        "versions.lock: 1 version locked; commit it\n"), "")
    assert cli("lock", "--check", "--live")[0] == 0


def test_translations_follow_their_version(project, serve, cli, clock, tmp_path):
    """The live index (schema 2 once a site has translations) lists versions, not their
    translations: a locked translation is never "not listed yet", and a version recorded again
    takes its translations with it, recorded again the same day."""
    server = serve(tmp_path / "live")
    project({"site.toml": f'[site]\nname = "Example"\nbase_url = "{server.url}"\n'
                          'contact_email = "privacy@example.com"\nlanguages = ["de"]\n',
             "content/privacy/2026-01-01.md": V1})
    clock.set("2026-06-01")
    assert cli("lock", "--first-publication")[0] == 0
    deploy(cli, tmp_path, "2026-06-01")

    def add(day: str) -> None:
        text = upcoming(day)
        digest = hashlib.sha256(text.encode()).hexdigest()
        (tmp_path / f"content/privacy/{day}.md").write_text(text)
        (tmp_path / f"content/privacy/{day}.de.md").write_text(
            f"---\ntitle: Testtitel\nsummary: Test.\ntranslates: sha256:{digest}\n---\n\n"
            "TEST TEXT (de), not a translation of any policy.\n")

    clock.set("2026-06-15")
    add("2026-08-01")
    assert cli("lock")[1] == (
        "locked privacy/2026-08-01\nlocked privacy/2026-08-01.de\nversions.lock: 3 versions locked; commit it\n")
    deploy(cli, tmp_path, "2026-06-15")
    assert json.loads((tmp_path / "live/versions.json").read_text())["schema_version"] == 2
    clock.set("2026-06-16")
    assert cli("lock", "--check", "--live")[0:2] == (0, (
        f"versions.lock is up to date (3 versions locked); the live site lists 2 of them ({server.url}/versions.json, "
        "as of 2026-06-15); 0 versions first published today (2026-06-16)\n"))

    clock.set("2026-06-20")
    add("2026-09-01")
    assert cli("lock")[0] == 0
    clock.set("2026-06-22")  # not deployed until now
    assert cli("lock", "--live")[1] == (
        "locked privacy/2026-09-01 again: the live site does not list it yet, so it is first published today, "
        "2026-06-22 (was 2026-06-20)\nlocked privacy/2026-09-01.de\nversions.lock: 5 versions locked; commit it\n")
    versions = lock_json(tmp_path)["versions"]
    assert versions["privacy/2026-09-01.de"]["published"] == "2026-06-22"
    assert versions["privacy/2026-08-01.de"]["published"] == "2026-06-15"


def test_adding_translations_keeps_the_first_publication():
    lock = Lock({}, first_publication=dt.date(2026, 6, 1))
    assert translations.lock_updated((), lock, dt.date(2026, 6, 2)).first_publication == dt.date(2026, 6, 1)


def test_gone_from_the_site_is_no_index(site, cli, clock, tmp_path, serve):
    clock.set("2026-06-01")
    assert cli("lock")[0] == 0
    gone = serve(tmp_path / "gone", status=410)
    code, _, err = cli("lock", "--check", "--live", gone.url)
    assert code == 1 and err.startswith(
        f"error: {gone.url}: there is no versions.json there (HTTP 410 Gone), so the live site cannot say what it "
        "already announced. If the site is published there for the first time today, record that choice: python "
        f"build.py lock --live {gone.url} --first-publication")


def test_drafts_in_an_index_were_not_announced():
    index = {"schema_version": 1, "as_of": "2026-06-01", "policies": [{"slug": "privacy", "versions": [
        {"effective": "2026-01-01", "draft": False}, {"effective": "2026-08-01", "draft": True}]}]}
    parsed = live_index.parse_index(json.dumps(index).encode(), "x")
    assert (parsed.versions, parsed.as_of) == (frozenset({"privacy/2026-01-01"}), dt.date(2026, 6, 1))


def test_day_counts_are_plural_only_when_more_than_one(site, cli, clock, tmp_path):
    (tmp_path / "site.toml").write_text((tmp_path / "site.toml").read_text() + "notice_days = 1\n")
    clock.set("2026-06-01")
    assert cli("lock", "--first-publication")[0] == 0
    deploy(cli, tmp_path, "2026-06-01")
    (tmp_path / "content/privacy/2026-06-17.md").write_text(upcoming("2026-06-17"))
    clock.set("2026-06-15")
    assert cli("lock")[0] == 0
    clock.set("2026-06-16")
    assert cli("lock", "--check", "--live")[2].splitlines()[0].endswith(
        "readers 1 day less notice than versions.lock claims. Record it again today: python build.py lock --live "
        "(it records 2026-06-16; 2026-06-17 is then 1 day ahead, enough for the notice period of 1 day); commit "
        "and push")


INDEX = json.dumps({"schema_version": 1, "as_of": "2026-06-01", "policies": [
    {"slug": "privacy", "versions": [{"effective": "2026-01-01", "draft": False}]}]}).encode()


@pytest.fixture
def https_site(tmp_path, serve):
    """The index over HTTPS from a real Caddy on loopback, with a certificate of Caddy's own
    internal CA (root.crt, trusted by nobody unless a test says so); /old redirects to the
    same index over plain http (a downgrade)."""
    plain = serve(tmp_path / "plain")
    (tmp_path / "plain/versions.json").write_bytes(INDEX)
    site = tmp_path / "tls"
    site.mkdir()
    (site / "versions.json").write_bytes(INDEX)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(
        "{\n\tadmin off\n\tskip_install_trust\n\tauto_https disable_redirects\n"
        f"\thttps_port {port}\n\tdefault_sni 127.0.0.1\n}}\n"
        f"https://127.0.0.1:{port} {{\n\ttls internal\n\tbind 127.0.0.1\n"
        f"\tredir /old {plain.url}/versions.json 302\n\troot * {site}\n\tfile_server\n}}\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    log = (tmp_path / "caddy.log").open("w")
    caddy = subprocess.Popen(["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
                             env=env, stdout=log, stderr=subprocess.STDOUT)
    root = tmp_path / "data/caddy/pki/authorities/local/root.crt"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert caddy.poll() is None, (tmp_path / "caddy.log").read_text()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    if root.exists():
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "caddy.log").read_text()
            time.sleep(0.1)
        yield f"https://127.0.0.1:{port}", root, plain.url
    finally:
        caddy.terminate()
        caddy.wait(10)
        log.close()


def test_the_live_index_over_https(https_site, monkeypatch):
    """The address CI reads in production is https: its certificate is verified, and a redirect
    from it to plain http (where anyone on the network could answer) is refused."""
    url, root, plain = https_site
    with pytest.raises(live.LiveError) as raised:  # Caddy's internal CA is not trusted here
        live.read_index(url + "/versions.json")
    assert str(raised.value) == (
        f"{url}/versions.json: the live site's certificate could not be verified (unable to get local issuer "
        "certificate): install the system's CA certificates (Debian: apt-get install ca-certificates) or fix the "
        "site's certificate")
    monkeypatch.setenv("SSL_CERT_FILE", str(root))  # trust it, as a system trusts a public CA
    index = live.read_index(url + "/versions.json")
    assert (index.versions, index.as_of) == (frozenset({"privacy/2026-01-01"}), dt.date(2026, 6, 1))
    with pytest.raises(live.LiveError) as raised:
        live.read_index(url + "/old")
    assert str(raised.value) == (
        f"{url}/old: the live site redirects to {plain}/versions.json; only a redirect to https is followed (a "
        f"downgrade would let anyone on the network answer for the site): {ASK}")


def test_a_live_site_that_stays_unreadable_may_be_trusted_for_a_day_with_a_reason(site, cli, clock, tmp_path, serve):
    """An outage stops every publication, the fix included: `lock --trust-lock REASON` records,
    for that day only and only while the site stays unreadable, that the lock's days are taken
    as they are; versions not locked yet are first published that day, as always."""
    live_then_locked(cli, clock, tmp_path, "2026-06-15")
    broken = serve(tmp_path / "broken", status=503).url + "/versions.json"
    clock.set("2026-06-20")
    unreadable = (f"{broken}: the live site answered HTTP 503 Service Unavailable, so it cannot say what it already "
                  f"announced; {RETRY}")
    assert cli("lock", "--check", "--live", broken) == (1, "", f"error: {unreadable}\n")
    reason = "GitHub Pages outage, incident 123; the 2026-06-15 push was deployed (run 4567)"
    assert cli("lock", "--trust-lock", reason, "--live", broken) == (0, (
        f"the live site cannot be read: {unreadable}\n"
        f"versions.lock: recorded for today, 2026-06-20, that the days it records are taken as they are: {reason}\n"
        "versions.lock: 2 versions locked; commit it\n"), "")
    assert lock_json(tmp_path)["trust_lock"] == {"day": "2026-06-20", "reason": reason}
    assert lock_json(tmp_path)["versions"]["privacy/2026-08-01"]["published"] == "2026-06-15", "taken as it is"
    (tmp_path / "content/privacy/2026-09-01.md").write_text(upcoming("2026-09-01"))
    assert cli("lock", "--live", broken)[0] == 0
    assert cli("lock", "--check", "--live", broken) == (0, (
        f"versions.lock is up to date (3 versions locked); the live site cannot be read ({broken}); versions.lock "
        f"takes the days it records as they are today (2026-06-20): {reason}; 1 version first published today\n"), "")
    assert cli("lock", "--check", "--live")[0] == 1, "a site that can be read is read: 2026-08-01 is not on it"
    assert cli("lock", "--trust-lock", "x") == (1, "", (
        f"error: {site.url}/versions.json: the site is already published there (1 version, as of 2026-06-01): drop "
        "--trust-lock\n"))
    clock.set("2026-06-21")
    assert cli("lock", "--check", "--live", broken) == (1, "", f"error: {unreadable}\n"), "for its day only"
    assert cli("lock", "--trust-lock", " ") == (1, "", (
        "error: --trust-lock needs a reason, e.g. --trust-lock \"the host's outage, incident 123\" (kept in "
        "versions.lock)\n"))
    assert cli("lock", "--check", "--trust-lock", "x") == (1, "", (
        "error: --trust-lock records a choice in versions.lock: run it alone, without --check or "
        "--first-publication\n"))
    text = (tmp_path / "versions.lock").read_text().replace('"day": "2026-06-20"', '"day": "soon"')
    (tmp_path / "versions.lock").write_text(text)
    line = text.splitlines().index('  "trust_lock": {') + 1
    assert cli("check", "--as-of", "2026-06-21") == (1, "", (
        f"versions.lock:{line}: trust_lock {{'day': 'soon', 'reason': '{reason}'}} is not a day and a reason: "
        "restore the file from git\n1 problem found; nothing was written. Fix them and run the command again.\n"))


def test_a_move_whose_copy_is_not_in_place_yet_may_be_trusted_for_its_day(site, cli, clock, tmp_path, serve):
    """The new address has no index yet: `--first-publication` would record every version as
    first published today; `--trust-lock` keeps the days the lock records, for that day."""
    live_then_locked(cli, clock, tmp_path, "2026-06-15")
    deploy(cli, tmp_path, "2026-06-15")
    moved = serve(tmp_path / "new-host").url + "/versions.json"  # serves nothing yet: HTTP 404
    clock.set("2026-06-20")
    assert cli("lock", "--check", "--live", moved)[2].startswith(f"error: {moved}: there is no versions.json there")
    reason = "moving to the new host; its copy of the live site follows tomorrow"
    assert cli("lock", "--trust-lock", reason, "--live", moved)[0] == 0
    assert lock_json(tmp_path)["versions"]["privacy/2026-08-01"]["published"] == "2026-06-15"
    assert cli("lock", "--check", "--live", moved)[1].endswith(f": {reason}; 0 versions first published today\n")
