"""The Caddyfile, run by a real Caddy on loopback in front of a recording stand-in
upstream: spoofed address and location headers never reach Umami, the client
address header does and carries the real peer, access logs hold no visitor address."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from umami_support import UMAMI, Recorder, free_port, need, serve, wait_port

CLIENT_IP_HEADER = "x-analytics-client-ip"
# Every header Umami 3.x reads a client address from (src/lib/ip.ts IP_ADDRESS_HEADERS)
ADDRESS_HEADERS = [
    "x-client-ip", "x-forwarded-for", "cf-connecting-ip", "do-connecting-ip", "fastly-client-ip",
    "true-client-ip", "x-real-ip", "x-cluster-client-ip", "x-forwarded", "forwarded",
    "x-appengine-user-ip", "x-nf-client-connection-ip",
]
# ... and a location from (src/lib/detect.ts PROVIDER_HEADERS)
LOCATION_HEADERS = [
    "cf-ipcountry", "cf-region-code", "cf-ipcity",
    "x-vercel-ip-country", "x-vercel-ip-country-region", "x-vercel-ip-city",
    "cloudfront-viewer-country", "cloudfront-viewer-country-region", "cloudfront-viewer-city",
    "eo-ipcountry", "eo-region-code", "eo-ipcity",
    "x-umami-client-country", "x-umami-client-region", "x-umami-client-city",
]
SPOOF_IP = "203.0.113.66"
UA_MARKER = "Mozilla/5.0 (caddy-test-agent-7731)"


@pytest.fixture(scope="module")
def caddy_bin():
    return need("caddy", "apt-get install caddy")


@contextlib.contextmanager
def running_caddy(caddy_bin: str, caddyfile: Path, upstream_port: int, tmp: Path):
    port, admin = free_port(), free_port()
    log = tmp / f"caddy-{port}.log"
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp),
        "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config"),
        "UMAMI_HOST": f"http://localhost:{port}",
        "UMAMI_UPSTREAM": f"127.0.0.1:{upstream_port}",
        "ACME_EMAIL": "ops@example.org",
        "CADDY_ADMIN": f"127.0.0.1:{admin}",
    }
    with open(log, "w") as out:
        proc = subprocess.Popen([caddy_bin, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_port(port)
            yield port, log
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def send(port: int, path: str = "/api/p", headers: dict | None = None, body: str = '{"type":"event"}'):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    all_headers = {"Host": f"localhost:{port}", "User-Agent": UA_MARKER, "Content-Type": "application/json"}
    all_headers.update(headers or {})
    conn.request("POST", path, body=body, headers=all_headers)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


def spoof_headers() -> dict:
    spoofed = {h: SPOOF_IP for h in ADDRESS_HEADERS}
    spoofed["forwarded"] = f"for={SPOOF_IP};proto=https"
    spoofed.update({h: "XX" for h in LOCATION_HEADERS})
    spoofed[CLIENT_IP_HEADER] = SPOOF_IP
    return spoofed


class _Rec(Recorder):
    records: list = []


def test_caddy_validate_accepts_the_caddyfile(caddy_bin, tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "UMAMI_HOST": "stats.example.org",
           "ACME_EMAIL": "ops@example.org", "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    result = subprocess.run([caddy_bin, "validate", "--config", str(UMAMI / "Caddyfile"), "--adapter", "caddyfile"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_caddy_validate_rejects_a_broken_caddyfile(caddy_bin, tmp_path):
    broken = tmp_path / "Caddyfile"
    broken.write_text((UMAMI / "Caddyfile").read_text().replace("reverse_proxy", "reverse_proxx"))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "UMAMI_HOST": "stats.example.org",
           "ACME_EMAIL": "ops@example.org", "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    result = subprocess.run([caddy_bin, "validate", "--config", str(broken), "--adapter", "caddyfile"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


def test_caddyfile_strips_every_header_umami_reads():
    text = (UMAMI / "Caddyfile").read_text().lower()
    stripped = set(re.findall(r"^\s*request_header\s+-(\S+)\s*$", text, re.M))
    assert set(ADDRESS_HEADERS + LOCATION_HEADERS + [CLIENT_IP_HEADER]) <= stripped


@pytest.fixture(scope="module")
def proxied(caddy_bin, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("caddy")
    _Rec.records = []
    with serve(_Rec) as upstream:
        with running_caddy(caddy_bin, UMAMI / "Caddyfile", upstream.server_address[1], tmp) as (port, log):
            first = send(port)
            spoofed = send(port, headers=spoof_headers())
            time.sleep(0.3)  # let Caddy flush its access log
            yield {"records": list(_Rec.records), "first": first, "spoofed": spoofed, "log": log}


def test_upstream_gets_the_real_peer_in_the_client_ip_header(proxied):
    assert len(proxied["records"]) == 2
    for record in proxied["records"]:
        assert record["headers"].get(CLIENT_IP_HEADER) == "127.0.0.1"


@pytest.mark.parametrize("header", ADDRESS_HEADERS + LOCATION_HEADERS)
def test_spoofed_header_never_reaches_umami(proxied, header):
    headers = proxied["records"][1]["headers"]
    assert SPOOF_IP not in headers.get(header, ""), f"{header} reached the upstream: {headers.get(header)}"
    if header in LOCATION_HEADERS:
        assert header not in headers


def test_no_header_carries_the_spoofed_address(proxied):
    assert SPOOF_IP not in json.dumps(proxied["records"][1]["headers"])
    assert proxied["records"][1]["body"] == '{"type":"event"}'


def test_security_headers(proxied):
    resp = proxied["first"]
    assert resp.status == 200
    assert "max-age=" in resp.getheader("Strict-Transport-Security", "")
    assert resp.getheader("X-Content-Type-Options") == "nosniff"
    assert resp.getheader("Referrer-Policy") == "no-referrer"
    assert resp.getheader("Server") is None


def test_access_log_has_no_visitor_address_or_agent(proxied):
    text = proxied["log"].read_text()
    entries = [json.loads(line) for line in text.splitlines()
               if line.startswith("{") and '"http.log.access' in line]
    assert len(entries) >= 2, text  # the log is written, so the check below means something
    assert all(e["request"]["uri"] == "/api/p" for e in entries)
    for needle in ("127.0.0.1", "::1", SPOOF_IP, "caddy-test-agent-7731"):
        assert needle not in json.dumps(entries), f"{needle} appears in the access log"


def test_a_missing_strip_line_would_be_caught(caddy_bin, tmp_path):
    """Mutation check: without one request_header line, the spoofed value gets through."""
    weakened = tmp_path / "Caddyfile"
    weakened.write_text((UMAMI / "Caddyfile").read_text().replace("\trequest_header -Cf-Ipcountry\n", ""))
    _Rec.records = []
    with serve(_Rec) as upstream:
        with running_caddy(caddy_bin, weakened, upstream.server_address[1], tmp_path) as (port, _):
            send(port, headers={"cf-ipcountry": "XX"})
    assert _Rec.records[0]["headers"].get("cf-ipcountry") == "XX"
