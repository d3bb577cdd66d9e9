"""End to end in Chromium: the shipped site, built with analytics on and served by Caddy, loads
the real tracker from the real Umami (behind umami/Caddyfile) through the site's own tag, and a
page view lands in PostgreSQL exactly as umami/DATA.md says: only the tables and columns it
lists as filled, the country of the visitor's address, no query string, no fragment, the
referrer as an origin; no cookie or storage anywhere; with Do-Not-Track nothing is stored.

Chromium (Debian's, driven by Playwright) runs inside the visitor's network namespace with a
real desktop user agent (Umami's bot check stays on). The site's settings take plain http only
on loopback origins, so the pages use 127.0.0.1 (site), 127.0.0.2 (a referring "news" site)
and 127.0.0.3 (analytics); inside the namespace real/relay.py carries those connections to
Caddy, which sees the visitor's non-local address as the TCP peer.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from legalsite.pipeline import Project, build
from real.harness import ANALYTICS_LOOPBACK
from real.processes import Server, free_port
from real.relay import relaying
from real.visitor import DESKTOP_UA
from umami_support import REPO, UMAMI

sys.path.insert(0, str(REPO / "tests" / "browser"))
import browser_harness as h  # noqa: E402  (Chromium flags and the page-state probe)

SITE_HOST, NEWS_HOST = "127.0.0.1", "127.0.0.2"
SECRETS = ("utm_source", "newsletter", "email", "someone", "section-2")
# Debian's Chromium with the suite's flags; no name and no other address resolves.
CHROMIUM_ARGS = [a for a in h.CHROMIUM_ARGS if not a.startswith("--host-resolver-rules")] + [
    f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {SITE_HOST} , EXCLUDE {NEWS_HOST} , "
    f"EXCLUDE {ANALYTICS_LOOPBACK}"]
QUERY_AND_FRAGMENT = "?utm_source=newsletter&email=someone%40example.com#section-2"


def data_md_filled() -> dict[str, set[str]]:
    """DATA.md's per-table sections ("... table `x`"): the columns whose value with this
    configuration is not "empty" (the first word of the value cell)."""
    filled: dict[str, set[str]] = {}
    for section in (UMAMI / "DATA.md").read_text().split("\n## ")[1:]:
        title, body = section.split("\n", 1)
        table = re.search(r"table `(\w+)`$", title)
        if not table:
            continue
        for names, value in re.findall(r"^\| (`.+?`) \| (.+?) \|", body, re.M):
            if not value.startswith("empty"):
                filled.setdefault(table.group(1), set()).update(re.findall(r"`(\w+)`", names))
    return filled


def visitor_tables(umami) -> list[str]:
    """Every table with a website_id column except the configuration ones DATA.md keeps."""
    rows = umami.psql("SELECT table_name FROM information_schema.columns WHERE table_schema = "
                      "'public' AND column_name = 'website_id' ORDER BY table_name")
    return [t for t in rows.splitlines() if t not in ("website", "report", "segment")]


def filled_columns(umami, website: str) -> dict[str, set[str]]:
    """Per table: the columns holding a non-empty value in any row of `website`."""
    out = {}
    for table in visitor_tables(umami):
        rows = umami.psql(f"SELECT row_to_json(t) FROM \"{table}\" t WHERE website_id = '{website}'")
        for row in rows.splitlines():
            for column, value in json.loads(row).items():
                if value not in (None, ""):
                    out.setdefault(table, set()).add(column)
    return out


def wait_rows(umami, website: str, count: int, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while True:
        found = int(umami.psql(f"SELECT count(*) FROM website_event WHERE website_id = '{website}'"))
        if found >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.fixture(scope="module")
def e2e(real_umami, tmp_path_factory):
    """The built site and a referring page on a real Caddy, the relay, a Chromium launcher."""
    root = tmp_path_factory.mktemp("e2e")
    site_port, news_port = free_port(), free_port()
    website = real_umami.add_website(domain=SITE_HOST, name="legal site (browser test)")
    site_origin = f"http://{SITE_HOST}:{site_port}"
    settings = (REPO / "site.toml").read_text().split("[analytics]")[0]
    settings = re.sub(r"(?m)^base_url = .*$", f'base_url = "{site_origin}"', settings)
    settings += (f'\n[analytics]\norigin = "{real_umami.caddy_loopback_url}"\n'
                 f'website_id = "{website}"\nscript_path = "/s.js"\ndomains = ["{SITE_HOST}"]\n')
    (root / "site.toml").write_text(settings)
    site = root / "site"
    build(Project.at(REPO, content=REPO / "content", settings=root / "site.toml"), site, dt.date.today())
    news = root / "news"
    news.mkdir()
    target = f"{site_origin}/privacy/{QUERY_AND_FRAGMENT}"
    (news / "index.html").write_text(f'<!doctype html><title>news</title><a id="to-site" href="{target}">policy</a>')
    caddyfile = root / "Caddyfile"
    caddyfile.write_text(
        "{\n\tadmin off\n\tauto_https off\n}\n"
        f"http://{SITE_HOST}:{site_port} {{\n\troot * {site}\n"
        f"\timport {site}/_caddy/security-headers.caddy\n\tfile_server\n}}\n"
        f"http://{NEWS_HOST}:{news_port} {{\n\troot * {news}\n\tfile_server\n}}\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "XDG_DATA_HOME": str(root / "data"),
           "XDG_CONFIG_HOME": str(root / "config")}
    caddy = Server("site Caddy", ["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
                   env, root / "caddy.log").start()
    chromium = root / "chromium-in-namespace"
    chromium.write_text("#!/bin/sh\nexec " + " ".join(real_umami.in_namespace(h.CHROMIUM)) + ' "$@"\n')
    chromium.chmod(0o755)
    try:
        caddy.wait_http(real_umami.ns.host_ip, site_port, "/", host_header=f"{SITE_HOST}:{site_port}")
        with relaying(real_umami.ns, [(SITE_HOST, site_port), (NEWS_HOST, news_port),
                                      (ANALYTICS_LOOPBACK, real_umami.caddy_port)]):
            yield {"website": website, "site": site_origin, "news": f"http://{NEWS_HOST}:{news_port}/",
                   "chromium": str(chromium), "profile": root / "profile", "site_dir": site}
    finally:
        caddy.stop()


@pytest.fixture(scope="module")
def pw():
    with sync_playwright() as p:
        yield p


def watch(context) -> dict:
    """Every request URL and every Set-Cookie the context sees."""
    seen = {"requests": [], "set_cookie": []}
    context.on("request", lambda r: seen["requests"].append(r.url))
    context.on("response", lambda r: seen["set_cookie"].extend(
        f"{r.url}: {v}" for k, v in r.headers.items() if k.lower() == "set-cookie"))
    return seen


def test_a_visit_lands_in_postgresql_exactly_as_data_md_says(e2e, real_umami, pw):
    website, origins = e2e["website"], (e2e["site"], e2e["news"].rstrip("/"), real_umami.caddy_loopback_url)
    browser = pw.chromium.launch(executable_path=e2e["chromium"], args=CHROMIUM_ARGS, headless=True)
    try:
        context = browser.new_context(user_agent=DESKTOP_UA)
        seen = watch(context)
        page = context.new_page()
        page.goto(e2e["news"])
        page.click("#to-site")  # arrives from another site, with a query string and a fragment
        assert wait_rows(real_umami, website, 1) == 1, real_umami.umami_log.read_text()[-2000:]
        first = page.evaluate(h.STATE_SCRIPT)
        # ... then a link within the site, to the home page
        page.evaluate("[...document.links].find(a => a.href === location.origin + '/').click()")
        assert wait_rows(real_umami, website, 2) == 2
        page.wait_for_timeout(500)
        second = page.evaluate(h.STATE_SCRIPT)
        jar = context.cookies()
        context.close()
    finally:
        browser.close()

    events = real_umami.psql(
        "SELECT quote_nullable(url_path), quote_nullable(url_query), quote_nullable(referrer_domain), "
        "quote_nullable(referrer_path), quote_nullable(referrer_query), hostname, event_type, "
        "quote_nullable(page_title) FROM website_event "
        f"WHERE website_id = '{website}' ORDER BY created_at")
    # DATA.md: path without its trailing slash (home: empty), no query; the referring site's
    # host and "/" only, empty for a link within the site.
    assert events.splitlines() == [f"'/privacy'|''|'{NEWS_HOST}'|'/'|''|{SITE_HOST}|1|NULL",
                                   f"''|''|NULL|NULL|NULL|{SITE_HOST}|1|NULL"]
    sessions = real_umami.psql("SELECT browser, os, device, country, region IS NULL, city IS NULL "
                               f"FROM session WHERE website_id = '{website}'")
    assert sessions.splitlines() == ["chrome|Linux|desktop|IS|t|t"]  # IS: real/geo.py, 198.51.100.0/24
    everything = real_umami.psql(  # every stored value of the visit, as text
        f"SELECT v.value FROM website_event e, json_each_text(row_to_json(e)) v WHERE e.website_id = '{website}' "
        f"UNION ALL SELECT v.value FROM session s, json_each_text(row_to_json(s)) v WHERE s.website_id = '{website}'")
    assert [secret for secret in SECRETS if secret in everything] == []
    assert "#" not in everything and "?" not in everything
    assert filled_columns(real_umami, website) == data_md_filled()

    for state in (first, second):
        assert (state["cookie"], state["local"], state["session"], state["indexeddb"], state["caches"],
                state["workers"], state["umami"]) == ("", [], [], [], [], 0, "object")
    assert (jar, seen["set_cookie"]) == ([], [])
    assert sorted({u for u in seen["requests"] if not u.startswith(origins)}) == []
    assert f"{real_umami.caddy_loopback_url}/s.js" in seen["requests"]
    assert sum(u == f"{real_umami.caddy_loopback_url}/api/p" for u in seen["requests"]) == 2


def test_do_not_track_stores_nothing(e2e, real_umami, pw):
    website = e2e["website"]
    before = real_umami.psql(f"SELECT count(*) FROM website_event WHERE website_id = '{website}'")
    profile = e2e["profile"]
    (profile / "Default").mkdir(parents=True, exist_ok=True)
    (profile / "Default" / "Preferences").write_text('{"enable_do_not_track": true}')
    context = pw.chromium.launch_persistent_context(
        str(profile), executable_path=e2e["chromium"], args=CHROMIUM_ARGS, headless=True,
        user_agent=DESKTOP_UA)
    try:
        seen = watch(context)
        page = context.new_page()
        page.goto(f"{e2e['site']}/privacy/")
        page.wait_for_function("typeof window.umami === 'object'")
        page.wait_for_timeout(2000)
        state = page.evaluate(h.STATE_SCRIPT)
        jar = context.cookies()
    finally:
        context.close()
    assert state["dnt"] == "1"  # the browser's own setting is on, and the tracker did load
    assert f"{real_umami.caddy_loopback_url}/s.js" in seen["requests"]
    assert [u for u in seen["requests"] if u.endswith("/api/p")] == []
    assert real_umami.psql(f"SELECT count(*) FROM website_event WHERE website_id = '{website}'") == before
    assert (jar, state["cookie"], state["local"], state["session"]) == ([], "", [], [])


def test_every_page_of_the_shipped_site_lands_once_with_its_own_path(e2e, real_umami, pw):
    """The real tracker on every page (what the stand-in tracker of tests/browser approximates):
    one page view each, stored with the page's path only, in one session, with no CSP violation."""
    website = e2e["website"]
    known = f"SELECT event_id FROM website_event WHERE website_id = '{website}'"
    earlier = set(real_umami.psql(known).splitlines())
    paths = h.page_paths(e2e["site_dir"])
    assert len(paths) >= 5 and "/privacy/" in paths
    browser = pw.chromium.launch(executable_path=e2e["chromium"], args=CHROMIUM_ARGS, headless=True)
    try:
        context = browser.new_context(user_agent=DESKTOP_UA)
        context.add_init_script(h.INIT_SCRIPT)
        page = context.new_page()
        violations = []
        for path in paths:  # each page's send answered before the next page starts
            with page.expect_response(lambda r: r.url == f"{real_umami.caddy_loopback_url}/api/p") as sent:
                page.goto(e2e["site"] + path + QUERY_AND_FRAGMENT)
            assert sent.value.status == 200, path
            violations += page.evaluate("window.__csp")
        context.close()
    finally:
        browser.close()

    def new_rows() -> list[tuple[str, str, str]]:  # (event_id, url_path, session_id) not seen before
        rows = real_umami.psql(f"SELECT event_id, url_path, session_id FROM website_event "
                               f"WHERE website_id = '{website}'").splitlines()
        return [tuple(r.split("|")) for r in rows if r.split("|")[0] not in earlier]

    def stored():
        return sorted(path for _, path, _ in new_rows())

    expected = sorted("" if p == "/" else p.rstrip("/") for p in paths)  # REMOVE_TRAILING_SLASH
    deadline = time.monotonic() + 20
    while len(stored()) < len(expected) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stored() == expected
    assert violations == []
    assert len({session for _, _, session in new_rows()}) == 1
