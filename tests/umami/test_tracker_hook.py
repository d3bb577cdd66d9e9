"""legalsite/umami-before-send.js, run by Node.js exactly as the tracker calls it:
window[data-before-send](type, payload) -> payload to send, or falsy to cancel."""

from __future__ import annotations

import json
import subprocess

import pytest

from umami_support import UMAMI, need

HOOK = UMAMI.parent / "legalsite" / "umami-before-send.js"
WEBSITE = "5e3b0b5e-0f3c-4c1a-9b0e-1b2c3d4e5f60"
PAGE = "https://example.org/privacy/2026-01-01/?utm_source=mail&token=abc#section-3"

# The payload Umami's tracker builds (src/tracker/index.js getPayload)
FULL = {"website": WEBSITE, "screen": "1920x1080", "language": "de-DE", "title": "Privacy Policy",
        "hostname": "example.org", "url": PAGE, "referrer": "https://news.example.net/story/42?ref=feed#c",
        "tag": "campaign", "id": "user-7", "vid": "8f0c9a3e-1111-4222-8333-944455556666"}

RUNNER = r"""
const vm = require('vm');
const fs = require('fs');
const [hookPath, casesJson] = process.argv.slice(1);
const window = { location: { href: 'https://example.org/privacy/' } };
window.window = window;
const context = vm.createContext({ window, URL });
vm.runInContext(fs.readFileSync(hookPath, 'utf8'), context, { filename: hookPath });
const out = JSON.parse(casesJson).map(([type, payload]) => {
  const result = window.umamiBeforeSend(type, payload);
  return result === undefined ? null : result;
});
process.stdout.write(JSON.stringify(out));
"""


_cache: dict = {}


def _node_run(cases):
    node = need("node", "apt-get install nodejs")
    result = subprocess.run([node, "-e", RUNNER, str(HOOK), json.dumps(cases)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def run_hook(*cases):
    """Results for the given cases. All cases of this module are run by one Node.js
    process the first time (collected from the parametrizations below)."""
    keys = [json.dumps(c, sort_keys=True) for c in cases]
    missing = [c for c, k in zip(cases, keys) if k not in _cache]
    if missing:
        batch = [list(c) for c in missing] + [list(c) for c in ALL_CASES if json.dumps(c, sort_keys=True) not in _cache]
        for case, out in zip(batch, _node_run(batch)):
            _cache[json.dumps(case, sort_keys=True)] = out
    return [_cache[k] for k in keys]


def test_pageview_keeps_only_what_the_policy_names():
    [sent] = run_hook(["event", FULL])
    assert sent == {"website": WEBSITE, "hostname": "example.org", "url": "/privacy/2026-01-01/",
                    "referrer": "https://news.example.net/"}


@pytest.mark.parametrize("field", ["screen", "language", "title", "tag", "id", "vid"])
def test_identifying_or_unnamed_fields_are_dropped(field):
    [sent] = run_hook(["event", FULL])
    assert field not in sent


def test_no_query_string_or_hash_leaves_the_browser():
    [sent] = run_hook(["event", FULL])
    text = json.dumps(sent)
    for secret in ("utm_source", "token=abc", "section-3", "ref=feed", "story/42", "#"):
        assert secret not in text


CANCELLED = [
    ("identify", FULL),
    ("performance", FULL),
    ("engagement", FULL),
    ("event", {**FULL, "name": "signup"}),
    ("event", {**FULL, "data": {"plan": "pro"}}),
    ("event", {**FULL, "website": ""}),
    ("event", None),
]
REFERRERS = [("", None), ("javascript:alert(1)", None), ("not a url", None),
             ("http://old.example.com/a?b", "http://old.example.com/")]
URLS = [("/terms/?x=1#y", "/terms/"), ("https://example.org/", "/"), ("", None)]
ALL_CASES = ([["event", FULL]] + [list(c) for c in CANCELLED]
             + [["event", {**FULL, "referrer": r}] for r, _ in REFERRERS]
             + [["event", {**FULL, "url": x}] for x, _ in URLS])


@pytest.mark.parametrize("type_,payload", CANCELLED)
def test_anything_but_a_plain_pageview_is_cancelled(type_, payload):
    assert run_hook([type_, payload]) == [False]


@pytest.mark.parametrize("referrer,expected", REFERRERS)
def test_referrer_is_reduced_to_an_origin_or_dropped(referrer, expected):
    [sent] = run_hook(["event", {**FULL, "referrer": referrer}])
    assert sent.get("referrer") == expected


@pytest.mark.parametrize("url,expected", URLS)
def test_relative_and_absolute_urls(url, expected):
    [sent] = run_hook(["event", {**FULL, "url": url}])
    assert sent.get("url") == expected


def test_hook_touches_no_storage_or_cookies():
    import re
    text = re.sub(r"/\*.*?\*/", "", HOOK.read_text(), flags=re.S)  # code only, not the comment
    assert "umamiBeforeSend" in text
    for api in ("localStorage", "sessionStorage", "document.cookie", "indexedDB", "fetch(", "XMLHttpRequest"):
        assert api not in text


def test_tag_names_the_function_the_hook_defines():
    from umami_support import load_script
    provision = load_script("provision")
    settings = {"origin": "https://stats.example.org", "script_path": "/s.js", "domains": ["example.org"]}
    tags = provision.html_tags(settings, "5e3b0b5e-0f3c-4c1a-9b0e-1b2c3d4e5f60", "/assets/umami-before-send.js")
    import re
    name = re.search(r'data-before-send="([^"]+)"', tags).group(1)
    assert f"window.{name} = function" in HOOK.read_text()
    assert tags.index("/assets/umami-before-send.js") < tags.index("/s.js")  # hook runs first
