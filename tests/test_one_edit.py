"""A build after one edit does only what the edit needs, and sees the edit.

What it costs is measured by benchmarks/bench_build.py (README, Performance); these tests hold
the behaviour that the savings rest on."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import FIXTURE_DAY, REPO, copy_lock_for_editing

PROBE = (
    "import sys\nfrom legalsite.cli import main\n"
    f"code = main(['build', '--as-of', '{FIXTURE_DAY}'])\n"
    "print(code, ' '.join(sorted(sys.modules)))"
)


def modules_of_a_build() -> tuple[str, set[str]]:
    env = dict(os.environ, PYTHONPATH=str(REPO))  # this checkout's code, whatever is installed
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env
    )
    lines = result.stdout.splitlines()
    return lines[0], set(lines[-1].split()[1:])


def test_a_build_does_not_load_the_live_site_reader(site):
    """Only ``lock --live`` reads the live site: a build imports neither live.py nor http.client,
    ssl and urllib.request (25 ms of every build's start at 20 x 50)."""
    said, loaded = modules_of_a_build()
    assert said.startswith("built "), said
    assert "legalsite.pipeline" in loaded
    reader = {"legalsite.live", "legalsite.live_index", "http.client", "ssl", "urllib.request"}
    assert reader & loaded == set()


def test_a_site_in_one_language_does_not_load_babel(site):
    """Babel makes translated pages' words and dates (i18n.py); a site without other languages
    never imports it (7.7-10.4 ms of every build)."""
    said, loaded = modules_of_a_build()
    assert said.startswith("built "), said
    assert "legalsite.i18n" in loaded
    assert {m for m in loaded if m == "babel" or m.startswith("babel.")} == set()


def test_an_entry_read_is_renewed_at_most_once_an_hour(tmp_path):
    """A build that stores something renews the last use of the entries it read (the store drops
    the least recently used first), but not more than once an hour: one edit at 20 x 50 reads
    1,000 parses and would otherwise rewrite their 1,000 rows each time."""
    import sqlite3
    import time

    from legalsite.store import Store

    stale, fresh = "s" * 64, "f" * 64
    with Store(tmp_path) as store:
        store.put("parse", stale, "stale")
        store.put("parse", fresh, "fresh")
    now = time.time_ns()
    two_hours_ago, a_minute_ago = now - 2 * 3600 * 10**9, now - 60 * 10**9
    with sqlite3.connect(tmp_path / "store.sqlite3") as db:
        db.execute("UPDATE uses SET used = ? WHERE key = ?", (two_hours_ago, stale))
        db.execute("UPDATE uses SET used = ? WHERE key = ?", (a_minute_ago, fresh))
    db.close()
    with Store(tmp_path) as store:
        assert store.lookup("parse", stale) == (True, "stale")
        assert store.lookup("parse", fresh) == (True, "fresh")
        store.put("parse", "n" * 64, "new")
    with sqlite3.connect(tmp_path / "store.sqlite3") as db:
        used = dict(db.execute("SELECT key, used FROM uses"))
    db.close()
    assert used[stale] >= now and used[fresh] == a_minute_ago


def _texts_alive_at_audit(monkeypatch, build):
    """The versions whose texts are still alive when the audit starts, in ``build()``."""
    import gc

    from legalsite import pipeline
    from legalsite.model import Version

    seen = []
    real = pipeline.audit_site

    def audit_site(*args, **kwargs):
        seen.append(sum(1 for o in gc.get_objects() if isinstance(o, Version) and o.body_html))
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "audit_site", audit_site)
    build()
    return seen


def test_a_build_of_every_page_lets_the_texts_go_before_its_audit(site, cli, monkeypatch):
    """The audit of a whole site parses every page; the versions' texts are let go before it
    (Site.outline), and nothing else holds them then (the loaded stage's result did)."""
    out = site / "whole"
    seen = _texts_alive_at_audit(
        monkeypatch, lambda: cli("build", "--as-of", FIXTURE_DAY, "--no-cache", "--out", str(out))
    )
    assert seen == [0]


def test_an_edit_is_seen_by_a_rebuild_that_keeps_the_texts(site, cli, monkeypatch):
    """A rebuild over the last output keeps the texts through its small audit (the outline
    is not worth its time there) and still shows the edit, as a build from nothing does."""
    copy_lock_for_editing(site)
    code, _, err = cli("build", "--as-of", FIXTURE_DAY)
    assert code == 0, err
    before = {p: p.read_bytes() for p in (site / "_site").rglob("*") if p.is_file()}
    page = site / "content" / "privacy" / "2026-08-01.md"  # upcoming and unlocked: editable
    page.write_text(page.read_text().replace("data", "personal data", 1))
    seen = _texts_alive_at_audit(monkeypatch, lambda: cli("build", "--as-of", FIXTURE_DAY))
    assert seen and seen[0] > 0
    changed = {
        p for p in (site / "_site").rglob("*") if p.is_file() and before.get(p) != p.read_bytes()
    }
    assert site / "_site" / "privacy" / "2026-08-01" / "index.html" in changed
    assert (
        b"personal data" in (site / "_site" / "privacy" / "2026-08-01" / "index.html").read_bytes()
    )
    reference = site / "reference"
    code, _, err = cli("build", "--as-of", FIXTURE_DAY, "--no-cache", "--out", str(reference))
    assert code == 0, err
    assert {
        p.relative_to(reference): p.read_bytes() for p in reference.rglob("*") if p.is_file()
    } == {
        p.relative_to(site / "_site"): p.read_bytes()
        for p in (site / "_site").rglob("*")
        if p.is_file()
    }


def test_entries_this_build_read_are_kept_when_the_store_is_pruned(tmp_path, monkeypatch):
    """Renewing only hourly must not make the store drop what the build just read: before a prune
    every entry read is renewed, so the least recently used go (here b, used 20 minutes ago, and
    not a, used 50 minutes ago and read by this build)."""
    import sqlite3
    import time

    from legalsite import store as store_module
    from legalsite.store import Store

    value = "x" * 200_000
    a, b = "a" * 64, "b" * 64
    with Store(tmp_path) as store:
        store.put("parse", a, value)
        store.put("parse", b, value)
    now = time.time_ns()
    with sqlite3.connect(tmp_path / "store.sqlite3") as db:
        db.execute("UPDATE uses SET used = ? WHERE key = ?", (now - 50 * 60 * 10**9, a))
        db.execute("UPDATE uses SET used = ? WHERE key = ?", (now - 20 * 60 * 10**9, b))
    db.close()
    monkeypatch.setattr(store_module, "LIMIT", 580_000)  # a, b and the new entry: beyond it; two: within 3/4
    with Store(tmp_path) as store:
        assert store.lookup("parse", a) == (True, value)
        store.put("parse", "n" * 64, value)
    with sqlite3.connect(tmp_path / "store.sqlite3") as db:
        kept = {key[0] for (key,) in db.execute("SELECT key FROM uses")}
    db.close()
    assert kept == {"a", "n"}


def test_a_command_run_in_a_callers_process_leaves_the_collector_alone(site, cli, monkeypatch):
    """Only the program freezes what the imports left alive (cli.entry): in a caller's process
    (these tests, anyone's code) main() must not, since unfreezing hands the collector garbage it
    does not count, and its full collections stop (200 calls: 36,000 objects grew to 212,000)."""
    import gc

    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    code, out, _ = cli("build", "--as-of", FIXTURE_DAY)
    assert code == 0 and out.startswith("built ") and frozen == []
