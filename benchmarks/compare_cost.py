"""What "compare any two versions" costs (issue 15): pages, bytes and build time.

    .venv/bin/python benchmarks/compare_cost.py            # one policy of 10, 25 and 50 versions
    .venv/bin/python benchmarks/compare_cost.py --versions 50 --reps 3

For each size it writes the deterministic corpus of ``benchmarks/corpus.py`` (one
policy, N versions) under ``benchmarks/.work/compare/``, then builds it cold
(``build.py build --no-cache --as-of 2030-01-01``, a fresh process) with the compare
pages and, as the peer in the same script, without them (site.toml
``compare_any_two = false``, as the corpus itself has it), alternating, and prints
the medians: wall and CPU seconds (the build uses every core for redlines), the
number of pages and bytes written, and the ratio. It also times a rebuild after one
version was edited (the store keeps every other pair's page and redline). The load
average is printed next to the figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus as corpus_mod  # noqa: E402  (benchmarks/corpus.py)

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / ".work" / "compare"
AS_OF = corpus_mod.AS_OF.isoformat()


def run(root: Path, args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (this child and its workers) of one build."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(REPO / "build.py"), "build", *args],
        cwd=root,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def output_size(out: Path) -> tuple[int, int]:
    pages = [p for p in out.rglob("*.html")]
    return len(pages), sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


def measure(versions: int, reps: int) -> dict:
    root = WORK / f"1x{versions}"
    if root.exists():
        shutil.rmtree(root)
    corpus = corpus_mod.write_corpus(root, 1, versions)
    settings = {"with compare pages": root / "site-with.toml", "without": corpus.settings}
    text = corpus.settings.read_text(encoding="utf-8")
    settings["with compare pages"].write_text(
        text.replace("compare_any_two = false", "compare_any_two = true"), encoding="utf-8"
    )
    common = ["--templates", str(REPO / "templates"), "--as-of", AS_OF]
    figures: dict[str, dict] = {name: {"wall": [], "cpu": [], "edit_wall": []} for name in settings}
    for _ in range(reps):
        for name, toml in settings.items():
            args = [*common, "--settings", str(toml)]
            out, cache = root / f"_site-{name[:4]}", root / f".cache-{name[:4]}"
            for path in (out, cache):
                shutil.rmtree(path, ignore_errors=True)
            wall, cpu = run(root, [*args, "--out", str(out), "--cache", str(cache)])
            figures[name]["wall"].append(wall)
            figures[name]["cpu"].append(cpu)
            figures[name]["pages"], figures[name]["bytes"] = output_size(out)
            # One edited version: a sentence added to the middle one.
            middle = sorted((root / "content").rglob("*.md"))[versions // 2]
            text = middle.read_text(encoding="utf-8")
            middle.write_text(text + "\nOne more sentence for the benchmark.\n", encoding="utf-8")
            corpus_mod.relock(middle)  # a locked text: the edit recorded as its published text
            try:
                wall, _ = run(root, [*args, "--out", str(out), "--cache", str(cache)])
            finally:
                middle.write_text(text, encoding="utf-8")
                corpus_mod.relock(middle)
            figures[name]["edit_wall"].append(wall)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, nargs="*", default=[10, 25, 50])
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{'versions':>8} {'':>19} {'pages':>6} {'MB':>6} {'cold wall s':>11} {'cold CPU s':>10} "
        f"{'1 edit wall s':>13}"
    )
    for versions in args.versions:
        figures = measure(versions, args.reps)
        for name, f in figures.items():
            print(
                f"{versions:>8} {name:>19} {f['pages']:>6} {f['bytes'] / 1e6:>6.1f} "
                f"{statistics.median(f['wall']):>11.2f} {statistics.median(f['cpu']):>10.2f} "
                f"{statistics.median(f['edit_wall']):>13.2f}"
            )
        ratio = statistics.median(figures["with compare pages"]["wall"]) / statistics.median(
            figures["without"]["wall"]
        )
        pairs = (versions - 1) * (versions - 2) // 2
        print(f"{'':>8} compare pages: {pairs}; cold wall ratio with/without: {ratio:.2f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
