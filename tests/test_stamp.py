"""A build with nothing to do answers at once, and any change to what it reads builds again.

The stamp of the last build is an entry of the store (store.py), not a file of its own."""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest

from conftest import FIXTURE, FIXTURE_DAY, REPO
from legalsite import stamp
from legalsite import store as store_module
from legalsite.output import listing
from legalsite.store import Store


@pytest.fixture
def site(tmp_path, monkeypatch):
    """The fixture site with its own copy of the templates; the working folder is its root."""
    root = tmp_path / "site"
    shutil.copytree(FIXTURE, root)
    shutil.copytree(REPO / "templates", root / "templates")
    monkeypatch.chdir(root)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return root


def tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def reference(site, tmp_path, cli, *extra):
    """What a build without any cache writes, for comparison."""
    out = tmp_path / "reference"
    shutil.rmtree(out, ignore_errors=True)
    code, _, err = cli("build", "--as-of", FIXTURE_DAY, "--no-cache", "--out", str(out), *extra)
    assert code == 0, err
    return tree(out)


def version(effective, title=None):
    title = title or re.search(r"^title: (.*)$", sorted((FIXTURE / "content" / "terms").glob("*.md"))[-1].read_text(), re.M)[1]
    return (f"---\ntitle: {title}\neffective: {effective}\nsummary: Clearer wording.\n---\n"
            "## 1. Scope\n\nThese terms apply to the API.\n")


def recorded(site):
    """The stamp the last build into _site left in the store."""
    with Store(site / ".cache") as store:
        return stamp.read(store, site / "_site")


def damage_stamp(site):
    """Cut the end off the stamp's entry in the store's database."""
    import sqlite3

    db = sqlite3.connect(site / ".cache" / "store.sqlite3")
    with db:
        changed = db.execute(
            "UPDATE entries SET value = substr(value, 1, length(value) - 10) WHERE kind = 'stamp'"
        ).rowcount
    db.close()
    assert changed == 1


def forget_parses(site):
    """Remove every parsed source from the store: the next build reads the files it needs."""
    import sqlite3

    db = sqlite3.connect(site / ".cache" / "store.sqlite3")
    with db:
        db.execute("DELETE FROM entries WHERE kind = 'parse'")
    db.close()


def build(cli, *extra):
    code, out, err = cli("build", "--as-of", FIXTURE_DAY, *extra)
    assert code == 0, err
    return out, err


def test_a_second_build_with_nothing_changed_does_nothing_and_says_so(site, cli):
    first, warnings = build(cli)
    assert first.startswith("built 2 policies")
    before = listing(site / "_site")
    again, warnings_again = build(cli)
    assert again == (f"up to date: {first.split('built ', 1)[1].split(' in ')[0]}, "
                     "nothing changed since the last build -> _site\n")
    assert warnings_again == warnings  # the last build's warnings are repeated, not lost
    assert listing(site / "_site") == before  # not a file touched


@pytest.mark.parametrize("change", [
    "edit a version", "add a version", "delete a version", "edit a template", "edit the stylesheet",
    "add a hidden asset", "edit the settings", "edit the lock", "another day", "drafts", "new code",
])
def test_any_change_to_what_the_build_reads_builds_again(site, tmp_path, cli, monkeypatch, change):
    upcoming = site / "content" / "terms" / "2031-01-01.md"  # not locked yet: free to edit
    upcoming.write_text(version("2031-01-01"))
    build(cli)
    extra = []
    if change == "edit a version":
        upcoming.write_text(upcoming.read_text().replace("the ", "the very ", 1))
    elif change == "add a version":
        (site / "content" / "terms" / "2032-01-01.md").write_text(version("2032-01-01"))
    elif change == "delete a version":
        upcoming.unlink()
    elif change == "edit a template":
        page = site / "templates" / "version.html"
        page.write_text(page.read_text().replace("Effective", "In effect from", 1))
    elif change == "edit the stylesheet":
        css = site / "templates" / "assets" / "site.css"
        css.write_text(css.read_text() + "\np { margin: 0; }\n")
    elif change == "add a hidden asset":
        (site / "templates" / "assets" / ".well-known").write_text("copied by load_theme\n")
    elif change == "edit the settings":
        settings = site / "site.toml"
        settings.write_text(settings.read_text().replace('name = "', 'name = "The ', 1))
    elif change == "edit the lock":
        lock = site / "versions.lock"
        lock.write_text(lock.read_text().replace("\n}", "\n}\n", 1) if "\n}" in lock.read_text() else lock.read_text() + "\n")
    elif change == "another day":
        extra = ["--as-of", "2027-01-01"]
    elif change == "drafts":
        extra = ["--drafts"]
    elif change == "new code":
        monkeypatch.setattr(store_module, "CODE_DIGEST", "another version of the generator")
    out, _ = build(cli, *extra)
    assert out.startswith("built "), change
    assert tree(site / "_site") == reference(site, tmp_path, cli, *extra)


@pytest.mark.parametrize("change", ["rewrite a page, same size and time", "delete a page", "add a file", "add a folder"])
def test_a_touched_output_folder_is_built_again(site, tmp_path, cli, change):
    build(cli)
    page = site / "_site" / "privacy" / "index.html"
    if change.startswith("rewrite"):
        info = page.stat()
        data = page.read_bytes()
        page.write_bytes(data.replace(b"<main", b"<MAIN", 1))
        os.utime(page, ns=(info.st_atime_ns, info.st_mtime_ns))  # mtime put back: ctime still tells
        assert page.stat().st_size == info.st_size and page.stat().st_mtime_ns == info.st_mtime_ns
    elif change == "delete a page":
        page.unlink()
    elif change == "add a file":
        (site / "_site" / "stray.html").write_text("<p>not ours</p>")
    else:
        (site / "_site" / "stray").mkdir()
    out, _ = build(cli)
    assert out.startswith("built ")
    assert tree(site / "_site") == reference(site, tmp_path, cli)


def test_the_stamp_is_in_the_store_and_nothing_else_is_kept(site, cli):
    build(cli)
    assert [p.name for p in (site / ".cache").iterdir()] == ["store.sqlite3"]
    assert recorded(site).files == listing(site / "_site")


def test_an_older_cache_is_emptied_once_and_its_stamp_files_removed(site, cli):
    import sqlite3

    old = site / ".cache"
    (old / "stamps").mkdir(parents=True)
    (old / "stamps" / "0123.stamp").write_bytes(b"a stamp of an older version")
    with sqlite3.connect(old / "store.sqlite3") as db:  # the older layout: no table of uses
        db.execute("CREATE TABLE entries (key TEXT PRIMARY KEY, kind TEXT, size INTEGER, used INTEGER, value BLOB)")
        db.execute("INSERT INTO entries VALUES ('k', 'parse', 1, 0, X'00')")
    assert build(cli)[0].startswith("built ")
    assert [p.name for p in old.iterdir()] == ["store.sqlite3"]
    assert build(cli)[0].startswith("up to date")


def test_no_cache_means_no_stamp_and_a_real_build(site, cli):
    build(cli, "--no-cache")
    out, _ = build(cli, "--no-cache")
    assert out.startswith("built ")
    assert not (site / ".cache").exists()


def test_a_missing_or_damaged_stamp_builds_again(site, cli):
    build(cli)
    damage_stamp(site)
    assert build(cli)[0].startswith("built ")
    assert build(cli)[0].startswith("up to date")
    (site / ".cache" / "store.sqlite3").unlink()
    assert build(cli)[0].startswith("built ")


def test_a_failed_build_leaves_the_site_and_is_not_taken_for_up_to_date(site, cli):
    build(cli)
    version = sorted((site / "content").rglob("*.md"))[-1]
    good = version.read_text()
    version.write_text(good.replace("title:", "titel:", 1))
    code, _, err = cli("build", "--as-of", FIXTURE_DAY)
    assert code == 1 and "unknown field 'titel'" in err
    code, _, _ = cli("build", "--as-of", FIXTURE_DAY)
    assert code == 1  # still failing: never "up to date"
    version.write_text(good)
    assert build(cli)[0].startswith("up to date")  # back to the inputs the site was built from


@pytest.fixture
def partial(monkeypatch):
    """Records, for each build, whether it could leave in the output folder the pages the
    last build wrote there (render_site's ``last``): the whole site is built in memory, and
    only pages whose store key changed are rendered and written."""
    from legalsite import pipeline

    taken = []
    real = pipeline.render_site

    def spy(site, theme, store, skip=frozenset(), known=None, last=None):
        taken.append(last is not None)
        return real(site, theme, store, skip, known, last)

    monkeypatch.setattr(pipeline, "render_site", spy)
    return taken


@pytest.fixture
def rendered(monkeypatch):
    """The URL path of every page each build renders with Jinja."""
    from legalsite import render
    paths = []
    real = render._Renderer.page

    def spy(self, template, path, **context):
        paths.append(path)
        return real(self, template, path, **context)

    monkeypatch.setattr(render._Renderer, "page", spy)
    return paths


def test_only_the_policies_whose_files_changed_are_rebuilt_and_the_site_equals_a_full_build(site, tmp_path, cli, partial,
                                                                                           rendered):
    terms, privacy = site / "content" / "terms", site / "content" / "privacy"
    (terms / "2031-01-01.md").write_text(version("2031-01-01"))
    build(cli)
    assert partial == [False]  # nothing to start from
    assert len(rendered) == 21  # every page: 10 of privacy and 1 compare page, 4 of terms, 6 site-wide
    privacy_page = site / "_site" / "privacy" / "index.html"
    before = privacy_page.stat()

    steps = [
        ("a sentence", lambda: (terms / "2031-01-01.md").write_text(version("2031-01-01").replace("apply", "now apply"))),
        ("the summary", lambda: (terms / "2031-01-01.md").write_text(
            version("2031-01-01").replace("Clearer wording.", "Clearer wording, and shorter."))),
        ("a new version", lambda: (terms / "2032-01-01.md").write_text(version("2032-01-01"))),
        ("a deleted version", lambda: (terms / "2032-01-01.md").unlink()),
        ("two policies", lambda: [(terms / "2031-01-01.md").write_text(version("2031-01-01")),
                                  (privacy / "2031-06-01.md").write_text(version("2031-06-01", "Privacy Policy"))]),
    ]
    for name, change in steps:
        change()
        rendered.clear()
        out, _ = build(cli)
        if name == "a sentence":  # the other pages of terms are on disk as they would be rendered
            assert sorted(rendered) == ["terms/2031-01-01/", "terms/2031-01-01/changes/"]
        elif name == "the summary":  # shown on the history, the feeds, the changelog...
            assert "terms/history/" in rendered and "changelog/" in rendered
        assert out.startswith("built 2 policies"), name
        assert partial[-1] is True, name
        assert tree(site / "_site") == reference(site, tmp_path, cli), name
        assert recorded(site).files == listing(site / "_site"), "the stamp lists the folder as the build left it"
        if name != "two policies":
            assert privacy_page.stat().st_ino == before.st_ino and privacy_page.stat().st_mtime_ns == before.st_mtime_ns
    assert "terms/2032-01-01/index.html" not in tree(site / "_site")


@pytest.mark.parametrize("change", ["a policy's title", "a new policy", "a damaged stamp", "the output touched"])
def test_when_every_page_may_change_the_whole_site_is_rebuilt(site, tmp_path, cli, partial, rendered, change):
    terms = site / "content" / "terms"
    (terms / "2031-01-01.md").write_text(version("2031-01-01"))
    build(cli)
    every = set(rendered)
    if change == "a policy's title":
        (terms / "2031-01-01.md").write_text(
            version("2031-01-01", "Terms of Use").replace("summary:", "retitled: true\nsummary:"))
    elif change == "a new policy":
        (site / "content" / "cookies").mkdir()
        (site / "content" / "cookies" / "2031-01-01.md").write_text(version("2031-01-01", "Cookie Policy"))
    elif change == "a damaged stamp":
        (terms / "2031-01-01.md").write_text(version("2031-01-01").replace("apply", "now apply"))
        damage_stamp(site)
    else:
        (terms / "2031-01-01.md").write_text(version("2031-01-01").replace("apply", "now apply"))
        (site / "_site" / "privacy" / "index.html").write_text("edited by hand")
    rendered.clear()
    build(cli)
    assert every <= set(rendered)  # the store key of every page changed, or the folder cannot be trusted
    assert partial[-1] is (change in ("a policy's title", "a new policy"))
    assert tree(site / "_site") == reference(site, tmp_path, cli)


def test_a_broken_edit_writes_nothing_and_the_fix_is_rebuilt_partially(site, tmp_path, cli, partial):
    terms = site / "content" / "terms"
    (terms / "2031-01-01.md").write_text(version("2031-01-01"))
    build(cli)
    before = tree(site / "_site")
    (terms / "2031-01-01.md").write_text(version("2031-01-01").replace("summary:", "sumary:"))
    code, _, err = cli("build", "--as-of", FIXTURE_DAY)
    assert code == 1 and "unknown field 'sumary'" in err
    assert tree(site / "_site") == before
    (terms / "2031-01-01.md").write_text(version("2031-01-01").replace("apply", "now apply"))
    build(cli)
    assert partial[-1] is True
    assert tree(site / "_site") == reference(site, tmp_path, cli)


def test_templates_reached_through_a_link_are_read_as_the_theme_reads_them(site, tmp_path, cli):
    shared = site / "shared-assets"
    shutil.move(site / "templates" / "assets", shared)
    (site / "templates" / "assets").symlink_to(shared, target_is_directory=True)
    build(cli)
    (shared / "site.css").write_text((shared / "site.css").read_text() + "\np { margin: 0; }\n")
    out, _ = build(cli)
    assert out.startswith("built ")
    assert tree(site / "_site") == reference(site, tmp_path, cli)


@pytest.fixture
def settled_at_once(monkeypatch):
    """Content files count as settled as soon as they are written, as they do a second
    later outside a test (project.SourceFile.trusted); returns the paths read, in order."""
    from legalsite import project
    monkeypatch.setattr(project, "_SETTLED_NS", -1)
    reads = []
    real = project.SourceFile.read

    def spy(self):
        reads.append(os.path.relpath(self.path))
        return real(self)

    monkeypatch.setattr(project.SourceFile, "read", spy)
    return reads


def test_content_files_unchanged_since_the_last_build_are_not_read_again(site, tmp_path, cli, partial, settled_at_once):
    terms = site / "content" / "terms"
    (terms / "2031-01-01.md").write_text(version("2031-01-01"))
    build(cli)
    time.sleep(0.05)  # past a tick of the file system's clock: a rewrite gets other times
    settled_at_once.clear()
    (terms / "2031-01-01.md").write_text(version("2031-01-01").replace("apply", "now apply"))
    build(cli)
    assert partial[-1] is True
    # the edited file, by the check; the others' parses come from the store under their digests
    assert settled_at_once == ["content/terms/2031-01-01.md"]
    assert tree(site / "_site") == reference(site, tmp_path, cli)
    settled_at_once.clear()
    assert build(cli)[0].startswith("up to date") and settled_at_once == []


def test_a_content_file_rewritten_with_the_same_size_and_times_put_back_is_built_again(site, tmp_path, cli,
                                                                                       settled_at_once):
    upcoming = site / "content" / "terms" / "2031-01-01.md"
    upcoming.write_text(version("2031-01-01"))
    build(cli)
    time.sleep(0.05)  # past a tick of the file system's clock: the rewrite gets another change time
    info = upcoming.stat()
    upcoming.write_text(version("2031-01-01").replace("apply", "APPLY"))
    os.utime(upcoming, ns=(info.st_atime_ns, info.st_mtime_ns))  # the change time still tells
    assert upcoming.stat().st_size == info.st_size and upcoming.stat().st_mtime_ns == info.st_mtime_ns
    out, _ = build(cli)
    assert out.startswith("built ")
    assert tree(site / "_site") == reference(site, tmp_path, cli)


def test_a_file_changed_while_the_build_runs_is_an_error_and_the_next_build_builds_it(site, cli, settled_at_once,
                                                                                     monkeypatch):
    from legalsite import project
    terms = site / "content" / "terms"
    (terms / "2031-01-01.md").write_text(version("2031-01-01"))
    (terms / "2032-01-01.md").write_text(version("2032-01-01"))
    build(cli)
    forget_parses(site)  # so that the build reads the files, not only the check
    time.sleep(0.05)  # past a tick of the file system's clock: the edit gets other times
    before = tree(site / "_site")
    (terms / "2031-01-01.md").write_text(version("2031-01-01").replace("apply", "now apply"))
    later = version("2032-01-01").replace("apply", "also apply")
    real = project.SourceFile.read

    def edited_meanwhile(self):
        if self.path.endswith("2032-01-01.md"):  # not read by the check (trusted): read by the build
            (terms / "2032-01-01.md").write_text(later)
        return real(self)

    monkeypatch.setattr(project.SourceFile, "read", edited_meanwhile)
    code, _, err = cli("build", "--as-of", FIXTURE_DAY)
    assert code == 1
    assert err.splitlines()[0] == ("content/terms/2032-01-01.md:1: the file changed while the site was built "
                                   "(edited): run the build again")
    assert tree(site / "_site") == before
    build(cli)
    assert "also apply" in (site / "_site" / "terms" / "2032-01-01" / "index.html").read_text()


@pytest.mark.parametrize("change", ["add a file", "add a folder", "delete a page", "rename a page"])
def test_a_touched_output_folder_is_built_again_when_its_folders_had_settled(site, tmp_path, cli, monkeypatch,
                                                                             change):
    """The check reads again only the output folders whose times changed (output.listing)."""
    from legalsite import project
    monkeypatch.setattr(project, "_SETTLED_NS", -1)  # every folder settled, as a second after a build
    build(cli)
    time.sleep(0.05)  # past a tick of the file system's clock
    folder = sorted(p for p in (site / "_site" / "privacy").iterdir() if p.is_dir())[0]
    if change == "add a file":
        (folder / "stray.html").write_text("<p>not ours</p>")
    elif change == "add a folder":
        (folder / "stray").mkdir()
    elif change == "delete a page":
        (folder / "index.html").unlink()
    else:
        (folder / "index.html").rename(folder / "index.htm")
    out, _ = build(cli)
    assert out.startswith("built ")
    assert tree(site / "_site") == reference(site, tmp_path, cli)
    assert build(cli)[0].startswith("up to date")


def test_a_content_file_removed_after_the_check_is_an_error_and_nothing_is_written(site, cli, settled_at_once,
                                                                                   monkeypatch):
    """A trusted file is read only by the rebuild, after the check: if it is gone by then (a
    checkout during the build), the build says so instead of failing with a traceback."""
    from legalsite import project
    terms = site / "content" / "terms"
    (terms / "2031-01-01.md").write_text(version("2031-01-01"))
    (terms / "2032-01-01.md").write_text(version("2032-01-01"))
    build(cli)
    forget_parses(site)  # so that the build reads the files, not only the check
    time.sleep(0.05)  # past a tick of the file system's clock: the edit gets other times
    before = tree(site / "_site")
    (terms / "2031-01-01.md").write_text(version("2031-01-01").replace("apply", "now apply"))
    real = project.SourceFile.read

    def removed_meanwhile(self):
        if self.path.endswith("2032-01-01.md"):  # not read by the check (trusted): read by the rebuild
            os.unlink(self.path)
        return real(self)

    monkeypatch.setattr(project.SourceFile, "read", removed_meanwhile)
    code, _, err = cli("build", "--as-of", FIXTURE_DAY)
    assert code == 1
    assert err.splitlines()[0] == ("content/terms/2032-01-01.md:1: the file changed while the site was built "
                                   "(No such file or directory): run the build again")
    assert tree(site / "_site") == before


def test_a_build_with_nothing_to_do_loads_neither_the_libraries_nor_the_model(site, cli):
    """The no-op build answers from the stamp before anything else is imported: Markdown, Jinja,
    lxml, YAML, Babel, watchdog, the model and its dataclasses load only when there is work
    (what they cost a no-op build: README, Performance)."""
    import subprocess
    import sys
    build(cli)
    env = dict(os.environ, PYTHONPATH=str(REPO))  # this checkout's code, whatever is installed
    probe = ("import sys\nfrom legalsite.cli import main\n"
             f"code = main(['build', '--as-of', '{FIXTURE_DAY}'])\n"
             "print(code, ' '.join(sorted(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    said, code, modules = result.stdout.splitlines()[0], *result.stdout.splitlines()[1].split(" ", 1)
    assert said.startswith("up to date") and code == "0", result.stdout + result.stderr
    heavy = {"markdown", "jinja2", "lxml", "yaml", "frontmatter", "babel", "watchdog", "tinycss2", "markupsafe",
             "dataclasses", "inspect", "legalsite.model", "legalsite.commands", "legalsite.pipeline"}
    assert heavy & set(modules.split()) == set()
    (site / "content" / "terms" / "2032-01-01.md").write_text(version("2032-01-01"))
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    loaded = set(result.stdout.splitlines()[-1].split()[1:])
    # watchdog: the preview's; Babel: only a site with other languages loads it (i18n.py)
    assert result.stdout.startswith("built ") and heavy - {"watchdog", "babel"} < loaded
