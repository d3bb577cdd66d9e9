"""read_sources: what the build reads, and the preview's reuse of unchanged files."""

from __future__ import annotations

import os
import time

from legalsite import project as project_module
from legalsite.project import read_sources


def test_ignored_files_are_not_content(tmp_path):
    for name in ("a.md", ".hidden.md", "b.md~", ".b.md.swp", "#c.md#", "4913"):
        (tmp_path / "content" / "p").mkdir(parents=True, exist_ok=True)
        (tmp_path / "content" / "p" / name).write_text(name)
    assert read_sources(tmp_path / "content", tmp_path) == {"content/p/a.md": b"a.md"}


def test_unchanged_settled_files_keep_their_bytes_and_changed_ones_are_read(tmp_path, monkeypatch):
    monkeypatch.setattr(project_module, "_SETTLED_NS", 0)  # ctime is always "now" in a test
    folder = tmp_path / "content" / "p"
    folder.mkdir(parents=True)
    (folder / "a.md").write_bytes(b"one")
    (folder / "b.md").write_bytes(b"two")
    known: dict = {}
    first = read_sources(tmp_path / "content", tmp_path, known)
    second = read_sources(tmp_path / "content", tmp_path, known)
    assert second == first and second["content/p/a.md"] is first["content/p/a.md"], "not read again"

    time.sleep(0.05)  # past a tick of the file system's clock: the rewrite gets another change time
    info = (folder / "a.md").stat()
    (folder / "a.md").write_bytes(b"ONE")  # same size, and the modification time put back
    os.utime(folder / "a.md", ns=(info.st_atime_ns, info.st_mtime_ns))
    (folder / "b.md").unlink()
    (folder / "c.md").write_bytes(b"three")
    assert read_sources(tmp_path / "content", tmp_path, known) == {"content/p/a.md": b"ONE", "content/p/c.md": b"three"}


def test_a_file_changed_within_the_last_second_is_always_read_again(tmp_path):
    folder = tmp_path / "content" / "p"
    folder.mkdir(parents=True)
    (folder / "a.md").write_bytes(b"one")
    known: dict = {}
    first = read_sources(tmp_path / "content", tmp_path, known)
    assert known == {}, "too recent to trust its times"
    again = read_sources(tmp_path / "content", tmp_path, known)
    assert again == first and again["content/p/a.md"] is not first["content/p/a.md"]
