"""read_sources: what the build reads."""

from __future__ import annotations

from legalsite.project import read_sources


def test_ignored_files_are_not_content(tmp_path):
    for name in ("a.md", ".hidden.md", "b.md~", ".b.md.swp", "#c.md#", "4913"):
        (tmp_path / "content" / "p").mkdir(parents=True, exist_ok=True)
        (tmp_path / "content" / "p" / name).write_text(name)
    assert read_sources(tmp_path / "content", tmp_path) == {"content/p/a.md": b"a.md"}


def test_links_and_folders_are_read_as_before(tmp_path):
    """list_sources (os.scandir): a link to a file is read through, a linked folder, a broken
    link and ignored folders are not entered, nested folders are, keys are sorted POSIX paths
    relative to the root (as with os.walk and Path.rglob before)."""
    content, elsewhere = tmp_path / "content", tmp_path / "elsewhere"
    for path in ("p/2026-01-01.md", "p/sub/2026-02-01.md", "a/2026-03-01.md", ".git/x.md", "p/.drafts/y.md",
                 "#tmp#/z.md"):
        (content / path).parent.mkdir(parents=True, exist_ok=True)
        (content / path).write_text(path)
    elsewhere.mkdir()
    (elsewhere / "2026-04-01.md").write_text("linked")
    (content / "p" / "2026-04-01.md").symlink_to(elsewhere / "2026-04-01.md")
    (content / "linked").symlink_to(elsewhere, target_is_directory=True)
    (content / "p" / "2026-05-01.md").symlink_to(tmp_path / "missing.md")
    assert read_sources(content, tmp_path) == {
        "content/a/2026-03-01.md": b"a/2026-03-01.md",
        "content/p/2026-01-01.md": b"p/2026-01-01.md",
        "content/p/2026-04-01.md": b"linked",
        "content/p/sub/2026-02-01.md": b"p/sub/2026-02-01.md",
    }
    assert list(read_sources(content, tmp_path)) == sorted(read_sources(content, tmp_path))
