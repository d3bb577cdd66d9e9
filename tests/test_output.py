"""Writing the site: swap for new or much-changed sites, two-phase update for small changes."""

from __future__ import annotations

import tempfile

import pytest

from legalsite import output
from legalsite.output import Staging, write_site


def tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def site(n: int, **changes: bytes) -> dict[str, bytes]:
    files = {f"p{i}/index.html": f"page {i}".encode() for i in range(n)}
    files.update({k.replace("__", "/"): v for k, v in changes.items()})
    return files


def test_small_change_touches_only_the_changed_files(tmp_path):
    out = tmp_path / "_site"
    write_site(site(30, gone__index_html=b"x"), out)
    before = {p: (out / p).stat().st_ino for p in ("p1/index.html", "p2/index.html")}
    new = site(30)
    new["p2/index.html"] = b"edited"
    write_site(new, out)
    assert tree(out) == new
    assert not (out / "gone").exists(), "an emptied folder is removed"
    assert (out / "p1/index.html").stat().st_ino == before["p1/index.html"], "an unchanged file was rewritten"
    assert (out / "p2/index.html").stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]


def test_unchanged_site_is_not_written(tmp_path):
    out = tmp_path / "_site"
    write_site(site(5), out)
    inode = (out / "p1/index.html").stat().st_ino
    write_site(site(5), out)
    assert (out / "p1/index.html").stat().st_ino == inode


def test_large_change_swaps_the_whole_tree(tmp_path):
    out = tmp_path / "_site"
    write_site(site(10), out)
    new = {f"q{i}/index.html": b"new" for i in range(10)}
    write_site(new, out)
    assert tree(out) == new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]


def test_folders_are_exchanged_atomically_on_linux(tmp_path):
    """renameat2(RENAME_EXCHANGE) is found and used: without it a swap has a moment with no site."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "x").write_text("a"), (b / "x").write_text("b")
    assert output._exchange(a, b) is True
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


@pytest.mark.parametrize("size", [30, 3], ids=["in place", "swap"])
def test_a_failure_while_writing_leaves_the_published_site_as_it_was(tmp_path, monkeypatch, size):
    out = tmp_path / "_site"
    write_site(site(size), out)
    published = tree(out)
    new = site(size, p1__index_html=b"edited", new__deep__index_html=b"added")
    calls = {"n": 0}
    real_mkstemp, real_write = tempfile.mkstemp, output.Path.write_bytes

    def failing_mkstemp(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return real_mkstemp(*args, **kwargs)

    def failing_write(self, data):
        if "new" in self.parts:
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(tempfile, "mkstemp", failing_mkstemp)  # output imports it where it writes
    monkeypatch.setattr(output.Path, "write_bytes", failing_write)
    with pytest.raises(OSError):
        write_site(new, out)
    assert tree(out) == published
    assert not (out / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]
    assert not [p for p in out.rglob(".*")], "temporary files left in the site"


def test_a_link_in_the_output_folder_is_never_written_through(tmp_path):
    out, elsewhere = tmp_path / "_site", tmp_path / "elsewhere"
    write_site(site(30), out)
    elsewhere.mkdir()
    (elsewhere / "index.html").write_bytes(b"not ours")
    for name in (out / "p2").iterdir():
        name.unlink()
    (out / "p2").rmdir()
    (out / "p2").symlink_to(elsewhere, target_is_directory=True)
    new = site(30)
    new["p2/index.html"] = b"edited"  # a small change: would be written in place
    write_site(new, out)
    assert (elsewhere / "index.html").read_bytes() == b"not ours"
    assert not (out / "p2").is_symlink() and tree(out) == new


def test_a_file_where_a_folder_is_needed_is_replaced(tmp_path):
    out = tmp_path / "_site"
    write_site(site(30), out)
    (out / "p3" / "index.html").unlink()
    (out / "p3").rmdir()
    (out / "p3").write_bytes(b"a file in the way")
    write_site(site(30), out)
    assert tree(out) == site(30)
    with pytest.raises(output.OutputError, match="link or a file in the way"):
        (out / "p3" / "index.html").unlink()
        (out / "p3").rmdir()
        (out / "p3").write_bytes(b"again")
        write_site(site(30), out, keep=frozenset({"p4/index.html"}))


def test_a_site_staged_and_discarded_leaves_nothing_behind(tmp_path):
    out = tmp_path / "deploy" / "public" / "_site"
    staged = Staging({"index.html": b"<p>x</p>", "a/b/index.html": b"<p>y</p>"}, out)
    staged.discard()
    assert list(tmp_path.iterdir()) == [], "neither the staged files nor the folders made for them"
    Staging({"index.html": b"<p>x</p>"}, out).commit()
    assert (out / "index.html").read_bytes() == b"<p>x</p>"
    assert sorted(p.name for p in out.parent.iterdir()) == ["_site"]


def _folders(tmp_path):
    out = tmp_path / "_site"
    write_site({"index.html": b"home", "a/1/index.html": b"one", "a/1/changes/index.html": b"diff",
                "a/2/index.html": b"two", "b/index.html": b"bee", "b/empty/.keep": b""}, out)
    return out


CHANGES = ["none", "add a file", "remove a file", "rename a file", "rewrite a file",
           "add a folder", "a folder for a file", "empty a folder"]


def _change(out, change):
    if change == "add a file":
        (out / "a/1/changes/new.html").write_bytes(b"new")
    elif change == "remove a file":
        (out / "a/2/index.html").unlink()
    elif change == "rename a file":
        (out / "b/index.html").rename(out / "b/other.html")
    elif change == "rewrite a file":
        (out / "a/1/index.html").write_bytes(b"ONE")
    elif change == "add a folder":
        (out / "a/2/changes").mkdir()
        (out / "a/2/changes/index.html").write_bytes(b"diff")
    elif change == "a folder for a file":
        (out / "a/2/index.html").unlink()
        (out / "a/2/index.html").mkdir()
    elif change == "empty a folder":
        (out / "b/empty/.keep").unlink()


@pytest.mark.parametrize("change", CHANGES)
def test_a_listing_since_an_earlier_one_equals_a_fresh_one_and_reads_only_changed_folders(tmp_path, monkeypatch,
                                                                                          change):
    import os
    import time
    out = _folders(tmp_path)
    taken = time.time_ns()
    before = output.listing(out)
    from legalsite import project
    monkeypatch.setattr(project, "_SETTLED_NS", -1)  # every folder settled when listed, as a second later
    time.sleep(0.05)  # past a tick of the file system's clock
    _change(out, change)
    read = []
    real = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: read.append(os.path.relpath(path, out)) or real(path))
    since = output.listing(out, (before, taken))
    monkeypatch.setattr(os, "scandir", real)
    assert since == output.listing(out)
    if change == "none":
        assert read == ["."], "an unchanged folder is not read again"
    else:
        assert len(read) < 6, read  # of 7 folders


def test_a_folder_changed_within_a_second_of_the_listing_is_read_again(tmp_path, monkeypatch):
    """Two changes within one tick of the file system's clock can leave a folder's times as
    they were: a folder that changed less than a second before it was listed is not trusted."""
    import os
    import time
    out = _folders(tmp_path)
    taken = time.time_ns()
    before = output.listing(out)
    read = []
    real = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: read.append(path) or real(path))
    assert output.listing(out, (before, taken)) == before
    assert len(read) == 7  # every folder: all were written just now


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_just_after_a_listing_shows_in_a_listing_since_it(tmp_path, change):
    """A no-op build's check (output._unchanged) takes an earlier listing back only if every
    entry is as it was and every folder not settled then holds the same names: any change
    shows, in folders written just before the listing too."""
    import time
    out = _folders(tmp_path)
    taken = time.time_ns()
    before = output.listing(out)
    time.sleep(0.05)  # past a tick of the file system's clock
    _change(out, change)
    since = output.listing(out, (before, taken))
    assert since == output.listing(out)
    assert (since is before) == (change == "none")


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_staged_site_is_readable_by_all_and_only_narrowed_folders_are_changed(tmp_path, monkeypatch, umask):
    """Folders 0755, files 0644 whatever the umask; a folder already 0755 keeps its change
    time (a chmod would make the next build's stamp check read it again: listing)."""
    import os
    import stat
    from pathlib import Path
    changed = []
    real = Path.chmod
    monkeypatch.setattr(Path, "chmod", lambda self, mode: changed.append(self) or real(self, mode))
    old = os.umask(umask)
    try:
        staged = Staging(site(3, a__b__index_html=b"deep"), tmp_path / "_site", background=False)
        staged.commit()
    finally:
        os.umask(old)
    out = tmp_path / "_site"
    folders = [out, *(p for p in out.rglob("*") if p.is_dir())]
    assert {stat.S_IMODE(p.stat().st_mode) for p in folders} == {0o755}
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if p.is_file()} == {0o644}
    files = [p for p in out.rglob("*") if p.is_file()]
    # with the usual umask, only the top folder, which mkdtemp made private
    assert len(changed) == (1 if umask == 0o022 else len(folders) + len(files))


def test_a_swap_that_fails_halfway_puts_the_published_site_back(tmp_path, monkeypatch):
    """Without an atomic exchange the swap is two renames: if the second fails, the first is undone."""
    from pathlib import Path
    out = tmp_path / "_site"
    write_site(site(3), out)
    published = tree(out)
    staged = Staging(site(3, p1__index_html=b"new"), out, background=False)
    monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    real = Path.rename

    def rename(self, target):
        if self == staged.folder:
            raise OSError("no space left on device")
        return real(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OSError):
        staged.commit()
    assert tree(out) == published
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]
