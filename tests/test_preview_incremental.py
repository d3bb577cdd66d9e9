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
    assert outcome.ok, outcome.errors
    expected = full(project)
    differing = sorted(p for p in set(expected) | set(outcome.files) if expected.get(p) != outcome.files.get(p))
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
    same(first, project)
    assert (first.parsed, first.pages_rendered) == (5, 23)  # privacy 10 + 3 compare, terms 4, site-wide 6

    unchanged = builder.build()
    same(unchanged, project)
    assert (unchanged.parsed, unchanged.pages_rendered) == (0, 0)

    edit(privacy / "2026-08-01.md", "We collect your email", "We collect only your email")  # a sentence
    step = builder.build()
    same(step, project)
    assert (step.parsed, step.pages_rendered) == (1, 4), "its page, two redlines (its own, the draft's), one compare page"
    assert builder.store.misses["redline"] == 3, "only the redlines that show the edited version are redone"

    edit(privacy / "2026-08-01.md", "summary: ", "summary: In short, ")  # front matter: its policy's lists
    step = builder.build()
    same(step, project)
    assert (step.parsed, step.pages_rendered) == (1, 19), "privacy's 13 pages and the 6 site-wide ones"
    assert builder.store.misses["redline"] == 0

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


def test_compare_pages_of_an_unchanged_policy_are_one_lookup(site):
    """The preview keeps a policy's compare pages as one entry too (compare.pages): a reload
    finds privacy's (3 pages) under one key while nothing of privacy changed; after an edit
    of one of its versions it misses that entry and asks for each page, and redoes one."""
    project = Project.at(site)
    builder = IncrementalBuilder(project, as_of=DAY)
    same(builder.build(), project)
    assert builder.store.misses["compare"] == 2  # privacy's, terms' (none: two versions)

    same(builder.build(), project)
    assert (builder.store.hits["compare"], builder.store.misses["compare"]) == (2, 0)
    assert builder.store.hits["page"] == 20  # the 23 pages but the 3 compare pages, not asked for one by one

    edit(site / "content" / "privacy" / "2026-08-01.md", "We collect your email", "We collect only your email")
    step = builder.build()
    same(step, project)
    assert (builder.store.hits["compare"], builder.store.misses["compare"]) == (1, 1)
    assert step.pages_rendered == 4  # its page, two redlines, one compare page

    unchanged = builder.build()
    same(unchanged, project)
    assert (unchanged.pages_rendered, builder.store.hits["compare"]) == (0, 2)


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
    assert (step.parsed, step.pages_rendered) == (0, 23)
    assert b"<!-- edited -->" in step.files["privacy/2026-05-01/index.html"]

    with (site / "templates" / "assets" / "site.css").open("a", encoding="utf-8") as css:
        css.write("\n.preview-test { color: red; }\n")
    step = builder.build()
    same(step, project)
    assert step.pages_rendered == 23

    edit(site / "site.toml", 'contact_email = "privacy@example.com"', 'contact_email = "legal@example.com"')
    step = builder.build()
    same(step, project)
    assert (step.parsed, step.pages_rendered) == (5, 23)

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
