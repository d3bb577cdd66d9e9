"""The build end to end on the fixture site: golden output, determinism, atomicity."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURE, FIXTURE_DAY, REPO
from legalsite.output import OutputError, write_site
from legalsite.pipeline import Project, build, render

GOLDEN = REPO / "tests" / "golden" / "fixture"


def fixture_project() -> Project:
    return Project.at(REPO, content=FIXTURE / "content", settings=FIXTURE / "site.toml")


def fixture_files(drafts: bool = False) -> dict[str, bytes]:
    return render(fixture_project(), dt.date.fromisoformat(FIXTURE_DAY), drafts).files


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_golden_output():
    files = fixture_files()
    if os.environ.get("UPDATE_GOLDEN"):
        write_site(files, GOLDEN)
    golden = tree(GOLDEN)
    assert sorted(files) == sorted(golden), "output paths differ; regenerate with UPDATE_GOLDEN=1 if intended"
    for path, data in files.items():
        assert data.decode() == golden[path].decode(), f"{path} differs; regenerate with UPDATE_GOLDEN=1 if intended"


def test_two_builds_are_byte_identical(tmp_path):
    for name in ("a", "b"):
        build(fixture_project(), tmp_path / name, dt.date.fromisoformat(FIXTURE_DAY))
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_statuses_banners_and_canonical_links():
    files = {k: v.decode() for k, v in fixture_files().items()}
    old, current, upcoming = (files[f"privacy/{d}/index.html"] for d in ("2026-01-01", "2026-05-01", "2026-08-01"))
    assert '<meta name="robots" content="noindex">' in old
    assert "This version is no longer in force." in old
    assert '<a href="../../privacy/">current Privacy Policy</a>, in force since <time datetime="2026-05-01">1 May 2026</time>' in old
    assert '<link rel="canonical" href="https://legal.example.com/privacy/">' in current
    assert "noindex" not in current
    assert '<link rel="canonical" href="https://legal.example.com/privacy/2026-08-01/">' in upcoming
    assert "This version takes effect on <time datetime=\"2026-08-01\">1 August 2026</time>." in upcoming
    assert "A new version takes effect on <time datetime=\"2026-08-01\">1 August 2026</time>." in files["privacy/index.html"]
    assert "2026-09-01" not in "".join(files.values()), "a draft leaked into the production build"
    assert "<loc>https://legal.example.com/privacy/2026-01-01/</loc>" not in files["sitemap.xml"]
    assert "<loc>https://legal.example.com/privacy/2026-08-01/</loc><lastmod>2026-08-01</lastmod>" in files["sitemap.xml"]


def test_heading_anchors_are_stable_and_unique():
    files = {k: v.decode() for k, v in fixture_files().items()}
    # "2. How long we keep it" became "3. How long we keep it": same anchor.
    assert '<h2 id="how-long-we-keep-it">2. How long we keep it</h2>' in files["privacy/2026-05-01/index.html"]
    assert '<h2 id="how-long-we-keep-it">3. How long we keep it</h2>' in files["privacy/2026-08-01/index.html"]
    terms = files["terms/index.html"]
    assert '<h2 id="using-the-service">Using the service</h2>' in terms
    assert '<h2 id="using-the-service_1">Using the service</h2>' in terms
    assert '<li class="toc-level-3"><a href="#accounts">Accounts</a></li>' in terms


def test_the_build_day_decides_what_is_in_force():
    project = fixture_project()
    before = render(project, dt.date(2026, 7, 31), False).files["privacy/index.html"].decode()
    on_the_day = render(project, dt.date(2026, 8, 1), False).files["privacy/index.html"].decode()
    assert 'Effective: <time datetime="2026-05-01">' in before
    assert 'Effective: <time datetime="2026-08-01">' in on_the_day


def test_source_date_epoch_sets_the_day(monkeypatch):
    from legalsite.timeline import build_day
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(dt.datetime(2026, 8, 1, 0, 0, 1, tzinfo=dt.timezone.utc).timestamp())))
    assert build_day() == dt.date(2026, 8, 1)
    assert build_day(dt.date(2020, 1, 1)) == dt.date(2020, 1, 1)


def test_failed_build_leaves_previous_site_untouched(project, cli, tmp_path):
    project({"content/privacy/2026-01-01.md": "---\ntitle: P\neffective: 2026-01-01\n---\n\nText.\n"})
    assert cli("build", "--as-of", FIXTURE_DAY)[0] == 0
    before = tree(tmp_path / "_site")
    (tmp_path / "content/privacy/2026-02-01.md").write_text("---\ntitle: P\neffective: 2026-02-01\nbogus: 1\n---\n\nText.\n")
    code, _, err = cli("build", "--as-of", FIXTURE_DAY)
    assert code == 1 and "unknown field 'bogus'" in err
    assert tree(tmp_path / "_site") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cache", "_site", "content", "templates"], "left temporary files behind"


def test_rebuild_replaces_the_whole_directory(project, cli, tmp_path):
    project({"content/privacy/2026-01-01.md": "---\ntitle: P\neffective: 2026-01-01\n---\n\nText.\n"})
    (tmp_path / "_site").mkdir()
    (tmp_path / "_site/stale.html").write_text("old")
    assert cli("build", "--as-of", FIXTURE_DAY)[0] == 0
    assert not (tmp_path / "_site/stale.html").exists()
    assert (tmp_path / "_site/privacy/index.html").exists()


def test_write_failure_midway_keeps_the_old_site(tmp_path, monkeypatch):
    out = tmp_path / "_site"
    write_site({"index.html": b"old"}, out)
    with pytest.raises(OutputError):
        write_site({"a.html": b"new", "../escape.html": b"x"}, out)
    assert tree(out) == {"index.html": b"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]


@pytest.mark.parametrize("out", [".", "content", ".."])
def test_refuses_an_output_dir_that_would_destroy_sources(project, cli, out):
    project({"content/privacy/2026-01-01.md": "---\ntitle: P\neffective: 2026-01-01\n---\n\nText.\n"})
    code, _, err = cli("build", "--out", out)
    assert code == 1
    assert err.startswith(f"error: output directory {out} contains ")
    assert err.rstrip().endswith(": choose a separate folder such as _site")


def test_summary_line_and_shipped_site(tmp_path):
    """The README's build command on the real content, as a subprocess."""
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    result = subprocess.run([sys.executable, "build.py", "--out", str(tmp_path / "site")], cwd=REPO,
                            capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("built 1 policy, 1 version, ")
    assert result.stdout.rstrip().endswith(f" -> {tmp_path / 'site'}")
    page = (tmp_path / "site/privacy/index.html").read_text()
    assert 'Effective: <time datetime="2026-04">April 2026</time>' in page
    assert '<mark class="placeholder">[contact email to be set in site.toml]</mark>' in page
    seed = (REPO.parent / "shared/seed/000_e574ea2afbbd40c8.txt")
    if seed.exists():  # the seed's sentences appear unchanged (HTML-escaped apostrophes aside)
        import html
        text = html.unescape(page)
        for paragraph in seed.read_text().split("\n\n")[2:]:
            if paragraph[0].isdigit() or "[email" in paragraph:
                continue
            assert paragraph.strip() in text


def test_the_program_exits_with_its_output_and_cache_complete(tmp_path):
    """build.py as a program (cli.entry): what it printed, its exit
    status and what it wrote must all be there, with block-buffered output to a pipe."""
    import shutil

    shutil.copytree(FIXTURE, tmp_path / "site")
    env = {k: v for k, v in os.environ.items() if k not in ("SOURCE_DATE_EPOCH", "PYTHONUNBUFFERED")}

    def run():
        return subprocess.run([sys.executable, str(REPO / "build.py"), "--as-of", FIXTURE_DAY, "--templates",
                               str(REPO / "templates")], cwd=tmp_path / "site", capture_output=True, text=True,
                              env=env, check=False)

    first = run()
    assert first.returncode == 0 and first.stdout.startswith("built 2 policies, "), first.stderr
    assert run().stdout.startswith("up to date: 2 policies, ")  # the stamp and cache were written whole
    version = sorted((tmp_path / "site" / "content" / "terms").glob("*.md"))[-1]
    version.write_text(version.read_text().replace("title:", "titel:", 1))
    broken = run()
    assert broken.returncode == 1 and "unknown field 'titel'" in broken.stderr and broken.stdout == ""


def test_help_is_for_people(cli):
    with pytest.raises(SystemExit) as exit_info:
        cli("--help")
    assert exit_info.value.code == 0


def test_a_malformed_source_date_epoch_is_a_clear_error(project, cli, monkeypatch):
    project({"content/privacy/2026-01-01.md": (FIXTURE / "content" / "privacy" / "2026-01-01.md").read_text()})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    code, out, err = cli("build")
    assert (code, out) == (1, "")
    assert err == ("error: SOURCE_DATE_EPOCH='yesterday' is not a time: give seconds since 1970 (e.g. 1767225600), "
                   "or unset it, or pass --as-of YYYY-MM-DD\n")
