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
