"""Bad input at the door: a bounded fuzz of the collect endpoint through umami/Caddyfile to the
real Umami, from the visitor's address. Every answer is a 4xx, or a 2xx that stores only what
umami/DATA.md lists; never a 5xx, a stack trace or a server path; bodies over the proxy's limit
(Caddyfile `body_limit`) are refused before Umami reads them.

The cases: oversized bodies (with a length and chunked), deep and wrong-typed JSON, huge URLs
and referrers, invalid UTF-8, unknown event types, every field the tracker never sends (also in
escaped spelling), non-JSON, and a seeded set of random mutations of the site's own page view.
"""

from __future__ import annotations

import json
import random
import re

import pytest

from load_client import curl

LIMIT = 64 * 1024  # request_body max_size in umami/Caddyfile
# What a leaked stack trace or server path looks like in a body.
LEAK = re.compile(r"(\n\s+at |node_modules|/app/|/root/|/tmp/|/usr/|/home/|/work/|\.tsx?:\d|"
                  r"\.js:\d|Error: |Prisma|ECONNREFUSED|\bstack\b)")


def page_view(website: str, **extra) -> dict:
    """What the site's before-send hook sends (legalsite/umami-before-send.js)."""
    return {"type": "event", "payload": {"website": website, "hostname": "fuzz.example.org",
                                         "url": "/privacy", **extra}}


def cases(website: str) -> list[tuple[str, bytes, dict]]:
    """(name, raw body, extra headers); bounded: about a hundred."""
    def js(value) -> bytes:
        return json.dumps(value).encode()

    pv = page_view(website)
    out = [
        ("oversized body with a length", js(page_view(website, url="/" + "a" * LIMIT)), {}),
        ("oversized body, chunked", js(page_view(website, url="/" + "b" * 2 * LIMIT)),
         {"Transfer-Encoding": "chunked"}),
        ("1 MiB of spaces", b" " * (1 << 20) + js(pv), {}),
        ("exactly the limit", js(pv).ljust(LIMIT), {}),
        ("one byte over the limit", js(pv).ljust(LIMIT + 1), {}),
        ("deep arrays", b'{"type":"event","payload":' + b"[" * 20000 + b"]" * 20000 + b"}", {}),
        ("deep objects in data", js(pv)[:-2] + b',"data":' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}}", {}),
        ("payload a string", js({"type": "event", "payload": "x"}), {}),
        ("payload an array", js({"type": "event", "payload": [website]}), {}),
        ("payload null", js({"type": "event", "payload": None}), {}),
        ("type a number", js({"type": 1, "payload": pv["payload"]}), {}),
        ("website a number", js(page_view(website) | {"payload": {**pv["payload"], "website": 7}}), {}),
        ("website not a uuid", js(page_view("not-a-uuid")), {}),
        ("website unknown", js(page_view("00000000-0000-4000-8000-000000000000")), {}),
        ("url an object", js(page_view(website, url={"a": 1})), {}),
        ("referrer an array", js(page_view(website, referrer=["https://x.example/"])), {}),
        ("hostname 10 KB", js(page_view(website) | {"payload": {**pv["payload"], "hostname": "h" * 10000}}), {}),
        ("url 60 KB", js(page_view(website, url="/" + "u" * 60000)), {}),
        ("referrer 60 KB", js(page_view(website, referrer="https://r.example/" + "r" * 60000)), {}),
        ("url with query and fragment", js(page_view(website, url="/privacy?email=a@b.c#x")), {}),
        ("url absolute elsewhere", js(page_view(website, url="https://evil.example/x")), {}),
        ("invalid UTF-8 in url", js(pv).replace(b"/privacy", b"/priv\xff\xfeacy"), {}),
        ("invalid UTF-8 everywhere", b"\xff\xfe\xfd" * 100, {}),
        ("lone surrogate", js(pv).replace(b"/privacy", b"/\\ud800"), {}),
        ("empty body", b"", {}),
        ("not JSON", b"hello", {}),
        ("JSON null", b"null", {}),
        ("JSON array", b"[]", {}),
        ("empty object", b"{}", {}),
        ("truncated JSON", js(pv)[:30], {}),
        ("duplicate keys", js(pv)[:-2] + b',"website":"' + website.encode() + b'"}}', {}),
        ("text/plain", js(pv), {"Content-Type": "text/plain"}),
        ("form encoded", b"type=event&payload=x", {"Content-Type": "application/x-www-form-urlencoded"}),
        ("10000 keys", js(page_view(website) | {"payload": {**pv["payload"], **{f"k{i}": i for i in range(10000)}}}), {}),
    ]
    for kind in ("identify", "performance", "pageview", "click", "", "EVENT"):
        out.append((f"event type {kind!r}", js({"type": kind, "payload": pv["payload"]}), {}))
    never_sent = {"ip": "8.8.8.8", "userAgent": "Googlebot/2.1", "timestamp": 4102444800,
                  "id": "someone@example.org", "browser": "lynx", "os": "Plan9", "device": "fridge",
                  "title": "Secret title", "screen": "1x1", "language": "xx-XX", "name": "signup",
                  "tag": "campaign", "data": {"email": "a@b.c"}, "lcp": 1, "inp": 1, "cls": 0.1,
                  "fcp": 1, "ttfb": 1, "link": website, "pixel": website, "distinctId": "x"}
    for field, value in never_sent.items():
        out.append((f"field {field}", js(page_view(website, **{field: value})), {}))
    escaped = js(page_view(website, ip="8.8.8.8")).replace(b'"ip"', b'"\\u0069p"')
    out.append(("escaped ip", escaped, {}))
    out.append(("everything at once", js(page_view(website, **never_sent)), {}))
    out.append(("identify with data", js({"type": "identify", "payload": {
        "website": website, "data": {"email": "a@b.c"}, "id": "user-1"}}), {}))
    rng = random.Random(18)
    base = js(pv)
    for i in range(40):
        raw = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            op, pos = rng.randrange(4), rng.randrange(len(raw))
            if op == 0:
                raw[pos] = rng.randrange(256)
            elif op == 1:
                del raw[pos:pos + rng.randint(1, 8)]
            elif op == 2:
                raw[pos:pos] = rng.choice([b'"', b"{", b"[", b"\\", b",", b":", b"\x00", b"\xc3", b"1e999"])
            else:
                raw[pos:pos] = raw[rng.randrange(len(raw)):][:rng.randint(1, 20)]
        out.append((f"mutation {i}", bytes(raw), {}))
    return out


@pytest.fixture(scope="module")
def fuzzed(real_umami):
    """Send every case once; return (website id, [(name, status, body)])."""
    website = real_umami.add_website(domain="fuzz.example.org", name="fuzz")
    answers = []
    for name, raw, headers in cases(website):
        status, text = curl(real_umami.ns, real_umami.visitor_ip, "POST",
                            real_umami.caddy_url + "/api/p", raw, headers)
        answers.append((name, status, text))
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        status, text = curl(real_umami.ns, real_umami.visitor_ip, method, real_umami.caddy_url + "/api/p")
        answers.append((f"method {method}", status, text))
    return website, answers


def test_no_answer_is_a_server_error(fuzzed):
    _, answers = fuzzed
    assert [(name, status) for name, status, _ in answers if not (200 <= status < 300 or 400 <= status < 500)] == []


def test_no_answer_shows_a_stack_trace_or_a_server_path(fuzzed):
    _, answers = fuzzed
    assert [(name, text[:200]) for name, _, text in answers if LEAK.search(text)] == []


def test_bodies_over_the_limit_are_refused_at_the_proxy(fuzzed):
    _, answers = fuzzed
    status = {name: s for name, s, _ in answers}
    assert [status["oversized body with a length"], status["oversized body, chunked"],
            status["1 MiB of spaces"], status["one byte over the limit"]] == [413, 413, 413, 413]
    assert status["exactly the limit"] != 413  # reaches Umami (whose answer the other tests check)


def test_only_what_data_md_lists_is_stored(real_umami, fuzzed):
    website, answers = fuzzed
    q = real_umami.psql
    w = f"website_id = '{website}'"
    for table in ("event_data", "session_data", "revenue", "session_replay"):
        assert q(f"SELECT count(*) FROM {table} WHERE {w}") == "0", table
    # Page views: a path, the site's hostname, a referrer host, nothing else (DATA.md's table).
    assert q(f"""SELECT url_path, referrer_domain, referrer_path, hostname, event_type, page_title
        FROM website_event WHERE {w} AND NOT (
        event_type = 1 AND event_name IS NULL AND tag IS NULL AND page_title IS NULL
        AND coalesce(url_query, '') = '' AND url_path NOT LIKE '%?%' AND url_path NOT LIKE '%#%'
        AND coalesce(referrer_query, '') = '' AND coalesce(referrer_path, '/') = '/'
        AND lcp IS NULL AND inp IS NULL AND cls IS NULL AND fcp IS NULL AND ttfb IS NULL
        AND utm_source IS NULL AND gclid IS NULL
        AND created_at BETWEEN now() - interval '10 minutes' AND now() + interval '1 minute')""") == ""
    # Sessions: the visitor's real country and the real User-Agent header, no language, screen,
    # region, city or distinct id from the body.
    assert q(f"SELECT DISTINCT country, browser, os, device, coalesce(language, ''), "
             f"coalesce(screen, ''), coalesce(region, ''), coalesce(city, ''), "
             f"coalesce(distinct_id, '') FROM session WHERE {w}") == "IS|chrome|Linux|desktop|||||"
    accepted = [name for name, status, _ in answers if 200 <= status < 300]
    assert int(q(f"SELECT count(*) FROM website_event WHERE {w}")) <= len(accepted)


# Two gaps this fuzz found in the collect guard (umami/guard/collect-guard.ts), now closed: a NUL
# in a string reached PostgreSQL (500, page view lost) and any text was stored as the hostname.
def collect(real_umami, website: str, **payload):
    return curl(real_umami.ns, real_umami.visitor_ip, "POST", real_umami.caddy_url + "/api/p",
                page_view(website, **payload))


def test_a_nul_in_a_collected_string_is_refused_not_a_server_error(real_umami):
    website = real_umami.add_website(domain="fuzz.example.org", name="nul")
    status, _ = collect(real_umami, website, url="/\u0000x")
    assert 400 <= status < 500


def test_a_hostname_that_is_not_one_is_refused(real_umami):
    website = real_umami.add_website(domain="fuzz.example.org", name="hostname")
    status, _ = collect(real_umami, website, hostname="fuzz.exa,mple.org")
    assert (status, real_umami.psql(f"SELECT count(*) FROM website_event WHERE website_id = '{website}'")) == (400, "0")
