"""The collect guard, the geo check and the error bodies, on the REAL Umami behind the
project's Caddyfile (the `real_umami` fixture): collect bodies a client could use to set
its own address, user agent, device, time, identity or custom data are refused in front of
Umami - also when spelled with JSON escapes ("\\u0069p") and through /api/batch - and
PostgreSQL shows that nothing of them landed; a missing or city geo database keeps the
deployment unhealthy; no response shows a server path.

On today's main each of these fails: Umami stores the spoofed fields (country of
203.0.113.9, the given browser, a created_at in 2001), /api/batch passes them on, a missing
geo database gives collect a 500 naming the database's path and a healthy heartbeat.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import time

import pytest

from real.visitor import DESKTOP_UA

GUARD = "refused by the deployment's collect guard"
GEO_DOWN = {"error": "analytics is not available: its geo database check failed (see the server log)"}
CADDY_5XX = b'{"error":"server error"}'
VISITOR_TABLES = ("website_event", "session", "event_data", "session_data", "revenue")


@pytest.fixture()
def site(real_umami):
    """A fresh website, so row counts belong to this test alone."""
    return real_umami.add_website()


def rows(real_umami, website_id: str) -> dict[str, int]:
    return {t: int(real_umami.psql(f"SELECT count(*) FROM {t} WHERE website_id = '{website_id}'"))
            for t in VISITOR_TABLES}


class Direct:
    """An answer from Umami's own port (the host's loopback: the namespace cannot reach it)."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]):
        self.status, self.body, self.headers = status, body, headers

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)


def post_direct(real_umami, path: str, raw: str) -> Direct:
    conn = http.client.HTTPConnection("127.0.0.1", real_umami.umami_port, timeout=30)
    try:
        conn.request("POST", path, body=raw.encode(), headers={
            "Content-Type": "application/json", "User-Agent": DESKTOP_UA})
        response = conn.getresponse()
        return Direct(response.status, response.read(),
                      {k.lower(): v for k, v in response.getheaders()})
    finally:
        conn.close()


def post(real_umami, path: str, raw: str, front: bool = True):
    """POST raw JSON text through Caddy from the visitor, or (front=False) to Umami itself.

    Follows 307/308 as a browser's fetch does (same method and body): Next.js redirects
    /api/send/ and /api//send/ before any proxy runs, so the guard meets them after."""
    for _ in range(4):
        if front:
            response = real_umami.visitor_request("POST", real_umami.caddy_url + path, raw)
        else:
            response = post_direct(real_umami, path, raw)
        if response.status not in (307, 308):
            return response
        path = response.header("Location")
        assert path.startswith("/"), path
    raise AssertionError(f"redirect loop at {path}")


def page_view(site: str, **extra) -> dict:
    return {"type": "event", "payload": {"website": site, "hostname": "legal.example.org",
                                         "url": "/privacy", **extra}}


def test_the_sites_own_page_view_lands_with_the_visitors_real_address(real_umami, site):
    body = page_view(site, referrer="https://news.example.net/")
    response = post(real_umami, "/api/p", json.dumps(body))
    assert response.status == 200, response.body
    assert real_umami.psql(
        "SELECT e.url_path, e.referrer_domain, s.country, s.browser, "
        "abs(extract(epoch FROM now() - e.created_at)) < 120 "
        f"FROM website_event e JOIN session s USING (session_id) WHERE e.website_id = '{site}'"
    ) == "/privacy|news.example.net|IS|chrome|t"


# Each body is raw JSON text, so escapes reach the server exactly as written.
REFUSED = {
    "ip": ('"ip":"203.0.113.9"', 'payload field "ip" is not accepted'),
    "ip escaped": ('"\\u0069p":"203.0.113.9"', 'payload field "ip" is not accepted'),
    "ip escaped twice over": ('"\\u0069\\u0070":"203.0.113.9"', 'payload field "ip" is not accepted'),
    "userAgent": ('"userAgent":"curl/8"', 'payload field "userAgent" is not accepted'),
    "userAgent escaped": ('"\\u0075serAgent":"curl/8"', 'payload field "userAgent" is not accepted'),
    "browser": ('"browser":"spoofed"', 'payload field "browser" is not accepted'),
    "os": ('"os":"spoofed"', 'payload field "os" is not accepted'),
    "device": ('"\\u0064evice":"spoofed"', 'payload field "device" is not accepted'),
    "timestamp": ('"timestamp":1000000000', 'payload field "timestamp" is not accepted'),
    "timestamp escaped": ('"time\\u0073tamp":"4102444800"', 'payload field "timestamp" is not accepted'),
    "id": ('"id":"visitor-42"', 'payload field "id" is not accepted'),
    "data": ('"data":{"plan":"pro"}', 'payload field "data" is not accepted'),
    "event name": ('"name":"signup"', 'payload field "name" is not accepted'),
    "title": ('"title":"Privacy"', 'payload field "title" is not accepted'),
    "web vitals": ('"lcp":1200', 'payload field "lcp" is not accepted'),
    "query": ('"url":"/privacy?email=a@b.example"', 'payload field "url" must be a path without query or fragment'),
    "full referrer": ('"referrer":"https://news.example.net/story?id=1"',
                      'payload field "referrer" must be an origin such as "https://example.org/"'),
    "not a string": ('"hostname":{"x":1}', 'payload field "hostname" must be a string'),
    "NUL in url": ('"url":"/\\u0000x"', 'payload field "url" must not contain a control character'),
    "newline in referrer": ('"referrer":"https://news.example.net/\\n"',
                            'payload field "referrer" must not contain a control character'),
    "query through the hostname": ('"hostname":"legal.example.org/?utm_source=a@b.example","url":""',
                                   'payload field "hostname" must be a hostname such as "legal.example.org" '
                                   '(lowercase, at most 100 characters)'),
    "another host in url": ('"url":"//evil.example/x"', 'payload field "url" must be a path without query or fragment'),
    "backslash in referrer": ('"referrer":"https://news.example.net\\\\alice-smith/"',
                              'payload field "referrer" must be an origin such as "https://example.org/"'),
    "not a hostname": ('"hostname":"legal.exa,mple.org"',
                       'payload field "hostname" must be a hostname such as "legal.example.org" '
                       '(lowercase, at most 100 characters)'),
}


# /api/p (the tracker's collect path, COLLECT_API_ENDPOINT) is posted through Caddy; the other
# spellings of Umami's collect path are refused at Caddy's door (403, tests/umami/test_door.py)
# before the guard sees them, so they are posted to Umami's own port, where the guard works.
@pytest.mark.parametrize("path", ["/api/p", "/api/send", "/api//send/", "/api/%73end"])
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_client_supplied_identity_time_and_data_never_reach_umami(real_umami, site, path, case):
    field, reason = REFUSED[case]
    raw = ('{"type":"event","payload":{"website":"%s","hostname":"legal.example.org",'
           '"url":"/privacy",%s}}' % (site, field))
    response = post(real_umami, path, raw, front=path == "/api/p")
    assert (response.status, response.json()) == (400, {"error": f"{GUARD}: {reason}"})
    assert rows(real_umami, site) == dict.fromkeys(VISITOR_TABLES, 0)


@pytest.mark.parametrize("raw,reason", [
    ('{"type":"identify","payload":{"website":"SITE","data":{"plan":"pro"}}}', 'type "identify" is not accepted'),
    ('{"type":"\\u0069dentify","payload":{"website":"SITE","id":"u1"}}', 'type "identify" is not accepted'),
    ('{"type":"performance","payload":{"website":"SITE","url":"/","lcp":1}}', 'type "performance" is not accepted'),
    ('{"type":"event","payload":{"website":"SITE"},"ip":"203.0.113.9"}', 'field "ip" is not accepted'),
    ('[{"type":"event","payload":{"website":"SITE"}}]', "the body must be a JSON object"),
    ('{"type":"event","payload":{"website":"SITE"', "the body is not JSON"),
])
def test_other_types_and_shapes_are_refused(real_umami, site, raw, reason):
    response = post(real_umami, "/api/p", raw.replace("SITE", site))
    assert (response.status, response.json()) == (400, {"error": f"{GUARD}: {reason}"})
    assert rows(real_umami, site) == dict.fromkeys(VISITOR_TABLES, 0)


@pytest.mark.parametrize("path", ["/api/batch", "/api/batch/", "/API/Batch", "/api/record"])
def test_batch_and_record_are_refused(real_umami, site, path):
    spoofed = '{"type":"event","payload":{"website":"%s","url":"/privacy","\\u0069p":"203.0.113.9"}}' % site
    response = post(real_umami, path, f"[{spoofed}]", front=False)  # Caddy's door: test_door.py
    normal = path.lower().rstrip("/")
    assert (response.status, response.json()) == (403, {"error": f"{GUARD}: {normal} is not used by this deployment"})
    assert rows(real_umami, site) == dict.fromkeys(VISITOR_TABLES, 0)


def test_the_guard_is_in_umami_itself_not_only_behind_caddy(real_umami, site):
    """Umami's own port refuses too: the guard is part of the built Umami (proxy.ts)."""
    raw = '{"type":"event","payload":{"website":"%s","url":"/privacy","\\u0069p":"203.0.113.9"}}' % site
    response = post(real_umami, "/api/send", raw, front=False)
    assert (response.status, response.json()) == (400, {"error": f'{GUARD}: payload field "ip" is not accepted'})
    assert rows(real_umami, site) == dict.fromkeys(VISITOR_TABLES, 0)


@pytest.mark.parametrize("header", ["X-Middleware-Subrequest", "X-Middleware-Rewrite", "X-Invoke-Path"])
def test_nextjs_internal_headers_cannot_skip_the_guard(real_umami, site, header):
    """Next.js's internal headers (X-Middleware-Subrequest once let a client skip middleware,
    where the guard runs) are removed by Caddy; whatever their value, the guard still refuses."""
    raw = '{"type":"event","payload":{"website":"%s","url":"/privacy","\\u0069p":"203.0.113.9"}}' % site
    value = ":".join(["src/proxy", "middleware", "proxy"] * 2)
    response = real_umami.visitor_request("POST", real_umami.caddy_url + "/api/p", raw, {header: value})
    assert (response.status, response.json()) == (400, {"error": f'{GUARD}: payload field "ip" is not accepted'})
    assert rows(real_umami, site) == dict.fromkeys(VISITOR_TABLES, 0)


# ------------------------------------------------------------------ geo and errors

def local_get(real_umami, path: str) -> tuple[int, bytes]:
    """GET on Umami's own port (the compose healthcheck's view, inside the container)."""
    conn = http.client.HTTPConnection("127.0.0.1", real_umami.umami_port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def heartbeat_when_up(real_umami, timeout: float = 90) -> tuple[int, bytes]:
    """Umami's heartbeat once it answers at all (the caller expects it to be unhealthy)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return local_get(real_umami, "/api/heartbeat")
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"Umami did not answer within {timeout}s:\n{real_umami.umami_log.read_text()[-2000:]}")


def compose_healthcheck_passes(real_umami) -> bool:
    """compose.yaml's umami healthcheck command, run against this Umami's port."""
    import yaml
    from real.harness import COMPOSE
    test = yaml.safe_load(COMPOSE.read_text())["services"]["umami"]["healthcheck"]["test"]
    argv = [arg.replace("127.0.0.1:3000", f"127.0.0.1:{real_umami.umami_port}") for arg in test[1:]]
    assert test[0] == "CMD" and argv[0] == "node" and argv != test[1:]
    argv[0] = str(real_umami.build_node)  # the image's node: the lock's version
    return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0


@pytest.mark.parametrize("setting,logged", [
    ("missing", "geo check: the geo database (GEOLITE_DB_PATH) is missing"),
    ("city", "geo check: the geo database (GEOLITE_DB_PATH) is a GeoLite2-City database, not a country-only one"),
    ("unset", "geo check: GEOLITE_DB_PATH is not set: Umami would look for a city database"),
])
def test_no_country_database_means_not_healthy_and_no_path_shown(real_umami, site, tmp_path, setting, logged):
    value = {"missing": str(tmp_path / "GeoLite2-Country.mmdb"),
             "city": str(real_umami.write_geo_db(tmp_path / "GeoLite2-City.mmdb", kind="city")),
             "unset": None}[setting]
    assert compose_healthcheck_passes(real_umami)  # the session's Umami, with its country database
    with real_umami.restarted_umami({"GEOLITE_DB_PATH": value}, wait=False):
        status, body = heartbeat_when_up(real_umami)
        assert (status, json.loads(body)) == (503, GEO_DOWN)
        assert not compose_healthcheck_passes(real_umami)
        response = post(real_umami, "/api/p", json.dumps(page_view(site)))
        assert (response.status, response.body) == (503, CADDY_5XX)
        direct = post(real_umami, "/api/send", json.dumps(page_view(site)), front=False)
        assert (direct.status, direct.json()) == (503, GEO_DOWN)
        assert logged in real_umami.umami_log.read_text()
    assert rows(real_umami, site) == dict.fromkeys(VISITOR_TABLES, 0)


def test_a_server_error_shows_no_server_path(real_umami, site):
    """Umami answers a failing collect with its error object (stack, paths); Caddy passes on
    the status and a fixed body only."""
    broken = real_umami.dsn.rsplit("/", 1)[0] + "/no_such_database"  # (the test server trusts any password)
    with real_umami.restarted_umami({"DATABASE_URL": broken}):
        direct = post(real_umami, "/api/send", json.dumps(page_view(site)), front=False)
        assert direct.status == 500 and str(real_umami.app) in direct.body.decode()  # what Caddy hides
        response = post(real_umami, "/api/p", json.dumps(page_view(site)))
        assert (response.status, response.body) == (500, CADDY_5XX)
        assert response.header("Content-Type") == "application/json"


@pytest.mark.parametrize("method,path,raw", [
    ("GET", "/api/heartbeat", None),
    ("GET", "/no/such/page", None),
    ("GET", "/api/no-such-route", None),
    ("GET", "/api/websites", None),
    ("POST", "/api/auth/login", '{"username":"admin","password":"wrong"}'),
    ("POST", "/api/auth/login", '{"username":'),
    ("POST", "/api/p", '{"type":"event","payload":{"website":"not-a-uuid"}}'),
    ("POST", "/api/p", '{"type":"event","payload":{"website":"00000000-0000-4000-8000-000000000000","url":"/"}}'),
])
def test_no_response_shows_a_server_path(real_umami, method, path, raw):
    response = real_umami.visitor_request(method, real_umami.caddy_url + path, raw)
    text = response.body.decode("utf-8", "replace")
    for secret in (str(real_umami.app), str(real_umami.work), "node_modules", "/root/", ".next/server"):
        assert secret not in text, (path, response.status, text[:500])


def test_retention_runs_on_the_database_umami_writes(real_umami, site):
    """The real server's own database: a page view it stored, dated 400 days back and 400
    days ahead, is deleted by retention.py; today's stays."""
    from umami_support import run_script
    for _ in range(3):
        response = post(real_umami, "/api/p", json.dumps(page_view(site)))
        assert response.status == 200, response.body
    ids = real_umami.psql(f"SELECT event_id FROM website_event WHERE website_id = '{site}' ORDER BY event_id").split()
    real_umami.psql(f"UPDATE website_event SET created_at = now() - interval '400 days' WHERE event_id = '{ids[0]}';"
                    f"UPDATE website_event SET created_at = now() + interval '400 days' WHERE event_id = '{ids[1]}';")
    result = run_script("retention.py", "--days", "30", "--database-url", real_umami.dsn)
    assert result.returncode == 0, result.stderr
    assert real_umami.psql(f"SELECT event_id FROM website_event WHERE website_id = '{site}'") == ids[2]
    assert rows(real_umami, site)["session"] == 1


def test_url_path_is_stored_as_data_md_says(real_umami, site):
    """DATA.md: trailing slash removed, the home page `/` stored empty, referrer path `/`."""
    for url in ("/", "/privacy/"):
        body = page_view(site, url=url, referrer="https://news.example.net/")
        assert post(real_umami, "/api/p", json.dumps(body)).status == 200
    stored = real_umami.psql("SELECT '[' || url_path || ']', referrer_domain, referrer_path, url_query, "
                             f"event_type FROM website_event WHERE website_id = '{site}' ORDER BY url_path")
    assert stored.splitlines() == ["[]|news.example.net|/||1", "[/privacy]|news.example.net|/||1"]
