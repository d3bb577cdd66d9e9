"""Umami in UMAMI_WORKERS processes (umami/run/workers.mjs), as the image runs it: both workers
take page views, a dead worker is replaced without losing the service, a crash loop stops the
container instead of hiding in it, and the collect rewrite stays inside the process."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import load_client
from real.build import toolchain
from real.harness import WORKERS
from real.source import read_lock


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return sorted(out)


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _page_views(real_umami, website: str, rate: float, duration: float) -> dict:
    return load_client.run_load(real_umami.ns, {
        "url": real_umami.caddy_url + "/api/p", "website": website,
        "hostname": "legal.example.org", "rate": rate, "duration": duration,
        "sources": [real_umami.visitor_ip], "seed": 7})


def test_both_workers_take_page_views(real_umami):
    workers = _children(real_umami.umami.proc.pid)
    assert len(workers) == 2, workers
    before = {pid: _cpu_ticks(pid) for pid in workers}
    website = real_umami.add_website(domain="legal.example.org", name="workers")
    # All at once: cluster hands each new connection to the next worker, and Caddy keeps its
    # connections to Umami open (130 s, across tests), so at 100 a second it sent nearly all
    # over one or two of them and one worker got 10 % of the work (26 of 262 ticks, in a run of
    # the whole suite). A burst makes Caddy open many, as a real peak does.
    summary = _page_views(real_umami, website, rate=1000, duration=0.3)
    assert summary["statuses"] == {"200": 300}, summary["failures"][:3]
    used = {pid: _cpu_ticks(pid) - before[pid] for pid in workers}
    assert all(ticks >= 0.15 * sum(used.values()) for ticks in used.values()), used
    assert real_umami.psql(f"SELECT count(*) FROM website_event WHERE website_id = '{website}';") == "300"


def test_a_killed_worker_is_replaced_and_page_views_go_on(real_umami):
    primary = real_umami.umami.proc.pid
    victim, survivor = _children(primary)
    os.kill(victim, signal.SIGKILL)
    website = real_umami.add_website(domain="legal.example.org", name="after a kill")
    summary = _page_views(real_umami, website, rate=20, duration=2)
    assert summary["statuses"] == {"200": 40}, summary["failures"][:3]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = _children(primary)
        if len(workers) == 2 and victim not in workers:
            break
        time.sleep(0.5)
    assert survivor in workers and len(workers) == 2, workers
    real_umami.umami.wait_http("127.0.0.1", real_umami.umami_port, "/api/heartbeat")
    assert f"umami workers: worker {victim} exited (SIGKILL)" in real_umami.umami_log.read_text()


def test_the_collect_rewrite_is_routed_inside_umami(real_umami):
    """With the image's HOSTNAME Next.js rewrites /api/p to /api/send within the process; with
    127.0.0.1 it would proxy each page view over HTTP back to itself (harness.image_env), and
    this header would name http://localhost:<port>/api/send."""
    response = real_umami.visitor_request("POST", real_umami.caddy_url + "/api/p", {
        "type": "event", "payload": {"website": real_umami.website_id,
                                     "hostname": "legal.example.org", "url": "/rewrite"}})
    assert (response.status, response.header("X-Middleware-Rewrite")) == (200, "/api/send")


# ---------------------------------------------------------------- the supervisor on its own
def _supervise(tmp_path: Path, server_js: str, workers: str = "2") -> subprocess.Popen:
    """workers.mjs with a stand-in server.js (the real one is above): its own rules only."""
    (tmp_path / "server.js").write_text(server_js)
    node = toolchain(read_lock()) / "node"
    return subprocess.Popen([str(node), str(WORKERS)], cwd=tmp_path, text=True,
                            env={"PATH": os.environ["PATH"], "UMAMI_WORKERS": workers},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_crash_loop_stops_the_primary_with_an_error(tmp_path):
    proc = _supervise(tmp_path, "process.exit(3);\n")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    assert "workers died within a minute; stopping" in err
    assert err.count("exited (3)") == 6


def test_sigterm_stops_every_worker_and_the_primary(tmp_path):
    proc = _supervise(tmp_path, "setInterval(() => {}, 1000);\n"
                                "process.on('SIGTERM', () => process.exit(0));\n"
                                "console.log('up ' + process.pid);\n")
    deadline = time.monotonic() + 30
    while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = _children(proc.pid)
    assert len(workers) == 2
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, (out, err)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_a_bad_worker_count_is_refused(tmp_path):
    proc = _supervise(tmp_path, "", workers="0")
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, err) == (
        2, 'umami workers: UMAMI_WORKERS must be a whole number from 1 to 32, not "0"\n')


def test_umami_keeps_an_idle_connection_longer_than_nodes_default(real_umami):
    """KEEP_ALIVE_TIMEOUT (compose.yaml, 130 s) reaches Umami's server: a connection idle for
    6 s (Node's default closes it after 5 s) still serves the next request, so Caddy, whose idle
    upstream connections close after 2 minutes, never reuses one Umami is closing."""
    import http.client

    assert real_umami.umami_env()["KEEP_ALIVE_TIMEOUT"] == "130000"
    conn = http.client.HTTPConnection("127.0.0.1", real_umami.umami_port, timeout=10)
    conn.request("GET", "/api/heartbeat")
    first = conn.getresponse()
    first.read()
    sock = conn.sock
    time.sleep(6)
    conn.request("GET", "/api/heartbeat")
    second = conn.getresponse()
    second.read()
    assert (first.status, second.status, conn.sock is sock) == (200, 200, True)
