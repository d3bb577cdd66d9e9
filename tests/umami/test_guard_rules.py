"""umami/guard/collect-guard.ts on its own, run by the pinned Node (which strips the types):
the allow-list and the path spellings, fast and without building Umami. The same rules are
proven on the real Umami behind Caddy in test_real_guard.py."""

from __future__ import annotations

import json
import subprocess

import pytest

from umami_support import UMAMI

GUARD = UMAMI / "guard" / "collect-guard.ts"
DRIVER = """
const guard = await import(process.argv[2]);
let input = '';
for await (const chunk of process.stdin) input += chunk;
const answers = JSON.parse(input).map(([kind, value]) =>
  kind === 'path' ? guard.normalizePath(value)
    : kind === 'collect' ? guard.collectPaths(value) : guard.refusal(value));
process.stdout.write(JSON.stringify(answers));
"""


@pytest.fixture(scope="module")
def run_guard(tmp_path_factory):
    from real.build import toolchain
    from real.source import SetupError, read_lock

    try:
        node = toolchain(read_lock()) / "node"
    except SetupError as exc:
        pytest.fail(str(exc), pytrace=False)
    driver = tmp_path_factory.mktemp("guard") / "driver.mjs"
    driver.write_text(DRIVER)

    def run(cases: list[tuple[str, str]]) -> list:
        result = subprocess.run([str(node), str(driver), str(GUARD)], input=json.dumps(cases),
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)
    return run


SITE = "11111111-1111-4111-8111-111111111111"
OK = '{"type":"event","payload":{"website":"%s","hostname":"legal.example.org","url":"/privacy","referrer":"https://news.example.net/"}}' % SITE


def with_field(field: str) -> str:
    return '{"type":"event","payload":{"website":"%s","url":"/privacy",%s}}' % (SITE, field)


URL_REFUSED = 'payload field "url" must be a path without query or fragment'
REFERRER_REFUSED = 'payload field "referrer" must be an origin such as "https://example.org/"'
HOSTNAME_REFUSED = ('payload field "hostname" must be a hostname such as "legal.example.org" '
                    '(lowercase, at most 100 characters)')

BODIES = [
    (OK, None),
    ('{"type":"event","payload":{"website":"%s"}}' % SITE, None),
    ('{"type":"event","payload":{"website":"%s","url":"/","referrer":"http://198.51.100.7:8080/"}}' % SITE, None),
    (with_field('"ip":"203.0.113.9"'), 'payload field "ip" is not accepted'),
    (with_field('"\\u0069p":"203.0.113.9"'), 'payload field "ip" is not accepted'),
    (with_field('"\\u0049P":"203.0.113.9"'), 'payload field "IP" is not accepted'),
    (with_field('"user\\u0041gent":"x"'), 'payload field "userAgent" is not accepted'),
    (with_field('"browser":"x"'), 'payload field "browser" is not accepted'),
    (with_field('"os":"x"'), 'payload field "os" is not accepted'),
    (with_field('"device":"x"'), 'payload field "device" is not accepted'),
    (with_field('"timestamp":1'), 'payload field "timestamp" is not accepted'),
    (with_field('"id":"u"'), 'payload field "id" is not accepted'),
    (with_field('"data":{}'), 'payload field "data" is not accepted'),
    (with_field('"__proto__":{"ip":"1.2.3.4"}'), 'payload field "__proto__" is not accepted'),
    (with_field('"url":"/a#b"'), 'payload field "url" must be a path without query or fragment'),
    (with_field('"referrer":"https://x.example/path"'),
     'payload field "referrer" must be an origin such as "https://example.org/"'),
    (with_field('"referrer":"javascript://x/"'),
     'payload field "referrer" must be an origin such as "https://example.org/"'),
    (with_field('"url":5'), 'payload field "url" must be a string'),
    # What the WHATWG parser Umami resolves `url` with reads as another host, or not a path.
    (with_field('"url":"//evil.example/x"'), URL_REFUSED),
    (with_field('"url":"/\\\\evil.example/x"'), URL_REFUSED),
    (with_field('"url":"privacy"'), URL_REFUSED),
    (with_field('"url":""'), URL_REFUSED),
    # Umami would store a query of the base URL: the hostname may not carry one.
    ('{"type":"event","payload":{"website":"%s","hostname":"legal.example.org/?utm_source=a@b.example",'
     '"url":""}}' % SITE, HOSTNAME_REFUSED),
    # Origins as the hook sends them (URL.origin + "/"), to the letter.
    (with_field('"referrer":"https://news.example.net\\\\alice-smith/"'), REFERRER_REFUSED),
    (with_field('"referrer":"https://user:pw@news.example.net/"'), REFERRER_REFUSED),
    (with_field('"referrer":"https://News.example.net/"'), REFERRER_REFUSED),
    (with_field('"referrer":"https://news.example.net"'), REFERRER_REFUSED),
    (with_field('"referrer":"https://news.example.net:443/"'), REFERRER_REFUSED),
    (with_field('"url":"/\\u0000x"'), 'payload field "url" must not contain a control character'),
    (with_field('"url":"/a\\u001fb"'), 'payload field "url" must not contain a control character'),
    (with_field('"url":"/a\\u007f"'), 'payload field "url" must not contain a control character'),
    (with_field('"referrer":"https://x.example/\\n"'),
     'payload field "referrer" must not contain a control character'),
    (with_field('"hostname":"legal.example.org\\t"'),
     'payload field "hostname" must not contain a control character'),
    ('{"type":"event","payload":{"website":"%s\\u0000"}}' % SITE,
     'payload field "website" must not contain a control character'),
    (with_field('"url":"/caf\\u00e9\\u0080"'), None),
    (with_field('"hostname":"xn--caf-dma.example-1.org"'), None),
    (with_field('"hostname":"127.0.0.1"'), None),
    (with_field('"hostname":"%s"' % ("a" * 96 + ".org")), None),
    (with_field('"hostname":"%s"' % ("a" * 97 + ".org")), HOSTNAME_REFUSED),
    (with_field('"hostname":"fuzz.exa,mple.org"'), HOSTNAME_REFUSED),
    (with_field('"hostname":"Legal.example.org"'), HOSTNAME_REFUSED),
    (with_field('"hostname":"-legal.example.org"'), HOSTNAME_REFUSED),
    (with_field('"hostname":"legal-.example.org"'), HOSTNAME_REFUSED),
    (with_field('"hostname":"legal..example.org"'), HOSTNAME_REFUSED),
    (with_field('"hostname":"legal.example.org."'), HOSTNAME_REFUSED),
    (with_field('"hostname":"legal.example.org:8080"'), HOSTNAME_REFUSED),
    (with_field('"hostname":"legal_site.example.org"'), HOSTNAME_REFUSED),
    (with_field('"hostname":""'), HOSTNAME_REFUSED),
    ('{"type":"event","payload":{"website":"%s"},"type":"identify"}' % SITE, 'type "identify" is not accepted'),
    ('{"payload":{"website":"%s"}}' % SITE, "type null is not accepted"),
    ('{"type":"event"}', "payload must be a JSON object"),
    ('{"type":"event","payload":[]}', "payload must be a JSON object"),
    ('null', "the body must be a JSON object"),
    ('', "the body is not JSON"),
]


def test_collect_bodies(run_guard):
    assert run_guard([("body", body) for body, _ in BODIES]) == [reason for _, reason in BODIES]


PATHS = [("/api/send", "/api/send"), ("/API/Send/", "/api/send"), ("//api///send//", "/api/send"),
         ("/api/%73end", "/api/send"), ("/api/%2573end", "/api/send"), ("/api%2Fbatch", "/api/batch"),
         ("/api/%zz", "/api/%zz"), ("/", "/")]


def test_path_spellings(run_guard):
    assert run_guard([("path", raw) for raw, _ in PATHS]) == [normal for _, normal in PATHS]


def test_custom_collect_endpoint_with_or_without_its_slash(run_guard):
    """Umami's matcher rewrites COLLECT_API_ENDPOINT "api/p" as "/api/p": so must the guard,
    or a setting without its slash would let every body through unchecked."""
    cases = [("collect", "/api/p"), ("collect", "api/p"), ("collect", "//api/p/"), ("collect", "")]
    assert run_guard(cases) == [["/api/send", "/api/p"]] * 3 + [["/api/send"]]
