"""Speed never changes the output: parallel or not, with a store or not, and the store is never stale."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3

import pytest

from benchmarks.corpus import relock, write_corpus
from conftest import REPO
from legalsite.pipeline import Project, render as _render
from legalsite.store import Store

DAY = dt.date(2031, 1, 1)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    write_corpus(root, 3, 6)
    shutil.copytree(REPO / "templates", root / "templates")
    return root


def render(project, day, drafts, jobs=1, cache_dir=None, store=None):
    """pipeline.render with a store in ``cache_dir`` (closed after the build), as build.py's --cache."""
    if store is not None or cache_dir is None:
        return _render(project, day, drafts, jobs=jobs, store=store)
    with Store(cache_dir) as store:
        return _render(project, day, drafts, jobs=jobs, store=store)


def project(root):
    return Project.at(root, templates=root / "templates")


def reference(root, day=DAY):
    return render(project(root), day, False, jobs=1).files


def test_parallel_and_cached_builds_equal_the_serial_build(corpus, tmp_path):
    serial = reference(corpus)
    assert render(project(corpus), DAY, False, jobs=2).files == serial
    assert render(project(corpus), DAY, False, jobs=2, cache_dir=tmp_path / "c").files == serial  # fills the cache
    assert render(project(corpus), DAY, False, jobs=1, cache_dir=tmp_path / "c").files == serial  # reads it
    assert entries(tmp_path / "c") > 18


def entries(cache_dir):
    with sqlite3.connect(cache_dir / "store.sqlite3") as db:
        return db.execute("SELECT count(*) FROM entries").fetchone()[0]


def test_the_cache_is_really_used(corpus, tmp_path, monkeypatch):
    render(project(corpus), DAY, False, jobs=1, cache_dir=tmp_path / "c")
    calls = []
    import legalsite.render as render_module
    monkeypatch.setattr(render_module, "redline", lambda *a: calls.append(a))
    render(project(corpus), DAY, False, jobs=1, cache_dir=tmp_path / "c")
    assert calls == [], "a warm cache recomputed redlines"


def test_the_cache_never_serves_a_stale_page(tmp_path):
    root = tmp_path / "site"
    write_corpus(root, 2, 4)
    shutil.copytree(REPO / "templates", root / "templates")
    cache_dir = tmp_path / "cache"

    def check(day=DAY):
        cached = render(project(root), day, False, jobs=2, cache_dir=cache_dir).files
        assert cached == reference(root, day)

    check()
    version = sorted((root / "content").rglob("*.md"))[2]
    version.write_text(version.read_text().replace(" the ", " the very ", 1))
    relock(version)
    check()  # an edited version
    (root / "templates" / "version.html").write_text(
        (root / "templates" / "version.html").read_text().replace("Effective:", "In effect from:"))
    check()  # a template
    (root / "templates" / "assets" / "site.css").write_text("body { color: black; }\n")
    check()  # the stylesheet
    settings = root / "site.toml"
    settings.write_text(settings.read_text().replace("[site]", '[site]\ncontact_email = "dpo@example.org"', 1)
                        if "contact_email" not in settings.read_text() else settings.read_text().replace("@", "+x@", 1))
    check()  # the settings
    check(DAY + dt.timedelta(days=3650))  # another day: statuses change
    version.unlink()
    relock(version)
    check()  # a deleted version


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_edited_version_renders_only_the_block_that_changed(tmp_path, monkeypatch, jobs):
    """Sections rendered by the last build come from the disk (content.StoredSections),
    whether that build parsed on workers or not."""
    from benchmarks.corpus import edit_one_sentence
    from legalsite import markup
    root = tmp_path / "site"
    write_corpus(root, 2, 5)
    shutil.copytree(REPO / "templates", root / "templates")
    render(project(root), DAY, False, jobs=jobs, cache_dir=tmp_path / "c")
    edit_one_sentence(sorted((root / "content").rglob("*.md"))[2], 1)
    rendered = []
    real = markup.render_markdown
    monkeypatch.setattr(markup, "render_markdown", lambda md, text: rendered.append(text) or real(md, text))
    files = render(project(root), DAY, False, jobs=1, cache_dir=tmp_path / "c").files
    assert len(rendered) == 1 and "\n\n" not in rendered[0].strip()  # one paragraph
    monkeypatch.undo()
    assert files == reference(root)


def test_new_code_misses_the_cache_and_corrupt_entries_are_recomputed(corpus, tmp_path, monkeypatch):
    cache_dir = tmp_path / "c"
    render(project(corpus), DAY, False, jobs=1, cache_dir=cache_dir)
    with sqlite3.connect(cache_dir / "store.sqlite3") as db:
        db.execute("UPDATE entries SET value = X'00' WHERE key < '8'")  # about half of them
    assert render(project(corpus), DAY, False, jobs=1, cache_dir=cache_dir).files == reference(corpus)

    with Store(cache_dir, code="another version of the generator") as disk:
        render(project(corpus), DAY, False, jobs=1, store=disk)
    assert sum(disk.hits.values()) == sum(disk.hits[k] for k in ("section",)) and sum(disk.misses.values()) > 0


def test_the_parallel_audit_reports_what_the_serial_audit_reports(tmp_path):
    from legalsite.model import ContentErrors
    root = tmp_path / "site"
    write_corpus(root, 2, 5)
    shutil.copytree(REPO / "templates", root / "templates")
    base = root / "templates" / "base.html"
    base.write_text(base.read_text().replace("</head>", '<link rel="stylesheet" href="https://fonts.example.org/a.css">\n</head>'))
    reports = []
    for jobs in (1, 2):
        with pytest.raises(ContentErrors) as info:
            render(project(root), DAY, False, jobs=jobs)
        reports.append([str(e) for e in info.value.errors])
    assert reports[0] == reports[1]
    assert any("fonts.example.org" in line for line in reports[0])


def test_a_damaged_cache_database_is_replaced(corpus, tmp_path):
    cache_dir = tmp_path / "c"
    cache_dir.mkdir()
    (cache_dir / "store.sqlite3").write_bytes(b"not a database " * 1000)
    assert render(project(corpus), DAY, False, jobs=1, cache_dir=cache_dir).files == reference(corpus)
    assert entries(cache_dir) > 18


def test_a_cache_that_refuses_every_entry_changes_nothing(corpus, tmp_path):
    cache_dir = tmp_path / "c"
    cache_dir.mkdir()
    with sqlite3.connect(cache_dir / "store.sqlite3") as db:
        db.execute("CREATE TABLE entries (key TEXT, kind TEXT)")  # every insert fails
    assert render(project(corpus), DAY, False, jobs=2, cache_dir=cache_dir).files == reference(corpus)
    assert render(project(corpus), DAY, False, jobs=1, cache_dir=cache_dir).files == reference(corpus)


def test_a_cache_another_build_holds_slows_nothing_and_loses_nothing(corpus, tmp_path):
    """The build does not wait for the lock (store._WAIT bounds a statement's wait; how long
    a build takes is benchmarks' business, not a test's): it stores nothing and loses nothing."""
    cache_dir = tmp_path / "c"
    render(project(corpus), DAY, False, jobs=1, cache_dir=cache_dir)
    other = sqlite3.connect(cache_dir / "store.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another build, writing until it ends
    other.execute("INSERT INTO entries (key, kind, value, size) VALUES ('x', 'y', X'00', 1)")
    try:
        assert render(project(corpus), DAY + dt.timedelta(days=1), False, jobs=2, cache_dir=cache_dir).files == \
            reference(corpus, DAY + dt.timedelta(days=1))
    finally:
        other.execute("COMMIT")
        other.close()
    assert entries(cache_dir) > 18, "the database is still there"


def test_an_entry_under_another_key_is_a_miss_not_a_wrong_answer(corpus, tmp_path):
    """A damaged index could lead to another entry's row: each value carries its own digest."""
    cache_dir = tmp_path / "c"
    render(project(corpus), DAY, False, jobs=1, cache_dir=cache_dir)
    db = sqlite3.connect(cache_dir / "store.sqlite3", isolation_level=None)
    rows = db.execute("SELECT kind, key, value FROM entries WHERE kind = 'redline' ORDER BY key").fetchall()
    db.execute("UPDATE entries SET value = ? WHERE kind = 'redline'", (rows[0][2],))  # every redline: the first one's
    db.close()
    expected = reference(corpus)
    with Store(cache_dir) as disk:
        assert render(project(corpus), DAY, False, jobs=1, store=disk).files == expected
    assert disk.misses["redline"] >= len(rows) - 1


def test_a_build_reading_the_cache_does_not_hold_up_the_one_writing_it(corpus, tmp_path):
    cache_dir = tmp_path / "c"
    render(project(corpus), DAY, False, jobs=1, cache_dir=cache_dir)
    other = sqlite3.connect(cache_dir / "store.sqlite3", isolation_level=None)
    other.execute("BEGIN")  # another build, reading until it ends
    assert other.execute("SELECT count(*) FROM entries").fetchone()[0] > 18
    try:
        later = DAY + dt.timedelta(days=1)  # every page again, with new entries to write
        assert render(project(corpus), later, False, jobs=2, cache_dir=cache_dir).files == reference(corpus, later)
    finally:
        other.execute("COMMIT")
        other.close()
    with Store(cache_dir) as disk:
        render(project(corpus), later, False, jobs=1, store=disk)
    assert not [kind for kind in disk.misses if kind not in ("page", "outline", "sha256")], \
        "what the build wrote meanwhile was kept (pages live in memory only)"
