"""Bad setup for the real-Umami tests is a clear message, never a traceback: a missing or
wrong source archive (Python harness and umami/build/build.sh alike), a missing toolchain."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from real import source
from real.source import SetupError, read_lock
from umami_support import REPO

BUILD_SH = REPO / "umami" / "build" / "build.sh"


def test_lock_pins_the_release_the_suite_builds():
    lock = read_lock()
    assert (lock.version, lock.sha256) == (
        "3.1.0", "9863b6d929221def153cf20b52219888fe08fe23eb54f8412aa3283e17263227")
    assert lock.url == "https://github.com/umami-software/umami/archive/refs/tags/v3.1.0.tar.gz"


def test_missing_source_is_named_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("UMAMI_SOURCE", str(tmp_path / "nope.tar.gz"))
    with pytest.raises(SetupError) as error:
        source.source_archive(read_lock())
    lock = read_lock()
    assert str(error.value) == (
        f"Umami source archive not found (UMAMI_SOURCE={tmp_path / 'nope.tar.gz'}): set UMAMI_SOURCE "
        f"to umami-3.1.0.tar.gz, or unset it to download {lock.url}")


def test_wrong_source_is_refused_by_its_hash(tmp_path, monkeypatch):
    fake = tmp_path / "umami-3.1.0.tar.gz"
    fake.write_bytes(b"not umami")
    monkeypatch.setenv("UMAMI_SOURCE", str(fake))
    with pytest.raises(SetupError) as error:
        source.source_archive(read_lock())
    assert str(error.value) == (
        f"Umami source archive {fake} (UMAMI_SOURCE={fake}) has sha256 "
        "f4920a4df9dd8ab55591221d7452f8526febf310b65c6d2db7ab5c95572fb3ff, but umami/umami.lock "
        "pins 9863b6d929221def153cf20b52219888fe08fe23eb54f8412aa3283e17263227 for v3.1.0: "
        "wrong or corrupted file")


def test_build_script_refuses_a_wrong_archive_before_building(tmp_path):
    fake = tmp_path / "umami.tar.gz"
    fake.write_bytes(b"not umami")
    result = subprocess.run(["bash", str(BUILD_SH), str(fake), str(tmp_path / "out")],
                            capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"umami build: source archive {fake} has sha256 "
        "f4920a4df9dd8ab55591221d7452f8526febf310b65c6d2db7ab5c95572fb3ff, but umami/umami.lock "
        "pins 9863b6d929221def153cf20b52219888fe08fe23eb54f8412aa3283e17263227 for v3.1.0: "
        "wrong or corrupted file\n")
    assert not (tmp_path / "out").exists()


def test_build_script_names_the_missing_node(tmp_path):
    archive = source.source_archive(read_lock())
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("sha256sum", "cut", "dirname"):
        (bare / tool).symlink_to(Path("/usr/bin") / tool)
    env = {"PATH": str(bare), "HOME": str(tmp_path)}
    result = subprocess.run(["/bin/bash", str(BUILD_SH), str(archive), str(tmp_path / "out")],
                            capture_output=True, text=True, env=env)
    assert (result.returncode, result.stderr) == (
        2, "umami build: node not found on PATH; install Node.js 22.23.3 (npm install node@22.23.3)\n")


def test_a_download_with_the_wrong_hash_is_refused_and_not_cached(tmp_path, monkeypatch):
    wrong = tmp_path / "umami-3.1.0.tar.gz"
    wrong.write_bytes(b"not umami")
    monkeypatch.setenv("UMAMI_SOURCE", wrong.as_uri())  # a URL: fetched like the release archive
    monkeypatch.setenv("LEGALSITE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(SetupError) as error:
        source.source_archive(read_lock())
    assert str(error.value) == (
        f"the Umami source downloaded from {wrong.as_uri()} has sha256 "
        "f4920a4df9dd8ab55591221d7452f8526febf310b65c6d2db7ab5c95572fb3ff, but umami/umami.lock pins "
        "9863b6d929221def153cf20b52219888fe08fe23eb54f8412aa3283e17263227 for v3.1.0: not the release "
        "archive the suite tests; set UMAMI_SOURCE to a verified copy")
    assert list((tmp_path / "cache" / "sources").iterdir()) == []
