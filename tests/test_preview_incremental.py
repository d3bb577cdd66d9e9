"""Preview rebuilds (legalsite/preview.py: the build through a store that remembers) equal full builds byte for byte.

Each step edits the project on disk, rebuilds incrementally, and compares with
a fresh full build of the same tree; the counters show that the incremental
build really skipped work (so these tests fail if it silently redid everything,
or if it reused something it should not have).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from conftest import copy_lock_for_editing, FIXTURE, FIXTURE_DAY, REPO
from legalsite.preview import Builder as IncrementalBuilder
from legalsite.compare import no_page
from legalsite.model import ContentErrors
from legalsite.pipeline import Project, render

DAY = dt.date.fromisoformat(FIXTURE_DAY)


@pytest.fixture
def site(tmp_path) -> Path:
    shutil.copytree(FIXTURE / "content", tmp_path / "content")
    shutil.copy(FIXTURE / "site.toml", tmp_path / "site.toml")
    copy_lock_for_editing(tmp_path)
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    return tmp_path


def full(project: Project) -> dict[str, bytes]:
    return render(project, DAY, True, tracker=False).files


def same(outcome, project: Project) -> None:
    """The preview's build equals a full build: its files, and the pages it makes only when
    asked for (the compare pages: Outcome.later), each asked for here."""
    assert outcome.ok, outcome.errors
    expected = full(project)
    assert not [p for p in outcome.files if "/compare/" in p], "compare pages are made on request"
    made = {**outcome.files, **{p: outcome.later(p) for p in expected if p not in outcome.files}}
    differing = sorted(p for p in set(expected) | set(made) if expected.get(p) != made.get(p))
    assert not differing, f"incremental build differs from a full build in {differing}"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_sequence_of_edits_equals_full_builds(site):
    project = Project.at(site)
    builder = IncrementalBuilder(project, as_of=DAY)
    privacy, terms = site / "content" / "privacy", site / "content" / "terms"

    first = builder.build()
    # privacy 10, terms 4, site-wide 6, one compare page (compare.check; the others on request)
    assert (first.parsed, first.pages_rendered) == (5, 21)
    same(first, project)

    unchanged = builder.build()
    same(unchanged, project)
    assert (unchanged.parsed, unchanged.pages_rendered) == (0, 0)

    edit(privacy / "2026-08-01.md", "We collect your email", "We collect only your email")  # a sentence
    step = builder.build()
    assert (step.parsed, step.pages_rendered) == (1, 3), "its page, two redlines (its own, the draft's)"
    assert builder.store.misses["redline"] == 2, "only the redlines that show the edited version are redone"
    same(step, project)

    edit(privacy / "2026-08-01.md", "summary: ", "summary: In short, ")  # front matter: its policy's lists
    step = builder.build()
    assert (step.parsed, step.pages_rendered) == (1, 16), "privacy's 10 pages and the 6 site-wide ones"
    assert builder.store.misses["redline"] == 0
    same(step, project)

    edit(terms / "2026-02-01.md", "title: Terms of Service", "title: Terms of Use")  # front matter, the index changes
    step = builder.build()
    same(step, project)
    assert step.parsed == 1 and b"Terms of Use" in step.files["index.html"]

    (terms / "2026-08-01.md").write_text(  # a new version
        "---\ntitle: Terms of Use\neffective: 2026-08-01\nsummary: Kinder.\n---\n\n## Using the service\n\nBe kind.\n",
        encoding="utf-8")
    step = builder.build()
    same(step, project)
    assert step.parsed == 1 and "terms/2026-08-01/index.html" in step.files

    (terms / "2026-08-01.md").rename(terms / "2026-08-20.md")  # a rename (and the date it must match)
    edit(terms / "2026-08-20.md", "effective: 2026-08-01", "effective: 2026-08-20")
    step = builder.build()
    same(step, project)
    assert "terms/2026-08-01/index.html" not in step.files and "terms/2026-08-20/index.html" in step.files

    (privacy / "2026-09-01.md").unlink()  # a deletion
    step = builder.build()
    same(step, project)
    assert step.parsed == 0 and "privacy/2026-09-01/index.html" not in step.files

    (site / "content" / "cookies").mkdir()  # a new policy, then its removal
    (site / "content" / "cookies" / "2026-03-01.md").write_text(
        "---\ntitle: Cookie Policy\neffective: 2026-03-01\n---\n\n## Cookies\n\nNone.\n", encoding="utf-8")
    same(builder.build(), project)
    shutil.rmtree(site / "content" / "cookies")
    step = builder.build()
    same(step, project)
    assert not any(path.startswith("cookies/") for path in step.files)


def test_an_unchanged_policy_is_one_lookup(site):
    """The preview keeps each policy's pages as one entry of the store too (render.kept_apart):
    a reload finds an unchanged policy's pages under one key, not page by page; after an edit
    of one of its versions it misses that entry, finds its other pages one by one, and renders
    the three that show the edit."""
    project = Project.at(site)
    builder = IncrementalBuilder(project, as_of=DAY)
    builder.build()
    assert builder.store.misses["policy"] == 2  # privacy's, terms'
    unchanged = builder.build()
    assert (builder.store.hits["policy"], builder.store.misses["policy"]) == (2, 0)
    assert (builder.store.hits["page"], builder.store.misses["page"]) == (6, 0)  # the site-wide pages
    same(unchanged, project)

    edit(site / "content" / "privacy" / "2026-08-01.md", "We collect your email", "We collect only your email")
    step = builder.build()
    assert (builder.store.hits["policy"], builder.store.misses["policy"]) == (1, 1)
    assert (builder.store.hits["page"], step.pages_rendered) == (6 + 7, 3)  # privacy's 10 pages
    same(step, project)


def test_compare_pages_are_made_when_asked_for(site):
    """A rebuild makes none of the compare pages (at 50 versions an edit changes 47 of them);
    Outcome.later makes one when asked for, under the key a build gives it (asked again: from
    the store), equal to the full build's, for the build it came from."""
    project = Project.at(site)
    builder = IncrementalBuilder(project, as_of=DAY)
    first = builder.build()
    path = "privacy/compare/2026-01-01/2026-08-01/index.html"  # compare.check made this one
    other = "privacy/compare/2026-01-01/2026-09-01/index.html"
    pages, redlines = builder.store.misses["page"], builder.store.misses["redline"]
    before = first.later(path)
    assert before == full(project)[path]
    assert (builder.store.misses["page"], builder.store.misses["redline"]) == (pages, redlines)
    assert first.later(other) == full(project)[other]
    assert (builder.store.misses["page"], builder.store.misses["redline"]) == (pages + 1, redlines + 1)
    assert first.later(other) == full(project)[other] and builder.store.misses["page"] == pages + 1
    for missing in ("privacy/compare/2026-08-01/2026-01-01/index.html",  # newer first
                    "privacy/compare/2026-01-01/2026-05-01/index.html",  # consecutive: changes/
                    "privacy/compare/2026-01-01/2026-01-01/index.html",
                    "privacy/compare/2026-01-01/2027-01-01/index.html",
                    "privacy/compare/2026-01-01/2026-08-01/extra/index.html",
                    "cookies/compare/2026-01-01/2026-08-01/index.html",
                    "privacy/2026-01-01/index.html"):
        assert first.later(missing) is None, missing

    edit(site / "content" / "privacy" / "2026-08-01.md", "We collect your email", "We collect only your email")
    step = builder.build()
    assert step.pages_rendered == 3  # its page, two redlines; none of its compare pages
    after = step.later(path)
    assert after == full(project)[path] and b"only" in after.replace(before, b"")
    assert first.later(path) == before, "a build's pages stay what that build made"
    same(step, project)

    with (site / "site.toml").open("a", encoding="utf-8") as settings:
        settings.write("compare_any_two = false\n")
    off = builder.build()
    assert off.ok and off.later(path) is None  # no compare pages at all
    same(off, project)


def test_a_broken_compare_template_fails_the_rebuild(site):
    """A rebuild makes no compare page, yet a broken compare.html fails it, as it fails build
    and check (compare.check): compiled on every rebuild (a store lookup when unchanged),
    and one compare page rendered when the templates change (a name only rendering finds)."""
    project = Project.at(site)
    builder = IncrementalBuilder(project, as_of=DAY)
    assert builder.build().ok and builder.build().pages_rendered == 0  # unchanged: lookups
    compare = site / "templates" / "compare.html"
    good = compare.read_text(encoding="utf-8")
    for broken, says in (("{% if %}", "template syntax error"), ("{{ no_such_thing.field }}", "no_such_thing")):
        compare.write_text(good.replace("{% block main %}", "{% block main %}" + broken, 1), encoding="utf-8")
        outcome = builder.build()
        assert [(e.path, e.line) for e in outcome.errors] == [("templates/compare.html", 7)]
        assert says in outcome.errors[0].message and outcome.later is no_page
        with pytest.raises(ContentErrors) as checked:  # what build and check say
            render(project, DAY, True, tracker=False)
        assert {(e.path, e.line) for e in checked.value.errors} == {("templates/compare.html", 7)}
    compare.write_text(good, encoding="utf-8")
    same(builder.build(), project)


def test_a_compare_page_has_the_checks_of_every_page(site):
    """A page made on request is checked as a build checks every page: the privacy audit's
    findings as the page's path and line (a template's error fails the rebuild, above)."""
    project = Project.at(site)
    builder = IncrementalBuilder(project, as_of=DAY)
    path = "privacy/compare/2026-01-01/2026-08-01/index.html"
    compare = site / "templates" / "compare.html"
    good = compare.read_text(encoding="utf-8")
    compare.write_text(good.replace("{% block main %}", '{% block main %}<img src="https://cdn.example.net/x.png">', 1),
                       encoding="utf-8")
    outcome = builder.build()
    with pytest.raises(ContentErrors) as failed:
        outcome.later(path)
    assert [str(e) for e in failed.value.errors] == [
        f"{path}:36: <img> src makes the browser contact https://cdn.example.net (another origin): "
        "https://cdn.example.net/x.png"
    ]
    with pytest.raises(ContentErrors) as whole:  # what a full build says of the same page
        render(project, DAY, True, tracker=False)
    [found] = [str(e) for e in whole.value.errors if e.path == path]
    assert found == f"{failed.value.errors[0]} (and 2 other files)"  # the 3 compare pages, as one


def test_errors_then_recovery(site):
    project = Project.at(site)
    builder = IncrementalBuilder(project, as_of=DAY)
    same(builder.build(), project)
    source = site / "content" / "privacy" / "2026-08-01.md"
    good = source.read_text(encoding="utf-8")
    source.write_text(good.replace("title: Privacy Policy", "titel: Privacy Policy"), encoding="utf-8")
    broken = builder.build()
    assert not broken.ok
    assert [(e.path, e.line) for e in broken.errors][:1] == [("content/privacy/2026-08-01.md", 1)] or any(
        e.path == "content/privacy/2026-08-01.md" and e.line == 2 for e in broken.errors)
    assert any("unknown field 'titel'" in e.message and e.line == 2 for e in broken.errors)
    source.write_text(good, encoding="utf-8")
    fixed = builder.build()
    same(fixed, project)
    assert fixed.parsed == 0, "the memo of the last good build survives a failed one"


def test_template_asset_and_settings_changes_rebuild_everything(site):
    project = Project.at(site)
    builder = IncrementalBuilder(project, as_of=DAY)
    same(builder.build(), project)

    edit(site / "templates" / "base.html", "<main id=\"main\"", "<!-- edited -->\n<main id=\"main\"")
    step = builder.build()
    same(step, project)
    assert (step.parsed, step.pages_rendered) == (0, 21)  # with compare.check's page
    assert b"<!-- edited -->" in step.files["privacy/2026-05-01/index.html"]

    with (site / "templates" / "assets" / "site.css").open("a", encoding="utf-8") as css:
        css.write("\n.preview-test { color: red; }\n")
    step = builder.build()
    same(step, project)
    assert step.pages_rendered == 21

    edit(site / "site.toml", 'contact_email = "privacy@example.com"', 'contact_email = "legal@example.com"')
    step = builder.build()
    same(step, project)
    assert (step.parsed, step.pages_rendered) == (5, 21)

    edit(site / "templates" / "version.html", "{% block main %}", "{% block main %}{% if %}")
    broken = builder.build()
    assert not broken.ok
    assert broken.errors[0].path == "templates/version.html" and broken.errors[0].line == 12


def test_preview_never_has_the_tracker(site):
    with (site / "site.toml").open("a", encoding="utf-8") as settings:
        settings.write('\n[analytics]\norigin = "https://stats.example.com"\n'
                       'website_id = "6c4b4f5e-8b1a-4d8e-9d59-0a3f5b2b7c11"\ndomains = ["legal.example.com"]\n')
    project = Project.at(site)
    production = render(project, DAY, False).files  # drafts builds never load the tracker either
    assert any(b"stats.example.com" in data for data in production.values()), "the production build counts"
    preview = IncrementalBuilder(project, as_of=DAY).build()
    assert preview.ok
    leaks = [path for path, data in preview.files.items() if b"stats.example.com" in data]
    assert not leaks
