"""The preview in a real headless Chromium (Debian's), driven by Playwright for Python.

Pages are opened once and never reloaded by the test: every change must reach
the page through the reload script and its event stream.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import FIXTURE, FIXTURE_DAY, REPO, copy_lock_for_editing
from legalsite.pipeline import Project
from legalsite.preview import PreviewServer

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (scripts/test does)")
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (scripts/test installs it)")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
TIMEOUT = 10_000  # ms


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(FIXTURE / "content", root / "content")
    shutil.copy(FIXTURE / "site.toml", root / "site.toml")
    copy_lock_for_editing(root)  # the upcoming privacy/2026-08-01 stays unlocked: free to edit
    shutil.copytree(REPO / "templates", root / "templates")
    server = PreviewServer(Project.at(root), port=0, as_of=dt.date.fromisoformat(FIXTURE_DAY),
                           out=io.StringIO(), err=io.StringIO()).start()
    try:
        yield root, server.url
    finally:
        server.stop()


def open_page(browser, url: str):
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(url)
    page.wait_for_function("() => document.querySelector('script[data-etag]') !== null")
    page.wait_for_timeout(150)  # the event stream connects
    return page, errors


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_edit_a_sentence_the_page_shows_it_and_keeps_its_scroll(browser, site):
    root, url = site
    source = root / "content" / "privacy" / "2026-08-01.md"  # the upcoming version: not locked
    with source.open("a", encoding="utf-8") as f:  # make the page long enough to scroll
        f.write("\n\n## 9. Filler\n\n" + "\n\n".join(f"Filler paragraph {n}." for n in range(80)) + "\n")
    page, console_errors = open_page(browser, url + "privacy/2026-08-01/")
    page.evaluate("window.scrollTo(0, 900)")
    page.wait_for_function("() => window.scrollY >= 900")
    edit(source, "We collect your email", "We collect only your work email")
    page.wait_for_function("() => document.body.innerText.includes('We collect only your work email')")
    page.wait_for_function("() => Math.abs(window.scrollY - 900) < 5")
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
    page.close()


def test_broken_front_matter_shows_file_and_line_then_the_page_comes_back(browser, site):
    root, url = site
    source = root / "content" / "privacy" / "2026-08-01.md"
    good = source.read_text(encoding="utf-8")
    page, _ = open_page(browser, url + "privacy/2026-08-01/")
    other, _ = open_page(browser, url + "terms/")
    other.evaluate("window.__marker = 'untouched'")
    source.write_text(good.replace("effective: 2026-08-01", "effective: 2026-08-01\nsumary: typo"), encoding="utf-8")
    page.wait_for_function("() => document.body.innerText.includes('content/privacy/2026-08-01.md:4')")
    assert "unknown field 'sumary'" in page.inner_text("body")
    source.write_text(good, encoding="utf-8")
    page.wait_for_function("() => document.querySelector('h1#policy-title') !== null")
    assert "Privacy Policy" in page.inner_text("h1")
    assert other.evaluate("window.__marker") == "untouched", "a page of another policy must not reload"
    page.close(), other.close()


def test_template_edit_reloads_every_open_page(browser, site):
    root, url = site
    pages = [open_page(browser, url + path)[0] for path in ("", "privacy/", "terms/2026-02-01/", "changelog/")]
    edit(root / "templates" / "base.html", "<main id=\"main\"", "<p class=\"preview-test\">Template edited</p>\n<main id=\"main\"")
    for page in pages:
        page.wait_for_function("() => document.body.innerText.includes('Template edited')")
        page.close()
