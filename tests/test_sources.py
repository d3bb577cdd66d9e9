"""read_sources: what the build reads."""

from __future__ import annotations

from legalsite.project import read_sources


def test_ignored_files_are_not_content(tmp_path):
    for name in ("a.md", ".hidden.md", "b.md~", ".b.md.swp", "#c.md#", "4913"):
        (tmp_path / "content" / "p").mkdir(parents=True, exist_ok=True)
        (tmp_path / "content" / "p" / name).write_text(name)
    assert read_sources(tmp_path / "content", tmp_path) == {"content/p/a.md": b"a.md"}
