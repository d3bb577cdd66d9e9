"""Median time from saving a policy file to the new text being visible in the browser.

    .venv/bin/python benchmarks/preview_latency.py [--edits 15]

Runs the real preview server (``build.py serve``'s, in-process, on an
ephemeral 127.0.0.1 port) and a real headless Chromium (Debian's
/usr/bin/chromium through Playwright), on copies of

- the shipped site (content/, templates/, site.toml), bar: under 100 ms;
- a generated site of 20 policies x 50 versions (benchmarks/sitegen.py),
  bar: under 300 ms.

Each edit changes one sentence of one version page's source; the clock
starts just before the file is written and stops when the page (opened once,
never reloaded by this script) shows the new sentence. It includes the
watcher's debounce, the incremental rebuild, the event, the reload and the
browser's rendering. Then it fetches up to 10 compare pages that show the
edited version (the preview makes them on request: the first request of each
renders its redline). Prints the numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import relock  # noqa: E402
from benchmarks.sitegen import REPO, generate_site  # noqa: E402
from legalsite.newversion import new_version  # noqa: E402
from legalsite.pipeline import Project  # noqa: E402
from legalsite.preview import PreviewServer  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def shipped_site(root: Path) -> Path:
    shutil.copytree(REPO / "content", root / "content")
    shutil.copytree(REPO / "templates", root / "templates")
    for name in ("site.toml", "versions.lock"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, root / name)
    return root


def measure(browser, root: Path, source: Path, page_path: str, edits: int) -> tuple[list[float], list[float], float]:
    started = time.perf_counter()
    out = io.StringIO()  # the preview prints "rebuilt in N ms: ..." after each rebuild
    err = io.StringIO()
    server = PreviewServer(Project.at(root), port=0, out=out, err=err)
    server.start()
    first_build = time.perf_counter() - started
    latencies = []
    try:
        page = browser.new_page()
        page.set_default_timeout(20_000)
        page.goto(server.url + page_path)
        page.wait_for_function("() => document.querySelector('script[data-etag]') !== null")
        page.wait_for_timeout(300)
        original = source.read_text(encoding="utf-8")
        lock = root / "versions.lock"
        locked = lock.exists() and f'"{source.parent.name}/{source.stem}"' in lock.read_text(encoding="utf-8")
        body = original.split("\n---", 2)[-1]  # a sentence of the text, not of the front matter
        anchor = next(line for line in body.splitlines() if line and not line.startswith(("#", "-")))
        for n in range(edits):
            sentence = f"Benchmark sentence number {n} is now visible."
            text = original.replace(anchor, f"{anchor} {sentence}", 1)
            t0 = time.perf_counter()
            if locked:  # a published version's edit, recorded in the lock in the same burst
                relock(source, text.encode("utf-8"))
            source.write_text(text, encoding="utf-8")
            page.wait_for_function("s => document.body.innerText.includes(s)", arg=sentence, polling=5)
            latencies.append(time.perf_counter() - t0)
            page.wait_for_timeout(100)
        page.close()
        compare = compare_requests(server.url, source)
    finally:
        server.stop()
    rebuilds = [float(m) / 1000 for m in re.findall(r"rebuilt in (\d+) ms", out.getvalue())]
    if not rebuilds:
        raise SystemExit(f"the preview reported no rebuild; it printed:\n{out.getvalue()}{err.getvalue()}")
    return latencies, rebuilds, first_build, compare


def compare_requests(url: str, source: Path) -> list[float]:
    """Seconds to fetch each compare page that shows the edited version (older versions against
    it), which the preview makes when asked for (legalsite/compare.py): the first request of each
    after the last edit renders its redline."""
    versions = sorted(p.stem for p in source.parent.glob("????-??-??.md"))
    older = [v for v in versions if v < source.stem][:-1]  # the one before it: its changes/ page
    times = []
    for version in older[:10]:
        t0 = time.perf_counter()
        with urllib.request.urlopen(f"{url}{source.parent.name}/compare/{version}/{source.stem}/") as r:
            r.read()
        times.append(time.perf_counter() - t0)
    return times


def report(name: str, bar_ms: float, latencies: list[float], rebuilds: list[float], first_build: float,
           compare: list[float]) -> None:
    median = statistics.median(latencies) * 1000
    shown = (f"; a compare page showing the edited version, first request: median "
             f"{statistics.median(compare) * 1000:.0f} ms over {len(compare)}" if compare else "")
    print(f"{name}: median save-to-visible {median:.0f} ms over {len(latencies)} edits "
          f"(min {min(latencies) * 1000:.0f}, max {max(latencies) * 1000:.0f}); "
          f"median incremental rebuild {statistics.median(rebuilds) * 1000:.0f} ms; "
          f"first full build {first_build:.2f} s; bar < {bar_ms:.0f} ms: {'met' if median < bar_ms else 'NOT met'}"
          f"{shown}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=15)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        browser = playwright.chromium.launch_persistent_context(
            str(tmp / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            root = shipped_site(tmp / "shipped")
            # Legal edits drafts (published versions are locked): start one as `build.py new` would.
            project = Project.at(root)
            source = new_version(project.content, "privacy", dt.date.today() + dt.timedelta(days=60), project.display)
            page = f"{source.parent.name}/{source.stem}/"
            report("shipped site", 100, *measure(browser, root, source, page, args.edits))

            root = generate_site(tmp / "large", policies=20, versions=50)
            source = root / "content" / "policy-07" / sorted(p.name for p in (root / "content" / "policy-07").iterdir())[40]
            page = f"policy-07/{source.stem}/"
            report("20 policies x 50 versions", 300, *measure(browser, root, source, page, args.edits))
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
