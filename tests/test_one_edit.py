"""A build after one edit does only what the edit needs, and sees the edit.

What it costs is measured by benchmarks/bench_build.py (README, Performance); these tests hold
the behaviour that the savings rest on."""

from __future__ import annotations

import subprocess
import sys

from conftest import FIXTURE_DAY

PROBE = (
    "import sys\nfrom legalsite.cli import main\n"
    f"code = main(['build', '--as-of', '{FIXTURE_DAY}'])\n"
    "print(code, ' '.join(sorted(sys.modules)))"
)


def modules_of_a_build() -> tuple[str, set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
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
