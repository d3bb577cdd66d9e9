"""What readers see, in a real Chromium with JavaScript off (issue 15): nothing scrolls
sideways at 320 px (wide tables scroll in their own box, their hidden labels inside it),
section permalinks appear on hover and focus, the contents stay beside the text on wide
screens, any two versions can be compared by following links, and the printed page
drops the navigation and carries the page's address, date, status and build day.

The site: the benchmark corpus (benchmarks/corpus.py: sections, lists, tables,
definition lists and links) with two policies of four versions, compare pages on, plus a
policy with a table far wider than a phone; served by a real Caddy on loopback.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from pathlib import Path

import pytest

from conftest import REPO
from legalsite.pipeline import Project, build

import browser_harness as h

sys.path.insert(0, str(REPO))
from benchmarks.corpus import AS_OF, lock_text, write_corpus  # noqa: E402

playwright_api = pytest.importorskip("playwright.sync_api") if not os.environ.get("CI") else __import__("playwright.sync_api").sync_api
MISSING = [what for what, ok in (("chromium", Path(h.CHROMIUM).exists()), ("caddy", shutil.which("caddy"))) if not ok]
pytestmark = pytest.mark.skipif(bool(MISSING) and not os.environ.get("CI"),
                                reason=f"not installed: {', '.join(MISSING)} (./scripts/test installs them)")

WIDE = """---
title: Data Retention Schedule
effective: {day}
{summary}---

## 1. What we keep and for how long

| Category | System of record | Retention period | Legal basis | Deletion method | Reviewed by | Notes |
| --- | --- | --- | --- | --- | --- | --- |
| API request metadata | Gateway logs (https://logs.internal.example.com/a/very/long/path/that/does/not/wrap) | 30 days | Legitimate interest | Automatic expiry | Security engineering | Aggregates kept |
| Billing records | Accounting ledger | Ten years after the financial year ends | Legal obligation | Manual review, then secure erasure | Finance | Required by tax law |

## 2. Questions

Supercalifragilisticexpialidociousandevenlongerwordsthatneverbreakanywhereatall.
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("reader")
    corpus = write_corpus(root, 2, 4)
    settings = corpus.settings.read_text().replace("compare_any_two = false", "compare_any_two = true")
    port = h.free_port()
    settings = settings.replace('base_url = "https://legal.example.com"', f'base_url = "http://127.0.0.1:{port}"')
    (root / "site.toml").write_text(settings)
    for day, summary in (("2020-01-01", ""), ("2021-01-01", "summary: Billing records.\n"),
                         ("2022-01-01", "summary: Notes.\n")):
        path = root / "content" / "retention" / f"{day}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = WIDE.format(day=day, summary=summary)
        path.write_text(body if day != "2022-01-01" else body.replace("Aggregates kept", "Aggregates only"))
    # the added policy's versions locked as the corpus's are: each published 30 days ahead
    (root / "versions.lock").write_bytes(lock_text(root / "content", {
        p: p.read_bytes() for p in (root / "content").rglob("*.md")}))
    out = root / "_site"
    build(Project.at(REPO, content=root / "content", settings=root / "site.toml"), out, AS_OF)
    with h.CaddySite(out, port) as server:
        yield out, server.origin


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as pw:
        browser = h.launch(pw)
        yield browser
        browser.close()


def context(browser, width: int, height: int = 800):
    return browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=False)


OVERFLOW = """() => {
  const root = document.documentElement;
  const boxes = [...document.querySelectorAll('table')].map(t => {
    const box = t.parentElement;
    return {inBox: box.classList.contains('table-scroll'), boxRight: box.getBoundingClientRect().right,
            wide: box.scrollWidth > box.clientWidth,
            hidden: [...t.querySelectorAll('.visually-hidden')].map(e => e.offsetParent === box)};
  });
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, boxes};
}"""


def test_no_page_scrolls_sideways_at_320_px(site, browser):
    out, origin = site
    paths = h.page_paths(out)
    assert len(paths) > 30 and any("/compare/" in p for p in paths)
    ctx = context(browser, 320, 640)
    page = ctx.new_page()
    wide_boxes = 0
    for path in paths:
        page.goto(origin + path)
        got = page.evaluate(OVERFLOW)
        assert got["scrollWidth"] <= got["clientWidth"] == 320, (path, got["scrollWidth"])
        for box in got["boxes"]:
            assert box["inBox"] and box["boxRight"] <= 320, (path, box)
            assert all(box["hidden"]), f"{path}: a hidden label is positioned outside its table's box"
            wide_boxes += box["wide"]
    ctx.close()
    assert wide_boxes >= 3, "the wide tables must actually have scrolled inside their boxes"


def test_the_history_tables_hidden_labels_stay_inside_the_table(site, browser):
    out, origin = site
    ctx = context(browser, 320, 640)
    page = ctx.new_page()
    page.goto(origin + "/retention/history/")
    labels = page.evaluate("""() => [...document.querySelectorAll('.history .visually-hidden')].map(
        e => e.offsetParent && e.offsetParent.classList.contains('table-scroll'))""")
    assert labels and all(labels)
    ctx.close()


def test_permalink_shows_on_hover_and_on_keyboard_focus(site, browser):
    _, origin = site
    ctx = context(browser, 1280)
    page = ctx.new_page()
    page.goto(origin + "/retention/")
    link = page.locator(".section-heading .permalink").first
    opacity = "e => getComputedStyle(e).opacity"
    assert link.evaluate(opacity) == "0"
    page.locator(".section-heading h2").first.hover()
    assert link.evaluate(opacity) == "1"
    page.mouse.move(0, 0)
    assert link.evaluate(opacity) == "0"
    # Tab from the last link before the body to the first permalink.
    page.locator(".toc a").last.focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "permalink"
    assert link.evaluate(opacity) == "1"
    page.keyboard.press("Enter")
    assert page.url.endswith("#what-we-keep-and-for-how-long")
    ctx.close()


def test_contents_stay_at_hand_on_wide_screens_only(site, browser):
    out, origin = site
    path = next(p for p in h.page_paths(out) if p.startswith("/privacy/20") and "changes" not in p)
    where = """() => { const r = document.querySelector('.toc').getBoundingClientRect();
                       const b = document.querySelector('.policy-body').getBoundingClientRect();
                       return {top: r.top, bottom: r.bottom, left: r.left, bodyRight: b.right}; }"""
    ctx = context(browser, 1280, 800)
    page = ctx.new_page()
    page.goto(origin + path)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight / 2)")
    got = page.evaluate(where)
    assert got["top"] == 16 and got["bottom"] <= 800 and got["left"] > got["bodyRight"], got
    assert page.locator(".back-to-top a").get_attribute("href") == "#top"
    ctx.close()
    ctx = context(browser, 320, 640)  # a phone: the contents come first, in the flow
    page = ctx.new_page()
    page.goto(origin + path)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight / 2)")
    assert page.evaluate(where)["bottom"] < 0
    ctx.close()


def test_any_two_versions_are_compared_by_following_links(site, browser):
    _, origin = site
    ctx = context(browser, 1280)
    page = ctx.new_page()
    page.goto(origin + "/retention/2020-01-01/")
    page.get_by_text("Compare with another version").click()
    page.get_by_role("link", name="Compare with 1 January 2022").click()
    assert page.url == origin + "/retention/compare/2020-01-01/2022-01-01/"
    assert page.locator("h1").inner_text() == "Data Retention Schedule: 1 January 2020 compared with 1 January 2022"
    changed = " ".join(page.locator(".redline").all_inner_texts())
    assert "Aggregates" in changed and "only" in changed  # the second change is in the redline
    assert page.locator(".between li").count() == 2  # and both summaries above it
    ctx.close()


def test_print_drops_navigation_and_carries_the_facts(site, browser):
    _, origin = site
    ctx = context(browser, 800)
    page = ctx.new_page()
    page.goto(origin + "/retention/2020-01-01/")
    display = "e => getComputedStyle(e).display"
    assert page.locator(".print-facts").evaluate(display) == "none"  # on screen: not shown
    page.emulate_media(media="print")
    for selector in (".site-header nav", ".site-footer", ".skip-link", ".policy-tools", ".toc", ".permalink"):
        for element in page.locator(selector).all():
            assert element.evaluate(display) == "none", selector
    facts = page.locator(".print-facts")
    assert facts.evaluate(display) == "grid"
    assert facts.inner_text().split("\n") == [
        "Address", f"{origin}/retention/2020-01-01/", "Effective", "1 January 2020",
        f"Status on {AS_OF.day} January {AS_OF.year}", "Superseded: replaced by the version of 1 January 2021",
        "Page built", f"{AS_OF.day} January {AS_OF.year}"]
    assert page.pdf(format="A4")[:5] == b"%PDF-"  # and Chromium prints it
    ctx.close()


def test_the_page_may_fetch_its_own_robots_txt_and_nothing_elsewhere(site, browser):
    """Lighthouse's SEO audit fetches /robots.txt from the page, under the page's CSP (issue 15:
    with connect-src 'none' that fetch failed and the SEO score was 92). 'self' lets it through;
    any other origin, even another loopback port, stays blocked."""
    _, origin = site
    ctx = browser.new_context()
    page = ctx.new_page()
    response = page.goto(origin + "/retention/")
    assert "connect-src 'self';" in response.headers["content-security-policy"]
    fetch = """url => fetch(url).then(r => r.status, e => 'blocked: ' + e.name)"""
    assert page.evaluate(fetch, "/robots.txt") == 200
    other = f"http://127.0.0.1:{h.free_port()}/robots.txt"
    assert page.evaluate(fetch, other) == "blocked: TypeError"
    ctx.close()
