"""The tracker tag, the Content-Security-Policy and the host header files, as built."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from conftest import FIXTURE, FIXTURE_DAY, REPO
from legalsite.pipeline import Project, render

ANALYTICS = """
[analytics]
origin = "https://stats.example.com"
website_id = "6b9f1c2e-0000-4000-8000-000000000001"
script_path = "/s.js"
domains = ["legal.example.com", "www.legal.example.com"]
"""


@pytest.fixture
def settings_on(tmp_path):
    path = tmp_path / "site.toml"
    path.write_text((FIXTURE / "site.toml").read_text() + ANALYTICS)
    return path


def files_of(settings, drafts=False, tracker=True) -> dict[str, str]:
    project = Project.at(REPO, content=FIXTURE / "content", settings=settings)
    files = render(project, dt.date.fromisoformat(FIXTURE_DAY), drafts, tracker=tracker).files
    return {path: data.decode() for path, data in files.items()}


class Scripts(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.scripts, self.csp, self.referrer = [], [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(dict(attrs))
        if tag == "meta" and dict(attrs).get("http-equiv") == "Content-Security-Policy":
            self.csp.append(dict(attrs)["content"])
        if tag == "meta" and dict(attrs).get("name") == "referrer":
            self.referrer.append(dict(attrs)["content"])


def pages(files):
    return {path: Scripts(text) for path, text in files.items() if path.endswith(".html")}


def test_every_page_has_exactly_one_deferred_tracker_tag_with_the_privacy_attributes(settings_on):
    files = files_of(settings_on)
    assert len(pages(files)) >= 10
    for path, page in pages(files).items():
        trackers = [s for s in page.scripts if s.get("src", "").startswith("https://stats.example.com")]
        assert trackers == [{
            "defer": None,
            "src": "https://stats.example.com/s.js",
            "data-website-id": "6b9f1c2e-0000-4000-8000-000000000001",
            "data-domains": "legal.example.com,www.legal.example.com",
            "data-do-not-track": "true",
            "data-exclude-search": "true",
            "data-exclude-hash": "true",
            # Umami 3.x keeps a visitor id in localStorage unless this is "false".
            "data-identity-stitching": "false",
            "data-before-send": "umamiBeforeSend",
        }], path
        hooks = [s for s in page.scripts if s is not trackers[0]]
        assert len(hooks) == 1 and hooks[0]["src"].endswith("assets/umami-before-send.js") and "defer" in hooks[0], path
        assert page.scripts.index(hooks[0]) < page.scripts.index(trackers[0]), "the hook must be defined before the tracker runs"
        assert page.csp == ["default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self' https://stats.example.com; "
                            "connect-src 'self' https://stats.example.com; base-uri 'none'; form-action 'none'"], path
    assert "umamiBeforeSend" in files["assets/umami-before-send.js"]


@pytest.mark.parametrize("how", ["analytics off", "drafts build", "preview (tracker=False)"])
def test_no_page_has_any_script_without_the_tracker(how, settings_on):
    files = {"analytics off": lambda: files_of(FIXTURE / "site.toml"),
             "drafts build": lambda: files_of(settings_on, drafts=True),
             "preview (tracker=False)": lambda: files_of(settings_on, tracker=False)}[how]()
    for path, page in pages(files).items():
        assert page.scripts == [], path
        assert page.csp == ["default-src 'none'; style-src 'self'; img-src 'self'; script-src 'none'; "
                            "connect-src 'self'; base-uri 'none'; form-action 'none'"], path
    assert not any(path.endswith(".js") for path in files), "no script file without the tracker"
    assert "stats.example.com" not in "".join(files.values())


def test_csp_has_no_unsafe_or_wildcard_and_headers_match_the_meta(settings_on):
    files = files_of(settings_on)
    meta = pages(files)["index.html"].csp[0]
    assert not re.search(r"unsafe-|\*|data:|blob:|http:", meta)
    headers = dict(line.strip().split(": ", 1) for line in files["_headers"].splitlines()[3:])
    assert files["_headers"].splitlines()[2] == "/*"
    assert headers == {
        "Content-Security-Policy": meta + "; frame-ancestors 'none'",
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": headers["Permissions-Policy"],
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }
    assert all(part.endswith("=()") for part in headers["Permissions-Policy"].split(", "))
    assert {"camera=()", "geolocation=()", "microphone=()", "browsing-topics=()"} <= set(headers["Permissions-Policy"].split(", "))
    caddy = files["_caddy/security-headers.caddy"]
    for name, value in headers.items():
        assert f'\t{name} "{value}"\n' in caddy
    assert "_headers" not in files["sitemap.xml"] and "_caddy" not in files["sitemap.xml"]


def test_host_files_are_deterministic(settings_on):
    a, b = files_of(settings_on), files_of(settings_on)
    assert a["_headers"] == b["_headers"] and a["_caddy/security-headers.caddy"] == b["_caddy/security-headers.caddy"]


@pytest.mark.skipif(shutil.which("caddy") is None and not os.environ.get("CI"), reason="caddy not installed (scripts/test installs it)")
@pytest.mark.parametrize("analytics", [False, True])
def test_caddy_accepts_the_snippet(analytics, settings_on, tmp_path):
    files = files_of(settings_on if analytics else FIXTURE / "site.toml")
    site = tmp_path / "site"
    for path, text in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(text)
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text("{\n\tadmin off\n\tauto_https off\n}\n"
                         f"http://127.0.0.1:1 {{\n\troot * {site}\n\timport {site}/_caddy/security-headers.caddy\n\tfile_server\n}}\n")
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(["caddy", "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
                            capture_output=True, text=True, env=env, check=False, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid configuration" in result.stdout + result.stderr
    # And a broken snippet is refused, so this test can fail.
    (site / "_caddy/security-headers.caddy").write_text(files["_caddy/security-headers.caddy"].replace("}\n", "", 1))
    broken = subprocess.run(["caddy", "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
                            capture_output=True, text=True, env=env, check=False, timeout=60)
    assert broken.returncode != 0


def test_every_page_sends_no_referrer_even_where_the_host_ignores_headers(settings_on):
    # GitHub Pages, for one, does not send _headers: the page itself must say it.
    for path, page in pages(files_of(settings_on)).items():
        assert page.referrer == ["no-referrer"], path
