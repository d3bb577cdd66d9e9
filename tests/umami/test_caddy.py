"""The Caddyfile, run by Caddy (the deployed version) in front of the real Umami (real_umami):
a visitor's spoofed address and location headers never change what Umami stores, the address
Umami uses is the real TCP peer (the country of the namespace address), responses carry the
security headers, access logs hold no visitor address or user agent."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

from real.harness import CADDY
from real.processes import free_port
from umami_support import UMAMI

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
SPOOF_IP = "203.0.113.66"  # the test country database says NZ for it; the visitor's is IS
# A real desktop browser's user agent (Umami drops bots) with a version no other test uses.
UA_MARKER = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/131.0.7731.42 Safari/537.36")


@pytest.fixture(scope="module")
def caddy_bin():
    return str(CADDY)


def spoof_headers() -> dict:
    spoofed = {h: SPOOF_IP for h in ADDRESS_HEADERS}
    spoofed["forwarded"] = f"for={SPOOF_IP};proto=https"
    spoofed.update({h: "NZ" for h in LOCATION_HEADERS})
    spoofed[CLIENT_IP_HEADER] = SPOOF_IP
    return spoofed


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


def pageview(umami, website: str, url: str, headers: dict | None = None):
    return umami.visitor_request("POST", url + "/api/p", {
        "type": "event", "payload": {"website": website, "hostname": "legal.example.org", "url": "/privacy"}},
        headers={"User-Agent": UA_MARKER, **(headers or {})})


def stored_countries(umami, website: str) -> list[str]:
    return umami.psql(f"SELECT coalesce(country, '-') FROM session WHERE website_id = '{website}'").splitlines()


@pytest.fixture(scope="module")
def proxied(real_umami):
    """One plain page view and one with every spoofable header, each for its own website."""
    plain, spoofed = real_umami.add_website(), real_umami.add_website()
    first = pageview(real_umami, plain, real_umami.caddy_url)
    second = pageview(real_umami, spoofed, real_umami.caddy_url, spoof_headers())
    time.sleep(0.3)  # let Caddy flush its access log
    return {"first": first, "spoofed": second, "plain_site": plain, "spoofed_site": spoofed}


def test_umami_gets_the_real_peer_address(proxied, real_umami):
    assert (proxied["first"].status, proxied["spoofed"].status) == (200, 200)
    assert stored_countries(real_umami, proxied["plain_site"]) == ["IS"]


def test_spoofed_headers_do_not_change_the_stored_country(proxied, real_umami):
    assert stored_countries(real_umami, proxied["spoofed_site"]) == ["IS"]


@pytest.mark.parametrize("header", ADDRESS_HEADERS + [CLIENT_IP_HEADER])
def test_no_single_spoofed_address_header_changes_the_country(real_umami, header):
    website = real_umami.add_website()
    value = f"for={SPOOF_IP}" if header == "forwarded" else SPOOF_IP
    assert pageview(real_umami, website, real_umami.caddy_url, {header: value}).status == 200
    assert stored_countries(real_umami, website) == ["IS"]


def test_security_headers(proxied):
    resp = proxied["first"]
    assert resp.status == 200
    assert resp.header("Strict-Transport-Security") == "max-age=63072000; includeSubDomains"
    assert resp.header("X-Content-Type-Options") == "nosniff"
    assert resp.header("Referrer-Policy") == "no-referrer"
    assert (resp.header("Server"), resp.header("X-Powered-By")) == (None, None)


def test_access_log_has_no_visitor_address_or_agent(proxied, real_umami):
    text = real_umami.caddy_log.read_text()
    entries = [json.loads(line) for line in text.splitlines()
               if line.startswith("{") and '"http.log.access' in line]
    posts = [e for e in entries if e["request"]["uri"] == "/api/p"]
    assert len(posts) >= 2, text  # the log is written, so the check below means something
    for needle in (real_umami.visitor_ip, SPOOF_IP, "7731.42"):
        assert needle not in json.dumps(entries), f"{needle} appears in the access log"


def test_a_weakened_caddyfile_would_be_caught(real_umami, tmp_path):
    """Mutation check: without the strip line and the peer header, a visitor's True-Client-Ip
    reaches Umami and sets the country, so the tests above can fail. (True-Client-Ip: Umami
    reads it before X-Forwarded-For, which Next.js's server sets to Caddy's own address.)"""
    text = (UMAMI / "Caddyfile").read_text()
    for line in ("\trequest_header -True-Client-Ip\n", "\t\theader_up X-Analytics-Client-Ip {remote_host}\n"):
        assert line in text
        text = text.replace(line, "")
    weakened = tmp_path / "Caddyfile"
    weakened.write_text(text)
    website = real_umami.add_website()
    with real_umami.other_caddy(weakened) as url:
        assert pageview(real_umami, website, url, {"true-client-ip": SPOOF_IP}).status == 200
    assert stored_countries(real_umami, website) == ["NZ"]


def test_error_log_has_no_visitor_address_or_agent(real_umami, tmp_path):
    """Caddy's error log (an upstream that fails: 502) writes the request too, address and
    headers included, unless the Caddyfile's global `log default` filters it (the site's `log`
    covers the access log only). Found in the load benchmark: a reset upstream connection."""
    text = (UMAMI / "Caddyfile").read_text()
    assert "{$UMAMI_UPSTREAM:umami:3000}" in text
    dead_upstream = tmp_path / "Caddyfile"
    dead_upstream.write_text(text.replace("{$UMAMI_UPSTREAM:umami:3000}", f"127.0.0.1:{free_port()}"))
    with real_umami.other_caddy(dead_upstream) as url:
        assert pageview(real_umami, real_umami.website_id, url).status == 502
        time.sleep(0.3)  # let Caddy flush its log
        log = (real_umami.work / f"caddy-{url.rsplit(':', 1)[1]}.log").read_text()
    errors = [line for line in log.splitlines() if '"level":"error"' in line and "/api/p" in line]
    assert len(errors) >= 2, log  # the error and the access entry: the check below means something
    for needle in (real_umami.visitor_ip, UA_MARKER):
        assert needle not in log, f"{needle} appears in Caddy's log"
